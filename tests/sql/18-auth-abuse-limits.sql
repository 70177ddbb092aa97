-- Limits on what a stolen credential can do. MFA codes tried are capped per account across
-- challenges (sql/48, auth_mfa_challenge_take): whoever has the password can start challenges
-- at will, so the 5 codes per challenge alone would let them guess on for ever. Erasure and
-- enrolling an authenticator need a recent login (sql/78, require_recent_login).
BEGIN;
SELECT plan(10);
\ir fixtures.psql
\ir auth-fixtures.psql

\set a '''a0000000-0000-4000-8000-00000000000a'''
UPDATE pgfolio.users SET mfa_enabled = true,
  totp_secret = '\x22222222222222222222222222222222222222'
WHERE id = :a;

SET LOCAL ROLE pgfolio_api;
SELECT pgfolio.auth_mfa_challenge_start(:a, pg_temp.h('cap-1')) \g /dev/null
SELECT pgfolio.auth_mfa_challenge_start(:a, pg_temp.h('cap-2')) \g /dev/null
SELECT pgfolio.auth_mfa_challenge_start(:a, pg_temp.h('cap-3')) \g /dev/null
SELECT is((SELECT count(*) FROM (SELECT pgfolio.auth_mfa_challenge_take(pg_temp.h('cap-1')) AS r
                                 FROM generate_series(1, 5) i) t
           WHERE NOT r ? 'problem'), 5::bigint,
  'the first challenge''s 5 codes are tried');
SELECT is((SELECT count(*) FROM (SELECT pgfolio.auth_mfa_challenge_take(pg_temp.h('cap-2')) AS r
                                 FROM generate_series(1, 5) i) t
           WHERE NOT r ? 'problem'), 5::bigint,
  '... and a second challenge''s 5: 10 in 15 minutes');
SELECT pgfolio.auth_mfa_challenge_take(pg_temp.h('cap-3')) AS refused \gset
SELECT is(:'refused'::jsonb #>> '{problem,code}', 'RATE_LIMITED',
  'an 11th code, even on a fresh challenge, is RATE_LIMITED');
SELECT ok((:'refused'::jsonb #>> '{problem,details,retryAfter}')::integer BETWEEN 1 AND 900,
  '... with retryAfter: when the oldest tried challenge leaves the 15-minute window');
RESET ROLE;
SELECT is((SELECT attempts FROM pgfolio.one_time_tokens WHERE token_hash = pg_temp.h('cap-3')),
  0::smallint, 'the refusal uses up no attempt of the fresh challenge');

-- Once the tries are older than the window, codes may be tried again.
UPDATE pgfolio.one_time_tokens SET created_at = now() - interval '16 minutes'
WHERE token_hash IN (pg_temp.h('cap-1'), pg_temp.h('cap-2'));
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.auth_mfa_challenge_take(pg_temp.h('cap-3')) ->> 'attemptsLeft', '4',
  'after the window, the fresh challenge takes codes again');

RESET ROLE;

-- B logged in 20 minutes ago: the access token still works, but not for erasure or enrolment.
\set b '''b0000000-0000-4000-8000-00000000000b'''
SELECT pg_temp.login(:b, 'old-login') AS old_session \gset
UPDATE pgfolio.sessions SET created_at = now() - interval '20 minutes' WHERE id = :'old_session';
SET LOCAL ROLE pgfolio_api;
SELECT pg_temp.act_as(:b, :'old_session') \g /dev/null
SELECT is(pg_temp.error_of($$SELECT pgfolio.profile_delete()$$),
  '{"sqlstate": "PF403", "message": "log in again to delete the account", "detail": "{\"reason\": \"reauthenticationRequired\", \"maxLoginAgeSeconds\": 900}"}',
  'an old login cannot erase the account');
SELECT is(pg_temp.error_of($$SELECT pgfolio.mfa_enrol('\x33333333333333333333333333333333333333')$$) ->> 'message',
  'log in again to enrol an authenticator', '... nor enrol an authenticator');
RESET ROLE;
SELECT is((SELECT status FROM pgfolio.users WHERE id = :b), 'active', '... and the account is untouched');
SELECT pg_temp.login(:b, 'new-login') AS new_session \gset
SET LOCAL ROLE pgfolio_api;
SELECT pg_temp.act_as(:b, :'new_session') \g /dev/null
SELECT is(pgfolio.mfa_enrol('\x33333333333333333333333333333333333333') ->> 'pending', 'true',
  'a fresh login enrols');

SELECT * FROM finish();
ROLLBACK;
