-- The account's own functions (sql/78-profile.sql) and administration (sql/79-admin.sql):
-- profile and settings, consent, export, GDPR erasure keeping financial records, and the
-- admin-only functions.
BEGIN;
SELECT plan(57);
\ir fixtures.psql
\ir auth-fixtures.psql

\set a '''a0000000-0000-4000-8000-00000000000a'''
\set b '''b0000000-0000-4000-8000-00000000000b'''

SELECT pg_temp.login(:a, 'a-1') AS sa \gset
SELECT pg_temp.login(:b, 'b-1') AS sb \gset
SET LOCAL ROLE pgfolio_api;
SELECT pg_temp.act_as(:a, :'sa') \g /dev/null

-- Profile and settings.
SELECT is(pgfolio.profile_get() - 'createdAt' - 'lastLoginAt',
  '{"id": "a0000000-0000-4000-8000-00000000000a", "email": "user.a@test.example", "phone": null,
    "displayName": "User A", "role": "user", "status": "active", "emailVerified": false,
    "mfaEnabled": false, "avatarUrl": null, "biometricEnabled": false,
    "notificationTokenSet": false, "riskScore": null, "riskTier": null, "riskProfile": null,
    "targetAllocation": null,
    "consents": {"risk": null, "loss": null, "noGuarantee": null}}',
  'profile_get: the user, settings, risk profile and consents');
SELECT is(pgfolio.profile_update('{"displayName": "Robert''); DROP TABLE pgfolio.users; --",
                                   "avatarUrl": "https://img.example/a.png",
                                   "notificationToken": "fcm:abc123", "biometricEnabled": true}')
          - 'createdAt' - 'lastLoginAt' - 'id' - 'email' - 'phone' - 'role' - 'status'
          - 'emailVerified' - 'mfaEnabled' - 'riskScore' - 'riskTier' - 'riskProfile'
          - 'targetAllocation' - 'consents',
  '{"displayName": "Robert''); DROP TABLE pgfolio.users; --", "avatarUrl": "https://img.example/a.png",
    "biometricEnabled": true, "notificationTokenSet": true}',
  'profile_update changes the settings (text is data, whatever it looks like) and answers the profile');
SELECT is(pgfolio.profile_update('{"avatarUrl": null, "notificationToken": null}')
          -> 'notificationTokenSet', 'false', 'null removes the avatar and the push token');
SELECT is(pgfolio.profile_update('{}') ->> 'biometricEnabled', 'true', 'members left out stay as they are');
SELECT is(pg_temp.error_of($$SELECT pgfolio.profile_update('{"email": "x@test.example"}')$$),
  '{"sqlstate": "PF400", "message": "email is not a setting", "detail": "{\"field\": \"email\"}"}',
  'a member that is no setting is refused, named');
SELECT is(pg_temp.error_of($$SELECT pgfolio.profile_update('{"avatarUrl": "http://img.example/a.png"}')$$) ->> 'detail',
  '{"field": "avatarUrl"}', 'an avatar must be https');
SELECT is(pg_temp.error_of($$SELECT pgfolio.profile_update('{"biometricEnabled": "yes"}')$$) ->> 'detail',
  '{"field": "biometricEnabled"}', 'biometricEnabled must be a boolean');
SELECT is(pg_temp.error_of($$SELECT pgfolio.profile_update('{"displayName": 42}')$$) ->> 'detail',
  '{"field": "displayName"}', 'displayName must be a string');
SELECT is(pg_temp.error_of($$SELECT pgfolio.profile_update('{"displayName": null}')$$) ->> 'detail',
  '{"field": "displayName"}', '... and cannot be removed');
SELECT is(pg_temp.error_of($$SELECT pgfolio.profile_update('[1]')$$) ->> 'sqlstate', 'PF400',
  'the settings are an object');

-- Consent.
SELECT is(pg_temp.error_of($$SELECT pgfolio.onboarding_consent('{"risk": true, "loss": true}')$$),
  '{"sqlstate": "PF400", "message": "noGuarantee must be accepted (true)", "detail": "{\"field\": \"noGuarantee\"}"}',
  'every disclosure must be accepted');
SELECT is(pg_temp.error_of($$SELECT pgfolio.onboarding_consent('{"risk": true, "loss": "true", "noGuarantee": true}')$$) ->> 'detail',
  '{"field": "loss"}', '... with true itself');
SELECT is(pg_temp.error_of($$SELECT pgfolio.onboarding_consent('{"risk": true, "loss": true, "noGuarantee": true, "tos": true}')$$) ->> 'detail',
  '{"field": "tos"}', '... and nothing else');
SELECT is(pgfolio.onboarding_consent('{"risk": true, "loss": true, "noGuarantee": true}'),
  jsonb_build_object('consents', jsonb_build_object('risk', now(), 'loss', now(), 'noGuarantee', now())),
  'onboarding_consent records the time of each acceptance');

-- Export.
SELECT pgfolio.profile_export() AS export \gset
SELECT is(:'export'::jsonb -> 'profile' ->> 'id', 'a0000000-0000-4000-8000-00000000000a',
  'profile_export: the profile');
SELECT is((:'export'::jsonb #> '{portfolios,0}') - 'createdAt',
  '{"id": "a1000000-0000-4000-8000-00000000000a", "name": "A main", "visibility": "private",
    "baseCurrency": "INR", "cashBalance": "1000.505", "isDefault": false, "status": "active",
    "targetAllocation": {"FOUNDATION": "40.00", "GROWTH": "40.00", "UPSIDE": "20.00"},
    "holdings": [{"assetId": "T-INR", "quantity": "10", "averageCost": "90", "frozenQuantity": "0"},
                 {"assetId": "T-USD", "quantity": "3", "averageCost": "150", "frozenQuantity": "0"}]}',
  '... the portfolios with their holdings, amounts as decimal strings');
SELECT is(jsonb_array_length(:'export'::jsonb -> 'portfolios'), 1, '... only A''s');
SELECT is((SELECT array_agg(s ->> 'id') FROM jsonb_array_elements(:'export'::jsonb -> 'sessions') s),
  ARRAY[:'sa'], '... A''s sessions');
SELECT ok((SELECT bool_and(e ->> 'action' IN ('login.success', 'consent.accept'))
           FROM jsonb_array_elements(:'export'::jsonb -> 'auditLog') e)
          AND jsonb_array_length(:'export'::jsonb -> 'auditLog') = 2,
  '... and A''s audit trail');
SELECT unalike(:'export'::text, '%argon2id%', '... never a password hash');

-- Erasure: B, with a public portfolio, a pending message, a code, a reset link.
RESET ROLE;
UPDATE pgfolio.users SET phone = '+919800000077', avatar_url = 'https://img.example/b.png',
                         risk_score = 7, risk_tier = 'HIGH', notification_token = 'fcm:b',
                         consent_risk_at = now(), consent_loss_at = now(),
                         consent_no_guarantee_at = now()
WHERE id = :b;
SELECT pg_temp.login(:b, 'b-2') AS sb2 \gset
SET LOCAL ROLE pgfolio_api;
SELECT pgfolio.auth_otp_send('+919800000077', NULL) \g /dev/null
SELECT pgfolio.auth_password_forgot('user.b@test.example', NULL) \g /dev/null
SELECT pg_temp.act_as(:b, :'sb') \g /dev/null
SELECT is(pgfolio.profile_delete(), '{"success": true}', 'B deletes their account');
SELECT is(pg_temp.error_of($$SELECT pgfolio.profile_get()$$) ->> 'sqlstate', 'PF401',
  '... and is logged out at once');
RESET ROLE;
SELECT results_eq($$SELECT email, phone, display_name, avatar_url, notification_token::text, password_hash::text,
                           risk_score, risk_tier, status, deleted_at IS NOT NULL, last_login_at
                    FROM pgfolio.users WHERE id = 'b0000000-0000-4000-8000-00000000000b'$$,
  $$VALUES (NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::text, NULL::smallint,
            NULL::text, 'deleted', true, NULL::timestamptz)$$,
  'the user row keeps no email, phone, name, avatar, push token, password hash or risk profile');
SELECT ok((SELECT consent_risk_at IS NOT NULL AND created_at IS NOT NULL
           FROM pgfolio.users WHERE id = :b), '... but keeps when it accepted the disclosures');
SELECT is((SELECT count(*) FROM pgfolio.sessions WHERE user_id = :b
             AND (revoked_at IS NULL OR ip IS NOT NULL OR user_agent IS NOT NULL)), 0::bigint,
  'every session is revoked and forgets its address and user agent');
SELECT is((SELECT count(*) FROM pgfolio.refresh_tokens t JOIN pgfolio.sessions s ON s.id = t.session_id
           WHERE s.user_id = :b), 0::bigint, '... and its refresh tokens are gone');
SELECT is((SELECT count(*) FROM pgfolio.one_time_tokens WHERE user_id = :b), 0::bigint,
  'pending reset links are gone');
SELECT is((SELECT count(*) FROM pgfolio.otp_challenges WHERE phone = '+919800000077'), 0::bigint,
  '... and pending codes');
SELECT results_eq($$SELECT template, recipient, payload, status FROM pgfolio.outbox
                    WHERE template IN ('otp', 'password-reset') AND id > $$ || :outbox_start || $$ ORDER BY id$$,
  $$VALUES ('otp', NULL::text, '{}'::jsonb, 'expired'), ('password-reset', NULL, '{}', 'expired')$$,
  'undelivered messages lose recipient and payload and are never sent');
SELECT results_eq($$SELECT id, owner_id, cash_balance, name, visibility FROM pgfolio.portfolios
                    WHERE owner_id = 'b0000000-0000-4000-8000-00000000000b'$$,
  $$VALUES ('b1000000-0000-4000-8000-00000000000b'::uuid, 'b0000000-0000-4000-8000-00000000000b'::uuid,
            50::numeric, 'Portfolio', 'private')$$,
  'the portfolio stays (a financial record), private, without the name the person gave it');
SELECT results_eq($$SELECT asset_id, quantity, average_cost FROM pgfolio.holdings
                    WHERE portfolio_id = 'b1000000-0000-4000-8000-00000000000b'$$,
  $$VALUES ('T-GOLD', 1.5::numeric, 6000::numeric)$$, '... with its holdings');
SELECT is((SELECT count(*) FROM pgfolio.public_portfolios WHERE id = 'b1000000-0000-4000-8000-00000000000b'),
  0::bigint, '... no longer listed publicly');
SELECT results_eq($$SELECT action, actor_id, details FROM pgfolio.audit_logs ORDER BY id DESC LIMIT 1$$,
  $$VALUES ('user.delete', 'b0000000-0000-4000-8000-00000000000b'::uuid, '{"sessionsRevoked": 2}'::jsonb)$$,
  'the erasure is audited');
SET LOCAL ROLE pgfolio_api;
SELECT ok(pgfolio.auth_login_lookup('user.b@test.example') IS NULL
          AND pgfolio.auth_register('user.b@test.example', '$argon2id$v=19$m=19456,t=2,p=1$eA$eA', 'New B', NULL) ? 'userId',
  'the email is free again: a new account, unrelated to the deleted one');

-- Administration.
SELECT pg_temp.act_as(:a, :'sa') \g /dev/null
SELECT is(pg_temp.error_of($$SELECT pgfolio.admin_users(10, NULL)$$),
  '{"sqlstate": "PF403", "message": "this needs the role admin", "detail": "{\"requiredRoles\": [\"admin\"]}"}',
  'a user is not an administrator: FORBIDDEN');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.admin_user_suspend(%L)', gen_random_uuid())) ->> 'sqlstate',
  'PF403', '... whether or not the target exists');
SELECT is(pg_temp.error_of($$SELECT pgfolio.admin_upsert_prices('[]')$$) ->> 'sqlstate', 'PF403',
  '... nor a market-data loader');
RESET ROLE;
UPDATE pgfolio.users SET role = 'admin' WHERE id = :a;
INSERT INTO pgfolio.users (id, email, display_name, role) VALUES
  ('c0000000-0000-4000-8000-00000000000c', 'feeder@test.example', 'Feeder', 'service'),
  ('d0000000-0000-4000-8000-00000000000d', 'user.d@test.example', 'User D', 'user');
SELECT pg_temp.login('d0000000-0000-4000-8000-00000000000d', 'd-1') AS sd \gset
SELECT count(*) AS user_count FROM pgfolio.users \gset
SET LOCAL ROLE pgfolio_api;
SELECT pg_temp.act_as(:a, :'sa') \g /dev/null
-- Every account, a page of 2 at a time, newest first.
CREATE TEMP TABLE pages (n integer, page jsonb) ON COMMIT DROP;
DO $$
DECLARE
  cursor text;
  n integer := 0;
  page jsonb;
BEGIN
  LOOP
    n := n + 1;
    page := pgfolio.admin_users(2, cursor);
    INSERT INTO pages VALUES (n, page);
    cursor := page ->> 'nextCursor';
    EXIT WHEN cursor IS NULL OR n > 1000;
  END LOOP;
END
$$;
RESET ROLE;
SELECT is((SELECT array_agg(u ->> 'id' ORDER BY p.n, i) FROM pages p,
             jsonb_array_elements(p.page -> 'users') WITH ORDINALITY e (u, i)),
  (SELECT array_agg(id::text ORDER BY created_at DESC, id DESC) FROM pgfolio.users),
  'admin_users pages through every account once, newest first');
SELECT is((SELECT max(jsonb_array_length(page -> 'users')) FROM pages), 2,
  '... page_size at a time');
SELECT ok((SELECT bool_and(u ? 'lastLoginAt' AND NOT u ? 'passwordHash')
           FROM pages, jsonb_array_elements(page -> 'users') u),
  '... each with its last login, never a credential');
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of($$SELECT pgfolio.admin_users(101, NULL)$$) ->> 'detail',
  '{"field": "pageSize"}', 'at most 100 a page');
SELECT is(jsonb_array_length(pgfolio.admin_users(NULL, NULL) -> 'users'),
  least(:user_count, 50),
  'without a page size, 50 a page');
SELECT is(pg_temp.error_of($$SELECT pgfolio.admin_users(10, 'not a cursor')$$) ->> 'detail',
  '{"field": "cursor"}', 'a cursor not given out is refused');
SELECT is(pg_temp.error_of($$SELECT pgfolio.admin_users(10, translate(encode('v1:1:x', 'base64'), '=', ''))$$) ->> 'detail',
  '{"field": "cursor"}', '... even well encoded');

SELECT is(pgfolio.admin_user_suspend('d0000000-0000-4000-8000-00000000000d') ->> 'status', 'suspended',
  'an admin suspends a user');
SELECT is(pg_temp.error_of(format('SELECT pg_temp.act_as(%L, %L)', 'd0000000-0000-4000-8000-00000000000d', :'sd')) ->> 'sqlstate',
  'PF401', '... whose session stops working at once');
SELECT pg_temp.act_as(:a, :'sa') \g /dev/null
SELECT is(pgfolio.admin_user_suspend('d0000000-0000-4000-8000-00000000000d') ->> 'status', 'suspended',
  'suspending again changes nothing');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.admin_user_suspend(%L)', :a)) ->> 'sqlstate', 'PF409',
  'an admin cannot suspend themselves');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.admin_user_suspend(%L)', :b)),
  '{"sqlstate": "PF409", "message": "user b0000000-0000-4000-8000-00000000000b is deleted", "detail": "{\"status\": \"deleted\", \"userId\": \"b0000000-0000-4000-8000-00000000000b\"}"}',
  '... nor anyone suspend a deleted account');
SELECT is(pg_temp.error_of($$SELECT pgfolio.admin_user_reactivate('e0000000-0000-4000-8000-00000000000e')$$) ->> 'sqlstate',
  'PF404', 'an unknown user is NOT_FOUND');
SELECT is(pgfolio.admin_user_reactivate('d0000000-0000-4000-8000-00000000000d') ->> 'status', 'active',
  'an admin reactivates the user');
RESET ROLE;
SELECT results_eq($$SELECT action, actor_id, resource_id, details FROM pgfolio.audit_logs
                    WHERE action LIKE 'user.%' AND actor_id = 'a0000000-0000-4000-8000-00000000000a' ORDER BY id$$,
  $$VALUES ('user.suspend', 'a0000000-0000-4000-8000-00000000000a'::uuid, 'd0000000-0000-4000-8000-00000000000d', '{"sessionsRevoked": 1}'::jsonb),
           ('user.reactivate', 'a0000000-0000-4000-8000-00000000000a'::uuid, 'd0000000-0000-4000-8000-00000000000d', '{}')$$,
  'suspension and reactivation are audited, once each, with the admin as actor');
SELECT is((SELECT revoked_reason FROM pgfolio.sessions WHERE id = :'sd'), 'suspended',
  '... and the suspension ended the sessions');

-- The market-data loaders: admin and service accounts.
SET LOCAL ROLE pgfolio_api;
SELECT pg_temp.act_as(:a, :'sa') \g /dev/null
SELECT is(pgfolio.admin_upsert_prices('[{"assetId": "T-INR", "price": "101", "currency": "INR", "source": "t", "asOf": "2026-11-01T12:00:00Z"}]'),
  '{"rows": 1}', 'an admin loads prices');
SELECT pg_temp.act_as('c0000000-0000-4000-8000-00000000000c', pg_temp.login('c0000000-0000-4000-8000-00000000000c', 'c-1')) \g /dev/null
SELECT is(pgfolio.admin_upsert_fx_rates('[{"base": "USD", "quote": "INR", "rate": "81", "source": "t", "asOf": "2026-11-01T12:00:00Z"}]'),
  '{"rows": 1}', 'a service account loads FX rates');
SELECT is(pg_temp.error_of($$SELECT pgfolio.admin_users(10, NULL)$$) ->> 'sqlstate', 'PF403',
  '... but administers no accounts');
RESET ROLE;
SELECT is((SELECT price FROM pgfolio.prices WHERE asset_id = 'T-INR'), 101::numeric, '(the price was loaded)');

SELECT * FROM finish();
ROLLBACK;
