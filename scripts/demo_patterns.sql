-- The learned patterns after a round of the demo (psql variable round):
-- ndag_patterns with the statements (pg_stat_statements) whose newest
-- trajectory belongs to each: its own pattern_id when the decision set it,
-- otherwise the pattern whose centroid is nearest to its embedding.  The
-- statement text is the one pg_stat_statements kept for the queryId (the
-- first seen, which may be that of the EXPLAIN the demo ran first).
\pset footer off
\pset border 1
\echo '== learned patterns after round' :round '(ndag_patterns, ndag_arms, pg_stat_statements)'
WITH newest AS (
	SELECT DISTINCT ON (t.query_id) t.query_id, t.dbid, t.userid, t.pattern_id, t.embedding
	  FROM ndag_trajectories t
	  JOIN bench_shape b ON b.query_id = t.query_id
	 ORDER BY t.query_id, t.traj_id DESC
),
member AS (
	SELECT n.query_id, n.dbid, n.userid,
		   coalesce(n.pattern_id,
					(SELECT p.pattern_id FROM ndag_patterns p
					  ORDER BY (SELECT sum(x * y) / nullif(sqrt(sum(x * x) * sum(y * y)), 0)
								  FROM unnest(n.embedding, p.centroid) u(x, y)) DESC NULLS LAST
					  LIMIT 1)) AS pattern_id
	  FROM newest n
)
SELECT p.pattern_id, coalesce(a.name, p.best_arm::text) AS best_arm,
	   round(p.gain::numeric, 2) AS gain, round(p.confidence::numeric, 2) AS confidence,
	   p.support, b.shape,
	   left(regexp_replace(regexp_replace(s.query, '^EXPLAIN \([A-Z, ]*\)\s*', ''), '\s+', ' ', 'g'), 70)
		   AS "statement (pg_stat_statements)"
  FROM ndag_patterns p
  JOIN member m ON m.pattern_id = p.pattern_id
  JOIN bench_shape b ON b.query_id = m.query_id
  LEFT JOIN ndag_arms a ON a.arm_id = p.best_arm
  LEFT JOIN LATERAL (SELECT query FROM pg_stat_statements s
					  WHERE s.queryid = m.query_id AND s.dbid = m.dbid AND s.userid = m.userid
					  ORDER BY s.calls DESC LIMIT 1) s ON true
 ORDER BY p.pattern_id, b.shape;
SELECT count(*) AS patterns, count(*) FILTER (WHERE best_arm <> 0) AS with_a_better_arm,
	   count(*) FILTER (WHERE confidence > current_setting('ruvector.dag_confidence_threshold', true)::float8)
		   AS "confident (> ruvector.dag_confidence_threshold)"
  FROM ndag_patterns;
