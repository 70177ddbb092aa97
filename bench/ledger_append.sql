-- The ledger benchmark's append part (issue 4): a minimal mutation, paying funds into a
-- portfolio, with and without hashing, so that the difference is what hashing costs.
--
--   bench.ledger_add_funds(n, hashed): locks portfolio n (bench.ledger_portfolio_id), takes its
--     snapshot, adds 1 to its cash, takes the snapshot again and appends an ADD_FUNDS entry
--     with both snapshots, the amount and a message (so an activity line too), as a mutator of
--     a later feature would. hashed: through pgfolio.ledger_append; otherwise through
--     bench.ledger_append.
--   bench.ledger_append: pgfolio.ledger_append's own definition, read from the catalogue when
--     this file runs, with its one call of ledger_entry_hash(entry) replaced by a constant hash
--     of 32 zero bytes. Same name (its body qualifies parameters with the function's name),
--     arguments, settings, lock, head lookup, row, indexes and activity line: the only
--     difference is the canonical serialisation and SHA-256 of the entry.
-- Its entries do not verify, so the benchmark appends without hashing to other portfolios
-- than with hashing, and only after the verification timings.
-- Needs bench/ledger_data.sql.

DO $do$
DECLARE
  definition constant text := pg_get_functiondef('pgfolio.ledger_append'::regproc);
  hashing constant text := 'ledger_entry_hash(entry)';
  twin text;
BEGIN
  IF array_length(string_to_array(definition, hashing), 1) <> 2 THEN
    RAISE EXCEPTION 'pgfolio.ledger_append no longer calls % exactly once; update %', hashing,
      'bench/ledger_append.sql';
  END IF;
  twin := replace(definition, hashing, quote_literal(decode(repeat('00', 32), 'hex')::text) || '::bytea');
  twin := replace(twin, 'FUNCTION pgfolio.ledger_append(', 'FUNCTION bench.ledger_append(');
  IF twin NOT LIKE '%FUNCTION bench.ledger_append(%' THEN
    RAISE EXCEPTION 'could not rename pgfolio.ledger_append''s definition';
  END IF;
  EXECUTE twin;
END
$do$;

CREATE FUNCTION bench.ledger_add_funds(n integer, hashed boolean) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
  portfolio constant uuid := bench.ledger_portfolio_id(n);
  before jsonb;
  entry pgfolio.ledger;
BEGIN
  PERFORM 1 FROM pgfolio.portfolios p WHERE p.id = portfolio FOR NO KEY UPDATE;
  before := pgfolio.ledger_snapshot(portfolio);
  UPDATE pgfolio.portfolios p SET cash_balance = p.cash_balance + 1, updated_at = now()
  WHERE p.id = portfolio;
  IF hashed THEN
    entry := pgfolio.ledger_append(portfolio, 'ADD_FUNDS', before,
                                   pgfolio.ledger_snapshot(portfolio), amount => 1,
                                   message => 'Added ₹1');
  ELSE
    entry := bench.ledger_append(portfolio, 'ADD_FUNDS', before,
                                 pgfolio.ledger_snapshot(portfolio), amount => 1,
                                 message => 'Added ₹1');
  END IF;
  RETURN entry.seq;
END
$$;
