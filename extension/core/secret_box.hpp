// Authenticated encryption of small secrets at rest (TOTP secrets), with AES-256-GCM under a
// key that only pgfolio-http holds: the database stores the sealed bytes and can neither read
// them nor alter them unnoticed.
//
// Sealed format (version 1): version byte 0x01 ‖ 96-bit random nonce ‖ ciphertext ‖ 128-bit
// tag. The authenticated data is the version byte followed by the caller's associated data.
// Pass the owning user's id as associated data: a ciphertext copied onto another user's row
// then fails to open, and so does one whose version byte was changed.
//
// Random 96-bit nonces are safe for up to 2^32 messages under one key (NIST SP 800-38D §8.3);
// one per MFA enrolment is far below that.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pgfolio {

inline constexpr std::size_t kAes256KeyBytes = 32;
inline constexpr std::size_t kGcmNonceBytes = 12;
inline constexpr std::size_t kGcmTagBytes = 16;

// The primitive, exposed for known-answer tests: AES-256-GCM with a 12-byte nonce. encrypt
// returns ciphertext ‖ tag; decrypt returns nullopt unless the tag verifies. Both throw
// pgfolio::Error (INTERNAL_ERROR) for a wrong key or nonce length or an OpenSSL failure.
std::string aes256_gcm_encrypt(std::string_view key, std::string_view nonce,
                               std::string_view plaintext, std::string_view associated_data);
std::optional<std::string> aes256_gcm_decrypt(std::string_view key, std::string_view nonce,
                                              std::string_view ciphertext_and_tag,
                                              std::string_view associated_data);

class SecretBox {
 public:
  static constexpr unsigned char kVersion = 1;
  // 1 + 12 + 16: the sealed size of an empty plaintext.
  static constexpr std::size_t kOverheadBytes = 1 + kGcmNonceBytes + kGcmTagBytes;

  // `key` is 32 raw bytes; anything else throws pgfolio::Error (INTERNAL_ERROR).
  explicit SecretBox(std::string key);

  std::string seal(std::string_view plaintext, std::string_view associated_data = {}) const;

  // The plaintext, or nullopt when the input is too short, has an unknown version, or was
  // sealed under another key or associated data, or altered in any byte.
  std::optional<std::string> open(std::string_view sealed,
                                  std::string_view associated_data = {}) const;

 private:
  std::string key_;
};

}  // namespace pgfolio
