// What the server answers, independent of Pistache: status, media type, body, extra headers
// and the route label used by the access log and the metrics.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "problem.hpp"

namespace pgfolio::http {

class BodyWriter;  // export_stream.hpp

struct Reply {
  int status = 200;
  std::string content_type = kJsonContentType;  // empty for bodiless answers (204)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string route_label = "unmatched";  // route template, "unmatched" or "none"
  bool is_preflight = false;              // CORS headers are already in `headers`
  // A streamed answer (export_stream.hpp) in place of `body`: writes the head and the body
  // to the writer as the database produces them, or answers a problem before the head.
  std::function<std::optional<Problem>(BodyWriter&)> stream;
  // The user a streamed answer is for (a user id): StreamGate admits one per user at a time.
  std::string stream_user;
};

Reply problem_reply(const Problem& problem);

}  // namespace pgfolio::http
