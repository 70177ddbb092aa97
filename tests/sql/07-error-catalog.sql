-- The error catalog (extension/core/error_catalog.hpp through the pgfolio.error_catalog view)
-- and pgfolio.raise_error, the one way SQL raises it.
BEGIN;
SELECT plan(12);
\ir fixtures.psql

-- The catalog as docs/errors.md documents it: the contract clients match on.
SELECT set_eq($$SELECT code, http_status, sqlstate FROM pgfolio.error_catalog$$,
  $$VALUES ('VALIDATION_ERROR', 400, 'PF400'), ('UNAUTHORIZED', 401, 'PF401'),
           ('FORBIDDEN', 403, 'PF403'), ('NOT_FOUND', 404, 'PF404'),
           ('METHOD_NOT_ALLOWED', 405, 'PF405'), ('CONFLICT', 409, 'PF409'), ('LEDGER_IMMUTABLE', 409, 'PF410'),
           ('PAYLOAD_TOO_LARGE', 413, 'PF413'), ('UNSUPPORTED_MEDIA_TYPE', 415, 'PF415'),
           ('MISSING_PRICE', 422, 'PF422'), ('MISSING_FX_RATE', 422, 'PF423'),
           ('NUMERIC_OVERFLOW', 422, 'PF424'), ('INSUFFICIENT_CASH', 422, 'PF425'), ('RATE_LIMITED', 429, 'PF429'),
           ('INTERNAL_ERROR', 500, 'PF500'), ('SERVICE_UNAVAILABLE', 503, 'PF503')$$,
  'error_catalog lists every code with its HTTP status and SQLSTATE');
SELECT is((SELECT count(DISTINCT code) FROM pgfolio.error_catalog),
  (SELECT count(*) FROM pgfolio.error_catalog), 'codes are unique');
SELECT is((SELECT count(DISTINCT sqlstate) FROM pgfolio.error_catalog),
  (SELECT count(*) FROM pgfolio.error_catalog), 'SQLSTATEs are unique');
SELECT is_empty($$SELECT code FROM pgfolio.error_catalog
                  WHERE code !~ '^[A-Z][A-Z_]*[A-Z]$' OR sqlstate !~ '^PF[0-9A-Z]{3}$'
                     OR http_status NOT BETWEEN 400 AND 599 OR coalesce(title, '') = ''$$,
  'every code is UPPER_SNAKE, in SQLSTATE class PF, a 4xx or 5xx, with a title');
-- Every code pgfolio's SQL raises is in the catalog (raise_error would turn an unknown one
-- into PF500 at run time only).
SELECT is_empty($$
  SELECT p.oid::regprocedure, m[1]
  FROM pg_proc p, regexp_matches(p.prosrc, 'raise_error\(\s*''([A-Z_]+)''', 'g') m
  WHERE p.pronamespace = 'pgfolio'::regnamespace
    AND m[1] NOT IN (SELECT code FROM pgfolio.error_catalog)$$,
  'every code raised in pgfolio''s SQL functions is in the catalog');

-- raise_error: the code's SQLSTATE, the message, the details as JSON in DETAIL.
SELECT is_empty($$
  SELECT e.code FROM pgfolio.error_catalog e
  WHERE pg_temp.error_of(format('SELECT pgfolio.raise_error(%L, %L, %L)', e.code,
                                'about ' || e.code, jsonb_build_object('code', e.code, 'n', 1.50)))
        IS DISTINCT FROM jsonb_build_object('sqlstate', e.sqlstate, 'message', 'about ' || e.code,
                                            'detail', jsonb_build_object('code', e.code, 'n', 1.50)::text)$$,
  'raise_error raises every code with its SQLSTATE, the message and the JSON details');
SELECT is(pg_temp.error_of($$SELECT pgfolio.raise_error('CONFLICT', 'busy', '{"a": [1, "x"]}')$$),
  '{"sqlstate": "PF409", "message": "busy", "detail": "{\"a\": [1, \"x\"]}"}',
  'for example CONFLICT: PF409, DETAIL {"a": [1, "x"]}');
SELECT is(pg_temp.error_of($$SELECT pgfolio.raise_error('NOT_FOUND', 'gone')$$) ->> 'detail', '{}',
  'without details, DETAIL is an empty object');
SELECT is(pg_temp.error_of($$SELECT pgfolio.raise_error('NOT_FOUND', 'gone', NULL)$$) ->> 'detail',
  '{}', '... and with NULL details too');
SELECT is(pg_temp.error_of($$SELECT pgfolio.raise_error('NOT_FOUND', NULL)$$),
  '{"sqlstate": "PF404", "message": "Not found", "detail": "{}"}',
  'a NULL message is replaced by the code''s title');
SELECT is(pg_temp.error_of($$SELECT pgfolio.raise_error('NO_SUCH_CODE', 'x')$$),
  '{"sqlstate": "PF500", "message": "pgfolio: unknown error code NO_SUCH_CODE", "detail": null}',
  'an unknown code is an internal error naming it');

-- Every role reads the catalog and raises through it.
SET LOCAL ROLE pgfolio_api;
SELECT is(pg_temp.error_of($$SELECT count(*) FROM pgfolio.error_catalog;
                             SELECT pgfolio.raise_error('FORBIDDEN', 'no')$$) ->> 'sqlstate',
  'PF403', 'pgfolio_api reads the catalog and raises its errors');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
