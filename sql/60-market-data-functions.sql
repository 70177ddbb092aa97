-- Reading and loading market data. Reads are plain SQL (the planner does them best);
-- loading validates every row and names the bad one, so a feeder's mistake is never half-applied.

-- One price as the API shows it; numbers that are money or prices are decimal strings.
-- STABLE, not IMMUTABLE: asOf is written in the session's TimeZone.
CREATE FUNCTION price_json(a assets, p prices) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
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
  WHERE a.id = get_price.asset_id AND a.active;  -- as list_prices: inactive assets are hidden
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
  IF max_rows IS NULL OR max_rows NOT BETWEEN 1 AND 500 THEN
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

-- Reads a required text field of a batch row: a JSON string of 1 to max_length characters.
-- Names the row and field when it is wrong.
CREATE FUNCTION batch_text(batch_row jsonb, idx integer, field text, max_length integer)
RETURNS text
LANGUAGE plpgsql IMMUTABLE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v jsonb := batch_row -> field;
BEGIN
  IF jsonb_typeof(v) IS DISTINCT FROM 'string' OR length(v #>> '{}') NOT BETWEEN 1 AND max_length
  THEN
    PERFORM raise_error('VALIDATION_ERROR',
      format('row %s: %s must be a string of 1 to %s characters', idx, field, max_length),
      jsonb_build_object('row', idx, 'field', field));
  END IF;
  RETURN v #>> '{}';
END
$$;

-- Reads a required decimal field of a batch row, a JSON string or number, with at most
-- int_digits integer and scale fractional digits: what its column stores, so that a value is
-- never silently rounded or overflows anonymously. Numbers are checked exactly as written
-- (jsonb keeps them exact); names the row and field when it is wrong.
CREATE FUNCTION batch_decimal(batch_row jsonb, idx integer, field text, int_digits integer,
                              scale integer) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v jsonb := batch_row -> field;
BEGIN
  IF jsonb_typeof(v) IS NULL OR jsonb_typeof(v) NOT IN ('string', 'number')
     OR NOT (v #>> '{}') ~ format('^[+-]?[0-9]{1,%s}(\.[0-9]{1,%s})?$', int_digits, scale)
  THEN
    PERFORM raise_error('VALIDATION_ERROR',
      format('row %s: %s must be a decimal with at most %s integer and %s fractional digits',
             idx, field, int_digits, scale),
      jsonb_build_object('row', idx, 'field', field));
  END IF;
  RETURN (v #>> '{}')::numeric;
END
$$;

-- Reads a required time of a batch row: an ISO 8601 string with a time zone (Z or an offset),
-- so that its instant never depends on the session's TimeZone, and never PostgreSQL's special
-- words ('now', 'epoch', 'infinity'): an infinite asOf would pin a price forever, and so
-- would one far in the future, so a time more than an hour ahead (clock skew) is refused too.
CREATE FUNCTION batch_timestamp(batch_row jsonb, idx integer, field text) RETURNS timestamptz
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  at timestamptz;
BEGIN
  IF jsonb_typeof(batch_row -> field) IS DISTINCT FROM 'string'
     OR NOT (batch_row ->> field) ~ ('^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}'
                                     '(:[0-9]{2}(\.[0-9]{1,6})?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)$')
  THEN
    PERFORM raise_error('VALIDATION_ERROR',
      format('row %s: %s must be an ISO 8601 time with a time zone, like 2026-11-01T10:00:00Z',
             idx, field),
      jsonb_build_object('row', idx, 'field', field));
  END IF;
  at := (batch_row ->> field)::timestamptz;
  IF at > now() + interval '1 hour' THEN
    PERFORM raise_error('VALIDATION_ERROR', format('row %s: %s is in the future', idx, field),
                        jsonb_build_object('row', idx, 'field', field));
  END IF;
  RETURN at;
EXCEPTION
  WHEN invalid_datetime_format OR datetime_field_overflow OR invalid_time_zone_displacement_value
  THEN
  PERFORM raise_error('VALIDATION_ERROR', format('row %s: %s is not a valid time', idx, field),
                      jsonb_build_object('row', idx, 'field', field));
  RETURN NULL;
END
$$;

-- The rows of a loader's batch, numbered from 1: refuses anything but a non-empty JSON array
-- of at most max_rows objects, naming the first row that is not an object.
CREATE FUNCTION batch_rows(batch jsonb, max_rows integer)
RETURNS TABLE (row_number integer, row_value jsonb)
LANGUAGE plpgsql IMMUTABLE SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  IF jsonb_typeof(batch) IS DISTINCT FROM 'array' OR jsonb_array_length(batch) = 0 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'expected a non-empty JSON array of rows');
  ELSIF jsonb_array_length(batch) > max_rows THEN
    PERFORM raise_error('VALIDATION_ERROR', format('at most %s rows per batch', max_rows),
                        jsonb_build_object('maxRows', max_rows));
  END IF;
  FOR row_number, row_value IN
    SELECT ordinality::integer, value FROM jsonb_array_elements(batch) WITH ORDINALITY
  LOOP
    IF jsonb_typeof(row_value) <> 'object' THEN
      PERFORM raise_error('VALIDATION_ERROR', format('row %s is not an object', row_number),
                          jsonb_build_object('row', row_number));
    END IF;
    RETURN NEXT;
  END LOOP;
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
  v_currency text;
  v_price numeric;
  v_source text;
  v_as_of timestamptz;
  v_change numeric;
BEGIN
  FOR idx, r IN SELECT * FROM batch_rows(batch, 10000) LOOP
    SELECT * INTO v_asset FROM assets WHERE id = batch_text(r, idx, 'assetId', 32);
    IF NOT FOUND THEN
      PERFORM raise_error('NOT_FOUND', format('row %s: unknown asset %s', idx, r ->> 'assetId'),
                          jsonb_build_object('row', idx, 'assetId', r ->> 'assetId'));
    END IF;
    v_currency := batch_text(r, idx, 'currency', 5);
    IF v_currency <> v_asset.quote_currency THEN
      PERFORM raise_error('VALIDATION_ERROR',
        format('row %s: %s is quoted in %s, not %s', idx, v_asset.id, v_asset.quote_currency,
               v_currency),
        jsonb_build_object('row', idx, 'field', 'currency'));
    END IF;
    -- Limits: the columns' numeric(30, 10) and numeric(12, 4).
    v_price := batch_decimal(r, idx, 'price', 20, 10);
    IF v_price <= 0 THEN
      PERFORM raise_error('VALIDATION_ERROR', format('row %s: price must be positive', idx),
                          jsonb_build_object('row', idx, 'field', 'price'));
    END IF;
    v_source := batch_text(r, idx, 'source', 64);
    v_as_of := batch_timestamp(r, idx, 'asOf');
    IF coalesce(jsonb_typeof(r -> 'change24hPercent'), 'null') <> 'null' THEN
      v_change := batch_decimal(r, idx, 'change24hPercent', 8, 4);
    ELSE
      v_change := NULL;
    END IF;
    INSERT INTO price_history (asset_id, at, close, source)
    VALUES (v_asset.id, v_as_of, v_price, v_source)
    ON CONFLICT (asset_id, at) DO UPDATE SET close = excluded.close, source = excluded.source;
    INSERT INTO prices AS p (asset_id, price, currency, source, as_of, change_24h_pct, updated_at)
    VALUES (v_asset.id, v_price, v_asset.quote_currency, v_source, v_as_of, v_change, now())
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
  v_base text;
  v_quote text;
  v_rate numeric;
  v_source text;
  v_as_of timestamptz;
BEGIN
  FOR idx, r IN SELECT * FROM batch_rows(batch, 10000) LOOP
    v_base := batch_text(r, idx, 'base', 5);
    v_quote := batch_text(r, idx, 'quote', 5);
    IF NOT EXISTS (SELECT 1 FROM currencies WHERE code = v_base)
       OR NOT EXISTS (SELECT 1 FROM currencies WHERE code = v_quote) THEN
      PERFORM raise_error('NOT_FOUND',
        format('row %s: unknown currency pair %s/%s', idx, v_base, v_quote),
        jsonb_build_object('row', idx, 'base', v_base, 'quote', v_quote));
    END IF;
    IF v_base = v_quote THEN
      PERFORM raise_error('VALIDATION_ERROR', format('row %s: base and quote are the same', idx),
                          jsonb_build_object('row', idx));
    END IF;
    v_rate := batch_decimal(r, idx, 'rate', 18, 12);  -- the column's numeric(30, 12)
    IF v_rate <= 0 THEN
      PERFORM raise_error('VALIDATION_ERROR', format('row %s: rate must be positive', idx),
                          jsonb_build_object('row', idx, 'field', 'rate'));
    END IF;
    v_source := batch_text(r, idx, 'source', 64);
    v_as_of := batch_timestamp(r, idx, 'asOf');
    INSERT INTO fx_rate_history (base, quote, at, rate, source)
    VALUES (v_base, v_quote, v_as_of, v_rate, v_source)
    ON CONFLICT (base, quote, at) DO UPDATE SET rate = excluded.rate, source = excluded.source;
    INSERT INTO fx_rates AS f (base, quote, rate, source, as_of, updated_at)
    VALUES (v_base, v_quote, v_rate, v_source, v_as_of, now())
    ON CONFLICT (base, quote) DO UPDATE
      SET rate = excluded.rate, source = excluded.source, as_of = excluded.as_of, updated_at = now()
      WHERE f.as_of <= excluded.as_of;
  END LOOP;
  RETURN idx;
END
$$;

-- price_json too: list_prices and get_price run as their caller.
GRANT EXECUTE ON FUNCTION price_json(assets, prices), list_prices(), get_price(text),
  search_assets(text, integer) TO pgfolio_api, pgfolio_analyst, pgfolio_admin;
GRANT EXECUTE ON FUNCTION upsert_prices(jsonb), upsert_fx_rates(jsonb) TO pgfolio_admin;
