-- Users, portfolios and holdings: the private side of pgfolio. Row-level security
-- (sql/40-security.sql) limits pgfolio_api to the acting user's rows.

-- The formats of personal and authentication data, as domains: the columns and the functions
-- that check their callers' input (valid_text, sql/46-identity.sql) share one definition.
CREATE DOMAIN email_address AS text
  CHECK (length(VALUE) <= 254
         AND VALUE ~ '^[^@\s[:cntrl:]]+@[^@\s[:cntrl:]]+\.[^@\s[:cntrl:]]+$');
-- E.164: a plus, a country code that does not start with 0, at most 15 digits in all.
CREATE DOMAIN phone_number AS text CHECK (VALUE ~ '^\+[1-9][0-9]{6,14}$');
CREATE DOMAIN person_name AS text
  CHECK (length(VALUE) BETWEEN 1 AND 100 AND VALUE ~ '[^[:space:]]' AND VALUE !~ '[[:cntrl:]]');
CREATE DOMAIN https_url AS text
  CHECK (length(VALUE) <= 2048 AND VALUE ~ '^https://[^[:space:][:cntrl:]]+$');
-- The database never sees a password, only pgfolio-http's Argon2id encoded hash
-- ($argon2id$v=19$m=…,t=…,p=…$salt$hash), whose parameters travel with it so they can be
-- raised later.
CREATE DOMAIN argon2id_hash AS text
  CHECK (length(VALUE) <= 256 AND VALUE ~ '^\$argon2id\$[^[:space:][:cntrl:]]+$');
-- A push notification token of the user's device.
CREATE DOMAIN device_token AS text
  CHECK (length(VALUE) BETWEEN 1 AND 4096 AND VALUE ~ '^[^[:space:][:cntrl:]]+$');
-- A TOTP secret encrypted by pgfolio-http (AES-256-GCM: nonce, ciphertext, tag), whose key
-- never enters the database.
CREATE DOMAIN secret_ciphertext AS bytea CHECK (length(VALUE) BETWEEN 16 AND 512);
-- SHA-256 as 64 lowercase hexadecimal digits: how refresh tokens, one-time tokens and OTP
-- codes are stored and presented (docs/auth.md).
CREATE DOMAIN sha256_hex AS text CHECK (VALUE ~ '^[0-9a-f]{64}$');

CREATE TABLE users (
  id                     uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Columns older than the domains keep type text, which clients compare against, and check
  -- the domain by a cast (NULL passes, as in a domain).
  email                  text CHECK (email::email_address = email),
  phone                  text CHECK (phone::phone_number = phone),
  -- service: a machine account (a market-data feeder), never a person (docs/auth.md).
  role                   text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin', 'service')),
  status                 text NOT NULL DEFAULT 'active'
                         CHECK (status IN ('active', 'suspended', 'deleted')),
  display_name           text CHECK (display_name::person_name = display_name),
  avatar_url             text CHECK (avatar_url::https_url = avatar_url),
  risk_score             smallint CHECK (risk_score BETWEEN 1 AND 10),
  risk_tier              text CHECK (risk_tier IN ('LOW', 'MEDIUM', 'HIGH')),
  risk_profile           text CHECK (length(risk_profile) <= 100),
  target_foundation_pct  numeric(5, 2) CHECK (target_foundation_pct BETWEEN 0 AND 100),
  target_growth_pct      numeric(5, 2) CHECK (target_growth_pct BETWEEN 0 AND 100),
  target_upside_pct      numeric(5, 2) CHECK (target_upside_pct BETWEEN 0 AND 100),
  consent_risk_at        timestamptz,
  consent_loss_at        timestamptz,
  consent_no_guarantee_at timestamptz,
  created_at             timestamptz NOT NULL DEFAULT now(),
  updated_at             timestamptz NOT NULL DEFAULT now(),
  last_login_at          timestamptz,
  -- Accounts and authentication (docs/auth.md).
  password_hash          argon2id_hash,
  email_verified_at      timestamptz,
  -- TOTP secrets, AES-256-GCM ciphertext under a key only pgfolio-http holds; the pending
  -- one waits for its first code (mfa_confirm).
  mfa_enabled            boolean NOT NULL DEFAULT false,
  totp_secret            secret_ciphertext,
  totp_pending_secret    secret_ciphertext,
  -- The TOTP step (Unix time / 30 s) of the last code accepted for totp_secret: a code is
  -- accepted once only (RFC 6238 §5.2), so pgfolio-http only counts later steps, and the
  -- functions that accept a code compare and set it (totp_step_take).
  totp_last_step         bigint CHECK (totp_last_step >= 0),
  notification_token     device_token,
  biometric_enabled      boolean NOT NULL DEFAULT false,
  deleted_at             timestamptz,
  CONSTRAINT users_mfa_has_secret CHECK (mfa_enabled = (totp_secret IS NOT NULL)),
  -- The step belongs to the active secret and goes with it.
  CONSTRAINT users_totp_step_with_mfa CHECK (totp_last_step IS NULL OR mfa_enabled),
  CONSTRAINT users_deleted_at_only_when_deleted CHECK (deleted_at IS NULL OR status = 'deleted'),
  CONSTRAINT users_contact_required
    CHECK (status = 'deleted' OR email IS NOT NULL OR phone IS NOT NULL),
  CONSTRAINT users_target_allocation_sums_to_100
    CHECK ((target_foundation_pct IS NULL AND target_growth_pct IS NULL
            AND target_upside_pct IS NULL)
           OR target_foundation_pct + target_growth_pct + target_upside_pct = 100)
);
CREATE UNIQUE INDEX users_email_key ON users (lower(email)) WHERE email IS NOT NULL;
CREATE UNIQUE INDEX users_phone_key ON users (phone) WHERE phone IS NOT NULL;

CREATE TABLE portfolios (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  owner_id              uuid NOT NULL REFERENCES users,
  name                  text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  visibility            text NOT NULL DEFAULT 'private'
                        CHECK (visibility IN ('public', 'unlisted', 'private')),
  base_currency         text NOT NULL DEFAULT 'INR' REFERENCES currencies,
  cash_balance          numeric(28, 8) NOT NULL DEFAULT 0 CHECK (cash_balance >= 0),
  target_foundation_pct numeric(5, 2) NOT NULL DEFAULT 40
                        CHECK (target_foundation_pct BETWEEN 0 AND 100),
  target_growth_pct     numeric(5, 2) NOT NULL DEFAULT 40
                        CHECK (target_growth_pct BETWEEN 0 AND 100),
  target_upside_pct     numeric(5, 2) NOT NULL DEFAULT 20
                        CHECK (target_upside_pct BETWEEN 0 AND 100),
  is_default            boolean NOT NULL DEFAULT false,
  status                text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'closed')),
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT portfolios_target_allocation_sums_to_100
    CHECK (target_foundation_pct + target_growth_pct + target_upside_pct = 100)
);
CREATE INDEX portfolios_owner_idx ON portfolios (owner_id);
CREATE UNIQUE INDEX portfolios_one_default_per_owner ON portfolios (owner_id) WHERE is_default;

CREATE TABLE holdings (
  portfolio_id    uuid NOT NULL REFERENCES portfolios,
  asset_id        text NOT NULL REFERENCES assets ON UPDATE CASCADE,
  quantity        numeric(38, 18) NOT NULL CHECK (quantity > 0),
  -- Average cost per unit in the portfolio's base currency, fees excluded.
  average_cost    numeric(30, 10) NOT NULL CHECK (average_cost >= 0),
  -- Quantity pledged as collateral; it cannot be sold or withdrawn.
  frozen_quantity numeric(38, 18) NOT NULL DEFAULT 0
                  CHECK (frozen_quantity >= 0 AND frozen_quantity <= quantity),
  updated_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (portfolio_id, asset_id)
);
CREATE INDEX holdings_asset_idx ON holdings (asset_id);
