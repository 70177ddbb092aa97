"""Helpers shared by the HTTP end-to-end tests: settings from the environment, a small HTTP
client that never raises on 4xx/5xx, raw-socket exchanges for requests that http.client
refuses to send (bad bytes, lying Content-Length), problem+json checks and a Prometheus text
parser. Standard library and psycopg2 only.
"""

import datetime
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import psycopg2

ALLOWED_ORIGIN = "http://app.test.example"
# The secrets of the servers the tests start themselves (never of the main one).
TEST_SERVER_SECRETS = {
    "PGFOLIO_JWT_SECRET": "throwaway-test-server-jwt-secret-0123456789abcdef",
    "PGFOLIO_TOTP_KEY": "dGhyb3dhd2F5LXRlc3Qtc2VydmVyLXRvdHAta2V5ISE=",
}
PROBLEM_KEYS = {"type", "title", "status", "detail", "code", "details"}
# Words that would show database internals leaking into a 5xx answer.
SQL_LEAK_MARKERS = ("SELECT", "pgfolio.", "SQLSTATE", "ERROR:", "CONTEXT", "relation",
                    "connection to server", "libpq", "pqxx")


@dataclass(frozen=True)
class Settings:
    root: Path
    pgport: int
    http_port: int
    http_url: str
    data: str
    http_log: Path
    test_dsn: str
    outage_pgport: int
    outage_http_port: int

    @property
    def http_host(self) -> str:
        return urllib.parse.urlsplit(self.http_url).hostname or "127.0.0.1"

    @property
    def binary(self) -> Path:
        return self.root / "build" / "pgfolio-http"


def load_settings() -> Settings:
    """The harness exports every variable; the defaults match a plain `make run`."""
    env = os.environ
    root = Path(env.get("PGFOLIO_ROOT") or Path(__file__).resolve().parents[2])
    pgport = int(env.get("PGFOLIO_PGPORT", "5499"))
    http_port = int(env.get("PGFOLIO_HTTP_PORT", "8080"))
    data = env.get("PGFOLIO_DATA") or f"/var/tmp/pgfolio-{pgport}"
    return Settings(
        root=root,
        pgport=pgport,
        http_port=http_port,
        http_url=(env.get("PGFOLIO_HTTP_URL") or f"http://127.0.0.1:{http_port}").rstrip("/"),
        data=data,
        http_log=Path(env.get("PGFOLIO_HTTP_LOG") or f"{data}.http.log"),
        test_dsn=env.get("PGFOLIO_TEST_DSN")
        or f"host=127.0.0.1 port={pgport} user=postgres dbname=pgfolio",
        # Local runs without the harness: ten above the main ports, as in the dev setup.
        outage_pgport=int(env.get("PGFOLIO_OUTAGE_PGPORT") or pgport + 10),
        outage_http_port=int(env.get("PGFOLIO_OUTAGE_HTTP_PORT") or http_port + 10),
    )


@dataclass
class Response:
    status: int
    headers: List[Tuple[str, str]]
    body: bytes

    def header(self, name: str) -> Optional[str]:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def header_names(self) -> set:
        return {key.lower() for key, _ in self.headers}

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    @property
    def media_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()


class Client:
    """One fresh connection per request, so a test's answer never depends on the state a
    previous request left on a kept-alive connection."""

    def __init__(self, base_url: str, timeout: float = 15.0):
        parts = urllib.parse.urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout

    def request(self, method: str, path: str, headers: Optional[Dict[str, str]] = None,
                body: Optional[bytes] = None) -> Response:
        connection = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            connection.request(method, path, body=body, headers=headers or {})
            answer = connection.getresponse()
            return Response(answer.status, answer.getheaders(), answer.read())
        finally:
            connection.close()

    def get(self, path: str, headers: Optional[Dict[str, str]] = None) -> Response:
        return self.request("GET", path, headers=headers)

    def raw(self, data: bytes, read_timeout: float = 5.0) -> bytes:
        return raw_exchange(self.host, self.port, data, read_timeout)


def raw_exchange(host: str, port: int, data: bytes, read_timeout: float = 5.0) -> bytes:
    """Sends `data` as is and reads until the server closes the connection. A server that
    keeps the connection open makes this raise socket.timeout, which tests treat as a
    failure of the close-after-error rule where it applies."""
    with socket.create_connection((host, port), timeout=read_timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before taking everything; read the answer
        received = b""
        deadline = time.monotonic() + read_timeout
        while True:
            sock.settimeout(max(0.05, deadline - time.monotonic()))
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            received += chunk
        return received


def parse_responses(stream: bytes) -> List[Response]:
    """Splits what a server wrote on one connection into responses (Content-Length framing,
    which is all pgfolio-http uses)."""
    responses = []
    rest = stream
    while rest:
        head, separator, rest = rest.partition(b"\r\n\r\n")
        assert separator, f"incomplete response head: {head[:200]!r}"
        lines = head.decode("latin-1").split("\r\n")
        status_line = lines[0].split(" ", 2)
        assert status_line[0].startswith("HTTP/1."), f"not a status line: {lines[0]!r}"
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:]]
        length = 0
        for name, value in headers:
            if name.lower() == "content-length":
                length = int(value)
        assert len(rest) >= length, "response body shorter than its Content-Length"
        responses.append(Response(int(status_line[1]), headers, rest[:length]))
        rest = rest[length:]
    return responses


def assert_problem(response: Response, status: int, code: str) -> dict:
    """Checks an RFC 9457 answer with pgfolio's members and returns its body."""
    assert response.status == status, (response.status, response.body[:300])
    assert response.media_type == "application/problem+json", response.headers
    problem = response.json()
    assert set(problem) == PROBLEM_KEYS, problem
    assert problem["status"] == status
    assert problem["code"] == code
    assert isinstance(problem["details"], dict)
    assert isinstance(problem["title"], str) and problem["title"]
    assert isinstance(problem["detail"], str) and problem["detail"]
    assert re.fullmatch(r"https://[^\s]+/problems/[a-z-]+", problem["type"]), problem["type"]
    if status >= 500:
        for marker in SQL_LEAK_MARKERS:
            assert marker not in problem["detail"], problem
    return problem


def schema_problems(value, schema: dict, schemas: dict, where: str = "$") -> List[str]:
    """Where `value` breaks the OpenAPI 3.0 `schema` (the subset the route table uses: $ref
    into `schemas`, type, nullable, required, properties, items, pattern, format date-time,
    minimum, oneOf). Stricter than OpenAPI in one way: an object property the schema does not list
    is reported, so the document cannot fall behind what the server sends."""
    if "$ref" in schema:
        return schema_problems(value, schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas,
                               where)
    if "oneOf" in schema:
        matching = [alternative for alternative in schema["oneOf"]
                    if not schema_problems(value, alternative, schemas, where)]
        return [] if len(matching) == 1 else [
            f"{where}: matches {len(matching)} of the oneOf alternatives, not exactly 1"]
    if value is None:
        return [] if schema.get("nullable") else [f"{where}: null is not allowed"]
    kind = schema.get("type")
    python_types = {"object": dict, "array": list, "string": str, "boolean": bool,
                    "integer": int, "number": (int, float)}
    if kind and (not isinstance(value, python_types[kind]) or
                 (isinstance(value, bool) and kind != "boolean")):
        return [f"{where}: expected {kind}, got {type(value).__name__} {value!r:.60}"]
    problems = []
    if kind == "string":
        pattern = schema.get("pattern")
        # OpenAPI patterns are ECMAScript; Python's $ would also accept a trailing newline.
        if pattern and not re.search(re.sub(r"\$$", r"\\Z", pattern), value):
            problems.append(f"{where}: {value!r} does not match {pattern}")
        if schema.get("format") == "date-time":
            try:
                parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
                if parsed.tzinfo is None:
                    problems.append(f"{where}: {value!r} has no time zone")
            except ValueError:
                problems.append(f"{where}: {value!r} is not a date-time")
    if kind in ("integer", "number") and "minimum" in schema and value < schema["minimum"]:
        problems.append(f"{where}: {value} is below {schema['minimum']}")
    if kind == "object":
        problems += [f"{where}: {name} is missing" for name in schema.get("required", [])
                     if name not in value]
        properties = schema.get("properties")
        if properties is not None:
            for name, item in value.items():
                if name not in properties:
                    problems.append(f"{where}: {name} is not in the schema")
                else:
                    problems += schema_problems(item, properties[name], schemas,
                                                f"{where}.{name}")
    if kind == "array":
        for index, item in enumerate(value):
            problems += schema_problems(item, schema.get("items", {}), schemas,
                                        f"{where}[{index}]")
    return problems


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_metrics(text: str) -> Dict[Tuple[str, frozenset], float]:
    """Prometheus text exposition → {(name, labels): value}; rejects malformed lines."""
    samples = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        match = _SAMPLE.match(line)
        assert match, f"malformed metrics line: {line!r}"
        labels = frozenset(_LABEL.findall(match.group(3) or ""))
        samples[(match.group(1), labels)] = float(match.group(4))
    return samples


def metric(samples, name: str, **labels) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def access_log_lines(path: Path, request_id: str) -> List[dict]:
    """Access-log lines (JSON with a status) carrying `request_id`."""
    found = []
    with open(path, "rb") as log:
        for raw in log:
            if request_id.encode() not in raw:
                continue
            try:
                line = json.loads(raw)
            except ValueError:
                continue
            if line.get("request_id") == request_id and "status" in line:
                found.append(line)
    return found


def free_port() -> int:
    """A port nothing listens on right now (the kernel's pick), for a throwaway server."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def connect(dsn: str):
    """A psycopg2 connection in autocommit mode."""
    connection = psycopg2.connect(dsn, connect_timeout=5)
    connection.autocommit = True
    return connection


class ServerProcess:
    """A pgfolio-http the tests start themselves (never the main one)."""

    def __init__(self, binary, port: int, database_url: str, log_path, extra_env=None):
        self.port = port
        self.log_path = log_path
        self.url = f"http://127.0.0.1:{port}"
        self.client = Client(self.url, timeout=20)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
               "PGFOLIO_DATABASE_URL": database_url,
               "PGFOLIO_HTTP_ADDRESS": "127.0.0.1",
               "PGFOLIO_HTTP_PORT": str(port),
               "PGFOLIO_CORS_ORIGINS": ALLOWED_ORIGIN}
        env.update(TEST_SERVER_SECRETS)
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
        wait_until(ready, timeout, interval=0.1, what=f"{self.url}/readyz")

    def log_text(self) -> str:
        if not self._log.closed:
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

    def __init__(self, settings: Settings):
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
                raise AssertionError(f"PGFOLIO_OUTAGE_PGPORT {self.port} is in use")
        self.cluster("destroy")  # what a crashed earlier run may have left
        self._run("bash", "-c", 'source scripts/lib.sh && setup_database')

    def connect(self):
        return connect(self.dsn)

    @property
    def log_path(self) -> str:
        return f"{self.data}.log"  # scripts/cluster.sh's server log
