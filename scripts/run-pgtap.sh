#!/bin/bash
# Run the pgTAP suites t/*.sql with pg_prove against a throwaway cluster
# that preloads neural_dag.  Runs as the PostgreSQL user.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
dir=$(mktemp -d /tmp/neural_dag-pgtap.XXXXXX)
port=$(ndag_free_port 56432)
trap 'ndag_cluster_stop "$dir"; rm -rf "$dir"' EXIT
ndag_cluster_start "$dir" "$port"
psql -X -q -h "$dir" -p "$port" -U postgres -d postgres \
	-c "CREATE DATABASE ndag_tap" >/dev/null
psql -X -q -h "$dir" -p "$port" -U postgres -d ndag_tap -v ON_ERROR_STOP=1 \
	-c "CREATE EXTENSION pgtap" -c "CREATE EXTENSION neural_dag" >/dev/null
pg_prove -h "$dir" -p "$port" -U postgres -d ndag_tap t/*.sql
