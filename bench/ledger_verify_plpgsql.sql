-- The ledger benchmark's baseline verifier (issue 4): docs/ledger-format.md §1–§2 implemented
-- in PL/pgSQL and SQL with pgcrypto's digest(), calling nothing of pgfolio's C++. Needs
-- pgcrypto in schema bench (CREATE EXTENSION pgcrypto SCHEMA bench). It is a third
-- independent reading of the format, and what pgfolio.ledger_verify() is measured against.
--
--   bench.ledger_verify_plpgsql(only_portfolio uuid DEFAULT NULL)
--     RETURNS TABLE (portfolio_id, entries_checked, ok, first_bad_seq, problem)
-- answers what pgfolio.ledger_verify() answers for chains without checkpoints: every chain in
-- seq order, the first entry that breaks it and why (gap, link mismatch, malformed entry, hash
-- mismatch, checked in that order as §2 says). bench/ledger_bench.py checks that both give the
-- same rows, on the benchmark's data and on tampered and awkward entries, before timing.
--
-- Canonical bytes are built as text (the database encoding is UTF-8, which the benchmark
-- checks) member by member in JCS order, which for the entry object's ASCII names is the
-- order of the table in §1:
--   strings   to_json(text)::text: PostgreSQL's escape_json writes \" \\ \b \f \n \r \t,
--             \u00xx in lowercase hex for the other controls and leaves everything else,
--             non-ASCII included, as it is: exactly RFC 8785's rule (the benchmark checks
--             every control character and a few others against pgfolio.canonical_json);
--   decimals  trim_scale(numeric)::text (numeric_out never writes an exponent; -0 cannot be
--             stored); NaN and infinities are malformed;
--   times     to_char(... AT TIME ZONE 'UTC'), years 0001–9999 only;
--   JSON      bench.jcs() below.
-- An entry the format cannot carry makes its canonical text NULL: the concatenation of the
-- members then is NULL, and the verifier reports 'malformed entry'.
--
-- Limits, none of which the benchmark's data reaches: checkpoints are not checked (the data has
-- none; ledger_verify also computes every chain's Merkle frontier, which this does not); keys
-- are sorted by UTF-8 bytes (COLLATE "C"), which is RFC 8785's UTF-16 order except for keys
-- holding both characters above U+FFFF and characters U+E000–U+FFFF; the entry type, boundary,
-- seq range, metadata being an object and hash lengths are left to the table's CHECK
-- constraints, which a superuser cannot bypass the way triggers can be.

-- RFC 8785 of a jsonb value; NULL when it holds a number other than an integer of magnitude
-- at most 2^53 (§1.4: such an entry is malformed). Members sorted by key at every depth,
-- arrays in order; jsonb's text of a string, true, false and null is already their JCS form.
-- Written with PL/pgSQL's simple expressions only: a query per object (jsonb_each with
-- string_agg, or the keys sorted by ORDER BY) made it three to four times slower.
CREATE FUNCTION bench.jcs(value jsonb) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
  keys jsonb;
  sorted text[] := '{}';
  key text;
  members integer;
  i integer;
  j integer;
  part text;
  result text;
BEGIN
  CASE jsonb_typeof(value)
    WHEN 'object' THEN
      -- jsonb keeps keys shortest first; JCS wants them by code units: an insertion sort.
      keys := jsonb_path_query_array(value, '$.keyvalue().key');
      members := jsonb_array_length(keys);
      FOR i IN 0 .. members - 1 LOOP
        key := keys ->> i;
        j := i;
        WHILE j > 0 AND sorted[j] COLLATE "C" > key LOOP
          sorted[j + 1] := sorted[j];
          j := j - 1;
        END LOOP;
        sorted[j + 1] := key;
      END LOOP;
      result := '{';
      FOR i IN 1 .. members LOOP
        part := bench.jcs(value -> sorted[i]);
        IF part IS NULL THEN
          RETURN NULL;
        END IF;
        result := result || CASE WHEN i > 1 THEN ',' ELSE '' END || to_json(sorted[i])::text
                  || ':' || part;
      END LOOP;
      RETURN result || '}';
    WHEN 'array' THEN
      result := '[';
      FOR i IN 0 .. jsonb_array_length(value) - 1 LOOP
        part := bench.jcs(value -> i);
        IF part IS NULL THEN
          RETURN NULL;
        END IF;
        result := result || CASE WHEN i > 0 THEN ',' ELSE '' END || part;
      END LOOP;
      RETURN result || ']';
    WHEN 'number' THEN
      IF value::text !~ '^-?[0-9]{1,16}$' THEN
        RETURN NULL;
      END IF;
      IF abs(value::text::bigint) > 9007199254740992 THEN
        RETURN NULL;
      END IF;
      RETURN value::text;
    ELSE
      RETURN value::text;
  END CASE;
END
$$;

-- §1.1: a decimal member, or NULL (malformed) for NaN and infinities.
CREATE FUNCTION bench.jcs_decimal(value numeric) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN value IS NULL THEN 'null'
              WHEN value IN ('NaN', 'Infinity', '-Infinity') THEN NULL
              ELSE '"' || trim_scale(value)::text || '"' END
$$;

-- The canonical bytes of an entry (§1), as text; NULL when the entry is malformed.
CREATE FUNCTION bench.ledger_canonical_text(entry pgfolio.ledger) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT '{"amount":' || bench.jcs_decimal(entry.amount)
    || ',"assetId":' || coalesce(to_json(entry.asset_id)::text, 'null')
    || ',"boundary":' || coalesce(to_json(entry.boundary)::text, 'null')
    || ',"createdAt":"'
    || CASE WHEN entry.created_at >= '0001-01-01 00:00:00+00'
                 AND entry.created_at < '10000-01-01 00:00:00+00'
            THEN to_char(entry.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END
    || '","entryType":' || to_json(entry.entry_type)::text
    || ',"format":"pgfolio-ledger-entry/1","loanId":'
    || coalesce('"' || entry.loan_id::text || '"', 'null')
    || ',"message":' || coalesce(to_json(entry.message)::text, 'null')
    || ',"metadata":' || bench.jcs(entry.metadata)
    || ',"portfolioId":"' || entry.portfolio_id::text
    || '","prevHash":"' || encode(entry.prev_hash, 'hex')
    || '","protectionId":' || coalesce('"' || entry.protection_id::text || '"', 'null')
    || ',"quantity":' || bench.jcs_decimal(entry.quantity)
    || ',"seq":' || entry.seq::text
    || ',"snapshotAfter":'
    || CASE WHEN entry.snapshot_after IS NULL THEN 'null' ELSE bench.jcs(entry.snapshot_after) END
    || ',"snapshotBefore":'
    || CASE WHEN entry.snapshot_before IS NULL THEN 'null' ELSE bench.jcs(entry.snapshot_before) END
    || '}'
$$;

-- §2 over every chain (or one): gap, link, malformed, hash, in that order; the first failing
-- entry of a chain is reported and the rest of that chain skipped.
CREATE FUNCTION bench.ledger_verify_plpgsql(only_portfolio uuid DEFAULT NULL)
RETURNS TABLE (portfolio_id uuid, entries_checked bigint, ok boolean, first_bad_seq bigint,
               problem text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  genesis constant bytea := decode(repeat('00', 32), 'hex');
  entry pgfolio.ledger;
  current_id uuid;
  head bytea;
  computed bytea;
BEGIN
  FOR entry IN EXECUTE
    'SELECT * FROM pgfolio.ledger l'
    || CASE WHEN only_portfolio IS NULL THEN '' ELSE ' WHERE l.portfolio_id = $1' END
    || ' ORDER BY l.portfolio_id, l.seq' USING only_portfolio
  LOOP
    IF current_id IS DISTINCT FROM entry.portfolio_id THEN
      IF current_id IS NOT NULL THEN
        RETURN NEXT;
      END IF;
      current_id := entry.portfolio_id;
      portfolio_id := entry.portfolio_id;
      entries_checked := 0;
      ok := true;
      first_bad_seq := NULL;
      problem := NULL;
      head := genesis;
    END IF;
    CONTINUE WHEN NOT ok;
    IF entry.seq <> entries_checked + 1 THEN
      problem := 'gap';
    ELSIF entry.prev_hash <> head THEN
      problem := 'link mismatch';
    ELSE
      computed := bench.digest(bench.ledger_canonical_text(entry), 'sha256');
      IF computed IS NULL THEN
        problem := 'malformed entry';
      ELSIF computed <> entry.entry_hash THEN
        problem := 'hash mismatch';
      ELSE
        entries_checked := entries_checked + 1;
        head := entry.entry_hash;
        CONTINUE;
      END IF;
    END IF;
    ok := false;
    first_bad_seq := entries_checked + 1;
  END LOOP;
  IF current_id IS NOT NULL THEN
    RETURN NEXT;
  END IF;
END
$$;
