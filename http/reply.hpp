// What the server answers, independent of Pistache: status, media type, body, extra headers
// and the route label used by the access log and the metrics.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "problem.hpp"

namespace pgfolio::http {

struct Reply {
  int status = 200;
  std::string content_type = kJsonContentType;  // empty for bodiless answers (204)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string route_label = "unmatched";  // route template, "unmatched" or "none"
  bool is_preflight = false;              // CORS headers are already in `headers`
};

Reply problem_reply(const Problem& problem);

}  // namespace pgfolio::http
