-- Accounts and authentication, the schema side: credentials nobody reads, the roles' reach,
-- the formats the domains enforce, and the database's own random secrets.
BEGIN;
SELECT plan(39);
\ir fixtures.psql
\ir auth-fixtures.psql

SELECT has_table('pgfolio', t, 'table pgfolio.' || t || ' exists')
FROM unnest(ARRAY['sessions', 'refresh_tokens', 'otp_challenges', 'one_time_tokens', 'outbox',
                  'audit_logs']) t;
SELECT is((SELECT rolcanlogin FROM pg_roles WHERE rolname = 'pgfolio_worker'), false,
  'pgfolio_worker is a group role (the outbox sender logs in as a member)');

-- Credentials: readable by no role but the owner.
SELECT is_empty($$
  SELECT r, c FROM unnest(ARRAY['pgfolio_api', 'pgfolio_admin', 'pgfolio_analyst',
                                'pgfolio_worker']) r,
               unnest(ARRAY['password_hash', 'totp_secret', 'totp_pending_secret',
                            'notification_token']) c
  WHERE has_column_privilege(r, 'pgfolio.users', c, 'SELECT')$$,
  'no role reads password hashes, TOTP secrets or push tokens');
SELECT ok(has_column_privilege('pgfolio_api', 'pgfolio.users', 'email', 'SELECT')
          AND has_column_privilege('pgfolio_admin', 'pgfolio.users', 'mfa_enabled', 'SELECT'),
  '... while pgfolio_api and pgfolio_admin read the other columns');
SELECT is_empty($$
  SELECT r, t FROM unnest(ARRAY['pgfolio_api', 'pgfolio_admin', 'pgfolio_analyst',
                                'pgfolio_worker']) r,
               unnest(ARRAY['pgfolio.refresh_tokens', 'pgfolio.otp_challenges',
                            'pgfolio.one_time_tokens']) t
  WHERE has_table_privilege(r, t, 'SELECT, INSERT, UPDATE, DELETE')$$,
  'no role touches refresh tokens, OTP challenges or one-time tokens');
SELECT is_empty($$
  SELECT r FROM unnest(ARRAY['pgfolio_api', 'pgfolio_admin', 'pgfolio_analyst',
                             'pgfolio_worker']) r
  WHERE has_column_privilege(r, 'pgfolio.outbox', 'payload', 'SELECT')
     OR has_table_privilege(r, 'pgfolio.outbox', 'INSERT, UPDATE, DELETE')$$,
  'no role reads outbox payloads (codes until sent) or writes the outbox directly');
SELECT is_empty($$
  SELECT r FROM unnest(ARRAY['pgfolio_api', 'pgfolio_admin', 'pgfolio_analyst']) r
  WHERE has_table_privilege(r, 'pgfolio.audit_logs', 'INSERT, UPDATE, DELETE, TRUNCATE')$$,
  'the audit trail is append-only for every role, pgfolio_admin included');
SELECT is_empty($$
  SELECT c.relname FROM pg_class c
  WHERE c.relnamespace = 'pgfolio'::regnamespace
    AND c.relname IN ('sessions', 'refresh_tokens', 'otp_challenges', 'one_time_tokens',
                      'outbox', 'audit_logs')
    AND NOT c.relrowsecurity$$,
  'row-level security is on for every authentication table');

-- Who may call what.
SELECT is_empty($$
  SELECT p.oid::regprocedure FROM pg_proc p
  WHERE p.pronamespace = 'pgfolio'::regnamespace
    AND p.proname IN ('outbox_claim', 'outbox_sent', 'outbox_failed')
    AND (has_function_privilege('pgfolio_api', p.oid, 'EXECUTE')
         OR NOT has_function_privilege('pgfolio_worker', p.oid, 'EXECUTE'))$$,
  'only pgfolio_worker runs the outbox functions');
SELECT is_empty($$
  SELECT p.oid::regprocedure FROM pg_proc p
  WHERE p.pronamespace = 'pgfolio'::regnamespace
    AND p.proname IN ('random_token', 'random_digits', 'audit', 'outbox_queue', 'issue_token',
                      'session_open', 'revoke_sessions', 'acting_user', 'checked', 'client_info',
                      'take_token', 'admin_target', 'start_mfa_challenge',
                      'checked_totp_step', 'totp_step_take', 'password_rehash')
    AND (has_function_privilege('pgfolio_api', p.oid, 'EXECUTE')
         OR has_function_privilege('pgfolio_worker', p.oid, 'EXECUTE'))$$,
  'the internal helpers (secrets, audit, outbox, sessions) are nobody''s to call');
SELECT is_empty($$
  SELECT f FROM unnest(ARRAY[
    'authenticate(uuid,uuid,jsonb)', 'auth_register(text,text,text,jsonb)',
    'auth_login_lookup(text)', 'auth_login_failed(uuid,jsonb,text)',
    'auth_session_start(uuid,text,jsonb,integer,text,text)', 'auth_refresh(text,text,jsonb)',
    'auth_otp_send(text,jsonb)', 'auth_otp_verify(text,text,text,jsonb,integer)',
    'auth_email_verify(text)', 'auth_password_forgot(text,jsonb)',
    'auth_password_reset(text,text,jsonb)', 'auth_mfa_challenge_start(uuid,text,text,text)',
    'auth_mfa_challenge_take(text)', 'auth_mfa_session_start(text,text,jsonb,integer,bigint)',
    'auth_logout()', 'auth_sessions()', 'auth_session_revoke(uuid)', 'mfa_enrol(bytea)',
    'mfa_pending_secret()', 'mfa_confirm(bigint,bytea)', 'mfa_secret()', 'mfa_disable(bigint)',
    'profile_get()', 'profile_update(jsonb)', 'profile_delete()', 'profile_export()',
    'onboarding_consent(jsonb)', 'admin_users(integer,text)', 'admin_user_suspend(uuid)',
    'admin_user_reactivate(uuid)', 'admin_upsert_prices(jsonb)',
    'admin_upsert_fx_rates(jsonb)']) f
  WHERE NOT has_function_privilege('pgfolio_api', 'pgfolio.' || f, 'EXECUTE')$$,
  'pgfolio_api runs every function of the contract (docs/auth.md)');
SELECT is_empty($$
  SELECT p.oid::regprocedure FROM pg_proc p
  WHERE p.pronamespace = 'pgfolio'::regnamespace AND p.prosecdef
    AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c WHERE c LIKE 'search_path=%')$$,
  'every SECURITY DEFINER function pins its search_path');

-- Formats, enforced by the table whatever writes it.
SELECT throws_ok($$UPDATE pgfolio.users SET password_hash = 'plain-text-password'
  WHERE id = 'a0000000-0000-4000-8000-00000000000a'$$, '23514', NULL,
  'a password column holds an Argon2id encoded hash, never a password');
SELECT throws_ok($$UPDATE pgfolio.users SET password_hash = '$argon2id$' || repeat('x', 250)
  WHERE id = 'a0000000-0000-4000-8000-00000000000a'$$, '23514', NULL,
  '... of at most 256 characters');
SELECT throws_ok($$UPDATE pgfolio.users SET email = 'a b@test.example'
  WHERE id = 'a0000000-0000-4000-8000-00000000000a'$$, '23514', NULL,
  'an email has no spaces');
SELECT throws_ok($$UPDATE pgfolio.users SET display_name = E'A\nB'
  WHERE id = 'a0000000-0000-4000-8000-00000000000a'$$, '23514', NULL,
  'a display name has no control characters');
SELECT throws_ok($$UPDATE pgfolio.users SET display_name = '   '
  WHERE id = 'a0000000-0000-4000-8000-00000000000a'$$, '23514', NULL,
  '... and is not blank');
SELECT throws_ok($$UPDATE pgfolio.users SET mfa_enabled = true
  WHERE id = 'a0000000-0000-4000-8000-00000000000a'$$, '23514', NULL,
  'MFA is never on without a secret');
SELECT throws_ok($$INSERT INTO pgfolio.refresh_tokens (token_hash, session_id)
  VALUES (upper(pg_temp.h('x')), gen_random_uuid())$$, '23514', NULL,
  'a token hash is 64 lowercase hex digits');
SELECT throws_ok($$INSERT INTO pgfolio.outbox (channel, recipient, template, payload,
  secret_keys, status) VALUES ('sms', '+919800000001', 'otp', '{"code": "123456"}', '{code}',
  'sent')$$, '23514', NULL, 'a sent message keeps no secret member');
SELECT throws_ok($$INSERT INTO pgfolio.audit_logs (action, details)
  VALUES ('login.success', '{"refreshToken": "x"}')$$, '23514', NULL,
  'an audit row never has a member named like a secret');
SELECT lives_ok($$UPDATE pgfolio.users SET email = 'Mixed.Case+tag@Sub.Test.Example'
  WHERE id = 'a0000000-0000-4000-8000-00000000000a'$$, 'an ordinary email is fine');

-- random_token and random_digits (C, OpenSSL).
SELECT ok((SELECT bool_and(pgfolio.random_token(32) ~ '^[A-Za-z0-9_-]{43}$')
           FROM generate_series(1, 200)),
  'random_token(32) is 43 base64url characters (256 bits, no padding)');
SELECT is(ARRAY[length(pgfolio.random_token(1)), length(pgfolio.random_token(2)),
                length(pgfolio.random_token(3)), length(pgfolio.random_token(1024))],
  ARRAY[2, 3, 4, 1366], '... and ceil(4n/3) characters for n bytes');
SELECT is((SELECT count(DISTINCT pgfolio.random_token(16)) FROM generate_series(1, 1000)),
  1000::bigint, 'tokens do not repeat');
SELECT ok((SELECT bool_and(pgfolio.random_digits(6) ~ '^[0-9]{6}$')
           FROM generate_series(1, 200)), 'random_digits(6) is 6 decimal digits');
SELECT is(length(pgfolio.random_digits(1024)), 1024, '... and any count up to 1024');
-- Uniformity: 300 000 digits, chi-square over the 10 values with 9 degrees of freedom. A
-- uniform generator exceeds 33.7 once in 10 000 runs; one biased like byte % 10 (0-5 drawn
-- with 26/256, 6-9 with 25/256) scores about 120.
SELECT cmp_ok((SELECT sum((n - 30000.0) ^ 2 / 30000.0)
               FROM (SELECT count(*) AS n
                     FROM generate_series(1, 300) g,
                          -- g makes each row call random_digits anew
                          regexp_split_to_table(pgfolio.random_digits(1000 + 0 * g), '') d
                     GROUP BY d) c)::numeric, '<', 33.7,
  'the digits are uniform (chi-square, 9 degrees of freedom, p = 0.0001)');
SELECT is((SELECT count(DISTINCT pgfolio.random_digits(12)) FROM generate_series(1, 1000)),
  1000::bigint, 'digit strings do not repeat');
SELECT is(pg_temp.error_of($$SELECT pgfolio.random_token(0)$$),
  '{"sqlstate": "PF400", "message": "bytes must be between 1 and 1024", "detail": "{\"field\": \"bytes\"}"}',
  'random_token refuses 0 bytes, naming the argument');
SELECT is(pg_temp.error_of($$SELECT pgfolio.random_digits(1025)$$) ->> 'detail',
  '{"field": "n"}', 'random_digits refuses more than 1024');
SELECT is(pgfolio.random_token(NULL), NULL, 'NULL in, NULL out');
SELECT is(pgfolio.sha256_text('abc'),
  'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  'sha256_text is SHA-256 of the UTF-8 text, lowercase hex (FIPS 180-2 "abc")');

-- The limits the functions apply (docs/auth.md).
SELECT is(pgfolio.auth_limits() - ARRAY['emailVerifyTtlSeconds', 'passwordResetTtlSeconds',
                                        'passwordResetsPerHour'],
  '{"otpDigits": 6, "otpTtlSeconds": 120, "otpAttempts": 3, "otpSendsPerWindow": 3,
    "otpWindowSeconds": 300, "mfaChallengeTtlSeconds": 300, "mfaChallengeAttempts": 5,
    "mfaAttemptsPerWindow": 10, "mfaWindowSeconds": 900, "recentLoginSeconds": 900}'::jsonb,
  'OTP: 6 digits, 120 s, 3 attempts, 3 sends per 5 minutes; MFA challenges: 5 minutes, 5 tries, 10 codes per account in 15 minutes; sensitive changes within 15 minutes of a login');

SELECT * FROM finish();
ROLLBACK;
