// Boundary classification (extension/core/boundary): allocation and drift rounding, the
// status thresholds and their edges, empty portfolios, and every cell of the boundary matrix
// of docs/boundaries.md.
#include "boundary.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <tuple>

#include "error.hpp"

namespace pgfolio {
namespace {

Decimal D(std::string_view text) {
  return Decimal::parse(text);
}

LayerValues L(std::string_view f, std::string_view g, std::string_view u) {
  return {D(f), D(g), D(u)};
}

// Compares by text so that the scale is checked too.
#define EXPECT_DECIMAL(actual, expected_text) EXPECT_EQ((actual).to_string(), expected_text)

const LayerValues kTarget = L("60", "30", "10");

TEST(BoundaryAllocation, PercentOfHoldingsRoundedHalfEvenToTwoDecimals) {
  // 1/32 = 3.125 % and 3/32 = 9.375 %: both ties, sent to the even neighbour.
  LayerValues a = allocation_percent(L("1", "3", "28"));
  EXPECT_DECIMAL(a[0], "3.12");
  EXPECT_DECIMAL(a[1], "9.38");
  EXPECT_DECIMAL(a[2], "87.50");
  // Thirds: the displayed allocations need not add up to 100.
  a = allocation_percent(L("1", "1", "1"));
  EXPECT_DECIMAL(a[0], "33.33");
  EXPECT_DECIMAL(a[2], "33.33");
  // Money values with decimals, any total.
  a = allocation_percent(L("1234.56", "617.28", "0.00"));
  EXPECT_DECIMAL(a[0], "66.67");
  EXPECT_DECIMAL(a[1], "33.33");
  EXPECT_DECIMAL(a[2], "0.00");
}

TEST(BoundaryAllocation, EmptyPortfolioHasZeroAllocationAndZeroDrift) {
  LayerValues a = allocation_percent(L("0", "0.00", "0"));
  for (const Decimal& p : a) EXPECT_DECIMAL(p, "0.00");
  EXPECT_DECIMAL(drift(L("0", "0", "0"), kTarget), "0.00");
}

TEST(BoundaryDrift, LargestAbsoluteGapInPercentagePoints) {
  EXPECT_DECIMAL(drift(L("60", "30", "10"), kTarget), "0.00");
  EXPECT_DECIMAL(drift(L("50", "30", "20"), kTarget), "10.00");  // two layers off by 10
  EXPECT_DECIMAL(drift(L("55", "40", "5"), kTarget), "10.00");   // largest of 5, 10, 5
  EXPECT_DECIMAL(drift(L("0", "0", "7"), kTarget), "90.00");     // all in one layer
  // Drift is taken from the displayed allocations: 1/3 each against 33.33/33.33/33.34.
  EXPECT_DECIMAL(drift(L("1", "1", "1"), L("33.33", "33.33", "33.34")), "0.01");
}

TEST(BoundaryDrift, ClassifiedOnTheDisplayedTwoDecimalDrift) {
  // 65.004 % shows as 65.00 and 24.996 % as 25.00: drift 5.00, still BALANCED.
  BoundaryAssessment a =
      assess_boundary(L("60", "30", "10"), L("65004", "24996", "10000"), kTarget);
  EXPECT_DECIMAL(a.allocation_after[0], "65.00");
  EXPECT_DECIMAL(a.drift_after, "5.00");
  EXPECT_EQ(a.status_after, PortfolioStatus::Balanced);
  // 65.005 % is a tie and goes to 65.00 (even); 65.015 % goes to 65.02.
  EXPECT_DECIMAL(drift(L("65005", "24995", "10000"), kTarget), "5.00");
  EXPECT_DECIMAL(drift(L("65015", "24985", "10000"), kTarget), "5.02");
  // 65.006 % shows as 65.01: SLIGHTLY_OFF.
  a = assess_boundary(L("60", "30", "10"), L("65006", "24994", "10000"), kTarget);
  EXPECT_DECIMAL(a.drift_after, "5.01");
  EXPECT_EQ(a.status_after, PortfolioStatus::SlightlyOff);
}

TEST(BoundaryStatus, ThresholdEdgesAreInclusive) {
  EXPECT_EQ(status_of(D("0")), PortfolioStatus::Balanced);
  EXPECT_EQ(status_of(D("5.00")), PortfolioStatus::Balanced);
  EXPECT_EQ(status_of(D("5.01")), PortfolioStatus::SlightlyOff);
  EXPECT_EQ(status_of(D("10.00")), PortfolioStatus::SlightlyOff);
  EXPECT_EQ(status_of(D("10.01")), PortfolioStatus::AttentionRequired);
  EXPECT_EQ(status_of(D("100")), PortfolioStatus::AttentionRequired);
  // Through assess_boundary, from holdings values: drift exactly 5 and exactly 10.
  EXPECT_EQ(assess_boundary(kTarget, L("65", "25", "10"), kTarget).status_after,
            PortfolioStatus::Balanced);
  EXPECT_EQ(assess_boundary(kTarget, L("70", "20", "10"), kTarget).status_after,
            PortfolioStatus::SlightlyOff);
  EXPECT_EQ(assess_boundary(kTarget, L("7001", "1999", "1000"), kTarget).status_after,
            PortfolioStatus::AttentionRequired);
}

TEST(BoundaryStatus, ThresholdsAreParameters) {
  DriftThresholds t{D("2"), D("4")};
  EXPECT_EQ(status_of(D("2"), t), PortfolioStatus::Balanced);
  EXPECT_EQ(status_of(D("2.01"), t), PortfolioStatus::SlightlyOff);
  EXPECT_EQ(status_of(D("4"), t), PortfolioStatus::SlightlyOff);
  EXPECT_EQ(status_of(D("4.01"), t), PortfolioStatus::AttentionRequired);
  // The same trade (drift 0 → 5) is DRIFT with the defaults and STRUCTURAL with these.
  EXPECT_EQ(assess_boundary(kTarget, L("65", "25", "10"), kTarget).boundary, Boundary::Drift);
  EXPECT_EQ(assess_boundary(kTarget, L("65", "25", "10"), kTarget, t).boundary,
            Boundary::Structural);
  // Equal thresholds leave no SLIGHTLY_OFF band.
  DriftThresholds equal{D("5"), D("5")};
  EXPECT_EQ(status_of(D("5.01"), equal), PortfolioStatus::AttentionRequired);
}

// Every combination of status before × after × drift increasing or not, for the rule alone.
TEST(BoundaryMatrix, RuleCoversEveryCombination) {
  using S = PortfolioStatus;
  const S B = S::Balanced, O = S::SlightlyOff, A = S::AttentionRequired;
  struct Cell {
    S before, after;
    bool increases;
    Boundary expected;
  };
  const Cell cells[] = {
      {B, B, false, Boundary::Safe},      {B, O, false, Boundary::Safe},
      {B, A, false, Boundary::Safe},      {O, B, false, Boundary::Safe},
      {O, O, false, Boundary::Safe},      {O, A, false, Boundary::Safe},
      {A, B, false, Boundary::Safe},      {A, O, false, Boundary::Safe},
      {A, A, false, Boundary::Safe},      {B, B, true, Boundary::Drift},
      {B, O, true, Boundary::Drift},      {B, A, true, Boundary::Structural},
      {O, B, true, Boundary::Drift},      {O, O, true, Boundary::Drift},
      {O, A, true, Boundary::Structural}, {A, B, true, Boundary::Drift},
      {A, O, true, Boundary::Drift},      {A, A, true, Boundary::Stress},
  };
  for (const Cell& c : cells)
    EXPECT_EQ(classify_boundary(c.before, c.after, c.increases), c.expected)
        << status_name(c.before) << " -> " << status_name(c.after)
        << (c.increases ? " increasing" : " not increasing");
}

// Every cell one set of thresholds can actually produce, from holdings values (target
// 60/30/10; the values are percents times 7 so that the total is not 100).
TEST(BoundaryMatrix, ReachableCellsFromHoldingsValues) {
  struct Case {
    LayerValues before, after;
    PortfolioStatus status_before, status_after;
    bool moves_toward;
    Boundary expected;
  };
  using S = PortfolioStatus;
  const auto x7 = [](int f, int g, int u) {
    return LayerValues{Decimal::from_int(7 * f), Decimal::from_int(7 * g),
                       Decimal::from_int(7 * u)};
  };
  const Case cases[] = {
      // drift increases
      {x7(60, 30, 10), x7(62, 28, 10), S::Balanced, S::Balanced, false, Boundary::Drift},
      {x7(60, 30, 10), x7(67, 23, 10), S::Balanced, S::SlightlyOff, false, Boundary::Drift},
      {x7(60, 30, 10), x7(75, 15, 10), S::Balanced, S::AttentionRequired, false,
       Boundary::Structural},
      {x7(66, 24, 10), x7(68, 22, 10), S::SlightlyOff, S::SlightlyOff, false, Boundary::Drift},
      {x7(66, 24, 10), x7(75, 15, 10), S::SlightlyOff, S::AttentionRequired, false,
       Boundary::Structural},
      {x7(75, 15, 10), x7(80, 10, 10), S::AttentionRequired, S::AttentionRequired, false,
       Boundary::Stress},
      // drift equal (SAFE, not toward)
      {x7(62, 28, 10), x7(58, 32, 10), S::Balanced, S::Balanced, false, Boundary::Safe},
      {x7(68, 22, 10), x7(52, 38, 10), S::SlightlyOff, S::SlightlyOff, false, Boundary::Safe},
      {x7(75, 15, 10), x7(45, 45, 10), S::AttentionRequired, S::AttentionRequired, false,
       Boundary::Safe},
      // drift decreases (SAFE, toward)
      {x7(63, 27, 10), x7(61, 29, 10), S::Balanced, S::Balanced, true, Boundary::Safe},
      {x7(68, 22, 10), x7(62, 28, 10), S::SlightlyOff, S::Balanced, true, Boundary::Safe},
      {x7(68, 22, 10), x7(66, 24, 10), S::SlightlyOff, S::SlightlyOff, true, Boundary::Safe},
      {x7(80, 10, 10), x7(61, 29, 10), S::AttentionRequired, S::Balanced, true, Boundary::Safe},
      {x7(80, 10, 10), x7(68, 22, 10), S::AttentionRequired, S::SlightlyOff, true, Boundary::Safe},
      {x7(80, 10, 10), x7(75, 15, 10), S::AttentionRequired, S::AttentionRequired, true,
       Boundary::Safe},
  };
  for (const Case& c : cases) {
    BoundaryAssessment a = assess_boundary(c.before, c.after, kTarget);
    const std::string where = a.drift_before.to_string() + " -> " + a.drift_after.to_string();
    EXPECT_EQ(a.status_before, c.status_before) << where;
    EXPECT_EQ(a.status_after, c.status_after) << where;
    EXPECT_EQ(a.moves_toward, c.moves_toward) << where;
    EXPECT_EQ(a.boundary, c.expected) << where;
    EXPECT_STREQ(a.friction, friction_copy(c.expected)) << where;
  }
}

TEST(BoundaryAssess, ReportsAllocationsAndDrifts) {
  BoundaryAssessment a =
      assess_boundary(L("600.00", "300.00", "100.00"), L("600.00", "300.00", "250.00"), kTarget);
  EXPECT_DECIMAL(a.allocation_before[0], "60.00");
  EXPECT_DECIMAL(a.allocation_before[2], "10.00");
  EXPECT_DECIMAL(a.allocation_after[0], "52.17");  // 600 / 1150
  EXPECT_DECIMAL(a.allocation_after[1], "26.09");
  EXPECT_DECIMAL(a.allocation_after[2], "21.74");
  EXPECT_DECIMAL(a.drift_before, "0.00");
  EXPECT_DECIMAL(a.drift_after, "11.74");
  EXPECT_EQ(a.status_after, PortfolioStatus::AttentionRequired);
  EXPECT_EQ(a.boundary, Boundary::Structural);
}

TEST(BoundaryAssess, FirstBuyIntoAnEmptyPortfolio) {
  BoundaryAssessment a = assess_boundary(L("0", "0", "0"), L("500", "0", "0"), kTarget);
  for (const Decimal& p : a.allocation_before) EXPECT_DECIMAL(p, "0.00");
  EXPECT_DECIMAL(a.drift_before, "0.00");
  EXPECT_DECIMAL(a.drift_after, "40.00");
  EXPECT_EQ(a.status_before, PortfolioStatus::Balanced);
  EXPECT_EQ(a.boundary, Boundary::Structural);
  // Bought at the target, the first buy is SAFE (drift 0 → 0).
  a = assess_boundary(L("0", "0", "0"), L("600", "300", "100"), kTarget);
  EXPECT_EQ(a.boundary, Boundary::Safe);
  EXPECT_FALSE(a.moves_toward);
}

TEST(BoundaryAssess, TradeThatEmptiesThePortfolioIsSafe) {
  BoundaryAssessment a = assess_boundary(L("80", "10", "10"), L("0", "0", "0"), kTarget);
  EXPECT_DECIMAL(a.drift_before, "20.00");
  EXPECT_DECIMAL(a.drift_after, "0.00");
  EXPECT_EQ(a.status_before, PortfolioStatus::AttentionRequired);
  EXPECT_EQ(a.status_after, PortfolioStatus::Balanced);
  EXPECT_TRUE(a.moves_toward);
  EXPECT_EQ(a.boundary, Boundary::Safe);
  for (const Decimal& p : a.allocation_after) EXPECT_DECIMAL(p, "0.00");
  // Empty before and after: nothing moves.
  a = assess_boundary(L("0", "0", "0"), L("0", "0", "0"), kTarget);
  EXPECT_EQ(a.boundary, Boundary::Safe);
  EXPECT_FALSE(a.moves_toward);
}

TEST(BoundaryAssess, RefusesBadInputs) {
  const auto code_of = [](auto statement) {
    try {
      statement();
    } catch (const Error& e) {
      return std::make_tuple(e.code(), std::string(e.what()));
    }
    return std::make_tuple(ErrorCode::INTERNAL_ERROR, std::string("did not throw"));
  };
  auto [c1, m1] = code_of([] { assess_boundary(kTarget, kTarget, L("60", "30", "9.99")); });
  EXPECT_EQ(c1, ErrorCode::VALIDATION_ERROR);
  EXPECT_NE(m1.find("sum to 100, not 99.99"), std::string::npos) << m1;
  auto [c2, m2] = code_of([] { assess_boundary(L("1", "-1", "0"), kTarget, kTarget); });
  EXPECT_EQ(c2, ErrorCode::VALIDATION_ERROR);
  EXPECT_NE(m2.find("GROWTH"), std::string::npos) << m2;
  auto [c3, m3] = code_of([] { assess_boundary(kTarget, kTarget, L("110", "0", "-10")); });
  EXPECT_EQ(c3, ErrorCode::VALIDATION_ERROR);
  EXPECT_NE(m3.find("UPSIDE"), std::string::npos) << m3;
  auto [c4, m4] = code_of([] {
    assess_boundary(kTarget, kTarget, kTarget, DriftThresholds{D("10"), D("5")});
  });
  EXPECT_EQ(c4, ErrorCode::VALIDATION_ERROR) << m4;
  auto [c5, m5] = code_of([] {
    assess_boundary(kTarget, kTarget, kTarget, DriftThresholds{D("-1"), D("5")});
  });
  EXPECT_EQ(c5, ErrorCode::VALIDATION_ERROR) << m5;
}

TEST(BoundaryNames, NamesAndDistinctFrictionCopy) {
  EXPECT_STREQ(status_name(PortfolioStatus::Balanced), "BALANCED");
  EXPECT_STREQ(status_name(PortfolioStatus::SlightlyOff), "SLIGHTLY_OFF");
  EXPECT_STREQ(status_name(PortfolioStatus::AttentionRequired), "ATTENTION_REQUIRED");
  EXPECT_STREQ(boundary_name(Boundary::Safe), "SAFE");
  EXPECT_STREQ(boundary_name(Boundary::Drift), "DRIFT");
  EXPECT_STREQ(boundary_name(Boundary::Structural), "STRUCTURAL");
  EXPECT_STREQ(boundary_name(Boundary::Stress), "STRESS");
  std::set<std::string> copies;
  for (Boundary b : {Boundary::Safe, Boundary::Drift, Boundary::Structural, Boundary::Stress}) {
    EXPECT_GT(std::string(friction_copy(b)).size(), 20u);
    copies.insert(friction_copy(b));
  }
  EXPECT_EQ(copies.size(), 4u);
}

}  // namespace
}  // namespace pgfolio
