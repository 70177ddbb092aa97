-- History, export, proofs and the activity feed as their owner reads them (docs/http.md,
-- "History"): GET /api/v1/history, /history/{entryId}, /history/export,
-- /history/{entryId}/proof and /activity. Every function here runs as its caller
-- (SECURITY INVOKER): for pgfolio_api, row-level security shows the acting user's portfolios
-- and their entries only, and each function also names the acting user's portfolios
-- explicitly, so that a role that sees everything (analyst, admin) still gets one person's
-- history. Nothing here writes.

-- Newest-first pages walk each portfolio's entries by time; this index serves them (and the
-- from/to filters) without reading the entries before the page.
CREATE INDEX ledger_portfolio_created_idx ON ledger (portfolio_id, created_at, seq);

-- The acting user's id; UNAUTHORIZED without one (row-level security would show nothing,
-- which must not read as "no history").
CREATE FUNCTION ledger_reader_id() RETURNS uuid
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  uid uuid := acting_user_id();
BEGIN
  IF uid IS NULL THEN
    PERFORM raise_error('UNAUTHORIZED', 'no authenticated user: log in');
  END IF;
  RETURN uid;
END
$$;

-- portfolio_id when it is one of the acting user's portfolios; NOT_FOUND otherwise, the same
-- answer for someone else's portfolio as for one that does not exist.
CREATE FUNCTION history_own_portfolio(portfolio_id uuid) RETURNS uuid
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM portfolios p
                 WHERE p.id = history_own_portfolio.portfolio_id
                   AND p.owner_id = ledger_reader_id()) THEN
    PERFORM raise_error('NOT_FOUND', format('portfolio %s not found', portfolio_id),
                        jsonb_build_object('portfolioId', portfolio_id));
  END IF;
  RETURN portfolio_id;
END
$$;

-- An entry in a history page: what it did, not the state around it. Amounts and quantities
-- are canonical decimal strings (docs/ledger-format.md §1.1), as the entry's hash saw them.
CREATE FUNCTION history_item_json(l ledger) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
  SELECT jsonb_build_object(
    'id', l.id, 'portfolioId', l.portfolio_id, 'seq', l.seq, 'type', l.entry_type,
    'assetId', l.asset_id, 'quantity', trim_scale(l.quantity)::text,
    'amount', trim_scale(l.amount)::text, 'boundary', l.boundary, 'message', l.message,
    'createdAt', ledger_time_text(l.created_at), 'entryHash', encode(l.entry_hash, 'hex'))
$$;

-- One entry with everything it holds: the item, the state before and after, the metadata, the
-- related loan or protection, and both hashes of its link in the chain.
CREATE FUNCTION history_entry_json(l ledger) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
  SELECT history_item_json(l) || jsonb_build_object(
    'loanId', l.loan_id, 'protectionId', l.protection_id, 'metadata', l.metadata,
    'snapshotBefore', l.snapshot_before, 'snapshotAfter', l.snapshot_after,
    'prevHash', encode(l.prev_hash, 'hex'))
$$;

-- The acting user's entry entry_id; NOT_FOUND for an unknown id and for another user's entry
-- alike.
CREATE FUNCTION history_entry_row(entry_id uuid) RETURNS ledger
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  entry ledger;
BEGIN
  SELECT l.* INTO entry FROM ledger l JOIN portfolios p ON p.id = l.portfolio_id
  WHERE l.id = history_entry_row.entry_id AND p.owner_id = ledger_reader_id();
  IF NOT FOUND THEN
    PERFORM raise_error('NOT_FOUND', format('ledger entry %s not found', entry_id),
                        jsonb_build_object('entryId', entry_id));
  END IF;
  RETURN entry;
END
$$;

-- The from/to filters of GET /history: a date (YYYY-MM-DD, meaning 00:00 UTC that day) or an
-- RFC 3339 time with its offset (Z or ±hh:mm; a time without one would depend on the
-- session's time zone). Anything else, an impossible date included, is VALIDATION_ERROR
-- naming the parameter `field`.
CREATE FUNCTION history_time_param(value text, field text) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  IF value IS NULL THEN
    RETURN NULL;
  END IF;
  BEGIN
    IF value ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' THEN
      RETURN value::date::timestamp AT TIME ZONE 'UTC';
    ELSIF value ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?([Zz]|[+-][0-9]{2}:[0-9]{2})$'
    THEN
      RETURN value::timestamptz;
    END IF;
  EXCEPTION WHEN data_exception THEN
    NULL;  -- the form was right, the date impossible (2026-02-30, 25:00): refused below
  END;
  PERFORM raise_error('VALIDATION_ERROR',
    format('%s must be a date (YYYY-MM-DD, UTC) or a time with its offset '
           '(2026-11-22T04:19:02Z, 2026-11-22T09:49:02+05:30)', field),
    jsonb_build_object('field', field));
  RETURN NULL;
END
$$;

-- GET /api/v1/history: a page of the acting user's entries across their portfolios (or one),
-- newest first: {"items": [history_item_json], "nextCursor"}. The order is (createdAt,
-- portfolioId, seq), all descending: a total order, so pages neither repeat nor skip an entry
-- however many share a time. page_size: 1 to 100 (NULL: 20). cursor: the nextCursor of the
-- previous page, opaque (base64url of the last entry's time in microseconds, portfolio and
-- seq); nextCursor is NULL on the last page. entry_types: a comma-separated list of entry
-- types (any when NULL). from_time (inclusive) and to_time (exclusive): see
-- history_time_param. A portfolio_id that is not the caller's is NOT_FOUND. The caller's
-- parameter names are the ones the details name (pageSize, cursor, type, from, to).
CREATE FUNCTION history_list(page_size integer DEFAULT 20, cursor text DEFAULT NULL,
                             portfolio_id uuid DEFAULT NULL, entry_types text DEFAULT NULL,
                             from_time text DEFAULT NULL, to_time text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  uid uuid := ledger_reader_id();
  types text[];
  unknown text;
  from_at timestamptz := history_time_param(from_time, 'from');
  to_at timestamptz := history_time_param(to_time, 'to');
  parts text[];
  -- Before the first page: after everything (no entry has an infinite time).
  after_at timestamptz := 'infinity';
  after_portfolio uuid := 'ffffffff-ffff-ffff-ffff-ffffffffffff';
  after_seq bigint := 9007199254740992;
  page jsonb;
  last_at timestamptz;
  last_portfolio uuid;
  last_seq bigint;
  rows_read integer;
BEGIN
  page_size := coalesce(page_size, 20);
  IF page_size NOT BETWEEN 1 AND 100 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'pageSize must be between 1 and 100',
                        jsonb_build_object('field', 'pageSize'));
  END IF;
  IF entry_types IS NOT NULL THEN
    types := string_to_array(entry_types, ',');
    SELECT t INTO unknown FROM unnest(types) t
    WHERE NOT EXISTS (SELECT 1 FROM ledger_entry_types et WHERE et.code = t) LIMIT 1;
    IF FOUND THEN
      PERFORM raise_error('VALIDATION_ERROR',
                          format('type %L is not an entry type (see ledger_entry_types)', unknown),
                          jsonb_build_object('field', 'type'));
    END IF;
  END IF;
  IF from_at >= to_at THEN
    PERFORM raise_error('VALIDATION_ERROR', 'to must be later than from',
                        jsonb_build_object('field', 'to'));
  END IF;
  IF history_list.portfolio_id IS NOT NULL THEN
    PERFORM history_own_portfolio(history_list.portfolio_id);
  END IF;
  IF cursor IS NOT NULL THEN
    parts := page_cursor_decode(cursor,
      '-?[0-9]{1,18}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9]{1,16}');
    after_at := 'epoch'::timestamptz + parts[1]::bigint * interval '1 microsecond';
    after_portfolio := parts[2]::uuid;
    after_seq := parts[3]::bigint;
  END IF;

  -- Per portfolio, the page_size + 1 newest entries after the cursor, by index
  -- (ledger_portfolio_created_idx); then the newest of those across portfolios. Within one
  -- portfolio "after the cursor in (time, portfolio, seq) order" is a bound on (time, seq):
  -- the cursor's seq for the cursor's portfolio, every seq at the cursor's time for a portfolio
  -- that sorts before it (descending), none for one that sorts after it.
  WITH listed AS (
    SELECT e.entry, e.created_at, e.portfolio_id, e.seq,
           row_number() OVER (ORDER BY e.created_at DESC, e.portfolio_id DESC, e.seq DESC) AS n
    FROM portfolios p
    CROSS JOIN LATERAL (
      SELECT l AS entry, l.created_at, l.portfolio_id, l.seq
      FROM ledger l
      WHERE l.portfolio_id = p.id
        AND (types IS NULL OR l.entry_type = ANY (types))
        AND (from_at IS NULL OR l.created_at >= from_at)
        AND (to_at IS NULL OR l.created_at < to_at)
        AND (l.created_at, l.seq) < (after_at, CASE WHEN p.id = after_portfolio THEN after_seq
                                                    WHEN p.id < after_portfolio
                                                      THEN 9007199254740992
                                                    ELSE 1 END)
      ORDER BY l.created_at DESC, l.seq DESC
      LIMIT page_size + 1) e
    WHERE p.owner_id = uid
      AND (history_list.portfolio_id IS NULL OR p.id = history_list.portfolio_id)
    ORDER BY n
    LIMIT page_size + 1)
  SELECT coalesce(jsonb_agg(history_item_json(l.entry) ORDER BY l.n)
                    FILTER (WHERE l.n <= page_size), '[]'),
         min(l.created_at) FILTER (WHERE l.n = page_size),
         min(l.portfolio_id::text) FILTER (WHERE l.n = page_size),
         min(l.seq) FILTER (WHERE l.n = page_size),
         count(*)
  INTO page, last_at, last_portfolio, last_seq, rows_read
  FROM listed l;
  -- A further row means a further page, which starts after this page's last entry.
  RETURN jsonb_build_object(
    'items', page,
    'nextCursor', CASE WHEN rows_read > page_size THEN
      page_cursor_encode(ARRAY[(extract(epoch FROM last_at) * 1000000)::bigint::text,
                               last_portfolio::text, last_seq::text]) END);
END
$$;

-- GET /api/v1/history/{entryId}: one of the acting user's entries, whole.
CREATE FUNCTION history_entry(entry_id uuid) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = @extschema@, pg_temp
AS $$ SELECT history_entry_json(history_entry_row(entry_id)) $$;

-- The CSV export (RFC 4180): a field is quoted when it holds a comma, a quote, CR or LF
-- (quotes doubled inside); NULL is an empty field and the empty string is "", as PostgreSQL's
-- COPY ... CSV writes them, so the two stay apart.
CREATE FUNCTION csv_field(value text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN value IS NULL THEN ''
              WHEN value = '' OR value ~ '[",\r\n]' THEN '"' || replace(value, '"', '""') || '"'
              ELSE value END
$$;

-- The CSV export's header row, with its CRLF.
CREATE FUNCTION history_csv_header() RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT 'portfolio_id,seq,id,entry_type,created_at,asset_id,quantity,amount,boundary,loan_id,'
         'protection_id,message,prev_hash,entry_hash,snapshot_before,snapshot_after,metadata'
         || E'\r\n'
$$;

-- One entry as a CSV record with its CRLF, in the columns of history_csv_header(). Decimals
-- and times as in the entry's canonical bytes; snapshots and metadata as their canonical JSON
-- (RFC 8785) text.
CREATE FUNCTION history_csv_line(l ledger) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
  SELECT concat_ws(',',
    csv_field(l.portfolio_id::text), csv_field(l.seq::text), csv_field(l.id::text),
    csv_field(l.entry_type), csv_field(ledger_time_text(l.created_at)), csv_field(l.asset_id),
    csv_field(trim_scale(l.quantity)::text), csv_field(trim_scale(l.amount)::text),
    csv_field(l.boundary), csv_field(l.loan_id::text), csv_field(l.protection_id::text),
    csv_field(l.message), csv_field(encode(l.prev_hash, 'hex')),
    csv_field(encode(l.entry_hash, 'hex')), csv_field(canonical_json(l.snapshot_before)),
    csv_field(canonical_json(l.snapshot_after)), csv_field(canonical_json(l.metadata)))
  || E'\r\n'
$$;

-- GET /api/v1/history/export, first call: checks the request (export_format csv or jsonl; a
-- portfolio_id that is not the caller's is NOT_FOUND) and answers how the body is sent:
-- {"contentType", "filename", "prologue"}; the prologue (the CSV header row) comes before the
-- rows of history_export_lines, which pgfolio-http then streams (http/export_stream.cpp).
CREATE FUNCTION history_export_open(portfolio_id uuid DEFAULT NULL,
                                    export_format text DEFAULT 'csv')
RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  PERFORM ledger_reader_id();
  IF export_format IS NULL OR export_format NOT IN ('csv', 'jsonl') THEN
    PERFORM raise_error('VALIDATION_ERROR', 'format must be csv or jsonl',
                        jsonb_build_object('field', 'format'));
  END IF;
  IF history_export_open.portfolio_id IS NOT NULL THEN
    PERFORM history_own_portfolio(history_export_open.portfolio_id);
  END IF;
  RETURN jsonb_build_object(
    'contentType', CASE export_format WHEN 'csv' THEN 'text/csv; charset=utf-8'
                                      ELSE 'application/x-ndjson' END,
    'filename', format('pgfolio-history-%s-%s.%s',
                       coalesce(history_export_open.portfolio_id::text, 'all'),
                       to_char(now() AT TIME ZONE 'UTC', 'YYYYMMDD'), export_format),
    'prologue', CASE export_format WHEN 'csv' THEN history_csv_header() ELSE '' END);
END
$$;

-- GET /api/v1/history/export, the rows: every entry of the acting user's portfolios (or of
-- one), by portfolio id then seq, one text per entry with its line end — a CSV record
-- (history_csv_line) or, for jsonl, exactly ledger_export_line(entry), the input of
-- pgfolio-verify (docs/ledger-format.md §4). Nothing for a format other than those two
-- (history_export_open refuses it first). A plain SQL function without SET on purpose:
-- PostgreSQL inlines it into the cursor pgfolio-http reads it through, so rows flow from the
-- (portfolio_id, seq) index as they are fetched instead of being collected first; hence the
-- qualified names.
CREATE FUNCTION history_export_lines(portfolio_id uuid DEFAULT NULL,
                                     export_format text DEFAULT 'csv')
RETURNS SETOF text
LANGUAGE sql STABLE
AS $$
  SELECT CASE export_format WHEN 'jsonl' THEN @extschema@.ledger_export_line(l) || E'\n'
                            ELSE @extschema@.history_csv_line(l) END
  FROM @extschema@.ledger l
  WHERE export_format IN ('csv', 'jsonl')
    AND l.portfolio_id IN (
      SELECT p.id FROM @extschema@.portfolios p
      WHERE p.owner_id = (SELECT @extschema@.acting_user_id())
        AND (history_export_lines.portfolio_id IS NULL
             OR p.id = history_export_lines.portfolio_id))
  ORDER BY l.portfolio_id, l.seq
$$;

-- GET /api/v1/history/{entryId}/proof: the entry's inclusion proof (RFC 6962 audit path)
-- against the latest checkpoint the witness signed of its portfolio, with that checkpoint, so
-- that a client holding the witness's public key trusts nothing the database says: it checks
-- the signature, then that the proof leads from the entry's hash to the signed root. An entry
-- newer than the latest checkpoint (or of a portfolio with none yet) is CONFLICT: the witness
-- signs periodically, and a proof against an unsigned tree head would prove nothing against a
-- database that rewrote history. Answer: {entryId, portfolioId, seq, leafIndex, entryHash,
-- treeSize, rootHash, proof: [hex, nearest the leaf first], checkpoint}.
CREATE FUNCTION history_proof(entry_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  entry ledger := history_entry_row(entry_id);
  latest ledger_checkpoints;
BEGIN
  SELECT c.* INTO latest FROM ledger_checkpoints c
  WHERE c.portfolio_id = entry.portfolio_id ORDER BY c.tree_size DESC LIMIT 1;
  IF NOT FOUND OR latest.tree_size < entry.seq THEN
    PERFORM raise_error('CONFLICT',
      format('entry %s (seq %s) is not covered by a signed checkpoint yet (latest: %s); '
             'the witness signs periodically, retry later', entry.id, entry.seq,
             coalesce('tree size ' || latest.tree_size, 'none')),
      jsonb_build_object('entryId', entry.id, 'seq', entry.seq,
                         'checkpointTreeSize', latest.tree_size));
  END IF;
  RETURN jsonb_build_object(
    'entryId', entry.id, 'portfolioId', entry.portfolio_id, 'seq', entry.seq,
    'leafIndex', entry.seq - 1, 'entryHash', encode(entry.entry_hash, 'hex'),
    'treeSize', latest.tree_size, 'rootHash', encode(latest.root_hash, 'hex'),
    'proof', (SELECT coalesce(jsonb_agg(encode(h.node, 'hex') ORDER BY h.i), '[]')
              FROM unnest(ledger_inclusion_proof(entry.portfolio_id, entry.seq,
                                                 latest.tree_size))
                   WITH ORDINALITY AS h(node, i)),
    'checkpoint', ledger_checkpoint_json(latest));
END
$$;

-- How many lines of each portfolio's activity feed are kept and shown: GET /activity answers
-- the last this many, and the daily job trim-action-log (jobs/jobs.sql) deletes older ones.
CREATE FUNCTION activity_feed_length() RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT 50 $$;

-- GET /api/v1/activity: the newest activity_feed_length() lines of the acting user's
-- portfolios together (or of one), newest first: [{id, portfolioId, ledgerId, message,
-- createdAt}]. A portfolio_id that is not the caller's is NOT_FOUND.
CREATE FUNCTION activity_list(portfolio_id uuid DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  uid uuid := ledger_reader_id();
BEGIN
  IF activity_list.portfolio_id IS NOT NULL THEN
    PERFORM history_own_portfolio(activity_list.portfolio_id);
  END IF;
  RETURN (
    SELECT coalesce(jsonb_agg(jsonb_build_object(
             'id', a.id, 'portfolioId', a.portfolio_id, 'ledgerId', a.ledger_id,
             'message', a.message, 'createdAt', ledger_time_text(a.created_at))
             ORDER BY a.id DESC), '[]')
    FROM (SELECT a.*
          FROM portfolios p
          CROSS JOIN LATERAL (SELECT a.* FROM action_log a WHERE a.portfolio_id = p.id
                              ORDER BY a.id DESC LIMIT activity_feed_length()) a
          WHERE p.owner_id = uid
            AND (activity_list.portfolio_id IS NULL OR p.id = activity_list.portfolio_id)
          ORDER BY a.id DESC
          LIMIT activity_feed_length()) a);
END
$$;

-- The helpers run as the caller too, so pgfolio_api needs them as well.
GRANT EXECUTE ON FUNCTION ledger_reader_id(), history_own_portfolio(uuid),
  ledger_time_text(timestamptz), history_item_json(ledger), history_entry_json(ledger),
  history_entry_row(uuid), history_time_param(text, text),
  history_list(integer, text, uuid, text, text, text), history_entry(uuid), csv_field(text),
  history_csv_header(), history_csv_line(ledger), history_export_open(uuid, text),
  history_export_lines(uuid, text), history_proof(uuid), activity_feed_length(),
  activity_list(uuid)
  TO pgfolio_api;
