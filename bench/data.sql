-- Benchmark data, generated set-based and reproducibly (fixed random seed). Sizes come from
-- psql variables so the driver can shrink them for a smoke run:
--   portfolios (default 100000), holdings_per_portfolio (10), assets (500).
-- Every fifth asset is quoted in USD, the rest in INR; portfolios are based in INR (90 %), USD
-- (5 %) and JPY (5 %, a currency without minor unit), so valuation converts through stored
-- FX pairs (USD→INR, USD→JPY) and through their inverses (INR→USD, INR→JPY).
-- Quantities have 4 decimals and prices 2, so products reach 6 decimals and some of them are
-- exact ties at the minor unit: the half-even rule is exercised, not just present.
-- One more portfolio, bench.single_portfolio_id(), holds 50 assets for the latency test.
\set ON_ERROR_STOP 1
\if :{?portfolios} \else \set portfolios 100000 \endif
\if :{?holdings_per_portfolio} \else \set holdings_per_portfolio 10 \endif
\if :{?assets} \else \set assets 500 \endif

BEGIN;
SET LOCAL synchronous_commit = off;
SELECT setseed(0.4242);

CREATE SCHEMA bench;
CREATE FUNCTION bench.single_portfolio_id() RETURNS uuid IMMUTABLE LANGUAGE sql
  AS $$ SELECT 'b0000000-0000-4000-8000-000000000050'::uuid $$;

INSERT INTO pgfolio.fx_rates (base, quote, rate, source, as_of) VALUES
  ('USD', 'INR', 83.2512, 'bench', now()),
  ('JPY', 'INR', 0.5531, 'bench', now()),
  ('USD', 'JPY', 150.42, 'bench', now());

INSERT INTO pgfolio.assets (id, symbol, name, asset_class, quote_currency, layer, quantity_decimals)
SELECT 'B' || lpad(n::text, 4, '0'), 'B' || n, 'Bench asset ' || n, 'STOCK',
       CASE WHEN n % 5 = 0 THEN 'USD' ELSE 'INR' END,
       (ARRAY['FOUNDATION', 'GROWTH', 'UPSIDE'])[n % 3 + 1], 4
FROM generate_series(1, :assets) n;

INSERT INTO pgfolio.prices (asset_id, price, currency, source, as_of)
SELECT a.id, round((1 + random() * 4999)::numeric, 2), a.quote_currency, 'bench',
       now() - random() * interval '1 hour'
FROM pgfolio.assets a WHERE a.id LIKE 'B%';

-- Five portfolios per user.
INSERT INTO pgfolio.users (id, email, display_name)
SELECT md5('bench-user-' || n)::uuid, 'bench' || n || '@bench.invalid', 'Bench user ' || n
FROM generate_series(1, (:portfolios + 4) / 5) n;

INSERT INTO pgfolio.portfolios (id, owner_id, name, base_currency, cash_balance)
SELECT md5('bench-portfolio-' || n)::uuid, md5('bench-user-' || ((n + 4) / 5))::uuid,
       'Bench portfolio ' || n,
       CASE WHEN n % 20 = 0 THEN 'JPY' WHEN n % 10 = 0 THEN 'USD' ELSE 'INR' END,
       round((random() * 100000)::numeric, 2)
FROM generate_series(1, :portfolios) n;

-- Distinct assets per portfolio: a random start, then strides of assets / holdings.
INSERT INTO pgfolio.holdings (portfolio_id, asset_id, quantity, average_cost)
SELECT md5('bench-portfolio-' || n)::uuid,
       'B' || lpad(((s.start + k * (:assets / :holdings_per_portfolio)) % :assets + 1)::text, 4, '0'),
       round((0.0001 + random() * 100)::numeric, 4), round((1 + random() * 5000)::numeric, 2)
FROM generate_series(1, :portfolios) n
CROSS JOIN LATERAL (SELECT (random() * :assets)::int + n * 0 AS start) s
CROSS JOIN generate_series(0, :holdings_per_portfolio - 1) k;

-- The latency test's portfolio: 50 holdings, 10 of them quoted in USD.
INSERT INTO pgfolio.users (id, email, display_name)
VALUES ('b0000000-0000-4000-8000-000000000001', 'single@bench.invalid', 'Single');
INSERT INTO pgfolio.portfolios (id, owner_id, name, cash_balance)
VALUES (bench.single_portfolio_id(), 'b0000000-0000-4000-8000-000000000001', 'Fifty', 12345.67);
INSERT INTO pgfolio.holdings (portfolio_id, asset_id, quantity, average_cost, frozen_quantity)
SELECT bench.single_portfolio_id(), 'B' || lpad((n * 7)::text, 4, '0'),
       round((0.0001 + random() * 100)::numeric, 4), round((1 + random() * 5000)::numeric, 2), 0
FROM generate_series(1, 50) n;
COMMIT;

VACUUM (ANALYZE) pgfolio.currencies, pgfolio.fx_rates, pgfolio.assets, pgfolio.prices, pgfolio.users,
  pgfolio.portfolios, pgfolio.holdings;
