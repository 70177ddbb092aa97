#!/usr/bin/env bash
# pg_dump / pg_restore carry all of pgfolio's data (TAP). The pgfolio database of the running
# cluster (PGFOLIO_PGPORT) is dumped with pg_dump -Fc and restored into a fresh database on the
# same cluster; every table of the extension is compared, row for row, with the source as the
# dump saw it, and so is a demo portfolio's valuation.
#
# The dump and the source figures share one snapshot: a transaction held open here exports it
# and pg_dump --snapshot uses it, so the demo price mover (pg_cron, every minute) cannot make
# them differ.
#
# pg_cron: the dump holds pg_cron's extension and its job tables, and pg_cron can only be
# created in the database named by cron.database_name (pgfolio), so on this cluster those
# entries cannot be restored into another database. They are left out of the restore (and
# listed below as diagnostics); everything else must restore without a single error
# (--exit-on-error). A restore onto a new cluster, as the cron database, brings them back; the
# jobs are pgfolio.schedule_jobs() either way.
set -uo pipefail

PGBIN=/usr/lib/postgresql/15/bin
port=${PGFOLIO_PGPORT:?PGFOLIO_PGPORT is not set}
restored=pgfolio_restore_$$
work=$(mktemp -d)
conn=(-X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U postgres)
# A currency that is not builtin, so the dump must carry it (builtin ones come from the
# extension script). Named to be recognised; removed at the end.
extra_currency=XDUMP

source "$(dirname "$0")/tap.sh"

cleanup() {
  [ -n "${SRC_PID:-}" ] && kill "$SRC_PID" 2>/dev/null
  psql "${conn[@]}" -d postgres -c "DROP DATABASE IF EXISTS $restored WITH (FORCE)" >/dev/null 2>&1
  psql "${conn[@]}" -d pgfolio -c "DELETE FROM pgfolio.currencies WHERE code = '$extra_currency'" \
    >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT

psql "${conn[@]}" -d pgfolio -c "INSERT INTO pgfolio.currencies (code, name, minor_unit)
  VALUES ('$extra_currency', 'Dump test currency', 3) ON CONFLICT DO NOTHING" >/dev/null
ok $? "a non-builtin currency to carry"

# The source session: REPEATABLE READ, its snapshot exported for pg_dump. src runs SQL in it
# and prints the rows.
coproc SRC { psql "${conn[@]}" -d pgfolio 2>&1; }
src() {
  # The ; ends the statement: psql would run the \echo before an unterminated one.
  printf '%s;\n\\echo __end__\n' "$1" >&"${SRC[1]}"
  local line
  while IFS= read -r -t 120 -u "${SRC[0]}" line; do
    [ "$line" = __end__ ] && return 0
    printf '%s\n' "$line"
  done
  return 1
}
snapshot=$(src "BEGIN ISOLATION LEVEL REPEATABLE READ; SELECT pg_export_snapshot();")
[[ $snapshot =~ ^[0-9A-F]+-[0-9A-F]+-[0-9]+$ ]]
ok $? "a snapshot of the source is exported ($snapshot)"

"$PGBIN/pg_dump" -h 127.0.0.1 -p "$port" -U postgres -Fc --snapshot="$snapshot" \
  -f "$work/pgfolio.dump" pgfolio 2>"$work/dump.log"
ok $? "pg_dump -Fc of database pgfolio"
[ -s "$work/dump.log" ] && diag <"$work/dump.log"

# The dump's table of contents, without pg_cron's entries (see the header).
"$PGBIN/pg_restore" -l "$work/pgfolio.dump" >"$work/all.list"
grep -E '(EXTENSION - pg_cron|EXTENSION pg_cron|(TABLE DATA|SEQUENCE SET) cron )' "$work/all.list" \
  >"$work/cron.list"
grep -v -F -x -f "$work/cron.list" "$work/all.list" >"$work/restore.list"
echo "pg_cron's entries, not restored outside the cron database:" | diag
diag <"$work/cron.list"
grep -qE 'TABLE DATA pgfolio holdings' "$work/restore.list"
ok $? "the dump holds pgfolio's data"

psql "${conn[@]}" -d postgres -c "CREATE DATABASE $restored" >/dev/null
ok $? "a fresh database $restored"
"$PGBIN/pg_restore" -h 127.0.0.1 -p "$port" -U postgres -d "$restored" --exit-on-error \
  -L "$work/restore.list" "$work/pgfolio.dump" 2>"$work/restore.log"
ok $? "pg_restore into it, without one error"
[ -s "$work/restore.log" ] && diag <"$work/restore.log"

restored_sql() { psql "${conn[@]}" -d "$restored" -c "$1" 2>&1; }

# Every table of the extension must be registered for dumping, or its rows would be lost.
unregistered="SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c
  WHERE c.relnamespace = 'pgfolio'::regnamespace AND c.relkind IN ('r', 'p', 'S')
    AND c.oid <> ALL (SELECT unnest(extconfig) FROM pg_extension WHERE extname = 'pgfolio')"
is "$(src "$unregistered")" "" "every pgfolio table and sequence is registered with pg_extension_config_dump"

# Row count and digest of each registered table, compared between the source snapshot and the
# restored database.
tables=$(src "SELECT c.relname FROM pg_extension e, unnest(e.extconfig) t (oid)
               JOIN pg_class c ON c.oid = t.oid
               WHERE e.extname = 'pgfolio' AND c.relkind = 'r' ORDER BY 1")
digest_sql=""
for t in $tables; do
  digest_sql+="SELECT '$t', count(*), coalesce(md5(string_agg(r::text, E'\n' ORDER BY r::text)), '-')
               FROM pgfolio.$t r;"
done
src "$digest_sql" >"$work/source.digests"
restored_sql "$digest_sql" >"$work/restored.digests"
for t in $tables; do
  want=$(grep "^$t|" "$work/source.digests")
  is "$(grep "^$t|" "$work/restored.digests")" "$want" \
    "pgfolio.$t: the same rows (count|md5 ${want#*|})"
done

is "$(restored_sql "SELECT count(*) > 0 AND bool_and(ok) FROM pgfolio.ledger_verify()")" t \
  "the restored ledger verifies, chains and checkpoints"
is "$(restored_sql "SELECT last_value || ' ' || is_called FROM pgfolio.job_runs_id_seq")" \
  "$(src "SELECT last_value || ' ' || is_called FROM pgfolio.job_runs_id_seq")" \
  "the job run id sequence came across"

builtin_sql="SELECT count(*) || ' ' || count(DISTINCT code) FROM pgfolio.currencies WHERE builtin"
is "$(restored_sql "$builtin_sql")" "$(src "$builtin_sql")" \
  "the builtin currencies exist once each (from CREATE EXTENSION, not duplicated by the dump)"
is "$(restored_sql "SELECT name FROM pgfolio.currencies WHERE code = '$extra_currency'")" \
  "Dump test currency" "a non-builtin currency came across"

valuation="SELECT pgfolio.portfolio_valuation('10000000-0000-4000-8000-000000000002')"
source_valuation=$(src "$valuation")
is "$(restored_sql "$valuation")" "$source_valuation" \
  "the demo portfolio with USD assets values the same in both databases"
grep -q '"totalValue"' <<<"$source_valuation"
ok $? "... and that valuation is a real one"

batch="SELECT string_agg(portfolio_id || ' ' || total_value, ',' ORDER BY portfolio_id)
       FROM pgfolio.portfolio_values()"
is "$(restored_sql "$batch")" "$(src "$batch")" "portfolio_values() agrees for every portfolio"

is "$(restored_sql "SELECT count(*) FROM pg_extension WHERE extname = 'pgfolio'")" 1 \
  "the restored database has the pgfolio extension"

src "COMMIT;" >/dev/null
# The plan comes last: one test per registered table.
tap_done
