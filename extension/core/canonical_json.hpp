// RFC 8785 JSON Canonicalization Scheme (JCS): the one byte form of a JSON value that the
// ledger hashes, so that any third party holding the same value derives the same bytes.
//
// The rules, all from RFC 8785 §3: the input must be I-JSON (RFC 7493: valid UTF-8, no
// duplicate member names, numbers that fit an IEEE-754 double); no whitespace; object members
// sorted by their names' UTF-16 code units, recursively, arrays kept in order; strings escaped
// as ECMAScript's JSON.stringify does (§3.2.2.2); numbers written as ECMAScript's
// Number.prototype.toString writes the double they denote (§3.2.2.3). Every number is a double
// here, integers included, so 9007199254740993 becomes 9007199254740992: that loss is why
// money and quantities travel as decimal strings.
//
// Anything that is not I-JSON is refused with Error(VALIDATION_ERROR) rather than guessed at.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace pgfolio {

// Canonical form of an already-built value. Throws on strings or names that are not valid
// UTF-8 and on non-finite numbers (a nlohmann::json can hold both; JSON text cannot).
std::string canonical_json(const nlohmann::json& value);

// Parses JSON text (strictly: one value, no comments, no trailing content) and returns its
// canonical form. Also refuses duplicate member names, which a parsed value can no longer show.
std::string canonical_json_text(std::string_view json_text);

// Parses JSON text strictly (one value, no comments, no trailing content, no duplicate member
// names); Error(VALIDATION_ERROR) otherwise.
nlohmann::json parse_json_strict(std::string_view json_text);

// Appends a string as RFC 8785 writes it (quotes and JCS escaping). Throws on invalid UTF-8.
void append_canonical_string(std::string& out, std::string_view text);

// RFC 8785 §3.2.3 member order: true when a sorts before b by UTF-16 code units. For valid
// UTF-8 (names are validated when written; this may throw on invalid text or may not).
bool utf16_less(std::string_view a, std::string_view b);

// The RFC 8785 form of a number given as JSON number text (as a database prints it, e.g.
// "4.50" -> "4.5", "1E30" -> "1e+30"): the double nearest it, written as ECMAScript does.
// Throws on text that is not a number or beyond the double range.
std::string ecmascript_number_text(std::string_view json_number);

// One number as ECMAScript's Number::toString writes it ("-0" is written "0"). Throws on NaN
// and infinities.
std::string ecmascript_number(double value);

}  // namespace pgfolio
