// A fixed-size pool of libpqxx connections. Connections are opened on demand, so the server
// starts (and /healthz answers) while the database is down; a connection that broke is
// discarded by its lease and a fresh one is opened by a later request, which is how service
// resumes after a database restart without restarting pgfolio-http.
#pragma once

#include <pqxx/pqxx>

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_set>
#include <vector>

#include "metrics.hpp"

namespace pgfolio::http {

// Every pooled connection is leased out and none came back in time.
class PoolExhausted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ConnectionPool {
  struct Slot {
    std::unique_ptr<pqxx::connection> connection;
    // Statements prepared on this connection; a reopened connection starts empty, so each
    // route's statement is prepared lazily on first use per connection.
    std::unordered_set<std::string> prepared;
  };

 public:
  // Exclusive use of one connection for one request. Returns it to the pool on destruction
  // unless it was discarded or is no longer open.
  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<Slot> slot, bool reused)
        : pool_(pool), slot_(std::move(slot)), reused_(reused) {}
    Lease(Lease&& other) noexcept = default;
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    ~Lease();

    pqxx::connection& connection() { return *slot_->connection; }
    // True if the connection served an earlier request: it may have died while idle.
    bool was_reused() const { return reused_; }
    // Prepares `name` as `sql` on this connection unless that was done before.
    void prepare_once(const std::string& name, const std::string& sql);
    // Drops the connection instead of returning it (it broke or is in an unknown state).
    void discard() { discarded_ = true; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<Slot> slot_;
    bool reused_;
    bool discarded_ = false;
  };

  ConnectionPool(std::string dsn, size_t size, std::chrono::milliseconds acquire_timeout);

  // Throws PoolExhausted, or pqxx::broken_connection when a new connection cannot be opened.
  Lease acquire();

  PoolStats stats() const;

  // Closes idle connections and refuses nothing: used at shutdown after requests drained.
  void close_idle();

 private:
  void give_back(std::unique_ptr<Slot> slot, bool keep);

  const std::string dsn_;
  const size_t size_;
  const std::chrono::milliseconds acquire_timeout_;

  mutable std::mutex mutex_;
  std::condition_variable returned_;
  std::vector<std::unique_ptr<Slot>> idle_;
  size_t open_ = 0;  // idle + leased + being opened
  size_t leased_ = 0;
};

}  // namespace pgfolio::http
