-- Fast statements are recorded less often once their latency is known;
-- recorded statements are timed node by node only at the timing sample rate.
CREATE TABLE samp (a int PRIMARY KEY, b int);
INSERT INTO samp SELECT g, g FROM generate_series(1, 100) g;
SELECT ruvector_enable_neural_dag('samp');
SET ruvector.dag_sample_rate = 1.0;
SET ruvector.dag_fast_query_ms = 1000;		-- everything here counts as fast
SET ruvector.dag_fast_sample_rate = 0;		-- and is then never recorded

SELECT (ruvector_dag_status()->'counters'->>'sampled')::bigint AS before \gset
-- twelve top-level executions of one fast statement: the first eight are
-- recorded, then its mean latency is known to be under the threshold
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT (ruvector_dag_status()->'counters'->>'sampled')::bigint - :before AS sampled_fast;

-- with the threshold at 0 every execution is recorded again
SET ruvector.dag_fast_query_ms = 0;
SELECT (ruvector_dag_status()->'counters'->>'sampled')::bigint AS before \gset
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT b FROM samp WHERE a = 1 \g /dev/null
SELECT (ruvector_dag_status()->'counters'->>'sampled')::bigint - :before AS sampled_all;

-- a slow statement keeps being recorded whatever its history
SET ruvector.dag_fast_query_ms = 0.000001;
SELECT (ruvector_dag_status()->'counters'->>'sampled')::bigint AS before \gset
SELECT count(*) FROM samp s1, samp s2 \g /dev/null
SELECT count(*) FROM samp s1, samp s2 \g /dev/null
SELECT count(*) FROM samp s1, samp s2 \g /dev/null
SELECT count(*) FROM samp s1, samp s2 \g /dev/null
SELECT count(*) FROM samp s1, samp s2 \g /dev/null
SELECT count(*) FROM samp s1, samp s2 \g /dev/null
SELECT count(*) FROM samp s1, samp s2 \g /dev/null
SELECT count(*) FROM samp s1, samp s2 \g /dev/null
SELECT count(*) FROM samp s1, samp s2 \g /dev/null
SELECT count(*) FROM samp s1, samp s2 \g /dev/null
SELECT (ruvector_dag_status()->'counters'->>'sampled')::bigint - :before AS sampled_slow;

-- recorded executions count rows per node; only the fraction
-- ruvector.dag_timing_sample_rate is timed node by node, the others have
-- an unknown (NULL) self time, never 0 ms
SET ruvector.dag_fast_query_ms = 0;
SET ruvector.dag_timing_sample_rate = 0;
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT coalesce(max(traj_id), 0) AS last_traj FROM ndag_trajectories \gset
SELECT count(*) FROM samp WHERE b > 10 \g /dev/null
SELECT count(*) FROM samp WHERE b > 10 \g /dev/null
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT t.n, a.node_id, a.node_type, a.actual_rows, a.loops, a.self_ms
FROM (SELECT traj_id, row_number() OVER (ORDER BY traj_id) AS n
	  FROM ndag_trajectories WHERE traj_id > :last_traj) t
	 JOIN ndag_attention a USING (traj_id)
ORDER BY t.n, a.node_id;

-- at rate 1 every recording has its nodes' self times
SET ruvector.dag_timing_sample_rate = 1;
SELECT coalesce(max(traj_id), 0) AS last_traj FROM ndag_trajectories \gset
SELECT count(*) FROM samp WHERE b > 10 \g /dev/null
SELECT count(*) FROM samp WHERE b > 10 \g /dev/null
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT t.n, a.node_id, a.node_type, a.actual_rows, a.loops,
	   a.self_ms >= 0 AS self_ms_measured
FROM (SELECT traj_id, row_number() OVER (ORDER BY traj_id) AS n
	  FROM ndag_trajectories WHERE traj_id > :last_traj) t
	 JOIN ndag_attention a USING (traj_id)
ORDER BY t.n, a.node_id;

-- an execution EXPLAIN ANALYZE times anyway keeps its node times whatever
-- the rate; one it runs without timing stays untimed
SET ruvector.dag_timing_sample_rate = 0;
SELECT coalesce(max(traj_id), 0) AS last_traj FROM ndag_trajectories \gset
EXPLAIN (ANALYZE, COSTS OFF) SELECT count(*) FROM samp WHERE b > 10 \g /dev/null
SET ruvector.dag_timing_sample_rate = 1;
EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) SELECT count(*) FROM samp WHERE b > 10 \g /dev/null
SELECT ruvector_dag_flush() >= 0 AS flushed;
SELECT t.n, a.node_id, a.node_type, a.actual_rows, a.self_ms >= 0 AS self_ms_measured
FROM (SELECT traj_id, row_number() OVER (ORDER BY traj_id) AS n
	  FROM ndag_trajectories WHERE traj_id > :last_traj) t
	 JOIN ndag_attention a USING (traj_id)
ORDER BY t.n, a.node_id;

SELECT ruvector_disable_neural_dag('samp');
DROP TABLE samp;
RESET ALL;
