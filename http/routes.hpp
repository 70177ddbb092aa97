// The one route table of pgfolio-http. Each row is an endpoint: method, path template, the
// SQL function it calls (or a built-in handler, or a C++ flow around SQL calls), where each
// function argument comes from, the fields its body may have, who may call it, the success
// status and a summary for the OpenAPI document. The router, the database call,
// /api/v1/openapi.json and docs/http.md all follow this table; adding an endpoint is one row
// here plus its SQL function.
#pragma once

#include <pistache/http_defs.h>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <memory>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

#include "body_fields.hpp"

namespace pgfolio::http {

enum class ArgSource {
  kPath,       // a {name} segment of the path template
  kQuery,      // ?name=...; when absent and optional: its default_value, or NULL
  kBody,       // the raw request body text (the SQL side takes jsonb)
  kBodyField,  // one field of the (checked) body object, as text; NULL when absent or null
  kClient,     // {"ip", "userAgent"} as the server saw them (jsonb), for sessions and audit
  // Always NULL: a route that is another route with one argument fixed to "none given", e.g.
  // /portfolio/add-funds, which is /portfolios/{portfolioId}/add-funds for the default
  // portfolio. Not a request parameter, so not in the OpenAPI document.
  kNull,
};

// What the server does to an argument's value before sending it.
enum class ArgTransform {
  kNone,
  kSha256Hex,  // a secret the database must only see hashed (docs/auth.md)
};

struct RouteArg {
  ArgSource source;
  std::string name;
  bool required;
  size_t max_length;  // in characters after percent-decoding; ignored for the body
  std::string description;
  // ECMAScript regular expression the whole decoded value must match (anchored with ^ and
  // $, as OpenAPI shows it); empty for any text. Ignored for the body.
  std::string pattern = "";
  std::shared_ptr<const std::regex> compiled_pattern = nullptr;  // set by route_table()
  ArgTransform transform = ArgTransform::kNone;
  // Sent in place of an absent optional query parameter (SQL cannot tell an explicit NULL
  // from an omitted argument, so its DEFAULT would not apply); empty: NULL.
  std::string default_value = "";
};

// Who may call a route: anyone; a user (a valid access token: role user or admin); an
// admin; an admin or a `service` machine account (e.g. a market-data feeder). The role claim
// is checked here and the database's role again in the request's transaction.
enum class Auth { kNone, kUser, kAdmin, kServiceOrAdmin };

// Routes whose work needs secrets the database must never see (password hashing, tokens,
// TOTP) run C++ around their SQL calls (auth_flows.cpp) instead of one function call.
enum class Flow {
  kNone,
  kRegister,
  kLogin,
  kRefresh,
  kOtpVerify,
  kPasswordReset,
  kMfaVerify,
  kMfaEnrol,
  kMfaConfirm,
  kMfaDisable,
};

// The JSON shape a body must have before it is sent to the database.
enum class BodyShape { kNone, kJsonObject, kJsonArray };

// Endpoints answered by the server itself rather than by a SQL function.
// kLedgerPublicKey: the witness's verifying key, from the configuration (docs/witness.md).
enum class Builtin { kNone, kHealth, kReady, kMetrics, kOpenApi, kLedgerPublicKey };

// What a success answer's body holds, for the OpenAPI document: one value, or an array of
// values, of a named schema from response_schemas().
enum class ResponseShape { kOne, kArrayOf };
struct ResponseBody {
  ResponseShape shape;
  std::string schema;  // a key of response_schemas(), e.g. "Price"
};

struct Route {
  Pistache::Http::Method method;
  std::string path;          // e.g. /api/v1/prices/{assetId}
  std::string sql_function;  // in schema pgfolio; a flow's first call; empty for built-ins
  std::vector<RouteArg> args;
  Auth auth;
  BodyShape body;
  int success_status;
  ResponseBody response;
  std::string summary;
  Builtin builtin = Builtin::kNone;
  std::string response_media_type = "application/json";
  // For a kJsonObject body: the fields it may have (unknown ones are refused). Empty for a
  // body the SQL function checks alone (the market-data batches).
  std::vector<BodyField> body_fields = {};
  Flow flow = Flow::kNone;
  // Login-like routes (guessable secrets, costly hashing): a token bucket per client IP.
  // Authenticated routes have one per user anyway.
  bool limited_per_ip = false;
  // A streamed answer (export_stream.hpp): sql_function checks the request and answers
  // {"contentType", "filename", "prologue"}; the rows of this set-returning function of text,
  // called with the same arguments, are the body, sent as they are read. Empty for the rest.
  std::string stream_function = "";
  // The OpenAPI operationId when two rows call one function (the default-portfolio routes);
  // empty: the function's name (or the built-in's). Unique over the table (validated).
  std::string operation_id = "";
};

// The table, validated once (path parameters match args, function names are identifiers,
// patterns compile); a bad row aborts the start with a message rather than serving a broken
// endpoint.
const std::vector<Route>& route_table();

// The schemas of success bodies by name, as OpenAPI 3.0 schema objects (they become the
// document's components/schemas). Money, prices and quantities are decimal strings.
const nlohmann::json& response_schemas();

// The schema of a route's success body: a reference to its named schema, or an array of them.
nlohmann::json response_schema_ref(const ResponseBody& response);

// The table as a JSON array, one object per row, for `pgfolio-http --routes`: what tooling
// and the tests compare with the OpenAPI document and the live server.
std::string route_table_json(const std::vector<Route>& routes);

// The row's OpenAPI operationId: its operation_id, else its SQL function's or built-in's name.
std::string operation_id(const Route& route);

// "GET", "POST", ...
std::string method_name(Pistache::Http::Method method);
std::string auth_name(Auth auth);
// "register", "login", …; "" for kNone.
std::string flow_name(Flow flow);
// "healthz", "readyz", "metrics", "openapi", "ledger_public_key"; "" for kNone.
std::string builtin_name(Builtin builtin);

}  // namespace pgfolio::http
