#!/bin/bash
# What recording costs a statement, in backend CPU time and wall time, on
# three plans: a nested loop rescanning an index scan about 1,490 times
# (the shape of the demo's d08), an aggregate over 100,000 rows (d09) and
# a hash join of two tables of NDAG_BENCH_ROWS rows (row-heavy).  The
# configurations take turns in blocks of NDAG_BENCH_BLOCK executions in one
# session (bench/lib_bench.sh): ruvector.dag_mode = off twice (the baseline
# and the A-against-A noise), observe, learn and apply at default settings,
# and learn with every recording instrumented node by node
# (ruvector.dag_detail_sample_rate = 1, what every recording did before
# the detail was sampled) and with none (0: the one timer only).  Exploration is off (ruvector.dag_exploration =
# 0, ruvector.dag_exploration_mode = off), so that learn and apply mode run the default plan and only recording differs;
# no learning cycle runs.  Prints each figure's median ratio to mode off
# with its quartiles; asserts nothing.
#
#   NDAG_BENCH_ROWS    rows per table of the hash join (default 100000)
#   NDAG_BENCH_ROUNDS  rounds (default 80; 30 with NDAG_BENCH_QUICK=1)
#   NDAG_BENCH_BLOCK   executions per block (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib_bench.sh

quick=${NDAG_BENCH_QUICK:-0}
rows=${NDAG_BENCH_ROWS:-100000}
rounds=${NDAG_BENCH_ROUNDS:-$([ "$quick" = 1 ] && echo 30 || echo 80)}
block=${NDAG_BENCH_BLOCK:-5}

dir=$(mktemp -d /tmp/neural_dag-bench.XXXXXX)
chown "$(ndag_pg_user)" "$dir"
port=$(ndag_free_port 56300)
trap 'as_pg pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

lib=$(bench_clock_build)
bench_cluster "$dir" "$port" neural_dag
psql_q() { as_pg psql -h "$dir" -p "$port" -U postgres -X -qAt -v ON_ERROR_STOP=1 "$@"; }

psql_q <<SQL >/dev/null
CREATE EXTENSION neural_dag;
$(bench_clock_sql "$lib")
-- d08-like: a filter on three correlated columns estimated at one row,
-- ~1,490 in fact (read by the index on a), each probing an index of the
-- same table: the rescans are most of the work
CREATE TABLE rec_sale (id int, cust_id int, a int, b int, c int, day int, qty int);
INSERT INTO rec_sale SELECT g, g % 20000, g % 134, g % 134, g % 134, g % 365, g % 10
	FROM generate_series(1, 200000) g;
CREATE INDEX ON rec_sale (cust_id);
CREATE INDEX ON rec_sale (a);
CREATE INDEX ON rec_sale (id);
CREATE TABLE rec_a (id int, v int);
CREATE TABLE rec_b (id int, w int);
INSERT INTO rec_a SELECT g, g % 1000 FROM generate_series(1, $rows) g;
INSERT INTO rec_b SELECT g, g % 7 FROM generate_series(1, $rows) g;
VACUUM ANALYZE rec_sale, rec_a, rec_b;
SELECT ruvector_enable_neural_dag('rec_sale'), ruvector_enable_neural_dag('rec_a'),
	   ruvector_enable_neural_dag('rec_b');
SQL

declare -A queries=(
	[nested_loop]="SELECT count(*) FROM rec_sale g WHERE g.cust_id IN (SELECT cust_id FROM rec_sale f WHERE f.a = 57 AND f.b = 57 AND f.c = 57)"
	[aggregate]="SELECT day, count(*), sum(qty) FROM rec_sale WHERE id BETWEEN 50001 AND 150000 GROUP BY day"
	[hash_join]="SELECT count(*), sum(a.v + b.w) FROM rec_a a JOIN rec_b b ON a.id = b.id"
)
# no exploration, inline or in the shadow worker: an arm proven for a
# statement (the shadow worker proves one for the nested loop within the
# run) would change the plan learn and apply mode run, and the figure would
# be the arm's gain, not recording's cost
common="RESET ruvector.dag_detail_sample_rate; SET ruvector.dag_exploration = 0; SET ruvector.dag_exploration_mode = off;"
configs=(
	"off=$common SET ruvector.dag_mode = off;"
	"off_again=$common SET ruvector.dag_mode = off;"
	"observe=$common SET ruvector.dag_mode = observe;"
	"learn=$common SET ruvector.dag_mode = learn;"
	"apply=$common SET ruvector.dag_mode = apply;"
	"learn_detail_1=$common SET ruvector.dag_mode = learn; SET ruvector.dag_detail_sample_rate = 1;"
	"learn_detail_0=$common SET ruvector.dag_mode = learn; SET ruvector.dag_detail_sample_rate = 0;"
)

echo "recording overhead: $rounds rounds of blocks of $block executions," \
	"detail sample rate $(psql_q -c 'SHOW ruvector.dag_detail_sample_rate')," \
	"clock $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)"
for shape in nested_loop aggregate hash_join; do
	q=${queries[$shape]}
	echo "$shape: $(psql_q -c "EXPLAIN (COSTS OFF) $q" | grep -E 'Loop|Join|HashAggregate' | head -1 | sed 's/^ *//; s/->  //'),"\
		"most loops of a node $(psql_q -c "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) $q" | grep -o 'loops=[0-9]*' | cut -d= -f2 | sort -n | tail -1)"
	bench_statements "$dir" "$port" postgres "$q" "$rounds" "$block" "$dir/$shape.out" "${configs[@]}"
	read -r ms _ < <(awk '$2 == "off" {print $3 / 1e6}' "$dir/$shape.out" | bench_quartiles)
	echo "  mode off: median backend CPU $ms ms per execution"
	for mode in observe learn apply; do
		bench_summary "$dir/$shape.out" off off_again "$mode" 3 \
			"recording CPU, $shape, $mode" "<= 1.02"
	done
	bench_summary "$dir/$shape.out" off off_again learn 4 \
		"recording wall time, $shape, learn" "-"
	bench_summary "$dir/$shape.out" off off_again learn_detail_1 3 \
		"recording CPU, $shape, learn, detail rate 1" "-"
	bench_summary "$dir/$shape.out" off off_again learn_detail_0 3 \
		"recording CPU, $shape, learn, detail rate 0" "-"
	echo "  (arms applied so far: $(psql_q -c "SELECT (c->>'decided_proven')::bigint + (c->>'decided_pattern')::bigint + (c->>'decided_explore')::bigint
		FROM (SELECT ruvector_dag_status()->'counters' AS c) s"); every figure is of the default plan when 0)"
done
