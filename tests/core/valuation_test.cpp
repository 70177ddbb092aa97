// Valuation math (extension/core/valuation, fx): the rounding rule, FX conversion and its
// errors, totals, allocation and the JSON the SQL function returns.
#include "valuation.hpp"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "error.hpp"
#include "fx.hpp"

namespace pgfolio {
namespace {

Decimal D(std::string_view text) {
  return Decimal::parse(text);
}

// Compares by text so that the scale is checked too: 1248.75 and 1248.750 are different
// answers for a value that must have exactly the currency's minor unit.
#define EXPECT_DECIMAL(actual, expected_text) EXPECT_EQ((actual).to_string(), expected_text)

// Runs `statement`, which must throw pgfolio::Error with `expected_code`; returns the error so
// the caller can check what it names.
template <typename Statement>
Error expect_error(Statement statement, ErrorCode expected_code) {
  try {
    statement();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), expected_code) << error.what();
    return error;
  } catch (const std::exception& error) {
    ADD_FAILURE() << "threw a non-pgfolio error: " << error.what();
    return Error(ErrorCode::INTERNAL_ERROR, "wrong exception");
  }
  ADD_FAILURE() << "did not throw";
  return Error(ErrorCode::INTERNAL_ERROR, "no exception");
}

HoldingInput holding(std::string asset_id, Layer layer, std::string currency,
                     std::string_view quantity, std::string_view price,
                     std::string_view average_cost, std::string price_as_of) {
  HoldingInput h;
  h.asset_id = std::move(asset_id);
  h.layer = layer;
  h.quote_currency = std::move(currency);
  h.quantity = D(quantity);
  h.average_cost = D(average_cost);
  h.frozen_quantity = D("0");
  h.price = D(price);
  h.price_as_of = std::move(price_as_of);
  return h;
}

FxTable usd_inr() {
  FxTable fx;
  fx.add("USD", "INR", D("83.25"));
  return fx;
}

// ---- holding_value: the one formula both valuations use ----------------------------------

TEST(HoldingValue, MultipliesQuantityPriceAndRateExactly) {
  EXPECT_DECIMAL(holding_value(D("10"), D("1.5"), D("83.25"), 2), "1248.75");
  EXPECT_DECIMAL(holding_value(D("0.001"), D("2500000"), D("1"), 2), "2500.00");
}

TEST(HoldingValue, RoundsHalfToEvenAtTheMinorUnit) {
  // Ties go to the even neighbour; half-up would give 0.13 and 0.03 here.
  EXPECT_DECIMAL(holding_value(D("1"), D("0.125"), D("1"), 2), "0.12");
  EXPECT_DECIMAL(holding_value(D("1"), D("0.135"), D("1"), 2), "0.14");
  EXPECT_DECIMAL(holding_value(D("5"), D("0.005"), D("1"), 2), "0.02");   // 0.025
  EXPECT_DECIMAL(holding_value(D("1"), D("0.0251"), D("1"), 2), "0.03");  // not a tie
  // A currency with no minor unit (JPY) rounds to whole units.
  EXPECT_DECIMAL(holding_value(D("1"), D("2.5"), D("1"), 0), "2");
  EXPECT_DECIMAL(holding_value(D("1"), D("3.5"), D("1"), 0), "4");
  // The tie can come from the FX rate: 3 × 0.5 × 0.75 = 1.125.
  EXPECT_DECIMAL(holding_value(D("3"), D("0.5"), D("0.75"), 2), "1.12");
}

TEST(HoldingValue, RoundsTheExactProductOnce) {
  // The reported defect: 1.000000000000000001 × 0.005 INR is 0.005000000000000000005, above
  // the tie, so 0.01; rounding the partial product to 18 decimals first made it an exact tie
  // and half-even then gave 0.00.
  EXPECT_DECIMAL(holding_value(D("1.000000000000000001"), D("0.005"), D("1"), 2), "0.01");
  // 0.0050000000000000000001: decided by the 22nd decimal.
  EXPECT_DECIMAL(holding_value(D("50.000000000000000001"), D("0.0001"), D("1"), 2), "0.01");
  // The tail can come from the FX rate too: 0.0025000000000000000050 × 2.
  EXPECT_DECIMAL(holding_value(D("1.000000000000000002"), D("0.0025"), D("2"), 2), "0.01");
  EXPECT_DECIMAL(holding_value(D("2"), D("0.0025"), D("1.000000000000000001"), 2), "0.01");
  // Operands at their columns' full scales: numeric(38,18) × numeric(30,10) × numeric(30,12).
  EXPECT_DECIMAL(holding_value(D("123456789.123456789123456789"), D("98765.4321098765"),
                               D("83.250000000001"), 2),
                 "1015089155129298.43");
  // An exact tie stays a tie, however many trailing zeros the columns add.
  EXPECT_DECIMAL(
      holding_value(D("1.000000000000000000"), D("0.0050000000"), D("1.000000000000"), 2), "0.00");
}

TEST(HoldingValue, OverflowIsAnErrorNotAWrap) {
  expect_error(
      [] {
        holding_value(D("99999999999999999999.999999999999999999"),
                      D("99999999999999999999.9999999999"), D("1"), 2);
      },
      ErrorCode::NUMERIC_OVERFLOW);
}

TEST(HoldingCostBasis, RoundsTheExactProductOnce) {
  EXPECT_DECIMAL(holding_cost_basis(D("1.000000000000000001"), D("0.005"), 2), "0.01");
  EXPECT_DECIMAL(holding_cost_basis(D("50.000000000000000001"), D("0.0001"), 2), "0.01");
  EXPECT_DECIMAL(holding_cost_basis(D("1"), D("0.125"), 2), "0.12");  // an exact tie
  EXPECT_DECIMAL(holding_cost_basis(D("3"), D("2.5"), 0), "8");       // 7.5, JPY
  expect_error([] { holding_cost_basis(D("99999999999999999999"), D("10000000000000000000"), 0); },
               ErrorCode::NUMERIC_OVERFLOW);
}

// ---- FX -------------------------------------------------------------------------------------

TEST(FxTable, SameCurrencyIsOne) {
  EXPECT_DECIMAL(FxTable().rate("INR", "INR"), "1");
}

TEST(FxTable, StoredPairIsUsedAsIs) {
  EXPECT_DECIMAL(usd_inr().rate("USD", "INR"), "83.25");
}

TEST(FxTable, OppositePairIsInvertedHalfEvenAtTwelveDecimals) {
  EXPECT_DECIMAL(usd_inr().rate("INR", "USD"), "0.012012012012");
  FxTable fx;
  fx.add("EUR", "USD", D("3"));
  EXPECT_DECIMAL(fx.rate("USD", "EUR"), "0.333333333333");
  fx.add("GBP", "USD", D("1.6"));  // 1 / 1.6 = 0.625: exact, padded to the rate scale
  EXPECT_DECIMAL(fx.rate("USD", "GBP"), "0.625000000000");
}

TEST(FxTable, StoredPairWinsOverTheInverseOfItsOpposite) {
  FxTable fx = usd_inr();
  fx.add("INR", "USD", D("0.012"));
  EXPECT_DECIMAL(fx.rate("INR", "USD"), "0.012");
}

TEST(FxTable, MissingPairIsAnErrorNamingBothCurrencies) {
  Error error = expect_error([] { usd_inr().rate("EUR", "INR"); }, ErrorCode::MISSING_FX_RATE);
  EXPECT_NE(std::string(error.what()).find("EUR/INR"), std::string::npos) << error.what();
  auto details = nlohmann::json::parse(error.details_json());
  EXPECT_EQ(details["base"], "EUR");
  EXPECT_EQ(details["quote"], "INR");
}

// ---- percent_of -----------------------------------------------------------------------------

TEST(PercentOf, HasTwoDecimalsRoundedHalfEven) {
  EXPECT_DECIMAL(*percent_of(D("1"), D("3")), "33.33");
  EXPECT_DECIMAL(*percent_of(D("2"), D("3")), "66.67");
  EXPECT_DECIMAL(*percent_of(D("1"), D("8")), "12.50");
  EXPECT_DECIMAL(*percent_of(D("1"), D("8000")), "0.01");  // 0.0125: tie, down to even
  EXPECT_DECIMAL(*percent_of(D("3"), D("8000")), "0.04");  // 0.0375: tie, up to even
  EXPECT_DECIMAL(*percent_of(D("-25"), D("200")), "-12.50");
}

TEST(PercentOf, IsNoneOfZero) {
  EXPECT_FALSE(percent_of(D("5"), D("0.00")).has_value());
}

// ---- value_portfolio ------------------------------------------------------------------------

PortfolioInput sample_portfolio() {
  PortfolioInput p;
  p.base_currency = "INR";
  p.minor_unit = 2;
  p.cash = D("1000.005");  // rounds half-even to 1000.00
  p.holdings.push_back(holding("GOLD", Layer::Foundation, "INR", "2", "6000", "5500",
                               "2024-05-01T10:00:00.000000Z"));
  p.holdings.push_back(
      holding("AAPL", Layer::Growth, "USD", "10", "1.5", "100", "2024-05-01T09:30:00.000000Z"));
  p.holdings.push_back(holding("BTC", Layer::Upside, "INR", "0.001", "2500000", "3000000",
                               "2024-05-01T11:00:00.000000Z"));
  return p;
}

TEST(ValuePortfolio, ValuesEachHoldingInTheBaseCurrency) {
  PortfolioInput input = sample_portfolio();
  Valuation v = value_portfolio(input, usd_inr());
  ASSERT_EQ(v.holdings.size(), 3u);
  EXPECT_DECIMAL(v.holdings[0].value, "12000.00");
  EXPECT_DECIMAL(v.holdings[0].fx_rate, "1");
  EXPECT_DECIMAL(v.holdings[1].value, "1248.75");  // 10 × 1.5 USD × 83.25
  EXPECT_DECIMAL(v.holdings[1].fx_rate, "83.25");
  EXPECT_DECIMAL(v.holdings[2].value, "2500.00");
  EXPECT_EQ(v.holdings[1].input, &input.holdings[1]);
}

TEST(ValuePortfolio, CostBasisPnlAndPercentPerHolding) {
  PortfolioInput input = sample_portfolio();
  Valuation v = value_portfolio(input, usd_inr());
  EXPECT_DECIMAL(v.holdings[0].cost_basis, "11000.00");
  EXPECT_DECIMAL(v.holdings[0].unrealized_pnl, "1000.00");
  EXPECT_DECIMAL(*v.holdings[0].unrealized_pnl_pct, "9.09");
  EXPECT_DECIMAL(v.holdings[1].cost_basis, "1000.00");
  EXPECT_DECIMAL(v.holdings[1].unrealized_pnl, "248.75");
  EXPECT_DECIMAL(*v.holdings[1].unrealized_pnl_pct, "24.88");  // 24.875: tie, up to even
  EXPECT_DECIMAL(v.holdings[2].cost_basis, "3000.00");
  EXPECT_DECIMAL(v.holdings[2].unrealized_pnl, "-500.00");
  EXPECT_DECIMAL(*v.holdings[2].unrealized_pnl_pct, "-16.67");
}

TEST(ValuePortfolio, Totals) {
  PortfolioInput input = sample_portfolio();
  Valuation v = value_portfolio(input, usd_inr());
  EXPECT_EQ(v.base_currency, "INR");
  EXPECT_DECIMAL(v.cash, "1000.00");
  EXPECT_DECIMAL(v.holdings_value, "15748.75");
  EXPECT_DECIMAL(v.total_value, "16748.75");
  EXPECT_DECIMAL(v.cost_basis, "15000.00");
  EXPECT_DECIMAL(v.unrealized_pnl, "748.75");
  EXPECT_DECIMAL(*v.return_pct, "4.99");  // 4.991666…
  EXPECT_EQ(v.oldest_price_as_of, "2024-05-01T09:30:00.000000Z");
}

TEST(ValuePortfolio, AllocationIsPercentOfHoldingsValueWithoutCash) {
  PortfolioInput input = sample_portfolio();
  Valuation v = value_portfolio(input, usd_inr());
  EXPECT_EQ(v.allocation[0].layer, Layer::Foundation);
  EXPECT_DECIMAL(v.allocation[0].value, "12000.00");
  EXPECT_DECIMAL(v.allocation[0].percent, "76.20");  // 12000 / 15748.75 = 76.1965…
  EXPECT_EQ(v.allocation[1].layer, Layer::Growth);
  EXPECT_DECIMAL(v.allocation[1].value, "1248.75");
  EXPECT_DECIMAL(v.allocation[1].percent, "7.93");
  EXPECT_EQ(v.allocation[2].layer, Layer::Upside);
  EXPECT_DECIMAL(v.allocation[2].value, "2500.00");
  EXPECT_DECIMAL(v.allocation[2].percent, "15.87");
}

TEST(ValuePortfolio, LayerValuesAddUpWhenALayerHoldsSeveralAssets) {
  PortfolioInput input = sample_portfolio();
  input.holdings.push_back(
      holding("TCS", Layer::Growth, "INR", "1", "751.25", "700", "2024-05-01T10:00:00.000000Z"));
  Valuation v = value_portfolio(input, usd_inr());
  EXPECT_DECIMAL(v.allocation[1].value, "2000.00");
  EXPECT_DECIMAL(v.allocation[1].percent, "12.12");  // 2000 / 16500
}

TEST(ValuePortfolio, TotalsAreSumsOfTheRoundedLines) {
  // Each line is 0.005 → 0.00 (half-even). Rounding the exact sum (0.015) instead would give
  // 0.02, and the statement's lines would no longer add up to its total.
  PortfolioInput p;
  p.base_currency = "INR";
  p.cash = D("0");
  for (const char* id : {"A", "B", "C"})
    p.holdings.push_back(
        holding(id, Layer::Growth, "INR", "1", "0.005", "0", "2024-05-01T10:00:00.000000Z"));
  Valuation v = value_portfolio(p, FxTable());
  for (const auto& hv : v.holdings) EXPECT_DECIMAL(hv.value, "0.00");
  EXPECT_DECIMAL(v.holdings_value, "0.00");
  EXPECT_DECIMAL(v.total_value, "0.00");
}

TEST(ValuePortfolio, ValueAndCostBasisRoundOnce) {
  // Both figures of the reported holding: exact 0.005000000000000000005 → 0.01, not 0.00.
  PortfolioInput p;
  p.base_currency = "INR";
  p.cash = D("0");
  p.holdings.push_back(holding("DUST", Layer::Upside, "INR", "1.000000000000000001", "0.005",
                               "0.005", "2024-05-01T10:00:00.000000Z"));
  Valuation v = value_portfolio(p, FxTable());
  EXPECT_DECIMAL(v.holdings[0].value, "0.01");
  EXPECT_DECIMAL(v.holdings[0].cost_basis, "0.01");
  EXPECT_DECIMAL(v.holdings_value, "0.01");
  EXPECT_DECIMAL(v.cost_basis, "0.01");
}

TEST(ValuePortfolio, ZeroCostBasisHasNoPercents) {
  PortfolioInput p;
  p.base_currency = "INR";
  p.cash = D("10");
  p.holdings.push_back(
      holding("GIFT", Layer::Upside, "INR", "3", "7", "0", "2024-05-01T10:00:00.000000Z"));
  Valuation v = value_portfolio(p, FxTable());
  EXPECT_DECIMAL(v.holdings[0].value, "21.00");
  EXPECT_FALSE(v.holdings[0].unrealized_pnl_pct.has_value());
  EXPECT_FALSE(v.return_pct.has_value());
  EXPECT_DECIMAL(v.unrealized_pnl, "21.00");
}

TEST(ValuePortfolio, EmptyPortfolioIsItsCash) {
  PortfolioInput p;
  p.base_currency = "JPY";
  p.minor_unit = 0;
  p.cash = D("1234.5");  // half-even at 0 decimals: 1234
  Valuation v = value_portfolio(p, FxTable());
  EXPECT_DECIMAL(v.cash, "1234");
  EXPECT_DECIMAL(v.holdings_value, "0");
  EXPECT_DECIMAL(v.total_value, "1234");
  EXPECT_FALSE(v.return_pct.has_value());
  EXPECT_TRUE(v.oldest_price_as_of.empty());
  for (const auto& layer : v.allocation) {
    EXPECT_DECIMAL(layer.value, "0");
    EXPECT_DECIMAL(layer.percent, "0.00");
  }
}

TEST(ValuePortfolio, ConvertsThroughTheInverseRate) {
  PortfolioInput p;
  p.base_currency = "USD";
  p.cash = D("0");
  p.holdings.push_back(
      holding("TCS", Layer::Growth, "INR", "100", "3330", "0", "2024-05-01T10:00:00.000000Z"));
  Valuation v = value_portfolio(p, usd_inr());
  // 333000 × 0.012012012012 = 3999.999999996 → 4000.00; the stored pair alone never gives a
  // rate for INR→USD, so this proves the inverse is used.
  EXPECT_DECIMAL(v.holdings[0].fx_rate, "0.012012012012");
  EXPECT_DECIMAL(v.holdings[0].value, "4000.00");
}

TEST(ValuePortfolio, TheInverseRateIsRoundedThenUsedExactly) {
  // The one documented intermediate rounding (docs/money.md): INR→USD is 1 / 83.25 rounded
  // half-even to 12 decimals, 0.012012012012, and that rate is then an exact factor.
  // 0.135 × 83.25 INR is exactly 0.135 USD at the true rate, a tie that would go up to 0.14;
  // at the rounded rate it is 0.134999999999986…, which rounds down.
  PortfolioInput p;
  p.base_currency = "USD";
  p.cash = D("0");
  p.holdings.push_back(
      holding("TCS", Layer::Growth, "INR", "0.135", "83.25", "0", "2024-05-01T10:00:00.000000Z"));
  Valuation v = value_portfolio(p, usd_inr());
  EXPECT_DECIMAL(v.holdings[0].fx_rate, "0.012012012012");
  EXPECT_DECIMAL(v.holdings[0].value, "0.13");
}

TEST(ValuePortfolio, MissingFxRateIsAnErrorNotAZero) {
  PortfolioInput p = sample_portfolio();
  Error error = expect_error([&] { value_portfolio(p, FxTable()); }, ErrorCode::MISSING_FX_RATE);
  EXPECT_NE(std::string(error.what()).find("USD/INR"), std::string::npos) << error.what();
}

TEST(ValuePortfolio, MissingPriceIsAnErrorNamingTheAsset) {
  PortfolioInput p = sample_portfolio();
  p.holdings[2].price.reset();
  Error error = expect_error([&] { value_portfolio(p, usd_inr()); }, ErrorCode::MISSING_PRICE);
  EXPECT_NE(std::string(error.what()).find("BTC"), std::string::npos) << error.what();
  EXPECT_EQ(nlohmann::json::parse(error.details_json())["assetId"], "BTC");
}

TEST(Layers, NamesRoundTripAndUnknownIsRejected) {
  for (Layer layer : kLayers) EXPECT_EQ(parse_layer(layer_name(layer)), layer);
  expect_error([] { parse_layer("MOON"); }, ErrorCode::VALIDATION_ERROR);
}

// ---- JSON -----------------------------------------------------------------------------------

TEST(ValuationJson, MoneyPricesAndQuantitiesAreDecimalStrings) {
  PortfolioInput input = sample_portfolio();
  input.holdings[1].frozen_quantity = D("4.500");
  auto json = nlohmann::json::parse(valuation_json(value_portfolio(input, usd_inr())));

  EXPECT_EQ(json["baseCurrency"], "INR");
  EXPECT_EQ(json["cash"], "1000.00");
  EXPECT_EQ(json["holdingsValue"], "15748.75");
  EXPECT_EQ(json["totalValue"], "16748.75");
  EXPECT_EQ(json["costBasis"], "15000.00");
  EXPECT_EQ(json["unrealizedPnl"], "748.75");
  EXPECT_EQ(json["returnPercent"], "4.99");
  EXPECT_EQ(json["oldestPriceAsOf"], "2024-05-01T09:30:00.000000Z");
  EXPECT_EQ(json["allocation"]["FOUNDATION"]["value"], "12000.00");
  EXPECT_EQ(json["allocation"]["FOUNDATION"]["percent"], "76.20");
  EXPECT_EQ(json["allocation"]["UPSIDE"]["percent"], "15.87");

  ASSERT_EQ(json["holdings"].size(), 3u);
  const auto& aapl = json["holdings"][1];
  EXPECT_EQ(aapl["assetId"], "AAPL");
  EXPECT_EQ(aapl["layer"], "GROWTH");
  EXPECT_EQ(aapl["quantity"], "10");
  EXPECT_EQ(aapl["frozenQuantity"], "4.5");  // normalised: no trailing zeros
  EXPECT_EQ(aapl["price"], "1.5");
  EXPECT_EQ(aapl["priceCurrency"], "USD");
  EXPECT_EQ(aapl["priceAsOf"], "2024-05-01T09:30:00.000000Z");
  EXPECT_EQ(aapl["fxRate"], "83.25");
  EXPECT_EQ(aapl["value"], "1248.75");
  EXPECT_EQ(aapl["averageCost"], "100");
  EXPECT_EQ(aapl["costBasis"], "1000.00");
  EXPECT_EQ(aapl["unrealizedPnl"], "248.75");
  EXPECT_EQ(aapl["unrealizedPnlPercent"], "24.88");

  // Nothing numeric ever goes out as a JSON number (a client would read it as a double).
  std::function<void(const nlohmann::json&)> no_numbers = [&](const nlohmann::json& node) {
    EXPECT_FALSE(node.is_number()) << node.dump();
    if (node.is_structured())
      for (const auto& child : node) no_numbers(child);
  };
  no_numbers(json);
}

TEST(ValuationJson, StringsAreEscaped) {
  // Asset ids and currency codes never hold such characters (the schema forbids them), but
  // the writer must not depend on that.
  PortfolioInput p;
  p.base_currency = "IN\"R";
  p.cash = D("0");
  p.holdings.push_back(
      holding("A\\B\n\x01", Layer::Growth, "IN\"R", "1", "1", "1", "2024-05-01T10:00:00.000000Z"));
  std::string text = valuation_json(value_portfolio(p, FxTable()));
  auto json = nlohmann::json::parse(text);
  EXPECT_EQ(json["baseCurrency"], "IN\"R");
  EXPECT_EQ(json["holdings"][0]["assetId"], "A\\B\n\x01");
  EXPECT_NE(text.find(R"(A\\B\u000a\u0001)"), std::string::npos) << text;
}

TEST(ValuationJson, MissingPercentsAndPriceTimeAreNull) {
  PortfolioInput p;
  p.base_currency = "INR";
  p.cash = D("5");
  auto json = nlohmann::json::parse(valuation_json(value_portfolio(p, FxTable())));
  EXPECT_TRUE(json["returnPercent"].is_null());
  EXPECT_TRUE(json["oldestPriceAsOf"].is_null());
  EXPECT_TRUE(json["holdings"].is_array());
  EXPECT_TRUE(json["holdings"].empty());
  EXPECT_EQ(json["totalValue"], "5.00");
}

}  // namespace
}  // namespace pgfolio
