#include "metrics.hpp"

#include <iomanip>
#include <sstream>

namespace pgfolio::http {
namespace {

// Label values are route templates and fixed words, but escape anyway as the format asks.
std::string label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

void Metrics::observe_request(const std::string& route, const std::string& method, int status,
                              double seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++requests_[{route, method, status}];
  Histogram& histogram = latency_by_route_[route];
  for (size_t i = 0; i < kBuckets.size(); ++i)
    if (seconds <= kBuckets[i]) ++histogram.bucket_counts[i];
  ++histogram.count;
  histogram.sum += seconds;
}

void Metrics::count_db_error(const std::string& kind) {
  std::lock_guard<std::mutex> lock(mutex_);
  ++db_errors_[kind];
}

void Metrics::count_db_retry() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++db_retries_;
}

void Metrics::set_witness_enabled(bool enabled) {
  std::lock_guard<std::mutex> lock(mutex_);
  witness_enabled_ = enabled;
}

void Metrics::count_witness_checkpoint() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++witness_checkpoints_;
}

void Metrics::count_witness_alarm() {
  std::lock_guard<std::mutex> lock(mutex_);
  ++witness_alarms_;
}

void Metrics::set_witness_alarming(size_t alarming) {
  std::lock_guard<std::mutex> lock(mutex_);
  witness_alarming_ = alarming;
}

void Metrics::count_witness_round(bool completed, double unix_seconds) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (completed) {
    ++witness_rounds_completed_;
    witness_last_completed_ = unix_seconds;
  } else {
    ++witness_rounds_failed_;
  }
}

std::string Metrics::render(const PoolStats& pool) const {
  std::lock_guard<std::mutex> lock(mutex_);
  std::ostringstream out;

  out << "# HELP pgfolio_http_requests_total HTTP requests answered, by route template, "
         "method and status.\n"
         "# TYPE pgfolio_http_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    const auto& [route, method, status] = key;
    out << "pgfolio_http_requests_total{route=\"" << label(route) << "\",method=\"" << label(method)
        << "\",status=\"" << status << "\"} " << count << '\n';
  }

  out << "# HELP pgfolio_http_request_duration_seconds Time from a complete request to its "
         "answer.\n"
         "# TYPE pgfolio_http_request_duration_seconds histogram\n";
  for (const auto& [route, histogram] : latency_by_route_) {
    std::string route_label = "route=\"" + label(route) + "\"";
    for (size_t i = 0; i < kBuckets.size(); ++i)
      out << "pgfolio_http_request_duration_seconds_bucket{" << route_label << ",le=\""
          << kBuckets[i] << "\"} " << histogram.bucket_counts[i] << '\n';
    out << "pgfolio_http_request_duration_seconds_bucket{" << route_label << ",le=\"+Inf\"} "
        << histogram.count << '\n';
    out << "pgfolio_http_request_duration_seconds_sum{" << route_label << "} " << histogram.sum
        << '\n';
    out << "pgfolio_http_request_duration_seconds_count{" << route_label << "} " << histogram.count
        << '\n';
  }

  out << "# HELP pgfolio_db_pool_size Maximum number of pooled database connections.\n"
         "# TYPE pgfolio_db_pool_size gauge\n"
      << "pgfolio_db_pool_size " << pool.size << '\n'
      << "# HELP pgfolio_db_pool_open Database connections currently open.\n"
         "# TYPE pgfolio_db_pool_open gauge\n"
      << "pgfolio_db_pool_open " << pool.open << '\n'
      << "# HELP pgfolio_db_pool_in_use Database connections leased to a request.\n"
         "# TYPE pgfolio_db_pool_in_use gauge\n"
      << "pgfolio_db_pool_in_use " << pool.in_use << '\n';

  out << "# HELP pgfolio_db_errors_total Database errors, by kind.\n"
         "# TYPE pgfolio_db_errors_total counter\n";
  for (const auto& [kind, count] : db_errors_)
    out << "pgfolio_db_errors_total{kind=\"" << label(kind) << "\"} " << count << '\n';

  out << "# HELP pgfolio_db_retries_total Transactions run again after a serialization "
         "failure or deadlock.\n"
         "# TYPE pgfolio_db_retries_total counter\n"
      << "pgfolio_db_retries_total " << db_retries_ << '\n';

  out << "# HELP pgfolio_witness_enabled Whether this process runs the ledger's witness.\n"
         "# TYPE pgfolio_witness_enabled gauge\n"
      << "pgfolio_witness_enabled " << (witness_enabled_ ? 1 : 0) << '\n'
      << "# HELP pgfolio_witness_checkpoints_total Checkpoints the witness signed.\n"
         "# TYPE pgfolio_witness_checkpoints_total counter\n"
      << "pgfolio_witness_checkpoints_total " << witness_checkpoints_ << '\n'
      << "# HELP pgfolio_witness_alarms_total Alarms the witness raised: a portfolio's ledger "
         "no longer extends the tree it signed.\n"
         "# TYPE pgfolio_witness_alarms_total counter\n"
      << "pgfolio_witness_alarms_total " << witness_alarms_ << '\n'
      << "# HELP pgfolio_witness_portfolios_alarming Portfolios the witness refuses to sign "
         "for now.\n"
         "# TYPE pgfolio_witness_portfolios_alarming gauge\n"
      << "pgfolio_witness_portfolios_alarming " << witness_alarming_ << '\n'
      << "# HELP pgfolio_witness_rounds_total Witness rounds, by result (completed, or failed "
         "at a database error).\n"
         "# TYPE pgfolio_witness_rounds_total counter\n"
      << "pgfolio_witness_rounds_total{result=\"completed\"} " << witness_rounds_completed_ << '\n'
      << "pgfolio_witness_rounds_total{result=\"failed\"} " << witness_rounds_failed_ << '\n'
      << "# HELP pgfolio_witness_last_completed_round_timestamp_seconds When the witness last "
         "went through every portfolio (0: never).\n"
         "# TYPE pgfolio_witness_last_completed_round_timestamp_seconds gauge\n"
      << "pgfolio_witness_last_completed_round_timestamp_seconds " << std::fixed
      << std::setprecision(3) << witness_last_completed_ << '\n';
  return out.str();
}

}  // namespace pgfolio::http
