// Unsigned 256-bit helpers for Decimal: just enough to hold the exact product of two 128-bit
// coefficients (or a coefficient scaled by 10^36) and divide it back down, so that an
// intermediate result never wraps and only a final result that does not fit is an overflow.
// Internal to extension/core; not a general big-integer type.
#pragma once

#include <cstdint>

namespace pgfolio::detail {

using u128 = unsigned __int128;

struct U256 {
  std::uint64_t limb[4];  // least significant first

  bool fits_u128() const { return (limb[2] | limb[3]) == 0; }
  u128 low128() const { return (static_cast<u128>(limb[1]) << 64) | limb[0]; }
  u128 high128() const { return (static_cast<u128>(limb[3]) << 64) | limb[2]; }
};

// The full product; 64-bit limbs so that each partial product is one native 64×64→128 multiply.
inline U256 multiply(u128 a, u128 b) {
  const std::uint64_t a0 = static_cast<std::uint64_t>(a), a1 = static_cast<std::uint64_t>(a >> 64);
  const std::uint64_t b0 = static_cast<std::uint64_t>(b), b1 = static_cast<std::uint64_t>(b >> 64);
  const u128 p00 = static_cast<u128>(a0) * b0;
  const u128 p01 = static_cast<u128>(a0) * b1;
  const u128 p10 = static_cast<u128>(a1) * b0;
  const u128 p11 = static_cast<u128>(a1) * b1;
  // Each addend below is < 2^64, so three of them cannot overflow 128 bits; the high sum is
  // bounded by (2^64-1)^2 + 2(2^64-1) + 2 < 2^128 for the same reason.
  const u128 mid = (p00 >> 64) + static_cast<std::uint64_t>(p01) + static_cast<std::uint64_t>(p10);
  const u128 high = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
  return U256{{static_cast<std::uint64_t>(p00), static_cast<std::uint64_t>(mid),
               static_cast<std::uint64_t>(high), static_cast<std::uint64_t>(high >> 64)}};
}

// n /= divisor (divisor != 0); returns the remainder. Schoolbook division, one limb at a time.
inline std::uint64_t divide_in_place(U256& n, std::uint64_t divisor) {
  u128 remainder = 0;
  for (int i = 3; i >= 0; --i) {
    const u128 current = (remainder << 64) | n.limb[i];
    n.limb[i] = static_cast<std::uint64_t>(current / divisor);
    remainder = current % divisor;
  }
  return static_cast<std::uint64_t>(remainder);
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
