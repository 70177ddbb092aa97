// Risk scoring (extension/core/risk_score, docs/risk-scoring.md): the documented answer sets,
// properties over the whole answer space, and the refusal of every kind of invalid input.
#include "risk_score.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "error.hpp"

namespace pgfolio {
namespace {

// Question ids in the order of the questionnaire; the fixtures list answers in this order.
const std::array<const char*, 9> kIds = {"capacity_loss",    "emergency_fund", "wealth_share",
                                         "income_stability", "horizon",        "reaction_to_fall",
                                         "risk_attitude",    "goal",           "experience"};

nlohmann::json answers_of(const std::array<const char*, 9>& chosen) {
  nlohmann::json answers = nlohmann::json::object();
  for (std::size_t i = 0; i < kIds.size(); ++i) answers[kIds[i]] = chosen[i];
  return answers;
}

// The table of docs/risk-scoring.md §9, row for row.
struct Fixture {
  const char* name;
  std::array<const char*, 9> answers;
  int score;
  const char* tier;
  const char* profile;
  RiskAllocation allocation;
  std::vector<std::string> flags;
  std::vector<std::string> caps;
  std::array<int, 5> dimensions;  // capacity, willingness, horizon, experience, income
};

const std::vector<Fixture>& fixtures() {
  static const std::vector<Fixture> all = {
      {"F1 cautious, near term",
       {"none", "3_6m", "half", "stable", "1_3y", "sell_some", "avoid_loss", "preserve", "savings"},
       3,
       "LOW",
       "Conservative",
       {70, 25, 5},
       {},
       {},
       {3, 2, 3, 3, 7}},
      {"F2 every top answer",
       {"over_35", "over_12m", "minor", "very_stable", "over_10y", "buy_more", "maximum",
        "max_growth", "advanced"},
       10,
       "HIGH",
       "Aggressive Growth",
       {12, 53, 35},
       {},
       {},
       {10, 10, 10, 10, 10}},
      {"F3 every bottom answer",
       {"none", "none", "most", "none", "under_1y", "sell_all", "avoid_loss", "preserve", "none"},
       1,
       "LOW",
       "Capital Preservation",
       {90, 10, 0},
       {},
       {},
       {1, 1, 1, 1, 1}},
      {"F4 middle of the road",
       {"up_to_20", "3_6m", "quarter", "stable", "5_10y", "hold", "balanced", "balanced", "funds"},
       6,
       "MEDIUM",
       "Balanced Growth",
       {42, 45, 13},
       {},
       {},
       {5, 6, 8, 5, 7}},
      {"F5 wealthy but timid (dominance)",
       {"over_35", "over_12m", "minor", "very_stable", "over_10y", "sell_some", "small_swings",
        "income", "shares"},
       4,
       "MEDIUM",
       "Moderate",
       {60, 32, 8},
       {},
       {"DOMINANCE"},
       {10, 3, 10, 8, 10}},
      {"F6 bold but fragile (dominance)",
       {"up_to_10", "under_3m", "most", "uncertain", "over_10y", "buy_more", "maximum",
        "max_growth", "shares"},
       3,
       "LOW",
       "Conservative",
       {70, 25, 5},
       {},
       {"DOMINANCE"},
       {2, 10, 10, 8, 4}},
      {"F7 top answers but money needed within a year",
       {"over_35", "over_12m", "minor", "very_stable", "under_1y", "buy_more", "maximum",
        "max_growth", "advanced"},
       1,
       "LOW",
       "Capital Preservation",
       {90, 10, 0},
       {"SHORT_HORIZON_MAX_GROWTH"},
       {"HORIZON"},
       {10, 10, 1, 10, 10}},
      {"F8 cannot lose anything yet buys the dip",
       {"none", "6_12m", "small", "stable", "5_10y", "buy_more", "balanced", "growth", "funds"},
       5,
       "MEDIUM",
       "Moderate",
       {50, 40, 10},
       {"LOSS_INTOLERANT_BUYS_DIP"},
       {},
       {5, 8, 8, 5, 7}},
      {"F9 long-horizon saver",
       {"up_to_35", "3_6m", "small", "stable", "over_10y", "hold", "large_swings", "growth",
        "funds"},
       7,
       "MEDIUM",
       "Balanced Growth",
       {35, 48, 17},
       {},
       {},
       {7, 8, 10, 5, 7}},
      {"F10 three contradictions (penalty capped at 2)",
       {"up_to_35", "none", "most", "stable", "1_3y", "sell_all", "maximum", "max_growth", "none"},
       1,
       "LOW",
       "Capital Preservation",
       {90, 10, 0},
       {"PANIC_SELLER_SEEKS_SWINGS", "SHORT_HORIZON_MAX_GROWTH", "NO_SAFETY_NET_ALL_IN"},
       {},
       {3, 8, 3, 1, 7}},
      {"F11 avoids any loss, wants growth",
       {"up_to_20", "6_12m", "quarter", "stable", "5_10y", "hold", "avoid_loss", "growth", "funds"},
       5,
       "MEDIUM",
       "Moderate",
       {50, 40, 10},
       {"LOSS_AVERSE_SEEKS_GROWTH"},
       {},
       {6, 5, 8, 5, 7}},
      {"F12 strong investor whose goal is preservation (flagged cap)",
       {"over_35", "over_12m", "minor", "very_stable", "over_10y", "buy_more", "maximum",
        "preserve", "advanced"},
       6,
       "MEDIUM",
       "Balanced Growth",
       {42, 45, 13},
       {"PRESERVER_SEEKS_SWINGS"},
       {"FLAGGED"},
       {10, 7, 10, 10, 10}},
      {"F13 consistent growth investor",
       {"up_to_35", "over_12m", "small", "very_stable", "over_10y", "buy_more", "large_swings",
        "growth", "shares"},
       9,
       "HIGH",
       "Growth",
       {20, 52, 28},
       {},
       {},
       {8, 8, 10, 8, 10}},
  };
  return all;
}

TEST(RiskScoreFixtures, DocumentedAnswerSetsScoreAsDocumented) {
  for (const Fixture& f : fixtures()) {
    SCOPED_TRACE(f.name);
    const RiskResult r = score_risk(answers_of(f.answers));
    EXPECT_EQ(r.score, f.score);
    EXPECT_EQ(r.tier, f.tier);
    EXPECT_EQ(r.profile, f.profile);
    EXPECT_EQ(r.allocation.foundation, f.allocation.foundation);
    EXPECT_EQ(r.allocation.growth, f.allocation.growth);
    EXPECT_EQ(r.allocation.upside, f.allocation.upside);
    EXPECT_EQ(r.flags, f.flags);
    EXPECT_EQ(r.caps, f.caps);
    EXPECT_EQ(r.penalty, std::min<int>(static_cast<int>(f.flags.size()), 2));
    const std::array<int, 5> dims = {r.dimensions.capacity, r.dimensions.willingness,
                                     r.dimensions.horizon, r.dimensions.experience,
                                     r.dimensions.income_stability};
    EXPECT_EQ(dims, f.dimensions);
  }
}

TEST(RiskScoreFixtures, EveryPatternAndCapIsExercisedByTheFixtures) {
  // So that a pattern or cap cannot silently stop firing while the fixtures still pass.
  std::set<std::string> flags, caps;
  for (const Fixture& f : fixtures()) {
    flags.insert(f.flags.begin(), f.flags.end());
    caps.insert(f.caps.begin(), f.caps.end());
  }
  EXPECT_EQ(flags, (std::set<std::string>{"LOSS_INTOLERANT_BUYS_DIP", "PANIC_SELLER_SEEKS_SWINGS",
                                          "LOSS_AVERSE_SEEKS_GROWTH", "PRESERVER_SEEKS_SWINGS",
                                          "SHORT_HORIZON_MAX_GROWTH", "NO_SAFETY_NET_ALL_IN"}));
  EXPECT_EQ(caps, (std::set<std::string>{"DOMINANCE", "HORIZON", "FLAGGED"}));
}

TEST(RiskScoreFixtures, ResultJsonUsesTheProfileShapeWithTwoDecimalPercentages) {
  const nlohmann::json j = risk_result_json(score_risk(answers_of(fixtures()[11].answers)));
  EXPECT_EQ(j.at("score"), 6);
  EXPECT_EQ(j.at("tier"), "MEDIUM");
  EXPECT_EQ(j.at("profile"), "Balanced Growth");
  EXPECT_EQ(j.at("targetAllocation"),
            (nlohmann::json{{"FOUNDATION", "42.00"}, {"GROWTH", "45.00"}, {"UPSIDE", "13.00"}}));
  EXPECT_EQ(j.at("flags"), nlohmann::json::array({"PRESERVER_SEEKS_SWINGS"}));
  EXPECT_EQ(j.at("caps"), nlohmann::json::array({"FLAGGED"}));
  EXPECT_EQ(j.at("baseScore"), 8);
  EXPECT_EQ(j.at("penalty"), 1);
  EXPECT_EQ(j.at("dimensions"), (nlohmann::json{{"capacity", 10},
                                                {"willingness", 7},
                                                {"horizon", 10},
                                                {"experience", 10},
                                                {"incomeStability", 10}}));
}

// ---- properties over the whole answer space ------------------------------------------------

// Answer ids of each question, lowest points first, read from the questionnaire itself.
std::vector<std::vector<std::string>> answer_lists() {
  const nlohmann::json q = risk_questionnaire_json();
  std::vector<std::vector<std::string>> lists;
  for (std::size_t i = 0; i < kIds.size(); ++i) {
    const nlohmann::json& question = q.at("questions").at(i);
    EXPECT_EQ(question.at("id"), kIds[i]);
    std::vector<std::string> ids;
    for (const auto& answer : question.at("answers")) ids.push_back(answer.at("id"));
    lists.push_back(std::move(ids));
  }
  return lists;
}

// Scores every combination of answers once (1,250,000 of them) into a table indexed by the
// mixed-radix number of the answer indices, so properties compare neighbours by lookup.
struct Space {
  std::vector<std::vector<std::string>> lists = answer_lists();
  std::vector<std::size_t> stride = std::vector<std::size_t>(kIds.size());
  std::vector<signed char> score;
  std::size_t size = 1;

  Space() {
    for (std::size_t i = kIds.size(); i-- > 0;) {
      stride[i] = size;
      size *= lists[i].size();
    }
    score.resize(size);
    nlohmann::json answers = nlohmann::json::object();
    for (std::size_t i = 0; i < kIds.size(); ++i) answers[kIds[i]] = lists[i][0];
    for (std::size_t index = 0; index < size; ++index) {
      for (std::size_t i = 0; i < kIds.size(); ++i)
        answers[kIds[i]] = lists[i][(index / stride[i]) % lists[i].size()];
      const RiskResult r = score_risk(answers);
      score[index] = static_cast<signed char>(r.score);
      // Invariants of every single result, checked here to avoid a second pass.
      if (r.score < 1 || r.score > 10 || r.profile.empty() || (!r.flags.empty() && r.score > 7) ||
          r.score > std::min(r.dimensions.capacity, r.dimensions.willingness) + 1) {
        ADD_FAILURE() << "bad result for " << answers.dump() << ": " << risk_result_json(r).dump();
        return;
      }
    }
  }
  std::size_t digit(std::size_t index, std::size_t question) const {
    return (index / stride[question]) % lists[question].size();
  }
};

const Space& space() {
  static const Space s;
  return s;
}

TEST(RiskScoreProperties, MoreCapacityNeverLowersTheScore) {
  const Space& s = space();
  for (std::size_t q = 0; q < 3; ++q) {  // capacity_loss, emergency_fund, wealth_share
    std::size_t checked = 0;
    for (std::size_t index = 0; index < s.size; ++index) {
      if (s.digit(index, q) + 1 == s.lists[q].size()) continue;
      const std::size_t more = index + s.stride[q];
      if (s.score[more] < s.score[index]) {
        FAIL() << kIds[q] << " raised from answer " << s.lists[q][s.digit(index, q)]
               << " lowered the score at index " << index;
      }
      ++checked;
    }
    EXPECT_EQ(checked, s.size / 5 * 4);  // every point whose answer can still rise
  }
}

TEST(RiskScoreProperties, AShorterHorizonNeverRaisesTheScore) {
  const Space& s = space();
  const std::size_t q = 4;
  ASSERT_STREQ(kIds[q], "horizon");
  for (std::size_t index = 0; index < s.size; ++index) {
    if (s.digit(index, q) == 0) continue;
    const std::size_t shorter = index - s.stride[q];
    if (s.score[shorter] > s.score[index])
      FAIL() << "horizon shortened from " << s.lists[q][s.digit(index, q)]
             << " raised the score at index " << index;
  }
}

TEST(RiskScoreProperties, HorizonCapsHold) {
  const Space& s = space();
  const int cap[] = {2, 4, 6, 8, 10};
  for (std::size_t index = 0; index < s.size; ++index)
    ASSERT_LE(s.score[index], cap[s.digit(index, 4)]) << index;
}

TEST(RiskScoreProperties, EveryScoreIsReachable) {
  std::set<int> seen(space().score.begin(), space().score.end());
  EXPECT_EQ(seen, (std::set<int>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));
}

TEST(RiskScoreProperties, AllocationsSumTo100AndAreMonotoneInTheScore) {
  RiskAllocation previous = risk_allocation_for_score(1);
  for (int score = 1; score <= 10; ++score) {
    const RiskAllocation a = risk_allocation_for_score(score);
    EXPECT_EQ(a.foundation + a.growth + a.upside, 100) << score;
    EXPECT_GE(a.foundation, 0);
    EXPECT_GE(a.growth, 0);
    EXPECT_GE(a.upside, 0);
    EXPECT_LE(a.foundation, previous.foundation) << score;
    EXPECT_GE(a.upside, previous.upside) << score;
    previous = a;
  }
  EXPECT_THROW(risk_allocation_for_score(0), Error);
  EXPECT_THROW(risk_allocation_for_score(11), Error);
}

TEST(RiskScoreProperties, TierAndProfileFollowTheScore) {
  // Every fixture plus the bands: tier boundaries 3|4 and 7|8.
  for (const Fixture& f : fixtures()) {
    const RiskResult r = score_risk(answers_of(f.answers));
    const char* tier = r.score <= 3 ? "LOW" : r.score <= 7 ? "MEDIUM" : "HIGH";
    EXPECT_EQ(r.tier, tier) << f.name;
    const RiskAllocation a = risk_allocation_for_score(r.score);
    EXPECT_EQ(r.allocation.foundation, a.foundation);
    EXPECT_EQ(r.allocation.upside, a.upside);
  }
}

// ---- the questionnaire ---------------------------------------------------------------------

TEST(RiskQuestionnaire, ListsEveryQuestionWithDistinctIdsAndNoPoints) {
  const nlohmann::json q = risk_questionnaire_json();
  EXPECT_EQ(q.at("version"), 1);
  ASSERT_EQ(q.at("questions").size(), kIds.size());
  std::set<std::string> ids;
  for (const auto& question : q.at("questions")) {
    ids.insert(question.at("id").get<std::string>());
    EXPECT_FALSE(question.at("text").get<std::string>().empty());
    EXPECT_TRUE(question.at("dimension").is_string());
    std::set<std::string> answer_ids;
    for (const auto& answer : question.at("answers")) {
      answer_ids.insert(answer.at("id").get<std::string>());
      EXPECT_FALSE(answer.at("text").get<std::string>().empty());
      EXPECT_FALSE(answer.contains("points"));
    }
    EXPECT_EQ(answer_ids.size(), question.at("answers").size()) << question.at("id");
    EXPECT_GE(answer_ids.size(), 4u);
  }
  EXPECT_EQ(ids, std::set<std::string>(kIds.begin(), kIds.end()));
}

// ---- invalid input -------------------------------------------------------------------------

void expect_refused(const nlohmann::json& answers, const std::string& field) {
  try {
    score_risk(answers);
    ADD_FAILURE() << "accepted " << answers.dump();
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::VALIDATION_ERROR) << error.what();
    EXPECT_NE(std::string(error.what()).find(field), std::string::npos) << error.what();
    EXPECT_EQ(nlohmann::json::parse(error.details_json()), (nlohmann::json{{"field", field}}))
        << answers.dump();
  }
}

TEST(RiskScoreValidation, RefusesANonObject) {
  for (const nlohmann::json& bad :
       {nlohmann::json(nullptr), nlohmann::json::array(), nlohmann::json("none"), nlohmann::json(3),
        nlohmann::json(true), nlohmann::json::array({nlohmann::json{{"capacity_loss", "none"}}})})
    expect_refused(bad, "answers");
}

TEST(RiskScoreValidation, RefusesEachMissingQuestion) {
  for (const char* id : kIds) {
    nlohmann::json answers = answers_of(fixtures()[3].answers);
    answers.erase(id);
    expect_refused(answers, id);
  }
  expect_refused(nlohmann::json::object(), "capacity_loss");
}

TEST(RiskScoreValidation, RefusesAnUnknownQuestion) {
  nlohmann::json answers = answers_of(fixtures()[3].answers);
  answers["favourite_colour"] = "blue";
  expect_refused(answers, "favourite_colour");
  // A misspelt id is named as written, not reported as the question it meant.
  answers = answers_of(fixtures()[3].answers);
  answers.erase("horizon");
  answers["Horizon"] = "5_10y";
  expect_refused(answers, "Horizon");
}

TEST(RiskScoreValidation, RefusesEachWrongType) {
  for (const char* id : kIds) {
    for (const nlohmann::json& bad :
         {nlohmann::json(nullptr), nlohmann::json(2), nlohmann::json(true),
          nlohmann::json::array({"none"}), nlohmann::json{{"id", "none"}}}) {
      nlohmann::json answers = answers_of(fixtures()[3].answers);
      answers[id] = bad;
      expect_refused(answers, id);
    }
  }
}

TEST(RiskScoreValidation, RefusesEachUnknownAnswer) {
  for (std::size_t i = 0; i < kIds.size(); ++i) {
    // Another question's answer, a case variant, an empty string and an outright invention.
    const std::string valid = fixtures()[3].answers[i];
    std::string upper = valid;
    for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    for (const std::string& bad : {std::string("maybe"), std::string(""), upper,
                                   std::string(" ") + valid, std::string("over_9000")}) {
      nlohmann::json answers = answers_of(fixtures()[3].answers);
      answers[kIds[i]] = bad;
      expect_refused(answers, kIds[i]);
    }
  }
}

}  // namespace
}  // namespace pgfolio
