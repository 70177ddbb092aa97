#!/usr/bin/env bash
# The ledger under concurrency (TAP), what a single pgTAP transaction cannot show:
#  - 16 sessions append to one portfolio at once: every append gets its own seq, the chain
#    neither forks nor skips, and it verifies;
#  - while one session holds portfolio X's lock, an append to portfolio Y completes under
#    lock_timeout = '1s', an append to X times out, and one without a timeout waits and
#    completes once X is released.
# The rows the test commits stay: ledger entries are append-only for tests too (removing them
# would take the triggers off, and the running witness would rightly raise an alarm for a
# ledger that vanished). Each run uses its own user and portfolios.
set -uo pipefail

port=${PGFOLIO_PGPORT:?PGFOLIO_PGPORT is not set}
conn=(-X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres -d pgfolio)
run=$(printf '%012d' $$)
user=1ed00000-0000-4000-8000-$run
x=1ed0000a-0000-4000-8000-$run
y=1ed0000b-0000-4000-8000-$run
work=$(mktemp -d)
writers=16
appends_each=25

source "$(dirname "$0")/tap.sh"
sql() { psql "${conn[@]}" -c "$1" 2>&1; }
append() { # portfolio
  echo "SELECT (pgfolio.ledger_append('$1', 'ADD_FUNDS', NULL, NULL, amount => 1,
                                     message => 'Added 1')).seq"
}

cleanup() {
  [ -n "${one_pid:-}" ] && kill "$one_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

sql "INSERT INTO pgfolio.users (id, email, display_name)
     VALUES ('$user', 'ledger-$run@test.example', 'Ledger racer');
     INSERT INTO pgfolio.portfolios (id, owner_id, name) VALUES
       ('$x', '$user', 'X'), ('$y', '$user', 'Y')" >/dev/null

# --- 16 writers on one portfolio ---------------------------------------------------------------
for w in $(seq 1 $writers); do
  # One session per writer, each append its own transaction (psql reads statements from stdin).
  (for _ in $(seq 1 $appends_each); do append "$x"; echo ';'; done |
    psql "${conn[@]}" >"$work/writer-$w" 2>&1) &
done
wait
total=$((writers * appends_each))
is "$(cat "$work"/writer-* | grep -cE '^[0-9]+$')" "$total" \
  "$writers writers appended $appends_each entries each, none refused"
is "$(cat "$work"/writer-* | sort -n | uniq | wc -l)" "$total" "each append got its own seq"
is "$(sql "SELECT count(*), min(seq), max(seq) FROM pgfolio.ledger WHERE portfolio_id = '$x'")" \
  "$total|1|$total" "the chain holds seq 1 to $total without gaps"
is "$(sql "SELECT count(DISTINCT prev_hash) FROM pgfolio.ledger WHERE portfolio_id = '$x'")" \
  "$total" "no two entries share a predecessor: the chain did not fork"
is "$(sql "SELECT entries_checked || ' ' || ok FROM pgfolio.ledger_verify('$x')")" "$total true" \
  "ledger_verify accepts the whole chain"

# --- one portfolio locked, another free --------------------------------------------------------
session_name=ledger-concurrency
source "$(dirname "$0")/two-sessions.sh"
is "$(one "BEGIN; SELECT 'locked' FROM pgfolio.portfolios WHERE id = '$x' FOR UPDATE")" locked \
  "session one holds portfolio X's lock"
is "$(sql "SET lock_timeout = '1s'; $(append "$y")")" 1 \
  "an append to Y completes meanwhile under lock_timeout = 1s"
result=$(sql "SET lock_timeout = '1s'; $(append "$x")")
[[ $result == *"lock timeout"* ]]
ok $? "an append to X under lock_timeout = 1s gives up: it waited for X's lock"
two_start "$(append "$x")"
two_waits
ok $? "an append to X without a timeout waits for X's lock"
one "COMMIT" >/dev/null
wait "$TWO_PID"
is "$(cat "$work/two")" "$((total + 1))" "once X is released it completes, next in the chain"
is "$(sql "SELECT bool_and(ok) FROM pgfolio.ledger_verify('$x')")" t "and the chain still verifies"

one_quit
tap_done
