// Decimal: unit tests for the exact rules, then a randomised differential test against
// PostgreSQL's numeric (run whenever PGFOLIO_TEST_DSN names a server).
#include "decimal.hpp"

#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <limits>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "error.hpp"

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
  (ceil(a * ('1e' || s)::numeric) * ('1e' || -s)::numeric)::text
FROM unnest($1::numeric[], $2::numeric[], $3::int[]) WITH ORDINALITY AS t(a, b, s, i)
ORDER BY i
)sql";

class RandomDecimals {
 public:
  explicit RandomDecimals(std::uint64_t seed) : rng_(seed) {}

  int uniform(int low, int high) { return std::uniform_int_distribution<int>(low, high)(rng_); }

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
  int product_ties = 0;

  for (int batch = 0; batch < kBatches; ++batch) {
    std::vector<std::string> as, bs, scales;
    for (int i = 0; i < kBatchSize; ++i) {
      as.push_back(random.next());
      bs.push_back(random.next());
      scales.push_back(std::to_string(random.uniform(0, Decimal::kMaxScale)));
    }
    const std::string params[] = {array_literal(as), array_literal(bs), array_literal(scales)};
    const char* values[] = {params[0].c_str(), params[1].c_str(), params[2].c_str()};
    Result result(
        PQexecParams(connection.get(), kReferenceQuery, 3, nullptr, values, nullptr, nullptr, 0),
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
    }
  }
  EXPECT_EQ(tally.failures, 0);
  // The generator must reach the interesting regions, or the test proves little.
  EXPECT_GT(tally.compared, kBatches * kBatchSize * 9);
  EXPECT_GT(tally.overflows, 50);
  EXPECT_LT(tally.overflows, tally.compared / 4);
  EXPECT_GT(product_ties, 10);
  std::cout << "[ differential ] seed " << seed << ": " << tally.compared << " comparisons, "
            << tally.overflows << " overflows, " << product_ties << " product ties\n";
}

}  // namespace
}  // namespace pgfolio
