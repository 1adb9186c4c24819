#!/bin/bash
# What a new connection costs under one installation of neural_dag against
# another (the code before a change, say): two clusters side by side, one
# per installation, each in learn mode with the pgbench tables enabled and
# a learned state, blocks of pgbench -S -C (a new backend per transaction)
# taking turns (the order alternating by round).  Server CPU per
# transaction: of the postmaster and all its children, from /proc
# (bench_server_cpu_ns).  Prints each round's B / A and B - A and their
# medians with quartiles; the same installation given twice measures the
# noise.  Asserts nothing.
#
#   bash bench/startup_ab.sh A_BINDIR B_BINDIR
#	A_BINDIR, B_BINDIR  PostgreSQL bin directories with neural_dag installed
#   NDAG_BENCH_SECONDS  seconds per block (default 5)
#   NDAG_BENCH_ROUNDS   rounds (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib_bench.sh

[ $# -eq 2 ] || { echo "usage: $0 A_BINDIR B_BINDIR" >&2; exit 2; }
declare -A bin=([A]=$1 [B]=$2) port
seconds=${NDAG_BENCH_SECONDS:-5}
rounds=${NDAG_BENCH_ROUNDS:-10}

dir=$(mktemp -d /tmp/neural_dag-bench.XXXXXX)
chown "$(ndag_pg_user)" "$dir"
trap 'for v in A B; do as_pg "${bin[$v]}/pg_ctl" -D "$dir/$v/data" -m immediate stop >/dev/null 2>&1 || true; done; rm -rf "$dir"' EXIT

port[A]=$(ndag_free_port 56400)
port[B]=$(ndag_free_port $((port[A] + 1)))

# psql_v, pgbench_v ARGS...: psql and pgbench of cluster $v
psql_v() { as_pg "${bin[$v]}/psql" -h "$dir" -p "${port[$v]}" -U postgres -X -qAt "$@"; }
pgbench_v() { as_pg "${bin[$v]}/pgbench" -h "$dir" -p "${port[$v]}" -U postgres "$@"; }

for v in A B; do
	mkdir "$dir/$v"
	chown "$(ndag_pg_user)" "$dir/$v"
	as_pg "${bin[$v]}/initdb" -D "$dir/$v/data" -A trust -U postgres >/dev/null
	cat >>"$dir/$v/data/postgresql.conf" <<CONF
listen_addresses = ''
port = ${port[$v]}
unix_socket_directories = '$dir'
shared_buffers = 128MB
shared_preload_libraries = 'neural_dag'
ruvector.dag_mode = learn
CONF
	as_pg "${bin[$v]}/pg_ctl" -D "$dir/$v/data" -l "$dir/$v/server.log" -w start >/dev/null
	psql_v -d postgres -c "CREATE DATABASE ndag_on" >/dev/null
	pgbench_v -i -q -s 1 ndag_on >/dev/null 2>&1
	psql_v -d ndag_on -c "CREATE EXTENSION neural_dag" -c "
		SELECT ruvector_enable_neural_dag(t)
		FROM unnest(ARRAY['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers',
						  'pgbench_history']::regclass[]) t" >/dev/null
	# a learned state to load, and warm caches
	pgbench_v -n -S -t 2000 ndag_on >/dev/null 2>&1
	psql_v -d ndag_on -c "SELECT ruvector_dag_flush()" -c "SELECT ruvector_dag_learn()" >/dev/null
	pgbench_v -n -S -C -T 1 ndag_on >/dev/null 2>&1
done

# block V: one pgbench -S -C block on cluster V; prints server CPU ms per transaction
block() {
	local v=$1 before after n
	before=$(bench_server_cpu_ns "$dir/$v")
	n=$(pgbench_v -n -S -C -T "$seconds" ndag_on 2>/dev/null |
		sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
	bench_server_settle "$dir/$v"
	after=$(bench_server_cpu_ns "$dir/$v")
	awk -v t=$((after - before)) -v n="$n" 'BEGIN {printf "%.4f\n", t / 1e6 / n}'
}

echo "A: $1"
echo "B: $2"
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) = 1 ]; then a=$(block A); b=$(block B); else b=$(block B); a=$(block A); fi
	echo "$a $b" >>"$dir/rounds"
	awk -v r="$r" -v a="$a" -v b="$b" \
		'BEGIN {printf "round %d: A %.3f ms, B %.3f ms CPU per transaction, B / A %.3f, B - A %+.3f ms\n", r, a, b, b / a, b - a}'
done

# quartiles: "median (q1-q3)" of the numbers on stdin
quartiles() {
	bench_quartiles | awk '{printf "%.3f (%.3f-%.3f)", $1, $2, $3}'
}
echo "server CPU per transaction over $rounds rounds of ${seconds}s blocks, median (quartiles):"
echo "  A: $(awk '{print $1}' "$dir/rounds" | quartiles) ms"
echo "  B: $(awk '{print $2}' "$dir/rounds" | quartiles) ms"
echo "  B / A, paired by round: $(awk '{print $2 / $1}' "$dir/rounds" | quartiles)x"
echo "  B - A, paired by round: $(awk '{print $2 - $1}' "$dir/rounds" | quartiles) ms"
