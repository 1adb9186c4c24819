#!/bin/bash
# What neural_dag costs a short statement and a new connection, counted in
# instructions and first-level cache misses instead of time: callgrind
# (valgrind) runs the server, counting inside the backends only
# (--toggle-collect=PostgresMain: a backend's start, its statements and its
# exit; not the postmaster's own start), with its cache simulation.  The
# counts do not depend on the machine's load, so this figure holds on a
# busy machine where the timed benchmarks (pgbench_overhead.sh) cannot
# resolve a few per cent; time also depends on what the counts do not show
# (real caches, branch prediction), so both are printed, neither replaces
# the other.  Four configurations of one throwaway cluster (restarted into
# each): not loaded, not loaded computing queryIds (compute_query_id = on),
# the library loaded in mode off, and learn mode on the enabled pgbench
# tables (default settings otherwise).  Workloads:
#   select_simple   one connection running NDAG_BENCH_STATEMENTS pgbench -S
#                   statements (simple protocol: each one parsed, planned
#                   and executed); counts per statement
#   connect         NDAG_BENCH_CONNECTIONS connections of one pgbench -S
#                   statement each; counts of the median connection
# Each after 500 of the same statements ran unmeasured in that
# configuration (what the extension's shared memory learns of them: a
# statement known to be fast is recorded once in a hundred runs).  Prints, per
# workload and configuration, instructions and L1 misses (instruction,
# data read, data write) per unit, and the ratios to not loaded; asserts
# nothing.
#
#   NDAG_BENCH_STATEMENTS   statements of select_simple (default 3000, over
#                           the 500 run before, so that its backend is the
#                           one that ran the most)
#   NDAG_BENCH_CONNECTIONS  connections of connect (default 40)
#   NDAG_BENCH_LEARN_SETTINGS  more settings of learn mode, e.g.
#                           "-c ruvector.dag_fast_query_ms=0": every statement
#                           recorded, as a connection's statements are
#                           until they are known to be fast
#   NDAG_BENCH_KEEP         a directory to keep the measured backends'
#                           callgrind files in (WORKLOAD-CONFIG/), for
#                           callgrind_annotate
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib_bench.sh

statements=${NDAG_BENCH_STATEMENTS:-3000}
connections=${NDAG_BENCH_CONNECTIONS:-40}
command -v valgrind >/dev/null || { echo "valgrind is needed (scripts/setup.sh installs it)" >&2; exit 1; }

root=$(mktemp -d /tmp/neural_dag-bench.XXXXXX)
chown "$(ndag_pg_user)" "$root"
mkdir "$root/cg"
chown "$(ndag_pg_user)" "$root/cg"
configs=(not_loaded query_ids loaded_off learn)
# under valgrind a statement runs some 50 times slower: the latency
# thresholds scaled alike, so that the extension takes for fast (recorded
# once in a hundred runs) and not worth exploring what it would natively
slowdown="-c ruvector.dag_fast_query_ms=50 -c ruvector.dag_min_latency=250 ${NDAG_BENCH_LEARN_SETTINGS:-}"
declare -A settings=(
	[not_loaded]="-c shared_preload_libraries="
	[query_ids]="-c shared_preload_libraries= -c compute_query_id=on"
	[loaded_off]="-c shared_preload_libraries=neural_dag -c ruvector.dag_mode=off"
	[learn]="-c shared_preload_libraries=neural_dag -c ruvector.dag_mode=learn $slowdown")
stop_server() {
	local pm
	[ -f "$root/data/postmaster.pid" ] || return 0
	pm=$(head -1 "$root/data/postmaster.pid")
	kill -INT "$pm" 2>/dev/null || true
	for _ in $(seq 1 600); do
		kill -0 "$pm" 2>/dev/null || return 0
		sleep 0.1
	done
	kill -QUIT "$pm" 2>/dev/null || true
}
trap 'stop_server; rm -rf "$root"' EXIT

port=$(ndag_free_port 56200)
bench_cluster "$root" "$port" neural_dag
psql_q() { as_pg psql -h "$root" -p "$port" -U postgres -X -qAt -v ON_ERROR_STOP=1 "$@"; }
as_pg pgbench -h "$root" -p "$port" -U postgres -i -q -s 1 postgres >/dev/null 2>&1
psql_q -c "CREATE EXTENSION neural_dag" -c "
	SELECT ruvector_enable_neural_dag(t)
	FROM unnest(ARRAY['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers',
					  'pgbench_history']::regclass[]) t" >/dev/null
as_pg pg_ctl -D "$root/data" -w -m fast stop >/dev/null
postgres_bin=$(dirname "$(command -v pg_ctl)")/postgres

# start_under_callgrind CONFIG: the server in CONFIG's settings, every
# backend counted into $root/cg/cg.PID
start_under_callgrind() {
	rm -f "$root"/cg/cg.*
	# shellcheck disable=SC2086
	as_pg bash -c "valgrind --tool=callgrind --toggle-collect=PostgresMain --cache-sim=yes \
		--callgrind-out-file=$root/cg/cg.%p $postgres_bin -D $root/data ${settings[$1]} \
		>$root/valgrind.log 2>&1 &"
	for _ in $(seq 1 1200); do
		as_pg pg_isready -q -h "$root" -p "$port" && return 0
		sleep 0.1
	done
	echo "the server under valgrind did not start" >&2
	exit 1
}

# totals FILE...: the summed "Ir I1mr D1mr D1mw" of callgrind files
totals() {
	awk '/^events:/ { for (i = 2; i <= NF; i++) col[$i] = i - 1 }
		/^totals:|^summary:/ { if (done[FILENAME]++) next
			ir += $(col["Ir"] + 1); i1 += $(col["I1mr"] + 1)
			dr += $(col["D1mr"] + 1); dw += $(col["D1mw"] + 1) }
		END { printf "%d %d %d %d\n", ir, i1, dr, dw }' "$@"
}

# files_count: how many callgrind files the server's processes wrote (a
# process writes its file when it exits)
files_count() {
	find "$root/cg" -name 'cg.*' | wc -l
}

# measure CONFIG WORKLOAD: prints "workload config Ir I1mr D1mr D1mw" per
# unit: select_simple's backend (the one that ran the most instructions),
# connect's median connection
measure() {
	local c=$1 w=$2 flags n0 files
	case $w in
		select_simple) flags="-M simple -S -t $statements" ;;
		connect) flags="-M simple -S -C -t $connections" ;;
	esac
	start_under_callgrind "$c"
	# the statement known first, as after a while of pgbench (its runs
	# recorded and found fast, its parameter class known); waiting for the
	# backend's file so that it is not taken for a measured one
	n0=$(files_count)
	as_pg pgbench -h "$root" -p "$port" -U postgres -n -M simple -S -t 500 postgres >/dev/null 2>&1
	for _ in $(seq 1 600); do
		[ "$(files_count)" -gt "$n0" ] && break
		sleep 0.1
	done
	find "$root/cg" -name 'cg.*' >"$root/before"
	# shellcheck disable=SC2086
	as_pg pgbench -h "$root" -p "$port" -U postgres -n $flags postgres >/dev/null 2>&1
	stop_server
	files=$(find "$root/cg" -name 'cg.*' | grep -vxF -f "$root/before" | while read -r f; do
		echo "$(totals "$f" | cut -d' ' -f1) $f"; done | sort -n | awk '{print $2}')
	if [ -n "${NDAG_BENCH_KEEP:-}" ]; then
		mkdir -p "$NDAG_BENCH_KEEP/$w-$c"
		# shellcheck disable=SC2086
		cp $files "$NDAG_BENCH_KEEP/$w-$c/"
	fi
	case $w in
		select_simple)
			totals "$(tail -1 <<<"$files")" | awk -v w="$w" -v c="$c" -v n="$statements" \
				'{printf "%s %s %.0f %.1f %.1f %.1f\n", w, c, $1 / n, $2 / n, $3 / n, $4 / n}' ;;
		connect)
			# the median connection (files sorted by instructions; the
			# extra connection pgbench makes first is among them)
			totals "$(sed -n "$((($(wc -l <<<"$files") + 1) / 2))p" <<<"$files")" |
				awk -v w="$w" -v c="$c" '{printf "%s %s %.0f %.1f %.1f %.1f\n", w, c, $1, $2, $3, $4}' ;;
	esac
}

echo "callgrind counts per unit (select_simple: a statement; connect: a connection)"
printf "%-14s %-11s %12s %8s %8s %8s %8s %8s\n" workload config instructions I1miss D1rmiss D1wmiss "Ir x" "L1miss x"
for w in select_simple connect; do
	: >"$root/$w.out"
	for c in "${configs[@]}"; do
		measure "$c" "$w" >>"$root/$w.out"
	done
	awk '$2 == "not_loaded" {ir0 = $3; m0 = $4 + $5 + $6} {rows[NR] = $0; ir[NR] = $3; m[NR] = $4 + $5 + $6}
		END { for (i = 1; i <= NR; i++) { split(rows[i], f, " ")
			printf "%-14s %-11s %12s %8s %8s %8s %8.4f %8.4f\n", f[1], f[2], f[3], f[4], f[5], f[6], ir[i] / ir0, m[i] / m0 } }' "$root/$w.out"
	for c in query_ids loaded_off learn; do
		awk -v c="$c" -v w="$w" '$2 == "not_loaded" {ir0 = $3; m0 = $4 + $5 + $6} $2 == c {ir = $3; m = $4 + $5 + $6}
			END {printf "%s\t%.4f\t%.4f\t%.4f\t%s\t%s\n", "callgrind " w " instructions, " c, ir / ir0, ir / ir0, ir / ir0, "-", "-"}' \
			"$root/$w.out" >>"$NDAG_BENCH_RESULTS"
	done
done
