// PnL math (extension/core/pnl): the issue's worked example, hand-computed cases by the
// average-cost method and FIFO lots, the rounding, and refused inputs.
#include "pnl.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "error.hpp"

namespace pgfolio {
namespace {

Decimal D(std::string_view text) {
  return Decimal::parse(text);
}

// Compares by text so that the scale is checked too.
#define EXPECT_DECIMAL(actual, expected_text) EXPECT_EQ((actual).to_string(), expected_text)

PnlTrade buy(std::string_view q, std::string_view p, std::string_view fee) {
  return {TradeSide::Buy, D(q), D(p), D(fee)};
}
PnlTrade sell(std::string_view q, std::string_view p, std::string_view fee) {
  return {TradeSide::Sell, D(q), D(p), D(fee)};
}

PnlHoldingInput holding(std::vector<PnlTrade> trades, std::string_view price,
                        std::string asset = "ASSET") {
  PnlHoldingInput h;
  h.asset_id = std::move(asset);
  h.trades = std::move(trades);
  h.current_price = D(price);
  return h;
}

const PnlHoldingInput kWorkedExample =
    holding({buy("10", "100", "2"), buy("10", "120", "2"), sell("5", "130", "1")}, "125");

TEST(PnlAverageCost, IssueWorkedExample) {
  HoldingPnl h = holding_pnl(kWorkedExample, 2);
  EXPECT_DECIMAL(h.quantity, "15");
  EXPECT_DECIMAL(h.average_cost, "110.0000000000");
  EXPECT_DECIMAL(h.pnl.realised_gross, "100.00");
  EXPECT_DECIMAL(h.cost_basis, "1650.00");
  EXPECT_DECIMAL(h.value, "1875.00");
  EXPECT_DECIMAL(h.pnl.unrealised_gross, "225.00");
  EXPECT_DECIMAL(h.pnl.fees, "5.00");
  EXPECT_DECIMAL(h.pnl.net, "320.00");
}

TEST(PnlAverageCost, DatabaseScalesGiveTheSameAnswer) {
  // As numeric columns deliver them: quantity numeric(38,18), price numeric(30,10), money
  // numeric(28,8). The trailing zeros must not cost precision.
  PnlHoldingInput h = holding({buy("10.000000000000000000", "100.0000000000", "2.00000000"),
                               buy("10.000000000000000000", "120.0000000000", "2.00000000"),
                               sell("5.000000000000000000", "130.0000000000", "1.00000000")},
                              "125.0000000000");
  HoldingPnl p = holding_pnl(h, 2);
  EXPECT_DECIMAL(p.average_cost, "110.0000000000");
  EXPECT_EQ(p.pnl.realised_gross, D("100"));
  EXPECT_EQ(p.pnl.unrealised_gross, D("225"));
  EXPECT_EQ(p.pnl.net, D("320"));
}

TEST(PnlAverageCost, SellAll) {
  // BUY 10 @ 100 fee 1, SELL 10 @ 90 fee 1: realised (90 − 100) × 10 = −100; nothing left.
  HoldingPnl h = holding_pnl(holding({buy("10", "100", "1"), sell("10", "90", "1")}, "200"), 2);
  EXPECT_TRUE(h.quantity.is_zero());
  EXPECT_DECIMAL(h.average_cost, "0.0000000000");
  EXPECT_DECIMAL(h.pnl.realised_gross, "-100.00");
  EXPECT_DECIMAL(h.pnl.unrealised_gross, "0.00");
  EXPECT_DECIMAL(h.pnl.fees, "2.00");
  EXPECT_DECIMAL(h.pnl.net, "-102.00");
}

TEST(PnlAverageCost, RebuyAfterSellingAllStartsAFreshAverage) {
  // After the round trip above, BUY 5 @ 50 fee 0.5: the average is 50, not a blend with 100.
  // Price 60: unrealised (60 − 50) × 5 = 50; net −100 + 50 − 2.5 = −52.5.
  HoldingPnl h = holding_pnl(
      holding({buy("10", "100", "1"), sell("10", "90", "1"), buy("5", "50", "0.5")}, "60"), 2);
  EXPECT_DECIMAL(h.quantity, "5");
  EXPECT_DECIMAL(h.average_cost, "50.0000000000");
  EXPECT_DECIMAL(h.pnl.realised_gross, "-100.00");
  EXPECT_DECIMAL(h.pnl.unrealised_gross, "50.00");
  EXPECT_DECIMAL(h.pnl.fees, "2.50");
  EXPECT_DECIMAL(h.pnl.net, "-52.50");
}

TEST(PnlAverageCost, FeesOnlyAreTheWholeLoss) {
  // Bought at the current price: nothing gained, the fee is the loss; the fee is not in the
  // cost basis (1000, not 1003).
  HoldingPnl h = holding_pnl(holding({buy("10", "100", "3")}, "100"), 2);
  EXPECT_DECIMAL(h.average_cost, "100.0000000000");
  EXPECT_DECIMAL(h.cost_basis, "1000.00");
  EXPECT_DECIMAL(h.pnl.realised_gross, "0.00");
  EXPECT_DECIMAL(h.pnl.unrealised_gross, "0.00");
  EXPECT_DECIMAL(h.pnl.fees, "3.00");
  EXPECT_DECIMAL(h.pnl.net, "-3.00");
}

TEST(PnlAverageCost, ZeroPrice) {
  // The asset is worth nothing now: the whole cost basis is the unrealised loss.
  HoldingPnl h = holding_pnl(holding({buy("4", "25", "1")}, "0"), 2);
  EXPECT_DECIMAL(h.value, "0.00");
  EXPECT_DECIMAL(h.pnl.unrealised_gross, "-100.00");
  EXPECT_DECIMAL(h.pnl.net, "-101.00");
  // Bought for nothing and sold at 7: all of it is realised gain.
  h = holding_pnl(holding({buy("2", "0", "0"), sell("1", "7", "0.10")}, "0"), 2);
  EXPECT_DECIMAL(h.average_cost, "0.0000000000");
  EXPECT_DECIMAL(h.pnl.realised_gross, "7.00");
  EXPECT_DECIMAL(h.pnl.net, "6.90");
}

TEST(PnlAverageCost, AverageCostRoundsOnceHalfEvenToTenDecimals) {
  // (1 × 10 + 2 × 10.01) / 3 = 30.02 / 3 = 10.00666…  → 10.0066666667.
  // SELL 3 @ 11: (11 − 10.0066666667) × 3 = 2.9799999999 → 2.98.
  HoldingPnl h = holding_pnl(
      holding({buy("1", "10", "0"), buy("2", "10.01", "0"), sell("3", "11", "0")}, "11"), 2);
  EXPECT_DECIMAL(h.pnl.realised_gross, "2.98");
  EXPECT_EQ(average_cost_after_buy(D("1"), D("10"), D("2"), D("10.01")), D("10.0066666667"));
  // Fractional quantities: (0.5 × 3 + 0.25 × 6) / 0.75 = 4.
  EXPECT_EQ(average_cost_after_buy(D("0.5"), D("3"), D("0.25"), D("6")), D("4"));
}

TEST(PnlAverageCost, RealisedRoundsOnceHalfEvenToTheMinorUnit) {
  // Average 1.005; selling 1 @ 1.010 gains 0.005, a tie: 0.00. Selling 1 @ 1.020 gains 0.015:
  // 0.02. Both are one rounding of the exact product.
  EXPECT_DECIMAL(realised_pnl(D("1"), D("1.010"), D("1.005"), 2), "0.00");
  EXPECT_DECIMAL(realised_pnl(D("1"), D("1.020"), D("1.005"), 2), "0.02");
  EXPECT_DECIMAL(realised_pnl(D("3"), D("0.335"), D("0.33"), 2), "0.02");  // 0.015 → 0.02
  EXPECT_DECIMAL(realised_pnl(D("1"), D("90"), D("100"), 0), "-10");       // JPY: 0 decimals
  // A loss that ties: −0.005 → −0.00 (half-even), shown as 0.00.
  EXPECT_TRUE(realised_pnl(D("1"), D("1.000"), D("1.005"), 2).is_zero());
}

TEST(PnlAverageCost, CurrentPriceInQuoteCurrencyConvertsLikeTheValuation) {
  PnlHoldingInput h = holding({buy("10", "200", "0")}, "25");
  h.fx_rate = D("8.5");  // 10 × 25 × 8.5 = 2125 in the base currency
  HoldingPnl p = holding_pnl(h, 2);
  EXPECT_DECIMAL(p.value, "2125.00");
  EXPECT_DECIMAL(p.pnl.unrealised_gross, "125.00");
}

TEST(PnlPortfolio, TotalsAreSumsOfHoldings) {
  PortfolioPnl p = portfolio_pnl(
      {kWorkedExample, holding({buy("10", "100", "1"), sell("10", "90", "1")}, "200", "B")}, 2);
  ASSERT_EQ(p.holdings.size(), 2u);
  EXPECT_EQ(p.holdings[1].asset_id, "B");
  EXPECT_DECIMAL(p.total.realised_gross, "0.00");  // 100 − 100
  EXPECT_DECIMAL(p.total.unrealised_gross, "225.00");
  EXPECT_DECIMAL(p.total.fees, "7.00");
  EXPECT_DECIMAL(p.total.net, "218.00");  // 320 − 102
  PortfolioPnl empty = portfolio_pnl({}, 2);
  EXPECT_DECIMAL(empty.total.net, "0.00");
}

TEST(PnlFifo, IssueWorkedExampleByLots) {
  // The sell takes 5 from the 10 @ 100 lot: realised 150. Held: 5 @ 100 + 10 @ 120 = 1700,
  // worth 1875: unrealised 175. The total net is the same 320 as by average cost.
  HoldingPnl h = holding_pnl(kWorkedExample, 2, CostMethod::Fifo);
  EXPECT_DECIMAL(h.pnl.realised_gross, "150.00");
  EXPECT_DECIMAL(h.cost_basis, "1700.00");
  EXPECT_DECIMAL(h.pnl.unrealised_gross, "175.00");
  EXPECT_DECIMAL(h.pnl.fees, "5.00");
  EXPECT_DECIMAL(h.pnl.net, "320.00");
}

TEST(PnlFifo, SellAcrossLots) {
  // Lots 3 @ 10, 4 @ 20; SELL 5 @ 30 takes 3 @ 10 (60) and 2 @ 20 (20): realised 80.
  // Held 2 @ 20 = 40, worth 2 × 25 = 50: unrealised 10.
  HoldingPnl h =
      holding_pnl(holding({buy("3", "10", "0"), buy("4", "20", "0"), sell("5", "30", "0")}, "25"),
                  2, CostMethod::Fifo);
  EXPECT_DECIMAL(h.quantity, "2");
  EXPECT_DECIMAL(h.pnl.realised_gross, "80.00");
  EXPECT_DECIMAL(h.pnl.unrealised_gross, "10.00");
  // By average cost: average 110 / 7 = 15.7142857143; realised (30 − 15.7142857143) × 5 =
  // 71.4285714285 → 71.43; unrealised 50 − 2 × 15.7142857143 (31.43) = 18.57. Same total 90.
  HoldingPnl a = holding_pnl(
      holding({buy("3", "10", "0"), buy("4", "20", "0"), sell("5", "30", "0")}, "25"), 2);
  EXPECT_DECIMAL(a.average_cost, "15.7142857143");
  EXPECT_DECIMAL(a.pnl.realised_gross, "71.43");
  EXPECT_DECIMAL(a.pnl.unrealised_gross, "18.57");
}

TEST(PnlRefused, OversellIsAValidationError) {
  try {
    holding_pnl(holding({buy("10", "100", "0"), sell("10.5", "100", "0")}, "100", "BTC"), 2);
    FAIL() << "did not throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::VALIDATION_ERROR);
    EXPECT_NE(std::string(e.what()).find("cannot sell 10.5 of asset BTC: only 10 held"),
              std::string::npos)
        << e.what();
    nlohmann::json d = nlohmann::json::parse(e.details_json());
    EXPECT_EQ(d["assetId"], "BTC");
    EXPECT_EQ(d["held"], "10");
    EXPECT_EQ(d["requested"], "10.5");
  }
  // Selling with nothing held, and in FIFO, are refused the same way.
  for (CostMethod m : {CostMethod::AverageCost, CostMethod::Fifo}) {
    EXPECT_THROW(holding_pnl(holding({sell("1", "1", "0")}, "1"), 2, m), Error);
    EXPECT_THROW(holding_pnl(holding({buy("1", "1", "0"), sell("1", "1", "0"),
                                      sell("0.000000000000000001", "1", "0")},
                                     "1"),
                             2, m),
                 Error);
  }
}

TEST(PnlRefused, BadTrades) {
  for (const PnlTrade& t :
       {buy("0", "1", "0"), buy("-1", "1", "0"), buy("1", "-1", "0"), buy("1", "1", "-0.01")}) {
    try {
      holding_pnl(holding({t}, "1"), 2);
      ADD_FAILURE() << "did not throw";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::VALIDATION_ERROR) << e.what();
    }
  }
}

}  // namespace
}  // namespace pgfolio
