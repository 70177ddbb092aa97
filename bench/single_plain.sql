-- The plain-SQL baselines for pgfolio.portfolio_valuation(:id), each one SQL statement with
-- the same rules (see batch_plain.sql for the half-even rounding and the FX rates).
-- Percentages are exact quotients rounded half-even to 2 decimals: div() gives the truncated
-- quotient, and the remainder decides the last digit.
-- Two statements share the WITH clause below; bench/bench.py cuts this file at the "-- @"
-- lines into:
--   document  the same jsonb document pgfolio returns (checked equal, portfolio by portfolio);
--   rows      the same numbers without the document: one row per holding, with the
--             portfolio's totals and allocation repeated on each (checked against pgfolio's).
WITH rates AS (
  SELECT f.base AS from_ccy, f.quote AS to_ccy, f.rate FROM pgfolio.fx_rates f
  UNION ALL
  SELECT f.quote, f.base,
         div(1e12, f.rate) / 1e12
           + CASE WHEN 2 * (1e12 - div(1e12, f.rate) * f.rate) > f.rate
                    OR (2 * (1e12 - div(1e12, f.rate) * f.rate) = f.rate
                        AND mod(div(1e12, f.rate), 2) = 1)
                  THEN 1e-12 ELSE 0 END
  FROM pgfolio.fx_rates f
  WHERE NOT EXISTS (SELECT FROM pgfolio.fx_rates d WHERE d.base = f.quote AND d.quote = f.base)
),
portfolio AS MATERIALIZED (
  SELECT p.base_currency, p.cash_balance, c.minor_unit AS m,
         5 * 10::numeric ^ (-c.minor_unit - 1) AS half, 10::numeric ^ c.minor_unit AS per_unit
  FROM pgfolio.portfolios p JOIN pgfolio.currencies c ON c.code = p.base_currency
  WHERE p.id = :id
),
exact AS MATERIALIZED (
  SELECT h.asset_id, a.layer, h.quantity, h.frozen_quantity, h.average_cost, pr.price,
         pr.currency, pr.as_of,
         CASE WHEN pr.currency = p.base_currency THEN 1 ELSE r.rate END AS rate,
         h.quantity * pr.price * CASE WHEN pr.currency = p.base_currency THEN 1 ELSE r.rate END AS x_value,
         h.quantity * h.average_cost AS x_cost,
         p.m, p.half, p.per_unit
  FROM portfolio p
  JOIN pgfolio.holdings h ON h.portfolio_id = :id
  JOIN pgfolio.assets a ON a.id = h.asset_id
  JOIN pgfolio.prices pr ON pr.asset_id = h.asset_id
  LEFT JOIN rates r ON r.from_ccy = pr.currency AND r.to_ccy = p.base_currency
),
rounded AS MATERIALIZED (
  SELECT e.*, v.value, v.cost_basis, v.value - v.cost_basis AS pnl
  FROM exact e CROSS JOIN LATERAL (
    SELECT CASE WHEN x_value - trunc(x_value, m) = half AND mod(trunc(x_value, m) * per_unit, 2) = 0
                THEN trunc(x_value, m) ELSE round(x_value, m) END AS value,
           CASE WHEN x_cost - trunc(x_cost, m) = half AND mod(trunc(x_cost, m) * per_unit, 2) = 0
                THEN trunc(x_cost, m) ELSE round(x_cost, m) END AS cost_basis) v
),
totals AS MATERIALIZED (
  SELECT p.*, c.cash, coalesce(t.holdings_value, round(0, p.m)) AS holdings_value,
         coalesce(t.cost_basis, round(0, p.m)) AS cost_basis, t.oldest
  FROM portfolio p
  CROSS JOIN LATERAL (
    SELECT CASE WHEN p.cash_balance - trunc(p.cash_balance, p.m) = p.half
                 AND mod(trunc(p.cash_balance, p.m) * p.per_unit, 2) = 0
                THEN trunc(p.cash_balance, p.m) ELSE round(p.cash_balance, p.m) END AS cash) c
  CROSS JOIN (SELECT sum(value) AS holdings_value, sum(cost_basis) AS cost_basis, min(as_of) AS oldest
              FROM rounded) t
),
layers AS (
  SELECT l.layer, coalesce(sum(r.value), round(0, t.m)) AS value, t.holdings_value
  FROM totals t
  CROSS JOIN unnest(ARRAY['FOUNDATION', 'GROWTH', 'UPSIDE']) l(layer)
  LEFT JOIN rounded r ON r.layer = l.layer
  GROUP BY l.layer, t.m, t.holdings_value
),
-- percent = part × 100 / whole, half-even at 2 decimals; NULL when whole is 0.
percents AS (
  SELECT kind, key, CASE WHEN whole = 0 THEN NULL ELSE round((q + CASE
           WHEN 2 * abs(t - q * whole) > whole OR (2 * abs(t - q * whole) = whole AND mod(q, 2) <> 0)
           THEN sign(t) ELSE 0 END) / 100, 2) END AS percent
  FROM (SELECT kind, key, part * 10000 AS t, whole,
               CASE WHEN whole = 0 THEN 0 ELSE div(part * 10000, whole) END AS q
        FROM (SELECT 'holding' AS kind, asset_id AS key, pnl AS part, cost_basis AS whole FROM rounded
              UNION ALL
              SELECT 'layer', layer, value, holdings_value FROM layers
              UNION ALL
              SELECT 'return', '', holdings_value - cost_basis, cost_basis FROM totals) parts) q
)
-- @document
-- The time format spells its colons \x3a: pgbench takes a colon followed by letters for a
-- variable, even inside a string.
SELECT jsonb_build_object(
  'baseCurrency', t.base_currency,
  'cash', t.cash::text,
  'holdingsValue', t.holdings_value::text,
  'totalValue', (t.cash + t.holdings_value)::text,
  'costBasis', t.cost_basis::text,
  'unrealizedPnl', (t.holdings_value - t.cost_basis)::text,
  'returnPercent', (SELECT percent::text FROM percents WHERE kind = 'return'),
  'allocation', (SELECT jsonb_object_agg(l.layer, jsonb_build_object(
                          'value', l.value::text,
                          'percent', coalesce(pc.percent, 0.00)::text))
                 FROM layers l JOIN percents pc ON pc.kind = 'layer' AND pc.key = l.layer),
  'oldestPriceAsOf', to_char(t.oldest AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS.US"Z"'),
  'holdings', coalesce((
    SELECT jsonb_agg(jsonb_build_object(
             'assetId', r.asset_id,
             'layer', r.layer,
             'quantity', trim_scale(r.quantity)::text,
             'frozenQuantity', trim_scale(r.frozen_quantity)::text,
             'price', trim_scale(r.price)::text,
             'priceCurrency', r.currency,
             'priceAsOf', to_char(r.as_of AT TIME ZONE 'UTC', E'YYYY-MM-DD"T"HH24\x3aMI\x3aSS.US"Z"'),
             'fxRate', trim_scale(r.rate)::text,
             'value', r.value::text,
             'averageCost', trim_scale(r.average_cost)::text,
             'costBasis', r.cost_basis::text,
             'unrealizedPnl', r.pnl::text,
             'unrealizedPnlPercent', pc.percent::text) ORDER BY r.asset_id)
    FROM rounded r JOIN percents pc ON pc.kind = 'holding' AND pc.key = r.asset_id),
    '[]'::jsonb))
FROM totals t;
-- @rows
SELECT r.asset_id, r.layer, r.quantity, r.frozen_quantity, r.price, r.currency, r.as_of, r.rate,
       r.value, r.average_cost, r.cost_basis, r.pnl, pc.percent AS pnl_percent,
       t.base_currency, t.cash, t.holdings_value, t.cash + t.holdings_value AS total_value,
       t.cost_basis AS total_cost_basis, t.holdings_value - t.cost_basis AS unrealized_pnl,
       (SELECT percent FROM percents WHERE kind = 'return') AS return_percent,
       t.oldest AS oldest_price_as_of,
       (SELECT array_agg(l.value ORDER BY l.layer) FROM layers l) AS layer_values,
       (SELECT array_agg(coalesce(percent, 0.00) ORDER BY key) FROM percents WHERE kind = 'layer')
         AS layer_percents
FROM totals t
LEFT JOIN (rounded r JOIN percents pc ON pc.kind = 'holding' AND pc.key = r.asset_id) ON true
ORDER BY r.asset_id;
