// Boundary classification of a trade (docs/boundaries.md): how far the portfolio's
// allocation by layer is from its target before and after the trade, the status each drift
// falls into, and which boundary the trade crosses, with the friction copy shown to the user.
// Pure computation over per-layer holdings values the caller has already valued
// (value_portfolio's allocation values, in the base currency; cash is never part of them).
//
// Rounding (docs/money.md): each layer's allocation is percent_of(layer value, holdings
// value), the exact quotient rounded once, half-even, to kPercentScale (2) decimals — the
// same figure the valuation shows. Drift is computed from those displayed allocations and the
// target, so it is exact at 2 decimals, and statuses, movesToward and the boundary are all
// decided on that drift: what the user sees is what was classified (a true drift of 5.004
// shows as 5.00 and is BALANCED).
#pragma once

#include <array>

#include "decimal.hpp"
#include "valuation.hpp"

namespace pgfolio {

enum class PortfolioStatus { Balanced, SlightlyOff, AttentionRequired };
enum class Boundary { Safe, Drift, Structural, Stress };

const char* status_name(PortfolioStatus status);  // "BALANCED", "SLIGHTLY_OFF", ...
const char* boundary_name(Boundary boundary);     // "SAFE", "DRIFT", "STRUCTURAL", "STRESS"
// The short user-facing text of a boundary (docs/boundaries.md, "Friction copy").
const char* friction_copy(Boundary boundary);

// Per-layer figures in kLayers order (FOUNDATION, GROWTH, UPSIDE).
using LayerValues = std::array<Decimal, 3>;

// Drift limits in percentage points; a drift equal to a limit is still inside it.
struct DriftThresholds {
  Decimal balanced = Decimal::from_int(5);       // drift ≤ this: BALANCED
  Decimal slightly_off = Decimal::from_int(10);  // drift ≤ this: SLIGHTLY_OFF, above: ATTENTION
};

// Allocation in percent of each layer's value in the sum of all three, kPercentScale
// decimals; all zero when the portfolio holds nothing.
LayerValues allocation_percent(const LayerValues& values);
// The largest |allocation − target| over the layers; 0 for a portfolio with no holdings
// (whatever the target), since there is nothing to be out of balance.
Decimal drift(const LayerValues& values, const LayerValues& target_percent);
PortfolioStatus status_of(const Decimal& drift, const DriftThresholds& thresholds = {});
// The rule of docs/boundaries.md, total over every combination (including ones a single set
// of thresholds cannot produce, such as a drift increase from ATTENTION_REQUIRED to BALANCED).
Boundary classify_boundary(PortfolioStatus before, PortfolioStatus after, bool drift_increases);

struct BoundaryAssessment {
  LayerValues allocation_before;  // percent, 2 decimals
  LayerValues allocation_after;
  Decimal drift_before;  // percentage points, 2 decimals
  Decimal drift_after;
  PortfolioStatus status_before = PortfolioStatus::Balanced;
  PortfolioStatus status_after = PortfolioStatus::Balanced;
  bool moves_toward = false;  // drift_after < drift_before
  Boundary boundary = Boundary::Safe;
  const char* friction = nullptr;  // friction_copy(boundary)
};

// Classifies a trade from the per-layer holdings values before and after it.
// Throws Error(VALIDATION_ERROR) when a value is negative, a target is negative or the
// targets do not sum to exactly 100, or the thresholds are negative or balanced >
// slightly_off.
BoundaryAssessment assess_boundary(const LayerValues& before, const LayerValues& after,
                                   const LayerValues& target_percent,
                                   const DriftThresholds& thresholds = {});

}  // namespace pgfolio
