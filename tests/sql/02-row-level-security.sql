-- Ownership in the database: pgfolio_api reaches only the acting user's rows, none without an
-- acting user authenticated with a live session (so a bug in pgfolio-http that names another
-- user leaks nothing); analysts read portfolios but no personal data.
BEGIN;
SELECT plan(31);
\ir fixtures.psql

SET LOCAL ROLE pgfolio_api;
SELECT is((SELECT count(*) FROM pgfolio.portfolios), 0::bigint,
  'without an acting user pgfolio_api sees no portfolio');
SELECT is((SELECT count(*) FROM pgfolio.users), 0::bigint, '... and no user');
SELECT is((SELECT count(*) FROM pgfolio.holdings), 0::bigint, '... and no holding');
SELECT throws_ok($$SELECT pgfolio.portfolio_valuation('a1000000-0000-4000-8000-00000000000a')$$,
  'PF404', NULL, '... and cannot value a portfolio');

SELECT pg_temp.act_as('a0000000-0000-4000-8000-00000000000a') \g /dev/null
SELECT results_eq($$SELECT id FROM pgfolio.portfolios$$,
  $$VALUES ('a1000000-0000-4000-8000-00000000000a'::uuid)$$,
  'acting as A, pgfolio_api sees exactly A''s portfolio');
SELECT results_eq($$SELECT email FROM pgfolio.users$$, $$VALUES ('user.a@test.example')$$,
  '... and only A''s user row');
SELECT is((SELECT count(*) FROM pgfolio.holdings), 2::bigint, '... and A''s two holdings');
-- Cash 1000.505 rounds half-even to INR's minor unit: the digit kept (0) is even, so 1000.50,
-- not 1000.51. Holdings: 10 × 100.25 + 3 × 2.5 USD × 80 = 1002.50 + 600.00.
SELECT is(pgfolio.portfolio_value('a1000000-0000-4000-8000-00000000000a'), 2603.00,
  '... and can value A''s portfolio');
SELECT throws_ok($$SELECT pgfolio.portfolio_valuation('b1000000-0000-4000-8000-00000000000b')$$,
  'PF404', 'portfolio b1000000-0000-4000-8000-00000000000b not found',
  'acting as A, B''s portfolio does not exist');
SELECT is((SELECT count(*) FROM pgfolio.portfolio_values(
  ARRAY['a1000000-0000-4000-8000-00000000000a', 'b1000000-0000-4000-8000-00000000000b']::uuid[])),
  1::bigint, 'the batch valuation sees only A''s portfolio');
SELECT throws_ok($$UPDATE pgfolio.portfolios SET cash_balance = 1e9$$, '42501', NULL,
  'pgfolio_api cannot write tables directly');
SELECT throws_ok($$SELECT set_config('pgfolio.acting_user', 'not-a-uuid', true);
  SELECT count(*) FROM pgfolio.portfolios$$, '22P02', NULL,
  'a malformed acting user is an error, not nobody');
RESET ROLE;

-- Public and unlisted portfolios are readable by anyone, only through the public views: no
-- cash, no quantities, no personal data beyond a display name.
SELECT results_eq($$SELECT id, name, owner_display_name FROM pgfolio.public_portfolios
                    WHERE id IN ('a1000000-0000-4000-8000-00000000000a',
                                 'b1000000-0000-4000-8000-00000000000b')$$,
  $$VALUES ('b1000000-0000-4000-8000-00000000000b'::uuid, 'B main', 'User B')$$,
  'acting as A, pgfolio_api sees B''s public portfolio (not A''s private one) in public_portfolios');
SELECT results_eq($$SELECT asset_id, layer FROM pgfolio.public_portfolio_holdings
                    WHERE portfolio_id = 'b1000000-0000-4000-8000-00000000000b'$$,
  $$VALUES ('T-GOLD', 'FOUNDATION')$$, '... and what it holds, by asset and layer');
RESET ROLE;
SELECT columns_are('pgfolio', 'public_portfolios',
  ARRAY['id', 'name', 'owner_display_name', 'base_currency', 'created_at'],
  'public_portfolios shows no cash and no personal data');
SELECT columns_are('pgfolio', 'public_portfolio_holdings', ARRAY['portfolio_id', 'asset_id', 'layer'],
  'public_portfolio_holdings shows no quantities or amounts');

-- Unlisted: readable by id through public_portfolio(), listed nowhere.
INSERT INTO pgfolio.portfolios (id, owner_id, name, visibility, cash_balance) VALUES
  ('b2000000-0000-4000-8000-00000000000b', 'b0000000-0000-4000-8000-00000000000b', 'B quiet', 'unlisted', 99);
INSERT INTO pgfolio.holdings (portfolio_id, asset_id, quantity, average_cost) VALUES
  ('b2000000-0000-4000-8000-00000000000b', 'T-INR', 3, 100),
  ('b2000000-0000-4000-8000-00000000000b', 'T-GOLD', 1, 7000);
SET LOCAL ROLE pgfolio_api;
SELECT is((SELECT count(*) FROM pgfolio.public_portfolio_holdings
           WHERE portfolio_id = 'b2000000-0000-4000-8000-00000000000b'), 0::bigint,
  'an unlisted portfolio is not in public_portfolio_holdings');
SELECT is(pgfolio.public_portfolio('b2000000-0000-4000-8000-00000000000b'),
  '{"id": "b2000000-0000-4000-8000-00000000000b", "name": "B quiet", "visibility": "unlisted",
    "ownerDisplayName": "User B", "baseCurrency": "INR", "returnPercent": "0.01",
    "allocationPercent": {"GROWTH": "4.12", "UPSIDE": "0.00", "FOUNDATION": "95.88"},
    "holdings": [{"assetId": "T-GOLD", "layer": "FOUNDATION", "weightPercent": "95.88"},
                 {"assetId": "T-INR", "layer": "GROWTH", "weightPercent": "4.12"}]}'::jsonb,
  '... but anyone with its id reads its weights and performance, without cash or quantities');
SELECT throws_ok($$SELECT pgfolio.public_portfolio('a1000000-0000-4000-8000-00000000000a')$$,
  'PF404', 'portfolio a1000000-0000-4000-8000-00000000000a not found',
  'a private portfolio is not public_portfolio''s to show');
SELECT throws_ok($$SELECT 1 FROM pgfolio.user_directory$$, '42501', NULL,
  'pgfolio_api has no user directory');
RESET ROLE;

-- Naming another user by hand reads nothing of theirs (issue 3): row-level security follows
-- pgfolio.acting_user only when pgfolio.session_id names a live session of that user, who is
-- active. B gets a live, a revoked and an expired session and an audit row; A a live session.
INSERT INTO pgfolio.sessions (id, user_id, created_at, expires_at, revoked_at, revoked_reason) VALUES
  ('b5000000-0000-4000-8000-000000000001', 'b0000000-0000-4000-8000-00000000000b',
   now(), now() + interval '1 hour', NULL, NULL),
  ('b5000000-0000-4000-8000-000000000002', 'b0000000-0000-4000-8000-00000000000b',
   now(), now() + interval '1 hour', now(), 'logout'),
  ('b5000000-0000-4000-8000-000000000003', 'b0000000-0000-4000-8000-00000000000b',
   now() - interval '2 hours', now() - interval '1 hour', NULL, NULL),
  ('a5000000-0000-4000-8000-000000000001', 'a0000000-0000-4000-8000-00000000000a',
   now(), now() + interval '1 hour', NULL, NULL);
INSERT INTO pgfolio.audit_logs (actor_id, action, resource_type, resource_id)
VALUES ('b0000000-0000-4000-8000-00000000000b', 'logout', 'session',
        'b5000000-0000-4000-8000-000000000001');
-- What pgfolio_api sees of B after setting both settings by hand: rows per table.
CREATE FUNCTION pg_temp.b_rows_seen(session_id text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  b constant uuid := 'b0000000-0000-4000-8000-00000000000b';
BEGIN
  PERFORM set_config('pgfolio.acting_user', b::text, true),
          set_config('pgfolio.session_id', session_id, true);
  RETURN jsonb_build_object(
    'users', (SELECT count(*) FROM pgfolio.users WHERE email IS NOT NULL OR phone IS NOT NULL),
    'portfolios', (SELECT count(*) FROM pgfolio.portfolios WHERE owner_id = b),
    'holdings', (SELECT count(*) FROM pgfolio.holdings),
    'sessions', (SELECT count(*) FROM pgfolio.sessions WHERE user_id = b),
    'auditLogs', (SELECT count(*) FROM pgfolio.audit_logs WHERE actor_id = b));
END
$$;
\set nothing '''{"users": 0, "portfolios": 0, "holdings": 0, "sessions": 0, "auditLogs": 0}'''
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.b_rows_seen('b5000000-0000-4000-8000-000000000001'),
  '{"users": 1, "portfolios": 2, "holdings": 3, "sessions": 3, "auditLogs": 1}',
  'with B''s live session, pgfolio_api sees B''s user, portfolios, holdings, sessions and audit row');
SELECT is(pg_temp.b_rows_seen(''), :nothing,
  'pgfolio.acting_user set to B by hand, without a session: nothing of B''s');
SELECT is(pg_temp.b_rows_seen('b5000000-0000-4000-8000-000000000002'), :nothing,
  '... nor with B''s revoked session');
SELECT is(pg_temp.b_rows_seen('b5000000-0000-4000-8000-000000000003'), :nothing,
  '... nor with B''s expired session');
SELECT is(pg_temp.b_rows_seen('a5000000-0000-4000-8000-000000000001'), :nothing,
  '... nor with A''s live session');
SELECT is(pg_temp.b_rows_seen('b0000000-0000-4000-8000-00000000000b'), :nothing,
  '... nor with B''s user id as the session');
RESET ROLE;
UPDATE pgfolio.users SET status = 'suspended' WHERE id = 'b0000000-0000-4000-8000-00000000000b';
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.b_rows_seen('b5000000-0000-4000-8000-000000000001'), :nothing,
  '... nor with B''s live session once B is suspended');
RESET ROLE;
UPDATE pgfolio.users SET status = 'active' WHERE id = 'b0000000-0000-4000-8000-00000000000b';

-- Evaluated once per statement, not per row: the policies call acting_user_id() (a session
-- lookup) as an uncorrelated subquery, which PostgreSQL runs as an InitPlan.
SELECT is_empty($$SELECT polname FROM pg_policy
                  WHERE polrelid IN ('pgfolio.users'::regclass, 'pgfolio.portfolios'::regclass,
                                     'pgfolio.holdings'::regclass, 'pgfolio.sessions'::regclass,
                                     'pgfolio.audit_logs'::regclass)
                    AND 'pgfolio_api'::regrole = ANY (polroles)
                    AND pg_get_expr(polqual, polrelid) !~ '\(\s*SELECT (pgfolio\.)?acting_user_id\(\)'$$,
  'every pgfolio_api policy calls acting_user_id() as (SELECT acting_user_id())');

SET LOCAL ROLE pgfolio_analyst;
SELECT ok((SELECT count(*) FROM pgfolio.portfolios) >= 2, 'analysts read every portfolio');
SELECT throws_ok($$SELECT email FROM pgfolio.users$$, '42501', NULL,
  'analysts cannot read personal data');
SELECT results_eq($$SELECT display_name FROM pgfolio.user_directory
                    WHERE id = 'a0000000-0000-4000-8000-00000000000a'$$,
  $$VALUES ('User A')$$, '... only display names, through user_directory');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
