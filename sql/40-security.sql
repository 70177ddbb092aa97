-- Ownership, enforced by the database (docs/architecture.md, "Roles and ownership").
--
-- pgfolio_api acts for one user per transaction: the one pgfolio.authenticate() (sql/46)
-- accepted, recorded in the transaction-local settings pgfolio.acting_user and
-- pgfolio.session_id. Row-level security lets it see only that user's rows, and only while
-- pgfolio.session_id names a live session of that user: a bug in pgfolio-http that set
-- pgfolio.acting_user to someone else's id (or any code that runs set_config) reads nothing.
-- Without an authenticated user it sees no row. It has no INSERT, UPDATE or DELETE on any
-- table: SECURITY DEFINER functions are the only way to change state.
-- pgfolio_analyst reads portfolios and holdings of everyone but no personal data (no grant on
-- users; pgfolio.user_directory shows display names only). pgfolio_admin administers.

-- The session authenticate() accepted in this transaction, or NULL. A malformed setting is an
-- error, never "none" silently.
CREATE FUNCTION acting_session_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('pgfolio.session_id', true), '')::uuid $$;

-- Whether session_id is a live session (not revoked, not expired) of user_id, an active
-- user. Runs as its caller: for pgfolio_api, row-level security shows the acting user's
-- sessions only.
-- PL/pgSQL rather than SQL: a SQL function with a sub-select is never inlined, and then
-- PostgreSQL 15 parses and plans its body on every call (~0.16 ms, twice per authenticated
-- request); PL/pgSQL keeps the plan for the connection (bench/RESULTS.md, authentication).
CREATE FUNCTION session_is_live(session_id uuid, user_id uuid) RETURNS boolean
LANGUAGE plpgsql STABLE
AS $$
BEGIN
  RETURN EXISTS (SELECT 1 FROM @extschema@.sessions s JOIN @extschema@.users u ON u.id = s.user_id
                 WHERE s.id = session_is_live.session_id AND s.user_id = session_is_live.user_id
                   AND s.revoked_at IS NULL AND s.expires_at > now() AND u.status = 'active');
END
$$;

-- The acting user's id: pgfolio.acting_user, but only when pgfolio.session_id names a live
-- session of that user and the user is active; NULL otherwise (no setting, a revoked or
-- expired session, another user's session, a suspended or deleted user). A malformed setting
-- is an error, never "nobody" silently. SECURITY DEFINER: it reads sessions and users past
-- the row-level security whose policies call it (as the caller it would recurse into them).
-- Policies call it as `(SELECT acting_user_id())`, an InitPlan evaluated once per statement
-- rather than once per row.
CREATE FUNCTION acting_user_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
  SELECT u.id
  FROM (SELECT nullif(current_setting('pgfolio.acting_user', true), '')::uuid AS id) u
  WHERE session_is_live(acting_session_id(), u.id)
$$;

GRANT SELECT ON currencies, assets, prices, price_history, fx_rates, fx_rate_history
  TO pgfolio_api, pgfolio_analyst;
GRANT SELECT ON portfolios, holdings TO pgfolio_api;
GRANT SELECT ON portfolios, holdings TO pgfolio_analyst;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA @extschema@ TO pgfolio_admin;
GRANT EXECUTE ON FUNCTION acting_user_id() TO pgfolio_api, pgfolio_analyst, pgfolio_admin;
GRANT EXECUTE ON FUNCTION acting_session_id(), session_is_live(uuid, uuid) TO pgfolio_api;

-- Authentication data (docs/auth.md). Of users, pgfolio_api and pgfolio_admin read every
-- column but the credentials: the password hash (offline guessing), the TOTP ciphertexts and
-- the device's push token. The grant is computed, so a column added to users later is readable
-- unless it joins this list.
DO $users$
BEGIN
  REVOKE SELECT ON users FROM pgfolio_admin;
  EXECUTE format('GRANT SELECT (%s) ON users TO pgfolio_api, pgfolio_admin',
    (SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
     FROM pg_attribute
     WHERE attrelid = 'users'::regclass AND attnum > 0 AND NOT attisdropped
       AND attname NOT IN ('password_hash', 'totp_secret', 'totp_pending_secret',
                           'notification_token')));
END
$users$;
-- pgfolio_api reads the acting user's sessions and audit trail; everything else goes through
-- the functions. Refresh tokens, OTP challenges and one-time tokens are nobody's to read (an
-- OTP hash is guessed in a million tries), nor are outbox payloads, which carry codes until
-- sent: only the outbox functions hand them to pgfolio_worker. The audit trail is append-only,
-- even for pgfolio_admin.
GRANT SELECT ON sessions, audit_logs TO pgfolio_api;
REVOKE ALL ON refresh_tokens, otp_challenges, one_time_tokens, outbox FROM pgfolio_admin;
GRANT SELECT (id, channel, recipient, template, status, attempts, next_attempt_at, expires_at,
              last_error, created_at, claimed_at, sent_at) ON outbox TO pgfolio_admin;
REVOKE INSERT, UPDATE, DELETE ON audit_logs FROM pgfolio_admin;

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE portfolios ENABLE ROW LEVEL SECURITY;
ALTER TABLE holdings ENABLE ROW LEVEL SECURITY;
ALTER TABLE sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE refresh_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE otp_challenges ENABLE ROW LEVEL SECURITY;
ALTER TABLE one_time_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE outbox ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_logs ENABLE ROW LEVEL SECURITY;

CREATE POLICY users_self ON users FOR SELECT TO pgfolio_api
  USING (id = (SELECT acting_user_id()));
CREATE POLICY portfolios_owner ON portfolios FOR SELECT TO pgfolio_api
  USING (owner_id = (SELECT acting_user_id()));
CREATE POLICY holdings_owner ON holdings FOR SELECT TO pgfolio_api
  USING (EXISTS (SELECT 1 FROM portfolios p
                 WHERE p.id = holdings.portfolio_id AND p.owner_id = (SELECT acting_user_id())));
CREATE POLICY sessions_owner ON sessions FOR SELECT TO pgfolio_api
  USING (user_id = (SELECT acting_user_id()));
CREATE POLICY audit_logs_actor ON audit_logs FOR SELECT TO pgfolio_api
  USING (actor_id = (SELECT acting_user_id()));

CREATE POLICY portfolios_analyst ON portfolios FOR SELECT TO pgfolio_analyst USING (true);
CREATE POLICY holdings_analyst ON holdings FOR SELECT TO pgfolio_analyst USING (true);

CREATE POLICY users_admin ON users TO pgfolio_admin USING (true) WITH CHECK (true);
CREATE POLICY portfolios_admin ON portfolios TO pgfolio_admin USING (true) WITH CHECK (true);
CREATE POLICY holdings_admin ON holdings TO pgfolio_admin USING (true) WITH CHECK (true);
CREATE POLICY sessions_admin ON sessions TO pgfolio_admin USING (true) WITH CHECK (true);
CREATE POLICY outbox_admin ON outbox FOR SELECT TO pgfolio_admin USING (true);
CREATE POLICY audit_logs_admin ON audit_logs FOR SELECT TO pgfolio_admin USING (true);

-- Display names only: what analysts and public views may show of a person.
CREATE VIEW user_directory AS
  SELECT id, CASE WHEN status = 'deleted' THEN NULL ELSE display_name END AS display_name
  FROM users;
GRANT SELECT ON user_directory TO pgfolio_analyst, pgfolio_admin;

-- Public portfolios, listed for anyone through these views: what they hold, never cash
-- amounts or personal data beyond the owner's display name. Unlisted portfolios are in
-- neither view: only someone who knows the id reads one, through public_portfolio(id)
-- (sql/75-public-portfolios.sql), which also gives weights and performance.
CREATE VIEW public_portfolios AS
  SELECT p.id, p.name, u.display_name AS owner_display_name, p.base_currency, p.created_at
  FROM portfolios p JOIN user_directory u ON u.id = p.owner_id
  WHERE p.visibility = 'public' AND p.status = 'active';

CREATE VIEW public_portfolio_holdings AS
  SELECT h.portfolio_id, h.asset_id, a.layer
  FROM holdings h
  JOIN portfolios p ON p.id = h.portfolio_id
  JOIN assets a ON a.id = h.asset_id
  WHERE p.visibility = 'public' AND p.status = 'active';
GRANT SELECT ON public_portfolios, public_portfolio_holdings
  TO pgfolio_api, pgfolio_analyst, pgfolio_admin;
