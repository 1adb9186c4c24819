-- The end of the demo (psql variable rounds): speed-up per query shape and
-- overall of the last round over the first and over stock PostgreSQL, and
-- of the apply-mode round over stock, the
-- arm the last round ran each shape with, and the decisions taken over the
-- whole demo.  Recorded executions (every one in learn mode) run with
-- per-node timing, which stock executions do not pay.
\pset footer off
\pset border 1
\echo
\echo '== speed-up per query shape, round' :rounds 'versus round 1 and versus stock, and of the apply round versus stock (median ms)'
WITH m AS (
	SELECT shape, round, bench_median(ms) AS ms
	  FROM bench_result WHERE workload = 'demo' AND phase = 'learn'
	UNION ALL
	SELECT shape, 0, bench_median(ms)
	  FROM bench_result WHERE workload = 'demo' AND phase = 'stock'
	UNION ALL
	SELECT shape, -1, bench_median(ms)
	  FROM bench_result WHERE workload = 'demo' AND phase = 'apply'
),
last_arm AS (
	SELECT DISTINCT ON (b.shape) b.shape, coalesce(a.name, t.arm::text) AS arm, t.decision
	  FROM ndag_trajectories t
	  JOIN bench_shape b ON b.query_id = t.query_id
	  LEFT JOIN ndag_arms a ON a.arm_id = t.arm
	 ORDER BY b.shape, t.traj_id DESC
)
SELECT b.shape, left(b.what, 46) AS what, round(st.ms::numeric, 1) AS stock, round(f.ms::numeric, 1) AS round_1,
	   round(l.ms::numeric, 1) AS last_round, round((f.ms / nullif(l.ms, 0))::numeric, 2) AS "vs round 1",
	   round((st.ms / nullif(l.ms, 0))::numeric, 2) AS "vs stock",
	   round(ap.ms::numeric, 1) AS apply, round((st.ms / nullif(ap.ms, 0))::numeric, 2) AS "apply vs stock",
	   la.arm AS "last arm", la.decision AS "last decision"
  FROM bench_shape b
  LEFT JOIN m st ON st.shape = b.shape AND st.round = 0
  LEFT JOIN m ap ON ap.shape = b.shape AND ap.round = -1
  LEFT JOIN m f ON f.shape = b.shape AND f.round = 1
  LEFT JOIN m l ON l.shape = b.shape AND l.round = :rounds
  LEFT JOIN last_arm la ON la.shape = b.shape
 WHERE b.workload = 'demo'
 ORDER BY b.shape;

\echo '== overall'
SELECT round(sum(st.ms)::numeric, 1) AS stock_total_ms,
	   round(sum(f.ms)::numeric, 1) AS round_1_total_ms, round(sum(l.ms)::numeric, 1) AS last_round_total_ms,
	   round((sum(f.ms) / nullif(sum(l.ms), 0))::numeric, 2) AS "speed-up vs round 1",
	   round((sum(st.ms) / nullif(sum(l.ms), 0))::numeric, 2) AS "speed-up vs stock",
	   round(sum(ap.ms)::numeric, 1) AS apply_total_ms,
	   round((sum(st.ms) / nullif(sum(ap.ms), 0))::numeric, 2) AS "apply speed-up vs stock"
  FROM (SELECT shape, bench_median(ms) AS ms FROM bench_result
		 WHERE workload = 'demo' AND phase = 'learn' AND round = 1) f
  JOIN (SELECT shape, bench_median(ms) AS ms FROM bench_result
		 WHERE workload = 'demo' AND phase = 'learn' AND round = :rounds) l USING (shape)
  LEFT JOIN (SELECT shape, bench_median(ms) AS ms FROM bench_result
			  WHERE workload = 'demo' AND phase = 'stock') st USING (shape)
  LEFT JOIN (SELECT shape, bench_median(ms) AS ms FROM bench_result
			  WHERE workload = 'demo' AND phase = 'apply') ap USING (shape);

\echo '== decisions taken over the whole demo (ndag_trajectories by decision source and arm)'
SELECT coalesce(t.decision, '?') AS decision, coalesce(a.name, t.arm::text) AS arm, count(*) AS executions
  FROM ndag_trajectories t
  JOIN bench_shape b ON b.query_id = t.query_id
  LEFT JOIN ndag_arms a ON a.arm_id = t.arm
 GROUP BY 1, 2 ORDER BY 1, 3 DESC;
