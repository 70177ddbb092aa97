#include "routes.hpp"

#include <cctype>
#include <set>
#include <stdexcept>

namespace pgfolio::http {
namespace {

using Pistache::Http::Method;

constexpr size_t kAssetIdMaxLength = 64;
constexpr size_t kSearchQueryMaxLength = 200;

std::vector<Route> build_table() {
  return {
      {Method::Get, "/healthz", "", {}, Auth::kNone, BodyShape::kNone, 200,
       "Liveness: the process is up (does not touch the database)", Builtin::kHealth},
      {Method::Get, "/readyz", "", {}, Auth::kNone, BodyShape::kNone, 200,
       "Readiness: the database answers SELECT 1", Builtin::kReady},
      {Method::Get, "/metrics", "", {}, Auth::kNone, BodyShape::kNone, 200,
       "Prometheus metrics", Builtin::kMetrics, "text/plain; version=0.0.4"},
      {Method::Get, "/api/v1/openapi.json", "", {}, Auth::kNone, BodyShape::kNone, 200,
       "This API's OpenAPI 3.0 document", Builtin::kOpenApi},

      {Method::Get, "/api/v1/prices", "list_prices", {}, Auth::kNone, BodyShape::kNone, 200,
       "Latest price of every asset"},
      {Method::Get,
       "/api/v1/prices/{assetId}",
       "get_price",
       {{ArgSource::kPath, "assetId", true, kAssetIdMaxLength, "Asset id, e.g. BTC"}},
       Auth::kNone,
       BodyShape::kNone,
       200,
       "Latest price of one asset"},
      {Method::Get,
       "/api/v1/assets",
       "search_assets",
       {{ArgSource::kQuery, "q", false, kSearchQueryMaxLength,
         "Text to search asset ids and names for; all assets when absent"}},
       Auth::kNone,
       BodyShape::kNone,
       200,
       "Search assets"},
      {Method::Post,
       "/api/v1/admin/prices",
       "upsert_prices",
       {{ArgSource::kBody, "body", true, 0,
         "Array of {assetId, price (decimal string), currency, source, asOf}"}},
       Auth::kAdmin,
       BodyShape::kJsonArray,
       200,
       "Insert or update prices"},
  };
}

bool is_identifier(const std::string& name) {
  if (name.empty() || !(std::islower(static_cast<unsigned char>(name[0])) || name[0] == '_'))
    return false;
  for (char c : name)
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

void validate(const std::vector<Route>& table) {
  std::set<std::pair<std::string, std::string>> seen;
  for (const Route& route : table) {
    std::string where = method_name(route.method) + " " + route.path;
    if (!seen.insert({method_name(route.method), route.path}).second)
      throw std::logic_error("route table: duplicate row " + where);
    if (route.path.empty() || route.path[0] != '/')
      throw std::logic_error("route table: path must start with / in " + where);
    if ((route.builtin == Builtin::kNone) == route.sql_function.empty())
      throw std::logic_error("route table: need exactly one of builtin / sql_function in " +
                             where);
    if (!route.sql_function.empty() && !is_identifier(route.sql_function))
      throw std::logic_error("route table: function name is not an identifier in " + where);

    std::set<std::string> template_params;
    for (size_t open = route.path.find('{'); open != std::string::npos;
         open = route.path.find('{', open + 1)) {
      size_t close = route.path.find('}', open);
      if (close == std::string::npos) throw std::logic_error("route table: bad " + where);
      template_params.insert(route.path.substr(open + 1, close - open - 1));
    }
    std::set<std::string> path_args;
    int body_args = 0;
    for (const RouteArg& arg : route.args) {
      if (arg.source == ArgSource::kPath) path_args.insert(arg.name);
      if (arg.source == ArgSource::kBody) ++body_args;
      if (arg.source != ArgSource::kBody && arg.max_length == 0)
        throw std::logic_error("route table: max_length missing for " + arg.name + " in " +
                               where);
    }
    if (path_args != template_params)
      throw std::logic_error("route table: path parameters and args differ in " + where);
    if ((body_args > 0) != (route.body != BodyShape::kNone) || body_args > 1)
      throw std::logic_error("route table: body arg and body shape disagree in " + where);
  }
}

}  // namespace

const std::vector<Route>& route_table() {
  static const std::vector<Route> table = [] {
    auto built = build_table();
    validate(built);
    return built;
  }();
  return table;
}

std::string method_name(Pistache::Http::Method method) {
  return Pistache::Http::methodString(method);
}

std::string auth_name(Auth auth) {
  switch (auth) {
    case Auth::kNone:
      return "none";
    case Auth::kUser:
      return "user";
    case Auth::kAdmin:
      return "admin";
  }
  return "none";
}

}  // namespace pgfolio::http
