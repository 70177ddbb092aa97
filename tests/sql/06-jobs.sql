-- pgfolio's jobs (jobs/jobs.sql): scheduling through pg_cron is idempotent and named, every
-- run is logged in pgfolio.job_runs, and without pg_cron scheduling is a clear error while
-- everything else keeps working.
BEGIN;
SELECT plan(22);
\ir fixtures.psql

-- The jobs pgfolio schedules, as pg_cron should hold them.
\set expected_jobs 'SELECT ''pgfolio-'' || name, schedule, format(''SELECT pgfolio.run_job(%L)'', name), current_database() FROM pgfolio.job_definitions()'
\set scheduled_jobs 'SELECT jobname::text, schedule, command, database FROM cron.job WHERE jobname LIKE ''pgfolio-%'''

SELECT set_eq($$SELECT name FROM pgfolio.job_definitions()$$,
  ARRAY['trim-cron-history', 'trim-job-runs', 'purge-auth', 'trim-action-log'],
  'the jobs: trimming pg_cron''s history and pgfolio''s, purging authentication leftovers, trimming the activity feed');
SELECT set_eq($$SELECT * FROM pgfolio.unschedule_jobs()$$,
  $$SELECT 'pgfolio-' || name FROM pgfolio.job_definitions()$$,
  'unschedule_jobs removes the jobs make run scheduled, and names them');
SELECT is_empty(:'scheduled_jobs', '... none is left');
SELECT is_empty($$SELECT * FROM pgfolio.unschedule_jobs()$$, 'unscheduling again removes nothing');
SELECT set_eq($$SELECT * FROM pgfolio.schedule_jobs()$$,
  $$SELECT 'pgfolio-' || name FROM pgfolio.job_definitions()$$,
  'schedule_jobs schedules every job and names it');
SELECT set_eq(:'scheduled_jobs', :'expected_jobs',
  '... in pg_cron, as pgfolio-<job>, each a call of run_job in this database');
SELECT set_eq($$SELECT * FROM pgfolio.schedule_jobs()$$,
  $$SELECT 'pgfolio-' || name FROM pgfolio.job_definitions()$$, 'scheduling again');
SELECT bag_eq(:'scheduled_jobs', :'expected_jobs', '... leaves the same jobs, none twice');
-- Someone else's job, even one whose name merely resembles, is not pgfolio's to remove.
SELECT isnt(cron.schedule('pgfolio_other', '0 0 * * *', 'SELECT 1'), NULL,
  'someone else schedules a job named pgfolio_other');
SELECT set_eq($$SELECT * FROM pgfolio.unschedule_jobs()$$,
  $$SELECT 'pgfolio-' || name FROM pgfolio.job_definitions()$$,
  'unschedule_jobs removes pgfolio''s jobs');
SELECT is((SELECT count(*) FROM cron.job WHERE jobname = 'pgfolio_other'), 1::bigint,
  '... and only those');

-- run_job runs a job now and logs the run.
INSERT INTO pgfolio.job_runs (job, started_at, finished_at, rows_affected) VALUES
  ('trim-job-runs', now() - interval '40 days', now() - interval '40 days', 0),
  ('trim-job-runs', now() - interval '20 days', now() - interval '20 days', 0);
SELECT is(pgfolio.run_job('trim-job-runs'), 1::bigint,
  'run_job returns the rows the job affected: the run logged 40 days ago');
SELECT results_eq(
  $$SELECT job, started_at <= finished_at, finished_at <= clock_timestamp(), rows_affected, error
    FROM pgfolio.job_runs ORDER BY id DESC LIMIT 1$$,
  $$VALUES ('trim-job-runs', true, true, 1::bigint, NULL::text)$$,
  '... and logs the run: job, started, finished, rows, no error');
SELECT is((SELECT count(*) FROM pgfolio.job_runs WHERE started_at < now() - interval '30 days'),
  0::bigint, '... having trimmed runs older than 30 days');
INSERT INTO cron.job_run_details (jobid, command, status, start_time, end_time)
VALUES (0, 'SELECT 1', 'succeeded', now() - interval '9 days', now() - interval '9 days'),
       (0, 'SELECT 1', 'succeeded', now() - interval '1 day', now() - interval '1 day');
SELECT is(pgfolio.run_job('trim-cron-history'),
  (SELECT count(*) FROM cron.job_run_details WHERE end_time < now() - interval '7 days'),
  'trim-cron-history removes pg_cron''s history older than 7 days');
SELECT is((SELECT count(*) FROM cron.job_run_details WHERE jobid = 0), 1::bigint,
  '... and keeps the rest');
SELECT is(pg_temp.error_of($$SELECT pgfolio.run_job('nope')$$),
  '{"sqlstate": "PF404", "message": "no pgfolio job named nope", "detail": "{\"job\": \"nope\"}"}',
  'an unknown job is NOT_FOUND, naming it');

-- Without pg_cron (dropped inside this transaction, which rolls back).
DROP EXTENSION pg_cron;
SELECT is(pg_temp.error_of($$SELECT pgfolio.schedule_jobs()$$),
  '{"sqlstate": "PF409", "message": "pg_cron is not installed: add it to shared_preload_libraries, then CREATE EXTENSION pg_cron",
    "detail": "{\"extension\": \"pg_cron\"}"}',
  'without pg_cron, schedule_jobs is a clear error');
SELECT is(pg_temp.error_of($$SELECT pgfolio.unschedule_jobs()$$) ->> 'sqlstate', 'PF409',
  '... and so is unschedule_jobs');
SELECT is(pgfolio.portfolio_value('a1000000-0000-4000-8000-00000000000a')::text, '2603.00',
  'pgfolio still values portfolios');
SELECT is(pgfolio.run_job('trim-cron-history'), NULL,
  'a job that fails (pg_cron''s history is gone) returns NULL');
SELECT results_eq(
  $$SELECT job, finished_at IS NOT NULL, rows_affected, error
    FROM pgfolio.job_runs ORDER BY id DESC LIMIT 1$$,
  $$VALUES ('trim-cron-history', true, NULL::bigint,
            'relation "cron.job_run_details" does not exist')$$,
  '... and its run is logged with the error');

SELECT * FROM finish();
ROLLBACK;
