-- Ledger benchmark data (issue 4): :ledger_portfolios portfolios (default 1000) with
-- :ledger_entries entries each (default 1000), written straight into pgfolio.ledger with
-- valid hash chains, so that ledger_verify() has a million real entries to check.
--
-- Appending them one by one through ledger_append() would take most of the benchmark's time,
-- so the rows are generated set-based: first their content (a temporary table, fixed random
-- seed), then each chain in one recursive query that walks all portfolios a step at a time,
-- hashing each entry with pgfolio.ledger_entry_hash() and handing its hash (and its
-- snapshotAfter, the next entry's snapshotBefore) to the next step. The result verifies like a
-- ledger that ledger_append() wrote: the benchmark checks that before timing anything.
--
-- Content looks like what pgfolio writes: snapshots as ledger_snapshot() makes them (cash and
-- four holdings, every amount a decimal string without trailing zeros), numerics stored with
-- trailing zeros (so canonicalisation has work to do), messages with the rupee sign (UTF-8
-- beyond ASCII), metadata with a few strings and an integer, some rebalances with a boundary and
-- some protection purchases with a protection id. Each portfolio also gets the four holdings
-- its snapshots show, so that ledger_snapshot() reads the same shape in the append benchmark.
-- Runs as the superuser; needs the bench schema's sibling data (none: it makes its own user,
-- assets and portfolios).
\set ON_ERROR_STOP 1
\if :{?ledger_portfolios} \else \set ledger_portfolios 1000 \endif
\if :{?ledger_entries} \else \set ledger_entries 1000 \endif

BEGIN;
SET LOCAL synchronous_commit = off;
-- scripts/bench.sh bounds statements at 5 minutes; hashing a million entries may take longer
-- on a busy machine.
SET LOCAL statement_timeout = '20min';
-- The chains are built valid; the foreign keys' per-row triggers would only slow the load.
SET LOCAL session_replication_role = replica;
-- The recursive step must look up each portfolio's next entry by index: a merge or hash join
-- would read all the content once per step. Nothing here gains from JIT compilation.
SET LOCAL enable_mergejoin = off;
SET LOCAL enable_hashjoin = off;
SET LOCAL jit = off;
SELECT setseed(0.2026);

CREATE SCHEMA IF NOT EXISTS bench;
CREATE FUNCTION bench.ledger_portfolio_id(n integer) RETURNS uuid IMMUTABLE LANGUAGE sql
  AS $$ SELECT md5('bench-ledger-portfolio-' || n)::uuid $$;

INSERT INTO pgfolio.assets (id, symbol, name, asset_class, quote_currency, layer, quantity_decimals)
VALUES ('GOLD24K', 'GOLD24K', 'Digital gold 24K', 'GOLD', 'INR', 'FOUNDATION', 4),
       ('GILT2030', 'GILT2030', 'Government bond 2030', 'FIXED_INCOME', 'INR', 'FOUNDATION', 0),
       ('LIQUIDBEES', 'LIQUIDBEES', 'Liquid ETF', 'ETF', 'INR', 'FOUNDATION', 0),
       ('NIFTYBEES', 'NIFTYBEES', 'Nifty 50 ETF', 'ETF', 'INR', 'GROWTH', 0),
       ('RELIANCE', 'RELIANCE', 'Reliance Industries', 'STOCK', 'INR', 'GROWTH', 0),
       ('TCS', 'TCS', 'Tata Consultancy Services', 'STOCK', 'INR', 'GROWTH', 0),
       ('SMALLCAP', 'SMALLCAP', 'Nifty Smallcap 250 ETF', 'ETF', 'INR', 'UPSIDE', 0),
       ('INFY', 'INFY', 'Infosys', 'STOCK', 'INR', 'UPSIDE', 0)
ON CONFLICT (id) DO NOTHING;
CREATE TABLE bench.ledger_assets (k integer PRIMARY KEY, asset_id text NOT NULL);
INSERT INTO bench.ledger_assets
SELECT row_number() OVER (ORDER BY id) - 1, id FROM pgfolio.assets
WHERE id IN ('GOLD24K', 'GILT2030', 'LIQUIDBEES', 'NIFTYBEES', 'RELIANCE', 'TCS', 'SMALLCAP',
             'INFY');

INSERT INTO pgfolio.users (id, email, display_name)
VALUES (md5('bench-ledger-user')::uuid, 'ledger@bench.invalid', 'Ledger bench');
INSERT INTO pgfolio.portfolios (id, owner_id, name, cash_balance)
SELECT bench.ledger_portfolio_id(n), md5('bench-ledger-user')::uuid, 'Ledger portfolio ' || n,
       (1000000 + (random() * 9000000)::integer) * 0.01
FROM generate_series(1, :ledger_portfolios) n;
-- Four of the eight assets per portfolio, in assetId order as ledger_snapshot() lists them.
CREATE TEMPORARY TABLE ledger_holding_assets ON COMMIT DROP AS
SELECT n, array_agg(a.asset_id ORDER BY a.asset_id) AS assets
FROM generate_series(1, :ledger_portfolios) n
JOIN bench.ledger_assets a ON ((a.k - n) % 8 + 8) % 8 < 4
GROUP BY n;
INSERT INTO pgfolio.holdings (portfolio_id, asset_id, quantity, average_cost)
SELECT bench.ledger_portfolio_id(h.n), a, (10000 + (random() * 1000000)::integer) * 0.0001,
       (1000 + (random() * 500000)::integer) * 0.01
FROM ledger_holding_assets h CROSS JOIN unnest(h.assets) a;

-- One holding of a snapshot as ledger_snapshot() writes it; the asset a protection was just
-- bought for has its quantity frozen.
CREATE FUNCTION pg_temp.holding(asset_id text, traded text, entry_type text, qty numeric)
RETURNS jsonb LANGUAGE sql VOLATILE AS $$
  SELECT jsonb_build_object(
    'assetId', asset_id,
    'quantity', trim_scale((10000 + (random() * 1000000)::integer) * 0.0001)::text,
    'averageCost', trim_scale((1000 + (random() * 500000)::integer) * 0.01)::text,
    'frozenQuantity', CASE WHEN asset_id = traded AND entry_type = 'PROTECTION_PURCHASE'
                           THEN trim_scale(round(qty))::text ELSE '0' END)
$$;

-- Each entry's content; r1..r4 draw its kind and amounts. Decimals are made from integers
-- (float8 to numeric goes through printf, the costliest step here).
CREATE TEMPORARY TABLE ledger_content ON COMMIT DROP AS
WITH draws AS (
  SELECT n, seq, random() AS r1, random() AS r2, random() AS r3, random() AS r4
  FROM generate_series(1, :ledger_portfolios) n CROSS JOIN generate_series(1, :ledger_entries) seq
), kinds AS (
  SELECT d.*, h.assets,
         CASE WHEN seq = 1 THEN 'PORTFOLIO_CREATED'
              WHEN r1 < 0.30 THEN 'ADD_FUNDS' WHEN r1 < 0.55 THEN 'TRADE_BUY'
              WHEN r1 < 0.75 THEN 'TRADE_SELL' WHEN r1 < 0.85 THEN 'WITHDRAW_FUNDS'
              WHEN r1 < 0.97 THEN 'REBALANCE' ELSE 'PROTECTION_PURCHASE' END AS entry_type,
         h.assets[1 + floor(r2 * 4)::int] AS asset,
         (5000 + (r3 * 200000)::integer) * 0.0001 AS qty,
         (5000 + (r4 * 495000)::integer) * 0.01 AS price,
         (10000 + (r3 * 4990000)::integer) * 0.01 AS cash_amount
  FROM draws d JOIN ledger_holding_assets h USING (n)
)
SELECT n, seq, entry_type,
       md5('bench-ledger-entry-' || n || '-' || seq)::uuid AS id,
       CASE WHEN entry_type IN ('TRADE_BUY', 'TRADE_SELL', 'PROTECTION_PURCHASE') THEN asset END
         AS asset_id,
       -- Scales as the columns of later features would store them: trailing zeros included.
       CASE WHEN entry_type IN ('TRADE_BUY', 'TRADE_SELL') THEN qty::numeric(38,18)
            WHEN entry_type = 'PROTECTION_PURCHASE' THEN round(qty)::numeric(38,18) END
         AS quantity,
       CASE WHEN entry_type IN ('ADD_FUNDS', 'WITHDRAW_FUNDS') THEN cash_amount::numeric(28,8)
            WHEN entry_type IN ('TRADE_BUY', 'TRADE_SELL') THEN round(qty * price, 2)::numeric(28,8)
            WHEN entry_type = 'PROTECTION_PURCHASE' THEN round(price * 0.02, 2)::numeric(28,8)
       END AS amount,
       CASE WHEN entry_type = 'REBALANCE'
            THEN (ARRAY['SAFE', 'DRIFT', 'STRUCTURAL', 'STRESS'])[1 + floor(r4 * 4)::int] END
         AS boundary,
       CASE WHEN entry_type = 'PROTECTION_PURCHASE'
            THEN md5('bench-ledger-protection-' || n || '-' || seq)::uuid END AS protection_id,
       CASE entry_type
         WHEN 'PORTFOLIO_CREATED' THEN 'Portfolio opened'
         WHEN 'ADD_FUNDS' THEN 'Added ₹' || trim_scale(cash_amount)
         WHEN 'WITHDRAW_FUNDS' THEN 'Withdrew ₹' || trim_scale(cash_amount)
         WHEN 'TRADE_BUY' THEN 'Bought ' || trim_scale(qty) || ' ' || asset
         WHEN 'TRADE_SELL' THEN 'Sold ' || trim_scale(qty) || ' ' || asset
         WHEN 'REBALANCE' THEN 'Rebalanced toward the target allocation'
         ELSE 'Protected ' || asset || ' for ' || (1 + floor(r4 * 6))::int || ' months' END
         AS message,
       jsonb_build_object('channel', CASE WHEN r2 < 0.8 THEN 'app' ELSE 'api' END,
                          'clientVersion', '2.' || floor(r4 * 10)::int || '.' || floor(r3 * 5)::int,
                          'requestId', md5('bench-ledger-request-' || n || '-' || seq)::uuid)
         || CASE WHEN entry_type IN ('TRADE_BUY', 'TRADE_SELL')
                 THEN jsonb_build_object('price', trim_scale(price)::text,
                                         'fee', trim_scale(round(qty * price * 0.001, 2))::text,
                                         'fills', 1 + floor(r1 * 3)::int)
                 WHEN entry_type = 'REBALANCE'
                 THEN jsonb_build_object('trades', 2 + floor(r3 * 4)::int, 'driftBps',
                                         floor(r2 * 900)::int)
                 ELSE '{}' END AS metadata,
       jsonb_build_object(
         'cash', trim_scale((r3 * r4 * 20000000)::integer * 0.01)::text,
         'holdings', jsonb_build_array(
           pg_temp.holding(assets[1], asset, entry_type, qty),
           pg_temp.holding(assets[2], asset, entry_type, qty),
           pg_temp.holding(assets[3], asset, entry_type, qty),
           pg_temp.holding(assets[4], asset, entry_type, qty))) AS snapshot_after,
       timestamptz '2025-01-01 00:00:00+00' + seq * interval '7 hours'
         + r4 * interval '1 hour' + n * interval '1 second' AS created_at
FROM kinds;
CREATE INDEX ON ledger_content (n, seq);
ANALYZE ledger_content;

-- An entry with its hash filled in: what ledger_append() stores.
CREATE FUNCTION pg_temp.hashed(entry pgfolio.ledger) RETURNS pgfolio.ledger LANGUAGE plpgsql AS $$
BEGIN
  entry.entry_hash := pgfolio.ledger_entry_hash(entry);
  RETURN entry;
END
$$;

-- The chains: step k hashes entry k of every portfolio at once, from entry k - 1's hash and
-- snapshotAfter.
INSERT INTO pgfolio.ledger
WITH RECURSIVE chain AS (
  SELECT c.n, pg_temp.hashed(ROW(c.id, bench.ledger_portfolio_id(c.n), c.seq, c.entry_type,
                                 c.asset_id, c.quantity, c.amount, c.boundary, NULL,
                                 c.protection_id, c.message, c.metadata, NULL, c.snapshot_after,
                                 c.created_at, decode(repeat('00', 32), 'hex'), NULL)) AS e
  FROM ledger_content c
  WHERE c.seq = 1
  UNION ALL
  SELECT c.n, pg_temp.hashed(ROW(c.id, (p.e).portfolio_id, c.seq, c.entry_type, c.asset_id,
                                 c.quantity, c.amount, c.boundary, NULL, c.protection_id,
                                 c.message, c.metadata, (p.e).snapshot_after, c.snapshot_after,
                                 c.created_at, (p.e).entry_hash, NULL))
  FROM chain p
  JOIN ledger_content c ON c.n = p.n AND c.seq = (p.e).seq + 1
)
SELECT (e).* FROM chain;
COMMIT;

-- Hint bits and the visibility map set now, not by the first timed read.
VACUUM (FREEZE, ANALYZE) pgfolio.ledger, pgfolio.portfolios, pgfolio.holdings;
