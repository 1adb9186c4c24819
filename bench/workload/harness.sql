-- Timing helpers of bench/workload.sh and scripts/demo.sh: the query shapes
-- of a workload, the arms to try, and a function that runs a statement a
-- number of times under given planner settings and returns its latencies.
CREATE TABLE IF NOT EXISTS bench_shape (
	workload	text NOT NULL,
	shape		text NOT NULL,
	what		text NOT NULL,
	query		text NOT NULL,
	query_id	bigint,				-- pg_stat_statements.queryid, set by bench_set_query_ids()
	PRIMARY KEY (workload, shape)
);

CREATE TABLE IF NOT EXISTS bench_result (
	phase		text NOT NULL,		-- stock, oracle, learn, apply
	round		int NOT NULL,
	workload	text NOT NULL,
	shape		text NOT NULL,
	arm			text NOT NULL,		-- arm name for the oracle, '' otherwise
	ms			double precision[] NOT NULL
);

-- when each phase session started (to attribute trajectories to phases)
CREATE TABLE IF NOT EXISTS bench_phase (
	phase		text NOT NULL,
	round		int NOT NULL,
	started_at	timestamptz NOT NULL
);

-- median planning time per shape and ruvector.dag_mode
CREATE TABLE IF NOT EXISTS bench_plan (
	workload	text NOT NULL,
	shape		text NOT NULL,
	mode		text NOT NULL,
	ms			double precision NOT NULL
);

/*
 * bench_run: run q reps times with the planner settings "name=value, ..."
 * applied for the current transaction only, and return the latency of each
 * execution (planning included) in milliseconds, as a client sees it.
 */
CREATE OR REPLACE FUNCTION bench_run(q text, settings text, reps int)
RETURNS double precision[]
LANGUAGE plpgsql AS $$
DECLARE
	kv		text;
	t0		timestamptz;
	result	double precision[] := '{}';
BEGIN
	FOREACH kv IN ARRAY coalesce(regexp_split_to_array(nullif(trim(settings), ''), '\s*,\s*'), '{}')
	LOOP
		PERFORM set_config(trim(split_part(kv, '=', 1)), trim(split_part(kv, '=', 2)), true);
	END LOOP;
	FOR i IN 1..reps LOOP
		t0 := clock_timestamp();
		EXECUTE q;
		result := result || 1000 * extract(epoch FROM clock_timestamp() - t0)::double precision;
	END LOOP;
	RETURN result;
END
$$;

/* bench_median: median of an array of latencies */
CREATE OR REPLACE FUNCTION bench_median(v double precision[])
RETURNS double precision
LANGUAGE sql IMMUTABLE AS $$
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY x) FROM unnest(v) x
$$;

/* the median latency per phase, round, shape and arm over all its executions */
CREATE OR REPLACE VIEW bench_med AS
SELECT phase, round, workload, shape, arm,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY x) AS ms, count(*) AS executions
  FROM bench_result, unnest(ms) x
 GROUP BY phase, round, workload, shape, arm;

/*
 * bench_plan_ms: median planning time EXPLAIN reports for q over n
 * plannings (the statement is not executed).
 */
CREATE OR REPLACE FUNCTION bench_plan_ms(q text, n int)
RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
	j		json;
	t		double precision[] := '{}';
BEGIN
	FOR i IN 1..n LOOP
		EXECUTE 'EXPLAIN (FORMAT JSON, SUMMARY) ' || q INTO j;
		t := t || (j->0->>'Planning Time')::double precision;
	END LOOP;
	RETURN bench_median(t);
END
$$;

/*
 * bench_set_query_ids: the queryId of every shape of a workload, as EXPLAIN
 * VERBOSE reports it (the id pg_stat_statements and ndag_trajectories use).
 */
CREATE OR REPLACE FUNCTION bench_set_query_ids(w text)
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	s		record;
	j		json;
BEGIN
	FOR s IN SELECT shape, query FROM bench_shape WHERE workload = w LOOP
		EXECUTE 'EXPLAIN (VERBOSE, FORMAT JSON) ' || s.query INTO j;
		UPDATE bench_shape SET query_id = (j->0->>'Query Identifier')::bigint
		 WHERE workload = w AND shape = s.shape;
	END LOOP;
END
$$;

/*
 * bench_enable_tables: enable every table of the database but the
 * harness's own for learning, and note the shapes' queryIds.
 */
CREATE OR REPLACE FUNCTION bench_enable_tables(w text)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM ruvector_enable_neural_dag(c.oid)
	   FROM pg_class c
	  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
		AND c.relname NOT LIKE 'bench\_%';
	PERFORM bench_set_query_ids(w);
END
$$;

/*
 * bench_misestimate: run q under EXPLAIN ANALYZE and return its plan's worst
 * row estimate (the node whose estimated and actual rows per loop differ
 * most) and the join methods of the plan.
 */
CREATE OR REPLACE FUNCTION bench_misestimate(q text, OUT node text, OUT est_rows double precision,
											 OUT actual_rows double precision, OUT joins text)
LANGUAGE plpgsql AS $$
DECLARE
	j		jsonb;
BEGIN
	EXECUTE 'EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ' || q INTO j;
	SELECT n->>'Node Type' || coalesce(' on ' || (n->>'Relation Name'), ''),
		   (n->>'Plan Rows')::float8, (n->>'Actual Rows')::float8
	  INTO node, est_rows, actual_rows
	  FROM jsonb_path_query(j, 'strict $.**') n
	 WHERE jsonb_typeof(n) = 'object' AND n ? 'Plan Rows'
	 ORDER BY abs(ln(greatest((n->>'Actual Rows')::float8, 1) / greatest((n->>'Plan Rows')::float8, 1))) DESC
	 LIMIT 1;
	SELECT string_agg(t || ' x' || c, ', ' ORDER BY t) INTO joins
	  FROM (SELECT n->>'Node Type' AS t, count(*) AS c
			  FROM jsonb_path_query(j, 'strict $.**') n
			 WHERE jsonb_typeof(n) = 'object'
			   AND n->>'Node Type' IN ('Nested Loop', 'Hash Join', 'Merge Join')
			 GROUP BY 1) x;
END
$$;
