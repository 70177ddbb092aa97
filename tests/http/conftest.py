"""Fixtures for the HTTP end-to-end suite. The server under test is the pgfolio-http that
`make test` (or `make run`) started; see support.load_settings for the variables read.

Test data: assets whose ids start with HT- and prices with source 'http-test', created here
through pgfolio.upsert_prices and removed afterwards. Demo prices are never asserted on:
a pg_cron job moves them every minute.
"""

import json
import os
import signal
import socket
import subprocess

import psycopg2
import pytest

import support

# The assets the suite owns. Prices are strings on purpose: they go to SQL as jsonb text and
# must come back as exactly these decimal strings (trailing zeros trimmed), which a float on
# the way would break (the long one has 29 significant digits).
TEST_ASSETS = [
    # id, symbol, name, class, currency, layer, min trade, quantity decimals, active
    ("HT-ALPHA", "HTALPHA", "HTTP Test Alpha Industries", "STOCK", "INR", "GROWTH", "100.50", 0,
     True),
    ("HT-BETA", "HTBETA", "HTTP Test Beta Coin", "CRYPTO", "USD", "UPSIDE", "0", 8, True),
    ("HT-GAMMA", "HTGAMMA", "HTTP Test Gamma Delisted", "STOCK", "INR", "GROWTH", "0", 0,
     False),
]
TEST_PRICES = [
    {"assetId": "HT-ALPHA", "price": "1234.5600", "currency": "INR", "source": "http-test",
     "asOf": "2026-01-02T03:04:05.123456Z", "change24hPercent": "-1.2500"},
    {"assetId": "HT-BETA", "price": "12345678901234567890.123456789", "currency": "USD",
     "source": "http-test", "asOf": "2026-01-02T03:04:05Z"},
    {"assetId": "HT-GAMMA", "price": "7", "currency": "INR", "source": "http-test",
     "asOf": "2026-01-02T03:04:05Z"},
]


@pytest.fixture(scope="session")
def settings() -> support.Settings:
    return support.load_settings()


@pytest.fixture(scope="session")
def client(settings) -> support.Client:
    client = support.Client(settings.http_url)
    try:
        health = client.get("/healthz")
    except OSError as error:
        pytest.fail(f"pgfolio-http does not answer at {settings.http_url}: {error}")
    assert health.status == 200, health
    return client


def _connect(dsn: str):
    connection = psycopg2.connect(dsn, connect_timeout=5)
    connection.autocommit = True
    return connection


@pytest.fixture(scope="session")
def db(settings):
    """Superuser connection to the main database (autocommit)."""
    connection = _connect(settings.test_dsn)
    yield connection
    connection.close()


def _delete_test_data(cursor):
    cursor.execute("DELETE FROM pgfolio.price_history WHERE asset_id LIKE 'HT-%'")
    cursor.execute("DELETE FROM pgfolio.prices WHERE asset_id LIKE 'HT-%'")
    cursor.execute("DELETE FROM pgfolio.assets WHERE id LIKE 'HT-%'")


@pytest.fixture(scope="session")
def market_data(db):
    """Creates the HT- assets and their prices; idempotent (a crashed earlier run's rows
    are removed first) and cleaned up at the end."""
    with db.cursor() as cursor:
        _delete_test_data(cursor)
        for (asset_id, symbol, name, asset_class, currency, layer, min_trade, decimals,
             active) in TEST_ASSETS:
            cursor.execute(
                """INSERT INTO pgfolio.assets (id, symbol, name, asset_class, quote_currency,
                                               layer, min_trade_amount, quantity_decimals,
                                               active)
                   VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)""",
                (asset_id, symbol, name, asset_class, currency, layer, min_trade, decimals,
                 active))
        cursor.execute("SELECT pgfolio.upsert_prices(%s::jsonb)", (json.dumps(TEST_PRICES),))
        assert cursor.fetchone()[0] == len(TEST_PRICES)
    yield {row["assetId"]: row for row in TEST_PRICES}
    with db.cursor() as cursor:
        _delete_test_data(cursor)


class ServerProcess:
    """A pgfolio-http the tests start themselves (never the main one)."""

    def __init__(self, binary, port: int, database_url: str, log_path, extra_env=None):
        self.port = port
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"
        self.client = support.Client(self.url, timeout=20)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "PGFOLIO_DATABASE_URL": database_url,
               "PGFOLIO_HTTP_ADDRESS": "127.0.0.1",
               "PGFOLIO_HTTP_PORT": str(port),
               "PGFOLIO_CORS_ORIGINS": support.ALLOWED_ORIGIN}
        env.update(extra_env or {})
        self._log = open(log_path, "ab")
        self.process = subprocess.Popen([str(binary)], env=env, stdout=self._log,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.pid = self.process.pid

    def wait_ready(self, timeout: float = 15):
        def ready():
            assert self.process.poll() is None, f"pgfolio-http exited: {self.log_text()}"
            try:
                return self.client.get("/readyz").status == 200
            except OSError:
                return False
        support.wait_until(ready, timeout, interval=0.1, what=f"{self.url}/readyz")

    def log_text(self) -> str:
        self._log.flush()
        with open(self.log_path, "rb") as log:
            return log.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout: float = 15):
        """Sends `sig` and returns the exit code (killing it if it does not exit)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode


class OutageCluster:
    """A throwaway PostgreSQL cluster of its own (scripts/cluster.sh, on the outage port)
    with the pgfolio database set up by scripts/lib.sh's setup_database."""

    def __init__(self, settings: support.Settings):
        self.settings = settings
        self.port = settings.outage_pgport
        self.data = f"/var/tmp/pgfolio-outage-{self.port}"
        # Never the main cluster: different port, different data directory.
        assert self.port != settings.pgport and self.data != settings.data
        assert settings.outage_http_port != settings.http_port
        self.env = dict(os.environ, PGFOLIO_PGPORT=str(self.port), PGFOLIO_DATA=self.data)
        self.dsn = f"host=127.0.0.1 port={self.port} user=postgres dbname=pgfolio"
        self.database_url = f"postgresql://pgfolio_http@127.0.0.1:{self.port}/pgfolio"

    def _run(self, *command, timeout=120):
        result = subprocess.run(command, env=self.env, cwd=self.settings.root,
                                capture_output=True, timeout=timeout)
        assert result.returncode == 0, (command, result.stdout[-2000:], result.stderr[-2000:])

    def cluster(self, action: str):
        self._run(str(self.settings.root / "scripts" / "cluster.sh"), action)

    def set_up(self):
        with socket.socket() as probe:
            probe.settimeout(1)
            if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                pytest.fail(f"PGFOLIO_OUTAGE_PGPORT {self.port} is in use")
        self.cluster("destroy")  # what a crashed earlier run may have left
        self._run("bash", "-c", 'source scripts/lib.sh && setup_database')

    def connect(self):
        return _connect(self.dsn)


@pytest.fixture(scope="session")
def outage_cluster(settings):
    cluster = OutageCluster(settings)
    try:
        cluster.set_up()
        yield cluster
    finally:
        cluster.cluster("destroy")


@pytest.fixture(scope="session")
def outage_server(settings, outage_cluster, tmp_path_factory):
    """A second pgfolio-http on PGFOLIO_OUTAGE_HTTP_PORT against the outage cluster, with a
    short statement timeout so that a blocked request turns into a 503 quickly."""
    server = ServerProcess(settings.binary, settings.outage_http_port,
                           outage_cluster.database_url,
                           tmp_path_factory.mktemp("outage") / "pgfolio-http.log",
                           {"PGFOLIO_STATEMENT_TIMEOUT_MS": "1000",
                            "PGFOLIO_DB_POOL_SIZE": "2"})
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()
