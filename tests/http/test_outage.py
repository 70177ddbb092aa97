"""While the database is down requests get 503 with Retry-After and /readyz fails, /healthz
does not; when it is back, service resumes without restarting pgfolio-http. Runs against a
cluster and a server of its own (conftest: outage_cluster, outage_server), never the main
ones, so it may stop the database and break functions at will."""

import re
import threading

import pytest

from support import assert_problem, metric, parse_metrics, wait_until


def retry_after(response) -> int:
    value = response.header("Retry-After")
    assert value is not None and re.fullmatch(r"\d+", value), response.headers
    assert int(value) >= 1
    return int(value)


def assert_unavailable(response):
    problem = assert_problem(response, 503, "SERVICE_UNAVAILABLE")
    retry_after(response)
    return problem


def test_serves_while_the_database_is_up(outage_server):
    client = outage_server.client
    assert client.get("/readyz").status == 200
    response = client.get("/api/v1/prices")
    assert response.status == 200
    assert response.json() == []  # a fresh database without demo data


def test_database_down_then_back(outage_cluster, outage_server):
    client = outage_server.client
    before = parse_metrics(client.get("/metrics").body.decode())
    outage_cluster.cluster("stop")
    try:
        for path in ("/api/v1/prices", "/api/v1/prices/HT-ALPHA", "/api/v1/assets?q=x"):
            assert_unavailable(client.get(path))
        assert_unavailable(client.get("/readyz"))
        assert client.get("/healthz").status == 200
        assert client.get("/metrics").status == 200
        # What needs no database is still answered as usual.
        assert_problem(client.get("/api/v1/prices/btc"), 400, "VALIDATION_ERROR")
        assert_problem(client.get("/api/v1/nothing"), 404, "NOT_FOUND")
        # The CORS and request-id headers are on the 503 too.
        response = client.get("/api/v1/prices", headers={"Origin": "http://app.test.example",
                                                          "X-Request-Id": "outage-1"})
        assert_unavailable(response)
        assert response.header("X-Request-Id") == "outage-1"
        assert response.header("Access-Control-Allow-Origin") == "http://app.test.example"
    finally:
        outage_cluster.cluster("start")

    wait_until(lambda: client.get("/readyz").status == 200, timeout=15, interval=0.1,
               what="/readyz after the database came back")
    assert client.get("/api/v1/prices").status == 200
    assert outage_server.process.poll() is None, "pgfolio-http must not restart"
    after = parse_metrics(client.get("/metrics").body.decode())
    assert metric(after, "pgfolio_db_errors_total", kind="connection") \
        > metric(before, "pgfolio_db_errors_total", kind="connection")
    assert metric(after, "pgfolio_http_requests_total", route="/api/v1/prices", method="GET",
                  status="503") >= 2


def open_every_pooled_connection(outage_cluster, client, pool_size):
    """Makes pool_size requests overlap (held on a lock) so the pool opens all its
    connections, then lets them finish."""
    blocker = outage_cluster.connect()
    blocker.autocommit = False
    monitor = outage_cluster.connect()
    statuses = []
    try:
        with blocker.cursor() as cursor, monitor.cursor() as watch:
            cursor.execute("LOCK TABLE pgfolio.prices IN ACCESS EXCLUSIVE MODE")
            threads = [threading.Thread(target=lambda: statuses.append(
                client.get("/api/v1/prices").status)) for _ in range(pool_size)]
            for thread in threads:
                thread.start()

            def waiting():
                watch.execute("""SELECT count(*) FROM pg_stat_activity
                                 WHERE application_name = 'pgfolio-http'
                                   AND wait_event_type = 'Lock'""")
                return watch.fetchone()[0] == pool_size
            wait_until(waiting, timeout=5, what="every pooled connection to be in use")
    finally:
        blocker.rollback()
        blocker.close()
        monitor.close()
    for thread in threads:
        thread.join(timeout=10)
    assert statuses == [200] * pool_size


def test_a_quick_database_restart_is_invisible(outage_cluster, outage_server):
    # Every pooled connection dies with the restart; the first request after it finds them
    # broken one after the other and runs on a fresh connection instead of failing.
    client = outage_server.client
    pool_size = int(metric(parse_metrics(client.get("/metrics").body.decode()),
                           "pgfolio_db_pool_size"))
    open_every_pooled_connection(outage_cluster, client, pool_size)
    pool = parse_metrics(client.get("/metrics").body.decode())
    assert metric(pool, "pgfolio_db_pool_open") == pool_size
    outage_cluster.cluster("stop")
    outage_cluster.cluster("start")
    assert client.get("/api/v1/prices").status == 200
    assert client.get("/readyz").status == 200


def test_statement_timeout_is_503_without_sql(outage_cluster, outage_server):
    client = outage_server.client
    blocker = outage_cluster.connect()
    blocker.autocommit = False
    try:
        with blocker.cursor() as cursor:
            cursor.execute("LOCK TABLE pgfolio.prices IN ACCESS EXCLUSIVE MODE")
            response = client.get("/api/v1/prices")  # the server's timeout is 1s
        assert_unavailable(response)
    finally:
        blocker.rollback()
        blocker.close()
    assert client.get("/api/v1/prices").status == 200


def test_internal_error_carries_no_sql(outage_cluster, outage_server):
    client = outage_server.client
    admin = outage_cluster.connect()
    try:
        with admin.cursor() as cursor:
            # list_prices now looks for its tables where there are none: a server-side
            # failure (42P01) that is nobody's input mistake.
            cursor.execute("ALTER FUNCTION pgfolio.list_prices() SET search_path = pg_catalog")
        response = client.get("/api/v1/prices", headers={"X-Request-Id": "broken-1"})
        problem = assert_problem(response, 500, "INTERNAL_ERROR")
        assert "broken-1" in problem["detail"]  # what to quote to the operator
        for leak in ("assets", "prices", "42P01", "list_prices", "does not exist"):
            assert leak not in response.body.decode()
        # The operator's log has the database's own words, under the same request id.
        log = outage_server.log_text()
        assert re.search(r'"request_id":"broken-1".*does not exist|does not exist.*'
                         r'"request_id":"broken-1"', log)
    finally:
        with admin.cursor() as cursor:
            cursor.execute("ALTER FUNCTION pgfolio.list_prices() SET search_path = pgfolio, "
                           "pg_temp")
        admin.close()
    assert client.get("/api/v1/prices").status == 200


@pytest.fixture(autouse=True)
def server_survives(outage_server):
    yield
    assert outage_server.process.poll() is None, outage_server.log_text()[-3000:]
