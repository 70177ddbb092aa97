#include "database.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <thread>

#include "access_log.hpp"
#include "error.hpp"
#include "error_mapping.hpp"

namespace pgfolio::http {
namespace {

// What authenticate() sets, without its checks: for PGFOLIO_BENCHMARK_ONLY_ACT_AS only.
constexpr const char* kBenchmarkActAsStatement = "pgfolio_http_benchmark_act_as";
constexpr const char* kBenchmarkActAsSql =
    "SELECT set_config('pgfolio.acting_user', $1, true), "
    "set_config('pgfolio.session_id', $2, true)";

// One prepared statement per function and argument count. Function names come from the
// route table and the flows' code (identifiers, never client text).
std::string statement_name(const std::string& function, size_t arg_count) {
  return "pgfolio_http_" + function + "_" + std::to_string(arg_count);
}

std::string function_call_sql(const std::string& function, size_t arg_count) {
  std::string sql = "SELECT pgfolio." + function + "(";
  for (size_t i = 0; i < arg_count; ++i) sql += (i ? ", $" : "$") + std::to_string(i + 1);
  return sql + ")::text";
}

// Short randomized pause before running a transaction again, so that two transactions that
// just collided do not collide again in lockstep.
void backoff(int attempt) {
  thread_local std::mt19937 random{std::random_device{}()};
  int base_ms = 5 << std::min(attempt, 5);
  std::uniform_int_distribution<int> jitter(0, base_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(base_ms + jitter(random)));
}

Problem unavailable(const std::string& request_id) {
  return make_problem(
      ErrorCode::SERVICE_UNAVAILABLE,
      "The database is unavailable or busy; retry later. Request id: " + request_id + ".");
}

// DETAIL becomes `details` only when it is a JSON object; anything else is dropped.
nlohmann::json details_from(const std::string& detail) {
  if (detail.empty()) return nlohmann::json::object();
  auto parsed = nlohmann::json::parse(detail, nullptr, false);
  return parsed.is_object() ? parsed : nlohmann::json::object();
}

// A database error reduced to what the mapping needs, whichever libpqxx class carried it.
struct SqlFailure {
  std::string sqlstate;
  std::string message;  // libpq's text: message, DETAIL, HINT, CONTEXT
  std::string query;    // for the log only
};

// libpqxx 6.4 reports class 40 errors as transaction_rollback subclasses, which are not
// sql_error and carry no SQLSTATE; the subclass tells which state it was.
std::string rollback_sqlstate(const pqxx::transaction_rollback& error) {
  if (dynamic_cast<const pqxx::serialization_failure*>(&error)) return "40001";
  if (dynamic_cast<const pqxx::deadlock_detected*>(&error)) return "40P01";
  return "40000";
}

std::string error_kind(const std::string& sqlstate, int status) {
  if (sqlstate == "40001") return "serialization_failure";
  if (sqlstate == "40P01") return "deadlock";
  if (sqlstate == "57014") return "statement_timeout";
  if (is_connection_loss_sqlstate(sqlstate)) return "connection";
  return status >= 500 ? "server_error" : "client_error";
}

}  // namespace

Database::Database(ConnectionPool& pool, Metrics& metrics, int retries, int statement_timeout_ms)
    : pool_(pool),
      metrics_(metrics),
      retries_(retries),
      set_timeout_sql_("SET LOCAL statement_timeout = " + std::to_string(statement_timeout_ms)) {}

bool role_allows(Auth required, const std::string& role) {
  switch (required) {
    case Auth::kNone:
      return true;
    case Auth::kUser:
      return role == "user" || role == "admin";
    case Auth::kAdmin:
      return role == "admin";
    case Auth::kServiceOrAdmin:
      return role == "service" || role == "admin";
  }
  return false;
}

std::optional<Problem> remembered_refusal(const std::string& jsonb_text) {
  // jsonb prints an object's keys shortest first, so a lone "problem" key starts the text;
  // anything else is an ordinary answer and is passed on unparsed (decimal strings and all).
  if (jsonb_text.compare(0, 11, "{\"problem\":") != 0) return std::nullopt;
  auto parsed = nlohmann::json::parse(jsonb_text, nullptr, false);
  if (!parsed.is_object() || parsed.size() != 1 || !parsed["problem"].is_object())
    return std::nullopt;
  const nlohmann::json& body = parsed["problem"];
  const std::string code = body.value("code", "");
  const ErrorCatalogEntry* entry = find_by_name(code);
  if (entry == nullptr || entry->http_status >= 500)
    throw std::runtime_error("a SQL function answered a problem with code \"" + code + "\"");
  std::string detail = body.contains("detail") && body["detail"].is_string()
                           ? body["detail"].get<std::string>()
                           : std::string(entry->title);
  nlohmann::json details = body.contains("details") && body["details"].is_object()
                               ? body["details"]
                               : nlohmann::json::object();
  Problem problem = make_problem(entry->code, detail, details);
  if (entry->code == ErrorCode::RATE_LIMITED) {
    const auto& retry = details.contains("retryAfter") ? details["retryAfter"] : nlohmann::json();
    problem.retry_after_seconds =
        retry.is_number() ? std::max(1, static_cast<int>(std::ceil(retry.get<double>()))) : 1;
  }
  return problem;
}

std::optional<std::string> Transaction::call(const std::string& function,
                                             const std::vector<std::optional<std::string>>& args) {
  const std::string name = statement_name(function, args.size());
  lease_.prepare_once(name, function_call_sql(function, args.size()));
  // libpq takes NULL as a null pointer; the strings outlive the call.
  std::vector<const char*> values;
  for (const auto& arg : args) values.push_back(arg ? arg->c_str() : nullptr);
  pqxx::result result = tx_.exec_prepared(name, pqxx::prepare::make_dynamic_params(values));
  if (result.size() != 1) throw std::runtime_error("pgfolio." + function + " returned no row");
  if (result[0][0].is_null()) return std::nullopt;
  return std::string(result[0][0].c_str());
}

void Transaction::for_each_row(const std::string& function,
                               const std::vector<std::optional<std::string>>& args, size_t batch,
                               const std::function<bool(std::string_view)>& row) {
  constexpr const char* kCursor = "pgfolio_http_rows";
  tx_.exec("SET TRANSACTION READ ONLY");
  std::string declare = std::string("DECLARE ") + kCursor +
                        " NO SCROLL CURSOR FOR SELECT r.line FROM pgfolio." + function + "(";
  for (size_t i = 0; i < args.size(); ++i) declare += (i ? ", $" : "$") + std::to_string(i + 1);
  declare += ") AS r(line)";
  std::vector<const char*> values;
  for (const auto& arg : args) values.push_back(arg ? arg->c_str() : nullptr);
  tx_.exec_params(declare, pqxx::prepare::make_dynamic_params(values));
  const std::string fetch =
      "FETCH FORWARD " + std::to_string(batch) + " FROM " + std::string(kCursor);
  for (bool more = true; more;) {
    const pqxx::result rows = tx_.exec(fetch);
    for (const auto& fetched : rows)
      if (!row(std::string_view(fetched[0].c_str(), fetched[0].size()))) return;
    more = rows.size() == batch;
  }
}

DbResult Database::call_route(const Route& route,
                              const std::vector<std::optional<std::string>>& args,
                              const RequestIdentity& identity, const std::string& request_id) {
  return transact(identity, request_id, [&](Transaction& tx) -> Outcome {
    auto value = tx.call(route.sql_function, args);
    if (!value)
      throw std::runtime_error("pgfolio." + route.sql_function +
                               " returned NULL (functions must return jsonb)");
    if (auto problem = remembered_refusal(*value)) return {"", std::move(problem)};
    return {std::move(*value), std::nullopt};
  });
}

DbResult Database::ping(const std::string& request_id) {
  return transact(RequestIdentity{}, request_id, [](Transaction&) -> Outcome {
    return {"{\"status\":\"ready\"}", std::nullopt};
  });
}

DbResult Database::transact(const RequestIdentity& identity, const std::string& request_id,
                            const Work& work) {
  // Idle pooled connections die together with a database restart, so a request may meet
  // several dead ones in a row; each is discarded, and the bound (every pooled connection
  // once) keeps a connection that breaks again and again from looping forever.
  size_t stale_connections_replaced = 0;
  const size_t max_stale_replacements = pool_.stats().size;
  auto replace_stale = [&](const std::optional<ConnectionPool::Lease>& lease) {
    if (!lease || !lease->was_reused() || stale_connections_replaced >= max_stale_replacements)
      return false;
    ++stale_connections_replaced;
    return true;
  };
  for (int attempt = 0;; ++attempt) {
    std::optional<ConnectionPool::Lease> lease;
    std::optional<SqlFailure> failure;
    try {
      lease.emplace(pool_.acquire());
      Outcome outcome;
      {
        pqxx::work work_tx(lease->connection());
        work_tx.exec(set_timeout_sql_);
        Transaction tx(work_tx, *lease);
        if (identity.benchmark_unchecked) {
          lease->prepare_once(kBenchmarkActAsStatement, kBenchmarkActAsSql);
          work_tx.exec_prepared(kBenchmarkActAsStatement, identity.user_id, identity.session_id);
        } else if (identity.authenticated()) {
          // Refuses (PF401) a revoked or expired session and a suspended or deleted user,
          // and makes the user the transaction's acting user.
          auto role = tx.call("authenticate",
                              {identity.user_id, identity.session_id, identity.client_json});
          // The token's role got the request this far; the database's is the one in force
          // now (a demoted admin loses admin routes at once).
          if (!role || !role_allows(identity.required, *role))
            throw Refusal(
                make_problem(ErrorCode::FORBIDDEN,
                             "This endpoint needs the " + auth_name(identity.required) + " role.",
                             {{"requiredRole", auth_name(identity.required)}}));
        }
        outcome = work(tx);
        work_tx.commit();
      }
      if (outcome.problem) return {std::nullopt, std::move(outcome.problem)};
      return {std::move(outcome.body), std::nullopt};
    } catch (const Refusal& refusal) {
      // The transaction object rolled back on the way out.
      return {std::nullopt, refusal.problem()};
    } catch (const pgfolio::Error& error) {
      // Thrown by a flow's own C++ (the core's crypto): a 4xx is a refusal about the input,
      // anything else a failure whose text stays in the log.
      if (catalog_entry(error.code()).http_status < 500)
        return {std::nullopt,
                make_problem(error.code(), error.what(), details_from(error.details_json()))};
      log_error(request_id, std::string("request failed: ") + error.what());
      return {std::nullopt, make_problem(ErrorCode::INTERNAL_ERROR, internal_detail(request_id))};
    } catch (const PoolExhausted& error) {
      metrics_.count_db_error("pool_timeout");
      log_error(request_id, error.what());
      return {std::nullopt, unavailable(request_id)};
    } catch (const pqxx::in_doubt_error& error) {
      // The connection died during COMMIT: the outcome is unknown, so never run it again.
      if (lease) lease->discard();
      metrics_.count_db_error("connection");
      log_error(request_id, std::string("commit outcome unknown: ") + error.what());
      return {std::nullopt, unavailable(request_id)};
    } catch (const pqxx::broken_connection& error) {
      if (lease) lease->discard();
      metrics_.count_db_error("connection");
      // An idle pooled connection may have died with a database restart. The server rolled
      // back whatever this transaction did, so running it on another connection is safe.
      if (replace_stale(lease)) {
        --attempt;
        continue;
      }
      log_error(request_id, std::string("database connection failed: ") + error.what());
      return {std::nullopt, unavailable(request_id)};
    } catch (const pqxx::statement_completion_unknown& error) {
      // 40003: as with a connection lost during COMMIT, the outcome is unknown; never rerun.
      if (lease) lease->discard();
      metrics_.count_db_error("connection");
      log_error(request_id, std::string("statement outcome unknown: ") + error.what());
      return {std::nullopt, unavailable(request_id)};
    } catch (const pqxx::transaction_rollback& error) {
      failure = SqlFailure{rollback_sqlstate(error), error.what(), ""};
    } catch (const pqxx::sql_error& error) {
      failure = SqlFailure{error.sqlstate(), error.what(), error.query()};
    } catch (const std::exception& error) {
      if (lease && !lease->connection().is_open()) lease->discard();
      metrics_.count_db_error("server_error");
      log_error(request_id, std::string("database call failed: ") + error.what());
      return {std::nullopt, make_problem(ErrorCode::INTERNAL_ERROR, internal_detail(request_id))};
    }

    // Only a database error with a SQLSTATE gets here; every other outcome returned above.
    const std::string& sqlstate = failure->sqlstate;
    if (lease && (is_connection_loss_sqlstate(sqlstate) || !lease->connection().is_open()))
      lease->discard();
    const ErrorCatalogEntry& entry = map_sqlstate(sqlstate);
    metrics_.count_db_error(error_kind(sqlstate, entry.http_status));

    if (is_retryable_sqlstate(sqlstate) && attempt < retries_) {
      metrics_.count_db_retry();
      lease.reset();  // give the connection back while waiting
      backoff(attempt);
      continue;
    }
    if (is_connection_loss_sqlstate(sqlstate) && replace_stale(lease)) {
      lease.reset();
      --attempt;
      continue;
    }

    if (entry.http_status >= 500) {
      log_error(request_id, "SQLSTATE " + sqlstate + ": " + failure->message +
                                " (query: " + failure->query + ")");
      if (entry.code == ErrorCode::SERVICE_UNAVAILABLE)
        return {std::nullopt, unavailable(request_id)};
      return {std::nullopt, make_problem(entry.code, internal_detail(request_id))};
    }
    // A client error: PostgreSQL's (or pgfolio's) message says what was wrong with the
    // input, and pgfolio's errors carry their specifics as a JSON object in DETAIL.
    DatabaseErrorText text = parse_libpq_error_message(failure->message);
    return {std::nullopt, make_problem(entry.code, text.message, details_from(text.detail))};
  }
}

}  // namespace pgfolio::http
