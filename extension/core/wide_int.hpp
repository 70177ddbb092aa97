// Unsigned multi-limb integers for Decimal: just enough to hold the exact product of up to
// Decimal::kMaxFactors coefficients (or a coefficient scaled by 10^36) and divide it back down
// by powers of ten, so that an intermediate result never wraps and never rounds: only the
// final result is rounded, once, and only a final result that does not fit is an overflow.
// Internal to extension/core; not a general big-integer type.
#pragma once

#include <cstdint>

namespace pgfolio::detail {

using u128 = unsigned __int128;

// Up to N 64-bit limbs, least significant first. `size` counts the limbs in use (the highest
// of them nonzero; 0 for zero), so that a small value in a wide type costs only its own limbs.
template <int N>
struct UInt {
  std::uint64_t limb[N];
  int size;

  static UInt from(u128 value) {
    UInt n{};
    n.limb[0] = static_cast<std::uint64_t>(value);
    n.limb[1] = static_cast<std::uint64_t>(value >> 64);
    n.size = n.limb[1] != 0 ? 2 : n.limb[0] != 0 ? 1 : 0;
    return n;
  }

  bool is_zero() const { return size == 0; }
  bool fits_u128() const { return size <= 2; }
  // The low 128 bits; the whole value when fits_u128().
  u128 low128() const {
    return size == 0 ? 0 : size == 1 ? limb[0] : (static_cast<u128>(limb[1]) << 64) | limb[0];
  }
  // Bits 128..255, for divide_wide.
  u128 high128() const {
    return (size > 3 ? static_cast<u128>(limb[3]) << 64 : 0) | (size > 2 ? limb[2] : 0);
  }
};

using U256 = UInt<4>;

// n *= factor. Returns false, leaving n unspecified, when the product might not fit in N limbs;
// callers size N so that this cannot happen for the operands they allow.
template <int N>
bool multiply_in_place(UInt<N>& n, u128 factor) {
  const std::uint64_t f[2] = {static_cast<std::uint64_t>(factor),
                              static_cast<std::uint64_t>(factor >> 64)};
  const int factor_size = f[1] != 0 ? 2 : f[0] != 0 ? 1 : 0;
  if (n.size == 0 || factor_size == 0) {
    n.size = 0;
    return true;
  }
  const int size = n.size + factor_size;
  if (size > N) return false;
  // Each partial product plus a limb plus a carry is at most (2^64-1)^2 + 2(2^64-1) =
  // 2^128-1, so no step overflows 128 bits.
  if (factor_size == 1) {
    // The usual case in valuation (prices and rates have few digits): one pass, in place.
    std::uint64_t carry = 0;
    for (int i = 0; i < n.size; ++i) {
      const u128 t = static_cast<u128>(n.limb[i]) * f[0] + carry;
      n.limb[i] = static_cast<std::uint64_t>(t);
      carry = static_cast<std::uint64_t>(t >> 64);
    }
    n.limb[n.size] = carry;
  } else {
    std::uint64_t out[N] = {};
    for (int i = 0; i < n.size; ++i) {
      std::uint64_t carry = 0;
      for (int j = 0; j < 2; ++j) {
        const u128 t = static_cast<u128>(n.limb[i]) * f[j] + out[i + j] + carry;
        out[i + j] = static_cast<std::uint64_t>(t);
        carry = static_cast<std::uint64_t>(t >> 64);
      }
      out[i + 2] = carry;
    }
    for (int i = 0; i < size; ++i) n.limb[i] = out[i];
  }
  n.size = n.limb[size - 1] != 0 ? size : size - 1;
  return true;
}

// The full product of two 128-bit values.
inline U256 multiply(u128 a, u128 b) {
  U256 n = U256::from(a);
  multiply_in_place(n, b);  // 2 + 2 limbs always fit in 4
  return n;
}

// A 64-bit divisor prepared for dividing by multiplication: division instructions cost tens
// of cycles each, and a valuation divides every holding's product by 10^19 a few times.
// Möller and Granlund, "Improved division by invariant integers" (IEEE Transactions on
// Computers, 2011), algorithm 4, on the divisor shifted left until its top bit is set.
struct Divisor {
  std::uint64_t normalized;  // divisor << shift
  std::uint64_t reciprocal;  // ⌊(2^128 − 1) / normalized⌋ − 2^64
  int shift;

  constexpr explicit Divisor(std::uint64_t divisor)  // divisor != 0
      : normalized(divisor << __builtin_clzll(divisor)),
        // ⌊(2^128 − 1) / normalized⌋ lies in [2^64, 2^65): subtracting 2^64 keeps the low limb.
        reciprocal(static_cast<std::uint64_t>(
            ~static_cast<u128>(0) / (static_cast<u128>(divisor) << __builtin_clzll(divisor)))),
        shift(__builtin_clzll(divisor)) {}
};

// (high·2^64 + low) / d.normalized, given high < d.normalized so that the quotient fits in 64
// bits; the remainder goes to `remainder`.
inline std::uint64_t divide_step(std::uint64_t high, std::uint64_t low, const Divisor& d,
                                 std::uint64_t& remainder) {
  const u128 estimate =
      static_cast<u128>(d.reciprocal) * high + ((static_cast<u128>(high) << 64) | low);
  std::uint64_t q = static_cast<std::uint64_t>(estimate >> 64) + 1;
  std::uint64_t r = low - q * d.normalized;  // modulo 2^64, as the algorithm intends
  if (r > static_cast<std::uint64_t>(estimate)) {
    --q;
    r += d.normalized;
  }
  if (r >= d.normalized) {  // rare
    ++q;
    r -= d.normalized;
  }
  remainder = r;
  return q;
}

// n /= d; returns the remainder. Schoolbook division, one limb at a time from the top, on n
// shifted left by d.shift bits as it goes (the quotient of both shifted operands is the same,
// and the remainder comes out shifted).
template <int N>
std::uint64_t divide_in_place(UInt<N>& n, const Divisor& d) {
  if (n.size == 0) return 0;
  const int s = d.shift;
  std::uint64_t remainder;
  if (s == 0) {
    remainder = 0;
    for (int i = n.size - 1; i >= 0; --i)
      n.limb[i] = divide_step(remainder, n.limb[i], d, remainder);
  } else {
    // The bits shifted out of the top limb: below 2^s ≤ 2^63 ≤ d.normalized.
    remainder = n.limb[n.size - 1] >> (64 - s);
    for (int i = n.size - 1; i >= 0; --i) {
      const std::uint64_t low = (n.limb[i] << s) | (i > 0 ? n.limb[i - 1] >> (64 - s) : 0);
      n.limb[i] = divide_step(remainder, low, d, remainder);
    }
    remainder >>= s;
  }
  while (n.size > 0 && n.limb[n.size - 1] == 0) --n.size;
  return remainder;
}

// n / divisor for a divisor of any size, provided n.high128() < divisor so that the quotient
// fits in 128 bits. Restoring binary long division: slow-ish (128 steps) but only reached by
// Decimal::divide with a divisor ≥ 2^64 and a numerator ≥ 2^128, and obviously correct.
inline u128 divide_wide(const U256& n, u128 divisor, u128& remainder) {
  u128 r = n.high128();
  const u128 low = n.low128();
  u128 q = 0;
  for (int bit = 127; bit >= 0; --bit) {
    const bool carry = (r >> 127) != 0;  // the shifted-out bit makes r ≥ 2^128 > divisor
    r = (r << 1) | ((low >> bit) & 1);
    q <<= 1;
    if (carry || r >= divisor) {
      r -= divisor;
      q |= 1;
    }
  }
  remainder = r;
  return q;
}

}  // namespace pgfolio::detail
