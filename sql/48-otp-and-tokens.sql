-- Phone login codes and single-use tokens: email verification, password reset, MFA challenges
-- (docs/auth.md). Codes and tokens made here come from random_digits/random_token and leave
-- the database only in an outbox message; the tables keep their SHA-256.

-- Limits, in one place.
CREATE FUNCTION auth_limits() RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT '{"otpDigits": 6, "otpTtlSeconds": 120, "otpAttempts": 3, "otpSendsPerWindow": 3,
           "otpWindowSeconds": 300, "mfaChallengeTtlSeconds": 300, "mfaChallengeAttempts": 5,
           "emailVerifyTtlSeconds": 86400, "passwordResetTtlSeconds": 3600,
           "passwordResetsPerHour": 3, "mfaAttemptsPerWindow": 10, "mfaWindowSeconds": 900,
           "recentLoginSeconds": 900}'::jsonb
$$;

CREATE FUNCTION auth_limit(name text) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = @extschema@, pg_temp
AS $$ SELECT (auth_limits() ->> name)::integer $$;

-- A new single-use token for user_id: its hash is stored, the token itself returned (to go
-- into an outbox message, nowhere else).
CREATE FUNCTION issue_token(user_id uuid, purpose text, ttl_seconds integer) RETURNS text
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  token text := random_token(32);
BEGIN
  INSERT INTO one_time_tokens (token_hash, purpose, user_id, expires_at)
  VALUES (sha256_text(token), purpose, user_id, now() + make_interval(secs => ttl_seconds));
  RETURN token;
END
$$;

-- Queues the email-verification link for u's email.
CREATE FUNCTION issue_email_verification(u users) RETURNS void
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  ttl integer := auth_limit('emailVerifyTtlSeconds');
BEGIN
  PERFORM outbox_queue('email', u.email, 'email-verify',
                       jsonb_build_object('token', issue_token(u.id, 'email_verify', ttl)),
                       ARRAY['token'], now() + make_interval(secs => ttl));
END
$$;

-- A live single-use token of `purpose`, locked, or a raised UNAUTHORIZED: unknown, used,
-- expired, or (max_attempts) tried too often.
CREATE FUNCTION take_token(token_hash text, purpose text, field text,
                           max_attempts integer DEFAULT NULL)
RETURNS one_time_tokens
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_hash text := checked_hash(token_hash, field);
  t one_time_tokens;
  reason text;
BEGIN
  SELECT * INTO t FROM one_time_tokens o
  WHERE o.token_hash = v_hash AND o.purpose = take_token.purpose
  FOR UPDATE;
  reason := CASE
    WHEN t.token_hash IS NULL THEN 'unknown'
    WHEN t.consumed_at IS NOT NULL THEN 'used'
    WHEN t.expires_at <= now() THEN 'expired'
    WHEN t.attempts >= max_attempts THEN 'attemptsExhausted'
  END;
  IF reason IS NOT NULL THEN
    PERFORM raise_error('UNAUTHORIZED',
      format('the %s is not valid (%s)',
             CASE purpose WHEN 'email_verify' THEN 'email verification link'
                          WHEN 'password_reset' THEN 'password reset link'
                          ELSE 'MFA challenge' END, reason),
                        jsonb_build_object('field', field, 'reason', reason));
  END IF;
  RETURN t;
END
$$;

-- Confirms an email address with the token of the link sent to it.
CREATE FUNCTION auth_email_verify(token_hash text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  t one_time_tokens := take_token(token_hash, 'email_verify', 'tokenHash');
BEGIN
  UPDATE one_time_tokens SET consumed_at = now() WHERE one_time_tokens.token_hash = t.token_hash;
  UPDATE users SET email_verified_at = coalesce(email_verified_at, now()), updated_at = now()
  WHERE id = t.user_id AND email IS NOT NULL;
  PERFORM audit(t.user_id, 'email.verify', 'user', t.user_id::text);
  RETURN '{"verified": true}';
END
$$;

-- Queues a password-reset link when the email belongs to an active account, at most
-- passwordResetsPerHour an hour; answers the same whether or not it did, so the answer does not
-- tell who has an account.
CREATE FUNCTION auth_password_forgot(email text, client jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_email text := checked(email, 'email', 'email_address',
                          'an email address of at most 254 characters');
  ttl integer := auth_limit('passwordResetTtlSeconds');
  u users;
BEGIN
  PERFORM client_info(client);
  SELECT * INTO u FROM users
  WHERE lower(users.email) = lower(v_email) AND status = 'active'
  FOR UPDATE;
  IF FOUND AND (SELECT count(*) FROM one_time_tokens o
                WHERE o.user_id = u.id AND o.purpose = 'password_reset'
                  AND o.created_at > now() - interval '1 hour')
               < auth_limit('passwordResetsPerHour') THEN
    PERFORM outbox_queue('email', u.email, 'password-reset',
                         jsonb_build_object('token', issue_token(u.id, 'password_reset', ttl)),
                         ARRAY['token'], now() + make_interval(secs => ttl));
    PERFORM audit(u.id, 'password.forgot', 'user', u.id::text, client);
  END IF;
  RETURN '{"success": true}';
END
$$;

-- Sets a new password (its Argon2id hash) with the token of a reset link, and ends every
-- session of the account: whoever knew the old password is logged out. The link proves the
-- email too.
CREATE FUNCTION auth_password_reset(token_hash text, password_hash text, client jsonb)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_hash text := checked(password_hash, 'passwordHash', 'argon2id_hash',
                         'an Argon2id encoded hash ($argon2id$...) of at most 256 characters');
  t one_time_tokens := take_token(token_hash, 'password_reset', 'tokenHash');
  revoked integer;
BEGIN
  PERFORM client_info(client);
  -- Every other reset link and pending MFA challenge of the account dies with this one.
  UPDATE one_time_tokens SET consumed_at = now()
  WHERE user_id = t.user_id AND purpose IN ('password_reset', 'mfa_challenge')
    AND consumed_at IS NULL;
  UPDATE users
  SET password_hash = v_hash, email_verified_at = coalesce(email_verified_at, now()),
      updated_at = now()
  WHERE id = t.user_id;
  revoked := revoke_sessions(t.user_id, 'password_reset');
  PERFORM audit(t.user_id, 'password.reset', 'user', t.user_id::text, client,
                jsonb_build_object('sessionsRevoked', revoked));
  RETURN '{"success": true}';
END
$$;

-- Sends a login code to a phone: 6 digits, valid 120 s, at most 3 sends per phone in any
-- 5 minutes. Over the limit the answer is a RATE_LIMITED problem whose details.retryAfter is
-- the number of seconds until the next send is allowed.
CREATE FUNCTION auth_otp_send(phone text, client jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_phone text := checked(phone, 'phone', 'phone_number',
                          'an E.164 phone number like +919812345678');
  ttl integer := auth_limit('otpTtlSeconds');
  window_start timestamptz := now() - make_interval(secs => auth_limit('otpWindowSeconds'));
  sends integer;
  oldest timestamptz;
  code text;
BEGIN
  PERFORM client_info(client);
  -- Sends for one phone are counted one transaction at a time, or concurrent requests would
  -- each see room for one more.
  PERFORM pg_advisory_xact_lock(hashtextextended('pgfolio-otp:' || v_phone, 0));
  SELECT count(*), min(o.created_at) INTO sends, oldest
  FROM otp_challenges o WHERE o.phone = v_phone AND o.created_at > window_start;
  IF sends >= auth_limit('otpSendsPerWindow') THEN
    RETURN problem('RATE_LIMITED', 'too many codes sent to this phone: try again later',
      jsonb_build_object('retryAfter',
        greatest(1, ceil(extract(epoch FROM oldest - window_start))::integer)));
  END IF;
  code := random_digits(auth_limit('otpDigits'));
  INSERT INTO otp_challenges (phone, code_hash, expires_at)
  VALUES (v_phone, sha256_text('pgfolio-otp:' || v_phone || ':' || code),
          now() + make_interval(secs => ttl));
  PERFORM outbox_queue('sms', v_phone, 'otp',
                       jsonb_build_object('code', code, 'expiresIn', ttl),
                       ARRAY['code'], now() + make_interval(secs => ttl));
  RETURN jsonb_build_object('success', true, 'expiresIn', ttl);
END
$$;

-- Answers the latest code sent to a phone: code_hash is
-- sha256('pgfolio-otp:' || phone || ':' || code) as hex. Right: the code is used up and the
-- phone's account (created now if there is none) logs in, {"sessionId", "user", "created"};
-- with MFA on, refresh_hash becomes an MFA challenge instead, {"mfaRequired": true,
-- "expiresIn"}, and pgfolio-http hands the random value it hashed to the client as the
-- challenge. Wrong: an attempt is used up, answered as an UNAUTHORIZED problem with
-- details.attemptsLeft. No code pending, expired, or 3 wrong tries: UNAUTHORIZED raised.
CREATE FUNCTION auth_otp_verify(phone text, code_hash text, refresh_hash text, client jsonb,
                                ttl_seconds integer DEFAULT 2592000)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_phone text := checked(phone, 'phone', 'phone_number',
                          'an E.164 phone number like +919812345678');
  v_code_hash text := checked_hash(code_hash, 'codeHash');
  v_refresh_hash text := checked_hash(refresh_hash, 'refreshHash');
  max_attempts integer := auth_limit('otpAttempts');
  ch otp_challenges;
  u users;
  created boolean := false;
  reason text;
BEGIN
  PERFORM client_info(client);
  SELECT * INTO ch FROM otp_challenges o WHERE o.phone = v_phone
  ORDER BY o.id DESC LIMIT 1 FOR UPDATE;
  reason := CASE
    WHEN ch.id IS NULL OR ch.consumed_at IS NOT NULL THEN 'noCode'
    WHEN ch.expires_at <= now() THEN 'expired'
    WHEN ch.attempts >= max_attempts THEN 'attemptsExhausted'
  END;
  IF reason IS NOT NULL THEN
    PERFORM raise_error('UNAUTHORIZED', 'no valid code for this phone: request a new one',
                        jsonb_build_object('field', 'code', 'reason', reason));
  END IF;
  SELECT * INTO u FROM users WHERE users.phone = v_phone FOR UPDATE;
  IF ch.code_hash <> v_code_hash THEN
    UPDATE otp_challenges SET attempts = attempts + 1 WHERE id = ch.id;
    PERFORM audit(u.id, 'login.failure', 'user', u.id::text, client,
                  '{"reason": "otp"}');
    RETURN problem('UNAUTHORIZED', 'wrong code',
                   jsonb_build_object('field', 'code',
                                      'attemptsLeft', max_attempts - ch.attempts - 1));
  END IF;
  UPDATE otp_challenges SET consumed_at = now() WHERE id = ch.id;
  IF u.id IS NULL THEN
    INSERT INTO users (phone) VALUES (v_phone) RETURNING * INTO u;
    created := true;
    PERFORM audit(u.id, 'user.register', 'user', u.id::text, client, '{"method": "otp"}');
  END IF;
  IF u.status <> 'active' THEN
    PERFORM audit(u.id, 'login.failure', 'user', u.id::text, client,
                  '{"reason": "inactive"}');
    RETURN problem('FORBIDDEN', format('this account is %s', u.status),
                   jsonb_build_object('status', u.status));
  END IF;
  IF u.mfa_enabled THEN
    RETURN start_mfa_challenge(u, v_refresh_hash);
  END IF;
  RETURN session_open(u, v_refresh_hash, client, ttl_seconds, 'otp')
         || jsonb_build_object('created', created);
END
$$;

CREATE FUNCTION start_mfa_challenge(u users, challenge_hash text) RETURNS jsonb
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  ttl integer := auth_limit('mfaChallengeTtlSeconds');
BEGIN
  INSERT INTO one_time_tokens (token_hash, purpose, user_id, expires_at)
  VALUES (challenge_hash, 'mfa_challenge', u.id, now() + make_interval(secs => ttl));
  RETURN jsonb_build_object('mfaRequired', true, 'expiresIn', ttl);
END
$$;

-- After pgfolio-http verified the password of an account with MFA on: registers the challenge
-- (the hash of 256 random bits pgfolio-http gives the client) for /auth/mfa/verify, and
-- replaces the password hash as auth_session_start does (password_rehash: the password was
-- verified, whatever becomes of the second factor). Returns
-- {"mfaRequired": true, "expiresIn": 300}.
CREATE FUNCTION auth_mfa_challenge_start(user_id uuid, challenge_hash text,
                                         password_hash text DEFAULT NULL,
                                         new_password_hash text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_hash text := checked_hash(challenge_hash, 'challengeHash');
  u users;
BEGIN
  SELECT * INTO u FROM users WHERE id = auth_mfa_challenge_start.user_id;
  IF NOT FOUND THEN
    PERFORM raise_error('UNAUTHORIZED', 'no such user');
  ELSIF u.status <> 'active' THEN
    PERFORM raise_error('FORBIDDEN', format('this account is %s', u.status),
                        jsonb_build_object('status', u.status));
  ELSIF NOT u.mfa_enabled THEN
    PERFORM raise_error('CONFLICT', 'this account has MFA off', '{"mfaRequired": false}');
  END IF;
  PERFORM password_rehash(u, password_hash, new_password_hash);
  RETURN start_mfa_challenge(u, v_hash);
END
$$;

-- For /auth/mfa/verify: the challenge's user, TOTP secret (ciphertext, base64) and the step of
-- the last code accepted (lastStep, null if none), for pgfolio-http to check the code against
-- the later steps only. Each call uses up one of the challenge's 5 attempts (it returns
-- normally, so the count is kept); a wrong code is then auth_login_failed(…, 'mfa'), a right
-- one auth_mfa_session_start with the step it matched.
CREATE FUNCTION auth_mfa_challenge_take(challenge_hash text) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  t one_time_tokens := take_token(challenge_hash, 'mfa_challenge', 'challengeHash',
                                  auth_limit('mfaChallengeAttempts'));
  u users;
  tried bigint;
  oldest timestamptz;
BEGIN
  SELECT * INTO u FROM users WHERE id = t.user_id FOR UPDATE;
  IF u.status <> 'active' OR NOT u.mfa_enabled THEN
    PERFORM raise_error('UNAUTHORIZED', 'the MFA challenge is not valid: log in again',
                        jsonb_build_object('field', 'challengeHash', 'reason', 'account'));
  END IF;
  -- Each challenge allows 5 codes, but whoever has the password can start challenges at will:
  -- the codes tried are also capped per account, across challenges, as OTP sends are per
  -- phone. The user row's lock (above) makes concurrent tries count one after the other.
  SELECT coalesce(sum(o.attempts), 0), min(o.created_at) INTO tried, oldest
  FROM one_time_tokens o
  WHERE o.user_id = u.id AND o.purpose = 'mfa_challenge' AND o.attempts > 0
    AND o.created_at > now() - make_interval(secs => auth_limit('mfaWindowSeconds'));
  IF tried >= auth_limit('mfaAttemptsPerWindow') THEN
    RETURN jsonb_build_object('problem', jsonb_build_object(
      'code', 'RATE_LIMITED',
      'detail', 'Too many MFA codes were tried for this account; wait before trying again.',
      'details', jsonb_build_object('retryAfter', greatest(1, ceil(extract(epoch FROM
        oldest + make_interval(secs => auth_limit('mfaWindowSeconds')) - now()))::integer))));
  END IF;
  UPDATE one_time_tokens SET attempts = attempts + 1
  WHERE one_time_tokens.token_hash = t.token_hash;
  RETURN jsonb_build_object(
    'userId', u.id, 'secret', translate(encode(u.totp_secret, 'base64'), E'\n', ''),
    'lastStep', u.totp_last_step,
    'attemptsLeft', auth_limit('mfaChallengeAttempts') - t.attempts - 1);
END
$$;

-- After pgfolio-http verified the TOTP code of a challenge it took, matching it at totp_step:
-- records the step (a code already accepted, e.g. by a concurrent login with the same code,
-- is refused: an UNAUTHORIZED problem, returned so that the attempt stays counted and the
-- failure audited), uses the challenge up and opens the session, as auth_session_start does.
CREATE FUNCTION auth_mfa_session_start(challenge_hash text, refresh_hash text, client jsonb,
                                       ttl_seconds integer, totp_step bigint)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_refresh_hash text := checked_hash(refresh_hash, 'refreshHash');
  v_step bigint := checked_totp_step(totp_step);
  t one_time_tokens := take_token(challenge_hash, 'mfa_challenge', 'challengeHash');
  u users;
BEGIN
  PERFORM client_info(client);
  SELECT * INTO u FROM users WHERE id = t.user_id FOR UPDATE;
  -- The code was checked against a secret auth_mfa_challenge_take handed out.
  IF t.attempts = 0 OR u.status <> 'active' OR NOT u.mfa_enabled THEN
    PERFORM raise_error('UNAUTHORIZED', 'the MFA challenge is not valid: log in again',
                        jsonb_build_object('field', 'challengeHash', 'reason', 'notTaken'));
  END IF;
  IF NOT totp_step_take(u.id, v_step) THEN
    PERFORM audit(u.id, 'login.failure', 'user', u.id::text, client, '{"reason": "mfa"}');
    RETURN problem('UNAUTHORIZED', 'this code was used already: wait for the next one',
                   jsonb_build_object('field', 'totpStep', 'reason', 'codeReused',
                                      'attemptsLeft',
                                      auth_limit('mfaChallengeAttempts') - t.attempts));
  END IF;
  UPDATE one_time_tokens SET consumed_at = now() WHERE one_time_tokens.token_hash = t.token_hash;
  RETURN session_open(u, v_refresh_hash, client, ttl_seconds, 'mfa');
END
$$;

GRANT EXECUTE ON FUNCTION auth_email_verify(text), auth_password_forgot(text, jsonb),
  auth_password_reset(text, text, jsonb), auth_otp_send(text, jsonb),
  auth_otp_verify(text, text, text, jsonb, integer), auth_mfa_challenge_start(uuid, text, text, text),
  auth_mfa_challenge_take(text), auth_mfa_session_start(text, text, jsonb, integer, bigint)
  TO pgfolio_api;
GRANT EXECUTE ON FUNCTION auth_limits(), auth_limit(text) TO pgfolio_api, pgfolio_admin;
