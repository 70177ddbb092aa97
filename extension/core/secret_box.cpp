#include "secret_box.hpp"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <climits>
#include <memory>

#include "digest.hpp"
#include "error.hpp"

namespace pgfolio {
namespace {

using CipherContext = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

[[noreturn]] void gcm_failed() {
  ERR_clear_error();
  throw Error(ErrorCode::INTERNAL_ERROR, "AES-256-GCM failed");
}

const unsigned char* bytes_of(std::string_view text) {
  return reinterpret_cast<const unsigned char*>(text.data());
}

// Starts an encryption or decryption context with key, nonce and associated data set.
CipherContext start(bool encrypt, std::string_view key, std::string_view nonce,
                    std::string_view associated_data) {
  if (key.size() != kAes256KeyBytes || nonce.size() != kGcmNonceBytes)
    throw Error(ErrorCode::INTERNAL_ERROR, "AES-256-GCM needs a 32-byte key and a 12-byte nonce");
  if (associated_data.size() > INT_MAX) gcm_failed();
  CipherContext ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx ||
      EVP_CipherInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr, encrypt) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(kGcmNonceBytes),
                          nullptr) != 1 ||
      EVP_CipherInit_ex(ctx.get(), nullptr, nullptr, bytes_of(key), bytes_of(nonce), encrypt) != 1)
    gcm_failed();
  int length = 0;
  if (!associated_data.empty() &&
      EVP_CipherUpdate(ctx.get(), nullptr, &length, bytes_of(associated_data),
                       static_cast<int>(associated_data.size())) != 1)
    gcm_failed();
  return ctx;
}

// Runs `input` through the context into `output` (same length: GCM is a stream mode).
void transform(EVP_CIPHER_CTX* ctx, std::string_view input, std::string& output) {
  output.resize(input.size());
  if (input.empty()) return;
  if (input.size() > INT_MAX) gcm_failed();
  int length = 0;
  if (EVP_CipherUpdate(ctx, reinterpret_cast<unsigned char*>(output.data()), &length,
                       bytes_of(input), static_cast<int>(input.size())) != 1 ||
      static_cast<std::size_t>(length) != input.size())
    gcm_failed();
}

}  // namespace

std::string aes256_gcm_encrypt(std::string_view key, std::string_view nonce,
                               std::string_view plaintext, std::string_view associated_data) {
  CipherContext ctx = start(true, key, nonce, associated_data);
  std::string out;
  transform(ctx.get(), plaintext, out);
  unsigned char final_block[16];
  int length = 0;
  if (EVP_EncryptFinal_ex(ctx.get(), final_block, &length) != 1 || length != 0) gcm_failed();
  unsigned char tag[kGcmTagBytes];
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kGcmTagBytes), tag) !=
      1)
    gcm_failed();
  out.append(reinterpret_cast<const char*>(tag), kGcmTagBytes);
  return out;
}

std::optional<std::string> aes256_gcm_decrypt(std::string_view key, std::string_view nonce,
                                              std::string_view ciphertext_and_tag,
                                              std::string_view associated_data) {
  CipherContext ctx = start(false, key, nonce, associated_data);
  if (ciphertext_and_tag.size() < kGcmTagBytes) return std::nullopt;
  const std::string_view ciphertext =
      ciphertext_and_tag.substr(0, ciphertext_and_tag.size() - kGcmTagBytes);
  std::string tag(ciphertext_and_tag.substr(ciphertext.size()));
  std::string out;
  transform(ctx.get(), ciphertext, out);
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kGcmTagBytes),
                          tag.data()) != 1)
    gcm_failed();
  unsigned char final_block[16];
  int length = 0;
  if (EVP_DecryptFinal_ex(ctx.get(), final_block, &length) != 1) {
    // A wrong tag: nothing decrypted may leave this function.
    ERR_clear_error();
    return std::nullopt;
  }
  return out;
}

SecretBox::SecretBox(std::string key) : key_(std::move(key)) {
  if (key_.size() != kAes256KeyBytes)
    throw Error(ErrorCode::INTERNAL_ERROR, "the secret-box key must be 32 bytes");
}

std::string SecretBox::seal(std::string_view plaintext, std::string_view associated_data) const {
  const std::string nonce = random_bytes(kGcmNonceBytes);
  std::string authenticated(1, static_cast<char>(kVersion));
  authenticated.append(associated_data);
  std::string sealed(1, static_cast<char>(kVersion));
  sealed += nonce;
  sealed += aes256_gcm_encrypt(key_, nonce, plaintext, authenticated);
  return sealed;
}

std::optional<std::string> SecretBox::open(std::string_view sealed,
                                           std::string_view associated_data) const {
  if (sealed.size() < kOverheadBytes || static_cast<unsigned char>(sealed[0]) != kVersion)
    return std::nullopt;
  std::string authenticated(1, static_cast<char>(kVersion));
  authenticated.append(associated_data);
  return aes256_gcm_decrypt(key_, sealed.substr(1, kGcmNonceBytes),
                            sealed.substr(1 + kGcmNonceBytes), authenticated);
}

}  // namespace pgfolio
