#!/bin/bash
# Time a streaming standby takes to replay snapshots of the learned state
# holding many statements (the startup process applies each record to its
# store, then its shared per-statement memory forgets what the record
# rewrote).  The primary stores NDAG_BENCH_QUERIES (default 2000)
# statements in ndag_queries, then logs NDAG_BENCH_SNAPSHOTS (default 5)
# snapshots (ruvector_dag_restore of a backup: each is one WAL record of
# the whole plan-deciding state) while the standby, whose
# ruvector.dag_query_memory_size is NDAG_BENCH_SLOTS (default 16384),
# pauses its replay; once it received them, its replay resumes and the
# time until it replayed them all is measured (pg_last_wal_replay_lsn
# polled every 10 ms), NDAG_BENCH_ROUNDS times (default 3).  Prints
# figures, asserts nothing.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
. bench/lib_bench.sh

queries=${NDAG_BENCH_QUERIES:-2000}
snapshots=${NDAG_BENCH_SNAPSHOTS:-5}
slots=${NDAG_BENCH_SLOTS:-16384}
rounds=${NDAG_BENCH_ROUNDS:-3}
rmgr_id=173

dir=$(mktemp -d /tmp/neural_dag-replay.XXXXXX)
chown "$(ndag_pg_user)" "$dir"
port=$(ndag_free_port 56600)
sport=$(ndag_free_port $((port + 1)))
trap 'as_pg pg_ctl -D "$dir/standby" -m immediate stop >/dev/null 2>&1 || true
	as_pg pg_ctl -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$dir"' EXIT

bench_cluster "$dir" "$port" neural_dag "ruvector.dag_rmgr_id = $rmgr_id"
psql_p() { as_pg psql -h "$dir" -p "$port" -U postgres -X -qAt -v ON_ERROR_STOP=1 "$@"; }
psql_s() { as_pg psql -h "$dir" -p "$sport" -U postgres -X -qAt -v ON_ERROR_STOP=1 "$@"; }

psql_p <<SQL >/dev/null
CREATE EXTENSION neural_dag;
CREATE TABLE rs (id int PRIMARY KEY, v int);
INSERT INTO rs SELECT g, g % 7 FROM generate_series(1, 1000) g;
ANALYZE rs;
SELECT ruvector_enable_neural_dag('rs');
SET ruvector.dag_mode = 'learn';
SET ruvector.dag_min_latency = 0;
-- statement k: k equalities ORed (one queryId per k on 15 and 18)
DO \$\$
BEGIN
	FOR k IN 1..$queries LOOP
		EXECUTE format('SELECT count(*) FROM rs WHERE %s',
			(SELECT string_agg('id = ' || g, ' OR ') FROM generate_series(1, k) g));
	END LOOP;
END
\$\$;
SELECT ruvector_dag_flush();
SELECT ruvector_dag_backup('$dir/state.backup');
SQL
stored=$(psql_p -c 'SELECT count(*) FROM ndag_queries')

as_pg pg_basebackup -h "$dir" -p "$port" -U postgres -D "$dir/standby" -R -X stream >/dev/null
cat >>"$dir/standby/postgresql.conf" <<CONF
port = $sport
ruvector.dag_query_memory_size = $slots
CONF
as_pg pg_ctl -D "$dir/standby" -l "$dir/standby.log" -w start >/dev/null

# wait_lsn FUNCTION LSN: poll the standby until FUNCTION() reached LSN
wait_lsn() {
	until [ "$(psql_s -c "SELECT $1() >= '$2'::pg_lsn")" = t ]; do sleep 0.01; done
}

echo "== replay of $snapshots snapshots of $stored statements on a standby of $slots slots"
for r in $(seq 1 "$rounds"); do
	psql_s -c 'SELECT pg_wal_replay_pause()' >/dev/null
	for _ in $(seq 1 "$snapshots"); do
		psql_p -c "SELECT ruvector_dag_restore('$dir/state.backup')" >/dev/null
	done
	target=$(psql_p -c 'SELECT pg_current_wal_insert_lsn()')
	wait_lsn pg_last_wal_receive_lsn "$target"
	t0=$(date +%s%N)
	psql_s -c 'SELECT pg_wal_replay_resume()' >/dev/null
	wait_lsn pg_last_wal_replay_lsn "$target"
	t1=$(date +%s%N)
	printf '  round %d: %d ms (%d ms per snapshot)\n' "$r" \
		$(((t1 - t0) / 1000000)) $(((t1 - t0) / 1000000 / snapshots))
done
