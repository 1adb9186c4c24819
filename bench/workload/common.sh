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
	trap wl_cluster_remove EXIT
	ndag_cluster_start "$WL_DIR" "$WL_PORT" "shared_buffers = 512MB
max_wal_size = 4GB
pg_stat_statements.track = all
pg_stat_statements.track_planning = on"
}

# wl_cluster_remove: stop and remove the throwaway cluster; first print what
# its server log says about server processes that crashed, if any
wl_cluster_remove() {
	if grep -q "terminated by signal\|TRAP:\|PANIC" "$WL_DIR/server.log" 2>/dev/null; then
		echo "== the server log of this run reports crashes:"
		grep -B3 -A3 "terminated by signal\|TRAP:\|PANIC" "$WL_DIR/server.log" | head -40
	fi
	ndag_cluster_stop "$WL_DIR"
	rm -rf "$WL_DIR"
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
# with ORACLE = oracle, every enabled arm (the default included) is applied
# to every shape instead, the arms of a shape taking turns, one execution
# each, REPS times, so that a change of the machine's load in the meantime
# hits all of them alike.  A statement that fails or times out stores
# nothing.
# WL_EXTRA_SET, when set, is run at the start of the session (SET commands).
wl_phase() {
	local db=$1 workload=$2 phase=$3 round=$4 reps=$5 mode=$6 timeout=$7 oracle=${8:-}
	local script
	script=$(wl_psql "$db" -At -v w="$workload" -v p="$phase" -v r="$round" -v n="$reps" \
		-v o="$oracle" <<'SQL'
SELECT format($f$INSERT INTO bench_result SELECT %L, %s, workload, shape, %L, bench_run(query, %L, %s)
  FROM bench_shape WHERE workload = %L AND shape = %L;$f$,
			  :'p', :r, a.name, a.settings, CASE WHEN :'o' = 'oracle' THEN 1 ELSE :n END,
			  s.workload, s.shape)
  FROM bench_shape s,
	   generate_series(1, CASE WHEN :'o' = 'oracle' THEN :n ELSE 1 END) rep,
	   (SELECT name, settings, arm_id FROM ndag_arms
		 WHERE :'o' = 'oracle' AND enabled
		UNION ALL SELECT '', '', -1 WHERE :'o' <> 'oracle') a
 WHERE s.workload = :'w'
 ORDER BY s.shape, rep, a.arm_id;
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
	SELECT sum(ms) AS ms, count(*) AS shapes
	  FROM bench_med WHERE workload = :'w' AND phase = 'learn' AND round = :r
),
stock AS (
	SELECT sum(ms) AS ms FROM bench_med
	 WHERE workload = :'w' AND phase = (SELECT min(phase) FROM bench_med
										 WHERE workload = :'w' AND phase IN ('baseline', 'stock'))
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
			  :r, round(tot.ms::numeric, 1), ', stock before learning ' || round(stock.ms::numeric, 1) || ' ms', tot.shapes,
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

# wl_paired DB WORKLOAD REPS TIMEOUT: the final comparison, REPS turns in one
# session; in each turn every shape runs once as stock (mode off), once in
# apply mode recorded and once in apply mode not recorded
# (ruvector.dag_sample_rate = 0), one right after the other (the three in
# an order that rotates from turn to turn), so that they are compared under
# the same load.  Stored as phases stock, apply and
# apply_norec.
wl_paired() {
	local db=$1 workload=$2 reps=$3 timeout=$4
	local script
	script=$(wl_psql "$db" -At -v w="$workload" -v n="$reps" <<'SQL'
WITH run(k, sql) AS (VALUES
	(0, $f$SET ruvector.dag_mode = off;
INSERT INTO bench_result SELECT 'stock', 0, workload, shape, '', bench_run(query, '', 1)
  FROM bench_shape WHERE workload = %1$L AND shape = %2$L;$f$),
	(1, $f$SET ruvector.dag_mode = apply;
INSERT INTO bench_result SELECT 'apply', 0, workload, shape, '', bench_run(query, '', 1)
  FROM bench_shape WHERE workload = %1$L AND shape = %2$L;$f$),
	(2, $f$SET ruvector.dag_mode = apply;
SET ruvector.dag_sample_rate = 0;
INSERT INTO bench_result SELECT 'apply_norec', 0, workload, shape, '', bench_run(query, '', 1)
  FROM bench_shape WHERE workload = %1$L AND shape = %2$L;
RESET ruvector.dag_sample_rate;$f$)
)
SELECT format(r.sql, s.workload, s.shape)
  FROM generate_series(1, :n) rep, bench_shape s, run r
 WHERE s.workload = :'w'
 ORDER BY rep, s.shape, (r.k + rep) % 3;
SQL
	)
	{
		echo "SET statement_timeout = '$timeout';"
		echo "INSERT INTO bench_phase VALUES ('apply', 0, clock_timestamp());"
		echo "$script"
	} | wl_psql "$db" 2>"$WL_DIR/phase.err" >/dev/null || true
	if grep -q ERROR "$WL_DIR/phase.err"; then
		echo "   (paired runs: $(grep -c ERROR "$WL_DIR/phase.err") statements failed or timed out:" \
			"$(grep ERROR "$WL_DIR/phase.err" | sed 's/^psql:[^ ]* //' | sort | uniq -c | head -3 | tr -s ' ' | tr '\n' ';'))"
	fi
}
