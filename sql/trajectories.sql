-- Recording of executions: a mixed workload on an enabled table becomes
-- trajectories (ndag_trajectories) and per-node rows (ndag_attention) whose
-- figures agree with EXPLAIN ANALYZE and pg_stat_statements.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
SET ruvector.dag_attention_type = 'critical_path';
SET ruvector.dag_mode = 'observe';
SET ruvector.dag_sample_rate = 1.0;

CREATE TABLE traj_orders AS
	SELECT g AS id, g % 10 AS k, (g * 7) % 100 AS amount
	FROM generate_series(1, 2000) g;
CREATE TABLE traj_items AS
	SELECT g AS id, 'item ' || g AS name FROM generate_series(1, 200) g;
CREATE TABLE traj_other AS SELECT g AS id FROM generate_series(1, 50) g;
ANALYZE traj_orders, traj_items, traj_other;

-- helpers: a plan's nodes as EXPLAIN (ANALYZE, FORMAT JSON) shows them, in
-- pre-order; the recorded trajectories in recording order
CREATE FUNCTION traj_explain_nodes(q text)
RETURNS TABLE (node_id int, node_type text, actual_rows numeric, loops numeric)
LANGUAGE plpgsql AS $$
DECLARE
	plan jsonb;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ' || q INTO plan;
	RETURN QUERY
	WITH RECURSIVE walk(path, node) AS (
		SELECT ARRAY[0], plan->0->'Plan'
		UNION ALL
		SELECT w.path || (c.i)::int, c.n
		FROM walk w, jsonb_array_elements(w.node->'Plans') WITH ORDINALITY c(n, i))
	SELECT (row_number() OVER (ORDER BY path))::int - 1,
		   node->>'Node Type',
		   round((node->>'Actual Rows')::numeric),
		   (node->>'Actual Loops')::numeric
	FROM walk;
END
$$;
-- the plan part of EXPLAIN's text, without our section
CREATE FUNCTION traj_explain_text(q text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	line text;
	result text := '';
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		EXIT WHEN line = 'Neural DAG:';
		result := result || line || E'\n';
	END LOOP;
	RETURN result;
END
$$;
-- EXPLAIN ANALYZE's text, the same on every version: no buffers (on by
-- default from PostgreSQL 18), row counts without 18's decimals, memory
-- sizes (which differ between versions) as N
CREATE FUNCTION traj_explain_analyze(q text) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
	line text;
BEGIN
	FOR line IN EXECUTE 'EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF) ' || q LOOP
		line := regexp_replace(line, 'rows=(\d+)\.00 ', 'rows=\1 ', 'g');
		RETURN NEXT regexp_replace(line, '\d+kB', 'NkB', 'g');
	END LOOP;
END
$$;
CREATE FUNCTION traj_explain_json(q text) RETURNS json
LANGUAGE plpgsql AS $$
DECLARE
	result json;
BEGIN
	EXECUTE 'EXPLAIN (COSTS OFF, FORMAT JSON) ' || q INTO result;
	RETURN result;
END
$$;
CREATE VIEW traj AS
	SELECT row_number() OVER (ORDER BY traj_id) AS n, *
	FROM ndag_trajectories;

-- start from an empty trajectory store
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT ruvector_dag_reset('trajectories') >= 0 AS reset,
	   ruvector_dag_reset('nodes') >= 0 AS reset;
SELECT ruvector_enable_neural_dag('traj_orders');
SELECT (ruvector_dag_status()->'counters'->>'recorded')::bigint AS recorded_before,
	   (ruvector_dag_status()->'counters'->>'sampled')::bigint AS sampled_before
\gset

-- 1: join
SELECT count(*) FROM traj_orders o JOIN traj_items i USING (id);
-- 2: aggregate
SELECT k, sum(amount) FROM traj_orders GROUP BY k ORDER BY k LIMIT 3;
-- 3: a CTE read twice: one node with two consumers
WITH per_k AS MATERIALIZED (SELECT k, count(*) AS n FROM traj_orders GROUP BY k)
SELECT sum(a.n) FROM per_k a JOIN per_k b ON a.k = b.k;
-- 4: subqueries
SELECT count(*) FROM traj_orders
WHERE id IN (SELECT id FROM traj_items)
  AND amount > (SELECT avg(amount) FROM traj_orders);
-- 5, 6: a prepared statement, twice
PREPARE traj_by_k(int) AS SELECT count(*) FROM traj_orders WHERE k = $1;
EXECUTE traj_by_k(1);
EXECUTE traj_by_k(2);
-- 7: a PL/pgSQL function reading through a cursor (the call itself reads
-- no table and is not recorded)
CREATE FUNCTION traj_sum_below(lim int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
	c CURSOR FOR SELECT amount FROM traj_orders WHERE id <= lim ORDER BY id;
	a int;
	total bigint := 0;
BEGIN
	OPEN c;
	LOOP
		FETCH c INTO a;
		EXIT WHEN NOT FOUND;
		total := total + a;
	END LOOP;
	CLOSE c;
	RETURN total;
END
$$;
SELECT traj_sum_below(100);
-- 8: EXPLAIN ANALYZE runs the statement: recorded
SELECT traj_explain_analyze('SELECT k, count(*) FROM traj_orders WHERE k < 3 GROUP BY k ORDER BY k');
-- plain EXPLAIN runs nothing: not recorded
EXPLAIN (COSTS OFF) SELECT count(*) FROM traj_orders;
-- an error mid-execution: the statement fails as usual, nothing is recorded
SELECT 1 / (k - 5) FROM traj_orders;
-- 9: a parallel plan, recorded once by the leader
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT count(*) FROM traj_orders WHERE amount >= 0;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;
-- a table not enabled: not recorded
SELECT count(*) FROM traj_other;

SELECT ruvector_dag_flush() >= 0 AS flushed;

-- nine executions sampled and recorded, plus the failed one sampled
SELECT (ruvector_dag_status()->'counters'->>'recorded')::bigint - :recorded_before AS recorded,
	   (ruvector_dag_status()->'counters'->>'sampled')::bigint - :sampled_before AS sampled;

-- the trajectories, in order, with their plans' shapes
SELECT t.n, t.attention, t.arm, t.decision, t.relids::regclass[] AS relations,
	   (SELECT string_agg(a.node_type, ', ' ORDER BY a.node_id)
		FROM ndag_attention a WHERE a.traj_id = t.traj_id) AS nodes
FROM traj t ORDER BY t.n;

-- figures that must hold for every trajectory
SELECT count(*) AS trajectories,
	   bool_and(t.dbid = (SELECT oid FROM pg_database WHERE datname = current_database())) AS dbid_ok,
	   bool_and(t.userid = (SELECT oid FROM pg_roles WHERE rolname = current_user)) AS userid_ok,
	   bool_and(t.query_id <> 0) AS query_id_ok,
	   bool_and(t.exec_us > 0 AND t.planning_us >= 0 AND t.est_cost > 0) AS times_ok,
	   bool_and(t.quality > 0 AND t.quality <= 1) AS quality_ok,
	   bool_and(array_length(t.embedding, 1) = 64) AS embedding_dim_ok,
	   bool_and(abs((SELECT sum(e * e) FROM unnest(t.embedding) e) - 1) < 1e-4) AS embedding_norm_ok,
	   bool_and(t.recorded_at <= now() + interval '1 minute') AS recorded_at_ok
FROM traj t;

-- attention scores: one mechanism per trajectory, non-negative, summing to 1
SELECT bool_and(ok) AS scores_ok FROM (
	SELECT min(a.score) >= 0 AND abs(sum(a.score) - 1) < 1e-5
		   AND count(DISTINCT a.mechanism) = 1 AND min(a.mechanism) = t.attention AS ok
	FROM traj t JOIN ndag_attention a USING (traj_id)
	GROUP BY t.traj_id, t.attention) s;

-- the prepared statement's two executions have the same plan shape
SELECT count(*) FILTER (WHERE n = 5) = count(*) FILTER (WHERE n = 6) AS same_shape
FROM traj t JOIN ndag_attention a USING (traj_id) WHERE t.n IN (5, 6);

-- node count and node types equal those of the plan of the same text
SELECT q.n, (SELECT count(*) FROM ndag_attention a JOIN traj t USING (traj_id) WHERE t.n = q.n)
			= (SELECT count(*) FROM ruvector_attention_scores(q.sql)) AS node_count_ok,
	   (SELECT string_agg(a.node_type, ', ' ORDER BY a.node_id)
		FROM ndag_attention a JOIN traj t USING (traj_id) WHERE t.n = q.n)
			= (SELECT string_agg(s.node_type, ', ' ORDER BY s.node_id)
			   FROM ruvector_attention_scores(q.sql) s) AS node_types_ok
FROM (VALUES
	(1, 'SELECT count(*) FROM traj_orders o JOIN traj_items i USING (id)'),
	(3, 'WITH per_k AS MATERIALIZED (SELECT k, count(*) AS n FROM traj_orders GROUP BY k) SELECT sum(a.n) FROM per_k a JOIN per_k b ON a.k = b.k'),
	(4, 'SELECT count(*) FROM traj_orders WHERE id IN (SELECT id FROM traj_items) AND amount > (SELECT avg(amount) FROM traj_orders)')
) q(n, sql) ORDER BY q.n;

-- the CTE is one node with several consumers: both CTE scans, and the
-- root that runs it as an initPlan
SELECT a.node_type, array_agg(p.node_type ORDER BY p.node_id) AS consumers
FROM ndag_attention a JOIN traj t USING (traj_id)
	 JOIN ndag_attention p ON p.traj_id = a.traj_id AND p.node_id = ANY (a.parent_ids)
WHERE t.n = 3
GROUP BY a.traj_id, a.node_id, a.node_type
HAVING count(*) > 1;

-- every node with a parent points at a node of the same trajectory
SELECT count(*) AS dangling_parents
FROM ndag_attention a, unnest(a.parent_ids) p
WHERE NOT EXISTS (SELECT 1 FROM ndag_attention b
				  WHERE b.traj_id = a.traj_id AND b.node_id = p);

-- actual rows and loops equal EXPLAIN ANALYZE's, node by node (the
-- EXPLAIN inside traj_explain_nodes is itself the last trajectory)
CREATE TEMP TABLE traj_explained AS
	SELECT * FROM traj_explain_nodes(
		'SELECT i.name, count(*) FROM traj_orders o JOIN traj_items i ON i.id = o.k + 1 GROUP BY i.name ORDER BY i.name');
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT e.node_id, e.node_type AS explain_type, a.node_type,
	   e.actual_rows AS explain_rows, a.actual_rows, e.loops AS explain_loops, a.loops,
	   round(a.actual_rows) = e.actual_rows AND a.loops = e.loops AS rows_match
FROM traj_explained e
FULL JOIN (SELECT a.* FROM ndag_attention a
		   WHERE a.traj_id = (SELECT max(traj_id) FROM ndag_trajectories)) a
	USING (node_id)
ORDER BY node_id;

-- query_id joins pg_stat_statements.queryid
SELECT count(*) AS trajectories,
	   count(*) FILTER (WHERE EXISTS (SELECT 1 FROM pg_stat_statements s
									  WHERE s.queryid = t.query_id AND s.dbid = t.dbid)) AS in_pg_stat_statements
FROM traj t;

-- recording does not take buffer usage away from pg_stat_statements
SELECT bool_and(s.shared_blks_hit + s.shared_blks_read > 0) AS buffers_counted
FROM pg_stat_statements s
WHERE s.queryid IN (SELECT query_id FROM ndag_trajectories)
  AND s.query LIKE '%traj_orders%';

-- nothing about the table that is not enabled
SELECT count(*) AS other_trajectories FROM ndag_trajectories
WHERE 'traj_other'::regclass::oid = ANY (relids);

-- disabling stops recording at once, in this session too
SELECT count(*) AS traj_count FROM ndag_trajectories \gset
SELECT ruvector_disable_neural_dag('traj_orders');
SELECT count(*) FROM traj_orders;
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT count(*) - :traj_count AS recorded_after_disable FROM ndag_trajectories;
SELECT ruvector_enable_neural_dag('traj_orders');

-- sample rate 0 records nothing; mode off records nothing
SET ruvector.dag_sample_rate = 0;
SELECT count(*) FROM traj_orders;
RESET ruvector.dag_sample_rate;
SET ruvector.dag_mode = 'off';
SELECT count(*) FROM traj_orders;
SET ruvector.dag_mode = 'observe';
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT count(*) - :traj_count AS recorded_unsampled FROM ndag_trajectories;

-- statements that fail inside PL/pgSQL exception blocks do not keep later
-- statements of the same transaction from being recorded
SELECT (ruvector_dag_status()->'counters'->>'recorded')::bigint AS recorded_before \gset
DO $$
BEGIN
	FOR i IN 1..40 LOOP
		BEGIN
			PERFORM 1 / (k - k) FROM traj_orders;
		EXCEPTION WHEN division_by_zero THEN NULL;
		END;
	END LOOP;
	PERFORM count(*) FROM traj_orders;
END
$$;
SELECT (ruvector_dag_status()->'counters'->>'recorded')::bigint - :recorded_before AS recorded;

-- observe mode leaves plans exactly as with the extension off
SET ruvector.dag_mode = 'off';
CREATE TEMP TABLE traj_plans_off AS
	SELECT q, traj_explain_text(q) AS plan
	FROM (VALUES
		('SELECT count(*) FROM traj_orders o JOIN traj_items i USING (id)'),
		('SELECT k, sum(amount) FROM traj_orders GROUP BY k ORDER BY k LIMIT 3'),
		('SELECT count(*) FROM traj_orders WHERE id IN (SELECT id FROM traj_items)')) v(q);
SET ruvector.dag_mode = 'observe';
SELECT count(*) AS plans, bool_and(traj_explain_text(q) = plan) AS identical
FROM traj_plans_off;

-- EXPLAIN shows the Neural DAG section for a statement on an enabled
-- table, in every format; a table not enabled gets none
EXPLAIN (COSTS OFF) SELECT count(*) FROM traj_orders o JOIN traj_items i USING (id);
EXPLAIN (COSTS OFF) SELECT count(*) FROM traj_other;
SELECT j->0->'Neural DAG'->>'Mode' AS mode,
	   j->0->'Neural DAG'->>'Attention' AS attention,
	   j->0->'Neural DAG'->>'Plan Nodes' AS plan_nodes,
	   j->0->'Plan'->>'Node Type' AS root
FROM (SELECT (traj_explain_json('SELECT count(*) FROM traj_orders'))::jsonb AS j) s;
SET ruvector.dag_mode = 'off';
EXPLAIN (COSTS OFF) SELECT count(*) FROM traj_orders;
SET ruvector.dag_mode = 'observe';

-- the recording counters are in ruvector_dag_status()
SELECT key FROM jsonb_each(ruvector_dag_status()->'counters')
WHERE key IN ('sampled', 'recorded', 'flushed', 'dropped', 'failed',
			  'truncated', 'ring_used', 'ring_capacity')
ORDER BY key;
SELECT (ruvector_dag_status()->'counters'->>'ring_capacity')::int AS ring_capacity,
	   (ruvector_dag_status()->'counters'->>'failed')::int AS failed;

SELECT ruvector_disable_neural_dag('traj_orders');
DROP VIEW traj;
DROP TABLE traj_orders, traj_items, traj_other;
DROP FUNCTION traj_explain_nodes(text), traj_explain_text(text), traj_explain_json(text),
	traj_sum_below(int);
