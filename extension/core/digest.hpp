// Hashes, MACs and randomness over OpenSSL for the authentication code.
//
// Byte strings are std::string holding arbitrary bytes (NUL included), as OpenSSL sees them.
// SHA-256 as lowercase hex is the form in which SQL stores every presented secret (refresh
// tokens, MFA challenges, one-time tokens; docs/auth.md), so that the secret itself never
// reaches SQL text, parameters or logs.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace pgfolio {

enum class HashAlgorithm { Sha1, Sha256, Sha512 };

// The 32 raw bytes of SHA-256(data).
std::string sha256(std::string_view data);

// SHA-256(data) as 64 lowercase hex digits.
std::string sha256_hex(std::string_view data);

// Lowercase hex of arbitrary bytes.
std::string hex_encode(std::string_view bytes);

// The bytes of an even number of hex digits (either case); std::nullopt for anything else.
std::optional<std::string> hex_decode(std::string_view hex);

// HMAC(key, data) with the given hash; the raw MAC (20, 32 or 64 bytes).
std::string hmac(HashAlgorithm algorithm, std::string_view key, std::string_view data);

// True when a and b hold the same bytes. For equal lengths the time taken does not depend on
// where they differ, so comparing a presented MAC or code with the expected one leaks nothing
// about the expected value. Different lengths return false at once: lengths are public.
bool constant_time_equal(std::string_view a, std::string_view b);

// `count` bytes from OpenSSL's CSPRNG (RAND_bytes). Throws pgfolio::Error (INTERNAL_ERROR) if
// the generator fails, rather than ever returning predictable bytes.
std::string random_bytes(std::size_t count);

// `count` uniformly distributed decimal digits from the CSPRNG (rejection sampling, so no
// digit is more likely than another), e.g. for one-time codes.
std::string random_digits(std::size_t count);

}  // namespace pgfolio
