-- Sessions: opened at login, kept alive by rotating refresh tokens, ended by logout,
-- revocation, a reused refresh token, a password reset, suspension or deletion (docs/auth.md).

-- Opens a session for u, who has just proved who they are: the session with its first refresh
-- token (its hash), expiring ttl_seconds from now; last_login_at; login.success in the audit
-- trail (details.passwordRehashed when the login also replaced the password hash). Returns
-- {"sessionId", "user"}.
CREATE FUNCTION session_open(u users, refresh_hash text, client jsonb, ttl_seconds integer,
                             method text, rehashed boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  c record;
  v_session uuid;
BEGIN
  -- From 1 minute (tests) to 90 days.
  IF ttl_seconds IS NULL OR ttl_seconds NOT BETWEEN 60 AND 7776000 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'ttlSeconds must be between 60 and 7776000',
                        jsonb_build_object('field', 'ttlSeconds'));
  END IF;
  SELECT * INTO c FROM client_info(client);
  INSERT INTO sessions (user_id, device, ip, user_agent, expires_at)
  VALUES (u.id, c.device, c.ip, c.user_agent, now() + make_interval(secs => ttl_seconds))
  RETURNING id INTO v_session;
  INSERT INTO refresh_tokens (token_hash, session_id)
  VALUES (checked_hash(refresh_hash, 'refreshHash'), v_session);
  UPDATE users SET last_login_at = now() WHERE id = u.id RETURNING * INTO u;
  PERFORM audit(u.id, 'login.success', 'session', v_session::text, client,
                jsonb_build_object('method', method)
                || CASE WHEN rehashed THEN '{"passwordRehashed": true}'::jsonb ELSE '{}' END);
  RETURN jsonb_build_object('sessionId', v_session, 'user', user_json(u));
END
$$;

-- Ends every live session of a user; returns how many.
CREATE FUNCTION revoke_sessions(user_id uuid, reason text) RETURNS integer
LANGUAGE sql SET search_path = @extschema@, pg_temp
AS $$
  WITH revoked AS (
    UPDATE sessions s SET revoked_at = now(), revoked_reason = reason
    WHERE s.user_id = revoke_sessions.user_id AND s.revoked_at IS NULL
    RETURNING 1)
  SELECT count(*)::integer FROM revoked
$$;

-- After pgfolio-http verified the password: opens a session. Refuses an account that is not
-- active, and one with MFA on, which logs in through auth_mfa_challenge_start and
-- auth_mfa_session_start instead (so a slip in pgfolio-http cannot skip the second factor).
-- With new_password_hash (pgfolio-http's hashing parameters were raised since the stored hash
-- was made), the stored hash, password_hash, is replaced by it: password_rehash.
CREATE FUNCTION auth_session_start(user_id uuid, refresh_hash text, client jsonb,
                                   ttl_seconds integer, password_hash text DEFAULT NULL,
                                   new_password_hash text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_hash text := checked_hash(refresh_hash, 'refreshHash');
  u users;
  rehashed boolean;
BEGIN
  SELECT * INTO u FROM users WHERE id = auth_session_start.user_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM raise_error('UNAUTHORIZED', 'no such user');
  ELSIF u.status <> 'active' THEN
    PERFORM raise_error('FORBIDDEN', format('this account is %s', u.status),
                        jsonb_build_object('status', u.status));
  ELSIF u.mfa_enabled THEN
    PERFORM raise_error('FORBIDDEN', 'this account has MFA on: log in with an MFA challenge',
                        '{"mfaRequired": true}');
  END IF;
  rehashed := password_rehash(u, password_hash, new_password_hash);
  RETURN session_open(u, v_hash, client, ttl_seconds, 'password', rehashed);
END
$$;

-- Exchanges a refresh token (its hash) for the next one (new_hash): the old one is marked
-- rotated. Presenting a rotated token again means two parties hold the session's tokens, one
-- of them a thief: the whole session is revoked, audited as refresh.reuse, and the refusal is
-- returned as a problem so that the revocation is committed. Returns {"sessionId", "user"}
-- like a login, so pgfolio-http answers the new pair in this one call.
CREATE FUNCTION auth_refresh(old_hash text, new_hash text, client jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_old text := checked_hash(old_hash, 'refreshHash');
  v_new text := checked_hash(new_hash, 'newHash');
  t refresh_tokens;
  s sessions;
  u users;
  c record;
BEGIN
  SELECT * INTO c FROM client_info(client);
  IF v_old = v_new THEN
    PERFORM raise_error('VALIDATION_ERROR', 'the new refresh token must differ from the old one',
                        jsonb_build_object('field', 'newHash'));
  END IF;
  -- The token row is locked first: a concurrent refresh with the same token waits here and
  -- then sees it rotated, which is reuse.
  SELECT * INTO t FROM refresh_tokens WHERE token_hash = v_old FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM raise_error('UNAUTHORIZED', 'unknown refresh token: log in again');
  END IF;
  SELECT * INTO s FROM sessions WHERE id = t.session_id FOR UPDATE;
  IF s.revoked_at IS NOT NULL OR s.expires_at <= now() THEN
    PERFORM raise_error('UNAUTHORIZED', 'the session has ended: log in again');
  END IF;
  IF t.rotated_at IS NOT NULL THEN
    UPDATE sessions SET revoked_at = now(), revoked_reason = 'refresh_reuse' WHERE id = s.id;
    PERFORM audit(s.user_id, 'refresh.reuse', 'session', s.id::text, client,
                  jsonb_build_object('rotatedAt', t.rotated_at));
    RETURN problem('UNAUTHORIZED',
                   'this refresh token was already used: the session is revoked, log in again',
                   '{"reason": "refreshReuse"}');
  END IF;
  SELECT * INTO u FROM users WHERE id = s.user_id;
  IF u.status <> 'active' THEN
    PERFORM raise_error('UNAUTHORIZED', format('this account is %s', u.status),
                        jsonb_build_object('status', u.status));
  END IF;
  UPDATE refresh_tokens SET rotated_at = now() WHERE token_hash = v_old;
  INSERT INTO refresh_tokens (token_hash, session_id) VALUES (v_new, s.id);
  UPDATE sessions
  SET last_used_at = now(), ip = coalesce(c.ip, ip), user_agent = coalesce(c.user_agent, user_agent)
  WHERE id = s.id;
  RETURN jsonb_build_object('sessionId', s.id, 'user', user_json(u));
END
$$;

-- A session as its user sees it.
CREATE FUNCTION session_json(s sessions) RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$
  SELECT jsonb_build_object(
    'id', s.id, 'device', s.device, 'ip', host(s.ip), 'userAgent', s.user_agent,
    'createdAt', s.created_at, 'lastUsedAt', s.last_used_at, 'expiresAt', s.expires_at,
    'current', s.id IS NOT DISTINCT FROM acting_session_id())
$$;

-- Ends the acting user's current session.
CREATE FUNCTION auth_logout() RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users := acting_user();
BEGIN
  UPDATE sessions SET revoked_at = now(), revoked_reason = 'logout'
  WHERE id = acting_session_id() AND user_id = u.id AND revoked_at IS NULL;
  PERFORM audit(u.id, 'logout', 'session', acting_session_id()::text);
  RETURN '{"success": true}';
END
$$;

-- The acting user's live sessions, most recently used first. It runs as its caller, so what
-- it can see is what row-level security lets pgfolio_api see: that user's sessions only.
CREATE FUNCTION auth_sessions() RETURNS jsonb
LANGUAGE plpgsql STABLE SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  IF NOT session_is_live(acting_session_id(), acting_user_id()) THEN
    PERFORM raise_error('UNAUTHORIZED', 'no authenticated user: log in');
  END IF;
  RETURN (SELECT coalesce(jsonb_agg(session_json(s) ORDER BY s.last_used_at DESC, s.id), '[]')
          FROM sessions s
          WHERE s.user_id = acting_user_id() AND s.revoked_at IS NULL AND s.expires_at > now());
END
$$;

-- Ends one of the acting user's live sessions (the current one too); another user's session,
-- like an ended one, is NOT_FOUND.
CREATE FUNCTION auth_session_revoke(session_id uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users := acting_user();
BEGIN
  UPDATE sessions s SET revoked_at = now(), revoked_reason = 'revoked'
  WHERE s.id = auth_session_revoke.session_id AND s.user_id = u.id AND s.revoked_at IS NULL
    AND s.expires_at > now();
  IF NOT FOUND THEN
    PERFORM raise_error('NOT_FOUND', format('session %s not found', session_id),
                        jsonb_build_object('sessionId', session_id));
  END IF;
  PERFORM audit(u.id, 'session.revoke', 'session', session_id::text);
  RETURN '{"success": true}';
END
$$;

GRANT EXECUTE ON FUNCTION auth_session_start(uuid, text, jsonb, integer, text, text),
  auth_refresh(text, text, jsonb), auth_logout(), auth_sessions(), session_json(sessions),
  auth_session_revoke(uuid) TO pgfolio_api;
