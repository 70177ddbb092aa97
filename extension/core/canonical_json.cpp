#include "canonical_json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "error.hpp"

namespace pgfolio {

namespace {

using nlohmann::json;

[[noreturn]] void refuse(const std::string& why) {
  throw Error(ErrorCode::VALIDATION_ERROR, "not canonicalisable JSON (RFC 8785): " + why);
}

// Decodes one code point of strict UTF-8 (no overlong forms, no surrogates, nothing above
// U+10FFFF) at text[i], advancing i. A string that fails here is not I-JSON.
uint32_t next_code_point(std::string_view text, size_t& i) {
  const auto lead = static_cast<unsigned char>(text[i]);
  uint32_t code = 0;
  size_t length = 0;
  uint32_t minimum = 0;
  if (lead < 0x80) {
    ++i;
    return lead;
  } else if ((lead & 0xE0) == 0xC0) {
    code = lead & 0x1F, length = 2, minimum = 0x80;
  } else if ((lead & 0xF0) == 0xE0) {
    code = lead & 0x0F, length = 3, minimum = 0x800;
  } else if ((lead & 0xF8) == 0xF0) {
    code = lead & 0x07, length = 4, minimum = 0x10000;
  } else {
    refuse("invalid UTF-8");
  }
  if (i + length > text.size()) refuse("invalid UTF-8");
  for (size_t j = 1; j < length; ++j) {
    const auto next = static_cast<unsigned char>(text[i + j]);
    if ((next & 0xC0) != 0x80) refuse("invalid UTF-8");
    code = (code << 6) | (next & 0x3F);
  }
  if (code < minimum || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) {
    refuse("invalid UTF-8");
  }
  i += length;
  return code;
}

// The first UTF-16 code unit of a code point, and the second (0 when there is none).
std::pair<char16_t, char16_t> utf16_units(uint32_t code) {
  if (code < 0x10000) return {static_cast<char16_t>(code), 0};
  code -= 0x10000;
  return {static_cast<char16_t>(0xD800 + (code >> 10)),
          static_cast<char16_t>(0xDC00 + (code & 0x3FF))};
}

// The escape of one ASCII character that JSON strings cannot hold as itself; nullptr for the
// others. RFC 8785 §3.2.2.2: the short escapes where JSON has one, \u00xx in lower-case hex for
// the other controls.
const char* escape_of(unsigned char c) {
  static const char* const kControls[0x20] = {
      "\\u0000", "\\u0001", "\\u0002", "\\u0003", "\\u0004", "\\u0005", "\\u0006", "\\u0007",
      "\\b",     "\\t",     "\\n",     "\\u000b", "\\f",     "\\r",     "\\u000e", "\\u000f",
      "\\u0010", "\\u0011", "\\u0012", "\\u0013", "\\u0014", "\\u0015", "\\u0016", "\\u0017",
      "\\u0018", "\\u0019", "\\u001a", "\\u001b", "\\u001c", "\\u001d", "\\u001e", "\\u001f"};
  if (c < 0x20) return kControls[c];
  if (c == '"') return "\\\"";
  if (c == '\\') return "\\\\";
  return nullptr;
}

// Every other character (including '/', DEL and non-ASCII) is written as itself, so the text
// goes out in runs between escapes; only non-ASCII bytes need decoding, to validate them.
void write_string(std::string_view text, std::string& out) {
  out.push_back('"');
  size_t run_start = 0;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      next_code_point(text, i);  // validation only
      continue;
    }
    if (const char* escape = escape_of(c)) {
      out.append(text.data() + run_start, i - run_start);
      out += escape;
      run_start = ++i;
      continue;
    }
    ++i;
  }
  out.append(text.data() + run_start, text.size() - run_start);
  out.push_back('"');
}

void write_value(const json& value, std::string& out) {
  switch (value.type()) {
    case json::value_t::null:
      out += "null";
      return;
    case json::value_t::boolean:
      out += value.get<bool>() ? "true" : "false";
      return;
    // RFC 8785 §3.2.2.3 knows only doubles: integers are converted (and may round) too.
    case json::value_t::number_integer:
      out += ecmascript_number(static_cast<double>(value.get<int64_t>()));
      return;
    case json::value_t::number_unsigned:
      out += ecmascript_number(static_cast<double>(value.get<uint64_t>()));
      return;
    case json::value_t::number_float:
      out += ecmascript_number(value.get<double>());
      return;
    case json::value_t::string:
      write_string(value.get_ref<const std::string&>(), out);
      return;
    case json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& element : value) {
        if (!first) out.push_back(',');
        first = false;
        write_value(element, out);
      }
      out.push_back(']');
      return;
    }
    case json::value_t::object: {
      // nlohmann keeps members in UTF-8 byte order, which differs from UTF-16 order for
      // characters above U+FFFF against U+E000..U+FFFF, so sort afresh.
      std::vector<json::const_iterator> members;
      members.reserve(value.size());
      for (auto it = value.cbegin(); it != value.cend(); ++it) members.push_back(it);
      std::sort(members.begin(), members.end(),
                [](const auto& a, const auto& b) { return utf16_less(a.key(), b.key()); });
      out.push_back('{');
      bool first = true;
      for (const auto& member : members) {
        if (!first) out.push_back(',');
        first = false;
        write_string(member.key(), out);
        out.push_back(':');
        write_value(member.value(), out);
      }
      out.push_back('}');
      return;
    }
    case json::value_t::binary:
      refuse("binary values have no JSON form");
    case json::value_t::discarded:
      refuse("discarded value");
  }
  refuse("unknown value type");
}

}  // namespace

void append_canonical_string(std::string& out, std::string_view text) {
  write_string(text, out);
}

bool utf16_less(std::string_view a, std::string_view b) {
  // UTF-8 byte order is code point order, which is UTF-16 order except where U+E000..U+FFFF
  // (lead bytes 0xEE, 0xEF) meets characters above U+FFFF (0xF0..0xF4, surrogates in UTF-16):
  // without those bytes a byte comparison is the answer.
  auto has_high_lead = [](std::string_view text) {
    for (const char c : text) {
      if (static_cast<unsigned char>(c) >= 0xEE) return true;
    }
    return false;
  };
  if (!has_high_lead(a) && !has_high_lead(b)) return a < b;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    const uint32_t x = next_code_point(a, i), y = next_code_point(b, j);
    if (x != y) return utf16_units(x) < utf16_units(y);
  }
  return i == a.size() && j < b.size();
}

std::string ecmascript_number_text(std::string_view json_number) {
  // Integers of up to 15 digits are doubles exactly and ECMAScript writes them as they are,
  // which spares the conversion for the common case.
  std::string_view digits = json_number;
  const bool negative = !digits.empty() && digits[0] == '-';
  if (negative) digits.remove_prefix(1);
  const bool plain_integer = !digits.empty() && digits.size() <= 15 &&
                             digits.find_first_not_of("0123456789") == std::string_view::npos &&
                             (digits[0] != '0' || digits.size() == 1);
  if (plain_integer) return digits == "0" ? "0" : std::string(json_number);
  double value = 0;
  const auto [end, error] =
      std::from_chars(json_number.data(), json_number.data() + json_number.size(), value);
  if (error == std::errc::result_out_of_range) {
    // from_chars says so for both ends and leaves the value alone; strtod (the C locale's,
    // which every pgfolio process keeps) tells them apart. Too small for a double is 0 to
    // ECMAScript, whose reading RFC 8785 follows; too large has no double at all.
    const double nearest = std::strtod(std::string(json_number).c_str(), nullptr);
    if (std::isinf(nearest)) refuse("a number beyond the range of a double");
    return ecmascript_number(nearest);
  }
  if (error != std::errc() || end != json_number.data() + json_number.size()) {
    refuse("not a JSON number: " + std::string(json_number.substr(0, 40)));
  }
  return ecmascript_number(value);
}

std::string ecmascript_number(double value) {
  if (!std::isfinite(value)) refuse("NaN and infinities are not JSON numbers");
  if (value == 0) return "0";  // both zeros: ECMAScript writes -0 as "0"
  std::string out;
  if (value < 0) {
    out.push_back('-');
    value = -value;
  }
  // to_chars without a precision gives the fewest digits that round-trip and, among those, the
  // ones nearest the value: the s and k that ECMA-262 Number::toString asks for. Only the
  // layout below is ECMAScript's own.
  char buffer[64];
  const auto result =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  const std::string_view text(buffer, static_cast<size_t>(result.ptr - buffer));
  const size_t e_at = text.find('e');
  std::string digits;  // s, k = digits.size()
  for (const char c : text.substr(0, e_at)) {
    if (c != '.') digits.push_back(c);
  }
  int exponent = 0;  // value = d.ddd × 10^exponent, so ECMAScript's n = exponent + 1
  std::from_chars(text.data() + e_at + 1 + (text[e_at + 1] == '+'), text.data() + text.size(),
                  exponent);
  const int k = static_cast<int>(digits.size());
  const int n = exponent + 1;
  if (k <= n && n <= 21) {
    out += digits;
    out.append(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out.append(digits, 0, static_cast<size_t>(n));
    out.push_back('.');
    out.append(digits, static_cast<size_t>(n), std::string::npos);
  } else if (-6 < n && n <= 0) {
    out += "0.";
    out.append(static_cast<size_t>(-n), '0');
    out += digits;
  } else {
    out.push_back(digits[0]);
    if (k > 1) {
      out.push_back('.');
      out.append(digits, 1, std::string::npos);
    }
    out.push_back('e');
    out.push_back(n - 1 < 0 ? '-' : '+');
    out += std::to_string(std::abs(n - 1));
  }
  return out;
}

std::string canonical_json(const json& value) {
  std::string out;
  write_value(value, out);
  return out;
}

json parse_json_strict(std::string_view json_text) {
  // A parsed object has already lost its duplicate names (the last one wins), so they are
  // caught while parsing: one set of seen names per object being read.
  std::vector<std::set<std::string>> open_objects;
  const json::parser_callback_t watch_names = [&open_objects](int, json::parse_event_t event,
                                                              json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case json::parse_event_t::object_end:
        open_objects.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open_objects.back().insert(parsed.get<std::string>()).second) {
          refuse("duplicate member name");
        }
        break;
      default:
        break;
    }
    return true;
  };
  try {
    return json::parse(json_text.begin(), json_text.end(), watch_names);
  } catch (const json::exception& e) {
    refuse(e.what());
  }
}

std::string canonical_json_text(std::string_view json_text) {
  return canonical_json(parse_json_strict(json_text));
}

}  // namespace pgfolio
