-- Learning: a workload of a few query shapes on an enabled table becomes
-- patterns (ndag_patterns, ruvector_dag_patterns), a trained cost model
-- (ndag_models) and an HDC snapshot; a second cycle without new data
-- changes nothing.
CREATE EXTENSION IF NOT EXISTS neural_dag;
SET ruvector.dag_mode = 'observe';
SET ruvector.dag_sample_rate = 1.0;

-- learning GUCs and their bounds
SHOW ruvector.dag_pattern_clusters;
SHOW ruvector.dag_background_interval;
SET ruvector.dag_micro_lora_rank = 3;
SET ruvector.dag_quality_threshold = 1.5;

-- consume what earlier tests recorded in this database
SELECT (ruvector_dag_learn()->>'trajectories')::int >= 0 AS earlier_learned;

CREATE TABLE learn_orders AS
	SELECT g AS id, g % 10 AS k, (g * 7) % 100 AS amount
	FROM generate_series(1, 5000) g;
CREATE INDEX learn_orders_id ON learn_orders (id);
CREATE TABLE learn_other AS SELECT g AS id FROM generate_series(1, 50) g;
ANALYZE learn_orders, learn_other;
SELECT ruvector_enable_neural_dag('learn_orders');

-- four shapes, 60 executions each
DO $$
BEGIN
	FOR i IN 1..60 LOOP
		PERFORM count(*) FROM learn_orders;
		PERFORM * FROM learn_orders WHERE id = i;
		PERFORM k, sum(amount) FROM learn_orders GROUP BY k;
		PERFORM count(*) FROM learn_orders a JOIN learn_orders b ON a.id = b.id
			WHERE a.k = i % 10;
	END LOOP;
END
$$;
-- unrelated statements are not recorded
SELECT count(*) FROM learn_other;

-- every trajectory trains but those timed node by node (their latency is
-- slowed by the clock reads)
SELECT ruvector_dag_learn() AS r \gset
SELECT (:'r'::jsonb->>'trajectories')::int >= 240 AS all_recorded,
	   (:'r'::jsonb->>'clusters')::int >= 1 AS clustered,
	   (:'r'::jsonb->>'patterns_created')::int >= 1 AS created,
	   (:'r'::jsonb->>'trained')::int + (:'r'::jsonb->>'validated')::int +
	   (:'r'::jsonb->>'heldout')::int >= 240 -
	   (SELECT count(DISTINCT traj_id) FROM ndag_attention
		WHERE self_ms IS NOT NULL
		  AND dbid = (SELECT oid FROM pg_database
					  WHERE datname = current_database())) AS trained,
	   (:'r'::jsonb->>'loss_after')::float8 < (:'r'::jsonb->>'loss_before')::float8 AS loss_down,
	   (:'r'::jsonb->>'snapshot_id') IS NOT NULL AS snapshot;
-- the median errors are reported (their ratio depends on the timings)
SELECT (:'r'::jsonb->>'median_error_before')::float8 >= 0 AS error_before,
	   (:'r'::jsonb->>'median_error_after')::float8 >= 0 AS error_after;

-- patterns of the table: members recorded, default arm (the only one run)
SELECT count(*) >= 1 AS has_patterns,
	   bool_and(support > 0) AS supported,
	   bool_and(best_arm = 0) AS default_arm,
	   bool_and(confidence BETWEEN 0 AND 1) AS confidence_ok,
	   bool_and(array_length(centroid, 1) = 64) AS centroids,
	   bool_and(arm_stats[1] = 0 AND arm_stats[2] > 0) AS arm0_stats
FROM ruvector_dag_patterns('learn_orders');
SELECT count(*) AS other_patterns FROM ruvector_dag_patterns('learn_other');
SELECT count(*) = (SELECT count(*) FROM ndag_patterns
				   WHERE dbid = (SELECT oid FROM pg_database
								 WHERE datname = current_database()))
	   AS all_listed
FROM ruvector_dag_patterns();
SELECT name, parameters > 0 AS has_parameters, updates > 0 AS updated,
	   trained_at IS NOT NULL AS trained
FROM ndag_models
WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY name;

-- pin one pattern: a second cycle with no new data keeps everything
CREATE TEMP TABLE before AS
	SELECT pattern_id, support, best_arm, centroid FROM ruvector_dag_patterns();
UPDATE ndag_patterns SET pinned = true
WHERE pattern_id = (SELECT min(pattern_id) FROM before);
SELECT ruvector_dag_learn() AS r2 \gset
SELECT (:'r2'::jsonb->>'trajectories')::int AS new_trajectories,
	   (:'r2'::jsonb->>'patterns_created')::int AS created_again;
SELECT count(*) AS changed
FROM ruvector_dag_patterns() p FULL JOIN before b USING (pattern_id)
WHERE p.support IS DISTINCT FROM b.support
   OR p.best_arm IS DISTINCT FROM b.best_arm
   OR p.centroid IS DISTINCT FROM b.centroid;
SELECT pinned FROM ruvector_dag_patterns()
WHERE pattern_id = (SELECT min(pattern_id) FROM before);

-- more of the same shapes: merged into the existing patterns, pin kept
DO $$
BEGIN
	FOR i IN 1..20 LOOP
		PERFORM count(*) FROM learn_orders;
		PERFORM k, sum(amount) FROM learn_orders GROUP BY k;
	END LOOP;
END
$$;
SELECT ruvector_dag_learn() AS r3 \gset
SELECT (:'r3'::jsonb->>'trajectories')::int >= 40 AS learned_new,
	   (:'r3'::jsonb->>'patterns_merged')::int >= 1 AS merged;
SELECT pinned FROM ruvector_dag_patterns()
WHERE pattern_id = (SELECT min(pattern_id) FROM before);
SELECT sum(support) > (SELECT sum(support) FROM before) AS support_grew
FROM ruvector_dag_patterns('learn_orders');

-- HDC
SELECT length(ruvector_dag_hdc_snapshot()) AS snapshot_bytes;
SELECT ruvector_dag_hdc_similarity(ruvector_dag_hdc_snapshot(),
								   ruvector_dag_hdc_snapshot()) AS self_similarity;
SELECT ruvector_dag_hdc_similarity(ruvector_dag_hdc_snapshot(), NULL);
SELECT ruvector_dag_hdc_similarity(ruvector_dag_hdc_snapshot(), '\x00'::bytea);

-- only administrators run a cycle
CREATE ROLE learn_nobody;
SET ROLE learn_nobody;
SELECT ruvector_dag_learn();
RESET ROLE;
DROP ROLE learn_nobody;

SELECT ruvector_disable_neural_dag('learn_orders');
DROP TABLE learn_orders, learn_other, before;
