#!/usr/bin/env bash
# Manages pgfolio's own PostgreSQL 15 cluster: init | start | stop | status | destroy.
#   PGFOLIO_DATA    data directory (default /var/tmp/pgfolio-$PGFOLIO_PGPORT); the postgres
#                   system user must reach it, which a checkout under /root is not.
#   PGFOLIO_PGPORT  port on 127.0.0.1 (default 5499)
# The server runs as the 'postgres' system user because PostgreSQL refuses to run as root.
set -euo pipefail
port=${PGFOLIO_PGPORT:-5499}
data=${PGFOLIO_DATA:-/var/tmp/pgfolio-$port}
bin=/usr/lib/postgresql/15/bin
log="$data.log"

as_postgres() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

init() {
  if [ -f "$data/PG_VERSION" ]; then return 0; fi
  mkdir -p "$data"
  chown postgres:postgres "$data"
  chmod 700 "$data"
  as_postgres "$bin/initdb" -D "$data" -U postgres --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=trust >/dev/null
  cat >>"$data/postgresql.conf" <<CONF
# pgfolio: set by scripts/cluster.sh
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '/var/run/postgresql'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'pgfolio'
track_functions = 'all'
max_connections = 200
logging_collector = off
log_line_prefix = '%m [%p] %q%u@%d '
CONF
}

start() {
  init
  mkdir -p /var/run/postgresql && chown postgres:postgres /var/run/postgresql
  touch "$log" && chown postgres:postgres "$log"
  if as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then return 0; fi
  as_postgres "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null
}

stop() {
  [ -f "$data/PG_VERSION" ] || return 0
  if as_postgres "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
    as_postgres "$bin/pg_ctl" -D "$data" -m fast -w -t 60 stop >/dev/null
  fi
}

case "${1:-}" in
  init) init ;;
  start) start ;;
  stop) stop ;;
  status) as_postgres "$bin/pg_ctl" -D "$data" status ;;
  destroy) stop; rm -rf "$data" "$log" ;;
  log) echo "$log" ;;
  *) echo "usage: $0 init|start|stop|status|destroy|log" >&2; exit 2 ;;
esac
