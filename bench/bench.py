#!/usr/bin/python3
"""pgfolio's benchmark driver (run by scripts/bench.sh, which prepares the cluster and data).

In one run, against the same data and server:
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
and writes bench/RESULTS.md when --results is given. Exits non-zero when a check fails; a
missed target is reported, not an error (the figures are what they are).
"""
import argparse
import datetime
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


class Bench:
    def __init__(self, dsn, batch_runs, single_seconds, single_rounds):
        self.dsn = dsn
        self.batch_runs = batch_runs
        self.single_seconds = single_seconds
        self.single_rounds = single_rounds
        self.conn = psycopg2.connect(dsn)
        self.conn.autocommit = True
        self.failures = []

    def scalar(self, sql, args=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchone()[0]

    def rows(self, sql, args=None):
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return cur.fetchall()

    def check(self, ok, message):
        print(("ok      " if ok else "FAILED  ") + message, flush=True)
        if not ok:
            self.failures.append(message)

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


def verdict(ratio):
    return "met" if ratio <= 1.0 else "**missed**"


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
"""
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path}")


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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--command", default="make bench", help="how the run was started")
    parser.add_argument("--results", help="write the results to this Markdown file")
    parser.add_argument("--batch-runs", type=int, default=7)
    parser.add_argument("--single-seconds", type=int, default=5)
    parser.add_argument("--single-rounds", type=int, default=4)
    args = parser.parse_args()

    bench = Bench(args.dsn, args.batch_runs, args.single_seconds, args.single_rounds)
    info = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "server_version": bench.scalar("SELECT version()"),
        "sizes": bench.data_sizes(),
        "single_seconds": args.single_seconds,
        "single_rounds": args.single_rounds,
        "notes": NOTES,
    }
    info["batch_checked"] = bench.verify_batch()
    info["half_up_differences"] = bench.half_up_differences
    info["single_checked"] = bench.verify_single()
    if bench.failures:
        print("the baselines do not compute what pgfolio computes; nothing timed", file=sys.stderr)
        return 1
    info["batch"] = bench.time_batch()
    info["single"] = bench.time_single()
    info["machine"] = machine()

    for name, ratio in ratios(info).items():
        print(f"ratio {name}: {ratio:.2f} ({verdict(ratio).strip('*')})")
    if args.results:
        write_results(args.results, args.command, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
