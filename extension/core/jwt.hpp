// Access tokens: compact JWS (RFC 7515) carrying pgfolio's JWT claims (RFC 7519), signed and
// verified with OpenSSL directly.
//
// Why not libjwt: version 1.10 (Debian 12) decodes and accepts expired tokens, tokens signed
// with another HMAC algorithm than the configured one, and, with RS256 configured, HS256
// tokens whose HMAC key is the RSA public key. Every check would have to be redone here anyway;
// what remains (base64url, HMAC, an RSA signature) is a few OpenSSL calls. See docs/auth.md.
//
// Verification trusts nothing in the token to choose how it is checked: the header's `alg`
// must equal the one algorithm this Codec was built for, character for character; keys never
// come from the header (`kid`, `jwk`, `jku` are ignored; `crit` is refused). Every claim is
// required and checked. A rejection is a Reason, not an exception: an invalid token is the
// normal case for an attacker and must stay cheap.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace pgfolio::jwt {

enum class Algorithm { HS256, HS512, RS256 };

// "HS256", "HS512", "RS256": the header's `alg` value.
std::string_view algorithm_name(Algorithm algorithm);

// Tokens longer than this are refused before any decoding (ours are about 400 bytes).
inline constexpr std::size_t kMaxTokenBytes = 8192;
// HMAC secrets shorter than this are refused (RFC 7518 §3.2 asks for at least the hash size
// for HS256; HS512's secret comes from configuration and must have at least 256 bits).
inline constexpr std::size_t kMinHmacSecretBytes = 32;

enum class Reason {
  ok,
  too_large,      // longer than kMaxTokenBytes
  malformed,      // not three base64url parts, bad base64url, header or payload not a JSON object
  bad_header,     // typ present but not "JWT", or a crit member
  bad_alg,        // alg missing or not exactly the configured algorithm (none, HS256, …)
  bad_signature,  // empty or wrong signature
  missing_claim,  // sub, role, sid, iat, exp, iss or aud absent
  invalid_claim,  // wrong type (exp as a string or float, …), sub/sid not a UUID, unknown role
  bad_issuer,     // iss not the configured issuer
  bad_audience,   // aud neither the configured audience nor an array containing it
  expired,        // exp <= now - skew
  not_yet_valid,  // iat (or nbf, if present) > now + skew
};

// The enumerator's name ("bad_alg", …), for logs and problem details.
std::string_view reason_name(Reason reason);

// The claims pgfolio issues; iss and aud come from the Codec's options.
struct Claims {
  std::string sub;   // user id, a UUID
  std::string role;  // "user", "admin" or "service"
  std::string sid;   // session id, a UUID
  std::int64_t iat = 0;
  std::int64_t exp = 0;
};

struct Verification {
  Reason reason = Reason::malformed;
  Claims claims;  // filled only when reason == ok
  bool ok() const { return reason == Reason::ok; }
};

struct Options {
  std::string issuer;    // required, non-empty
  std::string audience;  // required, non-empty
  std::int64_t skew_seconds = 30;
};

class Codec {
 public:
  // HS256 or HS512 with a secret of at least kMinHmacSecretBytes bytes.
  static Codec hmac(Algorithm algorithm, std::string secret, Options options);
  // RS256 from a PEM private key (PKCS#8 or traditional, unencrypted, RSA of at least 2048
  // bits): signs and verifies.
  static Codec rs256_private_pem(std::string_view pem, Options options);
  // RS256 from a PEM public key (SubjectPublicKeyInfo): verifies only; sign() throws.
  static Codec rs256_public_pem(std::string_view pem, Options options);
  // The factories throw pgfolio::Error (INTERNAL_ERROR) naming the problem for a bad key,
  // a wrong algorithm or empty issuer/audience: configuration errors, found at start-up.

  Algorithm algorithm() const { return algorithm_; }
  const Options& options() const { return options_; }

  // A compact JWS {"alg":…,"typ":"JWT"}.{aud,exp,iat,iss,role,sid,sub}.signature. Throws
  // pgfolio::Error (INTERNAL_ERROR) if the claims would not verify (not UUIDs, unknown role,
  // exp <= iat) or the Codec cannot sign.
  std::string sign(const Claims& claims) const;

  // The full check at time `now` (Unix seconds). Safe to call from several threads at once.
  Verification verify(std::string_view token, std::int64_t now) const;

  // The lower layer of verify(): size, structure, header and signature, without looking at the
  // claims. On ok, *payload_json (if given) receives the decoded payload text. Used by verify()
  // and by the tests of foreign vectors (RFC 7515 A.1) whose claims are not pgfolio's.
  Reason verify_signature(std::string_view token, std::string* payload_json = nullptr) const;

 private:
  struct Key;
  Codec(Algorithm algorithm, std::shared_ptr<const Key> key, Options options);

  Algorithm algorithm_;
  std::shared_ptr<const Key> key_;  // immutable once built, so copies share it safely
  Options options_;
};

// True for the canonical 8-4-4-4-12 hex form (either case), as sub and sid must be.
bool is_uuid(std::string_view text);

}  // namespace pgfolio::jwt
