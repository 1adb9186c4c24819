-- Plan rewriting: a join whose default plan is a nested loop over a gross
-- underestimate (three equal columns: WHERE x = 1 AND y = 1 AND z = 1 is
-- estimated at 1 row, 500 come back, each rescanning an aggregate) gets a
-- faster arm by inline exploration proven by paired runs, then by a learned pattern; results
-- stay those of the default plan and the session's settings are untouched.
-- Which arm wins depends on timings, so only "some other arm" is asserted.
CREATE EXTENSION IF NOT EXISTS neural_dag;
SET ruvector.dag_sample_rate = 1.0;
SET ruvector.dag_mode = 'observe';
-- arms are tried on the session's own executions (shadow exploration: t/11x)
SET ruvector.dag_exploration_mode = 'inline';

-- consume what earlier tests recorded in this database
SELECT (ruvector_dag_learn()->>'trajectories')::int >= 0 AS earlier_learned;

-- the rewriting GUCs and their bounds
SHOW ruvector.dag_min_latency;
SHOW ruvector.dag_min_cost;
SHOW ruvector.dag_exploration;
SHOW ruvector.dag_max_candidates;
SHOW ruvector.dag_confidence_threshold;
SHOW ruvector.dag_embedding_cache_size;
SET ruvector.dag_exploration = 1.5;
SET ruvector.dag_max_candidates = 17;
SET ruvector.dag_confidence_threshold = -0.1;

CREATE TABLE rw_a AS
	SELECT g AS id, g % 200 AS x, g % 200 AS y, g % 200 AS z
	FROM generate_series(1, 100000) g;
CREATE TABLE rw_b AS SELECT g AS id, g % 1000 AS v FROM generate_series(1, 20000) g;
CREATE INDEX rw_a_x ON rw_a (x);
ANALYZE rw_a, rw_b;
SELECT ruvector_enable_neural_dag('rw_a'), ruvector_enable_neural_dag('rw_b');

-- the statement, a variant of it (another queryId, the same plan shape) and
-- one that fails while it executes
\set q 'SELECT a.id, c.n FROM rw_a a JOIN (SELECT v, count(*) AS n FROM rw_b GROUP BY v) c ON c.v = a.id WHERE a.x = 1 AND a.y = 1 AND a.z = 1'
\set q2 'SELECT a.id, c.n FROM rw_a a JOIN (SELECT v, count(*) AS n FROM rw_b GROUP BY v) c ON c.v = a.id WHERE a.x = 1 AND a.y = 1 AND a.z = 1 AND a.id > 0'
\set qerr 'SELECT a.id / (a.id - 201), c.n FROM rw_a a JOIN (SELECT v, count(*) AS n FROM rw_b GROUP BY v) c ON c.v = a.id WHERE a.x = 1 AND a.y = 1 AND a.z = 1'

-- the Neural DAG section and the join of EXPLAIN (FORMAT JSON)
CREATE FUNCTION rw_explain(q text) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
	j json;
BEGIN
	EXECUTE 'EXPLAIN (FORMAT JSON, COSTS OFF) ' || q INTO j;
	RETURN (j::jsonb)->0->'Neural DAG' ||
		jsonb_build_object('Join', (j::jsonb)->0->'Plan'->>'Node Type');
END
$$;
-- n executions, each planned anew
CREATE FUNCTION rw_run(q text, n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	FOR i IN 1..n LOOP
		EXECUTE q;
	END LOOP;
END
$$;
-- every planner setting an arm may change, with where its value comes from
CREATE FUNCTION rw_settings() RETURNS text LANGUAGE sql AS $$
	SELECT string_agg(name || '=' || setting || '/' || source, ', ' ORDER BY name)
	FROM pg_settings
	WHERE name LIKE 'enable%' OR name IN ('join_collapse_limit',
		'from_collapse_limit', 'geqo', 'random_page_cost', 'seq_page_cost',
		'cpu_tuple_cost', 'cpu_index_tuple_cost', 'cpu_operator_cost',
		'work_mem', 'max_parallel_workers_per_gather', 'jit')
$$;

-- 1. observe: the default plan is a nested loop, nothing is decided
SELECT rw_explain(:'q') @> '{"Decision": "default plan"}' AS default_decision,
	rw_explain(:'q')->>'Arm' AS arm;
SELECT rw_run(:'q', 3);
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT query_id AS qid FROM ndag_trajectories ORDER BY traj_id DESC LIMIT 1 \gset
SELECT count(*) AS runs, bool_and(arm = 0) AS default_arm,
	bool_and(decision = 'default') AS default_decision
FROM ndag_trajectories WHERE query_id = :qid;
:q ORDER BY 1;

-- 2. learn with every execution allowed to explore: other arms are tried,
-- each run right after a default run it is paired with, until one is
-- proven faster over its pairs; it is applied from then on
SET ruvector.dag_mode = 'learn';
SET ruvector.dag_exploration = 1;
SET ruvector.dag_min_latency = 0;
SELECT rw_run(:'q', 20);
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT bool_or(decision = 'explore' AND arm <> 0) AS explored,
	bool_and(arm = 0) FILTER (WHERE decision = 'default') AS default_is_arm_0,
	(ruvector_dag_status()->'counters'->>'query_memory_proven')::int > 0 AS proven,
	(ruvector_dag_status()->'counters'->>'query_memory_pairs')::int >= 3 AS paired
FROM ndag_trajectories WHERE query_id = :qid;
SELECT rw_explain(:'q')->>'Decision' = 'proven' AS rewritten,
	rw_explain(:'q')->>'Join' <> 'Nested Loop' AS other_join;
-- the same rows as the default plan's
:q ORDER BY 1;
-- EXPLAIN names the arm's settings (EXPLAIN (SETTINGS) cannot: they are set
-- only while the statement is planned) and its measured gain
SELECT rw_explain(:'q')->>'Arm' AS proven_arm \gset
SELECT e->>'Arm Settings' = (SELECT settings FROM ndag_arms
		WHERE arm_id = split_part(:'proven_arm', ' ', 1)::int) AS arm_settings,
	(e->>'Measured Gain')::float > 1.05 AS gain_shown
FROM rw_explain(:'q') e;
-- ruvector_dag_advice() lists it, joinable with pg_stat_statements
SELECT a.arm_id || ' (' || a.arm_name || ')' = :'proven_arm' AS advised_arm,
	a.speedup > 1.05 AS faster, a.pairs >= 2 AS paired, a.default_ms > 0 AS baseline,
	a.parameter_class = rw_explain(:'q')->>'Parameter Class' AS same_class
FROM ruvector_dag_advice() a WHERE a.query_id = :qid;
-- observe mode plans by default and says what apply mode would do
SET ruvector.dag_mode = 'observe';
SELECT e->>'Decision' AS decision, e->>'Join' = 'Nested Loop' AS default_join,
	e->>'Would Apply' = :'proven_arm' AS would_apply, e->>'Advice Source' AS source,
	(e->>'Measured Gain')::float > 1.05 AS gain_shown
FROM rw_explain(:'q') e;
-- in every structured format the section is a member of the statement's
-- own object, beside "Plan"
CREATE FUNCTION rw_explain_as(q text, fmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	t text := '';
	line text;
BEGIN
	FOR line IN EXECUTE format('EXPLAIN (COSTS OFF, FORMAT %s) %s', fmt, q) LOOP
		t := t || line || E'\n';
	END LOOP;
	RETURN t;
END
$$;
SELECT jsonb_array_length(rw_explain_as(:'q', 'JSON')::jsonb) AS json_elements,
	rw_explain_as(:'q', 'JSON')::jsonb->0 ? 'Neural DAG' AS json_member;
SELECT rw_explain_as(:'q', 'YAML') ~ E'\n  Neural DAG: *\n    Mode: "observe"' AS yaml_member,
	rw_explain_as(:'q', 'YAML') !~ E'\n- Neural DAG' AS yaml_no_element;
-- (XML read as text: a server built without libxml has no xml type)
SELECT x ~ E'^<explain [^>]*>\n  <Query>\n.*\n  </Query>\n</explain>\n$' AS xml_ok,
	strpos(x, '<Neural-DAG>') > strpos(x, '</Plan>')
	AND strpos(x, '<Would-Apply>' || :'proven_arm' || '</Would-Apply>') > strpos(x, '<Neural-DAG>')
	AND strpos(x, '</Neural-DAG>') < strpos(x, '</Query>') AS xml_member
FROM rw_explain_as(:'q', 'XML') x;
SET ruvector.dag_mode = 'learn';

-- 3. a learned pattern chooses the arm of the variant, which was never run
-- (the proven arm's own runs in apply mode first: exploring every execution,
-- learn mode ran it only while proving it)
SET ruvector.dag_mode = 'apply';
SELECT rw_run(:'q', 4);
SET ruvector.dag_mode = 'learn';
SET ruvector.dag_confidence_threshold = 0;
SELECT (ruvector_dag_learn()->>'patterns')::int > 0 AS learned;
SELECT count(*) > 0 AS pattern_prefers_an_arm
FROM ndag_patterns WHERE best_arm <> 0 AND gain >= 1.1;
SET ruvector.dag_mode = 'apply';
SELECT e->>'Decision' AS decision, (e->>'Pattern')::bigint > 0 AS has_pattern,
	(e->>'Similarity')::float >= 0.9 AS similar, e->>'Arm' <> '0 (default)' AS arm,
	e->>'Join' <> 'Nested Loop' AS other_join
FROM rw_explain(:'q2') e;
:q2 ORDER BY 1;
SET ruvector.dag_mode = 'observe';
:q2 ORDER BY 1;

-- 4. the session's settings are exactly as before around rewritten plans
SET ruvector.dag_mode = 'apply';
SET enable_hashjoin = on;
SELECT rw_settings() AS before \gset
:q ORDER BY 1;
SELECT rw_settings() = :'before' AS unchanged_after_rewritten;
:qerr;
SELECT rw_settings() = :'before' AS unchanged_after_error;
CREATE FUNCTION rw_inside() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	FOR r IN EXECUTE 'SELECT a.id, c.n FROM rw_a a JOIN (SELECT v, count(*) AS n FROM rw_b GROUP BY v) c ON c.v = a.id WHERE a.x = 1 AND a.y = 1 AND a.z = 1' LOOP
	END LOOP;
	RETURN rw_settings();
END
$$;
SELECT rw_inside() = :'before' AS unchanged_inside_plpgsql;
SELECT rw_settings() = :'before' AS unchanged_after_plpgsql;
-- static SQL of PL/pgSQL runs a copy of the plan kept by the plan cache:
-- its executions are still recorded with the arm they were planned under
CREATE FUNCTION rw_static() RETURNS TABLE (id int, n bigint) LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY SELECT a.id, c.n FROM rw_a a JOIN (SELECT v, count(*) AS n FROM rw_b GROUP BY v) c ON c.v = a.id WHERE a.x = 1 AND a.y = 1 AND a.z = 1;
END
$$;
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT max(traj_id) AS last_traj FROM ndag_trajectories \gset
SELECT count(*) FROM rw_static();
SELECT count(*) FROM rw_static();
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT count(*) AS runs, bool_and(arm <> 0) AS rewritten,
	bool_and(decision IN ('proven', 'pattern')) AS applied
FROM ndag_trajectories WHERE traj_id > :last_traj AND query_id = :qid;
SELECT rw_settings() = :'before' AS unchanged_after_static;
PREPARE rw_p(int) AS SELECT a.id, c.n FROM rw_a a
	JOIN (SELECT v, count(*) AS n FROM rw_b GROUP BY v) c ON c.v = a.id
	WHERE a.x = $1 AND a.y = $1 AND a.z = $1 ORDER BY 1;
SET plan_cache_mode = force_generic_plan;
SELECT rw_settings() AS before \gset
EXECUTE rw_p(1);
EXECUTE rw_p(1);
SELECT rw_settings() = :'before' AS unchanged_generic;
SET plan_cache_mode = force_custom_plan;
SELECT rw_settings() AS before \gset
EXECUTE rw_p(1);
EXECUTE rw_p(1);
SELECT rw_settings() = :'before' AS unchanged_custom;
RESET plan_cache_mode;
-- a SET LOCAL of the transaction survives the rewritten planning
BEGIN;
SET LOCAL enable_nestloop = off;
SET LOCAL work_mem = '1234kB';
:q ORDER BY 1;
SHOW enable_nestloop;
SHOW work_mem;
ROLLBACK;
SHOW enable_nestloop;
SELECT rw_settings() = :'before' AS unchanged_after_rollback;

-- 5. apply never explores; observe never applies
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT max(traj_id) AS last_traj FROM ndag_trajectories \gset
SET ruvector.dag_mode = 'apply';
SET ruvector.dag_exploration = 1;
SELECT rw_run('SELECT count(*) FROM rw_a WHERE x = 2 AND y = 2', 15);
SELECT rw_run(:'q', 5);
SET ruvector.dag_mode = 'observe';
SELECT rw_run(:'q', 3);
SELECT rw_explain(:'q') @> '{"Decision": "default plan", "Join": "Nested Loop"}' AS observe_default;
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT count(*) FILTER (WHERE decision = 'explore') AS explored_in_apply,
	count(*) FILTER (WHERE decision <> 'default' OR arm <> 0) > 0 AS applied
FROM ndag_trajectories WHERE traj_id > :last_traj AND traj_id <= :last_traj + 20;
SELECT count(*) FILTER (WHERE arm <> 0) AS observe_rewritten
FROM ndag_trajectories WHERE traj_id > :last_traj + 20;

-- 6. the Embedding Cache keeps ruvector.dag_embedding_cache_size decisions:
-- with room for one, two statements taking turns always miss (EXPLAIN says
-- whether this backend's planning found the decision in its cache); with
-- the default room, the second planning of a statement hits (each has run
-- once: a parameter set never run is measured by its first run, and the
-- decision of that run, its class only assumed, is not cached)
SET ruvector.dag_mode = 'apply';
SELECT rw_run(:'q2', 1);
SET ruvector.dag_embedding_cache_size = 1;
SELECT rw_explain(:'q') IS NOT NULL AS decided_q, rw_explain(:'q2') IS NOT NULL AS decided_q2;
SELECT rw_explain(:'q')->>'Cache Hit' AS q_hit, rw_explain(:'q2')->>'Cache Hit' AS q2_hit,
	rw_explain(:'q')->>'Cache Hit' AS q_hit_again;
RESET ruvector.dag_embedding_cache_size;
SELECT rw_explain(:'q') IS NOT NULL AS decided_q, rw_explain(:'q2') IS NOT NULL AS decided_q2;
SELECT rw_explain(:'q')->>'Cache Hit' AS q_hit, rw_explain(:'q2')->>'Cache Hit' AS q2_hit;
SET ruvector.dag_mode = 'observe';

-- 7. counters
SELECT (s->>'cache_hits')::int > 0 AS cache_hits,
	(s->>'cache_misses')::int > 0 AS cache_misses,
	(s->>'decided_explore')::int > 0 AS explored,
	(s->>'decided_proven')::int + (s->>'decided_pattern')::int > 0 AS applied,
	(s->>'extra_plannings')::int > 0 AS extra_plannings,
	s ? 'cache_hit_permille' AS hit_rate, s ? 'demotions' AS demotions
FROM (SELECT ruvector_dag_status()->'counters' AS s) t;

DROP FUNCTION rw_inside(), rw_static(), rw_settings(), rw_run(text, int), rw_explain(text),
	rw_explain_as(text, text);
SELECT ruvector_disable_neural_dag('rw_a'), ruvector_disable_neural_dag('rw_b');
DROP TABLE rw_a, rw_b;
