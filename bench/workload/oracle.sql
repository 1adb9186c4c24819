-- The oracle table of one workload (psql variable w): per shape the
-- default's latency, the fastest arm and every arm's median latency, all
-- measured in the oracle phase (arms of a shape taking turns).  The
-- fastest arm is chosen among those whose plan differs from the default's
-- (bench_oracle); an arm that plans the statement as the default does is
-- listed with "=".
\pset footer off
\pset border 1
WITH m AS (
	SELECT shape, arm, ms FROM bench_med WHERE workload = :'w' AND phase = 'oracle'
),
best AS (
	SELECT DISTINCT ON (shape) shape, arm, ms FROM bench_oracle WHERE workload = :'w'
	 ORDER BY shape, ms
),
missing AS (
	SELECT s.shape, string_agg(a.name, ', ' ORDER BY a.arm_id) AS arms
	  FROM bench_shape s CROSS JOIN ndag_arms a
	 WHERE s.workload = :'w' AND a.enabled
	   AND NOT EXISTS (SELECT 1 FROM m WHERE m.shape = s.shape AND m.arm = a.name)
	 GROUP BY s.shape
)
SELECT s.shape, round(d.ms::numeric, 1) AS default_ms, b.arm AS best_arm,
	   round(b.ms::numeric, 1) AS best_ms, round((d.ms / b.ms)::numeric, 1) AS gain,
	   (SELECT string_agg(m.arm || ' ' || round(m.ms::numeric) ||
						  CASE WHEN o.arm IS NULL THEN '=' ELSE '' END, ', ' ORDER BY m.ms)
		  FROM m LEFT JOIN bench_oracle o
			ON o.workload = :'w' AND o.shape = m.shape AND o.arm = m.arm
		 WHERE m.shape = s.shape AND m.arm <> 'default') ||
	   coalesce('; failed or timed out: ' || x.arms, '') AS "arms, fastest first (ms)"
  FROM bench_shape s
  LEFT JOIN m d ON d.shape = s.shape AND d.arm = 'default'
  LEFT JOIN best b ON b.shape = s.shape
  LEFT JOIN missing x ON x.shape = s.shape
 WHERE s.workload = :'w'
 ORDER BY s.shape;
SELECT round(sum(d.ms)::numeric, 1) AS default_total_ms, round(sum(b.ms)::numeric, 1) AS oracle_total_ms,
	   round((sum(d.ms) / sum(b.ms))::numeric, 2) AS oracle_speedup
  FROM (SELECT shape, ms FROM bench_med WHERE workload = :'w' AND phase = 'oracle' AND arm = 'default') d
  JOIN (SELECT shape, min(ms) AS ms FROM bench_oracle
		 WHERE workload = :'w' GROUP BY shape) b USING (shape);
