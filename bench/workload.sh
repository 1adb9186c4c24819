#!/bin/bash
# The workload benchmark (make bench-workload): the demo workload (skewed,
# correlated data on which PostgreSQL's estimates are wrong) and a TPC-H-like
# workload not tuned to the extension, each in its own database of one
# throwaway cluster, each measured as
#   (a) stock: ruvector.dag_mode = off (the planner hook changes nothing),
#   (b) oracle: every enabled arm of ndag_arms applied to every shape with SET,
#       the fastest per shape,
#   (c) neural_dag learning from scratch: rounds in learn mode with
#       ruvector_dag_learn() after each, then apply mode, recording every
#       execution (the default sample rate) and not recording any,
# where (a) and the apply runs of (c) take turns shape by shape, and the
# arms of (b) take turns, so that the machine's load changing over the
# minutes of a run does not pass for a gain or a loss.
# and reported as total time, speed-up versus stock, fraction of the
# oracle's gain, worst per-shape slowdown, planning time added, rounds to
# converge.  Every figure is the median of several executions of a shape.
# Prints numbers, asserts none.
#
#   bench/workload.sh [demo] [tpch]   workloads to run (default both)
#   NDAG_BENCH_REPS         turns of stock and apply executions per shape (default 6)
#   NDAG_BENCH_ORACLE_REPS  executions per shape and arm in the oracle (default 3)
#   NDAG_BENCH_ROUNDS       learn-mode rounds (default 8)
#   NDAG_BENCH_ROUND_REPS   executions per shape in a round (default 3)
#   NDAG_BENCH_PLANS        plannings per shape for the planning time (default 30)
#   NDAG_BENCH_TPCH_SF      scale factor of the TPC-H-like data (default 0.1)
#   NDAG_BENCH_TIMEOUT      statement timeout of an oracle run of one arm (default 10s)
#   NDAG_BENCH_EXPLORATION  ruvector.dag_exploration in learn mode (default: the server's)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/workload/common.sh

reps=${NDAG_BENCH_REPS:-6}
oracle_reps=${NDAG_BENCH_ORACLE_REPS:-3}
rounds=${NDAG_BENCH_ROUNDS:-8}
round_reps=${NDAG_BENCH_ROUND_REPS:-3}
plans=${NDAG_BENCH_PLANS:-30}
sf=${NDAG_BENCH_TPCH_SF:-0.1}
timeout=${NDAG_BENCH_TIMEOUT:-10s}
workloads=${*:-demo tpch}

wl_cluster_start bench
if [ -n "${NDAG_BENCH_EXPLORATION:-}" ]; then
	wl_set_guc ruvector.dag_exploration "$NDAG_BENCH_EXPLORATION"
fi
echo "== throwaway cluster in $WL_DIR (port $WL_PORT), neural_dag and pg_stat_statements preloaded"

for w in $workloads; do
	echo
	echo "======== workload $w"
	wl_create_db "$w"
	t0=$(date +%s)
	wl_load "$w" "$w" -v sf="$sf"
	echo "== loaded in $(($(date +%s) - t0)) s: $(wl_psql "$w" -At -c "
		SELECT string_agg(relname || ' ' || reltuples::bigint, ', ' ORDER BY reltuples DESC)
		  FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
		   AND relname NOT LIKE 'bench\_%'")"
	wl_psql "$w" -At -c "SELECT count(*) || ' query shapes' FROM bench_shape WHERE workload = '$w'"

	wl_phase "$w" "$w" warmup 0 1 off 120s
	echo "== stock before learning: $reps executions per shape, ruvector.dag_mode = off"
	wl_phase "$w" "$w" baseline 0 "$reps" off 120s
	wl_psql "$w" -At -c "SELECT 'total ' || round(sum(ms)::numeric, 1) || ' ms' FROM bench_med
						  WHERE workload = '$w' AND phase = 'baseline'"
	echo "== (b) oracle: every arm on every shape, the arms of a shape taking turns, $oracle_reps times, timeout $timeout"
	wl_phase "$w" "$w" oracle 0 "$oracle_reps" off "$timeout" oracle
	wl_psql "$w" -v w="$w" -f bench/workload/oracle.sql

	echo "== (c) neural_dag from scratch: $rounds rounds in learn mode ($round_reps executions per shape), ruvector_dag_learn() after each"
	for r in $(seq 1 "$rounds"); do
		wl_phase "$w" "$w" learn "$r" "$round_reps" learn 120s
		wl_round_line "$w" "$w" "$r"
	done
	echo "== (a) stock and (c) apply mode, taking turns: $reps times each shape as stock (mode off), in apply"
	echo "   mode recorded, and in apply mode not recorded (ruvector.dag_sample_rate = 0: the plans' own"
	echo "   gain, without the per-node timing of recorded executions)"
	wl_paired "$w" "$w" "$reps" 120s
	echo "== planning time: median of $plans plannings (EXPLAIN) per shape, mode off and apply"
	wl_plan_times "$w" "$w" "$plans"
	wl_psql "$w" -v w="$w" -f bench/workload/report.sql
done
