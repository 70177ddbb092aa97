"""The ledger part of pgfolio's benchmark (issue 4), run by bench.py (--parts …,ledger).

In one run, on the cluster scripts/bench.sh made:
  1. data: bench/ledger_data.sql writes PORTFOLIOS × ENTRIES ledger entries with valid chains
     (default 1000 × 1000); pgcrypto goes into schema bench with the PL/pgSQL verifier
     (bench/ledger_verify_plpgsql.sql) and the append functions (bench/ledger_append.sql);
  2. checks that the PL/pgSQL verifier reads the format as pgfolio does before anything is
     timed: JSON string escaping of every control character and a few others, JCS of awkward
     JSON, and both verifiers' answers on an awkward chain appended by ledger_append and on
     chains tampered with in a dozen ways (one transaction, rolled back);
  3. verification, alternating runs: pgfolio.ledger_verify() against the plain read of every
     row (COPY of the same columns in the same order to /dev/null) over all entries, and
     against the PL/pgSQL verifier on the first BASELINE portfolios (the baseline is ~10×
     slower: all of them would take most of the benchmark's time); every run's answer is
     checked (every chain ok, every entry counted, both verifiers the same rows);
  4. SHA-256: the canonical bytes of every entry exported (binary COPY) and hashed by
     build/sha256_throughput, entry by entry with pgfolio::sha256 and as one stream;
  5. appends: pgbench, 8 clients, a minimal mutation (bench.ledger_add_funds) with hashing on
     half the portfolios and without on the other half, alternating rounds, with durable
     commits and with synchronous_commit = off; then the chains appended with hashing still
     verify.
LedgerBench.run() returns the figures (or None after a failed check, printed);
ledger_section() renders them for bench/RESULTS.md.
"""
import itertools
import json
import os
import re
import statistics
import subprocess
import time

import psycopg2

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
PGBENCH = "/usr/lib/postgresql/15/bin/pgbench"
PSQL = "/usr/bin/psql"

# The columns pgfolio.ledger_verify() reads, in its order (extension/pg/ledger_functions.cpp):
# the plain read selects exactly these, so both fetch the same values through the same plan.
ENTRY_COLUMNS = ("portfolio_id, seq, entry_type, asset_id, quantity, amount, boundary, loan_id, "
                 "protection_id, message, metadata, snapshot_before, snapshot_after, created_at, "
                 "prev_hash, entry_hash")
PLAIN_READ = (f"COPY (SELECT {ENTRY_COLUMNS} FROM pgfolio.ledger ORDER BY portfolio_id, seq) "
              "TO '/dev/null'")
PGFOLIO_ALL = "SELECT portfolio_id, entries_checked, ok, first_bad_seq, problem " \
              "FROM pgfolio.ledger_verify()"
SUBSET = ("SELECT v.portfolio_id, v.entries_checked, v.ok, v.first_bad_seq, v.problem "
          "FROM generate_series(1, %d) n CROSS JOIN LATERAL {}(bench.ledger_portfolio_id(n)) v "
          "ORDER BY n")
VERIFIERS = {"pgfolio": "pgfolio.ledger_verify", "plpgsql": "bench.ledger_verify_plpgsql"}
APPEND_SCRIPT = "\\set n random({low}, {high})\nSELECT bench.ledger_add_funds(:n, {hashed});\n"
APPEND_MODES = {"durable": "", "async": "-c synchronous_commit=off"}
HASHING_COST_TARGET = 0.10  # issue 4: hashing costs under 10 % of the append's throughput
BASELINE_TARGET = 10.0      # at least 10 × the PL/pgSQL verifier's entries/s
PLAIN_TARGET = 2.0          # at most 2 × the plain read's time


class Failed(Exception):
    """A check failed (printed); the part has no result."""


class LedgerBench:
    def __init__(self, args, dsn, checks):
        self.args, self.dsn, self.checks = args, dsn, checks
        self.conninfo = dict(kv.split("=", 1) for kv in dsn.split())
        self.conn = psycopg2.connect(dsn)
        self.conn.autocommit = True
        # ledger_verify() reads through an SPI cursor, which PostgreSQL never runs in
        # parallel; the plain read gets the same serial plan (sizes() records it).
        with self.conn.cursor() as cur:
            cur.execute("SET max_parallel_workers_per_gather = 0")
        self.portfolios, self.entries = args.ledger_portfolios, args.ledger_entries

    def check(self, ok, message):
        self.checks.check(ok, "ledger: " + message)
        if not ok:
            raise Failed()

    def rows(self, sql, args=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()

    def scalar(self, sql, args=None):
        return self.rows(sql, args)[0][0]

    def run(self):
        try:
            info = {"portfolios": self.portfolios, "entries_per_portfolio": self.entries}
            info["setup_seconds"] = self.setup()
            info["sizes"] = self.sizes()
            info["checked"] = self.check_baseline()
            info["verify"] = self.time_verification()
            info["sha256"] = self.sha256()
            info["append"] = self.time_appends()
            return info
        except Failed:
            return None
        finally:
            self.conn.close()

    # ---- 1. data ------------------------------------------------------------------------------

    def psql_file(self, name, **variables):
        c = self.conninfo
        command = [PSQL, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", c["host"], "-p", c["port"],
                   "-U", c["user"], "-d", c["dbname"], "-f", os.path.join(BENCH, name)]
        for key, value in variables.items():
            command += ["-v", f"{key}={value}"]
        done = subprocess.run(command, capture_output=True, text=True)
        self.check(done.returncode == 0, f"psql -f bench/{name}"
                   + (f": {done.stderr.strip()[-500:]}" if done.returncode else ""))

    def setup(self):
        self.check(self.scalar("SELECT pg_encoding_to_char(encoding) FROM pg_database "
                               "WHERE datname = current_database()") == "UTF8",
                   "the database is UTF-8 (the baseline hashes its text as UTF-8)")
        self.check(self.scalar("SELECT count(*) FROM pgfolio.ledger") == 0,
                   "the ledger is empty before the benchmark's data")
        print(f"ledger: generating {self.portfolios} × {self.entries} entries", flush=True)
        start = time.monotonic()
        self.psql_file("ledger_data.sql", ledger_portfolios=self.portfolios,
                       ledger_entries=self.entries)
        seconds = time.monotonic() - start
        print(f"ledger: data ready in {seconds:.0f} s", flush=True)
        with self.conn.cursor() as cur:
            cur.execute("CREATE EXTENSION pgcrypto SCHEMA bench")
        self.psql_file("ledger_verify_plpgsql.sql")
        self.psql_file("ledger_append.sql")
        return seconds

    def sizes(self):
        return {
            "entries": self.scalar("SELECT count(*) FROM pgfolio.ledger"),
            "chains": self.scalar("SELECT count(DISTINCT portfolio_id) FROM pgfolio.ledger"),
            "checkpoints": self.scalar("SELECT count(*) FROM pgfolio.ledger_checkpoints"),
            "table": self.scalar("SELECT pg_size_pretty(pg_table_size('pgfolio.ledger'))"),
            "indexes": self.scalar("SELECT pg_size_pretty(pg_indexes_size('pgfolio.ledger'))"),
            "shared_buffers": self.scalar("SHOW shared_buffers"),
            "beyond_shared_buffers": self.scalar(
                "SELECT pg_table_size('pgfolio.ledger') > "
                "pg_size_bytes(current_setting('shared_buffers'))"),
            "entry_types": ", ".join(f"{t} {n}" for t, n in self.rows(
                "SELECT entry_type, count(*) FROM pgfolio.ledger GROUP BY 1 ORDER BY 2 DESC")),
            "plan": " ← ".join(line.strip().lstrip("-> ") for line in itertools.takewhile(
                lambda line: not line.startswith("JIT:"), (r[0] for r in self.rows(
                    f"EXPLAIN (COSTS OFF) SELECT {ENTRY_COLUMNS} FROM pgfolio.ledger "
                    "ORDER BY portfolio_id, seq")))),
        }

    # ---- 2. the baseline computes what pgfolio computes ---------------------------------------

    def check_baseline(self):
        self.check(self.scalar("SELECT count(*) FROM pgfolio.ledger_checkpoints") == 0,
                   "the data has no checkpoints (the baseline checks none)")
        # Strings: to_json(text) (keys, and the baseline's members) and jsonb's text of a
        # string value against pgfolio's RFC 8785 serialisation, for every control character,
        # all of ASCII and some characters beyond.
        total, keys, values = self.rows("""
            SELECT count(*),
                   count(*) FILTER (WHERE to_json(s)::text = pgfolio.canonical_json(to_jsonb(s))),
                   count(*) FILTER (WHERE bench.jcs(to_jsonb(s)) = pgfolio.canonical_json(to_jsonb(s)))
            FROM (SELECT chr(c) AS s FROM generate_series(1, 127) c
                  UNION ALL
                  SELECT unnest(ARRAY[chr(128), chr(233), chr(8232), chr(8233), chr(8377),
                                      chr(65279), chr(65533), chr(128512),
                                      'a"b\\c' || chr(10) || chr(31) || chr(127), ''])) t""")[0]
        self.check(total == keys == values,
                   f"JSON string escaping is RFC 8785's for {total} strings "
                   f"({total - keys} differ as text, {total - values} as jsonb)")
        documents = [
            '{}', '[]', '"x"', '0', '-9007199254740992', '9007199254740992', 'true', 'null',
            '{"b": 1, "a": [true, false, null, -0, 12, "x", [], {}], "aa": {"": {"z": []}}}',
            '{"z\\"": 1, "é": 2, "\\u0001": 3, "A": 4, "a": 5, "Ω": {"é1": 1, "e": 2}}',
            '[[[]], {"k": [1, {"j": "v\\n\\t\\u001f"}]}, "₹😀"]',
            '{"cash": "1000.5", "holdings": [{"assetId": "GOLD", "quantity": "2.5", '
            '"averageCost": "6100", "frozenQuantity": "0"}]}',
        ]
        differing = [d for d in documents if self.scalar(
            "SELECT bench.jcs(%s::jsonb) IS DISTINCT FROM pgfolio.canonical_json(%s::jsonb)",
            (d, d))]
        self.check(not differing, f"bench.jcs equals pgfolio.canonical_json on {len(documents)} "
                                  f"documents (differ: {differing})")
        refused = ['{"a": 1.5}', '[9007199254740993]', '{"a": {"b": [1e400]}}', '[1.0]']
        accepted = [d for d in refused if self.scalar("SELECT bench.jcs(%s::jsonb)", (d,))]
        self.check(not accepted, f"bench.jcs refuses the numbers §1.4 refuses ({accepted})")
        return self.check_chains()

    def check_chains(self):
        """Both verifiers on an awkward chain and on tampered ones, against the answers
        expected; in one transaction, rolled back."""
        e = self.entries
        pick = lambda fraction: max(2, min(e - 1, int(e * fraction)))
        # (n, what is done, SQL with {p} the portfolio id and {s} the seq, seq, expected)
        cases = [
            (1, "an amount changed", "UPDATE pgfolio.ledger SET amount = coalesce(amount, 0) + 1 "
             "WHERE portfolio_id = {p} AND seq = {s}", pick(0.5), (pick(0.5) - 1, "hash mismatch")),
            (2, "a middle entry deleted", "DELETE FROM pgfolio.ledger WHERE portfolio_id = {p} "
             "AND seq = {s}", pick(0.3), (pick(0.3) - 1, "gap")),
            (3, "a prevHash pointing elsewhere", "UPDATE pgfolio.ledger SET prev_hash = "
             "(SELECT entry_hash FROM pgfolio.ledger WHERE portfolio_id = {p} AND seq = 1) "
             "WHERE portfolio_id = {p} AND seq = {s}", pick(0.7), (pick(0.7) - 1, "link mismatch")),
            (4, "a NaN quantity", "UPDATE pgfolio.ledger SET quantity = 'NaN' "
             "WHERE portfolio_id = {p} AND seq = {s}", pick(0.2), (pick(0.2) - 1, "malformed entry")),
            (5, "a fraction in metadata", "UPDATE pgfolio.ledger SET metadata = metadata || "
             "'{{\"rate\": 1.5}}' WHERE portfolio_id = {p} AND seq = {s}", pick(0.1),
             (pick(0.1) - 1, "malformed entry")),
            (6, "a snapshot's cash changed", "UPDATE pgfolio.ledger SET snapshot_after = "
             "jsonb_set(snapshot_after, '{{cash}}', '\"1\"') WHERE portfolio_id = {p} AND seq = {s}",
             e - 1, (e - 2, "hash mismatch")),
            (7, "a control character added to the first message", "UPDATE pgfolio.ledger SET "
             "message = message || chr(1) WHERE portfolio_id = {p} AND seq = {s}", 1,
             (0, "hash mismatch")),
            (8, "the newest entry deleted (no checkpoint to notice)", "DELETE FROM pgfolio.ledger "
             "WHERE portfolio_id = {p} AND seq = {s}", e, (e - 1, None)),
            (9, "a timestamp beyond year 9999", "UPDATE pgfolio.ledger SET created_at = "
             "'10000-01-01 00:00:00+00' WHERE portfolio_id = {p} AND seq = {s}", pick(0.05),
             (pick(0.05) - 1, "malformed entry")),
            (10, "a stored hash replaced", "UPDATE pgfolio.ledger SET entry_hash = "
             "decode(repeat('ab', 32), 'hex') WHERE portfolio_id = {p} AND seq = {s}", pick(0.01),
             (pick(0.01) - 1, "hash mismatch")),
            (11, "an entry moved to another seq", "UPDATE pgfolio.ledger SET seq = seq + {e} "
             "WHERE portfolio_id = {p} AND seq = {s}", pick(0.4), (pick(0.4) - 1, "gap")),
            (12, "a quantity's scale changed (the same decimal: still verifies)",
             "UPDATE pgfolio.ledger SET quantity = quantity::numeric(40,20) "
             "WHERE portfolio_id = {p} AND quantity IS NOT NULL", None, (e, None)),
        ]
        awkward = "b1ed9e70-0000-4000-8000-00000000a001"
        compared = []
        try:
            with self.conn.cursor() as cur:
                cur.execute("BEGIN")
                # Tampering as the tamper tests do: a superuser with triggers disabled.
                cur.execute("SET LOCAL session_replication_role = replica")
                unchanged = []
                for n, _, sql, seq, _ in cases:
                    cur.execute("SELECT bench.ledger_portfolio_id(%s)::text", (n,))
                    portfolio = cur.fetchone()[0]
                    cur.execute(sql.format(p=f"'{portfolio}'::uuid", s=seq, e=e))
                    if cur.rowcount < 1:
                        unchanged.append(n)
                self.check(not unchanged, f"every tampering changed a row ({unchanged} did not)")
                awkward_entries = self.append_awkward(cur, awkward)
                expected = {n: result for n, _, _, _, result in cases}
                for n, what, _, _, _ in cases + [(0, "awkward entries from ledger_append", None,
                                                  None, None)]:
                    answers = {}
                    for name, function in VERIFIERS.items():
                        portfolio = (f"'{awkward}'::uuid" if n == 0
                                     else f"bench.ledger_portfolio_id({n})")
                        cur.execute(f"SELECT entries_checked, ok, first_bad_seq, problem "
                                    f"FROM {function}({portfolio})")
                        answers[name] = cur.fetchall()
                    checked, problem = expected.get(n, (awkward_entries, None))
                    want = [(checked, problem is None, None if problem is None else checked + 1,
                             problem)]
                    self.check(answers["pgfolio"] == answers["plpgsql"] == want,
                               f"{what}: both verifiers answer {want[0]} "
                               f"(pgfolio {answers['pgfolio']}, PL/pgSQL {answers['plpgsql']})")
                    compared.append(what)
        finally:
            with self.conn.cursor() as cur:
                cur.execute("ROLLBACK")
        return compared

    def append_awkward(self, cur, portfolio):
        """A chain whose entries exercise what the benchmark's data does not: escapes, non-BMP
        characters, empty and nested JSON, extreme integers, null snapshots, ids, scales."""
        cur.execute("INSERT INTO pgfolio.portfolios (id, owner_id, name) "
                    "VALUES (%s, md5('bench-ledger-user')::uuid, 'Awkward')", (portfolio,))
        appends = [
            "'PORTFOLIO_CREATED', NULL, pgfolio.ledger_snapshot(%(p)s), message => 'a\"b\\c' || "
            "chr(10) || chr(9) || chr(1) || chr(31) || chr(127) || chr(8232) || '₹😀é'",
            "'TRADE_BUY', pgfolio.ledger_snapshot(%(p)s), pgfolio.ledger_snapshot(%(p)s), "
            "asset_id => 'GOLD24K', quantity => 2.50000, amount => 0.000, boundary => 'STRESS', "
            "loan_id => 'c0ffee00-0000-4000-8000-00000000000a', "
            "protection_id => 'c0ffee00-0000-4000-8000-00000000000b', "
            "metadata => '{\"nested\": {\"b\": [1, -2, 9007199254740992, -9007199254740992, true, "
            "false, null, \"s\"], \"a\": {}}, \"\": \"empty key\", \"é\": \"x\", \"Z\": [], "
            "\"k\\u0001\": \"\\\"\"}'",
            "'WITHDRAW_FUNDS', NULL, NULL, amount => -12.340, quantity => 1E3",
            "'ADD_FUNDS', '{}', '{\"cash\": \"0\", \"holdings\": []}', "
            "amount => 123456789012345678901234567890.123456789000, message => repeat('x', 500)",
        ]
        for arguments in appends:
            cur.execute(f"SELECT pgfolio.ledger_append(%(p)s, {arguments})", {"p": portfolio})
        return len(appends)

    # ---- 3. verification -----------------------------------------------------------------------

    def timed(self, sql):
        with self.conn.cursor() as cur:
            start = time.perf_counter()
            cur.execute(sql)
            rows = cur.fetchall() if cur.description else cur.rowcount
            return time.perf_counter() - start, rows

    def time_verification(self):
        e, n = self.entries, self.portfolios
        everything = sorted((str(p), e, True, None, None) for (p,) in self.rows(
            "SELECT bench.ledger_portfolio_id(n)::text FROM generate_series(1, %s) n", (n,)))
        runs = self.args.ledger_verify_runs
        full = {"pgfolio": PGFOLIO_ALL, "plain": PLAIN_READ}
        times = {name: [] for name in full}
        # A warm-up of the plain read (the rows into the caches), then alternating runs.
        self.check(self.timed(PLAIN_READ)[1] == n * e, f"the plain read returns {n * e} rows")
        for run in range(runs):
            order = list(full) if run % 2 == 0 else list(reversed(full))
            for name in order:
                seconds, rows = self.timed(full[name])
                if name == "pgfolio":
                    self.check(sorted((str(r[0]),) + tuple(r[1:]) for r in rows) == everything,
                               f"run {run + 1}: ledger_verify() finds all {n} chains of {e} "
                               "entries ok")
                else:
                    self.check(rows == n * e, f"run {run + 1}: the plain read returns {n * e} rows")
                times[name].append(seconds)
            print(f"ledger verify run {run + 1}/{runs}: " + ", ".join(
                f"{k} {times[k][-1]:.2f} s" for k in full), flush=True)

        # The PL/pgSQL baseline and pgfolio on the same first portfolios, one call each.
        k = min(self.args.ledger_baseline_portfolios, n)
        subset = {name: SUBSET.format(function) % k for name, function in VERIFIERS.items()}
        subset_times = {name: [] for name in subset}
        for run in range(self.args.ledger_baseline_runs):
            order = list(subset) if run % 2 == 0 else list(reversed(subset))
            answers = {}
            for name in order:
                seconds, rows = self.timed(subset[name])
                subset_times[name].append(seconds)
                answers[name] = [(str(r[0]),) + tuple(r[1:]) for r in rows]
            self.check(answers["pgfolio"] == answers["plpgsql"]
                       and all(r[1:] == (e, True, None, None) for r in answers["pgfolio"])
                       and len(answers["pgfolio"]) == k,
                       f"baseline run {run + 1}: both verifiers find the first {k} chains ok "
                       "with the same rows")
            print(f"ledger baseline run {run + 1}/{self.args.ledger_baseline_runs}: " + ", ".join(
                f"{name} {subset_times[name][-1]:.2f} s" for name in subset), flush=True)
        median = lambda ts: statistics.median(ts)
        subset_bytes = self.scalar(
            "SELECT sum(octet_length(convert_to(pgfolio.ledger_canonical_bytes(l), 'UTF8'))) "
            "FROM pgfolio.ledger l WHERE l.portfolio_id IN "
            "(SELECT bench.ledger_portfolio_id(n) FROM generate_series(1, %s) n)", (k,))
        return {
            "runs": runs, "entries": n * e,
            "full": {name: {"runs_s": ts, "median_s": median(ts)} for name, ts in times.items()},
            "subset_portfolios": k, "subset_entries": k * e, "subset_bytes": int(subset_bytes),
            "subset": {name: {"runs_s": ts, "median_s": median(ts)}
                       for name, ts in subset_times.items()},
            "baseline_runs": self.args.ledger_baseline_runs,
        }

    # ---- 4. SHA-256 ----------------------------------------------------------------------------

    def sha256(self):
        binary = self.args.sha256_binary
        self.check(os.access(binary, os.X_OK), f"{binary} is built (make cmake-build)")
        # Next to the cluster's data directory, where the server may write and we may read.
        path = self.scalar("SHOW data_directory").rstrip("/") + ".ledger-canonical.pgcopy"
        try:
            start = time.monotonic()
            with self.conn.cursor() as cur:
                cur.execute("COPY (SELECT convert_to(pgfolio.ledger_canonical_bytes(l), 'UTF8') "
                            "FROM pgfolio.ledger l ORDER BY portfolio_id, seq) "
                            f"TO '{path}' (FORMAT binary)")
            export_seconds = time.monotonic() - start
            out = subprocess.run([binary, path, str(self.args.sha256_rounds)], capture_output=True,
                                 text=True, timeout=900)
            self.check(out.returncode == 0, "sha256_throughput ran"
                       + (f": {out.stderr.strip()}" if out.returncode else ""))
            result = json.loads(out.stdout)
        finally:
            if os.path.exists(path):
                os.remove(path)
        self.check(result["records"] == self.portfolios * self.entries,
                   f"sha256_throughput hashed {result['records']} entries")
        result["export_seconds"] = export_seconds
        result["per_entry_median_s"] = statistics.median(result["per_entry_seconds"])
        result["stream_median_s"] = statistics.median(result["stream_seconds"])
        print(f"ledger sha256: {result['bytes'] / 1e6:.0f} MB in "
              f"{result['per_entry_median_s']:.3f} s entry by entry, "
              f"{result['stream_median_s']:.3f} s as one stream", flush=True)
        return result

    # ---- 5. appends ----------------------------------------------------------------------------

    def pgbench(self, script, seconds, options):
        c = self.conninfo
        env = dict(os.environ, PGOPTIONS=options)
        done = subprocess.run(
            [PGBENCH, "-n", "-M", "prepared", "-c", str(self.args.ledger_append_clients),
             "-j", str(self.args.ledger_append_threads), "-T", str(seconds),
             "-h", c["host"], "-p", c["port"], "-U", c["user"], "-f", script, c["dbname"]],
            env=env, capture_output=True, text=True, timeout=seconds + 120)
        tps = re.search(r"^tps = ([\d.]+) \(without initial connection time\)$", done.stdout,
                        re.MULTILINE)
        processed = re.search(r"^number of transactions actually processed: (\d+)", done.stdout,
                              re.MULTILINE)
        failed = re.search(r"^number of failed transactions: (\d+)", done.stdout, re.MULTILINE)
        ran = done.returncode == 0 and tps and processed and failed and failed.group(1) == "0"
        if not ran:
            self.check(False, f"pgbench {os.path.basename(script)} failed: "
                              f"{(done.stderr or done.stdout).strip()[-600:]}")
        return {"tps": float(tps.group(1)), "transactions": int(processed.group(1))}

    def time_appends(self):
        half = self.portfolios // 2
        scripts = {}
        directory = self.scalar("SHOW data_directory").rstrip("/") + ".ledger-append"
        os.makedirs(directory, exist_ok=True)
        for side, (low, high, hashed) in {"hashed": (1, half, "true"),
                                          "unhashed": (half + 1, self.portfolios, "false")}.items():
            scripts[side] = os.path.join(directory, f"{side}.sql")
            with open(scripts[side], "w") as f:
                f.write(APPEND_SCRIPT.format(low=low, high=high, hashed=hashed))
        before = self.scalar("SELECT count(*) FROM pgfolio.ledger")
        seconds, rounds = self.args.ledger_append_seconds, self.args.ledger_append_rounds
        result = {"seconds": seconds, "rounds": rounds, "clients": self.args.ledger_append_clients,
                  "threads": self.args.ledger_append_threads, "portfolios_per_side": half,
                  "modes": {}}
        try:
            for mode, options in APPEND_MODES.items():
                for side in scripts:  # warm-up, not counted
                    self.pgbench(scripts[side], 2, options)
                runs = {side: [] for side in scripts}
                for run in range(rounds):
                    order = list(scripts) if run % 2 == 0 else list(reversed(scripts))
                    for side in order:
                        runs[side].append(self.pgbench(scripts[side], seconds, options))
                    print(f"ledger append ({mode}) round {run + 1}/{rounds}: " + ", ".join(
                        f"{s} {runs[s][-1]['tps']:.0f} tps" for s in scripts), flush=True)
                tps = {side: statistics.fmean(r["tps"] for r in rs) for side, rs in runs.items()}
                result["modes"][mode] = {
                    "runs": {side: [r["tps"] for r in rs] for side, rs in runs.items()},
                    "transactions": {side: sum(r["transactions"] for r in rs)
                                     for side, rs in runs.items()},
                    "tps": tps, "cost": 1 - tps["hashed"] / tps["unhashed"],
                    "round_costs": [1 - h["tps"] / u["tps"]
                                    for h, u in zip(runs["hashed"], runs["unhashed"])],
                }
        finally:
            for script in scripts.values():
                os.remove(script)
            os.rmdir(directory)
        # Every append made an entry; the hashed side's chains still verify and the other
        # side's new entries carry the constant hash (so the twin, not ledger_append, ran).
        appended = self.rows("""
            SELECT count(*) FILTER (WHERE l.portfolio_id IN (SELECT bench.ledger_portfolio_id(n)
                                                             FROM generate_series(1, %s) n)),
                   count(*) FILTER (WHERE l.entry_hash = decode(repeat('00', 32), 'hex'))
            FROM pgfolio.ledger l WHERE l.seq > %s""", (half, self.entries))[0]
        made = sum(m["transactions"]["hashed"] + m["transactions"]["unhashed"]
                   for m in result["modes"].values())
        self.check(self.scalar("SELECT count(*) FROM pgfolio.ledger") - before >= made,
                   f"every counted append wrote an entry ({made})")
        self.check(appended[1] >= sum(m["transactions"]["unhashed"]
                                      for m in result["modes"].values()),
                   "the appends without hashing stored the constant hash")
        sample = min(half, 20)
        bad = self.scalar(f"SELECT count(*) FROM generate_series(1, {sample}) n CROSS JOIN LATERAL "
                          "pgfolio.ledger_verify(bench.ledger_portfolio_id(n)) v WHERE NOT v.ok")
        self.check(bad == 0, f"the first {sample} chains appended with hashing still verify")
        return result


def rate(entries, seconds):
    return entries / seconds


def ledger_verdict(met):
    return "met" if met else "**missed**"


def figures(info):
    """The headline numbers, shared by the console summary and RESULTS.md."""
    v, s = info["verify"], info["sha256"]
    mb = s["bytes"] / 1e6
    full, subset = v["full"], v["subset"]
    pg_full = full["pgfolio"]["median_s"]
    subset_mb = v["subset_bytes"] / 1e6
    return {
        "mb": mb,
        "pgfolio_rate": rate(v["entries"], pg_full), "pgfolio_mbs": mb / pg_full,
        "plain_rate": rate(v["entries"], full["plain"]["median_s"]),
        "plain_mbs": mb / full["plain"]["median_s"],
        "plain_ratio": pg_full / full["plain"]["median_s"],
        "subset_pgfolio_rate": rate(v["subset_entries"], subset["pgfolio"]["median_s"]),
        "subset_pgfolio_mbs": subset_mb / subset["pgfolio"]["median_s"],
        "plpgsql_rate": rate(v["subset_entries"], subset["plpgsql"]["median_s"]),
        "plpgsql_mbs": subset_mb / subset["plpgsql"]["median_s"],
        "baseline_ratio": subset["plpgsql"]["median_s"] / subset["pgfolio"]["median_s"],
        "sha_rate": rate(s["records"], s["per_entry_median_s"]),
        "sha_mbs": mb / s["per_entry_median_s"],
        "sha_stream_mbs": mb / s["stream_median_s"],
    }


def summary(info):
    f, a = figures(info), info["append"]["modes"]
    lines = [f"ledger verify: pgfolio {f['pgfolio_rate']:.0f} entries/s ({f['pgfolio_mbs']:.1f} MB/s), "
             f"plain read {f['plain_rate']:.0f} entries/s: time ratio {f['plain_ratio']:.2f} "
             f"({ledger_verdict(f['plain_ratio'] <= PLAIN_TARGET).strip('*')})",
             f"ledger verify subset: pgfolio {f['subset_pgfolio_rate']:.0f} entries/s, PL/pgSQL "
             f"{f['plpgsql_rate']:.0f} entries/s: {f['baseline_ratio']:.1f}× "
             f"({ledger_verdict(f['baseline_ratio'] >= BASELINE_TARGET).strip('*')})",
             f"ledger sha256: {f['sha_mbs']:.0f} MB/s entry by entry, {f['sha_stream_mbs']:.0f} MB/s "
             "as one stream"]
    for mode, m in a.items():
        lines.append(f"ledger append ({mode}): {m['tps']['hashed']:.0f} tps with hashing, "
                     f"{m['tps']['unhashed']:.0f} without: cost {m['cost'] * 100:.1f} % "
                     f"({ledger_verdict(m['cost'] < HASHING_COST_TARGET).strip('*')})")
    return "\n".join(lines)


def ledger_section(info, machine, date, command, notes):
    """bench/RESULTS.md's ledger section."""
    led, v, s, a = info["ledger"], info["ledger"]["verify"], info["ledger"]["sha256"], \
        info["ledger"]["append"]
    f = figures(led)
    sizes = led["sizes"]
    runs = lambda d: ", ".join(f"{t:.2f}" for t in d["runs_s"])
    durable, fast = a["modes"]["durable"], a["modes"]["async"]
    append_row = lambda label, m: (
        f"| {label} | {m['tps']['hashed']:.0f} | {m['tps']['unhashed']:.0f} | "
        f"{m['tps']['hashed'] / m['tps']['unhashed']:.3f} | {m['cost'] * 100:.1f} % | "
        f"{ledger_verdict(m['cost'] < HASHING_COST_TARGET)} |")
    append_runs = lambda m, side: ", ".join(f"{t:.0f}" for t in m["runs"][side])
    return f"""
## Ledger (issue 4)

Same run as above ({date}, `{command}`), same machine ({machine["cpu"]}, {machine["cores"]}
cores, {machine["ram"]}; load average at the end {machine["load"]}) and cluster. Targets
(issue 4): verifying at least 10 × as many entries a second as a PL/pgSQL + pgcrypto verifier
of the same format, in at most 2 × the time of a plain read of the same rows; hashing costs
under 10 % of a minimal mutation's throughput.

| verification | entries | median time | entries/s | MB/s of canonical bytes | ratio | target |
|---|---:|---:|---:|---:|---:|---|
| `pgfolio.ledger_verify()`, all chains | {v["entries"]:,} | {v["full"]["pgfolio"]["median_s"]:.2f} s | {f["pgfolio_rate"]:,.0f} | {f["pgfolio_mbs"]:.1f} | | |
| plain read of the same rows (b) | {v["entries"]:,} | {v["full"]["plain"]["median_s"]:.2f} s | {f["plain_rate"]:,.0f} | {f["plain_mbs"]:.1f} | time × {f["plain_ratio"]:.2f} | ≤ 2: {ledger_verdict(f["plain_ratio"] <= PLAIN_TARGET)} |
| `pgfolio.ledger_verify(id)`, first {v["subset_portfolios"]} chains | {v["subset_entries"]:,} | {v["subset"]["pgfolio"]["median_s"]:.2f} s | {f["subset_pgfolio_rate"]:,.0f} | {f["subset_pgfolio_mbs"]:.1f} | | |
| PL/pgSQL + pgcrypto verifier (a), the same chains | {v["subset_entries"]:,} | {v["subset"]["plpgsql"]["median_s"]:.2f} s | {f["plpgsql_rate"]:,.0f} | {f["plpgsql_mbs"]:.1f} | pgfolio × {f["baseline_ratio"]:.1f} | ≥ 10: {ledger_verdict(f["baseline_ratio"] >= BASELINE_TARGET)} |
| SHA-256 alone (`pgfolio::sha256` per entry, one core) | {s["records"]:,} | {s["per_entry_median_s"]:.3f} s | {f["sha_rate"]:,.0f} | {f["sha_mbs"]:.0f} | | |
| SHA-256 alone, all bytes as one stream | {s["records"]:,} | {s["stream_median_s"]:.3f} s | | {f["sha_stream_mbs"]:.0f} | | |

| appends/s, {a["clients"]} clients, {a["rounds"]} alternating rounds of {a["seconds"]} s per side | with hashing | without | ratio | cost | target < 10 % |
|---|---:|---:|---:|---:|---|
{append_row("durable commits (default settings)", durable)}
{append_row("`synchronous_commit = off`", fast)}

### Data (bench/ledger_data.sql, set-based, fixed random seed)

- {sizes["entries"]:,} entries in {sizes["chains"]:,} chains of {led["entries_per_portfolio"]:,}, no
  checkpoints; {f["mb"]:.0f} MB of canonical bytes ({f["mb"] * 1e6 / sizes["entries"]:.0f} bytes an
  entry; MB = 10⁶ bytes throughout); table {sizes["table"]}, indexes {sizes["indexes"]}{
  f" (more than `shared_buffers` = {sizes['shared_buffers']}: every pass reads part of the table from the operating system's cache)"
  if sizes["beyond_shared_buffers"] else ""}. Generated in
  {led["setup_seconds"]:.0f} s: the content set-based, then every chain hashed by
  `pgfolio.ledger_entry_hash()` in one recursive query, a step per seq.
- Entries as pgfolio writes them: a snapshot of cash and four holdings before and after
  (decimal strings, as `ledger_snapshot()` makes them), amounts and quantities stored with
  trailing zeros, messages with the rupee sign, metadata of three to six members (strings
  and integers). Kinds: {sizes["entry_types"]}.
- Rows were appended seq by seq across all portfolios, so a chain's entries are spread over
  the whole table, as a ledger written over time by many portfolios is.

### What is compared

- Before anything was timed, the PL/pgSQL verifier and `ledger_verify()` gave the same
  answer, and the expected one, on each of these (one transaction, rolled back):
  {"; ".join(led["checked"])}. Its JSON string escaping was checked against
  `pgfolio.canonical_json` for every ASCII character and some beyond, and its JCS on awkward
  documents. Every timed run's answer was checked too: all chains ok with every entry counted,
  and both verifiers the same rows.
- **pgfolio**: `SELECT … FROM pgfolio.ledger_verify()`: one pass over every entry in
  (portfolio, seq) order through SPI; each entry's canonical bytes built and hashed in C++,
  its link checked, and the Merkle frontier of its chain extended (two more SHA-256 of 33 or
  65 bytes an entry, which the baseline does not compute). Runs in s: {runs(v["full"]["pgfolio"])}.
- **(b) plain read**: `{PLAIN_READ}`: the
  columns `ledger_verify()` reads (the 15 the entry object covers and the stored hash; not
  `id`, which no hash covers), in its order, through the plan PostgreSQL makes for its query
  ({sizes["plan"]}; serial, as an SPI cursor always is, so the plain read is not given
  parallel workers either). Every value of every row goes through its type's output
  function, as a `SELECT` to a client does, but nothing crosses a socket. That is the floor:
  any verifier must at least fetch every value of every entry and turn it into the text the
  canonical form is made of. Runs in s: {runs(v["full"]["plain"])}.
- **(a) PL/pgSQL + pgcrypto**: bench/ledger_verify_plpgsql.sql, an independent
  implementation of docs/ledger-format.md §1–§2 (canonical text built member by member,
  JCS of the JSON members by a PL/pgSQL function, `digest(…, 'sha256')`, the checks of §2 in
  order). It verifies about {f["plpgsql_rate"]:,.0f} entries a second, so it is timed on the first
  {v["subset_portfolios"]} chains ({v["subset_entries"]:,} entries) rather than all of them, against
  `pgfolio.ledger_verify(id)` on the same chains, both one call per chain, {v["baseline_runs"]}
  alternating runs each. Runs in s: PL/pgSQL {runs(v["subset"]["plpgsql"])}; pgfolio
  {runs(v["subset"]["pgfolio"])}.
- **SHA-256**: the canonical bytes of every entry, exported with a binary `COPY`
  (`convert_to(ledger_canonical_bytes(l), 'UTF8')`), hashed by build/sha256_throughput
  (bench/sha256_throughput.cpp) on one core after the export; the median of
  {len(s["per_entry_seconds"])} rounds each.
- **Appends**: pgbench, {a["clients"]} clients, {a["threads"]} threads, prepared, each transaction
  `SELECT bench.ledger_add_funds(:n, hashed)` (bench/ledger_append.sql): lock the portfolio,
  snapshot, add 1 to its cash, snapshot, append an ADD_FUNDS entry with both snapshots and a
  message (so an activity line too). With hashing through `pgfolio.ledger_append`, on
  portfolios 1–{a["portfolios_per_side"]}; without through `bench.ledger_append`, made when the run starts
  from `ledger_append`'s own definition with its one call of `ledger_entry_hash(entry)`
  replaced by a constant, on the other {a["portfolios_per_side"]}. A 2 s warm-up per side, then
  alternating rounds. Appends/s per round:
  - durable, with hashing: {append_runs(durable, "hashed")}; without: {append_runs(durable, "unhashed")}
  - `synchronous_commit = off`, with hashing: {append_runs(fast, "hashed")}; without: {append_runs(fast, "unhashed")}
  - the cost within each round: durable {", ".join(f"{c * 100:.1f} %" for c in durable["round_costs"])};
    off {", ".join(f"{c * 100:.1f} %" for c in fast["round_costs"])}
  Afterwards the chains appended with hashing still verified.

### Notes

{notes}"""



NOTES = """\
- How `ledger_verify()` got here. A profile of the first version (perf with DWARF call
  graphs, commit b5a1bc4, 21.8 s for this million, 2.3 × the plain read) put 15 % in the
  executor (index scan, heap fetches, SPI row copies: the plain read pays this too), 53 % in
  turning the three jsonb columns into RFC 8785 text, 13 % in the entry object's own text and
  7 % in SHA-256 (1.5 µs an entry: hashing is not what limits verification, serialisation
  is). Following it (commit "Faster canonical JSON for verification"): strings are written in
  runs between escapes, with only bytes ≥ 0x80 decoded (to validate them); member names are
  compared bytewise unless one holds a byte ≥ 0xEE (U+E000–U+FFFF against characters above
  U+FFFF, the only place where UTF-8 byte order and UTF-16 order differ); a jsonb value is
  read in one guarded walk into token buffers reused from value to value, and each object's
  members are written straight from their tokens in sorted order, with no string per member;
  one entry buffer per thread. That took the million from 21.8 s to the 13.8 s above.
- The plain read is `COPY … TO '/dev/null'` rather than a `SELECT` fetched by a client, so
  that socket transfer and the client's parsing (which would flatter the ratio) are not in
  it; it converts every value to text as a client `SELECT` would. With parallel workers
  allowed it was slower on this 2-core machine (13.4 s against 9.6 s serial), and
  `ledger_verify()` cannot use them, so both are serial.
- The PL/pgSQL verifier was made as fast as we could: its first JCS function ran a query per
  object (`jsonb_each` with `string_agg`, or the keys sorted by `ORDER BY`) and took 3 to 4
  times as long; the one measured uses PL/pgSQL's simple expressions only (keys from one
  `jsonb_path_query_array`, an insertion sort, `->` for each value). It still spends most of
  its time there: PL/pgSQL evaluates each expression separately, ~150 µs for one snapshot.
  Its limits are listed at the top of bench/ledger_verify_plpgsql.sql (no checkpoints, key
  order by UTF-8 bytes, constraints left to the table's CHECKs); the benchmark's data stays
  within them and the checks above would catch a disagreement.
- SHA-256 entry by entry comes close to the single-stream speed since `pgfolio::sha256`
  keeps its OpenSSL implementation and context (extension/core/digest.cpp). Before, OpenSSL 3's
  one-shot `SHA256()` fetched the implementation from its provider on every call: 1.25 →
  0.94 µs for a 1.3 KB entry, 0.45 → 0.13 µs for a 33-byte Merkle leaf (best of 5, a million
  hashes each); over this benchmark's canonical bytes, 1.9 → 1.45 µs an entry.
- Appends: the cost within a single round swings by ±15 % (the rounds above: 5 s each, on a
  machine shared with other work), so the two costs in the table are means of noisy rounds,
  good to a few per cent, not better; neither durable commits nor `synchronous_commit = off`
  is reliably the cheaper side from run to run. A steadier estimate, one client alone
  (pgbench, 5 s rounds, `synchronous_commit = off`, before this run): 0.74–0.77 ms an append
  with hashing, 0.71–0.74 ms without, so hashing an entry with two four-holding snapshots
  costs ~30 µs, about 4 % of the append (`ledger_entry_hash` alone, measured over the
  million entries: ~14 µs; the rest is PL/pgSQL handing the row over).
- Making the data (the time under Data) is not part of any figure; most of it is the
  million `ledger_entry_hash()` calls and writing 1.3 GB of rows, WAL and two indexes.
"""
