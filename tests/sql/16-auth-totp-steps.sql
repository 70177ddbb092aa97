-- TOTP codes are accepted once (RFC 6238 §5.2; sql/46, 48, 78): the functions that accept a
-- code record its step with a compare-and-set on users.totp_last_step, hand the last step
-- out with the secret, and refuse a step that is not after it, or not near the current one.
BEGIN;
SELECT plan(22);
\ir fixtures.psql
\ir auth-fixtures.psql

\set a '''a0000000-0000-4000-8000-00000000000a'''
\set secret '''\x33333333333333333333333333333333333333'''

SET LOCAL ROLE pgfolio_api;
SELECT pg_temp.act_as(:a, pg_temp.login(:a, 'a-1')) \g /dev/null
SELECT pgfolio.mfa_enrol(:secret) \g /dev/null

-- The step must be there and near the database's current step.
SELECT is(pg_temp.error_of('SELECT pgfolio.mfa_confirm(NULL)'),
  '{"sqlstate": "PF400", "message": "totpStep is required", "detail": "{\"field\": \"totpStep\"}"}',
  'confirming needs the step the code matched');
SELECT is(pg_temp.error_of('SELECT pgfolio.mfa_confirm(pg_temp.totp_step(3))'),
  '{"sqlstate": "PF400", "message": "totpStep must be the current TOTP step (±2)", "detail": "{\"field\": \"totpStep\"}"}',
  'a step 3 ahead is refused: no step far ahead can lock the authenticator out');
SELECT is(pg_temp.error_of('SELECT pgfolio.mfa_confirm(pg_temp.totp_step(-3))') ->> 'detail',
  '{"field": "totpStep"}', '... and so is one 3 behind');
SELECT is(pgfolio.mfa_confirm(pg_temp.totp_step(-1)), '{"success": true}',
  'a code of the previous step confirms');
RESET ROLE;
SELECT is((SELECT totp_last_step FROM pgfolio.users WHERE id = :a), pg_temp.totp_step(-1),
  '... and its step is recorded as the last accepted one');
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.mfa_secret() ->> 'lastStep', pg_temp.totp_step(-1)::text,
  'mfa_secret hands the last step out with the secret');

-- Logins: the same step again, or an earlier one, is refused and remembered.
SELECT pgfolio.auth_mfa_challenge_start(:a, pg_temp.h('ch-1')) \g /dev/null
SELECT is(pgfolio.auth_mfa_challenge_take(pg_temp.h('ch-1')) ->> 'lastStep',
  pg_temp.totp_step(-1)::text, 'auth_mfa_challenge_take hands the last step out too');
SELECT is(pgfolio.auth_mfa_session_start(pg_temp.h('ch-1'), pg_temp.h('a-2'), NULL, 3600,
                                         pg_temp.totp_step(-1)),
  '{"problem": {"code": "UNAUTHORIZED", "detail": "this code was used already: wait for the next one",
                "details": {"field": "totpStep", "reason": "codeReused", "attemptsLeft": 4}}}',
  'the confirming code''s step cannot log in: an UNAUTHORIZED problem, returned (not raised)');
SELECT is((pgfolio.auth_mfa_session_start(pg_temp.h('ch-1'), pg_temp.h('a-2'), NULL, 3600,
                                          pg_temp.totp_step(-2)) -> 'problem' -> 'details' ->> 'reason'),
  'codeReused', '... nor an earlier step''s');
RESET ROLE;
SELECT is((SELECT count(*) FROM pgfolio.sessions WHERE user_id = :a), 1::bigint,
  '... no session was opened');
SELECT is((SELECT consumed_at FROM pgfolio.one_time_tokens WHERE token_hash = pg_temp.h('ch-1')),
  NULL, '... the challenge is not used up');
SELECT is((SELECT count(*) FROM pgfolio.audit_logs WHERE id > :audit_start AND actor_id = :a
             AND action = 'login.failure' AND details = '{"reason": "mfa"}'), 2::bigint,
  '... and each refusal is audited as a failed MFA login');
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.auth_mfa_session_start(pg_temp.h('ch-1'), pg_temp.h('a-2'), NULL, 3600,
                                         pg_temp.totp_step()) -> 'user' ->> 'id',
  'a0000000-0000-4000-8000-00000000000a', 'a later step opens the session');
RESET ROLE;
SELECT is((SELECT totp_last_step FROM pgfolio.users WHERE id = :a), pg_temp.totp_step(),
  '... and becomes the last accepted one');

-- Disabling: a code that logged in cannot also turn MFA off.
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of('SELECT pgfolio.mfa_disable(pg_temp.totp_step())'),
  '{"sqlstate": "PF400", "message": "this code was used already: wait for the next one", "detail": "{\"field\": \"totpStep\", \"reason\": \"codeReused\"}"}',
  'mfa_disable with the step that logged in: VALIDATION_ERROR, codeReused');
SELECT is(pgfolio.mfa_secret() ->> 'lastStep', pg_temp.totp_step()::text, '... MFA stays on');
SELECT is(pgfolio.mfa_disable(pg_temp.totp_step(1)), '{"success": true}',
  'the next step''s code turns MFA off');
RESET ROLE;
SELECT is((SELECT totp_last_step FROM pgfolio.users WHERE id = :a), NULL,
  '... and the step goes with the secret');
SELECT throws_ok(format('UPDATE pgfolio.users SET totp_last_step = 1 WHERE id = %L', :a),
  '23514', NULL, 'without MFA on, no step can be recorded');

-- Enrolling again: the new secret has had no code accepted, so the current step confirms it.
SET LOCAL ROLE pgfolio_api;
SELECT pgfolio.mfa_enrol(:secret) \g /dev/null
SELECT is(pgfolio.mfa_pending_secret() ->> 'lastStep', NULL,
  'a pending secret has no last step');
SELECT is(pgfolio.mfa_confirm(pg_temp.totp_step()), '{"success": true}',
  '... and any current step confirms it');
SELECT pgfolio.profile_delete() \g /dev/null
RESET ROLE;
SELECT is((SELECT totp_last_step FROM pgfolio.users WHERE id = :a), NULL,
  'erasure forgets the step with the secret');

SELECT * FROM finish();
ROLLBACK;
