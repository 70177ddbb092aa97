-- Reading someone else's portfolio: public and unlisted portfolios by id, as weights and
-- performance. Never cash, quantities or amounts, and of the owner only the display name.

-- value rounded half-even at `scale` decimals: the one rounding rule (docs/money.md) where SQL
-- has to round, since PostgreSQL's round() sends ties away from zero.
CREATE FUNCTION round_half_even(value numeric, scale integer) RETURNS numeric
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
  -- Shifted so the rounding digit is the units digit; a tie is a fraction of exactly ±0.5.
  SELECT CASE
    WHEN abs(shifted - trunc(shifted)) = 0.5 AND trunc(shifted) % 2 = 0
      THEN trunc(value, scale)
    ELSE round(value, scale)
  END
  FROM (SELECT value * power(10::numeric, scale) AS shifted) s
$$;

-- A public or unlisted portfolio's weights and performance, for anyone who knows its id. It
-- runs as the extension's owner to read past row-level security, so it builds its answer
-- from an explicit list of what may be shown.
CREATE FUNCTION public_portfolio(portfolio_id uuid) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  p record;
  valuation jsonb;
  holdings_value numeric;
BEGIN
  SELECT pf.id, pf.name, pf.base_currency, pf.visibility, d.display_name INTO p
  FROM portfolios pf JOIN user_directory d ON d.id = pf.owner_id
  WHERE pf.id = public_portfolio.portfolio_id AND pf.visibility IN ('public', 'unlisted')
    AND pf.status = 'active';
  IF NOT FOUND THEN
    PERFORM raise_error('NOT_FOUND', format('portfolio %s not found', portfolio_id),
                        jsonb_build_object('portfolioId', portfolio_id));
  END IF;
  valuation := portfolio_valuation(p.id);
  holdings_value := (valuation ->> 'holdingsValue')::numeric;
  RETURN jsonb_build_object(
    'id', p.id, 'name', p.name, 'visibility', p.visibility,
    'ownerDisplayName', p.display_name, 'baseCurrency', p.base_currency,
    'returnPercent', valuation -> 'returnPercent',
    'allocationPercent', (SELECT coalesce(jsonb_object_agg(a.key, a.value -> 'percent'), '{}')
                          FROM jsonb_each(valuation -> 'allocation') a),
    'holdings', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                   'assetId', h ->> 'assetId', 'layer', h ->> 'layer',
                   'weightPercent', CASE WHEN holdings_value > 0 THEN
                     round_half_even((h ->> 'value')::numeric * 100 / holdings_value, 2)::text
                   ELSE '0' END)
                   ORDER BY h ->> 'assetId'), '[]')
                 FROM jsonb_array_elements(valuation -> 'holdings') h));
END
$$;

GRANT EXECUTE ON FUNCTION round_half_even(numeric, integer), public_portfolio(uuid)
  TO pgfolio_api, pgfolio_analyst, pgfolio_admin;
