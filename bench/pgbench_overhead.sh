#!/bin/bash
# What recording executions costs: pgbench TPS with neural_dag preloaded in
# learn mode on enabled pgbench tables versus the library not loaded, for
# pgbench -S (select-only) and the TPC-B-like default script, in alternating
# rounds; then the recording figures of ruvector_dag_status(): mean time to
# record one execution and flush throughput.  Prints numbers, asserts none.
#
#   NDAG_BENCH_SECONDS  seconds per pgbench run (default 60)
#   NDAG_BENCH_ROUNDS   rounds of (not loaded, loaded) per script (default 3)
#   NDAG_BENCH_SCALE    pgbench scale factor (default 10)
#   NDAG_BENCH_CLIENTS  clients and threads (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

seconds=${NDAG_BENCH_SECONDS:-60}
rounds=${NDAG_BENCH_ROUNDS:-3}
scale=${NDAG_BENCH_SCALE:-10}
clients=${NDAG_BENCH_CLIENTS:-2}

dir=$(mktemp -d /tmp/neural_dag-bench.XXXXXX)
chown "$(ndag_pg_user)" "$dir"
port=$(ndag_free_port 56100)
trap 'as_pg pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

as_pg initdb -D "$dir/data" -A trust -U postgres >/dev/null
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$dir'
shared_buffers = 256MB
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
as_pg pgbench -h "$dir" -p "$port" -U postgres -i -q -s "$scale" postgres >/dev/null 2>&1
psql_q -c "CREATE EXTENSION neural_dag" -c "
	SELECT ruvector_enable_neural_dag(t)
	FROM unnest(ARRAY['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers',
					  'pgbench_history']::regclass[]) t" >/dev/null

# tps SCRIPT_FLAGS: one pgbench run, its TPS
tps() {
	as_pg pgbench -h "$dir" -p "$port" -U postgres -n -M prepared -c "$clients" -j "$clients" \
		-T "$seconds" "$@" postgres 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}

# median of the arguments
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for script in "-S" "-b tpcb-like"; do
	off=()
	on=()
	for r in $(seq 1 "$rounds"); do
		restart_with no
		off+=("$(tps $script)")
		restart_with yes
		on+=("$(tps $script)")
		echo "pgbench $script round $r: not loaded ${off[-1]} tps, learn mode ${on[-1]} tps"
	done
	m_off=$(median "${off[@]}")
	m_on=$(median "${on[@]}")
	echo "pgbench $script: median not loaded $m_off tps, learn mode $m_on tps, ratio $(awk -v a="$m_on" -v b="$m_off" 'BEGIN {printf "%.3f", a / b}')"
done

# the last learn-mode run's recording figures (counters start at the restart)
psql_q -c "SELECT ruvector_dag_flush()" >/dev/null
psql_q -c "
	SELECT 'recorded ' || (c->>'recorded') || ', flushed ' || (c->>'flushed') ||
		   ', dropped ' || (c->>'dropped') || ', failed ' || (c->>'failed') ||
		   E'\nrecording time per execution: mean ' ||
		   round((c->>'record_ns')::numeric / greatest((c->>'recorded')::numeric, 1) / 1000, 2) ||
		   ' us, median ' || round((c->>'record_p50_ns')::numeric / 1000, 2) ||
		   ' us, p99 ' || round((c->>'record_p99_ns')::numeric / 1000, 2) || ' us' ||
		   E'\nflush throughput: ' ||
		   round((c->>'flushed')::numeric / greatest((c->>'flush_us')::numeric, 1) * 1000000) ||
		   ' trajectories/s (' ||
		   round((c->>'flush_us')::numeric / greatest((c->>'flushed')::numeric, 1), 1) ||
		   ' us each, nodes included)'
	FROM (SELECT ruvector_dag_status()->'counters' AS c) s"
