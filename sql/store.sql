-- The store's SQL functions: enabling tables, status, reset, backup and
-- restore, and the transactional behaviour of the writes they queue.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS neural_dag;
RESET client_min_messages;

CREATE TABLE store_t1 (a int);
CREATE TABLE store_t2 (a int);
CREATE TABLE store_parted (a int) PARTITION BY RANGE (a);
CREATE MATERIALIZED VIEW store_mv AS SELECT 1 AS a;
CREATE VIEW store_v AS SELECT 1 AS a;
CREATE SEQUENCE store_seq;

-- the SQLSTATE a statement fails with (for errors whose message names a
-- server path), or 'ok'
CREATE FUNCTION store_sqlstate(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE stmt;
	RETURN 'ok';
EXCEPTION WHEN others THEN
	RETURN SQLSTATE;
END
$$;

-- start from no enabled tables in this database
SELECT ruvector_dag_reset('tables') >= 0 AS reset;

-- enable: true the first time, false when already enabled
SELECT ruvector_enable_neural_dag('store_t1') AS first,
	   ruvector_enable_neural_dag('store_t1') AS second;
SELECT relid, dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AS this_db,
	   enabled_at IS NOT NULL AS has_time, settings
  FROM ndag_tables ORDER BY relid::text;
SELECT ruvector_enable_neural_dag('store_parted'), ruvector_enable_neural_dag('store_mv');
SELECT relid FROM ndag_tables ORDER BY relid::text;

-- only tables, partitioned tables and materialized views; never NULL
SELECT ruvector_enable_neural_dag('store_v');
SELECT ruvector_enable_neural_dag('store_seq');
SELECT ruvector_enable_neural_dag(NULL);
SELECT ruvector_disable_neural_dag(NULL);
SELECT ruvector_enable_neural_dag('store_no_such_table');

-- disable: true when it was enabled, false otherwise
SELECT ruvector_disable_neural_dag('store_mv') AS was_enabled,
	   ruvector_disable_neural_dag('store_mv') AS again,
	   ruvector_disable_neural_dag('store_t2') AS never;
SELECT relid FROM ndag_tables ORDER BY relid::text;

-- writes apply at commit: a rolled-back enable leaves no trace, and the
-- transaction sees its own writes before that
BEGIN;
SELECT ruvector_enable_neural_dag('store_t2');
SELECT relid FROM ndag_tables ORDER BY relid::text;
ROLLBACK;
SELECT relid FROM ndag_tables ORDER BY relid::text;

-- savepoints: a rolled-back one drops its writes, a released one keeps them
BEGIN;
SELECT ruvector_enable_neural_dag('store_t2');
SAVEPOINT s1;
SELECT ruvector_disable_neural_dag('store_t1');
SELECT relid FROM ndag_tables ORDER BY relid::text;
ROLLBACK TO s1;
SAVEPOINT s2;
SELECT ruvector_disable_neural_dag('store_parted');
RELEASE s2;
SELECT relid FROM ndag_tables ORDER BY relid::text;
COMMIT;
SELECT relid FROM ndag_tables ORDER BY relid::text;

-- a prepared transaction cannot carry neural_dag writes
BEGIN;
SELECT ruvector_enable_neural_dag('store_mv');
PREPARE TRANSACTION 'store_p';
SELECT relid FROM ndag_tables ORDER BY relid::text;

-- a dropped table leaves ndag_tables when the DROP commits: disabling it by
-- its old OID finds nothing
CREATE TABLE store_dropped (a int);
SELECT 'store_dropped'::regclass::oid AS dropped_oid \gset
SELECT ruvector_enable_neural_dag('store_dropped');
DROP TABLE store_dropped;
SELECT count(*) FROM ndag_tables WHERE relid = :dropped_oid;
SELECT ruvector_disable_neural_dag(:dropped_oid);
SELECT count(*) FROM ndag_tables WHERE relid = :dropped_oid;

-- status
SELECT key FROM jsonb_each(ruvector_dag_status()) ORDER BY key;
SELECT key FROM jsonb_each(ruvector_dag_status()->'entries') ORDER BY key;
SELECT s->>'mode' = current_setting('ruvector.dag_mode') AS mode_matches,
	   (s->>'enabled')::boolean = current_setting('ruvector.neural_dag_enabled')::boolean AS enabled_matches,
	   (s->>'format_version')::int AS format_version,
	   (s->>'map_size')::bigint >= 16 * 1024 * 1024 AS map_size_ok,
	   (s->>'used_bytes')::bigint BETWEEN 1 AND (s->>'map_size')::bigint AS used_ok,
	   (s->>'max_readers')::int >= current_setting('max_connections')::int AS readers_ok,
	   (s->>'readers_used')::int BETWEEN 0 AND (s->>'max_readers')::int AS readers_used_ok,
	   (s->>'generation')::bigint > 0 AS generation_ok,
	   (s->'entries'->>'arms')::bigint = (SELECT count(*) FROM ndag_arms) AS arms_counted,
	   (s->'counters'->>'next_arm_id')::bigint > (SELECT max(arm_id) FROM ndag_arms) AS arm_counter_ok,
	   s->>'store_path' LIKE '%/neural_dag' AS path_shown
  FROM ruvector_dag_status() AS s;

-- a committed change moves the generation (other processes reload)
SELECT (ruvector_dag_status()->>'generation')::bigint AS gen0 \gset
SELECT ruvector_enable_neural_dag('store_mv');
SELECT (ruvector_dag_status()->>'generation')::bigint > :gen0 AS advanced_after_commit;
SELECT ruvector_disable_neural_dag('store_mv');

-- reset: admin only (superuser here), transactional, returns what it removes
SELECT count(*) AS tables_before FROM ndag_tables;
BEGIN;
SELECT ruvector_dag_reset('tables');
SELECT count(*) FROM ndag_tables;
ROLLBACK;
SELECT count(*) AS tables_after_rollback FROM ndag_tables;
BEGIN;
SELECT ruvector_dag_reset('all') >= 2 AS removed_all;
SELECT count(*) FROM ndag_tables;
ROLLBACK;
SELECT count(*) AS tables_after_rollback FROM ndag_tables;
SELECT ruvector_dag_reset('PATTERNS') >= 0 AS case_insensitive;
SELECT ruvector_dag_reset('bogus');
SELECT ruvector_dag_reset('meta');
SELECT ruvector_dag_reset(NULL);

-- reset('arms'): custom arms go, built-in ones come back as seeded
INSERT INTO ndag_arms (name, settings) VALUES ('store_custom', 'enable_sort=off');
UPDATE ndag_arms SET enabled = false WHERE arm_id = 3;
SELECT count(*) FILTER (WHERE NOT builtin) AS custom,
	   count(*) FILTER (WHERE NOT enabled) AS disabled
  FROM ndag_arms WHERE name = 'store_custom' OR arm_id = 3;
BEGIN;
SELECT ruvector_dag_reset('arms') >= 1 AS removed_custom;
SELECT count(*) FILTER (WHERE builtin) AS builtin, count(*) FILTER (WHERE NOT builtin) AS custom,
	   bool_and(enabled) AS all_enabled FROM ndag_arms;
ROLLBACK;
SELECT count(*) AS custom_after_rollback FROM ndag_arms WHERE name = 'store_custom';
SELECT ruvector_dag_reset('arms') >= 1 AS removed_custom;
SELECT arm_id, name, settings, enabled, builtin, pulls, mean_reward
  FROM ndag_arms ORDER BY arm_id;

-- backup, change, restore: the backup's state comes back
SELECT current_setting('data_directory') || '/store_regress_' ||
	   md5(random()::text || clock_timestamp()::text) || '.mdb' AS backup_path \gset
SELECT relid FROM ndag_tables ORDER BY relid::text;
SELECT ruvector_dag_backup(:'backup_path') AS backup_bytes \gset
SELECT :backup_bytes > 0 AS wrote_bytes,
	   (pg_stat_file(:'backup_path')).size = :backup_bytes AS size_matches;
SELECT store_sqlstate(format('SELECT ruvector_dag_backup(%L)', :'backup_path')) AS existing_file;
SELECT ruvector_dag_backup('relative/path.mdb');
SELECT ruvector_dag_backup(NULL);
SELECT (ruvector_dag_status()->>'generation')::bigint AS gen_before_restore \gset

SELECT ruvector_disable_neural_dag('store_t1');
SELECT ruvector_enable_neural_dag('store_mv');
INSERT INTO ndag_arms (name, settings) VALUES ('store_after_backup', 'enable_material=off');
SELECT arm_id AS after_backup_id FROM ndag_arms WHERE name = 'store_after_backup' \gset
SELECT relid FROM ndag_tables ORDER BY relid::text;

SELECT ruvector_dag_restore(:'backup_path') >= 12 AS restored;
SELECT relid FROM ndag_tables ORDER BY relid::text;
SELECT count(*) AS arms_added_after_backup FROM ndag_arms WHERE name = 'store_after_backup';
SELECT (ruvector_dag_status()->>'generation')::bigint > :gen_before_restore AS generation_advanced;
-- ids are not handed out twice after a restore
INSERT INTO ndag_arms (name, settings) VALUES ('store_after_restore', 'enable_sort=off');
SELECT arm_id > :after_backup_id AS id_not_reused
  FROM ndag_arms WHERE name = 'store_after_restore';

-- a restore that fails validation changes nothing
SELECT ruvector_dag_restore('/nonexistent/store_regress_missing.mdb');
SELECT store_sqlstate(format('SELECT ruvector_dag_restore(%L)',
							 current_setting('data_directory'))) AS directory;
SELECT ruvector_dag_restore('relative/path.mdb');
SELECT relid FROM ndag_tables ORDER BY relid::text;

-- leave nothing enabled behind
SELECT ruvector_dag_reset('tables') >= 0 AS reset;
SELECT ruvector_dag_reset('arms') >= 1 AS reset_arms;
DROP FUNCTION store_sqlstate(text);
DROP VIEW store_v;
DROP SEQUENCE store_seq;
DROP MATERIALIZED VIEW store_mv;
DROP TABLE store_t1, store_t2, store_parted;
