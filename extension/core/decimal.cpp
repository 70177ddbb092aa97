// Decimal arithmetic: see decimal.hpp for the contract and docs/money.md for the rules.
//
// Everything works on (magnitude, sign) with an unsigned 128-bit magnitude: rounding modes
// are then one decision ("move the magnitude away from zero or not"), and negation can never
// overflow because every magnitude is kept below 10^38.
#include "decimal.hpp"

#include <array>
#include <cstring>
#include <utility>

#include "error.hpp"
#include "wide_int.hpp"

namespace pgfolio {
namespace {

using detail::u128;
using detail::U256;
using i128 = __int128;

// 10^0 … 10^38: 10^38 is the largest power of ten below 2^128 (≈ 3.4·10^38).
constexpr std::array<u128, 39> make_powers_of_ten() {
  std::array<u128, 39> table{};
  u128 value = 1;
  for (std::size_t i = 0; i < table.size(); ++i) {
    table[i] = value;
    if (i + 1 < table.size()) value *= 10;
  }
  return table;
}
constexpr std::array<u128, 39> kPow10 = make_powers_of_ten();
constexpr u128 kMaxMagnitude = kPow10[Decimal::kMaxDigits] - 1;  // 38 nines
constexpr std::uint64_t kTenToThe19 = 10000000000000000000ull;   // largest power of 10 in u64

// 10^0 … 10^19 (all that fit in 64 bits) prepared for division; 10^0 is never divided by
// but keeps the indexes plain.
template <std::size_t... I>
constexpr std::array<detail::Divisor, sizeof...(I)> power_of_ten_divisors(
    std::index_sequence<I...>) {
  return {detail::Divisor(static_cast<std::uint64_t>(kPow10[I]))...};
}
constexpr auto kPow10Divisors = power_of_ten_divisors(std::make_index_sequence<20>());

u128 magnitude(i128 value) {
  return value < 0 ? -static_cast<u128>(value) : value;
}
i128 with_sign(u128 magnitude, bool negative) {
  return negative ? -static_cast<i128>(magnitude) : static_cast<i128>(magnitude);
}

// ---- Text output -------------------------------------------------------------------------

struct DigitPairs {
  char chars[200];
  constexpr DigitPairs() : chars() {
    for (int i = 0; i < 100; ++i) {
      chars[2 * i] = static_cast<char>('0' + i / 10);
      chars[2 * i + 1] = static_cast<char>('0' + i % 10);
    }
  }
};
constexpr DigitPairs kDigitPairs;

// Writes value's digits ending just before `end`; returns where they start.
char* write_u64(std::uint64_t value, char* end) {
  while (value >= 100) {
    const std::uint64_t pair = value % 100;
    value /= 100;
    end -= 2;
    std::memcpy(end, kDigitPairs.chars + 2 * pair, 2);
  }
  if (value >= 10) {
    end -= 2;
    std::memcpy(end, kDigitPairs.chars + 2 * value, 2);
  } else {
    *--end = static_cast<char>('0' + value);
  }
  return end;
}

// Exactly 19 digits, zero-padded: the low part of a number split at 10^19.
char* write_u64_19(std::uint64_t value, char* end) {
  char* start = write_u64(value, end);
  while (end - start < 19) *--start = '0';
  return start;
}

// Any u128 (up to 39 digits), so that error messages can show out-of-range coefficients too.
char* write_u128(u128 value, char* end) {
  if ((value >> 64) == 0) return write_u64(static_cast<std::uint64_t>(value), end);
  const u128 high = value / kTenToThe19;
  end = write_u64_19(static_cast<std::uint64_t>(value % kTenToThe19), end);
  if ((high >> 64) == 0) return write_u64(static_cast<std::uint64_t>(high), end);
  end = write_u64_19(static_cast<std::uint64_t>(high % kTenToThe19), end);
  return write_u64(static_cast<std::uint64_t>(high / kTenToThe19), end);
}

std::string format(u128 magnitude, bool negative, int scale) {
  char buffer[64];
  char* const end = buffer + sizeof buffer;
  char* digits = write_u128(magnitude, end);
  while (end - digits < scale + 1) *--digits = '0';  // at least one digit before the point
  const int digit_count = static_cast<int>(end - digits);
  const int integer_digits = digit_count - scale;
  const bool minus = negative && magnitude != 0;

  std::string out(static_cast<std::size_t>(minus + digit_count + (scale > 0)), '\0');
  char* p = out.data();
  if (minus) *p++ = '-';
  std::memcpy(p, digits, static_cast<std::size_t>(integer_digits));
  p += integer_digits;
  if (scale > 0) {
    *p++ = '.';
    std::memcpy(p, digits + integer_digits, static_cast<std::size_t>(scale));
  }
  return out;
}

// The offending text for a message: quoted, bounded, and 7-bit printable so that a hostile
// input can neither flood the log nor put invalid UTF-8 into a PostgreSQL error.
std::string quote(std::string_view text) {
  constexpr std::size_t kShown = 64;
  std::string out = "\"";
  for (std::size_t i = 0; i < text.size() && i < kShown; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  if (text.size() > kShown) out += "...";
  out += '"';
  return out;
}

// ---- Errors ------------------------------------------------------------------------------

[[noreturn]] void throw_invalid(std::string_view text) {
  throw Error(ErrorCode::VALIDATION_ERROR, "invalid decimal " + quote(text));
}

[[noreturn]] void throw_out_of_range(const std::string& what) {
  throw Error(ErrorCode::NUMERIC_OVERFLOW,
              "decimal result of " + what + " is out of range (more than " +
                  std::to_string(Decimal::kMaxDigits) + " significant digits)");
}

void check_scale(int scale) {
  if (scale < 0 || scale > Decimal::kMaxScale) {
    throw Error(ErrorCode::VALIDATION_ERROR, "decimal scale " + std::to_string(scale) +
                                                 " is outside the supported range 0.." +
                                                 std::to_string(Decimal::kMaxScale));
  }
}

// ---- Rounding ----------------------------------------------------------------------------

// Where the discarded part lies between the truncated quotient and the next one.
enum class Tail { Zero, BelowHalf, Half, AboveHalf };

Tail classify(u128 remainder, u128 divisor) {
  if (remainder == 0) return Tail::Zero;
  const u128 rest = divisor - remainder;  // compares 2·remainder with divisor without overflow
  if (remainder < rest) return Tail::BelowHalf;
  return remainder == rest ? Tail::Half : Tail::AboveHalf;
}

// Whether the truncated magnitude must move one unit away from zero.
bool round_away(Rounding rounding, bool negative, bool odd, Tail tail) {
  if (tail == Tail::Zero) return false;
  switch (rounding) {
    case Rounding::HalfEven:
      return tail == Tail::AboveHalf || (tail == Tail::Half && odd);
    case Rounding::HalfUp:
      return tail != Tail::BelowHalf;
    case Rounding::Down:
      return false;
    case Rounding::Up:
      return true;
    case Rounding::Floor:
      return negative;
    case Rounding::Ceiling:
      return !negative;
  }
  return false;
}

// magnitude / 10^digits, rounded. digits ≥ 1; the result is never larger than the input.
u128 drop_digits(u128 magnitude, int digits, bool negative, Rounding rounding) {
  const u128 divisor = kPow10[digits];
  u128 quotient, remainder;
  if ((magnitude >> 64) == 0 && digits <= 19) {  // the common case: one native 64-bit divide
    const auto m = static_cast<std::uint64_t>(magnitude);
    const auto d = static_cast<std::uint64_t>(divisor);
    quotient = m / d;
    remainder = m % d;
  } else {
    quotient = magnitude / divisor;
    remainder = magnitude % divisor;
  }
  if (round_away(rounding, negative, quotient & 1, classify(remainder, divisor))) ++quotient;
  return quotient;
}

std::string describe(const Decimal& a, const char* op, const Decimal& b) {
  return a.to_string() + " " + op + " " + b.to_string();
}

}  // namespace

// ---- Construction and text ---------------------------------------------------------------

Decimal Decimal::from_coefficient(Coefficient coefficient, int scale) {
  check_scale(scale);
  if (magnitude(coefficient) > kMaxMagnitude) {
    // magnitude() of the most negative __int128 is 2^127, which write_u128 prints fine.
    throw Error(ErrorCode::NUMERIC_OVERFLOW,
                "decimal coefficient " + format(magnitude(coefficient), coefficient < 0, 0) +
                    " is out of range (more than " + std::to_string(kMaxDigits) +
                    " significant digits)");
  }
  return Decimal(coefficient, scale);
}

Decimal Decimal::from_int(std::int64_t value) {
  return Decimal(value, 0);
}

Decimal Decimal::parse(std::string_view text) {
  const char* p = text.data();
  const char* const end = p + text.size();

  bool negative = false;
  if (p != end && (*p == '+' || *p == '-')) negative = *p++ == '-';

  // Significant digits accumulate in `value`; zeros after the last nonzero digit are only
  // counted, because they may turn out to be trailing fractional zeros that get dropped
  // ("1.000000000000000000000" has 22 digits but needs 19).
  u128 value = 0;
  int value_digits = 0;
  std::int64_t pending_zeros = 0;
  bool too_many_digits = false;
  bool any_digit = false;
  std::int64_t fraction_digits = 0;
  // Position of the last nonzero digit: 1 for tenths, 0 for units, -1 for tens, …
  std::int64_t last_nonzero_position = 0;

  auto take = [&](int digit) {
    any_digit = true;
    if (digit == 0) {
      if (value != 0) ++pending_zeros;  // leading zeros are not significant
      return;
    }
    const std::int64_t digits = value_digits + pending_zeros + 1;
    if (digits > kMaxDigits) {
      too_many_digits = true;  // keep scanning: a syntax error still wins over overflow
      return;
    }
    value = value * kPow10[pending_zeros + 1] + static_cast<unsigned>(digit);
    value_digits = static_cast<int>(digits);
    pending_zeros = 0;
  };

  std::int64_t integer_digits = 0;
  for (; p != end && static_cast<unsigned char>(*p - '0') < 10; ++p) {
    ++integer_digits;
    take(*p - '0');
    if (*p != '0') last_nonzero_position = integer_digits;  // made relative below
  }
  last_nonzero_position -= integer_digits;
  if (p != end && *p == '.') {
    for (++p; p != end && static_cast<unsigned char>(*p - '0') < 10; ++p) {
      ++fraction_digits;
      take(*p - '0');
      if (*p != '0') last_nonzero_position = fraction_digits;
    }
  }
  if (!any_digit) throw_invalid(text);

  std::int64_t exponent = 0;
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    bool exponent_negative = false;
    if (p != end && (*p == '+' || *p == '-')) exponent_negative = *p++ == '-';
    if (p == end || static_cast<unsigned char>(*p - '0') >= 10) throw_invalid(text);
    // Saturate: past a billion the outcome (zero or out of range) no longer depends on it.
    for (; p != end && static_cast<unsigned char>(*p - '0') < 10; ++p) {
      if (exponent < 1000000000) exponent = exponent * 10 + (*p - '0');
    }
    if (exponent_negative) exponent = -exponent;
  }
  if (p != end) throw_invalid(text);

  std::int64_t scale = fraction_digits - exponent;
  if (value == 0 && !too_many_digits) {
    // Zero keeps its written scale as far as it can be held: "0.00" is 0.00, "0e-30" 0.000…
    return Decimal(0, static_cast<int>(scale < 0 ? 0 : scale > kMaxScale ? kMaxScale : scale));
  }
  if (last_nonzero_position - exponent > kMaxScale) {
    throw Error(ErrorCode::NUMERIC_OVERFLOW, "decimal " + quote(text) + " has more than " +
                                                 std::to_string(kMaxScale) + " decimal places");
  }
  if (scale > kMaxScale) {
    // Only trailing zeros lie beyond kMaxScale here (checked just above).
    pending_zeros -= scale - kMaxScale;
    scale = kMaxScale;
  } else if (scale < 0) {
    pending_zeros -= scale;
    scale = 0;
  }
  if (too_many_digits || value_digits + pending_zeros > kMaxDigits) {
    throw Error(ErrorCode::NUMERIC_OVERFLOW,
                "decimal " + quote(text) + " is out of range (more than " +
                    std::to_string(kMaxDigits) + " significant digits)");
  }
  value *= kPow10[pending_zeros];
  return Decimal(with_sign(value, negative), static_cast<int>(scale));
}

std::string Decimal::to_string() const {
  return format(magnitude(coefficient_), coefficient_ < 0, scale_);
}

// ---- Scale -------------------------------------------------------------------------------

Decimal Decimal::rescale(int new_scale, Rounding rounding) const {
  check_scale(new_scale);
  if (new_scale == scale_) return *this;
  const bool negative = coefficient_ < 0;
  const u128 m = magnitude(coefficient_);
  if (new_scale > scale_) {
    u128 scaled;
    if (__builtin_mul_overflow(m, kPow10[new_scale - scale_], &scaled) || scaled > kMaxMagnitude) {
      throw_out_of_range(to_string() + " with " + std::to_string(new_scale) + " decimals");
    }
    return Decimal(with_sign(scaled, negative), new_scale);
  }
  return Decimal(with_sign(drop_digits(m, scale_ - new_scale, negative, rounding), negative),
                 new_scale);
}

Decimal Decimal::normalized() const {
  if (coefficient_ == 0) return Decimal();
  Coefficient c = coefficient_;
  int s = scale_;
  while (s > 0 && c % 10 == 0) {
    c /= 10;
    --s;
  }
  return Decimal(c, s);
}

Decimal Decimal::operator-() const {
  return Decimal(-coefficient_, scale_);
}
Decimal Decimal::abs() const {
  return coefficient_ < 0 ? -*this : *this;
}

// ---- Arithmetic --------------------------------------------------------------------------

namespace {

// a + (negate_b ? -b : b), exact, at the larger scale; shared by + and -.
struct Sum {
  u128 magnitude;
  bool negative;
  bool overflow;
};

Sum add_aligned(i128 a, int a_scale, i128 b, int b_scale) {
  const bool a_first = a_scale < b_scale;
  const i128 small = a_first ? a : b;  // the operand with fewer decimals
  const i128 large = a_first ? b : a;
  const u128 power = kPow10[a_first ? b_scale - a_scale : a_scale - b_scale];
  // The signed fast path covers everything but an aligned magnitude past 2^127, which may
  // still cancel back into range against the other operand.
  i128 aligned, result;
  if (!__builtin_mul_overflow(small, static_cast<i128>(power), &aligned)) {
    if (__builtin_add_overflow(aligned, large, &result)) return {0, false, true};
    return {magnitude(result), result<0, magnitude(result)> kMaxMagnitude};
  }
  u128 small_magnitude;
  if (__builtin_mul_overflow(magnitude(small), power, &small_magnitude)) {
    return {0, false, true};  // ≥ 2^128 while the other side is < 10^38
  }
  // Here small_magnitude ≥ 2^127 > 10^38 > |large|, so the sign is small's either way.
  const u128 large_magnitude = magnitude(large);
  u128 total;
  if ((small < 0) == (large < 0)) {
    const bool wrapped = __builtin_add_overflow(small_magnitude, large_magnitude, &total);
    return {total, small < 0, wrapped || total > kMaxMagnitude};
  }
  total = small_magnitude - large_magnitude;
  return {total, small<0, total> kMaxMagnitude};
}

}  // namespace

Decimal operator+(const Decimal& a, const Decimal& b) {
  if (a.scale_ == b.scale_) {
    Decimal::Coefficient sum;
    if (__builtin_add_overflow(a.coefficient_, b.coefficient_, &sum) ||
        magnitude(sum) > kMaxMagnitude) {
      throw_out_of_range(describe(a, "+", b));
    }
    return Decimal(sum, a.scale_);
  }
  const Sum sum = add_aligned(a.coefficient_, a.scale_, b.coefficient_, b.scale_);
  if (sum.overflow) throw_out_of_range(describe(a, "+", b));
  return Decimal(with_sign(sum.magnitude, sum.negative), a.scale_ > b.scale_ ? a.scale_ : b.scale_);
}

Decimal operator-(const Decimal& a, const Decimal& b) {
  if (a.scale_ == b.scale_) {
    Decimal::Coefficient difference;
    if (__builtin_sub_overflow(a.coefficient_, b.coefficient_, &difference) ||
        magnitude(difference) > kMaxMagnitude) {
      throw_out_of_range(describe(a, "-", b));
    }
    return Decimal(difference, a.scale_);
  }
  const Sum sum = add_aligned(a.coefficient_, a.scale_, -b.coefficient_, b.scale_);
  if (sum.overflow) throw_out_of_range(describe(a, "-", b));
  return Decimal(with_sign(sum.magnitude, sum.negative), a.scale_ > b.scale_ ? a.scale_ : b.scale_);
}

namespace {

// n / 10^digits, truncated, in place; returns where the discarded digits lie, exactly,
// however many there are (digits ≥ 1). They go 19 at a time, the lowest first: only the last
// (most significant) group is compared with one half, and the groups before it only say
// whether anything nonzero was discarded below it, which is all that a tie needs to know.
template <int N>
Tail truncate_digits(detail::UInt<N>& n, int digits) {
  bool sticky = false;
  for (; digits > 19; digits -= 19) sticky |= detail::divide_in_place(n, kPow10Divisors[19]) != 0;
  const std::uint64_t remainder = detail::divide_in_place(n, kPow10Divisors[digits]);
  const auto half = static_cast<std::uint64_t>(kPow10[digits] / 2);  // a power of ten ≥ 10
  if (remainder == half) return sticky ? Tail::AboveHalf : Tail::Half;
  if (remainder > half) return Tail::AboveHalf;
  return remainder == 0 && !sticky ? Tail::Zero : Tail::BelowHalf;
}

std::string describe_product(const Decimal* factors, std::size_t count) {
  std::string out = factors[0].to_string();
  for (std::size_t i = 1; i < count; ++i) out += " * " + factors[i].to_string();
  return out;
}

}  // namespace

Decimal Decimal::product_of(const Decimal* factors, std::size_t count, int scale,
                            Rounding rounding) {
  check_scale(scale);
  // 1 ≤ count ≤ kMaxFactors (product_rounded checks it at compile time). Every magnitude is
  // below 10^38 < 2^127, so the exact product needs at most two 64-bit limbs per factor; a
  // multiply_in_place that reports no room would mean this reasoning broke, and it is then
  // still an error rather than a write past the array.
  using Wide = detail::UInt<2 * kMaxFactors>;
  bool negative = factors[0].coefficient_ < 0;
  int exact_scale = factors[0].scale_;
  Wide product = Wide::from(magnitude(factors[0].coefficient_));
  for (std::size_t i = 1; i < count; ++i) {
    negative ^= factors[i].coefficient_ < 0;
    exact_scale += factors[i].scale_;
    if (!detail::multiply_in_place(product, magnitude(factors[i].coefficient_)))
      throw_out_of_range(describe_product(factors, count));
  }

  const int excess = exact_scale - scale;  // decimals to round away; negative: to append
  const Tail tail = excess > 0 ? truncate_digits(product, excess) : Tail::Zero;
  if (!product.fits_u128()) throw_out_of_range(describe_product(factors, count));
  u128 result = product.low128();
  if (excess < 0 && __builtin_mul_overflow(result, kPow10[-excess], &result)) {
    throw_out_of_range(describe_product(factors, count));
  }
  // Checked before rounding too, so that the increment cannot wrap; and after it, because
  // 38 nines can round up to 10^38.
  if (result > kMaxMagnitude) throw_out_of_range(describe_product(factors, count));
  if (round_away(rounding, negative, result & 1, tail)) ++result;
  if (result > kMaxMagnitude) throw_out_of_range(describe_product(factors, count));
  return Decimal(with_sign(result, negative), scale);
}

Decimal operator*(const Decimal& a, const Decimal& b) {
  const int exact_scale = a.scale_ + b.scale_;
  const Decimal factors[] = {a, b};
  return Decimal::product_of(factors, 2,
                             exact_scale > Decimal::kMaxScale ? Decimal::kMaxScale : exact_scale,
                             Rounding::HalfEven);
}

Decimal Decimal::divide(const Decimal& divisor, int result_scale, Rounding rounding) const {
  check_scale(result_scale);
  if (divisor.coefficient_ == 0) {
    throw Error(ErrorCode::VALIDATION_ERROR, "division by zero: " + describe(*this, "/", divisor));
  }
  const bool negative = (coefficient_ < 0) != (divisor.coefficient_ < 0);
  const u128 n = magnitude(coefficient_), d = magnitude(divisor.coefficient_);
  if (n == 0) return Decimal(0, result_scale);

  // this/divisor · 10^result_scale = n · 10^shift / d, with shift in [-18, 36].
  const int shift = result_scale + divisor.scale_ - scale_;
  u128 quotient;
  Tail tail;
  if (shift >= 0) {
    u128 scaled;
    if (!__builtin_mul_overflow(n, kPow10[shift], &scaled)) {
      quotient = scaled / d;
      tail = classify(scaled % d, d);
    } else {
      U256 wide = detail::multiply(n, kPow10[shift]);
      if ((d >> 64) == 0) {
        const std::uint64_t remainder =
            detail::divide_in_place(wide, detail::Divisor(static_cast<std::uint64_t>(d)));
        if (!wide.fits_u128()) throw_out_of_range(describe(*this, "/", divisor));
        quotient = wide.low128();
        tail = classify(remainder, d);
      } else {
        if (wide.high128() >= d) throw_out_of_range(describe(*this, "/", divisor));
        u128 remainder;
        quotient = detail::divide_wide(wide, d, remainder);
        tail = classify(remainder, d);
      }
    }
  } else {
    // n / (d · 10^k) = ⌊⌊n/d⌋ / 10^k⌋, and the two remainders together place the tail exactly:
    // the discarded fraction is (r2 + r1/d) / 10^k with 0 ≤ r1/d < 1.
    const u128 power = kPow10[-shift];
    const u128 q1 = n / d, r1 = n % d;
    quotient = q1 / power;
    const u128 r2 = q1 % power, half = power / 2;
    if (r2 > half || (r2 == half && r1 != 0)) {
      tail = Tail::AboveHalf;
    } else if (r2 == half) {
      tail = Tail::Half;
    } else {
      tail = (r2 == 0 && r1 == 0) ? Tail::Zero : Tail::BelowHalf;
    }
  }
  if (quotient > kMaxMagnitude) throw_out_of_range(describe(*this, "/", divisor));
  if (round_away(rounding, negative, quotient & 1, tail)) ++quotient;
  if (quotient > kMaxMagnitude) throw_out_of_range(describe(*this, "/", divisor));
  return Decimal(with_sign(quotient, negative), result_scale);
}

int compare(const Decimal& a, const Decimal& b) {
  const int sa = a.sign(), sb = b.sign();
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  if (a.scale_ == b.scale_)
    return (a.coefficient_ > b.coefficient_) - (a.coefficient_ < b.coefficient_);
  u128 ma = magnitude(a.coefficient_), mb = magnitude(b.coefficient_);
  // Aligning can pass 2^128 only for a magnitude far beyond anything at the other scale.
  int order;
  if (a.scale_ < b.scale_) {
    order =
        __builtin_mul_overflow(ma, kPow10[b.scale_ - a.scale_], &ma) ? 1 : (ma > mb) - (ma < mb);
  } else {
    order =
        __builtin_mul_overflow(mb, kPow10[a.scale_ - b.scale_], &mb) ? -1 : (ma > mb) - (ma < mb);
  }
  return sa < 0 ? -order : order;
}

}  // namespace pgfolio
