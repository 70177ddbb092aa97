"""The endpoints of issue 2: health, readiness, metrics, prices, asset search, OpenAPI."""

import datetime

import support
from support import assert_problem, metric, parse_metrics


def instant(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status == 200
    assert response.media_type == "application/json"
    assert response.json() == {"status": "ok"}


def test_readyz(client):
    response = client.get("/readyz")
    assert response.status == 200
    assert response.json() == {"status": "ready"}


def test_price_of_one_asset_is_exact(client, market_data):
    response = client.get("/api/v1/prices/HT-ALPHA")
    assert response.status == 200
    assert response.media_type == "application/json"
    price = response.json()
    assert {k: v for k, v in price.items() if k != "asOf"} == {
        "assetId": "HT-ALPHA",
        "symbol": "HTALPHA",
        "name": "HTTP Test Alpha Industries",
        "layer": "GROWTH",
        "price": "1234.56",
        "currency": "INR",
        "source": "http-test",
        "change24hPercent": "-1.25",
    }
    assert instant(price["asOf"]) == instant(market_data["HT-ALPHA"]["asOf"])


def test_price_with_29_significant_digits_survives_the_round_trip(client, market_data):
    price = client.get("/api/v1/prices/HT-BETA").json()
    # Money travels as a decimal string, never as a JSON number (a double would keep ~17
    # digits of this).
    assert price["price"] == "12345678901234567890.123456789"
    assert price["currency"] == "USD"
    assert price["change24hPercent"] is None
    assert b'"12345678901234567890.123456789"' in client.get("/api/v1/prices/HT-BETA").body


def test_price_list_holds_active_assets_sorted_with_exact_strings(client, market_data):
    response = client.get("/api/v1/prices")
    assert response.status == 200
    prices = response.json()
    assert isinstance(prices, list)
    ids = [row["assetId"] for row in prices]
    assert ids == sorted(ids)
    ours = {row["assetId"]: row for row in prices if row["assetId"].startswith("HT-")}
    assert set(ours) == {"HT-ALPHA", "HT-BETA"}  # HT-GAMMA is inactive
    assert ours["HT-ALPHA"]["price"] == "1234.56"
    assert ours["HT-BETA"]["price"] == "12345678901234567890.123456789"
    for row in prices:  # every price in the list is a decimal string, demo ones included
        assert isinstance(row["price"], str) and float(row["price"]) > 0


def test_unknown_asset_is_404_not_found(client, market_data):
    problem = assert_problem(client.get("/api/v1/prices/HT-NOSUCH"), 404, "NOT_FOUND")
    assert problem["details"] == {"assetId": "HT-NOSUCH"}
    assert "HT-NOSUCH" in problem["detail"]


def test_asset_search_by_id_symbol_and_name(client, market_data):
    response = client.get("/api/v1/assets?q=ht-")
    assert response.status == 200
    found = response.json()
    assert [row["assetId"] for row in found] == ["HT-ALPHA", "HT-BETA"]
    alpha = found[0]
    assert alpha == {
        "assetId": "HT-ALPHA", "symbol": "HTALPHA", "exchange": None,
        "name": "HTTP Test Alpha Industries", "isin": None, "assetClass": "STOCK",
        "sector": None, "quoteCurrency": "INR", "layer": "GROWTH", "minTradeAmount": "100.50",
        "quantityDecimals": 0,
    }
    # '+' in a query string is a space; the name matches case-insensitively.
    by_name = client.get("/api/v1/assets?q=beta+COIN").json()
    assert [row["assetId"] for row in by_name] == ["HT-BETA"]
    by_escape = client.get("/api/v1/assets?q=Alpha%20Industries").json()
    assert [row["assetId"] for row in by_escape] == ["HT-ALPHA"]


def test_asset_search_takes_wildcards_literally(client, market_data):
    # '_' and '%' would match anything in LIKE; here they match only themselves.
    assert client.get("/api/v1/assets?q=HT_ALPHA").json() == []
    assert client.get("/api/v1/assets?q=%25").json() == []


def test_asset_search_without_q_lists_assets(client, market_data):
    found = client.get("/api/v1/assets").json()
    assert isinstance(found, list) and found
    assert all(isinstance(row["minTradeAmount"], str) for row in found)
    assert "HT-GAMMA" not in {row["assetId"] for row in found}


def test_openapi_document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status == 200
    assert response.media_type == "application/json"
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"]
    price = document["paths"]["/api/v1/prices/{assetId}"]["get"]
    parameter = price["parameters"][0]
    assert parameter["name"] == "assetId" and parameter["in"] == "path"
    assert parameter["required"] is True
    problem = document["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == support.PROBLEM_KEYS


def test_metrics_format_and_families(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status == 200
    assert response.media_type == "text/plain"
    text = response.body.decode()
    samples = parse_metrics(text)
    names = {name for name, _ in samples}
    for family in ("pgfolio_http_requests_total", "pgfolio_http_request_duration_seconds_bucket",
                   "pgfolio_http_request_duration_seconds_sum",
                   "pgfolio_http_request_duration_seconds_count", "pgfolio_db_pool_size",
                   "pgfolio_db_pool_open", "pgfolio_db_pool_in_use",
                   "pgfolio_db_retries_total"):
        assert family in names, family
    for family, kind in (("pgfolio_http_requests_total", "counter"),
                         ("pgfolio_http_request_duration_seconds", "histogram"),
                         ("pgfolio_db_pool_in_use", "gauge"),
                         ("pgfolio_db_errors_total", "counter")):
        assert f"# TYPE {family} {kind}" in text
    assert metric(samples, "pgfolio_db_pool_size") >= 1
    assert 0 <= metric(samples, "pgfolio_db_pool_in_use") <= metric(samples,
                                                                     "pgfolio_db_pool_open")
    assert metric(samples, "pgfolio_db_pool_open") <= metric(samples, "pgfolio_db_pool_size")
    # Buckets are cumulative and +Inf equals the count, for every route.
    routes = {dict(labels)["route"] for name, labels in samples
              if name == "pgfolio_http_request_duration_seconds_count"}
    assert "/healthz" in routes
    for route in routes:
        buckets = sorted(
            ((float(dict(labels)["le"]), value) for (name, labels), value in samples.items()
             if name == "pgfolio_http_request_duration_seconds_bucket"
             and dict(labels)["route"] == route))
        values = [value for _, value in buckets]
        assert values == sorted(values), route
        assert buckets[-1][0] == float("inf")
        assert buckets[-1][1] == metric(samples, "pgfolio_http_request_duration_seconds_count",
                                        route=route)


def test_metrics_counters_move(client, market_data):
    route = "/api/v1/prices/{assetId}"
    before = parse_metrics(client.get("/metrics").body.decode())
    assert client.get("/api/v1/prices/HT-ALPHA").status == 200
    assert client.get("/api/v1/prices/HT-ALPHA").status == 200
    assert client.get("/api/v1/prices/HT-NOSUCH").status == 404
    after = parse_metrics(client.get("/metrics").body.decode())

    def moved(name, **labels):
        return metric(after, name, **labels) - metric(before, name, **labels)

    # Labels are the route template, never the raw path, so series stay bounded.
    assert moved("pgfolio_http_requests_total", route=route, method="GET", status="200") >= 2
    assert moved("pgfolio_http_requests_total", route=route, method="GET", status="404") >= 1
    assert moved("pgfolio_http_request_duration_seconds_count", route=route) >= 3
    assert moved("pgfolio_http_request_duration_seconds_sum", route=route) > 0
    # The unknown asset is an error raised by the database (NOT_FOUND), counted by kind.
    assert moved("pgfolio_db_errors_total", kind="client_error") >= 1
    assert not any(dict(labels).get("route", "").startswith("/api/v1/prices/HT")
                   for _, labels in after)
