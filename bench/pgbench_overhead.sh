#!/bin/bash
# What neural_dag costs short statements under pgbench: five
# configurations take turns on one throwaway cluster, restarted into the
# configuration of each block: two without the library (the baseline and
# the A-against-A noise), one without it computing queryIds
# (compute_query_id = on: what the extension needs, and what a server
# running pg_stat_statements pays anyway), one preloading it with
# ruvector.dag_mode = off (the library's presence: its hooks and workers,
# nothing recorded or decided) and one preloading it in learn mode on the
# enabled pgbench tables (default settings otherwise).  One cluster for
# all of them, so that nothing that differs between two clusters (their
# files' and shared memory's places) enters the figures; after each
# restart the tables and indexes are read into shared buffers (pg_prewarm)
# and one second of the block's workload runs unmeasured.  pgbench blocks of NDAG_BENCH_SECONDS take turns in a
# rotating order, round after round; per block the TPS and the server CPU
# per transaction (the postmaster and all its processes, /proc).
# Workloads:
#   select_only     pgbench -S, prepared (PostgreSQL plans each backend's
#                   statement a few times, then runs its generic plan)
#   select_simple   pgbench -S, simple protocol (every execution planned:
#                   the planner hook's cost at an Embedding Cache hit)
#   connect         pgbench -S -C (a new backend per transaction: its
#                   start-up and its first recorded statement)
#   join3           a short 3-table join of accounts, tellers and branches
# Prints each figure's median ratio to not loaded with its quartiles and
# the A-against-A noise, the server CPU per transaction of computing
# queryIds alone and of learn mode against that, and the extra server CPU
# of a new backend's first statement (ms); asserts nothing.
#
#   NDAG_BENCH_SECONDS  seconds per block (default 10; 4 with NDAG_BENCH_QUICK=1)
#   NDAG_BENCH_ROUNDS   rounds (default 10; 5 with NDAG_BENCH_QUICK=1)
#   NDAG_BENCH_SCALE    pgbench scale factor (default 10)
#   NDAG_BENCH_CLIENTS  clients and threads (default 2)
#   NDAG_BENCH_PGBENCH  the workloads to run (default all four, e.g.
#                       NDAG_BENCH_PGBENCH="select_simple connect")
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib_bench.sh

quick=${NDAG_BENCH_QUICK:-0}
seconds=${NDAG_BENCH_SECONDS:-$([ "$quick" = 1 ] && echo 4 || echo 10)}
rounds=${NDAG_BENCH_ROUNDS:-$([ "$quick" = 1 ] && echo 5 || echo 10)}
scale=${NDAG_BENCH_SCALE:-10}
clients=${NDAG_BENCH_CLIENTS:-2}

root=$(mktemp -d /tmp/neural_dag-bench.XXXXXX)
chown "$(ndag_pg_user)" "$root"
configs=(not_loaded not_loaded_again query_ids loaded_off learn)
declare -A settings=(
	[not_loaded]="-c shared_preload_libraries="
	[not_loaded_again]="-c shared_preload_libraries="
	[query_ids]="-c shared_preload_libraries= -c compute_query_id=on"
	[loaded_off]="-c shared_preload_libraries=neural_dag -c ruvector.dag_mode=off"
	[learn]="-c shared_preload_libraries=neural_dag -c ruvector.dag_mode=learn")
trap 'as_pg pg_ctl -D "$root/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$root"' EXIT

port=$(ndag_free_port 56100)
bench_cluster "$root" "$port" neural_dag
psql_q() { as_pg psql -h "$root" -p "$port" -U postgres -X -qAt -v ON_ERROR_STOP=1 "$@"; }
as_pg pgbench -h "$root" -p "$port" -U postgres -i -q -s "$scale" postgres >/dev/null 2>&1
psql_q -c "CREATE EXTENSION neural_dag" -c "CREATE EXTENSION pg_prewarm" -c "
	SELECT ruvector_enable_neural_dag(t)
	FROM unnest(ARRAY['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers',
					  'pgbench_history']::regclass[]) t" >/dev/null

# restart_as CONFIG: the cluster restarted into CONFIG's settings (the
# extension's objects stay in the database; without the library nothing
# of it runs), its tables and indexes read into shared buffers
running=""
restart_as() {
	[ "$running" = "$1" ] && return 0
	as_pg pg_ctl -D "$root/data" -l "$root/server.log" -w -m fast -o "${settings[$1]}" restart >/dev/null
	running=$1
	psql_q -c "SELECT pg_prewarm(c.oid) FROM pg_catalog.pg_class c
		WHERE c.relname LIKE 'pgbench%' AND c.relkind IN ('r', 'i')" >/dev/null
}

cat >"$root/join3.sql" <<'SQL'
\set aid random(1, 100000 * :scale)
SELECT a.abalance, t.tbalance, b.bbalance
  FROM pgbench_accounts a JOIN pgbench_branches b ON b.bid = a.bid
  JOIN pgbench_tellers t ON t.bid = b.bid
 WHERE a.aid = :aid;
SQL
chown "$(ndag_pg_user)" "$root/join3.sql"

declare -A flags=([select_only]="-M prepared -S" [select_simple]="-M simple -S"
	[connect]="-M prepared -S -C" [join3]="-M prepared -f $root/join3.sql")
read -r -a workloads <<<"${NDAG_BENCH_PGBENCH:-select_only select_simple connect join3}"

# block CONFIG WORKLOAD ROUND: one pgbench block; prints "round config tps
# server_cpu_ns_per_transaction"
block() {
	local c=$1 w=$2 r=$3 before after out tps txns
	restart_as "$c"
	# one second unmeasured: the backends' caches, learn mode's decisions
	# shellcheck disable=SC2086
	as_pg pgbench -h "$root" -p "$port" -U postgres -n -c "$clients" -j "$clients" \
		-T 1 ${flags[$w]} postgres >/dev/null 2>&1 || true
	bench_server_settle "$root"
	before=$(bench_server_cpu_ns "$root")
	# shellcheck disable=SC2086
	out=$(as_pg pgbench -h "$root" -p "$port" -U postgres -n \
		-c "$clients" -j "$clients" -T "$seconds" ${flags[$w]} postgres 2>"$root/pgbench.err" || true)
	bench_server_settle "$root"
	after=$(bench_server_cpu_ns "$root")
	tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out" | head -1)
	txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' <<<"$out")
	echo "$r $c $tps $(awk -v a="$after" -v b="$before" -v n="$txns" 'BEGIN {printf "%.0f", (a - b) / (n > 0 ? n : 1)}')"
}

echo "pgbench: $rounds rounds of ${seconds}s blocks, scale $scale, $clients clients"
for w in "${workloads[@]}"; do
	: >"$root/$w.out"
	for r in $(seq 1 "$rounds"); do
		for k in $(seq 0 $((${#configs[@]} - 1))); do
			block "${configs[$(((r + k) % ${#configs[@]}))]}" "$w" "$r" >>"$root/$w.out"
			echo "  block: $(tail -1 "$root/$w.out") (round, cluster, tps, server CPU ns per transaction)"
		done
	done
	read -r tps _ < <(awk '$2 == "not_loaded" {print $3}' "$root/$w.out" | bench_quartiles)
	read -r cpu _ < <(awk '$2 == "not_loaded" {print $4 / 1e6}' "$root/$w.out" | bench_quartiles)
	echo "$w (${flags[$w]/$root\//}): not loaded median $tps tps, server CPU $cpu ms per transaction"
	case $w in
		select_only | select_simple) tps_goal=">= 0.99"; cpu_goal="-" ;;
		connect) tps_goal="-"; cpu_goal="<= 1.05" ;;
		join3) tps_goal=">= 0.97"; cpu_goal="<= 1.03" ;;
	esac
	bench_summary "$root/$w.out" not_loaded not_loaded_again learn 3 "pgbench $w TPS, learn" "$tps_goal"
	bench_summary "$root/$w.out" not_loaded not_loaded_again learn 4 \
		"pgbench $w server CPU per transaction, learn" "$cpu_goal"
	# what computing queryIds costs alone, and learn mode against a server
	# that computes them anyway (as one running pg_stat_statements does)
	bench_summary "$root/$w.out" not_loaded not_loaded_again query_ids 4 \
		"pgbench $w server CPU per transaction, queryIds only" "-"
	bench_summary "$root/$w.out" query_ids not_loaded_again learn 4 \
		"pgbench $w server CPU per transaction, learn / queryIds" "-" not_loaded
	# the library loaded, doing nothing (mode off), against queryIds alone
	# (the hooks still compute them), and learn mode against it
	bench_summary "$root/$w.out" query_ids not_loaded_again loaded_off 4 \
		"pgbench $w server CPU per transaction, mode off / queryIds" "-" not_loaded
	bench_summary "$root/$w.out" loaded_off not_loaded_again learn 4 \
		"pgbench $w server CPU per transaction, learn / mode off" "-" not_loaded
	if [ "$w" = connect ]; then
		# a new backend's start-up and first statement: extra CPU in ms
		read -r m q1 q3 < <(awk '{v[$1 " " $2] = $4; r[$1] = 1}
			END {for (k in r) printf "%.4f\n", (v[k " learn"] - v[k " not_loaded"]) / 1e6}' "$root/$w.out" | bench_quartiles)
		read -r noise _ < <(awk '{v[$1 " " $2] = $4; r[$1] = 1}
			END {for (k in r) printf "%.4f\n", (v[k " not_loaded_again"] - v[k " not_loaded"]) / 1e6}' "$root/$w.out" | bench_quartiles)
		printf '  %-58s %s  [%s, %s]  A/A %s  (goal %s)\n' "new backend's first statement, extra server CPU ms" "$m" "$q1" "$q3" "$noise" "<= +0.3"
		bench_result "new backend's first statement, extra server CPU ms" "$m" "$q1" "$q3" "$noise" "<= +0.3"
	fi
done
