# Shared settings and helpers of pgfolio's scripts (sourced, not run).
# Ports and paths come from the environment so that `make test` can run a second, throwaway
# setup beside the one `make run` started.
export PGFOLIO_PGPORT=${PGFOLIO_PGPORT:-5499}
export PGFOLIO_HTTP_PORT=${PGFOLIO_HTTP_PORT:-8080}
export PGFOLIO_DATA=${PGFOLIO_DATA:-/var/tmp/pgfolio-$PGFOLIO_PGPORT}
PGFOLIO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PGFOLIO_BUILD_LOG=$PGFOLIO_ROOT/build/build.log
PGFOLIO_HTTP_PID=$PGFOLIO_DATA.http.pid
PGFOLIO_HTTP_LOG=$PGFOLIO_DATA.http.log
# Development secrets of pgfolio-http (docs/auth.md): generated once per data directory.
PGFOLIO_SECRETS=$PGFOLIO_DATA.secrets
PGBIN=/usr/lib/postgresql/15/bin

say() { printf 'pgfolio: %s\n' "$*"; }

# psql as the superuser on pgfolio's cluster, quiet and stopping at the first error.
pg() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGFOLIO_PGPORT" -U postgres "$@"; }

# Builds the module and everything CMake builds, and installs the extension. Output goes to
# build/build.log; on failure its tail is shown.
build_and_install() {
  mkdir -p "$PGFOLIO_ROOT/build"
  say "building (log: build/build.log)"
  # One build at a time in a checkout: a second `make run` or `make test` waits for the first.
  if ! (cd "$PGFOLIO_ROOT" && flock 9 && make -j2 all && make install && make cmake-build) \
      9>"$PGFOLIO_ROOT/build/.build.lock" >"$PGFOLIO_BUILD_LOG" 2>&1; then
    tail -40 "$PGFOLIO_BUILD_LOG"
    say "build failed"
    return 1
  fi
}

# Starts the cluster and creates database pgfolio with the extension, pg_cron and the login
# role pgfolio-http uses. Idempotent.
setup_database() {
  "$PGFOLIO_ROOT/scripts/cluster.sh" start
  pg -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'pgfolio'" | grep -q 1 ||
    pg -d postgres -c "CREATE DATABASE pgfolio"
  pg -d pgfolio <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_cron;
CREATE EXTENSION IF NOT EXISTS pgfolio CASCADE;
DO $$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgfolio_http') THEN
    CREATE ROLE pgfolio_http LOGIN IN ROLE pgfolio_api;
  END IF;
  -- The outbox sender inside pgfolio-http connects as this role (PGFOLIO_SENDER_DATABASE_URL).
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgfolio_worker')
     AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgfolio_sender') THEN
    CREATE ROLE pgfolio_sender LOGIN IN ROLE pgfolio_worker;
  END IF;
  -- The ledger witness inside pgfolio-http connects as this role (PGFOLIO_WITNESS_DATABASE_URL).
  IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgfolio_witness')
     AND NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pgfolio_witness_login') THEN
    CREATE ROLE pgfolio_witness_login LOGIN IN ROLE pgfolio_witness;
  END IF;
END $$;
SET client_min_messages = warning;
SELECT pgfolio.schedule_jobs();
SQL
}

http_running() {
  [ -f "$PGFOLIO_HTTP_PID" ] && kill -0 "$(cat "$PGFOLIO_HTTP_PID")" 2>/dev/null
}

# Exports the development secrets pgfolio-http needs (JWT signing key, TOTP encryption key,
# the ledger witness's Ed25519 key as a 32-byte hex seed), generating them on first use into
# $PGFOLIO_SECRETS (mode 600). A variable the environment already sets wins: production sets
# its own and never uses this file.
load_dev_secrets() {
  if [ ! -s "$PGFOLIO_SECRETS" ]; then
    (
      umask 077
      printf 'PGFOLIO_JWT_SECRET=%s\nPGFOLIO_TOTP_KEY=%s\n' \
        "$(openssl rand -hex 48)" "$(openssl rand -base64 32)" >"$PGFOLIO_SECRETS"
    )
  fi
  # Added to a secrets file made before the witness existed.
  grep -q '^PGFOLIO_WITNESS_KEY=' "$PGFOLIO_SECRETS" ||
    printf 'PGFOLIO_WITNESS_KEY=%s\n' "$(openssl rand -hex 32)" >>"$PGFOLIO_SECRETS"
  local line name
  while IFS= read -r line; do
    name=${line%%=*}  # (read with IFS='=' would drop the base64 padding)
    # A witness key given as a file wins over the development one.
    if [ "$name" = PGFOLIO_WITNESS_KEY ] && [ -n "${PGFOLIO_WITNESS_KEY_FILE:-}" ]; then continue; fi
    if [ -n "$name" ] && [ -z "${!name:-}" ]; then export "$line"; fi
  done <"$PGFOLIO_SECRETS"
}

# The development witness's file, $PGFOLIO_DATA.witness.jsonl, remembers the ledgers of one
# database. A new cluster or a reinstalled extension has other ledgers under the demo's
# portfolio ids, about which the old memory would (rightly) raise alarms: the file is
# started afresh when the database it was kept for (recorded beside it) is not this one.
dev_witness_file() {
  local file=$PGFOLIO_DATA.witness.jsonl database
  database=$(pg -d pgfolio -tAc "SELECT (SELECT system_identifier FROM pg_control_system())
                                        || '/' || (SELECT oid FROM pg_extension
                                                   WHERE extname = 'pgfolio')")
  if [ "$(cat "$file.database" 2>/dev/null)" != "$database" ]; then
    rm -f "$file"
    echo "$database" >"$file.database"
  fi
  echo "$file"
}

# Starts pgfolio-http in the background (restarting it if it runs) and waits until /readyz
# answers 200. The outbox sender delivers through the development file sender into
# $PGFOLIO_DATA.outbox.jsonl, and the ledger witness keeps $PGFOLIO_DATA.witness.jsonl, unless
# the environment says otherwise.
start_http() {
  stop_http
  # In a subshell, so that the secrets and URLs reach pgfolio-http only, not later commands
  # of the caller (make test starts other instances); exec keeps the pid.
  (
    load_dev_secrets
    export PGFOLIO_DATABASE_URL="postgresql://pgfolio_http@127.0.0.1:$PGFOLIO_PGPORT/pgfolio"
    export PGFOLIO_HTTP_ADDRESS=127.0.0.1
    export PGFOLIO_SENDER_DATABASE_URL=${PGFOLIO_SENDER_DATABASE_URL-postgresql://pgfolio_sender@127.0.0.1:$PGFOLIO_PGPORT/pgfolio}
    export PGFOLIO_OUTBOX_FILE=${PGFOLIO_OUTBOX_FILE:-$PGFOLIO_DATA.outbox.jsonl}
    # The ledger witness (docs/witness.md); an empty PGFOLIO_WITNESS_DATABASE_URL turns it off.
    export PGFOLIO_WITNESS_DATABASE_URL=${PGFOLIO_WITNESS_DATABASE_URL-postgresql://pgfolio_witness_login@127.0.0.1:$PGFOLIO_PGPORT/pgfolio}
    if [ -n "$PGFOLIO_WITNESS_DATABASE_URL" ]; then
      export PGFOLIO_WITNESS_FILE=${PGFOLIO_WITNESS_FILE:-$(dev_witness_file)}
    fi
    export PGFOLIO_WITNESS_INTERVAL_SECONDS=${PGFOLIO_WITNESS_INTERVAL_SECONDS:-60}
    exec nohup "$PGFOLIO_ROOT/build/pgfolio-http" >>"$PGFOLIO_HTTP_LOG" 2>&1 </dev/null
  ) &
  echo $! >"$PGFOLIO_HTTP_PID"
  for _ in $(seq 1 100); do
    if curl -fsS "http://127.0.0.1:$PGFOLIO_HTTP_PORT/readyz" >/dev/null 2>&1; then return 0; fi
    http_running || break
    sleep 0.1
  done
  tail -20 "$PGFOLIO_HTTP_LOG"
  say "pgfolio-http did not become ready"
  return 1
}

stop_http() {
  if http_running; then
    local pid
    pid=$(cat "$PGFOLIO_HTTP_PID")
    kill -TERM "$pid"
    # pgfolio-http drains requests in progress for at most 30 s before it exits.
    for _ in $(seq 1 350); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
  fi
  rm -f "$PGFOLIO_HTTP_PID"
}
