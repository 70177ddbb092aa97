// Argon2id password hashing: round trip, refusals, the encoded parameters, malformed stored
// hashes, and the dummy verification for unknown accounts.
#include "password_hasher.hpp"

#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "error.hpp"

namespace pgfolio::http {
namespace {

const std::string kPassword = "correct horse battery staple";

// One hasher with the default (production) parameters for the whole suite: its constructor
// hashes once.
const PasswordHasher& hasher() {
  static const PasswordHasher instance;
  return instance;
}

TEST(PasswordHasher, RoundTrip) {
  const std::string encoded = hasher().hash(kPassword);
  EXPECT_TRUE(hasher().verify(encoded, kPassword));
  EXPECT_FALSE(hasher().verify(encoded, kPassword + " "));
  EXPECT_FALSE(hasher().verify(encoded, "correct horse battery stapl"));
  EXPECT_FALSE(hasher().verify(encoded, ""));
  // A fresh salt each time: the same password never gives the same hash.
  const std::string again = hasher().hash(kPassword);
  EXPECT_NE(again, encoded);
  EXPECT_TRUE(hasher().verify(again, kPassword));
}

TEST(PasswordHasher, EncodedHashCarriesTheParameters) {
  const std::string encoded = hasher().hash(kPassword);
  EXPECT_EQ(encoded.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << encoded;
  EXPECT_EQ(encoded.find(kPassword), std::string::npos);
  EXPECT_FALSE(hasher().needs_rehash(encoded));
  // A hash made with other (stronger) parameters still verifies under this hasher, which
  // reports that it should be replaced.
  const PasswordHasher stronger(Argon2Parameters{47104, 1, 1});
  const std::string strong = stronger.hash(kPassword);
  EXPECT_EQ(strong.rfind("$argon2id$v=19$m=47104,t=1,p=1$", 0), 0u) << strong;
  EXPECT_TRUE(hasher().verify(strong, kPassword));
  EXPECT_TRUE(hasher().needs_rehash(strong));
  EXPECT_FALSE(stronger.needs_rehash(strong));
  EXPECT_TRUE(hasher().needs_rehash("garbage"));
}

TEST(PasswordHasher, LengthLimits) {
  const std::string max(PasswordHasher::kMaxPasswordBytes, 'p');
  const std::string encoded = hasher().hash(max);
  EXPECT_TRUE(hasher().verify(encoded, max));
  try {
    hasher().hash(max + "p");
    ADD_FAILURE() << "a 257-byte password was hashed";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::VALIDATION_ERROR);
    EXPECT_EQ(error.details_json(), R"({"field":"password"})");
  }
  EXPECT_FALSE(hasher().verify(encoded, max + "p"));
  // 255 bytes plus a 2-byte character is over 256 bytes too.
  EXPECT_THROW(hasher().hash(std::string(255, 'p') + "\xc3\xa9"), Error);
  // The minimum counts characters: ten 2-byte characters pass, nine do not.
  std::string accented;
  for (int i = 0; i < 9; ++i) accented += "\xc3\xa9";
  EXPECT_THROW(hasher().hash(accented), Error);
  EXPECT_THROW(hasher().hash("123456789"), Error);
  EXPECT_THROW(hasher().hash(""), Error);
  EXPECT_TRUE(hasher().verify(hasher().hash(accented + "\xc3\xa9"), accented + "\xc3\xa9"));
  EXPECT_NO_THROW(hasher().hash("1234567890"));
}

TEST(PasswordHasher, MalformedStoredHashesVerifyFalse) {
  const std::string good = hasher().hash(kPassword);
  const std::string tail = good.substr(good.find("$", good.find("p=")));  // "$salt$hash"
  for (const std::string& bad : {
           std::string(),
           std::string("$"),
           std::string("plain text"),
           std::string("$argon2id$"),
           std::string("$argon2id$v=19$m=19456,t=2,p=1$"),
           std::string("$argon2id$v=19$m=19456,t=2,p=1$$"),
           "$argon2i$v=19$m=19456,t=2,p=1" + tail,  // another variant
           "$argon2d$v=19$m=19456,t=2,p=1" + tail,
           "$argon2id$v=16$m=19456,t=2,p=1" + tail,  // another version
           "$argon2id$m=19456,t=2,p=1" + tail,       // no version
           "$argon2id$v=19$m=,t=2,p=1" + tail,
           "$argon2id$v=19$m=19456,t=0,p=1" + tail,
           "$argon2id$v=19$m=19456,t=2,p=0" + tail,
           "$argon2id$v=19$m=99999999999,t=2,p=1" + tail,
           // Plausible but expensive: refused before libargon2 allocates 4 GiB.
           "$argon2id$v=19$m=4194304,t=2,p=1" + tail,
           "$argon2id$v=19$m=19456,t=100000,p=1" + tail,
           good.substr(0, good.size() - 1),
           good.substr(0, good.size() - 10),
           good + "A",
           good + "$",
           good.substr(0, 40) + "!" + good.substr(41),
           good.substr(0, 20) + std::string(1, '\0') + good.substr(20),
           good + std::string(1, '\0'),
       }) {
    EXPECT_FALSE(hasher().verify(bad, kPassword)) << bad;
  }
  // The same parameters with another salt and hash are a well-formed non-match.
  EXPECT_FALSE(hasher().verify(hasher().hash("another password"), kPassword));
}

TEST(PasswordHasher, DummyVerificationFailsAndCostsAsMuchAsARealOne) {
  EXPECT_FALSE(hasher().verify_dummy(kPassword));
  EXPECT_FALSE(hasher().verify_dummy(""));
  // An unknown email must take as long as a wrong password. Timing is not asserted here (that
  // belongs to make bench): the dummy is a well-formed Argon2id hash with exactly this
  // hasher's parameters, so verifying against it is the same work as a real verification.
  const std::string& dummy = hasher().dummy_hash();
  EXPECT_EQ(dummy.rfind("$argon2id$v=19$m=19456,t=2,p=1$", 0), 0u) << dummy;
  EXPECT_FALSE(hasher().needs_rehash(dummy));
  EXPECT_EQ(dummy.size(), hasher().hash(kPassword).size());
}

TEST(PasswordHasher, ParametersBelowOwaspMinimumAreRefused) {
  // Memory × iterations below every OWASP pair, or memory below its smallest (7 MiB).
  EXPECT_THROW(PasswordHasher(Argon2Parameters{19456, 1, 1}), std::invalid_argument);
  EXPECT_THROW(PasswordHasher(Argon2Parameters{12288, 2, 1}), std::invalid_argument);
  EXPECT_THROW(PasswordHasher(Argon2Parameters{7167, 6, 1}), std::invalid_argument);
  EXPECT_THROW(PasswordHasher(Argon2Parameters{4096, 10, 1}), std::invalid_argument);
  EXPECT_THROW(PasswordHasher(Argon2Parameters{19456, 2, 0}), std::invalid_argument);
  EXPECT_THROW(PasswordHasher(Argon2Parameters{1u << 21, 2, 1}), std::invalid_argument);
  EXPECT_NO_THROW(PasswordHasher(Argon2Parameters{7168, 5, 1}));
  EXPECT_NO_THROW(PasswordHasher(Argon2Parameters{12288, 3, 1}));
}

}  // namespace
}  // namespace pgfolio::http
