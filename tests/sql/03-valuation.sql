-- Valuation (extension/core/valuation.cpp through pgfolio.portfolio_valuation and friends):
-- exact figures, FX both ways, half-even rounding to the base currency's minor unit, and the
-- errors that replace a silent zero.
-- REPEATABLE READ: the demo price mover (pg_cron, every minute) must not move the demo
-- portfolios between the batch and the single valuations compared below.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT plan(37);
\ir fixtures.psql

-- More portfolios of a user C: one in USD (the INR asset needs the inverse of USD/INR), one
-- empty, one in JPY (minor unit 0).
SET client_min_messages = warning;
INSERT INTO pgfolio.users (id, email, display_name)
VALUES ('c0000000-0000-4000-8000-00000000000c', 'user.c@test.example', 'User C');
INSERT INTO pgfolio.portfolios (id, owner_id, name, base_currency, cash_balance) VALUES
  ('c1000000-0000-4000-8000-00000000000c', 'c0000000-0000-4000-8000-00000000000c', 'C dollars', 'USD', 5.5),
  ('c2000000-0000-4000-8000-00000000000c', 'c0000000-0000-4000-8000-00000000000c', 'C empty', 'INR', 0),
  ('c3000000-0000-4000-8000-00000000000c', 'c0000000-0000-4000-8000-00000000000c', 'C yen', 'JPY', 10.5);
INSERT INTO pgfolio.holdings (portfolio_id, asset_id, quantity, average_cost) VALUES
  -- 10 × 1.1245 = 11.245: half-even keeps 11.24 (half-up would give 11.25).
  ('c1000000-0000-4000-8000-00000000000c', 'T-INR', 10, 1.1245),
  ('c1000000-0000-4000-8000-00000000000c', 'T-USD', 4, 2),
  ('c3000000-0000-4000-8000-00000000000c', 'T-JPY', 3, 900);
UPDATE pgfolio.holdings SET frozen_quantity = 4
WHERE portfolio_id = 'a1000000-0000-4000-8000-00000000000a' AND asset_id = 'T-INR';
RESET client_min_messages;

-- Portfolio A (INR): cash 1000.505 -> 1000.50 (half-even); T-INR 10 × 100.25 = 1002.50;
-- T-USD 3 × 2.5 USD × 80 = 600.00.
CREATE TEMP TABLE a AS
  SELECT pgfolio.portfolio_valuation('a1000000-0000-4000-8000-00000000000a') AS v;
SELECT is((SELECT v - 'holdings' - 'allocation' FROM a), '{
    "baseCurrency": "INR", "cash": "1000.50", "holdingsValue": "1602.50", "totalValue": "2603.00",
    "costBasis": "1350.00", "unrealizedPnl": "252.50", "returnPercent": "18.70",
    "oldestPriceAsOf": "2026-11-01T09:00:00.000000Z"}'::jsonb,
  'A: cash, totals, return percent and the oldest price time are exact');
SELECT is((SELECT v -> 'holdings' -> 0 FROM a), '{
    "assetId": "T-INR", "layer": "GROWTH", "quantity": "10", "frozenQuantity": "4",
    "price": "100.25", "priceCurrency": "INR", "priceAsOf": "2026-11-01T10:00:00.000000Z",
    "fxRate": "1", "value": "1002.50", "averageCost": "90", "costBasis": "900.00",
    "unrealizedPnl": "102.50", "unrealizedPnlPercent": "11.39"}'::jsonb,
  'A: the INR holding, frozen quantity included');
SELECT is((SELECT v -> 'holdings' -> 1 FROM a), '{
    "assetId": "T-USD", "layer": "UPSIDE", "quantity": "3", "frozenQuantity": "0",
    "price": "2.5", "priceCurrency": "USD", "priceAsOf": "2026-11-01T09:00:00.000000Z",
    "fxRate": "80", "value": "600.00", "averageCost": "150", "costBasis": "450.00",
    "unrealizedPnl": "150.00", "unrealizedPnlPercent": "33.33"}'::jsonb,
  'A: the USD holding is valued through USD/INR');
SELECT is((SELECT jsonb_array_length(v -> 'holdings') FROM a), 2, 'A: two holdings, no more');
SELECT is((SELECT v -> 'allocation' FROM a), '{
    "FOUNDATION": {"value": "0.00", "percent": "0.00"},
    "GROWTH": {"value": "1002.50", "percent": "62.56"},
    "UPSIDE": {"value": "600.00", "percent": "37.44"}}'::jsonb,
  'A: allocation per layer, of the holdings value');

-- Portfolio C (USD), only USD/INR stored: INR converts at 1 / 80 = 0.0125.
-- T-INR 10 × 100.25 × 0.0125 = 12.53125 -> 12.53; T-USD 4 × 2.5 = 10.00.
CREATE TEMP TABLE c AS
  SELECT pgfolio.portfolio_valuation('c1000000-0000-4000-8000-00000000000c') AS v;
SELECT is((SELECT v - 'holdings' - 'allocation' FROM c), '{
    "baseCurrency": "USD", "cash": "5.50", "holdingsValue": "22.53", "totalValue": "28.03",
    "costBasis": "19.24", "unrealizedPnl": "3.29", "returnPercent": "17.10",
    "oldestPriceAsOf": "2026-11-01T09:00:00.000000Z"}'::jsonb,
  'C (USD base): totals through the inverse rate');
SELECT is((SELECT v -> 'holdings' -> 0 FROM c), '{
    "assetId": "T-INR", "layer": "GROWTH", "quantity": "10", "frozenQuantity": "0",
    "price": "100.25", "priceCurrency": "INR", "priceAsOf": "2026-11-01T10:00:00.000000Z",
    "fxRate": "0.0125", "value": "12.53", "averageCost": "1.1245", "costBasis": "11.24",
    "unrealizedPnl": "1.29", "unrealizedPnlPercent": "11.48"}'::jsonb,
  'C: the INR holding uses the inverse of USD/INR; its cost basis rounds half-even');
SELECT is((SELECT v -> 'holdings' -> 1 ->> 'fxRate' FROM c), '1',
  'C: the USD holding needs no conversion');
SELECT is((SELECT v -> 'allocation' FROM c), '{
    "FOUNDATION": {"value": "0.00", "percent": "0.00"},
    "GROWTH": {"value": "12.53", "percent": "55.61"},
    "UPSIDE": {"value": "10.00", "percent": "44.39"}}'::jsonb,
  'C: allocation in the base currency');

SELECT is(pgfolio.portfolio_valuation('c2000000-0000-4000-8000-00000000000c'), '{
    "baseCurrency": "INR", "cash": "0.00", "holdingsValue": "0.00", "totalValue": "0.00",
    "costBasis": "0.00", "unrealizedPnl": "0.00", "returnPercent": null,
    "oldestPriceAsOf": null, "holdings": [],
    "allocation": {"FOUNDATION": {"value": "0.00", "percent": "0.00"},
                   "GROWTH": {"value": "0.00", "percent": "0.00"},
                   "UPSIDE": {"value": "0.00", "percent": "0.00"}}}'::jsonb,
  'an empty portfolio: zeros, no return percent, no price time');
-- JPY has no minor unit: cash 10.5 rounds half-even to 10; 3 × 1000 = 3000.
SELECT is(pgfolio.portfolio_valuation('c3000000-0000-4000-8000-00000000000c') - 'holdings'
            - 'allocation' - 'oldestPriceAsOf', '{
    "baseCurrency": "JPY", "cash": "10", "holdingsValue": "3000", "totalValue": "3010",
    "costBasis": "2700", "unrealizedPnl": "300", "returnPercent": "11.11"}'::jsonb,
  'a JPY portfolio is rounded to whole yen');

-- portfolio_value and layer_allocation, for analysts.
SELECT is(pgfolio.portfolio_value('a1000000-0000-4000-8000-00000000000a')::text, '2603.00',
  'portfolio_value is the total value, at the currency''s scale');
SELECT is(pgfolio.portfolio_value('c1000000-0000-4000-8000-00000000000c')::text, '28.03',
  'portfolio_value of the USD portfolio is in USD');
SELECT results_eq(
  $$SELECT layer, value::text, percent::text
    FROM pgfolio.layer_allocation('c1000000-0000-4000-8000-00000000000c')$$,
  $$VALUES ('FOUNDATION', '0.00', '0.00'), ('GROWTH', '12.53', '55.61'),
           ('UPSIDE', '10.00', '44.39')$$,
  'layer_allocation: one row per layer, in layer order');

-- The batch form agrees with the single valuation, figure for figure (compared as text, so
-- the scale must agree too).
SELECT results_eq(
  $$SELECT portfolio_id, base_currency, cash::text, holdings_value::text, total_value::text
    FROM pgfolio.portfolio_values(ARRAY['a1000000-0000-4000-8000-00000000000a',
      'c1000000-0000-4000-8000-00000000000c', 'c2000000-0000-4000-8000-00000000000c',
      'c3000000-0000-4000-8000-00000000000c']::uuid[])
    ORDER BY portfolio_id$$,
  $$VALUES ('a1000000-0000-4000-8000-00000000000a'::uuid, 'INR', '1000.50', '1602.50', '2603.00'),
           ('c1000000-0000-4000-8000-00000000000c'::uuid, 'USD', '5.50', '22.53', '28.03'),
           ('c2000000-0000-4000-8000-00000000000c'::uuid, 'INR', '0.00', '0.00', '0.00'),
           ('c3000000-0000-4000-8000-00000000000c'::uuid, 'JPY', '10', '3000', '3010')$$,
  'portfolio_values for given ids: exact figures');
-- The single valuation of every portfolio the current role sees; a psql variable, not a view,
-- because a view would read portfolios with its owner's rights.
\set single_valuations 'SELECT p.id, v ->> ''baseCurrency'' AS b, v ->> ''cash'' AS c, v ->> ''holdingsValue'' AS h, v ->> ''totalValue'' AS t FROM pgfolio.portfolios p, pgfolio.portfolio_valuation(p.id) v'
SELECT set_eq(
  $$SELECT portfolio_id, base_currency, cash::text, holdings_value::text, total_value::text
    FROM pgfolio.portfolio_values()$$,
  :'single_valuations',
  'portfolio_values() (all) equals the single valuation of every portfolio, demo ones included');
SELECT is((SELECT count(*) FROM pgfolio.portfolio_values(NULL)),
  (SELECT count(*) FROM pgfolio.portfolios), 'NULL ids means all portfolios');
SELECT results_eq(
  $$SELECT portfolio_id FROM pgfolio.portfolio_values(ARRAY['a1000000-0000-4000-8000-00000000000a',
      'a1000000-0000-4000-8000-00000000000a', 'dead0000-0000-4000-8000-000000000000']::uuid[])$$,
  $$VALUES ('a1000000-0000-4000-8000-00000000000a'::uuid)$$,
  'a repeated id gives one row, an unknown id none');
SELECT is_empty($$SELECT * FROM pgfolio.portfolio_values('{}'::uuid[])$$,
  'no ids, no rows');

-- Row-level security applies to every form (the functions run as the caller).
SET LOCAL ROLE pgfolio_api;
SELECT pg_temp.act_as('c0000000-0000-4000-8000-00000000000c') \g /dev/null
SELECT set_eq($$SELECT portfolio_id, base_currency, cash::text, holdings_value::text,
                       total_value::text FROM pgfolio.portfolio_values()$$,
  :'single_valuations',
  'acting as C, portfolio_values() covers exactly C''s visible portfolios');
SELECT is((SELECT count(*) FROM pgfolio.portfolio_values()), 3::bigint, '... which are three');
SELECT throws_ok($$SELECT pgfolio.portfolio_value('a1000000-0000-4000-8000-00000000000a')$$,
  'PF404', 'portfolio a1000000-0000-4000-8000-00000000000a not found',
  'acting as C, A''s portfolio has no value');
SELECT throws_ok($$SELECT * FROM pgfolio.layer_allocation('a1000000-0000-4000-8000-00000000000a')$$,
  'PF404', NULL, '... and no allocation');
RESET ROLE;
SET LOCAL ROLE pgfolio_analyst;
SELECT is(pgfolio.portfolio_value('b1000000-0000-4000-8000-00000000000b')::text, '10550.00',
  'analysts value any portfolio');
RESET ROLE;

-- Errors, never a silent zero. Each is checked through error_of: SQLSTATE, message and the
-- JSON details pgfolio-http returns.
SELECT is(pg_temp.error_of($$SELECT pgfolio.portfolio_valuation('dead0000-0000-4000-8000-000000000000')$$),
  jsonb_build_object('sqlstate', 'PF404',
    'message', 'portfolio dead0000-0000-4000-8000-000000000000 not found',
    'detail', '{"portfolioId":"dead0000-0000-4000-8000-000000000000"}'),
  'an unknown portfolio is NOT_FOUND (PF404)');
SELECT throws_ok($$SELECT pgfolio.portfolio_value('dead0000-0000-4000-8000-000000000000')$$,
  'PF404', NULL, 'portfolio_value of an unknown portfolio is PF404 too');
SELECT is(pgfolio.portfolio_valuation(NULL), NULL, 'a NULL id is NULL (STRICT)');

-- A holding without a price: MISSING_PRICE naming the asset, in every form.
SELECT is(pg_temp.error_of($$
    INSERT INTO pgfolio.holdings (portfolio_id, asset_id, quantity, average_cost)
    VALUES ('a1000000-0000-4000-8000-00000000000a', 'T-NOPRICE', 1, 1);
    SELECT pgfolio.portfolio_valuation('a1000000-0000-4000-8000-00000000000a')$$),
  jsonb_build_object('sqlstate', 'PF422', 'message', 'no price for asset T-NOPRICE',
                     'detail', '{"assetId":"T-NOPRICE"}'),
  'a holding without a price is MISSING_PRICE (PF422) naming the asset');
SELECT is(pg_temp.error_of($$
    INSERT INTO pgfolio.holdings (portfolio_id, asset_id, quantity, average_cost)
    VALUES ('a1000000-0000-4000-8000-00000000000a', 'T-NOPRICE', 1, 1);
    SELECT * FROM pgfolio.portfolio_values(ARRAY['a1000000-0000-4000-8000-00000000000a'::uuid])$$),
  jsonb_build_object('sqlstate', 'PF422', 'message', 'no price for asset T-NOPRICE',
                     'detail', '{"assetId":"T-NOPRICE"}'),
  '... in the batch form too');
SELECT throws_ok($$
    INSERT INTO pgfolio.holdings (portfolio_id, asset_id, quantity, average_cost)
    VALUES ('a1000000-0000-4000-8000-00000000000a', 'T-NOPRICE', 1, 1);
    SELECT pgfolio.portfolio_value('a1000000-0000-4000-8000-00000000000a')$$,
  'PF422', 'no price for asset T-NOPRICE', '... and in portfolio_value');
-- A JPY asset in an INR portfolio, with neither JPY/INR nor INR/JPY stored.
SELECT is(pg_temp.error_of($$
    INSERT INTO pgfolio.holdings (portfolio_id, asset_id, quantity, average_cost)
    VALUES ('b1000000-0000-4000-8000-00000000000b', 'T-JPY', 1, 1);
    SELECT pgfolio.portfolio_valuation('b1000000-0000-4000-8000-00000000000b')$$),
  jsonb_build_object('sqlstate', 'PF423', 'message', 'no FX rate for JPY/INR',
                     'detail', '{"base":"JPY","quote":"INR"}'),
  'a missing FX rate is MISSING_FX_RATE (PF423) naming the pair');
SELECT is(pg_temp.error_of($$
    INSERT INTO pgfolio.holdings (portfolio_id, asset_id, quantity, average_cost)
    VALUES ('b1000000-0000-4000-8000-00000000000b', 'T-JPY', 1, 1);
    SELECT * FROM pgfolio.portfolio_values()$$) ->> 'sqlstate',
  'PF423', '... in the batch form too');
-- No triangulation: USD -> EUR is not derived through INR.
SELECT is(pg_temp.error_of($$
    UPDATE pgfolio.portfolios SET base_currency = 'EUR'
    WHERE id = 'c1000000-0000-4000-8000-00000000000c';
    SELECT pgfolio.portfolio_valuation('c1000000-0000-4000-8000-00000000000c')$$) ->> 'message',
  'no FX rate for INR/EUR', 'rates are never chained through a third currency');
-- The error leaves the session usable, and the failed statements changed nothing.
SELECT is(pgfolio.portfolio_value('a1000000-0000-4000-8000-00000000000a')::text, '2603.00',
  'after the errors, A still values the same');
SELECT is((SELECT count(*) FROM pgfolio.holdings
           WHERE asset_id IN ('T-NOPRICE', 'T-JPY') AND portfolio_id <> 'c3000000-0000-4000-8000-00000000000c'),
  0::bigint, 'the statements that failed left no holding behind');

-- Once the rate exists, the same holding values: the missing rate was the only obstacle.
INSERT INTO pgfolio.holdings (portfolio_id, asset_id, quantity, average_cost)
VALUES ('b1000000-0000-4000-8000-00000000000b', 'T-JPY', 1, 1);
SELECT pgfolio.upsert_fx_rates('[{"base": "JPY", "quote": "INR", "rate": "0.55", "source": "t",
  "asOf": "2026-11-01T00:00:00Z"}]') \g /dev/null
SELECT is(pgfolio.portfolio_value('b1000000-0000-4000-8000-00000000000b')::text, '11100.00',
  'with a JPY/INR rate the JPY holding is converted (50 + 10500 + 1 × 1000 × 0.55)');

-- SQL's own rounding helper follows the same rule as the C++: ties to the even neighbour.
SELECT results_eq(
  $$SELECT pgfolio.round_half_even(v, s) FROM (VALUES (0.125, 2), (0.135, 2), (-0.125, 2),
    (0.1251, 2), (2.5, 0), (3.5, 0), (-2.5, 0), (0.005, 2), (12345.675, -1)) t (v, s)$$,
  $$VALUES (0.12), (0.14), (-0.12), (0.13), (2), (4), (-2), (0.00), (12350)$$,
  'round_half_even sends ties to the even neighbour and everything else to the nearest');

SELECT * FROM finish();
ROLLBACK;
