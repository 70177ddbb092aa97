// Turns one parsed request into one Reply: route matching, CORS preflight, the shape checks
// (media type, JSON, parameter text), authentication, then a built-in handler or the
// route's SQL function. Knows nothing of sockets; the Pistache glue is in http_handler.
#pragma once

#include <pistache/http.h>

#include <atomic>
#include <optional>
#include <string>

#include "auth_flows.hpp"
#include "config.hpp"
#include "cors.hpp"
#include "database.hpp"
#include "db_pool.hpp"
#include "metrics.hpp"
#include "rate_limiter.hpp"
#include "reply.hpp"
#include "route_matcher.hpp"

namespace pgfolio::http {

// Everything the request handlers share; one instance for the process.
struct ServerContext {
  explicit ServerContext(Config config);

  const Config config;
  const RouteMatcher matcher;
  const CorsPolicy cors;
  const std::string openapi_document;
  Metrics metrics;
  ConnectionPool pool;
  Database database;
  const AuthServices auth;
  RateLimiter login_limiter;          // per client IP, login-like routes
  RateLimiter user_limiter;           // per user, authenticated routes
  std::atomic<bool> draining{false};  // set on SIGTERM: new requests get 503
  std::atomic<int> in_flight{0};
};

struct IncomingRequest {
  Pistache::Http::Method method;
  std::string path;  // without the query string, percent-encoded as sent
  const Pistache::Http::Uri::Query* query;
  const std::string* body;
  std::optional<std::string> content_type;
  std::optional<std::string> origin;
  std::optional<std::string> preflight_method;  // Access-Control-Request-Method
  std::string request_id;
  std::optional<std::string> authorization;  // never logged
  std::string client_ip;
  std::optional<std::string> user_agent;
};

class Dispatcher {
 public:
  explicit Dispatcher(ServerContext& context) : context_(context) {}

  Reply dispatch(const IncomingRequest& request);

 private:
  Reply options_reply(const IncomingRequest& request, const RouteMatch& match);
  std::optional<Problem> check_body(const Route& route, const IncomingRequest& request,
                                    nlohmann::json& body);
  std::optional<Problem> collect_args(const Route& route, const RouteMatch& match,
                                      const IncomingRequest& request, const nlohmann::json& body,
                                      const std::string& client_json,
                                      std::vector<std::optional<std::string>>& args);
  std::optional<Problem> authenticate(const Route& route, const IncomingRequest& request,
                                      RequestIdentity& identity);
  Reply builtin_reply(const Route& route, const IncomingRequest& request);

  ServerContext& context_;
};

}  // namespace pgfolio::http
