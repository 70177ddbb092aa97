#!/usr/bin/env bash
# `make run`: build and install, start the cluster with the extension and demo data, start
# pgfolio-http, and print what to try. Safe to run again.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

build_and_install
setup_database >/dev/null
pg -d pgfolio -f "$PGFOLIO_ROOT/demo/demo.sql" >/dev/null
start_http

# The stop and psql lines must reach this instance, not the default one.
overrides=""
[ "$PGFOLIO_PGPORT" = 5499 ] || overrides+="PGFOLIO_PGPORT=$PGFOLIO_PGPORT "
[ "$PGFOLIO_HTTP_PORT" = 8080 ] || overrides+="PGFOLIO_HTTP_PORT=$PGFOLIO_HTTP_PORT "
[ "$PGFOLIO_DATA" = "/var/tmp/pgfolio-$PGFOLIO_PGPORT" ] || overrides+="PGFOLIO_DATA=$PGFOLIO_DATA "

cat <<EOF

pgfolio is running.
  PostgreSQL  127.0.0.1:$PGFOLIO_PGPORT, database pgfolio (data in $PGFOLIO_DATA)
  HTTP        http://127.0.0.1:$PGFOLIO_HTTP_PORT (log: $PGFOLIO_HTTP_LOG)

Try:
  curl -s http://127.0.0.1:$PGFOLIO_HTTP_PORT/api/v1/prices/RELIANCE
  psql -h 127.0.0.1 -p $PGFOLIO_PGPORT -U postgres pgfolio -c "SELECT pgfolio.portfolio_valuation('10000000-0000-4000-8000-000000000002')"
  curl -s -X POST -H 'Content-Type: application/json' -d '{"email": "asha@example.com", "password": "pgfolio-demo-password"}' http://127.0.0.1:$PGFOLIO_HTTP_PORT/api/v1/auth/login

Demo logins: asha@example.com and meera@example.com, password pgfolio-demo-password; send the
accessToken as "Authorization: Bearer <token>", e.g. to /api/v1/profile.

Stop with: ${overrides}make stop    Open psql with: ${overrides}make psql
EOF
