-- Phone login (sql/48-otp-and-tokens.sql) and the outbox (sql/49-outbox-and-audit.sql): codes
-- stored hashed, 120 s, 3 attempts, single use, 3 sends per 5 minutes; delivery through
-- pgfolio_worker, after which the code is gone; the purge-auth job.
BEGIN;
SELECT plan(55);
\ir fixtures.psql
\ir auth-fixtures.psql

\set phone '''+919800000042'''
\set a '''a0000000-0000-4000-8000-00000000000a'''

SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.auth_otp_send(:phone, '{"ip": "192.0.2.1"}'), '{"success": true, "expiresIn": 120}',
  'auth_otp_send answers success and the code''s lifetime');
RESET ROLE;
SELECT (pg_temp.last_message(:phone)).payload ->> 'code' AS code1 \gset
SELECT results_eq($$SELECT channel, template, status, payload - 'code', secret_keys,
                           expires_at = now() + interval '120 seconds'
                    FROM pgfolio.outbox WHERE recipient = '+919800000042'$$,
  $$VALUES ('sms', 'otp', 'pending', '{"expiresIn": 120}'::jsonb, '{code}'::text[], true)$$,
  '... and queues an sms with the code, marked secret, expiring with it');
SELECT matches(:'code1'::text, '^[0-9]{6}$', '... a 6-digit code');
SELECT results_eq($$SELECT code_hash::text, attempts, expires_at - created_at, consumed_at
                    FROM pgfolio.otp_challenges WHERE phone = '+919800000042'$$,
  format($$VALUES (%L, 0::smallint, interval '120 seconds', NULL::timestamptz)$$,
         pg_temp.otp_hash(:phone, :'code1')),
  'the challenge stores sha256(''pgfolio-otp:'' || phone || '':'' || code), never the code');
SELECT is((SELECT count(*) FROM pgfolio.otp_challenges WHERE code_hash::text LIKE '%' || :'code1' || '%'
             AND code_hash <> pg_temp.otp_hash(:phone, :'code1')), 0::bigint,
  '(the stored hash is not the code in disguise)');

-- Bad input.
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of($$SELECT pgfolio.auth_otp_send('9800000042', NULL)$$),
  '{"sqlstate": "PF400", "message": "phone must be an E.164 phone number like +919812345678", "detail": "{\"field\": \"phone\"}"}',
  'a phone without its country code is VALIDATION_ERROR naming the field');
SELECT is(pg_temp.error_of($$SELECT pgfolio.auth_otp_send('+91''; DROP TABLE pgfolio.users; --', NULL)$$) ->> 'detail',
  '{"field": "phone"}', '... as is SQL in its place');
SELECT is(pg_temp.error_of($$SELECT pgfolio.auth_otp_send(NULL, NULL)$$) ->> 'message',
  'phone is required', '... and a missing one');
SELECT is(pg_temp.error_of($$SELECT pgfolio.auth_otp_send('+919800000042', '{"ip": "not an ip"}')$$) ->> 'detail',
  '{"field": "client.ip"}', 'a client address that is not one is refused');
SELECT is(pg_temp.error_of($$SELECT pgfolio.auth_otp_send('+919800000042', '{"password": "x"}')$$) ->> 'detail',
  '{"field": "client.password"}', '... and so is any member of client but ip, userAgent, device');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_otp_verify(%L, %L, %L, NULL)', :phone,
                                  upper(pg_temp.otp_hash(:phone, :'code1')), pg_temp.h('r'))) ->> 'detail',
  '{"field": "codeHash"}', 'a code hash that is not 64 lowercase hex digits is refused');

-- A wrong code uses an attempt, and the refusal is returned so the attempt is kept.
SELECT is(pgfolio.auth_otp_verify(:phone, pg_temp.otp_hash(:phone, 'nope'), pg_temp.h('r1'), NULL),
  '{"problem": {"code": "UNAUTHORIZED", "detail": "wrong code", "details": {"field": "code", "attemptsLeft": 2}}}',
  'a wrong code: an UNAUTHORIZED problem with 2 attempts left');
RESET ROLE;
SELECT is((SELECT attempts FROM pgfolio.otp_challenges WHERE phone = :phone), 1::smallint,
  '... and the attempt counted');
SELECT results_eq($$SELECT action, actor_id, details FROM pgfolio.audit_logs ORDER BY id DESC LIMIT 1$$,
  $$VALUES ('login.failure', NULL::uuid, '{"reason": "otp"}'::jsonb)$$,
  '... and audited as a failed login (no account yet)');

-- The right code logs in, creating the account.
SET LOCAL ROLE pgfolio_api;
SELECT pgfolio.auth_otp_verify(:phone, pg_temp.otp_hash(:phone, :'code1'), pg_temp.h('r2'),
                               '{"device": "phone"}') AS verified \gset
SELECT is((:'verified'::jsonb -> 'user') - 'id' - 'createdAt',
  '{"email": null, "phone": "+919800000042", "displayName": null, "role": "user",
    "status": "active", "emailVerified": false, "mfaEnabled": false}',
  'the right code logs in: the new account, by phone');
SELECT is(:'verified'::jsonb -> 'created', 'true', '... created at this first verification');
RESET ROLE;
SELECT results_eq($$SELECT u.phone::text, s.device, t.token_hash::text
                    FROM pgfolio.sessions s JOIN pgfolio.users u ON u.id = s.user_id
                    JOIN pgfolio.refresh_tokens t ON t.session_id = s.id
                    WHERE s.id = '$$ || (:'verified'::jsonb ->> 'sessionId') || $$'$$,
  $$VALUES ('+919800000042', 'phone', pg_temp.h('r2'))$$,
  '... with a session holding the refresh token''s hash');
SELECT results_eq($$SELECT action, details FROM pgfolio.audit_logs ORDER BY id DESC LIMIT 2$$,
  $$VALUES ('login.success', '{"method": "otp"}'::jsonb), ('user.register', '{"method": "otp"}')$$,
  '... audited as a registration and a login');
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_otp_verify(%L, %L, %L, NULL)', :phone,
                                  pg_temp.otp_hash(:phone, :'code1'), pg_temp.h('r3'))),
  '{"sqlstate": "PF401", "message": "no valid code for this phone: request a new one", "detail": "{\"field\": \"code\", \"reason\": \"noCode\"}"}',
  'a code works once');

-- Three wrong codes kill a challenge, even for the right code after them.
SELECT pgfolio.auth_otp_send(:phone, NULL) \g /dev/null
RESET ROLE;
SELECT (pg_temp.last_message(:phone)).payload ->> 'code' AS code2 \gset
SET LOCAL ROLE pgfolio_api;
SELECT is(ARRAY(SELECT pgfolio.auth_otp_verify(:phone, pg_temp.otp_hash(:phone, 'bad' || i), pg_temp.h('r4'), NULL)
                       #>> '{problem,details,attemptsLeft}'
                FROM generate_series(1, 3) i),
  ARRAY['2', '1', '0'], 'three wrong codes: 2, 1, 0 attempts left');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_otp_verify(%L, %L, %L, NULL)', :phone,
                                  pg_temp.otp_hash(:phone, :'code2'), pg_temp.h('r5'))) ->> 'detail',
  '{"field": "code", "reason": "attemptsExhausted"}',
  '... after which even the right code is refused');

-- The send limit: 3 per phone in any 5 minutes (this is the 3rd).
SELECT pgfolio.auth_otp_send(:phone, NULL) \g /dev/null
SELECT is(pgfolio.auth_otp_send(:phone, NULL),
  '{"problem": {"code": "RATE_LIMITED", "detail": "too many codes sent to this phone: try again later", "details": {"retryAfter": 300}}}',
  'a 4th send within 5 minutes: a RATE_LIMITED problem with the seconds to wait');
RESET ROLE;
SELECT is((SELECT count(*) FROM pgfolio.outbox WHERE recipient = :phone), 3::bigint,
  '... and no message');
UPDATE pgfolio.otp_challenges SET created_at = now() - interval '200 seconds',
                                  expires_at = now() - interval '80 seconds'
WHERE id = (SELECT min(id) FROM pgfolio.otp_challenges WHERE phone = :phone);
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.auth_otp_send(:phone, NULL) #>> '{problem,details,retryAfter}', '100',
  'retryAfter counts down with the oldest send in the window (sent 200 s ago: 100 s)');
RESET ROLE;
UPDATE pgfolio.otp_challenges SET created_at = now() - interval '301 seconds',
                                  expires_at = now() - interval '181 seconds'
WHERE id = (SELECT min(id) FROM pgfolio.otp_challenges WHERE phone = :phone);
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.auth_otp_send(:phone, NULL), '{"success": true, "expiresIn": 120}',
  'once it is 5 minutes old, a new send is allowed');
SELECT is(pgfolio.auth_otp_send('+919800000043', NULL), '{"success": true, "expiresIn": 120}',
  'the limit is per phone');

-- Expiry, and only the latest code counts.
RESET ROLE;
SELECT (pg_temp.last_message(:phone)).payload ->> 'code' AS code3 \gset
UPDATE pgfolio.otp_challenges SET created_at = now() - interval '121 seconds',
                                  expires_at = now() - interval '1 second'
WHERE id = (SELECT max(id) FROM pgfolio.otp_challenges WHERE phone = :phone);
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_otp_verify(%L, %L, %L, NULL)', :phone,
                                  pg_temp.otp_hash(:phone, :'code3'), pg_temp.h('r6'))) ->> 'detail',
  '{"field": "code", "reason": "expired"}', 'a code 121 s old is expired');
RESET ROLE;
UPDATE pgfolio.otp_challenges SET created_at = now() - interval '119 seconds',
                                  expires_at = now() + interval '1 second'
WHERE id = (SELECT max(id) FROM pgfolio.otp_challenges WHERE phone = :phone);
SELECT (pg_temp.last_message('+919800000043')).payload ->> 'code' AS other_code \gset
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.auth_otp_verify(:phone, pg_temp.otp_hash(:phone, :'other_code'), pg_temp.h('r7'), NULL)
            #>> '{problem,details,attemptsLeft}', '2',
  'a code sent to another phone is wrong for this one');
SELECT is(pgfolio.auth_otp_verify(:phone, pg_temp.otp_hash(:phone, :'code3'), pg_temp.h('r8'), NULL) -> 'created',
  'false', 'a 119 s old code still works, and the account exists now: created is false');

-- Existing accounts: suspended, MFA on.
RESET ROLE;
UPDATE pgfolio.users SET phone = '+919800000044', status = 'suspended' WHERE id = :a;
SET LOCAL ROLE pgfolio_api;
SELECT pgfolio.auth_otp_send('+919800000044', NULL) \g /dev/null
RESET ROLE;
SELECT (pg_temp.last_message('+919800000044')).payload ->> 'code' AS code_a \gset
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.auth_otp_verify('+919800000044', pg_temp.otp_hash('+919800000044', :'code_a'), pg_temp.h('ra'), NULL),
  '{"problem": {"code": "FORBIDDEN", "detail": "this account is suspended", "details": {"status": "suspended"}}}',
  'the right code of a suspended account: a FORBIDDEN problem');
RESET ROLE;
SELECT isnt((SELECT consumed_at FROM pgfolio.otp_challenges WHERE phone = '+919800000044'), NULL,
  '... the code is used up all the same');
SELECT is((SELECT count(*) FROM pgfolio.sessions WHERE user_id = :a), 0::bigint, '... and no session');
UPDATE pgfolio.users SET status = 'active', mfa_enabled = true,
                         totp_secret = '\x000102030405060708090a0b0c0d0e0f1011' WHERE id = :a;
DELETE FROM pgfolio.otp_challenges WHERE phone = '+919800000044';
SET LOCAL ROLE pgfolio_api;
SELECT pgfolio.auth_otp_send('+919800000044', NULL) \g /dev/null
RESET ROLE;
SELECT (pg_temp.last_message('+919800000044')).payload ->> 'code' AS code_a \gset
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.auth_otp_verify('+919800000044', pg_temp.otp_hash('+919800000044', :'code_a'), pg_temp.h('challenge-a'), NULL),
  '{"mfaRequired": true, "expiresIn": 300}',
  'with MFA on, the right code leads to an MFA challenge instead of a session');
RESET ROLE;
SELECT results_eq($$SELECT purpose, user_id, expires_at - created_at FROM pgfolio.one_time_tokens
                    WHERE token_hash = pg_temp.h('challenge-a')$$,
  $$VALUES ('mfa_challenge', 'a0000000-0000-4000-8000-00000000000a'::uuid, interval '300 seconds')$$,
  '... registered under the hash pgfolio-http sent as refresh_hash');
SELECT is((SELECT count(*) FROM pgfolio.refresh_tokens WHERE token_hash = pg_temp.h('challenge-a')),
  0::bigint, '... which is no refresh token');

-- The outbox, as the sender (pgfolio_worker) sees it.
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of($$SELECT * FROM pgfolio.outbox_claim(10)$$) ->> 'sqlstate', '42501',
  'pgfolio_api cannot claim outbox messages');
SET LOCAL ROLE pgfolio_worker;
SELECT is(pg_temp.error_of($$SELECT payload FROM pgfolio.outbox$$) ->> 'sqlstate', '42501',
  'pgfolio_worker reads no payload directly');
SELECT is(pg_temp.error_of($$SELECT * FROM pgfolio.outbox_claim(0)$$) ->> 'detail',
  '{"field": "max_messages"}', 'it claims 1 to 100 messages at a time');
RESET ROLE;
-- The first two codes' messages: as if they had waited unsent past the codes' expiry.
UPDATE pgfolio.outbox SET expires_at = now() - interval '1 second'
WHERE id IN (SELECT id FROM pgfolio.outbox WHERE recipient = :phone ORDER BY id LIMIT 2);
SET LOCAL ROLE pgfolio_worker;
CREATE TEMP TABLE claimed ON COMMIT DROP AS SELECT * FROM pgfolio.outbox_claim(100);
-- (messages left by earlier runs are claimed too, but not looked at)
DELETE FROM claimed WHERE id <= :outbox_start;
SELECT ok((SELECT bool_and(recipient IN ('+919800000042', '+919800000043', '+919800000044')
                          AND template = 'otp' AND payload ->> 'code' ~ '^[0-9]{6}$')
           FROM claimed)
          AND (SELECT count(*) FROM claimed) = 5,
  'outbox_claim hands out every message still worth sending, with its code');
SELECT is_empty($$SELECT * FROM pgfolio.outbox_claim(100)$$, '... once: claimed ones are not due');
RESET ROLE;
SELECT is((SELECT count(*) FROM pgfolio.outbox o WHERE o.status = 'pending'
             AND o.expires_at <= now() AND o.id > :outbox_start), 2::bigint,
  '(the messages of the expired codes were skipped)');
SET LOCAL ROLE pgfolio_worker;
SELECT pgfolio.outbox_sent((SELECT min(id) FROM claimed)) \g /dev/null
SELECT pgfolio.outbox_failed((SELECT max(id) FROM claimed), E'gateway said no\n(503)') \g /dev/null
RESET ROLE;
SELECT results_eq($$SELECT status, payload, sent_at IS NOT NULL FROM pgfolio.outbox
                    WHERE id = (SELECT min(id) FROM claimed)$$,
  $$VALUES ('sent', '{"expiresIn": 120}'::jsonb, true)$$,
  'a sent message keeps no code');
SELECT results_eq($$SELECT status, attempts, next_attempt_at - now(), last_error, payload ? 'code'
                    FROM pgfolio.outbox WHERE id = (SELECT max(id) FROM claimed)$$,
  $$VALUES ('pending', 1::smallint, interval '30 seconds', 'gateway said no (503)', true)$$,
  'a failed one is retried in 30 s, keeping its code, with the error on one line');
SET LOCAL ROLE pgfolio_worker;
SELECT is(pg_temp.error_of(format('SELECT pgfolio.outbox_sent(%s)', (SELECT min(id) FROM claimed))) ->> 'sqlstate',
  'PF404', 'a message is reported once');
RESET ROLE;
-- The 5th failure is final.
UPDATE pgfolio.outbox SET status = 'sending', attempts = 5 WHERE id = (SELECT max(id) FROM claimed);
SET LOCAL ROLE pgfolio_worker;
SELECT pgfolio.outbox_failed((SELECT max(id) FROM claimed), 'still no') \g /dev/null
RESET ROLE;
SELECT results_eq($$SELECT status, payload ? 'code' FROM pgfolio.outbox
                    WHERE id = (SELECT max(id) FROM claimed)$$,
  $$VALUES ('failed', false)$$, 'after the 5th attempt the message fails for good, its code erased');
-- A claim whose sender vanished comes back after 5 minutes.
SELECT id AS stale FROM claimed ORDER BY id OFFSET 1 LIMIT 1 \gset
UPDATE pgfolio.outbox SET claimed_at = now() - interval '6 minutes' WHERE id = :stale;
SET LOCAL ROLE pgfolio_worker;
SELECT results_eq($$SELECT id FROM pgfolio.outbox_claim(10) WHERE id > $$ || :outbox_start, ARRAY[:stale::bigint],
  'a message claimed 6 minutes ago and never reported is claimed again');
RESET ROLE;
SELECT is((SELECT attempts FROM pgfolio.outbox WHERE id = :stale), 2::smallint,
  '... as its 2nd attempt');

-- purge-auth: expired codes leave the outbox unsent, old rows go.
SELECT is((SELECT count(*) FROM pgfolio.outbox WHERE status = 'pending' AND expires_at <= now()
             AND payload ? 'code' AND id > :outbox_start), 2::bigint,
  'two messages hold codes that expired unsent');
UPDATE pgfolio.otp_challenges SET created_at = now() - interval '25 hours'
WHERE phone = '+919800000043';
UPDATE pgfolio.outbox SET created_at = now() - interval '31 days'
WHERE id = (SELECT min(id) FROM claimed);
UPDATE pgfolio.sessions SET created_at = now() - interval '40 days',
                            expires_at = now() - interval '31 days'
WHERE id = (:'verified'::jsonb ->> 'sessionId')::uuid;
SELECT cmp_ok(pgfolio.run_job('purge-auth'), '>=', 5::bigint, 'purge-auth runs');
SELECT is((SELECT count(*) FROM pgfolio.outbox WHERE payload ? 'code' AND expires_at <= now()),
  0::bigint, '... erasing the codes that expired unsent');
SELECT is((SELECT count(*) FROM pgfolio.outbox WHERE status = 'expired' AND id > :outbox_start), 2::bigint,
  '... whose messages are closed as expired');
SELECT is((SELECT count(*) FROM pgfolio.otp_challenges WHERE phone = '+919800000043'), 0::bigint,
  '... deleting challenges a day old');
SELECT is((SELECT count(*) FROM pgfolio.outbox WHERE id = (SELECT min(id) FROM claimed)), 0::bigint,
  '... and messages finished 30 days ago');
SELECT is((SELECT count(*) FROM pgfolio.refresh_tokens WHERE token_hash = pg_temp.h('r2')), 0::bigint,
  '... and sessions ended 30 days ago, with their refresh tokens');
SELECT is((SELECT count(*) FROM pgfolio.otp_challenges WHERE phone = :phone) > 0
          AND (SELECT count(*) FROM pgfolio.outbox WHERE status = 'sending' AND id > :outbox_start) > 0, true,
  '... leaving the recent ones');

SELECT * FROM finish();
ROLLBACK;
