#include "totp.hpp"

#include "base64url.hpp"
#include "error.hpp"

namespace pgfolio::totp {
namespace {

void check(const Params& params) {
  if (params.digits < 6 || params.digits > 8 || params.period_seconds <= 0 || params.window < 0 ||
      params.window > 10)
    throw Error(ErrorCode::INTERNAL_ERROR, "invalid TOTP parameters");
}

std::string_view hash_name(HashAlgorithm hash) {
  switch (hash) {
    case HashAlgorithm::Sha1:
      return "SHA1";
    case HashAlgorithm::Sha256:
      return "SHA256";
    case HashAlgorithm::Sha512:
      return "SHA512";
  }
  return "SHA1";
}

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

}  // namespace

std::string generate_secret() {
  return random_bytes(kSecretBytes);
}

std::string hotp(std::string_view secret, std::uint64_t counter, HashAlgorithm hash, int digits) {
  if (digits < 6 || digits > 8) throw Error(ErrorCode::INTERNAL_ERROR, "invalid HOTP digits");
  char message[8];
  for (int i = 7; i >= 0; --i) {
    message[i] = static_cast<char>(counter & 0xff);
    counter >>= 8;
  }
  const std::string mac = hmac(hash, secret, std::string_view(message, sizeof message));
  // Dynamic truncation (RFC 4226 §5.3): the low nibble of the last byte picks 4 bytes.
  const std::size_t offset = static_cast<unsigned char>(mac.back()) & 0x0f;
  const std::uint32_t binary = (static_cast<std::uint32_t>(mac[offset] & 0x7f) << 24) |
                               (static_cast<std::uint32_t>(mac[offset + 1] & 0xff) << 16) |
                               (static_cast<std::uint32_t>(mac[offset + 2] & 0xff) << 8) |
                               static_cast<std::uint32_t>(mac[offset + 3] & 0xff);
  std::uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  std::string code = std::to_string(binary % modulus);
  return std::string(static_cast<std::size_t>(digits) - code.size(), '0') + code;
}

std::int64_t step_at(std::int64_t unix_time, const Params& params) {
  check(params);
  std::int64_t step = unix_time / params.period_seconds;
  if (unix_time % params.period_seconds < 0) --step;  // floor, not truncation
  return step;
}

std::string code_at(std::string_view secret, std::int64_t unix_time, const Params& params) {
  const std::int64_t step = step_at(unix_time, params);
  if (step < 0) throw Error(ErrorCode::INTERNAL_ERROR, "TOTP time before the epoch");
  return hotp(secret, static_cast<std::uint64_t>(step), params.hash, params.digits);
}

std::optional<std::int64_t> verify(std::string_view secret, std::string_view code, std::int64_t now,
                                   const Params& params,
                                   std::optional<std::int64_t> last_used_step) {
  const std::int64_t current = step_at(now, params);
  if (code.size() != static_cast<std::size_t>(params.digits)) return std::nullopt;
  for (char c : code)
    if (c < '0' || c > '9') return std::nullopt;
  std::optional<std::int64_t> matched;
  // No early exit: all steps are computed whichever matches. The latest matching step wins,
  // so the caller's replay guard covers every earlier one too.
  for (std::int64_t step = current - params.window; step <= current + params.window; ++step) {
    if (step < 0 || (last_used_step && step <= *last_used_step)) continue;
    if (constant_time_equal(
            hotp(secret, static_cast<std::uint64_t>(step), params.hash, params.digits), code))
      matched = step;
  }
  return matched;
}

std::string otpauth_uri(std::string_view issuer, std::string_view account, std::string_view secret,
                        const Params& params) {
  check(params);
  if (issuer.empty() || account.empty() || issuer.find(':') != std::string_view::npos ||
      account.find(':') != std::string_view::npos)
    throw Error(ErrorCode::VALIDATION_ERROR,
                "TOTP issuer and account must be non-empty and hold no ':'");
  const std::string encoded_issuer = percent_encode(issuer);
  return "otpauth://totp/" + encoded_issuer + ':' + percent_encode(account) +
         "?secret=" + base32_encode(secret, false) + "&issuer=" + encoded_issuer +
         "&algorithm=" + std::string(hash_name(params.hash)) +
         "&digits=" + std::to_string(params.digits) +
         "&period=" + std::to_string(params.period_seconds);
}

}  // namespace pgfolio::totp
