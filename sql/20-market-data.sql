-- Market data: currencies, the asset registry, latest prices, price history and FX rates.
-- Everything here is public reference data: no personal data, readable by every pgfolio role.

CREATE TABLE currencies (
  code       text PRIMARY KEY CHECK (code ~ '^[A-Z]{3,5}$'),
  name       text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  -- Decimals of the currency's minor unit (INR 2, JPY 0): money is rounded to it, half-even.
  minor_unit smallint NOT NULL CHECK (minor_unit BETWEEN 0 AND 8),
  -- Rows the extension script itself inserts; pg_dump leaves them to CREATE EXTENSION.
  builtin    boolean NOT NULL DEFAULT false
);

CREATE TABLE assets (
  id                      text PRIMARY KEY CHECK (id ~ '^[A-Z0-9][A-Z0-9._-]{0,31}$'),
  symbol                  text NOT NULL CHECK (length(symbol) BETWEEN 1 AND 32),
  exchange                text CHECK (length(exchange) BETWEEN 1 AND 32),
  name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  isin                    text UNIQUE CHECK (isin ~ '^[A-Z]{2}[A-Z0-9]{9}[0-9]$'),
  asset_class             text NOT NULL
                          CHECK (asset_class IN ('STOCK', 'ETF', 'MUTUAL_FUND', 'CRYPTO', 'GOLD',
                                                 'FIXED_INCOME')),
  sector                  text CHECK (length(sector) <= 100),
  quote_currency          text NOT NULL REFERENCES currencies,
  layer                   text NOT NULL CHECK (layer IN ('FOUNDATION', 'GROWTH', 'UPSIDE')),
  -- Relative weight of the asset within its layer when cash is spread over the layer.
  base_weight             numeric(12, 6) NOT NULL DEFAULT 1 CHECK (base_weight > 0),
  -- Fractions, not percents: 0.003 = 0.30 %.
  max_ltv                 numeric(6, 5) NOT NULL DEFAULT 0 CHECK (max_ltv BETWEEN 0 AND 1),
  monthly_protection_rate numeric(8, 7) NOT NULL DEFAULT 0
                          CHECK (monthly_protection_rate >= 0 AND monthly_protection_rate < 1),
  protection_eligible     boolean NOT NULL DEFAULT false,
  spread                  numeric(8, 7) NOT NULL DEFAULT 0 CHECK (spread >= 0 AND spread < 0.5),
  fee_rate                numeric(8, 7) NOT NULL DEFAULT 0 CHECK (fee_rate >= 0 AND fee_rate < 0.5),
  min_trade_amount        numeric(20, 2) NOT NULL DEFAULT 0 CHECK (min_trade_amount >= 0),
  quantity_decimals       smallint NOT NULL DEFAULT 0 CHECK (quantity_decimals BETWEEN 0 AND 18),
  volatility_score        smallint CHECK (volatility_score BETWEEN 1 AND 10),
  liquidity_score         smallint CHECK (liquidity_score BETWEEN 1 AND 10),
  active                  boolean NOT NULL DEFAULT true,
  created_at              timestamptz NOT NULL DEFAULT now(),
  updated_at              timestamptz NOT NULL DEFAULT now(),
  -- Lets prices reference (asset, currency) so a price is always in the asset's quote currency.
  UNIQUE (id, quote_currency)
);
CREATE INDEX assets_symbol_idx ON assets (lower(symbol));

CREATE TABLE prices (
  asset_id       text PRIMARY KEY,
  price          numeric(30, 10) NOT NULL CHECK (price > 0),
  currency       text NOT NULL,
  source         text NOT NULL CHECK (length(source) BETWEEN 1 AND 64),
  as_of          timestamptz NOT NULL,
  change_24h_pct numeric(12, 4),
  updated_at     timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (asset_id, currency) REFERENCES assets (id, quote_currency) ON UPDATE CASCADE
);

CREATE TABLE price_history (
  asset_id text NOT NULL REFERENCES assets ON UPDATE CASCADE,
  at       timestamptz NOT NULL,
  open     numeric(30, 10) CHECK (open > 0),
  high     numeric(30, 10) CHECK (high > 0),
  low      numeric(30, 10) CHECK (low > 0),
  close    numeric(30, 10) NOT NULL CHECK (close > 0),
  volume   numeric(38, 8) CHECK (volume >= 0),
  source   text NOT NULL,
  PRIMARY KEY (asset_id, at),
  CHECK (low IS NULL OR high IS NULL OR low <= high)
);

-- One unit of `base` costs `rate` units of `quote` (base USD, quote INR, rate 83.25).
CREATE TABLE fx_rates (
  base       text NOT NULL REFERENCES currencies,
  quote      text NOT NULL REFERENCES currencies,
  rate       numeric(30, 12) NOT NULL CHECK (rate > 0),
  source     text NOT NULL CHECK (length(source) BETWEEN 1 AND 64),
  as_of      timestamptz NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (base, quote),
  CHECK (base <> quote)
);

CREATE TABLE fx_rate_history (
  base   text NOT NULL REFERENCES currencies,
  quote  text NOT NULL REFERENCES currencies,
  at     timestamptz NOT NULL,
  rate   numeric(30, 12) NOT NULL CHECK (rate > 0),
  source text NOT NULL,
  PRIMARY KEY (base, quote, at)
);

INSERT INTO currencies (code, name, minor_unit, builtin) VALUES
  ('INR', 'Indian rupee', 2, true), ('USD', 'US dollar', 2, true), ('EUR', 'Euro', 2, true),
  ('GBP', 'Pound sterling', 2, true), ('JPY', 'Japanese yen', 0, true), ('SGD', 'Singapore dollar', 2, true),
  ('AED', 'UAE dirham', 2, true);
