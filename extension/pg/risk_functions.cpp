// SQL entry points of the onboarding risk profile (docs/risk-scoring.md): the questionnaire
// and the score of a set of answers, for analysts and for the onboarding functions.
// nlohmann/json (through risk_score.hpp) before PostgreSQL's headers, whose port.h turns
// snprintf into a macro.
#include "risk_score.hpp"

#include "convert.hpp"

namespace pgfolio::pg {

PGFOLIO_FUNCTION(pgfolio_risk_score) {
  const nlohmann::json answers = nlohmann::json::parse(jsonb_to_string(PG_GETARG_DATUM(0)));
  return to_jsonb(risk_result_json(score_risk(answers)).dump());
}

PGFOLIO_FUNCTION(pgfolio_risk_questionnaire) {
  return to_jsonb(risk_questionnaire_json().dump());
}

}  // namespace pgfolio::pg
