#!/usr/bin/env bash
# `make stop`: stops pgfolio-http and the cluster that `make run` started.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
stop_http
"$PGFOLIO_ROOT/scripts/cluster.sh" stop
say "stopped"
