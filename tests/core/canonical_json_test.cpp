// RFC 8785 (JCS): the RFC's own examples (§3.2.2 to §3.2.4, Appendix B), then the edges of
// escaping, sorting and the I-JSON input rules the ledger's hashes depend on.
#include "canonical_json.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "digest.hpp"
#include "error.hpp"

namespace pgfolio {
namespace {

using nlohmann::json;

double from_bits(uint64_t bits) {
  double value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

void expect_refused(std::string_view text) {
  try {
    canonical_json_text(text);
    ADD_FAILURE() << "accepted: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::VALIDATION_ERROR) << text;
  }
}

// RFC 8785 §3.2.2: the sample input, and §3.2.3: its canonical form.
const char kRfcSample[] = R"({
  "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
  "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
  "literals": [null, true, false]
})";

TEST(CanonicalJson, RfcSampleCanonicalForm) {
  EXPECT_EQ(canonical_json_text(kRfcSample),
            "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,"
            "1e-27],\"string\":\"\xe2\x82\xac$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

TEST(CanonicalJson, RfcSampleUtf8Bytes) {
  // RFC 8785 §3.2.4, the same output as bytes.
  std::string expected =
      "7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72"
      "75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a"
      "5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31"
      "65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37"
      "5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30"
      "30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d";
  expected.erase(std::remove(expected.begin(), expected.end(), ' '), expected.end());
  EXPECT_EQ(hex_encode(canonical_json_text(kRfcSample)), expected);
}

TEST(CanonicalJson, RfcSortingExample) {
  // RFC 8785 §3.2.3: member names ordered by UTF-16 code units.
  const char input[] = R"({
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  })";
  EXPECT_EQ(canonical_json_text(input),
            "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\xc2\x80\":\"Control\","
            "\"\xc3\xb6\":\"Latin Small Letter O With Diaeresis\",\"\xe2\x82\xac\":\"Euro Sign\","
            "\"\xf0\x9f\x98\x80\":\"Emoji: Grinning Face\","
            "\"\xef\xac\xb3\":\"Hebrew Letter Dalet With Dagesh\"}");
}

TEST(CanonicalJson, Utf16OrderDiffersFromCodePointOrder) {
  // U+10000 is the surrogate pair D800 DC00, so it sorts before U+E000 (byte order would not).
  EXPECT_EQ(canonical_json_text(R"({"\ue000":1,"\ud800\udc00":2})"),
            "{\"\xf0\x90\x80\x80\":2,\"\xee\x80\x80\":1}");
  // The same from a value built in C++, whose own map keeps UTF-8 byte order.
  const json built = {{"\xee\x80\x80", 1}, {"\xf0\x90\x80\x80", 2}};
  EXPECT_EQ(canonical_json(built), "{\"\xf0\x90\x80\x80\":2,\"\xee\x80\x80\":1}");
}

TEST(CanonicalJson, RfcAppendixBNumbers) {
  // RFC 8785 Appendix B: IEEE-754 bit patterns and their serialisation.
  const std::pair<uint64_t, const char*> vectors[] = {
      {0x0000000000000000, "0"},
      {0x8000000000000000, "0"},
      {0x0000000000000001, "5e-324"},
      {0x8000000000000001, "-5e-324"},
      {0x7fefffffffffffff, "1.7976931348623157e+308"},
      {0xffefffffffffffff, "-1.7976931348623157e+308"},
      {0x4340000000000000, "9007199254740992"},
      {0xc340000000000000, "-9007199254740992"},
      {0x4430000000000000, "295147905179352830000"},
      {0x44b52d02c7e14af5, "9.999999999999997e+22"},
      {0x44b52d02c7e14af6, "1e+23"},
      {0x44b52d02c7e14af7, "1.0000000000000001e+23"},
      {0x444b1ae4d6e2ef4e, "999999999999999700000"},
      {0x444b1ae4d6e2ef4f, "999999999999999900000"},
      {0x444b1ae4d6e2ef50, "1e+21"},
      {0x3eb0c6f7a0b5ed8c, "9.999999999999997e-7"},
      {0x3eb0c6f7a0b5ed8d, "0.000001"},
      {0x41b3de4355555553, "333333333.3333332"},
      {0x41b3de4355555554, "333333333.33333325"},
      {0x41b3de4355555555, "333333333.3333333"},
      {0x41b3de4355555556, "333333333.3333334"},
      {0x41b3de4355555557, "333333333.33333343"},
      {0xbecbf647612f3696, "-0.0000033333333333333333"},
      {0x43143ff3c1cb0959, "1424953923781206.2"},
  };
  for (const auto& [bits, expected] : vectors) {
    EXPECT_EQ(ecmascript_number(from_bits(bits)), expected) << std::hex << bits;
    EXPECT_EQ(canonical_json(json(from_bits(bits))), expected) << std::hex << bits;
  }
  // Appendix B's two error rows: NaN and Infinity.
  EXPECT_THROW(ecmascript_number(from_bits(0x7fffffffffffffff)), Error);
  EXPECT_THROW(ecmascript_number(from_bits(0x7ff0000000000000)), Error);
  EXPECT_THROW(canonical_json(json(std::numeric_limits<double>::quiet_NaN())), Error);
  EXPECT_THROW(canonical_json(json(-std::numeric_limits<double>::infinity())), Error);
}

TEST(CanonicalJson, NumbersFromText) {
  // As written in JSON text, integers included: every number is read as a double.
  const std::pair<const char*, const char*> cases[] = {
      {"0", "0"},
      {"-0", "0"},
      {"-0.0", "0"},
      {"1e30", "1e+30"},
      {"1E30", "1e+30"},
      {"4.50", "4.5"},
      {"2e-3", "0.002"},
      {"0.000001", "0.000001"},
      {"1e-7", "1e-7"},
      {"-1e-7", "-1e-7"},
      {"1e21", "1e+21"},
      {"1e20", "100000000000000000000"},
      {"123456789012345680000", "123456789012345680000"},
      {"333333333.33333329", "333333333.3333333"},
      {"5e-324", "5e-324"},
      {"1.7976931348623157e308", "1.7976931348623157e+308"},
      {"9007199254740992", "9007199254740992"},
      {"9007199254740993", "9007199254740992"},
      {"-9223372036854775808", "-9223372036854776000"},
      {"18446744073709551615", "18446744073709552000"},
      {"100000000000000000000000", "1e+23"},
      {"1.5e-6", "0.0000015"},
      {"12.25", "12.25"},
      {"-42", "-42"},
  };
  for (const auto& [text, expected] : cases) {
    EXPECT_EQ(canonical_json_text(text), expected) << text;
  }
}

TEST(CanonicalJson, EscapesEveryControlCharacterAndNothingElse) {
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls.push_back(static_cast<char>(c));
  EXPECT_EQ(canonical_json(json(controls)),
            "\"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r"
            "\\u000e\\u000f\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018"
            "\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f\"");
  // Quote and backslash escaped; solidus, DEL, U+2028 and non-ASCII written as themselves.
  EXPECT_EQ(canonical_json_text(R"("\"\\\/\u007f\u2028\u00e9")"),
            "\"\\\"\\\\/\x7f\xe2\x80\xa8\xc3\xa9\"");
  // Member names are escaped the same way.
  EXPECT_EQ(canonical_json_text(R"({"a\u0001\n":0})"), "{\"a\\u0001\\n\":0}");
}

TEST(CanonicalJson, NestedValuesSortedAtEveryDepthArraysKeptInOrder) {
  EXPECT_EQ(canonical_json_text(R"( { "b" : [ 3, {"z":1,"a":[{"y":null,"x":true}]}, [] ],
                                       "a" : { } , "c": [ "q", "p" ] } )"),
            R"({"a":{},"b":[3,{"a":[{"x":true,"y":null}],"z":1},[]],"c":["q","p"]})");
  EXPECT_EQ(canonical_json_text("[]"), "[]");
  EXPECT_EQ(canonical_json_text(" \"text\" "), "\"text\"");
  EXPECT_EQ(canonical_json_text("null"), "null");
  // Prefix names sort first (a shorter name precedes its extensions).
  EXPECT_EQ(canonical_json_text(R"({"ab":1,"a":2,"":3})"), R"({"":3,"a":2,"ab":1})");
}

TEST(CanonicalJson, RefusesDuplicateNames) {
  expect_refused(R"({"a":1,"a":2})");
  expect_refused(R"({"a":1,"b":{"c":1,"c":1}})");
  expect_refused(R"([{"x":[{"k":0,"k":0}]}])");
  // The same name spelled two ways is still the same name.
  expect_refused(R"({"a":1,"\u0061":2})");
  // The same name in different objects is fine.
  EXPECT_EQ(canonical_json_text(R"([{"a":1},{"a":2}])"), R"([{"a":1},{"a":2}])");
  EXPECT_EQ(canonical_json_text(R"({"a":{"a":{"a":1}},"b":{"a":2}})"),
            R"({"a":{"a":{"a":1}},"b":{"a":2}})");
}

TEST(CanonicalJson, RefusesNumbersOutsideDoubles) {
  expect_refused("1e400");
  expect_refused("-1e400");
  // Below the smallest subnormal double is no error: ECMAScript reads it as 0, as RFC 8785's
  // reference does, and so do the text and the jsonb paths here.
  EXPECT_EQ(canonical_json_text("[1e-400,-2e-999]"), "[0,0]");
  EXPECT_EQ(ecmascript_number_text("1e-400"), "0");
  EXPECT_EQ(ecmascript_number_text("-0.0000e-500"), "0");
  EXPECT_EQ(ecmascript_number_text("0." + std::string(400, '0') + "1"), "0");  // numeric's form
  expect_refused("[1,2e999]");
  expect_refused("NaN");
  expect_refused("Infinity");
}

TEST(CanonicalJson, RefusesInvalidUtf8) {
  expect_refused("\"\xff\"");
  expect_refused("\"\xc0\xaf\"");          // overlong '/'
  expect_refused("\"\xed\xa0\x80\"");      // an encoded surrogate
  expect_refused("\"\xf4\x90\x80\x80\"");  // above U+10FFFF
  expect_refused("\"\xe2\x82\"");          // truncated
  expect_refused("{\"\xe2\x82\":1}");      // in a name
  expect_refused(R"("\ud800")");           // a lone surrogate escape
  expect_refused(R"({"\udc00x":1})");
  // A value built in C++ is checked too: nlohmann::json holds any bytes.
  EXPECT_THROW(canonical_json(json("\xc3")), Error);
  EXPECT_THROW(canonical_json(json{{"\x80", 1}}), Error);
}

TEST(CanonicalJson, RefusesWhatIsNotOneJsonText) {
  expect_refused("");
  expect_refused("{\"a\":1} {}");
  expect_refused("[1,]");
  expect_refused("{\"a\":1 /* no */}");
  expect_refused("'single'");
  expect_refused("01");
}

}  // namespace
}  // namespace pgfolio
