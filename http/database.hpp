// Runs one request as one database transaction: SET LOCAL statement_timeout, then for an
// authenticated request pgfolio.authenticate(user, session) (which refuses a revoked session
// or a suspended user and sets the acting user), then the route's SQL function (or a C++
// flow's calls), then COMMIT. Serialization failures and deadlocks are retried; every
// database error becomes a Problem through the core's SQLSTATE mapping, and 5xx problems
// never carry database text.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "db_pool.hpp"
#include "metrics.hpp"
#include "problem.hpp"
#include "routes.hpp"

namespace pgfolio::http {

// Who the request acts for, from a verified access token; empty for anonymous requests.
struct RequestIdentity {
  std::string user_id;          // the token's sub
  std::string session_id;       // the token's sid
  std::string role;             // the token's role claim
  Auth required = Auth::kNone;  // the route's requirement, checked again against the database
  std::string client_json;      // {"ip", "userAgent"}, for the audit rows of the transaction
  // PGFOLIO_BENCHMARK_ONLY_ACT_AS: the acting user is set without authenticate().
  bool benchmark_unchecked = false;
  bool authenticated() const { return !user_id.empty(); }
};

// Whether `role` may call a route that requires `required`.
bool role_allows(Auth required, const std::string& role);

struct DbResult {
  std::optional<std::string> body;  // the function's jsonb as text, on success
  std::optional<Problem> problem;   // on failure
};

// Thrown by a transaction's work to refuse the request: the transaction is rolled back and
// the problem answered.
class Refusal : public std::exception {
 public:
  explicit Refusal(Problem problem) : problem_(std::move(problem)) {}
  const Problem& problem() const { return problem_; }
  const char* what() const noexcept override { return "request refused"; }

 private:
  Problem problem_;
};

// What a transaction's work produced. Either way the transaction commits: a problem here is
// a refusal whose effects must be kept (docs/auth.md, "Refusals that must be remembered").
struct Outcome {
  std::string body;
  std::optional<Problem> problem;
};

// A SQL function's answer of the form {"problem": {"code", "detail", "details"}}, as the
// Problem to answer; nullopt for any other answer. An unknown code is an internal error.
std::optional<Problem> remembered_refusal(const std::string& jsonb_text);

// The view of the request's transaction that its work gets.
class Transaction {
 public:
  Transaction(pqxx::work& tx, ConnectionPool::Lease& lease) : tx_(tx), lease_(lease) {}

  // SELECT pgfolio.<function>($1, ...)::text as a prepared statement (prepared once per
  // connection), the arguments as text (NULL for nullopt) so that PostgreSQL casts them to
  // the declared types. The result is the value as text, nullopt for SQL NULL.
  std::optional<std::string> call(const std::string& function,
                                  const std::vector<std::optional<std::string>>& args);

  // Reads the rows of pgfolio.<function>($1, ...), a set-returning function of text, through
  // a server-side cursor, `batch` rows per FETCH, handing each to `row` until it returns
  // false: the result is never held whole (streamed answers, export_stream.hpp). The
  // transaction becomes read-only first: a streamed answer keeps it open for as long as the
  // client takes to read, and so it must not hold anything a writer could wait for.
  void for_each_row(const std::string& function,
                    const std::vector<std::optional<std::string>>& args, size_t batch,
                    const std::function<bool(std::string_view)>& row);

 private:
  pqxx::work& tx_;
  ConnectionPool::Lease& lease_;
};

class Database {
 public:
  Database(ConnectionPool& pool, Metrics& metrics, int retries, int statement_timeout_ms);

  // The route's SQL function with `args`; its jsonb is the body, unless it is a remembered
  // refusal (committed, answered as its problem).
  DbResult call_route(const Route& route, const std::vector<std::optional<std::string>>& args,
                      const RequestIdentity& identity, const std::string& request_id);

  using Work = std::function<Outcome(Transaction&)>;
  // Runs `work` in one transaction after authenticating `identity` (if any). `work` may run
  // more than once (after a serialization failure or deadlock), so it must not keep effects
  // outside the transaction from an earlier run.
  DbResult transact(const RequestIdentity& identity, const std::string& request_id,
                    const Work& work);

  // SELECT 1, for /readyz.
  DbResult ping(const std::string& request_id);

 private:
  ConnectionPool& pool_;
  Metrics& metrics_;
  const int retries_;
  const std::string set_timeout_sql_;
};

}  // namespace pgfolio::http
