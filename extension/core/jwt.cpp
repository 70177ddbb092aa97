#include "jwt.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <limits>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "base64url.hpp"
#include "digest.hpp"
#include "error.hpp"

namespace pgfolio::jwt {

using nlohmann::json;

struct Codec::Key {
  // HS256/HS512: the secret. RS256: the key pair, or the public key alone (verify only).
  std::string secret;
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> pkey{nullptr, &EVP_PKEY_free};
  bool can_sign = false;
};

namespace {

[[noreturn]] void config_error(const std::string& message) {
  ERR_clear_error();
  throw Error(ErrorCode::INTERNAL_ERROR, "JWT configuration: " + message);
}

// Parses strict JSON (RFC 8259: no comments, no trailing text, valid UTF-8) and refuses an
// object with a repeated member name: parsers disagree on which duplicate wins, so a token
// carrying two `alg`s or two `sub`s must not mean one thing here and another elsewhere.
std::optional<json> parse_json(std::string_view text) {
  std::vector<std::set<std::string>> open_objects;
  bool duplicate = false;
  json::parser_callback_t watch = [&](int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.empty() && !open_objects.back().insert(parsed.get<std::string>()).second)
          duplicate = true;
        break;
      case json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      default:
        break;
    }
    return true;
  };
  json value = json::parse(text.begin(), text.end(), watch, /*allow_exceptions=*/false);
  if (value.is_discarded() || duplicate) return std::nullopt;
  return value;
}

std::optional<json> decode_object(std::string_view segment) {
  std::optional<std::string> text = base64url_decode(segment);
  if (!text) return std::nullopt;
  std::optional<json> value = parse_json(*text);
  if (!value || !value->is_object()) return std::nullopt;
  return value;
}

bool rsa_verify(EVP_PKEY* pkey, std::string_view input, std::string_view signature) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  const bool ok =
      ctx && EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) == 1 &&
      EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(), reinterpret_cast<const unsigned char*>(input.data()),
                       input.size()) == 1;
  // A bad signature leaves an entry in the thread's error queue; don't leave it for libpq.
  if (!ok) ERR_clear_error();
  return ok;
}

std::string rsa_sign(EVP_PKEY* pkey, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::size_t length = 0;
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &length, data, input.size()) != 1) {
    ERR_clear_error();
    throw Error(ErrorCode::INTERNAL_ERROR, "RS256 signing failed");
  }
  std::string signature(length, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length, data,
                     input.size()) != 1) {
    ERR_clear_error();
    throw Error(ErrorCode::INTERNAL_ERROR, "RS256 signing failed");
  }
  signature.resize(length);
  return signature;
}

// A PEM pass-phrase callback that supplies none: without it OpenSSL would prompt on the
// terminal for an encrypted key. Encrypted keys are refused instead.
int no_passphrase(char*, int, int, void*) {
  return -1;
}

BIO* memory_bio(std::string_view pem) {
  if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return nullptr;
  return BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
}

void check_rsa_key(EVP_PKEY* pkey) {
  // "RSA" only: an RSA-PSS key would sign with another padding than RS256's PKCS#1 v1.5.
  if (!EVP_PKEY_is_a(pkey, "RSA")) config_error("the RS256 key is not an RSA key");
  if (EVP_PKEY_get_bits(pkey) < 2048) config_error("the RS256 key has fewer than 2048 bits");
}

bool is_known_role(std::string_view role) {
  return role == "user" || role == "admin" || role == "service";
}

enum class Found { ok, missing, invalid };

Found string_claim(const json& payload, const char* name, std::string& out) {
  auto it = payload.find(name);
  if (it == payload.end()) return Found::missing;
  if (!it->is_string()) return Found::invalid;
  out = it->get<std::string>();
  return Found::ok;
}

// An integer NumericDate. 1.5e9 (a float), "1500000000" (a string) and values beyond int64
// are invalid: the token was not written by us.
Found integer_claim(const json& payload, const char* name, std::int64_t& out) {
  auto it = payload.find(name);
  if (it == payload.end()) return Found::missing;
  if (it->is_number_unsigned()) {
    const auto value = it->get<std::uint64_t>();
    if (value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return Found::invalid;
    out = static_cast<std::int64_t>(value);
    return Found::ok;
  }
  if (it->is_number_integer()) {
    out = it->get<std::int64_t>();
    return Found::ok;
  }
  return Found::invalid;
}

bool audience_matches(const json& aud, const std::string& expected) {
  if (aud.is_string()) return aud.get_ref<const std::string&>() == expected;
  if (aud.is_array())
    for (const json& entry : aud)
      if (entry.is_string() && entry.get_ref<const std::string&>() == expected) return true;
  return false;
}

// now ± skew without overflow, whatever now and skew are.
std::int64_t saturating_add(std::int64_t a, std::int64_t b) {
  if (b > 0 && a > std::numeric_limits<std::int64_t>::max() - b)
    return std::numeric_limits<std::int64_t>::max();
  if (b < 0 && a < std::numeric_limits<std::int64_t>::min() - b)
    return std::numeric_limits<std::int64_t>::min();
  return a + b;
}

}  // namespace

std::string_view algorithm_name(Algorithm algorithm) {
  switch (algorithm) {
    case Algorithm::HS256:
      return "HS256";
    case Algorithm::HS512:
      return "HS512";
    case Algorithm::RS256:
      return "RS256";
  }
  return "?";
}

std::string_view reason_name(Reason reason) {
  switch (reason) {
    case Reason::ok:
      return "ok";
    case Reason::too_large:
      return "too_large";
    case Reason::malformed:
      return "malformed";
    case Reason::bad_header:
      return "bad_header";
    case Reason::bad_alg:
      return "bad_alg";
    case Reason::bad_signature:
      return "bad_signature";
    case Reason::missing_claim:
      return "missing_claim";
    case Reason::invalid_claim:
      return "invalid_claim";
    case Reason::bad_issuer:
      return "bad_issuer";
    case Reason::bad_audience:
      return "bad_audience";
    case Reason::expired:
      return "expired";
    case Reason::not_yet_valid:
      return "not_yet_valid";
  }
  return "?";
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return false;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

Codec::Codec(Algorithm algorithm, std::shared_ptr<const Key> key, Options options)
    : algorithm_(algorithm), key_(std::move(key)), options_(std::move(options)) {
  if (options_.issuer.empty()) config_error("the issuer is empty");
  if (options_.audience.empty()) config_error("the audience is empty");
  if (options_.skew_seconds < 0 || options_.skew_seconds > 300)
    config_error("the clock skew must be between 0 and 300 seconds");
  // sign() serialises them: invalid UTF-8 would make every signing throw, so refuse it now.
  try {
    json({options_.issuer, options_.audience}).dump();
  } catch (const json::exception&) {
    config_error("the issuer and audience must be valid UTF-8");
  }
}

Codec Codec::hmac(Algorithm algorithm, std::string secret, Options options) {
  if (algorithm != Algorithm::HS256 && algorithm != Algorithm::HS512)
    config_error("an HMAC secret needs HS256 or HS512");
  if (secret.size() < kMinHmacSecretBytes)
    config_error("the HMAC secret must have at least " + std::to_string(kMinHmacSecretBytes) +
                 " bytes");
  auto key = std::make_shared<Key>();
  key->secret = std::move(secret);
  key->can_sign = true;
  return Codec(algorithm, std::move(key), std::move(options));
}

Codec Codec::rs256_private_pem(std::string_view pem, Options options) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(memory_bio(pem), &BIO_free);
  auto key = std::make_shared<Key>();
  if (bio) key->pkey.reset(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key->pkey) config_error("no unencrypted PEM private key could be read");
  check_rsa_key(key->pkey.get());
  key->can_sign = true;
  return Codec(Algorithm::RS256, std::move(key), std::move(options));
}

Codec Codec::rs256_public_pem(std::string_view pem, Options options) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(memory_bio(pem), &BIO_free);
  auto key = std::make_shared<Key>();
  if (bio) key->pkey.reset(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
  if (!key->pkey) config_error("no PEM public key could be read");
  check_rsa_key(key->pkey.get());
  return Codec(Algorithm::RS256, std::move(key), std::move(options));
}

std::string Codec::sign(const Claims& claims) const {
  if (!key_->can_sign) throw Error(ErrorCode::INTERNAL_ERROR, "this JWT codec only verifies");
  if (!is_uuid(claims.sub) || !is_uuid(claims.sid) || !is_known_role(claims.role) ||
      claims.exp <= claims.iat)
    throw Error(ErrorCode::INTERNAL_ERROR, "JWT claims to sign are not valid");
  const json header = {{"alg", algorithm_name(algorithm_)}, {"typ", "JWT"}};
  const json payload = {{"sub", claims.sub},       {"role", claims.role}, {"sid", claims.sid},
                        {"iat", claims.iat},       {"exp", claims.exp},   {"iss", options_.issuer},
                        {"aud", options_.audience}};
  // Cannot throw: every string is a UUID, a known role, or issuer/audience checked as UTF-8.
  std::string token = base64url_encode(header.dump()) + '.' + base64url_encode(payload.dump());
  std::string signature;
  switch (algorithm_) {
    case Algorithm::HS256:
      signature = pgfolio::hmac(HashAlgorithm::Sha256, key_->secret, token);
      break;
    case Algorithm::HS512:
      signature = pgfolio::hmac(HashAlgorithm::Sha512, key_->secret, token);
      break;
    case Algorithm::RS256:
      signature = rsa_sign(key_->pkey.get(), token);
      break;
  }
  token += '.';
  token += base64url_encode(signature);
  return token;
}

Reason Codec::verify_signature(std::string_view token, std::string* payload_json) const {
  if (token.size() > kMaxTokenBytes) return Reason::too_large;
  const std::size_t first_dot = token.find('.');
  if (first_dot == std::string_view::npos) return Reason::malformed;
  const std::size_t second_dot = token.find('.', first_dot + 1);
  if (second_dot == std::string_view::npos) return Reason::malformed;
  if (token.find('.', second_dot + 1) != std::string_view::npos) return Reason::malformed;
  const std::string_view header_segment = token.substr(0, first_dot);
  const std::string_view payload_segment = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string_view signature_segment = token.substr(second_dot + 1);
  if (header_segment.empty() || payload_segment.empty()) return Reason::malformed;

  const std::optional<json> header = decode_object(header_segment);
  if (!header) return Reason::malformed;
  // The algorithm is decided by configuration; the header may only confirm it.
  const auto alg = header->find("alg");
  if (alg == header->end() || !alg->is_string() ||
      alg->get_ref<const std::string&>() != algorithm_name(algorithm_))
    return Reason::bad_alg;
  if (const auto typ = header->find("typ");
      typ != header->end() && (!typ->is_string() || typ->get_ref<const std::string&>() != "JWT"))
    return Reason::bad_header;
  // RFC 7515 §4.1.11: extensions listed in crit must be understood; we understand none.
  if (header->contains("crit")) return Reason::bad_header;

  const std::optional<std::string> signature = base64url_decode(signature_segment);
  if (!signature) return Reason::malformed;
  if (signature->empty()) return Reason::bad_signature;
  const std::string_view signing_input = token.substr(0, second_dot);
  bool valid = false;
  switch (algorithm_) {
    case Algorithm::HS256:
      valid = constant_time_equal(pgfolio::hmac(HashAlgorithm::Sha256, key_->secret, signing_input),
                                  *signature);
      break;
    case Algorithm::HS512:
      valid = constant_time_equal(pgfolio::hmac(HashAlgorithm::Sha512, key_->secret, signing_input),
                                  *signature);
      break;
    case Algorithm::RS256:
      valid = rsa_verify(key_->pkey.get(), signing_input, *signature);
      break;
  }
  if (!valid) return Reason::bad_signature;

  std::optional<std::string> payload = base64url_decode(payload_segment);
  if (!payload) return Reason::malformed;
  if (payload_json) *payload_json = std::move(*payload);
  return Reason::ok;
}

Verification Codec::verify(std::string_view token, std::int64_t now) const {
  Verification result;
  std::string payload_text;
  result.reason = verify_signature(token, &payload_text);
  if (result.reason != Reason::ok) return result;
  const std::optional<json> payload = parse_json(payload_text);
  if (!payload || !payload->is_object()) {
    result.reason = Reason::malformed;
    return result;
  }

  Claims claims;
  std::string iss;
  const Found found[] = {
      string_claim(*payload, "sub", claims.sub),
      string_claim(*payload, "role", claims.role),
      string_claim(*payload, "sid", claims.sid),
      integer_claim(*payload, "iat", claims.iat),
      integer_claim(*payload, "exp", claims.exp),
      string_claim(*payload, "iss", iss),
      payload->contains("aud") ? Found::ok : Found::missing,
  };
  for (Found f : found)
    if (f == Found::missing) {
      result.reason = Reason::missing_claim;
      return result;
    }
  for (Found f : found)
    if (f == Found::invalid) {
      result.reason = Reason::invalid_claim;
      return result;
    }
  if (!is_uuid(claims.sub) || !is_uuid(claims.sid) || !is_known_role(claims.role)) {
    result.reason = Reason::invalid_claim;
    return result;
  }
  // nbf is not issued by us, but a token that carries one is held to it.
  std::int64_t nbf = std::numeric_limits<std::int64_t>::min();
  if (integer_claim(*payload, "nbf", nbf) == Found::invalid) {
    result.reason = Reason::invalid_claim;
    return result;
  }

  if (iss != options_.issuer) {
    result.reason = Reason::bad_issuer;
  } else if (!audience_matches(payload->at("aud"), options_.audience)) {
    result.reason = Reason::bad_audience;
  } else if (claims.exp <= saturating_add(now, -options_.skew_seconds)) {
    result.reason = Reason::expired;
  } else if (claims.iat > saturating_add(now, options_.skew_seconds) ||
             nbf > saturating_add(now, options_.skew_seconds)) {
    result.reason = Reason::not_yet_valid;
  } else {
    result.reason = Reason::ok;
    result.claims = std::move(claims);
  }
  return result;
}

}  // namespace pgfolio::jwt
