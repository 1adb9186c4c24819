#!/bin/bash
# What a new connection costs: pgbench -S -C (one fresh backend per
# transaction, whose only statement is its first) against
#   A  the library not loaded,
#   B  neural_dag preloaded in learn mode, pgbench tables enabled (with a
#      learned state: patterns and a cost model),
#   C  neural_dag preloaded in learn mode, a database whose tables are not
#      enabled,
# in short interleaved blocks (A, A again, B, C, per round).  Server CPU per
# transaction is the CPU of the postmaster and all its children (exited
# backends are in the postmaster's cutime/cstime, the others in their own
# /proc/<pid>/stat) over the block, divided by the transactions.  The first
# statement's latency is the median of pgbench's per-transaction log (with
# -C pgbench keeps the connection time out of it).  Prints medians with
# quartiles, also paired by round (X / A and X - A within a round, whose
# blocks ran under the same load of a shared machine), the noise of A
# against A, the page faults per backend (counted exactly, where CPU time
# varies from block to block: on a machine where a fault costs 10-20 us they
# are most of what a new backend's extra pages cost), and the figures
# against the goals (B - A <= 0.3 ms, B / A <= 1.05, C / A <= 1.05);
# asserts nothing.
#
#   NDAG_BENCH_SECONDS  seconds per block (default 5)
#   NDAG_BENCH_ROUNDS   rounds of (A, A, B, C) (default 6)
#   NDAG_BENCH_CLIENTS  pgbench clients and threads (default 1)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

seconds=${NDAG_BENCH_SECONDS:-5}
rounds=${NDAG_BENCH_ROUNDS:-6}
clients=${NDAG_BENCH_CLIENTS:-1}
hz=$(getconf CLK_TCK)

dir=$(mktemp -d /tmp/neural_dag-bench.XXXXXX)
chown "$(ndag_pg_user)" "$dir"
port=$(ndag_free_port 56200)
trap 'as_pg pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

as_pg initdb -D "$dir/data" -A trust -U postgres >/dev/null
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$dir'
shared_buffers = 128MB
CONF

psql_q() { as_pg psql -h "$dir" -p "$port" -U postgres -X -qAt "$@"; }

# restart_with LIB_LOADED: restart the server with or without neural_dag
restart_with() {
	local opts="-c shared_preload_libraries="
	if [ "$1" = yes ]; then
		opts="-c shared_preload_libraries=neural_dag -c ruvector.dag_mode=learn"
	fi
	as_pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w -m fast -o "$opts" restart >/dev/null 2>&1 ||
		as_pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w -o "$opts" start >/dev/null
}

restart_with yes
for db in ndag_on ndag_off; do
	psql_q -d postgres -c "CREATE DATABASE $db" >/dev/null
	as_pg pgbench -h "$dir" -p "$port" -U postgres -i -q -s 1 "$db" >/dev/null 2>&1
	psql_q -d "$db" -c "CREATE EXTENSION neural_dag" >/dev/null
done
psql_q -d ndag_on -c "
	SELECT ruvector_enable_neural_dag(t)
	FROM unnest(ARRAY['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers',
					  'pgbench_history']::regclass[]) t" >/dev/null
# a learned state to load: record some statements, flush, learn
as_pg pgbench -h "$dir" -p "$port" -U postgres -n -S -t 2000 ndag_on >/dev/null 2>&1
psql_q -d ndag_on -c "SELECT ruvector_dag_flush()" -c "SELECT ruvector_dag_learn()" >/dev/null

# server_ticks: CPU clock ticks of the postmaster, its reaped children and
# its live children
server_ticks() {
	local pm total=0 pid f
	pm=$(head -1 "$dir/data/postmaster.pid")
	# fields after the command: 12-13 utime stime, 14-15 cutime cstime
	f=$(sed 's/^.*) //' "/proc/$pm/stat")
	total=$(awk '{print $12 + $13 + $14 + $15}' <<<"$f")
	for pid in $(pgrep -P "$pm" || true); do
		f=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null) || continue
		total=$((total + $(awk '{print $12 + $13}' <<<"$f")))
	done
	echo "$total"
}

# backend_faults: the page faults of the postmaster's reaped children (its
# cminflt): every backend of a pgbench -S -C block, counted exactly, where
# CPU time varies by more than a small change between blocks
backend_faults() {
	sed 's/^.*) //' "/proc/$(head -1 "$dir/data/postmaster.pid")/stat" | awk '{print $9}'
}

# block DB LABEL: one pgbench -S -C block; appends "cpu_ms_per_tx
# median_latency_ms faults_per_tx" to $dir/LABEL
block() {
	local db=$1 label=$2 before after n lat faults_before faults_after
	rm -f "$dir"/log.*
	faults_before=$(backend_faults)
	before=$(server_ticks)
	n=$(as_pg pgbench -h "$dir" -p "$port" -U postgres -n -S -C -c "$clients" -j "$clients" \
		-T "$seconds" --log --log-prefix="$dir/log" "$db" 2>/dev/null |
		sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
	after=$(server_ticks)
	faults_after=$(backend_faults)
	lat=$(cat "$dir"/log.* | awk '{print $3 / 1000}' | sort -g |
		awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}')
	awk -v t=$((after - before)) -v n="$n" -v hz="$hz" -v l="$lat" \
		-v f=$((faults_after - faults_before)) \
		'BEGIN {printf "%.4f %.4f %.1f\n", t * 1000 / hz / n, l, f / n}' >>"$dir/$label"
	echo "  $label: $n transactions, $(tail -1 "$dir/$label" | awk '{printf "%.3f ms CPU/tx, first statement %.3f ms, %.1f page faults/tx", $1, $2, $3}')"
}

# warm_up: a second of pgbench -S -C in each database, not measured, so
# that the first block after a restart does not pay for cold caches
warm_up() {
	for db in ndag_on ndag_off; do
		as_pg pgbench -h "$dir" -p "$port" -U postgres -n -S -C -T 1 "$db" >/dev/null 2>&1
	done
}

for r in $(seq 1 "$rounds"); do
	echo "round $r"
	restart_with no
	warm_up
	block ndag_on A
	block ndag_on A2
	restart_with yes
	warm_up
	block ndag_on B
	block ndag_off C
done

# quartiles COLUMN FILE: "median (q1-q3)"
quartiles() {
	awk -v c="$1" '{print $c}' "$2" | sort -g |
		awk '{a[NR]=$1} END {
			n = NR;
			m = (n%2) ? a[(n+1)/2] : (a[n/2]+a[n/2+1])/2;
			printf "%.3f (%.3f-%.3f)", m, a[int((n-1)/4)+1], a[int(3*(n-1)/4)+1]}'
}
med() { quartiles "$1" "$2" | cut -d' ' -f1; }

# paired COLUMN X: per round X / A and X - A of the column (the blocks of
# one round ran under the same load of a shared machine), into $dir/X.pair
paired() {
	paste -d' ' "$dir/A" "$dir/$2" | awk -v c="$1" '{k = NF / 2; print $(c + k) / $c, $(c + k) - $c}' >"$dir/$2.pair"
}

echo
echo "server CPU per transaction, ms, median (quartiles) over $rounds blocks of ${seconds}s:"
for l in A A2 B C; do
	echo "  $l: $(quartiles 1 "$dir/$l")   first statement latency $(quartiles 2 "$dir/$l") ms   page faults per backend $(quartiles 3 "$dir/$l")"
done
a=$(med 1 "$dir/A"); a2=$(med 1 "$dir/A2"); b=$(med 1 "$dir/B"); c=$(med 1 "$dir/C")
la=$(med 2 "$dir/A"); lb=$(med 2 "$dir/B"); lc=$(med 2 "$dir/C")
echo "paired by round (X / A and X - A within each round), median (quartiles):"
for l in A2 B C; do
	paired 1 "$l"
	echo "  $l CPU per tx: $(quartiles 1 "$dir/$l.pair")x, $(quartiles 2 "$dir/$l.pair") ms"
	paired 2 "$l"
	echo "  $l first statement latency: $(quartiles 2 "$dir/$l.pair") ms"
	paired 3 "$l"
	echo "  $l page faults per backend: $(quartiles 2 "$dir/$l.pair") more"
done
paired 1 A2; paired 1 B; paired 1 C
rb=$(med 1 "$dir/B.pair"); db=$(med 2 "$dir/B.pair"); rc=$(med 1 "$dir/C.pair")
dc=$(med 2 "$dir/C.pair"); ra2=$(med 1 "$dir/A2.pair")
echo "against the goals (paired medians):"
awk -v ra2="$ra2" -v rb="$rb" -v db="$db" -v rc="$rc" -v dc="$dc" 'BEGIN {
	printf "  noise, A again / A:                         %.3fx\n", ra2
	printf "  B enabled tables, CPU per tx / A:           %.3fx   (goal <= 1.05x)\n", rb
	printf "  B enabled tables, extra CPU per connection: %+.3f ms (goal <= +0.3 ms)\n", db
	printf "  C tables not enabled, CPU per tx / A:       %.3fx   (goal <= 1.05x)\n", rc
	printf "  C tables not enabled, extra CPU:            %+.3f ms\n", dc
}'
echo "medians of the blocks, unpaired:"
awk -v a="$a" -v a2="$a2" -v b="$b" -v c="$c" -v la="$la" -v lb="$lb" -v lc="$lc" 'BEGIN {
	printf "noise, A again / A:                         %.3fx\n", a2 / a
	printf "B enabled tables, CPU per tx / A:           %.3fx   (goal <= 1.05x)\n", b / a
	printf "B enabled tables, extra CPU per connection: %+.3f ms (goal <= +0.3 ms)\n", b - a
	printf "B enabled tables, first statement latency:  %+.3f ms against A\n", lb - la
	printf "C tables not enabled, CPU per tx / A:       %.3fx   (goal <= 1.05x)\n", c / a
	printf "C tables not enabled, extra CPU:            %+.3f ms\n", c - a
	printf "C tables not enabled, first statement:      %+.3f ms against A\n", lc - la
}'
