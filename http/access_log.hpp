// One JSON line per answered request on stdout, flushed at once so that log shippers (and
// the tests) see it while the server runs.
#pragma once

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

// Errors and server events go to stderr as JSON lines too, tagged with the request id.
void log_error(const std::string& request_id, const std::string& message);
void log_event(const std::string& message);

}  // namespace pgfolio::http
