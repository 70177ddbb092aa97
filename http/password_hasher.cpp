#include "password_hasher.hpp"

#include <argon2.h>

#include <optional>
#include <stdexcept>

#include "digest.hpp"
#include "error.hpp"

namespace pgfolio::http {
namespace {

constexpr std::size_t kSaltBytes = 16;
constexpr std::size_t kHashBytes = 32;

// Sanity limits, for configuration and for hashes read back from the database alike.
constexpr std::uint32_t kMaxMemoryKib = 1u << 20;  // 1 GiB
constexpr std::uint32_t kMaxIterations = 64;
constexpr std::uint32_t kMaxParallelism = 64;

// OWASP Password Storage Cheat Sheet, Argon2id: the cheapest of its equivalent settings is
// 7 MiB with t=5; memory × iterations of every listed pair is at least 7168 × 5.
constexpr std::uint32_t kMinMemoryKib = 7168;
constexpr std::uint64_t kMinMemoryTimesIterations = 7168ull * 5;

bool within_limits(const Argon2Parameters& p) {
  return p.memory_kib <= kMaxMemoryKib && p.iterations >= 1 && p.iterations <= kMaxIterations &&
         p.parallelism >= 1 && p.parallelism <= kMaxParallelism &&
         p.memory_kib >= 8 * p.parallelism;  // libargon2's own lower bound
}

// Reads a decimal uint32 at `pos`, advancing it; nullopt without digits or on overflow.
std::optional<std::uint32_t> read_number(std::string_view text, std::size_t& pos) {
  std::uint64_t value = 0;
  const std::size_t start = pos;
  while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
    value = value * 10 + static_cast<std::uint64_t>(text[pos] - '0');
    if (value > 0xffffffffull) return std::nullopt;
    ++pos;
  }
  if (pos == start) return std::nullopt;
  return static_cast<std::uint32_t>(value);
}

bool expect(std::string_view text, std::size_t& pos, std::string_view literal) {
  if (text.substr(pos, literal.size()) != literal) return false;
  pos += literal.size();
  return true;
}

// The parameters of "$argon2id$v=19$m=…,t=…,p=…$…"; nullopt for anything else, including the
// other Argon2 variants and versions.
std::optional<Argon2Parameters> encoded_parameters(std::string_view encoded) {
  std::size_t pos = 0;
  Argon2Parameters p;
  if (!expect(encoded, pos, "$argon2id$v=19$m=")) return std::nullopt;
  auto m = read_number(encoded, pos);
  if (!m || !expect(encoded, pos, ",t=")) return std::nullopt;
  auto t = read_number(encoded, pos);
  if (!t || !expect(encoded, pos, ",p=")) return std::nullopt;
  auto par = read_number(encoded, pos);
  if (!par || !expect(encoded, pos, "$")) return std::nullopt;
  p.memory_kib = *m;
  p.iterations = *t;
  p.parallelism = *par;
  return p;
}

std::size_t count_characters(std::string_view utf8) {
  std::size_t count = 0;
  for (unsigned char c : utf8)
    if ((c & 0xc0) != 0x80) ++count;
  return count;
}

// string_view::data() may be null for an empty view; libargon2 wants a valid pointer.
const char* bytes_of(std::string_view text) {
  return text.empty() ? "" : text.data();
}

std::string hash_with(const Argon2Parameters& p, std::string_view password) {
  const std::string salt = random_bytes(kSaltBytes);
  std::string encoded(argon2_encodedlen(p.iterations, p.memory_kib, p.parallelism, kSaltBytes,
                                        kHashBytes, Argon2_id),
                      '\0');
  const int status = argon2id_hash_encoded(p.iterations, p.memory_kib, p.parallelism,
                                           bytes_of(password), password.size(), salt.data(),
                                           salt.size(), kHashBytes, encoded.data(), encoded.size());
  if (status != ARGON2_OK)
    throw Error(ErrorCode::INTERNAL_ERROR,
                std::string("Argon2id hashing failed: ") + argon2_error_message(status));
  encoded.resize(encoded.find('\0'));
  return encoded;
}

}  // namespace

PasswordHasher::PasswordHasher(Argon2Parameters parameters) : parameters_(parameters) {
  if (!within_limits(parameters_))
    throw std::invalid_argument("Argon2id parameters out of range (m <= 1048576 KiB, 1 <= t <= " +
                                std::to_string(kMaxIterations) +
                                ", 1 <= p <= " + std::to_string(kMaxParallelism) + ", m >= 8p)");
  if (parameters_.memory_kib < kMinMemoryKib ||
      std::uint64_t{parameters_.memory_kib} * parameters_.iterations < kMinMemoryTimesIterations)
    throw std::invalid_argument(
        "Argon2id parameters below OWASP's minimum (e.g. m=19456 KiB with t=2, or m=7168 with "
        "t=5)");
  // The dummy is a hash of a random password nobody knows, so verify_dummy can never succeed.
  dummy_hash_ = hash_with(parameters_, hex_encode(random_bytes(16)));
}

std::string PasswordHasher::hash(std::string_view password) const {
  if (password.size() > kMaxPasswordBytes)
    throw Error(ErrorCode::VALIDATION_ERROR,
                "password must be at most " + std::to_string(kMaxPasswordBytes) + " bytes",
                R"({"field":"password"})");
  if (count_characters(password) < kMinPasswordCharacters)
    throw Error(
        ErrorCode::VALIDATION_ERROR,
        "password must have at least " + std::to_string(kMinPasswordCharacters) + " characters",
        R"({"field":"password"})");
  return hash_with(parameters_, password);
}

bool PasswordHasher::verify(std::string_view encoded, std::string_view password) const {
  if (password.size() > kMaxPasswordBytes) return false;
  const std::optional<Argon2Parameters> stored = encoded_parameters(encoded);
  if (!stored || !within_limits(*stored)) return false;
  // libargon2 reads a C string: an embedded NUL would make it check a prefix only.
  if (encoded.find('\0') != std::string_view::npos) return false;
  const std::string terminated(encoded);
  return argon2id_verify(terminated.c_str(), bytes_of(password), password.size()) == ARGON2_OK;
}

bool PasswordHasher::verify_dummy(std::string_view password) const {
  verify(dummy_hash_, password);
  return false;
}

bool PasswordHasher::needs_rehash(std::string_view encoded) const {
  const std::optional<Argon2Parameters> stored = encoded_parameters(encoded);
  return !stored || stored->memory_kib != parameters_.memory_kib ||
         stored->iterations != parameters_.iterations ||
         stored->parallelism != parameters_.parallelism;
}

}  // namespace pgfolio::http
