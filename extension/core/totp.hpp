// Time-based one-time passwords (RFC 6238) over HOTP (RFC 4226), for optional MFA.
//
// pgfolio uses the defaults every authenticator app understands: HMAC-SHA-1, 6 digits, 30 s
// steps from the Unix epoch, and accepts the step before and after the current one for clock
// drift. SHA-256/512 and 8 digits exist for RFC 6238's Appendix B vectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "digest.hpp"

namespace pgfolio::totp {

struct Params {
  HashAlgorithm hash = HashAlgorithm::Sha1;
  int digits = 6;  // 6 to 8
  std::int64_t period_seconds = 30;
  int window = 1;  // steps accepted on either side of the current one, 0 to 10
};

// 160 bits, the length RFC 4226 §4 recommends and authenticator apps expect.
inline constexpr std::size_t kSecretBytes = 20;

// A new random secret of kSecretBytes raw bytes (store it encrypted: SecretBox).
std::string generate_secret();

// HOTP(secret, counter) with `digits` digits, zero-padded (RFC 4226 §5.3).
std::string hotp(std::string_view secret, std::uint64_t counter, HashAlgorithm hash, int digits);

// The step containing `unix_time`: floor(unix_time / period). Negative before the epoch.
std::int64_t step_at(std::int64_t unix_time, const Params& params = {});

// The code at `unix_time`. Throws pgfolio::Error (INTERNAL_ERROR) for invalid params or a time
// before the epoch.
std::string code_at(std::string_view secret, std::int64_t unix_time, const Params& params = {});

// Checks `code` against the steps step_at(now) ± window and returns the matched step, or
// nullopt. Only steps after `last_used_step` count: the caller stores the step it accepted and
// passes it next time, so one code cannot be replayed within its window. A code that is not
// exactly `digits` ASCII digits never matches. Every step in the window is computed and
// compared in constant time, so the time taken does not tell which step matched.
std::optional<std::int64_t> verify(std::string_view secret, std::string_view code, std::int64_t now,
                                   const Params& params = {},
                                   std::optional<std::int64_t> last_used_step = std::nullopt);

// otpauth://totp/ISSUER:ACCOUNT?secret=BASE32&issuer=ISSUER&algorithm=SHA1&digits=6&period=30
// (the Key URI format authenticator apps read from a QR code). Issuer and account are
// percent-encoded (RFC 3986 unreserved characters stay); the secret is unpadded base32. Throws
// pgfolio::Error (VALIDATION_ERROR) if the issuer or account is empty or holds a ':', which
// would make the label ambiguous.
std::string otpauth_uri(std::string_view issuer, std::string_view account, std::string_view secret,
                        const Params& params = {});

}  // namespace pgfolio::totp
