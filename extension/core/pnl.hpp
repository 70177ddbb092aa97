// Profit and loss of a portfolio's holdings from their trades, by the average-cost method
// (and FIFO lots as a second method). Pure computation over trades the caller has loaded in
// execution order, all in the portfolio's base currency.
//
// Formulas, per holding, trades taken in order:
//   BUY q @ p, fee f:   average cost ← (average cost × held + p × q) ÷ (held + q); held += q.
//                       Fees are expenses, never part of the cost basis.
//   SELL q @ p, fee f:  realised gross += (p − average cost) × q; held −= q; the average cost
//                       is unchanged, and goes back to 0 when nothing is left (a later buy
//                       starts afresh). Selling more than is held is VALIDATION_ERROR.
//   unrealised gross  = value − cost basis = holding_value(held, current price, fx rate)
//                       − holding_cost_basis(held, average cost), the valuation's own figures
//                       (valuation.hpp), so PnL and portfolio_valuation agree to the digit.
//   fees              = the sum of every trade's fee (buys and sells).
//   net PnL           = realised gross + unrealised gross − fees.
//   Totals are the sums of the holdings' figures.
// FIFO instead keeps each buy as a lot (quantity, price); a sell takes from the oldest lots
// first, realised gross += (p − lot price) × taken per lot, and unrealised gross is the value
// of what is held minus the sum of held lot quantity × lot price (rounded once).
//
// Worked example (issue 5): BUY 10 @ 100 fee 2, BUY 10 @ 120 fee 2, SELL 5 @ 130 fee 1,
// price now 125 → average cost 110, realised gross 100, unrealised gross 225, fees 5,
// net PnL 320.
//
// Rounding (docs/money.md): the average cost is the quotient rounded once, half-even, to
// kCostScale (10) decimals, the scale of holdings.average_cost; its numerator's products are
// exact when a quantity's significant decimals plus a price's are at most 18 (trailing zeros
// do not count), else each is rounded half-even at 18 decimals first (off by at most
// 5·10^-19), which can move the average cost's last digit only on a near-tie. Each sell's realised
// gross is the exact (p − average cost) × q rounded once, half-even, to the currency's minor unit;
// unrealised gross is rounded as the valuation rounds. Fees, totals and net are exact sums.
#pragma once

#include <string>
#include <vector>

#include "decimal.hpp"

namespace pgfolio {

inline constexpr int kCostScale = 10;  // holdings.average_cost is numeric(30,10)

enum class TradeSide { Buy, Sell };
enum class CostMethod { AverageCost, Fifo };

struct PnlTrade {
  TradeSide side = TradeSide::Buy;
  Decimal quantity;  // > 0
  Decimal price;     // ≥ 0, execution price per unit, base currency
  Decimal fee;       // ≥ 0, base currency
};

struct PnlHoldingInput {
  std::string asset_id;
  std::vector<PnlTrade> trades;            // in execution order
  Decimal current_price;                   // ≥ 0, in the asset's quote currency
  Decimal fx_rate = Decimal::from_int(1);  // quote currency → base currency
};

struct PnlFigures {
  Decimal realised_gross;
  Decimal unrealised_gross;
  Decimal fees;
  Decimal net;  // realised_gross + unrealised_gross − fees
};

struct HoldingPnl {
  std::string asset_id;
  Decimal quantity;      // held after all trades
  Decimal average_cost;  // kCostScale decimals; 0 when nothing is held
  Decimal cost_basis;    // of what is held, minor unit
  Decimal value;         // of what is held at the current price, minor unit
  PnlFigures pnl;
};

struct PortfolioPnl {
  std::vector<HoldingPnl> holdings;
  PnlFigures total;
};

// The average cost after buying `quantity` at `price` on top of `held` at `average_cost`
// (the rule above); the one formula trade execution and this PnL share.
Decimal average_cost_after_buy(const Decimal& held, const Decimal& average_cost,
                               const Decimal& quantity, const Decimal& price);
// The realised gross PnL of selling `quantity` at `price` against `average_cost`: the exact
// product rounded once, half-even, to minor_unit decimals.
Decimal realised_pnl(const Decimal& quantity, const Decimal& price, const Decimal& average_cost,
                     int minor_unit);

// Throws Error(VALIDATION_ERROR) naming the asset when a sell exceeds what is held (details
// {assetId, held, requested}), or a quantity is not positive, or a price or fee is negative.
HoldingPnl holding_pnl(const PnlHoldingInput& input, int minor_unit,
                       CostMethod method = CostMethod::AverageCost);
PortfolioPnl portfolio_pnl(const std::vector<PnlHoldingInput>& holdings, int minor_unit,
                           CostMethod method = CostMethod::AverageCost);

}  // namespace pgfolio
