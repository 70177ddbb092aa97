// The endpoints whose work needs a secret the database must never see (docs/auth.md): they
// hash passwords, mint tokens and check TOTP codes in C++ around their SQL calls. Each flow
// still runs its SQL calls in one transaction per step, through Database, so retries,
// authentication and error mapping are the same as for every other route.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "config.hpp"
#include "database.hpp"
#include "password_hasher.hpp"
#include "routes.hpp"
#include "secret_box.hpp"
#include "tokens.hpp"

namespace pgfolio::http {

// The secrets and the services built from them, once per process.
struct AuthServices {
  explicit AuthServices(const AuthConfig& config);

  const TokenService tokens;
  const PasswordHasher hasher;
  const SecretBox totp_box;
  const std::string totp_issuer;
};

struct FlowRequest {
  const Route& route;
  const nlohmann::json& body;      // the checked body object (empty object when none)
  const std::string& client_json;  // {"ip", "userAgent"}
  const RequestIdentity& identity;
  const std::string& request_id;
};

// Runs the route's flow; the body of a success is the answer's JSON.
DbResult run_flow(const AuthServices& services, Database& database, const FlowRequest& request);

}  // namespace pgfolio::http
