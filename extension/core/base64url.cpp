#include "base64url.hpp"

#include <array>
#include <cstdint>

namespace pgfolio {
namespace {

enum class Padding { None, Required, Optional };

// One RFC 4648 alphabet: each character carries `bits` bits; a padded encoding is a whole
// number of `group` characters.
struct Alphabet {
  std::string_view chars;
  int bits;
  std::size_t group;
};

constexpr Alphabet kBase64{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", 6,
                           4};
constexpr Alphabet kBase64Url{"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", 6,
                              4};
constexpr Alphabet kBase32{"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 5, 8};

std::string encode(const Alphabet& alphabet, std::string_view bytes, bool pad) {
  const std::uint32_t mask = (1u << alphabet.bits) - 1;
  std::string text;
  text.reserve((bytes.size() * 8 + alphabet.bits - 1) / alphabet.bits + alphabet.group);
  std::uint32_t buffer = 0;
  int buffered = 0;
  for (unsigned char byte : bytes) {
    buffer = (buffer << 8) | byte;
    buffered += 8;
    while (buffered >= alphabet.bits) {
      buffered -= alphabet.bits;
      text.push_back(alphabet.chars[(buffer >> buffered) & mask]);
    }
    buffer &= (1u << buffered) - 1;
  }
  if (buffered > 0) text.push_back(alphabet.chars[(buffer << (alphabet.bits - buffered)) & mask]);
  if (pad)
    while (text.size() % alphabet.group != 0) text.push_back('=');
  return text;
}

std::optional<std::string> decode(const Alphabet& alphabet, std::string_view text,
                                  Padding padding) {
  std::size_t padded = 0;
  while (padded < text.size() && text[text.size() - 1 - padded] == '=') ++padded;
  const std::string_view data = text.substr(0, text.size() - padded);
  const std::size_t remainder = data.size() % alphabet.group;
  // A trailing partial group is canonical only if it is exactly what encoding its whole bytes
  // produces (e.g. base64 never ends with a lone character: 6 bits make no byte).
  const std::size_t tail_bytes = remainder * alphabet.bits / 8;
  if (remainder != (tail_bytes * 8 + alphabet.bits - 1) / alphabet.bits) return std::nullopt;
  const std::size_t expected_padding = remainder == 0 ? 0 : alphabet.group - remainder;
  switch (padding) {
    case Padding::None:
      if (padded != 0) return std::nullopt;
      break;
    case Padding::Required:
      if (padded != expected_padding) return std::nullopt;
      break;
    case Padding::Optional:
      if (padded != 0 && padded != expected_padding) return std::nullopt;
      break;
  }

  std::array<int, 256> value;
  value.fill(-1);
  for (std::size_t i = 0; i < alphabet.chars.size(); ++i)
    value[static_cast<unsigned char>(alphabet.chars[i])] = static_cast<int>(i);

  std::string bytes;
  bytes.reserve(data.size() * alphabet.bits / 8);
  std::uint32_t buffer = 0;
  int buffered = 0;
  for (char c : data) {
    const int v = value[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    buffer = (buffer << alphabet.bits) | static_cast<std::uint32_t>(v);
    buffered += alphabet.bits;
    if (buffered >= 8) {
      buffered -= 8;
      bytes.push_back(static_cast<char>((buffer >> buffered) & 0xff));
    }
    buffer &= (1u << buffered) - 1;
  }
  // Unused low bits of the last character must be zero, or two spellings would decode alike.
  if (buffer != 0) return std::nullopt;
  return bytes;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
  return encode(kBase64, bytes, true);
}

std::optional<std::string> base64_decode(std::string_view text) {
  return decode(kBase64, text, Padding::Required);
}

std::string base64url_encode(std::string_view bytes) {
  return encode(kBase64Url, bytes, false);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  return decode(kBase64Url, text, Padding::None);
}

std::string base32_encode(std::string_view bytes, bool padding) {
  return encode(kBase32, bytes, padding);
}

std::optional<std::string> base32_decode(std::string_view text) {
  return decode(kBase32, text, Padding::Optional);
}

}  // namespace pgfolio
