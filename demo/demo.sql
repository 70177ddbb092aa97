-- pgfolio's demo data: a few users, assets in all three layers (some quoted in USD), prices,
-- an FX rate, and portfolios with holdings. Loaded by `make run`; idempotent (fixed ids,
-- ON CONFLICT DO NOTHING). Runs as a superuser, straight into the tables: it seeds a demo,
-- it is not how a product changes state (that is the SECURITY DEFINER functions).
BEGIN;

INSERT INTO pgfolio.assets (id, symbol, exchange, name, isin, asset_class, sector, quote_currency,
                            layer, base_weight, max_ltv, spread, fee_rate, min_trade_amount,
                            quantity_decimals, volatility_score, liquidity_score)
VALUES
  ('GOLD24K', 'GOLD24K', NULL, 'Digital gold 24K (per gram)', NULL, 'GOLD', 'Commodities', 'INR',
   'FOUNDATION', 2, 0.75, 0.015, 0.0, 100, 4, 3, 8),
  ('GILT2030', 'GILT2030', 'NSE', 'Government bond 2030 (per 100 face)', 'IN0020200070',
   'FIXED_INCOME', 'Sovereign', 'INR', 'FOUNDATION', 1, 0.8, 0.002, 0.001, 1000, 0, 1, 6),
  ('LIQUIDBEES', 'LIQUIDBEES', 'NSE', 'Liquid ETF', 'INF732E01037', 'ETF', 'Money market', 'INR',
   'FOUNDATION', 1, 0.9, 0.001, 0.0005, 500, 0, 1, 9),
  ('NIFTYBEES', 'NIFTYBEES', 'NSE', 'Nifty 50 ETF', 'INF204KB14I2', 'ETF', 'Index', 'INR',
   'GROWTH', 3, 0.6, 0.002, 0.001, 100, 0, 4, 9),
  ('RELIANCE', 'RELIANCE', 'NSE', 'Reliance Industries', 'INE002A01018', 'STOCK', 'Energy', 'INR',
   'GROWTH', 1, 0.5, 0.003, 0.003, 100, 0, 5, 9),
  ('TCS', 'TCS', 'NSE', 'Tata Consultancy Services', 'INE467B01029', 'STOCK', 'IT', 'INR',
   'GROWTH', 1, 0.5, 0.003, 0.003, 100, 0, 4, 9),
  ('AAPL', 'AAPL', 'NASDAQ', 'Apple Inc.', 'US0378331005', 'STOCK', 'Technology', 'USD',
   'GROWTH', 1, 0.5, 0.004, 0.003, 500, 4, 5, 10),
  ('BTC', 'BTC', NULL, 'Bitcoin', NULL, 'CRYPTO', 'Crypto', 'USD', 'UPSIDE', 2, 0.4, 0.01, 0.004,
   100, 8, 9, 9),
  ('ETH', 'ETH', NULL, 'Ether', NULL, 'CRYPTO', 'Crypto', 'USD', 'UPSIDE', 1, 0.4, 0.01, 0.004,
   100, 8, 9, 8),
  ('SMALLCAP', 'SMALLCAP', 'NSE', 'Nifty Smallcap 250 ETF', 'INF247L01AP3', 'ETF', 'Index', 'INR',
   'UPSIDE', 1, 0.3, 0.004, 0.002, 100, 0, 7, 7)
ON CONFLICT (id) DO NOTHING;

SELECT pgfolio.upsert_fx_rates(jsonb_build_array(
  jsonb_build_object('base', 'USD', 'quote', 'INR', 'rate', '83.25', 'source', 'demo',
                     'asOf', now())))
WHERE NOT EXISTS (SELECT 1 FROM pgfolio.fx_rates WHERE base = 'USD' AND quote = 'INR');

SELECT pgfolio.upsert_prices(jsonb_agg(jsonb_build_object(
  'assetId', v.id, 'price', v.price, 'currency', v.currency, 'source', 'demo', 'asOf', now(),
  'change24hPercent', '0')))
FROM (VALUES ('GOLD24K', '7150.50', 'INR'), ('GILT2030', '101.25', 'INR'),
             ('LIQUIDBEES', '1000.00', 'INR'), ('NIFTYBEES', '265.40', 'INR'),
             ('RELIANCE', '2950.75', 'INR'), ('TCS', '4120.00', 'INR'),
             ('AAPL', '228.15', 'USD'), ('BTC', '91250.00', 'USD'), ('ETH', '3110.40', 'USD'),
             ('SMALLCAP', '172.35', 'INR')) AS v (id, price, currency)
-- HAVING, not WHERE: an aggregate over no rows still yields one (null) row.
HAVING NOT EXISTS (SELECT 1 FROM pgfolio.prices);

-- The users with an email log in with the demo password "pgfolio-demo-password" (README,
-- scripts/run.sh): the encoded Argon2id hash of it (m=19456, t=2, p=1, as pgfolio-http
-- hashes by default), made once with libargon2. Ravi has a phone only and logs in with a code
-- (POST /api/v1/auth/send-otp; the code lands in the outbox file beside the data directory).
-- A demo database from before the password gets it on the next load, unless it has one.
INSERT INTO pgfolio.users (id, email, phone, display_name, risk_score, risk_tier, risk_profile,
                           target_foundation_pct, target_growth_pct, target_upside_pct,
                           password_hash)
VALUES
  ('00000000-0000-4000-8000-000000000001', 'asha@example.com', NULL, 'Asha', 3, 'LOW',
   'Capital Preservation', 70, 25, 5,
   '$argon2id$v=19$m=19456,t=2,p=1$uyH8lMDEwYSAkx1gRProfw$O2jbC7rMVbvaXw0QON16SW4A0IzWZH9+WqceP1RW7iY'),
  ('00000000-0000-4000-8000-000000000002', NULL, '+919800000002', 'Ravi', 6, 'MEDIUM',
   'Balanced Growth', 40, 45, 15, NULL),
  ('00000000-0000-4000-8000-000000000003', 'meera@example.com', '+919800000003', 'Meera', 9,
   'HIGH', 'Aggressive Growth', 15, 45, 40,
   '$argon2id$v=19$m=19456,t=2,p=1$uyH8lMDEwYSAkx1gRProfw$O2jbC7rMVbvaXw0QON16SW4A0IzWZH9+WqceP1RW7iY')
ON CONFLICT (id) DO UPDATE SET password_hash = EXCLUDED.password_hash
WHERE pgfolio.users.password_hash IS NULL AND EXCLUDED.password_hash IS NOT NULL
  AND pgfolio.users.status = 'active';

INSERT INTO pgfolio.portfolios (id, owner_id, name, visibility, cash_balance,
                                target_foundation_pct, target_growth_pct, target_upside_pct,
                                is_default)
VALUES
  ('10000000-0000-4000-8000-000000000001', '00000000-0000-4000-8000-000000000001', 'Safe harbour',
   'private', 25000.00, 70, 25, 5, true),
  ('10000000-0000-4000-8000-000000000002', '00000000-0000-4000-8000-000000000002', 'Core',
   'public', 12000.00, 40, 45, 15, true),
  ('10000000-0000-4000-8000-000000000003', '00000000-0000-4000-8000-000000000003', 'Moonshots',
   'public', 5000.00, 15, 45, 40, true),
  ('10000000-0000-4000-8000-000000000004', '00000000-0000-4000-8000-000000000003', 'Kids fund',
   'unlisted', 1000.00, 60, 30, 10, false)
ON CONFLICT (id) DO NOTHING;

INSERT INTO pgfolio.holdings (portfolio_id, asset_id, quantity, average_cost)
VALUES
  ('10000000-0000-4000-8000-000000000001', 'GOLD24K', 10.5, 6800),
  ('10000000-0000-4000-8000-000000000001', 'GILT2030', 200, 99.80),
  ('10000000-0000-4000-8000-000000000001', 'NIFTYBEES', 150, 240.10),
  ('10000000-0000-4000-8000-000000000002', 'LIQUIDBEES', 40, 998.50),
  ('10000000-0000-4000-8000-000000000002', 'RELIANCE', 12, 2710.00),
  ('10000000-0000-4000-8000-000000000002', 'AAPL', 8.5, 17900.00),
  ('10000000-0000-4000-8000-000000000002', 'BTC', 0.015, 6500000),
  ('10000000-0000-4000-8000-000000000003', 'TCS', 5, 3890.00),
  ('10000000-0000-4000-8000-000000000003', 'ETH', 1.2, 240000),
  ('10000000-0000-4000-8000-000000000003', 'SMALLCAP', 300, 150.25),
  ('10000000-0000-4000-8000-000000000004', 'GOLD24K', 2, 7000)
ON CONFLICT DO NOTHING;

-- Each demo portfolio's ledger opens with one entry recording the state seeded above (the
-- product itself writes an entry with every change; docs/ledger.md). Once only.
SELECT pgfolio.ledger_append(p.id, 'PORTFOLIO_CREATED', NULL, pgfolio.ledger_snapshot(p.id),
                             amount => p.cash_balance, message => 'Portfolio opened')
FROM pgfolio.portfolios p
WHERE p.id::text LIKE '10000000-0000-4000-8000-00000000000_'
  AND NOT EXISTS (SELECT 1 FROM pgfolio.ledger l WHERE l.portfolio_id = p.id)
ORDER BY p.id;

-- The demo price mover: every minute each demo price takes a small random step (at most
-- ±0.5 %), so demo prices never go stale. Demo only: it lives outside the extension.
CREATE SCHEMA IF NOT EXISTS pgfolio_demo;
CREATE OR REPLACE FUNCTION pgfolio_demo.move_prices() RETURNS integer
LANGUAGE sql
AS $$
  SELECT pgfolio.upsert_prices(jsonb_agg(jsonb_build_object(
    'assetId', p.asset_id,
    'price', round(p.price * (1 + (random() - 0.5)::numeric / 100), 4)::text,
    'currency', p.currency, 'source', 'demo', 'asOf', clock_timestamp(),
    'change24hPercent', coalesce(p.change_24h_pct, 0)::text)))
  FROM pgfolio.prices p WHERE p.source = 'demo'
$$;

COMMIT;

-- Not named 'pgfolio-*': those names belong to pgfolio's own jobs, which
-- pgfolio.unschedule_jobs() removes. Its former name, which had that prefix, is dropped from
-- clusters set up before the rename.
SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname = 'pgfolio-demo-price-mover';
SELECT cron.schedule('demo-price-mover', '* * * * *', 'SELECT pgfolio_demo.move_prices()');
