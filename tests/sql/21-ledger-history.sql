-- History, export, proofs and the activity feed (sql/84-history.sql; docs/http.md, "History"),
-- read the way pgfolio-http reads them: as pgfolio_api acting for a user, under row-level
-- security. Keyset pages that neither repeat nor skip an entry (entries sharing a time across
-- portfolios included), each filter and each refusal with the parameter it names, the export
-- rows in both formats, inclusion proofs that verify against a checkpoint, the feed and its
-- daily trim.
BEGIN;
SELECT plan(87);
\ir fixtures.psql

\set a '''a0000000-0000-4000-8000-00000000000a'''
\set b '''b0000000-0000-4000-8000-00000000000b'''
\set pa '''a1000000-0000-4000-8000-00000000000a'''
\set pa2 '''a2000000-0000-4000-8000-00000000000a'''
\set px '''a3000000-0000-4000-8000-00000000000a'''
\set py '''a4000000-0000-4000-8000-00000000000a'''
\set pb '''b1000000-0000-4000-8000-00000000000b'''
\set nobody '''00000000-0000-4000-8000-000000000099'''

-- ---------------------------------------------------------------- test data (as superuser)
INSERT INTO pgfolio.portfolios (id, owner_id, name) VALUES
  (:pa2, :a, 'A second'), (:px, :a, 'Tie X'), (:py, :a, 'Tie Y');
CREATE FUNCTION pg_temp.append(p uuid, entry_type text, amount numeric,
                               message text DEFAULT NULL) RETURNS pgfolio.ledger
LANGUAGE sql AS $$
  SELECT pgfolio.ledger_append(p, entry_type, pgfolio.ledger_snapshot(p),
                               pgfolio.ledger_snapshot(p), amount => amount, message => message)
$$;
-- A's two real portfolios, appended to in turn so that their entries interleave in time.
SELECT (pgfolio.ledger_append(:pa, 'ADD_FUNDS', pgfolio.ledger_snapshot(:pa),
                              pgfolio.ledger_snapshot(:pa), amount => 100.50,
                              message => 'Added, "100.50"',
                              metadata => '{"source": "test"}')).id AS e1 \gset
SELECT (pg_temp.append(:pa2, 'ADD_FUNDS', 10, 'A2 1')).id AS f1 \gset
SELECT (pgfolio.ledger_append(:pa, 'TRADE_BUY', pgfolio.ledger_snapshot(:pa),
                              pgfolio.ledger_snapshot(:pa), asset_id => 'T-INR',
                              quantity => 2.500, amount => 200.50, boundary => 'SAFE')).id AS e2 \gset
SELECT pg_temp.append(:pa2, 'WITHDRAW_FUNDS', 5, 'A2 2') \g /dev/null
SELECT pg_temp.append(:pa, 'WITHDRAW_FUNDS', 50, 'Withdrew 50') \g /dev/null
SELECT pg_temp.append(:pa2, 'ADD_FUNDS', 7, 'A2 3') \g /dev/null
SELECT pg_temp.append(:pa, 'ADD_FUNDS', 1, 'Added 1') \g /dev/null
SELECT (pg_temp.append(:pa, 'ADD_FUNDS', 2, 'Added 2')).id AS e5 \gset
-- X and Y: entries sharing one time exactly, across two portfolios (written directly: only
-- the listing reads them, not the chain), one just before it and one a day after.
INSERT INTO pgfolio.ledger (portfolio_id, seq, entry_type, amount, created_at, prev_hash,
                            entry_hash)
SELECT v.p, v.seq, 'ADD_FUNDS', v.seq, v.at::timestamptz, decode(repeat('00', 32), 'hex'),
       sha256(convert_to(v.p::text || v.seq, 'UTF8'))
FROM (VALUES (:px::uuid, 1, '2025-12-31T23:59:59.999999Z'), (:px, 2, '2026-01-01T00:00:00Z'),
             (:px, 3, '2026-01-01T00:00:00Z'), (:px, 4, '2026-01-01T00:00:00Z'),
             (:px, 5, '2026-01-02T00:00:00Z'), (:py, 1, '2026-01-01T00:00:00Z'),
             (:py, 2, '2026-01-01T00:00:00Z'), (:py, 3, '2026-01-01T00:00:00Z')) v(p, seq, at);
SELECT (pg_temp.append(:pb, 'ADD_FUNDS', 30, 'B 1')).id AS eb \gset
SELECT pg_temp.append(:pb, 'ADD_FUNDS', 31, 'B 2') \g /dev/null

-- The order every listing of A's must have, from the table itself.
CREATE TEMP TABLE a_order AS
SELECT l.id, l.portfolio_id, l.seq, l.entry_type, l.created_at,
       row_number() OVER (ORDER BY l.created_at DESC, l.portfolio_id DESC, l.seq DESC) AS n
FROM pgfolio.ledger l JOIN pgfolio.portfolios p ON p.id = l.portfolio_id
WHERE p.owner_id = :a;
GRANT SELECT ON a_order TO pgfolio_api;

-- All the pages of a listing: the ids in the order given, and how many pages it took.
CREATE FUNCTION pg_temp.walk(page_size integer, entry_types text DEFAULT NULL,
                             from_time text DEFAULT NULL, to_time text DEFAULT NULL,
                             portfolio uuid DEFAULT NULL, OUT ids uuid[], OUT pages integer)
LANGUAGE plpgsql AS $$
DECLARE
  page jsonb;
  next_cursor text;
BEGIN
  ids := '{}';
  pages := 0;
  LOOP
    page := pgfolio.history_list(page_size, next_cursor, portfolio, entry_types, from_time, to_time);
    pages := pages + 1;
    ids := ids || ARRAY(SELECT (i.item ->> 'id')::uuid
                        FROM jsonb_array_elements(page -> 'items') WITH ORDINALITY i(item, n)
                        ORDER BY i.n);
    next_cursor := page ->> 'nextCursor';
    EXIT WHEN next_cursor IS NULL OR pages > 100;
  END LOOP;
END
$$;
-- A cursor made by hand: base64url of text.
CREATE FUNCTION pg_temp.cursor_of(content text) RETURNS text
LANGUAGE sql AS $$
  SELECT translate(encode(convert_to(content, 'UTF8'), 'base64'), E'+/=\n', '-_')
$$;

-- ---------------------------------------------------------------- privileges and no user
SELECT is_empty($$
  SELECT f FROM unnest(ARRAY['pgfolio.history_list(integer,text,uuid,text,text,text)',
                             'pgfolio.history_entry(uuid)', 'pgfolio.history_export_open(uuid,text)',
                             'pgfolio.history_export_lines(uuid,text)', 'pgfolio.history_proof(uuid)',
                             'pgfolio.activity_list(uuid)']) f
  WHERE NOT has_function_privilege('pgfolio_api', f, 'EXECUTE')
     OR has_function_privilege('public', f, 'EXECUTE')$$,
  'pgfolio_api runs the history functions; PUBLIC does not');
SELECT is((SELECT prosecdef FROM pg_proc WHERE oid = 'pgfolio.history_list'::regproc), false,
  'they run as their caller (SECURITY INVOKER), under row-level security');
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of('SELECT pgfolio.ledger_reader_id()') ->> 'sqlstate', 'PF401',
  'without an authenticated user: UNAUTHORIZED');
SELECT is_empty(format(
  $$SELECT c FROM unnest(%L::text[]) c WHERE pg_temp.error_of(c) ->> 'sqlstate' IS DISTINCT FROM 'PF401'$$,
  ARRAY['SELECT pgfolio.history_list()', format('SELECT pgfolio.history_entry(%L)', :'e1'),
        'SELECT pgfolio.history_export_open()', format('SELECT pgfolio.history_proof(%L)', :'e1'),
        'SELECT pgfolio.activity_list()']),
  '... for every history function, not an empty answer');
SELECT is_empty($$SELECT * FROM pgfolio.history_export_lines(NULL, 'jsonl')$$,
  '... and the export rows read nothing');
RESET ROLE;

SELECT pg_temp.act_as(:a) \g /dev/null
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.ledger_reader_id(), :a::uuid, 'ledger_reader_id is the acting user');

-- ---------------------------------------------------------------- formats
SELECT is(pgfolio.ledger_time_text('2026-11-22 09:49:02.1234+05:30'),
          '2026-11-22T04:19:02.123400Z', 'times as the ledger writes them: UTC, microseconds, Z');
SELECT is(pgfolio.history_item_json(l),
          jsonb_build_object('id', l.id, 'portfolioId', :pa::uuid, 'seq', 2, 'type', 'TRADE_BUY',
                             'assetId', 'T-INR', 'quantity', '2.5', 'amount', '200.5',
                             'boundary', 'SAFE', 'message', NULL,
                             'createdAt', pgfolio.ledger_time_text(l.created_at),
                             'entryHash', encode(l.entry_hash, 'hex')),
          'an item: canonical decimal strings (2.500 is "2.5"), the hash in hex, no snapshots')
FROM pgfolio.ledger l WHERE l.id = :'e2';
SELECT is(pgfolio.history_entry_json(l) - ARRAY['id', 'portfolioId', 'seq', 'type', 'assetId',
                                                'quantity', 'amount', 'boundary', 'message',
                                                'createdAt', 'entryHash'],
          jsonb_build_object('loanId', NULL, 'protectionId', NULL,
                             'metadata', '{"source": "test"}'::jsonb,
                             'snapshotBefore', l.snapshot_before, 'snapshotAfter', l.snapshot_after,
                             'prevHash', repeat('0', 64)),
          'an entry adds snapshots, metadata, loan and protection, and the previous hash')
FROM pgfolio.ledger l WHERE l.id = :'e1';
SELECT ok(pgfolio.history_entry_json(l) @> pgfolio.history_item_json(l),
          '... to everything of the item')
FROM pgfolio.ledger l WHERE l.id = :'e5';

-- ---------------------------------------------------------------- one entry
SELECT is(pgfolio.history_entry(:'e5'),
          (SELECT pgfolio.history_entry_json(l) FROM pgfolio.ledger l WHERE l.id = :'e5'),
          'history_entry answers one of the caller''s entries whole');
SELECT is((pgfolio.history_entry_row(:'e5')).id, :'e5'::uuid, 'history_entry_row finds it');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.history_entry(%L)', :'eb')),
          jsonb_build_object('sqlstate', 'PF404',
                             'message', format('ledger entry %s not found', :'eb'),
                             'detail', jsonb_build_object('entryId', :'eb')::text),
          'another user''s entry is NOT_FOUND');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.history_entry(%L)', :nobody)),
          jsonb_build_object('sqlstate', 'PF404',
                             'message', format('ledger entry %s not found', :nobody),
                             'detail', jsonb_build_object('entryId', :nobody)::text),
          '... as is an unknown id, in the same words');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.history_entry_row(%L)', :'eb')) ->> 'sqlstate',
          'PF404', 'history_entry_row refuses another user''s entry too');

-- ---------------------------------------------------------------- pages
SELECT is((pg_temp.walk(3)).ids, (SELECT array_agg(id ORDER BY n) FROM a_order),
  'pages of 3 give every entry of the caller''s portfolios once, newest first (time, portfolio, seq)');
SELECT is((pg_temp.walk(3)).pages, 6, '... in 6 pages for 16 entries');
SELECT is((pg_temp.walk(4)).pages, 4,
  '16 entries in pages of 4: 4 pages, the 4th without a nextCursor (no empty 5th)');
SELECT is((pg_temp.walk(1)).ids, (SELECT array_agg(id ORDER BY n) FROM a_order),
  'pages of 1 walk through the entries that share a time in X and Y one by one, none twice');
SELECT is((pg_temp.walk(2, NULL, NULL, NULL, :py)).ids,
          (SELECT array_agg(id ORDER BY n) FROM a_order WHERE portfolio_id = :py),
  'portfolioId keeps one portfolio''s entries');
SELECT is(jsonb_array_length(pgfolio.history_list() -> 'items'), 16,
  'the page size is 20 when not given');
SELECT is(jsonb_array_length(pgfolio.history_list(NULL) -> 'items'), 16, '... or NULL');
SELECT is(pgfolio.history_list(100) -> 'nextCursor', 'null'::jsonb,
  'a page holding the rest has a null nextCursor');
SELECT is(pgfolio.history_list(2) -> 'items' -> 0,
          (SELECT pgfolio.history_item_json(l) FROM pgfolio.ledger l
           WHERE l.id = (SELECT id FROM a_order WHERE n = 1)),
  'items are history_item_json of the entries');
SELECT ok(pgfolio.history_list(2) ->> 'nextCursor' ~ '^[A-Za-z0-9_-]+$',
  'nextCursor is base64url text');

-- ---------------------------------------------------------------- filters
SELECT is((pg_temp.walk(2, 'WITHDRAW_FUNDS')).ids,
          (SELECT array_agg(id ORDER BY n) FROM a_order WHERE entry_type = 'WITHDRAW_FUNDS'),
  'type keeps the entries of that type');
SELECT is((pg_temp.walk(2, 'TRADE_BUY,WITHDRAW_FUNDS')).ids,
          (SELECT array_agg(id ORDER BY n) FROM a_order
           WHERE entry_type IN ('TRADE_BUY', 'WITHDRAW_FUNDS')),
  '... a comma-separated list, of any of them');
SELECT is((pg_temp.walk(4, NULL, '2026-01-01', '2026-01-02')).ids,
          (SELECT array_agg(id ORDER BY n) FROM a_order
           WHERE created_at >= '2026-01-01T00:00:00Z' AND created_at < '2026-01-02T00:00:00Z'),
  'from (inclusive) and to (exclusive) as dates: 00:00 UTC');
SELECT is(cardinality((pg_temp.walk(4, NULL, '2026-01-01', '2026-01-02')).ids), 6,
  '... which here are the 6 entries at 2026-01-01T00:00:00Z, not the ones just before or at to');
SELECT is((pg_temp.walk(4, NULL, '2026-01-01T05:30:00+05:30', '2026-01-02T00:00:00Z')).ids,
          (pg_temp.walk(4, NULL, '2026-01-01', '2026-01-02')).ids,
  'times with an offset or Z mean the same instants');
SELECT is((pg_temp.walk(4, NULL, '2025-12-31T23:59:59.999999Z', '2026-01-01T00:00:00.000001Z')).ids,
          (SELECT array_agg(id ORDER BY n) FROM a_order
           WHERE created_at BETWEEN '2025-12-31T23:59:59.999999Z' AND '2026-01-01T00:00:00Z'),
  '... to the microsecond');
SELECT is((pg_temp.walk(5, 'ADD_FUNDS', '2026-01-01', NULL, :px)).ids,
          (SELECT array_agg(id ORDER BY n) FROM a_order
           WHERE portfolio_id = :px AND created_at >= '2026-01-01'),
  'filters combine');
SELECT is(pgfolio.history_time_param('2026-11-22', 'from'), '2026-11-22T00:00:00Z'::timestamptz,
  'history_time_param: a date is 00:00 UTC');
SELECT is(pgfolio.history_time_param('2026-11-22t10:00:00.5z', 'to'),
          '2026-11-22T10:00:00.5Z'::timestamptz, '... lowercase t and z are RFC 3339 too');
SELECT is(pgfolio.history_time_param(NULL, 'to'), NULL, '... and NULL is no bound');
SELECT is_empty($$
  SELECT v FROM unnest(ARRAY['2026-1-1', '2026-11-22T10:00:00', '2026-11-22 10:00:00Z',
                             '2026-02-30', '2026-11-22T25:00:00Z', 'yesterday', '', '0000-01-01',
                             '2026-11-22T10:00:00+0530']) v
  WHERE pg_temp.error_of(format('SELECT pgfolio.history_time_param(%L, ''from'')', v))
        IS DISTINCT FROM jsonb_build_object(
          'sqlstate', 'PF400',
          'message', 'from must be a date (YYYY-MM-DD, UTC) or a time with its offset '
                     '(2026-11-22T04:19:02Z, 2026-11-22T09:49:02+05:30)',
          'detail', '{"field": "from"}')$$,
  '... anything else, an impossible date or a time without its offset included, is refused naming the parameter');
SELECT is(pg_temp.error_of('SELECT pgfolio.history_list(20, NULL, NULL, NULL, NULL, ''soon'')') -> 'detail',
          to_jsonb('{"field": "to"}'::text), 'history_list names to for a bad to');
SELECT is(pg_temp.error_of('SELECT pgfolio.history_list(20, NULL, NULL, NULL, ''2026-01-02'', ''2026-01-01'')'),
          jsonb_build_object('sqlstate', 'PF400', 'message', 'to must be later than from',
                             'detail', '{"field": "to"}'),
  'to not after from is refused');
SELECT is(pg_temp.error_of('SELECT pgfolio.history_list(20, NULL, NULL, ''ADD_FUNDS,NO_SUCH'')'),
          jsonb_build_object('sqlstate', 'PF400',
                             'message', 'type ''NO_SUCH'' is not an entry type (see ledger_entry_types)',
                             'detail', '{"field": "type"}'),
  'an unknown entry type is refused naming it and the parameter');
SELECT is(pg_temp.error_of('SELECT pgfolio.history_list(20, NULL, NULL, ''ADD_FUNDS,,TRADE_BUY'')') ->> 'detail',
          '{"field": "type"}', '... as is an empty one in the list');
SELECT is(pg_temp.error_of('SELECT pgfolio.history_list(0)'),
          jsonb_build_object('sqlstate', 'PF400', 'message', 'pageSize must be between 1 and 100',
                             'detail', '{"field": "pageSize"}'),
  'pageSize 0 is refused');
SELECT is(pg_temp.error_of('SELECT pgfolio.history_list(101)') ->> 'detail', '{"field": "pageSize"}',
  '... and 101');
SELECT is_empty($$
  SELECT c FROM unnest(ARRAY['not a cursor!', 'djE6', pg_temp.cursor_of('v1:1:x:1'),
                             pg_temp.cursor_of('v1:99999999999999999999:a1000000-0000-4000-8000-00000000000a:1'),
                             pg_temp.cursor_of('v1:1:a1000000-0000-4000-8000-00000000000a:99999999999999999'),
                             pg_temp.cursor_of('v2:1:a1000000-0000-4000-8000-00000000000a:1'),
                             '____', repeat('A', 201)]) c
  WHERE pg_temp.error_of(format('SELECT pgfolio.history_list(20, %L)', c))
        IS DISTINCT FROM jsonb_build_object('sqlstate', 'PF400',
                                            'message', 'cursor is not a cursor this API gave out',
                                            'detail', '{"field": "cursor"}')$$,
  'a cursor the API did not give out is refused naming the parameter (bad base64, form, range)');
SELECT is(pgfolio.history_list(20, pg_temp.cursor_of(
            format('v1:%s:%s:%s', (extract(epoch FROM '2026-01-01T00:00:00Z'::timestamptz) * 1000000)::bigint,
                   :px, 3))) -> 'items',
          (SELECT jsonb_agg(pgfolio.history_item_json(l) ORDER BY o.n)
           FROM a_order o JOIN pgfolio.ledger l ON l.id = o.id
           WHERE o.n > (SELECT n FROM a_order WHERE portfolio_id = :px AND seq = 3)),
  'a well-formed cursor continues after the entry it names, ties at its time included');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.history_list(20, NULL, %L)', :pb)),
          jsonb_build_object('sqlstate', 'PF404', 'message', format('portfolio %s not found', :pb),
                             'detail', jsonb_build_object('portfolioId', :pb)::text),
  'another user''s portfolioId is NOT_FOUND');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.history_own_portfolio(%L)', :nobody)) ->> 'message',
          format('portfolio %s not found', :nobody), '... in the words of an unknown one');
SELECT is(pgfolio.history_own_portfolio(:pa2), :pa2::uuid, 'history_own_portfolio passes one''s own');

-- ---------------------------------------------------------------- export
SELECT is(pgfolio.csv_field(v), quoted, 'csv_field: ' || what)
FROM (VALUES (NULL, '', 'NULL is an empty field'), ('', '""', 'the empty string is ""'),
             ('plain', 'plain', 'plain text as it is'), ('a,b', '"a,b"', 'a comma is quoted'),
             ('say "hi"', '"say ""hi"""', 'a quote is quoted and doubled'),
             (E'two\nlines', E'"two\nlines"', 'a line feed is quoted'),
             (E'cr\r', E'"cr\r"', 'a carriage return is quoted')) t(v, quoted, what);
SELECT is(pgfolio.history_csv_header(),
          'portfolio_id,seq,id,entry_type,created_at,asset_id,quantity,amount,boundary,loan_id,'
          'protection_id,message,prev_hash,entry_hash,snapshot_before,snapshot_after,metadata'
          || E'\r\n', 'the CSV header row: 17 columns, CRLF');
SELECT is(pgfolio.history_csv_line(l),
          format('%s,1,%s,ADD_FUNDS,%s,,,100.5,,,,"Added, ""100.50""",%s,%s,"%s","%s","{""source"":""test""}"',
                 l.portfolio_id, l.id, pgfolio.ledger_time_text(l.created_at), repeat('0', 64),
                 encode(l.entry_hash, 'hex'),
                 replace(pgfolio.canonical_json(l.snapshot_before), '"', '""'),
                 replace(pgfolio.canonical_json(l.snapshot_after), '"', '""')) || E'\r\n',
          'a CSV record: RFC 4180 quoting, canonical decimals, times and JSON, NULLs empty')
FROM pgfolio.ledger l WHERE l.id = :'e1';
SELECT is(pgfolio.history_export_open() - 'filename',
          jsonb_build_object('contentType', 'text/csv; charset=utf-8',
                             'prologue', pgfolio.history_csv_header()),
  'the export opens as CSV by default, its header row the prologue');
SELECT is(pgfolio.history_export_open(:pa, 'jsonl'),
          jsonb_build_object('contentType', 'application/x-ndjson', 'prologue', '',
                             'filename', format('pgfolio-history-%s-%s.jsonl', :pa,
                                                to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'))),
  '... as JSON Lines with jsonl, named after the portfolio and the day');
SELECT ok(pgfolio.history_export_open() ->> 'filename' ~ '^pgfolio-history-all-[0-9]{8}\.csv$',
  '... and after all portfolios without one');
SELECT is(pg_temp.error_of('SELECT pgfolio.history_export_open(NULL, ''xml'')'),
          jsonb_build_object('sqlstate', 'PF400', 'message', 'format must be csv or jsonl',
                             'detail', '{"field": "format"}'),
  'another format is refused naming the parameter');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.history_export_open(%L)', :pb)) ->> 'sqlstate',
          'PF404', 'another user''s portfolio is NOT_FOUND');
SELECT is(ARRAY(SELECT * FROM pgfolio.history_export_lines(NULL, 'jsonl')),
          ARRAY(SELECT pgfolio.ledger_export_line(l) || E'\n' FROM pgfolio.ledger l
                JOIN pgfolio.portfolios p ON p.id = l.portfolio_id WHERE p.owner_id = :a
                ORDER BY l.portfolio_id, l.seq),
  'the jsonl rows are exactly ledger_export_line of every entry of the caller''s, by portfolio then seq');
-- Called in the select list, where it is not inlined, so that the statistics count the call.
SELECT is(ARRAY(SELECT pgfolio.history_export_lines(:pa2, 'csv')),
          ARRAY(SELECT pgfolio.history_csv_line(l) FROM pgfolio.ledger l
                WHERE l.portfolio_id = :pa2 ORDER BY l.seq),
  'the csv rows of one portfolio are its CSV records in seq order');
SELECT is_empty($$SELECT * FROM pgfolio.history_export_lines('b1000000-0000-4000-8000-00000000000b', 'jsonl')$$,
  'another user''s portfolio exports nothing');
SELECT is_empty($$SELECT * FROM pgfolio.history_export_lines(NULL, 'xml')$$,
  'nor does another format');

-- ---------------------------------------------------------------- proofs
SELECT is(pg_temp.error_of(format('SELECT pgfolio.history_proof(%L)', :'e2')),
          jsonb_build_object(
            'sqlstate', 'PF409',
            'message', format('entry %s (seq 2) is not covered by a signed checkpoint yet (latest: none); '
                              'the witness signs periodically, retry later', :'e2'),
            'detail', jsonb_build_object('entryId', :'e2', 'seq', 2,
                                         'checkpointTreeSize', NULL)::text),
  'no checkpoint yet: CONFLICT, saying so');
RESET ROLE;
INSERT INTO pgfolio.ledger_checkpoints (portfolio_id, tree_size, root_hash, signed_at, key_id,
                                        signature)
SELECT :pa, n, (pgfolio.ledger_tree_head(:pa, n)).root_hash, '2026-11-22T04:19:02.1234Z',
       repeat('ab', 32), decode(repeat('cd', 64), 'hex')
FROM (VALUES (1), (3)) v(n);
SET LOCAL ROLE pgfolio_api;
SELECT pgfolio.history_proof(:'e2') AS proof \gset
SELECT is(:'proof'::jsonb - ARRAY['proof', 'checkpoint'],
          jsonb_build_object('entryId', :'e2', 'portfolioId', :pa, 'seq', 2, 'leafIndex', 1,
                             'entryHash', (SELECT encode(entry_hash, 'hex') FROM pgfolio.ledger
                                           WHERE id = :'e2'),
                             'treeSize', 3,
                             'rootHash', encode((pgfolio.ledger_tree_head(:pa, 3)).root_hash, 'hex')),
  'a proof against the latest checkpoint (size 3, not 1): entry, leaf index seq - 1, size and root');
SELECT is(:'proof'::jsonb -> 'checkpoint',
          (SELECT pgfolio.ledger_checkpoint_json(c) FROM pgfolio.ledger_checkpoints c
           WHERE c.portfolio_id = :pa AND c.tree_size = 3),
  '... with that signed checkpoint as ledger_checkpoint_json writes it');
SELECT ok(pgfolio.merkle_verify_inclusion(
            (SELECT entry_hash FROM pgfolio.ledger WHERE id = :'e2'), 1, 3,
            ARRAY(SELECT decode(h, 'hex') FROM jsonb_array_elements_text(:'proof'::jsonb -> 'proof')
                  WITH ORDINALITY p(h, n) ORDER BY n),
            (SELECT root_hash FROM pgfolio.ledger_checkpoints WHERE portfolio_id = :pa AND tree_size = 3)),
  '... and the audit path verifies (RFC 9162 §2.1.3.2) from the entry''s hash to the signed root');
SELECT ok(NOT pgfolio.merkle_verify_inclusion(
            (SELECT entry_hash FROM pgfolio.ledger WHERE id = :'e2'), 1, 3,
            ARRAY(SELECT CASE WHEN n = 1 THEN set_byte(decode(h, 'hex'), 0,
                                                       get_byte(decode(h, 'hex'), 0) # 1)
                              ELSE decode(h, 'hex') END
                  FROM jsonb_array_elements_text(:'proof'::jsonb -> 'proof') WITH ORDINALITY p(h, n)
                  ORDER BY n),
            (SELECT root_hash FROM pgfolio.ledger_checkpoints WHERE portfolio_id = :pa AND tree_size = 3)),
  '... while an altered path does not');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.history_proof(%L)', :'e5')) -> 'detail',
          to_jsonb(jsonb_build_object('entryId', :'e5', 'seq', 5, 'checkpointTreeSize', 3)::text),
  'an entry newer than the latest checkpoint is CONFLICT, naming the checkpoint''s size');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.history_proof(%L)', :'eb')) ->> 'sqlstate', 'PF404',
  'another user''s entry has no proof for the caller: NOT_FOUND');

-- ---------------------------------------------------------------- activity
SELECT is(pgfolio.activity_feed_length(), 50, 'the feed keeps and shows 50 lines');
RESET ROLE;
-- 60 more lines on A's main portfolio and 3 on the second, newer than all before.
INSERT INTO pgfolio.action_log (portfolio_id, message)
SELECT :pa, 'Line ' || n FROM generate_series(1, 60) n;
INSERT INTO pgfolio.action_log (portfolio_id, message)
SELECT :pa2, 'Second ' || n FROM generate_series(1, 3) n;
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.activity_list(),
          (SELECT jsonb_agg(jsonb_build_object('id', a.id, 'portfolioId', a.portfolio_id,
                                               'ledgerId', a.ledger_id, 'message', a.message,
                                               'createdAt', pgfolio.ledger_time_text(a.created_at))
                            ORDER BY a.id DESC)
           FROM (SELECT * FROM pgfolio.action_log
                 WHERE portfolio_id IN (:pa, :pa2, :px, :py) ORDER BY id DESC LIMIT 50) a),
  'activity: the newest 50 lines of the caller''s portfolios together, newest first');
SELECT is((SELECT array_agg(DISTINCT x ->> 'portfolioId' ORDER BY x ->> 'portfolioId')
           FROM jsonb_array_elements(pgfolio.activity_list()) x),
          ARRAY[:pa, :pa2], '... from both portfolios');
SELECT is((SELECT array_agg(x ->> 'message' ORDER BY n) FROM jsonb_array_elements(
             pgfolio.activity_list(:pa2)) WITH ORDINALITY t(x, n)),
          ARRAY['Second 3', 'Second 2', 'Second 1', 'A2 3', 'A2 2', 'A2 1'],
  'portfolioId keeps one portfolio''s lines; ledger_append wrote the messages of entries');
SELECT is(pgfolio.activity_list(:px), '[]'::jsonb, 'a portfolio without lines has an empty feed');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.activity_list(%L)', :pb)) ->> 'sqlstate', 'PF404',
  'another user''s portfolio is NOT_FOUND');

-- ---------------------------------------------------------------- B sees none of it
RESET ROLE;
SELECT pg_temp.act_as(:b) \g /dev/null
SET LOCAL ROLE pgfolio_api;
SELECT is((SELECT array_agg(i ->> 'id') FROM jsonb_array_elements(pgfolio.history_list(100) -> 'items') i),
          ARRAY(SELECT id::text FROM pgfolio.ledger WHERE portfolio_id = :pb ORDER BY seq DESC),
  'B''s history holds B''s entries only');
SELECT is((SELECT count(*) FROM pgfolio.history_export_lines(NULL, 'jsonl')), 2::bigint,
  '... and so does B''s export');
SELECT is((SELECT array_agg(x ->> 'message') FROM jsonb_array_elements(pgfolio.activity_list()) x),
          ARRAY['B 2', 'B 1'], '... and B''s activity');

-- ---------------------------------------------------------------- the daily trim
RESET ROLE;
SELECT ok((SELECT count(*) FROM pgfolio.action_log WHERE portfolio_id = :pa) > 50,
  'before the trim, A''s main portfolio has more than 50 lines');
CREATE TEMP TABLE kept AS
SELECT portfolio_id, id FROM (
  SELECT a.portfolio_id, a.id,
         row_number() OVER (PARTITION BY a.portfolio_id ORDER BY a.id DESC) AS n
  FROM pgfolio.action_log a) r WHERE n <= 50;
SELECT (SELECT count(*) FROM pgfolio.action_log) - (SELECT count(*) FROM kept) AS excess \gset
SELECT is(pgfolio.run_job('trim-action-log'), :excess::bigint,
  'trim-action-log deletes every line beyond the newest 50 of each portfolio, and says how many');
SELECT set_eq($$SELECT portfolio_id, id FROM pgfolio.action_log$$, $$SELECT * FROM kept$$,
  '... keeping exactly the newest 50 of each');
SELECT is((SELECT count(*) FROM pgfolio.action_log WHERE portfolio_id = :pa), 50::bigint,
  '... so A''s main portfolio has 50 left');
SELECT results_eq(
  $$SELECT job, error, rows_affected FROM pgfolio.job_runs ORDER BY id DESC LIMIT 1$$,
  format($$VALUES ('trim-action-log', NULL::text, %s::bigint)$$, :excess),
  '... and its run is logged in job_runs');
SELECT is(pgfolio.run_job('trim-action-log'), 0::bigint, 'run again, it has nothing to do');

SELECT * FROM finish();
ROLLBACK;
