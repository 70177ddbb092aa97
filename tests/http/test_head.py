"""HEAD is served like GET without the body (RFC 9110 section 9.3.2): same status and
headers, Content-Length of the body a GET would get, and not one byte of body, so the
connection stays usable for the next request."""

import http.client
import uuid

import pytest

from support import access_log_lines, metric, parse_metrics, wait_until


def raw_head(client, target: str) -> tuple:
    """(status, headers with lowercase names, bytes after the head) of a HEAD exchange on a
    connection the server closes."""
    data = (f"HEAD {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").encode()
    received = client.raw(data)
    head, separator, rest = received.partition(b"\r\n\r\n")
    assert separator, received[:300]
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(lines[0].split(" ")[1]), headers, rest


@pytest.mark.parametrize("target", ["/api/v1/prices/HT-ALPHA", "/api/v1/prices",
                                    "/api/v1/assets?q=HTTP%20Test", "/healthz", "/readyz",
                                    "/api/v1/openapi.json", "/api/v1/prices/HT-NOSUCH",
                                    "/api/v1/prices/btc", "/api/v1/nothing"])
def test_head_is_get_without_the_body(client, market_data, target):
    get = client.get(target)
    status, headers, rest = raw_head(client, target)
    assert rest == b""  # nothing after the head, up to the close
    assert status == get.status
    assert int(headers["content-length"]) == len(get.body) > 0
    assert headers["content-type"] == get.header("Content-Type")
    assert headers["x-request-id"]


def test_head_keeps_the_connection_usable(client, market_data):
    # http.client reads no body after HEAD: a stray body would be taken for the next answer.
    connection = http.client.HTTPConnection(client.host, client.port, timeout=10)
    try:
        connection.request("HEAD", "/api/v1/prices/HT-ALPHA")
        head = connection.getresponse()
        assert head.status == 200 and head.read() == b""
        connection.request("GET", "/api/v1/prices/HT-ALPHA")
        get = connection.getresponse()
        body = get.read()
        assert get.status == 200
        assert int(head.getheader("Content-Length")) == len(body)
        assert head.getheader("Connection") == get.getheader("Connection") == "keep-alive"
    finally:
        connection.close()


def test_head_on_a_post_route_is_405(client):
    status, headers, rest = raw_head(client, "/api/v1/admin/prices")
    assert status == 405
    assert headers["allow"] == "POST, OPTIONS"
    assert headers["content-type"] == "application/problem+json"
    assert int(headers["content-length"]) > 0 and rest == b""


def test_head_is_counted_and_logged_under_its_route(client, settings, market_data):
    def count():
        samples = parse_metrics(client.get("/metrics").body.decode())
        return metric(samples, "pgfolio_http_requests_total", route="/api/v1/prices/{assetId}",
                      method="HEAD", status="200")
    before = count()
    request_id = f"head-{uuid.uuid4().hex}"
    response = client.request("HEAD", "/api/v1/prices/HT-ALPHA",
                              headers={"X-Request-Id": request_id})
    assert response.status == 200
    assert count() == before + 1
    lines = wait_until(lambda: access_log_lines(settings.http_log, request_id), timeout=5,
                       what=f"access-log line for {request_id}")
    assert [(line["method"], line["route"], line["status"], line["bytes"]) for line in lines] == [
        ("HEAD", "/api/v1/prices/{assetId}", 200, 0)]  # bytes: body bytes sent
