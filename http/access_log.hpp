// One JSON line per answered request on stdout, flushed at once so that log shippers (and
// the tests) see it while the server runs.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace pgfolio::http {

struct AccessLogEntry {
  std::string request_id;
  std::string method;  // "-" when the request line could not be parsed
  std::string path;    // request path without the query string; "-" when unknown
  std::string route;   // route template, or "unmatched" / "none"
  int status = 0;
  double duration_ms = 0;
  size_t bytes = 0;  // response body bytes
};

void write_access_log(const AccessLogEntry& entry);

// Errors and server events go to stderr as JSON lines too: time, level ("info", "error"),
// message, and `fields` (an object) for whoever watches the log for particular events, e.g.
// {"event": "ledger_witness_alarm", "portfolio_id": ...}. One write per line, under the lock
// the access log uses, so that lines of different threads never mix.
void log_line(const std::string& level, const std::string& message,
              const nlohmann::json& fields = nlohmann::json::object());
// An error tagged with the request id; a server event.
void log_error(const std::string& request_id, const std::string& message);
void log_event(const std::string& message);

}  // namespace pgfolio::http
