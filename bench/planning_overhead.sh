#!/bin/bash
# Planning time added per statement: the backend CPU time of EXPLAIN (plan
# only) of an 8-way and a 12-way join of tables enabled for learning, with
# ruvector.dag_mode = off (twice: the baseline and the A-against-A noise),
# in learn mode at an Embedding Cache hit (the same statement again), and
# in learn mode at a miss (a cache of one entry and two statements taking
# turns, so that every lookup misses).  Exploration is off, so that only
# the decision is measured.  The configurations take turns in blocks in one
# session (bench/lib_bench.sh); prints the median ratio to mode off with
# its quartiles; asserts nothing.
#
#   NDAG_BENCH_ROUNDS  rounds (default 30; 12 with NDAG_BENCH_QUICK=1)
#   NDAG_BENCH_BLOCK   plannings per block (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib_bench.sh

quick=${NDAG_BENCH_QUICK:-0}
rounds=${NDAG_BENCH_ROUNDS:-$([ "$quick" = 1 ] && echo 12 || echo 30)}
block=${NDAG_BENCH_BLOCK:-10}

dir=$(mktemp -d /tmp/neural_dag-plan-bench.XXXXXX)
chown "$(ndag_pg_user)" "$dir"
port=$(ndag_free_port 56300)
trap 'as_pg pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

lib=$(bench_clock_build)
bench_cluster "$dir" "$port" neural_dag
psql_q() { as_pg psql -h "$dir" -p "$port" -U postgres -X -qAt -v ON_ERROR_STOP=1 "$@"; }

{
	echo "CREATE EXTENSION neural_dag;"
	bench_clock_sql "$lib"
	for i in $(seq 1 12); do
		echo "CREATE TABLE pj$i (id int PRIMARY KEY, k int, v int);"
		echo "INSERT INTO pj$i SELECT g, g % (100 * $i), g % 7 FROM generate_series(1, 2000 * $i) g;"
		echo "ANALYZE pj$i; SELECT ruvector_enable_neural_dag('pj$i');"
	done
} | psql_q >/dev/null

psql_q <<'SQL' >/dev/null
-- planning time (ms) and extra plannings of one executed EXPLAIN ANALYZE
CREATE FUNCTION explain_planning(q text, OUT planning_ms float8, OUT extra int)
LANGUAGE plpgsql AS $$
DECLARE
	j jsonb;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || q INTO j;
	planning_ms := (j->0->>'Planning Time')::float8;
	extra := coalesce(jsonb_path_query_first(j, 'strict $.**."Extra Plannings"')::int, 0);
END $$;
SQL

# join N [EXTRA]: an N-way chain join of pj1..pjN
join() {
	local n=$1 extra=${2:-} q i
	q="SELECT count(*)$extra FROM pj1"
	for i in $(seq 2 "$n"); do q="$q JOIN pj$i ON pj$i.id = pj$((i - 1)).k"; done
	echo "$q WHERE pj1.v = 3"
}

common="SET ruvector.dag_exploration = 0; RESET ruvector.dag_embedding_cache_size;"
echo "planning overhead: $rounds rounds of blocks of $block plannings"
for n in 8 12; do
	q="EXPLAIN $(join "$n")"
	q2="EXPLAIN $(join "$n" ", max(pj1.v)")"
	# one planning of each of the two statements per execution, in every
	# configuration alike; a plain EXPLAIN keeps no decision in the
	# Embedding Cache, so the hit configuration runs both statements first
	# (their decisions cached), the miss one has room for one statement
	both="$q \\; $q2"
	run_both="$(join "$n"); $(join "$n" ", max(pj1.v)");"
	bench_statements "$dir" "$port" postgres "$both" "$rounds" "$block" "$dir/plan$n.out" \
		"off=$common SET ruvector.dag_mode = off;" \
		"off_again=$common SET ruvector.dag_mode = off;" \
		"learn_hit=$common SET ruvector.dag_mode = learn; $run_both" \
		"learn_miss=$common SET ruvector.dag_mode = learn; SET ruvector.dag_embedding_cache_size = 1;"
	read -r ms _ < <(awk '$2 == "off" {print $3 / 2e6}' "$dir/plan$n.out" | bench_quartiles)
	echo "$n-way join: mode off: median backend CPU $ms ms per planning"
	bench_summary "$dir/plan$n.out" off off_again learn_hit 3 \
		"planning CPU, $n-way join, Embedding Cache hit" "as today"
	bench_summary "$dir/plan$n.out" off off_again learn_miss 3 \
		"planning CPU, $n-way join, Embedding Cache miss" "as today"
done

# An exploring execution: the per-statement memory cleared
# (ruvector_dag_reset('btsp'), at commit), the 8-way join runs once (its
# default plan's first run) and then once more, in learn mode exploring
# every statement inline (that second execution is its first exploration)
# against mode off; the planning time EXPLAIN ANALYZE reports for that
# second execution, the two configurations taking turns.
explore="SET ruvector.dag_mode = learn; SET ruvector.dag_exploration = 1; SET ruvector.dag_exploration_mode = 'inline'; SET ruvector.dag_min_latency = 0; SET ruvector.dag_confidence_threshold = 0;"
q8=$(join 8)
{
	for r in $(seq 1 "$rounds"); do
		for c in off explore; do
			if [ "$c" = off ]; then echo "SET ruvector.dag_mode = off;"; else echo "$explore"; fi
			echo "SELECT ruvector_dag_reset('btsp');"
			echo "SELECT explain_planning(\$q\$$q8\$q\$) \\g /dev/null"
			echo "SELECT $r, '$c', planning_ms, extra FROM explain_planning(\$q\$$q8\$q\$);"
		done
	done
} >"$dir/explore.sql"
chown "$(ndag_pg_user)" "$dir/explore.sql"
psql_q -F ' ' -f "$dir/explore.sql" | grep -E '^[0-9]+ (off|explore) ' >"$dir/explore.out"
read -r extra _ < <(awk '$2 == "explore" {print $4}' "$dir/explore.out" | bench_quartiles)
read -r ms _ < <(awk '$2 == "off" {print $3}' "$dir/explore.out" | bench_quartiles)
echo "first exploration of the 8-way join: median $extra extra plannings; mode off plans in $ms ms"
read -r m q1 q3 < <(bench_ratios "$dir/explore.out" off explore 3 | bench_quartiles)
printf '  %-58s %s  [%s, %s]  A/A %s  (goal %s)\n' "planning time of an exploring execution, 8-way join" "$m" "$q1" "$q3" "-" "<= 3"
bench_result "planning time of an exploring execution, 8-way join" "$m" "$q1" "$q3" "-" "<= 3"
