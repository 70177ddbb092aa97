-- Cash in and out (sql/88-funds.sql): each movement changes the cash, writes a transaction,
-- a ledger entry with the state before and after, and an activity line, in one transaction;
-- never below zero; bad amounts, other users' portfolios and callers without a session refused.
BEGIN;
SELECT plan(24);
\ir fixtures.psql

\set pa '''a1000000-0000-4000-8000-00000000000a'''
\set pb '''b1000000-0000-4000-8000-00000000000b'''

SELECT pg_temp.act_as('a0000000-0000-4000-8000-00000000000a') \g /dev/null
SET LOCAL ROLE pgfolio_api;

SELECT is(pgfolio.funds_add(:pa, 100.50) - ARRAY['transactionId', 'ledgerEntryId'],
          '{"portfolioId": "a1000000-0000-4000-8000-00000000000a", "kind": "DEPOSIT",
            "amount": "100.5", "cash": "1101.005"}',
          'funds_add pays cash in and answers the new cash');
SELECT is((SELECT cash_balance FROM pgfolio.portfolios WHERE id = :pa), 1101.005::numeric,
          'the portfolio holds it');
SELECT results_eq(
  $$SELECT kind, amount, fee, asset_id FROM pgfolio.transactions
    WHERE portfolio_id = 'a1000000-0000-4000-8000-00000000000a'$$,
  $$VALUES ('DEPOSIT', 100.50::numeric, 0::numeric, NULL::text)$$,
  'one DEPOSIT transaction');
SELECT results_eq(
  $$SELECT entry_type, amount, snapshot_before ->> 'cash', snapshot_after ->> 'cash', message
    FROM pgfolio.ledger WHERE portfolio_id = 'a1000000-0000-4000-8000-00000000000a'$$,
  $$VALUES ('ADD_FUNDS', 100.50::numeric, '1000.505', '1101.005', 'Added INR 100.5')$$,
  'one ADD_FUNDS ledger entry with the cash before and after');
SELECT is((SELECT l.id FROM pgfolio.ledger l WHERE l.portfolio_id = :pa),
          (SELECT t.ledger_id FROM pgfolio.transactions t WHERE t.portfolio_id = :pa),
          'the transaction names its ledger entry');
SELECT is((SELECT message FROM pgfolio.action_log WHERE portfolio_id = :pa), 'Added INR 100.5',
          'and the activity feed shows it');

SELECT is(pgfolio.funds_withdraw(:pa, 1101) ->> 'cash', '0.005', 'funds_withdraw pays cash out');
SELECT is(pg_temp.error_of($$SELECT pgfolio.funds_withdraw('a1000000-0000-4000-8000-00000000000a', 0.01)$$)
          - 'message',
          jsonb_build_object('sqlstate', 'PF425',
                             'detail', '{"required": "0.01", "available": "0.005"}'),
          'never below zero: INSUFFICIENT_CASH with what was asked and what there is');
SELECT is((SELECT count(*) FROM pgfolio.ledger WHERE portfolio_id = :pa), 2::bigint,
          'a refused withdrawal writes no entry');
SELECT is((SELECT cash_balance FROM pgfolio.portfolios WHERE id = :pa), 0.005::numeric,
          '... and leaves the cash alone');

SELECT is(pg_temp.error_of(format('SELECT pgfolio.funds_add(%L, %s)', :pa, a)) ->> 'detail',
          '{"field": "amount"}', 'amount ' || a || ' is refused, naming the field')
FROM unnest(ARRAY['0', '-5', '''NaN''', '1000000000000.01', 'NULL']) a;
SELECT is(pg_temp.error_of(format('SELECT pgfolio.funds_add(%L, 1.001)', :pa)) ->> 'detail',
          '{"field": "amount", "maxDecimals": 2}', 'INR takes no more than 2 decimals');
SELECT is(pg_temp.error_of(format('SELECT pgfolio.funds_add(%L, 10)', :pb)) ->> 'sqlstate',
          'PF404', 'another user''s portfolio is NOT_FOUND');
SELECT is(pg_temp.error_of($$SELECT pgfolio.funds_withdraw('00000000-0000-4000-8000-000000000000', 1)$$)
          ->> 'sqlstate', 'PF404', 'so is an unknown one');
SELECT is(pg_temp.error_of($$SELECT pgfolio.funds_add(NULL, 1)$$),
          '{"sqlstate": "PF404", "message": "no default portfolio",
            "detail": "{\"portfolioId\": null}"}',
          'NULL means the default portfolio, and A has none yet');
SELECT is((SELECT count(*) FROM pgfolio.transactions), 2::bigint,
          'the refusals wrote no transaction');
RESET ROLE;
UPDATE pgfolio.portfolios SET is_default = true WHERE id = :pa;
SET LOCAL ROLE pgfolio_api;
SELECT is(pgfolio.funds_add(NULL, 5) ->> 'portfolioId', 'a1000000-0000-4000-8000-00000000000a',
          'with a default portfolio, NULL pays into it');
RESET ROLE;

SELECT ok(NOT has_function_privilege('pgfolio_api', f, 'EXECUTE'), 'pgfolio_api cannot call ' || f)
FROM unnest(ARRAY['pgfolio.funds_move(uuid, text, numeric)',
                  'pgfolio.portfolio_for_change(uuid)']) f;
SELECT ok(bool_and(ok) AND count(*) = 1 AND sum(entries_checked) = 3,
          'the portfolio''s ledger verifies, three entries')
FROM pgfolio.ledger_verify('a1000000-0000-4000-8000-00000000000a');

SELECT * FROM finish();
ROLLBACK;
