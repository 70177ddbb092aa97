// Portfolio valuation: what a portfolio is worth in its base currency, what it cost, and how
// it is spread over the three layers. Pure computation over inputs the caller has loaded.
//
// Rounding (docs/money.md): each holding's value and cost basis are exact products rounded
// once, half-even, to the base currency's minor unit, and totals are sums of those rounded
// figures, so the lines of a statement always add up to its total. Percentages have two
// decimals, rounded half-even. The only other rounding is an FX rate taken from the inverse
// of the opposite pair (fx.hpp).
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "decimal.hpp"
#include "fx.hpp"

namespace pgfolio {

enum class Layer { Foundation, Growth, Upside };
inline constexpr std::array<Layer, 3> kLayers = {Layer::Foundation, Layer::Growth, Layer::Upside};

const char* layer_name(Layer layer);  // "FOUNDATION", ...
Layer parse_layer(const std::string& name);

inline constexpr int kPercentScale = 2;

struct HoldingInput {
  std::string asset_id;
  Layer layer = Layer::Foundation;
  std::string quote_currency;
  Decimal quantity;
  Decimal average_cost;  // per unit, in the portfolio's base currency
  Decimal frozen_quantity;
  std::optional<Decimal> price;  // in quote_currency; missing is an error, never a zero
  std::string price_as_of;       // ISO 8601 UTC, so that text order is time order
};

struct PortfolioInput {
  std::string base_currency;
  int minor_unit = 2;
  Decimal cash;
  std::vector<HoldingInput> holdings;
};

struct HoldingValuation {
  const HoldingInput* input = nullptr;
  Decimal fx_rate;  // quote currency -> base currency
  Decimal value;
  Decimal cost_basis;
  Decimal unrealized_pnl;
  std::optional<Decimal> unrealized_pnl_pct;  // none when the cost basis is zero
};

struct LayerAllocation {
  Layer layer;
  Decimal value;
  Decimal percent;  // of the holdings value, cash excluded
};

struct Valuation {
  std::string base_currency;
  Decimal cash;
  Decimal holdings_value;
  Decimal total_value;
  Decimal cost_basis;
  Decimal unrealized_pnl;
  std::optional<Decimal> return_pct;
  std::array<LayerAllocation, 3> allocation;
  std::string oldest_price_as_of;  // empty when there are no holdings
  std::vector<HoldingValuation> holdings;
};

// The value of `quantity` units at `price` (quote currency) in the base currency: the exact
// product quantity × price × fx_rate, rounded once, half-even, to minor_unit decimals. The
// one formula the single and batch valuations share.
Decimal holding_value(const Decimal& quantity, const Decimal& price, const Decimal& fx_rate,
                      int minor_unit);
// What `quantity` units cost at `average_cost` (base currency) each: the exact product,
// rounded once, half-even, to minor_unit decimals.
Decimal holding_cost_basis(const Decimal& quantity, const Decimal& average_cost, int minor_unit);

// Throws Error(MISSING_PRICE) naming the asset when a holding has no price, and
// Error(MISSING_FX_RATE) naming the pair when a conversion is impossible.
Valuation value_portfolio(const PortfolioInput& input, const FxTable& fx);

// percent = part / whole × 100 with kPercentScale decimals; none when whole is zero.
std::optional<Decimal> percent_of(const Decimal& part, const Decimal& whole);

// A JSON document received as a sequence of events. write_valuation describes the valuation
// document once; a sink turns it into text (valuation_json) or, inside PostgreSQL, straight
// into jsonb, without printing text and parsing it again. Views passed to a sink are valid
// only during the call.
class JsonSink {
 public:
  virtual ~JsonSink() = default;
  virtual void begin_object() = 0;
  virtual void end_object() = 0;
  virtual void begin_array() = 0;
  virtual void end_array() = 0;
  virtual void key(std::string_view name) = 0;
  virtual void string(std::string_view value) = 0;
  virtual void null() = 0;
};

// The valuation as the JSON object pgfolio.portfolio_valuation returns (docs/data-model.md):
// money, prices and quantities as decimal strings, never JSON numbers.
void write_valuation(const Valuation& valuation, JsonSink& sink);
std::string valuation_json(const Valuation& valuation);  // the same document as text

}  // namespace pgfolio
