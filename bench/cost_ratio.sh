#!/bin/bash
# How an arm plan's estimated cost over the default plan's foretells its
# latency over the default's, on the demo and TPC-H-like workloads of
# bench/workload.sh (one throwaway cluster, every built-in arm SET for
# every shape): the measurement behind the default of
# ruvector.dag_explore_max_cost_ratio.  Prints numbers, asserts none.
#   NDAG_BENCH_TPCH_SF  scale factor of the TPC-H-like data (default 0.05)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/workload/common.sh

sf=${NDAG_BENCH_TPCH_SF:-0.05}
wl_cluster_start cost-ratio
for w in demo tpch; do
	echo "== $w"
	wl_create_db "$w"
	wl_load "$w" "$w" -v sf="$sf"
	wl_psql "$w" -c "ANALYZE" >/dev/null
	wl_psql "$w" -f bench/workload/cost_ratio.sql
done
