// Decoding and checking the text clients put in paths and query strings before it is
// handed to PostgreSQL: percent-decoding, and rejecting what PostgreSQL's text type cannot
// hold (NUL, invalid UTF-8) or what has no business in an identifier (control characters).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace pgfolio::http {

// Decodes %XX escapes (and '+' as a space when `plus_is_space`, as in query strings).
// nullopt when an escape is malformed.
std::optional<std::string> percent_decode(std::string_view text, bool plus_is_space);

bool is_valid_utf8(std::string_view text);

// Code points in `text`, which must be valid UTF-8.
size_t utf8_length(std::string_view text);

// Why `text` cannot be a parameter value, or nullopt when it can: valid UTF-8 without NUL
// or other control characters.
std::optional<std::string> parameter_text_problem(std::string_view text);

}  // namespace pgfolio::http
