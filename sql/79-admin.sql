-- Administration through the API (docs/auth.md): acting users with role admin list, suspend
-- and reactivate accounts; admin and service (a market-data feeder's machine account) load
-- prices and FX rates. The role is checked here, whatever pgfolio-http checked before.

-- The acting user, when their role is one of roles; otherwise FORBIDDEN.
CREATE FUNCTION acting_user_in_role(VARIADIC roles text[]) RETURNS users
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users := acting_user();
BEGIN
  IF NOT u.role = ANY (roles) THEN
    PERFORM raise_error('FORBIDDEN',
                        format('this needs the role %s', array_to_string(roles, ' or ')),
                        jsonb_build_object('requiredRoles', to_jsonb(roles)));
  END IF;
  RETURN u;
END
$$;

-- A page of accounts, newest first: {"users": [user + lastLoginAt], "nextCursor"}. page_size
-- is 1 to 100 (NULL: 50); cursor is the nextCursor of the previous page (NULL for the first),
-- an opaque string, and nextCursor is NULL on the last page.
CREATE FUNCTION admin_users(page_size integer DEFAULT 50, cursor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  after_at timestamptz;
  after_id uuid;
  parts text[];
  page jsonb;
  last_at timestamptz;
  last_id text;
  rows_read integer;
BEGIN
  PERFORM acting_user_in_role('admin');
  page_size := coalesce(page_size, 50);
  IF page_size NOT BETWEEN 1 AND 100 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'pageSize must be between 1 and 100',
                        jsonb_build_object('field', 'pageSize'));
  END IF;
  -- The cursor is the last row's (created_at in microseconds, id).
  IF cursor IS NOT NULL THEN
    parts := page_cursor_decode(cursor, '[0-9]{1,18}:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}');
    after_at := 'epoch'::timestamptz + parts[1]::bigint * interval '1 microsecond';
    after_id := parts[2]::uuid;
  END IF;
  WITH listed AS (
    SELECT user_json(u) || jsonb_build_object('lastLoginAt', u.last_login_at) AS item,
           u.created_at, u.id, row_number() OVER (ORDER BY u.created_at DESC, u.id DESC) AS n
    FROM users u
    WHERE cursor IS NULL OR (u.created_at, u.id) < (after_at, after_id)
    ORDER BY u.created_at DESC, u.id DESC
    LIMIT page_size + 1)
  SELECT coalesce(jsonb_agg(l.item ORDER BY l.n) FILTER (WHERE l.n <= page_size), '[]'),
         min(l.created_at) FILTER (WHERE l.n = page_size),
         min(l.id::text) FILTER (WHERE l.n = page_size),
         count(*)
  INTO page, last_at, last_id, rows_read
  FROM listed l;
  -- A further row means a further page, which starts after this page's last row.
  RETURN jsonb_build_object(
    'users', page,
    'nextCursor', CASE WHEN rows_read > page_size THEN
      page_cursor_encode(ARRAY[(extract(epoch FROM last_at) * 1000000)::bigint::text, last_id])
      END);
END
$$;

-- Suspends an account: its sessions end at once (authenticate refuses the user from the next
-- request on). Suspending an already suspended account changes nothing; an administrator
-- cannot suspend themselves, and a deleted account stays deleted. Returns the user.
CREATE FUNCTION admin_user_suspend(user_id uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  admin users := acting_user_in_role('admin');
  target users := admin_target(user_id);
  revoked integer;
BEGIN
  IF target.id = admin.id THEN
    PERFORM raise_error('CONFLICT', 'administrators cannot suspend their own account',
                        jsonb_build_object('userId', user_id));
  END IF;
  IF target.status = 'active' THEN
    UPDATE users SET status = 'suspended', updated_at = now() WHERE id = target.id
    RETURNING * INTO target;
    revoked := revoke_sessions(target.id, 'suspended');
    PERFORM audit(admin.id, 'user.suspend', 'user', target.id::text, NULL,
                  jsonb_build_object('sessionsRevoked', revoked));
  END IF;
  RETURN user_json(target);
END
$$;

-- Reactivates a suspended account (it logs in again: its sessions ended at suspension).
CREATE FUNCTION admin_user_reactivate(user_id uuid) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  admin users := acting_user_in_role('admin');
  target users := admin_target(user_id);
BEGIN
  IF target.status = 'suspended' THEN
    UPDATE users SET status = 'active', updated_at = now() WHERE id = target.id
    RETURNING * INTO target;
    PERFORM audit(admin.id, 'user.reactivate', 'user', target.id::text);
  END IF;
  RETURN user_json(target);
END
$$;

-- The account an administrator acts on, locked: NOT_FOUND when there is none, CONFLICT when
-- it is deleted.
CREATE FUNCTION admin_target(user_id uuid) RETURNS users
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  u users;
BEGIN
  SELECT * INTO u FROM users WHERE id = admin_target.user_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM raise_error('NOT_FOUND', format('user %s not found', user_id),
                        jsonb_build_object('userId', user_id));
  ELSIF u.status = 'deleted' THEN
    PERFORM raise_error('CONFLICT', format('user %s is deleted', user_id),
                        jsonb_build_object('userId', user_id, 'status', 'deleted'));
  END IF;
  RETURN u;
END
$$;

-- The market-data loaders (sql/60-market-data-functions.sql) for admin and service accounts.
-- Returns {"rows": rows read}.
CREATE FUNCTION admin_upsert_prices(batch jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  PERFORM acting_user_in_role('admin', 'service');
  RETURN jsonb_build_object('rows', upsert_prices(batch));
END
$$;

CREATE FUNCTION admin_upsert_fx_rates(batch jsonb) RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  PERFORM acting_user_in_role('admin', 'service');
  RETURN jsonb_build_object('rows', upsert_fx_rates(batch));
END
$$;

GRANT EXECUTE ON FUNCTION admin_users(integer, text), admin_user_suspend(uuid),
  admin_user_reactivate(uuid), admin_upsert_prices(jsonb), admin_upsert_fx_rates(jsonb)
  TO pgfolio_api;
