# Shared functions of bench/workload.sh and scripts/demo.sh (sourced, not
# run): a throwaway cluster preloading neural_dag and pg_stat_statements, one
# database per workload, and phases that run every query shape of a workload
# a number of times and keep the latencies in bench_result.
#
# Every measurement is a bench_run() call (bench/workload/harness.sql): the
# statement runs through PL/pgSQL EXECUTE, so it is planned at every
# execution, and its latency is taken with clock_timestamp() around it.

WL_DIR=""
WL_PORT=""

# wl_cluster_start NAME: initdb and start a throwaway cluster; sets WL_DIR and
# WL_PORT and removes the cluster when the calling shell exits
wl_cluster_start() {
	WL_DIR=$(mktemp -d "/tmp/neural_dag-$1.XXXXXX")
	chown "$(ndag_pg_user)" "$WL_DIR"
	WL_PORT=$(ndag_free_port 57500)
	trap 'ndag_cluster_stop "$WL_DIR"; rm -rf "$WL_DIR"' EXIT
	ndag_cluster_start "$WL_DIR" "$WL_PORT" "shared_buffers = 512MB
max_wal_size = 4GB
pg_stat_statements.track = all
pg_stat_statements.track_planning = on"
}

# wl_psql DB ARGS...: psql on the throwaway cluster, unaligned, quiet
wl_psql() {
	local db=$1
	shift
	as_pg psql -X -q -h "$WL_DIR" -p "$WL_PORT" -U postgres -d "$db" "$@"
}

# wl_create_db DB: a database with neural_dag, pg_stat_statements and the harness
wl_create_db() {
	wl_psql postgres -c "CREATE DATABASE $1" >/dev/null
	wl_psql "$1" -v ON_ERROR_STOP=1 -c "CREATE EXTENSION neural_dag" \
		-c "CREATE EXTENSION pg_stat_statements" -f bench/workload/harness.sql >/dev/null
}

# wl_load DB WORKLOAD [PSQL ARGS]: create and fill the workload's schema, its
# query shapes (with their queryIds), and enable its tables for learning
wl_load() {
	local db=$1 workload=$2
	shift 2
	wl_psql "$db" -v ON_ERROR_STOP=1 "$@" -f "bench/workload/${workload}_schema.sql" \
		-f "bench/workload/${workload}_queries.sql" >/dev/null 2>&1 ||
		{ echo "loading workload $workload failed" >&2; return 1; }
	wl_psql "$db" -v ON_ERROR_STOP=1 -c "SELECT bench_enable_tables('$workload')" >/dev/null
}

# wl_phase DB WORKLOAD PHASE ROUND REPS MODE TIMEOUT [ORACLE]: one session in
# ruvector.dag_mode MODE that runs every shape REPS times (each shape one
# statement, bounded by TIMEOUT) and stores the latencies as (PHASE, ROUND);
# with ORACLE = oracle, every enabled arm but the default is applied to
# every shape instead.  A statement that fails or times out stores nothing.
# WL_EXTRA_SET, when set, is run at the start of the session (SET commands).
wl_phase() {
	local db=$1 workload=$2 phase=$3 round=$4 reps=$5 mode=$6 timeout=$7 oracle=${8:-}
	local script
	script=$(wl_psql "$db" -At -v w="$workload" -v p="$phase" -v r="$round" -v n="$reps" \
		-v o="$oracle" <<'SQL'
SELECT format($f$INSERT INTO bench_result SELECT %L, %s, workload, shape, %L, bench_run(query, %L, %s)
  FROM bench_shape WHERE workload = %L AND shape = %L;$f$,
			  :'p', :r, a.name, a.settings, :n, s.workload, s.shape)
  FROM bench_shape s,
	   (SELECT name, settings, arm_id FROM ndag_arms
		 WHERE :'o' = 'oracle' AND enabled AND settings <> ''
		UNION ALL SELECT '', '', -1 WHERE :'o' <> 'oracle') a
 WHERE s.workload = :'w'
 ORDER BY s.shape, a.arm_id;
SQL
	)
	{
		echo "SET ruvector.dag_mode = $mode;"
		echo "SET statement_timeout = '$timeout';"
		[ -n "${WL_EXTRA_SET:-}" ] && echo "$WL_EXTRA_SET"
		echo "INSERT INTO bench_phase VALUES ('$phase', $round, clock_timestamp());"
		echo "$script"
	} | wl_psql "$db" 2>"$WL_DIR/phase.err" >/dev/null || true
	if grep -q ERROR "$WL_DIR/phase.err"; then
		echo "   ($phase $round: $(grep -c ERROR "$WL_DIR/phase.err") statements failed or timed out:" \
			"$(grep ERROR "$WL_DIR/phase.err" | sed 's/^psql:[^ ]* //' | sort | uniq -c | head -3 | tr -s ' ' | tr '\n' ';'))"
	fi
}

# wl_set_guc NAME VALUE: ALTER SYSTEM SET NAME = VALUE and reload, if the
# server knows NAME (says so either way)
wl_set_guc() {
	if [ "$(wl_psql postgres -At -c "SELECT count(*) FROM pg_settings WHERE name = '$1'")" = 1 ]; then
		wl_psql postgres -c "ALTER SYSTEM SET $1 = '$2'" -c "SELECT pg_reload_conf()" >/dev/null
		echo "== $1 = $2 for this cluster"
	else
		echo "== (this server has no setting $1; not set)"
	fi
}

# wl_round_line DB WORKLOAD ROUND: run a learning cycle and print one line:
# the round's total latency (sum of the shapes' medians), the decisions
# taken in the round and what the cycle did
wl_round_line() {
	local db=$1 workload=$2 round=$3 learned
	learned=$(wl_psql "$db" -At -c "
		SELECT 'patterns ' || coalesce(j->>'patterns', '?') || ' (+' || coalesce(j->>'patterns_created', '?') ||
			   '), trajectories ' || coalesce(j->>'trajectories', '?')
		  FROM (SELECT ruvector_dag_learn() AS j) s" 2>&1 | tail -1) || true
	wl_psql "$db" -At -v w="$workload" -v r="$round" -v learned="$learned" <<'SQL' ||
WITH tot AS (
	SELECT sum(bench_median(ms)) AS ms, count(*) AS shapes
	  FROM bench_result WHERE workload = :'w' AND phase = 'learn' AND round = :r
),
stock AS (
	SELECT sum(bench_median(ms)) AS ms FROM bench_result WHERE workload = :'w' AND phase = 'stock'
),
dec AS (
	SELECT string_agg(d || ' ' || n, ', ' ORDER BY d) AS s
	  FROM (SELECT coalesce(t.decision, '?') AS d, count(*) AS n
			  FROM ndag_trajectories t JOIN bench_shape b ON b.query_id = t.query_id
			 WHERE t.recorded_at >= (SELECT max(started_at) FROM bench_phase
									  WHERE phase = 'learn' AND round = :r)
			 GROUP BY 1) x
)
SELECT format('round %s: total %s ms%s (%s/%s shapes measured) | decisions: %s | learned: %s',
			  :r, round(tot.ms::numeric, 1), ', stock ' || round(stock.ms::numeric, 1) || ' ms', tot.shapes,
			  (SELECT count(*) FROM bench_shape WHERE workload = :'w'),
			  coalesce(dec.s, 'none recorded'), :'learned')
  FROM tot, stock, dec;
SQL
		echo "round $round: the round's figures could not be read"
}

# wl_plan_times DB WORKLOAD N: median planning time of every shape over N
# plannings, in mode off and in mode apply
wl_plan_times() {
	local db=$1 workload=$2 n=$3
	for mode in off apply; do
		wl_psql "$db" -v ON_ERROR_STOP=1 -c "SET ruvector.dag_mode = $mode" -c "
			INSERT INTO bench_plan
			SELECT workload, shape, '$mode', bench_plan_ms(query, $n)
			  FROM bench_shape WHERE workload = '$workload'" >/dev/null
	done
}
