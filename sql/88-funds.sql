-- Cash in and out of a portfolio (issue 5, docs/data-model.md "Cash and trades"): every movement a row of
-- transactions and an entry of the portfolio's ledger, in one transaction under the
-- portfolio's lock. Trades add their rows to the same table.

CREATE TABLE transactions (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  portfolio_id    uuid NOT NULL REFERENCES portfolios,
  kind            text NOT NULL CHECK (kind IN ('DEPOSIT', 'WITHDRAWAL', 'BUY', 'SELL')),
  asset_id        text REFERENCES assets ON UPDATE CASCADE,
  quantity        numeric(38, 18) CHECK (quantity > 0),
  price           numeric(30, 10) CHECK (price >= 0),
  execution_price numeric(30, 10) CHECK (execution_price >= 0),
  spread_amount   numeric(28, 8) CHECK (spread_amount >= 0),
  fee             numeric(28, 8) NOT NULL DEFAULT 0 CHECK (fee >= 0),
  -- The cash the transaction moved, in the portfolio's base currency: paid in, paid out, the
  -- all-in cost of a buy or the proceeds of a sell after fee.
  amount          numeric(28, 8) NOT NULL CHECK (amount >= 0),
  realised_pnl    numeric(28, 8),
  ledger_id       uuid NOT NULL REFERENCES ledger,
  created_at      timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT transactions_trade_fields
    CHECK ((kind IN ('BUY', 'SELL')) = (asset_id IS NOT NULL AND quantity IS NOT NULL))
);
CREATE INDEX transactions_portfolio_idx ON transactions (portfolio_id, created_at DESC, id);

ALTER TABLE transactions ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON transactions FROM pgfolio_admin;
GRANT SELECT ON transactions TO pgfolio_api, pgfolio_analyst, pgfolio_admin;
CREATE POLICY transactions_owner ON transactions FOR SELECT TO pgfolio_api
  USING (EXISTS (SELECT 1 FROM portfolios p
                 WHERE p.id = transactions.portfolio_id AND p.owner_id = (SELECT acting_user_id())));
CREATE POLICY transactions_all ON transactions FOR SELECT TO pgfolio_analyst, pgfolio_admin
  USING (true);

-- The acting user's own active portfolio (their default one when portfolio_id is NULL, as
-- the single-portfolio endpoints of the mobile app ask), locked for a change (FOR UPDATE:
-- every mutation of a portfolio takes this lock first, so changes to one portfolio are
-- serialised and ledger_append finds the lock already held). Another user's portfolio is
-- NOT_FOUND, the same answer as an unknown id.
CREATE FUNCTION portfolio_for_change(portfolio_id uuid) RETURNS portfolios
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users := acting_user();
  p portfolios;
BEGIN
  SELECT * INTO p FROM portfolios
  WHERE owner_id = u.id AND status = 'active'
    AND CASE WHEN portfolio_for_change.portfolio_id IS NULL THEN is_default
             ELSE id = portfolio_for_change.portfolio_id END
  FOR UPDATE;
  IF p.id IS NULL THEN
    PERFORM raise_error('NOT_FOUND',
      CASE WHEN portfolio_id IS NULL THEN 'no default portfolio'
           ELSE format('portfolio %s not found', portfolio_id) END,
      jsonb_build_object('portfolioId', portfolio_id));
  END IF;
  RETURN p;
END
$$;

-- An amount of cash to move: positive, at most 10^12 in one movement (more is a typing slip,
-- not a deposit), and no finer than the currency's minor unit.
CREATE FUNCTION checked_cash_amount(amount numeric, currency text) RETURNS numeric
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  minor smallint := (SELECT c.minor_unit FROM currencies c WHERE c.code = currency);
BEGIN
  IF amount IS NULL OR amount = 'NaN' OR amount <= 0 OR amount > 1e12 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'amount must be positive and at most 1000000000000',
                        jsonb_build_object('field', 'amount'));
  END IF;
  IF amount <> round(amount, minor) THEN
    PERFORM raise_error('VALIDATION_ERROR',
                        format('amount has more decimals than %s allows (%s)', currency, minor),
                        jsonb_build_object('field', 'amount', 'maxDecimals', minor));
  END IF;
  RETURN amount;
END
$$;

-- Pays cash in (DEPOSIT) or out (WITHDRAWAL) of a portfolio (NULL: the default one), never
-- below zero (INSUFFICIENT_CASH with the
-- amounts). Returns {portfolioId, transactionId, ledgerEntryId, kind, amount, cash}.
CREATE FUNCTION funds_move(portfolio_id uuid, kind text, amount numeric) RETURNS jsonb
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  p portfolios := portfolio_for_change(portfolio_id);
  v_amount numeric := checked_cash_amount(amount, p.base_currency);
  before jsonb := ledger_snapshot(p.id);
  entry ledger;
  v_transaction uuid;
BEGIN
  IF kind = 'WITHDRAWAL' AND p.cash_balance < v_amount THEN
    PERFORM raise_error('INSUFFICIENT_CASH',
      format('cannot withdraw %s: %s available', trim_scale(v_amount), trim_scale(p.cash_balance)),
      jsonb_build_object('required', trim_scale(v_amount)::text,
                         'available', trim_scale(p.cash_balance)::text));
  END IF;
  UPDATE portfolios
  SET cash_balance = cash_balance + CASE kind WHEN 'DEPOSIT' THEN v_amount ELSE -v_amount END,
      updated_at = now()
  WHERE id = p.id;
  entry := ledger_append(p.id, CASE kind WHEN 'DEPOSIT' THEN 'ADD_FUNDS' ELSE 'WITHDRAW_FUNDS' END,
                         before, ledger_snapshot(p.id), amount => v_amount,
                         message => format('%s %s %s', CASE kind WHEN 'DEPOSIT' THEN 'Added'
                                                            ELSE 'Withdrew' END,
                                           p.base_currency, trim_scale(v_amount)));
  INSERT INTO transactions (portfolio_id, kind, amount, ledger_id, created_at)
  VALUES (p.id, kind, v_amount, entry.id, entry.created_at)
  RETURNING id INTO v_transaction;
  RETURN jsonb_build_object(
    'portfolioId', p.id, 'transactionId', v_transaction, 'ledgerEntryId', entry.id,
    'kind', kind, 'amount', trim_scale(v_amount)::text,
    'cash', (SELECT trim_scale(cash_balance)::text FROM portfolios WHERE id = p.id));
END
$$;

CREATE FUNCTION funds_add(portfolio_id uuid, amount numeric) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$ SELECT funds_move(portfolio_id, 'DEPOSIT', amount) $$;

CREATE FUNCTION funds_withdraw(portfolio_id uuid, amount numeric) RETURNS jsonb
LANGUAGE sql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$ SELECT funds_move(portfolio_id, 'WITHDRAWAL', amount) $$;

GRANT EXECUTE ON FUNCTION funds_add(uuid, numeric), funds_withdraw(uuid, numeric) TO pgfolio_api;
