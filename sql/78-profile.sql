-- The acting user's own account: profile and settings, consents, MFA enrolment, export of
-- their data and erasure (docs/auth.md, docs/privacy.md). Every function acts for
-- acting_user() only, so it can reach no one else's account whatever it is given.

-- The profile as the API shows it: the user, settings, risk profile and consents. Never a
-- credential: the push token only as whether one is set.
CREATE FUNCTION profile_json(u users) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
  SELECT user_json(u) || jsonb_build_object(
    'avatarUrl', u.avatar_url, 'biometricEnabled', u.biometric_enabled,
    'notificationTokenSet', u.notification_token IS NOT NULL,
    'riskScore', u.risk_score, 'riskTier', u.risk_tier, 'riskProfile', u.risk_profile,
    'targetAllocation', CASE WHEN u.target_foundation_pct IS NOT NULL THEN jsonb_build_object(
      'FOUNDATION', u.target_foundation_pct::text, 'GROWTH', u.target_growth_pct::text,
      'UPSIDE', u.target_upside_pct::text) END,
    'consents', jsonb_build_object('risk', u.consent_risk_at, 'loss', u.consent_loss_at,
                                   'noGuarantee', u.consent_no_guarantee_at),
    'lastLoginAt', u.last_login_at)
$$;

CREATE FUNCTION profile_get() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  RETURN profile_json(acting_user());
END
$$;

-- settings: any of displayName (text), avatarUrl (https URL, or null to remove),
-- notificationToken (or null to remove), biometricEnabled (boolean). Returns the profile.
CREATE FUNCTION profile_update(settings jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users := acting_user(true);
  key text;
  value jsonb;
BEGIN
  IF jsonb_typeof(settings) IS DISTINCT FROM 'object' THEN
    PERFORM raise_error('VALIDATION_ERROR', 'the settings must be a JSON object');
  END IF;
  FOR key, value IN SELECT * FROM jsonb_each(settings) LOOP
    CASE key
    WHEN 'displayName' THEN
      u.display_name := checked(CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}' END,
                                key, 'person_name',
                                '1 to 100 characters, not blank, without control characters');
    WHEN 'avatarUrl' THEN
      u.avatar_url := CASE WHEN jsonb_typeof(value) = 'null' THEN NULL ELSE
        checked(CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}' END, key,
                'https_url', 'an https:// URL of at most 2048 characters, or null') END;
    WHEN 'notificationToken' THEN
      u.notification_token := CASE WHEN jsonb_typeof(value) = 'null' THEN NULL ELSE
        checked(CASE WHEN jsonb_typeof(value) = 'string' THEN value #>> '{}' END, key,
                'device_token', '1 to 4096 characters without spaces, or null') END;
    WHEN 'biometricEnabled' THEN
      IF jsonb_typeof(value) <> 'boolean' THEN
        PERFORM raise_error('VALIDATION_ERROR', 'biometricEnabled must be true or false',
                            jsonb_build_object('field', key));
      END IF;
      u.biometric_enabled := value::boolean;
    ELSE
      PERFORM raise_error('VALIDATION_ERROR', format('%s is not a setting', key),
                          jsonb_build_object('field', key));
    END CASE;
  END LOOP;
  UPDATE users
  SET display_name = u.display_name, avatar_url = u.avatar_url,
      notification_token = u.notification_token, biometric_enabled = u.biometric_enabled,
      updated_at = now()
  WHERE id = u.id
  RETURNING * INTO u;
  RETURN profile_json(u);
END
$$;

-- Records the acceptance of the three disclosures, {"risk": true, "loss": true,
-- "noGuarantee": true} (each must be there and true), with the current time.
CREATE FUNCTION onboarding_consent(body jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users := acting_user(true);
  key text;
BEGIN
  IF jsonb_typeof(body) IS DISTINCT FROM 'object' THEN
    PERFORM raise_error('VALIDATION_ERROR', 'the body must be a JSON object');
  END IF;
  FOR key IN SELECT k FROM jsonb_object_keys(body) k LOOP
    IF key NOT IN ('risk', 'loss', 'noGuarantee') THEN
      PERFORM raise_error('VALIDATION_ERROR', format('%s is not a consent', key),
                          jsonb_build_object('field', key));
    END IF;
  END LOOP;
  FOREACH key IN ARRAY ARRAY['risk', 'loss', 'noGuarantee'] LOOP
    IF body -> key IS DISTINCT FROM 'true'::jsonb THEN
      PERFORM raise_error('VALIDATION_ERROR', format('%s must be accepted (true)', key),
                          jsonb_build_object('field', key));
    END IF;
  END LOOP;
  UPDATE users
  SET consent_risk_at = now(), consent_loss_at = now(), consent_no_guarantee_at = now(),
      updated_at = now()
  WHERE id = u.id
  RETURNING * INTO u;
  PERFORM audit(u.id, 'consent.accept', 'user', u.id::text);
  RETURN jsonb_build_object('consents', profile_json(u) -> 'consents');
END
$$;

-- Everything pgfolio holds about the acting user, as JSON (GDPR access and portability):
-- profile, portfolios with holdings, sessions, and the audit trail of their own actions.
-- Credentials (password hash, TOTP secret, push token, token hashes) are not data about the
-- person and are left out.
CREATE FUNCTION profile_export() RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users := acting_user();
BEGIN
  RETURN jsonb_build_object(
    'exportedAt', now(),
    'profile', profile_json(u),
    'portfolios', (
      SELECT coalesce(jsonb_agg(jsonb_build_object(
        'id', p.id, 'name', p.name, 'visibility', p.visibility,
        'baseCurrency', p.base_currency, 'cashBalance', trim_scale(p.cash_balance)::text,
        'targetAllocation', jsonb_build_object(
          'FOUNDATION', p.target_foundation_pct::text, 'GROWTH', p.target_growth_pct::text,
          'UPSIDE', p.target_upside_pct::text),
        'isDefault', p.is_default, 'status', p.status, 'createdAt', p.created_at,
        'holdings', (SELECT coalesce(jsonb_agg(jsonb_build_object(
                       'assetId', h.asset_id, 'quantity', trim_scale(h.quantity)::text,
                       'averageCost', trim_scale(h.average_cost)::text,
                       'frozenQuantity', trim_scale(h.frozen_quantity)::text)
                       ORDER BY h.asset_id), '[]')
                     FROM holdings h WHERE h.portfolio_id = p.id))
        ORDER BY p.created_at, p.id), '[]')
      FROM portfolios p WHERE p.owner_id = u.id),
    'sessions', (
      SELECT coalesce(jsonb_agg(session_json(s) || jsonb_build_object(
                        'revokedAt', s.revoked_at, 'revokedReason', s.revoked_reason)
                      ORDER BY s.created_at, s.id), '[]')
      FROM sessions s WHERE s.user_id = u.id),
    'auditLog', (
      SELECT coalesce(jsonb_agg(jsonb_build_object(
                        'at', a.at, 'action', a.action, 'resourceType', a.resource_type,
                        'resourceId', a.resource_id, 'ip', host(a.ip), 'userAgent', a.user_agent,
                        'details', a.details)
                      ORDER BY a.at, a.id), '[]')
      FROM audit_logs a WHERE a.actor_id = u.id));
END
$$;

-- GDPR erasure of the acting user (docs/privacy.md): every session ends; email, phone, names,
-- avatar, push token, password hash, TOTP secrets, risk profile, pending tokens and codes,
-- undelivered messages and the recipient of delivered ones are erased; portfolios become
-- private and lose their names, which the person wrote. What remains holds no personal data:
-- the user's id and role, when the account was created and deleted, the consent times, the
-- portfolios and holdings (financial records), and the audit trail.
-- Erasing the account, or enrolling an authenticator (which could lock its owner out), needs a
-- recent login, not only a live access token: a token lifted from a device cannot do either
-- (OWASP ASVS 4.0 V3.7.1, re-authentication before sensitive account changes).
CREATE FUNCTION require_recent_login(action text) RETURNS void
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM sessions s
                 WHERE s.id = acting_session_id()
                   AND s.created_at > now() - make_interval(secs => auth_limit('recentLoginSeconds')))
  THEN
    PERFORM raise_error('FORBIDDEN', format('log in again to %s', action),
      jsonb_build_object('reason', 'reauthenticationRequired',
                         'maxLoginAgeSeconds', auth_limit('recentLoginSeconds')));
  END IF;
END
$$;

CREATE FUNCTION profile_delete() RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users := acting_user(true);
  revoked integer;
BEGIN
  PERFORM require_recent_login('delete the account');
  revoked := revoke_sessions(u.id, 'deleted');
  UPDATE sessions SET ip = NULL, user_agent = NULL, device = NULL WHERE user_id = u.id;
  DELETE FROM refresh_tokens t USING sessions s WHERE s.id = t.session_id AND s.user_id = u.id;
  DELETE FROM one_time_tokens WHERE user_id = u.id;
  DELETE FROM otp_challenges WHERE phone = u.phone;
  UPDATE outbox
  SET recipient = NULL, payload = '{}',
      status = CASE WHEN status IN ('pending', 'sending') THEN 'expired' ELSE status END
  WHERE lower(recipient) IN (lower(u.email), u.phone);
  UPDATE portfolios SET name = 'Portfolio', visibility = 'private', updated_at = now()
  WHERE owner_id = u.id;
  UPDATE users
  SET email = NULL, phone = NULL, display_name = NULL, avatar_url = NULL,
      notification_token = NULL, password_hash = NULL, totp_secret = NULL,
      totp_pending_secret = NULL, totp_last_step = NULL, mfa_enabled = false, biometric_enabled = false,
      email_verified_at = NULL, risk_score = NULL, risk_tier = NULL, risk_profile = NULL,
      target_foundation_pct = NULL, target_growth_pct = NULL, target_upside_pct = NULL,
      last_login_at = NULL, status = 'deleted', deleted_at = now(), updated_at = now()
  WHERE id = u.id;
  PERFORM audit(u.id, 'user.delete', 'user', u.id::text, NULL,
                jsonb_build_object('sessionsRevoked', revoked));
  RETURN '{"success": true}';
END
$$;

-- MFA enrolment. pgfolio-http makes the TOTP secret, encrypts it (the key never enters the
-- database) and hands the user the otpauth URI, labelled with the returned account (email or
-- phone); enrolment waits, pending, for the user's first code, which pgfolio-http checks
-- against mfa_pending_secret() before mfa_confirm.
CREATE FUNCTION mfa_enrol(secret_ciphertext bytea) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users := acting_user(true);
  v_secret bytea := checked(secret_ciphertext, 'secret', 'secret_ciphertext',
                            'an encrypted secret of 16 to 512 bytes');
BEGIN
  PERFORM require_recent_login('enrol an authenticator');
  IF u.mfa_enabled THEN
    PERFORM raise_error('CONFLICT', 'MFA is on already: disable it first',
                        '{"mfaEnabled": true}');
  END IF;
  UPDATE users SET totp_pending_secret = v_secret, updated_at = now() WHERE id = u.id;
  PERFORM audit(u.id, 'mfa.enrol', 'user', u.id::text);
  RETURN jsonb_build_object('pending', true, 'account', coalesce(u.email, u.phone));
END
$$;

-- The secret (ciphertext, base64) of the pending enrolment, or of the enabled MFA, with the
-- step of the last code accepted for it (lastStep; always null for a pending secret, which no
-- code confirmed yet): pgfolio-http accepts only codes of later steps. Both lock the user's
-- row: called in the transaction that then confirms or disables, they keep a concurrent
-- enrolment from changing the secret, and a concurrent use of the code from recording its
-- step, between the code check and the change.
CREATE FUNCTION mfa_secret_json(secret bytea, last_step bigint, missing text) RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  IF secret IS NULL THEN
    PERFORM raise_error('CONFLICT', missing);
  END IF;
  RETURN jsonb_build_object('secret', translate(encode(secret, 'base64'), E'\n', ''),
                            'lastStep', last_step);
END
$$;

CREATE FUNCTION mfa_pending_secret() RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  RETURN mfa_secret_json((acting_user(true)).totp_pending_secret, NULL,
                         'no MFA enrolment is pending');
END
$$;

CREATE FUNCTION mfa_secret() RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users := acting_user(true);
BEGIN
  RETURN mfa_secret_json(u.totp_secret, u.totp_last_step, 'MFA is off');
END
$$;

-- Turns MFA on with the pending secret; totp_step is the step pgfolio-http matched the code
-- at, recorded as the secret's last accepted one (the code cannot then also log in).
-- secret_ciphertext, when given, is the one pgfolio-http checked the code against, and must
-- still be the pending one: a code of one enrolment never confirms another started meanwhile
-- (without it, mfa_pending_secret's lock in the same transaction gives that guarantee).
CREATE FUNCTION mfa_confirm(totp_step bigint, secret_ciphertext bytea DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users := acting_user(true);
  v_step bigint := checked_totp_step(totp_step);
BEGIN
  IF u.totp_pending_secret IS NULL
     OR u.totp_pending_secret IS DISTINCT FROM coalesce(secret_ciphertext, u.totp_pending_secret)
  THEN
    PERFORM raise_error('CONFLICT', 'no such MFA enrolment is pending: enrol again');
  END IF;
  UPDATE users
  SET totp_secret = totp_pending_secret, totp_pending_secret = NULL, mfa_enabled = true,
      totp_last_step = v_step, updated_at = now()
  WHERE id = u.id;
  PERFORM audit(u.id, 'mfa.confirm', 'user', u.id::text);
  RETURN '{"success": true}';
END
$$;

-- Turns MFA off: pgfolio-http checked a current code against mfa_secret() first, matching it
-- at totp_step, which must be after the last accepted step (a code that logged in cannot
-- also turn MFA off: VALIDATION_ERROR, details.reason codeReused). The step goes with the
-- secret.
CREATE FUNCTION mfa_disable(totp_step bigint) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users := acting_user(true);
  v_step bigint := checked_totp_step(totp_step);
BEGIN
  IF NOT u.mfa_enabled THEN
    PERFORM raise_error('CONFLICT', 'MFA is off', '{"mfaEnabled": false}');
  ELSIF NOT totp_step_take(u.id, v_step) THEN
    PERFORM raise_error('VALIDATION_ERROR', 'this code was used already: wait for the next one',
                        '{"field": "totpStep", "reason": "codeReused"}');
  END IF;
  UPDATE users
  SET totp_secret = NULL, totp_pending_secret = NULL, totp_last_step = NULL, mfa_enabled = false,
      updated_at = now()
  WHERE id = u.id;
  UPDATE one_time_tokens SET consumed_at = now()
  WHERE user_id = u.id AND purpose = 'mfa_challenge' AND consumed_at IS NULL;
  PERFORM audit(u.id, 'mfa.disable', 'user', u.id::text);
  RETURN '{"success": true}';
END
$$;

GRANT EXECUTE ON FUNCTION profile_get(), profile_update(jsonb), onboarding_consent(jsonb),
  profile_export(), profile_delete(), mfa_enrol(bytea), mfa_pending_secret(), mfa_secret(),
  mfa_confirm(bigint, bytea), mfa_disable(bigint) TO pgfolio_api;
