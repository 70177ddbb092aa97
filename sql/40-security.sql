-- Ownership, enforced by the database (docs/architecture.md, "Roles and ownership").
--
-- pgfolio_api acts for one user per transaction, named by the transaction-local setting
-- pgfolio.acting_user (set_config('pgfolio.acting_user', '<uuid>', true)). Row-level security
-- lets it see only that user's rows; without the setting it sees none. It has no INSERT,
-- UPDATE or DELETE on any table: SECURITY DEFINER functions are the only way to change state.
-- pgfolio_analyst reads portfolios and holdings of everyone but no personal data (no grant on
-- users; pgfolio.user_directory shows display names only). pgfolio_admin administers.

-- The acting user's id, or NULL when the transaction names none. A malformed setting is an
-- error, never "nobody" silently.
CREATE FUNCTION acting_user_id() RETURNS uuid
LANGUAGE sql STABLE PARALLEL SAFE
AS $$ SELECT nullif(current_setting('pgfolio.acting_user', true), '')::uuid $$;

GRANT SELECT ON currencies, assets, prices, price_history, fx_rates, fx_rate_history
  TO pgfolio_api, pgfolio_analyst;
GRANT SELECT ON users, portfolios, holdings TO pgfolio_api;
GRANT SELECT ON portfolios, holdings TO pgfolio_analyst;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA @extschema@ TO pgfolio_admin;
GRANT EXECUTE ON FUNCTION acting_user_id() TO pgfolio_api, pgfolio_analyst, pgfolio_admin;

ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE portfolios ENABLE ROW LEVEL SECURITY;
ALTER TABLE holdings ENABLE ROW LEVEL SECURITY;

CREATE POLICY users_self ON users FOR SELECT TO pgfolio_api
  USING (id = acting_user_id());
CREATE POLICY portfolios_owner ON portfolios FOR SELECT TO pgfolio_api
  USING (owner_id = acting_user_id());
CREATE POLICY holdings_owner ON holdings FOR SELECT TO pgfolio_api
  USING (EXISTS (SELECT 1 FROM portfolios p
                 WHERE p.id = holdings.portfolio_id AND p.owner_id = acting_user_id()));

CREATE POLICY portfolios_analyst ON portfolios FOR SELECT TO pgfolio_analyst USING (true);
CREATE POLICY holdings_analyst ON holdings FOR SELECT TO pgfolio_analyst USING (true);

CREATE POLICY users_admin ON users TO pgfolio_admin USING (true) WITH CHECK (true);
CREATE POLICY portfolios_admin ON portfolios TO pgfolio_admin USING (true) WITH CHECK (true);
CREATE POLICY holdings_admin ON holdings TO pgfolio_admin USING (true) WITH CHECK (true);

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
