-- Ownership in the database (docs/auth.md, "Per-request identity"): pgfolio_api reaches no
-- account without authenticate, acting as A reaches nothing of B's through any function or
-- table, and no secret of the flows is left in the audit trail or anywhere once sent.
BEGIN;
SELECT plan(32);
\ir fixtures.psql
\ir auth-fixtures.psql

\set a '''a0000000-0000-4000-8000-00000000000a'''
\set b '''b0000000-0000-4000-8000-00000000000b'''

SELECT pg_temp.login(:a, 'a-1') AS sa \gset
SELECT pg_temp.login(:b, 'b-1') AS sb \gset
UPDATE pgfolio.users SET totp_pending_secret = '\xbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb',
                         notification_token = 'fcm:b-device', avatar_url = 'https://img.example/b.png'
WHERE id = :b;
CREATE TEMP TABLE b_before ON COMMIT DROP AS SELECT * FROM pgfolio.users WHERE id = :b;

-- The functions that act for a user, with the arguments of a real call.
CREATE TEMP TABLE acting_calls (call text) ON COMMIT DROP;
INSERT INTO acting_calls VALUES
  ('pgfolio.auth_logout()'), ('pgfolio.auth_sessions()'),
  (format('pgfolio.auth_session_revoke(%L)', :'sb')),
  ('pgfolio.mfa_enrol(''\x0102030405060708090a0b0c0d0e0f10'')'), ('pgfolio.mfa_pending_secret()'),
  ('pgfolio.mfa_confirm(pg_temp.totp_step())'), ('pgfolio.mfa_secret()'),
  ('pgfolio.mfa_disable(pg_temp.totp_step())'),
  ('pgfolio.profile_get()'), ('pgfolio.profile_update(''{"displayName": "Mallory"}'')'),
  ('pgfolio.profile_export()'), ('pgfolio.profile_delete()'),
  ('pgfolio.onboarding_consent(''{"risk": true, "loss": true, "noGuarantee": true}'')'),
  ('pgfolio.admin_users(10, NULL)'), (format('pgfolio.admin_user_suspend(%L)', :b)),
  (format('pgfolio.admin_user_reactivate(%L)', :b)), ('pgfolio.admin_upsert_prices(''[]'')'),
  ('pgfolio.admin_upsert_fx_rates(''[]'')');
GRANT SELECT ON acting_calls TO pgfolio_api;

SET LOCAL ROLE pgfolio_api;
-- No acting user.
SELECT is_empty($$SELECT call, pg_temp.error_of('SELECT ' || call) ->> 'sqlstate' FROM acting_calls
                  WHERE pg_temp.error_of('SELECT ' || call) ->> 'sqlstate' IS DISTINCT FROM 'PF401'$$,
  'without authenticate, every acting-user function is UNAUTHORIZED');
-- An acting user set by hand, without a session: no function follows it (nor does row-level
-- security: tests/sql/02-row-level-security.sql).
SELECT set_config('pgfolio.acting_user', :a, true) \g /dev/null
SELECT is_empty($$SELECT call FROM acting_calls
                  WHERE pg_temp.error_of('SELECT ' || call) ->> 'sqlstate' IS DISTINCT FROM 'PF401'$$,
  '... and so it is with pgfolio.acting_user set but no session authenticated');
SELECT set_config('pgfolio.session_id', :'sb', true) \g /dev/null
SELECT is_empty($$SELECT call FROM acting_calls
                  WHERE pg_temp.error_of('SELECT ' || call) ->> 'sqlstate' IS DISTINCT FROM 'PF401'$$,
  '... or with B''s session id set by hand beside A');

-- A, authenticated, aims at B.
SELECT pg_temp.act_as(:a, :'sa') \g /dev/null
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_session_revoke(%L)', :'sb')) ->> 'sqlstate', 'PF404',
  'A revoking B''s session: NOT_FOUND');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.admin_user_suspend(%L)', :b)) ->> 'sqlstate', 'PF403',
  'A suspending B: FORBIDDEN');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.admin_user_reactivate(%L)', :b)) ->> 'sqlstate', 'PF403',
  'A reactivating B: FORBIDDEN');
SELECT is(pg_temp.error_of('SELECT pgfolio.admin_users(10, NULL)') ->> 'sqlstate', 'PF403',
  'A listing accounts: FORBIDDEN');
SELECT is(pg_temp.error_of('SELECT pgfolio.mfa_pending_secret()') ->> 'sqlstate', 'PF409',
  'A reads no pending MFA secret (B has one, A none)');
SELECT is((SELECT array_agg(s ->> 'id') FROM jsonb_array_elements(pgfolio.auth_sessions()) s),
  ARRAY[:'sa'], 'A''s session list holds A''s session only');
SELECT is(pgfolio.profile_get() ->> 'id', 'a0000000-0000-4000-8000-00000000000a', 'A''s profile is A''s');
SELECT unalike(pgfolio.profile_export()::text, '%b0000000-0000-4000-8000-00000000000b%',
  'A''s export names nothing of B''s');
SELECT unalike(pgfolio.profile_export()::text, '%b1000000-0000-4000-8000-00000000000b%',
  '... not even B''s public portfolio');
SELECT is(pgfolio.profile_update('{"displayName": "Mallory", "biometricEnabled": true}') ->> 'id',
  'a0000000-0000-4000-8000-00000000000a', 'A changes A''s settings');
SELECT pgfolio.onboarding_consent('{"risk": true, "loss": true, "noGuarantee": true}') \g /dev/null
SELECT pgfolio.mfa_enrol('\x0102030405060708090a0b0c0d0e0f10') \g /dev/null
SELECT pgfolio.mfa_confirm(pg_temp.totp_step(-1)) \g /dev/null
SELECT pgfolio.mfa_disable(pg_temp.totp_step()) \g /dev/null

-- The tables, through row-level security.
SELECT results_eq('SELECT id FROM pgfolio.users', ARRAY[:a::uuid], 'A sees A''s user row only');
SELECT results_eq('SELECT id FROM pgfolio.sessions', ARRAY[:'sa'::uuid], '... A''s sessions only');
SELECT ok((SELECT bool_and(actor_id = :a) FROM pgfolio.audit_logs)
          AND (SELECT count(*) FROM pgfolio.audit_logs) > 0, '... A''s audit trail only');
SELECT is(pg_temp.error_of('SELECT password_hash FROM pgfolio.users') ->> 'sqlstate', '42501',
  'A cannot read even A''s own password hash');
SELECT is(pg_temp.error_of('SELECT totp_pending_secret FROM pgfolio.users') ->> 'sqlstate', '42501',
  '... or TOTP secret');
SELECT is_empty($$SELECT t FROM unnest(ARRAY['refresh_tokens', 'otp_challenges', 'one_time_tokens', 'outbox']) t
                  WHERE pg_temp.error_of('SELECT 1 FROM pgfolio.' || t) ->> 'sqlstate' IS DISTINCT FROM '42501'$$,
  'refresh tokens, OTP challenges, one-time tokens, outbox: permission denied');
SELECT is(pg_temp.error_of(format('UPDATE pgfolio.sessions SET revoked_at = now() WHERE id = %L', :'sb')) ->> 'sqlstate',
  '42501', 'pgfolio_api writes no session directly');
SELECT is(pg_temp.error_of(format('SELECT pg_temp.act_as(%L, %L)', :b, :'sa')) ->> 'sqlstate', 'PF401',
  'A''s session does not authenticate B');
RESET ROLE;
SELECT is((SELECT revoked_at FROM pgfolio.sessions WHERE id = :'sb'), NULL, 'B''s session is live');
SELECT is((SELECT u::text FROM pgfolio.users u WHERE id = :b), (SELECT b::text FROM b_before b),
  'B''s account is exactly as it was');
SELECT is((SELECT count(*) FROM pgfolio.audit_logs WHERE actor_id = :b AND action <> 'login.success'), 0::bigint,
  '... and nothing was done in B''s name');

-- No secret in the audit trail, none left anywhere once sent. The flows run with secrets known
-- to the test; every table is then searched for them.
CREATE FUNCTION pg_temp.tables_containing(needle text) RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
  t text;
  found text[] := '{}';
  hit boolean;
BEGIN
  FOR t IN SELECT c.relname FROM pg_class c
           WHERE c.relnamespace = 'pgfolio'::regnamespace AND c.relkind = 'r' ORDER BY 1 LOOP
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM pgfolio.%I r WHERE strpos(r::text, $1) > 0)', t)
      INTO hit USING needle;
    IF hit THEN found := found || t; END IF;
  END LOOP;
  RETURN found;
END
$$;
SET LOCAL ROLE pgfolio_api;
SELECT pgfolio.auth_register('sentinel@test.example', '$argon2id$v=19$m=19456,t=2,p=1$U0VOVElORUw$U0VOVElORUxIQVNI',
                             'Sentinel', '{"ip": "192.0.2.55"}') ->> 'userId' AS sentinel \gset
SELECT pgfolio.auth_otp_send('+919800000099', NULL) \g /dev/null
SELECT pgfolio.auth_password_forgot('sentinel@test.example', NULL) \g /dev/null
RESET ROLE;
SELECT (pg_temp.last_message('+919800000099')).payload ->> 'code' AS code \gset
SELECT (SELECT payload ->> 'token' FROM pgfolio.outbox WHERE template = 'email-verify' AND recipient = 'sentinel@test.example') AS verify_token \gset
SELECT (pg_temp.last_message('sentinel@test.example')).payload ->> 'token' AS reset_token \gset
SET LOCAL ROLE pgfolio_api;
SELECT pgfolio.auth_otp_verify('+919800000099', pg_temp.otp_hash('+919800000099', '000000x'), pg_temp.h('SENTINEL-R0'), NULL) \g /dev/null
SELECT pgfolio.auth_otp_verify('+919800000099', pg_temp.otp_hash('+919800000099', :'code'), pg_temp.h('SENTINEL-R1'), NULL) \g /dev/null
SELECT pgfolio.auth_email_verify(pg_temp.h(:'verify_token')) \g /dev/null
SELECT pgfolio.auth_password_reset(pg_temp.h(:'reset_token'), '$argon2id$v=19$m=19456,t=2,p=1$U0VOVElORUwy$U0VOVElORUxIQVNIMg', NULL) \g /dev/null
SELECT pg_temp.act_as(:'sentinel', pg_temp.login(:'sentinel', 'SENTINEL-R2')) \g /dev/null
SELECT pgfolio.auth_refresh(pg_temp.h('SENTINEL-R2'), pg_temp.h('SENTINEL-R3'), NULL) \g /dev/null
SELECT pgfolio.auth_refresh(pg_temp.h('SENTINEL-R2'), pg_temp.h('SENTINEL-R4'), NULL) \g /dev/null
SELECT pg_temp.act_as(:'sentinel', pg_temp.login(:'sentinel', 'SENTINEL-R5')) \g /dev/null
SELECT pgfolio.mfa_enrol('\x53454e54494e454c2d544f54502d534543524554') \g /dev/null
SELECT pgfolio.mfa_confirm(pg_temp.totp_step(-1)) \g /dev/null
SELECT pgfolio.auth_mfa_challenge_start(:'sentinel', pg_temp.h('SENTINEL-CH')) \g /dev/null
SELECT pgfolio.auth_mfa_challenge_take(pg_temp.h('SENTINEL-CH')) \g /dev/null
SELECT pgfolio.auth_login_failed(:'sentinel', NULL, 'mfa') \g /dev/null
SELECT pgfolio.mfa_disable(pg_temp.totp_step()) \g /dev/null
SET LOCAL ROLE pgfolio_worker;
SELECT pgfolio.outbox_sent(id) FROM pgfolio.outbox_claim(100) \g /dev/null
RESET ROLE;
CREATE TEMP TABLE secrets (name text, value text) ON COMMIT DROP;
INSERT INTO secrets VALUES
  ('password hash', 'U0VOVElORUxIQVNI'), ('TOTP secret (hex)', '53454e54494e454c2d544f54502d534543524554'),
  ('TOTP secret (base64)', encode('\x53454e54494e454c2d544f54502d534543524554', 'base64')),
  ('verification token', :'verify_token'), ('verification token hash', pg_temp.h(:'verify_token')),
  ('reset token', :'reset_token'), ('reset token hash', pg_temp.h(:'reset_token')),
  ('OTP code hash', pg_temp.otp_hash('+919800000099', :'code')),
  ('wrong OTP code hash', pg_temp.otp_hash('+919800000099', '000000x')),
  ('refresh token hashes', pg_temp.h('SENTINEL-R1')), ('', pg_temp.h('SENTINEL-R3')),
  ('', pg_temp.h('SENTINEL-R4')), ('MFA challenge hash', pg_temp.h('SENTINEL-CH'));
SELECT is((SELECT count(*) FROM pgfolio.audit_logs WHERE actor_id = :'sentinel'::uuid
             OR host(ip) = '192.0.2.55'), 11::bigint,
  'the flows wrote their audit rows (registration, verification, reset, logins, reuse, MFA)');
SELECT is_empty($$SELECT s.name FROM secrets s, pgfolio.audit_logs a
                  WHERE strpos(a::text, s.value) > 0$$,
  'no password hash, TOTP secret, token, code, refresh token or challenge (nor their hashes) is in the audit trail');
SELECT is_empty($$SELECT a.id FROM pgfolio.audit_logs a, regexp_matches(a.details::text, '"[0-9]{6}"', 'g') m$$,
  '... nor any 6-digit code');
SELECT is(pg_temp.tables_containing(:'verify_token'), '{}',
  'once sent, the verification token is nowhere in the database');
SELECT is(pg_temp.tables_containing(:'reset_token'), '{}', '... nor the reset token');
SELECT is((SELECT count(*) FROM pgfolio.outbox WHERE (payload ? 'code' OR payload ? 'token') AND id > :outbox_start), 0::bigint,
  '... nor any code: sent messages keep no secret');
SELECT is(pg_temp.tables_containing(pg_temp.h('SENTINEL-CH')), '{one_time_tokens}',
  'an MFA challenge''s hash is in one_time_tokens alone');
SELECT is(pg_temp.tables_containing(pg_temp.h('SENTINEL-R3')), '{refresh_tokens}',
  'a refresh token''s hash is in refresh_tokens alone');

SELECT * FROM finish();
ROLLBACK;
