// Currency conversion through the stored FX rates.
#pragma once

#include <map>
#include <string>
#include <utility>

#include "decimal.hpp"

namespace pgfolio {

// The scale FX rates are computed at when only the inverse pair is stored. That inverse is
// the one rounding in a valuation before each figure's final one (docs/money.md): the rounded
// rate is then used as an exact factor, like a stored rate.
inline constexpr int kFxRateScale = 12;

// Rates as stored: one unit of `base` costs `rate` units of `quote`.
class FxTable {
 public:
  void add(const std::string& base, const std::string& quote, const Decimal& rate);

  // How many units of `to` one unit of `from` is worth: 1 for the same currency, the stored
  // pair, or the inverse of the opposite pair (rounded half-even to kFxRateScale decimals).
  // Throws Error(MISSING_FX_RATE) naming the pair when neither is stored.
  Decimal rate(const std::string& from, const std::string& to) const;

 private:
  std::map<std::pair<std::string, std::string>, Decimal> rates_;
};

}  // namespace pgfolio
