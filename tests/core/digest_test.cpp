// Hashes, HMAC, comparison and randomness: published vectors for each hash and MAC, and the
// properties the callers rely on.
#include "digest.hpp"

#include <gtest/gtest.h>

#include <array>
#include <set>
#include <string>

namespace pgfolio {
namespace {

TEST(Digest, Sha256Vectors) {
  // FIPS 180-2 Appendix B.1 ("abc") and the empty message.
  EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(sha256("abc").size(), 32u);
  EXPECT_EQ(hex_encode(sha256("abc")), sha256_hex("abc"));
  EXPECT_EQ(hex_encode(std::string("\x00\x0f\xf0\xff", 4)), "000ff0ff");
}

TEST(Digest, HmacVectors) {
  // RFC 2202 §3 test case 2 (HMAC-SHA-1) and RFC 4231 §4.3 test case 2 (SHA-256, SHA-512).
  const std::string key = "Jefe";
  const std::string data = "what do ya want for nothing?";
  EXPECT_EQ(hex_encode(hmac(HashAlgorithm::Sha1, key, data)),
            "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
  EXPECT_EQ(hex_encode(hmac(HashAlgorithm::Sha256, key, data)),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  EXPECT_EQ(hex_encode(hmac(HashAlgorithm::Sha512, key, data)),
            "164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea250554"
            "9758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737");
  // Empty key and data are valid inputs, not errors.
  EXPECT_EQ(hmac(HashAlgorithm::Sha256, "", "").size(), 32u);
}

TEST(Digest, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("", ""));
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "bbc"));
  EXPECT_FALSE(constant_time_equal("abc", "ab"));
  EXPECT_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(Digest, RandomBytes) {
  EXPECT_EQ(random_bytes(0), "");
  EXPECT_EQ(random_bytes(32).size(), 32u);
  // 100 draws of 128 bits: a repeat would mean the generator is broken.
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(random_bytes(16));
  EXPECT_EQ(seen.size(), 100u);
}

TEST(Digest, RandomDigitsAreUniform) {
  EXPECT_EQ(random_digits(0), "");
  const std::string digits = random_digits(100000);
  ASSERT_EQ(digits.size(), 100000u);
  std::array<int, 10> counts{};
  for (char c : digits) {
    ASSERT_TRUE(c >= '0' && c <= '9');
    ++counts[c - '0'];
  }
  // Expected 10000 each with a standard deviation of 95: 9% off is beyond 9 sigma.
  for (int count : counts) {
    EXPECT_GT(count, 9100);
    EXPECT_LT(count, 10900);
  }
  const int low = counts[0] + counts[1] + counts[2] + counts[3] + counts[4] + counts[5];
  // A plain byte % 10 would favour 0–5 (26 of 256 bytes each, against 25): together about
  // 60940, 6 sigma (155) above the 60000 of a uniform draw. Allow 4 sigma.
  EXPECT_LT(low, 60000 + 4 * 155);
}

}  // namespace
}  // namespace pgfolio
