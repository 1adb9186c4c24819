#!/bin/bash
# The main job: every set-up step, then the demo on a throwaway cluster
# preloading neural_dag and pg_stat_statements.  A demo schema whose data
# makes PostgreSQL's row estimates wrong by up to 1000x
# (bench/workload/demo_schema.sql) is loaded and enabled for learning; its
# twelve query shapes run in rounds in learn mode, from an empty learned
# state, with ruvector_dag_learn() after each round.  Between rounds the demo
# waits (at most a minute) for shadow exploration to try arms on the
# statements the round captured.  Printed: the stock
# latency (mode off) for reference, each round's total latency and
# decisions, the learned patterns with their statements, a round in apply
# mode (what was learned, without exploration), and the speed-up per shape
# of the last round over the first and of the last round and the apply
# round over stock.  The cluster
# is removed at the end.
#
#   NDAG_DEMO_ROUNDS       rounds (default 8)
#   NDAG_DEMO_REPS         executions of each shape per round (default 3)
#   NDAG_DEMO_EXPLORATION  ruvector.dag_exploration of the demo cluster (default 0.3)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/workload/common.sh
ndag_install_packages
ndag_build_install

rounds=${NDAG_DEMO_ROUNDS:-8}
reps=${NDAG_DEMO_REPS:-3}

wl_cluster_start demo
echo "== throwaway cluster in $WL_DIR (port $WL_PORT), neural_dag and pg_stat_statements preloaded"
echo "== exploration for the demo (the defaults explore more slowly):"
wl_set_guc ruvector.dag_exploration "${NDAG_DEMO_EXPLORATION:-0.3}"

wl_create_db demo
t0=$(date +%s)
echo "== loading the demo schema (bench/workload/demo_schema.sql)"
wl_load demo demo
echo "== loaded in $(($(date +%s) - t0)) s"
wl_psql demo -v ON_ERROR_STOP=1 -f scripts/demo.sql

echo
echo "== for reference, stock PostgreSQL: each shape $reps times with ruvector.dag_mode = off (nothing recorded or changed)"
wl_phase demo demo stock 0 "$reps" off 120s
wl_psql demo -At -c "SELECT 'stock total: ' || round(sum(bench_median(ms))::numeric, 1) || ' ms'
					   FROM bench_result WHERE workload = 'demo' AND phase = 'stock'"

echo
echo "== $rounds rounds in learn mode, each shape $reps times per round; ruvector_dag_learn() after each round"
echo "   (latency: sum over the shapes of the median execution, planning included, as the client sees it)"
for r in $(seq 1 "$rounds"); do
	wl_phase demo demo learn "$r" "$reps" learn 120s
	# a round takes seconds, where a server has hours: the shadow worker
	# (half a CPU while the machine has room) gets the time to try arms on
	# the statements the round captured
	wl_shadow_settle demo 60
	wl_round_line demo demo "$r"
	if [ "$r" -eq 1 ] || [ "$r" -eq "$rounds" ] || [ "$r" -eq $(((rounds + 1) / 2)) ]; then
		wl_psql demo -v round="$r" -f scripts/demo_patterns.sql
	fi
done
echo
echo "== what was learned, frozen: each shape $reps times in apply mode (no exploration, executions still recorded)"
wl_phase demo demo apply 0 "$reps" apply 120s
wl_psql demo -At -c "SELECT 'apply mode total: ' || round(sum(bench_median(ms))::numeric, 1) || ' ms'
					   FROM bench_result WHERE workload = 'demo' AND phase = 'apply'"
wl_psql demo -v rounds="$rounds" -f scripts/demo_summary.sql
