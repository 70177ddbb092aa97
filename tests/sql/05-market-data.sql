-- Market data: loading prices and FX rates in batches (history appended, latest kept, every
-- bad row refused by name, nothing of a bad batch applied) and the read functions behind
-- GET /prices, /prices/{assetId} and /assets?q=.
BEGIN;
SELECT plan(76);
\ir fixtures.psql
-- price_json renders times in the session's zone.
SET LOCAL TimeZone = 'UTC';

-- upsert_prices: a newer price replaces the latest and joins the history.
SELECT is(pgfolio.upsert_prices('[
    {"assetId": "T-INR", "price": "101.5", "currency": "INR", "source": "feed",
     "asOf": "2026-11-02T10:00:00Z", "change24hPercent": "1.2469"},
    {"assetId": "T-GOLD", "price": 7012.1234567891, "currency": "INR", "source": "feed",
     "asOf": "2026-11-02T10:00:00+05:30", "change24hPercent": null}]'),
  2, 'upsert_prices returns the number of rows read');
SELECT results_eq(
  $$SELECT asset_id, price::text, source, as_of, change_24h_pct::text FROM pgfolio.prices
    WHERE asset_id IN ('T-INR', 'T-GOLD') ORDER BY asset_id$$,
  $$VALUES ('T-GOLD', '7012.1234567891', 'feed', '2026-11-02T04:30:00Z'::timestamptz, NULL::text),
           ('T-INR', '101.5000000000', 'feed', '2026-11-02T10:00:00Z'::timestamptz, '1.2469')$$,
  'the latest prices are replaced, a JSON number kept exactly, a null change stored as NULL');
SELECT results_eq(
  $$SELECT at, close::text, source FROM pgfolio.price_history WHERE asset_id = 'T-INR' ORDER BY at$$,
  $$VALUES ('2026-11-01T10:00:00Z'::timestamptz, '100.2500000000', 't'),
           ('2026-11-02T10:00:00Z'::timestamptz, '101.5000000000', 'feed')$$,
  'the history keeps the old price and appends the new one');
-- An older price only goes to history; the same time again replaces its history row.
SELECT is(pgfolio.upsert_prices('[
    {"assetId": "T-INR", "price": "99", "currency": "INR", "source": "late", "asOf": "2026-10-30T10:00:00Z"},
    {"assetId": "T-INR", "price": "101.75", "currency": "INR", "source": "fix", "asOf": "2026-11-02T10:00:00Z"}]'),
  2, 'a late and a corrected price');
SELECT is((SELECT price::text || ' ' || source FROM pgfolio.prices WHERE asset_id = 'T-INR'),
  '101.7500000000 fix', 'the latest price is the newest, corrected; the late one did not replace it');
SELECT results_eq(
  $$SELECT at, close::text FROM pgfolio.price_history WHERE asset_id = 'T-INR' ORDER BY at$$,
  $$VALUES ('2026-10-30T10:00:00Z'::timestamptz, '99.0000000000'),
           ('2026-11-01T10:00:00Z'::timestamptz, '100.2500000000'),
           ('2026-11-02T10:00:00Z'::timestamptz, '101.7500000000')$$,
  'the late price is in the history, the corrected one replaced its history row');
SELECT is(pgfolio.upsert_prices('[{"assetId": "T-NOPRICE", "price": "5", "currency": "INR",
    "source": "feed", "asOf": "2026-11-02T10:00:00Z"}]'), 1, 'a first price for an asset');
SELECT is((SELECT price::text FROM pgfolio.prices WHERE asset_id = 'T-NOPRICE'), '5.0000000000',
  '... is inserted');

-- Bad batches and bad rows: a clear error naming the row and field, and nothing applied.
-- Each case is {batch, sqlstate, message, details}; the batch is the one row given, except
-- where the case is about the batch itself.
CREATE TEMP TABLE bad_prices (description text, batch jsonb, sqlstate text, message text,
                              details jsonb);
INSERT INTO bad_prices VALUES
  ('not an array', '{"assetId": "T-INR"}', 'PF400', 'expected a non-empty JSON array of rows', '{}'),
  ('an empty array', '[]', 'PF400', 'expected a non-empty JSON array of rows', '{}'),
  ('a JSON null', 'null', 'PF400', 'expected a non-empty JSON array of rows', '{}'),
  ('a row that is not an object', '[["T-INR", "100"]]', 'PF400', 'row 1 is not an object',
   '{"row": 1}'),
  ('an unknown asset', '[{"assetId": "NOPE", "price": "1", "currency": "INR", "source": "t",
     "asOf": "2026-11-02T10:00:00Z"}]', 'PF404', 'row 1: unknown asset NOPE',
   '{"row": 1, "assetId": "NOPE"}'),
  ('no asset id', '[{"price": "1", "currency": "INR", "source": "t", "asOf": "2026-11-02T10:00:00Z"}]',
   'PF400', 'row 1: assetId must be a string of 1 to 32 characters', '{"row": 1, "field": "assetId"}'),
  ('a negative price', '[{"assetId": "T-INR", "price": "-1", "currency": "INR", "source": "t",
     "asOf": "2026-11-02T10:00:00Z"}]', 'PF400', 'row 1: price must be positive',
   '{"row": 1, "field": "price"}'),
  ('a zero price', '[{"assetId": "T-INR", "price": 0, "currency": "INR", "source": "t",
     "asOf": "2026-11-02T10:00:00Z"}]', 'PF400', 'row 1: price must be positive',
   '{"row": 1, "field": "price"}'),
  ('a non-numeric price', '[{"assetId": "T-INR", "price": "ten", "currency": "INR", "source": "t",
     "asOf": "2026-11-02T10:00:00Z"}]', 'PF400',
   'row 1: price must be a decimal with at most 20 integer and 10 fractional digits',
   '{"row": 1, "field": "price"}'),
  ('a boolean price', '[{"assetId": "T-INR", "price": true, "currency": "INR", "source": "t",
     "asOf": "2026-11-02T10:00:00Z"}]', 'PF400',
   'row 1: price must be a decimal with at most 20 integer and 10 fractional digits',
   '{"row": 1, "field": "price"}'),
  ('a price in exponent notation', '[{"assetId": "T-INR", "price": "1e3", "currency": "INR",
     "source": "t", "asOf": "2026-11-02T10:00:00Z"}]', 'PF400',
   'row 1: price must be a decimal with at most 20 integer and 10 fractional digits',
   '{"row": 1, "field": "price"}'),
  ('more decimals than stored (string)', '[{"assetId": "T-INR", "price": "100.00000000001",
     "currency": "INR", "source": "t", "asOf": "2026-11-02T10:00:00Z"}]', 'PF400',
   'row 1: price must be a decimal with at most 20 integer and 10 fractional digits',
   '{"row": 1, "field": "price"}'),
  ('more decimals than stored (JSON number)', '[{"assetId": "T-INR", "price": 1e-20,
     "currency": "INR", "source": "t", "asOf": "2026-11-02T10:00:00Z"}]', 'PF400',
   'row 1: price must be a decimal with at most 20 integer and 10 fractional digits',
   '{"row": 1, "field": "price"}'),
  ('more integer digits than stored', '[{"assetId": "T-INR", "price": 123456789012345678901,
     "currency": "INR", "source": "t", "asOf": "2026-11-02T10:00:00Z"}]', 'PF400',
   'row 1: price must be a decimal with at most 20 integer and 10 fractional digits',
   '{"row": 1, "field": "price"}'),
  ('a currency other than the quote currency', '[{"assetId": "T-INR", "price": "1",
     "currency": "USD", "source": "t", "asOf": "2026-11-02T10:00:00Z"}]', 'PF400',
   'row 1: T-INR is quoted in INR, not USD', '{"row": 1, "field": "currency"}'),
  ('no currency', '[{"assetId": "T-INR", "price": "1", "source": "t", "asOf": "2026-11-02T10:00:00Z"}]',
   'PF400', 'row 1: currency must be a string of 1 to 5 characters', '{"row": 1, "field": "currency"}'),
  ('no source', '[{"assetId": "T-INR", "price": "1", "currency": "INR", "asOf": "2026-11-02T10:00:00Z"}]',
   'PF400', 'row 1: source must be a string of 1 to 64 characters', '{"row": 1, "field": "source"}'),
  ('a time that is not one', '[{"assetId": "T-INR", "price": "1", "currency": "INR",
     "source": "t", "asOf": "yesterday"}]', 'PF400',
   'row 1: asOf must be an ISO 8601 time with a time zone, like 2026-11-01T10:00:00Z',
   '{"row": 1, "field": "asOf"}'),
  ('an infinite time', '[{"assetId": "T-INR", "price": "1", "currency": "INR",
     "source": "t", "asOf": "infinity"}]', 'PF400',
   'row 1: asOf must be an ISO 8601 time with a time zone, like 2026-11-01T10:00:00Z',
   '{"row": 1, "field": "asOf"}'),
  ('a time without a zone', '[{"assetId": "T-INR", "price": "1", "currency": "INR",
     "source": "t", "asOf": "2026-11-02T10:00:00"}]', 'PF400',
   'row 1: asOf must be an ISO 8601 time with a time zone, like 2026-11-01T10:00:00Z',
   '{"row": 1, "field": "asOf"}'),
  ('a time with month 13', '[{"assetId": "T-INR", "price": "1", "currency": "INR",
     "source": "t", "asOf": "2026-13-02T10:00:00Z"}]', 'PF400', 'row 1: asOf is not a valid time',
   '{"row": 1, "field": "asOf"}'),
  ('a time zone offset out of range', '[{"assetId": "T-INR", "price": "1", "currency": "INR",
     "source": "t", "asOf": "2026-11-02T10:00:00+99"}]', 'PF400',
   'row 1: asOf is not a valid time', '{"row": 1, "field": "asOf"}'),
  -- A far-future asOf would pin the price: every later real price would go to history only.
  ('a time far in the future', '[{"assetId": "T-INR", "price": "1", "currency": "INR",
     "source": "t", "asOf": "9999-12-31T00:00:00Z"}]', 'PF400', 'row 1: asOf is in the future',
   '{"row": 1, "field": "asOf"}'),
  ('a newline forging a DETAIL line', '[{"assetId": "NOPE\nDETAIL:  {\"spoof\": 1}",
     "price": "1", "currency": "INR", "source": "t", "asOf": "2026-11-02T10:00:00Z"}]', 'PF404',
   'row 1: unknown asset NOPE DETAIL:  {"spoof": 1}',
   '{"row": 1, "assetId": "NOPE\nDETAIL:  {\"spoof\": 1}"}'),
  ('a time as a JSON number', '[{"assetId": "T-INR", "price": "1", "currency": "INR",
     "source": "t", "asOf": 1793527200}]', 'PF400',
   'row 1: asOf must be an ISO 8601 time with a time zone, like 2026-11-01T10:00:00Z',
   '{"row": 1, "field": "asOf"}'),
  ('a 24h change beyond its column', '[{"assetId": "T-INR", "price": "1", "currency": "INR",
     "source": "t", "asOf": "2026-11-02T10:00:00Z", "change24hPercent": "1.23456"}]', 'PF400',
   'row 1: change24hPercent must be a decimal with at most 8 integer and 4 fractional digits',
   '{"row": 1, "field": "change24hPercent"}'),
  -- The bad row comes second: the first, good one must not be applied either.
  ('a good row, then a bad one', '[{"assetId": "T-GOLD", "price": "1", "currency": "INR",
     "source": "bad batch", "asOf": "2026-11-02T12:00:00Z"}, {"assetId": "T-GOLD", "price": "x",
     "currency": "INR", "source": "t", "asOf": "2026-11-02T12:00:00Z"}]', 'PF400',
   'row 2: price must be a decimal with at most 20 integer and 10 fractional digits',
   '{"row": 2, "field": "price"}');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.upsert_prices(%L)', b.batch)),
  jsonb_build_object('sqlstate', b.sqlstate, 'message', b.message, 'detail', b.details::text),
  'upsert_prices refuses ' || b.description)
FROM bad_prices b;
SELECT is_empty($$SELECT 1 FROM pgfolio.prices WHERE source = 'bad batch'
                  UNION ALL SELECT 1 FROM pgfolio.price_history WHERE source = 'bad batch'$$,
  'nothing of a refused batch is applied');
SELECT is(pg_temp.error_of($$SELECT pgfolio.upsert_prices(
    (SELECT jsonb_agg(jsonb_build_object('assetId', 'T-INR', 'price', '1', 'currency', 'INR',
       'source', 't', 'asOf', '2026-11-02T10:00:00Z')) FROM generate_series(1, 10001)))$$)
    ->> 'message', 'at most 10000 rows per batch', 'a batch has at most 10000 rows');

-- upsert_fx_rates.
SELECT is(pgfolio.upsert_fx_rates('[
    {"base": "EUR", "quote": "INR", "rate": "90.123456789012", "source": "feed", "asOf": "2026-11-02T10:00:00Z"},
    {"base": "EUR", "quote": "INR", "rate": 89, "source": "late", "asOf": "2026-11-01T10:00:00Z"}]'),
  2, 'upsert_fx_rates returns the number of rows read');
SELECT is((SELECT rate::text || ' ' || source || ' ' || as_of FROM pgfolio.fx_rates
           WHERE base = 'EUR' AND quote = 'INR'),
  '90.123456789012 feed 2026-11-02 10:00:00+00', 'the newest rate is the latest, exactly');
SELECT results_eq(
  $$SELECT at, rate::text FROM pgfolio.fx_rate_history WHERE base = 'EUR' AND quote = 'INR' ORDER BY at$$,
  $$VALUES ('2026-11-01T10:00:00Z'::timestamptz, '89.000000000000'),
           ('2026-11-02T10:00:00Z'::timestamptz, '90.123456789012')$$,
  'both rates are in the history');
SELECT is(pgfolio.upsert_fx_rates('[{"base": "EUR", "quote": "INR", "rate": "91", "source": "feed",
    "asOf": "2026-11-03T10:00:00Z"}]'), 1, 'a newer rate');
SELECT is((SELECT rate::text FROM pgfolio.fx_rates WHERE base = 'EUR' AND quote = 'INR'),
  '91.000000000000', '... replaces the latest');

CREATE TEMP TABLE bad_rates (description text, batch jsonb, sqlstate text, message text,
                             details jsonb);
INSERT INTO bad_rates VALUES
  ('not an array', '"EUR/INR"', 'PF400', 'expected a non-empty JSON array of rows', '{}'),
  ('a row that is not an object', '[null]', 'PF400', 'row 1 is not an object', '{"row": 1}'),
  ('an unknown currency', '[{"base": "XXX", "quote": "INR", "rate": "1", "source": "t",
     "asOf": "2026-11-02T10:00:00Z"}]', 'PF404', 'row 1: unknown currency pair XXX/INR',
   '{"row": 1, "base": "XXX", "quote": "INR"}'),
  ('no base', '[{"quote": "INR", "rate": "1", "source": "t", "asOf": "2026-11-02T10:00:00Z"}]',
   'PF400', 'row 1: base must be a string of 1 to 5 characters', '{"row": 1, "field": "base"}'),
  ('a pair of one currency', '[{"base": "INR", "quote": "INR", "rate": "1", "source": "t",
     "asOf": "2026-11-02T10:00:00Z"}]', 'PF400', 'row 1: base and quote are the same', '{"row": 1}'),
  ('a zero rate', '[{"base": "EUR", "quote": "INR", "rate": "0", "source": "t",
     "asOf": "2026-11-02T10:00:00Z"}]', 'PF400', 'row 1: rate must be positive',
   '{"row": 1, "field": "rate"}'),
  ('a negative rate', '[{"base": "EUR", "quote": "INR", "rate": -90, "source": "t",
     "asOf": "2026-11-02T10:00:00Z"}]', 'PF400', 'row 1: rate must be positive',
   '{"row": 1, "field": "rate"}'),
  ('a non-numeric rate', '[{"base": "EUR", "quote": "INR", "rate": "NaN", "source": "t",
     "asOf": "2026-11-02T10:00:00Z"}]', 'PF400',
   'row 1: rate must be a decimal with at most 18 integer and 12 fractional digits',
   '{"row": 1, "field": "rate"}'),
  ('more decimals than stored', '[{"base": "EUR", "quote": "INR", "rate": "90.1234567890123",
     "source": "t", "asOf": "2026-11-02T10:00:00Z"}]', 'PF400',
   'row 1: rate must be a decimal with at most 18 integer and 12 fractional digits',
   '{"row": 1, "field": "rate"}'),
  ('a bad time', '[{"base": "EUR", "quote": "INR", "rate": "90", "source": "t", "asOf": "now"}]',
   'PF400', 'row 1: asOf must be an ISO 8601 time with a time zone, like 2026-11-01T10:00:00Z',
   '{"row": 1, "field": "asOf"}');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.upsert_fx_rates(%L)', b.batch)),
  jsonb_build_object('sqlstate', b.sqlstate, 'message', b.message, 'detail', b.details::text),
  'upsert_fx_rates refuses ' || b.description)
FROM bad_rates b;

-- Only administrators load market data.
SET LOCAL ROLE pgfolio_api;
SELECT throws_ok($$SELECT pgfolio.upsert_prices('[]')$$, '42501', NULL,
  'pgfolio_api cannot load prices');
SELECT throws_ok($$SELECT pgfolio.upsert_fx_rates('[]')$$, '42501', NULL,
  '... nor FX rates');
RESET ROLE;

-- list_prices and get_price. T-GOLD is deactivated: it leaves the list.
UPDATE pgfolio.assets SET active = false WHERE id = 'T-GOLD';
SELECT is((SELECT jsonb_agg(p) FROM jsonb_array_elements(pgfolio.list_prices()) p
           WHERE p ->> 'assetId' LIKE 'T-%'), '[
    {"assetId": "T-INR", "symbol": "TINR", "name": "Test INR stock", "layer": "GROWTH",
     "price": "101.75", "currency": "INR", "source": "fix", "asOf": "2026-11-02T10:00:00+00:00",
     "change24hPercent": null},
    {"assetId": "T-JPY", "symbol": "TJPY", "name": "Test JPY stock", "layer": "GROWTH",
     "price": "1000", "currency": "JPY", "source": "t", "asOf": "2026-11-01T11:00:00+00:00",
     "change24hPercent": null},
    {"assetId": "T-NOPRICE", "symbol": "TNOP", "name": "Test asset without price",
     "layer": "GROWTH", "price": "5", "currency": "INR", "source": "feed",
     "asOf": "2026-11-02T10:00:00+00:00", "change24hPercent": null},
    {"assetId": "T-USD", "symbol": "TUSD", "name": "Test USD coin", "layer": "UPSIDE",
     "price": "2.5", "currency": "USD", "source": "t", "asOf": "2026-11-01T09:00:00+00:00",
     "change24hPercent": null}]'::jsonb,
  'list_prices: every active asset''s latest price, money as strings');
SELECT is(
  (SELECT array_agg(p ->> 'assetId' ORDER BY i)
   FROM jsonb_array_elements(pgfolio.list_prices()) WITH ORDINALITY AS l (p, i)),
  (SELECT array_agg(a.id ORDER BY a.id)
   FROM pgfolio.assets a JOIN pgfolio.prices pr ON pr.asset_id = a.id WHERE a.active),
  'list_prices lists exactly the active assets with a price, in id order');
SELECT is(pgfolio.get_price('T-USD'), '{"assetId": "T-USD", "symbol": "TUSD",
    "name": "Test USD coin", "layer": "UPSIDE", "price": "2.5", "currency": "USD", "source": "t",
    "asOf": "2026-11-01T09:00:00+00:00", "change24hPercent": null}',
  'get_price: one asset''s latest price');
SELECT is(pg_temp.error_of($$SELECT pgfolio.get_price('NOPE')$$),
  '{"sqlstate": "PF404", "message": "no price for asset NOPE", "detail": "{\"assetId\": \"NOPE\"}"}',
  'get_price of an unknown asset is NOT_FOUND naming it');
DELETE FROM pgfolio.prices WHERE asset_id = 'T-NOPRICE';
SELECT is(pg_temp.error_of($$SELECT pgfolio.get_price('T-NOPRICE')$$) ->> 'sqlstate', 'PF404',
  'get_price of an asset without a price is NOT_FOUND too');
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.get_price('T-USD') ->> 'price', '2.5', 'pgfolio_api reads prices');
SELECT ok(jsonb_array_length(pgfolio.list_prices()) >= 3, '... and lists them');
RESET ROLE;

-- search_assets.
SELECT is(pgfolio.search_assets('tinr'), '[{"assetId": "T-INR", "symbol": "TINR",
    "exchange": null, "name": "Test INR stock", "isin": null, "assetClass": "STOCK",
    "sector": null, "quoteCurrency": "INR", "layer": "GROWTH", "minTradeAmount": "0.00",
    "quantityDecimals": 0}]', 'search_assets matches the symbol, ignoring case');
SELECT is((SELECT array_agg(a ->> 'assetId') FROM jsonb_array_elements(pgfolio.search_assets('TEST')) a),
  ARRAY['T-INR', 'T-JPY', 'T-NOPRICE', 'T-USD'],
  '... and names, in id order, active assets only');
SELECT is((SELECT array_agg(a ->> 'assetId') FROM jsonb_array_elements(pgfolio.search_assets('t-u')) a),
  ARRAY['T-USD'], '... and ids');
SELECT is(jsonb_array_length(pgfolio.search_assets(NULL, 500)),
  (SELECT count(*)::integer FROM pgfolio.assets WHERE active), 'no q: every active asset');
SELECT is((SELECT array_agg(a ->> 'assetId') FROM jsonb_array_elements(pgfolio.search_assets('test', 2)) a),
  ARRAY['T-INR', 'T-JPY'], 'max_rows limits the rows, the first ones by id');
SELECT is(pgfolio.search_assets('%'), '[]', 'q is literal: % is not a wildcard');
SELECT is(pgfolio.search_assets('T_INR'), '[]', '... nor is _');
SELECT is(pgfolio.search_assets('\'), '[]', '... and a lone backslash is neither an escape nor an error');
SELECT is(pgfolio.search_assets(repeat('é', 100)), '[]', 'q may have 100 characters');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.search_assets(%L)', repeat('é', 101))),
  '{"sqlstate": "PF400", "message": "q is longer than 100 characters", "detail": "{\"field\": \"q\"}"}',
  '... not 101');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.search_assets(%L, %s)', 'test', n)) ->> 'message',
  'max_rows must be between 1 and 500', format('max_rows %s is refused', n))
FROM unnest(ARRAY['0', '501', '-1', 'NULL']) n;
SELECT is(jsonb_array_length(pgfolio.search_assets('test', 1)), 1, 'max_rows 1 is allowed');

SELECT * FROM finish();
ROLLBACK;
