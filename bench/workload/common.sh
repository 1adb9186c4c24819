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
WL_BURNERS=""

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
pg_stat_statements.track_planning = on
${NDAG_BENCH_CONF:-}"
}

# wl_cluster_remove: stop and remove the throwaway cluster; first print what
# its server log says about server processes that crashed, if any
wl_cluster_remove() {
	if grep -q "terminated by signal\|TRAP:\|PANIC" "$WL_DIR/server.log" 2>/dev/null; then
		echo "== the server log of this run reports crashes:"
		grep -B3 -A3 "terminated by signal\|TRAP:\|PANIC" "$WL_DIR/server.log" | head -40
	fi
	wl_load_stop
	ndag_cluster_stop "$WL_DIR"
	if [ -n "${NDAG_BENCH_SERVER_LOG:-}" ]; then
		cp "$WL_DIR/server.log" "$NDAG_BENCH_SERVER_LOG" 2>/dev/null || true
	fi
	rm -rf "$WL_DIR"
}

# wl_load_start N: start N processes that burn CPU until wl_load_stop (or
# the end of the calling shell), a sustained load beside the workload
wl_load_start() {
	local i
	for i in $(seq 1 "$1"); do
		perl -e '1 while 1' &
		WL_BURNERS="$WL_BURNERS $!"
	done
}

# wl_load_vary MAX PERIOD SEED: one process that keeps between 0 and MAX
# CPU-burning children running, their number drawn again (from SEED, so a run
# can be repeated) every PERIOD seconds, until wl_load_stop: a load that
# changes while the workload learns and is measured
wl_load_vary() {
	perl -e '
		my ($max, $period, $seed) = @ARGV;
		my ($parent, @burners) = ($$);
		sub stop_burners { kill "KILL", @burners; waitpid($_, 0) for @burners; @burners = () }
		$SIG{TERM} = sub { stop_burners(); exit 0 };
		srand($seed);
		while (1) {
			stop_burners();
			for (1 .. int(rand($max + 1))) {
				my $pid = fork();
				if ($pid == 0) { $SIG{TERM} = "DEFAULT"; 1 while getppid() == $parent; exit 0 }
				push @burners, $pid;
			}
			select(undef, undef, undef, $period);
		}' "$1" "$2" "$3" &
	WL_BURNERS="$WL_BURNERS $!"
}

# wl_load_stop: stop the processes wl_load_start and wl_load_vary started
wl_load_stop() {
	local pid
	for pid in $WL_BURNERS; do
		kill "$pid" 2>/dev/null || true
	done
	WL_BURNERS=""
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
		-f "bench/workload/${workload}_queries.sql" >/dev/null 2>"$WL_DIR/load.err" ||
		{ echo "loading workload $workload failed: $(grep ERROR "$WL_DIR/load.err" | head -3)" >&2; return 1; }
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
# wl_shadow_idle DB SECONDS [ACCOUNT]: wait (at most SECONDS) until shadow
# exploration has taken every statement it captured and no shadow worker
# runs; with ACCOUNT, also until its account of shadow time is not in debt
# (a bracket of large parallel statements may leave it so for a while)
wl_shadow_idle() {
	local db=$1 limit=$2 account=${3:-} start=$SECONDS
	local debt="0"
	[ -n "$account" ] && debt="(coalesce((c->>'shadow_budget_ms_available')::float8, 0) < 0)::int"
	while [ $((SECONDS - start)) -lt "$limit" ]; do
		[ "$(wl_psql "$db" -At -c "SELECT coalesce((c->>'shadow_queued')::int, 0) + $debt
			+ (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'neural_dag shadow')
			FROM (SELECT ruvector_dag_status()->'counters' AS c) s")" = 0 ] && break
		sleep 1
	done
}

# wl_shadow_figure DB NAME: a counter of ruvector_dag_status() now (0 when
# it cannot be read)
wl_shadow_figure() {
	wl_psql "$1" -At -c "SELECT coalesce((ruvector_dag_status()->'counters'->>'$2')::bigint, 0)" 2>/dev/null ||
		echo 0
}

# wl_shadow_settle DB SECONDS: wait (at most SECONDS) until shadow exploration
# has taken every statement it captured, then print what its runs did so far
wl_shadow_settle() {
	local db=$1 limit=$2 start=$SECONDS
	wl_shadow_idle "$db" "$limit"
	wl_psql "$db" -At -c "SELECT format('   shadow exploration so far: %s runs, %s pairs, %s timeouts, %s ms (waited %s s)',
		c->>'shadow_runs', c->>'shadow_pairs', c->>'shadow_timeouts', c->>'shadow_ms', $((SECONDS - start)))
		FROM (SELECT ruvector_dag_status()->'counters' AS c) s"
}

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
# apply mode recorded, once in apply mode not recorded
# (ruvector.dag_sample_rate = 0) and, when the oracle phase found an arm
# faster than the default for it, once as stock under that arm's settings
# (the oracle's choice measured again: the arms' medians of the oracle phase
# are a few executions each, and the least of eleven such medians is
# lower than the arm's real latency), one right after the other (in an
# order that rotates from turn to turn), so that they are compared under
# the same load.  Stored as phases stock, apply, apply_norec and
# oracle_arm, each execution also in bench_exec (a statement cut by
# TIMEOUT only there).
wl_paired() {
	local db=$1 workload=$2 reps=$3 timeout=$4
	local script
	script=$(wl_psql "$db" -At -v w="$workload" -v n="$reps" <<'SQL'
WITH run(k, sql) AS (VALUES
	(0, $f$SET ruvector.dag_mode = off;
SELECT bench_exec_once('stock', 0, %1$L, %2$L);$f$),
	(1, $f$SET ruvector.dag_mode = apply;
SELECT bench_exec_once('apply', 0, %1$L, %2$L);$f$),
	(2, $f$SET ruvector.dag_mode = apply;
SET ruvector.dag_sample_rate = 0;
SELECT bench_exec_once('apply_norec', 0, %1$L, %2$L);
RESET ruvector.dag_sample_rate;$f$),
	(3, $f$SET ruvector.dag_mode = off;
SELECT bench_exec_once('oracle_arm', 0, %1$L, %2$L, %3$L);$f$)
),
best AS (
	SELECT DISTINCT ON (m.shape) m.shape, m.arm, a.settings
	  FROM bench_oracle m LEFT JOIN ndag_arms a ON a.name = m.arm
	 WHERE m.workload = :'w'
	 ORDER BY m.shape, m.ms
)
SELECT format(r.sql, s.workload, s.shape, b.settings)
  FROM generate_series(1, :n) rep, bench_shape s
  LEFT JOIN best b USING (shape), run r
 WHERE s.workload = :'w' AND (r.k < 3 OR b.arm <> 'default')
 ORDER BY rep, s.shape, (r.k + rep) % 4;
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

# wl_set_gucs "NAME=VALUE [NAME=VALUE...]": wl_set_guc for each setting
# (separated by spaces or semicolons), then a restart if one of them only
# takes effect at server start
wl_set_gucs() {
	local kv
	for kv in $(echo "$1" | tr ';' ' '); do
		wl_set_guc "${kv%%=*}" "${kv#*=}"
	done
	if [ "$(wl_psql postgres -At -c "SELECT count(*) FROM pg_settings WHERE pending_restart")" != 0 ]; then
		as_pg pg_ctl -D "$WL_DIR/data" -l "$WL_DIR/server.log" -w restart >/dev/null
		echo "== restarted the cluster for settings that need it"
	fi
}

# wl_pass DB WORKLOAD ROUND REPS TIMEOUT: learn pass ROUND in one session,
# REPS turns; in each turn every shape runs once in learn mode and once as
# stock (ruvector.dag_mode = off), one right after the other (which comes
# first alternates from shape to shape and turn to turn), so that the two
# see the same load.  The pass's first shape runs once more before them as
# stock (phase pass_warmup, in no figure): the first execution after the
# learning cycle and the reports between passes runs slower (k1_freq of
# skew: 1.0 s where the stock run right after it took 0.7 s), and which
# side of a pair came first alternates with the pass.  Every execution is
# kept in bench_exec (phases learn and pass_stock); the shadow_* status
# counters are kept before the pass.
wl_pass() {
	local db=$1 workload=$2 round=$3 reps=$4 timeout=$5
	local script
	wl_psql "$db" -v ON_ERROR_STOP=1 -c "INSERT INTO bench_counters
		SELECT $round, '$workload', 'start', coalesce(bench_shadow_counters(), '{}')" >/dev/null
	script=$(wl_psql "$db" -At -v w="$workload" -v r="$round" -v n="$reps" <<'SQL'
WITH run(k, sql) AS (VALUES
	(0, $f$SET ruvector.dag_mode = learn;
SELECT bench_exec_once('learn', %3$s, %1$L, %2$L);$f$),
	(1, $f$SET ruvector.dag_mode = off;
SELECT bench_exec_once('pass_stock', %3$s, %1$L, %2$L);$f$)
)
SELECT sql FROM (
	SELECT format($f$SET ruvector.dag_mode = off;
SELECT bench_exec_once('pass_warmup', %3$s, %1$L, %2$L);$f$, workload, shape, :r) AS sql,
		   0 AS part, 0 AS rep, '' AS shape, 0 AS side
	  FROM (SELECT workload, shape FROM bench_shape WHERE workload = :'w' ORDER BY shape LIMIT 1) first
	UNION ALL
	SELECT format(r.sql, s.workload, s.shape, :r), 1, rep, s.shape, (r.k + s.i + rep + :r) % 2
	  FROM generate_series(1, :n) rep,
		   (SELECT workload, shape, row_number() OVER (ORDER BY shape) AS i
			  FROM bench_shape WHERE workload = :'w') s, run r
) turns
 ORDER BY part, rep, shape, side;
SQL
	)
	{
		echo "SET statement_timeout = '$timeout';"
		[ -n "${WL_EXTRA_SET:-}" ] && echo "$WL_EXTRA_SET"
		echo "INSERT INTO bench_phase VALUES ('learn', $round, clock_timestamp());"
		echo "$script"
	} | wl_psql "$db" 2>"$WL_DIR/phase.err" >/dev/null || true
	if grep -q ERROR "$WL_DIR/phase.err"; then
		echo "   (pass $round: $(grep -c ERROR "$WL_DIR/phase.err") statements failed:" \
			"$(grep ERROR "$WL_DIR/phase.err" | sed 's/^psql:[^ ]* //' | sort | uniq -c | head -3 | tr -s ' ' | tr '\n' ';'))"
	fi
}

# wl_pass_line DB WORKLOAD ROUND: run a learning cycle after pass ROUND,
# read the shadow_* counters again and print the pass's line
# (bench/workload/pass.sql)
wl_pass_line() {
	local db=$1 workload=$2 round=$3 learned
	learned=$(wl_psql "$db" -At -c "
		SELECT 'patterns ' || coalesce(j->>'patterns', '?') || ' (+' || coalesce(j->>'patterns_created', '?') ||
			   '), trajectories ' || coalesce(j->>'trajectories', '?')
		  FROM (SELECT ruvector_dag_learn() AS j) s" 2>&1 | tail -1) || true
	wl_psql "$db" -v ON_ERROR_STOP=1 -c "INSERT INTO bench_counters
		SELECT $round, '$workload', 'end', coalesce(bench_shadow_counters(), '{}')" >/dev/null
	wl_psql "$db" -At -v w="$workload" -v r="$round" -v learned="$learned" -f bench/workload/pass.sql ||
		echo "pass $round: the pass's figures could not be read"
}

# wl_recheck DB WORKLOAD PAIRS TIMEOUT: every shape whose apply median in
# the paired runs (wl_paired) is over 1.1x its stock median runs PAIRS more
# pairs, stock and apply mode one right after the other (the order
# alternating), kept in bench_exec as phases recheck_stock and
# recheck_apply.  Prints how many shapes it rechecks.
wl_recheck() {
	local db=$1 workload=$2 pairs=$3 timeout=$4
	local script
	script=$(wl_psql "$db" -At -v w="$workload" -v n="$pairs" <<'SQL'
WITH suspect AS (
	SELECT a.shape FROM bench_med a JOIN bench_med s USING (workload, shape)
	 WHERE a.workload = :'w' AND a.phase = 'apply' AND s.phase = 'stock'
	   AND a.ms > 1.1 * s.ms
),
run(k, sql) AS (VALUES
	(0, $f$SET ruvector.dag_mode = off;
SELECT bench_exec_once('recheck_stock', 0, %1$L, %2$L);$f$),
	(1, $f$SET ruvector.dag_mode = apply;
SELECT bench_exec_once('recheck_apply', 0, %1$L, %2$L);$f$)
)
SELECT format(r.sql, :'w', s.shape)
  FROM generate_series(1, :n) rep, suspect s, run r
 ORDER BY rep, s.shape, (r.k + rep) % 2;
SQL
	)
	echo "== rechecks: $(echo "$script" | grep -c recheck_apply | awk -v n="$pairs" '{print $1 / n}') shapes over 1.1x stock in the paired runs, $pairs more pairs each"
	[ -n "$script" ] || return 0
	{
		echo "SET statement_timeout = '$timeout';"
		echo "$script"
	} | wl_psql "$db" 2>"$WL_DIR/phase.err" >/dev/null || true
	if grep -q ERROR "$WL_DIR/phase.err"; then
		echo "   (rechecks: $(grep -c ERROR "$WL_DIR/phase.err") statements failed)"
	fi
}
