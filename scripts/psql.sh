#!/usr/bin/env bash
# `make psql`: a psql session on pgfolio's cluster as the superuser.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
exec psql -h 127.0.0.1 -p "$PGFOLIO_PGPORT" -U postgres pgfolio
