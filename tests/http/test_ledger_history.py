"""The caller's ledger over HTTP (docs/http.md, "History"): /history pages that neither repeat
nor skip an entry, its filters and every bad parameter named, one entry (another user's is
404 like an unknown one), the export streamed as CSV and as JSON Lines equal to
pgfolio.ledger_export_line (thousands of entries, a slow reader, pipelining, HEAD, a client
that leaves), inclusion proofs checked here with RFC 9162's own algorithm, and the activity
feed. Entries are appended as the superuser with pgfolio.ledger_append: no endpoint changes a
portfolio yet."""

import csv
import datetime
import hashlib
import io
import json
import socket
import time
import uuid
from urllib.parse import quote

import pytest

from accounts import bearer, post, register
from support import (access_log_lines, assert_problem, raw_exchange, schema_problems,
                     wait_until)

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


def append(db, portfolio, count=1, entry_type="ADD_FUNDS", message="Added {n}", amount="{n}.50",
           **columns):
    """`count` entries appended to `portfolio` in one statement; their ids in seq order."""
    extra = "".join(f", {name} => %({name})s" for name in columns)
    with db.cursor() as cursor:
        cursor.execute(
            f"""SELECT (pgfolio.ledger_append(
                          %(p)s, %(type)s, pgfolio.ledger_snapshot(%(p)s),
                          pgfolio.ledger_snapshot(%(p)s),
                          amount => replace(%(amount)s, '{{n}}', g::text)::numeric,
                          message => replace(%(message)s, '{{n}}', g::text){extra})).id
                FROM generate_series(1, %(count)s) g ORDER BY g""",
            dict(columns, p=portfolio, type=entry_type, amount=amount, message=message,
                 count=count))
        return [str(row[0]) for row in cursor.fetchall()]


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


def test_export_head_and_http_1_0(ledger_owner, client):
    status, headers, rest = head_and_body(raw_exchange(
        client.host, client.port,
        (f"HEAD {API}/history/export HTTP/1.1\r\nHost: test\r\nConnection: close\r\n"
         f"Authorization: Bearer {ledger_owner.token}\r\n\r\n").encode()))
    assert status.endswith("200 OK") and rest == b""
    assert headers["content-type"] == "text/csv; charset=utf-8"
    assert headers["content-disposition"].startswith("attachment; filename=")
    # HTTP/1.0 has no chunked coding: the body is sent as it is and ends with the connection.
    status, headers, body = head_and_body(raw_exchange(
        client.host, client.port,
        raw_get(ledger_owner, "/history/export?format=jsonl", "HTTP/1.0",
                "Connection: keep-alive\r\n"), read_timeout=15))
    assert status == "HTTP/1.0 200 OK" and "transfer-encoding" not in headers
    assert headers["connection"] == "close" and body.count(b"\n") == 21


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
    """The proof of `entry` if a checkpoint covered it, checked; else the 409's details."""
    response = person.get(f"/history/{entry}/proof")
    latest = latest_checkpoint(db, portfolio)
    if latest is None or latest["treeSize"] < seq:  # none covered it when it was asked
        problem = assert_problem(response, 409, "CONFLICT")
        assert problem["details"]["entryId"] == entry and problem["details"]["seq"] == seq
        return problem["details"]
    assert response.status in (200, 409), response.body[:300]
    return response.json() if response.status == 200 else None


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
    entries = append(db, portfolio, 13)
    for seq in (1, 13):
        details = proof_answer(person, db, portfolio, entries[seq - 1], seq)
        if details and "checkpointTreeSize" in details:
            assert details["checkpointTreeSize"] is None or details["checkpointTreeSize"] < seq
    checkpoint(db, portfolio, 4)  # sizes the witness never sees: the 13 came in one statement
    checkpoint(db, portfolio, 11)
    sizes = set()
    for seq in (1, 2, 7, 8, 11):
        proof = proof_answer(person, db, portfolio, entries[seq - 1], seq)
        assert proof is not None and "leafIndex" in proof  # a checkpoint of 11 or more exists
        sizes.add(check_proof(proof, db, portfolio, seq, openapi_schemas))
    assert min(sizes) >= 11  # the latest checkpoint, never the one of 4
    details = proof_answer(person, db, portfolio, entries[11], 12)
    if details and "checkpointTreeSize" in details:
        assert details == {"entryId": entries[11], "seq": 12, "checkpointTreeSize": 11}
    elif details:
        check_proof(details, db, portfolio, 12, openapi_schemas)  # the witness signed 13 since


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
