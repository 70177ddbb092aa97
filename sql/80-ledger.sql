-- The tamper-evident ledger (docs/ledger.md; its byte format in docs/ledger-format.md): one
-- hash chain per portfolio, appended to by ledger_append() in the transaction of every change
-- of the portfolio's state, never changed afterwards; Merkle checkpoints signed by a witness
-- outside the database; the activity feed that shows the same changes in a few words.

-- The kinds of entries. A later feature adds its own with an INSERT here; the entry format
-- needs no change (docs/ledger-format.md §1).
CREATE TABLE ledger_entry_types (
  code        text PRIMARY KEY CHECK (code ~ '^[A-Z][A-Z0-9_]{0,63}$'),
  description text NOT NULL,
  -- Inserted by the extension script, so left out of dumps (sql/90-dump.sql).
  builtin     boolean NOT NULL DEFAULT false
);
INSERT INTO ledger_entry_types (code, description, builtin)
SELECT code, description, true FROM (VALUES
  ('PORTFOLIO_CREATED', 'The portfolio was opened'),
  ('ADD_FUNDS', 'Cash paid in'),
  ('WITHDRAW_FUNDS', 'Cash paid out'),
  ('TRADE_BUY', 'An asset bought'),
  ('TRADE_SELL', 'An asset sold'),
  ('REBALANCE', 'Holdings moved toward the target allocation'),
  ('PROTECTION_PURCHASE', 'Downside protection bought'),
  ('PROTECTION_CANCEL', 'Downside protection cancelled'),
  ('PROTECTION_EXPIRE', 'Downside protection expired'),
  ('PROTECTION_PAYOUT', 'Downside protection paid out'),
  ('LOAN_CREATE', 'A loan taken against holdings'),
  ('LOAN_REPAY', 'A loan repaid'),
  ('LOAN_LIQUIDATE', 'Collateral sold to settle a loan')) builtin_types (code, description);

-- Columns map one to one onto the members of the entry object (docs/ledger-format.md §1):
-- ledger_entry_hash(entry) reads them by name. No personal data goes in: erasing an account
-- must leave every chain intact. asset_id has no foreign key, on purpose: a renamed asset
-- must not rewrite history.
CREATE TABLE ledger (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  portfolio_id    uuid NOT NULL REFERENCES portfolios,
  seq             bigint NOT NULL CHECK (seq BETWEEN 1 AND 9007199254740991),
  entry_type      text NOT NULL REFERENCES ledger_entry_types,
  asset_id        text,
  quantity        numeric,
  amount          numeric,
  boundary        text CHECK (boundary IN ('SAFE', 'DRIFT', 'STRUCTURAL', 'STRESS')),
  loan_id         uuid,
  protection_id   uuid,
  message         text CHECK (length(message) <= 500),
  metadata        jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(metadata) = 'object'),
  snapshot_before jsonb CHECK (jsonb_typeof(snapshot_before) = 'object'),
  snapshot_after  jsonb CHECK (jsonb_typeof(snapshot_after) = 'object'),
  created_at      timestamptz NOT NULL,
  prev_hash       bytea NOT NULL CHECK (length(prev_hash) = 32),
  entry_hash      bytea NOT NULL CHECK (length(entry_hash) = 32),
  CONSTRAINT ledger_seq_unique UNIQUE (portfolio_id, seq)
);

-- Signed Merkle checkpoints (docs/ledger-format.md §3.2), written by the witness
-- (sql/82-ledger-witness.sql). ledger_verify() checks the chain against every one of them.
CREATE TABLE ledger_checkpoints (
  portfolio_id uuid NOT NULL REFERENCES portfolios,
  tree_size    bigint NOT NULL CHECK (tree_size BETWEEN 0 AND 9007199254740991),
  root_hash    bytea NOT NULL CHECK (length(root_hash) = 32),
  signed_at    timestamptz NOT NULL,
  key_id       text NOT NULL CHECK (key_id ~ '^[0-9a-f]{64}$'),
  signature    bytea NOT NULL CHECK (length(signature) = 64),
  recorded_at  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (portfolio_id, tree_size)
);

-- The activity feed: a few words per change for the app's timeline, not evidence of anything
-- (the ledger is). Trimmed daily to each portfolio's last 50 lines (jobs/jobs.sql).
CREATE TABLE action_log (
  id           bigserial PRIMARY KEY,
  portfolio_id uuid NOT NULL REFERENCES portfolios,
  ledger_id    uuid REFERENCES ledger,
  message      text NOT NULL CHECK (length(message) BETWEEN 1 AND 500),
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX action_log_portfolio_idx ON action_log (portfolio_id, id DESC);

-- Append-only means refused, loudly: a rule that silently did nothing would let a caller
-- believe a change had been made.
CREATE FUNCTION ledger_refuse_change() RETURNS trigger
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  PERFORM raise_error('LEDGER_IMMUTABLE',
                      format('%s on %s is not allowed: the ledger is append-only', TG_OP,
                             TG_TABLE_NAME),
                      jsonb_build_object('operation', TG_OP, 'table', TG_TABLE_NAME));
  RETURN NULL;
END
$$;
CREATE TRIGGER ledger_no_update_or_delete BEFORE UPDATE OR DELETE ON ledger
  FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_no_truncate BEFORE TRUNCATE ON ledger
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_checkpoints_no_update_or_delete BEFORE UPDATE OR DELETE
  ON ledger_checkpoints FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ledger_checkpoints
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

-- Reading: owners their own portfolios' entries; analysts and administrators every entry.
-- Nobody but the extension's owner writes (the admin role's blanket grant of
-- sql/40-security.sql is taken back here).
ALTER TABLE ledger ENABLE ROW LEVEL SECURITY;
ALTER TABLE ledger_checkpoints ENABLE ROW LEVEL SECURITY;
ALTER TABLE action_log ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON ledger, ledger_checkpoints, action_log, ledger_entry_types FROM pgfolio_admin;
GRANT SELECT ON ledger, ledger_checkpoints, action_log, ledger_entry_types
  TO pgfolio_api, pgfolio_analyst, pgfolio_admin;
CREATE POLICY ledger_owner ON ledger FOR SELECT TO pgfolio_api
  USING (EXISTS (SELECT 1 FROM portfolios p
                 WHERE p.id = ledger.portfolio_id AND p.owner_id = (SELECT acting_user_id())));
CREATE POLICY ledger_checkpoints_owner ON ledger_checkpoints FOR SELECT TO pgfolio_api
  USING (EXISTS (SELECT 1 FROM portfolios p
                 WHERE p.id = ledger_checkpoints.portfolio_id
                   AND p.owner_id = (SELECT acting_user_id())));
CREATE POLICY action_log_owner ON action_log FOR SELECT TO pgfolio_api
  USING (EXISTS (SELECT 1 FROM portfolios p
                 WHERE p.id = action_log.portfolio_id AND p.owner_id = (SELECT acting_user_id())));
CREATE POLICY ledger_all ON ledger FOR SELECT TO pgfolio_analyst, pgfolio_admin USING (true);
CREATE POLICY ledger_checkpoints_all ON ledger_checkpoints FOR SELECT
  TO pgfolio_analyst, pgfolio_admin USING (true);
CREATE POLICY action_log_all ON action_log FOR SELECT TO pgfolio_analyst, pgfolio_admin
  USING (true);

-- Hashing and proofs, in C++ (extension/pg/ledger_functions.cpp over extension/core).
CREATE FUNCTION canonical_json(value jsonb) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'pgfolio_canonical_json';
COMMENT ON FUNCTION canonical_json(jsonb) IS
  'RFC 8785 (JCS) form of a JSON value: members sorted by UTF-16 code units, ECMAScript numbers';
CREATE FUNCTION ledger_canonical_bytes(entry ledger) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'pgfolio_ledger_canonical_bytes';
COMMENT ON FUNCTION ledger_canonical_bytes(ledger) IS
  'The canonical bytes (as UTF-8 text) whose SHA-256 is the entry''s hash (docs/ledger-format.md §1)';
CREATE FUNCTION ledger_entry_hash(entry ledger) RETURNS bytea
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'pgfolio_ledger_entry_hash';
COMMENT ON FUNCTION ledger_entry_hash(ledger) IS
  'Recomputes an entry''s hash from its fields; equal to entry_hash unless the row was altered';
CREATE FUNCTION ledger_export_line(entry ledger) RETURNS text
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'pgfolio_ledger_export_line';
COMMENT ON FUNCTION ledger_export_line(ledger) IS
  'One line of the JSON Lines export read by pgfolio-verify (docs/ledger-format.md §4)';
CREATE FUNCTION merkle_root(leaves bytea[]) RETURNS bytea
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'pgfolio_merkle_root';
COMMENT ON FUNCTION merkle_root(bytea[]) IS
  'RFC 6962 §2.1 Merkle Tree Hash over raw leaf inputs';
CREATE FUNCTION merkle_verify_inclusion(leaf bytea, leaf_index bigint, tree_size bigint,
                                        proof bytea[], root bytea) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'pgfolio_merkle_verify_inclusion';
COMMENT ON FUNCTION merkle_verify_inclusion(bytea, bigint, bigint, bytea[], bytea) IS
  'RFC 9162 §2.1.3.2: does the audit path prove raw leaf input `leaf` is leaf leaf_index (from 0) of the tree?';
CREATE FUNCTION merkle_verify_consistency(old_size bigint, new_size bigint, old_root bytea,
                                          new_root bytea, proof bytea[]) RETURNS boolean
  LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'pgfolio_merkle_verify_consistency';
COMMENT ON FUNCTION merkle_verify_consistency(bigint, bigint, bytea, bytea, bytea[]) IS
  'RFC 9162 §2.1.4.2: does the proof show the new tree extends the old one?';
-- These read the ledger as the caller: row-level security decides which portfolios they see.
CREATE FUNCTION ledger_tree_head(portfolio_id uuid, at_size bigint DEFAULT NULL,
                                 OUT tree_size bigint, OUT root_hash bytea)
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pgfolio_ledger_tree_head';
COMMENT ON FUNCTION ledger_tree_head(uuid, bigint) IS
  'Size and Merkle root of a portfolio''s ledger (of its first at_size entries when given)';
CREATE FUNCTION ledger_inclusion_proof(portfolio_id uuid, seq bigint, tree_size bigint)
  RETURNS bytea[]
  LANGUAGE c STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'pgfolio_ledger_inclusion_proof';
COMMENT ON FUNCTION ledger_inclusion_proof(uuid, bigint, bigint) IS
  'RFC 6962 audit path of entry seq (leaf seq - 1) in the tree of the first tree_size entries';
CREATE FUNCTION ledger_consistency_proof(portfolio_id uuid, old_size bigint, new_size bigint)
  RETURNS bytea[]
  LANGUAGE c STABLE STRICT PARALLEL SAFE AS 'MODULE_PATHNAME', 'pgfolio_ledger_consistency_proof';
COMMENT ON FUNCTION ledger_consistency_proof(uuid, bigint, bigint) IS
  'RFC 6962 consistency proof between the trees of the first old_size and new_size entries';
CREATE FUNCTION ledger_verify(portfolio_id uuid DEFAULT NULL)
  RETURNS TABLE (portfolio_id uuid, entries_checked bigint, ok boolean, first_bad_seq bigint,
                 problem text)
  LANGUAGE c STABLE PARALLEL SAFE AS 'MODULE_PATHNAME', 'pgfolio_ledger_verify';
COMMENT ON FUNCTION ledger_verify(uuid) IS
  'Checks every visible chain (or one): seq gaps, links, hashes, and the roots of its checkpoints';

GRANT EXECUTE ON FUNCTION canonical_json(jsonb), ledger_canonical_bytes(ledger),
  ledger_entry_hash(ledger), ledger_export_line(ledger), merkle_root(bytea[]),
  merkle_verify_inclusion(bytea, bigint, bigint, bytea[], bytea),
  merkle_verify_consistency(bigint, bigint, bytea, bytea, bytea[]),
  ledger_tree_head(uuid, bigint), ledger_inclusion_proof(uuid, bigint, bigint),
  ledger_consistency_proof(uuid, bigint, bigint), ledger_verify(uuid)
  TO pgfolio_api, pgfolio_analyst, pgfolio_admin;

-- A time as the ledger writes it (docs/ledger-format.md §1.2): UTC, microseconds, Z.
CREATE FUNCTION ledger_time_text(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') $$;

-- A portfolio's state as entries record it (docs/ledger-format.md §1.4): cash and holdings,
-- amounts as canonical decimals (trim_scale drops the trailing zeros), holdings by asset.
CREATE FUNCTION ledger_snapshot(portfolio_id uuid) RETURNS jsonb
LANGUAGE sql STABLE SET search_path = @extschema@, pg_temp
AS $$
  SELECT jsonb_build_object(
    'cash', trim_scale(p.cash_balance)::text,
    'holdings', coalesce((
      SELECT jsonb_agg(jsonb_build_object('assetId', h.asset_id,
                                          'quantity', trim_scale(h.quantity)::text,
                                          'averageCost', trim_scale(h.average_cost)::text,
                                          'frozenQuantity', trim_scale(h.frozen_quantity)::text)
                       ORDER BY h.asset_id)
      FROM holdings h WHERE h.portfolio_id = p.id), '[]'))
  FROM portfolios p WHERE p.id = ledger_snapshot.portfolio_id
$$;

-- The one way into the ledger. Callers are the SECURITY DEFINER functions that change a
-- portfolio, in the same transaction as the change; no login role may execute it. It takes the
-- portfolio's row lock, FOR NO KEY UPDATE: the lock an UPDATE of the portfolio's cash takes
-- and every mutation holds (a caller that holds it or FOR UPDATE already just keeps it), and
-- one that, unlike FOR UPDATE, does not block other transactions' inserts of rows that refer
-- to the portfolio. Two appends to one portfolio are serialised, so the chain cannot fork,
-- while appends to different portfolios never wait for each other. The head is read under
-- that lock; seq, not created_at, orders the chain.
CREATE FUNCTION ledger_append(portfolio_id uuid, entry_type text, snapshot_before jsonb,
                              snapshot_after jsonb, asset_id text DEFAULT NULL,
                              quantity numeric DEFAULT NULL, amount numeric DEFAULT NULL,
                              boundary text DEFAULT NULL, loan_id uuid DEFAULT NULL,
                              protection_id uuid DEFAULT NULL, message text DEFAULT NULL,
                              metadata jsonb DEFAULT '{}')
RETURNS ledger
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  entry ledger;
  head record;
BEGIN
  PERFORM 1 FROM portfolios p WHERE p.id = ledger_append.portfolio_id FOR NO KEY UPDATE;
  IF NOT FOUND THEN
    PERFORM raise_error('NOT_FOUND', format('portfolio %s not found', ledger_append.portfolio_id),
                        jsonb_build_object('portfolioId', ledger_append.portfolio_id));
  END IF;
  IF ledger_append.message IS NOT NULL AND length(ledger_append.message) NOT BETWEEN 1 AND 500 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'an entry''s message must be 1 to 500 characters',
                        jsonb_build_object('field', 'message'));
  END IF;
  SELECT l.seq, l.entry_hash INTO head
  FROM ledger l WHERE l.portfolio_id = ledger_append.portfolio_id
  ORDER BY l.seq DESC LIMIT 1;

  entry.id := gen_random_uuid();
  entry.portfolio_id := ledger_append.portfolio_id;
  entry.seq := coalesce(head.seq, 0) + 1;
  entry.entry_type := ledger_append.entry_type;
  entry.asset_id := ledger_append.asset_id;
  entry.quantity := ledger_append.quantity;
  entry.amount := ledger_append.amount;
  entry.boundary := ledger_append.boundary;
  entry.loan_id := ledger_append.loan_id;
  entry.protection_id := ledger_append.protection_id;
  entry.message := ledger_append.message;
  entry.metadata := coalesce(ledger_append.metadata, '{}');
  entry.snapshot_before := ledger_append.snapshot_before;
  entry.snapshot_after := ledger_append.snapshot_after;
  entry.created_at := clock_timestamp();
  entry.prev_hash := coalesce(head.entry_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
  -- Refuses what the format cannot carry exactly (docs/ledger-format.md §1.4) before a row exists.
  entry.entry_hash := ledger_entry_hash(entry);
  INSERT INTO ledger SELECT entry.*;
  IF entry.message IS NOT NULL THEN
    INSERT INTO action_log (portfolio_id, ledger_id, message, created_at)
    VALUES (entry.portfolio_id, entry.id, entry.message, entry.created_at);
  END IF;
  RETURN entry;
END
$$;
