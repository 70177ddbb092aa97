#include "jsonb_json.hpp"

#include <cerrno>
#include <cstdlib>
#include <string>
#include <vector>

#include "error.hpp"

namespace pgfolio::pg {
namespace {

using nlohmann::json;

// One token of the jsonb iterator, its text (strings, keys, numbers as numeric_out prints
// them) kept in a shared buffer so that the guarded walk owns nothing itself.
struct Token {
  JsonbIteratorToken kind;
  JsonbValue value;  // type and, for booleans, the value; strings point into `text`
  std::size_t offset = 0;
  std::size_t length = 0;
};

json number_from_text(const std::string& text) {
  const bool integral = text.find_first_of(".eE") == std::string::npos;
  if (integral) {
    errno = 0;
    char* end = nullptr;
    if (text[0] == '-') {
      const long long value = std::strtoll(text.c_str(), &end, 10);
      if (errno == 0 && *end == '\0') return json(static_cast<std::int64_t>(value));
    } else {
      const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
      if (errno == 0 && *end == '\0') return json(static_cast<std::uint64_t>(value));
    }
  }
  // strtod rounds correctly to nearest, which is how ECMAScript reads a JSON number.
  return json(std::strtod(text.c_str(), nullptr));
}

class Builder {
 public:
  Builder(const std::vector<Token>& tokens, const std::string& text)
      : tokens_(tokens), text_(text) {}

  json build() {
    json value = next();
    return value;
  }

 private:
  json scalar(const Token& token) {
    switch (token.value.type) {
      case jbvNull:
        return json(nullptr);
      case jbvBool:
        return json(token.value.val.boolean);
      case jbvString:
        return json(text_.substr(token.offset, token.length));
      case jbvNumeric:
        return number_from_text(text_.substr(token.offset, token.length));
      default:
        throw Error(ErrorCode::INTERNAL_ERROR, "unexpected jsonb scalar type");
    }
  }

  json next() {
    const Token& token = tokens_.at(position_++);
    switch (token.kind) {
      case WJB_BEGIN_ARRAY: {
        // A raw scalar is stored as a one-element array flagged rawScalar.
        const bool raw_scalar = token.value.val.array.rawScalar;
        json array = json::array();
        while (tokens_.at(position_).kind != WJB_END_ARRAY) array.push_back(next());
        ++position_;
        return raw_scalar ? array.at(0) : array;
      }
      case WJB_BEGIN_OBJECT: {
        json object = json::object();
        while (tokens_.at(position_).kind != WJB_END_OBJECT) {
          const Token& key = tokens_.at(position_++);
          object[text_.substr(key.offset, key.length)] = next();
        }
        ++position_;
        return object;
      }
      case WJB_ELEM:
      case WJB_VALUE:
        return scalar(token);
      default:
        throw Error(ErrorCode::INTERNAL_ERROR, "unexpected jsonb token");
    }
  }

  const std::vector<Token>& tokens_;
  const std::string& text_;
  std::size_t position_ = 0;
};

}  // namespace

json jsonb_to_json(Datum jsonb) {
  std::vector<Token> tokens;
  std::string text;
  tokens.reserve(64);
  // One guarded walk: its frame owns no C++ objects; it only appends to the two above, which
  // live in this frame and survive a PostgreSQL error.
  pg_guard([&] {
    Jsonb* value = DatumGetJsonbP(jsonb);
    JsonbIterator* iterator = JsonbIteratorInit(&value->root);
    JsonbValue current;
    JsonbIteratorToken kind;
    while ((kind = JsonbIteratorNext(&iterator, &current, false)) != WJB_DONE) {
      Token token{kind, current, 0, 0};
      if ((kind == WJB_KEY || kind == WJB_VALUE || kind == WJB_ELEM)) {
        token.offset = text.size();
        if (current.type == jbvString) {
          text.append(current.val.string.val, current.val.string.len);
        } else if (current.type == jbvNumeric) {
          char* digits = DatumGetCString(
              DirectFunctionCall1(numeric_out, NumericGetDatum(current.val.numeric)));
          text.append(digits);
          pfree(digits);
        }
        token.length = text.size() - token.offset;
      }
      tokens.push_back(token);
    }
  });
  return Builder(tokens, text).build();
}

}  // namespace pgfolio::pg
