-- The demo workload run by scripts/demo.sh.
\pset footer off
CREATE EXTENSION neural_dag;
CREATE EXTENSION pg_stat_statements;

\echo '== demo schema: orders with skewed, correlated columns'
CREATE TABLE demo_orders (
	id		 bigint PRIMARY KEY,
	customer int NOT NULL,
	region	 int NOT NULL,
	amount	 numeric NOT NULL
);
INSERT INTO demo_orders
SELECT g, (g % 1000), (g % 1000) / 100, (g % 97) * 1.5
FROM generate_series(1, 100000) g;
ANALYZE demo_orders;

\echo '== enable learning on demo_orders'
SELECT ruvector_enable_neural_dag('demo_orders');

\echo '== ndag_tables: relations enabled for learning'
SELECT relid, enabled_at IS NOT NULL AS enabled FROM ndag_tables;

\echo '== ndag_arms: the planner configurations neural_dag chooses from'
SELECT arm_id, name, settings, enabled FROM ndag_arms ORDER BY arm_id;

CREATE TABLE demo_customers (
	customer int PRIMARY KEY,
	region	 int NOT NULL,
	name	 text NOT NULL
);
INSERT INTO demo_customers SELECT g, g / 100, 'c' || g FROM generate_series(0, 999) g;
ANALYZE demo_customers;
SELECT ruvector_enable_neural_dag('demo_customers');

\echo '== demo workload: five query shapes, ten rounds, every execution recorded'
SET ruvector.dag_fast_query_ms = 0;
DO $$
BEGIN
	FOR round IN 1..10 LOOP
		PERFORM count(*) FROM demo_orders o JOIN demo_customers c USING (customer)
		 WHERE c.region = round % 10;
		PERFORM region, sum(amount) FROM demo_orders GROUP BY region;
		PERFORM * FROM demo_orders WHERE id = round * 1000;
		PERFORM c.name, max(o.amount) FROM demo_customers c
		   JOIN demo_orders o ON o.customer = c.customer AND o.region = c.region
		 WHERE c.customer < 50 GROUP BY c.name;
		PERFORM count(*) FROM demo_orders WHERE customer IN
			(SELECT customer FROM demo_customers WHERE name LIKE 'c1%');
	END LOOP;
END
$$;
SELECT ruvector_dag_flush() AS trajectories_written;

\echo '== what was recorded: trajectories per statement'
SELECT left(regexp_replace(s.query, '\s+', ' ', 'g'), 70) AS statement,
	   count(*) AS executions, round(avg(t.exec_us)) AS mean_exec_us
  FROM ndag_trajectories t
  JOIN pg_stat_statements s ON s.queryid = t.query_id AND s.dbid = t.dbid AND s.userid = t.userid
 GROUP BY 1 ORDER BY 1;

\echo '== one learning cycle'
SELECT jsonb_pretty(ruvector_dag_learn());

\echo '== ndag_patterns: learned patterns, and the statements whose plans lie nearest to each (cosine of embedding and centroid)'
WITH nearest AS (
	SELECT DISTINCT ON (t.traj_id) t.traj_id, t.query_id, t.dbid, t.userid, p.pattern_id
	  FROM ndag_trajectories t, ndag_patterns p
	 ORDER BY t.traj_id,
			  (SELECT sum(a * b) FROM unnest(t.embedding, p.centroid) AS u(a, b)) DESC
)
SELECT p.pattern_id, p.best_arm, round(p.gain::numeric, 2) AS gain,
	   round(p.confidence::numeric, 3) AS confidence, p.support,
	   string_agg(DISTINCT left(regexp_replace(s.query, '\s+', ' ', 'g'), 50), ' | ') AS statements
  FROM ndag_patterns p
  JOIN nearest n ON n.pattern_id = p.pattern_id
  LEFT JOIN pg_stat_statements s ON s.queryid = n.query_id AND s.dbid = n.dbid AND s.userid = n.userid
 GROUP BY p.pattern_id, p.best_arm, p.gain, p.confidence, p.support
 ORDER BY p.pattern_id;

\echo '== the cost model'
SELECT name, parameters, updates, round(loss::numeric, 4) AS loss, tasks FROM ndag_models ORDER BY name;

\echo '== ruvector_dag_status()'
SELECT jsonb_pretty(ruvector_dag_status());
