-- The onboarding risk profile in SQL (docs/risk-scoring.md): the questionnaire, documented
-- answer sets with their expected results (the same fixtures as tests/core/risk_score_test.cpp),
-- and refusals that name the question.
BEGIN;
SELECT plan(12);
\ir fixtures.psql

CREATE FUNCTION pg_temp.answers(list text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT jsonb_object_agg(q.id, a.answer)
  FROM unnest(ARRAY['capacity_loss', 'emergency_fund', 'wealth_share', 'income_stability',
                    'horizon', 'reaction_to_fall', 'risk_attitude', 'goal', 'experience'])
         WITH ORDINALITY q(id, n)
  JOIN unnest(string_to_array(replace(list, ' ', ''), ',')) WITH ORDINALITY a(answer, n) USING (n)
$$;

SELECT is((SELECT array_agg(q ->> 'id' ORDER BY n)
           FROM jsonb_array_elements(pgfolio.risk_questionnaire() -> 'questions')
                WITH ORDINALITY x(q, n)),
          ARRAY['capacity_loss', 'emergency_fund', 'wealth_share', 'income_stability', 'horizon',
                'reaction_to_fall', 'risk_attitude', 'goal', 'experience'],
          'the questionnaire asks the nine documented questions in order');
SELECT ok(bool_and(jsonb_array_length(q -> 'answers') >= 2 AND q ? 'text'),
          'each question has a text and at least two answers')
FROM jsonb_array_elements(pgfolio.risk_questionnaire() -> 'questions') q;

SELECT is(pgfolio.risk_score(pg_temp.answers(a)) - ARRAY['dimensions', 'baseScore', 'caps', 'penalty'],
          want, 'fixture ' || f)
FROM (VALUES
  ('F1', 'none, 3_6m, half, stable, 1_3y, sell_some, avoid_loss, preserve, savings',
   '{"score": 3, "tier": "LOW", "profile": "Conservative", "flags": [],
     "targetAllocation": {"FOUNDATION": "70.00", "GROWTH": "25.00", "UPSIDE": "5.00"}}'::jsonb),
  ('F2', 'over_35, over_12m, minor, very_stable, over_10y, buy_more, maximum, max_growth, advanced',
   '{"score": 10, "tier": "HIGH", "profile": "Aggressive Growth", "flags": [],
     "targetAllocation": {"FOUNDATION": "12.00", "GROWTH": "53.00", "UPSIDE": "35.00"}}'),
  ('F5 (capacity and willingness disagree: the lower governs)',
   'over_35, over_12m, minor, very_stable, over_10y, sell_some, small_swings, income, shares',
   '{"score": 4, "tier": "MEDIUM", "profile": "Moderate", "flags": [],
     "targetAllocation": {"FOUNDATION": "60.00", "GROWTH": "32.00", "UPSIDE": "8.00"}}'),
  ('F7 (a short horizon caps the score)',
   'over_35, over_12m, minor, very_stable, under_1y, buy_more, maximum, max_growth, advanced',
   '{"score": 1, "tier": "LOW", "profile": "Capital Preservation", "flags": ["SHORT_HORIZON_MAX_GROWTH"],
     "targetAllocation": {"FOUNDATION": "90.00", "GROWTH": "10.00", "UPSIDE": "0.00"}}'),
  ('F8 (contradictory answers are flagged and scored conservatively)',
   'none, 6_12m, small, stable, 5_10y, buy_more, balanced, growth, funds',
   '{"score": 5, "tier": "MEDIUM", "profile": "Moderate", "flags": ["LOSS_INTOLERANT_BUYS_DIP"],
     "targetAllocation": {"FOUNDATION": "50.00", "GROWTH": "40.00", "UPSIDE": "10.00"}}')
) t(f, a, want);
SELECT is(pgfolio.risk_score(pg_temp.answers(
            'up_to_35, none, most, stable, 1_3y, sell_all, maximum, max_growth, none')) -> 'penalty',
          '2', 'F10: three contradictions cost the consistency penalty of 2');

SELECT is(pg_temp.error_of($$SELECT pgfolio.risk_score('{"capacity_loss": "up_to_20"}')$$)
          - 'message',
          '{"sqlstate": "PF400", "detail": "{\"field\":\"emergency_fund\"}"}',
          'a missing answer is VALIDATION_ERROR naming the question');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.risk_score(%L)',
            pg_temp.answers('none, 3_6m, half, stable, 1_3y, sell_some, avoid_loss, preserve, savings')
            || '{"horizon": "forever"}')) ->> 'detail',
          '{"field":"horizon"}', 'an unknown answer names its question');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.risk_score(%L)',
            pg_temp.answers('none, 3_6m, half, stable, 1_3y, sell_some, avoid_loss, preserve, savings')
            || '{"shoe_size": "42"}')) ->> 'detail',
          '{"field":"shoe_size"}', 'an unknown question is named too');
SELECT is(pg_temp.error_of($$SELECT pgfolio.risk_score('[1, 2]')$$) ->> 'sqlstate', 'PF400',
          'answers that are not an object are refused');

SELECT * FROM finish();
ROLLBACK;
