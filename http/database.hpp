// Runs one request as one database transaction: SET LOCAL statement_timeout, the acting
// user (once accounts exist), then the route's SQL function, then COMMIT. Serialization
// failures and deadlocks are retried; every database error becomes a Problem through the
// core's SQLSTATE mapping, and 5xx problems never carry database text.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "db_pool.hpp"
#include "metrics.hpp"
#include "problem.hpp"
#include "routes.hpp"

namespace pgfolio::http {

// Who the request acts for. Empty until the accounts work adds authentication; then the
// dispatcher fills it in and Database sets pgfolio.acting_user for the transaction.
struct RequestIdentity {
  std::optional<std::string> acting_user;
};

struct DbResult {
  std::optional<std::string> body;  // the function's jsonb as text, on success
  std::optional<Problem> problem;   // on failure
};

class Database {
 public:
  Database(ConnectionPool& pool, Metrics& metrics, int retries, int statement_timeout_ms);

  // SELECT pgfolio.<fn>($1, ...)::text with the arguments as text (NULL for nullopt), so
  // PostgreSQL casts them to the declared types.
  DbResult call_route(const Route& route, const std::vector<std::optional<std::string>>& args,
                      const RequestIdentity& identity, const std::string& request_id);

  // SELECT 1, for /readyz.
  DbResult ping(const std::string& request_id);

 private:
  using Work = std::function<std::string(pqxx::work&, ConnectionPool::Lease&)>;
  DbResult run_transaction(const Work& work, const RequestIdentity& identity,
                           const std::string& request_id);

  ConnectionPool& pool_;
  Metrics& metrics_;
  const int retries_;
  const std::string set_timeout_sql_;
};

}  // namespace pgfolio::http
