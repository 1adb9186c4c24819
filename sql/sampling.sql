-- Fast statements are recorded less often once their latency is known.
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

SELECT ruvector_disable_neural_dag('samp');
DROP TABLE samp;
RESET ALL;
