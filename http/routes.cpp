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

// How PostgreSQL writes a numeric as text: no exponent, no leading +.
constexpr const char* kDecimalPattern = "^-?[0-9]+(\\.[0-9]+)?$";

nlohmann::json text(const std::string& description, bool nullable = false) {
  nlohmann::json schema = {{"type", "string"}, {"description", description}};
  if (nullable) schema["nullable"] = true;
  return schema;
}

// Money, prices, quantities and percentages: exact decimal strings, never JSON numbers (a
// client parsing them into a binary float would lose digits).
nlohmann::json decimal(const std::string& description, const std::string& example,
                       bool nullable = false) {
  nlohmann::json schema = text(description + " (an exact decimal string)", nullable);
  schema["pattern"] = kDecimalPattern;
  schema["example"] = example;
  return schema;
}

// What the SQL functions and the built-ins return (sql/60-market-data-functions.sql:
// price_json, search_assets, upsert_prices).
nlohmann::json build_response_schemas() {
  using nlohmann::json;
  json price = {
      {"type", "object"},
      {"required",
       {"assetId", "symbol", "name", "layer", "price", "currency", "source", "asOf",
        "change24hPercent"}},
      {"properties",
       {{"assetId", text("Asset id")},
        {"symbol", text("Ticker symbol")},
        {"name", text("Asset name")},
        {"layer", text("Portfolio layer: FOUNDATION, GROWTH or UPSIDE")},
        {"price", decimal("Latest price in `currency`", "2952.784")},
        {"currency", text("Quote currency (ISO 4217 code)")},
        {"source", text("Where the price came from")},
        {"asOf",
         {{"type", "string"}, {"format", "date-time"}, {"description", "Time of the price"}}},
        {"change24hPercent", decimal("Change over 24 hours in percent", "-1.25", true)}}}};
  json asset = {
      {"type", "object"},
      {"required",
       {"assetId", "symbol", "exchange", "name", "isin", "assetClass", "sector", "quoteCurrency",
        "layer", "minTradeAmount", "quantityDecimals"}},
      {"properties",
       {{"assetId", text("Asset id")},
        {"symbol", text("Ticker symbol")},
        {"exchange", text("Exchange", true)},
        {"name", text("Asset name")},
        {"isin", text("ISIN", true)},
        {"assetClass", text("STOCK, ETF, MUTUAL_FUND, CRYPTO, GOLD or FIXED_INCOME")},
        {"sector", text("Sector", true)},
        {"quoteCurrency", text("Currency the asset is quoted in")},
        {"layer", text("Portfolio layer: FOUNDATION, GROWTH or UPSIDE")},
        {"minTradeAmount", decimal("Smallest trade, in the quote currency", "100.00")},
        {"quantityDecimals",
         {{"type", "integer"}, {"description", "Decimals a quantity of the asset may have"}}}}}};
  return {
      {"Status",
       {{"type", "object"},
        {"required", {"status"}},
        {"properties", {{"status", text("ok (healthz) or ready (readyz)")}}}}},
      {"MetricsText",
       {{"type", "string"}, {"description", "Prometheus text exposition format 0.0.4"}}},
      {"OpenApiDocument",
       {{"type", "object"},
        {"required", {"openapi", "info", "paths"}},
        {"description", "An OpenAPI 3.0 document"}}},
      {"Price", price},
      {"Asset", asset},
      {"RowCount",
       {{"type", "integer"}, {"minimum", 1}, {"description", "Rows read from the batch"}}},
  };
}

std::vector<Route> build_table() {
  return {
      {Method::Get,
       "/healthz",
       "",
       {},
       Auth::kNone,
       BodyShape::kNone,
       200,
       {ResponseShape::kOne, "Status"},
       "Liveness: the process is up (does not touch the database)",
       Builtin::kHealth},
      {Method::Get,
       "/readyz",
       "",
       {},
       Auth::kNone,
       BodyShape::kNone,
       200,
       {ResponseShape::kOne, "Status"},
       "Readiness: the database answers SELECT 1",
       Builtin::kReady},
      {Method::Get,
       "/metrics",
       "",
       {},
       Auth::kNone,
       BodyShape::kNone,
       200,
       {ResponseShape::kOne, "MetricsText"},
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
       {ResponseShape::kOne, "OpenApiDocument"},
       "This API's OpenAPI 3.0 document",
       Builtin::kOpenApi},

      {Method::Get,
       "/api/v1/prices",
       "list_prices",
       {},
       Auth::kNone,
       BodyShape::kNone,
       200,
       {ResponseShape::kArrayOf, "Price"},
       "Latest price of every active asset, ordered by asset id"},
      {Method::Get,
       "/api/v1/prices/{assetId}",
       "get_price",
       {{ArgSource::kPath, "assetId", true, kAssetIdMaxLength, "Asset id, e.g. RELIANCE",
         kAssetIdPattern}},
       Auth::kNone,
       BodyShape::kNone,
       200,
       {ResponseShape::kOne, "Price"},
       "Latest price of one asset"},
      {Method::Get,
       "/api/v1/assets",
       "search_assets",
       {{ArgSource::kQuery, "q", false, kSearchQueryMaxLength,
         "Text to search asset ids and names for; all assets when absent"}},
       Auth::kNone,
       BodyShape::kNone,
       200,
       {ResponseShape::kArrayOf, "Asset"},
       "Search active assets (at most 50, ordered by asset id)"},
      {Method::Post,
       "/api/v1/admin/prices",
       "upsert_prices",
       {{ArgSource::kBody, "body", true, 0,
         "Array of {assetId, price (decimal string), currency, source, asOf}"}},
       Auth::kAdmin,
       BodyShape::kJsonArray,
       200,
       {ResponseShape::kOne, "RowCount"},
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
    if (!response_schemas().contains(route.response.schema))
      throw std::logic_error("route table: unknown response schema " + route.response.schema +
                             " in " + where);
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
                {"responseMediaType", route.response_media_type},
                {"responseSchema", response_schema_ref(route.response)}};
    if (!route.sql_function.empty()) row["sqlFunction"] = "pgfolio." + route.sql_function;
    if (route.builtin != Builtin::kNone) row["builtin"] = builtin_name(route.builtin);
    rows.push_back(row);
  }
  return rows.dump(2);
}

const nlohmann::json& response_schemas() {
  static const nlohmann::json schemas = build_response_schemas();
  return schemas;
}

nlohmann::json response_schema_ref(const ResponseBody& response) {
  nlohmann::json ref = {{"$ref", "#/components/schemas/" + response.schema}};
  if (response.shape == ResponseShape::kArrayOf) return {{"type", "array"}, {"items", ref}};
  return ref;
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
