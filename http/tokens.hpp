// Access and refresh tokens as pgfolio-http issues and checks them (docs/auth.md, "Tokens").
// Access tokens are JWTs from the core's jwt module, which checks the algorithm and every
// claim itself; refresh tokens, MFA challenges and the like are opaque random values of which
// the database only ever sees the SHA-256.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "config.hpp"
#include "jwt.hpp"

namespace pgfolio::http {

class TokenService {
 public:
  // Builds the codec from validated configuration; throws pgfolio::Error for a bad key.
  explicit TokenService(const AuthConfig& config);

  struct AccessToken {
    std::string token;
    int expires_in;  // seconds
  };
  AccessToken issue_access(const std::string& user_id, const std::string& role,
                           const std::string& session_id) const;

  jwt::Verification verify_access(std::string_view token) const;

  int refresh_ttl_seconds() const { return refresh_ttl_seconds_; }

 private:
  jwt::Codec codec_;
  int access_ttl_seconds_;
  int refresh_ttl_seconds_;
};

// 256 random bits, base64url (43 characters): refresh tokens and MFA challenges.
std::string new_opaque_token();

// Whether `text` has the form new_opaque_token() produces.
bool is_opaque_token(std::string_view text);

// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive, RFC 6750
// §2.1); nullopt for another scheme or a malformed header.
std::optional<std::string_view> bearer_token(std::string_view authorization);

std::int64_t unix_now();

}  // namespace pgfolio::http
