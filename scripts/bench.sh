#!/usr/bin/env bash
# `make bench`: builds and installs pgfolio, starts a throwaway cluster of its own, generates
# the benchmark data (bench/data.sql), runs bench/bench.py (pgfolio's C++ valuation against
# the best plain SQL computing the same numbers, in the same run) which rewrites
# bench/RESULTS.md, then stops and removes the cluster.
#   PGFOLIO_BENCH_PGPORT  the cluster's port on 127.0.0.1 (default: PGFOLIO_PGPORT, else 5498;
#                         never the port of a running cluster)
#   PGFOLIO_BENCH_DATA    its data directory (default /var/tmp/pgfolio-bench-<port>)
#   PGFOLIO_BENCH_SCALE   portfolios to generate (default 100000); a smaller number is a
#                         smoke run whose results are not written to bench/RESULTS.md
#   PGFOLIO_BENCH_KEEP=1  leave the cluster running afterwards, to look into the figures
#                         (`scripts/cluster.sh destroy` with the same port and data removes it)
set -euo pipefail
export PGFOLIO_PGPORT=${PGFOLIO_BENCH_PGPORT:-${PGFOLIO_PGPORT:-5498}}
export PGFOLIO_DATA=${PGFOLIO_BENCH_DATA:-/var/tmp/pgfolio-bench-$PGFOLIO_PGPORT}
source "$(dirname "$0")/lib.sh"
cluster="$PGFOLIO_ROOT/scripts/cluster.sh"
scale=${PGFOLIO_BENCH_SCALE:-100000}

# The benchmark drops its cluster at the end: refuse a port something else already serves.
if "$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PGFOLIO_PGPORT"; then
  say "port $PGFOLIO_PGPORT already has a server; set PGFOLIO_BENCH_PGPORT to a free port"
  exit 1
fi

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

say "generating data: $scale portfolios × 10 holdings over 500 assets"
start=$(date +%s)
pg -d pgfolio -v portfolios="$scale" -f "$PGFOLIO_ROOT/bench/data.sql" >/dev/null
say "data ready in $(($(date +%s) - start)) s"

results=()
[ "$scale" = 100000 ] && results=(--results "$PGFOLIO_ROOT/bench/RESULTS.md")
/usr/bin/python3 "$PGFOLIO_ROOT/bench/bench.py" \
  --dsn "host=127.0.0.1 port=$PGFOLIO_PGPORT user=postgres dbname=pgfolio" \
  --command "PGFOLIO_BENCH_PGPORT=$PGFOLIO_PGPORT make bench" "${results[@]}"
