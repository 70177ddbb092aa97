#include "dispatcher.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include "openapi.hpp"
#include "url_text.hpp"

namespace pgfolio::http {
namespace {

using Pistache::Http::Method;

// Longer targets are not paths this API has; refuse them before matching.
constexpr size_t kMaxPathBytes = 2048;
// Time a request waits for a free pooled connection before it gets a 503.
constexpr std::chrono::milliseconds kPoolWait{3000};

std::string media_type_of(const std::string& content_type) {
  std::string type = content_type.substr(0, content_type.find(';'));
  type.erase(
      std::remove_if(type.begin(), type.end(), [](unsigned char c) { return std::isspace(c); }),
      type.end());
  std::transform(type.begin(), type.end(), type.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return type;
}

Problem parameter_problem(const std::string& name, const char* where, const std::string& why,
                          nlohmann::json extra = {}) {
  nlohmann::json details = {{"parameter", name}, {"in", where}};
  if (extra.is_object()) details.update(extra);
  return make_problem(ErrorCode::VALIDATION_ERROR,
                      std::string(where) + " parameter '" + name + "' " + why, details);
}

}  // namespace

ServerContext::ServerContext(Config config_in)
    : config(std::move(config_in)),
      matcher(route_table()),
      cors(config.cors_origins),
      openapi_document(build_openapi_document(route_table(), config.max_body_bytes)),
      pool(config.database_url, static_cast<size_t>(config.pool_size), kPoolWait),
      database(pool, metrics, config.db_retries, config.statement_timeout_ms) {}

Reply Dispatcher::dispatch(const IncomingRequest& request) {
  if (context_.draining.load()) {
    Reply reply = problem_reply(make_problem(ErrorCode::SERVICE_UNAVAILABLE,
                                             "The server is shutting down; retry shortly."));
    reply.route_label = "none";
    return reply;
  }
  if (request.path.size() > kMaxPathBytes)
    return problem_reply(
        make_problem(ErrorCode::VALIDATION_ERROR,
                     "The request path is longer than " + std::to_string(kMaxPathBytes) + " bytes.",
                     {{"maxLength", kMaxPathBytes}}));

  RouteMatch match = context_.matcher.match(request.method, request.path);
  if (request.method == Method::Options && match.outcome != RouteMatch::Outcome::kNotFound)
    return options_reply(request, match);

  if (match.outcome == RouteMatch::Outcome::kNotFound)
    return problem_reply(
        make_problem(ErrorCode::NOT_FOUND, "No endpoint has the path " + request.path + "."));
  if (match.outcome == RouteMatch::Outcome::kMethodNotAllowed) {
    Problem problem = make_problem(ErrorCode::METHOD_NOT_ALLOWED,
                                   method_name(request.method) + " is not supported here.");
    problem.allow = allow_header_value(match.allowed);
    nlohmann::json allowed = nlohmann::json::array();
    for (auto method : match.allowed) allowed.push_back(method_name(method));
    problem.details = {{"allow", allowed}};
    Reply reply = problem_reply(problem);
    reply.route_label = "unmatched";
    return reply;
  }

  const Route& route = *match.route;
  auto labelled = [&route](Reply reply) {
    reply.route_label = route.path;
    return reply;
  };

  // Shape checks come before authentication: they are free, need no database round trip
  // and reveal nothing beyond the published OpenAPI document (see docs/http.md).
  if (auto problem = check_body(route, request)) return labelled(problem_reply(*problem));
  std::vector<std::optional<std::string>> args;
  if (auto problem = collect_args(route, match, request, args))
    return labelled(problem_reply(*problem));
  RequestIdentity identity;
  if (auto problem = authenticate(route, request, identity)) {
    Reply reply = problem_reply(*problem);
    reply.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"pgfolio\"");
    return labelled(reply);
  }

  if (route.builtin != Builtin::kNone) return labelled(builtin_reply(route, request));

  DbResult result = context_.database.call_route(route, args, identity, request.request_id);
  if (result.problem) return labelled(problem_reply(*result.problem));
  Reply reply;
  reply.status = route.success_status;
  reply.body = std::move(*result.body);
  return labelled(reply);
}

Reply Dispatcher::options_reply(const IncomingRequest& request, const RouteMatch& match) {
  Reply reply;
  reply.status = 204;
  reply.content_type.clear();
  // No route row is for OPTIONS; the answer is about the path, so it is counted under the
  // path's template (bounded, like every route label), not as unmatched.
  reply.route_label = match.path_template;
  const std::string allow = allow_header_value(match.allowed);
  reply.headers.emplace_back("Allow", allow);
  // A preflight from an allowed origin gets the CORS grant; anything else only the Allow
  // header, which a browser treats as a refusal.
  if (request.preflight_method) {
    if (auto grant = context_.cors.preflight_headers(request.origin, allow)) {
      reply.is_preflight = true;
      reply.headers.insert(reply.headers.end(), grant->begin(), grant->end());
    }
  }
  return reply;
}

std::optional<Problem> Dispatcher::check_body(const Route& route, const IncomingRequest& request) {
  if (route.body == BodyShape::kNone) return std::nullopt;
  const std::string media_type = request.content_type ? media_type_of(*request.content_type) : "";
  if (media_type != kJsonContentType)
    return make_problem(ErrorCode::UNSUPPORTED_MEDIA_TYPE,
                        "The body must be sent as application/json" +
                            (media_type.empty() ? std::string(".") : ", not " + media_type + "."),
                        {{"expected", kJsonContentType}});
  // Only the shape is checked; the text goes to PostgreSQL untouched, so decimal strings and
  // numbers are never squeezed through a double here.
  if (!nlohmann::json::accept(*request.body))
    return make_problem(ErrorCode::VALIDATION_ERROR, "The body is not valid JSON.");
  const char first = [&] {
    for (char c : *request.body)
      if (!std::isspace(static_cast<unsigned char>(c))) return c;
    return ' ';
  }();
  if (route.body == BodyShape::kJsonObject && first != '{')
    return make_problem(ErrorCode::VALIDATION_ERROR, "The body must be a JSON object.",
                        {{"expected", "object"}});
  if (route.body == BodyShape::kJsonArray && first != '[')
    return make_problem(ErrorCode::VALIDATION_ERROR, "The body must be a JSON array.",
                        {{"expected", "array"}});
  return std::nullopt;
}

std::optional<Problem> Dispatcher::collect_args(const Route& route, const RouteMatch& match,
                                                const IncomingRequest& request,
                                                std::vector<std::optional<std::string>>& args) {
  for (const RouteArg& arg : route.args) {
    if (arg.source == ArgSource::kBody) {
      args.emplace_back(*request.body);
      continue;
    }
    const bool in_path = arg.source == ArgSource::kPath;
    const char* where = in_path ? "path" : "query";
    std::optional<std::string> raw;
    if (in_path) {
      raw = match.raw_path_params.at(arg.name);
    } else if (auto value = request.query->get(arg.name)) {
      raw = *value;
    }
    if (!raw) {
      if (arg.required) return parameter_problem(arg.name, where, "is required.");
      args.emplace_back(std::nullopt);  // the SQL function gets NULL
      continue;
    }
    auto decoded = percent_decode(*raw, !in_path);
    if (!decoded) return parameter_problem(arg.name, where, "has a malformed %-escape.");
    if (in_path && decoded->empty()) return parameter_problem(arg.name, where, "is empty.");
    if (auto why = parameter_text_problem(*decoded))
      return parameter_problem(arg.name, where, *why + ".");
    // Characters, as OpenAPI's maxLength and PostgreSQL's length() count them.
    if (utf8_length(*decoded) > arg.max_length)
      return parameter_problem(arg.name, where,
                               "is longer than " + std::to_string(arg.max_length) + " characters.",
                               {{"maxLength", arg.max_length}});
    if (arg.compiled_pattern && !std::regex_match(*decoded, *arg.compiled_pattern))
      return parameter_problem(arg.name, where, "does not have the form " + arg.pattern + ".",
                               {{"pattern", arg.pattern}});
    args.emplace_back(std::move(*decoded));
  }
  return std::nullopt;
}

std::optional<Problem> Dispatcher::authenticate(const Route& route, const IncomingRequest&,
                                                RequestIdentity& identity) {
  if (route.auth == Auth::kNone) return std::nullopt;
  // ACCOUNTS HOOK: authentication does not exist yet, so routes that need a user or an
  // admin are refused. The accounts work verifies the credentials here, sets
  // identity.acting_user (Database then runs set_config('pgfolio.acting_user', ...) in the
  // request's transaction) and returns FORBIDDEN for a user on an admin route.
  (void)identity;
  return make_problem(ErrorCode::UNAUTHORIZED,
                      "This endpoint needs an authenticated " + auth_name(route.auth) +
                          "; authentication is not available yet.",
                      {{"requiredRole", auth_name(route.auth)}});
}

Reply Dispatcher::builtin_reply(const Route& route, const IncomingRequest& request) {
  Reply reply;
  reply.status = route.success_status;
  switch (route.builtin) {
    case Builtin::kHealth:
      reply.body = "{\"status\":\"ok\"}";
      break;
    case Builtin::kReady: {
      DbResult result = context_.database.ping(request.request_id);
      if (result.problem) return problem_reply(*result.problem);
      reply.body = *result.body;
      break;
    }
    case Builtin::kMetrics:
      reply.content_type = route.response_media_type;
      reply.body = context_.metrics.render(context_.pool.stats());
      break;
    case Builtin::kOpenApi:
      reply.body = context_.openapi_document;
      break;
    case Builtin::kNone:
      break;
  }
  return reply;
}

}  // namespace pgfolio::http
