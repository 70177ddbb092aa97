-- Registration, password login, email verification, password reset and MFA (sql/46, 48, 78):
-- single-use expiring tokens, a reset revoking every session, MFA challenges that cannot be
-- skipped.
BEGIN;
SELECT plan(54);
\ir fixtures.psql
\ir auth-fixtures.psql

\set a '''a0000000-0000-4000-8000-00000000000a'''
\set hash '$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdA$bmV3aGFzaA'
\set client '''{"ip": "2001:db8::7", "userAgent": "pgtap", "device": "laptop"}'''

-- Registration.
SET LOCAL ROLE pgfolio_api;
SELECT pgfolio.auth_register('New.User@Test.Example', :'hash', 'New User', :client) ->> 'userId'
  AS new_user \gset
SELECT matches(:'new_user'::text, '^[0-9a-f-]{36}$', 'auth_register answers the new user''s id');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_register(%L, %L, %L, NULL)',
                                  'new.user@test.example', :'hash', 'Again')),
  '{"sqlstate": "PF409", "message": "an account with this email exists", "detail": "{\"field\": \"email\"}"}',
  'the same email in another case is a CONFLICT naming the field');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_register(%L, %L, %L, NULL)', 'not-an-email', :'hash', 'X')),
  '{"sqlstate": "PF400", "message": "email must be an email address of at most 254 characters", "detail": "{\"field\": \"email\"}"}',
  'a malformed email is VALIDATION_ERROR naming the field');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_register(%L, %L, %L, NULL)',
                                  repeat('x', 250) || '@t.example', :'hash', 'X')) ->> 'detail',
  '{"field": "email"}', '... and so is one over 254 characters');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_register(%L, %L, %L, NULL)', 'x@test.example', 'hunter2hunter2', 'X')) ->> 'detail',
  '{"field": "passwordHash"}', 'a password instead of its Argon2id hash is refused');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_register(%L, %L, %L, NULL)', 'x@test.example',
                                  '$argon2i$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA', 'X')) ->> 'detail',
  '{"field": "passwordHash"}', '... and so is an Argon2i (not id) hash');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_register(%L, %L, %L, NULL)', 'x@test.example',
                                  :'hash', repeat('n', 101))) ->> 'detail',
  '{"field": "displayName"}', 'a display name over 100 characters is refused');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_register(%L, %L, NULL, NULL)', 'x@test.example', :'hash')),
  '{"sqlstate": "PF400", "message": "displayName is required", "detail": "{\"field\": \"displayName\"}"}',
  '... and a missing one');
RESET ROLE;
SELECT results_eq(format($$SELECT email::text, password_hash::text, display_name::text, role, status,
                                  email_verified_at FROM pgfolio.users WHERE id = %L$$, :'new_user'),
  format($$VALUES ('New.User@Test.Example', %L, 'New User', 'user', 'active', NULL::timestamptz)$$, :'hash'),
  'the account holds the email as given and the hash');
SELECT results_eq(format($$SELECT channel, recipient, template, secret_keys, payload ->> 'token' ~ '^[A-Za-z0-9_-]{43}$'
                           FROM pgfolio.outbox WHERE recipient = 'New.User@Test.Example'$$),
  $$VALUES ('email', 'New.User@Test.Example', 'email-verify', '{token}'::text[], true)$$,
  'a verification link is queued to the address, its 256-bit token marked secret');
SELECT (pg_temp.last_message('New.User@Test.Example')).payload ->> 'token' AS verify_token \gset
SELECT results_eq(format($$SELECT purpose, user_id, expires_at - created_at FROM pgfolio.one_time_tokens
                           WHERE token_hash = %L$$, pg_temp.h(:'verify_token')),
  format($$VALUES ('email_verify', %L::uuid, interval '24 hours')$$, :'new_user'),
  '... and only its hash is kept, valid 24 hours');
SELECT results_eq($$SELECT action, host(ip), user_agent, details FROM pgfolio.audit_logs ORDER BY id DESC LIMIT 1$$,
  $$VALUES ('user.register', '2001:db8::7', 'pgtap', '{"method": "password"}'::jsonb)$$,
  'registration is audited with the client''s address');

-- Password login lookups.
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.auth_login_lookup('NEW.USER@test.example'),
  jsonb_build_object('userId', :'new_user', 'passwordHash', :'hash', 'status', 'active', 'mfaEnabled', false),
  'auth_login_lookup finds the account whatever the email''s case: id, hash, status, MFA');
SELECT is(pgfolio.auth_login_lookup('nobody@test.example'), NULL, '... and nothing for an unknown email');
SELECT pgfolio.auth_login_failed(NULL, :client) \g /dev/null
SELECT pgfolio.auth_login_failed(:'new_user', NULL, 'mfa') \g /dev/null
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_login_failed(%L, NULL, %L)', :'new_user', 'guess')) ->> 'detail',
  '{"field": "reason"}', 'auth_login_failed knows its reasons');
RESET ROLE;
SELECT results_eq($$SELECT actor_id::text, details FROM pgfolio.audit_logs
                    WHERE action = 'login.failure' AND id > $$ || :audit_start || $$ ORDER BY id$$,
  format($$VALUES (NULL, '{"reason": "password"}'::jsonb), (%L, '{"reason": "mfa"}')$$, :'new_user'),
  'failed logins are audited, with no actor for an unknown email');

-- Email verification.
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_email_verify(%L)', pg_temp.h('forged'))),
  '{"sqlstate": "PF401", "message": "the email verification link is not valid (unknown)", "detail": "{\"field\": \"tokenHash\", \"reason\": \"unknown\"}"}',
  'an unknown token verifies nothing');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_email_verify(%L)', :'verify_token')) ->> 'detail',
  '{"field": "tokenHash"}', 'the token itself, unhashed, is not accepted');
SELECT is(pgfolio.auth_email_verify(pg_temp.h(:'verify_token')), '{"verified": true}',
  'the token''s hash verifies the email');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_email_verify(%L)', pg_temp.h(:'verify_token'))) ->> 'detail',
  '{"field": "tokenHash", "reason": "used"}', '... once');
RESET ROLE;
SELECT isnt((SELECT email_verified_at FROM pgfolio.users WHERE id = :'new_user'), NULL,
  '... marking the email verified');

-- Password reset: a forgotten password, a reset link, every session revoked.
SELECT pg_temp.login(:'new_user', 'n-1') AS s1 \gset
SELECT pg_temp.login(:'new_user', 'n-2') AS s2 \gset
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.auth_password_forgot('nobody@test.example', NULL), '{"success": true}',
  'a forgotten password for an unknown email: success');
SELECT is(pgfolio.auth_password_forgot('new.user@test.example', :client), '{"success": true}',
  '... and the same answer for a known one');
RESET ROLE;
SELECT is((SELECT count(*) FROM pgfolio.outbox WHERE template = 'password-reset' AND id > :outbox_start), 1::bigint,
  '... which alone gets a reset link');
SELECT (pg_temp.last_message('New.User@Test.Example')).payload ->> 'token' AS reset_token \gset
SELECT is((SELECT expires_at - created_at FROM pgfolio.one_time_tokens
           WHERE token_hash = pg_temp.h(:'reset_token')), interval '1 hour',
  '... valid for an hour');
SET LOCAL ROLE pgfolio_api;
SELECT pgfolio.auth_password_forgot('new.user@test.example', NULL) \g /dev/null
SELECT pgfolio.auth_password_forgot('new.user@test.example', NULL) \g /dev/null
SELECT pgfolio.auth_password_forgot('new.user@test.example', NULL) \g /dev/null
RESET ROLE;
SELECT is((SELECT count(*) FROM pgfolio.outbox WHERE template = 'password-reset' AND id > :outbox_start), 3::bigint,
  'at most 3 reset links an hour, silently');
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_password_reset(%L, %L, NULL)', pg_temp.h(:'reset_token'), 'newpassword123')) ->> 'detail',
  '{"field": "passwordHash"}', 'a reset takes a hash, never a password');
SELECT is(pgfolio.auth_password_reset(pg_temp.h(:'reset_token'),
                                      '$argon2id$v=19$m=19456,t=2,p=1$cmVzZXQ$cmVzZXQ', :client),
  '{"success": true}', 'the reset link sets the new password hash');
RESET ROLE;
SELECT is((SELECT password_hash::text FROM pgfolio.users WHERE id = :'new_user'),
  '$argon2id$v=19$m=19456,t=2,p=1$cmVzZXQ$cmVzZXQ', '... stored');
SELECT is((SELECT count(*) FROM pgfolio.sessions WHERE user_id = :'new_user' AND revoked_at IS NULL),
  0::bigint, '... and every session of the account is revoked');
SELECT is((SELECT array_agg(DISTINCT revoked_reason) FROM pgfolio.sessions WHERE user_id = :'new_user'),
  ARRAY['password_reset'], '... for that reason');
SELECT is((SELECT count(*) FROM pgfolio.one_time_tokens WHERE user_id = :'new_user'
             AND purpose = 'password_reset' AND consumed_at IS NULL), 0::bigint,
  '... and every other reset link is used up');
SELECT results_eq($$SELECT action, details FROM pgfolio.audit_logs ORDER BY id DESC LIMIT 1$$,
  $$VALUES ('password.reset', '{"sessionsRevoked": 2}'::jsonb)$$, '... audited');
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of(format('SELECT pg_temp.act_as(%L, %L)', :'new_user', :'s1')) ->> 'sqlstate',
  'PF401', 'the old sessions'' access tokens stop working');
RESET ROLE;
UPDATE pgfolio.one_time_tokens SET created_at = now() - interval '2 hours', expires_at = now() - interval '1 hour'
WHERE user_id = :'new_user' AND purpose = 'password_reset';
UPDATE pgfolio.one_time_tokens SET consumed_at = NULL WHERE user_id = :'new_user' AND purpose = 'password_reset';
SELECT (SELECT payload ->> 'token' FROM pgfolio.outbox WHERE template = 'password-reset' AND id > :outbox_start ORDER BY id DESC LIMIT 1)
  AS late_token \gset
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_password_reset(%L, %L, NULL)', pg_temp.h(:'late_token'), :'hash')) ->> 'detail',
  '{"field": "tokenHash", "reason": "expired"}', 'an expired reset link is refused');

-- MFA enrolment, as the acting user.
SELECT pg_temp.act_as(:a, pg_temp.login(:a, 'a-1')) \g /dev/null
SELECT is(pg_temp.error_of($$SELECT pgfolio.mfa_confirm(pg_temp.totp_step())$$) ->> 'message',
  'no such MFA enrolment is pending: enrol again', 'nothing to confirm before enrolling');
SELECT is(pg_temp.error_of($$SELECT pgfolio.mfa_enrol('\x0102')$$) ->> 'detail',
  '{"field": "secret"}', 'a ciphertext too short to be one is refused');
SELECT is(pgfolio.mfa_enrol('\x11111111111111111111111111111111111111'),
  '{"pending": true, "account": "user.a@test.example"}', 'mfa_enrol stores the pending secret');
SELECT is(pgfolio.mfa_enrol('\x22222222222222222222222222222222222222') ->> 'pending', 'true',
  'enrolling again replaces it');
SELECT is(pgfolio.mfa_pending_secret(),
  jsonb_build_object('secret', encode('\x22222222222222222222222222222222222222', 'base64'),
                     'lastStep', NULL),
  'mfa_pending_secret gives the pending ciphertext, base64 (no code accepted for it yet)');
SELECT is(pg_temp.error_of($$SELECT pgfolio.mfa_confirm(pg_temp.totp_step(), '\x11111111111111111111111111111111111111')$$) ->> 'sqlstate',
  'PF409', 'confirming with the replaced secret is a CONFLICT');
SELECT is(pgfolio.mfa_confirm(pg_temp.totp_step(-1), '\x22222222222222222222222222222222222222'), '{"success": true}',
  'confirming the pending one turns MFA on');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_session_start(%L, %L, NULL, 3600)', :a, pg_temp.h('a-2'))),
  '{"sqlstate": "PF403", "message": "this account has MFA on: log in with an MFA challenge", "detail": "{\"mfaRequired\": true}"}',
  'with MFA on, a password alone opens no session');

-- The MFA login: challenge, take (an attempt each), session.
SELECT is(pgfolio.auth_mfa_challenge_start(:a, pg_temp.h('ch-1')), '{"mfaRequired": true, "expiresIn": 300}',
  'a challenge after the password');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_mfa_session_start(%L, %L, NULL, 3600, pg_temp.totp_step())', pg_temp.h('ch-1'), pg_temp.h('a-3'))) ->> 'detail',
  '{"field": "challengeHash", "reason": "notTaken"}', 'no session before the secret was taken to check a code');
SELECT is((SELECT array_agg(pgfolio.auth_mfa_challenge_take(pg_temp.h('ch-1')) ->> 'attemptsLeft' ORDER BY i)
           FROM generate_series(1, 5) i),
  ARRAY['4', '3', '2', '1', '0'], 'each take of the secret is one of 5 attempts');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_mfa_challenge_take(%L)', pg_temp.h('ch-1'))) ->> 'detail',
  '{"field": "challengeHash", "reason": "attemptsExhausted"}', '... and a 6th is refused');
SELECT pgfolio.auth_mfa_challenge_start(:a, pg_temp.h('ch-2')) \g /dev/null
SELECT is(pgfolio.auth_mfa_challenge_take(pg_temp.h('ch-2')) - 'attemptsLeft',
  jsonb_build_object('userId', :a, 'secret', encode('\x22222222222222222222222222222222222222', 'base64'),
                     'lastStep', pg_temp.totp_step(-1)),
  'a take gives the user, the TOTP ciphertext and the step of the code that confirmed it');
SELECT is(pgfolio.auth_mfa_session_start(pg_temp.h('ch-2'), pg_temp.h('a-4'), NULL, 3600, pg_temp.totp_step()) -> 'user' ->> 'mfaEnabled',
  'true', 'after the code, auth_mfa_session_start opens the session');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_mfa_session_start(%L, %L, NULL, 3600, pg_temp.totp_step(1))', pg_temp.h('ch-2'), pg_temp.h('a-5'))) ->> 'detail',
  '{"field": "challengeHash", "reason": "used"}', '... once');

-- Disabling.
SELECT is(pgfolio.mfa_secret(), jsonb_build_object('secret', encode('\x22222222222222222222222222222222222222', 'base64'),
                                                      'lastStep', pg_temp.totp_step()),
  'mfa_secret gives the active ciphertext and the step of the code that logged in');
SELECT is(pgfolio.mfa_disable(pg_temp.totp_step(1)), '{"success": true}', 'mfa_disable turns MFA off');
SELECT is(pg_temp.error_of($$SELECT pgfolio.mfa_secret()$$) ->> 'sqlstate', 'PF409', '... leaving no secret');
RESET ROLE;
SELECT results_eq($$SELECT action FROM pgfolio.audit_logs
                    WHERE actor_id = 'a0000000-0000-4000-8000-00000000000a' AND action LIKE 'mfa.%' ORDER BY id$$,
  $$VALUES ('mfa.enrol'), ('mfa.enrol'), ('mfa.confirm'), ('mfa.disable')$$,
  'every MFA change is audited');

SELECT * FROM finish();
ROLLBACK;
