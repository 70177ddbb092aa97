// JWT: the RFC 7515 A.1 vector, sign/verify round trips, and every way a token must be
// refused, including the three ways libjwt 1.10's decode alone would accept one (an expired
// token, another HMAC algorithm, HS256 keyed with the RS256 public key).
#include "jwt.hpp"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <atomic>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "base64url.hpp"
#include "digest.hpp"
#include "error.hpp"

namespace pgfolio::jwt {

// gtest prints a Reason by name.
void PrintTo(Reason reason, std::ostream* out) {
  *out << reason_name(reason);
}

namespace {

using nlohmann::json;

constexpr std::int64_t kNow = 1750000000;
const std::string kSecret = "a-test-secret-of-more-than-32-bytes-for-hs512";
const std::string kUser = "6f1d2c3b-4a59-4e7f-8a9b-0c1d2e3f4a5b";
const std::string kSession = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d";
const std::string kIssuer = "https://pgfolio.test";
const std::string kAudience = "pgfolio-api";

Options options(std::int64_t skew = 30) {
  return Options{kIssuer, kAudience, skew};
}

Codec hs512() {
  return Codec::hmac(Algorithm::HS512, kSecret, options());
}

Claims claims() {
  return Claims{kUser, "user", kSession, kNow, kNow + 900};
}

// The payload sign() writes for claims(), as JSON to alter in tests.
json payload() {
  return {{"sub", kUser},      {"role", "user"}, {"sid", kSession}, {"iat", kNow},
          {"exp", kNow + 900}, {"iss", kIssuer}, {"aud", kAudience}};
}

json header(std::string_view alg) {
  return {{"alg", alg}, {"typ", "JWT"}};
}

// A token over arbitrary header and payload texts, MACed with `key`: what an attacker who
// holds (or guesses) a key can send.
std::string forge_text(std::string_view header_text, std::string_view payload_text,
                       HashAlgorithm hash, std::string_view key) {
  const std::string input = base64url_encode(header_text) + '.' + base64url_encode(payload_text);
  return input + '.' + base64url_encode(hmac(hash, key, input));
}

std::string forge(const json& payload_json, const json& header_json = header("HS512")) {
  return forge_text(header_json.dump(), payload_json.dump(), HashAlgorithm::Sha512, kSecret);
}

Reason verify(const std::string& token, std::int64_t now = kNow) {
  return hs512().verify(token, now).reason;
}

// --- RSA keys, generated once per run -----------------------------------------------------

std::string pem_of(EVP_PKEY* key, bool private_key, const EVP_CIPHER* cipher = nullptr) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  static char passphrase[] = "passphrase";
  const int ok = private_key
                     ? PEM_write_bio_PrivateKey(bio.get(), key, cipher,
                                                reinterpret_cast<unsigned char*>(passphrase),
                                                cipher ? 10 : 0, nullptr, nullptr)
                     : PEM_write_bio_PUBKEY(bio.get(), key);
  EXPECT_EQ(ok, 1);
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(length));
}

struct KeyPair {
  std::string private_pem;
  std::string public_pem;
  std::string encrypted_private_pem;
};

KeyPair make_rsa(unsigned bits) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(bits), &EVP_PKEY_free);
  EXPECT_NE(key, nullptr);
  return {pem_of(key.get(), true), pem_of(key.get(), false),
          pem_of(key.get(), true, EVP_aes_256_cbc())};
}

const KeyPair& rsa2048() {
  static const KeyPair pair = make_rsa(2048);
  return pair;
}

// --- RFC 7515 Appendix A.1 ------------------------------------------------------------------

const char kA1Token[] =
    "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    "."
    "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const char kA1Key[] =
    "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow";

Codec a1_codec(Algorithm algorithm = Algorithm::HS256) {
  return Codec::hmac(algorithm, base64url_decode(kA1Key).value(), Options{"joe", "any", 30});
}

TEST(JwtRfc7515, AppendixA1VerifiesWithHs256) {
  std::string payload_text;
  ASSERT_EQ(a1_codec().verify_signature(kA1Token, &payload_text), Reason::ok);
  const json claims = json::parse(payload_text);
  EXPECT_EQ(claims["iss"], "joe");
  EXPECT_EQ(claims["exp"], 1300819380);
  EXPECT_EQ(claims["http://example.com/is_root"], true);
  // Its claims are not pgfolio's (no sub, role, sid, iat, aud): the full check refuses them.
  EXPECT_EQ(a1_codec().verify(kA1Token, 1300819380 - 60).reason, Reason::missing_claim);
}

TEST(JwtRfc7515, AppendixA1AlteredFailsAndOtherAlgorithmsRefuseIt) {
  std::string altered = kA1Token;
  altered[altered.size() - 2] = altered[altered.size() - 2] == 'X' ? 'Y' : 'X';
  EXPECT_EQ(a1_codec().verify_signature(altered), Reason::bad_signature);
  EXPECT_EQ(a1_codec(Algorithm::HS512).verify_signature(kA1Token), Reason::bad_alg);
}

// --- Round trips ----------------------------------------------------------------------------

TEST(JwtSign, Hs512RoundTrip) {
  const std::string token = hs512().sign(claims());
  const auto first_dot = token.find('.');
  EXPECT_EQ(json::parse(base64url_decode(token.substr(0, first_dot)).value()), header("HS512"));
  const Verification result = hs512().verify(token, kNow);
  ASSERT_EQ(result.reason, Reason::ok);
  EXPECT_EQ(result.claims.sub, kUser);
  EXPECT_EQ(result.claims.role, "user");
  EXPECT_EQ(result.claims.sid, kSession);
  EXPECT_EQ(result.claims.iat, kNow);
  EXPECT_EQ(result.claims.exp, kNow + 900);
  // The same claims under another secret do not verify.
  const Codec other = Codec::hmac(Algorithm::HS512, kSecret + "x", options());
  EXPECT_EQ(other.verify(token, kNow).reason, Reason::bad_signature);
}

TEST(JwtSign, Rs256RoundTripAndVerifyOnlyCodec) {
  const Codec signer = Codec::rs256_private_pem(rsa2048().private_pem, options());
  const Codec verifier = Codec::rs256_public_pem(rsa2048().public_pem, options());
  const std::string token = signer.sign(claims());
  EXPECT_EQ(signer.verify(token, kNow).reason, Reason::ok);
  const Verification result = verifier.verify(token, kNow);
  ASSERT_EQ(result.reason, Reason::ok);
  EXPECT_EQ(result.claims.sub, kUser);
  EXPECT_THROW(verifier.sign(claims()), Error);
  // Another key pair's public key refuses it.
  const KeyPair other = make_rsa(2048);
  EXPECT_EQ(Codec::rs256_public_pem(other.public_pem, options()).verify(token, kNow).reason,
            Reason::bad_signature);
}

TEST(JwtSign, RefusesClaimsThatWouldNotVerify) {
  Claims bad = claims();
  bad.sub = "not-a-uuid";
  EXPECT_THROW(hs512().sign(bad), Error);
  bad = claims();
  bad.role = "root";
  EXPECT_THROW(hs512().sign(bad), Error);
  bad = claims();
  bad.exp = bad.iat;
  EXPECT_THROW(hs512().sign(bad), Error);
}

TEST(JwtConfig, RefusesWeakOrWrongKeys) {
  EXPECT_THROW(Codec::hmac(Algorithm::HS512, std::string(31, 'k'), options()), Error);
  EXPECT_NO_THROW(Codec::hmac(Algorithm::HS512, std::string(32, 'k'), options()));
  EXPECT_THROW(Codec::hmac(Algorithm::RS256, kSecret, options()), Error);
  EXPECT_THROW(Codec::hmac(Algorithm::HS512, kSecret, Options{"", kAudience, 30}), Error);
  EXPECT_THROW(Codec::hmac(Algorithm::HS512, kSecret, Options{kIssuer, "", 30}), Error);
  EXPECT_THROW(Codec::hmac(Algorithm::HS512, kSecret, Options{kIssuer, kAudience, -1}), Error);
  EXPECT_THROW(Codec::rs256_private_pem("not a key", options()), Error);
  EXPECT_THROW(Codec::rs256_public_pem(rsa2048().private_pem, options()), Error);
  // An encrypted key is refused, not prompted for.
  EXPECT_THROW(Codec::rs256_private_pem(rsa2048().encrypted_private_pem, options()), Error);
  EXPECT_THROW(Codec::rs256_public_pem(make_rsa(1024).public_pem, options()), Error);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> ec(EVP_EC_gen("P-256"), &EVP_PKEY_free);
  ASSERT_NE(ec, nullptr);
  EXPECT_THROW(Codec::rs256_public_pem(pem_of(ec.get(), false), options()), Error);
}

// --- The algorithm is the configured one, exactly -------------------------------------------

TEST(JwtAlgorithm, NoneIsRefused) {
  for (const char* alg : {"none", "None", "NONE"}) {
    const std::string unsigned_token =
        base64url_encode(header(alg).dump()) + '.' + base64url_encode(payload().dump()) + '.';
    EXPECT_EQ(verify(unsigned_token), Reason::bad_alg) << alg;
    // …also when a signature is attached anyway.
    EXPECT_EQ(verify(forge(payload(), header(alg))), Reason::bad_alg) << alg;
  }
}

// libjwt 1.10 pitfall: a token MACed with another HMAC algorithm under the same secret.
TEST(JwtAlgorithm, AnotherHmacAlgorithmIsRefused) {
  EXPECT_EQ(
      verify(forge_text(header("HS256").dump(), payload().dump(), HashAlgorithm::Sha256, kSecret)),
      Reason::bad_alg);
  // A valid HS512 MAC under a header that names another algorithm is refused too.
  for (const char* alg : {"HS256", "HS384", "hs512", "HS512 ", "RS256", ""})
    EXPECT_EQ(verify(forge(payload(), header(alg))), Reason::bad_alg) << '"' << alg << '"';
  EXPECT_EQ(verify(forge(payload(), json{{"typ", "JWT"}})), Reason::bad_alg);
  EXPECT_EQ(verify(forge(payload(), json{{"alg", 512}})), Reason::bad_alg);
  EXPECT_EQ(verify(forge(payload(), json{{"alg", json::array({"HS512"})}})), Reason::bad_alg);
  // And an HS256 codec refuses HS512 tokens.
  const Codec hs256 = Codec::hmac(Algorithm::HS256, kSecret, options());
  EXPECT_EQ(hs256.verify(hs512().sign(claims()), kNow).reason, Reason::bad_alg);
}

// libjwt 1.10 pitfall: with RS256 configured, HS256 keyed with the (public) RSA key.
TEST(JwtAlgorithm, Hs256KeyedWithTheRsaPublicKeyIsRefused) {
  const Codec rs256 = Codec::rs256_public_pem(rsa2048().public_pem, options());
  const std::string& public_pem = rsa2048().public_pem;
  const std::string hs256_token =
      forge_text(header("HS256").dump(), payload().dump(), HashAlgorithm::Sha256, public_pem);
  EXPECT_EQ(rs256.verify(hs256_token, kNow).reason, Reason::bad_alg);
  // Claiming RS256 in the header while MACing with the public key gets no further.
  const std::string relabelled =
      forge_text(header("RS256").dump(), payload().dump(), HashAlgorithm::Sha256, public_pem);
  EXPECT_EQ(rs256.verify(relabelled, kNow).reason, Reason::bad_signature);
}

TEST(JwtHeader, TypIsOptionalButMustBeJwt) {
  EXPECT_EQ(verify(forge(payload(), json{{"alg", "HS512"}})), Reason::ok);
  EXPECT_EQ(verify(forge(payload(), json{{"alg", "HS512"}, {"typ", "JWT"}})), Reason::ok);
  for (const json& typ : {json("jwt"), json("at+jwt"), json(1), json(nullptr)})
    EXPECT_EQ(verify(forge(payload(), json{{"alg", "HS512"}, {"typ", typ}})), Reason::bad_header)
        << typ;
  EXPECT_EQ(verify(forge(payload(), json{{"alg", "HS512"}, {"crit", {"exp"}}})),
            Reason::bad_header);
  // Key hints are ignored: the key is the configured one whatever they say.
  EXPECT_EQ(verify(forge(payload(), json{{"alg", "HS512"}, {"kid", "other"}, {"jku", "x"}})),
            Reason::ok);
}

// --- Signature ------------------------------------------------------------------------------

TEST(JwtSignature, AnyChangeIsABadSignature) {
  const std::string token = hs512().sign(claims());
  const std::size_t second_dot = token.rfind('.');
  // A different but canonical last signature character changes the MAC's top bits.
  std::string flipped = token;
  flipped[second_dot + 1] = flipped[second_dot + 1] == 'A' ? 'B' : 'A';
  EXPECT_EQ(verify(flipped), Reason::bad_signature);
  // Same signature over an altered payload (role raised to admin).
  json admin = payload();
  admin["role"] = "admin";
  const std::string altered = token.substr(0, token.find('.') + 1) +
                              base64url_encode(admin.dump()) + token.substr(second_dot);
  EXPECT_EQ(verify(altered), Reason::bad_signature);
  // Empty and truncated signatures.
  EXPECT_EQ(verify(token.substr(0, second_dot + 1)), Reason::bad_signature);
  const std::string signature = base64url_decode(token.substr(second_dot + 1)).value();
  EXPECT_EQ(verify(token.substr(0, second_dot + 1) + base64url_encode(signature.substr(0, 32))),
            Reason::bad_signature);
  // The signature of another valid token.
  Claims other = claims();
  other.exp += 1;
  const std::string other_token = hs512().sign(other);
  EXPECT_EQ(verify(token.substr(0, second_dot) + other_token.substr(other_token.rfind('.'))),
            Reason::bad_signature);
}

// --- Claims ---------------------------------------------------------------------------------

// libjwt 1.10 pitfall: decode alone accepts an expired token.
TEST(JwtClaims, ExpiryWithThirtySecondsOfSkew) {
  json p = payload();
  p["iat"] = kNow - 1000;
  p["exp"] = kNow - 31;
  EXPECT_EQ(verify(forge(p)), Reason::expired);
  p["exp"] = kNow - 30;  // exp must be after now - skew
  EXPECT_EQ(verify(forge(p)), Reason::expired);
  p["exp"] = kNow - 29;
  EXPECT_EQ(verify(forge(p)), Reason::ok);
  // Long expired: the RFC 7515 A.1 era.
  p["exp"] = 1300819380;
  EXPECT_EQ(verify(forge(p)), Reason::expired);
  // Skew is configurable.
  const Codec strict = Codec::hmac(Algorithm::HS512, kSecret, options(0));
  p["exp"] = kNow;
  EXPECT_EQ(strict.verify(forge(p), kNow).reason, Reason::expired);
  p["exp"] = kNow + 1;
  EXPECT_EQ(strict.verify(forge(p), kNow).reason, Reason::ok);
  // Time passing expires a token signed now.
  const std::string token = hs512().sign(claims());
  EXPECT_EQ(verify(token, kNow + 900 + 29), Reason::ok);
  EXPECT_EQ(verify(token, kNow + 900 + 30), Reason::expired);
}

TEST(JwtClaims, IssuedInTheFutureIsNotYetValid) {
  json p = payload();
  p["iat"] = kNow + 31;
  EXPECT_EQ(verify(forge(p)), Reason::not_yet_valid);
  p["iat"] = kNow + 30;
  EXPECT_EQ(verify(forge(p)), Reason::ok);
  p = payload();
  p["nbf"] = kNow + 31;
  EXPECT_EQ(verify(forge(p)), Reason::not_yet_valid);
  p["nbf"] = kNow;
  EXPECT_EQ(verify(forge(p)), Reason::ok);
  p["nbf"] = "soon";
  EXPECT_EQ(verify(forge(p)), Reason::invalid_claim);
}

TEST(JwtClaims, IssuerAndAudience) {
  json p = payload();
  p["iss"] = "https://evil.test";
  EXPECT_EQ(verify(forge(p)), Reason::bad_issuer);
  p["iss"] = kIssuer + "/";
  EXPECT_EQ(verify(forge(p)), Reason::bad_issuer);
  p = payload();
  p["aud"] = "other-api";
  EXPECT_EQ(verify(forge(p)), Reason::bad_audience);
  p["aud"] = json::array({"other-api", kAudience});
  EXPECT_EQ(verify(forge(p)), Reason::ok);
  p["aud"] = json::array({"other-api"});
  EXPECT_EQ(verify(forge(p)), Reason::bad_audience);
  p["aud"] = json::array();
  EXPECT_EQ(verify(forge(p)), Reason::bad_audience);
  p["aud"] = 7;
  EXPECT_EQ(verify(forge(p)), Reason::bad_audience);
  p["aud"] = json{{"aud", kAudience}};
  EXPECT_EQ(verify(forge(p)), Reason::bad_audience);
}

TEST(JwtClaims, EveryClaimIsRequired) {
  for (const char* name : {"sub", "role", "sid", "iat", "exp", "iss", "aud"}) {
    json p = payload();
    p.erase(name);
    EXPECT_EQ(verify(forge(p)), Reason::missing_claim) << name;
  }
  EXPECT_EQ(verify(forge(json::object())), Reason::missing_claim);
}

TEST(JwtClaims, WrongTypesAndValuesAreInvalid) {
  const std::pair<const char*, json> cases[] = {
      {"exp", std::to_string(kNow + 900)},       // a string
      {"exp", static_cast<double>(kNow + 900)},  // a float, though integral
      {"exp", 1.75e9},
      {"exp", 18446744073709551615ull},  // beyond int64
      {"exp", true},
      {"exp", nullptr},
      {"iat", std::to_string(kNow)},
      {"iat", 1.5},
      {"sub", "not-a-uuid"},
      {"sub", "6f1d2c3b4a594e7f8a9b0c1d2e3f4a5b"},  // UUID without hyphens
      {"sub", "{6f1d2c3b-4a59-4e7f-8a9b-0c1d2e3f4a5b}"},
      {"sub", 42},
      {"sid", "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3g"},
      {"sid", json::array({kSession})},
      {"role", "root"},
      {"role", "Admin"},
      {"role", json::array({"admin"})},
      {"iss", 1},
  };
  for (const auto& [name, value] : cases) {
    json p = payload();
    p[name] = value;
    EXPECT_EQ(verify(forge(p)), Reason::invalid_claim) << name << " = " << value.dump();
  }
  // Every role pgfolio issues is accepted, in either UUID case.
  for (const char* role : {"user", "admin", "service"}) {
    json p = payload();
    p["role"] = role;
    p["sub"] = "6F1D2C3B-4A59-4E7F-8A9B-0C1D2E3F4A5B";
    EXPECT_EQ(verify(forge(p)), Reason::ok) << role;
  }
}

TEST(JwtClaims, RawNumberSpellings) {
  // Written as text, since json would normalise them: an exponent makes a float, and a number
  // beyond uint64 is not an integer at all.
  const std::string prefix = R"({"sub":")" + kUser + R"(","role":"user","sid":")" + kSession +
                             R"(","iss":")" + kIssuer + R"(","aud":")" + kAudience + R"(","iat":)" +
                             std::to_string(kNow) + R"(,"exp":)";
  const auto token = [&](const std::string& exp) {
    return forge_text(header("HS512").dump(), prefix + exp + "}", HashAlgorithm::Sha512, kSecret);
  };
  EXPECT_EQ(verify(token(std::to_string(kNow + 900))), Reason::ok);
  EXPECT_EQ(verify(token("1.75e9")), Reason::invalid_claim);
  EXPECT_EQ(verify(token(std::to_string(kNow + 900) + ".0")), Reason::invalid_claim);
  EXPECT_EQ(verify(token("99999999999999999999999")), Reason::invalid_claim);
  EXPECT_EQ(verify(token("-1")), Reason::expired);
  EXPECT_EQ(verify(token("0x68")), Reason::malformed);
  EXPECT_EQ(verify(token("017")), Reason::malformed);
}

// --- Parsing --------------------------------------------------------------------------------

TEST(JwtParsing, StructureMustBeThreeNonEmptyParts) {
  const std::string token = hs512().sign(claims());
  ASSERT_EQ(verify(token), Reason::ok);
  const std::size_t first_dot = token.find('.');
  const std::size_t second_dot = token.rfind('.');
  const std::string h = token.substr(0, first_dot);
  const std::string p = token.substr(first_dot + 1, second_dot - first_dot - 1);
  const std::string s = token.substr(second_dot + 1);
  for (const std::string& bad :
       {std::string(), std::string("."), std::string(".."), std::string("..."), h, h + '.' + p,
        token + '.', token + ".x", '.' + token, h + ".." + s, "." + p + '.' + s,
        h + '.' + p + ".." + s, h + "." + p + '.' + s + ".", "Bearer " + token})
    EXPECT_EQ(verify(bad), Reason::malformed) << bad;
}

TEST(JwtParsing, Base64urlIsStrict) {
  const std::string token = hs512().sign(claims());
  const std::size_t second_dot = token.rfind('.');
  // Padding on any part, each correctly signed over the padded text, so that padding is the
  // only defect. Trailing JSON whitespace gives the texts lengths that need padding.
  const auto padded = [](std::string text) {
    while (text.size() % 3 == 0) text += ' ';
    return base64url_encode(text) + std::string(3 - text.size() % 3, '=');
  };
  const auto sign_segments = [](const std::string& header_segment,
                                const std::string& payload_segment) {
    const std::string input = header_segment + '.' + payload_segment;
    return input + '.' + base64url_encode(hmac(HashAlgorithm::Sha512, kSecret, input));
  };
  const std::string header_segment = base64url_encode(header("HS512").dump());
  const std::string payload_segment = base64url_encode(payload().dump());
  ASSERT_EQ(verify(sign_segments(header_segment, payload_segment)), Reason::ok);
  EXPECT_EQ(verify(sign_segments(padded(header("HS512").dump()), payload_segment)),
            Reason::malformed);
  EXPECT_EQ(verify(sign_segments(header_segment, padded(payload().dump()))), Reason::malformed);
  // The HS512 signature's 64 bytes encode to 86 characters: "==" would complete the group.
  EXPECT_EQ(verify(token + "=="), Reason::malformed);
  // Characters from the standard alphabet, whitespace, non-ASCII.
  for (const std::string& insert :
       {std::string("+"), std::string("/"), std::string(" "), std::string("\n"),
        std::string("\xc3\xa9"), std::string(1, '\0')}) {
    std::string bad = token;
    bad.insert(second_dot + 3, insert);
    EXPECT_EQ(verify(bad), Reason::malformed);
    bad = token;
    bad.insert(5, insert);
    EXPECT_EQ(verify(bad), Reason::malformed);
  }
  // A non-canonical last character: the HS512 signature (64 bytes, 86 characters) leaves 4
  // unused bits in its last character; setting one decodes to the same bytes and must fail.
  std::string noncanonical = token;
  char& last = noncanonical.back();
  const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  last = alphabet[alphabet.find(last) | 1];
  ASSERT_NE(noncanonical, token);
  EXPECT_FALSE(base64url_decode(noncanonical.substr(second_dot + 1)).has_value());
  EXPECT_EQ(verify(noncanonical), Reason::malformed);
}

TEST(JwtParsing, HugeTokensAreRefusedEarly) {
  // A correctly signed token just over the limit, and one at it.
  json p = payload();
  p["pad"] = "";
  const std::size_t base = forge(p).size();
  // Each 3 bytes of claim text add 4 characters to the token (payload length kept a multiple
  // of 3 so that the step is exact).
  p["pad"] = std::string((kMaxTokenBytes - base) / 4 * 3, 'x');
  std::string at_limit = forge(p);
  while (at_limit.size() < kMaxTokenBytes) {
    p["pad"] = p["pad"].get<std::string>() + "x";
    at_limit = forge(p);
  }
  if (at_limit.size() > kMaxTokenBytes) {
    p["pad"] = p["pad"].get<std::string>().substr(1);
    at_limit = forge(p);
  }
  ASSERT_LE(at_limit.size(), kMaxTokenBytes);
  EXPECT_EQ(verify(at_limit), Reason::ok);
  p["pad"] = std::string(kMaxTokenBytes, 'x');
  EXPECT_EQ(verify(forge(p)), Reason::too_large);
  EXPECT_EQ(verify(std::string(1 << 20, 'A')), Reason::too_large);
}

TEST(JwtParsing, HeaderAndPayloadMustBeJsonObjects) {
  for (const char* text : {"[1]", "\"text\"", "42", "null", "true", "{", "{\"a\":1} x",
                           "{\"a\":1}{}", "{'a':1}", "{\"a\":1,}", "/*c*/{}", ""}) {
    EXPECT_EQ(verify(forge_text(header("HS512").dump(), text, HashAlgorithm::Sha512, kSecret)),
              Reason::malformed)
        << "payload " << text;
    EXPECT_EQ(verify(forge_text(text, payload().dump(), HashAlgorithm::Sha512, kSecret)),
              Reason::malformed)
        << "header " << text;
  }
  // Invalid UTF-8 inside a string.
  std::string bad_utf8 = payload().dump();
  bad_utf8.insert(bad_utf8.find(kIssuer) + 3, "\xff");
  EXPECT_EQ(verify(forge_text(header("HS512").dump(), bad_utf8, HashAlgorithm::Sha512, kSecret)),
            Reason::malformed);
}

TEST(JwtParsing, DuplicateMembersAreRefused) {
  const std::string body = payload().dump();  // {"aud":…,…}
  const std::string twice_role = R"({"role":"admin",)" + body.substr(1);
  EXPECT_EQ(verify(forge_text(header("HS512").dump(), twice_role, HashAlgorithm::Sha512, kSecret)),
            Reason::malformed);
  const std::string twice_sub = body.substr(0, body.size() - 1) + R"(,"sub":")" + kUser + "\"}";
  EXPECT_EQ(verify(forge_text(header("HS512").dump(), twice_sub, HashAlgorithm::Sha512, kSecret)),
            Reason::malformed);
  EXPECT_EQ(
      verify(forge_text(R"({"alg":"none","alg":"HS512"})", body, HashAlgorithm::Sha512, kSecret)),
      Reason::malformed);
  // In a nested object too; the same name in sibling objects is fine.
  const std::string nested = body.substr(0, body.size() - 1) + R"(,"x":{"a":1,"a":2}})";
  EXPECT_EQ(verify(forge_text(header("HS512").dump(), nested, HashAlgorithm::Sha512, kSecret)),
            Reason::malformed);
  const std::string siblings =
      body.substr(0, body.size() - 1) + R"(,"x":{"a":1},"y":{"a":2},"z":[{"a":1},{"a":1}]})";
  EXPECT_EQ(verify(forge_text(header("HS512").dump(), siblings, HashAlgorithm::Sha512, kSecret)),
            Reason::ok);
}

// pgfolio-http verifies on every reactor thread with one shared Codec.
TEST(JwtSign, OneCodecServesManyThreads) {
  const Codec hmac_codec = hs512();
  const Codec rsa_codec = Codec::rs256_private_pem(rsa2048().private_pem, options());
  const std::string hmac_token = hmac_codec.sign(claims());
  const std::string rsa_token = rsa_codec.sign(claims());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i) {
        if (!hmac_codec.verify(hmac_token, kNow).ok()) ++failures;
        if (!rsa_codec.verify(rsa_token, kNow).ok()) ++failures;
        if (rsa_codec.verify(hmac_token, kNow).ok()) ++failures;
      }
    });
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(JwtReasons, NamesAreDistinct) {
  const Reason all[] = {
      Reason::ok,         Reason::too_large,     Reason::malformed,     Reason::bad_header,
      Reason::bad_alg,    Reason::bad_signature, Reason::missing_claim, Reason::invalid_claim,
      Reason::bad_issuer, Reason::bad_audience,  Reason::expired,       Reason::not_yet_valid};
  std::set<std::string_view> names;
  for (Reason reason : all) names.insert(reason_name(reason));
  EXPECT_EQ(names.size(), std::size(all));
  EXPECT_EQ(names.count("?"), 0u);
}

}  // namespace
}  // namespace pgfolio::jwt
