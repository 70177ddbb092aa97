-- Identity: the shared pieces of the accounts functions (input checks, the user as JSON, the
-- audit trail, remembered refusals), per-request authentication, registration and password
-- login (docs/auth.md). Sessions: sql/47; codes and one-time tokens: sql/48; the outbox:
-- sql/49; profile and MFA: sql/78; administration: sql/79.

-- Random secrets from OpenSSL's RAND_bytes (extension/pg/random_functions.cpp): `bytes` bytes
-- as base64url without padding, and n uniform decimal digits.
CREATE FUNCTION random_token(bytes integer) RETURNS text
LANGUAGE c VOLATILE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'pgfolio_random_token';

CREATE FUNCTION random_digits(n integer) RETURNS text
LANGUAGE c VOLATILE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'pgfolio_random_digits';

-- sha256 of text as lowercase hex: how tokens and codes are stored (sha256_hex).
CREATE FUNCTION sha256_text(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT encode(sha256(convert_to(value, 'UTF8')), 'hex') $$;

-- value, checked against the domain `type` (sql/30-accounts-portfolios.sql): a missing or
-- malformed value is a VALIDATION_ERROR naming the field as the caller's request names it,
-- saying what it must be.
CREATE FUNCTION checked(value anyelement, field text, type regtype, what text)
RETURNS anyelement
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  IF value IS NULL THEN
    PERFORM raise_error('VALIDATION_ERROR', format('%s is required', field),
                        jsonb_build_object('field', field));
  END IF;
  EXECUTE format('SELECT $1::%s', type) USING value;
  RETURN value;
EXCEPTION WHEN check_violation OR string_data_right_truncation THEN
  PERFORM raise_error('VALIDATION_ERROR', format('%s must be %s', field, what),
                      jsonb_build_object('field', field));
  RETURN NULL;
END
$$;

CREATE FUNCTION checked_hash(value text, field text) RETURNS text
LANGUAGE sql STABLE SET search_path = @extschema@, pg_temp
AS $$ SELECT checked(value, field, 'sha256_hex', 'a SHA-256 hash as 64 lowercase hex digits') $$;

-- The TOTP step pgfolio-http matched a code at (docs/auth.md, "TOTP codes are accepted once"):
-- required, and within two steps of the database's clock (one for the code window, one for
-- clock skew between the hosts), so that no step far ahead can be recorded and lock the
-- authenticator out.
CREATE FUNCTION checked_totp_step(step bigint) RETURNS bigint
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  IF step IS NULL THEN
    PERFORM raise_error('VALIDATION_ERROR', 'totpStep is required',
                        '{"field": "totpStep"}');
  ELSIF abs(step - floor(extract(epoch FROM now()) / 30)::bigint) > 2 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'totpStep must be the current TOTP step (±2)',
                        '{"field": "totpStep"}');
  END IF;
  RETURN step;
END
$$;

-- Records that a TOTP code of `step` was accepted for user_id: compare and set, so of two
-- uses of one code (even concurrent ones: the second waits for the first's row lock, then
-- sees its step) only the first succeeds. False when step is not after the last accepted one.
CREATE FUNCTION totp_step_take(user_id uuid, step bigint) RETURNS boolean
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  UPDATE users u SET totp_last_step = step
  WHERE u.id = totp_step_take.user_id AND u.mfa_enabled
    AND (u.totp_last_step IS NULL OR u.totp_last_step < step);
  RETURN FOUND;
END
$$;

-- What pgfolio-http saw of the client, {"ip", "userAgent", "device"} (each optional), for
-- sessions and the audit trail. The ip must be a host address; the user agent and device come
-- from request headers, so control characters are dropped and they are cut to their columns'
-- lengths rather than refused. Any other member is refused: nothing else (and never a secret)
-- belongs here.
CREATE FUNCTION client_info(client jsonb, OUT ip inet, OUT user_agent text, OUT device text)
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  key text;
BEGIN
  IF client IS NULL OR jsonb_typeof(client) = 'null' THEN
    RETURN;
  END IF;
  IF jsonb_typeof(client) <> 'object' THEN
    PERFORM raise_error('VALIDATION_ERROR', 'client must be an object',
                        jsonb_build_object('field', 'client'));
  END IF;
  FOR key IN SELECT k FROM jsonb_object_keys(client) k LOOP
    IF key NOT IN ('ip', 'userAgent', 'device')
       OR jsonb_typeof(client -> key) NOT IN ('string', 'null') THEN
      PERFORM raise_error('VALIDATION_ERROR',
        format('client.%s is not a string member of client (ip, userAgent, device)', key),
        jsonb_build_object('field', 'client.' || key));
    END IF;
  END LOOP;
  BEGIN
    ip := (client ->> 'ip')::inet;
  EXCEPTION WHEN invalid_text_representation THEN
    ip := NULL;
  END;
  IF (client ->> 'ip') IS NOT NULL
     AND (ip IS NULL OR masklen(ip) <> CASE family(ip) WHEN 4 THEN 32 ELSE 128 END) THEN
    PERFORM raise_error('VALIDATION_ERROR', 'client.ip must be an IP address',
                        jsonb_build_object('field', 'client.ip'));
  END IF;
  user_agent := left(regexp_replace(client ->> 'userAgent', '[[:cntrl:]]', '', 'g'), 512);
  device := left(regexp_replace(client ->> 'device', '[[:cntrl:]]', '', 'g'), 200);
END
$$;

-- A user as the API shows it.
CREATE FUNCTION user_json(u users) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT jsonb_build_object(
    'id', u.id, 'email', u.email, 'phone', u.phone, 'displayName', u.display_name,
    'role', u.role, 'status', u.status, 'emailVerified', u.email_verified_at IS NOT NULL,
    'mfaEnabled', u.mfa_enabled, 'createdAt', u.created_at)
$$;

-- A refusal that must not roll back what led to it (docs/auth.md, "Refusals that must be
-- remembered"): the function returns this instead of raising, and pgfolio-http commits and
-- answers the problem with the code's status.
CREATE FUNCTION problem(code text, detail text, details jsonb DEFAULT '{}') RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM error_catalog e WHERE e.code = problem.code) THEN
    PERFORM raise_error('INTERNAL_ERROR', format('pgfolio: unknown error code %s', code));
  END IF;
  RETURN jsonb_build_object('problem', jsonb_build_object(
    'code', code, 'detail', detail, 'details', coalesce(details, '{}'::jsonb)));
END
$$;

-- Appends to the audit trail. client is what pgfolio-http saw (client_info); when NULL, the
-- one authenticate() recorded for this transaction. details hold ids and reasons only.
CREATE FUNCTION audit(actor_id uuid, action text, resource_type text, resource_id text,
                      client jsonb DEFAULT NULL, details jsonb DEFAULT '{}')
RETURNS void
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  c record;
BEGIN
  SELECT * INTO c
  FROM client_info(coalesce(client, nullif(current_setting('pgfolio.client', true), '')::jsonb));
  INSERT INTO audit_logs (actor_id, action, resource_type, resource_id, ip, user_agent, details)
  VALUES (actor_id, action, CASE WHEN resource_id IS NOT NULL THEN resource_type END,
          resource_id, c.ip, c.user_agent, coalesce(details, '{}'::jsonb));
END
$$;

-- Per request: refuses (UNAUTHORIZED) unless session_id is a live session of user_id (not
-- revoked, not expired) and the user is active; then makes the user the acting user of this
-- transaction and returns their role. client ({"ip", "userAgent", "device"}) is kept for the
-- audit rows this transaction writes.
CREATE FUNCTION authenticate(user_id uuid, session_id uuid, client jsonb DEFAULT NULL)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_role text;
BEGIN
  SELECT u.role INTO v_role FROM users u
  WHERE u.id = authenticate.user_id AND session_is_live(authenticate.session_id, u.id);
  IF v_role IS NULL THEN
    PERFORM raise_error('UNAUTHORIZED', 'the session has ended or is not valid: log in again');
  END IF;
  IF client IS NOT NULL AND jsonb_typeof(client) <> 'object' THEN
    PERFORM raise_error('VALIDATION_ERROR', 'client must be an object',
                        jsonb_build_object('field', 'client'));
  END IF;
  PERFORM set_config('pgfolio.acting_user', user_id::text, true),
          set_config('pgfolio.session_id', session_id::text, true),
          set_config('pgfolio.client', coalesce(client::text, ''), true);
  RETURN v_role;
END
$$;

-- The acting user, for the functions that act for one: the user authenticate() accepted in
-- this transaction, whose session is still live (a logout earlier in the transaction ends it)
-- and who is still active; otherwise UNAUTHORIZED. Locked when for_update. acting_user_id()
-- (sql/40) checks the session as of the SELECT's snapshot; the check is made again after the
-- row lock, in a newer snapshot, so a suspension committed while we waited for the lock counts.
CREATE FUNCTION acting_user(for_update boolean DEFAULT false) RETURNS users
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users;
BEGIN
  IF for_update THEN
    SELECT * INTO u FROM users WHERE id = acting_user_id() FOR UPDATE;
  ELSE
    SELECT * INTO u FROM users WHERE id = acting_user_id();
  END IF;
  IF u.id IS NULL OR NOT session_is_live(acting_session_id(), u.id) THEN
    PERFORM raise_error('UNAUTHORIZED', 'no authenticated user: log in');
  END IF;
  RETURN u;
END
$$;

-- Registration with email and password. The email must be free (CONFLICT naming the field);
-- a verification link is queued to it.
CREATE FUNCTION auth_register(email text, password_hash text, display_name text, client jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_email text := checked(email, 'email', 'email_address',
                          'an email address of at most 254 characters');
  v_hash text := checked(password_hash, 'passwordHash', 'argon2id_hash',
                         'an Argon2id encoded hash ($argon2id$...) of at most 256 characters');
  v_name text := checked(display_name, 'displayName', 'person_name',
                         '1 to 100 characters, not blank, without control characters');
  v_user users;
BEGIN
  PERFORM client_info(client);
  BEGIN
    INSERT INTO users (email, password_hash, display_name)
    VALUES (v_email, v_hash, v_name) RETURNING * INTO v_user;
  EXCEPTION WHEN unique_violation THEN
    PERFORM raise_error('CONFLICT', 'an account with this email exists',
                        jsonb_build_object('field', 'email'));
  END;
  PERFORM issue_email_verification(v_user);
  PERFORM audit(v_user.id, 'user.register', 'user', v_user.id::text, client,
                '{"method": "password"}');
  RETURN jsonb_build_object('userId', v_user.id);
END
$$;

-- The account behind an email, for pgfolio-http to verify the password against: NULL when
-- there is none with a password (pgfolio-http then verifies against a dummy hash, so both
-- cases take the same time and get the same answer).
CREATE FUNCTION auth_login_lookup(email text) RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_email text := checked(email, 'email', 'email_address',
                          'an email address of at most 254 characters');
BEGIN
  RETURN (SELECT jsonb_build_object('userId', u.id, 'passwordHash', u.password_hash,
                                    'status', u.status, 'mfaEnabled', u.mfa_enabled)
          FROM users u
          WHERE lower(u.email) = lower(v_email) AND u.password_hash IS NOT NULL);
END
$$;

-- After a correct password whose stored hash has parameters below pgfolio-http's current
-- ones: replaces verified_hash (the hash the password was just checked against) with
-- new_hash, a fresh hash of the same password. Compare and set: if the stored hash changed
-- meanwhile (a password reset, or another login's rehash) it is left alone. Returns whether
-- it replaced it; nothing to do when new_hash is NULL. Not callable on its own: only the
-- login functions call it, for the user whose password was verified, so pgfolio_api gains no
-- power to set a password hash outside a login.
CREATE FUNCTION password_rehash(u users, verified_hash text, new_hash text) RETURNS boolean
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_new text;
BEGIN
  IF new_hash IS NULL THEN
    RETURN false;
  END IF;
  v_new := checked(new_hash, 'newPasswordHash', 'argon2id_hash',
                   'an Argon2id encoded hash ($argon2id$...) of at most 256 characters');
  IF verified_hash IS NULL THEN
    PERFORM raise_error('VALIDATION_ERROR',
                        'passwordHash (the hash the password was verified against) is required',
                        '{"field": "passwordHash"}');
  END IF;
  UPDATE users SET password_hash = v_new, updated_at = now()
  WHERE id = u.id AND password_hash = verified_hash;
  RETURN FOUND;
END
$$;

-- Records a failed login: a wrong password (user_id NULL when the email is unknown), a wrong
-- MFA code, or a correct credential of an account that is not active.
CREATE FUNCTION auth_login_failed(user_id uuid, client jsonb, reason text DEFAULT 'password')
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_actor uuid := (SELECT u.id FROM users u WHERE u.id = auth_login_failed.user_id);
BEGIN
  IF reason IS NULL OR reason NOT IN ('password', 'mfa', 'inactive') THEN
    PERFORM raise_error('VALIDATION_ERROR', 'reason must be password, mfa or inactive',
                        jsonb_build_object('field', 'reason'));
  END IF;
  PERFORM audit(v_actor, 'login.failure', 'user', v_actor::text, client,
                jsonb_build_object('reason', reason));
END
$$;

GRANT EXECUTE ON FUNCTION authenticate(uuid, uuid, jsonb),
  auth_register(text, text, text, jsonb), auth_login_lookup(text),
  auth_login_failed(uuid, jsonb, text) TO pgfolio_api;
