-- The demo's introduction, run by scripts/demo.sh after the schema is
-- loaded: what is enabled, the arms, and why PostgreSQL's default plans of
-- the demo's query shapes are bad.
\pset footer off
\pset border 1

\echo '== the demo tables, enabled for learning (ndag_tables)'
SELECT t.relid::regclass AS "table", c.reltuples::bigint AS "rows"
  FROM ndag_tables t JOIN pg_class c ON c.oid = t.relid
 ORDER BY c.reltuples DESC;

\echo '== the arms: planner configurations neural_dag chooses from (ndag_arms)'
SELECT arm_id, name, settings FROM ndag_arms WHERE enabled ORDER BY arm_id;

\echo '== the twelve query shapes and the worst row estimate of their default plan (one EXPLAIN ANALYZE each)'
\echo '   sale.a, sale.b, sale.c are functionally dependent and sale.d = sale.e: "a = x AND b = x AND c = x"'
\echo '   is estimated at 1 row and returns 1,490; half of the sales belong to store 0'
SET ruvector.dag_mode = off;
SELECT b.shape, left(b.what, 52) AS what, m.node AS "worst estimated node",
	   m.est_rows::bigint AS estimated, m.actual_rows::bigint AS actual, m.joins
  FROM bench_shape b, bench_misestimate(b.query) m
 WHERE b.workload = 'demo'
 ORDER BY b.shape;
RESET ruvector.dag_mode;
