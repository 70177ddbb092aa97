// nlohmann/json (through canonical_json.hpp) before PostgreSQL's headers, whose port.h turns
// snprintf into a macro.
#include "canonical_json.hpp"

#include "jsonb_canonical.hpp"

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "convert.hpp"
#include "error.hpp"
#include "ledger_entry.hpp"

namespace pgfolio::pg {
namespace {

class Writer {
 public:
  Writer(JsonNumbers numbers, const char* field) : numbers_(numbers), field_(field) {}

  // One container (object, array, or the array that wraps a top-level scalar). Nested
  // containers arrive as jbvBinary values (the iterator is told to skip into none) and are
  // written by recursion, depth bounded by jsonb's own nesting limit.
  void container(JsonbContainer* container, std::string& out) {
    JsonbIterator* iterator = pg_guard([&] { return JsonbIteratorInit(container); });
    JsonbValue value;
    JsonbIteratorToken token = next(&iterator, &value);
    if (token == WJB_BEGIN_ARRAY) {
      const bool raw_scalar = value.val.array.rawScalar;
      if (!raw_scalar) out.push_back('[');
      bool first = true;
      while ((token = next(&iterator, &value)) == WJB_ELEM) {
        if (!first) out.push_back(',');
        first = false;
        write_value(value, out);
      }
      if (!raw_scalar) out.push_back(']');
    } else {
      // Members in RFC 8785 order: jsonb keeps them by length, then bytes.
      std::vector<std::pair<std::string_view, std::string>> members;
      while ((token = next(&iterator, &value)) == WJB_KEY) {
        std::string_view name(value.val.string.val, static_cast<size_t>(value.val.string.len));
        next(&iterator, &value);  // WJB_VALUE
        std::string text;
        write_value(value, text);
        members.emplace_back(name, std::move(text));
      }
      std::sort(members.begin(), members.end(),
                [](const auto& a, const auto& b) { return utf16_less(a.first, b.first); });
      out.push_back('{');
      bool first = true;
      for (const auto& [name, text] : members) {
        if (!first) out.push_back(',');
        first = false;
        append_canonical_string(out, name);
        out.push_back(':');
        out += text;
      }
      out.push_back('}');
    }
    // Drain to WJB_DONE so the iterator frees itself.
    while (token != WJB_DONE) token = next(&iterator, &value);
  }

 private:
  static JsonbIteratorToken next(JsonbIterator** iterator, JsonbValue* value) {
    return pg_guard([&] { return JsonbIteratorNext(iterator, value, true); });
  }

  void write_value(const JsonbValue& value, std::string& out) {
    switch (value.type) {
      case jbvBinary:
        container(value.val.binary.data, out);
        return;
      case jbvNull:
        out += "null";
        return;
      case jbvBool:
        out += value.val.boolean ? "true" : "false";
        return;
      case jbvString:
        append_canonical_string(
            out, std::string_view(value.val.string.val, static_cast<size_t>(value.val.string.len)));
        return;
      case jbvNumeric:
        write_number(value.val.numeric, out);
        return;
      default:
        throw Error(ErrorCode::INTERNAL_ERROR, "unexpected jsonb value type");
    }
  }

  void write_number(Numeric numeric, std::string& out) {
    const std::string digits = numeric_to_string(NumericGetDatum(numeric));
    if (numbers_ == JsonNumbers::kExactIntegers) {
      write_exact_integer(digits, out);
    } else {
      out += ecmascript_number_text(digits);
    }
  }

  void write_exact_integer(std::string_view digits, std::string& out) {
    const std::string_view magnitude = digits.substr(digits[0] == '-' ? 1 : 0);
    static constexpr std::string_view kLimit = "9007199254740992";  // 2^53
    const bool integer = magnitude.find_first_not_of("0123456789") == std::string_view::npos;
    const bool in_range = magnitude.size() < kLimit.size() ||
                          (magnitude.size() == kLimit.size() && magnitude <= kLimit);
    if (!integer || !in_range) {
      throw Error(ErrorCode::VALIDATION_ERROR,
                  std::string("ledger entry field ") + field_ +
                      " holds a number that is not an integer up to 2^53; write it as a "
                      "decimal string",
                  std::string(R"({"field":")") + field_ + R"("})");
    }
    out += digits;
  }

  JsonNumbers numbers_;
  const char* field_;
};

}  // namespace

std::string jsonb_canonical(Datum jsonb, JsonNumbers numbers, const char* field) {
  Jsonb* value = pg_guard([&] { return DatumGetJsonbP(jsonb); });
  std::string out;
  Writer(numbers, field).container(&value->root, out);
  // A detoasted copy (short varlena headers are widened by a copy too) is freed at once:
  // ledger_verify calls this for millions of values in one memory context.
  if (reinterpret_cast<Pointer>(value) != DatumGetPointer(jsonb)) pfree(value);
  return out;
}

}  // namespace pgfolio::pg
