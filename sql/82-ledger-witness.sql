-- The ledger's witness (docs/witness.md): a task outside the database (in pgfolio-http) that
-- remembers each portfolio's Merkle tree head in its own file, checks every new head against
-- it with a consistency proof, signs the heads that extend what it saw and stores them back
-- here, and raises an alarm for one that does not. It connects as a member of pgfolio_witness,
-- which may call the functions below and nothing else; the signing key never reaches the
-- database.
DO $roles$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgfolio_witness') THEN
    CREATE ROLE pgfolio_witness NOLOGIN;
  END IF;
END
$roles$;
GRANT USAGE ON SCHEMA @extschema@ TO pgfolio_witness;

-- The current tree head of every portfolio that has ledger entries, a page at a time in
-- portfolio id order (after_portfolio: the last id of the previous page). All of them, not
-- only those that grew since the last checkpoint stored here: the witness compares each with
-- its own memory, and a history rewritten to its old length is caught only that way. A
-- ledger whose tree cannot be built (a gap in seq, which ledger_tree_head refuses with
-- CONFLICT) comes back with root_hash NULL, tree_size its highest seq and the reason in
-- problem, so that the witness alarms for that portfolio instead of failing the whole round.
CREATE FUNCTION ledger_witness_heads(after_portfolio uuid DEFAULT NULL,
                                     max_rows integer DEFAULT 100)
RETURNS TABLE (portfolio_id uuid, tree_size bigint, root_hash bytea, problem text)
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  p uuid;
BEGIN
  IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 1000 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'max_rows must be between 1 and 1000',
                        jsonb_build_object('field', 'max_rows'));
  END IF;
  FOR p IN
    SELECT po.id FROM portfolios po
    WHERE (after_portfolio IS NULL OR po.id > after_portfolio)
      AND EXISTS (SELECT 1 FROM ledger l WHERE l.portfolio_id = po.id)
    ORDER BY po.id
    LIMIT max_rows
  LOOP
    portfolio_id := p;
    problem := NULL;
    BEGIN
      -- As the owner (SECURITY DEFINER): row-level security does not hide any portfolio.
      SELECT h.tree_size, h.root_hash INTO tree_size, root_hash FROM ledger_tree_head(p) h;
    EXCEPTION WHEN SQLSTATE 'PF409' THEN
      SELECT max(l.seq) INTO tree_size FROM ledger l WHERE l.portfolio_id = p;
      root_hash := NULL;
      problem := SQLERRM;
    END;
    RETURN NEXT;
  END LOOP;
END
$$;

-- The consistency proof from the tree of a portfolio's first old_size entries to that of its
-- first new_size (RFC 6962 §2.1.2), as the owner sees the ledger.
CREATE FUNCTION ledger_witness_proof(portfolio_id uuid, old_size bigint, new_size bigint)
RETURNS bytea[]
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
  SELECT ledger_consistency_proof(portfolio_id, old_size, new_size)
$$;

-- Stores a checkpoint the witness signed (docs/ledger-format.md §3.2). True when stored, false
-- when this very checkpoint was stored already (the witness records again what it is not
-- sure reached the database, e.g. after a restart); CONFLICT when another checkpoint holds
-- that portfolio and size. The signature cannot be checked here (the database has no business
-- trusting a key it stores): readers check it against the published key. Nor is the root
-- compared with the ledger: a checkpoint that disagrees with the ledger is exactly what
-- ledger_verify() reports as 'checkpoint mismatch'.
CREATE FUNCTION ledger_checkpoint_record(portfolio_id uuid, tree_size bigint, root_hash bytea,
                                         signed_at timestamptz, key_id text, signature bytea)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  stored ledger_checkpoints;
BEGIN
  IF portfolio_id IS NULL OR NOT EXISTS (SELECT 1 FROM portfolios p
                                         WHERE p.id = ledger_checkpoint_record.portfolio_id) THEN
    PERFORM raise_error('NOT_FOUND', format('portfolio %s not found', portfolio_id),
                        jsonb_build_object('portfolioId', portfolio_id));
  END IF;
  IF tree_size IS NULL OR tree_size NOT BETWEEN 0 AND 9007199254740991 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'tree_size must be between 0 and 2^53 - 1',
                        jsonb_build_object('field', 'tree_size'));
  ELSIF root_hash IS NULL OR length(root_hash) <> 32 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'root_hash must be 32 bytes',
                        jsonb_build_object('field', 'root_hash'));
  ELSIF signed_at IS NULL OR NOT isfinite(signed_at) THEN
    PERFORM raise_error('VALIDATION_ERROR', 'signed_at must be a finite time',
                        jsonb_build_object('field', 'signed_at'));
  ELSIF key_id IS NULL OR key_id !~ '^[0-9a-f]{64}$' THEN
    PERFORM raise_error('VALIDATION_ERROR', 'key_id must be 64 lowercase hex digits',
                        jsonb_build_object('field', 'key_id'));
  ELSIF signature IS NULL OR length(signature) <> 64 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'signature must be 64 bytes',
                        jsonb_build_object('field', 'signature'));
  END IF;
  INSERT INTO ledger_checkpoints AS c (portfolio_id, tree_size, root_hash, signed_at, key_id,
                                       signature)
  VALUES (portfolio_id, tree_size, root_hash, signed_at, key_id, signature)
  ON CONFLICT ON CONSTRAINT ledger_checkpoints_pkey DO NOTHING;
  IF FOUND THEN
    RETURN true;
  END IF;
  SELECT * INTO stored FROM ledger_checkpoints c
  WHERE c.portfolio_id = ledger_checkpoint_record.portfolio_id
    AND c.tree_size = ledger_checkpoint_record.tree_size;
  IF stored.root_hash = root_hash AND stored.signed_at = signed_at AND stored.key_id = key_id
     AND stored.signature = signature THEN
    RETURN false;
  END IF;
  PERFORM raise_error('CONFLICT',
    format('portfolio %s already has another checkpoint at tree size %s', portfolio_id,
           tree_size),
    jsonb_build_object('portfolioId', portfolio_id, 'treeSize', tree_size,
                       'keyId', stored.key_id));
END
$$;

-- The witness found a head that does not extend what it saw (docs/witness.md, "Alarms"):
-- an audit entry naming the portfolio. The actor is no user (actor_id NULL, as for a failed
-- login with an unknown address); details say it was the witness and why, e.g. {"witness":
-- "<keyId>", "reason": "consistency proof fails", "witnessedSize": 5, "reportedSize": 7}.
CREATE FUNCTION ledger_witness_alarm(portfolio_id uuid, details jsonb) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  IF portfolio_id IS NULL THEN
    PERFORM raise_error('VALIDATION_ERROR', 'portfolio_id is required',
                        jsonb_build_object('field', 'portfolio_id'));
  END IF;
  IF details IS NULL OR jsonb_typeof(details) <> 'object' THEN
    PERFORM raise_error('VALIDATION_ERROR', 'details must be a JSON object',
                        jsonb_build_object('field', 'details'));
  END IF;
  -- No foreign key to check: the portfolio may be the very thing that went missing.
  PERFORM audit(NULL, 'ledger.witness_alarm', 'portfolio', portfolio_id::text,
                '{}'::jsonb, details);
END
$$;

-- A checkpoint as docs/ledger-format.md §3.2 writes it (the witness's file, the API,
-- pgfolio-verify's input). jsonb reorders members, which is fine: the signature covers the
-- JCS of the signed members, which any reader recomputes.
CREATE FUNCTION ledger_checkpoint_json(c ledger_checkpoints) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT jsonb_build_object(
    'format', 'pgfolio-checkpoint/1',
    'portfolioId', c.portfolio_id,
    'treeSize', c.tree_size,
    'rootHash', encode(c.root_hash, 'hex'),
    'signedAt', @extschema@.ledger_time_text(c.signed_at),
    'keyId', c.key_id,
    'signature', encode(c.signature, 'hex'))
$$;

-- GET /api/v1/ledger/checkpoints/latest: the latest (largest) checkpoint of one of the acting
-- user's portfolios; without portfolio_id, of their default portfolio. NOT_FOUND for a
-- portfolio that is not theirs (as for one that does not exist) and for one the witness has
-- not signed yet.
CREATE FUNCTION ledger_checkpoint_latest(portfolio_id uuid DEFAULT NULL) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users := acting_user();
  p uuid;
  c ledger_checkpoints;
BEGIN
  IF portfolio_id IS NULL THEN
    SELECT po.id INTO p FROM portfolios po WHERE po.owner_id = u.id AND po.is_default;
    IF p IS NULL THEN
      PERFORM raise_error('NOT_FOUND', 'you have no default portfolio: name one with portfolioId',
                          jsonb_build_object('parameter', 'portfolioId'));
    END IF;
  ELSE
    SELECT po.id INTO p FROM portfolios po
    WHERE po.id = ledger_checkpoint_latest.portfolio_id AND po.owner_id = u.id;
    IF p IS NULL THEN
      PERFORM raise_error('NOT_FOUND', format('portfolio %s not found', portfolio_id),
                          jsonb_build_object('portfolioId', portfolio_id));
    END IF;
  END IF;
  SELECT * INTO c FROM ledger_checkpoints lc
  WHERE lc.portfolio_id = p ORDER BY lc.tree_size DESC LIMIT 1;
  IF NOT FOUND THEN
    PERFORM raise_error('NOT_FOUND', format('portfolio %s has no signed checkpoint yet', p),
                        jsonb_build_object('portfolioId', p));
  END IF;
  RETURN ledger_checkpoint_json(c);
END
$$;

GRANT EXECUTE ON FUNCTION ledger_witness_heads(uuid, integer),
  ledger_witness_proof(uuid, bigint, bigint),
  ledger_checkpoint_record(uuid, bigint, bytea, timestamptz, text, bytea),
  ledger_witness_alarm(uuid, jsonb)
  TO pgfolio_witness;
GRANT EXECUTE ON FUNCTION ledger_checkpoint_latest(uuid) TO pgfolio_api;
GRANT EXECUTE ON FUNCTION ledger_checkpoint_json(ledger_checkpoints)
  TO pgfolio_api, pgfolio_analyst, pgfolio_admin;
