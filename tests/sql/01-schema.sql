-- Schema invariants: the constraints that keep stored state valid whatever writes it.
BEGIN;
SELECT plan(27);
\ir fixtures.psql

SELECT has_table('pgfolio', t, 'table pgfolio.' || t || ' exists')
FROM unnest(ARRAY['users', 'assets', 'prices', 'price_history', 'fx_rates', 'portfolios',
                  'holdings', 'currencies']) t;

SELECT throws_ok($$INSERT INTO pgfolio.users (email) VALUES ('USER.A@test.example')$$, '23505',
  NULL, 'emails are unique ignoring case');
SELECT throws_ok($$INSERT INTO pgfolio.users (phone) VALUES ('98000')$$, '23514', NULL,
  'a phone must be E.164');
SELECT throws_ok($$INSERT INTO pgfolio.users (display_name) VALUES ('nobody')$$, '23514', NULL,
  'a user has an email or a phone');
SELECT throws_ok($$INSERT INTO pgfolio.users (phone) VALUES ('+919800000001');
  INSERT INTO pgfolio.users (phone) VALUES ('+919800000001')$$, '23505', NULL,
  'phones are unique');
SELECT lives_ok($$INSERT INTO pgfolio.users (status, display_name) VALUES ('deleted', 'gone')$$,
  'a deleted user needs no contact');
SELECT throws_ok($$INSERT INTO pgfolio.users (email, target_foundation_pct, target_growth_pct,
  target_upside_pct) VALUES ('x@test.example', 50, 30, 10)$$, '23514', NULL,
  'a user target allocation sums to 100');
SELECT throws_ok($$UPDATE pgfolio.portfolios SET cash_balance = -0.01
  WHERE id = 'a1000000-0000-4000-8000-00000000000a'$$, '23514', NULL, 'cash is never negative');
SELECT throws_ok($$UPDATE pgfolio.portfolios SET target_upside_pct = 21
  WHERE id = 'a1000000-0000-4000-8000-00000000000a'$$, '23514', NULL,
  'a portfolio target allocation sums to 100');
SELECT throws_ok($$UPDATE pgfolio.portfolios SET visibility = 'secret'$$, '23514', NULL,
  'visibility is public, unlisted or private');
SELECT throws_ok($$UPDATE pgfolio.holdings SET quantity = 0$$, '23514', NULL,
  'holding quantities are positive');
SELECT throws_ok($$UPDATE pgfolio.holdings SET frozen_quantity = quantity + 1$$, '23514', NULL,
  'frozen quantity never exceeds the quantity');
SELECT throws_ok($$UPDATE pgfolio.prices SET price = 0 WHERE asset_id = 'T-INR'$$, '23514', NULL,
  'prices are positive');
SELECT throws_ok($$UPDATE pgfolio.prices SET currency = 'USD' WHERE asset_id = 'T-INR'$$, '23503',
  NULL, 'a price is in its asset''s quote currency');
SELECT throws_ok($$INSERT INTO pgfolio.fx_rates (base, quote, rate, source, as_of)
  VALUES ('INR', 'INR', 1, 't', now())$$, '23514', NULL, 'an FX rate joins two currencies');
SELECT throws_ok($$INSERT INTO pgfolio.price_history (asset_id, at, high, low, close, source)
  VALUES ('T-INR', now(), 90, 110, 100, 't')$$, '23514', NULL,
  'a history row''s low is not above its high');
SELECT throws_ok($$INSERT INTO pgfolio.holdings (portfolio_id, asset_id, quantity, average_cost)
  VALUES ('a1000000-0000-4000-8000-00000000000a', 'NO-SUCH-ASSET', 1, 1)$$, '23503', NULL,
  'a holding is of a registered asset');
SELECT throws_ok($$INSERT INTO pgfolio.assets (id, symbol, name, asset_class, quote_currency, layer)
  VALUES ('T-BAD', 'X', 'x', 'STOCK', 'INR', 'MIDDLE')$$, '23514', NULL,
  'layers are FOUNDATION, GROWTH or UPSIDE');

-- PostgreSQL lets PUBLIC execute every new function; pgfolio revokes that and grants each
-- function to the roles that need it.
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
                  WHERE p.pronamespace = 'pgfolio'::regnamespace
                    AND has_function_privilege('public', p.oid, 'EXECUTE')$$,
  'no pgfolio function is executable by PUBLIC');
SELECT is_empty($$SELECT p.oid::regprocedure FROM pg_proc p
                  WHERE p.pronamespace = 'pgfolio'::regnamespace
                    AND p.proname IN ('upsert_prices', 'upsert_fx_rates', 'run_job',
                                      'schedule_jobs', 'unschedule_jobs')
                    AND (has_function_privilege('pgfolio_api', p.oid, 'EXECUTE')
                         OR has_function_privilege('pgfolio_analyst', p.oid, 'EXECUTE'))$$,
  'the administrator functions are not executable by pgfolio_api or pgfolio_analyst');

SELECT * FROM finish();
ROLLBACK;
