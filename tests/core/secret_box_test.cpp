// AES-256-GCM: known answers from the GCM specification, and SecretBox's sealed format with
// every kind of tampering refused.
#include "secret_box.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

#include "digest.hpp"
#include "error.hpp"

namespace pgfolio {
namespace {

std::string unhex(std::string_view hex) {
  std::string bytes;
  for (std::size_t i = 0; i + 1 < hex.size(); i += 2)
    bytes.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  return bytes;
}

// McGrew and Viega, "The Galois/Counter Mode of Operation (GCM)", the specification submitted
// to NIST for SP 800-38D, Appendix B: test cases 13–16 (AES-256, 96-bit IV).
struct GcmVector {
  const char* name;
  const char* key;
  const char* iv;
  const char* plaintext;
  const char* aad;
  const char* ciphertext;
  const char* tag;
};

const char kKey15[] = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
const char kIv15[] = "cafebabefacedbaddecaf888";

const GcmVector kGcmVectors[] = {
    {"test case 13", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"test case 14", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "00000000000000000000000000000000", "",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"test case 15", kKey15, kIv15,
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"test case 16", kKey15, kIv15,
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(Aes256Gcm, SpecificationVectors) {
  for (const GcmVector& v : kGcmVectors) {
    const std::string sealed =
        aes256_gcm_encrypt(unhex(v.key), unhex(v.iv), unhex(v.plaintext), unhex(v.aad));
    EXPECT_EQ(hex_encode(sealed), std::string(v.ciphertext) + v.tag) << v.name;
    EXPECT_EQ(aes256_gcm_decrypt(unhex(v.key), unhex(v.iv), sealed, unhex(v.aad)),
              std::optional<std::string>(unhex(v.plaintext)))
        << v.name;
  }
}

TEST(Aes256Gcm, WrongTagOrDataFails) {
  const GcmVector& v = kGcmVectors[3];
  const std::string key = unhex(v.key);
  const std::string iv = unhex(v.iv);
  const std::string sealed = unhex(std::string(v.ciphertext) + v.tag);
  EXPECT_FALSE(aes256_gcm_decrypt(key, iv, sealed, "").has_value());  // AAD missing
  std::string altered = sealed;
  altered.back() ^= 0x01;  // tag
  EXPECT_FALSE(aes256_gcm_decrypt(key, iv, altered, unhex(v.aad)).has_value());
  altered = sealed;
  altered[0] ^= 0x80;  // ciphertext
  EXPECT_FALSE(aes256_gcm_decrypt(key, iv, altered, unhex(v.aad)).has_value());
  EXPECT_FALSE(aes256_gcm_decrypt(key, iv, sealed.substr(0, 15), unhex(v.aad)).has_value());
  EXPECT_THROW(aes256_gcm_encrypt(key.substr(1), iv, "x", ""), Error);
  EXPECT_THROW(aes256_gcm_encrypt(key, iv + "x", "x", ""), Error);
}

const std::string kKey = unhex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
const std::string kUserA = "6f1d2c3b-4a59-4e7f-8a9b-0c1d2e3f4a5b";
const std::string kUserB = "0a1b2c3d-4e5f-4a6b-9c7d-8e9f0a1b2c3d";

TEST(SecretBox, SealOpenRoundTripAndFormat) {
  const SecretBox box(kKey);
  const std::string secret = random_bytes(20);
  const std::string sealed = box.seal(secret, kUserA);
  EXPECT_EQ(sealed.size(), SecretBox::kOverheadBytes + secret.size());
  EXPECT_EQ(static_cast<unsigned char>(sealed[0]), SecretBox::kVersion);
  EXPECT_EQ(sealed.find(secret), std::string::npos);
  EXPECT_EQ(box.open(sealed, kUserA), std::optional<std::string>(secret));
  // The documented layout: version ‖ nonce ‖ AES-256-GCM(ciphertext ‖ tag) with the version
  // byte authenticated ahead of the caller's associated data.
  const std::string nonce = sealed.substr(1, kGcmNonceBytes);
  const std::string body = sealed.substr(1 + kGcmNonceBytes);
  EXPECT_EQ(aes256_gcm_decrypt(kKey, nonce, body, '\x01' + kUserA),
            std::optional<std::string>(secret));
  EXPECT_FALSE(aes256_gcm_decrypt(kKey, nonce, body, kUserA).has_value());
  EXPECT_EQ(box.open(box.seal("", kUserA), kUserA), std::optional<std::string>(""));
  EXPECT_EQ(box.open(box.seal(secret)), std::optional<std::string>(secret));
}

TEST(SecretBox, NoncesAreFresh) {
  const SecretBox box(kKey);
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) seen.insert(box.seal("same secret", kUserA));
  EXPECT_EQ(seen.size(), 50u);
}

TEST(SecretBox, AnyTamperingFailsCleanly) {
  const SecretBox box(kKey);
  const std::string sealed = box.seal("JBSWY3DPEHPK3PXP-secret", kUserA);
  // Moved to another user's row, or opened without the user id.
  EXPECT_FALSE(box.open(sealed, kUserB).has_value());
  EXPECT_FALSE(box.open(sealed).has_value());
  // Another key.
  std::string other_key = kKey;
  other_key[0] ^= 1;
  EXPECT_FALSE(SecretBox(other_key).open(sealed, kUserA).has_value());
  // Every single bit flipped, in version, nonce, ciphertext and tag.
  for (std::size_t i = 0; i < sealed.size(); ++i)
    for (int bit = 0; bit < 8; ++bit) {
      std::string altered = sealed;
      altered[i] = static_cast<char>(altered[i] ^ (1 << bit));
      EXPECT_FALSE(box.open(altered, kUserA).has_value()) << "byte " << i << " bit " << bit;
    }
  // Truncated or extended at either end, and inputs too short to hold the overhead.
  for (std::size_t n = 0; n < sealed.size(); ++n) {
    EXPECT_FALSE(box.open(sealed.substr(0, n), kUserA).has_value()) << n;
    EXPECT_FALSE(box.open(sealed.substr(sealed.size() - n), kUserA).has_value()) << n;
  }
  EXPECT_FALSE(box.open(sealed + '\0', kUserA).has_value());
  // Still opens when untouched.
  EXPECT_TRUE(box.open(sealed, kUserA).has_value());
}

TEST(SecretBox, KeyMustBe32Bytes) {
  EXPECT_THROW(SecretBox(std::string(31, 'k')), Error);
  EXPECT_THROW(SecretBox(std::string(33, 'k')), Error);
  EXPECT_THROW(SecretBox(""), Error);
}

}  // namespace
}  // namespace pgfolio
