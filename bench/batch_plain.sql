-- The plain-SQL baseline for pgfolio.portfolio_values(): the same rows (portfolio, base
-- currency, cash, holdings value, total value) by the same rules, as fast as we could write it.
--  * A holding's value is quantity × price × FX rate, exact (numeric), rounded half-even to the
--    base currency's minor unit; the holdings value is the sum of those rounded values, and
--    cash is rounded half-even too.
--  * The FX rate is 1 within a currency, else the stored pair, else the inverse of the opposite
--    pair rounded half-even to 12 decimals (extension/core/fx.hpp).
--  * PostgreSQL's round(numeric) sends ties away from zero, so half-even is spelled out: a
--    value whose digits past the minor unit are exactly one half (x - trunc(x, m) = 5·10^-(m+1))
--    and whose last kept digit is even is truncated; everything else goes through round().
--    Nothing here is negative (quantities, prices and rates > 0, cash ≥ 0). With round() alone
--    hundreds of the benchmark's portfolios get a different total (bench/RESULTS.md).
-- What it does not do: a holding without a price (or rate) silently drops out of the inner
-- joins, where pgfolio raises MISSING_PRICE / MISSING_FX_RATE.
-- Shapes tried and found slower (bench/RESULTS.md): the product repeated inside the rounding
-- expression (lets PostgreSQL aggregate in parallel, but computes the product 2-3 times), one
-- GROUP BY over portfolios ⟕ holdings, and a materialised price × rate per (asset, currency).
WITH rates AS (
  SELECT c.code AS from_ccy, c.code AS to_ccy, 1::numeric AS rate FROM pgfolio.currencies c
  UNION ALL
  SELECT f.base, f.quote, f.rate FROM pgfolio.fx_rates f
  UNION ALL
  -- 1 / rate, half-even at 12 decimals: div() gives the truncated quotient's digits, the
  -- remainder decides the last one.
  SELECT f.quote, f.base,
         div(1e12, f.rate) / 1e12
           + CASE WHEN 2 * (1e12 - div(1e12, f.rate) * f.rate) > f.rate
                    OR (2 * (1e12 - div(1e12, f.rate) * f.rate) = f.rate
                        AND mod(div(1e12, f.rate), 2) = 1)
                  THEN 1e-12 ELSE 0 END
  FROM pgfolio.fx_rates f
  WHERE NOT EXISTS (SELECT FROM pgfolio.fx_rates d WHERE d.base = f.quote AND d.quote = f.base)
),
-- Per currency: its minor unit m, one half of its last digit, and 10^m; computed once here
-- rather than per holding.
units AS (
  SELECT code, minor_unit AS m, 5 * 10::numeric ^ (-minor_unit - 1) AS half,
         10::numeric ^ minor_unit AS per_unit
  FROM pgfolio.currencies
),
exact_values AS (
  SELECT h.portfolio_id, u.m, u.half, u.per_unit, h.quantity * pr.price * r.rate AS x
  FROM pgfolio.holdings h
  JOIN pgfolio.portfolios p ON p.id = h.portfolio_id
  JOIN pgfolio.prices pr ON pr.asset_id = h.asset_id
  JOIN rates r ON r.from_ccy = pr.currency AND r.to_ccy = p.base_currency
  JOIN units u ON u.code = p.base_currency
  -- A plan level of its own, so that the product is computed once per holding instead of once
  -- per use in the rounding expression.
  OFFSET 0
),
holdings_values AS (
  SELECT portfolio_id,
         sum(CASE WHEN x - trunc(x, m) = half AND mod(trunc(x, m) * per_unit, 2) = 0
                  THEN trunc(x, m) ELSE round(x, m) END) AS value
  FROM exact_values
  GROUP BY portfolio_id
)
SELECT p.id AS portfolio_id, p.base_currency, cash.value AS cash,
       coalesce(hv.value, round(0, u.m)) AS holdings_value,
       cash.value + coalesce(hv.value, 0) AS total_value
FROM pgfolio.portfolios p
JOIN units u ON u.code = p.base_currency
CROSS JOIN LATERAL (
  SELECT CASE WHEN p.cash_balance - trunc(p.cash_balance, u.m) = u.half
               AND mod(trunc(p.cash_balance, u.m) * u.per_unit, 2) = 0
              THEN trunc(p.cash_balance, u.m) ELSE round(p.cash_balance, u.m) END AS value
) cash
LEFT JOIN holdings_values hv ON hv.portfolio_id = p.id;
