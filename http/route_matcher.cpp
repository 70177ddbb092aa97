#include "route_matcher.hpp"

#include <algorithm>

namespace pgfolio::http {
namespace {

using Pistache::Http::Method;

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> segments;
  size_t start = 1;  // paths start with '/'
  while (true) {
    size_t slash = path.find('/', start);
    segments.push_back(path.substr(start, slash == std::string::npos ? slash : slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return segments;
}

bool is_parameter(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

}  // namespace

RouteMatcher::RouteMatcher(const std::vector<Route>& routes) {
  for (const Route& route : routes) compiled_.push_back({&route, split_path(route.path)});
}

RouteMatch RouteMatcher::match(Pistache::Http::Method method, const std::string& path) const {
  RouteMatch result;
  if (path.empty() || path[0] != '/') return result;
  const std::vector<std::string> segments = split_path(path);
  const Method wanted = method == Method::Head ? Method::Get : method;
  auto allow = [&result](Method allowed) {
    if (std::find(result.allowed.begin(), result.allowed.end(), allowed) == result.allowed.end())
      result.allowed.push_back(allowed);
  };

  for (const CompiledRoute& candidate : compiled_) {
    if (candidate.segments.size() != segments.size()) continue;
    std::map<std::string, std::string> params;
    bool same_shape = true;
    for (size_t i = 0; i < segments.size() && same_shape; ++i) {
      const std::string& pattern = candidate.segments[i];
      if (is_parameter(pattern)) {
        // An empty segment ("/prices/") names no asset: it is a different, unknown path.
        if (segments[i].empty())
          same_shape = false;
        else
          params[pattern.substr(1, pattern.size() - 2)] = segments[i];
      } else {
        same_shape = pattern == segments[i];
      }
    }
    if (!same_shape) continue;

    if (result.path_template.empty()) result.path_template = candidate.route->path;
    allow(candidate.route->method);
    if (candidate.route->method == Method::Get) allow(Method::Head);
    if (candidate.route->method == wanted && result.route == nullptr) {
      result.route = candidate.route;
      result.raw_path_params = std::move(params);
    }
  }

  if (result.route)
    result.outcome = RouteMatch::Outcome::kMatched;
  else if (!result.allowed.empty())
    result.outcome = RouteMatch::Outcome::kMethodNotAllowed;
  return result;
}

std::string allow_header_value(const std::vector<Pistache::Http::Method>& methods) {
  std::string value;
  for (auto method : methods) value += method_name(method) + ", ";
  return value + "OPTIONS";
}

}  // namespace pgfolio::http
