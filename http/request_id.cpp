#include "request_id.hpp"

#include <openssl/rand.h>

#include <random>

namespace pgfolio::http {
namespace {

bool is_sane(const std::string& id) {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string generate_request_id() {
  unsigned char bytes[16];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    // Ids need to be unique, not secret: fall back to a per-thread PRNG.
    thread_local std::mt19937_64 fallback{std::random_device{}()};
    for (auto& byte : bytes) byte = static_cast<unsigned char>(fallback());
  }
  static const char* kHex = "0123456789abcdef";
  std::string id;
  for (unsigned char byte : bytes) {
    id += kHex[byte >> 4];
    id += kHex[byte & 0x0F];
  }
  return id;
}

std::string choose_request_id(const std::optional<std::string>& from_client) {
  if (from_client && is_sane(*from_client)) return *from_client;
  return generate_request_id();
}

}  // namespace pgfolio::http
