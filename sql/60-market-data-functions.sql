-- Reading and loading market data. Reads are plain SQL (the planner does them best);
-- loading validates every row and names the bad one, so a feeder's mistake is never half-applied.

-- One price as the API shows it; numbers that are money or prices are decimal strings.
CREATE FUNCTION price_json(a assets, p prices) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
  SELECT jsonb_build_object(
    'assetId', a.id, 'symbol', a.symbol, 'name', a.name, 'layer', a.layer,
    'price', trim_scale(p.price)::text, 'currency', p.currency, 'source', p.source,
    'asOf', p.as_of,
    'change24hPercent', trim_scale(p.change_24h_pct)::text)
$$;

CREATE FUNCTION list_prices() RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
  SELECT coalesce(jsonb_agg(price_json(a, p) ORDER BY a.id), '[]'::jsonb)
  FROM assets a JOIN prices p ON p.asset_id = a.id
  WHERE a.active
$$;

CREATE FUNCTION get_price(asset_id text) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  result jsonb;
BEGIN
  SELECT price_json(a, p) INTO result
  FROM assets a JOIN prices p ON p.asset_id = a.id
  WHERE a.id = get_price.asset_id;
  IF result IS NULL THEN
    PERFORM raise_error('NOT_FOUND', format('no price for asset %s', get_price.asset_id),
                        jsonb_build_object('assetId', get_price.asset_id));
  END IF;
  RETURN result;
END
$$;

-- Active assets whose id, symbol or name contains q (case-insensitive); all when q is NULL.
CREATE FUNCTION search_assets(q text DEFAULT NULL, max_rows integer DEFAULT 50) RETURNS jsonb
LANGUAGE plpgsql STABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  pattern text;
BEGIN
  IF length(q) > 100 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'q is longer than 100 characters',
                        jsonb_build_object('field', 'q'));
  END IF;
  IF max_rows NOT BETWEEN 1 AND 500 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'max_rows must be between 1 and 500',
                        jsonb_build_object('field', 'max_rows'));
  END IF;
  -- Escape LIKE's wildcards so q is matched literally.
  pattern := '%' || replace(replace(replace(coalesce(q, ''), '\', '\\'), '%', '\%'), '_', '\_')
             || '%';
  RETURN (
    SELECT coalesce(jsonb_agg(jsonb_build_object(
             'assetId', a.id, 'symbol', a.symbol, 'exchange', a.exchange, 'name', a.name,
             'isin', a.isin, 'assetClass', a.asset_class, 'sector', a.sector,
             'quoteCurrency', a.quote_currency, 'layer', a.layer,
             'minTradeAmount', a.min_trade_amount::text,
             'quantityDecimals', a.quantity_decimals) ORDER BY a.id), '[]'::jsonb)
    FROM (SELECT * FROM assets a
          WHERE a.active
            AND (a.id ILIKE pattern OR a.symbol ILIKE pattern OR a.name ILIKE pattern)
          ORDER BY a.id LIMIT max_rows) a);
END
$$;

-- Reads a required decimal field of a batch row; names the row and field when it is wrong.
-- JSON numbers are accepted exactly as written (jsonb keeps numerics exact), strings must
-- be plain decimals.
CREATE FUNCTION batch_decimal(batch_row jsonb, idx integer, field text) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v jsonb := batch_row -> field;
BEGIN
  IF v IS NULL OR jsonb_typeof(v) NOT IN ('string', 'number')
     OR (jsonb_typeof(v) = 'string' AND NOT (v #>> '{}') ~ '^[+-]?[0-9]{1,20}(\.[0-9]{1,12})?$')
  THEN
    PERFORM raise_error('VALIDATION_ERROR',
      format('row %s: %s must be a decimal string', idx, field),
      jsonb_build_object('row', idx, 'field', field));
  END IF;
  RETURN (v #>> '{}')::numeric;
END
$$;

CREATE FUNCTION batch_timestamp(batch_row jsonb, idx integer, field text) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  IF jsonb_typeof(batch_row -> field) IS DISTINCT FROM 'string' THEN
    PERFORM raise_error('VALIDATION_ERROR', format('row %s: %s must be a timestamp', idx, field),
                        jsonb_build_object('row', idx, 'field', field));
  END IF;
  RETURN (batch_row ->> field)::timestamptz;
EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
  PERFORM raise_error('VALIDATION_ERROR', format('row %s: %s is not a timestamp', idx, field),
                      jsonb_build_object('row', idx, 'field', field));
  RETURN NULL;
END
$$;

CREATE FUNCTION require_batch(batch jsonb, max_rows integer) RETURNS void
LANGUAGE plpgsql IMMUTABLE SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  IF jsonb_typeof(batch) IS DISTINCT FROM 'array' OR jsonb_array_length(batch) = 0 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'expected a non-empty JSON array of rows');
  ELSIF jsonb_array_length(batch) > max_rows THEN
    PERFORM raise_error('VALIDATION_ERROR', format('at most %s rows per batch', max_rows),
                        jsonb_build_object('maxRows', max_rows));
  END IF;
END
$$;

-- Loads latest prices: [{assetId, price, currency, source, asOf, change24hPercent?}, ...].
-- A row older than the stored price only goes to history. Returns the number of rows read.
CREATE FUNCTION upsert_prices(batch jsonb) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  r jsonb;
  idx integer := 0;
  v_asset assets;
  v_price numeric;
  v_as_of timestamptz;
BEGIN
  PERFORM require_batch(batch, 10000);
  FOR r IN SELECT value FROM jsonb_array_elements(batch) LOOP
    idx := idx + 1;
    IF jsonb_typeof(r) <> 'object' THEN
      PERFORM raise_error('VALIDATION_ERROR', format('row %s is not an object', idx),
                          jsonb_build_object('row', idx));
    END IF;
    SELECT * INTO v_asset FROM assets WHERE id = r ->> 'assetId';
    IF NOT FOUND THEN
      PERFORM raise_error('NOT_FOUND', format('row %s: unknown asset %s', idx, r ->> 'assetId'),
                          jsonb_build_object('row', idx, 'assetId', r ->> 'assetId'));
    END IF;
    IF r ->> 'currency' IS DISTINCT FROM v_asset.quote_currency THEN
      PERFORM raise_error('VALIDATION_ERROR',
        format('row %s: %s is quoted in %s, not %s', idx, v_asset.id, v_asset.quote_currency,
               coalesce(r ->> 'currency', 'null')),
        jsonb_build_object('row', idx, 'field', 'currency'));
    END IF;
    v_price := batch_decimal(r, idx, 'price');
    IF v_price <= 0 THEN
      PERFORM raise_error('VALIDATION_ERROR', format('row %s: price must be positive', idx),
                          jsonb_build_object('row', idx, 'field', 'price'));
    END IF;
    IF length(r ->> 'source') NOT BETWEEN 1 AND 64 OR r ->> 'source' IS NULL THEN
      PERFORM raise_error('VALIDATION_ERROR', format('row %s: source is required', idx),
                          jsonb_build_object('row', idx, 'field', 'source'));
    END IF;
    v_as_of := batch_timestamp(r, idx, 'asOf');
    INSERT INTO price_history (asset_id, at, close, source)
    VALUES (v_asset.id, v_as_of, v_price, r ->> 'source')
    ON CONFLICT (asset_id, at) DO UPDATE SET close = excluded.close, source = excluded.source;
    INSERT INTO prices AS p (asset_id, price, currency, source, as_of, change_24h_pct, updated_at)
    VALUES (v_asset.id, v_price, v_asset.quote_currency, r ->> 'source', v_as_of,
            CASE WHEN r ? 'change24hPercent' THEN batch_decimal(r, idx, 'change24hPercent') END,
            now())
    ON CONFLICT (asset_id) DO UPDATE
      SET price = excluded.price, source = excluded.source, as_of = excluded.as_of,
          change_24h_pct = excluded.change_24h_pct, updated_at = now()
      WHERE p.as_of <= excluded.as_of;
  END LOOP;
  RETURN idx;
END
$$;

-- Loads FX rates: [{base, quote, rate, source, asOf}, ...]; 1 base = rate quote.
CREATE FUNCTION upsert_fx_rates(batch jsonb) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  r jsonb;
  idx integer := 0;
  v_rate numeric;
  v_as_of timestamptz;
BEGIN
  PERFORM require_batch(batch, 10000);
  FOR r IN SELECT value FROM jsonb_array_elements(batch) LOOP
    idx := idx + 1;
    IF jsonb_typeof(r) <> 'object' THEN
      PERFORM raise_error('VALIDATION_ERROR', format('row %s is not an object', idx),
                          jsonb_build_object('row', idx));
    END IF;
    IF NOT EXISTS (SELECT 1 FROM currencies WHERE code = r ->> 'base')
       OR NOT EXISTS (SELECT 1 FROM currencies WHERE code = r ->> 'quote') THEN
      PERFORM raise_error('NOT_FOUND',
        format('row %s: unknown currency pair %s/%s', idx, r ->> 'base', r ->> 'quote'),
        jsonb_build_object('row', idx, 'base', r ->> 'base', 'quote', r ->> 'quote'));
    END IF;
    IF r ->> 'base' = r ->> 'quote' THEN
      PERFORM raise_error('VALIDATION_ERROR', format('row %s: base and quote are the same', idx),
                          jsonb_build_object('row', idx));
    END IF;
    v_rate := batch_decimal(r, idx, 'rate');
    IF v_rate <= 0 THEN
      PERFORM raise_error('VALIDATION_ERROR', format('row %s: rate must be positive', idx),
                          jsonb_build_object('row', idx, 'field', 'rate'));
    END IF;
    IF length(r ->> 'source') NOT BETWEEN 1 AND 64 OR r ->> 'source' IS NULL THEN
      PERFORM raise_error('VALIDATION_ERROR', format('row %s: source is required', idx),
                          jsonb_build_object('row', idx, 'field', 'source'));
    END IF;
    v_as_of := batch_timestamp(r, idx, 'asOf');
    INSERT INTO fx_rate_history (base, quote, at, rate, source)
    VALUES (r ->> 'base', r ->> 'quote', v_as_of, v_rate, r ->> 'source')
    ON CONFLICT (base, quote, at) DO UPDATE SET rate = excluded.rate, source = excluded.source;
    INSERT INTO fx_rates AS f (base, quote, rate, source, as_of, updated_at)
    VALUES (r ->> 'base', r ->> 'quote', v_rate, r ->> 'source', v_as_of, now())
    ON CONFLICT (base, quote) DO UPDATE
      SET rate = excluded.rate, source = excluded.source, as_of = excluded.as_of, updated_at = now()
      WHERE f.as_of <= excluded.as_of;
  END LOOP;
  RETURN idx;
END
$$;

GRANT EXECUTE ON FUNCTION list_prices(), get_price(text), search_assets(text, integer)
  TO pgfolio_api, pgfolio_analyst, pgfolio_admin;
GRANT EXECUTE ON FUNCTION upsert_prices(jsonb), upsert_fx_rates(jsonb) TO pgfolio_admin;
