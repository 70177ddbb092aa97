#!/usr/bin/python3
"""pgfolio's benchmark driver (run by scripts/bench.sh, which prepares the cluster and data).

In one run, against the same data and server (--parts valuation,auth,ledger; 1–3 are
valuation):
  1. checks that each plain-SQL baseline returns exactly what pgfolio returns (batch: every
     portfolio's row, compared as text so that scales count; single: the jsonb document, and
     the numbers of the rows form, for the 50-holding portfolio and a sample of portfolios in
     every base currency);
  2. batch: times `SELECT * FROM pgfolio.portfolio_values()` against bench/batch_plain.sql,
     alternating the two, and compares medians;
  3. single: measures per-call latency of pgfolio.portfolio_valuation(id) for the 50-holding
     portfolio against both statements of bench/single_plain.sql (the same jsonb document; the
     same numbers as rows) with pgbench (prepared statements, one client), alternating, and
     compares p50 and p95;
  4. auth (issue 3): starts two pgfolio-http on the same database with the same settings,
     the second with the benchmark-only PGFOLIO_BENCHMARK_ONLY_ACT_AS (authentication off);
     registers a user through the API and times sequential logins (Argon2id), then measures
     the requests/s of GET /api/v1/profile with a bearer token on the first and without on
     the second with wrk, alternating, checking that every answer was a 200; stops both;
  5. ledger (issue 4): bench/ledger_bench.py — verification of a million ledger entries
     against a PL/pgSQL + pgcrypto verifier and a plain read, raw SHA-256 throughput, and
     appends with and without hashing;
and writes bench/RESULTS.md when --results is given (all parts). Exits non-zero when a check
fails; a missed target is reported, not an error (the figures are what they are).
"""
import argparse
import base64
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import psycopg2

import ledger_bench

BENCH = os.path.dirname(os.path.abspath(__file__))
PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"


def sql_file(name):
    with open(os.path.join(BENCH, name)) as f:
        return f.read()


def bare(sql):
    """A statement file's text as a subquery: comments and the final semicolon removed."""
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip().rstrip(";")


def single_plain_statements():
    """bench/single_plain.sql cut at its "-- @name" lines: the WITH clause they share plus each
    final SELECT, as complete statements by name."""
    parts = re.split(r"^-- @(\w+)\n", sql_file("single_plain.sql"), flags=re.MULTILINE)
    common, named = parts[0], dict(zip(parts[1::2], parts[2::2]))
    return {name: common + tail for name, tail in named.items()}


def iso_utc(timestamp):
    """pgfolio's time format: ISO 8601 in UTC with microseconds."""
    return timestamp.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def text(value):
    return None if value is None else str(value)


def with_id(sql, portfolio_id):
    """Replaces the pgbench variable :id (not the :: of a cast) with a uuid literal."""
    assert re.fullmatch(r"[0-9a-f-]{36}", portfolio_id)
    return re.sub(r"(?<!:):id\b", f"'{portfolio_id}'::uuid", sql)


def percentile(sorted_values, p):
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, -(-len(sorted_values) * p // 100))
    return sorted_values[int(rank) - 1]


def machine():
    model = "unknown"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(next(line for line in f if line.startswith("MemTotal")).split()[1])
    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "ram": f"{mem_kb / 1024 / 1024:.1f} GiB",
        "os": platform.platform(),
        "load": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
    }


class Abort(Exception):
    """A part of the benchmark cannot go on; what failed was printed."""


class Checks:
    """Checks of a part's preconditions and answers: any failure means no result."""

    def __init__(self):
        self.failures = []

    def check(self, ok, message):
        print(("ok      " if ok else "FAILED  ") + message, flush=True)
        if not ok:
            self.failures.append(message)


class Bench(Checks):
    def __init__(self, dsn, batch_runs, single_seconds, single_rounds):
        super().__init__()
        self.dsn = dsn
        self.batch_runs = batch_runs
        self.single_seconds = single_seconds
        self.single_rounds = single_rounds
        self.conn = psycopg2.connect(dsn)
        self.conn.autocommit = True

    def scalar(self, sql, args=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchone()[0]

    def rows(self, sql, args=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()

    # ---- facts about the run ---------------------------------------------------------------

    def data_sizes(self):
        q = self.scalar
        return {
            "portfolios": q("SELECT count(*) FROM pgfolio.portfolios"),
            "holdings": q("SELECT count(*) FROM pgfolio.holdings"),
            "assets": q("SELECT count(*) FROM pgfolio.assets"),
            "assets_usd": q("SELECT count(*) FROM pgfolio.assets WHERE quote_currency = 'USD'"),
            "fx_rates": q("SELECT count(*) FROM pgfolio.fx_rates"),
            "base_currencies": ", ".join(
                f"{c} {n}" for c, n in self.rows(
                    "SELECT base_currency, count(*) FROM pgfolio.portfolios "
                    "GROUP BY 1 ORDER BY 2 DESC")),
            "single_holdings": q("SELECT count(*) FROM pgfolio.holdings "
                                 "WHERE portfolio_id = bench.single_portfolio_id()"),
            "database_size": q("SELECT pg_size_pretty(pg_database_size(current_database()))"),
        }

    # ---- checks ----------------------------------------------------------------------------

    def verify_batch(self):
        plain = bare(sql_file("batch_plain.sql"))
        total, differing = self.rows(f"""
            SELECT count(*),
                   count(*) FILTER (WHERE a.portfolio_id IS NULL OR b.portfolio_id IS NULL
                     OR (a.base_currency, a.cash::text, a.holdings_value::text, a.total_value::text)
                        IS DISTINCT FROM
                        (b.base_currency, b.cash::text, b.holdings_value::text, b.total_value::text))
            FROM pgfolio.portfolio_values() a FULL JOIN ({plain}) b USING (portfolio_id)""")[0]
        self.check(total > 0 and differing == 0,
                   f"batch: plain SQL and portfolio_values() agree on all {total} portfolios "
                   f"({differing} differ)")
        # How much the rounding rule matters here: the same SQL with round() (ties away from
        # zero) for each holding's value.
        half_up, count = re.subn(r"sum\(CASE WHEN x - trunc\(x, m\).*?END\)", "sum(round(x, m))",
                                 plain, flags=re.DOTALL)
        assert count == 1, "batch_plain.sql no longer has the expected rounding expression"
        self.half_up_differences = self.scalar(f"""
            SELECT count(*) FROM ({plain}) a JOIN ({half_up}) b USING (portfolio_id)
            WHERE a.total_value <> b.total_value""")
        print(f"info    batch: with round() instead, {self.half_up_differences} portfolios "
              "would get a different total")
        return total

    def verify_single(self, sample_per_currency=100):
        statements = single_plain_statements()
        document, rows = bare(statements["document"]), bare(statements["rows"])
        # The 50-holding portfolio, the first portfolios of each base currency, and portfolios
        # where half-even and half-up rounding disagree on some holding's value or cost basis
        # (an exact half at the minor unit), so that the rule itself is compared.
        ids = [r[0] for r in self.rows("""
            SELECT bench.single_portfolio_id()::text
            UNION
            SELECT id::text FROM (SELECT id, row_number() OVER (PARTITION BY base_currency
                                                                ORDER BY id) AS n
                                  FROM pgfolio.portfolios) s WHERE n <= %s
            UNION
            (SELECT DISTINCT h.portfolio_id::text
             FROM pgfolio.holdings h
             JOIN pgfolio.portfolios p ON p.id = h.portfolio_id
             JOIN pgfolio.prices pr ON pr.asset_id = h.asset_id
             WHERE p.base_currency = 'INR' AND pr.currency = 'INR'
               AND ((h.quantity * pr.price * 100) %% 2 = 0.5
                    OR (h.quantity * h.average_cost * 100) %% 2 = 0.5)
             LIMIT 50)""", (sample_per_currency,))]
        differing_documents, differing_rows = [], []
        for portfolio_id in ids:
            pgfolio = self.scalar("SELECT pgfolio.portfolio_valuation(%s)", (portfolio_id,))
            plain = self.scalar(f"SELECT ({with_id(document, portfolio_id)})")
            if plain != pgfolio:
                differing_documents.append(portfolio_id)
            with self.conn.cursor() as cur:
                cur.execute(with_id(rows, portfolio_id))
                names = [d.name for d in cur.description]
                plain_rows = [dict(zip(names, row)) for row in cur.fetchall()]
            if self.rows_numbers(plain_rows) != self.document_numbers(pgfolio):
                differing_rows.append(portfolio_id)
        self.check(not differing_documents,
                   f"single: the plain SQL document equals portfolio_valuation()'s for "
                   f"{len(ids)} portfolios ({len(differing_documents)} differ: "
                   f"{differing_documents[:3]})")
        self.check(not differing_rows,
                   f"single: the plain SQL rows hold portfolio_valuation()'s numbers for "
                   f"{len(ids)} portfolios ({len(differing_rows)} differ: {differing_rows[:3]})")
        return len(ids)

    @staticmethod
    def document_numbers(doc):
        """The numbers of a valuation document, in the shape rows_numbers gives."""
        layers = ("FOUNDATION", "GROWTH", "UPSIDE")
        return {
            "totals": [doc["baseCurrency"], doc["cash"], doc["holdingsValue"], doc["totalValue"],
                       doc["costBasis"], doc["unrealizedPnl"], doc["returnPercent"],
                       doc["oldestPriceAsOf"]],
            "allocation": [[doc["allocation"][l]["value"] for l in layers],
                           [doc["allocation"][l]["percent"] for l in layers]],
            "holdings": [[h["assetId"], h["layer"], h["quantity"], h["frozenQuantity"],
                          h["price"], h["priceCurrency"], h["priceAsOf"], h["fxRate"],
                          h["value"], h["averageCost"], h["costBasis"], h["unrealizedPnl"],
                          h["unrealizedPnlPercent"]] for h in doc["holdings"]],
        }

    @staticmethod
    def rows_numbers(rows):
        """The numbers of the rows form. Money keeps its scale (compared as text, as in the
        document); quantities, prices and rates are compared without trailing zeros, as the
        document shows them."""
        first = rows[0]
        plain = lambda d: format(d.normalize(), "f")
        return {
            "totals": [first["base_currency"], text(first["cash"]), text(first["holdings_value"]),
                       text(first["total_value"]), text(first["total_cost_basis"]),
                       text(first["unrealized_pnl"]), text(first["return_percent"]),
                       first["oldest_price_as_of"] and iso_utc(first["oldest_price_as_of"])],
            "allocation": [[text(v) for v in first["layer_values"]],
                           [text(v) for v in first["layer_percents"]]],
            "holdings": [[r["asset_id"], r["layer"], plain(r["quantity"]),
                          plain(r["frozen_quantity"]), plain(r["price"]), r["currency"],
                          iso_utc(r["as_of"]), plain(r["rate"]), text(r["value"]),
                          plain(r["average_cost"]), text(r["cost_basis"]), text(r["pnl"]),
                          text(r["pnl_percent"])] for r in rows if r["asset_id"] is not None],
        }

    # ---- timings ---------------------------------------------------------------------------

    def time_batch(self):
        """Median wall time of each statement, results transferred to the client (and left in
        libpq's buffer, unconverted). Runs alternate so that drift hits both alike."""
        statements = {"pgfolio": sql_file("batch_pgfolio.sql"), "plain": sql_file("batch_plain.sql")}
        times = {name: [] for name in statements}
        with self.conn.cursor() as cur:
            for name, sql in statements.items():  # warm-up: caches, plans, the library
                cur.execute(sql)
            for run in range(self.batch_runs):
                order = list(statements) if run % 2 == 0 else list(reversed(statements))
                for name in order:
                    start = time.perf_counter()
                    cur.execute(statements[name])
                    times[name].append(time.perf_counter() - start)
                    rows = cur.rowcount
                print(f"batch run {run + 1}/{self.batch_runs}: " + ", ".join(
                    f"{n} {times[n][-1] * 1000:.0f} ms" for n in statements), flush=True)
        return {name: {"runs_ms": [t * 1000 for t in ts],
                       "median_ms": statistics.median(ts) * 1000,
                       "rows": rows} for name, ts in times.items()}

    def pgbench(self, script, portfolio_id, seconds, log_dir):
        """Runs the pgbench script file for `seconds` with one client and prepared statements;
        returns every transaction's latency in ms from pgbench's per-transaction log."""
        logs = os.path.join(log_dir, "logs")
        shutil.rmtree(logs, ignore_errors=True)
        os.mkdir(logs)
        conn = dict(kv.split("=", 1) for kv in self.dsn.split())
        subprocess.run(
            [PGBENCH, "-n", "-M", "prepared", "-c", "1", "-T", str(seconds),
             "-h", conn["host"], "-p", conn["port"], "-U", conn["user"],
             "-D", f"id={portfolio_id}", "-f", script,
             "-l", "--log-prefix", os.path.join(logs, "tx"), conn["dbname"]],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        latencies = []
        for log in os.listdir(logs):
            with open(os.path.join(logs, log)) as f:
                # client_id transaction_no latency_us script_no epoch_s epoch_us
                latencies += [int(line.split()[2]) / 1000 for line in f]
        if not latencies:
            raise RuntimeError(f"pgbench ran no transaction of {script}")
        return latencies

    def time_single(self):
        portfolio_id = self.scalar("SELECT bench.single_portfolio_id()::text")
        log_dir = tempfile.mkdtemp(prefix="pgfolio-bench-")
        try:
            scripts = {"pgfolio": os.path.join(BENCH, "single_pgfolio.sql")}
            for name, sql in single_plain_statements().items():
                scripts[name] = os.path.join(log_dir, f"single_plain_{name}.sql")
                with open(scripts[name], "w") as f:
                    f.write(sql)
            latencies = {name: [] for name in scripts}
            for script in scripts.values():  # warm-up, not counted
                self.pgbench(script, portfolio_id, 1, log_dir)
            for run in range(self.single_rounds):
                order = list(scripts) if run % 2 == 0 else list(reversed(scripts))
                for name in order:
                    latencies[name] += self.pgbench(scripts[name], portfolio_id,
                                                    self.single_seconds, log_dir)
                print(f"single round {run + 1}/{self.single_rounds}: " + ", ".join(
                    f"{n} {len(latencies[n])} calls" for n in scripts), flush=True)
        finally:
            shutil.rmtree(log_dir)
        result = {}
        for name, values in latencies.items():
            values.sort()
            result[name] = {"calls": len(values), "p50_ms": percentile(values, 50),
                            "p95_ms": percentile(values, 95), "mean_ms": statistics.fmean(values)}
        return result


# ---- authentication (issue 3) -----------------------------------------------------------------

WRK = "/usr/bin/wrk"
AUTH_ROUTE = "/api/v1/profile"  # cheap: one user row, read as the acting user
# Out of the benchmark's way: the defaults (10 logins per minute per IP, 100 requests per
# minute per user) would answer most of its requests with 429.
UNLIMITED_PER_MINUTE = "1000000"


class HttpServer:
    """One pgfolio-http of the benchmark, on 127.0.0.1, logging to a file."""

    def __init__(self, binary, port, env, log_path):
        self.port, self.log_path = port, log_path
        with open(log_path, "wb") as log:
            self.process = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL,
                                            stdout=log, stderr=subprocess.STDOUT)
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        deadline = time.monotonic() + 15
        while True:
            try:
                if self.request("GET", "/readyz")[0] == 200:
                    return
            except OSError:
                self.conn.close()
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                print(f"FAILED  pgfolio-http on port {port} did not become ready:\n"
                      + self.log_tail(), flush=True)
                raise Abort()
            time.sleep(0.1)

    def request(self, method, path, body=None, headers=None):
        """(status, body bytes, seconds) over the server's keep-alive connection."""
        headers = dict(headers or {})
        if body is not None:
            body = json.dumps(body)
            headers["Content-Type"] = "application/json"
        start = time.perf_counter()
        self.conn.request(method, path, body, headers)
        response = self.conn.getresponse()
        data = response.read()
        return response.status, data, time.perf_counter() - start

    def status_counts(self, route, method="GET"):
        """Requests the server answered on `route`, by status, from its /metrics."""
        status, data, _ = self.request("GET", "/metrics")
        if status != 200:
            raise Abort(f"/metrics of port {self.port} answered {status}")
        pattern = re.compile(r'^pgfolio_http_requests_total\{route="%s",method="%s",'
                             r'status="(\d+)"\} (\d+)$' % (re.escape(route), method), re.MULTILINE)
        return {status: int(n) for status, n in pattern.findall(data.decode())}

    def log_tail(self, lines=20):
        with open(self.log_path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])

    def stop(self):
        """SIGTERM, as make stop does; returns the exit status (0 after a clean drain)."""
        self.conn.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=35)  # the server drains for at most 30 s
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def jwt_claims(token):
    """The claims of a JWT, read without checking it (the server checks; this only needs sid)."""
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class AuthBench(Checks):
    """Login latency, and the throughput of one authenticated read with and without
    authentication: two pgfolio-http on the same database with the same settings, the second
    with PGFOLIO_BENCHMARK_ONLY_ACT_AS (no token check, no authenticate(); docs/http.md)."""

    def __init__(self, args, dsn):
        super().__init__()
        self.args, self.dsn = args, dsn
        # Secrets for these two servers only, made for the run and gone with it.
        self.secrets = {"PGFOLIO_JWT_SECRET": os.urandom(48).hex(),
                        "PGFOLIO_TOTP_KEY": base64.b64encode(os.urandom(32)).decode()}

    def start_server(self, port, log_path, act_as=None):
        # A clean environment: only what is set here, plus Argon2 parameters the caller chose
        # to measure (the stored hash says which were in effect). Both servers get the same
        # pool and threads; only the second acts as one user without a token.
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
               **{k: v for k, v in os.environ.items() if k.startswith("PGFOLIO_ARGON2_")},
               **self.secrets,
               "PGFOLIO_DATABASE_URL": self.args.http_database_url,
               "PGFOLIO_HTTP_ADDRESS": "127.0.0.1",
               "PGFOLIO_HTTP_PORT": str(port),
               "PGFOLIO_DB_POOL_SIZE": str(self.args.http_pool),
               "PGFOLIO_HTTP_THREADS": str(self.args.http_pool + 2),
               "PGFOLIO_RATE_LOGIN_PER_MINUTE": UNLIMITED_PER_MINUTE,
               "PGFOLIO_RATE_USER_PER_MINUTE": UNLIMITED_PER_MINUTE}
        if act_as:
            env["PGFOLIO_BENCHMARK_ONLY_ACT_AS"] = act_as
        server = HttpServer(self.args.http_binary, port, env, log_path)
        self.servers.append(server)
        return server

    def call(self, server, method, path, expected, body=None, headers=None):
        """The parsed answer of a request that must have status `expected`."""
        status, data, _ = server.request(method, path, body, headers)
        if status != expected:
            self.check(False, f"auth: {method} {path} answered {status}, not {expected}: "
                              f"{data[:300]!r}")
            raise Abort()
        return json.loads(data) if data else None

    def timed_logins(self, server, email, password, expected_status):
        """Latencies in ms, ascending, of sequential logins; every answer must have
        `expected_status`."""
        latencies, unexpected = [], 0
        for _ in range(self.args.logins):
            status, _, seconds = server.request("POST", "/api/v1/auth/login",
                                                {"email": email, "password": password})
            latencies.append(seconds * 1000)
            unexpected += status != expected_status
        self.check(unexpected == 0, f"auth: {self.args.logins} logins answered {expected_status} "
                                    f"({unexpected} did not)")
        return sorted(latencies)

    def argon2_parameters(self, user_id):
        """The m, t, p the user's stored hash was made with."""
        conn = psycopg2.connect(self.dsn)
        try:
            with conn.cursor() as cur:
                cur.execute(r"SELECT substring(password_hash from '^\$argon2id\$v=19\$([^$]+)\$') "
                            "FROM pgfolio.users WHERE id = %s", (user_id,))
                return cur.fetchone()[0]
        finally:
            conn.close()

    def wrk(self, server, authorization, seconds):
        """One wrk run against AUTH_ROUTE: wrk's counts and the server's, and the errors."""
        before = server.status_counts(AUTH_ROUTE)
        env = dict(os.environ, PGFOLIO_BENCH_AUTHORIZATION=authorization or "")
        out = subprocess.run(
            [WRK, "-t", str(self.args.wrk_threads), "-c", str(self.args.http_connections),
             "-d", f"{seconds}s", "--timeout", "5s", "-s", os.path.join(BENCH, "wrk_summary.lua"),
             f"http://127.0.0.1:{server.port}{AUTH_ROUTE}"],
            env=env, capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
        run = json.loads(re.search(r"^WRK_SUMMARY (.*)$", out, re.MULTILINE).group(1))
        after = server.status_counts(AUTH_ROUTE)
        answered = {s: n - before.get(s, 0) for s, n in after.items()}
        run["server_200"] = answered.pop("200", 0)
        run["server_other"] = {s: n for s, n in answered.items() if n}
        # A result only if every response was a 200: no socket error or timeout, nothing but
        # 200 at the server (wrk's own count is of non-2xx only), and at least as many 200s
        # there as wrk counted responses (requests in flight when wrk stops are answered but
        # not counted, so the server may have more).
        run["errors"] = (sum(run[k] for k in ("connect", "read", "write", "timeout"))
                         + max(run["status"], sum(run["server_other"].values()))
                         + max(0, run["requests"] - run["server_200"]
                               - sum(run["server_other"].values())))
        run["rps"] = run["requests"] / (run["duration_us"] / 1e6)
        return run

    def run(self):
        """The figures, or None after a failed check (printed)."""
        self.servers = []
        logs = tempfile.mkdtemp(prefix="pgfolio-bench-http-")
        try:
            return self.measure(logs)
        except Abort as abort:
            if str(abort):
                self.check(False, f"auth: {abort}")
            return None
        finally:
            for server in self.servers:
                code = server.stop()
                self.check(code == 0, f"auth: pgfolio-http on port {server.port} stopped with "
                                      f"status {code}")
                if code != 0 or self.failures:
                    print(f"---- tail of its log\n{server.log_tail()}", flush=True)
            shutil.rmtree(logs, ignore_errors=True)

    def measure(self, logs):
        args = self.args
        auth = self.start_server(args.http_ports[0], os.path.join(logs, "auth.log"))
        email = f"bench-{os.urandom(6).hex()}@example.com"
        password = base64.urlsafe_b64encode(os.urandom(18)).decode()
        user_id = self.call(auth, "POST", "/api/v1/auth/register", 201,
                            {"email": email, "password": password,
                             "displayName": "Benchmark"})["user"]["id"]

        # Login latency: a warm-up (not counted), sequential logins with the right password;
        # then the two refusals that must take the same time: a wrong password, and an
        # unknown email (verified against the dummy hash).
        for _ in range(3):
            self.call(auth, "POST", "/api/v1/auth/login", 200,
                      {"email": email, "password": password})
        login_ms = self.timed_logins(auth, email, password, 200)
        wrong_ms = self.timed_logins(auth, email, password[::-1] + "x", 401)
        unknown = f"nobody-{os.urandom(6).hex()}@example.com"
        unknown_ms = self.timed_logins(auth, unknown, password, 401)

        token = self.call(auth, "POST", "/api/v1/auth/login", 200,
                          {"email": email, "password": password})["accessToken"]
        bearer = f"Bearer {token}"
        act_as = f"{user_id},{jwt_claims(token)['sid']}"
        noauth = self.start_server(args.http_ports[1], os.path.join(logs, "noauth.log"), act_as)
        # The two sides serve the same user's profile; only the first needs the token.
        with_token = self.call(auth, "GET", AUTH_ROUTE, 200, headers={"Authorization": bearer})
        self.call(auth, "GET", AUTH_ROUTE, 401)
        unchecked = self.call(noauth, "GET", AUTH_ROUTE, 200)
        self.check(with_token["id"] == user_id and with_token == unchecked,
                   f"auth: {AUTH_ROUTE} answers the same profile on both servers")

        sides = {"auth": (auth, bearer), "noauth": (noauth, None)}
        for name, side in sides.items():  # warm-up, not counted
            warm = self.wrk(*side, 2)
            self.check(warm["errors"] == 0, f"auth: warm-up of {name}: {warm['errors']} errors")
        rounds = {name: [] for name in sides}
        for run in range(args.http_rounds):
            order = list(sides) if run % 2 == 0 else list(reversed(sides))
            for name in order:
                rounds[name].append(self.wrk(*sides[name], args.http_seconds))
            print(f"auth round {run + 1}/{args.http_rounds}: " + ", ".join(
                f"{n} {rounds[n][-1]['rps']:.0f} req/s ({rounds[n][-1]['errors']} errors)"
                for n in sides), flush=True)
        throughput = {}
        for name, runs in rounds.items():
            errors = sum(r["errors"] for r in runs)
            self.check(errors == 0, f"auth: {name}: every response a 200 ({errors} errors; "
                                    f"other statuses {[r['server_other'] for r in runs]})")
            requests = sum(r["requests"] for r in runs)
            throughput[name] = {
                "rounds_rps": [r["rps"] for r in runs],
                "requests": requests,
                "rps": requests / (sum(r["duration_us"] for r in runs) / 1e6),
            }
        if self.failures:
            raise Abort()
        ratio = throughput["auth"]["rps"] / throughput["noauth"]["rps"]
        # Each round's own cost: how much the shared machine moved the figure.
        round_costs = [1 - a["rps"] / n["rps"] for a, n in zip(rounds["auth"], rounds["noauth"])]
        spread = lambda ms: {"p50": percentile(ms, 50), "p95": percentile(ms, 95),
                             "mean": statistics.fmean(ms)}
        return {
            "argon2": self.argon2_parameters(user_id),
            "logins": args.logins, "login_ms": spread(login_ms), "wrong_ms": spread(wrong_ms),
            "unknown_ms": spread(unknown_ms),
            "throughput": throughput, "ratio": ratio, "cost": 1 - ratio,
            "round_costs": round_costs,
            "rounds": args.http_rounds, "seconds": args.http_seconds,
            "connections": args.http_connections, "wrk_threads": args.wrk_threads,
            "pool": args.http_pool,
        }

def verdict(ratio):
    return "met" if ratio <= 1.0 else "**missed**"


AUTH_COST_TARGET = 0.20  # issue 3: authentication costs under 20 % of the endpoint's throughput


def auth_verdict(cost):
    return "met" if cost < AUTH_COST_TARGET else "**missed**"


def ratios(info):
    batch, single = info["batch"], info["single"]
    r = {"batch": batch["pgfolio"]["median_ms"] / batch["plain"]["median_ms"]}
    for baseline in ("document", "rows"):
        for p in ("p50", "p95"):
            r[f"{baseline} {p}"] = single["pgfolio"][f"{p}_ms"] / single[baseline][f"{p}_ms"]
    return r


def write_results(path, command, info):
    m, sizes, batch, single = info["machine"], info["sizes"], info["batch"], info["single"]
    r = ratios(info)
    runs = lambda name: ", ".join(f"{t:.0f}" for t in batch[name]["runs_ms"])
    single_row = lambda baseline, p, label: (
        f"| {label} | {single['pgfolio'][p + '_ms']:.3f} ms | "
        f"{single[baseline][p + '_ms']:.3f} ms | {r[baseline + ' ' + p]:.2f} | "
        f"{verdict(r[baseline + ' ' + p])} |")
    text = f"""# Benchmark results

Written by `{command}` (scripts/bench.sh → bench/bench.py) on {info["date"]}; rerun it to refresh.
One run measures all parts on the same machine: valuation (issue 2, below),
[authentication (issue 3)](#authentication-issue-3) and [the ledger (issue 4)](#ledger-issue-4).

Targets (issue 2): batch valuation at least as fast as the best plain SQL computing the same
totals, and single-portfolio valuation no slower than plain SQL computing the same numbers
(time ratio pgfolio / plain ≤ 1.0).

| | pgfolio | plain SQL | ratio | target ≤ 1.0 |
|---|---:|---:|---:|---|
| batch `portfolio_values()`, all portfolios, median of {len(batch["pgfolio"]["runs_ms"])} | {batch["pgfolio"]["median_ms"]:.0f} ms | {batch["plain"]["median_ms"]:.0f} ms | {r["batch"]:.2f} | {verdict(r["batch"])} |
{single_row("document", "p50", "single `portfolio_valuation(id)`, 50 holdings, vs the same document, p50")}
{single_row("document", "p95", "… p95")}
{single_row("rows", "p50", "single, vs the same numbers as rows (no document), p50")}
{single_row("rows", "p95", "… p95")}

## Machine and server

- CPU: {m["cpu"]}, {m["cores"]} cores; RAM {m["ram"]}; {m["os"]}
- Load average when the run ended: {m["load"]}. The machine is shared with other work, so
  single runs vary; the medians and the alternation of the sides absorb most of it.
- {info["server_version"]}
- Cluster created by the run (scripts/cluster.sh, C.UTF-8), with `shared_buffers = 1GB` and
  `work_mem = 256MB` so that the data stays cached and the plain SQL's hash aggregate never
  spills; everything else default (parallel query on, JIT on with default thresholds). All
  connections over TCP to 127.0.0.1, as the superuser (row-level security does not apply).

## Data (bench/data.sql, set-based, fixed random seed)

- {sizes["portfolios"]} portfolios ({sizes["base_currencies"]}) and {sizes["holdings"]} holdings:
  10 per portfolio, plus one portfolio of {sizes["single_holdings"]} for the latency test.
- {sizes["assets"]} assets, {sizes["assets_usd"]} of them quoted in USD; {sizes["fx_rates"]} FX rates stored (USD→INR,
  JPY→INR, USD→JPY), INR→USD and INR→JPY used through their inverses.
- Database size {sizes["database_size"]}.
- Quantities have 4 decimals and prices 2, so exact products have up to 6 decimals and some
  land exactly on a half at the minor unit: the half-even rule decides real values.

## What is compared

Both sides are checked to give identical answers before anything is timed:

- batch: the rows of all {info["batch_checked"]} portfolios, every column compared as text (so
  scales count too);
- single: the jsonb document, and the numbers of the rows form, for {info["single_checked"]}
  portfolios: the 50-holding one, 100 per base currency, and up to 50 where a holding's value
  or cost basis is an exact half at the minor unit with an even last digit (where half-even
  and half-up disagree).

- **Batch**: `SELECT * FROM pgfolio.portfolio_values()` (bench/batch_pgfolio.sql) against
  bench/batch_plain.sql, the fastest plain SQL we found for the same rows: exact numeric
  products, half-even rounding spelled out (PostgreSQL's `round()` sends ties away from zero:
  with it, {info["half_up_differences"]} portfolios would get a different total), FX inverses computed
  the way pgfolio does.
  Wall time at the client for the whole result ({batch["pgfolio"]["rows"]} rows) through
  psycopg2, runs alternating, after one warm-up each. Runs in ms:
  - pgfolio {runs("pgfolio")}
  - plain {runs("plain")}
- **Single**: `SELECT pgfolio.portfolio_valuation(:id)` (bench/single_pgfolio.sql) against the
  two statements of bench/single_plain.sql: *document* builds the same jsonb (holdings with
  value, cost basis, PnL and percent; totals; allocation per layer; oldest price time);
  *rows* computes the same numbers but returns them as plain rows, one per holding, sparing
  itself the document. pgbench, one client, prepared statements (`-M prepared`),
  {info["single_rounds"]} alternating rounds of {info["single_seconds"]} s per side; the latency of every call from
  pgbench's per-transaction log.

  | | calls | mean latency |
  |---|---:|---:|
  | pgfolio | {single["pgfolio"]["calls"]} | {single["pgfolio"]["mean_ms"]:.3f} ms |
  | plain document | {single["document"]["calls"]} | {single["document"]["mean_ms"]:.3f} ms |
  | plain rows | {single["rows"]["calls"]} | {single["rows"]["mean_ms"]:.3f} ms |

## Notes

{info["notes"]}
{auth_section(info)}
{ledger_bench.ledger_section(info, info["machine"], info["date"], info["command"],
                             ledger_bench.NOTES)}"""
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path}")


def auth_section(info):
    a, m = info["auth"], info["machine"]
    t = a["throughput"]
    login_row = lambda label, ms: (f"| {label} | {ms['p50']:.1f} ms | {ms['p95']:.1f} ms | "
                                   f"{ms['mean']:.1f} ms |")
    memory, iterations, parallelism = (int(v.split("=")[1]) for v in a["argon2"].split(","))
    rounds = lambda side: ", ".join(f"{r:.0f}" for r in t[side]["rounds_rps"])
    return f"""
## Authentication (issue 3)

Same run as above ({info["date"]}, `{info["command"]}`), same machine ({m["cpu"]},
{m["cores"]} cores, {m["ram"]}; load average at the end {m["load"]}) and cluster. Target
(issue 3): authentication costs under 20 % of a cheap authenticated endpoint's throughput,
where cost = 1 − (requests/s with authentication) / (requests/s without).

| `GET {AUTH_ROUTE}`, {a["rounds"]} alternating rounds of {a["seconds"]} s per side | with authentication | without | ratio | cost | target < 20 % |
|---|---:|---:|---:|---:|---|
| requests/s | {t["auth"]["rps"]:.0f} | {t["noauth"]["rps"]:.0f} | {a["ratio"]:.3f} | {a["cost"] * 100:.1f} % | {auth_verdict(a["cost"])} |
| requests, all answered 200 | {t["auth"]["requests"]} | {t["noauth"]["requests"]} | | | |

| `POST /api/v1/auth/login`, {a["logins"]} sequential calls | p50 | p95 | mean |
|---|---:|---:|---:|
{login_row("right password: 200 and tokens", a["login_ms"])}
{login_row("wrong password: 401", a["wrong_ms"])}
{login_row("unknown email, checked against the dummy hash: the same 401", a["unknown_ms"])}

Argon2id parameters in effect, read from the stored hash: m = {memory} KiB
({memory / 1024:g} MiB), t = {iterations}, p = {parallelism}.

### How it is measured

- Two `build/pgfolio-http` of this checkout on the cluster above, connecting as
  `pgfolio_http` (member of `pgfolio_api`, so row-level security applies), each with
  {a["pool"]} pooled connections and {a["pool"] + 2} threads, secrets made for the run, and
  rate limits raised to {int(UNLIMITED_PER_MINUTE):,} a minute so that no answer is a 429:
  - *with authentication*: `Authorization: Bearer <access token>` (HS512 JWT from a login).
    pgfolio-http verifies the token (algorithm, signature, every claim); in the request's
    transaction `pgfolio.authenticate(user, session, client)` checks that the session is
    live and the user active and sets the acting user; then `profile_get()`.
  - *without*: the same binary with `PGFOLIO_BENCHMARK_ONLY_ACT_AS=<user>,<session>` (the
    same user and session), no header: no token check, and one prepared `set_config` of the
    acting user and session instead of `authenticate`; then the same `profile_get()`.
    Both answers were checked to be the same profile before timing.
- The user is registered through the API. A login is a lookup transaction, one Argon2id
  verification in pgfolio-http, then a transaction that starts the session (or records
  the failure); timed at the client over one keep-alive connection after 3 warm-up logins.
  The two refusals should take the same time (the issue's timing rule); a successful login
  does a little more SQL (session, refresh token, audit row).
- Throughput: wrk ({a["wrk_threads"]} threads, {a["connections"]} keep-alive connections)
  over 127.0.0.1, a 2 s warm-up per side, then the rounds, alternating which side goes
  first. Every response is checked: wrk's socket errors, timeouts and non-2xx count, and the
  server's own count by status (`/metrics`) before and after each round; a round with
  anything but 200 fails the run. Requests/s per round:
  - with authentication: {rounds("auth")}
  - without: {rounds("noauth")}
  - the cost within each round: {", ".join(f"{c * 100:.1f} %" for c in a["round_costs"])}
- wrk, pgfolio-http and PostgreSQL share the machine's {m["cores"]} cores, so these are
  figures of the whole stack on one machine, not of pgfolio-http alone.

### Notes

{AUTH_NOTES}"""


AUTH_NOTES = """\
- The target is met, but not by much: the other runs of this part made while building it
  (2026-11-22, the same code) gave costs from 14.7 to 22.2 %. The high ones were disturbed
  by other work on the shared 2 cores, which shows as rounds that disagree with each other
  (the cost within each round, above). Authentication costs between a sixth and a fifth of
  this endpoint's throughput; the change proposed below brings it to about an eighth.
- Only throughput is reported for this part: with 2 cores shared by wrk, the server and
  PostgreSQL, wrk's own latency figures measure scheduling more than the requests.
- Both sides pay for `profile_get()`'s own check: it acts through `acting_user()`, which
  requires the session named by `pgfolio.session_id` to be live. What differs is only the
  token check in pgfolio-http and `authenticate()` in place of two `set_config` calls.
- Where authentication's cost goes (profiled on this machine on 2026-11-22, before this
  run: CPU time per request of each process while wrk ran one side, perf over the whole
  stack, and pgbench on each side's transaction, one client, prepared): with authentication
  a request took ~50 µs more CPU in pgfolio-http (base64url, HMAC-SHA512 and the claims'
  JSON, the `client` object, a request ~450 bytes longer) and ~200–240 µs more in
  PostgreSQL. The transaction `BEGIN; SET LOCAL statement_timeout; SELECT authenticate(…);
  COMMIT` took 0.30–0.37 ms against 0.12–0.14 ms with the two `set_config` calls;
  `profile_get()` itself ~0.68 ms.
- The profile above was taken while `session_is_live(session, user)` was a `LANGUAGE sql`
  function whose body is an `EXISTS` sub-select: PostgreSQL inlines a scalar SQL function
  only when its body has no sub-select, so each call went through `fmgr_sql`, which in
  PostgreSQL 15 parses and plans the body again every time (~0.16 ms a call; an
  authenticated request makes two, the other side one). It is PL/pgSQL now
  (sql/40-security.sql), which keeps the plan per connection: this run's figures are with
  that change, and both sides got ~50 % faster. `profile_json()` is parsed per call for the
  same kind of reason (its `SET search_path` prevents inlining); that is the endpoint's
  cost on both sides, and making the endpoint cheaper would make authentication's share
  larger, not smaller.
- What is left of `authenticate()` is a `SECURITY DEFINER` PL/pgSQL call with `SET
  search_path` (a configuration save and restore per call), the users lookup and three
  `set_config` calls; in pgfolio-http the token check is a few tens of microseconds.
- Login: the SQL around the Argon2id verification is two short transactions (well under a
  millisecond each; a few tenths more when the session is started), so a login's latency is
  essentially one Argon2id verification at the parameters above on one core of this
  machine.
"""


NOTES = """\
- The plain SQL is not held back: the shapes tried for the batch and found slower on this
  machine were the product repeated inside the rounding expression (it lets PostgreSQL
  aggregate in parallel, but computes each product two or three times), a single GROUP BY over
  portfolios left-joined to holdings, and price × rate materialised per (asset, currency) (the
  planner then misjudges the join). It also does less than pgfolio: a holding without a price
  silently drops out of its inner join, where pgfolio raises MISSING_PRICE.
- pgfolio's exact products: quantity × price × rate is formed exactly (up to 72 decimals,
  `Decimal::product_rounded`) and rounded once, half-even, to the minor unit, so it agrees
  with exact numeric arithmetic whatever the operands' scales (docs/money.md).
- How pgfolio got here. The first version of the single valuation parsed and planned its
  three SPI queries on every call and printed JSON text for jsonb_in to parse again: 1.56 ms
  a call against 1.38 ms for the plain document and 0.86 ms for the plain rows (targets
  missed). perf on the backend showed planning (~20 %), jsonb_in (~18 %) and building the JSON
  text (~15 %). Now its queries are SavedQuery plans (extension/pg/spi.hpp: prepared once per
  backend, revalidated by PostgreSQL's plan cache when the schema, role or search_path
  changes), and the document is pushed straight into PostgreSQL's jsonb builder from the same
  description that writes the text form (write_valuation and a JsonSink). The batch
  valuation joins nothing in SQL: it reads prices and FX rates into hash maps, streams
  portfolios and holdings once each through cursors, resolves each currency pair's rate once,
  and finds each holding's portfolio in an open-addressing table (a std::unordered_map's
  cache misses had been its largest cost, ~17 %).
- Left on the table: every numeric still crosses into C++ as text (numeric_out, then
  Decimal::parse), about 15 % of the batch; a binary numeric → Decimal conversion in
  extension/pg/convert.cpp would remove most of it. SPI also copies each fetched row
  (spi_printtup, ~7 %).
"""


PARTS = ("valuation", "auth", "ledger")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True, help="libpq DSN of the cluster, as superuser")
    parser.add_argument("--command", default="make bench", help="how the run was started")
    parser.add_argument("--results", help="write the results to this Markdown file "
                                          "(needs all parts)")
    parser.add_argument("--parts", default=",".join(PARTS),
                        help="comma-separated parts to run: valuation (issue 2), auth (issue 3), "
                             "ledger (issue 4)")
    parser.add_argument("--batch-runs", type=int, default=7)
    parser.add_argument("--single-seconds", type=int, default=5)
    parser.add_argument("--single-rounds", type=int, default=4)
    parser.add_argument("--http-binary", help="pgfolio-http to run (auth part)")
    parser.add_argument("--http-database-url", help="the database URL the servers use")
    parser.add_argument("--http-ports", type=lambda v: [int(p) for p in v.split(",")],
                        help="two free ports: the server with authentication, the one without")
    parser.add_argument("--http-pool", type=int, default=8, help="pooled connections per server")
    parser.add_argument("--http-connections", type=int, default=8, help="wrk's connections")
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--http-seconds", type=int, default=3)
    parser.add_argument("--http-rounds", type=int, default=8)
    parser.add_argument("--logins", type=int, default=50)
    ledger = parser.add_argument_group("ledger part (bench/ledger_bench.py)")
    ledger.add_argument("--ledger-portfolios", type=int, default=1000)
    ledger.add_argument("--ledger-entries", type=int, default=1000, help="entries per portfolio")
    ledger.add_argument("--ledger-verify-runs", type=int, default=3)
    ledger.add_argument("--ledger-baseline-portfolios", type=int, default=50,
                        help="chains the PL/pgSQL verifier is timed on")
    ledger.add_argument("--ledger-baseline-runs", type=int, default=3)
    ledger.add_argument("--sha256-binary", default=os.path.join(os.path.dirname(BENCH), "build",
                                                                "sha256_throughput"))
    ledger.add_argument("--sha256-rounds", type=int, default=5)
    ledger.add_argument("--ledger-append-clients", type=int, default=8)
    ledger.add_argument("--ledger-append-threads", type=int, default=2)
    ledger.add_argument("--ledger-append-seconds", type=int, default=5)
    ledger.add_argument("--ledger-append-rounds", type=int, default=6)
    args = parser.parse_args()
    parts = args.parts.split(",")
    if not set(parts) <= set(PARTS):
        parser.error("--parts: any of " + ", ".join(PARTS))
    if args.results and set(parts) != set(PARTS):
        parser.error("--results rewrites the whole file: run all parts")
    if "auth" in parts and not (args.http_binary and args.http_database_url and args.http_ports
                                and len(args.http_ports) == 2):
        parser.error("the auth part needs --http-binary, --http-database-url, --http-ports A,B")

    info = {"date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    if "valuation" in parts:
        bench = Bench(args.dsn, args.batch_runs, args.single_seconds, args.single_rounds)
        info.update({
            "server_version": bench.scalar("SELECT version()"),
            "sizes": bench.data_sizes(),
            "single_seconds": args.single_seconds,
            "single_rounds": args.single_rounds,
            "notes": NOTES,
        })
        info["batch_checked"] = bench.verify_batch()
        info["half_up_differences"] = bench.half_up_differences
        info["single_checked"] = bench.verify_single()
        if bench.failures:
            print("the baselines do not compute what pgfolio computes; nothing timed",
                  file=sys.stderr)
            return 1
        info["batch"] = bench.time_batch()
        info["single"] = bench.time_single()
        for name, ratio in ratios(info).items():
            print(f"ratio {name}: {ratio:.2f} ({verdict(ratio).strip('*')})")
    if "auth" in parts:
        auth = AuthBench(args, args.dsn).run()
        if auth is None:
            print("the authentication benchmark failed (see above); no result", file=sys.stderr)
            return 1
        info["auth"] = auth
        login, t = auth["login_ms"], auth["throughput"]
        print(f"login: p50 {login['p50']:.1f} ms, p95 {login['p95']:.1f} ms (Argon2id "
              f"{auth['argon2']})")
        print(f"{AUTH_ROUTE}: {t['auth']['rps']:.0f} req/s with authentication, "
              f"{t['noauth']['rps']:.0f} without: ratio {auth['ratio']:.3f}, cost "
              f"{auth['cost'] * 100:.1f} % ({auth_verdict(auth['cost']).strip('*')})")
    if "ledger" in parts:
        checks = Checks()
        info["ledger"] = ledger_bench.LedgerBench(args, args.dsn, checks).run()
        if info["ledger"] is None:
            print("the ledger benchmark failed (see above); no result", file=sys.stderr)
            return 1
        print(ledger_bench.summary(info["ledger"]))
    info["machine"] = machine()
    info["command"] = args.command
    if args.results:
        write_results(args.results, args.command, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
