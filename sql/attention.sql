-- Attention scores, min cut and visualization on real plans.
SET max_parallel_workers_per_gather = 0;
SET jit = off;

CREATE TABLE att_big (id int PRIMARY KEY, k int, v numeric);
INSERT INTO att_big SELECT g, g % 10, g % 1000 FROM generate_series(1, 100000) g;
CREATE TABLE att_small (k int PRIMARY KEY, name text);
INSERT INTO att_small SELECT g, 'k' || g FROM generate_series(0, 9) g;
CREATE TABLE att_part (id int, region int) PARTITION BY LIST (region);
CREATE TABLE att_part_1 PARTITION OF att_part FOR VALUES IN (1);
CREATE TABLE att_part_2 PARTITION OF att_part FOR VALUES IN (2);
CREATE TABLE att_part_3 PARTITION OF att_part FOR VALUES IN (3);
INSERT INTO att_part SELECT g, 1 + g % 3 FROM generate_series(1, 3000) g;
ANALYZE att_big, att_small, att_part;

-- The queries of this test, each planned by every mechanism
CREATE TEMP TABLE att_queries (name text, q text);
INSERT INTO att_queries VALUES
 ('join', 'SELECT s.name, count(*) FROM att_big b JOIN att_small s ON s.k = b.k GROUP BY s.name'),
 ('subquery', 'SELECT * FROM att_small WHERE k > (SELECT avg(k) FROM att_big) OR k IN (SELECT k FROM att_big WHERE id < 5)'),
 ('cte twice', 'WITH c AS MATERIALIZED (SELECT k, count(*) AS n FROM att_big GROUP BY k) SELECT * FROM c a JOIN c b ON a.k = b.k + 1'),
 ('union', 'SELECT k FROM att_small UNION SELECT k FROM att_big WHERE id < 100'),
 ('partitioned', 'SELECT region, count(*) FROM att_part GROUP BY region'),
 ('single node', 'SELECT 1'),
 ('delete', 'DELETE FROM att_big WHERE id < 10');

CREATE TEMP TABLE att_mechs (m text);
INSERT INTO att_mechs VALUES ('topological'), ('causal_cone'), ('critical_path'),
 ('mincut_gated'), ('hierarchical_lorentz'), ('parallel_branch'), ('temporal_btsp'),
 ('ensemble');

-- every mechanism gives non-negative weights that sum to 1 on every plan
SELECT q.name, m.m,
	   count(*) > 0 AS has_nodes,
	   round(sum(s.score)::numeric, 9) AS total,
	   bool_and(s.score >= 0) AS non_negative
  FROM att_queries q, att_mechs m, ruvector_attention_scores(q.q, m.m) s
 GROUP BY q.name, m.m
HAVING round(sum(s.score)::numeric, 9) <> 1 OR NOT bool_and(s.score >= 0);
SELECT count(DISTINCT (q.name, m.m)) AS query_mechanism_pairs_checked
  FROM att_queries q, att_mechs m, ruvector_attention_scores(q.q, m.m) s;

-- the wrappers give the same scores as ruvector_attention_scores
SELECT bool_and(a.score = b.score) AS wrappers_agree
  FROM ruvector_attention_critical_path('SELECT * FROM att_big b JOIN att_small s USING (k)') a
  JOIN ruvector_attention_scores('SELECT * FROM att_big b JOIN att_small s USING (k)', 'critical_path') b
 USING (node_id);

-- the DAG of a plan: node types, relations and consumers
SELECT node_id, parent_ids, node_type, relation, est_rows
  FROM ruvector_attention_scores('SELECT s.name, count(*) FROM att_big b JOIN att_small s ON s.k = b.k GROUP BY s.name', 'topological')
 ORDER BY node_id;

-- a CTE scanned twice is one node shared by both CTE scans (and by the
-- statement's root, which owns it as an initPlan)
WITH s AS (
	SELECT * FROM ruvector_attention_scores('WITH c AS MATERIALIZED (SELECT k, count(*) AS n FROM att_big GROUP BY k) SELECT * FROM c a JOIN c b ON a.k = b.k + 1')
)
SELECT s.node_type, array_agg(p.node_type ORDER BY p.node_type) AS consumers
  FROM s JOIN s p ON p.node_id = ANY (s.parent_ids)
 WHERE cardinality(s.parent_ids) > 1
 GROUP BY s.node_id, s.node_type;

-- initPlans and subplans are nodes of the DAG
SELECT count(*) FILTER (WHERE relation = 'att_big'::regclass) AS big_scans
  FROM ruvector_attention_scores('SELECT * FROM att_small WHERE k > (SELECT avg(k) FROM att_big) OR k IN (SELECT k FROM att_big WHERE id < 5)');

-- critical path: the scan of the big table outweighs the small one
SELECT relation, rank() OVER (ORDER BY score DESC) AS rank_among_scans
  FROM ruvector_attention_scores('SELECT * FROM att_big b JOIN att_small s USING (k)', 'critical_path')
 WHERE relation IS NOT NULL
 ORDER BY 2, 1;

-- topological: weights vary with depth, the root weighs most
SELECT node_id, parent_ids = '{}' AS is_root,
	   score = max(score) OVER () AS heaviest
  FROM ruvector_attention_topological('SELECT s.name, count(*) FROM att_big b JOIN att_small s ON s.k = b.k GROUP BY s.name')
 ORDER BY node_id;

-- min cut: the aggregate's output (10 groups) is the bottleneck, not the
-- 100,000-row scan
SELECT child_type, child_relation, parent_type, capacity, cut_value
  FROM ruvector_dag_mincut('SELECT * FROM (SELECT k, count(*) FROM att_big GROUP BY k) a JOIN att_small s USING (k)')
 ORDER BY child_id;

-- a parallel plan
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SELECT bool_or(node_type = 'Gather') AS has_gather,
	   bool_or(node_type = 'Seq Scan') AS has_parallel_scan,
	   round(sum(score)::numeric, 9) AS total
  FROM ruvector_attention_scores('SELECT count(*) FROM att_big', 'parallel_branch');
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SET max_parallel_workers_per_gather = 0;

-- planning a DELETE deletes nothing
SELECT count(*) > 0 AS planned FROM ruvector_attention_scores('DELETE FROM att_big WHERE id < 10');
SELECT count(*) AS rows_left FROM att_big;

-- visualization
SELECT ruvector_dag_visualize('SELECT * FROM att_big b JOIN att_small s USING (k)', 'critical_path', 'dot') AS dot \gset
\o /tmp/neural_dag_regress.dot
\qecho :dot
\o
\! dot -Tsvg /tmp/neural_dag_regress.dot > /dev/null 2>&1 && echo 'dot parses the output' || echo 'dot rejects the output'
\! rm -f /tmp/neural_dag_regress.dot
SELECT ruvector_dag_visualize('SELECT * FROM att_big b JOIN att_small s USING (k)', 'topological', 'mermaid') LIKE 'flowchart BT%' AS mermaid;
SELECT jsonb_array_length(j->'nodes') AS nodes, jsonb_array_length(j->'edges') AS edges, j->>'mechanism' AS mechanism
  FROM (SELECT ruvector_dag_visualize('SELECT * FROM att_big b JOIN att_small s USING (k)', 'causal_cone', 'json')::jsonb AS j) x;

-- bad input
SELECT * FROM ruvector_attention_scores('SELECT 1', 'quantum');
SELECT * FROM ruvector_attention_scores(NULL);
SELECT * FROM ruvector_attention_scores('  ');
SELECT * FROM ruvector_attention_scores('CREATE TABLE x (a int)');
SELECT * FROM ruvector_attention_scores('SELEC 1');
SELECT * FROM ruvector_attention_scores('SELECT 1; SELECT 2');
SELECT * FROM ruvector_attention_scores('SELECT * FROM no_such_table');
SELECT ruvector_dag_visualize('SELECT 1', 'topological', 'svg');
SELECT * FROM ruvector_dag_mincut(NULL);
