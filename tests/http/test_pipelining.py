"""HTTP/1.1 pipelining: a client may send its next requests before the answers arrive, so one
read from the connection can hold several requests, or a request and the start of the next.
Each is answered, in order; the last request of every exchange here asks for
`Connection: close`, so a dropped request shows as a missing answer, and a server that stops
reading shows as a timeout of the raw read, never as a hang."""

import json
import socket
import time
import uuid

from support import access_log_lines, assert_problem, parse_responses, wait_until


def request(method: str, target: str, request_id: str, headers=(), body: bytes = b"",
            close: bool = False) -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: test\r\nX-Request-Id: {request_id}\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


def ids(count: int):
    prefix = f"pipe-{uuid.uuid4().hex[:12]}"
    return [f"{prefix}-{n}" for n in range(count)]


def exchange_in_pieces(client, pieces, pause: float = 0.2, read_timeout: float = 5.0) -> bytes:
    """Sends `pieces` with a pause between them (so the server reads them separately) and
    reads until the server closes the connection."""
    with socket.create_connection((client.host, client.port), timeout=read_timeout) as sock:
        for index, piece in enumerate(pieces):
            if index:
                time.sleep(pause)
            sock.sendall(piece)
        received = b""
        while True:
            chunk = sock.recv(65536)  # socket.timeout here: the server stopped answering
            if not chunk:
                return received
            received += chunk


def test_two_requests_in_one_write_get_two_answers(client, market_data):
    first, second = ids(2)
    data = (request("GET", "/healthz", first) +
            request("GET", "/api/v1/prices/HT-ALPHA", second, close=True))
    responses = parse_responses(client.raw(data))
    assert [r.status for r in responses] == [200, 200]
    assert [r.header("X-Request-Id") for r in responses] == [first, second]
    assert responses[0].json() == {"status": "ok"}
    assert responses[1].json()["price"] == "1234.56"
    assert responses[0].header("Connection") == "keep-alive"
    assert responses[1].header("Connection") == "close"


def test_many_pipelined_requests_are_answered_in_order(client, settings, market_data):
    request_ids = ids(25)
    targets = ["/healthz", "/api/v1/prices/HT-ALPHA", "/api/v1/prices/HT-NOSUCH",
               "/api/v1/assets?q=HTTP%20Test", "/api/v1/nothing"]
    data = b"".join(request("GET", targets[n % len(targets)], request_id,
                            close=n == len(request_ids) - 1)
                    for n, request_id in enumerate(request_ids))
    responses = parse_responses(client.raw(data))
    assert [r.header("X-Request-Id") for r in responses] == request_ids
    expected = {"/healthz": 200, "/api/v1/prices/HT-ALPHA": 200,
                "/api/v1/prices/HT-NOSUCH": 404, "/api/v1/assets?q=HTTP%20Test": 200,
                "/api/v1/nothing": 404}
    assert [r.status for r in responses] == [expected[targets[n % len(targets)]]
                                             for n in range(len(request_ids))]
    # Each one is a request of its own in the access log too.
    for request_id in request_ids:
        lines = wait_until(lambda: access_log_lines(settings.http_log, request_id), timeout=5,
                           what=f"access-log line for {request_id}")
        assert len(lines) == 1, lines


def test_body_framing_decides_where_the_next_request_starts(client):
    # The body holds text that looks like a request; Content-Length, not a search for the
    # next request line, says where it ends.
    first, second = ids(2)
    body = json.dumps(["GET /api/v1/nothing HTTP/1.1\r\n\r\n"]).encode()
    data = (request("POST", "/api/v1/admin/prices", first,
                    [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
                    body) +
            request("GET", "/healthz", second, close=True))
    responses = parse_responses(client.raw(data))
    assert [r.header("X-Request-Id") for r in responses] == [first, second]
    assert_problem(responses[0], 401, "UNAUTHORIZED")  # the shape checks passed: one array
    assert responses[1].status == 200


def test_chunked_request_followed_by_another(client):
    first, second = ids(2)
    chunks = b"1\r\n[\r\n1\r\n]\r\n0\r\n\r\n"
    data = (request("POST", "/api/v1/admin/prices", first,
                    [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")],
                    chunks) +
            request("GET", "/healthz", second, close=True))
    responses = parse_responses(client.raw(data))
    assert [r.header("X-Request-Id") for r in responses] == [first, second]
    assert_problem(responses[0], 401, "UNAUTHORIZED")
    assert responses[1].status == 200


def test_next_request_split_across_reads(client, market_data):
    # The first read ends inside the second request's head, the second read inside its body.
    first, second, third = ids(3)
    body = b"[]"
    whole = (request("GET", "/healthz", first) +
             request("POST", "/api/v1/admin/prices", second,
                     [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
                     body) +
             request("GET", "/api/v1/prices/HT-ALPHA", third, close=True))
    cut_head = whole.index(b"POST") + 10
    cut_body = whole.index(b"\r\n\r\n[]") + 5
    responses = parse_responses(exchange_in_pieces(
        client, [whole[:cut_head], whole[cut_head:cut_body], whole[cut_body:]]))
    assert [r.header("X-Request-Id") for r in responses] == [first, second, third]
    assert [r.status for r in responses] == [200, 401, 200]


def test_blank_lines_before_a_request_are_ignored(client):
    # RFC 9112 section 2.2; also what a chunked body's closing CRLF looks like when it comes
    # in a read of its own.
    first, second = ids(2)
    responses = parse_responses(exchange_in_pieces(
        client, [request("GET", "/healthz", first), b"\r\n",
                 b"\r\n" + request("GET", "/healthz", second, close=True)]))
    assert [(r.status, r.header("X-Request-Id")) for r in responses] == [(200, first),
                                                                         (200, second)]


def test_nothing_is_answered_after_connection_close(client):
    # The first request ends the connection; what follows it is never read, and the
    # connection is closed promptly (the raw read would time out otherwise).
    first, second = ids(2)
    data = (request("GET", "/healthz", first, close=True) +
            request("GET", "/healthz", second))
    started = time.monotonic()
    responses = parse_responses(client.raw(data))
    assert time.monotonic() - started < 3
    assert [(r.status, r.header("X-Request-Id")) for r in responses] == [(200, first)]
    assert responses[0].header("Connection") == "close"


def test_malformed_request_after_a_good_one_is_a_problem(client):
    (first,) = ids(1)
    responses = parse_responses(client.raw(request("GET", "/healthz", first) +
                                           b"NOT HTTP AT ALL\r\n\r\n"))
    assert len(responses) == 2
    assert (responses[0].status, responses[0].header("X-Request-Id")) == (200, first)
    assert_problem(responses[1], 400, "VALIDATION_ERROR")
    assert responses[1].header("Connection") == "close"
