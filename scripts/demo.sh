#!/bin/bash
# The main job: every set-up step, then a throwaway cluster preloading
# neural_dag, a demo table enabled for learning, and the learned state shown
# through the foreign tables.  The cluster is removed at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ndag_install_packages
ndag_build_install

dir=$(mktemp -d /tmp/neural_dag-demo.XXXXXX)
[ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
port=$(ndag_free_port 57432)
trap 'ndag_cluster_stop "$dir"; rm -rf "$dir"' EXIT
ndag_cluster_start "$dir" "$port" "pg_stat_statements.track = all"
echo "== throwaway cluster in $dir (port $port), neural_dag preloaded"

psql_demo() {
	as_pg psql -X -q -h "$dir" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 "$@"
}

psql_demo -f scripts/demo.sql
