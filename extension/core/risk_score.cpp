#include "risk_score.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <string>

#include "error.hpp"

namespace pgfolio {
namespace {

enum class Dimension { Capacity, Willingness, Horizon, Experience, IncomeStability };

const char* dimension_name(Dimension dimension) {
  switch (dimension) {
    case Dimension::Capacity:
      return "capacity";
    case Dimension::Willingness:
      return "willingness";
    case Dimension::Horizon:
      return "horizon";
    case Dimension::Experience:
      return "experience";
    case Dimension::IncomeStability:
      return "incomeStability";
  }
  return "";
}

struct Answer {
  const char* id;
  const char* text;
  int points;
};

struct Question {
  const char* id;
  Dimension dimension;
  const char* text;
  std::vector<Answer> answers;  // ordered by points, lowest (most conservative) first
};

// The questionnaire of docs/risk-scoring.md §2, in the order it is asked. Within a question
// the answers are in increasing order of points, which the property tests rely on.
const std::vector<Question>& questions() {
  static const std::vector<Question> all = {
      {"capacity_loss",
       Dimension::Capacity,
       "If this portfolio fell in value, how large a fall could you absorb without changing your "
       "standard of living or your plans?",
       {{"none", "None: I cannot afford to lose any of this money", 0},
        {"up_to_10", "Up to 10%", 1},
        {"up_to_20", "Up to 20%", 2},
        {"up_to_35", "Up to 35%", 3},
        {"over_35", "More than 35%", 4}}},
      {"emergency_fund",
       Dimension::Capacity,
       "How many months of essential expenses do you hold in cash outside this portfolio?",
       {{"none", "None", 0},
        {"under_3m", "Less than 3 months", 1},
        {"3_6m", "3 to 6 months", 2},
        {"6_12m", "6 to 12 months", 3},
        {"over_12m", "More than 12 months", 4}}},
      {"wealth_share",
       Dimension::Capacity,
       "What share of your total savings and investments will this portfolio hold?",
       {{"most", "More than 75%", 0},
        {"half", "50% to 75%", 1},
        {"quarter", "25% to 50%", 2},
        {"small", "10% to 25%", 3},
        {"minor", "Less than 10%", 4}}},
      {"income_stability",
       Dimension::IncomeStability,
       "How secure is your income over the next five years?",
       {{"none", "I have no regular income", 0},
        {"uncertain", "Irregular or uncertain", 1},
        {"stable", "Stable and covers my expenses", 2},
        {"very_stable", "Very secure, with a regular surplus", 3}}},
      {"horizon",
       Dimension::Horizon,
       "When do you expect to need most of this money?",
       {{"under_1y", "Within a year", 0},
        {"1_3y", "In 1 to 3 years", 1},
        {"3_5y", "In 3 to 5 years", 2},
        {"5_10y", "In 5 to 10 years", 3},
        {"over_10y", "In more than 10 years", 4}}},
      {"reaction_to_fall",
       Dimension::Willingness,
       "Your portfolio falls 30% within a few months. What do you do?",
       {{"sell_all", "Sell everything to stop further losses", 0},
        {"sell_some", "Sell part of it", 1},
        {"hold", "Hold and wait for a recovery", 2},
        {"buy_more", "Buy more while prices are low", 3}}},
      {"risk_attitude",
       Dimension::Willingness,
       "Which statement describes you best?",
       {{"avoid_loss", "I want to avoid any loss, even if returns are low", 0},
        {"small_swings", "I accept small swings for slightly higher returns", 1},
        {"balanced", "I accept moderate swings for moderate growth", 2},
        {"large_swings", "I accept large swings for higher long-term growth", 3},
        {"maximum", "I seek the highest return and accept large, lasting losses", 4}}},
      {"goal",
       Dimension::Willingness,
       "What is the main goal of this portfolio?",
       {{"preserve", "Keep the money safe", 0},
        {"income", "A steady income", 1},
        {"balanced", "Balanced growth and safety", 2},
        {"growth", "Long-term growth", 3},
        {"max_growth", "The highest possible growth", 4}}},
      {"experience",
       Dimension::Experience,
       "Which investments have you held before?",
       {{"none", "None", 0},
        {"savings", "Only deposits and savings accounts", 1},
        {"funds", "Investment funds or ETFs", 2},
        {"shares", "Individual shares or bonds", 3},
        {"advanced", "Derivatives, leveraged products or active trading", 4}}},
  };
  return all;
}

[[noreturn]] void refuse(const std::string& field, const std::string& why) {
  throw Error(ErrorCode::VALIDATION_ERROR, "risk questionnaire: " + field + " " + why,
              nlohmann::json{{"field", field}}.dump());
}

// Weights in percent (docs/risk-scoring.md §4); they sum to 100.
constexpr int kWeightCapacity = 30;
constexpr int kWeightWillingness = 30;
constexpr int kWeightHorizon = 20;
constexpr int kWeightExperience = 10;
constexpr int kWeightIncome = 10;
static_assert(kWeightCapacity + kWeightWillingness + kWeightHorizon + kWeightExperience +
                      kWeightIncome ==
                  100,
              "weights are percentages");

constexpr int kMaxPenalty = 2;
constexpr int kFlaggedCap = 7;  // a contradictory profile never reaches the HIGH tier

// 1 + 9 × points / max, rounded half down (a tie takes the more conservative level): for a
// non-negative fraction a / b that rounding is (2a + b - 1) / (2b) in integer division.
int dimension_level(int points, int max_points) {
  return 1 + (18 * points + max_points - 1) / (2 * max_points);
}

// Horizon cap by the horizon answer's points (under_1y .. over_10y).
constexpr std::array<int, 5> kHorizonCap = {2, 4, 6, 8, 10};

struct Band {
  int score;
  const char* profile;
  RiskAllocation allocation;
};

// docs/risk-scoring.md §6 and §7.
constexpr std::array<Band, 10> kBands = {{
    {1, "Capital Preservation", {90, 10, 0}},
    {2, "Capital Preservation", {80, 18, 2}},
    {3, "Conservative", {70, 25, 5}},
    {4, "Moderate", {60, 32, 8}},
    {5, "Moderate", {50, 40, 10}},
    {6, "Balanced Growth", {42, 45, 13}},
    {7, "Balanced Growth", {35, 48, 17}},
    {8, "Growth", {28, 50, 22}},
    {9, "Growth", {20, 52, 28}},
    {10, "Aggressive Growth", {12, 53, 35}},
}};

const char* tier_for_score(int score) {
  if (score <= 3) return "LOW";
  if (score <= 7) return "MEDIUM";
  return "HIGH";
}

std::string percent_text(int whole) {
  return std::to_string(whole) + ".00";
}

}  // namespace

RiskAllocation risk_allocation_for_score(int score) {
  if (score < 1 || score > 10) refuse("score", "must be 1 to 10");
  return kBands[static_cast<std::size_t>(score - 1)].allocation;
}

RiskResult score_risk(const nlohmann::json& answers) {
  if (!answers.is_object()) refuse("answers", "must be a JSON object of questionId: answerId");
  // Unknown questions first, so that a misspelt id is named as itself rather than as the
  // question it was meant to answer, which would then be "missing".
  for (const auto& item : answers.items()) {
    const bool known = std::any_of(questions().begin(), questions().end(),
                                   [&](const Question& q) { return item.key() == q.id; });
    if (!known) refuse(item.key(), "is not a question of the questionnaire");
  }

  // Points per question id, read in questionnaire order.
  std::vector<int> points;
  points.reserve(questions().size());
  for (const Question& question : questions()) {
    auto found = answers.find(question.id);
    if (found == answers.end()) refuse(question.id, "is missing");
    if (!found->is_string()) refuse(question.id, "must be an answer id (a string)");
    const std::string& chosen = found->get_ref<const std::string&>();
    auto answer = std::find_if(question.answers.begin(), question.answers.end(),
                               [&](const Answer& a) { return chosen == a.id; });
    if (answer == question.answers.end()) {
      std::string allowed;
      for (const Answer& a : question.answers)
        allowed += (allowed.empty() ? "" : ", ") + std::string(a.id);
      refuse(question.id, "has no answer \"" + chosen + "\" (allowed: " + allowed + ")");
    }
    points.push_back(answer->points);
  }

  auto points_of = [&](const char* question_id) {
    for (std::size_t i = 0; i < questions().size(); ++i)
      if (question_id == std::string(questions()[i].id)) return points[i];
    return 0;  // unreachable: every question was read above
  };
  auto answer_of = [&](const char* question_id) -> const std::string& {
    return answers.find(question_id)->get_ref<const std::string&>();
  };
  auto is = [&](const char* question_id, std::initializer_list<const char*> any_of) {
    const std::string& chosen = answer_of(question_id);
    return std::any_of(any_of.begin(), any_of.end(), [&](const char* id) { return chosen == id; });
  };

  // Sum and maximum of points per dimension.
  std::array<int, 5> sum{};
  std::array<int, 5> max{};
  for (std::size_t i = 0; i < questions().size(); ++i) {
    const Question& question = questions()[i];
    const auto d = static_cast<std::size_t>(question.dimension);
    sum[d] += points[i];
    max[d] += question.answers.back().points;
  }
  auto level = [&](Dimension d) {
    const auto index = static_cast<std::size_t>(d);
    return dimension_level(sum[index], max[index]);
  };

  RiskResult result;
  result.dimensions.capacity = level(Dimension::Capacity);
  result.dimensions.willingness = level(Dimension::Willingness);
  result.dimensions.horizon = level(Dimension::Horizon);
  result.dimensions.experience = level(Dimension::Experience);
  result.dimensions.income_stability = level(Dimension::IncomeStability);

  // Conservative dominance: both of the two central dimensions count at the lower of them.
  const int governing = std::min(result.dimensions.capacity, result.dimensions.willingness);
  const int weighted = (kWeightCapacity + kWeightWillingness) * governing +
                       kWeightHorizon * result.dimensions.horizon +
                       kWeightExperience * result.dimensions.experience +
                       kWeightIncome * result.dimensions.income_stability;
  result.base_score = (weighted + 49) / 100;  // half down; weighted is 100..1000

  // Pathological patterns (docs/risk-scoring.md §5). Each is triggered only by a lower
  // capacity, a shorter horizon or a contradiction, never by more of either, so that the
  // monotonicity properties hold.
  struct Pattern {
    const char* flag;
    bool found;
  };
  const Pattern patterns[] = {
      {"LOSS_INTOLERANT_BUYS_DIP",
       is("capacity_loss", {"none"}) && is("reaction_to_fall", {"buy_more"})},
      {"PANIC_SELLER_SEEKS_SWINGS",
       is("reaction_to_fall", {"sell_all"}) && is("risk_attitude", {"large_swings", "maximum"})},
      {"LOSS_AVERSE_SEEKS_GROWTH",
       is("risk_attitude", {"avoid_loss"}) && is("goal", {"growth", "max_growth"})},
      {"PRESERVER_SEEKS_SWINGS",
       is("goal", {"preserve"}) && is("risk_attitude", {"large_swings", "maximum"})},
      {"SHORT_HORIZON_MAX_GROWTH",
       is("horizon", {"under_1y", "1_3y"}) && is("goal", {"max_growth"})},
      {"NO_SAFETY_NET_ALL_IN", is("emergency_fund", {"none"}) && is("wealth_share", {"most"}) &&
                                   is("risk_attitude", {"large_swings", "maximum"})},
  };
  for (const Pattern& pattern : patterns)
    if (pattern.found) result.flags.emplace_back(pattern.flag);

  int score = result.base_score;
  if (governing + 1 < score) {
    score = governing + 1;
    result.caps.emplace_back("DOMINANCE");
  }
  const int horizon_points = points_of("horizon");
  const int horizon_cap = kHorizonCap[static_cast<std::size_t>(horizon_points)];
  if (horizon_cap < score) {
    score = horizon_cap;
    result.caps.emplace_back("HORIZON");
  }
  if (!result.flags.empty() && kFlaggedCap < score) {
    score = kFlaggedCap;
    result.caps.emplace_back("FLAGGED");
  }
  result.penalty = std::min(static_cast<int>(result.flags.size()), kMaxPenalty);
  score = std::max(1, score - result.penalty);

  result.score = score;
  result.tier = tier_for_score(score);
  result.profile = kBands[static_cast<std::size_t>(score - 1)].profile;
  result.allocation = kBands[static_cast<std::size_t>(score - 1)].allocation;
  return result;
}

nlohmann::json risk_questionnaire_json() {
  nlohmann::json list = nlohmann::json::array();
  for (const Question& question : questions()) {
    nlohmann::json answers = nlohmann::json::array();
    for (const Answer& answer : question.answers)
      answers.push_back({{"id", answer.id}, {"text", answer.text}});
    list.push_back({{"id", question.id},
                    {"dimension", dimension_name(question.dimension)},
                    {"text", question.text},
                    {"answers", std::move(answers)}});
  }
  return {{"version", 1}, {"questions", std::move(list)}};
}

nlohmann::json risk_result_json(const RiskResult& result) {
  return {{"score", result.score},
          {"tier", result.tier},
          {"profile", result.profile},
          {"targetAllocation",
           {{"FOUNDATION", percent_text(result.allocation.foundation)},
            {"GROWTH", percent_text(result.allocation.growth)},
            {"UPSIDE", percent_text(result.allocation.upside)}}},
          {"flags", result.flags},
          {"dimensions",
           {{"capacity", result.dimensions.capacity},
            {"willingness", result.dimensions.willingness},
            {"horizon", result.dimensions.horizon},
            {"experience", result.dimensions.experience},
            {"incomeStability", result.dimensions.income_stability}}},
          {"baseScore", result.base_score},
          {"caps", result.caps},
          {"penalty", result.penalty}};
}

}  // namespace pgfolio
