#include "digest.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <climits>
#include <memory>

#include "error.hpp"

namespace pgfolio {
namespace {

// string_view::data() may be null for an empty view; OpenSSL wants a valid pointer.
const unsigned char* bytes_of(std::string_view text) {
  static const unsigned char kEmpty = 0;
  return text.empty() ? &kEmpty : reinterpret_cast<const unsigned char*>(text.data());
}

const EVP_MD* message_digest(HashAlgorithm algorithm) {
  switch (algorithm) {
    case HashAlgorithm::Sha1:
      return EVP_sha1();
    case HashAlgorithm::Sha256:
      return EVP_sha256();
    case HashAlgorithm::Sha512:
      return EVP_sha512();
  }
  return EVP_sha256();
}

[[noreturn]] void openssl_failed(const char* what) {
  // Leave nothing in this thread's OpenSSL error queue for an unrelated later caller (libpq's
  // TLS code reads it) to misattribute.
  ERR_clear_error();
  throw Error(ErrorCode::INTERNAL_ERROR, std::string("OpenSSL ") + what + " failed");
}

// OpenSSL 3's one-shot SHA256() looks the implementation up in the default provider on every
// call (a lock and a hash-table search, ~0.5 µs): a third of the time it takes to hash a 1 KB
// ledger entry, and most of it for a 33-byte Merkle node. The implementation is fetched once
// and kept for the life of the process; it is never freed on purpose.
const EVP_MD* sha256_implementation() {
  static const EVP_MD* const kSha256 = [] {
    EVP_MD* fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    if (!fetched) openssl_failed("EVP_MD_fetch(SHA256)");
    return fetched;
  }();
  return kSha256;
}

struct DigestContextFree {
  void operator()(EVP_MD_CTX* context) const { EVP_MD_CTX_free(context); }
};

// A digest context per thread (pgfolio-http hashes on many threads), reinitialised for each
// message: the allocation is made once, not per hash.
EVP_MD_CTX* thread_digest_context() {
  thread_local std::unique_ptr<EVP_MD_CTX, DigestContextFree> context;
  if (!context) {
    context.reset(EVP_MD_CTX_new());
    if (!context) openssl_failed("EVP_MD_CTX_new");
  }
  return context.get();
}

}  // namespace

std::string sha256(std::string_view data) {
  EVP_MD_CTX* context = thread_digest_context();
  std::string digest(SHA256_DIGEST_LENGTH, '\0');
  unsigned int length = 0;
  if (EVP_DigestInit_ex2(context, sha256_implementation(), nullptr) != 1 ||
      EVP_DigestUpdate(context, bytes_of(data), data.size()) != 1 ||
      EVP_DigestFinal_ex(context, reinterpret_cast<unsigned char*>(digest.data()), &length) != 1 ||
      length != SHA256_DIGEST_LENGTH)
    openssl_failed("SHA-256");
  return digest;
}

std::string sha256_hex(std::string_view data) {
  return hex_encode(sha256(data));
}

std::string hex_encode(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char byte : bytes) {
    hex.push_back(kDigits[byte >> 4]);
    hex.push_back(kDigits[byte & 0x0f]);
  }
  return hex;
}

std::optional<std::string> hex_decode(std::string_view hex) {
  if (hex.size() % 2 != 0) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string bytes(hex.size() / 2, '\0');
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    const int high = nibble(hex[2 * i]), low = nibble(hex[2 * i + 1]);
    if (high < 0 || low < 0) return std::nullopt;
    bytes[i] = static_cast<char>(high << 4 | low);
  }
  return bytes;
}

std::string hmac(HashAlgorithm algorithm, std::string_view key, std::string_view data) {
  if (key.size() > INT_MAX) throw Error(ErrorCode::INTERNAL_ERROR, "HMAC key too long");
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (!HMAC(message_digest(algorithm), bytes_of(key), static_cast<int>(key.size()), bytes_of(data),
            data.size(), mac, &length))
    openssl_failed("HMAC");
  return std::string(reinterpret_cast<const char*>(mac), length);
}

bool constant_time_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(bytes_of(a), bytes_of(b), a.size()) == 0;
}

std::string random_bytes(std::size_t count) {
  std::string bytes(count, '\0');
  if (count == 0) return bytes;
  if (count > INT_MAX) throw Error(ErrorCode::INTERNAL_ERROR, "too many random bytes requested");
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(count)) != 1)
    openssl_failed("RAND_bytes");
  return bytes;
}

std::string random_digits(std::size_t count) {
  std::string digits;
  digits.reserve(count);
  while (digits.size() < count) {
    for (unsigned char byte : random_bytes(count - digits.size() + 8)) {
      // 250 is the largest multiple of 10 not above 256: bytes 250..255 would favour 0..5.
      if (byte >= 250) continue;
      digits.push_back(static_cast<char>('0' + byte % 10));
      if (digits.size() == count) break;
    }
  }
  return digits;
}

}  // namespace pgfolio
