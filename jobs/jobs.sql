-- pgfolio's periodic jobs, run by pg_cron when it is installed (the extension itself works
-- without it). Each job is a named call of pgfolio.run_job, which logs every run in
-- pgfolio.job_runs. Later issues add their jobs to job_definitions().

CREATE TABLE job_runs (
  id            bigserial PRIMARY KEY,
  job           text NOT NULL,
  started_at    timestamptz NOT NULL,
  finished_at   timestamptz,
  rows_affected bigint,
  error         text
);
CREATE INDEX job_runs_job_started_idx ON job_runs (job, started_at DESC);
GRANT SELECT ON job_runs TO pgfolio_analyst, pgfolio_admin;
SELECT pg_catalog.pg_extension_config_dump('job_runs', '');
SELECT pg_catalog.pg_extension_config_dump('job_runs_id_seq', '');

-- The jobs: name, cron schedule, and the SQL that does the work and returns rows affected.
CREATE FUNCTION job_definitions(OUT name text, OUT schedule text, OUT command text)
RETURNS SETOF record
LANGUAGE sql IMMUTABLE SET search_path = @extschema@, pg_temp
AS $$
  VALUES
    ('trim-cron-history', '17 3 * * *',
     $cmd$WITH d AS (DELETE FROM cron.job_run_details
                    WHERE end_time < now() - interval '7 days' RETURNING 1)
          SELECT count(*) FROM d$cmd$),
    ('trim-job-runs', '27 3 * * *',
     $cmd$WITH d AS (DELETE FROM @extschema@.job_runs
                    WHERE started_at < now() - interval '30 days' RETURNING 1)
          SELECT count(*) FROM d$cmd$),
    -- Authentication leftovers (docs/auth.md): OTP challenges a day old (the send limit looks
    -- back 5 minutes), one-time tokens a day past expiry, sessions 30 days after they ended
    -- (their refresh tokens go with them); outbox messages whose secret expired unsent are
    -- closed and their secret erased, as are those a sender claimed for the 5th time and never
    -- reported; finished messages go after 30 days.
    ('purge-auth', '*/10 * * * *',
     $cmd$WITH otp AS (DELETE FROM @extschema@.otp_challenges
                      WHERE created_at < now() - interval '1 day' RETURNING 1),
          tokens AS (DELETE FROM @extschema@.one_time_tokens
                     WHERE expires_at < now() - interval '1 day' RETURNING 1),
          sessions AS (DELETE FROM @extschema@.sessions
                       WHERE least(revoked_at, expires_at)
                             < now() - interval '30 days'
                       RETURNING 1),
          expired AS (UPDATE @extschema@.outbox SET status = 'expired',
                                                  payload = payload - secret_keys
                      WHERE status IN ('pending', 'sending') AND expires_at <= now()
                      RETURNING 1),
          abandoned AS (UPDATE @extschema@.outbox SET status = 'failed',
                                                    payload = payload - secret_keys,
                                                    last_error = 'claimed 5 times, never reported'
                        WHERE status = 'sending' AND attempts >= 5
                          AND claimed_at < now() - interval '5 minutes'
                          AND (expires_at IS NULL OR expires_at > now())
                        RETURNING 1),
          finished AS (DELETE FROM @extschema@.outbox
                       WHERE status IN ('sent', 'failed', 'expired')
                         AND created_at < now() - interval '30 days'
                       RETURNING 1)
          SELECT (SELECT count(*) FROM otp) + (SELECT count(*) FROM tokens)
                 + (SELECT count(*) FROM sessions) + (SELECT count(*) FROM expired)
                 + (SELECT count(*) FROM abandoned) + (SELECT count(*) FROM finished)$cmd$),
    -- The activity feed (sql/84-history.sql) keeps each portfolio's newest
    -- activity_feed_length() lines, all that GET /activity shows; the ledger keeps the rest.
    ('trim-action-log', '37 3 * * *',
     $cmd$WITH ranked AS (SELECT a.id, row_number() OVER (PARTITION BY a.portfolio_id
                                                         ORDER BY a.id DESC) AS n
                         FROM @extschema@.action_log a),
          d AS (DELETE FROM @extschema@.action_log a USING ranked r
                WHERE a.id = r.id AND r.n > @extschema@.activity_feed_length()
                RETURNING 1)
          SELECT count(*) FROM d$cmd$)
$$;

-- Runs job `name` now and logs the run. A failing job's error is recorded in job_runs and the
-- call returns NULL: re-raising would roll the record back with the failed work.
CREATE FUNCTION run_job(name text) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  cmd text;
  run_id bigint;
  affected bigint;
BEGIN
  SELECT d.command INTO cmd FROM job_definitions() d WHERE d.name = run_job.name;
  IF cmd IS NULL THEN
    PERFORM raise_error('NOT_FOUND', format('no pgfolio job named %s', name),
                        jsonb_build_object('job', name));
  END IF;
  INSERT INTO job_runs (job, started_at) VALUES (name, clock_timestamp()) RETURNING id INTO run_id;
  BEGIN
    EXECUTE cmd INTO affected;
  EXCEPTION WHEN OTHERS THEN
    UPDATE job_runs SET finished_at = clock_timestamp(), error = SQLERRM WHERE id = run_id;
    RETURN NULL;
  END;
  UPDATE job_runs SET finished_at = clock_timestamp(), rows_affected = affected WHERE id = run_id;
  RETURN affected;
END
$$;

CREATE FUNCTION require_pg_cron() RETURNS void
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_cron') THEN
    PERFORM raise_error('CONFLICT',
      'pg_cron is not installed: add it to shared_preload_libraries, then CREATE EXTENSION pg_cron',
      jsonb_build_object('extension', 'pg_cron'));
  END IF;
END
$$;

-- Schedules (or reschedules) every pgfolio job under the name 'pgfolio-<job>'. Idempotent.
CREATE FUNCTION schedule_jobs() RETURNS SETOF text
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  d record;
BEGIN
  PERFORM require_pg_cron();
  FOR d IN SELECT * FROM job_definitions() LOOP
    EXECUTE 'SELECT cron.schedule($1, $2, $3)'
      USING 'pgfolio-' || d.name, d.schedule, format('SELECT pgfolio.run_job(%L)', d.name);
    RETURN NEXT 'pgfolio-' || d.name;
  END LOOP;
END
$$;

-- Removes every job named 'pgfolio-*'. Idempotent.
CREATE FUNCTION unschedule_jobs() RETURNS SETOF text
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  job_name text;
BEGIN
  PERFORM require_pg_cron();
  FOR job_name IN EXECUTE 'SELECT jobname FROM cron.job WHERE jobname LIKE ''pgfolio-%''' LOOP
    EXECUTE 'SELECT cron.unschedule($1)' USING job_name;
    RETURN NEXT job_name;
  END LOOP;
END
$$;

-- require_pg_cron too: schedule_jobs and unschedule_jobs run as their caller.
GRANT EXECUTE ON FUNCTION job_definitions(), run_job(text), require_pg_cron(), schedule_jobs(),
  unschedule_jobs() TO pgfolio_admin;

-- The end of the install script (the Makefile assembles jobs/ after sql/): every function of
-- the script is created and granted by now, and none may stay executable by PUBLIC, which
-- PostgreSQL grants by default. tests/sql/01-schema.sql checks it.
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA @extschema@ FROM PUBLIC;
