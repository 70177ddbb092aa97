// Ed25519 signatures (RFC 8032 §5.1, "pure" Ed25519: the message itself is signed, no
// pre-hash) over OpenSSL 3's EVP interface. The ledger's witness signs Merkle checkpoints with
// a PrivateKey kept in its own configuration, never in the database; anyone holding the
// published PublicKey checks them (docs/ledger-format.md §3.2).
//
// Keys are read from the two text forms people exchange: PEM (PKCS#8 for a private key,
// SubjectPublicKeyInfo for a public key, as `openssl genpkey -algorithm ed25519` and
// `openssl pkey -pubout` write them) or 64 hex digits (the 32-byte seed or raw public key of
// RFC 8032). Byte strings are std::string holding raw bytes.
//
// Both key types are immutable after construction and cheap to copy (they share one OpenSSL
// key); their const members may be called from several threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

// OpenSSL's EVP_PKEY, declared as <openssl/types.h> does, so that callers need no OpenSSL
// header.
struct evp_pkey_st;

namespace pgfolio::ed25519 {

inline constexpr std::size_t kPublicKeySize = 32;
inline constexpr std::size_t kSeedSize = 32;
inline constexpr std::size_t kSignatureSize = 64;

class PublicKey {
 public:
  // A PEM SubjectPublicKeyInfo ("-----BEGIN PUBLIC KEY-----") or 64 hex digits, either case;
  // whitespace around it (a file's final newline) is ignored. Throws Error(VALIDATION_ERROR)
  // for anything else, including a PEM key of another algorithm.
  static PublicKey from_text(std::string_view text);
  // The 32 raw bytes; throws Error(VALIDATION_ERROR) for another length.
  static PublicKey from_raw(std::string_view raw);

  // The 32 raw bytes, and as 64 lowercase hex digits.
  const std::string& raw() const { return raw_; }
  std::string hex() const;
  // PEM SubjectPublicKeyInfo, ending in a newline.
  std::string pem() const;
  // Lowercase hex SHA-256 of the raw key: the keyId of docs/ledger-format.md §3.2.
  const std::string& key_id() const { return key_id_; }

  // True when `signature` is a valid Ed25519 signature of `message` by this key. False, never
  // an exception, for anything else: a signature that is not 64 bytes, a non-canonical one
  // (S not below the group order, which RFC 8032 §5.1.7 refuses), any mismatch.
  bool verify(std::string_view message, std::string_view signature) const;

 private:
  friend class PrivateKey;
  explicit PublicKey(std::shared_ptr<evp_pkey_st> key);

  std::shared_ptr<evp_pkey_st> key_;
  std::string raw_;
  std::string key_id_;
};

class PrivateKey {
 public:
  // A fresh key from OpenSSL's CSPRNG. Throws Error(INTERNAL_ERROR) if key generation fails.
  static PrivateKey generate();
  // A PEM PKCS#8 private key ("-----BEGIN PRIVATE KEY-----", unencrypted) or the 32-byte seed
  // as 64 hex digits, either case; surrounding whitespace is ignored. Throws
  // Error(VALIDATION_ERROR) for anything else; the message never quotes the text.
  static PrivateKey from_text(std::string_view text);
  // The 32-byte seed (RFC 8032 §5.1.5's private key); throws Error(VALIDATION_ERROR) for
  // another length.
  static PrivateKey from_seed(std::string_view seed);

  // PEM PKCS#8, unencrypted, ending in a newline: the form from_text reads back.
  std::string pem() const;
  const PublicKey& public_key() const { return public_key_; }

  // The 64-byte signature of `message` (deterministic: RFC 8032 derives the nonce from the key
  // and the message). Throws Error(INTERNAL_ERROR) if OpenSSL fails.
  std::string sign(std::string_view message) const;

 private:
  explicit PrivateKey(std::shared_ptr<evp_pkey_st> key);

  std::shared_ptr<evp_pkey_st> key_;
  PublicKey public_key_;
};

}  // namespace pgfolio::ed25519
