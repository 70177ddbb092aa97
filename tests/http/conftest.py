"""Fixtures for the HTTP end-to-end suite. The server under test is the pgfolio-http that
`make test` (or `make run`) started; see support.load_settings for the variables read.

Test data: assets whose ids start with HT- and prices with source 'http-test', created here
through pgfolio.upsert_prices and removed afterwards. Demo prices are never asserted on:
a pg_cron job moves them every minute.
"""

import json

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


@pytest.fixture(scope="session")
def db(settings):
    """Superuser connection to the main database (autocommit)."""
    connection = support.connect(settings.test_dsn)
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


@pytest.fixture(scope="session")
def outage_cluster(settings):
    cluster = support.OutageCluster(settings)
    try:
        cluster.set_up()
        yield cluster
    finally:
        cluster.cluster("destroy")


@pytest.fixture(scope="session")
def outage_server(settings, outage_cluster, tmp_path_factory):
    """A second pgfolio-http on PGFOLIO_OUTAGE_HTTP_PORT against the outage cluster, with a
    short statement timeout so that a blocked request turns into a 503 quickly."""
    server = support.ServerProcess(settings.binary, settings.outage_http_port,
                           outage_cluster.database_url,
                           tmp_path_factory.mktemp("outage") / "pgfolio-http.log",
                           {"PGFOLIO_STATEMENT_TIMEOUT_MS": "1000",
                            "PGFOLIO_DB_POOL_SIZE": "2"})
    try:
        server.wait_ready()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def outbox(settings):
    import accounts
    return accounts.Outbox(accounts.outbox_path(settings))


@pytest.fixture(scope="session")
def openapi_schemas(client):
    return client.get("/api/v1/openapi.json").json()["components"]["schemas"]
