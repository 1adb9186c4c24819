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

\echo '== ndag_patterns: learned patterns'
SELECT pattern_id, best_arm, gain, confidence, support FROM ndag_patterns ORDER BY pattern_id;

\echo '== ruvector_dag_status()'
SELECT jsonb_pretty(ruvector_dag_status());
