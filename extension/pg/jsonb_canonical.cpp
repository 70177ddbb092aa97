// nlohmann/json (through canonical_json.hpp) before PostgreSQL's headers, whose port.h turns
// snprintf into a macro.
#include "canonical_json.hpp"

#include "jsonb_canonical.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "error.hpp"

namespace pgfolio::pg {
namespace {

// One token of a jsonb value, as its iterator gives them (nested containers inline). Strings,
// keys and numbers (numeric_out's text) are kept in one shared text buffer.
struct Token {
  JsonbIteratorToken kind;
  jbvType type;  // scalars
  bool flag;     // a boolean's value; for WJB_BEGIN_ARRAY, the wrapper of a top-level scalar
  std::size_t offset;
  std::size_t length;
  std::size_t end;  // for WJB_BEGIN_*: the index of the matching WJB_END_*
};

// Reused from value to value: ledger_verify canonicalises three jsonb values per entry.
struct Scratch {
  std::vector<Token> tokens;
  std::string text;
  std::vector<std::size_t> open;  // indexes of the containers being read
};
Scratch scratch;

// Reads every token in one guarded walk. The walk's own frame owns no C++ object; it appends
// to the scratch buffers, which live outside it and survive a PostgreSQL error.
void read_tokens(Jsonb* value) {
  scratch.tokens.clear();
  scratch.text.clear();
  scratch.open.clear();
  pg_guard([&] {
    JsonbIterator* iterator = JsonbIteratorInit(&value->root);
    JsonbValue current;
    JsonbIteratorToken kind;
    while ((kind = JsonbIteratorNext(&iterator, &current, false)) != WJB_DONE) {
      Token token{kind, current.type, false, scratch.text.size(), 0, 0};
      switch (kind) {
        case WJB_BEGIN_ARRAY:
          token.flag = current.val.array.rawScalar;
          scratch.open.push_back(scratch.tokens.size());
          break;
        case WJB_BEGIN_OBJECT:
          scratch.open.push_back(scratch.tokens.size());
          break;
        case WJB_END_ARRAY:
        case WJB_END_OBJECT:
          scratch.tokens[scratch.open.back()].end = scratch.tokens.size();
          scratch.open.pop_back();
          break;
        default:  // WJB_KEY, WJB_VALUE, WJB_ELEM: scalars
          if (current.type == jbvString) {
            scratch.text.append(current.val.string.val, current.val.string.len);
          } else if (current.type == jbvNumeric) {
            char* digits = DatumGetCString(
                DirectFunctionCall1(numeric_out, NumericGetDatum(current.val.numeric)));
            scratch.text.append(digits);
            pfree(digits);
          } else if (current.type == jbvBool) {
            token.flag = current.val.boolean;
          }
          token.length = scratch.text.size() - token.offset;
      }
      scratch.tokens.push_back(token);
    }
  });
}

class Writer {
 public:
  Writer(JsonNumbers numbers, const char* field, std::string& out)
      : numbers_(numbers), field_(field), out_(out) {}

  // Writes the value starting at token i; returns the index of the token after it.
  std::size_t value(std::size_t i) {
    const Token& token = scratch.tokens[i];
    if (token.kind == WJB_BEGIN_ARRAY) {
      if (token.flag) {  // a top-level scalar, wrapped
        scalar(scratch.tokens[i + 1]);
        return token.end + 1;
      }
      out_.push_back('[');
      for (std::size_t j = i + 1; j < token.end;) {
        if (j > i + 1) out_.push_back(',');
        j = value(j);
      }
      out_.push_back(']');
      return token.end + 1;
    }
    if (token.kind == WJB_BEGIN_OBJECT) return object(i);
    scalar(token);
    return i + 1;
  }

 private:
  std::string_view text_of(const Token& token) const {
    return std::string_view(scratch.text).substr(token.offset, token.length);
  }

  // Members in RFC 8785 order (jsonb keeps them by length, then bytes), each written straight
  // from its tokens.
  std::size_t object(std::size_t i) {
    const std::size_t end = scratch.tokens[i].end;
    std::vector<std::size_t> keys;  // the WJB_KEY tokens; the value follows each
    for (std::size_t j = i + 1; j < end;) {
      keys.push_back(j);
      const Token& next = scratch.tokens[j + 1];
      j = (next.kind == WJB_BEGIN_ARRAY || next.kind == WJB_BEGIN_OBJECT) ? next.end + 1 : j + 2;
    }
    std::sort(keys.begin(), keys.end(), [this](std::size_t a, std::size_t b) {
      return utf16_less(text_of(scratch.tokens[a]), text_of(scratch.tokens[b]));
    });
    out_.push_back('{');
    bool first = true;
    for (const std::size_t key : keys) {
      if (!first) out_.push_back(',');
      first = false;
      append_canonical_string(out_, text_of(scratch.tokens[key]));
      out_.push_back(':');
      value(key + 1);
    }
    out_.push_back('}');
    return end + 1;
  }

  void scalar(const Token& token) {
    switch (token.type) {
      case jbvNull:
        out_ += "null";
        return;
      case jbvBool:
        out_ += token.flag ? "true" : "false";
        return;
      case jbvString:
        append_canonical_string(out_, text_of(token));
        return;
      case jbvNumeric:
        number(text_of(token));
        return;
      default:
        throw Error(ErrorCode::INTERNAL_ERROR, "unexpected jsonb value type");
    }
  }

  void number(std::string_view digits) {
    if (numbers_ == JsonNumbers::kEcmascript) {
      out_ += ecmascript_number_text(digits);
      return;
    }
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
    out_ += digits;
  }

  JsonNumbers numbers_;
  const char* field_;
  std::string& out_;
};

}  // namespace

std::string jsonb_canonical(Datum jsonb, JsonNumbers numbers, const char* field) {
  Jsonb* value = pg_guard([&] { return DatumGetJsonbP(jsonb); });
  read_tokens(value);
  // A detoasted copy (short varlena headers are widened by a copy too) is freed at once:
  // ledger_verify calls this for millions of values in one memory context.
  if (reinterpret_cast<Pointer>(value) != DatumGetPointer(jsonb)) pfree(value);
  std::string out;
  out.reserve(scratch.text.size() + 8 * scratch.tokens.size());
  Writer(numbers, field, out).value(0);
  return out;
}

}  // namespace pgfolio::pg
