#include "routes.hpp"

#include <nlohmann/json.hpp>

#include <cctype>
#include <set>
#include <stdexcept>

#include "password_hasher.hpp"

namespace pgfolio::http {
namespace {

using Pistache::Http::Method;

// The form of pgfolio.assets.id (its CHECK constraint): anything else cannot name an asset,
// so it is refused as malformed (400) before it costs a database round trip.
constexpr size_t kAssetIdMaxLength = 32;
constexpr const char* kAssetIdPattern = "^[A-Z0-9][A-Z0-9._-]{0,31}$";
// pgfolio.search_assets refuses longer text itself; refusing it here says so in OpenAPI.
constexpr size_t kSearchQueryMaxLength = 100;

constexpr size_t kUuidLength = 36;
constexpr const char* kUuidPattern =
    "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$";
constexpr size_t kDisplayNameMaxLength = 100;

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
  };
}

nlohmann::json object_schema(const std::string& description, nlohmann::json properties,
                             std::vector<std::string> required) {
  return {{"type", "object"},
          {"description", description},
          {"required", required},
          {"properties", std::move(properties)}};
}

nlohmann::json ref(const std::string& schema) {
  return {{"$ref", "#/components/schemas/" + schema}};
}

nlohmann::json boolean(const std::string& description) {
  return {{"type", "boolean"}, {"description", description}};
}

nlohmann::json integer(const std::string& description) {
  return {{"type", "integer"}, {"description", description}};
}

nlohmann::json date_time(const std::string& description, bool nullable = false) {
  nlohmann::json schema = {
      {"type", "string"}, {"format", "date-time"}, {"description", description}};
  if (nullable) schema["nullable"] = true;
  return schema;
}

// The accounts endpoints' answers (sql/*-accounts*.sql and http/auth_flows.cpp).
nlohmann::json nullable_object(const std::string& description) {
  return {{"type", "object"}, {"nullable", true}, {"description", description}};
}

// The accounts endpoints' answers: user_json, profile_json and friends in sql/46-identity.sql,
// sql/47-sessions.sql, sql/78-profile.sql and sql/79-admin.sql, and http/auth_flows.cpp.
nlohmann::json build_account_schemas() {
  using nlohmann::json;
  json user_properties = {{"id", text("User id (UUID)")},
                          {"email", text("Email address", true)},
                          {"phone", text("Phone number (E.164)", true)},
                          {"displayName", text("Display name", true)},
                          {"role", text("user, admin or service")},
                          {"status", text("active, suspended or deleted")},
                          {"emailVerified", boolean("Whether the email address was confirmed")},
                          {"mfaEnabled", boolean("Whether logins need a TOTP code")},
                          {"createdAt", date_time("When the account was created")}};
  const std::vector<std::string> user_required = {
      "id",     "email",         "phone",      "displayName", "role",
      "status", "emailVerified", "mfaEnabled", "createdAt"};
  json admin_user_properties = user_properties;
  admin_user_properties["lastLoginAt"] = date_time("Last login", true);
  std::vector<std::string> admin_user_required = user_required;
  admin_user_required.push_back("lastLoginAt");

  json consent_times =
      object_schema("When each disclosure was accepted (null: not yet)",
                    {{"risk", date_time("Investing carries risk", true)},
                     {"loss", date_time("Capital may be lost", true)},
                     {"noGuarantee", date_time("Returns are not guaranteed", true)}},
                    {"risk", "loss", "noGuarantee"});
  json profile_properties = user_properties;
  profile_properties.update(
      json{{"avatarUrl", text("https URL of a picture", true)},
           {"biometricEnabled", boolean("Biometric unlock on the device")},
           {"notificationTokenSet", boolean("Whether a push token is set (never shown)")},
           {"riskScore", {{"type", "integer"}, {"nullable", true}, {"description", "Risk score"}}},
           {"riskTier", text("Risk tier", true)},
           {"riskProfile", nullable_object("Risk questionnaire answers")},
           {"targetAllocation",
            {{"type", "object"},
             {"nullable", true},
             {"description", "Target weights per layer in percent"},
             {"properties",
              {{"FOUNDATION", decimal("Foundation layer percent", "50")},
               {"GROWTH", decimal("Growth layer percent", "35")},
               {"UPSIDE", decimal("Upside layer percent", "15")}}}}},
           {"consents", consent_times},
           {"lastLoginAt", date_time("Last login", true)}});
  std::vector<std::string> profile_required = user_required;
  for (const char* name : {"avatarUrl", "biometricEnabled", "notificationTokenSet", "consents"})
    profile_required.push_back(name);

  json tokens =
      object_schema("A new access token and refresh token",
                    {{"accessToken", text("JWT for Authorization: Bearer (short-lived)")},
                     {"refreshToken", text("Opaque token for /auth/refresh (single use)")},
                     {"expiresIn", integer("Seconds until the access token expires")},
                     {"tokenType", text("Bearer")},
                     {"user", ref("User")},
                     {"created", boolean("Whether this login created the account (phone login)")}},
                    {"accessToken", "refreshToken", "expiresIn", "tokenType", "user"});
  json challenge = object_schema(
      "The credential was right and MFA is on: send the challenge with a TOTP code to "
      "/auth/mfa/verify",
      {{"mfaRequired", boolean("Always true")},
       {"challenge", text("Opaque, single use")},
       {"expiresIn", integer("Seconds the challenge stays valid")}},
      {"mfaRequired", "challenge", "expiresIn"});
  return {
      {"User", object_schema("A person's account", user_properties, user_required)},
      {"AdminUser", object_schema("A user as administrators see them", admin_user_properties,
                                  admin_user_required)},
      {"Profile", object_schema("The caller's profile", profile_properties, profile_required)},
      {"Tokens", tokens},
      {"MfaChallenge", challenge},
      {"LoginResult", {{"oneOf", {ref("Tokens"), ref("MfaChallenge")}}}},
      {"Success", object_schema("Done", {{"success", boolean("Always true")}}, {"success"})},
      {"Rows", object_schema(
                   "The batch was loaded",
                   {{"rows", {{"type", "integer"}, {"minimum", 1}, {"description", "Rows read"}}}},
                   {"rows"})},
      {"Session",
       object_schema(
           "A login session (one chain of refresh tokens)",
           {{"id", text("Session id")},
            {"device", text("Device name the client gave", true)},
            {"ip", text("Client IP address at login", true)},
            {"userAgent", text("User agent at login", true)},
            {"createdAt", date_time("When the session started")},
            {"lastUsedAt", date_time("Last login or refresh", true)},
            {"expiresAt", date_time("When the refresh token expires")},
            {"current", boolean("Whether this is the session of the request")}},
           {"id", "device", "ip", "userAgent", "createdAt", "lastUsedAt", "expiresAt", "current"})},
      {"OtpSent", object_schema("The code is on its way",
                                {{"success", boolean("Always true")},
                                 {"expiresIn", integer("Seconds the code stays valid")}},
                                {"success", "expiresIn"})},
      {"EmailVerified", object_schema("The address is confirmed",
                                      {{"verified", boolean("Always true")}}, {"verified"})},
      {"MfaEnrolment", object_schema("A new TOTP secret, not in force until confirmed",
                                     {{"secret", text("The secret in base32, for manual entry")},
                                      {"otpauthUri", text("otpauth:// URI for a QR code")}},
                                     {"secret", "otpauthUri"})},
      {"ProfileExport",
       object_schema("Everything stored about the caller but credentials",
                     {{"exportedAt", date_time("When the export was made")},
                      {"profile", ref("Profile")},
                      {"portfolios", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                      {"sessions", {{"type", "array"}, {"items", {{"type", "object"}}}}},
                      {"auditLog", {{"type", "array"}, {"items", {{"type", "object"}}}}}},
                     {"exportedAt", "profile", "portfolios", "sessions", "auditLog"})},
      {"Consent",
       object_schema("The recorded acceptances", {{"consents", consent_times}}, {"consents"})},
      {"UserPage",
       object_schema("One page of users",
                     {{"users", {{"type", "array"}, {"items", ref("AdminUser")}}},
                      {"nextCursor", text("Cursor of the next page; null on the last", true)}},
                     {"users", "nextCursor"})},
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
       "admin_upsert_prices",
       {{ArgSource::kBody, "body", true, 0,
         "Array of {assetId, price (decimal string), currency, source, asOf}"}},
       Auth::kServiceOrAdmin,
       BodyShape::kJsonArray,
       200,
       {ResponseShape::kOne, "Rows"},
       "Insert or update prices"},
      {Method::Post,
       "/api/v1/admin/fx-rates",
       "admin_upsert_fx_rates",
       {{ArgSource::kBody, "body", true, 0,
         "Array of {base, quote, rate (decimal string), source, asOf}"}},
       Auth::kServiceOrAdmin,
       BodyShape::kJsonArray,
       200,
       {ResponseShape::kOne, "Rows"},
       "Insert or update exchange rates"},
  };
}

// A row for the accounts endpoints, which mostly take a JSON object body with named fields;
// the setters read as the row's remaining columns.
class Row {
 public:
  Row(Method method, std::string path, std::string function, Auth auth, int status,
      ResponseBody response, std::string summary) {
    route_.method = method;
    route_.path = std::move(path);
    route_.sql_function = std::move(function);
    route_.auth = auth;
    route_.body = BodyShape::kNone;
    route_.success_status = status;
    route_.response = std::move(response);
    route_.summary = std::move(summary);
  }
  Row& args(std::vector<RouteArg> args) {
    route_.args = std::move(args);
    return *this;
  }
  Row& body(std::vector<BodyField> fields) {
    route_.body = BodyShape::kJsonObject;
    route_.body_fields = std::move(fields);
    return *this;
  }
  Row& flow(Flow flow) {
    route_.flow = flow;
    return *this;
  }
  Row& operation_id(std::string id) {
    route_.operation_id = std::move(id);
    return *this;
  }
  Row& limited_per_ip() {
    route_.limited_per_ip = true;
    return *this;
  }
  operator Route() const { return route_; }

 private:
  Route route_;
};

RouteArg field_arg(const std::string& name, ArgTransform transform = ArgTransform::kNone) {
  RouteArg arg{ArgSource::kBodyField, name, true, 0, "body field " + name};
  arg.transform = transform;
  return arg;
}

RouteArg client_arg() {
  return {ArgSource::kClient, "client", true, 0, "the client's IP address and user agent"};
}

RouteArg uuid_path_arg(const std::string& name, const std::string& description) {
  return {ArgSource::kPath, name, true, kUuidLength, description, kUuidPattern};
}

RouteArg page_size_arg() {
  RouteArg arg{ArgSource::kQuery, "pageSize", false, 3, "Users per page, 1 to 100", "^[0-9]{1,3}$"};
  arg.default_value = "50";
  return arg;
}

BodyField text_field(const std::string& name, bool required, size_t min_length, size_t max_length,
                     const std::string& description) {
  BodyField field{name, FieldType::kString, required, description};
  field.min_length = min_length;
  field.max_length = max_length;
  return field;
}

BodyField boolean_field(const std::string& name, bool required, const std::string& description) {
  return {name, FieldType::kBoolean, required, description};
}

std::vector<Route> build_account_table() {
  const ResponseBody tokens{ResponseShape::kOne, "Tokens"};
  const ResponseBody success{ResponseShape::kOne, "Success"};
  const BodyField display_name =
      text_field("displayName", true, 1, kDisplayNameMaxLength, "Name shown to the person");
  // The SQL functions take the step the code matched (docs/auth.md).
  const BodyField totp_code = sent_as(
      digits_code_field("code", "The 6-digit code the authenticator app shows now"), {"totpStep"});
  BodyField avatar_url = text_field("avatarUrl", false, 1, 2048, "https URL of a picture");
  avatar_url.pattern = "^https://[^\\s]+$";
  avatar_url.format = "uri";
  avatar_url.nullable = true;
  BodyField notification_token =
      text_field("notificationToken", false, 1, 512, "Push notification token of the device");
  notification_token.nullable = true;
  BodyField settings_name = display_name;
  settings_name.required = false;

  return {
      Row(Method::Post, "/api/v1/auth/register", "auth_register", Auth::kNone, 201, tokens,
          "Create an account with email and password; answers tokens")
          .body({email_field(),
                 sent_as(
                     password_field("password", PasswordHasher::kMinPasswordCharacters, "Password"),
                     {"passwordHash"}),
                 display_name})
          .flow(Flow::kRegister)
          .limited_per_ip(),
      Row(Method::Post, "/api/v1/auth/login", "auth_login_lookup", Auth::kNone, 200,
          {ResponseShape::kOne, "LoginResult"},
          "Log in with email and password: tokens, or an MFA challenge when MFA is on")
          // A login may also store a fresh hash of the password (newPasswordHash).
          .body({email_field(), sent_as(password_field("password", 1, "Password"),
                                        {"passwordHash", "newPasswordHash"})})
          .flow(Flow::kLogin)
          .limited_per_ip(),
      Row(Method::Post, "/api/v1/auth/refresh", "auth_refresh", Auth::kNone, 200, tokens,
          "Exchange a refresh token for a new pair (the old one stops working; presenting "
          "it again revokes the session)")
          .body({sent_as(opaque_token_field("refreshToken", "The refresh token last received"),
                         {"refreshHash"})})
          .flow(Flow::kRefresh)
          .limited_per_ip(),
      Row(Method::Post, "/api/v1/auth/logout", "auth_logout", Auth::kUser, 200, success,
          "Revoke the current session"),
      Row(Method::Get, "/api/v1/auth/sessions", "auth_sessions", Auth::kUser, 200,
          {ResponseShape::kArrayOf, "Session"}, "The caller's sessions"),
      Row(Method::Delete, "/api/v1/auth/sessions/{sessionId}", "auth_session_revoke", Auth::kUser,
          200, success, "Revoke one of the caller's sessions")
          .args({uuid_path_arg("sessionId", "Session id")}),
      Row(Method::Post, "/api/v1/auth/send-otp", "auth_otp_send", Auth::kNone, 200,
          {ResponseShape::kOne, "OtpSent"},
          "Send a one-time login code by SMS (at most 3 per 5 minutes per phone)")
          .body({phone_field()})
          .args({field_arg("phone"), client_arg()})
          .limited_per_ip(),
      Row(Method::Post, "/api/v1/auth/verify-otp", "auth_otp_verify", Auth::kNone, 200, tokens,
          "Log in with the code sent by SMS; creates the account at the first login")
          .body({phone_field(),
                 sent_as(digits_code_field("code", "The 6-digit code received"), {"codeHash"})})
          .flow(Flow::kOtpVerify)
          .limited_per_ip(),
      Row(Method::Post, "/api/v1/auth/verify-email", "auth_email_verify", Auth::kNone, 200,
          {ResponseShape::kOne, "EmailVerified"}, "Confirm an email address with the mailed token")
          .body({sent_as(opaque_token_field("token", "The token from the verification mail"),
                         {"tokenHash"})})
          .args({field_arg("token", ArgTransform::kSha256Hex)})
          .limited_per_ip(),
      Row(Method::Post, "/api/v1/auth/password/forgot", "auth_password_forgot", Auth::kNone, 200,
          success, "Mail a password-reset token (the answer is the same for unknown addresses)")
          .body({email_field()})
          .args({field_arg("email"), client_arg()})
          .limited_per_ip(),
      Row(Method::Post, "/api/v1/auth/password/reset", "auth_password_reset", Auth::kNone, 200,
          success, "Set a new password with the mailed token; revokes every session")
          .body(
              {sent_as(opaque_token_field("token", "The token from the reset mail"), {"tokenHash"}),
               sent_as(password_field("password", PasswordHasher::kMinPasswordCharacters,
                                      "New password"),
                       {"passwordHash"})})
          .flow(Flow::kPasswordReset)
          .limited_per_ip(),
      Row(Method::Post, "/api/v1/auth/mfa/verify", "auth_mfa_challenge_take", Auth::kNone, 200,
          tokens, "Finish a login with MFA: the login's challenge and a TOTP code")
          .body({sent_as(opaque_token_field("challenge", "The challenge the login answered"),
                         {"challengeHash"}),
                 totp_code})
          .flow(Flow::kMfaVerify)
          .limited_per_ip(),
      Row(Method::Post, "/api/v1/auth/mfa/enrol", "mfa_enrol", Auth::kUser, 200,
          {ResponseShape::kOne, "MfaEnrolment"},
          "Start MFA enrolment: a new TOTP secret and its otpauth URI (MFA is on once confirmed)")
          .flow(Flow::kMfaEnrol),
      Row(Method::Post, "/api/v1/auth/mfa/confirm", "mfa_confirm", Auth::kUser, 200, success,
          "Turn MFA on with a code from the enrolled authenticator")
          .body({totp_code})
          .flow(Flow::kMfaConfirm),
      Row(Method::Post, "/api/v1/auth/mfa/disable", "mfa_disable", Auth::kUser, 200, success,
          "Turn MFA off with a current code")
          .body({totp_code})
          .flow(Flow::kMfaDisable),
      Row(Method::Get, "/api/v1/profile", "profile_get", Auth::kUser, 200,
          {ResponseShape::kOne, "Profile"}, "The caller's profile"),
      Row(Method::Put, "/api/v1/profile/settings", "profile_update", Auth::kUser, 200,
          {ResponseShape::kOne, "Profile"},
          "Change display name, avatar, notification token or biometric flag (fields left out "
          "stay as they are; null clears avatar and notification token)")
          .body({settings_name, avatar_url, notification_token,
                 boolean_field("biometricEnabled", false, "Biometric unlock on the device")})
          .args({{ArgSource::kBody, "body", true, 0, "The settings to change"}}),
      Row(Method::Delete, "/api/v1/profile", "profile_delete", Auth::kUser, 200, success,
          "Delete the account: sessions revoked, personal data erased (docs/privacy.md)"),
      Row(Method::Get, "/api/v1/profile/export", "profile_export", Auth::kUser, 200,
          {ResponseShape::kOne, "ProfileExport"}, "Everything stored about the caller, as JSON"),
      Row(Method::Post, "/api/v1/onboarding/consent", "onboarding_consent", Auth::kUser, 200,
          {ResponseShape::kOne, "Consent"},
          "Record the acceptance of the risk disclosures (all must be true)")
          .body({boolean_field("risk", true, "Investing carries risk"),
                 boolean_field("loss", true, "Capital may be lost"),
                 boolean_field("noGuarantee", true, "Returns are not guaranteed")})
          .args({{ArgSource::kBody, "body", true, 0, "The acceptances"}}),
      Row(Method::Get, "/api/v1/admin/users", "admin_users", Auth::kAdmin, 200,
          {ResponseShape::kOne, "UserPage"}, "Users, newest first, a page at a time")
          .args({page_size_arg(),
                 {ArgSource::kQuery, "cursor", false, 200, "The nextCursor of the previous page",
                  "^[A-Za-z0-9_-]{1,200}$"}}),
      Row(Method::Post, "/api/v1/admin/users/{userId}/suspend", "admin_user_suspend", Auth::kAdmin,
          200, {ResponseShape::kOne, "User"}, "Suspend a user: their tokens stop working at once")
          .args({uuid_path_arg("userId", "User id")}),
      Row(Method::Post, "/api/v1/admin/users/{userId}/reactivate", "admin_user_reactivate",
          Auth::kAdmin, 200, {ResponseShape::kOne, "User"}, "Reactivate a suspended user")
          .args({uuid_path_arg("userId", "User id")}),
  };
}

// The ledger witness's endpoints (docs/witness.md): its public key, answered from the
// configuration, and the latest checkpoint it signed of one of the caller's portfolios.
std::vector<Route> build_witness_table() {
  RouteArg portfolio_id{ArgSource::kQuery,
                        "portfolioId",
                        false,
                        kUuidLength,
                        "Portfolio id; the caller's default portfolio when absent",
                        kUuidPattern};
  return {
      {Method::Get,
       "/api/v1/ledger/public-key",
       "",
       {},
       Auth::kNone,
       BodyShape::kNone,
       200,
       {ResponseShape::kOne, "LedgerPublicKey"},
       "The witness's Ed25519 key that verifies signed checkpoints (404 when none is "
       "configured)",
       Builtin::kLedgerPublicKey},
      Row(Method::Get, "/api/v1/ledger/checkpoints/latest", "ledger_checkpoint_latest", Auth::kUser,
          200, {ResponseShape::kOne, "Checkpoint"},
          "The latest checkpoint the witness signed of one of the caller's portfolios "
          "(docs/ledger-format.md §3.2)")
          .args({portfolio_id}),
  };
}

nlohmann::json hex_text(const std::string& description, size_t digits) {
  nlohmann::json schema =
      text(description + " (" + std::to_string(digits) + " lowercase hex digits)");
  schema["pattern"] = "^[0-9a-f]{" + std::to_string(digits) + "}$";
  return schema;
}

nlohmann::json build_witness_schemas() {
  using nlohmann::json;
  return {
      {"LedgerPublicKey", object_schema("The key that verifies the witness's checkpoints",
                                        {{"algorithm", text("Always Ed25519 (RFC 8032, pure)")},
                                         {"keyId", hex_text("SHA-256 of the raw public key", 64)},
                                         {"publicKey", hex_text("The 32-byte raw public key", 64)},
                                         {"pem", text("The key as PEM SubjectPublicKeyInfo")}},
                                        {"algorithm", "keyId", "publicKey", "pem"})},
      {"Checkpoint",
       object_schema(
           "A signed Merkle checkpoint (docs/ledger-format.md §3.2)",
           {{"format", text("Always pgfolio-checkpoint/1")},
            {"portfolioId", text("Portfolio id (UUID)")},
            {"treeSize", integer("Entries the tree covers (seq 1 to treeSize)")},
            {"rootHash", hex_text("RFC 6962 Merkle tree hash of those entries", 64)},
            {"signedAt", date_time("When the witness signed it")},
            {"keyId", hex_text("SHA-256 of the signing public key", 64)},
            {"signature", hex_text("Ed25519 signature of the signed bytes", 128)}},
           {"format", "portfolioId", "treeSize", "rootHash", "signedAt", "keyId", "signature"})},
  };
}

// The caller's ledger (sql/84-history.sql; docs/http.md, "History"): entries a page at a time
// or one whole, the export streamed, an entry's inclusion proof against the latest signed
// checkpoint, and the activity feed.
std::vector<Route> build_history_table() {
  const RouteArg portfolio_id{ArgSource::kQuery,
                              "portfolioId",
                              false,
                              kUuidLength,
                              "Only this portfolio (one of the caller's); all of them when absent",
                              kUuidPattern};
  RouteArg page_size{ArgSource::kQuery, "pageSize", false, 3, "Entries per page, 1 to 100",
                     "^[0-9]{1,3}$"};
  page_size.default_value = "20";
  const RouteArg cursor{
      ArgSource::kQuery,       "cursor", false, 200, "The nextCursor of the previous page",
      "^[A-Za-z0-9_-]{1,200}$"};
  // Pistache keeps only the first of a repeated query parameter, so several types are one
  // comma-separated value.
  const RouteArg types{ArgSource::kQuery,
                       "type",
                       false,
                       500,
                       "Entry types, comma-separated (ADD_FUNDS,TRADE_BUY); any when absent",
                       "^[A-Z][A-Z0-9_]{0,63}(,[A-Z][A-Z0-9_]{0,63})*$"};
  // Their forms are checked by history_time_param, which names them in its answer.
  const RouteArg from{ArgSource::kQuery, "from", false, 40,
                      "Entries at or after: a date (YYYY-MM-DD, 00:00 UTC) or an RFC 3339 time "
                      "with its offset (Z, or %2B05:30 escaped)"};
  const RouteArg to{ArgSource::kQuery, "to", false, 40,
                    "Entries before (exclusive), in the form of from"};
  RouteArg format{ArgSource::kQuery,
                  "format",
                  false,
                  5,
                  "csv (RFC 4180 with a header row) or jsonl (the input of pgfolio-verify)",
                  "^(csv|jsonl)$"};
  format.default_value = "csv";
  const RouteArg entry_id = uuid_path_arg("entryId", "Ledger entry id");

  // Before /history/{entryId}: the first row whose path fits takes the request.
  Route history_export =
      Row(Method::Get, "/api/v1/history/export", "history_export_open", Auth::kUser, 200,
          {ResponseShape::kOne, "HistoryExport"},
          "Every entry of the caller's portfolios with its hashes, by portfolio then seq, "
          "streamed (chunked, so HTTP/1.1 only): CSV, or JSON Lines with format=jsonl")
          .args({portfolio_id, format});
  history_export.stream_function = "history_export_lines";
  history_export.response_media_type = "text/csv; charset=utf-8";
  return {
      Row(Method::Get, "/api/v1/history", "history_list", Auth::kUser, 200,
          {ResponseShape::kOne, "HistoryPage"},
          "The caller's ledger entries, newest first, a page at a time")
          .args({page_size, cursor, portfolio_id, types, from, to}),
      history_export,
      Row(Method::Get, "/api/v1/history/{entryId}", "history_entry", Auth::kUser, 200,
          {ResponseShape::kOne, "HistoryEntry"},
          "One of the caller's ledger entries with its snapshots, metadata and hashes")
          .args({entry_id}),
      Row(Method::Get, "/api/v1/history/{entryId}/proof", "history_proof", Auth::kUser, 200,
          {ResponseShape::kOne, "InclusionProof"},
          "The entry's inclusion proof against the latest signed checkpoint of its portfolio "
          "(409 while no checkpoint covers it)")
          .args({entry_id}),
      Row(Method::Get, "/api/v1/activity", "activity_list", Auth::kUser, 200,
          {ResponseShape::kArrayOf, "ActivityItem"},
          "The newest 50 lines of the caller's activity feed, newest first")
          .args({portfolio_id}),
  };
}

nlohmann::json build_history_schemas() {
  using nlohmann::json;
  json item_properties = {
      {"id", text("Entry id (UUID)")},
      {"portfolioId", text("Portfolio id (UUID)")},
      {"seq", integer("Position in the portfolio's chain, from 1")},
      {"type", text("Entry type, e.g. ADD_FUNDS (pgfolio.ledger_entry_types)")},
      {"assetId", text("The asset the entry concerns", true)},
      {"quantity", decimal("Quantity of assetId", "2.5", true)},
      {"amount", decimal("Money amount in the portfolio's base currency", "1000.5", true)},
      {"boundary", text("SAFE, DRIFT, STRUCTURAL or STRESS", true)},
      {"message", text("Short display text", true)},
      {"createdAt", date_time("When the entry was appended (UTC, microseconds)")},
      {"entryHash", hex_text("SHA-256 of the entry's canonical bytes", 64)}};
  std::vector<std::string> item_required;
  for (const auto& property : item_properties.items()) item_required.push_back(property.key());
  json entry_properties = item_properties;
  entry_properties.update(
      json{{"loanId", text("The loan the entry concerns (UUID)", true)},
           {"protectionId", text("The protection the entry concerns (UUID)", true)},
           {"metadata", {{"type", "object"}, {"description", "More about the entry"}}},
           {"snapshotBefore", nullable_object("The portfolio's state before: cash and holdings")},
           {"snapshotAfter", nullable_object("The portfolio's state after")},
           {"prevHash", hex_text("The previous entry's hash (zeros for seq 1)", 64)}});
  std::vector<std::string> entry_required;
  for (const auto& property : entry_properties.items()) entry_required.push_back(property.key());
  json hex_hash = hex_text("A hash", 64);
  return {
      {"HistoryItem", object_schema("A ledger entry", item_properties, item_required)},
      {"HistoryPage",
       object_schema("One page of entries, newest first",
                     {{"items", {{"type", "array"}, {"items", ref("HistoryItem")}}},
                      {"nextCursor", text("Cursor of the next page; null on the last", true)}},
                     {"items", "nextCursor"})},
      {"HistoryEntry", object_schema("A ledger entry with everything it records", entry_properties,
                                     entry_required)},
      {"HistoryExport",
       {{"type", "string"},
        {"description",
         "CSV (RFC 4180, CRLF, a header row; NULL is an empty field, the empty string \"\") or, "
         "with format=jsonl, JSON Lines (application/x-ndjson) of docs/ledger-format.md §4"}}},
      {"InclusionProof",
       object_schema(
           "An RFC 6962 audit path from an entry to the root of a signed checkpoint",
           {{"entryId", text("Entry id (UUID)")},
            {"portfolioId", text("Portfolio id (UUID)")},
            {"seq", integer("The entry's seq")},
            {"leafIndex", integer("seq - 1: the entry's leaf in the tree")},
            {"entryHash", hex_text("The entry's hash, the leaf's input", 64)},
            {"treeSize", integer("Size of the checkpoint's tree")},
            {"rootHash", hex_text("The checkpoint's root", 64)},
            {"proof",
             {{"type", "array"}, {"items", hex_hash}, {"description", "Nearest the leaf first"}}},
            {"checkpoint", ref("Checkpoint")}},
           {"entryId", "portfolioId", "seq", "leafIndex", "entryHash", "treeSize", "rootHash",
            "proof", "checkpoint"})},
      {"ActivityItem",
       object_schema("A line of the activity feed",
                     {{"id", integer("Line id (increasing)")},
                      {"portfolioId", text("Portfolio id (UUID)")},
                      {"ledgerId", text("The ledger entry the line tells of (UUID)", true)},
                      {"message", text("Short display text")},
                      {"createdAt", date_time("When (UTC, microseconds)")}},
                     {"id", "portfolioId", "ledgerId", "message", "createdAt"})},
  };
}

// Cash in and out of the caller's portfolios (sql/88-funds.sql; docs/http.md, "Funds"): by id,
// and the mobile app's single-portfolio form, which is the same call for the default
// portfolio (portfolio_id NULL).
std::vector<Route> build_funds_table() {
  BodyField amount{"amount", FieldType::kString, true,
                   "Positive amount in the portfolio's base currency, at most 10^12 and no finer "
                   "than its minor unit (an exact decimal string, e.g. \"100.50\")"};
  // A JSON number is refused by its type: the client may already have rounded it through a
  // binary float. The length bounds what reaches the numeric cast; the function checks the
  // value (positive, at most 10^12, the currency's decimals) and names the field alike.
  amount.min_length = 1;
  amount.max_length = 40;
  amount.pattern = kDecimalPattern;
  const RouteArg portfolio_id = uuid_path_arg("portfolioId", "Portfolio id (one of the caller's)");
  const RouteArg default_portfolio{ArgSource::kNull, "portfolioId", false, 0,
                                   "NULL: the caller's default portfolio"};
  const ResponseBody movement{ResponseShape::kOne, "FundsMovement"};
  auto row = [&](const std::string& path, const std::string& function, const RouteArg& portfolio,
                 const std::string& summary) {
    return Row(Method::Post, path, function, Auth::kUser, 200, movement, summary)
        .body({amount})
        .args({portfolio, field_arg("amount")})
        .operation_id(portfolio.source == ArgSource::kNull ? function + "_default_portfolio"
                                                           : function);
  };
  return {
      row("/api/v1/portfolios/{portfolioId}/add-funds", "funds_add", portfolio_id,
          "Pay cash into one of the caller's portfolios"),
      row("/api/v1/portfolios/{portfolioId}/withdraw", "funds_withdraw", portfolio_id,
          "Take cash out of one of the caller's portfolios (422 INSUFFICIENT_CASH beyond its "
          "cash)"),
      row("/api/v1/portfolio/add-funds", "funds_add", default_portfolio,
          "Pay cash into the caller's default portfolio"),
      row("/api/v1/portfolio/withdraw", "funds_withdraw", default_portfolio,
          "Take cash out of the caller's default portfolio (422 INSUFFICIENT_CASH beyond its "
          "cash)"),
  };
}

nlohmann::json build_funds_schemas() {
  return {
      {"FundsMovement",
       object_schema(
           "A cash movement done: its transaction, its ledger entry and the cash after it",
           {{"portfolioId", text("Portfolio id (UUID)")},
            {"transactionId", text("The transaction written (UUID)")},
            {"ledgerEntryId", text("The ledger entry written (UUID), ADD_FUNDS or WITHDRAW_FUNDS")},
            {"kind", text("DEPOSIT or WITHDRAWAL")},
            {"amount", decimal("The amount moved, without trailing zeros", "100.5")},
            {"cash", decimal("The portfolio's cash after the movement", "400.25")}},
           {"portfolioId", "transactionId", "ledgerEntryId", "kind", "amount", "cash"})},
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
  std::set<std::string> operation_ids;
  for (const Route& route : table) {
    std::string where = method_name(route.method) + " " + route.path;
    if (!seen.insert({method_name(route.method), route.path}).second)
      throw std::logic_error("route table: duplicate row " + where);
    // OpenAPI wants them unique; a row that reuses another's function needs its own.
    if (!operation_ids.insert(operation_id(route)).second)
      throw std::logic_error("route table: duplicate operation id " + operation_id(route) + " in " +
                             where);
    if (route.path.empty() || route.path[0] != '/')
      throw std::logic_error("route table: path must start with / in " + where);
    if ((route.builtin == Builtin::kNone) == route.sql_function.empty())
      throw std::logic_error("route table: need exactly one of builtin / sql_function in " + where);
    if (!route.sql_function.empty() && !is_identifier(route.sql_function))
      throw std::logic_error("route table: function name is not an identifier in " + where);
    if (!route.stream_function.empty() &&
        (!is_identifier(route.stream_function) || route.sql_function.empty() ||
         route.method != Method::Get || route.flow != Flow::kNone))
      throw std::logic_error("route table: a stream function needs a GET row with a function in " +
                             where);

    std::set<std::string> template_params;
    for (size_t open = route.path.find('{'); open != std::string::npos;
         open = route.path.find('{', open + 1)) {
      size_t close = route.path.find('}', open);
      if (close == std::string::npos) throw std::logic_error("route table: bad " + where);
      template_params.insert(route.path.substr(open + 1, close - open - 1));
    }
    std::set<std::string> path_args;
    int body_args = 0;
    int field_args = 0;
    for (const RouteArg& arg : route.args) {
      if (arg.source == ArgSource::kPath) path_args.insert(arg.name);
      if (arg.source == ArgSource::kBody) ++body_args;
      if (arg.source == ArgSource::kBodyField) {
        ++field_args;
        bool declared = false;
        for (const BodyField& field : route.body_fields) declared |= field.name == arg.name;
        if (!declared)
          throw std::logic_error("route table: arg " + arg.name + " is no body field in " + where);
      }
      if ((arg.source == ArgSource::kPath || arg.source == ArgSource::kQuery) &&
          arg.max_length == 0)
        throw std::logic_error("route table: max_length missing for " + arg.name + " in " + where);
    }
    if (path_args != template_params)
      throw std::logic_error("route table: path parameters and args differ in " + where);
    // A body is read by exactly one of: the SQL function (whole), its fields as arguments,
    // or a flow.
    const bool has_body = route.body != BodyShape::kNone;
    const int body_readers =
        (body_args > 0) + (field_args > 0) + (route.flow != Flow::kNone && has_body);
    if (body_args > 1 || body_readers > 1 || has_body != (body_readers == 1))
      throw std::logic_error("route table: body arg and body shape disagree in " + where);
    if (route.flow != Flow::kNone && !route.args.empty())
      throw std::logic_error("route table: a flow makes its own SQL calls, no args, in " + where);
    if (!route.body_fields.empty() && route.body != BodyShape::kJsonObject)
      throw std::logic_error("route table: body fields need an object body in " + where);
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
    case ArgSource::kBodyField:
      return "bodyField";
    case ArgSource::kClient:
      return "client";
    case ArgSource::kNull:
      return "null";
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
    for (Route& route : build_account_table()) built.push_back(std::move(route));
    for (Route& route : build_witness_table()) built.push_back(std::move(route));
    for (Route& route : build_history_table()) built.push_back(std::move(route));
    for (Route& route : build_funds_table()) built.push_back(std::move(route));
    validate(built);
    for (Route& route : built) {
      try {
        compile_fields(route.body_fields);
      } catch (const std::logic_error& error) {
        throw std::logic_error("route table: " + std::string(error.what()) + " in " +
                               method_name(route.method) + " " + route.path);
      }
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
      if (arg.source == ArgSource::kPath || arg.source == ArgSource::kQuery)
        row["maxLength"] = arg.max_length;
      if (!arg.pattern.empty()) row["pattern"] = arg.pattern;
      if (arg.transform == ArgTransform::kSha256Hex) row["transform"] = "sha256";
      if (!arg.default_value.empty()) row["default"] = arg.default_value;
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
                {"responseSchema", response_schema_ref(route.response)},
                {"flow", nullptr},
                {"limitedPerIp", route.limited_per_ip}};
    if (!route.body_fields.empty()) row["bodySchema"] = fields_schema(route.body_fields);
    if (route.flow != Flow::kNone) row["flow"] = flow_name(route.flow);
    if (!route.sql_function.empty()) row["sqlFunction"] = "pgfolio." + route.sql_function;
    if (!route.stream_function.empty()) row["streamFunction"] = "pgfolio." + route.stream_function;
    if (route.builtin != Builtin::kNone) row["builtin"] = builtin_name(route.builtin);
    rows.push_back(row);
  }
  return rows.dump(2);
}

const nlohmann::json& response_schemas() {
  static const nlohmann::json schemas = [] {
    nlohmann::json all = build_response_schemas();
    all.update(build_account_schemas());
    all.update(build_witness_schemas());
    all.update(build_history_schemas());
    all.update(build_funds_schemas());
    return all;
  }();
  return schemas;
}

nlohmann::json response_schema_ref(const ResponseBody& response) {
  nlohmann::json ref = {{"$ref", "#/components/schemas/" + response.schema}};
  if (response.shape == ResponseShape::kArrayOf) return {{"type", "array"}, {"items", ref}};
  return ref;
}

std::string operation_id(const Route& route) {
  if (!route.operation_id.empty()) return route.operation_id;
  return route.sql_function.empty() ? builtin_name(route.builtin) : route.sql_function;
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
    case Builtin::kLedgerPublicKey:
      return "ledger_public_key";
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
    case Auth::kServiceOrAdmin:
      return "service-or-admin";
  }
  return "none";
}

std::string flow_name(Flow flow) {
  switch (flow) {
    case Flow::kNone:
      return "";
    case Flow::kRegister:
      return "register";
    case Flow::kLogin:
      return "login";
    case Flow::kRefresh:
      return "refresh";
    case Flow::kOtpVerify:
      return "otp-verify";
    case Flow::kPasswordReset:
      return "password-reset";
    case Flow::kMfaVerify:
      return "mfa-verify";
    case Flow::kMfaEnrol:
      return "mfa-enrol";
    case Flow::kMfaConfirm:
      return "mfa-confirm";
    case Flow::kMfaDisable:
      return "mfa-disable";
  }
  return "";
}

}  // namespace pgfolio::http
