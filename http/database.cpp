#include "database.hpp"

#include <chrono>
#include <random>
#include <thread>

#include "access_log.hpp"
#include "error_mapping.hpp"

namespace pgfolio::http {
namespace {

constexpr const char* kSetActingUserStatement = "pgfolio_http_set_acting_user";
constexpr const char* kSetActingUserSql = "SELECT set_config('pgfolio.acting_user', $1, true)";

std::string statement_name(const Route& route) {
  return "pgfolio_http_" + route.sql_function + "_" + std::to_string(route.args.size());
}

std::string function_call_sql(const Route& route) {
  std::string sql = "SELECT pgfolio." + route.sql_function + "(";
  for (size_t i = 0; i < route.args.size(); ++i) sql += (i ? ", $" : "$") + std::to_string(i + 1);
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

DbResult Database::call_route(const Route& route,
                              const std::vector<std::optional<std::string>>& args,
                              const RequestIdentity& identity, const std::string& request_id) {
  const std::string name = statement_name(route);
  const std::string sql = function_call_sql(route);
  return run_transaction(
      [&](pqxx::work& tx, ConnectionPool::Lease& lease) -> std::string {
        lease.prepare_once(name, sql);
        // libpq takes NULL as a null pointer; the strings outlive the call.
        std::vector<const char*> values;
        for (const auto& arg : args) values.push_back(arg ? arg->c_str() : nullptr);
        pqxx::result result = tx.exec_prepared(name, pqxx::prepare::make_dynamic_params(values));
        if (result.size() != 1 || result[0][0].is_null())
          throw std::runtime_error("pgfolio." + route.sql_function +
                                   " returned no value (functions must return jsonb)");
        return result[0][0].c_str();
      },
      identity, request_id);
}

DbResult Database::ping(const std::string& request_id) {
  return run_transaction(
      [](pqxx::work& tx, ConnectionPool::Lease&) -> std::string {
        tx.exec("SELECT 1");
        return "{\"status\":\"ready\"}";
      },
      RequestIdentity{}, request_id);
}

DbResult Database::run_transaction(const Work& work, const RequestIdentity& identity,
                                   const std::string& request_id) {
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
      std::string body;
      {
        pqxx::work tx(lease->connection());
        tx.exec(set_timeout_sql_);
        if (identity.acting_user) {
          lease->prepare_once(kSetActingUserStatement, kSetActingUserSql);
          tx.exec_prepared(kSetActingUserStatement, *identity.acting_user);
        }
        body = work(tx, *lease);
        tx.commit();
      }
      return {std::move(body), std::nullopt};
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
