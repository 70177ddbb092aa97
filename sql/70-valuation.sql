-- Valuation (extension/core/valuation.cpp). The functions run as the caller: row-level
-- security decides which portfolios they can see (an invisible one is NOT_FOUND).

CREATE FUNCTION portfolio_valuation(portfolio_id uuid) RETURNS jsonb
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'pgfolio_portfolio_valuation';

-- Total value (cash + holdings) in the portfolio's base currency.
CREATE FUNCTION portfolio_value(portfolio_id uuid) RETURNS numeric
LANGUAGE sql STABLE STRICT SET search_path = @extschema@, pg_temp
AS $$ SELECT (portfolio_valuation(portfolio_id) ->> 'totalValue')::numeric $$;

CREATE FUNCTION layer_allocation(portfolio_id uuid)
RETURNS TABLE (layer text, value numeric, percent numeric)
LANGUAGE sql STABLE STRICT SET search_path = @extschema@, pg_temp
AS $$
  SELECT l.key, (l.value ->> 'value')::numeric, (l.value ->> 'percent')::numeric
  FROM jsonb_each(portfolio_valuation(portfolio_id) -> 'allocation') l
  ORDER BY array_position(ARRAY['FOUNDATION', 'GROWTH', 'UPSIDE'], l.key)
$$;

-- One row per visible portfolio (all of them when portfolio_ids is NULL), for snapshots and
-- the leaderboard. Unknown ids are simply absent.
CREATE FUNCTION portfolio_values(portfolio_ids uuid[] DEFAULT NULL)
RETURNS TABLE (portfolio_id uuid, base_currency text, cash numeric, holdings_value numeric,
               total_value numeric)
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'pgfolio_portfolio_values';

GRANT EXECUTE ON FUNCTION portfolio_valuation(uuid), portfolio_value(uuid),
  layer_allocation(uuid), portfolio_values(uuid[])
  TO pgfolio_api, pgfolio_analyst, pgfolio_admin;
