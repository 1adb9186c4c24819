#!/bin/bash
# The workload benchmark (make bench-workload), from an empty learned state
# at the server's default settings, on four workloads, each in its own
# database of one throwaway cluster (a workload's per-statement memory is
# reset once it is measured, and the next one starts learning once shadow
# exploration is idle and its account of shadow time out of debt, so that
# one workload's learning does not spend the next one's shadow time):
#   demo   skewed, correlated data on which PostgreSQL's estimates are wrong
#   tpch   a TPC-H-like workload not tuned to the extension, one parameter
#          set per template
#   tpch2  the same generator at a larger scale, more templates, each with
#          two parameter sets (two statements of one queryId)
#   skew   a Zipf-skewed fact table joined to others, templates whose best
#          plan depends on the constant, three constants per template
# Each is measured as
#   (a) stock: ruvector.dag_mode = off (the planner hook changes nothing),
#   (b) oracle: every enabled arm of ndag_arms applied to every statement
#       with SET, the arms of a statement taking turns, the fastest of the
#       default and the arms whose plan differs from the default's kept,
#   (c) neural_dag learning from scratch: passes in learn mode, each
#       execution followed or preceded by the same statement as stock, with
#       ruvector_dag_learn() after each pass, then apply mode taking turns
#       with stock (recorded, and not recorded) and with the arm (b) chose
#       (the oracle's latency: that arm measured with the others), once
#       shadow exploration has taken what the passes captured (the wait is
#       printed, bounded by NDAG_BENCH_STEADY_WAIT); the shadow pairs and
#       time spent during those runs are printed too.
# Per pass it prints the users' total against the stock total of the same
# pass, the worst single learn-mode execution against its statement's stock
# median (and the arm it ran) next to the worst stock execution of the pass
# against the same medians (the machine's own noise), the worst learn-mode
# execution against the stock run of the same statement right before or
# after it, and the growth of the shadow_* counters of
# ruvector_dag_status() and of the finals' (final_runs, finals_won,
# finals_lost: proven arms compared in the users' executions) ("n/a" when
# the server has none); over all passes, the learn-mode executions over 1.5x
# their statement's stock median against the stock runs that were.  At
# steady state: speed-up, fraction of the oracle's gain, and the statements
# over 1.1x slower than stock after rechecking each with more pairs taking
# turns.
# Every figure is a median of several executions; what is compared is
# measured taking turns so that a change of the machine's load does not
# pass for a gain or a loss.  Prints numbers, asserts none.
#
#   bench/workload.sh [demo] [tpch] [tpch2] [skew]   workloads (default all four)
#   NDAG_BENCH_QUICK        1: fewer turns and passes, small data (all four in
#                           about 15 min on 2 cores); the knobs below still win
#   NDAG_BENCH_REPS         turns of stock and apply executions per statement (default 6; quick 3)
#   NDAG_BENCH_RECHECKS     more stock/apply pairs per apparent regression (default 5)
#   NDAG_BENCH_ORACLE_REPS  executions per statement and arm in the oracle (default 3; quick 1)
#   NDAG_BENCH_ROUNDS       learn passes (default 8; quick 4)
#   NDAG_BENCH_ROUND_REPS   learn-mode executions per statement in a pass, each
#                           paired with a stock one, which of the two runs first
#                           alternating (default 2: each order once)
#   NDAG_BENCH_PLANS        plannings per statement for the planning time (default 30; quick 5)
#   NDAG_BENCH_TPCH_SF      scale factor of the tpch data (default 0.1; quick 0.05)
#   NDAG_BENCH_TPCH2_SF     scale factor of the tpch2 data (default 1: a pass, its 32 statements
#                           in learn mode and as stock, took 101 s on 2 cores, the load 3 to
#                           4 min; quick 0.1)
#   NDAG_BENCH_SKEW_ROWS    rows of the skew workload's fact table (default 2000000; quick 300000)
#   NDAG_BENCH_TIMEOUT      statement timeout of an oracle run of one arm (default 10s; quick 5s)
#   NDAG_BENCH_RUN_TIMEOUT  statement timeout of every other execution (default 120s; quick 30s)
#   NDAG_BENCH_GUCS         server settings for the cluster, "name=value" separated
#                           by spaces or semicolons, e.g.
#                           NDAG_BENCH_GUCS="ruvector.dag_exploration_mode=inline"
#                           (a setting this server does not know is reported and skipped)
#   NDAG_BENCH_EXPLORATION  ruvector.dag_exploration (default: the server's)
#   NDAG_BENCH_SHADOW_WAIT  seconds to wait at most after each pass for shadow
#                           exploration to take what the pass captured (default 0:
#                           passes follow each other, shadow runs beside them only)
#   NDAG_BENCH_STEADY_WAIT  seconds to wait at most after the last pass, before the steady state is
#                           measured, for shadow exploration to take what the passes captured
#                           (default 120; 0: measure at once, while it may still run)
#   NDAG_BENCH_LOAD         CPU-burning processes kept running for the whole run
#                           (default 0), e.g. 4: learning under a sustained load
#   NDAG_BENCH_LOAD_VARY    a load that changes for the whole run, "MAX:PERIOD[:SEED]": between 0
#                           and MAX CPU-burning processes, their number drawn again every PERIOD
#                           seconds (from SEED, default 1), e.g. 4:20 (on 2 cores, from an idle
#                           machine to three times oversubscribed and back, several times a pass)
#   NDAG_BENCH_SERVER_LOG   file the server log is copied to when the cluster is removed
#                           (default: not kept)
#   NDAG_BENCH_CONF         more postgresql.conf lines for the cluster (log_min_messages = debug1
#                           logs each shadow run's candidates and outcome, debug2 also each
#                           pair it measured)
#   NDAG_PG_BIN             PostgreSQL binaries to use (scripts/lib.sh); the
#                           extension must be installed there
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/workload/common.sh

if [ "${NDAG_BENCH_QUICK:-0}" = 1 ]; then
	q_reps=3 q_oracle_reps=1 q_rounds=4 q_plans=5 q_sf=0.05 q_sf2=0.1 q_skew=300000 q_timeout=5s q_run_timeout=30s
else
	q_reps=6 q_oracle_reps=3 q_rounds=8 q_plans=30 q_sf=0.1 q_sf2=1 q_skew=2000000 q_timeout=10s q_run_timeout=120s
fi
reps=${NDAG_BENCH_REPS:-$q_reps}
rechecks=${NDAG_BENCH_RECHECKS:-5}
oracle_reps=${NDAG_BENCH_ORACLE_REPS:-$q_oracle_reps}
rounds=${NDAG_BENCH_ROUNDS:-$q_rounds}
round_reps=${NDAG_BENCH_ROUND_REPS:-2}
plans=${NDAG_BENCH_PLANS:-$q_plans}
sf=${NDAG_BENCH_TPCH_SF:-$q_sf}
sf2=${NDAG_BENCH_TPCH2_SF:-$q_sf2}
skew_rows=${NDAG_BENCH_SKEW_ROWS:-$q_skew}
timeout=${NDAG_BENCH_TIMEOUT:-$q_timeout}
run_timeout=${NDAG_BENCH_RUN_TIMEOUT:-$q_run_timeout}
steady_wait=${NDAG_BENCH_STEADY_WAIT:-120}
workloads=${*:-demo tpch tpch2 skew}
started=$(date +%s)

wl_cluster_start bench
if [ -n "${NDAG_BENCH_EXPLORATION:-}" ]; then
	wl_set_guc ruvector.dag_exploration "$NDAG_BENCH_EXPLORATION"
fi
if [ -n "${NDAG_BENCH_GUCS:-}" ]; then
	wl_set_gucs "$NDAG_BENCH_GUCS"
fi
if [ "${NDAG_BENCH_LOAD:-0}" -gt 0 ]; then
	wl_load_start "$NDAG_BENCH_LOAD"
	echo "== $NDAG_BENCH_LOAD CPU-burning processes run beside the workload until the end"
fi
if [ -n "${NDAG_BENCH_LOAD_VARY:-}" ]; then
	IFS=: read -r vary_max vary_period vary_seed <<<"$NDAG_BENCH_LOAD_VARY"
	wl_load_vary "$vary_max" "$vary_period" "${vary_seed:-1}"
	echo "== between 0 and $vary_max CPU-burning processes, drawn again every $vary_period s, run beside" \
		"the workload until the end"
fi
echo "== throwaway cluster in $WL_DIR (port $WL_PORT), neural_dag and pg_stat_statements preloaded," \
	"$(wl_psql postgres -At -c "SELECT count(*) FROM pg_settings WHERE name LIKE 'ruvector.%' AND source <> 'default'")" \
	"ruvector.* settings not at their default"

for w in $workloads; do
	echo
	echo "======== workload $w"
	wl_create_db "$w"
	t0=$(date +%s)
	case $w in
	tpch) wl_load "$w" "$w" -v sf="$sf" ;;
	tpch2) wl_load "$w" "$w" -v sf="$sf2" ;;
	skew) wl_load "$w" "$w" -v rows="$skew_rows" ;;
	*) wl_load "$w" "$w" ;;
	esac
	echo "== loaded in $(($(date +%s) - t0)) s: $(wl_psql "$w" -At -c "
		SELECT string_agg(relname || ' ' || reltuples::bigint, ', ' ORDER BY reltuples DESC)
		  FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind = 'r'
		   AND relname NOT LIKE 'bench\_%'")"
	wl_psql "$w" -At -c "SELECT count(*) || ' statements, ' || count(DISTINCT query_id) || ' queryIds'
						   FROM bench_shape WHERE workload = '$w'"

	wl_phase "$w" "$w" warmup 0 1 off "$run_timeout"
	echo "== stock before learning: $reps executions per statement, ruvector.dag_mode = off"
	wl_phase "$w" "$w" baseline 0 "$reps" off "$run_timeout"
	wl_psql "$w" -At -c "SELECT 'total ' || round(sum(ms)::numeric, 1) || ' ms' FROM bench_med
						  WHERE workload = '$w' AND phase = 'baseline'"
	echo "== (b) oracle: every arm on every statement, the arms of a statement taking turns, $oracle_reps times, timeout $timeout"
	wl_phase "$w" "$w" oracle 0 "$oracle_reps" off "$timeout" oracle
	wl_psql "$w" -c "SET ruvector.dag_mode = off" -c "SELECT bench_record_arm_plans('$w')" >/dev/null
	wl_psql "$w" -v w="$w" -f bench/workload/oracle.sql

	# the shadow time an earlier workload spent is not this one's to wait for
	t0=$SECONDS
	wl_shadow_idle "$w" 120 account
	echo "== shadow exploration idle, its account out of debt, after $((SECONDS - t0)) s"
	echo "== (c) neural_dag from scratch: $rounds passes, each statement $round_reps time(s) in learn mode taking"
	echo "   turns with stock, ruvector_dag_learn() after each pass"
	for r in $(seq 1 "$rounds"); do
		wl_pass "$w" "$w" "$r" "$round_reps" "$run_timeout"
		if [ "${NDAG_BENCH_SHADOW_WAIT:-0}" -gt 0 ]; then
			wl_shadow_settle "$w" "$NDAG_BENCH_SHADOW_WAIT"
		fi
		wl_pass_line "$w" "$w" "$r"
	done
	if [ "$steady_wait" -gt 0 ]; then
		echo "== steady state: waiting (at most $steady_wait s) for shadow exploration to take what the passes captured"
		wl_shadow_settle "$w" "$steady_wait"
	fi
	echo "== (a) stock and (c) apply mode, taking turns: $reps times each statement as stock (mode off), in apply"
	echo "   mode recorded, in apply mode not recorded (ruvector.dag_sample_rate = 0: the plans' own"
	echo "   gain, without the per-node timing of recorded executions), and under the arm (b) chose"
	pairs_before=$(wl_shadow_figure "$w" shadow_pairs)
	shadow_ms_before=$(wl_shadow_figure "$w" shadow_ms)
	wl_paired "$w" "$w" "$reps" "$run_timeout"
	echo "   shadow exploration meanwhile:" \
		"$(($(wl_shadow_figure "$w" shadow_pairs) - pairs_before)) pairs," \
		"$(($(wl_shadow_figure "$w" shadow_ms) - shadow_ms_before)) ms"
	wl_recheck "$w" "$w" "$rechecks" "$run_timeout"
	echo "== planning time: median of $plans plannings (EXPLAIN) per statement, mode off and apply"
	wl_plan_times "$w" "$w" "$plans"
	wl_psql "$w" -v w="$w" -v summary="$WL_DIR/summary.$w" -f bench/workload/report.sql
	# its statements still waiting for shadow runs would take the shadow
	# worker's time from the next workload's learning: forget them
	wl_psql "$w" -At -c "SELECT ruvector_dag_reset('queries')" >/dev/null
	echo "== workload $w done after $(($(date +%s) - started)) s"
done

echo
echo "======== summary (apply = apply mode recorded; gain share = (stock - apply) / (stock - oracle);"
echo "         slower = statements > 1.1x stock after rechecks; users/stock = first / last pass;"
echo "         worst = worst learn-mode execution / its stock median, statement and pass, and in"
echo "         brackets the worst stock execution of any pass / its stock median: the machine's noise;"
echo "         worst pair = worst learn-mode execution / the stock run of the same statement right before"
echo "         or after it, and its pass; shadow = the shadow worker's runs over all passes: their"
echo "         wall-clock and CPU time and the pairs they gave)"
{
	echo "workload|statements|stock ms|apply ms|speed-up|oracle|gain share|slower|users/stock|worst|worst pair|shadow"
	for w in $workloads; do
		cat "$WL_DIR/summary.$w" 2>/dev/null || echo "$w|figures missing"
	done
} | if command -v column >/dev/null; then column -t -s '|'; else tr '|' '\t'; fi
echo "== $(($(date +%s) - started)) s in all"
