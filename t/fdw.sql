-- pgTAP: neural_dag_fdw options, column mapping, arm settings and
-- privileges, by SQLSTATE.  Everything happens in one transaction that is
-- rolled back, so the store's pending writes are dropped too.
BEGIN;
SELECT plan(38);

-- ---------------------------------------------------------------------------
-- Options
-- ---------------------------------------------------------------------------
SELECT throws_ok($$CREATE FOREIGN TABLE tap_no_such_store (arm_id integer)
					SERVER neural_dag OPTIONS (store 'nope')$$,
				 'HV024', NULL, 'an unknown store is refused');
SELECT throws_ok($$CREATE FOREIGN TABLE tap_bad_option (arm_id integer)
					SERVER neural_dag OPTIONS (store 'arms', colour 'red')$$,
				 'HV00D', NULL, 'an unknown table option is refused');
SELECT throws_ok($$CREATE FOREIGN TABLE tap_no_store (arm_id integer)
					SERVER neural_dag$$,
				 'HV00J', NULL, 'a foreign table needs the store option');
SELECT throws_ok($$ALTER SERVER neural_dag OPTIONS (ADD store 'arms')$$,
				 'HV00D', NULL, 'the server takes no options');
SELECT throws_ok($$ALTER FOREIGN DATA WRAPPER neural_dag_fdw OPTIONS (ADD store 'arms')$$,
				 'HV00D', NULL, 'the wrapper takes no options');
SELECT throws_ok($$ALTER FOREIGN TABLE ndag_arms ALTER COLUMN name OPTIONS (ADD field 'name')$$,
				 'HV00D', NULL, 'columns take no options');
SELECT lives_ok($$CREATE FOREIGN TABLE tap_arm_names (name text, arm_id integer)
				   SERVER neural_dag OPTIONS (store 'arms')$$,
				'a table may show a subset of the fields in any order');
SELECT results_eq($$SELECT name FROM tap_arm_names WHERE arm_id = 0$$,
				  ARRAY['default'], 'the subset table reads the arms store');

-- ---------------------------------------------------------------------------
-- Column mapping
-- ---------------------------------------------------------------------------
CREATE FOREIGN TABLE tap_wide_id (arm_id bigint) SERVER neural_dag OPTIONS (store 'arms');
CREATE FOREIGN TABLE tap_colour (arm_id integer, colour text) SERVER neural_dag OPTIONS (store 'arms');
CREATE FOREIGN TABLE tap_relids (relid regclass, dbid oid) SERVER neural_dag OPTIONS (store 'tables');
CREATE FOREIGN TABLE tap_text_relid (relid text) SERVER neural_dag OPTIONS (store 'tables');
SELECT throws_ok($$SELECT * FROM tap_wide_id$$, '42804', NULL,
				 'a column of the wrong type is refused');
SELECT throws_ok($$SELECT * FROM tap_colour$$, 'HV005', NULL,
				 'a column that is no field of the store is refused');
SELECT throws_ok($$SELECT * FROM tap_text_relid$$, '42804', NULL,
				 'an oid field cannot be shown as text');
SELECT lives_ok($$SELECT * FROM tap_relids$$, 'regclass may show an oid field');

-- ---------------------------------------------------------------------------
-- Arm settings
-- ---------------------------------------------------------------------------
SELECT throws_ok($$INSERT INTO ndag_arms (name, settings) VALUES ('tap', 'enable_nestlop=off')$$,
				 '22023', NULL, 'an unknown setting is refused');
SELECT throws_ok($$INSERT INTO ndag_arms (name, settings) VALUES ('tap', 'shared_buffers=1GB')$$,
				 '22023', NULL, 'a setting that is no planner setting is refused');
SELECT throws_ok($$INSERT INTO ndag_arms (name, settings) VALUES ('tap', 'search_path=public')$$,
				 '22023', NULL, 'a user setting that is no planner setting is refused');
SELECT throws_ok($$INSERT INTO ndag_arms (name, settings) VALUES ('tap', 'enable_hashjoin=sometimes')$$,
				 '22023', NULL, 'an unparsable boolean is refused');
SELECT throws_ok($$INSERT INTO ndag_arms (name, settings) VALUES ('tap', 'work_mem=lots')$$,
				 '22023', NULL, 'an unparsable memory size is refused');
SELECT throws_ok($$INSERT INTO ndag_arms (name, settings) VALUES ('tap', 'seq_page_cost=-2')$$,
				 '22023', NULL, 'a cost below its range is refused');
SELECT throws_ok($$INSERT INTO ndag_arms (name, settings) VALUES ('tap', 'from_collapse_limit=0')$$,
				 '22023', NULL, 'a limit below its range is refused');
SELECT throws_ok($$INSERT INTO ndag_arms (name, settings) VALUES ('tap', 'max_parallel_workers_per_gather=5000')$$,
				 '22023', NULL, 'a value above its range is refused');
SELECT throws_ok($$INSERT INTO ndag_arms (name, settings) VALUES ('tap', 'geqo off')$$,
				 '22023', NULL, 'a list that does not parse is refused');
SELECT throws_ok($$INSERT INTO ndag_arms (name, settings) VALUES ('default', 'jit=off')$$,
				 '23505', NULL, 'a duplicate arm name is refused');
SELECT throws_ok($$INSERT INTO ndag_arms (arm_id, name, settings) VALUES (3, 'tap', 'jit=off')$$,
				 '23505', NULL, 'a duplicate arm_id is refused');
SELECT throws_ok($$INSERT INTO ndag_arms (settings) VALUES ('jit=off')$$,
				 '23502', NULL, 'an arm needs a name');
SELECT throws_ok($$UPDATE ndag_arms SET settings = 'jit=off' WHERE arm_id = 0$$,
				 '0A000', NULL, 'settings cannot be updated');
SELECT throws_ok($$UPDATE ndag_patterns SET gain = 0$$,
				 '0A000', NULL, 'a pattern''s learned columns cannot be updated');
SELECT lives_ok($$INSERT INTO ndag_arms (name, settings)
				  VALUES ('tap_ok', 'enable_nestloop=off, cpu_operator_cost=0.005, work_mem=''32MB'', jit=off, geqo=on')$$,
				'planner settings with valid values are accepted');

-- ---------------------------------------------------------------------------
-- Privileges
-- ---------------------------------------------------------------------------
CREATE ROLE tap_fdw_plain;
CREATE ROLE tap_fdw_admin IN ROLE neural_dag_admin;
CREATE ROLE tap_fdw_stats IN ROLE pg_read_all_stats;

SET ROLE tap_fdw_plain;
SELECT lives_ok($$SELECT count(*) FROM ndag_arms$$, 'a plain role reads ndag_arms');
SELECT lives_ok($$SELECT count(*) FROM ndag_patterns$$, 'a plain role reads ndag_patterns');
SELECT throws_ok($$INSERT INTO ndag_arms (name, settings) VALUES ('tap_plain', 'jit=off')$$,
				 '42501', NULL, 'a plain role cannot insert arms');
SELECT throws_ok($$UPDATE ndag_arms SET enabled = false WHERE arm_id = 1$$,
				 '42501', NULL, 'a plain role cannot update arms');
SELECT throws_ok($$SELECT count(*) FROM ndag_trajectories$$,
				 '42501', NULL, 'a plain role cannot read ndag_trajectories');
RESET ROLE;

-- the FDW checks on its own, whatever the grants say
GRANT SELECT ON ndag_trajectories, ndag_attention TO tap_fdw_plain;
GRANT INSERT (name, settings), UPDATE (enabled) ON ndag_arms TO tap_fdw_plain;
SET ROLE tap_fdw_plain;
SELECT throws_ok($$SELECT count(*) FROM ndag_trajectories$$,
				 '42501', 'permission denied to read "ndag_trajectories"',
				 'with SELECT granted, the FDW still refuses trajectories to a plain role');
SELECT throws_ok($$INSERT INTO ndag_arms (name, settings) VALUES ('tap_plain', 'jit=off')$$,
				 '42501', 'permission denied to modify foreign table "ndag_arms"',
				 'with INSERT granted, the FDW still refuses a plain role');
RESET ROLE;

SET ROLE tap_fdw_stats;
SELECT lives_ok($$SELECT count(*) FROM ndag_trajectories$$,
				'pg_read_all_stats reads ndag_trajectories');
RESET ROLE;

SET ROLE tap_fdw_admin;
SELECT lives_ok($$SELECT count(*) FROM ndag_attention$$,
				'the admin role reads ndag_attention');
SELECT lives_ok($$INSERT INTO ndag_arms (name, settings) VALUES ('tap_admin', 'enable_seqscan=off')$$,
				'the admin role inserts an arm');
SELECT results_eq($$UPDATE ndag_arms SET enabled = false WHERE name = 'tap_admin' RETURNING enabled$$,
				  ARRAY[false], 'the admin role updates enabled');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
