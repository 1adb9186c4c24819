-- pgTAP: the attention, min-cut and visualization functions: signatures,
-- SQLSTATEs of bad input, privileges.
BEGIN;
SELECT plan(24);

SELECT has_function('ruvector_attention_scores', ARRAY['text', 'text']);
SELECT has_function('ruvector_attention_topological', ARRAY['text']);
SELECT has_function('ruvector_attention_causal_cone', ARRAY['text']);
SELECT has_function('ruvector_attention_critical_path', ARRAY['text']);
SELECT has_function('ruvector_attention_mincut_gated', ARRAY['text']);
SELECT has_function('ruvector_attention_hierarchical_lorentz', ARRAY['text']);
SELECT has_function('ruvector_attention_parallel_branch', ARRAY['text']);
SELECT has_function('ruvector_attention_temporal_btsp', ARRAY['text']);
SELECT has_function('ruvector_attention_ensemble', ARRAY['text']);
SELECT has_function('ruvector_dag_mincut', ARRAY['text']);
SELECT has_function('ruvector_dag_visualize', ARRAY['text', 'text', 'text']);

CREATE TABLE tap_att (a int PRIMARY KEY, b int);
INSERT INTO tap_att SELECT g, g % 7 FROM generate_series(1, 1000) g;
ANALYZE tap_att;

SELECT throws_ok($$SELECT * FROM ruvector_attention_scores('SELECT 1', 'quantum')$$,
	'22023', NULL, 'unknown mechanism');
SELECT throws_ok($$SELECT * FROM ruvector_attention_scores(NULL)$$,
	'22004', NULL, 'NULL query text');
SELECT throws_ok($$SELECT * FROM ruvector_attention_scores(' ; ')$$,
	'22023', NULL, 'empty query text');
SELECT throws_ok($$SELECT * FROM ruvector_attention_scores('VACUUM tap_att')$$,
	'42809', NULL, 'utility statement has no plan');
SELECT throws_ok($$SELECT * FROM ruvector_attention_scores('SELEC 1')$$,
	'42601', NULL, 'syntax error');
SELECT throws_ok($$SELECT * FROM ruvector_attention_scores('SELECT * FROM no_such_table')$$,
	'42P01', NULL, 'unknown table');
SELECT throws_ok($$SELECT ruvector_dag_visualize('SELECT 1', 'topological', 'svg')$$,
	'22023', NULL, 'unknown format');
SELECT throws_ok($$SELECT ruvector_dag_visualize('SELECT 1', 'topological', NULL)$$,
	'22004', NULL, 'NULL format');
SELECT throws_ok($$SELECT * FROM ruvector_dag_mincut('SELECT 1; SELECT 2')$$,
	'22023', NULL, 'two statements');

-- estimates describe the data: planning needs the right to read it
CREATE ROLE tap_att_plain;
SET ROLE tap_att_plain;
SELECT throws_ok($$SELECT * FROM ruvector_attention_scores('SELECT * FROM tap_att')$$,
	'42501', NULL, 'a role without SELECT cannot plan the query');
RESET ROLE;
GRANT SELECT ON tap_att TO tap_att_plain;
SET ROLE tap_att_plain;
SELECT ok((SELECT count(*) FROM ruvector_attention_scores('SELECT * FROM tap_att WHERE a < 10')) > 0,
	'with SELECT the role can plan it');
RESET ROLE;

-- planning a DELETE passed in deletes nothing
SELECT ok((SELECT count(*) FROM ruvector_dag_mincut('DELETE FROM tap_att')) >= 0, 'DELETE planned');
SELECT is((SELECT count(*) FROM tap_att), 1000::bigint, 'and nothing was deleted');

SELECT * FROM finish();
ROLLBACK;
