-- The onboarding risk profile (docs/risk-scoring.md), in C++: the questionnaire the apps show
-- and the score, tier, profile name and target allocation of a set of answers. Pure functions
-- of their input, so analysts may call them freely.
CREATE FUNCTION risk_questionnaire() RETURNS jsonb
  LANGUAGE c IMMUTABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pgfolio_risk_questionnaire';
COMMENT ON FUNCTION risk_questionnaire() IS
  'The risk questionnaire: questions and their allowed answers (docs/risk-scoring.md)';
CREATE FUNCTION risk_score(answers jsonb) RETURNS jsonb
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'pgfolio_risk_score';
COMMENT ON FUNCTION risk_score(jsonb) IS
  'Score 1-10, tier, profile and target allocation of {questionId: answerId} answers; VALIDATION_ERROR names a bad question';
GRANT EXECUTE ON FUNCTION risk_questionnaire(), risk_score(jsonb)
  TO pgfolio_api, pgfolio_analyst, pgfolio_admin;
