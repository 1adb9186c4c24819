#!/bin/bash
# Planning time added per statement: the median "Planning Time" EXPLAIN
# reports for a few statements on an enabled table, with the library not
# loaded and preloaded in observe and learn mode.  Prints numbers, asserts
# none.
#   NDAG_BENCH_PLANS  plannings per statement and configuration (default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh

plans=${NDAG_BENCH_PLANS:-2000}
dir=$(mktemp -d /tmp/neural_dag-plan-bench.XXXXXX)
chown "$(ndag_pg_user)" "$dir"
port=$(ndag_free_port 56300)
trap 'as_pg pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

as_pg initdb -D "$dir/data" -A trust -U postgres >/dev/null
cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = ''
port = $port
unix_socket_directories = '$dir'
CONF

psql_q() { as_pg psql -h "$dir" -p "$port" -U postgres -X -qAt "$@"; }

# restart_with PRELOAD MODE: restart with or without neural_dag
restart_with() {
	as_pg pg_ctl -D "$dir/data" -l "$dir/log" -w stop >/dev/null 2>&1 || true
	as_pg pg_ctl -D "$dir/data" -l "$dir/log" -w \
		-o "-c shared_preload_libraries=$1 -c ruvector.dag_mode=$2" start >/dev/null
}

restart_with neural_dag learn
psql_q -c "CREATE EXTENSION neural_dag" -c "
	CREATE TABLE bo (id int PRIMARY KEY, k int, v text);
	CREATE TABLE bc (k int PRIMARY KEY, name text);
	INSERT INTO bo SELECT g, g % 100, md5(g::text) FROM generate_series(1, 100000) g;
	INSERT INTO bc SELECT g, 'c' || g FROM generate_series(0, 99) g;
	ANALYZE bo, bc;
	SELECT ruvector_enable_neural_dag('bo'), ruvector_enable_neural_dag('bc');
	CREATE FUNCTION median_planning_ms(q text, n int) RETURNS double precision
	LANGUAGE plpgsql AS \$\$
	DECLARE j json; t double precision[] := '{}';
	BEGIN
		FOR i IN 1..n LOOP
			EXECUTE 'EXPLAIN (FORMAT JSON, SUMMARY) ' || q INTO j;
			t := t || (j->0->>'Planning Time')::double precision;
		END LOOP;
		RETURN percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(t) x;
	END \$\$;" >/dev/null

queries=(
	"SELECT v FROM bo WHERE id = 42"
	"SELECT c.name, count(*) FROM bo o JOIN bc c USING (k) GROUP BY c.name"
	"SELECT * FROM bo o JOIN bc c USING (k) WHERE o.id < 100 AND c.k IN (SELECT k FROM bc WHERE name LIKE 'c1%')"
)

printf '%-10s %-9s %12s  %s\n' library mode "median ms" statement
for config in "none-" "neural_dag-observe" "neural_dag-learn"; do
	lib=${config%%-*}
	mode=${config#*-}
	[ "$lib" = none ] && lib=""
	restart_with "$lib" "${mode:-learn}"
	for q in "${queries[@]}"; do
		ms=$(psql_q -c "SELECT round(median_planning_ms(\$q\$$q\$q\$, $plans)::numeric, 4)")
		printf '%-10s %-9s %12s  %s\n' "${lib:-none}" "${mode:--}" "$ms" "${q:0:60}"
	done
done
echo "goal (DESIGN.md section 10): planning time added < 0.050 ms median"
