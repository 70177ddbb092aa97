// The onboarding risk profile: the questionnaire and the scoring model of docs/risk-scoring.md
// (the contract; change both together). Integer arithmetic only, so the SQL function, the REST
// route and the tests can never disagree by a rounding step.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace pgfolio {

// Dimension levels, each 1..10 (docs/risk-scoring.md §3).
struct RiskDimensions {
  int capacity = 1;
  int willingness = 1;
  int horizon = 1;
  int experience = 1;
  int income_stability = 1;
};

// Whole percentages summing to exactly 100.
struct RiskAllocation {
  int foundation = 0;
  int growth = 0;
  int upside = 0;
};

struct RiskResult {
  int score = 1;        // 1..10
  std::string tier;     // LOW | MEDIUM | HIGH
  std::string profile;  // e.g. "Balanced Growth"
  RiskAllocation allocation;
  std::vector<std::string> flags;  // pathological patterns found, in the order of the table
  RiskDimensions dimensions;
  int base_score = 1;             // the weighted score before caps and penalty
  std::vector<std::string> caps;  // which caps lowered it: DOMINANCE, HORIZON, FLAGGED
  int penalty = 0;                // consistency penalty subtracted (0..2)
};

// Scores `answers`, a JSON object {questionId: answerId, ...} holding every question exactly
// once. Anything else is Error(VALIDATION_ERROR) naming the question, details {"field": id}
// (a non-object names the field "answers").
RiskResult score_risk(const nlohmann::json& answers);

// {"version", "questions": [{"id", "dimension", "text", "answers": [{"id", "text"}]}]}, in the
// order they are asked. Points are left out: they are in the document, not in the form.
nlohmann::json risk_questionnaire_json();

// {"score", "tier", "profile", "targetAllocation": {"FOUNDATION": "50.00", ...}, "flags",
// "dimensions": {...}, "baseScore", "caps", "penalty"}; percentages as two-decimal strings,
// as the profile shows a target allocation.
nlohmann::json risk_result_json(const RiskResult& result);

// The allocation for a score 1..10 (docs/risk-scoring.md §7); exposed for the tests.
RiskAllocation risk_allocation_for_score(int score);

}  // namespace pgfolio
