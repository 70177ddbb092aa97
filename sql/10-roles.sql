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
-- Functions are not executable by PUBLIC by default in pgfolio; each is granted explicitly.
ALTER DEFAULT PRIVILEGES IN SCHEMA @extschema@ REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
