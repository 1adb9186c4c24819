-- pgTAP: the store's SQL functions, their privileges and their errors.
-- Runs as a superuser, in one transaction that is rolled back; backup files
-- are written under the data directory with unique names.
\set ON_ERROR_STOP 1
BEGIN;
SELECT plan(49);

SELECT current_setting('data_directory') || '/ndag_tap_' ||
	   md5(random()::text || clock_timestamp()::text) AS base \gset
SELECT :'base' || '.empty' AS base_empty, :'base' || '.text' AS base_text,
	   :'base' || '.truncated' AS base_truncated \gset

CREATE TABLE tap_t (a int);
CREATE VIEW tap_v AS SELECT 1 AS a;
CREATE SEQUENCE tap_seq;
CREATE ROLE ndag_tap_plain NOLOGIN;
CREATE ROLE ndag_tap_admin NOLOGIN IN ROLE neural_dag_admin;
CREATE ROLE ndag_tap_writer NOLOGIN IN ROLE pg_write_server_files;
CREATE ROLE ndag_tap_reader NOLOGIN IN ROLE pg_read_server_files;
CREATE TABLE tap_owned (a int);
ALTER TABLE tap_owned OWNER TO ndag_tap_plain;
GRANT USAGE ON SCHEMA public TO ndag_tap_plain;

-- signatures
SELECT has_function('ruvector_enable_neural_dag', ARRAY['regclass']);
SELECT function_returns('ruvector_enable_neural_dag', ARRAY['regclass'], 'boolean');
SELECT has_function('ruvector_disable_neural_dag', ARRAY['regclass']);
SELECT function_returns('ruvector_disable_neural_dag', ARRAY['regclass'], 'boolean');
SELECT function_returns('ruvector_dag_status', ARRAY[]::text[], 'jsonb');
SELECT function_returns('ruvector_dag_reset', ARRAY['text'], 'bigint');
SELECT function_returns('ruvector_dag_backup', ARRAY['text'], 'bigint');
SELECT function_returns('ruvector_dag_restore', ARRAY['text'], 'bigint');

-- bad relations
SELECT throws_ok($$SELECT ruvector_enable_neural_dag('tap_no_such_table')$$, '42P01',
				 NULL, 'enable: unknown relation name');
SELECT throws_ok($$SELECT ruvector_enable_neural_dag('tap_v')$$, '42809',
				 NULL, 'enable: a view is refused');
SELECT throws_ok($$SELECT ruvector_enable_neural_dag('tap_seq')$$, '42809',
				 NULL, 'enable: a sequence is refused');
SELECT throws_ok($$SELECT ruvector_enable_neural_dag(NULL)$$, '22004',
				 NULL, 'enable: NULL is refused');
SELECT throws_ok($$SELECT ruvector_disable_neural_dag(NULL)$$, '22004',
				 NULL, 'disable: NULL is refused');
SELECT is(ruvector_enable_neural_dag('tap_t'), true, 'enable: a table');
SELECT is(ruvector_enable_neural_dag('tap_t'), false, 'enable: again changes nothing');
SELECT is((SELECT count(*) FROM ndag_tables WHERE relid = 'tap_t'::regclass), 1::bigint,
		  'the transaction sees its pending write');

-- reset arguments
SELECT throws_ok($$SELECT ruvector_dag_reset('no_such_store')$$, '22023',
				 NULL, 'reset: unknown store');
SELECT throws_ok($$SELECT ruvector_dag_reset('meta')$$, '22023',
				 NULL, 'reset: meta is refused');
SELECT throws_ok($$SELECT ruvector_dag_reset(NULL)$$, '22004',
				 NULL, 'reset: NULL is refused');

-- backup errors
SELECT throws_ok($$SELECT ruvector_dag_backup('relative.mdb')$$, '22023',
				 NULL, 'backup: a relative path is refused');
SELECT throws_ok($$SELECT ruvector_dag_backup('/nonexistent_dir/tap.mdb')$$, '58P01',
				 NULL, 'backup: a missing directory');
SELECT throws_ok($$SELECT ruvector_dag_backup('/ndag_tap_unwritable.mdb')$$, '42501',
				 NULL, 'backup: a directory the server cannot write');
SELECT throws_ok($$SELECT ruvector_dag_backup(NULL)$$, '22004',
				 NULL, 'backup: NULL is refused');
SELECT cmp_ok(ruvector_dag_backup(:'base' || '.mdb'), '>', 0::bigint, 'backup: writes a file');
SELECT is((pg_stat_file(:'base' || '.mdb')).size > 0, true, 'backup: the file is there');
SELECT throws_ok(format('SELECT ruvector_dag_backup(%L)', :'base' || '.mdb'), '58P02',
				 NULL, 'backup: an existing file is never overwritten');

-- restore errors: missing, empty, not LMDB, truncated, a directory
SELECT (SELECT count(*) FROM ndag_arms) AS arms_before \gset
COPY (SELECT 1 WHERE false) TO :'base_empty';
SELECT throws_ok(format('SELECT ruvector_dag_restore(%L)', :'base' || '.missing'), '58P01',
				 NULL, 'restore: a missing file');
SELECT throws_ok(format('SELECT ruvector_dag_restore(%L)', :'base_empty'), '22023',
				 NULL, 'restore: an empty file');
COPY (SELECT repeat('this is not an LMDB environment ', 1000)) TO :'base_text';
SELECT throws_ok(format('SELECT ruvector_dag_restore(%L)', :'base_text'), '22023',
				 NULL, 'restore: a text file');
SELECT lo_from_bytea(0, substring(b FROM 1 FOR length(b) / 2)) AS half_lo
  FROM pg_read_binary_file(:'base' || '.mdb') AS b \gset
SELECT lo_export(:half_lo, :'base_truncated') AS exported \gset
SELECT throws_ok(format('SELECT ruvector_dag_restore(%L)', :'base_truncated'), 'XX001',
				 NULL, 'restore: a truncated backup');
SELECT throws_ok(format('SELECT ruvector_dag_restore(%L)', current_setting('data_directory')),
				 '22023', NULL, 'restore: a directory');
SELECT throws_ok($$SELECT ruvector_dag_restore('relative.mdb')$$, '22023',
				 NULL, 'restore: a relative path is refused');
SELECT throws_ok($$SELECT ruvector_dag_restore(NULL)$$, '22004',
				 NULL, 'restore: NULL is refused');
SELECT is((SELECT count(*) FROM ndag_arms), :arms_before::bigint,
		  'failed restores changed nothing');

-- a plain role: no reset, backup or restore; enable only its own tables
SET ROLE ndag_tap_plain;
SELECT throws_ok($$SELECT ruvector_dag_reset('all')$$, '42501',
				 NULL, 'plain role cannot reset');
SELECT throws_ok($$SELECT ruvector_dag_reset('arms')$$, '42501',
				 NULL, 'plain role cannot reset the arms');
SELECT throws_ok(format('SELECT ruvector_dag_backup(%L)', :'base' || '.plain'), '42501',
				 NULL, 'plain role cannot back up');
SELECT throws_ok(format('SELECT ruvector_dag_restore(%L)', :'base' || '.mdb'), '42501',
				 NULL, 'plain role cannot restore');
SELECT throws_ok($$SELECT ruvector_enable_neural_dag('tap_t')$$, '42501',
				 NULL, 'plain role cannot enable a table it does not own');
SELECT throws_ok($$SELECT ruvector_disable_neural_dag('tap_t')$$, '42501',
				 NULL, 'plain role cannot disable a table it does not own');
SELECT is(ruvector_enable_neural_dag('tap_owned'), true, 'plain role enables its own table');
SELECT is(ruvector_dag_status()->>'store_path', NULL, 'plain role does not see the store path');
SELECT isnt(ruvector_dag_status()->>'generation', NULL, 'plain role reads the status');
RESET ROLE;

-- the roles that may
SET ROLE ndag_tap_admin;
SELECT lives_ok($$SELECT ruvector_dag_reset('healing')$$, 'neural_dag_admin member resets');
SELECT lives_ok($$SELECT ruvector_enable_neural_dag('tap_owned')$$,
				'neural_dag_admin member enables any table');
RESET ROLE;
SET ROLE ndag_tap_writer;
SELECT cmp_ok(ruvector_dag_backup(:'base' || '.writer'), '>', 0::bigint,
			  'pg_write_server_files member backs up');
SELECT throws_ok(format('SELECT ruvector_dag_restore(%L)', :'base' || '.writer'), '42501',
				 NULL, 'pg_write_server_files is not enough to restore');
RESET ROLE;
SET ROLE ndag_tap_reader;
SELECT throws_ok(format('SELECT ruvector_dag_backup(%L)', :'base' || '.reader'), '42501',
				 NULL, 'pg_read_server_files is not enough to back up');
SELECT cmp_ok(ruvector_dag_restore(:'base' || '.writer'), '>=', 12::bigint,
			  'pg_read_server_files member restores');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
