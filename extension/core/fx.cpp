#include "fx.hpp"

#include "error.hpp"

namespace pgfolio {

void FxTable::add(const std::string& base, const std::string& quote, const Decimal& rate) {
  rates_[{base, quote}] = rate;
}

Decimal FxTable::rate(const std::string& from, const std::string& to) const {
  if (from == to) return Decimal::from_int(1);
  if (auto direct = rates_.find({from, to}); direct != rates_.end()) return direct->second;
  if (auto inverse = rates_.find({to, from}); inverse != rates_.end())
    return Decimal::from_int(1).divide(inverse->second, kFxRateScale);
  throw Error(ErrorCode::MISSING_FX_RATE, "no FX rate for " + from + "/" + to,
              R"({"base":")" + from + R"(","quote":")" + to + R"("})");
}

}  // namespace pgfolio
