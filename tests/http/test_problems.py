"""Every malformed request gets a 4xx application/problem+json answer (RFC 9457 with `code`
and `details`), including the cases Pistache 0.0.5 would answer in plain text itself."""

import json
import urllib.parse

import pytest

from support import assert_problem, parse_responses

ADMIN_PRICES = "/api/v1/admin/prices"
JSON = {"Content-Type": "application/json"}
VALID_BATCH = json.dumps([{"assetId": "HT-ALPHA", "price": "1.00", "currency": "INR",
                           "source": "http-test", "asOf": "2026-01-01T00:00:00Z"}]).encode()


def raw_request(method: str, target: bytes, headers=(), body: bytes = b"") -> bytes:
    head = method.encode() + b" " + target + b" HTTP/1.1\r\nHost: test\r\n"
    for name, value in headers:
        head += name.encode() + b": " + (value if isinstance(value, bytes) else value.encode())
        head += b"\r\n"
    return head + b"\r\n" + body


def only_response(client, data: bytes):
    """The single answer to `data`, after which the server must close the connection."""
    responses = parse_responses(client.raw(data))
    assert len(responses) == 1, responses
    return responses[0]


@pytest.fixture(scope="module")
def max_body(client) -> int:
    """The server's body limit, as its own 413 answer states it."""
    response = only_response(client, raw_request(
        "POST", ADMIN_PRICES.encode(), [("Content-Type", "application/json"),
                                        ("Content-Length", str(10 ** 9))]))
    problem = assert_problem(response, 413, "PAYLOAD_TOO_LARGE")
    return problem["details"]["maxBodyBytes"]


# --- path and query parameters -------------------------------------------------------------

@pytest.mark.parametrize("asset_id", ["btc", "HT%20ALPHA", "HT-ALPHA%2Fx", "-HT", "a%00b"])
def test_malformed_asset_id_is_400(client, asset_id):
    problem = assert_problem(client.get(f"/api/v1/prices/{asset_id}"), 400, "VALIDATION_ERROR")
    assert problem["details"]["parameter"] == "assetId"
    assert problem["details"]["in"] == "path"


def test_asset_id_pattern_is_stated(client):
    problem = assert_problem(client.get("/api/v1/prices/btc"), 400, "VALIDATION_ERROR")
    assert problem["details"]["pattern"] == "^[A-Z0-9][A-Z0-9._-]{0,31}$"


def test_overlong_asset_id_is_400(client):
    problem = assert_problem(client.get("/api/v1/prices/" + "A" * 33), 400, "VALIDATION_ERROR")
    assert problem["details"]["maxLength"] == 32


def test_malformed_percent_escape_is_400(client):
    problem = assert_problem(client.get("/api/v1/prices/HT%zz"), 400, "VALIDATION_ERROR")
    assert "escape" in problem["detail"]


def test_oversize_query_parameter_is_400(client, market_data):
    # The limit counts characters (as OpenAPI and PostgreSQL do): 100 two-byte characters
    # pass, 101 do not.
    at_limit = urllib.parse.quote("é" * 100)
    assert client.get(f"/api/v1/assets?q={at_limit}").status == 200
    problem = assert_problem(client.get(f"/api/v1/assets?q={at_limit}%C3%A9"), 400,
                             "VALIDATION_ERROR")
    assert problem["details"] == {"parameter": "q", "in": "query", "maxLength": 100}


def test_control_character_in_query_is_400(client):
    problem = assert_problem(client.get("/api/v1/assets?q=a%00b"), 400, "VALIDATION_ERROR")
    assert problem["details"]["parameter"] == "q"


def test_overlong_path_is_400(client):
    assert_problem(client.get("/api/v1/prices/" + "A" * 3000), 400, "VALIDATION_ERROR")


# --- invalid UTF-8 --------------------------------------------------------------------------

@pytest.mark.parametrize("target", [b"/api/v1/prices/%C3%28", b"/api/v1/prices/\xc3\x28",
                                    b"/api/v1/prices/%ED%A0%80", b"/api/v1/prices/%C0%AF"])
def test_invalid_utf8_in_path_is_400(client, target):
    response = only_response(client, raw_request("GET", target, [("Connection", "close")]))
    problem = assert_problem(response, 400, "VALIDATION_ERROR")
    assert "UTF-8" in problem["detail"]


@pytest.mark.parametrize("target", [b"/api/v1/assets?q=%FF", b"/api/v1/assets?q=\xff\xfe"])
def test_invalid_utf8_in_query_is_400(client, target):
    response = only_response(client, raw_request("GET", target, [("Connection", "close")]))
    problem = assert_problem(response, 400, "VALIDATION_ERROR")
    assert problem["details"]["parameter"] == "q"


def test_invalid_utf8_in_body_is_400(client):
    body = b'[{"assetId": "HT-\xff"}]'
    assert_problem(client.request("POST", ADMIN_PRICES, JSON, body), 400, "VALIDATION_ERROR")


# --- routes and methods ---------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/nothing", "/api/v2/prices", "/api/v1/prices/",
                                  "/api/v1/prices/HT-ALPHA/history", "/", "/healthz/x"])
def test_unknown_route_is_404(client, path):
    problem = assert_problem(client.get(path), 404, "NOT_FOUND")
    assert problem["details"] == {}


@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/api/v1/prices", "GET, HEAD, OPTIONS"),
    ("POST", "/healthz", "GET, HEAD, OPTIONS"),
    ("PUT", "/api/v1/prices/HT-ALPHA", "GET, HEAD, OPTIONS"),
    ("GET", ADMIN_PRICES, "POST, OPTIONS"),
    ("PATCH", "/metrics", "GET, HEAD, OPTIONS"),
])
def test_wrong_method_is_405_with_allow(client, method, path, allow):
    response = client.request(method, path, body=b"" if method != "GET" else None)
    problem = assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert response.header("Allow") == allow
    assert problem["details"]["allow"] == [m for m in allow.split(", ") if m != "OPTIONS"]


def test_unknown_method_is_a_problem_not_plain_text(client):
    response = only_response(client, raw_request("BREW", b"/healthz"))
    assert_problem(response, 400, "VALIDATION_ERROR")


@pytest.mark.parametrize("data", [
    b"GARBAGE\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: test\r\nNoColonHere\r\n\r\n",
    b"GET /healthz HTTP/7.0\r\nHost: test\r\n\r\n",
    b"GET /healthz HTTP/1.1\r\nHost: test\r\nContent-Length: -5\r\n\r\n",
    b"POST /api/v1/admin/prices HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
])
def test_malformed_http_gets_an_immediate_problem(client, data):
    # Answered at once (the raw read gives up after a few seconds, far below Pistache's
    # header timeout) and never with library internals in the detail.
    problem = assert_problem(only_response(client, data), 400, "VALIDATION_ERROR")
    assert "basic_string" not in problem["detail"]


# --- bodies ---------------------------------------------------------------------------------

def test_body_over_the_limit_with_content_length_is_413(client, max_body):
    body = b"[" + b" " * max_body + b"]"
    response = only_response(client, raw_request(
        "POST", ADMIN_PRICES.encode(),
        [("Content-Type", "application/json"), ("Content-Length", str(len(body)))], body))
    problem = assert_problem(response, 413, "PAYLOAD_TOO_LARGE")
    assert problem["details"] == {"maxBodyBytes": max_body}
    assert response.header("Connection") == "close"


def test_body_at_the_limit_is_accepted(client, max_body):
    # Exactly max_body bytes of valid JSON: past the size check, refused only for the lack
    # of credentials.
    body = b"[" + b" " * (max_body - len(VALID_BATCH)) + VALID_BATCH[1:]
    assert len(body) == max_body
    assert_problem(client.request("POST", ADMIN_PRICES, JSON, body), 401, "UNAUTHORIZED")
    assert_problem(client.request("POST", ADMIN_PRICES, JSON, body + b" "), 413,
                   "PAYLOAD_TOO_LARGE")


def test_chunked_body_over_the_limit_is_413(client, max_body):
    chunk = b" " * 8192
    chunks = b""
    for _ in range(max_body // len(chunk) + 2):
        chunks += b"%x\r\n" % len(chunk) + chunk + b"\r\n"
    data = raw_request("POST", ADMIN_PRICES.encode(),
                       [("Content-Type", "application/json"),
                        ("Transfer-Encoding", "chunked")], chunks + b"0\r\n\r\n")
    assert_problem(only_response(client, data), 413, "PAYLOAD_TOO_LARGE")


def test_content_length_claiming_too_much_is_413_before_the_body(client, max_body):
    # Only a few bytes follow a huge Content-Length: the answer comes from the headers alone,
    # without waiting for a body that never arrives.
    data = raw_request("POST", ADMIN_PRICES.encode(),
                       [("Content-Type", "application/json"),
                        ("Content-Length", str(max_body + 1))], b"[]")
    assert_problem(only_response(client, data), 413, "PAYLOAD_TOO_LARGE")


def test_content_length_claiming_too_little_never_gets_plain_text(client, max_body):
    # The declared 5 bytes are one (invalid) request; what follows is read as another one,
    # which is not HTTP. Every answer on the connection is a problem and it is then closed.
    body = b"[" + b" " * (2 * max_body) + b"]"
    data = raw_request("POST", ADMIN_PRICES.encode(),
                       [("Content-Type", "application/json"), ("Content-Length", "5")], body)
    responses = parse_responses(client.raw(data))
    assert responses
    for response in responses:
        assert 400 <= response.status < 500
        assert response.media_type == "application/problem+json"
    assert responses[-1].header("Connection") == "close"


def test_request_larger_than_any_body_is_413_problem(client, max_body):
    data = raw_request("GET", b"/healthz", [("X-Filler", "a" * (max_body + 32 * 1024))])
    assert_problem(only_response(client, data), 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/vnd.api+json", None])
def test_unsupported_media_type_is_415(client, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    problem = assert_problem(client.request("POST", ADMIN_PRICES, headers, VALID_BATCH), 415,
                             "UNSUPPORTED_MEDIA_TYPE")
    assert problem["details"] == {"expected": "application/json"}


def test_json_media_type_parameters_are_accepted(client):
    headers = {"Content-Type": "Application/JSON; charset=utf-8"}
    assert_problem(client.request("POST", ADMIN_PRICES, headers, VALID_BATCH), 401,
                   "UNAUTHORIZED")


@pytest.mark.parametrize("body", [b"[1,", b"", b"{'a': 1}", b"[1] [2]", b"NaN"])
def test_malformed_json_is_400(client, body):
    problem = assert_problem(client.request("POST", ADMIN_PRICES, JSON, body), 400,
                             "VALIDATION_ERROR")
    assert "JSON" in problem["detail"]


def test_json_of_the_wrong_shape_is_400(client):
    problem = assert_problem(client.request("POST", ADMIN_PRICES, JSON, b'{"assetId": "X"}'),
                             400, "VALIDATION_ERROR")
    assert problem["details"] == {"expected": "array"}


@pytest.mark.parametrize("authorization,reason", [(None, None),
                                                  ("Bearer not-a-real-token", "malformed"),
                                                  ("Basic YTpi", "malformed")])
def test_admin_prices_without_valid_auth_is_401(client, authorization, reason):
    headers = dict(JSON)
    if authorization:
        headers["Authorization"] = authorization
    response = client.request("POST", ADMIN_PRICES, headers, VALID_BATCH)
    problem = assert_problem(response, 401, "UNAUTHORIZED")
    expected = {"requiredRole": "service-or-admin"}
    if reason:
        expected["reason"] = reason
    assert problem["details"] == expected
    assert response.header("WWW-Authenticate").startswith("Bearer")


def test_server_still_serves_after_the_abuse(client):
    assert client.get("/healthz").status == 200
    assert client.get("/readyz").status == 200
