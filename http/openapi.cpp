#include "openapi.hpp"

#include <algorithm>
#include <cctype>

#include "problem.hpp"

namespace pgfolio::http {
namespace {

using nlohmann::json;

std::string lowercase(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

json problem_response(const std::string& description) {
  return {{"description", description},
          {"content",
           {{kProblemContentType, {{"schema", {{"$ref", "#/components/schemas/Problem"}}}}}}}};
}

json operation(const Route& route, size_t max_body_bytes) {
  json op = {{"operationId", operation_id(route)},
             {"summary", route.summary},
             {"x-pgfolio-auth", auth_name(route.auth)}};
  if (!route.sql_function.empty()) op["x-pgfolio-sql-function"] = "pgfolio." + route.sql_function;
  if (route.flow != Flow::kNone) op["x-pgfolio-flow"] = flow_name(route.flow);

  if (route.body != BodyShape::kNone) {
    json schema = route.body_fields.empty()
                      ? json{{"type", route.body == BodyShape::kJsonArray ? "array" : "object"}}
                      : fields_schema(route.body_fields);
    std::string description = "JSON";
    for (const RouteArg& arg : route.args)
      if (arg.source == ArgSource::kBody) description = arg.description;
    op["requestBody"] = {
        {"required", true},
        {"description", description + " (at most " + std::to_string(max_body_bytes) + " bytes)"},
        {"content", {{kJsonContentType, {{"schema", schema}}}}}};
  }

  json parameters = json::array();
  for (const RouteArg& arg : route.args) {
    if (arg.source != ArgSource::kPath && arg.source != ArgSource::kQuery) continue;
    json schema = {{"type", "string"}, {"maxLength", arg.max_length}};
    if (!arg.pattern.empty()) schema["pattern"] = arg.pattern;
    if (!arg.default_value.empty()) schema["default"] = arg.default_value;
    parameters.push_back({{"name", arg.name},
                          {"in", arg.source == ArgSource::kPath ? "path" : "query"},
                          {"required", arg.required},
                          {"description", arg.description},
                          {"schema", schema}});
  }
  if (!parameters.empty()) op["parameters"] = parameters;

  json success = {
      {"description", "Success"},
      {"content",
       {{route.response_media_type, {{"schema", response_schema_ref(route.response)}}}}}};
  json responses = {{std::to_string(route.success_status), success}};
  if (route.body != BodyShape::kNone || !parameters.empty())
    responses["400"] = problem_response("The request is not valid; details name the field");
  if (route.auth != Auth::kNone) {
    responses["401"] = problem_response(
        "No valid access token (missing, malformed, expired, revoked session, suspended user)");
    responses["403"] = problem_response("The token's role may not call this endpoint");
    op["security"] = json::array({{{"bearerAuth", json::array()}}});
  }
  if (route.auth != Auth::kNone || route.limited_per_ip)
    responses["429"] = problem_response("Too many requests; see Retry-After");
  if (route.builtin == Builtin::kNone || route.builtin == Builtin::kReady)
    responses["503"] = problem_response("The database is unavailable; see Retry-After");
  responses["default"] = problem_response("An error (problem details, RFC 9457)");
  op["responses"] = responses;
  return op;
}

}  // namespace

std::string build_openapi_document(const std::vector<Route>& routes, size_t max_body_bytes) {
  json paths = json::object();
  for (const Route& route : routes)
    paths[route.path][lowercase(method_name(route.method))] = operation(route, max_body_bytes);

  json problem_schema = {
      {"type", "object"},
      {"required", {"type", "title", "status", "detail", "code", "details"}},
      {"properties",
       {{"type", {{"type", "string"}, {"format", "uri"}}},
        {"title", {{"type", "string"}}},
        {"status", {{"type", "integer"}}},
        {"detail", {{"type", "string"}}},
        {"code", {{"type", "string"}, {"description", "Error catalog name, e.g. NOT_FOUND"}}},
        {"details", {{"type", "object"}}}}}};

  json components;
  components["schemas"] = response_schemas();
  components["schemas"]["Problem"] = problem_schema;
  components["securitySchemes"]["bearerAuth"] = {
      {"type", "http"},
      {"scheme", "bearer"},
      {"bearerFormat", "JWT"},
      {"description",
       "An access token from /auth/login, /auth/register, /auth/refresh, "
       "/auth/verify-otp or /auth/mfa/verify"}};

  json document;
  document["openapi"] = "3.0.3";
  document["info"] = {{"title", "pgfolio HTTP API"},
                      {"version", "0.1.0"},
                      {"description", "Generated from pgfolio-http's route table."}};
  document["paths"] = paths;
  document["components"] = components;
  return dump_json(document);
}

}  // namespace pgfolio::http
