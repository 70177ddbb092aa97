// Prometheus metrics kept in process and rendered in the text exposition format by
// GET /metrics. Label values are route templates (never raw paths) so that the number of
// series stays bounded whatever clients send.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

namespace pgfolio::http {

struct PoolStats {
  size_t size = 0;    // configured maximum
  size_t open = 0;    // connections currently open (idle + in use)
  size_t in_use = 0;  // leased to a request right now
};

class Metrics {
 public:
  // Latency bucket upper bounds, in seconds.
  static constexpr std::array<double, 12> kBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                      0.1,   0.25,   0.5,   1.0,  2.5,   5.0};

  void observe_request(const std::string& route, const std::string& method, int status,
                       double seconds);
  // kind: connection, serialization_failure, deadlock, statement_timeout, pool_timeout,
  // client_error (a 4xx mapped from the database), server_error.
  void count_db_error(const std::string& kind);
  void count_db_retry();

  // The ledger's witness (docs/witness.md).
  void set_witness_enabled(bool enabled);
  void count_witness_checkpoint();
  // An alarm raised; `alarming` is how many portfolios are in alarm now.
  void count_witness_alarm();
  void set_witness_alarming(size_t alarming);
  // A round that went through every portfolio (completed) or stopped at a database error.
  void count_witness_round(bool completed, double unix_seconds);

  std::string render(const PoolStats& pool) const;

 private:
  struct Histogram {
    std::array<uint64_t, kBuckets.size()> bucket_counts{};
    uint64_t count = 0;
    double sum = 0;
  };

  mutable std::mutex mutex_;
  std::map<std::tuple<std::string, std::string, int>, uint64_t> requests_;
  std::map<std::string, Histogram> latency_by_route_;
  std::map<std::string, uint64_t> db_errors_;
  uint64_t db_retries_ = 0;
  bool witness_enabled_ = false;
  uint64_t witness_checkpoints_ = 0;
  uint64_t witness_alarms_ = 0;
  size_t witness_alarming_ = 0;
  uint64_t witness_rounds_completed_ = 0;
  uint64_t witness_rounds_failed_ = 0;
  double witness_last_completed_ = 0;
};

}  // namespace pgfolio::http
