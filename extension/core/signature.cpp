#include "signature.hpp"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <climits>
#include <functional>
#include <optional>

#include "digest.hpp"
#include "error.hpp"

namespace pgfolio::ed25519 {
namespace {

using EvpKey = std::shared_ptr<evp_pkey_st>;

struct BioFree {
  void operator()(BIO* bio) const { BIO_free(bio); }
};
using Bio = std::unique_ptr<BIO, BioFree>;

struct MdCtxFree {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// Owns the key from the first moment, so that no early return or throw can leak it.
EvpKey own(EVP_PKEY* key) {
  return EvpKey(key, EVP_PKEY_free);
}

// string_view::data() may be null for an empty view; OpenSSL wants a valid pointer.
const unsigned char* bytes_of(std::string_view text) {
  static const unsigned char kEmpty = 0;
  return text.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(text.data());
}

// Failures leave reasons in this thread's OpenSSL error queue; clear it before throwing so
// that an unrelated later caller (libpq's TLS code reads it) does not misattribute them.
[[noreturn]] void openssl_failed(const char* what) {
  ERR_clear_error();
  throw Error(ErrorCode::INTERNAL_ERROR, std::string("OpenSSL ") + what + " failed");
}

[[noreturn]] void bad_key_text(const std::string& why) {
  ERR_clear_error();
  throw Error(ErrorCode::VALIDATION_ERROR, why);
}

std::string_view trimmed(std::string_view text) {
  static constexpr std::string_view kSpace = " \t\r\n";
  const std::size_t start = text.find_first_not_of(kSpace);
  if (start == std::string_view::npos) return {};
  return text.substr(start, text.find_last_not_of(kSpace) - start + 1);
}

bool is_pem(std::string_view text) {
  return text.substr(0, 11) == "-----BEGIN ";
}

// A memory BIO reading `text`; the BIO does not copy it, so it must outlive the BIO.
Bio reader(std::string_view text) {
  if (text.size() > INT_MAX) bad_key_text("key text too long");
  Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
  if (!bio) openssl_failed("BIO_new_mem_buf");
  return bio;
}

std::string written(const std::function<int(BIO*)>& write) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio) openssl_failed("BIO_new");
  if (write(bio.get()) != 1) openssl_failed("PEM_write");
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio.get(), &data);
  if (length < 0 || (length > 0 && data == nullptr)) openssl_failed("BIO_get_mem_data");
  return std::string(data, static_cast<std::size_t>(length));
}

// The password callback for PEM reading: an encrypted key is refused instead of OpenSSL's
// default of prompting on the terminal, which a server or a script must never do.
int no_password(char*, int, int, void*) {
  return -1;
}

EvpKey require_ed25519(EvpKey key, const char* what) {
  if (!EVP_PKEY_is_a(key.get(), "ED25519"))
    bad_key_text(std::string(what) + " is not an Ed25519 key");
  return key;
}

}  // namespace

PublicKey::PublicKey(std::shared_ptr<evp_pkey_st> key) : key_(std::move(key)) {
  unsigned char raw[kPublicKeySize];
  std::size_t length = sizeof raw;
  if (EVP_PKEY_get_raw_public_key(key_.get(), raw, &length) != 1 || length != kPublicKeySize)
    openssl_failed("EVP_PKEY_get_raw_public_key");
  raw_.assign(reinterpret_cast<const char*>(raw), length);
  key_id_ = sha256_hex(raw_);
}

PublicKey PublicKey::from_raw(std::string_view raw) {
  if (raw.size() != kPublicKeySize)
    throw Error(ErrorCode::VALIDATION_ERROR, "an Ed25519 public key is 32 bytes");
  EvpKey key =
      own(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_of(raw), raw.size()));
  if (!key) bad_key_text("not a valid Ed25519 public key");
  return PublicKey(std::move(key));
}

PublicKey PublicKey::from_text(std::string_view text) {
  text = trimmed(text);
  if (is_pem(text)) {
    Bio bio = reader(text);
    EvpKey key = own(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_password, nullptr));
    if (!key) bad_key_text("not a PEM public key (-----BEGIN PUBLIC KEY-----)");
    return PublicKey(require_ed25519(std::move(key), "the PEM public key"));
  }
  const std::optional<std::string> raw = hex_decode(text);
  if (!raw || raw->size() != kPublicKeySize)
    bad_key_text("an Ed25519 public key must be PEM or 64 hex digits");
  return from_raw(*raw);
}

std::string PublicKey::hex() const {
  return hex_encode(raw_);
}

std::string PublicKey::pem() const {
  return written([this](BIO* bio) { return PEM_write_bio_PUBKEY(bio, key_.get()); });
}

bool PublicKey::verify(std::string_view message, std::string_view signature) const {
  if (signature.size() != kSignatureSize) return false;
  MdCtx ctx(EVP_MD_CTX_new());
  // Ed25519 takes no digest (NULL): RFC 8032's pure variant hashes the message itself.
  const bool valid = ctx &&
                     EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) == 1 &&
                     EVP_DigestVerify(ctx.get(), bytes_of(signature), signature.size(),
                                      bytes_of(message), message.size()) == 1;
  // A refused signature is an answer, not an error: leave nothing behind in the queue.
  if (!valid) ERR_clear_error();
  return valid;
}

PrivateKey::PrivateKey(std::shared_ptr<evp_pkey_st> key)
    : key_(std::move(key)), public_key_(key_) {}

PrivateKey PrivateKey::generate() {
  EvpKey key = own(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (!key) openssl_failed("Ed25519 key generation");
  return PrivateKey(std::move(key));
}

PrivateKey PrivateKey::from_seed(std::string_view seed) {
  if (seed.size() != kSeedSize)
    throw Error(ErrorCode::VALIDATION_ERROR, "an Ed25519 private key (seed) is 32 bytes");
  EvpKey key =
      own(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, bytes_of(seed), seed.size()));
  if (!key) openssl_failed("EVP_PKEY_new_raw_private_key");
  return PrivateKey(std::move(key));
}

PrivateKey PrivateKey::from_text(std::string_view text) {
  text = trimmed(text);
  if (is_pem(text)) {
    if (text.substr(0, 26) == "-----BEGIN PUBLIC KEY-----")
      bad_key_text("this is a public key; a private key is needed here");
    Bio bio = reader(text);
    EvpKey key = own(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_password, nullptr));
    if (!key) bad_key_text("not an unencrypted PEM private key (-----BEGIN PRIVATE KEY-----)");
    return PrivateKey(require_ed25519(std::move(key), "the PEM private key"));
  }
  std::optional<std::string> seed = hex_decode(text);
  if (!seed || seed->size() != kSeedSize)
    bad_key_text("an Ed25519 private key must be PEM or 64 hex digits (its seed)");
  PrivateKey key = from_seed(*seed);
  OPENSSL_cleanse(seed->data(), seed->size());
  return key;
}

std::string PrivateKey::pem() const {
  return written([this](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key_.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
}

std::string PrivateKey::sign(std::string_view message) const {
  MdCtx ctx(EVP_MD_CTX_new());
  if (!ctx) openssl_failed("EVP_MD_CTX_new");
  if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1)
    openssl_failed("EVP_DigestSignInit");
  std::string signature(kSignatureSize, '\0');
  std::size_t length = signature.size();
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &length,
                     bytes_of(message), message.size()) != 1 ||
      length != kSignatureSize)
    openssl_failed("EVP_DigestSign");
  return signature;
}

}  // namespace pgfolio::ed25519
