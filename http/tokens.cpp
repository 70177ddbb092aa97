#include "tokens.hpp"

#include <chrono>

#include "base64url.hpp"
#include "digest.hpp"

namespace pgfolio::http {
namespace {

constexpr size_t kOpaqueTokenBytes = 32;
constexpr size_t kOpaqueTokenLength = 43;  // base64url of 32 bytes, unpadded

jwt::Codec make_codec(const AuthConfig& config) {
  const jwt::Options options{config.jwt_issuer, config.jwt_audience, 30};
  if (config.jwt_algorithm == jwt::Algorithm::RS256)
    return jwt::Codec::rs256_private_pem(config.jwt_private_key_pem, options);
  return jwt::Codec::hmac(config.jwt_algorithm, config.jwt_secret, options);
}

bool is_base64url_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

TokenService::TokenService(const AuthConfig& config)
    : codec_(make_codec(config)),
      access_ttl_seconds_(config.access_token_ttl_seconds),
      refresh_ttl_seconds_(config.refresh_token_ttl_seconds) {}

TokenService::AccessToken TokenService::issue_access(const std::string& user_id,
                                                     const std::string& role,
                                                     const std::string& session_id) const {
  const std::int64_t now = unix_now();
  jwt::Claims claims{user_id, role, session_id, now, now + access_ttl_seconds_};
  return {codec_.sign(claims), access_ttl_seconds_};
}

jwt::Verification TokenService::verify_access(std::string_view token) const {
  return codec_.verify(token, unix_now());
}

std::string new_opaque_token() {
  return base64url_encode(random_bytes(kOpaqueTokenBytes));
}

bool is_opaque_token(std::string_view text) {
  if (text.size() != kOpaqueTokenLength) return false;
  for (char c : text)
    if (!is_base64url_char(c)) return false;
  return base64url_decode(text).has_value();  // canonical: the last character's spare bits 0
}

std::optional<std::string_view> bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer";
  if (authorization.size() <= kScheme.size() + 1) return std::nullopt;
  for (size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(authorization[i])) != kScheme[i])
      return std::nullopt;
  if (authorization[kScheme.size()] != ' ') return std::nullopt;
  std::string_view token = authorization.substr(kScheme.size() + 1);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  if (token.empty()) return std::nullopt;
  return token;
}

std::int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace pgfolio::http
