-- The ledger (docs/ledger.md): appending, immutability, who may write, verification and each
-- kind of tampering it must catch, canonical JSON (RFC 8785's own examples), Merkle roots and
-- proofs (the Certificate Transparency vectors, and proofs over a real chain).
BEGIN;
SELECT plan(84);
\ir fixtures.psql

\set pa '''a1000000-0000-4000-8000-00000000000a'''
\set pb '''b1000000-0000-4000-8000-00000000000b'''

-- A portfolio per tampering case, with a chain of 6 entries each (7 for X), so the cases do not
-- see each other.
INSERT INTO pgfolio.portfolios (id, owner_id, name, cash_balance)
SELECT ('c' || n || '000000-0000-4000-8000-00000000000a')::uuid,
       'a0000000-0000-4000-8000-00000000000a', 'Tamper ' || n, 100
FROM generate_series(1, 7) n;
CREATE FUNCTION pg_temp.append(p uuid, amount numeric, message text DEFAULT NULL,
                               metadata jsonb DEFAULT '{}') RETURNS pgfolio.ledger
LANGUAGE sql AS $$
  SELECT pgfolio.ledger_append(p, 'ADD_FUNDS', pgfolio.ledger_snapshot(p),
                               pgfolio.ledger_snapshot(p), amount => amount, message => message,
                               metadata => metadata)
$$;
SELECT pg_temp.append(p.id, n * 10.5, 'Added ' || n)
FROM pgfolio.portfolios p, generate_series(1, 6) n
WHERE p.name LIKE 'Tamper %' ORDER BY p.id, n \g /dev/null

-- ---------------------------------------------------------------- appending
SELECT pg_temp.append(:pa, 100.50, 'Added 100.50', '{"source": "test", "count": 2}') AS e1 \gset
SELECT pgfolio.ledger_append(:pa, 'TRADE_BUY', pgfolio.ledger_snapshot(:pa),
                             pgfolio.ledger_snapshot(:pa), asset_id => 'T-INR',
                             quantity => 2.500, amount => 200.5, boundary => 'SAFE') \g /dev/null
SELECT results_eq(
  $$SELECT seq, entry_type, encode(prev_hash, 'hex') FROM pgfolio.ledger
    WHERE portfolio_id = 'a1000000-0000-4000-8000-00000000000a' ORDER BY seq$$,
  $$VALUES (1::bigint, 'ADD_FUNDS', repeat('0', 64)),
           (2::bigint, 'TRADE_BUY', (SELECT encode(entry_hash, 'hex') FROM pgfolio.ledger
                                      WHERE portfolio_id = 'a1000000-0000-4000-8000-00000000000a'
                                        AND seq = 1))$$,
  'appends number each portfolio''s entries from 1 and link each to the one before (zeros first)');
SELECT ok(bool_and(pgfolio.ledger_entry_hash(l) = l.entry_hash), 'stored hashes recompute')
FROM pgfolio.ledger l;
SELECT is((SELECT encode(entry_hash, 'hex') FROM pgfolio.ledger
           WHERE portfolio_id = :pa AND seq = 1),
          encode(sha256(convert_to(pgfolio.ledger_canonical_bytes(l), 'UTF8')), 'hex'),
          'the entry hash is SHA-256 of the canonical bytes')
FROM pgfolio.ledger l WHERE portfolio_id = :pa AND seq = 1;
SELECT is(pgfolio.ledger_canonical_bytes(l),
  format('{"amount":"100.5","assetId":null,"boundary":null,"createdAt":"%s","entryType":"ADD_FUNDS",'
         '"format":"pgfolio-ledger-entry/1","loanId":null,"message":"Added 100.50",'
         '"metadata":{"count":2,"source":"test"},"portfolioId":"a1000000-0000-4000-8000-00000000000a",'
         '"prevHash":"%s","protectionId":null,"quantity":null,"seq":1,'
         '"snapshotAfter":{"cash":"1000.505","holdings":[{"assetId":"T-INR","averageCost":"90","frozenQuantity":"0","quantity":"10"},{"assetId":"T-USD","averageCost":"150","frozenQuantity":"0","quantity":"3"}]},'
         '"snapshotBefore":{"cash":"1000.505","holdings":[{"assetId":"T-INR","averageCost":"90","frozenQuantity":"0","quantity":"10"},{"assetId":"T-USD","averageCost":"150","frozenQuantity":"0","quantity":"3"}]}}',
         to_char(l.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), repeat('0', 64)),
  'canonical bytes follow docs/ledger-format.md: sorted members, decimals as trimmed strings')
FROM pgfolio.ledger l WHERE portfolio_id = :pa AND seq = 1;
SELECT is(pgfolio.ledger_canonical_bytes(l) ~ '"quantity":"2.5"', true,
          'a quantity of 2.500 is hashed as "2.5": the value, not the column''s scale')
FROM pgfolio.ledger l WHERE portfolio_id = :pa AND seq = 2;
SELECT is((SELECT count(*) FROM pgfolio.action_log WHERE portfolio_id = :pa), 1::bigint,
          'an entry with a message writes one activity line, one without writes none');
SELECT is((SELECT message FROM pgfolio.action_log WHERE portfolio_id = :pa), 'Added 100.50',
          'the activity line carries the message');
SELECT is((pgfolio.ledger_export_line(l)::jsonb - 'entryHash'),
          pgfolio.ledger_canonical_bytes(l)::jsonb, 'an export line is the entry object ...')
FROM pgfolio.ledger l WHERE portfolio_id = :pa AND seq = 2;
SELECT is(pgfolio.ledger_export_line(l)::jsonb ->> 'entryHash', encode(l.entry_hash, 'hex'),
          '... plus its hash in hex')
FROM pgfolio.ledger l WHERE portfolio_id = :pa AND seq = 2;

SELECT is(pg_temp.error_of($$SELECT pg_temp.append('00000000-0000-4000-8000-000000000000', 1)$$)
          ->> 'sqlstate', 'PF404', 'appending to an unknown portfolio is NOT_FOUND');
SELECT is(pg_temp.error_of($$SELECT pgfolio.ledger_append('a1000000-0000-4000-8000-00000000000a',
          'NOT_A_TYPE', NULL, NULL)$$) ->> 'sqlstate', '23503',
          'an entry type that is not in ledger_entry_types is refused');
SELECT is(pg_temp.error_of($$SELECT pg_temp.append('a1000000-0000-4000-8000-00000000000a', 1,
          NULL, '{"price": 100.5}')$$) ->> 'sqlstate', 'PF400',
          'a non-integer JSON number in metadata is refused: JCS would round it');
SELECT is(pg_temp.error_of($$SELECT pg_temp.append('a1000000-0000-4000-8000-00000000000a', 1,
          NULL, '{"n": 9007199254740993}')$$) ->> 'sqlstate', 'PF400',
          'an integer beyond 2^53 in metadata is refused');
SELECT is(pg_temp.error_of($$SELECT pg_temp.append('a1000000-0000-4000-8000-00000000000a',
          'NaN')$$) ->> 'sqlstate', 'PF400', 'a NaN amount is refused');
SELECT is(pg_temp.error_of($$SELECT pg_temp.append('a1000000-0000-4000-8000-00000000000a', 1,
          '')$$) ->> 'detail', '{"field": "message"}', 'an empty message is refused, naming the field');
SELECT is((SELECT max(seq) FROM pgfolio.ledger WHERE portfolio_id = :pa), 2::bigint,
          'refused appends leave no entry behind');
SELECT is(pgfolio.ledger_snapshot(:pb),
          '{"cash": "50", "holdings": [{"assetId": "T-GOLD", "quantity": "1.5", "averageCost": "6000", "frozenQuantity": "0"}]}'::jsonb,
          'ledger_snapshot gives cash and holdings as canonical decimals');

-- ---------------------------------------------------------------- immutability and privileges
SELECT throws_ok($$UPDATE pgfolio.ledger SET amount = 1 WHERE portfolio_id = 'a1000000-0000-4000-8000-00000000000a'$$,
                 'PF410', NULL, 'UPDATE of the ledger raises LEDGER_IMMUTABLE');
SELECT throws_ok($$DELETE FROM pgfolio.ledger WHERE portfolio_id = 'a1000000-0000-4000-8000-00000000000a'$$,
                 'PF410', NULL, 'DELETE from the ledger raises LEDGER_IMMUTABLE');
-- CASCADE, so that the tables referring to the ledger do not stop it first (quietly: the
-- cascade's notice is not the point).
SET LOCAL client_min_messages = warning;
SELECT throws_ok($$TRUNCATE pgfolio.ledger CASCADE$$, 'PF410', NULL,
                 'TRUNCATE of the ledger raises LEDGER_IMMUTABLE');
RESET client_min_messages;
INSERT INTO pgfolio.ledger_checkpoints (portfolio_id, tree_size, root_hash, signed_at, key_id, signature)
SELECT :pa, 2, root_hash, now(), repeat('a', 64), decode(repeat('00', 64), 'hex')
FROM pgfolio.ledger_tree_head(:pa);
SELECT throws_ok($$UPDATE pgfolio.ledger_checkpoints SET tree_size = 1$$, 'PF410', NULL,
                 'UPDATE of a checkpoint raises LEDGER_IMMUTABLE');
SELECT throws_ok($$DELETE FROM pgfolio.ledger_checkpoints$$, 'PF410', NULL,
                 'DELETE of a checkpoint raises LEDGER_IMMUTABLE');
SELECT ok(NOT has_function_privilege(r, 'pgfolio.ledger_append(uuid, text, jsonb, jsonb, text, numeric, numeric, text, uuid, uuid, text, jsonb)', 'EXECUTE'),
          r || ' cannot execute ledger_append')
FROM unnest(ARRAY['pgfolio_api', 'pgfolio_analyst', 'pgfolio_admin', 'pgfolio_worker', 'public']) r;
SELECT ok(NOT has_table_privilege(r, t, p), format('%s has no %s on %s', r, p, t))
FROM unnest(ARRAY['pgfolio_api', 'pgfolio_analyst', 'pgfolio_admin']) r,
     unnest(ARRAY['pgfolio.ledger', 'pgfolio.ledger_checkpoints']) t,
     unnest(ARRAY['INSERT', 'UPDATE', 'DELETE', 'TRUNCATE']) p
WHERE r = 'pgfolio_admin' OR p = 'INSERT';

-- ---------------------------------------------------------------- reading as a user
SELECT pg_temp.act_as('a0000000-0000-4000-8000-00000000000a') \g /dev/null
SET LOCAL ROLE pgfolio_api;
SELECT is((SELECT count(DISTINCT portfolio_id) FROM pgfolio.ledger), 8::bigint,
          'a user sees the entries of their own portfolios only');
SELECT is((SELECT count(*) FROM pgfolio.ledger_verify() WHERE ok), 8::bigint,
          'and verifies their own chains: all good');
SELECT is(pg_temp.error_of($$SELECT pgfolio.ledger_tree_head('b1000000-0000-4000-8000-00000000000b')$$)
          ->> 'sqlstate', 'PF404', 'another user''s tree head is NOT_FOUND');
SELECT is(pg_temp.error_of($$SELECT pgfolio.ledger_inclusion_proof('b1000000-0000-4000-8000-00000000000b', 1, 1)$$)
          ->> 'sqlstate', 'PF404', 'so is a proof from another user''s ledger');
SELECT throws_ok($$SELECT pgfolio.ledger_append('a1000000-0000-4000-8000-00000000000a', 'ADD_FUNDS', NULL, NULL)$$,
                 '42501', NULL, 'a user cannot append, even to their own portfolio');
RESET ROLE;

-- ---------------------------------------------------------------- canonical JSON (RFC 8785)
SELECT is(pgfolio.canonical_json(
  $${"numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
     "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
     "literals": [null, true, false]}$$),
  $${"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}$$,
  'RFC 8785 §3.2.4: the sample input canonicalises to the RFC''s output');
SELECT is(pgfolio.canonical_json(
  $${"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
     "1": "One", "\ud83d\ude00": "Emoji: Grinning Face", "\u0080": "Control",
     "\u00f6": "Latin Small Letter O With Diaeresis"}$$),
  '{"\r":"Carriage Return","1":"One","' || E'\u0080' || '":"Control",'
  '"' || E'\u00f6' || '":"Latin Small Letter O With Diaeresis","' || E'\u20ac' || '":"Euro Sign","'
  || E'\U0001F600' || '":"Emoji: Grinning Face","' || E'\ufb33' || '":"Hebrew Letter Dalet With Dagesh"}',
  'RFC 8785 §3.2.3: members sorted by UTF-16 code units (the emoji''s surrogates before U+FB33)');
SELECT is(pgfolio.canonical_json(v::jsonb), want, 'RFC 8785 number: ' || v)
FROM (VALUES ('1E30', '1e+30'), ('4.50', '4.5'), ('-0', '0'), ('1e21', '1e+21'),
             ('1e20', '100000000000000000000'), ('9007199254740993', '9007199254740992'),
             ('0.000001', '0.000001'), ('1e-7', '1e-7'), ('1e-400', '0')) t(v, want);
SELECT is(pgfolio.canonical_json('{"b": {"z": [3, {"y": 1, "x": 2}]}, "a": "\u001f"}'),
          '{"a":"\u001f","b":{"z":[3,{"x":2,"y":1}]}}', 'nested members sorted, arrays kept in order');
SELECT is(pg_temp.error_of($$SELECT pgfolio.canonical_json('1e400')$$) ->> 'sqlstate', 'PF400',
          'a number beyond the double range is refused, as RFC 8785 requires');

-- ---------------------------------------------------------------- Merkle trees
-- The Certificate Transparency reference vectors (transparency-dev/merkle testonly/constants.go).
CREATE TEMP TABLE ct_leaves (i int, leaf bytea) ON COMMIT DROP;
INSERT INTO ct_leaves VALUES (0, '\x'), (1, '\x00'), (2, '\x10'), (3, '\x2021'), (4, '\x3031'),
  (5, '\x40414243'), (6, '\x5051525354555657'), (7, '\x606162636465666768696a6b6c6d6e6f');
SELECT is(encode(pgfolio.merkle_root(ARRAY(SELECT leaf FROM ct_leaves WHERE i < n ORDER BY i)), 'hex'),
          want, 'CT vector root of ' || n || ' leaves')
FROM (VALUES (1, '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d'),
             (2, 'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125'),
             (3, 'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77'),
             (4, 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7'),
             (5, '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4'),
             (6, '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef'),
             (7, 'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c'),
             (8, '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328')) v(n, want);
SELECT is(encode(pgfolio.merkle_root('{}'), 'hex'),
          'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
          'the empty tree is SHA-256 of nothing');
SELECT ok(pgfolio.merkle_verify_inclusion('\x', 0, 8,
            ARRAY['\x96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
                  '\x5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e',
                  '\x6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']::bytea[],
            '\x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'),
          'CT inclusion vector: leaf 0 of 8');
SELECT ok(NOT pgfolio.merkle_verify_inclusion('\x', 0, 8,
            ARRAY['\x96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7',
                  '\x6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4',
                  '\x5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e']::bytea[],
            '\x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'),
          'the same path with two elements swapped does not verify');
SELECT ok(pgfolio.merkle_verify_consistency(6, 8,
            '\x76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
            '\x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
            ARRAY['\x0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
                  '\xca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0',
                  '\xd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']::bytea[]),
          'CT consistency vector: 6 -> 8');
SELECT ok(NOT pgfolio.merkle_verify_consistency(6, 8,
            '\x76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
            '\x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
            ARRAY['\x0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a',
                  '\xca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0']::bytea[]),
          'the same proof with an element missing does not verify');
SELECT is(pg_temp.error_of($$SELECT pgfolio.merkle_root(ARRAY['\x01', NULL]::bytea[])$$) ->> 'sqlstate',
          'PF400', 'a NULL leaf is refused');

-- Proofs over a real chain: portfolio c7 has 6 entries; every inclusion proof for every tree
-- size verifies against the tree head of that size, and every consistency proof too.
\set px '''c7000000-0000-4000-8000-00000000000a'''
SELECT is(count(*) FILTER (WHERE pgfolio.merkle_verify_inclusion(
            l.entry_hash, l.seq - 1, s,
            pgfolio.ledger_inclusion_proof(:px, l.seq, s),
            (pgfolio.ledger_tree_head(:px, s)).root_hash)), 21::bigint,
          'every inclusion proof of the chain verifies (21 pairs of entry and tree size)')
FROM pgfolio.ledger l, generate_series(1, 6) s WHERE l.portfolio_id = :px AND l.seq <= s;
SELECT is(count(*) FILTER (WHERE pgfolio.merkle_verify_consistency(
            o, n, (pgfolio.ledger_tree_head(:px, o)).root_hash,
            (pgfolio.ledger_tree_head(:px, n)).root_hash,
            pgfolio.ledger_consistency_proof(:px, o, n))), 28::bigint,
          'every consistency proof of the chain verifies (28 pairs of sizes 0-6)')
FROM generate_series(0, 6) o, generate_series(0, 6) n WHERE o <= n;
SELECT ok(NOT pgfolio.merkle_verify_inclusion(l.entry_hash, 2, 6,
            pgfolio.ledger_inclusion_proof(:px, 4, 6), (pgfolio.ledger_tree_head(:px)).root_hash),
          'a proof does not verify for another entry''s position')
FROM pgfolio.ledger l WHERE l.portfolio_id = :px AND l.seq = 3;
SELECT is((pgfolio.ledger_tree_head(:px)).root_hash,
          pgfolio.merkle_root(ARRAY(SELECT entry_hash FROM pgfolio.ledger
                                    WHERE portfolio_id = :px ORDER BY seq)),
          'the tree head is the MTH over the entry hashes as leaf inputs');
SELECT is(pg_temp.error_of($$SELECT pgfolio.ledger_inclusion_proof('c7000000-0000-4000-8000-00000000000a', 7, 6)$$)
          ->> 'sqlstate', 'PF400', 'an entry beyond the tree size has no proof');
SELECT is(pg_temp.error_of($$SELECT pgfolio.ledger_tree_head('c7000000-0000-4000-8000-00000000000a', 7)$$)
          ->> 'sqlstate', 'PF400', 'a tree larger than the ledger has no head');
SELECT is(pg_temp.error_of($$SELECT pgfolio.ledger_consistency_proof('c7000000-0000-4000-8000-00000000000a', 5, 4)$$)
          ->> 'sqlstate', 'PF400', 'a consistency proof needs old_size <= new_size');

-- ---------------------------------------------------------------- tampering
-- As the superuser with triggers off (session_replication_role = replica), as an attacker
-- with full control of the database would be. Each case on its own portfolio.
INSERT INTO pgfolio.ledger_checkpoints (portfolio_id, tree_size, root_hash, signed_at, key_id, signature)
SELECT p, 6, (pgfolio.ledger_tree_head(p)).root_hash, now(), repeat('a', 64), decode(repeat('00', 64), 'hex')
FROM unnest(ARRAY['c3000000-0000-4000-8000-00000000000a', 'c4000000-0000-4000-8000-00000000000a']::uuid[]) p;
SET LOCAL session_replication_role = replica;
-- c1: an amount changed in the middle.
UPDATE pgfolio.ledger SET amount = 999 WHERE portfolio_id = 'c1000000-0000-4000-8000-00000000000a' AND seq = 3;
-- c2: a middle entry deleted.
DELETE FROM pgfolio.ledger WHERE portfolio_id = 'c2000000-0000-4000-8000-00000000000a' AND seq = 4;
-- c3: the newest entries deleted after a checkpoint of 6: the chain that is left verifies.
DELETE FROM pgfolio.ledger WHERE portfolio_id = 'c3000000-0000-4000-8000-00000000000a' AND seq >= 5;
-- c4: the whole chain rebuilt from genesis with an altered amount, every hash recomputed.
CREATE FUNCTION pg_temp.rehash_chain(p uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  e pgfolio.ledger;
  previous bytea := decode(repeat('00', 32), 'hex');
BEGIN
  FOR e IN SELECT * FROM pgfolio.ledger WHERE portfolio_id = p ORDER BY seq LOOP
    e.prev_hash := previous;
    e.entry_hash := pgfolio.ledger_entry_hash(e);
    UPDATE pgfolio.ledger SET prev_hash = e.prev_hash, entry_hash = e.entry_hash WHERE id = e.id;
    previous := e.entry_hash;
  END LOOP;
END
$$;
UPDATE pgfolio.ledger SET amount = 0.01 WHERE portfolio_id = 'c4000000-0000-4000-8000-00000000000a' AND seq = 2;
SELECT pg_temp.rehash_chain('c4000000-0000-4000-8000-00000000000a');
-- c5: an entry's link pointed elsewhere, its own hash recomputed to match.
UPDATE pgfolio.ledger l SET prev_hash = decode(repeat('ab', 32), 'hex')
WHERE portfolio_id = 'c5000000-0000-4000-8000-00000000000a' AND seq = 5;
UPDATE pgfolio.ledger l SET entry_hash = pgfolio.ledger_entry_hash(l)
WHERE portfolio_id = 'c5000000-0000-4000-8000-00000000000a' AND seq = 5;
-- c6: a snapshot given a number JCS would round (the format refuses it).
UPDATE pgfolio.ledger SET metadata = '{"price": 0.1}'
WHERE portfolio_id = 'c6000000-0000-4000-8000-00000000000a' AND seq = 2;
RESET session_replication_role;

SELECT results_eq(
  $$SELECT portfolio_id::text, entries_checked, ok, first_bad_seq, problem
    FROM pgfolio.ledger_verify() v
    WHERE v.portfolio_id IN (SELECT id FROM pgfolio.portfolios WHERE name LIKE 'Tamper %')
    ORDER BY 1$$,
  $$VALUES ('c1000000-0000-4000-8000-00000000000a', 2::bigint, false, 3::bigint, 'hash mismatch'),
           ('c2000000-0000-4000-8000-00000000000a', 3::bigint, false, 4::bigint, 'gap'),
           ('c3000000-0000-4000-8000-00000000000a', 4::bigint, false, 5::bigint, 'checkpoint mismatch'),
           ('c4000000-0000-4000-8000-00000000000a', 6::bigint, false, 1::bigint, 'checkpoint mismatch'),
           ('c5000000-0000-4000-8000-00000000000a', 4::bigint, false, 5::bigint, 'link mismatch'),
           ('c6000000-0000-4000-8000-00000000000a', 1::bigint, false, 2::bigint, 'malformed entry'),
           ('c7000000-0000-4000-8000-00000000000a', 6::bigint, true, NULL::bigint, NULL::text)$$,
  'ledger_verify names each tampered chain''s first bad entry and what is wrong');
SELECT results_eq(
  $$SELECT entries_checked, ok, first_bad_seq, problem
    FROM pgfolio.ledger_verify('c1000000-0000-4000-8000-00000000000a')$$,
  $$VALUES (2::bigint, false, 3::bigint, 'hash mismatch')$$,
  'ledger_verify(portfolio) checks that portfolio alone');
SELECT is((SELECT count(*) FROM pgfolio.ledger_checkpoints WHERE portfolio_id = 'c4000000-0000-4000-8000-00000000000a'),
          1::bigint, 'without its checkpoint the rebuilt chain of c4 ...');
SET LOCAL session_replication_role = replica;
DELETE FROM pgfolio.ledger_checkpoints WHERE portfolio_id = 'c4000000-0000-4000-8000-00000000000a';
RESET session_replication_role;
SELECT results_eq(
  $$SELECT ok FROM pgfolio.ledger_verify('c4000000-0000-4000-8000-00000000000a')$$,
  $$VALUES (true)$$,
  '... would verify: a hash chain alone cannot catch a rewrite; checkpoints outside the database do');
SET LOCAL session_replication_role = replica;
DELETE FROM pgfolio.ledger WHERE portfolio_id = 'c3000000-0000-4000-8000-00000000000a';
RESET session_replication_role;
SELECT results_eq(
  $$SELECT entries_checked, ok, first_bad_seq, problem
    FROM pgfolio.ledger_verify('c3000000-0000-4000-8000-00000000000a')$$,
  $$VALUES (0::bigint, false, 1::bigint, 'checkpoint mismatch')$$,
  'a checkpointed portfolio whose entries are all gone is reported too');
SELECT is(pg_temp.error_of($$SELECT pgfolio.ledger_tree_head('c2000000-0000-4000-8000-00000000000a')$$)
          ->> 'sqlstate', 'PF409', 'a chain with a gap has no tree head (CONFLICT)');

SELECT * FROM finish();
ROLLBACK;
