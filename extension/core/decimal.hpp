// Decimal: pgfolio's exact fixed-point number for money, prices, quantities and rates.
//
// A value is coefficient × 10^-scale with a signed 128-bit coefficient and 0 ≤ scale ≤
// kMaxScale, so every decimal string of up to 38 significant digits is held exactly and
// nothing ever passes through binary floating point. Arithmetic is exact when the result
// fits; a result that cannot fit raises pgfolio::Error(NUMERIC_OVERFLOW) — never a silent wrap.
//
// The one rounding rule (docs/money.md): wherever a result must lose digits (a product with
// more decimals than it is kept at, a quotient, a rescale to a currency's minor unit), it
// rounds half to even unless the caller names another Rounding on purpose (a trade's
// quantity, for example, rounds down so that it never spends more than it has). A chain of
// multiplications that ends in a rounded figure is one product_rounded(), so that it rounds
// once: rounding each partial product and then the result can land on the wrong side of a tie.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace pgfolio {

enum class Rounding {
  HalfEven,  // ties to the even neighbour: the default everywhere
  HalfUp,    // ties away from zero
  Down,      // toward zero (truncate)
  Up,        // away from zero
  Floor,     // toward negative infinity
  Ceiling,   // toward positive infinity
};

class Decimal {
 public:
  using Coefficient = __int128;
  static constexpr int kMaxScale = 18;
  static constexpr int kMaxDigits = 38;          // significant digits a coefficient always holds
  static constexpr std::size_t kMaxFactors = 4;  // of one product_rounded()

  constexpr Decimal() = default;  // zero with scale 0

  // Exact constructors. from_coefficient(12345, 2) is 123.45. Throws on a scale outside
  // [0, kMaxScale].
  static Decimal from_coefficient(Coefficient coefficient, int scale);
  static Decimal from_int(std::int64_t value);

  // Parses the decimal text PostgreSQL's numeric_out and JSON clients write: optional sign,
  // digits, optional fraction, optional exponent ("1.5e3"); surrounding spaces are not
  // allowed. NaN, Infinity, an empty string, more than kMaxDigits significant digits, or more
  // than kMaxScale decimals (after dropping trailing zeros) throw
  // pgfolio::Error(VALIDATION_ERROR or NUMERIC_OVERFLOW) naming the text.
  static Decimal parse(std::string_view text);

  // Plain decimal text with exactly scale() decimals: "-12.3400", "0", "0.05". No exponent.
  std::string to_string() const;

  Coefficient coefficient() const { return coefficient_; }
  int scale() const { return scale_; }
  int sign() const { return (coefficient_ > 0) - (coefficient_ < 0); }
  bool is_zero() const { return coefficient_ == 0; }

  // The same value with exactly new_scale decimals, rounded by `rounding` when digits drop.
  Decimal rescale(int new_scale, Rounding rounding = Rounding::HalfEven) const;
  // The same value with trailing fractional zeros removed (scale as small as possible).
  Decimal normalized() const;

  Decimal operator-() const;
  Decimal abs() const;

  // Sum and difference are exact, at the larger scale of the two.
  friend Decimal operator+(const Decimal& a, const Decimal& b);
  friend Decimal operator-(const Decimal& a, const Decimal& b);
  // The product is exact at scale a.scale()+b.scale() when that is ≤ kMaxScale, else rounded
  // half-even to kMaxScale: product_rounded({a, b}, min(a.scale()+b.scale(), kMaxScale)).
  // Intermediate products are computed wide, so only a result that does not fit throws.
  // Multiplying that result again and rounding it is a second rounding: use product_rounded.
  friend Decimal operator*(const Decimal& a, const Decimal& b);
  // The exact product of all `factors`, rounded once by `rounding` to exactly `scale`
  // decimals: Decimal::product_rounded({quantity, price, fx_rate}, 2). However many decimals
  // the exact product has (up to 4 × kMaxScale), no digit of it is lost before that one
  // rounding. Throws pgfolio::Error(NUMERIC_OVERFLOW) when the rounded result needs more than
  // kMaxDigits digits, and VALIDATION_ERROR for a scale outside [0, kMaxScale]. The number of
  // factors is checked at compile time; 1 to kMaxFactors.
  template <std::size_t N>
  static Decimal product_rounded(const Decimal (&factors)[N], int scale,
                                 Rounding rounding = Rounding::HalfEven) {
    static_assert(N >= 1 && N <= kMaxFactors, "product_rounded takes 1 to kMaxFactors factors");
    return product_of(factors, N, scale, rounding);
  }

  Decimal& operator+=(const Decimal& other) { return *this = *this + other; }
  Decimal& operator-=(const Decimal& other) { return *this = *this - other; }
  Decimal& operator*=(const Decimal& other) { return *this = *this * other; }

  // this / divisor with exactly result_scale decimals, rounded by `rounding`.
  // Throws pgfolio::Error(VALIDATION_ERROR) on division by zero.
  Decimal divide(const Decimal& divisor, int result_scale,
                 Rounding rounding = Rounding::HalfEven) const;

  // Comparisons are by value: 1.50 == 1.5.
  friend int compare(const Decimal& a, const Decimal& b);
  friend bool operator==(const Decimal& a, const Decimal& b) { return compare(a, b) == 0; }
  friend bool operator!=(const Decimal& a, const Decimal& b) { return compare(a, b) != 0; }
  friend bool operator<(const Decimal& a, const Decimal& b) { return compare(a, b) < 0; }
  friend bool operator<=(const Decimal& a, const Decimal& b) { return compare(a, b) <= 0; }
  friend bool operator>(const Decimal& a, const Decimal& b) { return compare(a, b) > 0; }
  friend bool operator>=(const Decimal& a, const Decimal& b) { return compare(a, b) >= 0; }

 private:
  constexpr Decimal(Coefficient coefficient, int scale)
      : coefficient_(coefficient), scale_(scale) {}
  static Decimal product_of(const Decimal* factors, std::size_t count, int scale,
                            Rounding rounding);

  Coefficient coefficient_ = 0;
  int scale_ = 0;
};

}  // namespace pgfolio
