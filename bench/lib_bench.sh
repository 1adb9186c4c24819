# Shared helpers of the overhead benchmarks (sourced, not run; after
# scripts/lib.sh).  Every figure is measured taking turns: the
# configurations run in short blocks, in a rotating order, many rounds, so
# that a change of the machine's load hits all of them; a figure is the
# median over the rounds of a configuration's ratio to the baseline of the
# same round, printed with its quartiles, next to the ratio of two identical
# baseline blocks (A against A: the noise).
#
# Results go to NDAG_BENCH_RESULTS (a file of tab-separated rows: figure,
# median, first quartile, third quartile, A-against-A median, goal), which
# bench/bench.sh prints as one table.

NDAG_BENCH_RESULTS=${NDAG_BENCH_RESULTS:-/dev/null}

# bench_clock_build: build bench/clock (the backend's CPU clock) in place,
# print the path of its shared library
bench_clock_build() {
	make -s -C bench/clock >/dev/null
	echo "$PWD/bench/clock/bench_clock.so"
}

# bench_clock_sql LIB: SQL creating bench_cpu_ns() from the library LIB
bench_clock_sql() {
	echo "CREATE FUNCTION bench_cpu_ns() RETURNS bigint LANGUAGE c AS '$1', 'bench_cpu_ns';"
}

# bench_cluster DIR PORT PRELOAD [EXTRA_CONF]: start a throwaway cluster in
# DIR/data preloading PRELOAD (empty: nothing); no autovacuum (the
# benchmarks vacuum and analyze their tables themselves)
bench_cluster() {
	local dir=$1 port=$2 preload=$3 extra=${4:-}
	as_pg initdb -D "$dir/data" -A trust -U postgres >/dev/null
	cat >>"$dir/data/postgresql.conf" <<CONF
shared_preload_libraries = '$preload'
listen_addresses = ''
port = $port
unix_socket_directories = '$dir'
shared_buffers = 256MB
max_parallel_workers_per_gather = 0
autovacuum = off
ruvector.dag_background_interval = 2147483647
$extra
CONF
	as_pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w start >/dev/null
}

# bench_quartiles: median, first and third quartile of the numbers on stdin
bench_quartiles() {
	sort -g | awk '
		function q(p,   i, f) { i = 1 + (NR - 1) * p; f = int(i); return a[f] + (i - f) * (a[f + 1] - a[f]) }
		{ a[NR] = $1 }
		END { if (NR == 0) { print "nan nan nan"; exit } a[NR + 1] = a[NR]; printf "%.4f %.4f %.4f\n", q(0.5), q(0.25), q(0.75) }'
}

# bench_result FIGURE MEDIAN Q1 Q3 NOISE GOAL: one row of the table
bench_result() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$NDAG_BENCH_RESULTS"
}

# bench_ratios FILE BASE CONFIG FIELD: from FILE's rows "round config
# value...", the ratio CONFIG / BASE of column FIELD (3 = the first value)
# per round, one a line
bench_ratios() {
	awk -v base="$2" -v conf="$3" -v f="$4" '
		{ v[$1 " " $2] = $f; r[$1] = 1 }
		END { for (k in r) if ((k " " base) in v && (k " " conf) in v && v[k " " base] > 0)
				printf "%.6f\n", v[k " " conf] / v[k " " base] }' "$1"
}

# bench_summary FILE BASE NOISE_CONF CONFIG FIELD FIGURE GOAL [NOISE_BASE]:
# print and record the median ratio of CONFIG to BASE with its quartiles and
# the A against A noise (NOISE_CONF, identical to NOISE_BASE, against it;
# NOISE_BASE is BASE unless given)
bench_summary() {
	local file=$1 base=$2 noise_conf=$3 conf=$4 field=$5 figure=$6 goal=$7 noise_base=${8:-$2} m q1 q3 noise
	read -r m q1 q3 < <(bench_ratios "$file" "$base" "$conf" "$field" | bench_quartiles)
	read -r noise _ < <(bench_ratios "$file" "$noise_base" "$noise_conf" "$field" | bench_quartiles)
	printf '  %-58s %s  [%s, %s]  A/A %s  (goal %s)\n' "$figure" "$m" "$q1" "$q3" "$noise" "$goal"
	bench_result "$figure" "$m" "$q1" "$q3" "$noise" "$goal"
}

# bench_statements DIR PORT DB QUERY ROUNDS BLOCK OUT CONFIG=SETTINGS...:
# in one session, ROUNDS rounds in which every configuration (its SET
# commands) runs QUERY BLOCK times, the configurations in a rotating order;
# writes to OUT one row per round and configuration: round, configuration,
# backend CPU ns per execution, wall us per execution
bench_statements() {
	local dir=$1 port=$2 db=$3 query=$4 rounds=$5 block=$6 out=$7
	shift 7
	local names=() sets=() n r k c i
	for c in "$@"; do names+=("${c%%=*}"); sets+=("${c#*=}"); done
	n=${#names[@]}
	{
		echo '\set QUIET on'
		for i in $(seq 0 $((n - 1))); do echo "${sets[$i]}"; echo "$query \\g /dev/null"; done	# warm-up
		for r in $(seq 1 "$rounds"); do
			for k in $(seq 0 $((n - 1))); do
				i=$(((r + k) % n))
				echo "${sets[$i]}"
				echo "SELECT bench_cpu_ns() AS c0, (extract(epoch FROM clock_timestamp()) * 1e6)::bigint AS w0 \\gset"
				for _ in $(seq 1 "$block"); do echo "$query \\g /dev/null"; done
				echo "SELECT $r, '${names[$i]}', (bench_cpu_ns() - :c0) / $block.0, ((extract(epoch FROM clock_timestamp()) * 1e6)::bigint - :w0) / $block.0;"
			done
		done
	} >"$dir/statements.sql"
	chown "$(ndag_pg_user)" "$dir/statements.sql"
	as_pg psql -h "$dir" -p "$port" -U postgres -d "$db" -X -qAt -F ' ' -v ON_ERROR_STOP=1 \
		-f "$dir/statements.sql" >"$out"
}

# bench_server_cpu_ns DIR: CPU time (ns) the server of DIR has used so far:
# the postmaster, its live children and its exited children (a child that
# exits while this reads is counted once the postmaster has reaped it)
bench_server_cpu_ns() {
	local pm tck c
	pm=$(head -1 "$1/data/postmaster.pid")
	tck=$(getconf CLK_TCK)
	{
		# utime stime cutime cstime of the postmaster (fields 14-17)
		sed 's/^.*) //' "/proc/$pm/stat" | awk '{print $12 + $13 + $14 + $15}'
		for c in $(pgrep -P "$pm" || true); do
			{ cat "/proc/$c/stat" 2>/dev/null || true; } | sed 's/^.*) //' | awk 'NF {print $12 + $13}'
		done
	} | awk -v t="$tck" '{s += $1} END {printf "%.0f\n", s * 1e9 / t}'
}

# bench_server_settle DIR: wait (at most 10 s) until the server of DIR has
# reaped the backends of the clients that left, so that their CPU time is
# in the postmaster's children's time when bench_server_cpu_ns reads it
bench_server_settle() {
	local pm c busy
	pm=$(head -1 "$1/data/postmaster.pid")
	for _ in $(seq 1 100); do
		busy=0
		for c in $(pgrep -P "$pm" || true); do
			# a client backend, or a child that exited and is not reaped yet
			if grep -q '^postgres: postgres ' "/proc/$c/cmdline" 2>/dev/null ||
				[ "$(sed 's/^.*) //' "/proc/$c/stat" 2>/dev/null | cut -d' ' -f1)" = Z ]; then
				busy=1
			fi
		done
		[ "$busy" = 0 ] && return 0
		sleep 0.1
	done
}

# bench_ndag_wal_bytes PGWAL RMGR_ID FROM TO: bytes of neural_dag's WAL
# records (headers included) between LSNs FROM and TO in the WAL directory
# PGWAL, from pg_waldump --stats (run as the server's user)
bench_ndag_wal_bytes() {
	# pg_waldump stops with an error at the end of the WAL written so far,
	# after printing the statistics
	{ as_pg pg_waldump --stats -p "$1" -s "$3" -e "$4" 2>/dev/null || true; } |
		awk -v id="$2" '{ gsub(/\([^)]*\)/, "") }
			$1 ~ ("^custom0*" id "$") || $1 == "neural_dag" { print $NF; found = 1 }
			END { if (!found) print 0 }' | head -1
}
