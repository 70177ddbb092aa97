-- The error catalog (extension/core/error_catalog.hpp is the one source; this view reads it
-- through C++ so SQL and pgfolio-http can never disagree) and the one way SQL raises it.

CREATE FUNCTION error_catalog_entries(
  OUT code text, OUT http_status integer, OUT sqlstate text, OUT title text)
RETURNS SETOF record
LANGUAGE c IMMUTABLE PARALLEL SAFE
AS 'MODULE_PATHNAME', 'pgfolio_error_catalog_entries';

CREATE VIEW error_catalog AS SELECT * FROM error_catalog_entries();
GRANT SELECT ON error_catalog TO pgfolio_api, pgfolio_analyst, pgfolio_admin;
GRANT EXECUTE ON FUNCTION error_catalog_entries() TO pgfolio_api, pgfolio_analyst, pgfolio_admin;

-- Raises the catalog error `code`: its SQLSTATE, `message` as the human text, and `details`
-- (a JSON object) as the error's DETAIL, which pgfolio-http returns as the problem's details.
CREATE FUNCTION raise_error(code text, message text, details jsonb DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  state text;
  fallback text;
BEGIN
  SELECT e.sqlstate, e.title INTO state, fallback
  FROM @extschema@.error_catalog e WHERE e.code = raise_error.code;
  IF state IS NULL THEN
    RAISE EXCEPTION 'pgfolio: unknown error code %', code USING ERRCODE = 'PF500';
  END IF;
  -- A NULL message would make RAISE fail with its own error instead: the title stands in.
  -- Control characters become spaces: messages often quote the caller's input, and a newline
  -- there could forge a "DETAIL:" line in the error text a client parses.
  RAISE EXCEPTION USING ERRCODE = state,
    MESSAGE = regexp_replace(coalesce(message, fallback), '[[:cntrl:]]', ' ', 'g'),
    DETAIL = coalesce(details, '{}'::jsonb)::text;
END
$$;
GRANT EXECUTE ON FUNCTION raise_error(text, text, jsonb)
  TO pgfolio_api, pgfolio_analyst, pgfolio_admin;
