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
  return Decimal::product_rounded({quantity, price, fx_rate}, minor_unit);
}

Decimal holding_cost_basis(const Decimal& quantity, const Decimal& average_cost, int minor_unit) {
  return Decimal::product_rounded({quantity, average_cost}, minor_unit);
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
    hv.cost_basis = holding_cost_basis(h.quantity, h.average_cost, input.minor_unit);
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

// Small helpers so that write_valuation reads like the document it writes.
class Writer {
 public:
  explicit Writer(JsonSink& sink) : sink_(sink) {}
  void text(std::string_view name, std::string_view value) {
    sink_.key(name);
    sink_.string(value);
  }
  void decimal(std::string_view name, const Decimal& value) { text(name, value.to_string()); }
  // Quantities, prices and rates are shown without trailing zeros: "10", not
  // "10.000000000000000000".
  void quantity(std::string_view name, const Decimal& value) {
    text(name, value.normalized().to_string());
  }
  void optional_decimal(std::string_view name, const std::optional<Decimal>& value) {
    if (value) return decimal(name, *value);
    sink_.key(name);
    sink_.null();
  }
  JsonSink& sink() { return sink_; }

 private:
  JsonSink& sink_;
};

// JSON text. Strings are escaped as RFC 8259 requires; nothing else needs it here.
class TextSink final : public JsonSink {
 public:
  void begin_object() override { open('{'); }
  void end_object() override { close('}'); }
  void begin_array() override { open('['); }
  void end_array() override { close(']'); }
  void key(std::string_view name) override {
    separate();
    quoted(name);
    out_ += ':';
    after_key_ = true;
  }
  void string(std::string_view value) override {
    separate();
    quoted(value);
  }
  void null() override {
    separate();
    out_ += "null";
  }
  std::string take() { return std::move(out_); }

 private:
  void open(char bracket) {
    separate();
    out_ += bracket;
    first_ = true;
  }
  void close(char bracket) {
    out_ += bracket;
    first_ = false;
  }
  // A comma before every member or element but the first of its container.
  void separate() {
    if (after_key_) {
      after_key_ = false;
    } else if (!first_) {
      out_ += ',';
    }
    first_ = false;
  }
  void quoted(std::string_view text) {
    out_ += '"';
    for (char c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (c == '"' || c == '\\') {
        out_ += '\\';
        out_ += c;
      } else if (u < 0x20) {
        static const char kHex[] = "0123456789abcdef";
        out_ += "\\u00";
        out_ += kHex[u >> 4];
        out_ += kHex[u & 0xf];
      } else {
        out_ += c;
      }
    }
    out_ += '"';
  }

  std::string out_;
  bool first_ = true;
  bool after_key_ = false;
};

}  // namespace

void write_valuation(const Valuation& v, JsonSink& sink) {
  Writer w(sink);
  sink.begin_object();
  w.text("baseCurrency", v.base_currency);
  w.decimal("cash", v.cash);
  w.decimal("holdingsValue", v.holdings_value);
  w.decimal("totalValue", v.total_value);
  w.decimal("costBasis", v.cost_basis);
  w.decimal("unrealizedPnl", v.unrealized_pnl);
  w.optional_decimal("returnPercent", v.return_pct);

  sink.key("allocation");
  sink.begin_object();
  for (const auto& layer : v.allocation) {
    sink.key(layer_name(layer.layer));
    sink.begin_object();
    w.decimal("value", layer.value);
    w.decimal("percent", layer.percent);
    sink.end_object();
  }
  sink.end_object();

  sink.key("oldestPriceAsOf");
  if (v.oldest_price_as_of.empty())
    sink.null();
  else
    sink.string(v.oldest_price_as_of);

  sink.key("holdings");
  sink.begin_array();
  for (const HoldingValuation& hv : v.holdings) {
    const HoldingInput& h = *hv.input;
    sink.begin_object();
    w.text("assetId", h.asset_id);
    w.text("layer", layer_name(h.layer));
    w.quantity("quantity", h.quantity);
    w.quantity("frozenQuantity", h.frozen_quantity);
    w.quantity("price", *h.price);
    w.text("priceCurrency", h.quote_currency);
    w.text("priceAsOf", h.price_as_of);
    w.quantity("fxRate", hv.fx_rate);
    w.decimal("value", hv.value);
    w.quantity("averageCost", h.average_cost);
    w.decimal("costBasis", hv.cost_basis);
    w.decimal("unrealizedPnl", hv.unrealized_pnl);
    w.optional_decimal("unrealizedPnlPercent", hv.unrealized_pnl_pct);
    sink.end_object();
  }
  sink.end_array();
  sink.end_object();
}

std::string valuation_json(const Valuation& v) {
  TextSink sink;
  write_valuation(v, sink);
  return sink.take();
}

}  // namespace pgfolio
