-- The line of one learn pass (psql variables w, r, learned) from the view
-- bench_pass and the trajectories recorded since the pass started.
WITH dec AS (
	SELECT string_agg(d || ' ' || n, ', ' ORDER BY d) AS s
	  FROM (SELECT coalesce(t.decision, '?') AS d, count(*) AS n
			  FROM ndag_trajectories t
			 WHERE t.query_id IN (SELECT query_id FROM bench_shape WHERE workload = :'w')
			   AND t.recorded_at >= (SELECT max(started_at) FROM bench_phase
									  WHERE phase = 'learn' AND round = :r)
			 GROUP BY 1) x
)
SELECT format('pass %s: users %s ms, stock %s ms in the same pass: %sx | worst execution %sx its stock median (%s, %s; worst stock execution %sx) | worst pair %sx its stock run (%s)%s | shadow: %s | decisions: %s | learned: %s',
			  p.round, round(p.users_ms::numeric, 1), round(p.stock_ms::numeric, 1),
			  round(p.users_vs_stock::numeric, 2), round(p.worst_ratio::numeric, 2), p.worst_shape,
			  coalesce(p.worst_arm, 'arm not recorded'), round(p.worst_stock_ratio::numeric, 2),
			  round(p.worst_pair_ratio::numeric, 2), p.worst_pair_shape,
			  CASE WHEN p.timed_out > 0 THEN ' | ' || p.timed_out || ' cut by the timeout' ELSE '' END,
			  p.shadow, coalesce(dec.s, 'none recorded'), :'learned')
  FROM bench_pass p, dec
 WHERE p.workload = :'w' AND p.round = :r;
