-- Roles, decided once (docs/architecture.md, "Roles and ownership"). They are cluster-wide,
-- so they are created only when missing and survive DROP EXTENSION; all are NOLOGIN groups:
-- a DBA grants them to login roles (make run creates pgfolio_http IN ROLE pgfolio_api and
-- pgfolio_sender IN ROLE pgfolio_worker). pgfolio_worker is the outbox sender (docs/auth.md):
-- the only role that claims outbox messages and so reads the one-time codes they carry.
DO $roles$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['pgfolio_api', 'pgfolio_analyst', 'pgfolio_admin',
                           'pgfolio_worker'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END
$roles$;

GRANT USAGE ON SCHEMA @extschema@ TO pgfolio_api, pgfolio_analyst, pgfolio_admin, pgfolio_worker;
-- No pgfolio function is executable by PUBLIC; each is granted explicitly to the roles that
-- need it. The REVOKE that enforces it ends the script (jobs/jobs.sql, assembled last): per-
-- schema default privileges can only add to the global ones, so they cannot do it here.
