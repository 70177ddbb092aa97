// Finds the route-table row for a method and path. Pistache 0.0.5's Rest::Router answers an
// unknown path and a known path with the wrong method alike (plain-text 404) and turns
// OPTIONS into 405, so pgfolio-http matches over its own table instead: that is what lets it
// answer 405 with an Allow header and route CORS preflights.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "routes.hpp"

namespace pgfolio::http {

struct RouteMatch {
  enum class Outcome { kMatched, kNotFound, kMethodNotAllowed };
  Outcome outcome = Outcome::kNotFound;
  const Route* route = nullptr;                        // set when kMatched
  std::map<std::string, std::string> raw_path_params;  // still percent-encoded
  std::vector<Pistache::Http::Method> allowed;         // methods the path has (not OPTIONS)
  // The template of the path that matched (/api/v1/prices/{assetId}), whatever the method;
  // empty when kNotFound. A bounded label for answers the server gives for the path itself.
  std::string path_template;
};

class RouteMatcher {
 public:
  explicit RouteMatcher(const std::vector<Route>& routes);

  // `path` is the request target without the query string, as sent (percent-encoded). HEAD
  // matches a GET route: it is GET without the body (RFC 9110 section 9.3.2).
  RouteMatch match(Pistache::Http::Method method, const std::string& path) const;

 private:
  struct CompiledRoute {
    const Route* route;
    std::vector<std::string> segments;  // "{name}" marks a parameter
  };
  std::vector<CompiledRoute> compiled_;
};

// "GET, HEAD, OPTIONS" for an Allow header.
std::string allow_header_value(const std::vector<Pistache::Http::Method>& methods);

}  // namespace pgfolio::http
