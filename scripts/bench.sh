#!/usr/bin/env bash
# `make bench`: builds and installs pgfolio, starts a throwaway cluster of its own, generates
# the benchmark data (bench/data.sql), runs bench/bench.py, which rewrites bench/RESULTS.md,
# then stops and removes the cluster. In the same run bench.py measures
#   valuation (issue 2): pgfolio's C++ valuation against the best plain SQL computing the same
#                        numbers;
#   auth (issue 3):      login latency, and the requests/s of an authenticated endpoint with and
#                        without authentication, on two pgfolio-http it starts and stops itself;
#   ledger (issue 4):    verification of a million ledger entries it generates (bench/ledger_*.sql)
#                        against a PL/pgSQL verifier and a plain read, SHA-256 throughput
#                        (build/sha256_throughput), and appends with and without hashing.
# Settings:
#   PGFOLIO_BENCH_PGPORT  the cluster's port on 127.0.0.1 (default: PGFOLIO_PGPORT, else 5498;
#                         never the port of a running cluster)
#   PGFOLIO_BENCH_HTTP_PORT  the first pgfolio-http's port (default: PGFOLIO_HTTP_PORT, else
#                         8498); the second uses PGFOLIO_BENCH_HTTP_PORT2 (default: the first + 1).
#                         Both must be free.
#   PGFOLIO_BENCH_DATA    the cluster's data directory (default /var/tmp/pgfolio-bench-<port>)
#   PGFOLIO_BENCH_SCALE   portfolios to generate (default 100000); a smaller number is a
#                         smoke run whose results are not written to bench/RESULTS.md
#   PGFOLIO_BENCH_PARTS   "valuation,auth,ledger" (default), or some of them: a smoke run as well
#   PGFOLIO_BENCH_KEEP=1  leave the cluster running afterwards, to look into the figures
#                         (`scripts/cluster.sh destroy` with the same port and data removes it)
set -euo pipefail
export PGFOLIO_PGPORT=${PGFOLIO_BENCH_PGPORT:-${PGFOLIO_PGPORT:-5498}}
export PGFOLIO_DATA=${PGFOLIO_BENCH_DATA:-/var/tmp/pgfolio-bench-$PGFOLIO_PGPORT}
source "$(dirname "$0")/lib.sh"
cluster="$PGFOLIO_ROOT/scripts/cluster.sh"
scale=${PGFOLIO_BENCH_SCALE:-100000}
parts=${PGFOLIO_BENCH_PARTS:-valuation,auth,ledger}
http_port=${PGFOLIO_BENCH_HTTP_PORT:-${PGFOLIO_HTTP_PORT:-8498}}
http_port2=${PGFOLIO_BENCH_HTTP_PORT2:-$((http_port + 1))}

# The benchmark drops its cluster at the end: refuse a port something else already serves.
if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGFOLIO_PGPORT"; then
  say "port $PGFOLIO_PGPORT already has a server; set PGFOLIO_BENCH_PGPORT to a free port"
  exit 1
fi
for port in "$http_port" "$http_port2"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    say "port $port is in use; set PGFOLIO_BENCH_HTTP_PORT (and _PORT2) to free ports"
    exit 1
  fi
done

build_and_install

"$cluster" destroy  # leftovers of an interrupted run
if [ "${PGFOLIO_BENCH_KEEP:-}" = 1 ]; then
  trap 'say "cluster left running on port $PGFOLIO_PGPORT, data in $PGFOLIO_DATA"' EXIT
else
  trap '"$cluster" destroy' EXIT
fi
"$cluster" init
# Enough memory for the whole data set to stay cached, and for the plain SQL's hash
# aggregate not to spill: the baseline gets its best chance too.
cat >>"$PGFOLIO_DATA/postgresql.conf" <<'CONF'
# pgfolio benchmark (scripts/bench.sh)
shared_buffers = '1GB'
work_mem = '256MB'
track_functions = 'none'
# Bounds every statement of the run, so that nothing can hang it.
statement_timeout = '5min'
CONF
"$cluster" start
pg -d postgres -c "CREATE DATABASE pgfolio"
pg -d pgfolio -c "CREATE EXTENSION pgfolio CASCADE"
# The login role pgfolio-http connects as in the auth part (as make run has it).
pg -d pgfolio -c "CREATE ROLE pgfolio_http LOGIN IN ROLE pgfolio_api"

say "generating data: $scale portfolios × 10 holdings over 500 assets"
start=$(date +%s)
pg -d pgfolio -v portfolios="$scale" -f "$PGFOLIO_ROOT/bench/data.sql" >/dev/null
say "data ready in $(($(date +%s) - start)) s"

results=()
[ "$scale" = 100000 ] && [ "$parts" = valuation,auth,ledger ] &&
  results=(--results "$PGFOLIO_ROOT/bench/RESULTS.md")
/usr/bin/python3 "$PGFOLIO_ROOT/bench/bench.py" --parts "$parts" \
  --dsn "host=127.0.0.1 port=$PGFOLIO_PGPORT user=postgres dbname=pgfolio" \
  --http-binary "$PGFOLIO_ROOT/build/pgfolio-http" \
  --http-database-url "postgresql://pgfolio_http@127.0.0.1:$PGFOLIO_PGPORT/pgfolio" \
  --http-ports "$http_port,$http_port2" \
  --command "PGFOLIO_BENCH_PGPORT=$PGFOLIO_PGPORT PGFOLIO_BENCH_HTTP_PORT=$http_port make bench" \
  "${results[@]}"
