#include "boundary.hpp"

#include <string>

#include "error.hpp"

namespace pgfolio {

const char* status_name(PortfolioStatus status) {
  switch (status) {
    case PortfolioStatus::Balanced:
      return "BALANCED";
    case PortfolioStatus::SlightlyOff:
      return "SLIGHTLY_OFF";
    case PortfolioStatus::AttentionRequired:
      return "ATTENTION_REQUIRED";
  }
  return "ATTENTION_REQUIRED";
}

const char* boundary_name(Boundary boundary) {
  switch (boundary) {
    case Boundary::Safe:
      return "SAFE";
    case Boundary::Drift:
      return "DRIFT";
    case Boundary::Structural:
      return "STRUCTURAL";
    case Boundary::Stress:
      return "STRESS";
  }
  return "STRESS";
}

// Keep in step with docs/boundaries.md, "Friction copy".
const char* friction_copy(Boundary boundary) {
  switch (boundary) {
    case Boundary::Safe:
      return "This trade does not take your portfolio further from its target allocation.";
    case Boundary::Drift:
      return "This trade moves your portfolio a little away from its target allocation. "
             "It stays within your range.";
    case Boundary::Structural:
      return "This trade takes your portfolio outside the range of its target allocation. "
             "It will need rebalancing: please review before you continue.";
    case Boundary::Stress:
      return "Your portfolio is already far from its target allocation and this trade moves "
             "it further away. Consider a trade that brings it back instead.";
  }
  return "";
}

LayerValues allocation_percent(const LayerValues& values) {
  Decimal total;
  for (const Decimal& v : values) total += v;
  LayerValues percent;
  const Decimal zero = Decimal::from_int(0).rescale(kPercentScale);
  for (std::size_t i = 0; i < values.size(); ++i)
    percent[i] = percent_of(values[i], total).value_or(zero);
  return percent;
}

Decimal drift(const LayerValues& values, const LayerValues& target_percent) {
  Decimal largest = Decimal::from_int(0).rescale(kPercentScale);
  bool empty = true;
  for (const Decimal& v : values) empty = empty && v.is_zero();
  if (empty) return largest;
  const LayerValues percent = allocation_percent(values);
  for (std::size_t i = 0; i < percent.size(); ++i) {
    // Targets may carry more decimals than 2; the difference is exact either way, and is
    // brought back to 2 decimals only if the target itself had more (half-even, once).
    Decimal gap = (percent[i] - target_percent[i]).abs();
    if (gap > largest) largest = gap;
  }
  return largest.scale() > kPercentScale ? largest.rescale(kPercentScale) : largest;
}

PortfolioStatus status_of(const Decimal& drift, const DriftThresholds& thresholds) {
  if (drift <= thresholds.balanced) return PortfolioStatus::Balanced;
  if (drift <= thresholds.slightly_off) return PortfolioStatus::SlightlyOff;
  return PortfolioStatus::AttentionRequired;
}

Boundary classify_boundary(PortfolioStatus before, PortfolioStatus after, bool drift_increases) {
  if (!drift_increases) return Boundary::Safe;
  if (after != PortfolioStatus::AttentionRequired) return Boundary::Drift;
  if (before != PortfolioStatus::AttentionRequired) return Boundary::Structural;
  return Boundary::Stress;
}

namespace {

void check_inputs(const LayerValues& before, const LayerValues& after,
                  const LayerValues& target_percent, const DriftThresholds& thresholds) {
  const Decimal zero;
  for (std::size_t i = 0; i < before.size(); ++i) {
    const std::string layer = layer_name(kLayers[i]);
    if (before[i] < zero || after[i] < zero)
      throw Error(ErrorCode::VALIDATION_ERROR,
                  "the holdings value of layer " + layer + " must not be negative");
    if (target_percent[i] < zero)
      throw Error(ErrorCode::VALIDATION_ERROR,
                  "the target of layer " + layer + " must not be negative");
  }
  Decimal sum;
  for (const Decimal& t : target_percent) sum += t;
  if (sum != Decimal::from_int(100))
    throw Error(ErrorCode::VALIDATION_ERROR,
                "the target allocation must sum to 100, not " + sum.normalized().to_string());
  if (thresholds.balanced < zero || thresholds.slightly_off < thresholds.balanced)
    throw Error(ErrorCode::VALIDATION_ERROR,
                "drift thresholds must satisfy 0 <= balanced <= slightly off");
}

}  // namespace

BoundaryAssessment assess_boundary(const LayerValues& before, const LayerValues& after,
                                   const LayerValues& target_percent,
                                   const DriftThresholds& thresholds) {
  check_inputs(before, after, target_percent, thresholds);
  BoundaryAssessment a;
  a.allocation_before = allocation_percent(before);
  a.allocation_after = allocation_percent(after);
  a.drift_before = drift(before, target_percent);
  a.drift_after = drift(after, target_percent);
  a.status_before = status_of(a.drift_before, thresholds);
  a.status_after = status_of(a.drift_after, thresholds);
  a.moves_toward = a.drift_after < a.drift_before;
  a.boundary = classify_boundary(a.status_before, a.status_after, a.drift_after > a.drift_before);
  a.friction = friction_copy(a.boundary);
  return a;
}

}  // namespace pgfolio
