-- The error firewall (extension/pg/guard.*): exceptions thrown deep in C++ become clean SQL
-- errors with the right SQLSTATE, the session keeps working, long C++ loops honour
-- statement_timeout and query cancel, and errors leak no memory. The misbehaving functions
-- come from the test-only pgfolio_test extension (tests/sql/pgfolio_test).
BEGIN;
SELECT plan(25);
\ir fixtures.psql

-- Each kind of throw, then a C++ entry point that must still work: no state of the firewall
-- (PostgreSQL's error stack, SPI, memory contexts) may be left behind by the error.
SELECT unnest(ARRAY[
  is(pg_temp.error_of(format('SELECT pgfolio_test.throw_error(%L)', kind)), expected,
     kind || ': ' || description),
  is(pgfolio.portfolio_value('a1000000-0000-4000-8000-00000000000a')::text, '2603.00',
     '... and afterwards the session values a portfolio')])
FROM (VALUES
  ('domain', 'a pgfolio::Error becomes its catalog SQLSTATE with its JSON details',
   jsonb_build_object('sqlstate', 'PF404', 'message', 'thrown deep: frame 0' || repeat('.', 64),
                      'detail', '{"depth":0}')),
  ('std', 'a std::exception becomes INTERNAL_ERROR (PF500)',
   jsonb_build_object('sqlstate', 'PF500',
                      'message', 'pgfolio internal error: thrown deep: frame 0' || repeat('.', 64),
                      'detail', NULL)),
  ('bad_alloc', 'std::bad_alloc becomes out_of_memory (53200)',
   jsonb_build_object('sqlstate', '53200', 'message', 'pgfolio: out of memory', 'detail', NULL)),
  ('std_in_guard', 'an exception inside a guarded PostgreSQL call becomes PF500',
   jsonb_build_object('sqlstate', 'PF500',
                      'message', 'pgfolio internal error: thrown in a guarded call: frame 0'
                                 || repeat('.', 64),
                      'detail', NULL)),
  ('nonsense', 'an unknown kind is a validation error (PF400)',
   jsonb_build_object('sqlstate', 'PF400', 'message', 'unknown kind nonsense', 'detail', '{}'))
) AS k (kind, description, expected);

-- A PostgreSQL error raised inside an SPI session comes out unchanged. Its message is longer
-- than a memory block: a copy that died with the SPI session would come back as garbage (or
-- crash the backend). Compared by digest, so a failure does not print 200 kB.
SELECT pg_temp.error_of($$SELECT pgfolio_test.throw_error('pg')$$) AS pg_error \gset
SELECT is(:'pg_error'::jsonb - 'message', '{"sqlstate": "22P02", "detail": null}',
  'pg: a PostgreSQL error inside SPI keeps its SQLSTATE');
SELECT is(md5(:'pg_error'::jsonb ->> 'message'),
  md5('invalid input syntax for type integer: "' || repeat('x', 200000) || '"'),
  '... and its 200 kB message, intact');
SELECT is(pgfolio.portfolio_value('a1000000-0000-4000-8000-00000000000a')::text, '2603.00',
  '... and afterwards the session values a portfolio');

-- A PostgreSQL error right after a C++ exception thrown inside PG_TRY, in the same statement:
-- it must reach its own handler, not a stale jump target left by the firewall.
SELECT is(pg_temp.error_of($q$DO $do$ BEGIN
    BEGIN
      PERFORM pgfolio_test.throw_error('std_in_guard');
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    PERFORM 1 / 0;
  END $do$$q$) ->> 'sqlstate', '22012',
  'after an exception inside a guarded call, PostgreSQL''s own errors are handled as usual');

-- A long C++ loop and statement_timeout: the time from the start of the call to the error.
CREATE FUNCTION pg_temp.spin_until_interrupted() RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  started timestamptz := clock_timestamp();
  state text;
BEGIN
  PERFORM pgfolio_test.spin();
  RETURN NULL;
EXCEPTION WHEN query_canceled THEN  -- OTHERS never matches a cancel
  GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE;
  RETURN jsonb_build_object('sqlstate', state, 'message', SQLERRM,
                            'seconds', extract(epoch FROM clock_timestamp() - started));
END
$$;
SET LOCAL statement_timeout = '200ms';
SELECT pg_temp.spin_until_interrupted() AS spun \gset
SET LOCAL statement_timeout = 0;
SELECT is(:'spun'::jsonb - 'seconds',
  '{"sqlstate": "57014", "message": "canceling statement due to statement timeout"}',
  'statement_timeout stops a C++ loop with 57014');
SELECT cmp_ok((:'spun'::jsonb ->> 'seconds')::numeric, '<', 1.0,
  format('... within a second of the call (200 ms timeout; took %s s)',
         round((:'spun'::jsonb ->> 'seconds')::numeric, 3)));

-- Query cancel of a backend spinning in C++: a second session (dblink) spins, this one
-- cancels it, and the time from the cancel request to the spinner's error is measured.
CREATE EXTENSION dblink;
-- Starts pgfolio_test.spin() in the dblink session 'spinner' and returns its backend's pid
-- once it is well inside the C++ loop.
CREATE FUNCTION pg_temp.start_spinner() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  spinner integer;
  deadline timestamptz := clock_timestamp() + interval '10 seconds';
BEGIN
  PERFORM dblink_connect('spinner', format('host=127.0.0.1 port=%s dbname=%s user=%s',
    current_setting('port'), current_database(), current_user));
  -- The safety net: an interrupt that fails must fail this test, not hang the suite.
  PERFORM dblink_exec('spinner', 'SET statement_timeout = ''10s''');
  SELECT pid INTO spinner FROM dblink('spinner', 'SELECT pg_backend_pid()') AS t (pid integer);
  PERFORM dblink_send_query('spinner', 'SELECT pgfolio_test.spin()');
  LOOP  -- until the spinner runs the call (activity is cached per transaction: clear it)
    PERFORM pg_stat_clear_snapshot();
    EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity
                      WHERE pid = spinner AND state = 'active' AND query LIKE '%spin()%');
    IF clock_timestamp() > deadline THEN RAISE EXCEPTION 'the spinner never started'; END IF;
    PERFORM pg_sleep(0.01);
  END LOOP;
  PERFORM pg_sleep(0.3);  -- well inside the C++ loop by now
  RETURN spinner;
END
$$;
CREATE FUNCTION pg_temp.cancel_spinner(how text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
  spinner integer := pg_temp.start_spinner();
  cancelled timestamptz := clock_timestamp();
  err_state text;
  message text;
  seconds numeric;
  answer integer;
BEGIN
  IF how = 'cancel request' THEN
    PERFORM dblink_cancel_query('spinner');  -- the protocol's cancel request, as psql's ^C
  ELSE
    PERFORM pg_cancel_backend(spinner);
  END IF;
  BEGIN
    PERFORM * FROM dblink_get_result('spinner') AS t (r text);
  EXCEPTION WHEN query_canceled OR OTHERS THEN  -- dblink raises the remote SQLSTATE
    GET STACKED DIAGNOSTICS err_state = RETURNED_SQLSTATE, message = MESSAGE_TEXT;
  END;
  seconds := extract(epoch FROM clock_timestamp() - cancelled);
  PERFORM * FROM dblink_get_result('spinner') AS t (r text);  -- the end of the async query
  SELECT r INTO answer FROM dblink('spinner', 'SELECT 42') AS t (r integer);
  PERFORM dblink_disconnect('spinner');
  RETURN jsonb_build_object('sqlstate', err_state, 'message', message, 'seconds', seconds,
                            'spinner alive', answer);
END
$$;
SELECT pg_temp.cancel_spinner('cancel request') AS cancelled \gset
SELECT is(:'cancelled'::jsonb - 'seconds', '{"sqlstate": "57014",
    "message": "canceling statement due to user request", "spinner alive": 42}',
  'a cancel request stops a C++ loop with 57014, and that session keeps working');
SELECT cmp_ok((:'cancelled'::jsonb ->> 'seconds')::numeric, '<', 1.0,
  format('... within a second of the request (took %s s)',
         round((:'cancelled'::jsonb ->> 'seconds')::numeric, 3)));
SELECT pg_temp.cancel_spinner('pg_cancel_backend') AS cancelled \gset
SELECT is(:'cancelled'::jsonb - 'seconds', '{"sqlstate": "57014",
    "message": "canceling statement due to user request", "spinner alive": 42}',
  'pg_cancel_backend stops it the same way');
SELECT cmp_ok((:'cancelled'::jsonb ->> 'seconds')::numeric, '<', 1.0,
  format('... within a second (took %s s)', round((:'cancelled'::jsonb ->> 'seconds')::numeric, 3)));

-- Termination: the spinning backend exits cleanly (FATAL, not a crash) within a second.
SELECT ok(pg_terminate_backend(pg_temp.start_spinner(), 1000),
  'pg_terminate_backend ends a backend spinning in C++ within a second');
SELECT dblink_disconnect('spinner') \g /dev/null

-- 10k errors and this backend's memory: resident size after a warm-up of 1k errors (caches,
-- allocator arenas), then after 10k more, every kind in turn. A leak of the 20 C++ frames each
-- throw unwinds (about 2 kB an error) or of the copied PostgreSQL errors (200 kB for each 'pg')
-- shows as tens of megabytes.
CREATE FUNCTION pg_temp.rss_kb() RETURNS bigint
LANGUAGE sql AS $$
  SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'),
                       'VmRSS:\s+(\d+) kB'))[1]::bigint
$$;
CREATE FUNCTION pg_temp.throw_errors(n integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  kinds text[] := ARRAY['domain', 'std', 'bad_alloc', 'std_in_guard', 'pg'];
  caught integer := 0;
BEGIN
  FOR i IN 1..n LOOP
    BEGIN
      PERFORM pgfolio_test.throw_error(kinds[1 + i % 5]);
    EXCEPTION WHEN OTHERS THEN
      caught := caught + 1;
    END;
  END LOOP;
  RETURN caught;
END
$$;
SELECT is(pg_temp.throw_errors(1000), 1000, 'warm-up: 1k errors, each caught');
SELECT pg_temp.rss_kb() AS rss_before \gset
SELECT is(pg_temp.throw_errors(10000), 10000, '10k errors, each caught');
SELECT pg_temp.rss_kb() AS rss_after \gset
SELECT cmp_ok(:rss_after::bigint - :rss_before, '<', 2048::bigint,
  format('... and the backend''s resident memory grew by less than 2 MB (%s kB -> %s kB)',
         :rss_before, :rss_after));
SELECT is(pgfolio.portfolio_value('a1000000-0000-4000-8000-00000000000a')::text, '2603.00',
  'after all that, the session still values a portfolio');

SELECT * FROM finish();
ROLLBACK;
