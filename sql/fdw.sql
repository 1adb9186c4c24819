-- neural_dag_fdw: scans, key pushdown, ANALYZE and the permitted
-- modifications of the foreign tables over the LMDB store.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS neural_dag;
RESET client_min_messages;

-- start from the built-in catalogue (arms are cluster-wide)
SELECT ruvector_dag_reset('arms') >= 0 AS reset;

--
-- The built-in arms catalogue
--
SELECT arm_id, name, settings, enabled FROM ndag_arms ORDER BY 1;
SELECT count(*), bool_and(builtin), sum(pulls), count(mean_reward)
  FROM ndag_arms;

--
-- Key pushdown, visible in EXPLAIN
--
EXPLAIN (COSTS OFF) SELECT * FROM ndag_arms WHERE arm_id = 3;
EXPLAIN (COSTS OFF) SELECT * FROM ndag_arms WHERE arm_id BETWEEN 2 AND 5;
EXPLAIN (COSTS OFF) SELECT * FROM ndag_arms WHERE arm_id > 9;
EXPLAIN (COSTS OFF) SELECT * FROM ndag_arms WHERE name = 'default';
EXPLAIN (COSTS OFF) SELECT * FROM ndag_patterns WHERE pattern_id = 42;
EXPLAIN (COSTS OFF) SELECT * FROM ndag_patterns
 WHERE pattern_id >= 10 AND pattern_id < 20;
EXPLAIN (COSTS OFF) SELECT * FROM ndag_patterns WHERE gain > 0;
EXPLAIN (COSTS OFF) SELECT * FROM ndag_trajectories WHERE 100 < traj_id;
EXPLAIN (COSTS OFF) SELECT * FROM ndag_attention WHERE traj_id = 7;
EXPLAIN (COSTS OFF) SELECT * FROM ndag_healing WHERE event_id <= 5;
-- text keys: equality always, ranges only in the store's (bytewise) order
EXPLAIN (COSTS OFF) SELECT * FROM ndag_models WHERE name = 'cost_model';
EXPLAIN (COSTS OFF) SELECT * FROM ndag_models WHERE name >= 'c' COLLATE "C";
-- the cursor returns keys in order: no Sort for ORDER BY the key
EXPLAIN (COSTS OFF) SELECT arm_id, name FROM ndag_arms ORDER BY arm_id;
EXPLAIN (COSTS OFF) SELECT arm_id, name FROM ndag_arms ORDER BY name;

-- a pushed-down range visits only its keys: the filter removes just the
-- row the non-key qual rejects, where the full scan visits all twelve
-- (row counts printed as PostgreSQL 15 does: 18 adds two decimals)
CREATE FUNCTION fdw_explain_analyze(q text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || q LOOP
		RETURN NEXT regexp_replace(line, 'rows=(\d+)\.00 ', 'rows=\1 ', 'g');
	END LOOP;
END
$$;
SELECT fdw_explain_analyze($$SELECT * FROM ndag_arms WHERE arm_id BETWEEN 2 AND 5 AND name <> 'no_hashjoin'$$);
SELECT fdw_explain_analyze($$SELECT * FROM ndag_arms WHERE name <> 'no_hashjoin'$$);

-- results under pushdown
SELECT arm_id, name FROM ndag_arms WHERE arm_id = 3;
SELECT arm_id FROM ndag_arms WHERE arm_id BETWEEN 2 AND 5 ORDER BY 1;
SELECT arm_id FROM ndag_arms WHERE arm_id > 9 AND arm_id >= 5 AND arm_id < 100 ORDER BY 1;
SELECT arm_id FROM ndag_arms WHERE 4 > arm_id ORDER BY 1;
SELECT arm_id FROM ndag_arms WHERE arm_id > 3 AND arm_id <= 3;
SELECT arm_id FROM ndag_arms WHERE arm_id = 3 AND arm_id = 4;
SELECT arm_id FROM ndag_arms WHERE arm_id >= 2::smallint AND arm_id < 4::bigint ORDER BY 1;
-- bigint bounds beyond the integer key's range
SELECT count(*) FROM ndag_arms WHERE arm_id < 5000000000;
SELECT count(*) FROM ndag_arms WHERE arm_id > 5000000000;
SELECT count(*) FROM ndag_arms WHERE arm_id = -5000000000;

-- Params: bind values, initplans, and rescans under a nested loop
PREPARE arm_by_id(int) AS SELECT name FROM ndag_arms WHERE arm_id = $1;
EXPLAIN (COSTS OFF) EXECUTE arm_by_id(2);
EXECUTE arm_by_id(2);
EXECUTE arm_by_id(7);
EXECUTE arm_by_id(NULL);
DEALLOCATE arm_by_id;
SELECT name FROM ndag_arms
 WHERE arm_id = (SELECT max(arm_id) - 1 FROM ndag_arms WHERE builtin);
SELECT g, a.name
  FROM generate_series(1, 3) g,
	   LATERAL (SELECT name FROM ndag_arms WHERE arm_id = g) a
 ORDER BY g;

--
-- ndag_tables (filled by ruvector_enable_neural_dag) joins pg_class
--
CREATE TABLE fdw_t1 (a int);
CREATE TABLE fdw_t2 (a int);
SELECT ruvector_enable_neural_dag('fdw_t1'), ruvector_enable_neural_dag('fdw_t2');
SELECT relid, dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AS this_db
  FROM ndag_tables WHERE relid IN ('fdw_t1'::regclass, 'fdw_t2'::regclass) ORDER BY relid;
SELECT relid FROM ndag_tables WHERE relid = 'fdw_t2'::regclass;
SELECT c.relname FROM pg_class c JOIN ndag_tables t ON t.relid = c.oid
 WHERE c.relname LIKE 'fdw_t%' ORDER BY 1;
SELECT ruvector_disable_neural_dag('fdw_t1'), ruvector_disable_neural_dag('fdw_t2');
SELECT count(*) FROM ndag_tables WHERE relid IN ('fdw_t1'::regclass, 'fdw_t2'::regclass);
DROP TABLE fdw_t1, fdw_t2;

--
-- INSERT of custom arms, with RETURNING
--
INSERT INTO ndag_arms (arm_id, name, settings)
VALUES (100, 'low_cpu_tuple', ' cpu_tuple_cost = 0.02,ENABLE_MATERIAL=off ')
RETURNING *;
INSERT INTO ndag_arms (name, settings, enabled)
VALUES ('big_work_mem', 'work_mem=''256MB''', false)
RETURNING arm_id >= 12 AS numbered_after_builtins, name, settings, enabled,
		  builtin, pulls, mean_reward;
INSERT INTO ndag_arms (name, settings)
VALUES ('quoted', 'work_mem = ''64MB'' , geqo = off')
RETURNING arm_id = (SELECT arm_id + 1 FROM ndag_arms WHERE name = 'big_work_mem')
		  AS next_id, settings;
SELECT name, settings, enabled, builtin, pulls
  FROM ndag_arms WHERE NOT builtin ORDER BY name;
-- COPY goes through the same checks
COPY ndag_arms (arm_id, name, settings) FROM stdin;
101	copied	enable_sort=off
\.
SELECT arm_id, name, settings, enabled FROM ndag_arms WHERE arm_id = 101;

--
-- UPDATE of enabled
--
UPDATE ndag_arms SET enabled = false WHERE arm_id = 1 RETURNING *;
SELECT arm_id, enabled FROM ndag_arms WHERE arm_id < 3 ORDER BY 1;
UPDATE ndag_arms SET enabled = NOT enabled WHERE arm_id IN (1, 100)
RETURNING arm_id, enabled;
SELECT arm_id, enabled FROM ndag_arms WHERE arm_id IN (1, 100) ORDER BY 1;

--
-- Committed and rolled-back modifications
--
BEGIN;
INSERT INTO ndag_arms (arm_id, name, settings) VALUES (200, 'rolled_back', 'geqo=off');
UPDATE ndag_arms SET enabled = false WHERE arm_id IN (2, 200);
-- the transaction sees its own writes
SELECT arm_id, name, enabled FROM ndag_arms WHERE arm_id IN (2, 200) ORDER BY 1;
ROLLBACK;
SELECT arm_id, name, enabled FROM ndag_arms WHERE arm_id IN (2, 200) ORDER BY 1;

BEGIN;
INSERT INTO ndag_arms (arm_id, name, settings) VALUES (201, 'committed', 'geqo=off');
UPDATE ndag_arms SET enabled = false WHERE arm_id = 201;
UPDATE ndag_arms SET enabled = false WHERE arm_id = 2;
COMMIT;
SELECT arm_id, name, settings, enabled FROM ndag_arms WHERE arm_id IN (2, 201) ORDER BY 1;
UPDATE ndag_arms SET enabled = true WHERE arm_id = 2;

-- an error rolls back the writes made before it in the transaction
BEGIN;
INSERT INTO ndag_arms (arm_id, name, settings) VALUES (202, 'before_error', 'geqo=off');
INSERT INTO ndag_arms (arm_id, name, settings) VALUES (203, 'bad', 'geqo=maybe');
COMMIT;
SELECT count(*) FROM ndag_arms WHERE arm_id IN (202, 203);

--
-- Savepoints
--
BEGIN;
UPDATE ndag_arms SET enabled = false WHERE arm_id = 3;
SAVEPOINT s1;
UPDATE ndag_arms SET enabled = false WHERE arm_id = 4;
INSERT INTO ndag_arms (arm_id, name, settings) VALUES (204, 'in_rolled_back_savepoint', 'seq_page_cost=2');
SELECT arm_id, enabled FROM ndag_arms WHERE arm_id IN (3, 4, 204) ORDER BY 1;
ROLLBACK TO SAVEPOINT s1;
SAVEPOINT s2;
INSERT INTO ndag_arms (arm_id, name, settings) VALUES (205, 'in_released_savepoint', 'seq_page_cost=2');
RELEASE SAVEPOINT s2;
SAVEPOINT s3;
INSERT INTO ndag_arms (arm_id, name, settings) VALUES (206, 'savepoint_with_error', 'seq_page_cost=2');
INSERT INTO ndag_arms (arm_id, name, settings) VALUES (206, 'duplicate', 'seq_page_cost=2');
ROLLBACK TO SAVEPOINT s3;
COMMIT;
SELECT arm_id, name, enabled FROM ndag_arms WHERE arm_id IN (3, 4, 204, 205, 206) ORDER BY 1;
UPDATE ndag_arms SET enabled = true WHERE arm_id = 3;

--
-- Bad arms
--
INSERT INTO ndag_arms (name, settings) VALUES ('bad', 'shared_buffers=1GB');
INSERT INTO ndag_arms (name, settings) VALUES ('bad', 'statement_timeout=10');
INSERT INTO ndag_arms (name, settings) VALUES ('bad', 'enable_nestlop=off');
INSERT INTO ndag_arms (name, settings) VALUES ('bad', 'enable_nestloop=perhaps');
INSERT INTO ndag_arms (name, settings) VALUES ('bad', 'random_page_cost=-1');
INSERT INTO ndag_arms (name, settings) VALUES ('bad', 'join_collapse_limit=0');
INSERT INTO ndag_arms (name, settings) VALUES ('bad', 'work_mem=10TB');
INSERT INTO ndag_arms (name, settings) VALUES ('bad', 'max_parallel_workers_per_gather=2000');
INSERT INTO ndag_arms (name, settings) VALUES ('bad', 'enable_nestloop');
INSERT INTO ndag_arms (name, settings) VALUES ('bad', 'enable_nestloop=off, enable_nestloop=on');
INSERT INTO ndag_arms (name, settings) VALUES ('bad', 'work_mem=''64MB');
INSERT INTO ndag_arms (name, settings) VALUES ('bad', 'work_mem=64MB,');
INSERT INTO ndag_arms (name, settings) VALUES ('bad', 'work_mem=');
INSERT INTO ndag_arms (arm_id, name, settings) VALUES (100, 'duplicate_id', '');
INSERT INTO ndag_arms (arm_id, name, settings) VALUES (5, 'builtin_id', '');
INSERT INTO ndag_arms (name, settings) VALUES ('default', 'geqo=off');
INSERT INTO ndag_arms (arm_id, name, settings) VALUES (-1, 'negative', 'geqo=off');
INSERT INTO ndag_arms (settings) VALUES ('geqo=off');
INSERT INTO ndag_arms (name, settings) VALUES ('  ', 'geqo=off');
INSERT INTO ndag_arms (name) VALUES ('no_settings');
INSERT INTO ndag_arms (name, settings, builtin) VALUES ('x', 'geqo=off', true);
INSERT INTO ndag_arms (name, settings, pulls) VALUES ('x', 'geqo=off', 5);
INSERT INTO ndag_arms (name, settings) VALUES ('x', 'geqo=off') ON CONFLICT DO NOTHING;
SELECT count(*) FROM ndag_arms WHERE NOT builtin;

--
-- What is not writable
--
UPDATE ndag_arms SET settings = 'geqo=off' WHERE arm_id = 100;
UPDATE ndag_arms SET name = 'renamed', enabled = true WHERE arm_id = 100;
UPDATE ndag_arms SET enabled = NULL WHERE arm_id = 100;
DELETE FROM ndag_arms WHERE arm_id = 100;
TRUNCATE ndag_arms;
INSERT INTO ndag_patterns (pattern_id, dbid) VALUES (1, 1);
UPDATE ndag_patterns SET gain = 1;
UPDATE ndag_trajectories SET quality = 1;
INSERT INTO ndag_healing (event_id, dbid) VALUES (1, 1);
UPDATE ndag_models SET loss = 0;
DELETE FROM ndag_models;
DELETE FROM ndag_attention;
DELETE FROM ndag_tables;

--
-- Patterns, trajectories and healing events are empty until the learner
-- runs: their modifications plan and run, touching no rows
--
EXPLAIN (COSTS OFF) UPDATE ndag_patterns SET pinned = true WHERE pattern_id = 1;
EXPLAIN (COSTS OFF) DELETE FROM ndag_trajectories WHERE traj_id < 100;
UPDATE ndag_patterns SET pinned = true, disabled = false WHERE pattern_id = 1 RETURNING *;
DELETE FROM ndag_patterns WHERE pattern_id BETWEEN 1 AND 10;
DELETE FROM ndag_trajectories RETURNING traj_id;
DELETE FROM ndag_healing WHERE event_id = 3;

--
-- Foreign tables of one's own: a subset of the fields, in any order
--
CREATE FOREIGN TABLE arm_names (name text, arm_id integer)
	SERVER neural_dag OPTIONS (store 'arms');
SELECT * FROM arm_names WHERE arm_id < 3 ORDER BY arm_id;
ALTER FOREIGN TABLE arm_names ADD COLUMN pulls bigint, ADD COLUMN enabled boolean;
ALTER FOREIGN TABLE arm_names DROP COLUMN pulls;
UPDATE arm_names SET enabled = false WHERE arm_id = 2 RETURNING *;
UPDATE arm_names SET enabled = true WHERE arm_id = 2 RETURNING *;
-- a table hiding the key cannot identify rows to update
CREATE FOREIGN TABLE arm_flags (enabled boolean)
	SERVER neural_dag OPTIONS (store 'arms');
SELECT count(*) FROM arm_flags WHERE enabled;
UPDATE arm_flags SET enabled = true;
-- columns must be fields of the store, with their types
CREATE FOREIGN TABLE arm_wide_id (arm_id bigint)
	SERVER neural_dag OPTIONS (store 'arms');
SELECT * FROM arm_wide_id;
CREATE FOREIGN TABLE arm_colour (arm_id integer, colour text)
	SERVER neural_dag OPTIONS (store 'arms');
SELECT * FROM arm_colour;
-- options
CREATE FOREIGN TABLE no_such_store (x integer)
	SERVER neural_dag OPTIONS (store 'nope');
CREATE FOREIGN TABLE no_store (x integer) SERVER neural_dag;
CREATE FOREIGN TABLE bad_option (arm_id integer)
	SERVER neural_dag OPTIONS (store 'arms', colour 'red');
ALTER FOREIGN TABLE arm_names OPTIONS (DROP store);
ALTER FOREIGN TABLE arm_names ALTER COLUMN name OPTIONS (field 'name');
ALTER SERVER neural_dag OPTIONS (ADD host 'localhost');
ALTER FOREIGN DATA WRAPPER neural_dag_fdw OPTIONS (ADD store 'arms');
DROP FOREIGN TABLE arm_names, arm_flags, arm_wide_id, arm_colour;

--
-- ANALYZE samples the store
--
ANALYZE ndag_arms;
SELECT reltuples = (SELECT count(*) FROM ndag_arms) AS all_rows_counted
  FROM pg_class WHERE oid = 'ndag_arms'::regclass;
SELECT attname, null_frac, n_distinct FROM pg_stats
 WHERE schemaname = 'public' AND tablename = 'ndag_arms'
   AND attname IN ('arm_id', 'builtin', 'mean_reward') ORDER BY 1;
ANALYZE ndag_patterns, ndag_trajectories, ndag_attention, ndag_models;

-- back to the built-in catalogue
SELECT ruvector_dag_reset('arms') AS custom_arms_removed;
SELECT count(*) FROM ndag_arms;
