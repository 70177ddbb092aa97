#!/usr/bin/env bash
# `make test`: every suite against a throwaway PostgreSQL cluster and pgfolio-http on their own
# ports, then the newcomer's path (`make run` on other ports, the lines it prints, `make stop`),
# then the checks that nothing crashed. Ends with "N passed, N failed", counted from the suites'
# own reports; exits non-zero on any failure.
#   PGFOLIO_TEST_PGPORT (55432) and PGFOLIO_TEST_HTTP_PORT (18080) move the throwaway setup;
#   the ports right above them (+1, +10) are used too.
set -uo pipefail

export PGFOLIO_PGPORT=${PGFOLIO_TEST_PGPORT:-55432}
export PGFOLIO_HTTP_PORT=${PGFOLIO_TEST_HTTP_PORT:-18080}
export PGFOLIO_DATA=/var/tmp/pgfolio-test-$PGFOLIO_PGPORT
source "$(dirname "$0")/lib.sh"
export PGFOLIO_ROOT
export PGFOLIO_HTTP_LOG
export PGFOLIO_HTTP_URL=http://127.0.0.1:$PGFOLIO_HTTP_PORT
export PGFOLIO_TEST_DSN="host=127.0.0.1 port=$PGFOLIO_PGPORT user=postgres dbname=pgfolio"
export PGFOLIO_OUTAGE_PGPORT=$((PGFOLIO_PGPORT + 1))
export PGFOLIO_OUTAGE_HTTP_PORT=$((PGFOLIO_HTTP_PORT + 1))
# The HTTP suite checks CORS against this origin.
export PGFOLIO_CORS_ORIGINS=http://app.test.example
# The whole suite comes from one address and logs in many times: the main server's rate
# limits are out of its way (the 429 tests start a server of their own with low limits).
export PGFOLIO_RATE_LOGIN_PER_MINUTE=100000 PGFOLIO_RATE_USER_PER_MINUTE=100000
# The main server's ledger witness signs new tree heads within a second (docs/witness.md).
export PGFOLIO_WITNESS_INTERVAL_SECONDS=1

results=$PGFOLIO_ROOT/build/test-results
passed=0
failed=0

# Adds a suite's counts to the totals and prints its line.
record() { # suite passed failed
  passed=$((passed + $2))
  failed=$((failed + $3))
  printf 'pgfolio: %-28s %4d passed, %d failed\n' "$1" "$2" "$3"
}

# One check of this script's own (newcomer path, crash checks), reported like a test.
check() { # description command...
  local description=$1
  shift
  if "$@" >>"$results/checks.log" 2>&1; then
    record "check: $description" 1 0
  else
    record "check: $description" 0 1
    tail -15 "$results/checks.log"
  fi
}

# Counts a TAP harness's verbose output (pg_prove -v, prove -v). A file that died or ran
# fewer tests than planned shows no "not ok" of its own, so a failing harness without one
# counts as one failure.
record_tap() { # suite output harness-status
  local ok not_ok
  ok=$(grep -cE '^\s*ok [0-9]+' "$2")
  not_ok=$(grep -cE '^\s*not ok [0-9]+' "$2")
  if [ "$3" -ne 0 ] && [ "$not_ok" -eq 0 ]; then not_ok=1; fi
  [ "$3" -ne 0 ] && grep -vE '^\s*ok [0-9]+' "$2" | tail -40
  record "$1" "$ok" "$not_ok"
}

# Counts a JUnit XML report (GoogleTest and pytest both write one). A missing report, or a
# failing suite whose report shows no failure (it ran nothing, or died), is one failure.
record_junit() { # suite report.xml suite-status
  local counts
  counts=$(/usr/bin/python3 - "$2" "$3" <<'PY'
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else root.findall("testsuite")
total = sum(int(s.get("tests", 0)) for s in suites)
bad = sum(int(s.get("failures", 0)) + int(s.get("errors", 0)) for s in suites)
skipped = sum(int(s.get("skipped", 0)) + int(s.get("disabled", 0)) for s in suites)
passed = total - bad - skipped
if int(sys.argv[2]) != 0 and bad == 0:
    bad = 1
print(passed, bad)
PY
  ) || counts="0 1"
  record "$1" ${counts}
}

cleanup() {
  stop_http
  "$PGFOLIO_ROOT/scripts/cluster.sh" destroy >/dev/null 2>&1
}
trap cleanup EXIT

# --- setup -----------------------------------------------------------------------------------
rm -rf "$results" && mkdir -p "$results"
build_and_install || exit 1
install -m 644 "$PGFOLIO_ROOT"/tests/sql/pgfolio_test/pgfolio_test{.control,--0.1.0.sql} \
  "$(pg_config --sharedir)/extension/"
"$PGFOLIO_ROOT/scripts/cluster.sh" destroy >/dev/null 2>&1
say "throwaway cluster on 127.0.0.1:$PGFOLIO_PGPORT, pgfolio-http on :$PGFOLIO_HTTP_PORT"
setup_database >"$results/setup.log" 2>&1 || { cat "$results/setup.log"; exit 1; }
pg -d pgfolio -f "$PGFOLIO_ROOT/demo/demo.sql" >>"$results/setup.log" 2>&1 &&
  pg -d pgfolio -c "CREATE EXTENSION pgtap; CREATE EXTENSION pgfolio_test" \
    >>"$results/setup.log" 2>&1 || { cat "$results/setup.log"; exit 1; }
start_http || exit 1
postmaster_started=$(pg -d pgfolio -tAc "SELECT pg_postmaster_start_time()")
http_pid=$(cat "$PGFOLIO_HTTP_PID")
server_log=$("$PGFOLIO_ROOT/scripts/cluster.sh" log)

# --- suites ----------------------------------------------------------------------------------
# A GoogleTest binary, counted from its XML report.
run_gtest() { # suite name
  "$PGFOLIO_ROOT/build/$2" --gtest_output="xml:$results/$2.xml" >"$results/$2.log" 2>&1
  local status=$?
  [ $status -eq 0 ] || grep -E '^\[  FAILED|Failure' -A5 "$results/$2.log" | head -60
  record_junit "$1" "$results/$2.xml" $status
}
say "GoogleTest"
run_gtest "GoogleTest (tests/core)" core_tests
run_gtest "GoogleTest (tests/http_unit)" http_unit_tests

say "pgTAP"
(cd "$PGFOLIO_ROOT/tests/sql" &&
  pg_prove -v -h 127.0.0.1 -p "$PGFOLIO_PGPORT" -U postgres -d pgfolio ./*.sql) \
  >"$results/pgtap.log" 2>&1
record_tap "pgTAP (tests/sql/*.sql)" "$results/pgtap.log" $?

if compgen -G "$PGFOLIO_ROOT/tests/sql/*.t" >/dev/null; then
  say "shell TAP tests"
  (cd "$PGFOLIO_ROOT/tests/sql" && prove -v ./*.t) >"$results/shell.log" 2>&1
  record_tap "TAP scripts (tests/sql/*.t)" "$results/shell.log" $?
fi

say "HTTP end-to-end"
/usr/bin/python3 -m pytest -q -p no:cacheprovider "$PGFOLIO_ROOT/tests/http" \
  --junitxml="$results/http.xml" >"$results/http.log" 2>&1
status=$?
[ $status -eq 0 ] || tail -60 "$results/http.log"
record_junit "HTTP (tests/http)" "$results/http.xml" $status

# --- packaging ---------------------------------------------------------------------------
meta_version_matches_control() {
  local control meta
  control=$(sed -n "s/^default_version = '\(.*\)'/\1/p" "$PGFOLIO_ROOT/pgfolio.control")
  meta=$(/usr/bin/python3 -c 'import json, sys; m = json.load(open(sys.argv[1]))
print(m["version"], m["provides"]["pgfolio"]["version"])' "$PGFOLIO_ROOT/META.json")
  echo "control $control, META.json $meta"
  [ "$meta" = "$control $control" ]
}
check "META.json version is the control file's" meta_version_matches_control

# --- the newcomer's path ---------------------------------------------------------------------
say "newcomer path: make run, the printed lines, make stop"
newcomer_data=/var/tmp/pgfolio-test-newcomer-$((PGFOLIO_PGPORT + 10))
newcomer_env=(PGFOLIO_PGPORT=$((PGFOLIO_PGPORT + 10)) PGFOLIO_HTTP_PORT=$((PGFOLIO_HTTP_PORT + 10))
  PGFOLIO_DATA=$newcomer_data)
newcomer_run() { env -u PGFOLIO_CORS_ORIGINS "${newcomer_env[@]}" make -s -C "$PGFOLIO_ROOT" "$@"; }
printed_lines_work() {
  local lines line
  lines=$(sed -n '/^Try:/,/^$/p' "$results/newcomer.log" | grep -E '^\s+(curl|psql) ')
  [ -n "$lines" ] || return 1
  while IFS= read -r line; do
    echo "trying: $line"
    output=$(bash -c "$line") || return 1
    echo "$output" | head -5
    # The curl line must return the price, the psql line the valuation: both are JSON.
    grep -q '{' <<<"$output" || return 1
  done <<<"$lines"
}
newcomer_stopped() {
  ! curl -fsS "http://127.0.0.1:$((PGFOLIO_HTTP_PORT + 10))/healthz" &&
    ! pg_isready -q -h 127.0.0.1 -p $((PGFOLIO_PGPORT + 10))
}
check "make run" newcomer_run run
cp "$results/checks.log" "$results/newcomer.log"
check "the printed curl and psql lines" printed_lines_work
check "make run a second time" newcomer_run run
check "make stop" newcomer_run stop
check "nothing listens after make stop" newcomer_stopped
# Keep the newcomer's server logs with the reports before their directory goes.
cp "$newcomer_data.log" "$results/newcomer-postgresql.log" 2>/dev/null
cp "$newcomer_data.http.log" "$results/newcomer-http.log" 2>/dev/null
env "${newcomer_env[@]}" "$PGFOLIO_ROOT/scripts/cluster.sh" destroy >/dev/null 2>&1

# --- nothing crashed -------------------------------------------------------------------------
say "crash checks"
same_postmaster() {
  [ "$(pg -d pgfolio -tAc "SELECT pg_postmaster_start_time()")" = "$postmaster_started" ]
}
no_backend_killed() { ! grep -E 'terminated by signal|server process .* was terminated' "$server_log"; }
same_http_process() { [ "$(cat "$PGFOLIO_HTTP_PID")" = "$http_pid" ] && kill -0 "$http_pid"; }
# Access-log lines are JSON objects with a "status" member; 503 is the deliberate answer
# while a database is down.
no_unexpected_5xx() { ! grep -E '"status":5[0-9][0-9]' "$PGFOLIO_HTTP_LOG" | grep -v '"status":503'; }
check "postmaster start time unchanged" same_postmaster
check "no backend terminated by a signal" no_backend_killed
check "pgfolio-http is the same process" same_http_process
check "no 5xx but 503 in the access log" no_unexpected_5xx

# --- coverage of SQL functions ---------------------------------------------------------------
# Statistics reach the shared counters when a session ends or goes idle; give them a moment.
sleep 1.5
untested=$(pg -d pgfolio -tAc "
  SELECT string_agg(p.oid::regprocedure::text, E'\n  ' ORDER BY 1)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
  WHERE n.nspname = 'pgfolio' AND p.prokind = 'f'
    AND NOT EXISTS (SELECT 1 FROM pg_stat_user_functions s
                    WHERE s.funcid = p.oid AND s.calls > 0)")
if [ -n "$untested" ]; then
  say "pgfolio SQL functions no test called (SQL functions inlined by the planner show here too):"
  echo "  $untested"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
