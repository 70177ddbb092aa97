-- The ledger witness's side of the database (sql/82-ledger-witness.sql, docs/witness.md): the
-- pgfolio_witness role and its reach, the heads it is shown (gaps included), its proofs,
-- recording checkpoints (idempotent, conflicts refused, bad input refused), alarms in the
-- audit trail, and the latest checkpoint as the API serves it.
BEGIN;
SELECT plan(44);
\ir fixtures.psql

\set pa '''a1000000-0000-4000-8000-00000000000a'''
\set pb '''b1000000-0000-4000-8000-00000000000b'''
\set pw '''d1000000-0000-4000-8000-00000000000a'''
\set pg '''d2000000-0000-4000-8000-00000000000a'''
\set pe '''d3000000-0000-4000-8000-00000000000a'''
SELECT '\x' || repeat('5a', 64) AS sig, repeat('ab', 32) AS kid \gset

CREATE FUNCTION pg_temp.append(p uuid, amount numeric) RETURNS void
LANGUAGE sql AS $$
  SELECT FROM pgfolio.ledger_append(p, 'ADD_FUNDS', pgfolio.ledger_snapshot(p),
                                    pgfolio.ledger_snapshot(p), amount => amount)
$$;
-- A's default portfolio (fixtures), a second one of A's with 5 entries, one with a gap, one
-- with no entries at all.
UPDATE pgfolio.portfolios SET is_default = true WHERE id = :pa;
INSERT INTO pgfolio.portfolios (id, owner_id, name) VALUES
  (:pw, 'a0000000-0000-4000-8000-00000000000a', 'Witnessed'),
  (:pg, 'a0000000-0000-4000-8000-00000000000a', 'Gapped'),
  (:pe, 'a0000000-0000-4000-8000-00000000000a', 'Empty');
SELECT pg_temp.append(p, n) FROM (VALUES (:pa::uuid), (:pb::uuid)) v(p), generate_series(1, 2) n
\g /dev/null
SELECT pg_temp.append(:pw, n) FROM generate_series(1, 5) n \g /dev/null
SELECT pg_temp.append(:pg, n) FROM generate_series(1, 4) n \g /dev/null
SET LOCAL session_replication_role = replica;
DELETE FROM pgfolio.ledger WHERE portfolio_id = :pg AND seq = 2;
SET LOCAL session_replication_role = origin;

-- ---------------------------------------------------------------- the role
SELECT is((SELECT rolcanlogin FROM pg_roles WHERE rolname = 'pgfolio_witness'), false,
  'pgfolio_witness is a group role (the witness logs in as a member)');
SELECT ok(has_schema_privilege('pgfolio_witness', 'pgfolio', 'USAGE'),
  'pgfolio_witness may use schema pgfolio');
SELECT is_empty($$
  SELECT f, r FROM unnest(ARRAY['pgfolio.ledger_witness_heads(uuid,integer)',
                                'pgfolio.ledger_witness_proof(uuid,bigint,bigint)',
                                'pgfolio.ledger_checkpoint_record(uuid,bigint,bytea,timestamptz,text,bytea)',
                                'pgfolio.ledger_witness_alarm(uuid,jsonb)']) f,
                   unnest(ARRAY['pgfolio_api', 'pgfolio_analyst', 'pgfolio_admin',
                                'pgfolio_worker', 'public']) r
  WHERE has_function_privilege(r, f, 'EXECUTE')$$,
  'no role but pgfolio_witness runs the witness functions (pgfolio_api included)');
SELECT ok(has_function_privilege('pgfolio_witness', 'pgfolio.ledger_witness_heads(uuid,integer)', 'EXECUTE')
          AND has_function_privilege('pgfolio_witness', 'pgfolio.ledger_witness_proof(uuid,bigint,bigint)', 'EXECUTE')
          AND has_function_privilege('pgfolio_witness', 'pgfolio.ledger_checkpoint_record(uuid,bigint,bytea,timestamptz,text,bytea)', 'EXECUTE')
          AND has_function_privilege('pgfolio_witness', 'pgfolio.ledger_witness_alarm(uuid,jsonb)', 'EXECUTE'),
  '... which pgfolio_witness runs');
SELECT ok(has_function_privilege('pgfolio_api', 'pgfolio.ledger_checkpoint_latest(uuid)', 'EXECUTE')
          AND NOT has_function_privilege('pgfolio_witness', 'pgfolio.ledger_checkpoint_latest(uuid)', 'EXECUTE'),
  'pgfolio_api runs ledger_checkpoint_latest; the witness does not need it');
SET LOCAL ROLE pgfolio_witness;
SELECT throws_ok($$SELECT 1 FROM pgfolio.ledger LIMIT 1$$, '42501', NULL,
  'pgfolio_witness reads no table directly');
SELECT throws_ok(format($$INSERT INTO pgfolio.ledger_checkpoints (portfolio_id, tree_size, root_hash, signed_at, key_id, signature)
                          VALUES (%L, 1, %L, now(), %L, %L)$$, :pa, '\x' || repeat('00', 32), :'kid', :'sig'),
  '42501', NULL, '... nor writes checkpoints but through ledger_checkpoint_record');
SELECT throws_ok($$SELECT pgfolio.ledger_verify()$$, '42501', NULL,
  '... nor runs the other ledger functions');
RESET ROLE;
SET LOCAL ROLE pgfolio_api;
SELECT throws_ok($$SELECT * FROM pgfolio.ledger_witness_heads()$$, '42501', NULL,
  'pgfolio_api cannot ask for the witness''s heads');
SELECT throws_ok(format($$SELECT pgfolio.ledger_checkpoint_record(%L, 1, %L, now(), %L, %L)$$,
                        :pa, '\x' || repeat('00', 32), :'kid', :'sig'),
  '42501', NULL, '... nor record a checkpoint');
SELECT throws_ok(format($$SELECT pgfolio.ledger_witness_alarm(%L, '{}')$$, :pa), '42501', NULL,
  '... nor raise an alarm');
RESET ROLE;

-- ---------------------------------------------------------------- heads and proofs
SET LOCAL ROLE pgfolio_witness;
CREATE TEMPORARY TABLE heads AS
SELECT * FROM pgfolio.ledger_witness_heads(NULL, 1000)
WHERE portfolio_id IN (:pa, :pb, :pw, :pg, :pe);
RESET ROLE;
SELECT encode(root_hash, 'hex') AS pw_root, encode((pgfolio.ledger_tree_head(:pw, 2)).root_hash, 'hex') AS pw_root2,
       encode((pgfolio.ledger_tree_head(:pw)).root_hash, 'hex') AS pw_root_now
FROM heads WHERE portfolio_id = :pw \gset
SELECT results_eq(
  $$SELECT portfolio_id, tree_size, root_hash FROM heads WHERE problem IS NULL ORDER BY 1$$,
  $$SELECT p, h.tree_size, h.root_hash
    FROM (VALUES ('a1000000-0000-4000-8000-00000000000a'::uuid),
                 ('b1000000-0000-4000-8000-00000000000b'::uuid),
                 ('d1000000-0000-4000-8000-00000000000a'::uuid)) v(p),
         pgfolio.ledger_tree_head(p) h ORDER BY 1$$,
  'the witness is shown every portfolio''s head, whoever owns it, as ledger_tree_head computes it');
SELECT is((SELECT tree_size FROM heads WHERE portfolio_id = :pw), 5::bigint,
  '... its size the number of entries');
SELECT ok(NOT EXISTS (SELECT 1 FROM heads WHERE portfolio_id = :pe),
  'a portfolio without entries has no head');
SELECT is((SELECT (tree_size, root_hash IS NULL, problem LIKE '%gap before seq 3%') FROM heads
           WHERE portfolio_id = :pg), (4::bigint, true, true),
  'a ledger with a gap comes back without a root, its highest seq and the reason (and the others still come)');
SELECT array_agg(id ORDER BY id) AS page FROM (
  SELECT p.id FROM pgfolio.portfolios p
  WHERE p.id > :pa AND EXISTS (SELECT 1 FROM pgfolio.ledger l WHERE l.portfolio_id = p.id)
  ORDER BY p.id LIMIT 2) x \gset
SET LOCAL ROLE pgfolio_witness;
SELECT is((SELECT array_agg(portfolio_id ORDER BY portfolio_id)
           FROM pgfolio.ledger_witness_heads(:pa, 2)), :'page'::uuid[],
  'heads come a page at a time: max_rows of them, after the id given, in id order');
SELECT is((pg_temp.error_of('SELECT * FROM pgfolio.ledger_witness_heads(NULL, 0)') ->> 'sqlstate'),
          'PF400', 'max_rows below 1 is refused');
SELECT is((pg_temp.error_of('SELECT * FROM pgfolio.ledger_witness_heads(NULL, 1001)') ->> 'sqlstate'),
          'PF400', '... and above 1000');
SELECT pgfolio.ledger_witness_proof(:pw, 2, 5) AS proof \gset
RESET ROLE;
SELECT is(:'proof'::bytea[], (SELECT pgfolio.ledger_consistency_proof(:pw, 2, 5)),
  'the witness''s proof is the consistency proof from the old size to the new');
SELECT ok(pgfolio.merkle_verify_consistency(2, 5, (pgfolio.ledger_tree_head(:pw, 2)).root_hash,
                                            (pgfolio.ledger_tree_head(:pw)).root_hash, :'proof'),
  '... and it verifies between the two roots');
SET LOCAL ROLE pgfolio_witness;
SELECT is((pg_temp.error_of(format('SELECT pgfolio.ledger_witness_proof(%L, 5, 2)', :pw)) ->> 'sqlstate'),
          'PF400', 'a proof to a smaller tree is refused');
SELECT is((pg_temp.error_of(format('SELECT pgfolio.ledger_witness_proof(%L, 2, 9)', :pw)) ->> 'sqlstate'),
          'PF400', '... as is one beyond the ledger''s end');
SELECT is((pg_temp.error_of(format('SELECT pgfolio.ledger_witness_proof(%L, 1, 2)', :pe)) ->> 'sqlstate'),
          'PF400', '... or of a portfolio without entries');

-- ---------------------------------------------------------------- recording checkpoints
SELECT is(pgfolio.ledger_checkpoint_record(:pw, 5, decode(:'pw_root', 'hex'),
                                           '2026-11-02 03:04:05.123456+00', :'kid', :'sig'),
          true, 'the witness records a checkpoint');
SELECT is(pgfolio.ledger_checkpoint_record(:pw, 5, decode(:'pw_root', 'hex'),
                                           '2026-11-02 03:04:05.123456+00', :'kid', :'sig'),
          false, 'recording the same checkpoint again is a no-op (false)');
SELECT is(pg_temp.error_of(format(
            'SELECT pgfolio.ledger_checkpoint_record(%L, 5, %L, %L, %L, %L)', :pw,
            '\x' || :'pw_root', '2026-11-02 03:04:05.123457+00',
            :'kid', :'sig')) - 'message',
          jsonb_build_object('sqlstate', 'PF409', 'detail', jsonb_build_object(
            'portfolioId', :pw, 'treeSize', 5, 'keyId', :'kid')::text),
  'another checkpoint at a recorded size is a CONFLICT (even one microsecond later)');
SELECT is((pg_temp.error_of(format(
            'SELECT pgfolio.ledger_checkpoint_record(%L, 5, %L, %L, %L, %L)', :pw,
            '\x' || repeat('00', 32), '2026-11-02 03:04:05.123456+00', :'kid', :'sig')) ->> 'sqlstate'),
          'PF409', '... as is another root at that size');
SELECT is(pgfolio.ledger_checkpoint_record(:pw, 2, decode(:'pw_root2', 'hex'),
                                           '2026-11-01 00:00:00+00', :'kid', :'sig'),
          true, 'a checkpoint of a smaller size is recorded beside it');
RESET ROLE;
SELECT is((SELECT count(*) FROM pgfolio.ledger_checkpoints WHERE portfolio_id = :pw), 2::bigint,
  '... and the table holds exactly the two');
SELECT is(:'pw_root'::text, :'pw_root_now', 'the head the witness was shown is the ledger''s');
SET LOCAL ROLE pgfolio_witness;
SELECT is(ARRAY(SELECT pg_temp.error_of(format(
            'SELECT pgfolio.ledger_checkpoint_record(%L, %s, %L, %L, %L, %L)', p, s, r, t, k, g))
            ->> 'detail'
          FROM (VALUES
            (:pw, '7', '\x' || repeat('00', 31), '2026-11-01 00:00:00+00', :'kid', :'sig'),
            (:pw, '7', '\x' || repeat('00', 32), '2026-11-01 00:00:00+00', upper(:'kid'), :'sig'),
            (:pw, '7', '\x' || repeat('00', 32), '2026-11-01 00:00:00+00', :'kid', '\x' || repeat('00', 63)),
            (:pw, '-1', '\x' || repeat('00', 32), '2026-11-01 00:00:00+00', :'kid', :'sig'),
            (:pw, 'NULL', '\x' || repeat('00', 32), '2026-11-01 00:00:00+00', :'kid', :'sig'),
            (:pw, '7', '\x' || repeat('00', 32), 'infinity', :'kid', :'sig')) v(p, s, r, t, k, g)),
          ARRAY['{"field": "root_hash"}', '{"field": "key_id"}', '{"field": "signature"}',
                '{"field": "tree_size"}', '{"field": "tree_size"}', '{"field": "signed_at"}'],
  'a malformed root, key id, signature, size or time is refused, naming the argument');
SELECT is((pg_temp.error_of(format(
            'SELECT pgfolio.ledger_checkpoint_record(%L, 1, %L, now(), %L, %L)',
            'e0000000-0000-4000-8000-00000000000e', '\x' || repeat('00', 32), :'kid', :'sig')) ->> 'sqlstate'),
          'PF404', 'a checkpoint of an unknown portfolio is NOT_FOUND');

-- ---------------------------------------------------------------- alarms
SELECT lives_ok(format($$SELECT pgfolio.ledger_witness_alarm(%L, '{"witness": "k", "reason": "r", "witnessedSize": 5}')$$, :pw),
  'the witness raises an alarm');
RESET ROLE;
SELECT results_eq(
  format($$SELECT actor_id, action, resource_type, resource_id, details FROM pgfolio.audit_logs
           WHERE action = 'ledger.witness_alarm' AND resource_id = %L$$, :pw),
  format($$VALUES (NULL::uuid, 'ledger.witness_alarm', 'portfolio', %L,
                   '{"witness": "k", "reason": "r", "witnessedSize": 5}'::jsonb)$$, :pw),
  '... which is an audit entry naming the portfolio, with no user as its actor');
SET LOCAL ROLE pgfolio_witness;
SELECT is((pg_temp.error_of(format($$SELECT pgfolio.ledger_witness_alarm(%L, '[]')$$, :pw)) ->> 'detail'),
          '{"field": "details"}', 'an alarm''s details must be an object');
SELECT is((pg_temp.error_of($$SELECT pgfolio.ledger_witness_alarm(NULL, '{}')$$) ->> 'detail'),
          '{"field": "portfolio_id"}', '... and it names a portfolio');
SELECT lives_ok($$SELECT pgfolio.ledger_witness_alarm('e0000000-0000-4000-8000-00000000000e', '{}')$$,
  '... even one that no longer exists (its disappearance is what the alarm is about)');
RESET ROLE;

-- ---------------------------------------------------------------- the latest checkpoint (API)
SELECT pgfolio.ledger_checkpoint_record(:pa, 2, (pgfolio.ledger_tree_head(:pa)).root_hash,
                                        '2026-11-03 10:00:00+05:30', :'kid', :'sig') \g /dev/null
SET LOCAL TimeZone = 'America/Los_Angeles';
SET LOCAL ROLE pgfolio_api;
SELECT pg_temp.act_as('a0000000-0000-4000-8000-00000000000a') \g /dev/null
SELECT is(pgfolio.ledger_checkpoint_latest(:pw),
          jsonb_build_object('format', 'pgfolio-checkpoint/1', 'portfolioId', :pw, 'treeSize', 5,
                             'rootHash', :'pw_root',
                             'signedAt', '2026-11-02T03:04:05.123456Z', 'keyId', :'kid',
                             'signature', repeat('5a', 64)),
  'the owner gets the latest checkpoint of a portfolio in the §3.2 form (hex, UTC, six fraction digits)');
SELECT is(pgfolio.ledger_checkpoint_latest() ->> 'portfolioId', :pa,
  'without a portfolio: the caller''s default portfolio''s');
SELECT is(pgfolio.ledger_checkpoint_latest(:pa) ->> 'signedAt', '2026-11-03T04:30:00.000000Z',
  '... a time in whole seconds still has its six fraction digits, in UTC whatever the session''s zone');
SELECT is((pg_temp.error_of(format('SELECT pgfolio.ledger_checkpoint_latest(%L)', :pb)) - 'message'),
          jsonb_build_object('sqlstate', 'PF404', 'detail', jsonb_build_object('portfolioId', :pb)::text),
  'another user''s portfolio is NOT_FOUND');
SELECT is((pg_temp.error_of(format('SELECT pgfolio.ledger_checkpoint_latest(%L)', :pe)) ->> 'sqlstate'),
          'PF404', 'a portfolio the witness has not signed yet is NOT_FOUND');
RESET ROLE;
UPDATE pgfolio.portfolios SET is_default = false WHERE id = :pa;
SET LOCAL ROLE pgfolio_api;
SELECT is((pg_temp.error_of('SELECT pgfolio.ledger_checkpoint_latest()') ->> 'detail'),
          '{"parameter": "portfolioId"}',
  'without a portfolio and with no default portfolio: NOT_FOUND, pointing at the parameter');
RESET ROLE;
SELECT set_config('pgfolio.acting_user', '', true), set_config('pgfolio.session_id', '', true)
\g /dev/null
SET LOCAL ROLE pgfolio_api;
SELECT is((pg_temp.error_of(format('SELECT pgfolio.ledger_checkpoint_latest(%L)', :pw)) ->> 'sqlstate'),
          'PF401', 'nobody acting: UNAUTHORIZED');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
