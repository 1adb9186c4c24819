#!/bin/bash
# The share of neural_dag's WAL in the WAL of the workloads of
# bench/workload/ (demo and tpch by default), each in its own database of
# one throwaway cluster whose learner runs at its default interval (it
# flushes the per-statement memory and learns in the background, as in
# production).  Per workload:
#   load    the workload's data load (schema, rows, indexes, ANALYZE) and
#           enabling its tables
#   learn   NDAG_BENCH_ROUNDS passes (default 4) of every query shape in
#           learn mode, each followed by ruvector_dag_learn()
#   apply   NDAG_BENCH_APPLY passes (default 2) in apply mode
#   snap    a CHECKPOINT and the snapshot the learner logs after it
# For each phase: the WAL of the whole cluster (pg_current_wal_insert_lsn
# differences) and neural_dag's part of it (pg_waldump --stats of the
# resource manager); then neural_dag's share of the run's WAL and its
# ratio to the WAL of everything else (the workload's own: its load, the
# harness's rows of latencies, catalog and statistics writes).  The
# workload's passes are read-only queries: against their own WAL alone
# the ratio is not meaningful, the load is what writes.  Prints figures,
# asserts nothing.
#
#   bench/wal_share.sh [demo] [tpch] [tpch2] [skew]
#   NDAG_BENCH_TPCH_SF   scale factor of tpch (default 0.05)
#   NDAG_BENCH_TPCH2_SF  scale factor of tpch2 (default 0.1)
#   NDAG_BENCH_SKEW_ROWS rows of skew's fact table (default 300000)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib_bench.sh
. bench/workload/common.sh

rounds=${NDAG_BENCH_ROUNDS:-4}
apply_rounds=${NDAG_BENCH_APPLY:-2}
sf=${NDAG_BENCH_TPCH_SF:-0.05}
sf2=${NDAG_BENCH_TPCH2_SF:-0.1}
skew_rows=${NDAG_BENCH_SKEW_ROWS:-300000}
workloads=${*:-demo tpch}
rmgr_id=173
timeout=60s

WL_DIR=$(mktemp -d /tmp/neural_dag-walshare.XXXXXX)
chown "$(ndag_pg_user)" "$WL_DIR"
WL_PORT=$(ndag_free_port 57700)
trap wl_cluster_remove EXIT
# WAL kept for pg_waldump: no segment is recycled during the run
ndag_cluster_start "$WL_DIR" "$WL_PORT" "shared_buffers = 256MB
max_wal_size = 4GB
wal_keep_size = 8GB
ruvector.dag_rmgr_id = $rmgr_id"

lsn() { wl_psql postgres -At -c 'SELECT pg_current_wal_insert_lsn()'; }
diff_bytes() { wl_psql postgres -At -c "SELECT pg_wal_lsn_diff('$2', '$1')::bigint"; }
ndag_bytes() { bench_ndag_wal_bytes "$WL_DIR/data/pg_wal" "$rmgr_id" "$1" "$2"; }
pct() { awk -v n="$1" -v t="$2" 'BEGIN { printf "%.3f%%", (t > 0 ? 100 * n / t : 0) }'; }

# phase_line LABEL FROM TO: the WAL of a phase; adds to the run's totals
phase_line() {
	local all ndag
	all=$(diff_bytes "$2" "$3")
	ndag=$(ndag_bytes "$2" "$3")
	run_all=$((run_all + all)) run_ndag=$((run_ndag + ndag))
	printf '  %-6s WAL %11d B, neural_dag %9d B (%s)\n' "$1" "$all" "$ndag" "$(pct "$ndag" "$all")"
}

echo "== neural_dag's share of the WAL ($rounds learn passes, $apply_rounds apply passes; learner at its default interval)"
for w in $workloads; do
	echo "-- $w"
	run_all=0 run_ndag=0
	l0=$(lsn)
	wl_create_db "$w"
	case $w in
	tpch) wl_load "$w" "$w" -v sf="$sf" ;;
	tpch2) wl_load "$w" "$w" -v sf="$sf2" ;;
	skew) wl_load "$w" "$w" -v rows="$skew_rows" ;;
	*) wl_load "$w" "$w" ;;
	esac
	l1=$(lsn)
	phase_line load "$l0" "$l1"
	for r in $(seq 1 "$rounds"); do
		wl_phase "$w" "$w" learn "$r" 1 learn "$timeout"
		wl_psql "$w" -At -c 'SELECT ruvector_dag_learn()' >/dev/null
	done
	l2=$(lsn)
	phase_line learn "$l1" "$l2"
	for r in $(seq 1 "$apply_rounds"); do
		wl_phase "$w" "$w" apply "$r" 1 apply "$timeout"
	done
	l3=$(lsn)
	phase_line apply "$l2" "$l3"
	before=$(wl_psql "$w" -At -c "SELECT coalesce(ruvector_dag_status()->>'snapshot_lsn', '0/0')")
	wl_psql "$w" -c 'CHECKPOINT' >/dev/null
	for _ in $(seq 1 100); do
		[ "$(wl_psql "$w" -At -c "SELECT coalesce(ruvector_dag_status()->>'snapshot_lsn', '0/0')")" != "$before" ] && break
		sleep 0.1
	done
	l4=$(lsn)
	phase_line snap "$l3" "$l4"
	printf '  run    WAL %11d B, neural_dag %9d B: %s of the run'"'"'s WAL, %s of the rest (the workload'"'"'s own)\n' \
		"$run_all" "$run_ndag" "$(pct "$run_ndag" "$run_all")" "$(pct "$run_ndag" $((run_all - run_ndag)))"
done
