#include "dispatcher.hpp"

#include <algorithm>
#include <cctype>
#include <regex>

#include "digest.hpp"
#include "export_stream.hpp"
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

Problem rate_limited(int retry_after_seconds) {
  Problem problem =
      make_problem(ErrorCode::RATE_LIMITED,
                   "Too many requests; retry in " + std::to_string(retry_after_seconds) + " s.",
                   {{"retryAfter", retry_after_seconds}});
  problem.retry_after_seconds = retry_after_seconds;
  return problem;
}

// RFC 6750 §3: a request that presented a token is told that the token was the problem.
std::string bearer_challenge(const IncomingRequest& request) {
  return request.authorization ? "Bearer realm=\"pgfolio\", error=\"invalid_token\""
                               : "Bearer realm=\"pgfolio\"";
}

// What the server saw of the client, for sessions and the audit log. The user agent is
// client text: bounded, and only printable characters kept.
std::string client_info(const IncomingRequest& request) {
  nlohmann::json client = {{"ip", request.client_ip}};
  if (request.user_agent) {
    std::string agent;
    for (char c : *request.user_agent) {
      if (agent.size() >= 256) break;
      const unsigned char byte = static_cast<unsigned char>(c);
      if (byte >= 0x20 && byte < 0x7F) agent.push_back(c);
    }
    client["userAgent"] = agent;
  }
  return dump_json(client);
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
      database(pool, metrics, config.db_retries, config.statement_timeout_ms),
      auth(config.auth),
      login_limiter(config.auth.rate_login_per_minute),
      user_limiter(config.auth.rate_user_per_minute) {}

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

  // Login-like routes are limited per client address before anything else is done for
  // them: a password guess costs the guesser a token even when it is malformed.
  if (route.limited_per_ip)
    if (int wait = context_.login_limiter.take(request.client_ip))
      return labelled(problem_reply(rate_limited(wait)));

  // Shape checks come before authentication: they are free, need no database round trip
  // and reveal nothing beyond the published OpenAPI document (see docs/http.md).
  nlohmann::json body = nlohmann::json::object();
  if (auto problem = check_body(route, request, body)) return labelled(problem_reply(*problem));
  const std::string client_json = client_info(request);
  std::vector<std::optional<std::string>> args;
  if (auto problem = collect_args(route, match, request, body, client_json, args))
    return labelled(problem_reply(*problem));
  RequestIdentity identity;
  if (auto problem = authenticate(route, request, identity)) {
    Reply reply = problem_reply(*problem);
    if (problem->status() == 401)
      reply.headers.emplace_back("WWW-Authenticate", bearer_challenge(request));
    return labelled(reply);
  }
  if (identity.authenticated())
    if (int wait = context_.user_limiter.take(identity.user_id))
      return labelled(problem_reply(rate_limited(wait)));

  if (route.builtin != Builtin::kNone) return labelled(builtin_reply(route, request));
  // Runs later, while the answer is written (HttpHandler): its body never sits in a Reply.
  if (!route.stream_function.empty())
    return labelled(
        stream_reply(context_.database, route, std::move(args), identity, request.request_id));

  DbResult result = route.flow != Flow::kNone
                        ? run_flow(context_.auth, context_.database,
                                   {route, body, client_json, identity, request.request_id})
                        : context_.database.call_route(route, args, identity, request.request_id);
  if (result.problem) {
    name_request_field(route.body_fields, *result.problem);
    Reply reply = problem_reply(*result.problem);
    // Every 401 names the scheme (RFC 9110 §15.5.2): a refused session or login included.
    if (reply.status == 401)
      reply.headers.emplace_back("WWW-Authenticate", bearer_challenge(request));
    return labelled(reply);
  }
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

std::optional<Problem> Dispatcher::check_body(const Route& route, const IncomingRequest& request,
                                              nlohmann::json& body) {
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
  if (route.body_fields.empty()) return std::nullopt;
  // Parsed only where fields are checked; the text still goes to PostgreSQL as it came.
  body = nlohmann::json::parse(*request.body, nullptr, false);
  if (!body.is_object())
    return make_problem(ErrorCode::VALIDATION_ERROR, "The body is not valid JSON.");
  return check_fields(route.body_fields, body);
}

std::optional<Problem> Dispatcher::collect_args(const Route& route, const RouteMatch& match,
                                                const IncomingRequest& request,
                                                const nlohmann::json& body,
                                                const std::string& client_json,
                                                std::vector<std::optional<std::string>>& args) {
  for (const RouteArg& arg : route.args) {
    if (arg.source == ArgSource::kBody) {
      args.emplace_back(*request.body);
      continue;
    }
    if (arg.source == ArgSource::kClient) {
      args.emplace_back(client_json);
      continue;
    }
    if (arg.source == ArgSource::kNull) {
      args.emplace_back(std::nullopt);
      continue;
    }
    if (arg.source == ArgSource::kBodyField) {
      // Present and of the declared type: check_fields said so.
      auto found = body.find(arg.name);
      if (found == body.end() || found->is_null()) {
        args.emplace_back(std::nullopt);
      } else {
        std::string value = found->is_string() ? found->get<std::string>() : found->dump();
        if (arg.transform == ArgTransform::kSha256Hex) value = sha256_hex(value);
        args.emplace_back(std::move(value));
      }
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
      if (arg.default_value.empty())
        args.emplace_back(std::nullopt);  // the SQL function gets NULL
      else
        args.emplace_back(arg.default_value);
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

std::optional<Problem> Dispatcher::authenticate(const Route& route, const IncomingRequest& request,
                                                RequestIdentity& identity) {
  if (route.auth == Auth::kNone) return std::nullopt;
  const std::string required = auth_name(route.auth);
  const AuthConfig& config = context_.config.auth;
  if (!request.authorization && route.auth == Auth::kUser && !config.bench_user_id.empty()) {
    identity.user_id = config.bench_user_id;
    identity.session_id = config.bench_session_id;
    identity.role = "user";
    identity.required = route.auth;
    identity.benchmark_unchecked = true;
    return std::nullopt;
  }
  if (!request.authorization)
    return make_problem(ErrorCode::UNAUTHORIZED,
                        "This endpoint needs an access token (Authorization: Bearer <token>).",
                        {{"requiredRole", required}});
  auto token = bearer_token(*request.authorization);
  if (!token)
    return make_problem(ErrorCode::UNAUTHORIZED,
                        "The Authorization header must be: Bearer <access token>.",
                        {{"requiredRole", required}, {"reason", "malformed"}});
  jwt::Verification verified = context_.auth.tokens.verify_access(*token);
  if (!verified.ok()) {
    const std::string reason(jwt::reason_name(verified.reason));
    return make_problem(ErrorCode::UNAUTHORIZED, "The access token is not valid (" + reason + ").",
                        {{"requiredRole", required}, {"reason", reason}});
  }
  // The token's role decides here; the database's role is checked again in the request's
  // transaction (Database::transact), and the admin functions check it once more.
  if (!role_allows(route.auth, verified.claims.role))
    return make_problem(ErrorCode::FORBIDDEN, "This endpoint needs the " + required + " role.",
                        {{"requiredRole", required}});
  identity.user_id = verified.claims.sub;
  identity.session_id = verified.claims.sid;
  identity.role = verified.claims.role;
  identity.required = route.auth;
  identity.client_json = client_info(request);
  return std::nullopt;
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
    case Builtin::kLedgerPublicKey: {
      const auto& key = context_.config.witness.public_key;
      if (!key)
        return problem_reply(make_problem(ErrorCode::NOT_FOUND,
                                          "This server has no ledger witness key configured."));
      reply.body = dump_json({{"algorithm", "Ed25519"},
                              {"keyId", key->key_id()},
                              {"publicKey", key->hex()},
                              {"pem", key->pem()}});
      break;
    }
    case Builtin::kNone:
      break;
  }
  return reply;
}

}  // namespace pgfolio::http
