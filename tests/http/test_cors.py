"""CORS: the server runs with PGFOLIO_CORS_ORIGINS=http://app.test.example."""

import pytest

from support import ALLOWED_ORIGIN, assert_problem, metric, parse_metrics

OTHER_ORIGIN = "http://evil.test.example"


def preflight(client, path, origin, method="GET", request_headers=None):
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers:
        headers["Access-Control-Request-Headers"] = request_headers
    return client.request("OPTIONS", path, headers=headers)


def split(value):
    return {part.strip() for part in (value or "").split(",") if part.strip()}


@pytest.mark.parametrize("path,methods", [("/api/v1/prices", {"GET", "HEAD", "OPTIONS"}),
                                          ("/api/v1/prices/HT-ALPHA",
                                           {"GET", "HEAD", "OPTIONS"}),
                                          ("/api/v1/admin/prices", {"POST", "OPTIONS"})])
def test_preflight_from_allowed_origin(client, path, methods):
    method = sorted(methods - {"OPTIONS"})[0]
    response = preflight(client, path, ALLOWED_ORIGIN, method, "content-type, x-request-id")
    assert response.status == 204  # never Pistache's 405 for OPTIONS
    assert response.body == b""
    assert response.header("Access-Control-Allow-Origin") == ALLOWED_ORIGIN
    assert split(response.header("Access-Control-Allow-Methods")) == methods
    allowed_headers = {h.lower() for h in split(response.header("Access-Control-Allow-Headers"))}
    assert {"content-type", "x-request-id", "authorization"} <= allowed_headers
    assert int(response.header("Access-Control-Max-Age")) > 0
    assert "Origin" in split(response.header("Vary"))
    assert split(response.header("Allow")) == methods
    # Only one Access-Control-Allow-Origin: browsers reject duplicates.
    assert [k.lower() for k, _ in response.headers].count("access-control-allow-origin") == 1


def test_preflight_from_disallowed_origin_gets_no_grant(client):
    response = preflight(client, "/api/v1/prices", OTHER_ORIGIN)
    assert response.status == 204
    assert "access-control-allow-origin" not in response.header_names()
    assert "access-control-allow-methods" not in response.header_names()


def test_options_without_preflight_headers_lists_methods(client):
    response = client.request("OPTIONS", "/api/v1/prices")
    assert response.status == 204
    assert split(response.header("Allow")) == {"GET", "HEAD", "OPTIONS"}
    assert "access-control-allow-origin" not in response.header_names()


def test_options_on_unknown_path_is_404(client):
    response = client.request("OPTIONS", "/api/v1/nothing",
                              headers={"Origin": ALLOWED_ORIGIN,
                                       "Access-Control-Request-Method": "GET"})
    assert_problem(response, 404, "NOT_FOUND")


def test_simple_get_from_allowed_origin_echoes_it(client):
    response = client.get("/healthz", headers={"Origin": ALLOWED_ORIGIN})
    assert response.status == 200
    assert response.header("Access-Control-Allow-Origin") == ALLOWED_ORIGIN
    assert "X-Request-Id" in split(response.header("Access-Control-Expose-Headers"))
    assert "Retry-After" in split(response.header("Access-Control-Expose-Headers"))
    assert "Origin" in split(response.header("Vary"))


def test_simple_get_from_disallowed_origin_gets_no_allow_origin(client):
    response = client.get("/healthz", headers={"Origin": OTHER_ORIGIN})
    assert response.status == 200  # the answer itself; the browser withholds it
    assert "access-control-allow-origin" not in response.header_names()
    assert "Origin" in split(response.header("Vary"))


def test_origin_must_match_exactly(client):
    for near_miss in (ALLOWED_ORIGIN + "/", ALLOWED_ORIGIN + ":8080", "https://app.test.example",
                      "http://app.test.example.evil", "null"):
        response = client.get("/healthz", headers={"Origin": near_miss})
        assert "access-control-allow-origin" not in response.header_names(), near_miss


def test_problem_answers_carry_cors_headers(client):
    # Scripts on the allowed origin must be able to read error bodies too.
    response = client.get("/api/v1/prices/HT-NOSUCH", headers={"Origin": ALLOWED_ORIGIN})
    assert_problem(response, 404, "NOT_FOUND")
    assert response.header("Access-Control-Allow-Origin") == ALLOWED_ORIGIN
    response = client.request("DELETE", "/api/v1/prices", headers={"Origin": ALLOWED_ORIGIN})
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert response.header("Access-Control-Allow-Origin") == ALLOWED_ORIGIN


def test_options_is_counted_under_the_route_template(client):
    """Preflights and plain OPTIONS are answered for a known path: the metrics count them
    under the path's template, not as unmatched."""
    def counts():
        samples = parse_metrics(client.get("/metrics").body.decode())
        return {route: metric(samples, "pgfolio_http_requests_total", route=route,
                              method="OPTIONS", status="204")
                for route in ("/api/v1/prices/{assetId}", "/api/v1/admin/prices", "unmatched")}
    before = counts()
    assert preflight(client, "/api/v1/prices/HT-ALPHA", ALLOWED_ORIGIN).status == 204
    assert preflight(client, "/api/v1/prices/HT-BETA", OTHER_ORIGIN).status == 204
    assert client.request("OPTIONS", "/api/v1/admin/prices").status == 204
    after = counts()
    assert after["/api/v1/prices/{assetId}"] == before["/api/v1/prices/{assetId}"] + 2
    assert after["/api/v1/admin/prices"] == before["/api/v1/admin/prices"] + 1
    assert after["unmatched"] == before["unmatched"]
