#!/bin/bash
# WAL written by neural_dag's resource manager on a workload: per applied
# batch (a flush of recorded executions and the per-statement memory), per
# learning cycle, per snapshot (after a checkpoint) and per 1,000
# statements, next to the WAL of the whole run (pg_current_wal_lsn
# differences; the resource manager's share from pg_waldump --stats).  The
# workload: NDAG_BENCH_STATEMENTS (default 1000) executions of six query
# shapes over two tables in learn mode, exploring inline, then a flush and
# a learning cycle, NDAG_BENCH_CYCLES times (default 3); with
# ruvector.dag_wal_trajectories off, then on.  Prints figures, asserts
# nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib_bench.sh

statements=${NDAG_BENCH_STATEMENTS:-1000}
cycles=${NDAG_BENCH_CYCLES:-3}
rmgr_id=173

dir=$(mktemp -d /tmp/neural_dag-wal.XXXXXX)
chown "$(ndag_pg_user)" "$dir"
port=$(ndag_free_port 56500)
trap 'as_pg pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT

bench_cluster "$dir" "$port" neural_dag "ruvector.dag_rmgr_id = $rmgr_id"
psql_q() { as_pg psql -h "$dir" -p "$port" -U postgres -X -qAt -v ON_ERROR_STOP=1 "$@"; }

psql_q <<'SQL' >/dev/null
CREATE EXTENSION neural_dag;
CREATE TABLE wv_a AS SELECT g AS id, g % 200 AS x, g % 200 AS y, g % 200 AS z
	FROM generate_series(1, 100000) g;
CREATE TABLE wv_b AS SELECT g AS id, g % 1000 AS v FROM generate_series(1, 20000) g;
CREATE INDEX ON wv_a (x);
CREATE INDEX ON wv_a (id);
VACUUM ANALYZE wv_a, wv_b;
SELECT ruvector_enable_neural_dag('wv_a'), ruvector_enable_neural_dag('wv_b');
CHECKPOINT;
SQL

lsn() { psql_q -c 'SELECT pg_current_wal_insert_lsn()'; }
diff_bytes() { psql_q -c "SELECT pg_wal_lsn_diff('$2', '$1')::bigint"; }
# ndag_bytes FROM TO: bytes of neural_dag's records (with headers) in [FROM, TO)
ndag_bytes() { bench_ndag_wal_bytes "$dir/data/pg_wal" "$rmgr_id" "$1" "$2"; }

# one workload run of $statements statements (six shapes in turn)
workload_sql() {
	cat <<SQL
SET ruvector.dag_mode = 'learn';
SET ruvector.dag_exploration = 0.2;
SET ruvector.dag_exploration_mode = 'inline';
SET ruvector.dag_min_latency = 0;
DO \$\$
BEGIN
	FOR i IN 1..$statements LOOP
		CASE i % 6
		WHEN 0 THEN PERFORM count(*) FROM wv_a a JOIN wv_b b ON b.v = a.id WHERE a.x = i % 200 AND a.y = i % 200;
		WHEN 1 THEN PERFORM count(*) FROM wv_a WHERE id = i;
		WHEN 2 THEN PERFORM v, count(*) FROM wv_b WHERE id < 1000 + i GROUP BY v;
		WHEN 3 THEN PERFORM count(*) FROM wv_a a JOIN wv_a b ON a.id = b.id WHERE a.x = 3 AND a.z = 3;
		WHEN 4 THEN PERFORM * FROM wv_b ORDER BY v, id LIMIT 5;
		ELSE PERFORM count(*) FROM wv_a WHERE x = i % 200 AND y < 50;
		END CASE;
	END LOOP;
END
\$\$;
SQL
}

measure() {
	local label=$1 l0 l1 l2 l3 run_b run_n flush_b flush_n learn_b learn_n
	local total_b=0 total_n=0 stmts_n=0 stmts_b=0
	for c in $(seq 1 "$cycles"); do
		l0=$(lsn)
		workload_sql | psql_q >/dev/null
		l1=$(lsn)
		psql_q -c 'SELECT ruvector_dag_flush()' >/dev/null
		l2=$(lsn)
		psql_q -c 'SELECT ruvector_dag_learn()' >/dev/null
		l3=$(lsn)
		run_b=$(diff_bytes "$l0" "$l1"); run_n=$(ndag_bytes "$l0" "$l1")
		flush_b=$(diff_bytes "$l1" "$l2"); flush_n=$(ndag_bytes "$l1" "$l2")
		learn_b=$(diff_bytes "$l2" "$l3"); learn_n=$(ndag_bytes "$l2" "$l3")
		printf '  %-26s cycle %d: statements %8d B WAL (neural_dag %7d B); flush batch %8d B (neural_dag %7d B); learning cycle %8d B (neural_dag %7d B)\n' \
			"$label" "$c" "$run_b" "$run_n" "$flush_b" "$flush_n" "$learn_b" "$learn_n"
		total_b=$((total_b + run_b + flush_b + learn_b))
		total_n=$((total_n + run_n + flush_n + learn_n))
		stmts_b=$((stmts_b + run_b)); stmts_n=$((stmts_n + run_n + flush_n))
	done
	printf '  %-26s per 1,000 statements: neural_dag %d B (statements and their flush); whole run %d B WAL, neural_dag %d B (%.2f%%)\n' \
		"$label" $((stmts_n * 1000 / (statements * cycles))) "$total_b" "$total_n" \
		"$(awk -v n="$total_n" -v t="$total_b" 'BEGIN { print (t > 0 ? 100 * n / t : 0) }')"
}

echo "== WAL volume of neural_dag ($statements statements and a learning cycle, $cycles times)"
measure "trajectories off"
psql_q -c 'ALTER SYSTEM SET ruvector.dag_wal_trajectories = on' -c 'SELECT pg_reload_conf()' >/dev/null
measure "trajectories on"

# a snapshot: logged by the learner after a checkpoint
before=$(psql_q -c "SELECT coalesce(ruvector_dag_status()->>'snapshot_lsn', '0/0')")
l0=$(lsn)
psql_q -c 'CHECKPOINT' >/dev/null
for _ in $(seq 1 100); do
	now=$(psql_q -c "SELECT coalesce(ruvector_dag_status()->>'snapshot_lsn', '0/0')")
	[ "$now" != "$before" ] && break
	sleep 0.1
done
l1=$(lsn)
printf '  snapshot after a checkpoint: neural_dag %d B (store entries: %s)\n' \
	"$(ndag_bytes "$l0" "$l1")" "$(psql_q -c "SELECT ruvector_dag_status()->'entries'")"
