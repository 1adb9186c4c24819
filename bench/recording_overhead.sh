#!/bin/bash
# What recording costs a row-heavy statement: a hash join of two tables of
# NDAG_BENCH_ROWS rows each, counted, run stock (ruvector.neural_dag_enabled
# off) and in learn mode with every execution recorded, once with per-node
# timing on every recording (ruvector.dag_timing_sample_rate = 1, what every
# recording did before timing was sampled) and once at the default timing
# sample rate.  The three take turns in a rotating order, round after
# round, one fresh session per run; the script prints each run, the medians
# and their ratios to stock (the goal is <= 1.1).  Prints numbers, asserts
# none.
#
# Exploration is off (ruvector.dag_exploration = 0), so that learn mode
# plans the statement as stock does and only the recording differs; no
# background learning cycle runs during the benchmark.  Parallel query is
# off, so that the figures do not depend on how busy the other core is.
#
#   NDAG_BENCH_ROWS    rows per table (default 1000000)
#   NDAG_BENCH_ROUNDS  rounds of the three configurations (default 11)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

rows=${NDAG_BENCH_ROWS:-1000000}
rounds=${NDAG_BENCH_ROUNDS:-11}

dir=$(mktemp -d /tmp/neural_dag-bench.XXXXXX)
chown "$(ndag_pg_user)" "$dir"
port=$(ndag_free_port 56300)
trap 'as_pg pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

ndag_cluster_start "$dir" "$port" "shared_buffers = 256MB
max_parallel_workers_per_gather = 0
ruvector.dag_mode = learn
ruvector.dag_background_interval = 2147483647"

psql_q() { as_pg psql -h "$dir" -p "$port" -U postgres -X -qAt -v ON_ERROR_STOP=1 "$@"; }

psql_q -c "CREATE EXTENSION neural_dag" >/dev/null
psql_q -c "SHOW ruvector.dag_timing_sample_rate" >/dev/null || {
	echo "the installed neural_dag has no ruvector.dag_timing_sample_rate" >&2
	exit 1
}
psql_q <<SQL >/dev/null
CREATE TABLE rec_a (id int, v int);
CREATE TABLE rec_b (id int, w int);
INSERT INTO rec_a SELECT g, g % 1000 FROM generate_series(1, $rows) g;
INSERT INTO rec_b SELECT g, g % 7 FROM generate_series(1, $rows) g;
VACUUM ANALYZE rec_a, rec_b;
SELECT ruvector_enable_neural_dag('rec_a');
SELECT ruvector_enable_neural_dag('rec_b');
SQL

query="SELECT count(*), sum(a.v + b.w) FROM rec_a a JOIN rec_b b ON a.id = b.id"
echo "query: $query"
psql_q -c "EXPLAIN (COSTS OFF) $query" | sed 's/^/  /'

# settings of each configuration
declare -A settings=(
	[stock]="SET ruvector.neural_dag_enabled = off;"
	[timed]="SET ruvector.dag_sample_rate = 1; SET ruvector.dag_exploration = 0; SET ruvector.dag_timing_sample_rate = 1;"
	[sampled]="SET ruvector.dag_sample_rate = 1; SET ruvector.dag_exploration = 0; RESET ruvector.dag_timing_sample_rate;"
)
configs=(stock timed sampled)
declare -A runs=([stock]="" [timed]="" [sampled]="")

# run_ms CONFIG: one execution in a fresh session, its latency in ms as
# psql's \timing reports it (the statement's round trip, nothing else)
run_ms() {
	psql_q -c "${settings[$1]}" -c '\timing on' -c "$query" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p'
}

# mean of the arguments
mean() { printf '%s\n' "$@" | awk '{s += $1} END {printf "%.1f", s / NR}'; }

# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# warm the cache and the statistics of the statement once per configuration
for c in "${configs[@]}"; do run_ms "$c" >/dev/null; done

before=$(psql_q -c "SELECT (ruvector_dag_status()->'counters'->>'sampled')::bigint")
for r in $(seq 1 "$rounds"); do
	line="round $r:"
	for k in 0 1 2; do
		c=${configs[$(((r + k) % 3))]}
		ms=$(run_ms "$c")
		runs[$c]="${runs[$c]} $ms"
		line="$line $c $ms ms,"
	done
	echo "${line%,}"
done
after=$(psql_q -c "SELECT (ruvector_dag_status()->'counters'->>'sampled')::bigint")

# shellcheck disable=SC2086
m_stock=$(median ${runs[stock]})
# shellcheck disable=SC2086
m_timed=$(median ${runs[timed]})
# shellcheck disable=SC2086
m_sampled=$(median ${runs[sampled]})
echo "recorded executions during the rounds: $((after - before)) (expected $((2 * rounds)))"
echo "median stock $m_stock ms"
echo "median learn mode, every recording timed per node: $m_timed ms, ratio $(awk -v a="$m_timed" -v b="$m_stock" 'BEGIN {printf "%.3f", a / b}')"
echo "median learn mode, default timing sample rate: $m_sampled ms, ratio $(awk -v a="$m_sampled" -v b="$m_stock" 'BEGIN {printf "%.3f", a / b}')"
# the timed fraction shows in the mean, not in the median
# shellcheck disable=SC2086
echo "means: stock $(mean ${runs[stock]}) ms, every recording timed $(mean ${runs[timed]}) ms, default timing sample rate $(mean ${runs[sampled]}) ms"
