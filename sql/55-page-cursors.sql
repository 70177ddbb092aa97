-- Keyset page cursors (GET /admin/users, GET /history): opaque to clients, they are the
-- base64url of 'v1:' and the last row's sort key, its parts joined by ':'. One encoding, so
-- every paged endpoint refuses a forged or mangled cursor the same way.
CREATE FUNCTION page_cursor_encode(parts text[]) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT translate(encode(convert_to('v1:' || array_to_string(parts, ':'), 'UTF8'), 'base64'),
                   E'+/=\n', '-_')
$$;

-- The parts of a cursor this API gave out. `shape` is a regular expression for the parts as
-- joined by ':' (anchored here); keep its numbers to 18 digits so they always fit a bigint.
-- Anything else — not base64url, not UTF-8, another shape — is VALIDATION_ERROR naming cursor.
CREATE FUNCTION page_cursor_decode(cursor text, shape text) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  decoded text;
BEGIN
  IF cursor ~ '^[A-Za-z0-9_-]{1,200}$' THEN
    BEGIN
      decoded := convert_from(decode(rpad(translate(cursor, '-_', '+/'),
                                          (length(cursor) + 3) / 4 * 4, '='), 'base64'),
                              'UTF8');
    EXCEPTION WHEN data_exception THEN
      decoded := NULL;
    END;
  END IF;
  IF decoded IS NULL OR decoded !~ ('^v1:' || shape || '$') THEN
    PERFORM raise_error('VALIDATION_ERROR', 'cursor is not a cursor this API gave out',
                        jsonb_build_object('field', 'cursor'));
  END IF;
  RETURN string_to_array(substr(decoded, 4), ':');
END
$$;

-- history_list runs as the caller (row-level security reads the ledger).
GRANT EXECUTE ON FUNCTION page_cursor_encode(text[]), page_cursor_decode(text, text)
  TO pgfolio_api;
