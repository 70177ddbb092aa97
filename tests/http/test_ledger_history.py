"""The caller's ledger over HTTP (docs/http.md, "History"): /history pages that neither repeat
nor skip an entry, its filters and every bad parameter named, one entry (another user's is
404 like an unknown one), the export streamed as CSV and as JSON Lines equal to
pgfolio.ledger_export_line (thousands of entries, a slow reader, pipelining, HEAD, HTTP/1.0
refused, a client that leaves) and its limits (exports at once and per user, a minimum rate,
a deadline: on servers of the tests' own), inclusion proofs checked here with RFC 9162's own
algorithm against the witness's signed checkpoint, and the activity feed. Entries are
appended as the superuser with pgfolio.ledger_append: no endpoint changes a portfolio yet."""

import csv
import datetime
import hashlib
import io
import json
import os
import socket
import subprocess
import time
import uuid
from urllib.parse import quote

import pytest

from accounts import bearer, post, register
from ledger_witness_support import append, openssl_verifies, remove_portfolios, signed_bytes
from support import (TEST_SERVER_SECRETS, ServerProcess, access_log_lines, assert_problem,
                     free_port, parse_responses, raw_exchange, schema_problems, wait_until)

API = "/api/v1"


class Person:
    """A registered user with portfolios made as the superuser."""

    def __init__(self, client, db):
        answer = register(client)
        self.client, self.db = client, db
        self.id = answer["user"]["id"]
        self.token = answer["accessToken"]
        self.headers = bearer(self.token)

    def portfolio(self, name="Main"):
        with self.db.cursor() as cursor:
            cursor.execute("INSERT INTO pgfolio.portfolios (owner_id, name) VALUES (%s, %s) "
                           "RETURNING id", (self.id, name))
            return str(cursor.fetchone()[0])

    def get(self, path):
        return self.client.get(API + path, self.headers)


def ledger_order(db, owner):
    """The owner's entry ids, newest first, as every listing must order them."""
    with db.cursor() as cursor:
        cursor.execute("""SELECT l.id FROM pgfolio.ledger l
                          JOIN pgfolio.portfolios p ON p.id = l.portfolio_id
                          WHERE p.owner_id = %s
                          ORDER BY l.created_at DESC, l.portfolio_id DESC, l.seq DESC""", (owner,))
        return [str(row[0]) for row in cursor.fetchall()]


def walk(person, query="", page_size=None):
    """Every page of a listing: the item ids in order and the number of pages."""
    ids, pages, cursor = [], 0, None
    while True:
        parts = [query] if query else []
        if page_size:
            parts.append(f"pageSize={page_size}")
        if cursor:
            parts.append("cursor=" + cursor)
        response = person.get("/history?" + "&".join(parts))
        assert response.status == 200, response.body[:300]
        page = response.json()
        ids += [item["id"] for item in page["items"]]
        pages += 1
        cursor = page["nextCursor"]
        if cursor is None or pages > 200:
            return ids, pages


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def verify_inclusion(leaf: bytes, index: int, size: int, proof, root: bytes) -> bool:
    """RFC 9162 §2.1.3.2, written out here rather than trusting the server's own check."""
    if index >= size:
        return False
    fn, sn = index, size - 1
    r = sha256(b"\x00" + leaf)
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = sha256(b"\x01" + p + r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = sha256(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def dechunk(body: bytes):
    """A chunked body's chunk sizes and its data; asserts the framing is complete."""
    sizes, data, rest = [], b"", body
    while True:
        line, separator, rest = rest.partition(b"\r\n")
        assert separator, "chunk size line missing: the body was cut short"
        size = int(line, 16)
        sizes.append(size)
        data += rest[:size]
        assert len(rest) >= size + 2, "chunk data missing: the body was cut short"
        assert rest[size:size + 2] == b"\r\n", "chunk not followed by CRLF"
        rest = rest[size + 2:]
        if size == 0:
            assert rest == b"", "bytes after the last chunk"
            return sizes, data


def raw_get(person, target, version="HTTP/1.1", extra=""):
    return (f"GET {API}{target} {version}\r\nHost: test\r\n"
            f"Authorization: Bearer {person.token}\r\n{extra}\r\n").encode()


def head_and_body(raw: bytes):
    head, separator, body = raw.partition(b"\r\n\r\n")
    assert separator, raw[:300]
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return lines[0], headers, body


@pytest.fixture(scope="module")
def ledger_owner(client, db):
    """A person with 21 entries over two portfolios (16 and 5), appended in turn so that
    their times interleave, with a TRADE_BUY and WITHDRAW_FUNDS among them."""
    person = Person(client, db)
    person.main, person.second = person.portfolio("Main"), person.portfolio("Second")
    for round_ in range(5):
        append(db, person.main, 3, message=f"Round {round_}: added {{n}}")
        append(db, person.second, 1, "WITHDRAW_FUNDS" if round_ % 2 else "ADD_FUNDS")
    person.trade = append(db, person.main, 1, "TRADE_BUY", message=None, amount="200.50",
                          asset_id="HT-ALPHA", quantity="2.500", boundary="SAFE")[0]
    with db.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pgfolio.ledger l JOIN pgfolio.portfolios p "
                       "ON p.id = l.portfolio_id WHERE p.owner_id = %s", (person.id,))
        assert cursor.fetchone()[0] == 21
    return person


@pytest.fixture(scope="module")
def stranger(client, db):
    person = Person(client, db)
    person.main = person.portfolio()
    person.entries = append(db, person.main, 2, message="Stranger {n}")
    return person


# ---------------------------------------------------------------------------------- pages

def test_pages_give_every_entry_once_newest_first(ledger_owner, db, openapi_schemas):
    expected = ledger_order(db, ledger_owner.id)
    for page_size in (1, 4, 7, 100):
        ids, pages = walk(ledger_owner, page_size=page_size)
        assert ids == expected, page_size
        assert pages == max(1, -(-len(expected) // page_size)), page_size  # no empty last page
    first = ledger_owner.get("/history?pageSize=5")
    assert not schema_problems(first.json(), {"$ref": "#/components/schemas/HistoryPage"},
                               openapi_schemas)
    assert len(first.json()["items"]) == 5 and first.json()["nextCursor"]
    default = ledger_owner.get("/history").json()
    assert len(default["items"]) == 20 and default["nextCursor"]  # pageSize defaults to 20


def test_items_carry_exact_decimals_and_hashes(ledger_owner, db):
    items = {item["id"]: item for item in ledger_owner.get("/history?pageSize=100").json()["items"]}
    trade = items[ledger_owner.trade]
    with db.cursor() as cursor:
        cursor.execute("SELECT encode(entry_hash, 'hex'), seq FROM pgfolio.ledger WHERE id = %s",
                       (ledger_owner.trade,))
        entry_hash, seq = cursor.fetchone()
    assert trade == {"id": ledger_owner.trade, "portfolioId": ledger_owner.main, "seq": seq,
                     "type": "TRADE_BUY", "assetId": "HT-ALPHA", "quantity": "2.5",
                     "amount": "200.5", "boundary": "SAFE", "message": None,
                     "createdAt": trade["createdAt"], "entryHash": entry_hash}
    assert trade["createdAt"].endswith("Z") and len(trade["createdAt"]) == 27


def test_filters(ledger_owner, db):
    expected = ledger_order(db, ledger_owner.id)
    with db.cursor() as cursor:
        cursor.execute("SELECT id::text, entry_type, portfolio_id::text, created_at "
                       "FROM pgfolio.ledger WHERE id::text = ANY (%s)", (expected,))
        rows = {row[0]: row for row in cursor.fetchall()}
    ids, _ = walk(ledger_owner, "type=WITHDRAW_FUNDS", 2)
    assert ids == [i for i in expected if rows[i][1] == "WITHDRAW_FUNDS"] and ids
    ids, _ = walk(ledger_owner, "type=TRADE_BUY,WITHDRAW_FUNDS", 2)
    assert ids == [i for i in expected if rows[i][1] in ("TRADE_BUY", "WITHDRAW_FUNDS")]
    ids, _ = walk(ledger_owner, f"portfolioId={ledger_owner.second}", 2)
    assert ids == [i for i in expected if rows[i][2] == ledger_owner.second] and len(ids) == 5
    # from is inclusive and to exclusive: bounds at the times of two entries.
    newest_first = [rows[i][3] for i in expected]
    upper, lower = newest_first[3], newest_first[10]
    stamp = lambda moment: quote(moment.isoformat(timespec="microseconds"))  # +00:00 as %2B
    ids, _ = walk(ledger_owner, f"from={stamp(lower)}&to={stamp(upper)}", 3)
    assert ids == expected[4:11]
    # A date means 00:00 UTC: from the oldest entry's day on is everything, before it nothing.
    oldest_day = newest_first[-1].astimezone(datetime.timezone.utc).date().isoformat()
    assert walk(ledger_owner, f"from={oldest_day}", 50)[0] == expected
    assert walk(ledger_owner, f"to={oldest_day}", 50)[0] == []


@pytest.mark.parametrize("query,parameter,from_sql", [
    ("pageSize=0", "pageSize", True),
    ("pageSize=101", "pageSize", True),
    ("pageSize=abc", "pageSize", False),
    ("pageSize=1000", "pageSize", False),
    ("cursor=not*a*cursor", "cursor", False),
    ("cursor=djE6MTox", "cursor", True),  # base64url of v1:1:1
    ("type=NO_SUCH_TYPE", "type", True),
    ("type=add_funds", "type", False),
    ("type=ADD_FUNDS,,TRADE_BUY", "type", False),
    ("from=yesterday", "from", True),
    ("to=2026-02-30", "to", True),
    ("from=2026-11-22T10:00:00+05:30", "from", True),  # + unescaped reads as a space
    ("from=2026-01-02&to=2026-01-01", "to", True),
    ("portfolioId=not-a-uuid", "portfolioId", False),
])
def test_bad_parameters_are_named(ledger_owner, query, parameter, from_sql):
    problem = assert_problem(ledger_owner.get("/history?" + query), 400, "VALIDATION_ERROR")
    # The server's shape checks name a parameter; the SQL function's checks name a field.
    assert problem["details"].get("field" if from_sql else "parameter") == parameter, problem


def test_another_users_portfolio_is_not_found(ledger_owner, stranger):
    unknown = str(uuid.uuid4())
    for path in ("/history?portfolioId=", "/activity?portfolioId=",
                 "/history/export?portfolioId="):
        theirs = assert_problem(ledger_owner.get(path + stranger.main), 404, "NOT_FOUND")
        nobodys = assert_problem(ledger_owner.get(path + unknown), 404, "NOT_FOUND")
        assert theirs["detail"].replace(stranger.main, "X") == \
            nobodys["detail"].replace(unknown, "X")


# ---------------------------------------------------------------------------------- one entry

def test_one_entry_whole(ledger_owner, db, openapi_schemas):
    response = ledger_owner.get(f"/history/{ledger_owner.trade}")
    assert response.status == 200
    entry = response.json()
    assert not schema_problems(entry, {"$ref": "#/components/schemas/HistoryEntry"},
                               openapi_schemas)
    with db.cursor() as cursor:
        cursor.execute("""SELECT snapshot_before, snapshot_after, metadata,
                                 encode(prev_hash, 'hex'), encode(entry_hash, 'hex')
                          FROM pgfolio.ledger WHERE id = %s""", (ledger_owner.trade,))
        before, after, metadata, prev_hash, entry_hash = cursor.fetchone()
    assert (entry["snapshotBefore"], entry["snapshotAfter"], entry["metadata"]) == \
        (before, after, metadata)
    assert (entry["prevHash"], entry["entryHash"]) == (prev_hash, entry_hash)
    assert (entry["loanId"], entry["protectionId"], entry["quantity"]) == (None, None, "2.5")


def test_another_users_entry_is_like_an_unknown_one(ledger_owner, stranger):
    theirs = assert_problem(ledger_owner.get(f"/history/{stranger.entries[0]}"), 404, "NOT_FOUND")
    unknown_id = str(uuid.uuid4())
    unknown = assert_problem(ledger_owner.get(f"/history/{unknown_id}"), 404, "NOT_FOUND")
    assert theirs["detail"].replace(stranger.entries[0], "X") == \
        unknown["detail"].replace(unknown_id, "X")
    assert set(theirs["details"]) == set(unknown["details"]) == {"entryId"}
    assert stranger.get(f"/history/{stranger.entries[0]}").status == 200  # it does exist
    problem = assert_problem(ledger_owner.get("/history/not-a-uuid"), 400, "VALIDATION_ERROR")
    assert problem["details"]["parameter"] == "entryId"


# ---------------------------------------------------------------------------------- export

def test_export_csv(client, db, openapi_schemas):
    person = Person(client, db)
    portfolio = person.portfolio()
    # Text that needs RFC 4180 quoting: a comma, quotes, a line break.
    append(db, portfolio, 3, message='Added {n}, said "fine"\nthen left')
    response = person.get("/history/export")
    assert response.status == 200
    assert response.header("Content-Type") == "text/csv; charset=utf-8"
    assert response.header("Transfer-Encoding") == "chunked"
    assert response.header("Content-Length") is None
    assert response.header("Content-Disposition") == \
        f'attachment; filename="pgfolio-history-all-{time.strftime("%Y%m%d", time.gmtime())}.csv"'
    text = response.body.decode("utf-8")
    assert text.endswith("\r\n")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["portfolio_id", "seq", "id", "entry_type", "created_at", "asset_id",
                       "quantity", "amount", "boundary", "loan_id", "protection_id", "message",
                       "prev_hash", "entry_hash", "snapshot_before", "snapshot_after",
                       "metadata"]
    with db.cursor() as cursor:
        cursor.execute("""SELECT portfolio_id::text, seq::text, id::text, entry_type,
                                 to_char(created_at AT TIME ZONE 'UTC',
                                         'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'),
                                 '', '', trim_scale(amount)::text, '', '', '', message,
                                 encode(prev_hash, 'hex'), encode(entry_hash, 'hex'),
                                 pgfolio.canonical_json(snapshot_before),
                                 pgfolio.canonical_json(snapshot_after),
                                 pgfolio.canonical_json(metadata)
                          FROM pgfolio.ledger WHERE portfolio_id = %s ORDER BY seq""",
                       (portfolio,))
        assert rows[1:] == [list(row) for row in cursor.fetchall()]
    assert rows[2][11] == 'Added 2, said "fine"\nthen left' and rows[2][7] == "2.5"


def test_export_jsonl_is_ledger_export_line(ledger_owner, db):
    response = ledger_owner.get("/history/export?format=jsonl")
    assert response.status == 200
    assert response.header("Content-Type") == "application/x-ndjson"
    assert response.header("Content-Disposition").endswith('.jsonl"')
    with db.cursor() as cursor:
        cursor.execute("""SELECT pgfolio.ledger_export_line(l) FROM pgfolio.ledger l
                          JOIN pgfolio.portfolios p ON p.id = l.portfolio_id
                          WHERE p.owner_id = %s ORDER BY l.portfolio_id, l.seq""",
                       (ledger_owner.id,))
        expected = [row[0] for row in cursor.fetchall()]
    lines = response.body.decode("utf-8").split("\n")
    assert lines[-1] == "" and lines[:-1] == expected and len(expected) == 21
    first = json.loads(lines[0])
    assert len(first) == 17 and first["format"] == "pgfolio-ledger-entry/1"
    one = ledger_owner.get(f"/history/export?format=jsonl&portfolioId={ledger_owner.second}")
    assert [json.loads(line)["portfolioId"] for line in one.body.decode().splitlines()] == \
        [ledger_owner.second] * 5


def test_export_streams_thousands_of_entries_to_a_slow_reader(client, db):
    person = Person(client, db)
    first, second = person.portfolio("A"), person.portfolio("B")
    append(db, first, 2500)
    append(db, second, 1500)
    with db.cursor() as cursor:
        cursor.execute("""SELECT string_agg(pgfolio.ledger_export_line(l) || E'\n', ''
                                            ORDER BY l.portfolio_id, l.seq)
                          FROM pgfolio.ledger l WHERE l.portfolio_id IN (%s, %s)""",
                       (first, second))
        expected = cursor.fetchone()[0].encode()
    assert len(expected) > 1_000_000
    with socket.create_connection((client.host, client.port), timeout=30) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(raw_get(person, "/history/export?format=jsonl", extra="Connection: close\r\n"))
        received, deadline = b"", time.monotonic() + 60
        while time.monotonic() < deadline:
            data = sock.recv(16384)
            if not data:
                break
            received += data
            time.sleep(0.002)  # slower than the server writes: it has to wait for room
    status, headers, body = head_and_body(received)
    assert status == "HTTP/1.1 200 OK" and headers["transfer-encoding"] == "chunked"
    sizes, data = dechunk(body)
    assert data == expected
    # Sent as it was read: many chunks, none larger than the writer's 64 KiB.
    assert len(sizes) > 10 and max(sizes) <= 64 * 1024 + 4096


def test_export_pipelined_between_other_requests(ledger_owner, client):
    exchange = raw_exchange(
        client.host, client.port,
        raw_get(ledger_owner, "/history?pageSize=2")
        + raw_get(ledger_owner, "/history/export?format=jsonl")
        + f"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode(),
        read_timeout=15)
    status, headers, rest = head_and_body(exchange)
    assert status.endswith("200 OK") and headers["content-type"] == "application/json"
    page, rest = rest[:int(headers["content-length"])], rest[int(headers["content-length"]):]
    assert len(json.loads(page)["items"]) == 2
    status, headers, rest = head_and_body(rest)
    assert headers["content-type"] == "application/x-ndjson"
    assert headers["connection"] == "keep-alive"
    end = rest.index(b"\r\n0\r\n\r\n") + 7
    _, data = dechunk(rest[:end])
    assert data.count(b"\n") == 21
    status, headers, rest = head_and_body(rest[end:])
    assert status.endswith("200 OK") and rest == b'{"status":"ok"}'


def test_export_head(ledger_owner, client):
    status, headers, rest = head_and_body(raw_exchange(
        client.host, client.port,
        (f"HEAD {API}/history/export HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
         f"Authorization: Bearer {ledger_owner.token}\r\n\r\n").encode()))
    assert status.endswith("200 OK") and rest == b""
    assert headers["content-type"] == "text/csv; charset=utf-8"
    assert headers["content-disposition"].startswith("attachment; filename=")


def test_export_over_http_1_0_is_refused(ledger_owner, client, settings):
    """HTTP/1.0 has no chunked coding: an export cut short would end where the connection
    does, on a row boundary, and look whole. So it is refused before anything runs; the rest
    of HTTP/1.0 is as before (the connection kept when asked for, closed otherwise)."""
    request_id = f"http10-{uuid.uuid4().hex}"
    refused, page = parse_responses(raw_exchange(
        client.host, client.port,
        raw_get(ledger_owner, "/history/export?format=jsonl", "HTTP/1.0",
                f"Connection: keep-alive\r\nX-Request-Id: {request_id}\r\n")
        + raw_get(ledger_owner, "/history?pageSize=1", "HTTP/1.0"), read_timeout=15))
    problem = assert_problem(refused, 400, "VALIDATION_ERROR")
    assert problem["details"] == {"protocol": "HTTP/1.0", "required": "HTTP/1.1"}
    assert "HTTP/1.1" in problem["detail"]
    assert refused.header("Connection") == "keep-alive"
    assert page.status == 200 and len(page.json()["items"]) == 1
    assert page.header("Connection") == "close"
    line = wait_until(lambda: access_log_lines(settings.http_log, request_id), timeout=5,
                      what="the refusal's access-log line")[0]
    assert (line["status"], line["route"]) == (400, "/api/v1/history/export")
    # HEAD answers what GET would: the same refusal's head.
    status, headers, body = head_and_body(raw_exchange(
        client.host, client.port,
        (f"HEAD {API}/history/export HTTP/1.0\r\nHost: test\r\n"
         f"Authorization: Bearer {ledger_owner.token}\r\n\r\n").encode()))
    assert status == "HTTP/1.0 400 Bad Request" and body == b""
    assert headers["content-type"] == "application/problem+json"
    assert headers["content-length"] == str(len(refused.body))


def test_export_refusals_come_before_the_body(ledger_owner, client, db):
    problem = assert_problem(ledger_owner.get("/history/export?format=xml"), 400,
                             "VALIDATION_ERROR")
    assert problem["details"]["parameter"] == "format"
    missing = client.get(API + "/history/export")
    assert_problem(missing, 401, "UNAUTHORIZED")
    assert missing.header("WWW-Authenticate") == 'Bearer realm="pgfolio"'
    # A session ended since the token was made is refused in the export's own transaction.
    person = Person(client, db)
    assert post(client, "/auth/logout", b"", person.headers).status == 200
    ended = person.get("/history/export")
    assert_problem(ended, 401, "UNAUTHORIZED")
    assert ended.header("WWW-Authenticate") == 'Bearer realm="pgfolio", error="invalid_token"'


def test_a_client_that_leaves_mid_export_costs_nothing(client, db, settings):
    person = Person(client, db)
    append(db, person.portfolio(), 3000)
    request_id = f"leaves-{uuid.uuid4().hex}"
    with socket.create_connection((client.host, client.port), timeout=10) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        sock.sendall(raw_get(person, "/history/export?format=jsonl",
                             extra=f"X-Request-Id: {request_id}\r\n"))
        assert sock.recv(1024).startswith(b"HTTP/1.1 200 OK")
    lines = wait_until(lambda: access_log_lines(settings.http_log, request_id), timeout=40,
                       what="the export's access-log line")
    assert lines[0]["status"] == 200 and lines[0]["route"] == "/api/v1/history/export"
    # Its connection and transaction were given back: the pool serves as before.
    for _ in range(20):
        assert person.get("/history?pageSize=1").status == 200
    with db.cursor() as cursor:
        cursor.execute("""SELECT count(*) FROM pg_stat_activity
                          WHERE application_name = 'pgfolio-http' AND state <> 'idle'
                            AND query LIKE 'FETCH%%'""")
        assert cursor.fetchone()[0] == 0


def test_a_failure_after_the_head_cuts_the_answer_short(client, db, settings):
    """The database connection of an export in progress is terminated while the server waits
    for the client to make room: the client then gets what was sent, and no last chunk."""
    person = Person(client, db)
    portfolio = person.portfolio()
    append(db, portfolio, 8000, metadata=json.dumps({"pad": "x" * 1000}))
    request_id = f"cut-{uuid.uuid4().hex}"
    with socket.create_connection((client.host, client.port), timeout=30) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        sock.sendall(raw_get(person, "/history/export?format=jsonl",
                             extra=f"X-Request-Id: {request_id}\r\n"))

        def waiting_export():  # its transaction, idle while the server waits for room
            with db.cursor() as cursor:
                cursor.execute("""SELECT pid FROM pg_stat_activity
                                  WHERE application_name = 'pgfolio-http'
                                    AND state = 'idle in transaction'
                                    AND query LIKE 'FETCH FORWARD%%'""")
                return [row[0] for row in cursor.fetchall()]
        pids = wait_until(waiting_export, timeout=20, what="the export to wait for the client")
        assert len(pids) == 1
        with db.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", (pids[0],))
        received = b""
        while True:
            data = sock.recv(65536)
            if not data:
                break
            received += data
    status, headers, body = head_and_body(received)
    assert status == "HTTP/1.1 200 OK" and headers["transfer-encoding"] == "chunked"
    with pytest.raises(AssertionError, match="cut short"):
        dechunk(body)
    assert body.count(b"\n") > 100  # what was sent before is there
    lines = wait_until(lambda: access_log_lines(settings.http_log, request_id), timeout=10,
                       what="the export's access-log line")
    assert lines[0]["status"] == 200  # what the client was told; the log says the rest
    log = settings.http_log.read_text(errors="replace")
    assert any(request_id in line and "cut short" in line for line in log.splitlines())
    # The dead connection was dropped: the pool serves on.
    for _ in range(10):
        assert person.get("/history?pageSize=1").status == 200

# ---------------------------------------------------------------------------------- export limits
#
# An export holds a reactor thread, a pooled connection and a snapshot while its client reads,
# so the server bounds how many run, how slowly a client may read and for how long. These run
# on servers of the tests' own (on the outage cluster) with limits small enough to reach in
# seconds, and real clients over loopback that read slowly or not at all.

PAD = json.dumps({"pad": "x" * 2000})


@pytest.fixture
def own_server(settings, outage_cluster, tmp_path):
    servers = []

    def start(**env):
        directory = tmp_path / f"server-{len(servers)}"
        directory.mkdir()
        server = ServerProcess(settings.binary, free_port(), outage_cluster.database_url,
                               directory / "pgfolio-http.log", env)
        servers.append(server)
        server.wait_ready()
        return server
    yield start
    for server in servers:
        assert server.stop() == 0, server.log_text()[-2000:]


@pytest.fixture(scope="module")
def exporters(settings, outage_cluster, tmp_path_factory):
    """Three people on the outage cluster: two whose export (7.5 MB of JSON Lines) is far
    more than the socket buffers between a server and a client that reads nothing can hold,
    and one with a small ledger. Their tokens hold on every server the tests start there (the
    same secrets, the same database)."""
    cluster_db = outage_cluster.connect()
    directory = tmp_path_factory.mktemp("exporters")
    server = ServerProcess(settings.binary, free_port(), outage_cluster.database_url,
                           directory / "pgfolio-http.log")
    try:
        server.wait_ready()
        people = [Person(server.client, cluster_db) for _ in range(3)]
    finally:
        assert server.stop() == 0
    try:
        for person, count in zip(people, (3000, 3000, 3)):
            person.main = person.portfolio()
            append(cluster_db, person.main, count, metadata=PAD)
            with cluster_db.cursor() as cursor:
                cursor.execute("""SELECT count(*), sum(octet_length(
                                           pgfolio.ledger_export_line(l)) + 1)
                                  FROM pgfolio.ledger l WHERE portfolio_id = %s""",
                               (person.main,))
                person.entries, person.export_bytes = cursor.fetchone()
        assert min(person.export_bytes for person in people[:2]) > 7_000_000
        yield people
    finally:
        made = [person.main for person in people if hasattr(person, "main")]
        remove_portfolios(cluster_db, made)
        cluster_db.close()


def open_export(server, person, request_id, keep_alive=False):
    """A connection asking for `person`'s JSON Lines export, with a receive buffer of 4 KiB
    set before connecting (so the window it offers stays small), once the head is in."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(15)
    sock.connect(("127.0.0.1", server.port))
    connection = "" if keep_alive else "Connection: close\r\n"
    sock.sendall(raw_get(person, "/history/export?format=jsonl",
                         extra=f"X-Request-Id: {request_id}\r\n{connection}"))
    received = b""
    while b"\r\n\r\n" not in received:
        data = sock.recv(4096)
        assert data, received
        received += data
    assert received.startswith(b"HTTP/1.1 200 OK"), received[:300]
    return sock, received


def read_until_logged(sock, server, request_id, received, size, pause, timeout=30):
    """Reads `size` bytes every `pause` seconds until the export's access-log line shows the
    server has finished with it (within `timeout`), then the rest at full speed. Returns all
    that was received and the access-log line."""
    started = time.monotonic()
    while not access_log_lines(server.log_path, request_id):
        assert time.monotonic() - started < timeout, "the server kept the export going"
        received += sock.recv(size)
        time.sleep(pause)
    while True:
        data = sock.recv(65536)
        if not data:
            break
        received += data
    return received, access_log_lines(server.log_path, request_id)[0]


def export(server, person):
    return server.client.get(API + "/history/export?format=jsonl", person.headers)


def cut_reason(server, request_id):
    lines = [json.loads(line) for line in server.log_text().splitlines()
             if request_id in line and "cut short" in line]
    assert len(lines) == 1, server.log_text()[-2000:]
    return lines[0]["message"]


@pytest.mark.parametrize("env,slots", [
    ({"PGFOLIO_DB_POOL_SIZE": "4"}, 1),  # the default: a quarter of the pool
    ({"PGFOLIO_EXPORT_MAX_CONCURRENT": "2"}, 2),
])
def test_exports_run_a_few_at_a_time_and_one_per_user(own_server, exporters, env, slots):
    server = own_server(**env)
    holders, other = exporters[:slots], exporters[2]
    ids = [f"hold-{uuid.uuid4().hex}" for _ in holders]
    sockets = []
    try:
        for holder, request_id in zip(holders, ids):
            sockets.append(open_export(server, holder, request_id)[0])  # and reads no more
        again = export(server, holders[0])
        problem = assert_problem(again, 429, "RATE_LIMITED")
        assert again.header("Retry-After") == "5"
        assert problem["details"] == {"retryAfter": 5, "maxConcurrentPerUser": 1}
        full = export(server, other)
        problem = assert_problem(full, 503, "SERVICE_UNAVAILABLE")
        assert full.header("Retry-After") == "5"
        assert problem["details"] == {"retryAfter": 5, "maxConcurrent": slots}
        # Everything else is served meanwhile.
        assert server.client.get(API + "/history?pageSize=1", other.headers).status == 200
        assert server.client.get(API + "/history?pageSize=1", holders[0].headers).status == 200
    finally:
        for sock in sockets:
            sock.close()
    # A client that leaves gives its place back as soon as the server notices.
    for request_id in ids:
        wait_until(lambda: access_log_lines(server.log_path, request_id), timeout=10,
                   what="the held export to end")
    small = export(server, other)
    assert small.status == 200 and small.body.count(b"\n") == other.entries
    whole = export(server, holders[0])
    assert whole.status == 200 and len(whole.body) == holders[0].export_bytes


def test_a_reader_below_the_minimum_rate_is_cut_off(own_server, exporters):
    server = own_server(PGFOLIO_EXPORT_RATE_WINDOW_SECONDS="2")
    person, request_id = exporters[0], f"slow-{uuid.uuid4().hex}"
    sock, received = open_export(server, person, request_id)
    with sock:  # 200 bytes a second: far below 64 KiB in 2 s
        received, line = read_until_logged(sock, server, request_id, received, 100, 0.5)
    assert line["status"] == 200 and 2000 <= line["duration_ms"] < 20000
    _, _, body = head_and_body(received)
    with pytest.raises(AssertionError, match="cut short"):
        dechunk(body)
    assert len(body) < person.export_bytes
    assert "fewer than the 65536 required" in cut_reason(server, request_id)
    # Its place, connection and snapshot were given back.
    assert export(server, person).status == 200


def test_a_reader_above_the_minimum_rate_is_not(own_server, exporters):
    """The rate is what the client takes, not what the server manages to write: Linux lets a
    writer at a full send buffer go on only once a third of it (over a megabyte on loopback)
    has drained, which at this pace takes longer than the window. The connection then stays
    open for the next request as an idle one: Pistache answers a connection it takes for
    busy with a 408 of its own once its 15 s header timeout has passed."""
    server = own_server(PGFOLIO_EXPORT_RATE_WINDOW_SECONDS="1",
                        PGFOLIO_EXPORT_MIN_BYTES=str(32 * 1024))
    person, request_id = exporters[1], f"steady-{uuid.uuid4().hex}"
    # A HEAD answer is written outside ResponseWriter::send as well; its connection waits too.
    head_only = socket.create_connection(("127.0.0.1", server.port), timeout=5)
    head_only.sendall(b"HEAD /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
    assert head_only.recv(4096).startswith(b"HTTP/1.1 200 OK")
    sock, received = open_export(server, person, request_id, keep_alive=True)
    rate = 128 * 1024  # bytes a second, four times the minimum, for six seconds; then at once
    with sock:
        started, start_size = time.monotonic(), len(received)
        while not received.endswith(b"\r\n0\r\n\r\n"):
            data = sock.recv(65536)
            assert data, "the export was cut short"
            received += data
            if time.monotonic() < started + 6:
                time.sleep(max(0.0, started + (len(received) - start_size) / rate
                               - time.monotonic()))
        sock.settimeout(16)
        with pytest.raises(socket.timeout):
            sock.recv(4096)
        for connection in (sock, head_only):
            connection.settimeout(5)
            connection.sendall(b"GET /healthz HTTP/1.1\r\nHost: test\r\n"
                               b"Connection: close\r\n\r\n")
            after = b""
            while data := connection.recv(4096):
                after += data
            assert after.startswith(b"HTTP/1.1 200 OK") and after.endswith(b'{"status":"ok"}')
    head_only.close()
    _, _, body = head_and_body(received)
    _, data = dechunk(body)
    assert len(data) == person.export_bytes
    line = access_log_lines(server.log_path, request_id)[0]
    assert line["status"] == 200 and line["bytes"] == person.export_bytes


def test_an_export_ends_at_its_deadline(own_server, exporters):
    server = own_server(PGFOLIO_EXPORT_DEADLINE_SECONDS="2")
    person, request_id = exporters[1], f"deadline-{uuid.uuid4().hex}"
    sock, received = open_export(server, person, request_id)
    with sock:  # 64 KiB a second: well above the minimum rate, but the whole takes minutes
        received, line = read_until_logged(sock, server, request_id, received, 16384, 0.25)
    assert line["status"] == 200 and 2000 <= line["duration_ms"] < 10000
    _, _, body = head_and_body(received)
    with pytest.raises(AssertionError, match="cut short"):
        dechunk(body)
    assert "passed its deadline of 2 s" in cut_reason(server, request_id)


@pytest.mark.parametrize("variable,value", [
    ("PGFOLIO_EXPORT_MAX_CONCURRENT", "9"),  # more than the pool (8) has connections
    ("PGFOLIO_EXPORT_MAX_CONCURRENT", "0"),
    ("PGFOLIO_EXPORT_MIN_BYTES", "64k"),
    ("PGFOLIO_EXPORT_RATE_WINDOW_SECONDS", "0"),
    ("PGFOLIO_EXPORT_DEADLINE_SECONDS", "-1"),
])
def test_bad_export_limits_stop_the_start(settings, variable, value):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "PGFOLIO_DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
           "PGFOLIO_HTTP_PORT": str(free_port()), **TEST_SERVER_SECRETS, variable: value}
    result = subprocess.run([str(settings.binary)], env=env, capture_output=True, timeout=10,
                            stdin=subprocess.DEVNULL)
    assert result.returncode == 2  # a configuration error, as for every other variable
    message = result.stderr.decode()
    assert "invalid configuration" in message, message
    assert f'{variable}: expected a whole number from' in message and f'got "{value}"' in message
    assert result.stdout == b""  # nothing served


# ---------------------------------------------------------------------------------- proofs
#
# The witness pgfolio-http runs (docs/witness.md) signs every portfolio's head on its own
# schedule, so it may add a checkpoint to a test's portfolio at any moment: the tests accept
# any checkpoint the database holds, and decide what an answer must be from the checkpoints
# that existed, at the latest, right after it (they only ever grow).

def checkpoint(db, portfolio, size):
    with db.cursor() as cursor:
        cursor.execute("""INSERT INTO pgfolio.ledger_checkpoints
                            (portfolio_id, tree_size, root_hash, signed_at, key_id, signature)
                          SELECT %s, %s, root_hash, now(), repeat('ab', 32),
                                 decode(repeat('cd', 64), 'hex')
                          FROM pgfolio.ledger_tree_head(%s, %s)
                          ON CONFLICT DO NOTHING""",
                       (portfolio, size, portfolio, size))


def latest_checkpoint(db, portfolio):
    with db.cursor() as cursor:
        cursor.execute("""SELECT pgfolio.ledger_checkpoint_json(c) FROM pgfolio.ledger_checkpoints c
                          WHERE c.portfolio_id = %s ORDER BY c.tree_size DESC LIMIT 1""",
                       (portfolio,))
        row = cursor.fetchone()
        return row[0] if row else None


def proof_answer(person, db, portfolio, entry, seq):
    """Asks for the proof of `entry` and judges the answer by the checkpoints there were just
    before and just after it (they only grow): a 409 naming the latest checkpoint when none
    covered `seq` yet, a 200 once one did. Returns the status and the 409's details or the
    proof (for check_proof)."""
    before = latest_checkpoint(db, portfolio)
    response = person.get(f"/history/{entry}/proof")
    after = latest_checkpoint(db, portfolio)
    if response.status == 200:
        assert after is not None and after["treeSize"] >= seq
        return 200, response.json()
    details = assert_problem(response, 409, "CONFLICT")["details"]
    assert before is None or before["treeSize"] < seq  # a covering checkpoint would answer
    assert (details["entryId"], details["seq"]) == (entry, seq)
    named = details["checkpointTreeSize"]
    if before is not None:
        assert named is not None and before["treeSize"] <= named <= after["treeSize"]
    assert named is None or named < seq
    return 409, details


def check_proof(proof, db, portfolio, seq, schemas):
    assert not schema_problems(proof, {"$ref": "#/components/schemas/InclusionProof"}, schemas)
    size = proof["treeSize"]
    assert (proof["seq"], proof["leafIndex"], proof["portfolioId"]) == (seq, seq - 1, portfolio)
    with db.cursor() as cursor:
        # The checkpoint it names is one the database holds, whole; its root is the ledger's.
        cursor.execute("""SELECT pgfolio.ledger_checkpoint_json(c),
                                 encode((pgfolio.ledger_tree_head(%s, %s)).root_hash, 'hex'),
                                 (SELECT encode(entry_hash, 'hex') FROM pgfolio.ledger
                                  WHERE portfolio_id = %s AND seq = %s)
                          FROM pgfolio.ledger_checkpoints c
                          WHERE c.portfolio_id = %s AND c.tree_size = %s""",
                       (portfolio, size, portfolio, seq, portfolio, size))
        stored, root, entry_hash = cursor.fetchone()
    assert proof["checkpoint"] == stored and proof["rootHash"] == stored["rootHash"] == root
    assert proof["entryHash"] == entry_hash
    leaf = bytes.fromhex(proof["entryHash"])
    path = [bytes.fromhex(node) for node in proof["proof"]]
    root = bytes.fromhex(proof["rootHash"])
    assert verify_inclusion(leaf, seq - 1, size, path, root), seq
    for flipped in range(len(path)):
        altered = list(path)
        altered[flipped] = bytes([altered[flipped][0] ^ 1]) + altered[flipped][1:]
        assert not verify_inclusion(leaf, seq - 1, size, altered, root)
    assert not verify_inclusion(leaf, seq % size, size, path, root)  # another leaf's place
    return size


def test_proof_verifies_against_the_signed_checkpoint(client, db, openapi_schemas):
    person = Person(client, db)
    portfolio = person.portfolio()
    entries = append(db, portfolio, 13)  # one statement: the witness can only ever sign 13
    for seq in (1, 13):  # a 409 until the witness has signed, then the proof
        status, answer = proof_answer(person, db, portfolio, entries[seq - 1], seq)
        if status == 200:
            check_proof(answer, db, portfolio, seq, openapi_schemas)
    checkpoint(db, portfolio, 4)  # sizes the witness never signs
    checkpoint(db, portfolio, 11)
    sizes = set()
    for seq in (1, 2, 7, 8, 11):
        status, proof = proof_answer(person, db, portfolio, entries[seq - 1], seq)
        assert status == 200  # a checkpoint of 11 or more exists
        sizes.add(check_proof(proof, db, portfolio, seq, openapi_schemas))
    assert min(sizes) >= 11  # the latest checkpoint, never the one of 4
    status, answer = proof_answer(person, db, portfolio, entries[11], 12)
    if status == 409:
        assert answer == {"entryId": entries[11], "seq": 12, "checkpointTreeSize": 11}
    else:
        assert check_proof(answer, db, portfolio, 12, openapi_schemas) == 13  # signed since
    # Within its interval (a second under make test) the witness signs the head: from then on
    # every entry's proof is against the witness's own checkpoint, whose signature is checked
    # here with the published key.
    wait_until(lambda: latest_checkpoint(db, portfolio)["treeSize"] == 13, timeout=75,
               interval=0.2, what="the witness to sign the portfolio's head")
    key = client.get(API + "/ledger/public-key").json()
    for seq in (1, 12, 13):
        status, proof = proof_answer(person, db, portfolio, entries[seq - 1], seq)
        assert status == 200
        assert check_proof(proof, db, portfolio, seq, openapi_schemas) == 13
        signed = proof["checkpoint"]
        assert signed["keyId"] == key["keyId"]
        assert openssl_verifies(key["pem"], signed_bytes(signed),
                                bytes.fromhex(signed["signature"]))


def test_proof_of_another_users_entry_is_not_found(ledger_owner, stranger, db):
    # Size 1: the stranger's entries came in one statement, so the witness never signs it
    # (another checkpoint at a size the witness signs would make it log a refusal of its own).
    checkpoint(db, stranger.main, 1)
    assert stranger.get(f"/history/{stranger.entries[0]}/proof").status == 200
    assert_problem(ledger_owner.get(f"/history/{stranger.entries[0]}/proof"), 404, "NOT_FOUND")


# ---------------------------------------------------------------------------------- activity

def test_activity_is_the_newest_50_lines(client, db, openapi_schemas):
    person = Person(client, db)
    first, second = person.portfolio("A"), person.portfolio("B")
    append(db, first, 40, message="First {n}")
    append(db, second, 30, message="Second {n}")
    append(db, first, 1, message=None)  # no message, no line
    response = person.get("/activity")
    assert response.status == 200
    lines = response.json()
    assert not schema_problems(lines, {"type": "array",
                                       "items": {"$ref": "#/components/schemas/ActivityItem"}},
                               openapi_schemas)
    assert [line["message"] for line in lines] == \
        [f"Second {n}" for n in range(30, 0, -1)] + [f"First {n}" for n in range(40, 20, -1)]
    assert [line["id"] for line in lines] == sorted((line["id"] for line in lines), reverse=True)
    only_first = person.get(f"/activity?portfolioId={first}").json()
    assert [line["message"] for line in only_first] == [f"First {n}" for n in range(40, 0, -1)][:50]
    assert {line["portfolioId"] for line in only_first} == {first}
    with db.cursor() as cursor:
        cursor.execute("SELECT id::text FROM pgfolio.ledger WHERE portfolio_id = %s AND seq = 40",
                       (first,))
        assert only_first[0]["ledgerId"] == cursor.fetchone()[0]


def test_activity_of_someone_without_portfolios_is_empty(client, db):
    assert Person(client, db).get("/activity").json() == []


@pytest.mark.parametrize("path", ["/history", "/history/export", "/activity",
                                  "/history/00000000-0000-4000-8000-000000000000",
                                  "/history/00000000-0000-4000-8000-000000000000/proof"])
def test_every_history_route_needs_a_token(client, path):
    response = client.get(API + path)
    assert_problem(response, 401, "UNAUTHORIZED")
    assert response.header("WWW-Authenticate") == 'Bearer realm="pgfolio"'
