// Decimal: unit tests for the exact rules, then a randomised differential test against
// PostgreSQL's numeric (run whenever PGFOLIO_TEST_DSN names a server).
#include "decimal.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "error.hpp"
#include "wide_int.hpp"

namespace pgfolio {
namespace {

Decimal D(std::string_view text) {
  return Decimal::parse(text);
}

// Runs `statement`, which must throw pgfolio::Error with `expected_code`; returns the message
// (empty when it did not throw as expected) so a test can check what it names.
#define EXPECT_DECIMAL_ERROR(statement, expected_code)                            \
  [&]() -> std::string {                                                          \
    try {                                                                         \
      statement;                                                                  \
      ADD_FAILURE() << #statement " did not throw";                               \
    } catch (const Error& error) {                                                \
      EXPECT_EQ(error.code(), expected_code) << #statement ": " << error.what();  \
      return error.what();                                                        \
    } catch (const std::exception& error) {                                       \
      ADD_FAILURE() << #statement " threw a non-pgfolio error: " << error.what(); \
    }                                                                             \
    return std::string();                                                         \
  }()

constexpr ErrorCode kInvalid = ErrorCode::VALIDATION_ERROR;
constexpr ErrorCode kOverflow = ErrorCode::NUMERIC_OVERFLOW;
constexpr std::array<Rounding, 6> kAllRoundings = {Rounding::HalfEven, Rounding::HalfUp,
                                                   Rounding::Down,     Rounding::Up,
                                                   Rounding::Floor,    Rounding::Ceiling};
const char* name(Rounding rounding) {
  static constexpr const char* kNames[] = {"HalfEven", "HalfUp", "Down", "Up", "Floor", "Ceiling"};
  return kNames[static_cast<int>(rounding)];
}

__int128 pow10(int n) {
  __int128 value = 1;
  while (n-- > 0) value *= 10;
  return value;
}
const __int128 kMaxCoefficient = pow10(38) - 1;
const std::string k38Nines(38, '9');

// ---- Parsing and printing ----------------------------------------------------------------

TEST(DecimalText, RoundTripsCanonicalText) {
  for (const char* text :
       {"0", "1", "-1", "12.34", "-12.3400", "0.05", "-0.05", "0.000000000000000001",
        "-0.000000000000000001", "18446744073709551615", "18446744073709551616",
        "12345678901234567890123456789012345678", "-99999999999999999999999999999999999999",
        "99999999999999999999.999999999999999999", "0.999999999999999999", "100", "10.10",
        "9223372036854775807"}) {
    EXPECT_EQ(D(text).to_string(), text);
  }
}

TEST(DecimalText, KeepsScaleAndCoefficient) {
  const Decimal d = D("-12.3400");
  EXPECT_EQ(d.coefficient(), -123400);
  EXPECT_EQ(d.scale(), 4);
  EXPECT_EQ(d.sign(), -1);
  EXPECT_EQ(D("0.00").scale(), 2);
  EXPECT_TRUE(D("0.00").is_zero());
  EXPECT_EQ(D(k38Nines).coefficient(), kMaxCoefficient);
  EXPECT_EQ(Decimal().to_string(), "0");
  EXPECT_EQ(Decimal().scale(), 0);
}

TEST(DecimalText, AcceptsOtherSpellings) {
  const std::pair<const char*, const char*> cases[] = {
      {"+1.5", "1.5"},
      {"-0", "0"},
      {"+0", "0"},
      {"-0.00", "0.00"},
      {".5", "0.5"},
      {"-.5", "-0.5"},
      {"5.", "5"},
      {"007.50", "7.50"},
      {"0000000000000000000000000000000000000000001", "1"},  // leading zeros are free
      {"1.000000000000000000000", "1.000000000000000000"},   // zeros past 18 decimals drop
      {"1.0000000000000000000000000000000000000000000000", "1.000000000000000000"},
      {"0.000000000000000000000000", "0.000000000000000000"},
      {"-0.0000000000000000000000", "0.000000000000000000"},
      {"99999999999999999999.9999999999999999990000", "99999999999999999999.999999999999999999"},
  };
  for (const auto& [text, expected] : cases) EXPECT_EQ(D(text).to_string(), expected) << text;
}

TEST(DecimalText, ParsesExponents) {
  const std::pair<const char*, const char*> cases[] = {
      {"1.5e3", "1500"},
      {"1.5E3", "1500"},
      {"1.5e+3", "1500"},
      {"15e-1", "1.5"},
      {"1.50e1", "15.0"},  // scale = decimals written − exponent, as numeric_in does
      {"-2.5e-3", "-0.0025"},
      {"1e0", "1"},
      {"1e-0", "1"},
      {"0e5", "0"},
      {"0.00e1", "0.0"},
      {"0e-30", "0.000000000000000000"},
      {"0e999999999999999999999", "0"},
      {"0e-999999999999999999999", "0.000000000000000000"},
      {"1e18", "1000000000000000000"},
      {"1e37", "10000000000000000000000000000000000000"},
      {"1e-18", "0.000000000000000001"},
      {"10e-19", "0.000000000000000001"},
      {"100e-20", "0.000000000000000001"},
      {"1000e-21", "0.000000000000000001"},
      {"9.9999999999999999999999999999999999999e37", k38Nines.c_str()},
      {"123.456e-15", "0.000000000000123456"},
      {"5.e2", "500"},
      {".5e1", "5"},
  };
  for (const auto& [text, expected] : cases) EXPECT_EQ(D(text).to_string(), expected) << text;
}

TEST(DecimalText, RejectsMalformedText) {
  using namespace std::string_literals;
  for (const std::string& text :
       {""s,    "+"s,        "-"s,        "."s,         "-."s,    "e5"s,  ".e5"s,  "1e"s,
        "1e+"s, "1e-"s,      "1.2.3"s,    "1..2"s,      " 1"s,    "1 "s,  "\t1"s,  "1\n"s,
        "NaN"s, "nan"s,      "Infinity"s, "-Infinity"s, "inf"s,   "1,5"s, "0x10"s, "--1"s,
        "+-1"s, "-+1"s,      "1e1.5"s,    "1e5e5"s,     "1_000"s, "12a"s, "a12"s,  "1d5"s,
        "1f"s,  "\xd9\xa1"s, "1\0"s,      "\0"s,        "1e 5"s,  "- 1"s, "１"s}) {
    EXPECT_DECIMAL_ERROR(D(text), kInvalid);
  }
}

TEST(DecimalText, ErrorMessagesNameTheInput) {
  EXPECT_EQ(EXPECT_DECIMAL_ERROR(D("12a"), kInvalid), "invalid decimal \"12a\"");
  EXPECT_EQ(EXPECT_DECIMAL_ERROR(D(""), kInvalid), "invalid decimal \"\"");
  // Control bytes and quotes are escaped and very long text is cut, so a message stays one
  // readable line.
  EXPECT_EQ(EXPECT_DECIMAL_ERROR(D("1\n\"x"), kInvalid), "invalid decimal \"1\\x0a\\x22x\"");
  const std::string long_text(1000, 'z');
  const std::string message = EXPECT_DECIMAL_ERROR(D(long_text), kInvalid);
  EXPECT_LT(message.size(), 100u);
  EXPECT_NE(message.find("zzz...\""), std::string::npos) << message;
}

TEST(DecimalText, RejectsValuesThatDoNotFit) {
  // 39 significant digits.
  EXPECT_NE(EXPECT_DECIMAL_ERROR(D("100000000000000000000000000000000000000"), kOverflow)
                .find("more than 38 significant digits"),
            std::string::npos);
  EXPECT_DECIMAL_ERROR(D("-100000000000000000000000000000000000000"), kOverflow);
  EXPECT_DECIMAL_ERROR(D("1234567890123456789012345678901234567890"), kOverflow);
  EXPECT_DECIMAL_ERROR(D("1e38"), kOverflow);
  EXPECT_DECIMAL_ERROR(D("1e99999999999999999999999"), kOverflow);
  // A trailing zero inside the kept scale is a digit the coefficient must hold.
  EXPECT_DECIMAL_ERROR(D(k38Nines + ".0"), kOverflow);
  EXPECT_DECIMAL_ERROR(D("1000000000000000000000.000000000000000000"), kOverflow);

  const std::string message = EXPECT_DECIMAL_ERROR(D("0.1234567890123456789"), kOverflow);
  EXPECT_EQ(message, "decimal \"0.1234567890123456789\" has more than 18 decimal places");
  EXPECT_DECIMAL_ERROR(D("0.0000000000000000001"), kOverflow);
  EXPECT_DECIMAL_ERROR(D("0.00000000000000000010"), kOverflow);
  EXPECT_DECIMAL_ERROR(D("1e-19"), kOverflow);
  EXPECT_DECIMAL_ERROR(D("1.5e-18"), kOverflow);
  EXPECT_DECIMAL_ERROR(D("1e-99999999999999999999"), kOverflow);
  // Syntax is judged before size.
  EXPECT_DECIMAL_ERROR(D("1234567890123456789012345678901234567890x"), kInvalid);
  EXPECT_DECIMAL_ERROR(D("0.1234567890123456789x"), kInvalid);
}

TEST(DecimalText, FromCoefficientAndInt) {
  EXPECT_EQ(Decimal::from_coefficient(12345, 2).to_string(), "123.45");
  EXPECT_EQ(Decimal::from_coefficient(-5, 18).to_string(), "-0.000000000000000005");
  EXPECT_EQ(Decimal::from_coefficient(0, 3).to_string(), "0.000");
  EXPECT_EQ(Decimal::from_coefficient(kMaxCoefficient, 0).to_string(), k38Nines);
  EXPECT_EQ(Decimal::from_coefficient(-kMaxCoefficient, 18).to_string(),
            "-" + k38Nines.substr(0, 20) + "." + k38Nines.substr(0, 18));
  EXPECT_DECIMAL_ERROR(Decimal::from_coefficient(kMaxCoefficient + 1, 0), kOverflow);
  EXPECT_DECIMAL_ERROR(Decimal::from_coefficient(-kMaxCoefficient - 1, 0), kOverflow);
  const __int128 most_negative = std::numeric_limits<__int128>::min();
  EXPECT_EQ(EXPECT_DECIMAL_ERROR(Decimal::from_coefficient(most_negative, 0), kOverflow),
            "decimal coefficient -170141183460469231731687303715884105728 is out of range "
            "(more than 38 significant digits)");
  EXPECT_DECIMAL_ERROR(Decimal::from_coefficient(1, -1), kInvalid);
  EXPECT_DECIMAL_ERROR(Decimal::from_coefficient(1, 19), kInvalid);

  EXPECT_EQ(Decimal::from_int(0).to_string(), "0");
  EXPECT_EQ(Decimal::from_int(std::numeric_limits<std::int64_t>::min()).to_string(),
            "-9223372036854775808");
  EXPECT_EQ(Decimal::from_int(std::numeric_limits<std::int64_t>::max()).to_string(),
            "9223372036854775807");
}

// ---- Rounding ----------------------------------------------------------------------------

struct RoundingCase {
  const char* input;
  int scale;
  // Expected for HalfEven, HalfUp, Down, Up, Floor, Ceiling.
  std::array<const char*, 6> expected;
};

TEST(DecimalRounding, RescaleEveryModeOnTiesAndNonTies) {
  const RoundingCase cases[] = {
      {"2.5", 0, {"2", "3", "2", "3", "2", "3"}},
      {"3.5", 0, {"4", "4", "3", "4", "3", "4"}},
      {"-2.5", 0, {"-2", "-3", "-2", "-3", "-3", "-2"}},
      {"-3.5", 0, {"-4", "-4", "-3", "-4", "-4", "-3"}},
      {"2.4", 0, {"2", "2", "2", "3", "2", "3"}},
      {"2.6", 0, {"3", "3", "2", "3", "2", "3"}},
      {"-2.4", 0, {"-2", "-2", "-2", "-3", "-3", "-2"}},
      {"-2.6", 0, {"-3", "-3", "-2", "-3", "-3", "-2"}},
      {"0.4", 0, {"0", "0", "0", "1", "0", "1"}},
      {"-0.4", 0, {"0", "0", "0", "-1", "-1", "0"}},  // never "-0"
      {"0.5", 0, {"0", "1", "0", "1", "0", "1"}},
      {"-0.5", 0, {"0", "-1", "0", "-1", "-1", "0"}},
      {"1.25", 1, {"1.2", "1.3", "1.2", "1.3", "1.2", "1.3"}},
      {"1.35", 1, {"1.4", "1.4", "1.3", "1.4", "1.3", "1.4"}},
      {"1.2500001", 1, {"1.3", "1.3", "1.2", "1.3", "1.2", "1.3"}},
      {"1.2499999", 1, {"1.2", "1.2", "1.2", "1.3", "1.2", "1.3"}},
      {"-1.250000000000000001", 1, {"-1.3", "-1.3", "-1.2", "-1.3", "-1.3", "-1.2"}},
      {"-1.249999999999999999", 1, {"-1.2", "-1.2", "-1.2", "-1.3", "-1.3", "-1.2"}},
      {"7", 0, {"7", "7", "7", "7", "7", "7"}},
      {"-7.000", 0, {"-7", "-7", "-7", "-7", "-7", "-7"}},
      {"0.000000000000000005",
       17,
       {"0.00000000000000000", "0.00000000000000001", "0.00000000000000000", "0.00000000000000001",
        "0.00000000000000000", "0.00000000000000001"}},
      {"99999999999999999999.999999999999999999",
       0,
       {"100000000000000000000", "100000000000000000000", "99999999999999999999",
        "100000000000000000000", "99999999999999999999", "100000000000000000000"}},
      {"-9999999999999999999999999999999999999.5",
       0,
       {"-10000000000000000000000000000000000000", "-10000000000000000000000000000000000000",
        "-9999999999999999999999999999999999999", "-10000000000000000000000000000000000000",
        "-10000000000000000000000000000000000000", "-9999999999999999999999999999999999999"}},
      // Beyond 2^64, so the 128-bit division path.
      {"1844674407370955161.65",
       1,
       {"1844674407370955161.6", "1844674407370955161.7", "1844674407370955161.6",
        "1844674407370955161.7", "1844674407370955161.6", "1844674407370955161.7"}},
  };
  for (const RoundingCase& c : cases) {
    for (std::size_t m = 0; m < kAllRoundings.size(); ++m) {
      const Decimal result = D(c.input).rescale(c.scale, kAllRoundings[m]);
      EXPECT_EQ(result.to_string(), c.expected[m]) << c.input << " " << name(kAllRoundings[m]);
      EXPECT_EQ(result.scale(), c.scale);
    }
  }
  EXPECT_EQ(D("2.5").rescale(0).to_string(), "2");  // half-even is the default
}

TEST(DecimalRounding, RescaleUp) {
  EXPECT_EQ(D("1.5").rescale(4).to_string(), "1.5000");
  EXPECT_EQ(D("-1.5").rescale(18).to_string(), "-1.500000000000000000");
  EXPECT_EQ(D("0").rescale(3).to_string(), "0.000");
  EXPECT_EQ(D("99999999999999999999").rescale(18).to_string(),
            "99999999999999999999.000000000000000000");
  EXPECT_DECIMAL_ERROR(D("100000000000000000000").rescale(18), kOverflow);
  EXPECT_DECIMAL_ERROR(D(k38Nines).rescale(1), kOverflow);
  EXPECT_DECIMAL_ERROR(D("-" + k38Nines).rescale(18), kOverflow);  // would pass 2^128
  EXPECT_DECIMAL_ERROR(D("1").rescale(19), kInvalid);
  EXPECT_DECIMAL_ERROR(D("1").rescale(-1), kInvalid);
}

// ---- Arithmetic --------------------------------------------------------------------------

TEST(DecimalArithmetic, AddAndSubtractAtTheLargerScale) {
  EXPECT_EQ((D("1.5") + D("2.25")).to_string(), "3.75");
  EXPECT_EQ((D("2.25") + D("1.5")).to_string(), "3.75");
  EXPECT_EQ((D("1") - D("0.001")).to_string(), "0.999");
  EXPECT_EQ((D("5") - D("0.25")).to_string(), "4.75");
  EXPECT_EQ((D("0.25") - D("5")).to_string(), "-4.75");
  EXPECT_EQ((D("-1.5") + D("1.50")).to_string(), "0.00");
  EXPECT_EQ((D("-1.5") - D("-1.5")).to_string(), "0.0");
  EXPECT_EQ((D("0.1") + D("0.2")).to_string(), "0.3");
  EXPECT_EQ((D("1e-18") + D("1")).to_string(), "1.000000000000000001");
  EXPECT_EQ((D(k38Nines) - D("1")).to_string(), "99999999999999999999999999999999999998");
  EXPECT_EQ((D(k38Nines) + D("-" + k38Nines)).to_string(), "0");

  Decimal total;
  total += D("0.10");
  total += D("0.20");
  total -= D("0.05");
  EXPECT_EQ(total.to_string(), "0.25");
}

TEST(DecimalArithmetic, AddAlignsPastTwoToThe127) {
  // 1.8e20 at scale 18 is 1.8e38 > 2^127 before the other operand brings it back in range.
  EXPECT_EQ(
      (D("180000000000000000000") + D("-99999999999999999999.999999999999999999")).to_string(),
      "80000000000000000000.000000000000000001");
  EXPECT_EQ(
      (D("-99999999999999999999.999999999999999999") + D("180000000000000000000")).to_string(),
      "80000000000000000000.000000000000000001");
  EXPECT_EQ(
      (D("-180000000000000000000") - D("-99999999999999999999.999999999999999999")).to_string(),
      "-80000000000000000000.000000000000000001");
  EXPECT_EQ((D("99999999999999999999.999999999999999999") - D("180000000000000000000")).to_string(),
            "-80000000000000000000.000000000000000001");
  // Past 2^128 nothing can bring it back.
  EXPECT_DECIMAL_ERROR(D("400000000000000000000") - D("1.000000000000000000"), kOverflow);
}

TEST(DecimalArithmetic, AddOverflowAtTheBoundary) {
  EXPECT_DECIMAL_ERROR(D(k38Nines) + D("1"), kOverflow);
  EXPECT_DECIMAL_ERROR(D("-" + k38Nines) - D("1"), kOverflow);
  EXPECT_DECIMAL_ERROR(D(k38Nines) + D(k38Nines), kOverflow);  // wraps __int128 too
  EXPECT_DECIMAL_ERROR(D("-" + k38Nines) - D(k38Nines), kOverflow);
  EXPECT_DECIMAL_ERROR(D("-" + k38Nines) + D("-" + k38Nines), kOverflow);
  EXPECT_DECIMAL_ERROR(D("100000000000000000000") + D("0.000000000000000001"), kOverflow);
  EXPECT_DECIMAL_ERROR(D("99999999999999999999.999999999999999999") + D("0.000000000000000001"),
                       kOverflow);
  EXPECT_EQ((D("99999999999999999999.999999999999999998") + D("0.000000000000000001")).to_string(),
            "99999999999999999999.999999999999999999");
  const std::string message = EXPECT_DECIMAL_ERROR(D(k38Nines) + D("1"), kOverflow);
  EXPECT_EQ(message, "decimal result of " + k38Nines +
                         " + 1 is out of range (more than 38 significant digits)");
}

TEST(DecimalArithmetic, MultiplyExact) {
  EXPECT_EQ((D("1.5") * D("2.25")).to_string(), "3.375");
  EXPECT_EQ((D("-0.5") * D("0.5")).to_string(), "-0.25");
  EXPECT_EQ((D("-0.5") * D("-0.5")).to_string(), "0.25");
  EXPECT_EQ((D("0.00") * D("-5")).to_string(), "0.00");
  EXPECT_EQ((D("-0.000000001") * D("0")).to_string(), "0.000000000");
  EXPECT_EQ((D("123.456") * D("1000")).to_string(), "123456.000");
  EXPECT_EQ((D("0.000000001") * D("0.000000001")).to_string(), "0.000000000000000001");
  // (10^19 − 1)(10^19 + 1) = 10^38 − 1: the largest coefficient, from two 64-bit operands.
  EXPECT_EQ((D("9999999999999999999") * D("10000000000000000001")).to_string(), k38Nines);
  EXPECT_DECIMAL_ERROR(D("10000000000000000000") * D("10000000000000000000"), kOverflow);
  EXPECT_DECIMAL_ERROR(D("-10000000000000000000") * D("10000000000000000000"), kOverflow);
  // Operands beyond 64 bits take the 256-bit path.
  EXPECT_EQ((D("123456789012345678901") * D("100000000000000000")).to_string(),
            "12345678901234567890100000000000000000");
  EXPECT_DECIMAL_ERROR(D("123456789012345678901") * D("1000000000000000000"), kOverflow);
  EXPECT_DECIMAL_ERROR(D(k38Nines) * D(k38Nines), kOverflow);
  EXPECT_DECIMAL_ERROR(D(k38Nines) * D("-2"), kOverflow);
  EXPECT_EQ((D("-" + k38Nines) * D("1")).to_string(), "-" + k38Nines);

  Decimal price = D("19.99");
  price *= D("3");
  EXPECT_EQ(price.to_string(), "59.97");
}

TEST(DecimalArithmetic, MultiplyRoundsHalfEvenAtMaxScale) {
  EXPECT_EQ((D("0.0000000001") * D("0.0000000001")).to_string(), "0.000000000000000000");
  EXPECT_EQ((D("0.000000001") * D("0.0000000005")).to_string(), "0.000000000000000000");  // tie
  EXPECT_EQ((D("0.000000001") * D("0.0000000015")).to_string(), "0.000000000000000002");  // tie
  EXPECT_EQ((D("0.000000001") * D("0.0000000025")).to_string(), "0.000000000000000002");  // tie
  EXPECT_EQ((D("0.000000001") * D("0.0000000026")).to_string(), "0.000000000000000003");
  EXPECT_EQ((D("-0.000000001") * D("0.0000000015")).to_string(), "-0.000000000000000002");
  EXPECT_EQ((D("-0.000000001") * D("0.0000000025")).to_string(), "-0.000000000000000002");
  EXPECT_EQ((D("-0.000000001") * D("-0.0000000035")).to_string(), "0.000000000000000004");
  EXPECT_EQ((D("-0.000000001") * D("0.0000000005")).to_string(), "0.000000000000000000");
  EXPECT_EQ((D("1.000000000000000001") * D("1.000000000000000001")).to_string(),
            "1.000000000000000002");
  EXPECT_EQ((D("0.333333333333333333") * D("3.000000000000000000")).scale(), 18);
  EXPECT_EQ((D("0.5") * D("0.000000000000000001")).to_string(), "0.000000000000000000");
  EXPECT_EQ((D("1.5") * D("0.000000000000000001")).to_string(), "0.000000000000000002");
}

TEST(DecimalArithmetic, MultiplyOverflowsOnlyWhenTheRoundedResultDoesNotFit) {
  // 10^20 · 10^20 at scale 36 exceeds 128 bits, but rounds to 10^22 at scale 18.
  EXPECT_EQ((D("100.000000000000000000") * D("100.000000000000000000")).to_string(),
            "10000.000000000000000000");
  EXPECT_EQ((D("-99999999999999999999.999999999999999999") * D("0.999999999999999999")).to_string(),
            "-99999999999999999899.999999999999999999");
  // 2660.5 · 37586919751926329.637… = 99999999999999999999.9999999999999999995 exactly: the
  // tie rounds (half-even, 38 nines is odd) up to 10^20, which needs 39 digits.
  EXPECT_DECIMAL_ERROR(D("2660.5") * D("37586919751926329.637286224393910919"), kOverflow);
  EXPECT_DECIMAL_ERROR(D("-2660.5") * D("37586919751926329.637286224393910919"), kOverflow);
  // …and 4705.4 · 21252178348280698.77… = 99999999999999999999.9999999999999999994 rounds down.
  EXPECT_EQ((D("4705.4") * D("21252178348280698.771624091469375611")).to_string(),
            "99999999999999999999.999999999999999999");
  EXPECT_EQ((D("4705.4") * D("-21252178348280698.771624091469375611")).to_string(),
            "-99999999999999999999.999999999999999999");
  // The 256-bit quotient itself can be too wide for 128 bits.
  EXPECT_DECIMAL_ERROR(
      D("99999999999999999999.999999999999999999") * D("99999999999999999999.999999999999999999"),
      kOverflow);
}

// ---- product_rounded: one rounding of the exact product -------------------------------------

Decimal product(std::initializer_list<const char*> texts, int scale,
                Rounding rounding = Rounding::HalfEven) {
  std::vector<Decimal> f;
  for (const char* text : texts) f.push_back(D(text));
  switch (f.size()) {
    case 1:
      return Decimal::product_rounded({f[0]}, scale, rounding);
    case 2:
      return Decimal::product_rounded({f[0], f[1]}, scale, rounding);
    case 3:
      return Decimal::product_rounded({f[0], f[1], f[2]}, scale, rounding);
    default:
      return Decimal::product_rounded({f[0], f[1], f[2], f[3]}, scale, rounding);
  }
}

TEST(DecimalProduct, RoundsOnceFromTheExactProduct) {
  // The exact product is 0.005000000000000000005, just above the tie at 2 decimals. Rounding
  // the partial product to 18 decimals first loses the tail and makes an exact tie of it,
  // which half-even then sends down: the defect product_rounded exists to avoid.
  EXPECT_EQ(product({"1.000000000000000001", "0.005", "1"}, 2).to_string(), "0.01");
  EXPECT_EQ((D("1.000000000000000001") * D("0.005") * D("1")).rescale(2).to_string(), "0.00");
  // 0.0050000000000000000001: the deciding digit is the 22nd decimal.
  EXPECT_EQ(product({"50.000000000000000001", "0.0001", "1"}, 2).to_string(), "0.01");
  // 0.00500000000000000001 = 0.0025000000000000000050 × 2: lost by the partial product.
  EXPECT_EQ(product({"1.000000000000000002", "0.0025", "2"}, 2).to_string(), "0.01");
  // Column-shaped operands (scales 18, 10, 12: 40 decimals, 56 digits), no tie.
  EXPECT_EQ(product({"123456789.123456789123456789", "98765.4321098765", "83.250000000001"}, 2)
                .to_string(),
            "1015089155129298.43");
}

TEST(DecimalProduct, ExactTiesGoToTheEvenNeighbour) {
  // Trailing zeros, as numeric columns print them, do not move a tie.
  EXPECT_EQ(product({"1.000000000000000000", "0.0050000000", "1.000000000000"}, 2).to_string(),
            "0.00");
  EXPECT_EQ(product({"1.000000000000000000", "0.0150000000", "1.000000000000"}, 2).to_string(),
            "0.02");
  EXPECT_EQ(product({"3", "0.5", "0.75"}, 2).to_string(), "1.12");  // 1.125
  EXPECT_EQ(product({"2.5"}, 0).to_string(), "2");
  EXPECT_EQ(product({"3.5"}, 0).to_string(), "4");
  // A tie 37 decimals down (the discarded digits span two 19-digit groups) …
  EXPECT_EQ(product({"0.000000000000000005", "0.1", "1.000000000000000000", "1"}, 18).to_string(),
            "0.000000000000000000");
  EXPECT_EQ(product({"0.000000000000000015", "0.1", "1.000000000000000000", "1"}, 18).to_string(),
            "0.000000000000000002");
  // … and one decided by its 37th decimal: 5·10^-19 + 5·10^-37.
  EXPECT_EQ(product({"0.000000000000000005", "0.1", "1.000000000000000001", "1"}, 18).to_string(),
            "0.000000000000000001");
  // Just below a tie, far down: 0.0049999999999999999995.
  EXPECT_EQ(product({"0.999999999999999999", "0.005", "1"}, 2).to_string(), "0.00");
}

TEST(DecimalProduct, NegativeFactors) {
  EXPECT_EQ(product({"-1.000000000000000001", "0.005", "1"}, 2).to_string(), "-0.01");
  EXPECT_EQ(product({"-1", "-0.005", "1.000000000000000001"}, 2).to_string(), "0.01");
  EXPECT_EQ(product({"-1", "-1", "-0.125"}, 2).to_string(), "-0.12");
  EXPECT_EQ(product({"-1", "0.135"}, 2).to_string(), "-0.14");
  EXPECT_EQ(product({"-0.999999999999999999", "0.005", "1"}, 2).to_string(), "0.00");
  // Zero has no sign, whatever the factors' signs.
  const Decimal zero = product({"-0.000", "5", "-3"}, 2);
  EXPECT_EQ(zero.to_string(), "0.00");
  EXPECT_EQ(zero.sign(), 0);
}

TEST(DecimalProduct, EveryRoundingMode) {
  // Exact products: 0.005000000000000000005 (above a tie) and 0.125 (a tie); both signs.
  struct Case {
    std::initializer_list<const char*> factors;
    const char* expected[6];  // HalfEven, HalfUp, Down, Up, Floor, Ceiling
  };
  const Case cases[] = {
      {{"1.000000000000000001", "0.005"}, {"0.01", "0.01", "0.00", "0.01", "0.00", "0.01"}},
      {{"-1.000000000000000001", "0.005"}, {"-0.01", "-0.01", "0.00", "-0.01", "-0.01", "0.00"}},
      {{"0.5", "0.25"}, {"0.12", "0.13", "0.12", "0.13", "0.12", "0.13"}},
      {{"-0.5", "0.25"}, {"-0.12", "-0.13", "-0.12", "-0.13", "-0.13", "-0.12"}},
      {{"0.5", "0.5"}, {"0.25", "0.25", "0.25", "0.25", "0.25", "0.25"}},
  };
  for (const Case& c : cases) {
    for (Rounding mode : kAllRoundings) {
      EXPECT_EQ(product(c.factors, 2, mode).to_string(), c.expected[static_cast<int>(mode)])
          << *c.factors.begin() << " × " << *(c.factors.begin() + 1) << " " << name(mode);
    }
  }
}

TEST(DecimalProduct, AppendsDecimalsWhenTheScaleIsLarger) {
  EXPECT_EQ(product({"10", "1.5"}, 4).to_string(), "15.0000");
  EXPECT_EQ(product({"-2", "3", "7"}, 18).to_string(), "-42.000000000000000000");
  EXPECT_EQ(product({"99999999999999999999", "1"}, 18).to_string(),
            "99999999999999999999.000000000000000000");
  EXPECT_DECIMAL_ERROR(product({"100000000000000000000", "1"}, 18), kOverflow);
}

TEST(DecimalProduct, AgreesWithMultiplyForTwoFactors) {
  // a * b is product_rounded({a, b}, min(a.scale + b.scale, 18)).
  for (const auto& [a, b] : std::vector<std::pair<const char*, const char*>>{
           {"1.5", "2.25"},
           {"0.000000001", "0.0000000025"},
           {"-99999999999999999999.999999999999999999", "0.999999999999999999"},
           {"123456789012345678901", "100000000000000000"}}) {
    const Decimal x = D(a), y = D(b);
    const int scale = std::min(x.scale() + y.scale(), Decimal::kMaxScale);
    EXPECT_EQ(Decimal::product_rounded({x, y}, scale).to_string(), (x * y).to_string()) << a << b;
  }
}

TEST(DecimalProduct, OverflowsOnlyWhenTheRoundedResultDoesNotFit) {
  // 2660.5 × 37586919751926329.637286224393910919 = 99999999999999999999.9999999999999999995:
  // at 18 decimals the tie rounds up to 10^20 (39 digits); at 17 the result is 10^20 with 38.
  const char* a = "2660.5";
  const char* b = "37586919751926329.637286224393910919";
  const std::string message =
      EXPECT_DECIMAL_ERROR(product({a, b, "1.000000000000000000"}, 18), kOverflow);
  EXPECT_EQ(message,
            "decimal result of 2660.5 * 37586919751926329.637286224393910919 * "
            "1.000000000000000000 is out of range (more than 38 significant digits)");
  EXPECT_DECIMAL_ERROR(product({"-1", a, b}, 18), kOverflow);
  EXPECT_EQ(product({a, b, "1"}, 18, Rounding::Down).to_string(),
            "99999999999999999999.999999999999999999");
  EXPECT_EQ(product({a, b, "1"}, 17).to_string(), "100000000000000000000.00000000000000000");
  // The widest exact product (four 38-digit factors, 152 digits) that rounds to nothing …
  const std::string wide = "99999999999999999999.999999999999999999";
  const std::string tiny = "0.000000000000000001";
  EXPECT_EQ(product({wide.c_str(), tiny.c_str(), tiny.c_str(), tiny.c_str()}, 18).to_string(),
            "0.000000000000000000");
  // … or to 10^4 from 10^4 − 2·10^-34 + 10^-72 (72 decimals to round away) …
  EXPECT_EQ(product({wide.c_str(), wide.c_str(), tiny.c_str(), tiny.c_str()}, 18).to_string(),
            "10000.000000000000000000");
  EXPECT_EQ(product({wide.c_str(), wide.c_str(), tiny.c_str(), tiny.c_str()}, 18, Rounding::Down)
                .to_string(),
            "9999.999999999999999999");
  // … and ones that do not fit.
  EXPECT_DECIMAL_ERROR(
      product({k38Nines.c_str(), k38Nines.c_str(), k38Nines.c_str(), k38Nines.c_str()}, 0),
      kOverflow);
  EXPECT_DECIMAL_ERROR(product({wide.c_str(), wide.c_str(), "1"}, 0), kOverflow);
  EXPECT_DECIMAL_ERROR(product({k38Nines.c_str(), "10"}, 0), kOverflow);
}

TEST(DecimalProduct, RejectsAScaleOutOfRange) {
  EXPECT_DECIMAL_ERROR(product({"1", "2"}, 19), kInvalid);
  EXPECT_DECIMAL_ERROR(product({"1", "2"}, -1), kInvalid);
}

TEST(DecimalArithmetic, Divide) {
  EXPECT_EQ(D("1").divide(D("3"), 18).to_string(), "0.333333333333333333");
  EXPECT_EQ(D("2").divide(D("3"), 18).to_string(), "0.666666666666666667");
  EXPECT_EQ(D("-2").divide(D("3"), 4).to_string(), "-0.6667");
  EXPECT_EQ(D("2").divide(D("-3"), 4).to_string(), "-0.6667");
  EXPECT_EQ(D("-2").divide(D("-3"), 4).to_string(), "0.6667");
  EXPECT_EQ(D("10").divide(D("4"), 0).to_string(), "2");
  EXPECT_EQ(D("14").divide(D("4"), 0).to_string(), "4");
  EXPECT_EQ(D("1.00").divide(D("0.5"), 2).to_string(), "2.00");
  EXPECT_EQ(D("0").divide(D("-5"), 3).to_string(), "0.000");
  EXPECT_EQ(D("1").divide(D("3"), 0).to_string(), "0");
  EXPECT_EQ(D("-1").divide(D("3"), 0).to_string(), "0");
  EXPECT_EQ(D("123.45").divide(D("0.000000000000000001"), 0).to_string(), "123450000000000000000");
  EXPECT_EQ(D("12345678901234567890").divide(D("1.000000000000000000"), 18).to_string(),
            "12345678901234567890.000000000000000000");
  EXPECT_EQ(D("1234567890123456789012").divide(D("100.000000000000000000"), 18).to_string(),
            "12345678901234567890.120000000000000000");

  // Exact and odd through the binary long division: its last step meets remainder == divisor.
  // Down and Ceiling (toward zero here) would hide a lost unit as a nonzero tail.
  const Decimal big_divisor = D("3000000000000000000.000000000000000000");
  EXPECT_EQ(D("3003").divide(big_divisor, 18, Rounding::Down).to_string(), "0.000000000000001001");
  EXPECT_EQ(D("-3003").divide(big_divisor, 18, Rounding::Ceiling).to_string(),
            "-0.000000000000001001");
  EXPECT_EQ(D("3003").divide(big_divisor, 18, Rounding::Up).to_string(), "0.000000000000001001");

  const std::string message = EXPECT_DECIMAL_ERROR(D("12.5").divide(D("0.00"), 2), kInvalid);
  EXPECT_EQ(message, "division by zero: 12.5 / 0.00");
  EXPECT_DECIMAL_ERROR(D("0").divide(D("0"), 2), kInvalid);
  EXPECT_DECIMAL_ERROR(D("1").divide(D("3"), 19), kInvalid);
  EXPECT_DECIMAL_ERROR(D(k38Nines).divide(D("0.1"), 0), kOverflow);
  EXPECT_EQ(D("1").divide(D("0.000000000000000001"), 18).to_string(),
            "1000000000000000000.000000000000000000");
  EXPECT_DECIMAL_ERROR(D("100").divide(D("0.000000000000000001"), 18), kOverflow);
  EXPECT_EQ(D("0.0000000001").divide(D("0.000000000000000001"), 18).to_string(),
            "100000000.000000000000000000");
  EXPECT_EQ(D(k38Nines).divide(D("1"), 0).to_string(), k38Nines);
  EXPECT_EQ(D("-" + k38Nines).divide(D("-1"), 0).to_string(), k38Nines);
}

struct DivideCase {
  const char* dividend;
  const char* divisor;
  int scale;
  std::array<const char*, 6> expected;  // HalfEven, HalfUp, Down, Up, Floor, Ceiling
};

TEST(DecimalRounding, DivideEveryMode) {
  // Expected values from Python's decimal module at 200 digits of precision.
  const DivideCase cases[] = {
      {"1", "8", 2, {"0.12", "0.13", "0.12", "0.13", "0.12", "0.13"}},
      {"-1", "8", 2, {"-0.12", "-0.13", "-0.12", "-0.13", "-0.13", "-0.12"}},
      {"3", "8", 2, {"0.38", "0.38", "0.37", "0.38", "0.37", "0.38"}},
      {"-3", "-8", 2, {"0.38", "0.38", "0.37", "0.38", "0.37", "0.38"}},
      {"1",
       "7",
       18,
       {"0.142857142857142857", "0.142857142857142857", "0.142857142857142857",
        "0.142857142857142858", "0.142857142857142857", "0.142857142857142858"}},
      {"-1",
       "7",
       18,
       {"-0.142857142857142857", "-0.142857142857142857", "-0.142857142857142857",
        "-0.142857142857142858", "-0.142857142857142858", "-0.142857142857142857"}},
      {"6", "3", 1, {"2.0", "2.0", "2.0", "2.0", "2.0", "2.0"}},
      {"-6", "3", 1, {"-2.0", "-2.0", "-2.0", "-2.0", "-2.0", "-2.0"}},
      // Fewer result decimals than the dividend has: ⌊⌊n/d⌋/10^k⌋ with both remainders.
      {"0.250000", "2", 2, {"0.12", "0.13", "0.12", "0.13", "0.12", "0.13"}},
      {"-0.250000", "2", 2, {"-0.12", "-0.13", "-0.12", "-0.13", "-0.13", "-0.12"}},
      {"0.250001", "2", 2, {"0.13", "0.13", "0.12", "0.13", "0.12", "0.13"}},
      {"-0.250001", "2", 2, {"-0.13", "-0.13", "-0.12", "-0.13", "-0.13", "-0.12"}},
      {"0.350000", "2", 2, {"0.18", "0.18", "0.17", "0.18", "0.17", "0.18"}},
      {"0.000000000000000001", "3", 0, {"0", "0", "0", "1", "0", "1"}},
      {"-0.000000000000000001", "3", 0, {"0", "0", "0", "-1", "-1", "0"}},
      // A numerator past 2^128 over a 64-bit divisor.
      {"12345678901234567890",
       "0.000000000000000007",
       0,
       {"1763668414462081127142857142857142857", "1763668414462081127142857142857142857",
        "1763668414462081127142857142857142857", "1763668414462081127142857142857142858",
        "1763668414462081127142857142857142857", "1763668414462081127142857142857142858"}},
      {"-99999999999999999999.999999999999999999",
       "7",
       18,
       {"-14285714285714285714.285714285714285714", "-14285714285714285714.285714285714285714",
        "-14285714285714285714.285714285714285714", "-14285714285714285714.285714285714285715",
        "-14285714285714285714.285714285714285715", "-14285714285714285714.285714285714285714"}},
      // A numerator past 2^128 over a divisor past 2^64: the binary long division.
      {"1000",
       "300.000000000000000001",
       18,
       {"3.333333333333333333", "3.333333333333333333", "3.333333333333333333",
        "3.333333333333333334", "3.333333333333333333", "3.333333333333333334"}},
      {"-1000",
       "300.000000000000000001",
       18,
       {"-3.333333333333333333", "-3.333333333333333333", "-3.333333333333333333",
        "-3.333333333333333334", "-3.333333333333333334", "-3.333333333333333333"}},
      {"2000",
       "300.000000000000000001",
       18,
       {"6.666666666666666667", "6.666666666666666667", "6.666666666666666666",
        "6.666666666666666667", "6.666666666666666666", "6.666666666666666667"}},
      {"-2000",
       "300.000000000000000001",
       18,
       {"-6.666666666666666667", "-6.666666666666666667", "-6.666666666666666666",
        "-6.666666666666666667", "-6.666666666666666667", "-6.666666666666666666"}},
      {"1000.000000000000000100",
       "200.000000000000000000",
       18,
       {"5.000000000000000000", "5.000000000000000001", "5.000000000000000000",
        "5.000000000000000001", "5.000000000000000000", "5.000000000000000001"}},
      {"-1000.000000000000000300",
       "200.000000000000000000",
       18,
       {"-5.000000000000000002", "-5.000000000000000002", "-5.000000000000000001",
        "-5.000000000000000002", "-5.000000000000000002", "-5.000000000000000001"}},
  };
  for (const DivideCase& c : cases) {
    for (std::size_t m = 0; m < kAllRoundings.size(); ++m) {
      const Decimal result = D(c.dividend).divide(D(c.divisor), c.scale, kAllRoundings[m]);
      EXPECT_EQ(result.to_string(), c.expected[m])
          << c.dividend << " / " << c.divisor << " " << name(kAllRoundings[m]);
    }
  }
}

// ---- Comparison and shape ----------------------------------------------------------------

TEST(DecimalCompare, ByValueAcrossScales) {
  EXPECT_EQ(D("1.50"), D("1.5"));
  EXPECT_EQ(D("0"), D("0.000"));
  EXPECT_EQ(D("-0.0"), D("0"));
  EXPECT_NE(D("1.5"), D("1.51"));
  EXPECT_LT(D("1.5"), D("1.51"));
  EXPECT_LT(D("-1.5"), D("-1.49"));
  EXPECT_LT(D("-1"), D("0.000000000000000001"));
  EXPECT_GT(D("0.000000000000000001"), D("0"));
  EXPECT_LE(D("2.0"), D("2"));
  EXPECT_GE(D("2.0"), D("2"));
  EXPECT_GT(D("10"), D("9.999999999999999999"));
  EXPECT_LT(D("-10"), D("-9.999999999999999999"));
  // Aligning the scale-0 side to scale 18 passes 2^128: decided without overflow.
  EXPECT_GT(D(k38Nines), D("1.000000000000000000"));
  EXPECT_LT(D("1.000000000000000000"), D(k38Nines));
  EXPECT_LT(D("-" + k38Nines), D("-1.000000000000000000"));
  EXPECT_GT(D("-1.000000000000000000"), D("-" + k38Nines));
  EXPECT_EQ(compare(D("99999999999999999999"), D("99999999999999999999.000000000000000000")), 0);
  EXPECT_EQ(compare(D("3"), D("2.999")), 1);
  EXPECT_EQ(compare(D("-3"), D("-2.999")), -1);
}

TEST(DecimalShape, NormalizedNegateAbs) {
  EXPECT_EQ(D("1.500").normalized().to_string(), "1.5");
  EXPECT_EQ(D("1.500").normalized().scale(), 1);
  EXPECT_EQ(D("100").normalized().to_string(), "100");
  EXPECT_EQ(D("100.00").normalized().to_string(), "100");
  EXPECT_EQ(D("0.000").normalized().scale(), 0);
  EXPECT_EQ(D("-2.000").normalized().to_string(), "-2");
  EXPECT_EQ(D("0.000000000000000010").normalized().to_string(), "0.00000000000000001");
  EXPECT_EQ(D("-12.345").normalized().to_string(), "-12.345");
  EXPECT_EQ(D("99999999999999999999.000000000000000000").normalized().to_string(),
            "99999999999999999999");

  EXPECT_EQ((-D("0.00")).to_string(), "0.00");
  EXPECT_EQ((-D("1.5")).to_string(), "-1.5");
  EXPECT_EQ((-D("-" + k38Nines)).to_string(), k38Nines);
  EXPECT_EQ(D("-1.5").abs().to_string(), "1.5");
  EXPECT_EQ(D("1.5").abs().to_string(), "1.5");
  EXPECT_EQ(D("-0.000000000000000001").abs().sign(), 1);
}

// ---- The wide integers underneath ---------------------------------------------------------

// Division by multiplication with a reciprocal (detail::Divisor) against the compiler's own
// 128-bit division, for divisors of every width: the powers of ten Decimal uses, the edges of
// the normalisation shift, and random ones.
TEST(WideInt, DivideMatchesNativeDivision) {
  using detail::u128;
  std::mt19937_64 rng(7);
  std::vector<std::uint64_t> divisors = {
      1, 2, 3, 7, 10, 0x7fffffffffffffffull, 0x8000000000000000ull, ~0ull};
  for (std::uint64_t p = 10; p <= 1000000000000000000ull; p *= 10) divisors.push_back(p);
  divisors.push_back(10000000000000000000ull);
  for (int i = 0; i < 64; ++i) divisors.push_back(rng() >> (rng() % 64) | 1);
  for (std::uint64_t d : divisors) {
    const detail::Divisor divisor(d);
    for (int i = 0; i < 200; ++i) {
      u128 n = (static_cast<u128>(rng()) << 64) | rng();
      n >>= rng() % 128;  // every width, down to one bit
      if (i == 0) n = ~static_cast<u128>(0);
      auto wide = detail::U256::from(n);
      const std::uint64_t remainder = detail::divide_in_place(wide, divisor);
      ASSERT_EQ(wide.low128(), n / d) << "divisor " << d;
      ASSERT_EQ(remainder, static_cast<std::uint64_t>(n % d)) << "divisor " << d;
      ASSERT_TRUE(wide.fits_u128());
    }
  }
}

// Multi-limb: (a·b·c)/d, times d, plus the remainder, is a·b·c again, limb for limb.
TEST(WideInt, MultiplyThenDivideRoundTrips) {
  using detail::u128;
  using Wide = detail::UInt<8>;
  std::mt19937_64 rng(11);
  auto random_u128 = [&] {
    const u128 n = (static_cast<u128>(rng()) << 64) | rng();
    return n >> (rng() % 128);
  };
  for (int i = 0; i < 5000; ++i) {
    const u128 a = random_u128(), b = random_u128(), c = random_u128();
    const std::uint64_t d = (rng() >> (rng() % 64)) | 1;
    Wide product = Wide::from(a);
    ASSERT_TRUE(detail::multiply_in_place(product, b));
    ASSERT_TRUE(detail::multiply_in_place(product, c));
    Wide quotient = product;
    const std::uint64_t remainder = detail::divide_in_place(quotient, detail::Divisor(d));
    ASSERT_LT(remainder, d);
    Wide back = quotient;
    ASSERT_TRUE(detail::multiply_in_place(back, d));
    // back + remainder, carried through the limbs (those at and above size are not in use).
    std::uint64_t carry = remainder;
    for (int l = 0; l < 8 && carry != 0; ++l) {
      if (l >= back.size) {
        back.limb[l] = 0;
        back.size = l + 1;
      }
      const u128 t = static_cast<u128>(back.limb[l]) + carry;
      back.limb[l] = static_cast<std::uint64_t>(t);
      carry = static_cast<std::uint64_t>(t >> 64);
    }
    ASSERT_EQ(back.size, product.size) << i;
    for (int l = 0; l < product.size; ++l) ASSERT_EQ(back.limb[l], product.limb[l]) << i;
  }
  // Zero absorbs, and a product that cannot fit is refused rather than written past the end.
  Wide zero = Wide::from(12345);
  ASSERT_TRUE(detail::multiply_in_place(zero, 0));
  EXPECT_TRUE(zero.is_zero());
  detail::UInt<3> narrow = detail::UInt<3>::from(~static_cast<u128>(0));
  EXPECT_FALSE(detail::multiply_in_place(narrow, ~static_cast<u128>(0)));
}

// ---- Differential test against PostgreSQL numeric ----------------------------------------

using Connection = std::unique_ptr<PGconn, decltype(&PQfinish)>;
using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Significant digits of a numeric's text: what a coefficient would need to hold it.
int significant_digits(const std::string& text) {
  int digits = 0;
  bool leading = true;
  for (char c : text) {
    if (c < '0' || c > '9') continue;
    if (leading && c == '0') continue;
    leading = false;
    ++digits;
  }
  return digits;
}

// Integer half-even division in SQL (div() truncates toward zero), so the reference never
// relies on round(), which rounds half away from zero.
constexpr const char* kHalfEvenFunction = R"sql(
CREATE FUNCTION pg_temp.div_half_even(n numeric, d numeric) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT AS $$
  SELECT trunc(CASE
           WHEN 2 * abs(n - q * d) > abs(d) OR (2 * abs(n - q * d) = abs(d) AND mod(q, 2) <> 0)
           THEN q + sign(n) * sign(d)
           ELSE q END)
  FROM (SELECT div(n, d) AS q) AS t
$$)sql";

// One row per (a, b, s); every exact value is computed in numeric, then rounded with integer
// arithmetic only. ('1e' || k)::numeric is exactly 10^k with scale max(0, −k).
constexpr const char* kReferenceQuery = R"sql(
SELECT a::text, b::text, (a + b)::text, (a - b)::text,
  CASE WHEN scale(a * b) <= 18 THEN (a * b)::text
       ELSE (pg_temp.div_half_even(trunc(a * b * ('1e' || scale(a * b))::numeric),
                                   ('1e' || (scale(a * b) - 18))::numeric)
             * '1e-18'::numeric)::text END,
  CASE WHEN b = 0 THEN NULL
       ELSE (pg_temp.div_half_even(trunc(a * ('1e' || (greatest(scale(a), scale(b)) + 10))::numeric),
                                   trunc(b * ('1e' || greatest(scale(a), scale(b)))::numeric))
             * '1e-10'::numeric)::text END,
  (CASE WHEN s >= scale(a) THEN round(a, s)
        ELSE pg_temp.div_half_even(trunc(a * ('1e' || scale(a))::numeric),
                                   ('1e' || (scale(a) - s))::numeric)
             * ('1e' || -s)::numeric END)::text,
  round(a, s)::text,
  trunc(a, s)::text,
  (CASE WHEN a < 0 THEN -ceil(-a * ('1e' || s)::numeric) ELSE ceil(a * ('1e' || s)::numeric) END
     * ('1e' || -s)::numeric)::text,
  (floor(a * ('1e' || s)::numeric) * ('1e' || -s)::numeric)::text,
  (ceil(a * ('1e' || s)::numeric) * ('1e' || -s)::numeric)::text,
  c::text,
  -- a·b·c exact, then half-even to t decimals (appending zeros when it has fewer).
  (CASE WHEN scale(a * b * c) <= t THEN round(a * b * c, t)
        ELSE pg_temp.div_half_even(trunc(a * b * c * ('1e' || scale(a * b * c))::numeric),
                                   ('1e' || (scale(a * b * c) - t))::numeric)
             * ('1e' || -t)::numeric END)::text,
  -- whether that rounding was an exact tie
  abs(a * b * c * ('1e' || t)::numeric - trunc(a * b * c * ('1e' || t)::numeric)) = 0.5
FROM unnest($1::numeric[], $2::numeric[], $3::int[], $4::numeric[], $5::int[])
  WITH ORDINALITY AS t(a, b, s, c, t, i)
ORDER BY i
)sql";

class RandomDecimals {
 public:
  explicit RandomDecimals(std::uint64_t seed) : rng_(seed) {}

  int uniform(int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng_); }

  // 1 ± 10^-k: a factor that moves a product by a tail too small for 18 decimals to hold.
  std::string near_one() {
    const int k = uniform(1, Decimal::kMaxScale);
    const __int128 coefficient = pow10(k) + (uniform(0, 1) ? 1 : -1);
    return Decimal::from_coefficient(uniform(0, 1) ? coefficient : -coefficient, k).to_string();
  }

  // 1, -1 or 1.000… with up to 18 zeros.
  std::string one() {
    const int k = uniform(0, Decimal::kMaxScale);
    return Decimal::from_coefficient(uniform(0, 1) ? pow10(k) : -pow10(k), k).to_string();
  }

  std::string next() {
    const int kind = uniform(0, 99);
    const int scale = uniform(0, Decimal::kMaxScale);
    __int128 coefficient = 0;
    if (kind < 4) {
      coefficient = 0;
    } else if (kind < 16) {
      // Ends in 5 at a high scale: products and rescales land on exact ties.
      coefficient = uniform(0, 999) * 10 + 5;
    } else {
      // Digit counts spread over small, 64-bit-sized and full-width magnitudes.
      const int max_digits = kind < 45 ? 6 : kind < 75 ? 19 : Decimal::kMaxDigits;
      const int digits = uniform(1, max_digits);
      for (int i = 0; i < digits; ++i) coefficient = coefficient * 10 + uniform(i == 0, 9);
    }
    if (uniform(0, 1) == 1) coefficient = -coefficient;
    return Decimal::from_coefficient(coefficient, scale).to_string();
  }

 private:
  std::mt19937_64 rng_;
};

std::string array_literal(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out += ',';
    out += values[i];
  }
  return out + "}";
}

struct Tally {
  int compared = 0;
  int overflows = 0;
  int failures = 0;
};

// Compares one operation with PostgreSQL's exact text; an overflow must be exactly the case
// where the reference needs more than 38 significant digits.
template <typename Operation>
void check(Tally& tally, const std::string& context, const char* expected, Operation operation) {
  if (tally.failures >= 20) return;  // one bug should not print thousands of lines
  if (expected == nullptr) return;
  const std::string want = expected;
  ++tally.compared;
  try {
    const std::string got = operation().to_string();
    if (got != want) {
      ++tally.failures;
      ADD_FAILURE() << context << ": got " << got << ", PostgreSQL says " << want;
    }
  } catch (const Error& error) {
    ++tally.overflows;
    if (error.code() != ErrorCode::NUMERIC_OVERFLOW || significant_digits(want) <= 38) {
      ++tally.failures;
      ADD_FAILURE() << context << ": threw \"" << error.what() << "\" but PostgreSQL says " << want;
    }
  }
}

TEST(DecimalDifferential, MatchesPostgresNumeric) {
  const char* dsn = std::getenv("PGFOLIO_TEST_DSN");
  if (dsn == nullptr || *dsn == '\0') {
    GTEST_SKIP() << "PGFOLIO_TEST_DSN is not set; the differential test against PostgreSQL "
                    "numeric needs a libpq connection string (make test sets it)";
  }
  std::uint64_t seed = 20240601;
  if (const char* text = std::getenv("PGFOLIO_TEST_SEED")) seed = std::strtoull(text, nullptr, 10);
  SCOPED_TRACE("random seed " + std::to_string(seed) + " (set PGFOLIO_TEST_SEED to replay)");

  Connection connection(PQconnectdb(dsn), &PQfinish);
  ASSERT_EQ(PQstatus(connection.get()), CONNECTION_OK) << PQerrorMessage(connection.get());
  {
    Result created(PQexec(connection.get(), kHalfEvenFunction), &PQclear);
    ASSERT_EQ(PQresultStatus(created.get()), PGRES_COMMAND_OK) << PQerrorMessage(connection.get());
  }

  constexpr Rounding kRescaleModes[] = {Rounding::HalfEven, Rounding::HalfUp, Rounding::Down,
                                        Rounding::Up,       Rounding::Floor,  Rounding::Ceiling};
  constexpr int kBatches = 4, kBatchSize = 1000;
  RandomDecimals random(seed);
  Tally tally;
  int product_ties = 0, triple_ties = 0, double_rounding_differs = 0;

  for (int batch = 0; batch < kBatches; ++batch) {
    std::vector<std::string> as, bs, scales, cs, product_scales;
    for (int i = 0; i < kBatchSize; ++i) {
      as.push_back(random.next());
      bs.push_back(random.next());
      scales.push_back(std::to_string(random.uniform(0, Decimal::kMaxScale)));
      // The triple product a·b·c. Half the time it is built around a tie: a and b are padded
      // to 18 decimals as numeric columns print them, the scale is where a·b's last nonzero
      // digit would be dropped, and c is 1 ± a tiny tail (so that ties of a·b meet tails far
      // below 18 decimals, what rounding a partial product loses) or exactly 1 (so
      // that they stay ties).
      const int c_kind = random.uniform(0, 5);
      const bool near_tie = c_kind >= 3;
      cs.push_back(c_kind == 5 ? random.one() : near_tie ? random.near_one() : random.next());
      int t = random.uniform(0, Decimal::kMaxScale);
      if (near_tie) {
        for (std::string* text : {&as.back(), &bs.back()}) {
          try {
            *text = D(*text).rescale(Decimal::kMaxScale).to_string();
          } catch (const Error&) {  // too many digits to pad: leave it
          }
        }
        t = std::clamp(D(as.back()).normalized().scale() + D(bs.back()).normalized().scale() - 1, 0,
                       Decimal::kMaxScale);
      }
      product_scales.push_back(std::to_string(t));
    }
    const std::string params[] = {array_literal(as), array_literal(bs), array_literal(scales),
                                  array_literal(cs), array_literal(product_scales)};
    const char* values[] = {params[0].c_str(), params[1].c_str(), params[2].c_str(),
                            params[3].c_str(), params[4].c_str()};
    Result result(
        PQexecParams(connection.get(), kReferenceQuery, 5, nullptr, values, nullptr, nullptr, 0),
        &PQclear);
    ASSERT_EQ(PQresultStatus(result.get()), PGRES_TUPLES_OK) << PQerrorMessage(connection.get());
    ASSERT_EQ(PQntuples(result.get()), kBatchSize);

    for (int row = 0; row < kBatchSize; ++row) {
      auto column = [&](int c) -> const char* {
        return PQgetisnull(result.get(), row, c) ? nullptr : PQgetvalue(result.get(), row, c);
      };
      const Decimal a = D(as[row]), b = D(bs[row]);
      const int s = std::stoi(scales[row]);
      const std::string where = "batch " + std::to_string(batch) + " row " + std::to_string(row) +
                                ": a=" + as[row] + " b=" + bs[row];
      // PostgreSQL's own reading and printing of our text is our text.
      EXPECT_EQ(column(0), as[row]) << where;
      EXPECT_EQ(column(1), bs[row]) << where;
      check(tally, where + " a+b", column(2), [&] { return a + b; });
      check(tally, where + " a-b", column(3), [&] { return a - b; });
      check(tally, where + " a*b", column(4), [&] { return a * b; });
      // Count exact ties in the digits the product drops, to know half-even was exercised.
      const int excess = a.scale() + b.scale() - Decimal::kMaxScale;
      if (excess > 0) {
        const __int128 modulus = pow10(excess);
        __int128 tail = (a.coefficient() % modulus) * (b.coefficient() % modulus) % modulus;
        if (tail < 0) tail = -tail;
        if (tail == modulus / 2) ++product_ties;
      }
      check(tally, where + " a/b", column(5), [&] { return a.divide(b, 10); });
      for (int m = 0; m < 6; ++m) {
        check(tally, where + " rescale(" + std::to_string(s) + ", " + name(kRescaleModes[m]) + ")",
              column(6 + m), [&] { return a.rescale(s, kRescaleModes[m]); });
      }

      const Decimal c = D(cs[row]);
      const int t = std::stoi(product_scales[row]);
      EXPECT_EQ(column(12), cs[row]) << where;
      const std::string product_where =
          where + " c=" + cs[row] + " product_rounded(a*b*c, " + std::to_string(t) + ")";
      check(tally, product_where, column(13), [&] {
        return Decimal::product_rounded({a, b, c}, t);
      });
      if (std::string(column(14)) == "t") ++triple_ties;
      // Where rounding the partial products (the old holding_value) would have been wrong:
      // the test must reach such rows, or it would not tell one rounding from two.
      try {
        if ((a * b * c).rescale(t).to_string() != column(13)) ++double_rounding_differs;
      } catch (const Error&) {
      }
    }
  }
  EXPECT_EQ(tally.failures, 0);
  // The generator must reach the interesting regions, or the test proves little.
  EXPECT_GT(tally.compared, kBatches * kBatchSize * 10);
  EXPECT_GT(tally.overflows, 50);
  EXPECT_LT(tally.overflows, tally.compared / 4);
  EXPECT_GT(product_ties, 10);
  EXPECT_GT(triple_ties, 30);
  EXPECT_GT(double_rounding_differs, 100);
  std::cout << "[ differential ] seed " << seed << ": " << tally.compared << " comparisons, "
            << tally.overflows << " overflows, " << product_ties << " product ties, " << triple_ties
            << " triple-product ties, " << double_rounding_differs
            << " triple products that rounding twice gets wrong\n";
}

}  // namespace
}  // namespace pgfolio
