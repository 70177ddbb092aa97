#include "valuation.hpp"

#include <nlohmann/json.hpp>

#include "error.hpp"
#include "interrupts.hpp"

namespace pgfolio {

const char* layer_name(Layer layer) {
  switch (layer) {
    case Layer::Foundation:
      return "FOUNDATION";
    case Layer::Growth:
      return "GROWTH";
    case Layer::Upside:
      return "UPSIDE";
  }
  return "?";
}

Layer parse_layer(const std::string& name) {
  for (Layer layer : kLayers)
    if (name == layer_name(layer)) return layer;
  throw Error(ErrorCode::VALIDATION_ERROR, "unknown layer \"" + name + "\"");
}

Decimal holding_value(const Decimal& quantity, const Decimal& price, const Decimal& fx_rate,
                      int minor_unit) {
  return (quantity * price * fx_rate).rescale(minor_unit);
}

std::optional<Decimal> percent_of(const Decimal& part, const Decimal& whole) {
  if (whole.is_zero()) return std::nullopt;
  return (part * Decimal::from_int(100)).divide(whole, kPercentScale);
}

Valuation value_portfolio(const PortfolioInput& input, const FxTable& fx) {
  Valuation v;
  v.base_currency = input.base_currency;
  v.cash = input.cash.rescale(input.minor_unit);
  Decimal zero = Decimal::from_int(0).rescale(input.minor_unit);
  v.holdings_value = v.cost_basis = zero;
  for (std::size_t i = 0; i < kLayers.size(); ++i) v.allocation[i] = {kLayers[i], zero, {}};

  v.holdings.reserve(input.holdings.size());
  for (const HoldingInput& h : input.holdings) {
    check_interrupts();
    if (!h.price)
      throw Error(ErrorCode::MISSING_PRICE, "no price for asset " + h.asset_id,
                  nlohmann::json{{"assetId", h.asset_id}}.dump());
    HoldingValuation hv;
    hv.input = &h;
    hv.fx_rate = fx.rate(h.quote_currency, input.base_currency);
    hv.value = holding_value(h.quantity, *h.price, hv.fx_rate, input.minor_unit);
    hv.cost_basis = (h.quantity * h.average_cost).rescale(input.minor_unit);
    hv.unrealized_pnl = hv.value - hv.cost_basis;
    hv.unrealized_pnl_pct = percent_of(hv.unrealized_pnl, hv.cost_basis);
    v.holdings_value += hv.value;
    v.cost_basis += hv.cost_basis;
    v.allocation[static_cast<int>(h.layer)].value += hv.value;
    if (v.oldest_price_as_of.empty() || h.price_as_of < v.oldest_price_as_of)
      v.oldest_price_as_of = h.price_as_of;
    v.holdings.push_back(hv);
  }
  v.total_value = v.cash + v.holdings_value;
  v.unrealized_pnl = v.holdings_value - v.cost_basis;
  v.return_pct = percent_of(v.unrealized_pnl, v.cost_basis);
  for (auto& layer : v.allocation)
    layer.percent = percent_of(layer.value, v.holdings_value)
                        .value_or(Decimal::from_int(0).rescale(kPercentScale));
  return v;
}

namespace {
nlohmann::json optional_text(const std::optional<Decimal>& d) {
  return d ? nlohmann::json(d->to_string()) : nlohmann::json(nullptr);
}
}  // namespace

std::string valuation_json(const Valuation& v) {
  nlohmann::json holdings = nlohmann::json::array();
  for (const HoldingValuation& hv : v.holdings) {
    const HoldingInput& h = *hv.input;
    holdings.push_back({{"assetId", h.asset_id},
                        {"layer", layer_name(h.layer)},
                        {"quantity", h.quantity.normalized().to_string()},
                        {"frozenQuantity", h.frozen_quantity.normalized().to_string()},
                        {"price", h.price->normalized().to_string()},
                        {"priceCurrency", h.quote_currency},
                        {"priceAsOf", h.price_as_of},
                        {"fxRate", hv.fx_rate.normalized().to_string()},
                        {"value", hv.value.to_string()},
                        {"averageCost", h.average_cost.normalized().to_string()},
                        {"costBasis", hv.cost_basis.to_string()},
                        {"unrealizedPnl", hv.unrealized_pnl.to_string()},
                        {"unrealizedPnlPercent", optional_text(hv.unrealized_pnl_pct)}});
  }
  nlohmann::json allocation = nlohmann::json::object();
  for (const auto& layer : v.allocation)
    allocation[layer_name(layer.layer)] = {{"value", layer.value.to_string()},
                                           {"percent", layer.percent.to_string()}};
  nlohmann::json result = {
      {"baseCurrency", v.base_currency},
      {"cash", v.cash.to_string()},
      {"holdingsValue", v.holdings_value.to_string()},
      {"totalValue", v.total_value.to_string()},
      {"costBasis", v.cost_basis.to_string()},
      {"unrealizedPnl", v.unrealized_pnl.to_string()},
      {"returnPercent", optional_text(v.return_pct)},
      {"allocation", allocation},
      {"oldestPriceAsOf",
       v.oldest_price_as_of.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.oldest_price_as_of)},
      {"holdings", holdings}};
  return result.dump();
}

}  // namespace pgfolio
