// RFC 4648 encodings: base64 (§4), base64url (§5, unpadded, as JWS uses it) and base32 (§6,
// the form of TOTP secrets in otpauth URIs).
//
// The decoders are strict and answer std::nullopt for anything but the canonical encoding of
// some byte string: no characters outside the alphabet (no whitespace, no line breaks), no
// padding where the form has none, exact padding where it has one, and zero unused bits in
// the last character. A token therefore has exactly one accepted spelling, so a signed JWT
// cannot be altered into a second valid-looking form of itself.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgfolio {

// Standard alphabet, padded with '='. PostgreSQL's encode(…, 'base64') is this form, except
// that it breaks lines every 76 characters: strip the newlines before decoding.
std::string base64_encode(std::string_view bytes);
std::optional<std::string> base64_decode(std::string_view text);

// URL-safe alphabet ('-' and '_'), never padded.
std::string base64url_encode(std::string_view bytes);
std::optional<std::string> base64url_decode(std::string_view text);

// Upper-case alphabet A–Z 2–7. Encoding pads with '=' unless `padding` is false (otpauth URIs
// leave it out). Decoding accepts the unpadded form or the exactly padded one, upper case only.
std::string base32_encode(std::string_view bytes, bool padding = true);
std::optional<std::string> base32_decode(std::string_view text);

}  // namespace pgfolio
