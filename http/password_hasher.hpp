// Password hashing with Argon2id (libargon2), done in pgfolio-http so that a password never
// reaches SQL text or parameters: the database stores and returns only the encoded hash.
//
// The encoded form "$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>" carries its own parameters,
// so they can be raised later: old hashes still verify, and needs_rehash() says when to store
// a fresh hash after a successful login.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgfolio::http {

struct Argon2Parameters {
  std::uint32_t memory_kib = 19456;  // 19 MiB
  std::uint32_t iterations = 2;
  std::uint32_t parallelism = 1;
};

class PasswordHasher {
 public:
  // Counted in characters (UTF-8 code points), as a person counts them.
  static constexpr std::size_t kMinPasswordCharacters = 10;
  // Counted in bytes: bounds the work one request can ask for.
  static constexpr std::size_t kMaxPasswordBytes = 256;

  // Parameters below OWASP's floor for Argon2id (any of its equivalent pairs: 46 MiB/t=1,
  // 19 MiB/t=2, 12 MiB/t=3, 9 MiB/t=4, 7 MiB/t=5; p >= 1) or absurdly high throw
  // std::invalid_argument. Computes the dummy hash (one hashing, tens of milliseconds).
  explicit PasswordHasher(Argon2Parameters parameters = {});

  const Argon2Parameters& parameters() const { return parameters_; }

  // A new encoded hash with a random 128-bit salt. Throws pgfolio::Error VALIDATION_ERROR
  // (details {"field":"password"}) for a password shorter than kMinPasswordCharacters or
  // longer than kMaxPasswordBytes; INTERNAL_ERROR if libargon2 fails (e.g. out of memory).
  std::string hash(std::string_view password) const;

  // True only when `encoded` is a well-formed Argon2id hash of `password`. False, without
  // throwing, for a wrong password, a malformed or non-Argon2id encoding, parameters beyond
  // the sanity limits (a corrupt row must not make one login allocate gigabytes), or a
  // password over kMaxPasswordBytes.
  bool verify(std::string_view encoded, std::string_view password) const;

  // For an unknown account: does the same work as verify() against a hash made with the
  // configured parameters, and so takes as long, then answers false. Login answers an unknown
  // email and a wrong password identically, in content and in time.
  bool verify_dummy(std::string_view password) const;
  // The hash verify_dummy checks against; public so a test can see it carries this hasher's
  // parameters, which is what makes the dummy check cost as much as a real one.
  const std::string& dummy_hash() const { return dummy_hash_; }

  // True when `encoded` is not an Argon2id hash with exactly the configured parameters.
  bool needs_rehash(std::string_view encoded) const;

 private:
  Argon2Parameters parameters_;
  std::string dummy_hash_;
};

}  // namespace pgfolio::http
