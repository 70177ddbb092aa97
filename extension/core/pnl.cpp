#include "pnl.hpp"

#include <deque>
#include <nlohmann/json.hpp>

#include "error.hpp"
#include "valuation.hpp"

namespace pgfolio {

Decimal average_cost_after_buy(const Decimal& held, const Decimal& average_cost,
                               const Decimal& quantity, const Decimal& price) {
  const Decimal new_held = held + quantity;
  if (new_held.is_zero()) return Decimal::from_int(0).rescale(kCostScale);
  // operator* rounds a product at 18 decimals, which loses nothing unless the factors'
  // significant decimals add up to more than 18 (pnl.hpp, "Rounding").
  const Decimal spent = held * average_cost + quantity * price;
  return spent.divide(new_held, kCostScale);
}

Decimal realised_pnl(const Decimal& quantity, const Decimal& price, const Decimal& average_cost,
                     int minor_unit) {
  return Decimal::product_rounded({price - average_cost, quantity}, minor_unit);
}

namespace {

struct Lot {
  Decimal quantity;
  Decimal price;
};

void check_trade(const std::string& asset_id, const PnlTrade& t) {
  const Decimal zero;
  if (t.quantity <= zero)
    throw Error(ErrorCode::VALIDATION_ERROR,
                "a trade quantity of asset " + asset_id + " must be positive",
                nlohmann::json{{"assetId", asset_id}}.dump());
  if (t.price < zero || t.fee < zero)
    throw Error(ErrorCode::VALIDATION_ERROR,
                "a trade price or fee of asset " + asset_id + " must not be negative",
                nlohmann::json{{"assetId", asset_id}}.dump());
}

[[noreturn]] void oversell(const std::string& asset_id, const Decimal& held,
                           const Decimal& requested) {
  throw Error(ErrorCode::VALIDATION_ERROR,
              "cannot sell " + requested.normalized().to_string() + " of asset " + asset_id +
                  ": only " + held.normalized().to_string() + " held",
              nlohmann::json{{"assetId", asset_id},
                             {"held", held.normalized().to_string()},
                             {"requested", requested.normalized().to_string()}}
                  .dump());
}

}  // namespace

HoldingPnl holding_pnl(const PnlHoldingInput& input, int minor_unit, CostMethod method) {
  const Decimal money_zero = Decimal::from_int(0).rescale(minor_unit);
  const Decimal cost_zero = Decimal::from_int(0).rescale(kCostScale);
  HoldingPnl h;
  h.asset_id = input.asset_id;
  h.average_cost = cost_zero;
  h.pnl.realised_gross = h.pnl.fees = money_zero;
  std::deque<Lot> lots;  // FIFO only

  for (const PnlTrade& t : input.trades) {
    check_trade(input.asset_id, t);
    h.pnl.fees += t.fee;
    if (t.side == TradeSide::Buy) {
      h.average_cost = average_cost_after_buy(h.quantity, h.average_cost, t.quantity, t.price);
      h.quantity += t.quantity;
      lots.push_back({t.quantity, t.price});
      continue;
    }
    if (t.quantity > h.quantity) oversell(input.asset_id, h.quantity, t.quantity);
    if (method == CostMethod::AverageCost) {
      h.pnl.realised_gross += realised_pnl(t.quantity, t.price, h.average_cost, minor_unit);
    } else {
      Decimal left = t.quantity;
      while (!left.is_zero()) {
        Lot& lot = lots.front();
        const Decimal taken = lot.quantity < left ? lot.quantity : left;
        h.pnl.realised_gross += realised_pnl(taken, t.price, lot.price, minor_unit);
        lot.quantity -= taken;
        left -= taken;
        if (lot.quantity.is_zero()) lots.pop_front();
      }
    }
    h.quantity -= t.quantity;
    if (h.quantity.is_zero()) h.average_cost = cost_zero;
  }

  h.value = holding_value(h.quantity, input.current_price, input.fx_rate, minor_unit);
  if (method == CostMethod::AverageCost) {
    h.cost_basis = holding_cost_basis(h.quantity, h.average_cost, minor_unit);
  } else {
    // The lots' cost summed at full precision (each product exact to 18 decimals, as for the
    // average cost), then rounded once to the minor unit like any cost basis.
    Decimal cost;
    for (const Lot& lot : lots) cost += lot.quantity * lot.price;
    h.cost_basis = cost.rescale(minor_unit);
  }
  h.pnl.unrealised_gross = h.value - h.cost_basis;
  h.pnl.net = h.pnl.realised_gross + h.pnl.unrealised_gross - h.pnl.fees;
  return h;
}

PortfolioPnl portfolio_pnl(const std::vector<PnlHoldingInput>& holdings, int minor_unit,
                           CostMethod method) {
  PortfolioPnl p;
  const Decimal zero = Decimal::from_int(0).rescale(minor_unit);
  p.total = {zero, zero, zero, zero};
  p.holdings.reserve(holdings.size());
  for (const PnlHoldingInput& input : holdings) {
    p.holdings.push_back(holding_pnl(input, minor_unit, method));
    const PnlFigures& f = p.holdings.back().pnl;
    p.total.realised_gross += f.realised_gross;
    p.total.unrealised_gross += f.unrealised_gross;
    p.total.fees += f.fees;
    p.total.net += f.net;
  }
  return p;
}

}  // namespace pgfolio
