-- pgTAP: the objects CREATE EXTENSION neural_dag makes.
BEGIN;
SELECT plan(24);

SELECT has_role('neural_dag_admin', 'the admin role exists');
SELECT is((SELECT fdwhandler::regproc::text || ' ' || fdwvalidator::regproc::text
			 FROM pg_foreign_data_wrapper WHERE fdwname = 'neural_dag_fdw'),
		  'neural_dag_fdw_handler neural_dag_fdw_validator',
		  'neural_dag_fdw has its handler and validator');
SELECT is((SELECT srvname FROM pg_foreign_server s
			 JOIN pg_foreign_data_wrapper w ON w.oid = s.srvfdw
			WHERE w.fdwname = 'neural_dag_fdw')::text,
		  'neural_dag', 'server neural_dag uses neural_dag_fdw');

SELECT has_foreign_table('ndag_patterns');
SELECT has_foreign_table('ndag_trajectories');
SELECT has_foreign_table('ndag_attention');
SELECT has_foreign_table('ndag_arms');
SELECT has_foreign_table('ndag_tables');
SELECT has_foreign_table('ndag_healing');
SELECT has_foreign_table('ndag_models');
SELECT has_foreign_table('ndag_index_meta');

SELECT columns_are('ndag_patterns', ARRAY['pattern_id', 'dbid', 'relids', 'centroid',
	'best_arm', 'gain', 'confidence', 'support', 'uses', 'last_used', 'pinned',
	'disabled', 'created_at', 'demoted_arms', 'arm_stats', 'quality_var']);
SELECT columns_are('ndag_trajectories', ARRAY['traj_id', 'recorded_at', 'dbid',
	'userid', 'query_id', 'pattern_id', 'arm', 'decision', 'attention',
	'planning_us', 'exec_us', 'est_cost', 'predicted_ms', 'quality', 'relids',
	'embedding', 'indexes']);
SELECT columns_are('ndag_attention', ARRAY['traj_id', 'node_id', 'dbid',
	'parent_ids', 'node_type', 'relation', 'mechanism', 'score', 'est_rows',
	'actual_rows', 'loops', 'est_cost', 'self_ms', 'signature']);
SELECT columns_are('ndag_arms', ARRAY['arm_id', 'name', 'settings', 'enabled',
	'builtin', 'pulls', 'mean_reward']);
SELECT columns_are('ndag_tables', ARRAY['relid', 'dbid', 'enabled_at', 'settings']);
SELECT columns_are('ndag_healing', ARRAY['event_id', 'dbid', 'at', 'kind', 'object',
	'detail', 'action', 'status', 'duration_ms']);
SELECT columns_are('ndag_models', ARRAY['name', 'dbid', 'version', 'parameters',
	'updates', 'loss', 'lambda', 'tasks', 'trained_at']);
SELECT columns_are('ndag_index_meta', ARRAY['pattern_id', 'indexrelid', 'dbid',
	'arm', 'relid', 'index_name', 'relfilenode', 'valid', 'recorded_at']);

SELECT col_type_is('ndag_patterns', 'centroid', 'real[]');
SELECT col_type_is('ndag_attention', 'relation', 'regclass');
SELECT col_type_is('ndag_trajectories', 'query_id', 'bigint');

SELECT is((SELECT array_agg(c.relname::text ORDER BY c.relname)
			 FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
			WHERE ft.ftserver = (SELECT oid FROM pg_foreign_server WHERE srvname = 'neural_dag')),
		  ARRAY['ndag_arms', 'ndag_attention', 'ndag_healing', 'ndag_index_meta',
				'ndag_models', 'ndag_patterns', 'ndag_queries', 'ndag_tables',
				'ndag_trajectories'],
		  'exactly the nine foreign tables live on the server');

SELECT is((SELECT array_agg(substr(opt, 7) ORDER BY substr(opt, 7))
			 FROM pg_foreign_table ft, unnest(ft.ftoptions) opt
			WHERE ft.ftserver = (SELECT oid FROM pg_foreign_server WHERE srvname = 'neural_dag')),
		  ARRAY['arms', 'healing', 'index_meta', 'models', 'nodes', 'patterns', 'queries',
				'tables', 'trajectories'],
		  'each foreign table names its LMDB store');

SELECT * FROM finish();
ROLLBACK;
