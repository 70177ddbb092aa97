-- Roles, decided once (docs/architecture.md, "Roles and ownership"). They are cluster-wide,
-- so they are created only when missing and survive DROP EXTENSION; all are NOLOGIN groups:
-- a DBA grants them to login roles (make run creates pgfolio_http IN ROLE pgfolio_api).
DO $roles$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['pgfolio_api', 'pgfolio_analyst', 'pgfolio_admin'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END
$roles$;

GRANT USAGE ON SCHEMA @extschema@ TO pgfolio_api, pgfolio_analyst, pgfolio_admin;
-- No pgfolio function is executable by PUBLIC; each is granted explicitly to the roles that
-- need it. The REVOKE that enforces it ends the script (jobs/jobs.sql, assembled last): per-
-- schema default privileges can only add to the global ones, so they cannot do it here.
