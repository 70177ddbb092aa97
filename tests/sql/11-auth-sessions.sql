-- Sessions (sql/47-sessions.sql): authenticate refuses whatever has ended, refresh tokens
-- rotate, a reused one revokes its session and is audited, logout and revocation.
BEGIN;
SELECT plan(46);
\ir fixtures.psql
\ir auth-fixtures.psql

\set a '''a0000000-0000-4000-8000-00000000000a'''
\set b '''b0000000-0000-4000-8000-00000000000b'''

SET LOCAL ROLE pgfolio_api;
-- Login, as pgfolio-http calls it after checking the password.
SELECT pgfolio.auth_session_start(:a, pg_temp.h('a-1'), '{"ip": "192.0.2.1", "device": "phone"}',
                                  3600) AS started \gset
SELECT ok((:'started'::jsonb ->> 'sessionId') ~ '^[0-9a-f-]{36}$'
          AND :'started'::jsonb -> 'user' = '{"id": "a0000000-0000-4000-8000-00000000000a",
            "email": "user.a@test.example", "phone": null, "displayName": "User A",
            "role": "user", "status": "active", "emailVerified": false, "mfaEnabled": false}'::jsonb
            || jsonb_build_object('createdAt', :'started'::jsonb -> 'user' -> 'createdAt'),
  'auth_session_start answers the session id and the user');
SELECT (:'started'::jsonb ->> 'sessionId') AS sa \gset
RESET ROLE;
SELECT results_eq($$SELECT user_id, host(ip), device, expires_at - created_at, revoked_at
                    FROM pgfolio.sessions WHERE id = '$$ || :'sa' || $$'$$,
  $$VALUES ('a0000000-0000-4000-8000-00000000000a'::uuid, '192.0.2.1', 'phone',
            interval '1 hour', NULL::timestamptz)$$,
  '... and records the session: user, client, lifetime');
SELECT results_eq($$SELECT token_hash::text, rotated_at FROM pgfolio.refresh_tokens
                    WHERE session_id = '$$ || :'sa' || $$'$$,
  $$VALUES (pg_temp.h('a-1'), NULL::timestamptz)$$,
  '... with its first refresh token, stored as the hash');
SELECT isnt((SELECT last_login_at FROM pgfolio.users WHERE id = :a), NULL,
  '... and sets last_login_at');
SELECT results_eq($$SELECT action, actor_id, resource_type, resource_id, host(ip), details
                    FROM pgfolio.audit_logs ORDER BY id DESC LIMIT 1$$,
  $$VALUES ('login.success', 'a0000000-0000-4000-8000-00000000000a'::uuid, 'session',
            '$$ || :'sa' || $$', '192.0.2.1', '{"method": "password"}'::jsonb)$$,
  '... and audits login.success');

-- authenticate
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.act_as(:a, :'sa'), 'user', 'authenticate accepts a live session: the role');
SELECT is(ARRAY[current_setting('pgfolio.acting_user'), current_setting('pgfolio.session_id')],
  ARRAY['a0000000-0000-4000-8000-00000000000a', :'sa'],
  '... and makes the user and session the transaction''s');
SELECT results_eq($$SELECT id FROM pgfolio.portfolios$$,
  $$VALUES ('a1000000-0000-4000-8000-00000000000a'::uuid)$$,
  '... so row-level security shows A''s rows');
SELECT is(pg_temp.error_of(format('SELECT pg_temp.act_as(%L, %L)', :b, :'sa')),
  '{"sqlstate": "PF401", "message": "the session has ended or is not valid: log in again", "detail": "{}"}',
  'another user''s session is UNAUTHORIZED');
SELECT is(pg_temp.error_of(format('SELECT pg_temp.act_as(%L, %L)', :a, gen_random_uuid())) ->> 'sqlstate',
  'PF401', 'an unknown session is UNAUTHORIZED');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.authenticate(%L, NULL)', :a)) ->> 'sqlstate',
  'PF401', 'no session is UNAUTHORIZED');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.authenticate(%L, %L, ''[1]'')', :a, :'sa')),
  '{"sqlstate": "PF400", "message": "client must be an object", "detail": "{\"field\": \"client\"}"}',
  'a client that is not an object is VALIDATION_ERROR');

-- The session list, through row-level security.
SELECT pg_temp.login(:b, 'b-1') AS sb \gset
SELECT pg_temp.act_as(:a, :'sa') \g /dev/null
SELECT pg_temp.login(:a, 'a-2') AS sa2 \gset
SELECT is(jsonb_array_length(pgfolio.auth_sessions()), 2, 'A lists A''s two sessions');
SELECT is((SELECT jsonb_agg(s ->> 'current' ORDER BY s ->> 'id' = :'sa' DESC)
           FROM jsonb_array_elements(pgfolio.auth_sessions()) s),
  '["true", "false"]'::jsonb, '... the current one marked');
SELECT is((SELECT s - 'createdAt' - 'lastUsedAt' - 'expiresAt'
           FROM jsonb_array_elements(pgfolio.auth_sessions()) s WHERE s ->> 'id' = :'sa'),
  jsonb_build_object('id', :'sa', 'ip', '192.0.2.1', 'device', 'phone', 'userAgent', NULL,
                     'current', true),
  '... with device, IP and user agent');
SELECT is((SELECT count(*) FROM pgfolio.sessions), 2::bigint,
  'pgfolio_api sees only the acting user''s sessions in the table too');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_session_revoke(%L)', :'sb')),
  jsonb_build_object('sqlstate', 'PF404', 'message', format('session %s not found', :'sb'),
                     'detail', jsonb_build_object('sessionId', :'sb')::text),
  'A cannot revoke B''s session: NOT_FOUND');
RESET ROLE;
SELECT is((SELECT revoked_at FROM pgfolio.sessions WHERE id = :'sb'), NULL,
  '... which stays live');

-- Refresh: rotation.
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.auth_refresh(pg_temp.h('a-1'), pg_temp.h('a-1.1'), '{"ip": "198.51.100.7"}'),
  jsonb_build_object('sessionId', :'sa', 'user', :'started'::jsonb -> 'user'),
  'auth_refresh exchanges the refresh token for the next: the session and the user as login answered');
RESET ROLE;
SELECT results_eq($$SELECT token_hash::text, rotated_at IS NOT NULL FROM pgfolio.refresh_tokens
                    WHERE session_id = '$$ || :'sa' || $$' ORDER BY rotated_at NULLS LAST$$,
  $$VALUES (pg_temp.h('a-1'), true), (pg_temp.h('a-1.1'), false)$$,
  '... the old one is kept as rotated, the new one is current');
SELECT is((SELECT host(ip) FROM pgfolio.sessions WHERE id = :'sa'), '198.51.100.7',
  '... and the session remembers the address last seen');
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.auth_refresh(pg_temp.h('a-1.1'), pg_temp.h('a-1.2'), NULL) ->> 'sessionId', :'sa',
  'the new token refreshes in turn');
SELECT is(pg_temp.error_of($$SELECT pgfolio.auth_refresh(pg_temp.h('nope'), pg_temp.h('x'), NULL)$$),
  '{"sqlstate": "PF401", "message": "unknown refresh token: log in again", "detail": "{}"}',
  'an unknown token is UNAUTHORIZED');
SELECT is(pg_temp.error_of($$SELECT pgfolio.auth_refresh(pg_temp.h('a-1.2'), pg_temp.h('a-1.2'), NULL)$$) ->> 'detail',
  '{"field": "newHash"}', 'the new token must differ from the old');
SELECT is(pg_temp.error_of($$SELECT pgfolio.auth_refresh('A' || pg_temp.h('a-1.2'), pg_temp.h('y'), NULL)$$),
  '{"sqlstate": "PF400", "message": "refreshHash must be a SHA-256 hash as 64 lowercase hex digits", "detail": "{\"field\": \"refreshHash\"}"}',
  'a malformed hash is VALIDATION_ERROR naming the field');

-- Refresh: reuse of a rotated token revokes the session, and the refusal is remembered.
SELECT is(pgfolio.auth_refresh(pg_temp.h('a-1'), pg_temp.h('a-1.x'), '{"ip": "203.0.113.66"}'),
  '{"problem": {"code": "UNAUTHORIZED", "detail": "this refresh token was already used: the session is revoked, log in again",
                "details": {"reason": "refreshReuse"}}}',
  'a rotated token presented again: an UNAUTHORIZED problem, returned (not raised)');
RESET ROLE;
SELECT results_eq($$SELECT revoked_at IS NOT NULL, revoked_reason FROM pgfolio.sessions
                    WHERE id = '$$ || :'sa' || $$'$$,
  $$VALUES (true, 'refresh_reuse')$$, '... the whole session is revoked');
SELECT results_eq($$SELECT action, actor_id, resource_id, host(ip) FROM pgfolio.audit_logs
                    ORDER BY id DESC LIMIT 1$$,
  $$VALUES ('refresh.reuse', 'a0000000-0000-4000-8000-00000000000a'::uuid, '$$ || :'sa' || $$',
            '203.0.113.66')$$,
  '... and audited as refresh.reuse, from the address that presented it');
SELECT is((SELECT count(*) FROM pgfolio.refresh_tokens WHERE token_hash = pg_temp.h('a-1.x')),
  0::bigint, '... and the new token was not issued');
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of($$SELECT pgfolio.auth_refresh(pg_temp.h('a-1.2'), pg_temp.h('a-1.3'), NULL)$$) ->> 'message',
  'the session has ended: log in again', 'the thief''s current token is dead too');
SELECT is(pg_temp.error_of(format('SELECT pg_temp.act_as(%L, %L)', :a, :'sa')) ->> 'sqlstate',
  'PF401', '... and so is every access token of the session');
SELECT is(pg_temp.act_as(:a, :'sa2'), 'user', 'A''s other session is untouched');

-- Expiry, suspension, deletion.
RESET ROLE;
UPDATE pgfolio.sessions SET created_at = now() - interval '2 hours',
                            expires_at = now() - interval '1 second' WHERE id = :'sa2';
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of(format('SELECT pg_temp.act_as(%L, %L)', :a, :'sa2')) ->> 'sqlstate',
  'PF401', 'an expired session is UNAUTHORIZED');
SELECT is(pg_temp.error_of($$SELECT pgfolio.auth_refresh(pg_temp.h('a-2'), pg_temp.h('a-2.1'), NULL)$$) ->> 'sqlstate',
  'PF401', '... and its refresh token too');
SELECT is(pg_temp.act_as(:b, :'sb'), 'user', 'B''s session is live');
RESET ROLE;
UPDATE pgfolio.users SET status = 'suspended' WHERE id = :b;
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of(format('SELECT pg_temp.act_as(%L, %L)', :b, :'sb')) ->> 'sqlstate',
  'PF401', 'a suspended user''s live session is UNAUTHORIZED');
SELECT is(pg_temp.error_of($$SELECT pgfolio.profile_get()$$) ->> 'sqlstate', 'PF401',
  '... and the functions acting for them refuse at once, within the same transaction');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_session_start(%L, %L, NULL, 3600)', :b, pg_temp.h('b-2'))),
  '{"sqlstate": "PF403", "message": "this account is suspended", "detail": "{\"status\": \"suspended\"}"}',
  'a suspended user cannot log in: FORBIDDEN with the status');
RESET ROLE;
UPDATE pgfolio.users SET status = 'deleted', email = NULL, deleted_at = now() WHERE id = :b;
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of(format('SELECT pg_temp.act_as(%L, %L)', :b, :'sb')) ->> 'sqlstate',
  'PF401', 'a deleted user''s session is UNAUTHORIZED');
SELECT is(pg_temp.error_of($$SELECT pgfolio.auth_refresh(pg_temp.h('b-1'), pg_temp.h('b-1.1'), NULL)$$),
  '{"sqlstate": "PF401", "message": "this account is deleted", "detail": "{\"status\": \"deleted\"}"}',
  '... and cannot refresh');

-- Logout and revocation.
SELECT pg_temp.login(:a, 'a-3') AS sa3 \gset
SELECT pg_temp.login(:a, 'a-4') AS sa4 \gset
SELECT pg_temp.act_as(:a, :'sa3') \g /dev/null
SELECT is(pgfolio.auth_session_revoke(:'sa4'), '{"success": true}',
  'A revokes another of A''s sessions');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_session_revoke(%L)', :'sa4')) ->> 'sqlstate',
  'PF404', '... once: a revoked session is NOT_FOUND');
SELECT is(pgfolio.auth_logout(), '{"success": true}', 'A logs out');
SELECT is(ARRAY[pg_temp.error_of($$SELECT pgfolio.auth_sessions()$$) ->> 'sqlstate',
                pg_temp.error_of($$SELECT pgfolio.auth_logout()$$) ->> 'sqlstate'],
  ARRAY['PF401', 'PF401'], '... after which the transaction acts for no one');
RESET ROLE;
SELECT results_eq($$SELECT revoked_reason FROM pgfolio.sessions
                    WHERE id IN ('$$ || :'sa3' || $$', '$$ || :'sa4' || $$') ORDER BY revoked_reason$$,
  $$VALUES ('logout'), ('revoked')$$, 'the sessions record why they ended');
SELECT results_eq($$SELECT action, resource_id FROM pgfolio.audit_logs
                    WHERE action IN ('logout', 'session.revoke') AND id > $$ || :audit_start || $$ ORDER BY id$$,
  $$VALUES ('session.revoke', '$$ || :'sa4' || $$'), ('logout', '$$ || :'sa3' || $$')$$,
  '... and both are audited');

SELECT * FROM finish();
ROLLBACK;
