#!/bin/bash
# What recording costs a row-heavy statement: a hash join of two tables of
# NDAG_BENCH_ROWS rows each, counted, run stock (ruvector.neural_dag_enabled
# off) and in learn mode with every execution recorded, once with per-node
# timing on every recording (ruvector.dag_timing_sample_rate = 1, what every
# recording did before timing was sampled) and once at the default timing
# sample rate.  The three take turns in a rotating order, round after
# round, in one session; the script prints each run, the medians and their
# ratios to stock (the goal is <= 1.1), and the means, where the few timed
# executions of the default rate show.  Prints numbers, asserts none.
#
# Exploration is off (ruvector.dag_exploration = 0), so that learn mode
# plans the statement as stock does and only the recording differs; no
# background learning cycle runs during the benchmark.  Parallel query is
# off, so that the figures do not depend on how busy the other core is.
#
#   NDAG_BENCH_ROWS    rows per table (default 1000000)
#   NDAG_BENCH_ROUNDS  rounds of the three configurations (default 15)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

rows=${NDAG_BENCH_ROWS:-1000000}
rounds=${NDAG_BENCH_ROUNDS:-15}

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
	[timed]="RESET ruvector.neural_dag_enabled; SET ruvector.dag_sample_rate = 1; SET ruvector.dag_exploration = 0; SET ruvector.dag_timing_sample_rate = 1;"
	[sampled]="RESET ruvector.neural_dag_enabled; SET ruvector.dag_sample_rate = 1; SET ruvector.dag_exploration = 0; RESET ruvector.dag_timing_sample_rate;"
)
configs=(stock timed sampled)
declare -A runs=([stock]="" [timed]="" [sampled]="")

# mean of the arguments
mean() { printf '%s\n' "$@" | awk '{s += $1} END {printf "%.1f", s / NR}'; }

# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# what one clock read costs here: per-node timing pays two per row per node
echo "clock source $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null || echo unknown)," \
	"$(pg_test_timing -d 1 | sed -n 's/^Per loop time including overhead: \(.*\)/\1 per clock read/p')"

# One session runs every execution, the configurations taking turns in a
# rotating order, so that a change of the machine's load hits all three.
# Two figures per execution: psql's \timing (the round trip), and the CPU
# time the backend spent on it (/proc/PID/schedstat, read before and after),
# which the other processes of a shared machine disturb much less.
order=()
{
	echo '\timing off'
	echo 'SELECT pg_backend_pid() AS backend_pid \gset'
	echo '\setenv NDAG_BACKEND_PID :backend_pid'
	for c in "${configs[@]}"; do echo "${settings[$c]}"; echo "$query;"; done	# warm-up
	for r in $(seq 1 "$rounds"); do
		for k in 0 1 2; do
			c=${configs[$(((r + k) % 3))]}
			order+=("$c")
			echo "${settings[$c]}"
			echo '\! echo "cpu_ns $(cut -d" " -f1 /proc/$NDAG_BACKEND_PID/schedstat)"'
			echo '\timing on'
			echo "$query;"
			echo '\timing off'
			echo '\! echo "cpu_ns $(cut -d" " -f1 /proc/$NDAG_BACKEND_PID/schedstat)"'
		done
	done
} >"$dir/runs.sql"
chown "$(ndag_pg_user)" "$dir/runs.sql"

before=$(psql_q -c "SELECT (ruvector_dag_status()->'counters'->>'sampled')::bigint")
psql_q -f "$dir/runs.sql" >"$dir/runs.out"
after=$(psql_q -c "SELECT (ruvector_dag_status()->'counters'->>'sampled')::bigint")
mapfile -t times < <(sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' "$dir/runs.out")
mapfile -t cpus < <(awk '/^cpu_ns / {if (n++ % 2) printf "%.3f\n", ($2 - b) / 1e6; else b = $2}' "$dir/runs.out")
if [ "${#times[@]}" -ne "${#order[@]}" ] || [ "${#cpus[@]}" -ne "${#order[@]}" ]; then
	echo "expected ${#order[@]} timings, got ${#times[@]} and ${#cpus[@]}" >&2
	exit 1
fi
declare -A cpu=([stock]="" [timed]="" [sampled]="")
for i in "${!order[@]}"; do
	runs[${order[$i]}]="${runs[${order[$i]}]} ${times[$i]}"
	cpu[${order[$i]}]="${cpu[${order[$i]}]} ${cpus[$i]}"
	if [ $((i % 3)) -eq 0 ]; then line="round $((i / 3 + 1)):"; fi
	line="$line ${order[$i]} ${times[$i]} ms (cpu ${cpus[$i]} ms),"
	if [ $((i % 3)) -eq 2 ]; then echo "${line%,}"; fi
done

# shellcheck disable=SC2086
m_stock=$(median ${runs[stock]})
# shellcheck disable=SC2086
m_timed=$(median ${runs[timed]})
# shellcheck disable=SC2086
m_sampled=$(median ${runs[sampled]})
echo "recorded executions during the run: $((after - before)) (expected $((2 * rounds + 2)), warm-up included)"
psql_q -c "SELECT ruvector_dag_flush()" >/dev/null
psql_q -c "
	SELECT 'trajectories with node times: ' || count(DISTINCT traj_id) FILTER (WHERE self_ms IS NOT NULL) ||
		   ' of ' || count(DISTINCT traj_id) || ' ($((rounds + 1)) of the every-recording-timed configuration)'
	FROM ndag_attention"
echo "median latency stock $m_stock ms"
echo "median learn mode, every recording timed per node: $m_timed ms, ratio $(awk -v a="$m_timed" -v b="$m_stock" 'BEGIN {printf "%.3f", a / b}')"
echo "median learn mode, default timing sample rate: $m_sampled ms, ratio $(awk -v a="$m_sampled" -v b="$m_stock" 'BEGIN {printf "%.3f", a / b}')"
# shellcheck disable=SC2086
c_stock=$(median ${cpu[stock]})
# shellcheck disable=SC2086
c_timed=$(median ${cpu[timed]})
# shellcheck disable=SC2086
c_sampled=$(median ${cpu[sampled]})
echo "median backend CPU: stock $c_stock ms, every recording timed $c_timed ms (ratio $(awk -v a="$c_timed" -v b="$c_stock" 'BEGIN {printf "%.3f", a / b}')), default timing sample rate $c_sampled ms (ratio $(awk -v a="$c_sampled" -v b="$c_stock" 'BEGIN {printf "%.3f", a / b}'))"
# the timed fraction shows in the mean, not in the median
# shellcheck disable=SC2086
echo "mean latency: stock $(mean ${runs[stock]}) ms, every recording timed $(mean ${runs[timed]}) ms, default timing sample rate $(mean ${runs[sampled]}) ms"
# shellcheck disable=SC2086
echo "mean backend CPU: stock $(mean ${cpu[stock]}) ms, every recording timed $(mean ${cpu[timed]}) ms, default timing sample rate $(mean ${cpu[sampled]}) ms"
