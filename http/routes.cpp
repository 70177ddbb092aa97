#include "routes.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <set>
#include <stdexcept>

namespace pgfolio::http {
namespace {

using Pistache::Http::Method;

// The form of pgfolio.assets.id (its CHECK constraint): anything else cannot name an asset,
// so it is refused as malformed (400) before it costs a database round trip.
constexpr size_t kAssetIdMaxLength = 32;
constexpr const char* kAssetIdPattern = "^[A-Z0-9][A-Z0-9._-]{0,31}$";
// pgfolio.search_assets refuses longer text itself; refusing it here says so in OpenAPI.
constexpr size_t kSearchQueryMaxLength = 100;

std::vector<Route> build_table() {
  return {
      {Method::Get,
       "/healthz",
       "",
       {},
       Auth::kNone,
       BodyShape::kNone,
       200,
       "Liveness: the process is up (does not touch the database)",
       Builtin::kHealth},
      {Method::Get,
       "/readyz",
       "",
       {},
       Auth::kNone,
       BodyShape::kNone,
       200,
       "Readiness: the database answers SELECT 1",
       Builtin::kReady},
      {Method::Get,
       "/metrics",
       "",
       {},
       Auth::kNone,
       BodyShape::kNone,
       200,
       "Prometheus metrics",
       Builtin::kMetrics,
       "text/plain; version=0.0.4"},
      {Method::Get,
       "/api/v1/openapi.json",
       "",
       {},
       Auth::kNone,
       BodyShape::kNone,
       200,
       "This API's OpenAPI 3.0 document",
       Builtin::kOpenApi},

      {Method::Get,
       "/api/v1/prices",
       "list_prices",
       {},
       Auth::kNone,
       BodyShape::kNone,
       200,
       "Latest price of every asset"},
      {Method::Get,
       "/api/v1/prices/{assetId}",
       "get_price",
       {{ArgSource::kPath, "assetId", true, kAssetIdMaxLength, "Asset id, e.g. RELIANCE",
         kAssetIdPattern}},
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
      throw std::logic_error("route table: need exactly one of builtin / sql_function in " + where);
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
        throw std::logic_error("route table: max_length missing for " + arg.name + " in " + where);
    }
    if (path_args != template_params)
      throw std::logic_error("route table: path parameters and args differ in " + where);
    if ((body_args > 0) != (route.body != BodyShape::kNone) || body_args > 1)
      throw std::logic_error("route table: body arg and body shape disagree in " + where);
  }
}

const char* source_name(ArgSource source) {
  switch (source) {
    case ArgSource::kPath:
      return "path";
    case ArgSource::kQuery:
      return "query";
    case ArgSource::kBody:
      return "body";
  }
  return "";
}

const char* body_shape_name(BodyShape shape) {
  switch (shape) {
    case BodyShape::kNone:
      return "none";
    case BodyShape::kJsonObject:
      return "object";
    case BodyShape::kJsonArray:
      return "array";
  }
  return "";
}

}  // namespace

const std::vector<Route>& route_table() {
  static const std::vector<Route> table = [] {
    auto built = build_table();
    validate(built);
    for (Route& route : built)
      for (RouteArg& arg : route.args) {
        if (arg.pattern.empty()) continue;
        try {
          arg.compiled_pattern = std::make_shared<const std::regex>(arg.pattern);
        } catch (const std::regex_error& error) {
          throw std::logic_error("route table: bad pattern for " + arg.name + " in " +
                                 method_name(route.method) + " " + route.path + ": " +
                                 error.what());
        }
      }
    return built;
  }();
  return table;
}

std::string route_table_json(const std::vector<Route>& routes) {
  using nlohmann::json;
  json rows = json::array();
  for (const Route& route : routes) {
    json args = json::array();
    for (const RouteArg& arg : route.args) {
      json row = {{"name", arg.name}, {"in", source_name(arg.source)}, {"required", arg.required}};
      if (arg.source != ArgSource::kBody) row["maxLength"] = arg.max_length;
      if (!arg.pattern.empty()) row["pattern"] = arg.pattern;
      args.push_back(row);
    }
    json row = {{"method", method_name(route.method)},
                {"path", route.path},
                {"sqlFunction", nullptr},
                {"builtin", nullptr},
                {"auth", auth_name(route.auth)},
                {"args", args},
                {"body", body_shape_name(route.body)},
                {"successStatus", route.success_status},
                {"responseMediaType", route.response_media_type}};
    if (!route.sql_function.empty()) row["sqlFunction"] = "pgfolio." + route.sql_function;
    if (route.builtin != Builtin::kNone) row["builtin"] = builtin_name(route.builtin);
    rows.push_back(row);
  }
  return rows.dump(2);
}

std::string method_name(Pistache::Http::Method method) {
  return Pistache::Http::methodString(method);
}

std::string builtin_name(Builtin builtin) {
  switch (builtin) {
    case Builtin::kHealth:
      return "healthz";
    case Builtin::kReady:
      return "readyz";
    case Builtin::kMetrics:
      return "metrics";
    case Builtin::kOpenApi:
      return "openapi";
    case Builtin::kNone:
      break;
  }
  return "";
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
