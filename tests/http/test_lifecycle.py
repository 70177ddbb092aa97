"""Process lifecycle of pgfolio-http, on throwaway servers: graceful shutdown on SIGTERM and
SIGINT (requests in progress finish, exit status 0) and refusal of bad configuration with a
message naming the variable."""

import signal
import socket
import subprocess
import threading

import pytest

from support import TEST_SERVER_SECRETS, ServerProcess, assert_problem, free_port, wait_until

GOOD_URL = "postgresql://pgfolio_http@127.0.0.1:1/pgfolio"  # never contacted by these tests


@pytest.fixture
def throwaway_server(settings, outage_cluster, tmp_path):
    server = ServerProcess(settings.binary, free_port(), outage_cluster.database_url,
                           tmp_path / "pgfolio-http.log",
                           {"PGFOLIO_STATEMENT_TIMEOUT_MS": "10000"})
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop(signal.SIGKILL)


def test_sigterm_drains_requests_in_progress_and_exits_0(throwaway_server, outage_cluster):
    server = throwaway_server
    blocker = outage_cluster.connect()
    blocker.autocommit = False
    monitor = outage_cluster.connect()
    in_flight = {}
    try:
        with blocker.cursor() as cursor, monitor.cursor() as watch:
            cursor.execute("LOCK TABLE pgfolio.prices IN ACCESS EXCLUSIVE MODE")
            caller = threading.Thread(
                target=lambda: in_flight.update(response=server.client.get("/api/v1/prices")))
            caller.start()

            def request_waits():
                watch.execute("""SELECT count(*) FROM pg_stat_activity
                                 WHERE application_name = 'pgfolio-http'
                                   AND wait_event_type = 'Lock'""")
                return watch.fetchone()[0] >= 1
            wait_until(request_waits, timeout=5, what="the request to wait on the lock")

            server.process.send_signal(signal.SIGTERM)
            wait_until(lambda: "draining" in server.log_text(), timeout=5,
                       what="the server to start draining")
            assert server.process.poll() is None, "exited with a request in progress"
            # New requests meanwhile are turned away, and told to come back.
            refused = server.client.get("/api/v1/prices")
            assert_problem(refused, 503, "SERVICE_UNAVAILABLE")
            assert refused.header("Retry-After")
            assert refused.header("Connection") == "close"
    finally:
        blocker.rollback()
        blocker.close()
        monitor.close()
    caller.join(timeout=15)
    assert in_flight["response"].status == 200
    assert server.process.wait(timeout=15) == 0
    assert "stopped" in server.log_text()


def test_sigint_on_an_idle_server_exits_0(throwaway_server):
    throwaway_server.process.send_signal(signal.SIGINT)
    assert throwaway_server.process.wait(timeout=10) == 0


def run_with(settings, **env):
    base = {"PATH": "/usr/bin:/bin", "PGFOLIO_DATABASE_URL": GOOD_URL,
            "PGFOLIO_HTTP_ADDRESS": "127.0.0.1", "PGFOLIO_HTTP_PORT": str(free_port()),
            **TEST_SERVER_SECRETS}
    base.update({name: value for name, value in env.items() if value is not None})
    for name in [name for name, value in env.items() if value is None]:
        base.pop(name, None)
    return subprocess.run([str(settings.binary)], env=base, capture_output=True, timeout=10,
                          stdin=subprocess.DEVNULL)


@pytest.mark.parametrize("variable,value", [
    ("PGFOLIO_HTTP_PORT", "abc"),
    ("PGFOLIO_HTTP_PORT", "70000"),
    ("PGFOLIO_DB_POOL_SIZE", "0"),
    ("PGFOLIO_HTTP_THREADS", "-1"),
    ("PGFOLIO_MAX_BODY_BYTES", "1e6"),
    ("PGFOLIO_STATEMENT_TIMEOUT_MS", "5s"),
    ("PGFOLIO_HTTP_ADDRESS", "somewhere.example"),
    ("PGFOLIO_CORS_ORIGINS", "ftp://files.example"),
    ("PGFOLIO_DATABASE_URL", "postgresql://[oops"),
    ("PGFOLIO_JWT_SECRET", "only-31-bytes-long-secret-value"),
    ("PGFOLIO_JWT_ALGORITHM", "HS256"),
    ("PGFOLIO_JWT_ALGORITHM", "none"),
    ("PGFOLIO_JWT_PRIVATE_KEY_FILE", None),  # RS256 without a key: see below
    ("PGFOLIO_TOTP_KEY", "c2hvcnQ="),
    ("PGFOLIO_TOTP_KEY", "not base64!"),
    ("PGFOLIO_ACCESS_TOKEN_TTL_SECONDS", "0"),
    ("PGFOLIO_RATE_LOGIN_PER_MINUTE", "0"),
    ("PGFOLIO_RATE_USER_PER_MINUTE", "-5"),
    ("PGFOLIO_ARGON2_MEMORY_KIB", "1024"),
    ("PGFOLIO_SENDER_DATABASE_URL", "postgresql://[oops"),
    ("PGFOLIO_OUTBOX_FILE", None),  # a sender URL without an outbox file: see below
    ("PGFOLIO_BENCHMARK_ONLY_ACT_AS", "somebody"),
])
def test_bad_configuration_exits_naming_the_variable(settings, variable, value):
    env = {variable: value}
    if variable == "PGFOLIO_JWT_PRIVATE_KEY_FILE":
        env = {"PGFOLIO_JWT_ALGORITHM": "RS256"}
    if variable == "PGFOLIO_OUTBOX_FILE":
        env = {"PGFOLIO_SENDER_DATABASE_URL": GOOD_URL}
    result = run_with(settings, **env)
    assert result.returncode != 0
    message = result.stderr.decode()
    assert variable in message and "invalid configuration" in message, message
    if variable in ("PGFOLIO_JWT_SECRET", "PGFOLIO_TOTP_KEY"):
        assert value not in message  # a secret, even a bad one, is never printed
    assert result.stdout == b""  # nothing served, nothing logged as a request


@pytest.mark.parametrize("variable", ["PGFOLIO_JWT_SECRET", "PGFOLIO_TOTP_KEY"])
def test_missing_secret_is_named_and_never_made_up(settings, variable):
    # Production must set its own; only scripts/lib.sh makes development ones.
    result = run_with(settings, **{variable: None})
    assert result.returncode != 0
    assert variable in result.stderr.decode()


def test_benchmark_switch_is_refused_beyond_loopback(settings):
    # It switches authentication off: only a server reachable from this machine alone may
    # start with it.
    act_as = "a0000000-0000-4000-8000-00000000000a,a1000000-0000-4000-8000-00000000000a"
    result = run_with(settings, PGFOLIO_BENCHMARK_ONLY_ACT_AS=act_as,
                      PGFOLIO_HTTP_ADDRESS="0.0.0.0")
    assert result.returncode != 0
    message = result.stderr.decode()
    assert "PGFOLIO_BENCHMARK_ONLY_ACT_AS" in message and "127.0.0.1" in message, message


def test_missing_database_url_is_named(settings):
    result = run_with(settings, PGFOLIO_DATABASE_URL=None)
    assert result.returncode != 0
    assert "PGFOLIO_DATABASE_URL" in result.stderr.decode()


def test_every_bad_variable_is_reported_at_once(settings):
    result = run_with(settings, PGFOLIO_HTTP_PORT="abc", PGFOLIO_DB_POOL_SIZE="many")
    message = result.stderr.decode()
    assert result.returncode != 0
    assert "PGFOLIO_HTTP_PORT" in message and "PGFOLIO_DB_POOL_SIZE" in message


def test_port_in_use_exits_with_a_message(settings):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_with(settings, PGFOLIO_HTTP_PORT=str(port))
    assert result.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr.decode()
