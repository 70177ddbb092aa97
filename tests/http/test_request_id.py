"""X-Request-Id is echoed when valid and generated otherwise; the access log (pgfolio-http's
stdout, in PGFOLIO_HTTP_LOG) has exactly one JSON line per request carrying that id."""

import re
import uuid

import pytest

from support import access_log_lines, assert_problem, parse_responses, wait_until

GENERATED = re.compile(r"[0-9a-f]{32}")


def fresh_id() -> str:
    return f"ht-{uuid.uuid4()}"


def logged(settings, request_id):
    """The one access-log line for `request_id` (the line is written right after the
    answer, so it may trail the response by a moment)."""
    lines = wait_until(lambda: access_log_lines(settings.http_log, request_id), timeout=5,
                       what=f"access-log line for {request_id} in {settings.http_log}")
    assert len(lines) == 1, lines
    return lines[0]


def test_valid_request_id_is_echoed_and_logged(client, settings, market_data):
    request_id = fresh_id()
    response = client.get("/api/v1/prices/HT-ALPHA?unused=1",
                          headers={"X-Request-Id": request_id})
    assert response.status == 200
    assert response.header("X-Request-Id") == request_id
    line = logged(settings, request_id)
    assert line["method"] == "GET"
    assert line["path"] == "/api/v1/prices/HT-ALPHA"  # no query string in the log
    assert line["route"] == "/api/v1/prices/{assetId}"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], (int, float)) and 0 <= line["duration_ms"] < 60000
    assert line["bytes"] == len(response.body)
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", line["time"])


def test_missing_request_id_is_generated_and_logged(client, settings):
    first = client.get("/healthz")
    second = client.get("/healthz")
    for response in (first, second):
        assert GENERATED.fullmatch(response.header("X-Request-Id"))
    assert first.header("X-Request-Id") != second.header("X-Request-Id")
    line = logged(settings, first.header("X-Request-Id"))
    assert (line["route"], line["status"]) == ("/healthz", 200)


@pytest.mark.parametrize("bad_id", ["has space", "x" * 129, "semi;colon", "a/b", "ünïcode"])
def test_invalid_request_id_is_replaced(client, settings, bad_id):
    response = client.get("/healthz", headers={"X-Request-Id": bad_id.encode("utf-8")})
    assert response.status == 200
    replacement = response.header("X-Request-Id")
    assert GENERATED.fullmatch(replacement)
    assert logged(settings, replacement)["status"] == 200


def test_request_id_on_problem_answers(client, settings):
    request_id = fresh_id()
    response = client.get("/api/v1/nothing", headers={"X-Request-Id": request_id})
    assert_problem(response, 404, "NOT_FOUND")
    assert response.header("X-Request-Id") == request_id
    line = logged(settings, request_id)
    assert (line["route"], line["status"]) == ("unmatched", 404)


def test_request_id_on_a_request_refused_before_its_body(client, settings):
    request_id = fresh_id()
    data = (b"POST /api/v1/admin/prices HTTP/1.1\r\nHost: test\r\n"
            b"Content-Type: application/json\r\nContent-Length: 999999999\r\n"
            b"X-Request-Id: " + request_id.encode() + b"\r\n\r\n")
    [response] = parse_responses(client.raw(data))
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")
    assert response.header("X-Request-Id") == request_id
    line = logged(settings, request_id)
    assert (line["method"], line["path"], line["status"]) == ("POST", "/api/v1/admin/prices", 413)


def test_every_request_gets_its_own_line(client, settings):
    ids = [fresh_id() for _ in range(5)]
    for request_id in ids:
        client.get("/readyz", headers={"X-Request-Id": request_id})
    for request_id in ids:
        assert logged(settings, request_id)["route"] == "/readyz"
