// pgfolio.random_token(bytes) and pgfolio.random_digits(n): the secrets the database itself
// generates (one-time tokens, OTP codes; docs/auth.md), from OpenSSL's CSPRNG through the
// core's digest.hpp, which pgfolio-http uses for its own tokens.
//
// PostgreSQL's random() is a seeded PRNG whose next outputs can be predicted from a few
// earlier ones, so it must not make secrets. RAND_bytes is a CSPRNG that OpenSSL 3 reseeds
// after fork() on its own (each backend is a fork of the postmaster, and two backends must
// never share a stream).
#include <openssl/crypto.h>

#include <string>

#include "base64url.hpp"
#include "convert.hpp"
#include "digest.hpp"
#include "error.hpp"

using namespace pgfolio;
using namespace pgfolio::pg;

namespace {

// Far more than any token or code needs (a token of 32 bytes is 256 bits), while a typo such
// as 10^9 cannot allocate gigabytes.
constexpr int kMaxCount = 1024;

int count_argument(FunctionCallInfo fcinfo, const char* name) {
  int count = PG_GETARG_INT32(0);
  if (count < 1 || count > kMaxCount)
    throw Error(ErrorCode::VALIDATION_ERROR,
                std::string(name) + " must be between 1 and " + std::to_string(kMaxCount),
                std::string(R"({"field": ")") + name + "\"}");
  return count;
}

// The secret as text, with the C++ copy wiped: only the returned datum keeps it.
Datum secret_text(std::string& secret) {
  Datum result = to_text(secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  return result;
}

}  // namespace

// random_token(bytes integer) returns text: `bytes` random bytes as base64url without padding
// (32 bytes give 43 characters), fit for URLs and JSON as they are.
PGFOLIO_FUNCTION(pgfolio_random_token) {
  std::string bytes = random_bytes(count_argument(fcinfo, "bytes"));
  std::string token = base64url_encode(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return secret_text(token);
}

// random_digits(n integer) returns text: n decimal digits, each uniform over 0-9.
PGFOLIO_FUNCTION(pgfolio_random_digits) {
  std::string digits = random_digits(count_argument(fcinfo, "n"));
  return secret_text(digits);
}
