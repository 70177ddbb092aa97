-- Raising the hashing parameters (sql/46 password_rehash, 47, 48): after a correct password
-- whose stored hash has older parameters, the login functions replace it with pgfolio-http's
-- fresh hash, compare and set on the hash the password was verified against, and only as
-- part of a login: pgfolio_api has no function that sets a hash on its own.
BEGIN;
SELECT plan(13);
\ir fixtures.psql
\ir auth-fixtures.psql

\set a '''a0000000-0000-4000-8000-00000000000a'''
\set b '''b0000000-0000-4000-8000-00000000000b'''
\set old '$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaA'
\set new '$argon2id$v=19$m=19456,t=3,p=1$bmV3c2FsdA$bmV3aGFzaA'
\set other '$argon2id$v=19$m=19456,t=3,p=1$b3RoZXI$b3RoZXJoYXNo'

SELECT is((SELECT password_hash::text FROM pgfolio.users WHERE id = :a), :'old',
  'A''s password hash has the old parameters');

SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_session_start(%L, %L, NULL, 3600, %L, %L)',
                                  :a, pg_temp.h('a-1'), :'old', 'plain-text')),
  '{"sqlstate": "PF400", "message": "newPasswordHash must be an Argon2id encoded hash ($argon2id$...) of at most 256 characters", "detail": "{\"field\": \"newPasswordHash\"}"}',
  'a new hash that is not an Argon2id hash is refused');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_session_start(%L, %L, NULL, 3600, NULL, %L)',
                                  :a, pg_temp.h('a-1'), :'new')) ->> 'detail',
  '{"field": "passwordHash"}', '... and so is a new hash without the hash it replaces');
SELECT ok(pgfolio.auth_session_start(:a, pg_temp.h('a-1'), NULL, 3600, :'old', :'new') ? 'sessionId',
  'a login with the verified hash and a fresh one opens the session');
RESET ROLE;
SELECT is((SELECT password_hash::text FROM pgfolio.users WHERE id = :a), :'new',
  '... and replaces the stored hash');
SELECT is((SELECT details FROM pgfolio.audit_logs WHERE id > :audit_start AND actor_id = :a
           ORDER BY id DESC LIMIT 1),
  '{"method": "password", "passwordRehashed": true}', '... which login.success records');

-- Compare and set: a hash that changed since it was verified is left alone.
SET LOCAL ROLE pgfolio_api;
SELECT ok(pgfolio.auth_session_start(:a, pg_temp.h('a-2'), NULL, 3600, :'old', :'other') ? 'sessionId',
  'a login that verified a hash replaced meanwhile still opens its session');
RESET ROLE;
SELECT is((SELECT password_hash::text FROM pgfolio.users WHERE id = :a), :'new',
  '... but does not overwrite the newer hash');
SELECT is((SELECT details FROM pgfolio.audit_logs WHERE id > :audit_start AND actor_id = :a
           ORDER BY id DESC LIMIT 1),
  '{"method": "password"}', '... nor claims to have');

-- A refused login replaces nothing.
UPDATE pgfolio.users SET status = 'suspended' WHERE id = :b;
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of(format('SELECT pgfolio.auth_session_start(%L, %L, NULL, 3600, %L, %L)',
                                  :b, pg_temp.h('b-1'), :'old', :'new')) ->> 'sqlstate',
  'PF403', 'a suspended account''s login is refused');
RESET ROLE;
SELECT is((SELECT password_hash::text FROM pgfolio.users WHERE id = :b), :'old',
  '... and its hash stays');

-- With MFA on, the challenge start replaces it (the password was verified).
UPDATE pgfolio.users SET status = 'active', mfa_enabled = true,
                         totp_secret = '\x33333333333333333333333333333333' WHERE id = :b;
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.auth_mfa_challenge_start(:b, pg_temp.h('ch-b'), :'old', :'new'),
  '{"mfaRequired": true, "expiresIn": 300}', 'an MFA challenge after the password');
RESET ROLE;
SELECT is((SELECT password_hash::text FROM pgfolio.users WHERE id = :b), :'new',
  '... replaces the stored hash too');

SELECT * FROM finish();
ROLLBACK;
