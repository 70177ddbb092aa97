"""pgfolio-http runs a transaction again after a deadlock (40P01), provoked here for real on
the main server: the test holds locks so that the request's transaction and the test's
form a cycle, PostgreSQL aborts the request's transaction, and the retry succeeds.

Serialization failures (40001) cannot be provoked honestly through today's read-only
endpoints at READ COMMITTED; the server treats them exactly like deadlocks (one branch,
keyed on the SQLSTATE), and tests/core/error_mapping_test.cpp covers the classification of
both states as retryable."""

import threading
import time

import psycopg2

from support import metric, parse_metrics, wait_until


def http_backend_locks(monitor):
    """Relation locks of pgfolio-http's backends: [(pid, relation, granted)]."""
    with monitor.cursor() as cursor:
        cursor.execute("""
            SELECT l.pid, l.relation::regclass::text, l.granted
            FROM pg_locks l JOIN pg_stat_activity a USING (pid)
            WHERE a.application_name = 'pgfolio-http' AND l.locktype = 'relation'
              AND a.datname = current_database()
              AND l.relation IN ('pgfolio.assets'::regclass, 'pgfolio.prices'::regclass)""")
        return cursor.fetchall()


def test_deadlock_is_retried(client, settings, market_data):
    before = parse_metrics(client.get("/metrics").body.decode())
    holder = psycopg2.connect(settings.test_dsn, connect_timeout=5)
    monitor = psycopg2.connect(settings.test_dsn, connect_timeout=5)
    monitor.autocommit = True
    result = {}
    try:
        with holder.cursor() as cursor:
            # The request's backend (default deadlock_timeout, 1s) must be the one that finds
            # the cycle and gives up; this session waits far longer before checking.
            cursor.execute("SET deadlock_timeout = '30s'")
            cursor.execute("SET lock_timeout = '20s'")
            cursor.execute("LOCK TABLE pgfolio.prices IN ACCESS EXCLUSIVE MODE")

            def call():
                result["response"] = client.get("/api/v1/prices")
            caller = threading.Thread(target=call)
            caller.start()
            # list_prices locks assets, then waits for prices, which this session holds.
            waiting = wait_until(
                lambda: [(pid, rel) for pid, rel, granted in http_backend_locks(monitor)
                         if rel == "pgfolio.prices" and not granted],
                timeout=5, interval=0.01, what="the request to wait for pgfolio.prices")
            pid = waiting[0][0]
            held = {rel for p, rel, granted in http_backend_locks(monitor)
                    if p == pid and granted}
            assert "pgfolio.assets" in held, "the request should hold assets while waiting"
            started = time.monotonic()
            # Closing the cycle: this waits for the request's backend, which waits for us.
            cursor.execute("LOCK TABLE pgfolio.assets IN ACCESS EXCLUSIVE MODE")
            assert time.monotonic() - started < 10
        holder.rollback()  # lets the retried transaction through
        caller.join(timeout=20)
        assert not caller.is_alive()
    finally:
        holder.close()
        monitor.close()

    response = result["response"]
    assert response.status == 200, response.body[:300]
    assert any(row["assetId"] == "HT-ALPHA" for row in response.json())
    after = parse_metrics(client.get("/metrics").body.decode())
    assert metric(after, "pgfolio_db_errors_total", kind="deadlock") \
        - metric(before, "pgfolio_db_errors_total", kind="deadlock") >= 1
    assert metric(after, "pgfolio_db_retries_total") \
        - metric(before, "pgfolio_db_retries_total") >= 1
