-- The outbox (docs/auth.md): messages written in the transaction that decides to send them,
-- delivered afterwards by the sender in pgfolio-http, connected as a member of pgfolio_worker.
-- A message is claimed (FOR UPDATE SKIP LOCKED, so several senders never take the same one),
-- then reported sent, which erases its secret members, or failed, which retries it with
-- backoff up to 5 attempts. The audit trail is written by audit() (sql/46-identity.sql).

-- Queues a message and wakes the senders (NOTIFY pgfolio_outbox, with the id only; the
-- notification is delivered when this transaction commits). secret_keys name the payload
-- members to erase once the message is done with; expires_at is when it is no longer worth
-- sending.
CREATE FUNCTION outbox_queue(channel text, recipient text, template text, payload jsonb,
                             secret_keys text[] DEFAULT '{}', expires_at timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SET search_path = @extschema@, pg_temp
AS $$
DECLARE
  v_id bigint;
BEGIN
  INSERT INTO outbox (channel, recipient, template, payload, secret_keys, expires_at)
  VALUES (channel, recipient, template, payload, secret_keys, expires_at)
  RETURNING id INTO v_id;
  PERFORM pg_notify('pgfolio_outbox', v_id::text);
  RETURN v_id;
END
$$;

-- Claims up to max_messages due messages (1-100) for delivery, oldest first: pending ones
-- whose next attempt is due, and ones claimed more than 5 minutes ago by a sender that never
-- reported back. Expired messages are skipped (the purge-auth job closes them).
CREATE FUNCTION outbox_claim(max_messages integer)
RETURNS TABLE (id bigint, channel text, recipient text, template text, payload jsonb)
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  IF max_messages IS NULL OR max_messages NOT BETWEEN 1 AND 100 THEN
    PERFORM raise_error('VALIDATION_ERROR', 'max_messages must be between 1 and 100',
                        jsonb_build_object('field', 'max_messages'));
  END IF;
  RETURN QUERY
  WITH due AS (
    SELECT o.id FROM outbox o
    WHERE ((o.status = 'pending' AND o.next_attempt_at <= now())
           OR (o.status = 'sending' AND o.claimed_at < now() - interval '5 minutes'
               AND o.attempts < 5))
      AND (o.expires_at IS NULL OR o.expires_at > now())
    ORDER BY o.id
    LIMIT max_messages
    FOR UPDATE SKIP LOCKED)
  UPDATE outbox o SET status = 'sending', claimed_at = now(), attempts = o.attempts + 1
  FROM due WHERE o.id = due.id
  RETURNING o.id, o.channel, o.recipient, o.template, o.payload;
END
$$;

-- A claimed message the sender delivered: its secret members are erased.
CREATE FUNCTION outbox_sent(id bigint) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  UPDATE outbox o SET status = 'sent', sent_at = now(), payload = o.payload - o.secret_keys,
                      last_error = NULL
  WHERE o.id = outbox_sent.id AND o.status = 'sending';
  IF NOT FOUND THEN
    PERFORM raise_error('NOT_FOUND', format('no claimed outbox message %s', id),
                        jsonb_build_object('id', id));
  END IF;
END
$$;

-- A claimed message the sender could not deliver: retried after 30 s, 1, 2, then 4 minutes;
-- after the 5th attempt, or once its secret has expired, it is given up and its secret members
-- erased. error is kept (control characters removed, cut to 1000 characters): a sender must
-- never put the message's payload in it.
CREATE FUNCTION outbox_failed(id bigint, error text) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = @extschema@, pg_temp
AS $$
BEGIN
  UPDATE outbox o
  SET last_error = left(regexp_replace(coalesce(error, 'unknown error'), '[[:cntrl:]]', ' ', 'g'),
                        1000),
      status = CASE WHEN o.attempts >= 5 OR o.expires_at <= now() THEN 'failed' ELSE 'pending' END,
      payload = CASE WHEN o.attempts >= 5 OR o.expires_at <= now() THEN o.payload - o.secret_keys
                     ELSE o.payload END,
      next_attempt_at = now() + interval '30 seconds' * power(2, o.attempts - 1)
  WHERE o.id = outbox_failed.id AND o.status = 'sending';
  IF NOT FOUND THEN
    PERFORM raise_error('NOT_FOUND', format('no claimed outbox message %s', id),
                        jsonb_build_object('id', id));
  END IF;
END
$$;

GRANT EXECUTE ON FUNCTION outbox_claim(integer), outbox_sent(bigint), outbox_failed(bigint, text)
  TO pgfolio_worker;
