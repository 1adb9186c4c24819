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

/* bench_setting_pairs: the settings "name=value, ..." (an arm's) as rows */
CREATE OR REPLACE FUNCTION bench_setting_pairs(settings text)
RETURNS TABLE (name text, value text)
LANGUAGE sql IMMUTABLE AS $$
	SELECT trim(split_part(kv, '=', 1)), trim(split_part(kv, '=', 2))
	  FROM unnest(coalesce(regexp_split_to_array(nullif(trim(settings), ''), '\s*,\s*'),
						   '{}')) kv
$$;

/*
 * bench_apply_settings: apply the planner settings "name=value, ..." (an
 * arm's) for the current transaction only.
 */
CREATE OR REPLACE FUNCTION bench_apply_settings(settings text)
RETURNS void
LANGUAGE sql AS $$
	SELECT count(set_config(p.name, p.value, true)) FROM bench_setting_pairs(settings) p;
$$;

/*
 * bench_run: run q reps times with the planner settings "name=value, ..."
 * applied for the current transaction only, and return the latency of each
 * execution (planning included) in milliseconds, as a client sees it.
 */
CREATE OR REPLACE FUNCTION bench_run(q text, settings text, reps int)
RETURNS double precision[]
LANGUAGE plpgsql AS $$
DECLARE
	t0		timestamptz;
	result	double precision[] := '{}';
BEGIN
	PERFORM bench_apply_settings(settings);
	FOR i IN 1..reps LOOP
		t0 := clock_timestamp();
		EXECUTE q;
		result := result || 1000 * extract(epoch FROM clock_timestamp() - t0)::double precision;
	END LOOP;
	RETURN result;
END
$$;

/*
 * bench_plan_text: the plan of q under the planner settings "name=value,
 * ..." as EXPLAIN (COSTS OFF) prints it (q is planned, not executed); the
 * settings are put back as they were afterwards.
 */
CREATE OR REPLACE FUNCTION bench_plan_text(q text, settings text)
RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
	saved	text;
	line	text;
	plan	text := '';
BEGIN
	SELECT string_agg(p.name || '=' || current_setting(p.name), ', ') INTO saved
	  FROM bench_setting_pairs(settings) p;
	PERFORM bench_apply_settings(settings);
	FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
		plan := plan || line || E'\n';
	END LOOP;
	PERFORM bench_apply_settings(saved);
	RETURN plan;
END
$$;

-- each shape's plan under each enabled arm (bench_record_arm_plans)
CREATE TABLE IF NOT EXISTS bench_arm_plan (
	workload	text NOT NULL,
	shape		text NOT NULL,
	arm			text NOT NULL,
	plan		text NOT NULL,
	PRIMARY KEY (workload, shape, arm)
);

/*
 * bench_record_arm_plans: the plan of every shape of workload w under every
 * enabled arm, into bench_arm_plan (run with ruvector.dag_mode = off).
 */
CREATE OR REPLACE FUNCTION bench_record_arm_plans(w text)
RETURNS void
LANGUAGE sql AS $$
	DELETE FROM bench_arm_plan WHERE workload = w;
	INSERT INTO bench_arm_plan
	SELECT s.workload, s.shape, a.name, bench_plan_text(s.query, a.settings)
	  FROM bench_shape s, ndag_arms a
	 WHERE s.workload = w AND a.enabled;
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
 * The oracle phase's medians that can stand for the oracle: the default's,
 * and those of the arms whose plan differs from the default's (an arm that
 * plans a statement as the default does cannot be faster than it: the
 * least of several medians of one plan is only its noise).
 */
CREATE OR REPLACE VIEW bench_oracle AS
SELECT m.*
  FROM bench_med m
 WHERE m.phase = 'oracle'
   AND (m.arm = 'default' OR NOT EXISTS (
		SELECT 1 FROM bench_arm_plan a JOIN bench_arm_plan d USING (workload, shape)
		 WHERE a.workload = m.workload AND a.shape = m.shape AND a.arm = m.arm
		   AND d.arm = 'default' AND a.plan = d.plan));

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

-- every single execution of the learn passes and rechecks, with its start
-- (to find the trajectory, and so the arm, of an execution)
CREATE TABLE IF NOT EXISTS bench_exec (
	phase		text NOT NULL,		-- learn, pass_stock, recheck_stock, recheck_apply
	round		int NOT NULL,
	workload	text NOT NULL,
	shape		text NOT NULL,
	started_at	timestamptz NOT NULL,
	ms			double precision NOT NULL,
	timed_out	bool NOT NULL		-- ms is then only a lower bound
);

-- ruvector_dag_status() counters whose name starts with shadow_, read
-- before ('start') and after ('end') a learn pass
CREATE TABLE IF NOT EXISTS bench_counters (
	round		int NOT NULL,
	workload	text NOT NULL,
	at			text NOT NULL,
	counters	jsonb NOT NULL
);

/*
 * bench_exec_once: run shape s of workload w once in the current session's
 * settings, with the planner settings "name=value, ..." (an arm's) applied
 * for this statement only, as bench_run does, and keep its latency both in
 * bench_exec and (one execution) in bench_result under phase p, round r.
 * A statement cancelled by statement_timeout is kept too, flagged
 * timed_out, with the time it ran until then.
 */
DROP FUNCTION IF EXISTS bench_exec_once(text, int, text, text);
CREATE OR REPLACE FUNCTION bench_exec_once(p text, r int, w text, s text, settings text DEFAULT '')
RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	q		text;
	t0		timestamptz;
	ms		double precision;
	late	bool := false;
BEGIN
	SELECT query INTO STRICT q FROM bench_shape WHERE workload = w AND shape = s;
	PERFORM bench_apply_settings(settings);
	t0 := clock_timestamp();
	BEGIN
		EXECUTE q;
	EXCEPTION WHEN query_canceled THEN
		late := true;
	END;
	ms := 1000 * extract(epoch FROM clock_timestamp() - t0)::double precision;
	INSERT INTO bench_exec VALUES (p, r, w, s, t0, ms, late);
	IF NOT late THEN
		INSERT INTO bench_result VALUES (p, r, w, s, '', ARRAY[ms]);
	END IF;
END
$$;

/*
 * bench_shadow_counters: the status counters named shadow_* and those of the
 * finals between proven arms in the users' executions (final_runs,
 * finals_won, finals_lost), NULL if none
 */
CREATE OR REPLACE FUNCTION bench_shadow_counters()
RETURNS jsonb
LANGUAGE sql AS $$
	SELECT jsonb_object_agg(key, value)
	  FROM jsonb_each(ruvector_dag_status()->'counters')
	 WHERE key LIKE 'shadow\_%' OR key LIKE 'final%'
$$;

/*
 * bench_pass_stock_median: per workload, learn pass and shape, the median of
 * the shape's stock executions before learning and in the passes so far
 * (the stock median a learn-mode execution of that pass is held against).
 */
CREATE OR REPLACE VIEW bench_pass_stock_median AS
SELECT p.workload, p.round, e.shape,
	   percentile_cont(0.5) WITHIN GROUP (ORDER BY e.ms) AS ms
  FROM (SELECT DISTINCT workload, round FROM bench_exec WHERE phase = 'learn') p
  JOIN (SELECT workload, shape, 0 AS round, x AS ms
		  FROM bench_result, unnest(ms) x WHERE phase = 'baseline'
		UNION ALL
		SELECT workload, shape, round, ms FROM bench_exec
		 WHERE phase = 'pass_stock' AND NOT timed_out) e
	ON e.workload = p.workload AND e.round <= p.round
 GROUP BY 1, 2, 3;

/*
 * bench_pass: one row per workload and learn pass: the users' total (every
 * learn-mode execution of the pass) and the stock total measured in the same
 * pass taking turns with it; the worst single learn-mode execution over its
 * shape's stock median (the stock executions before learning and of the
 * passes so far), with the arm and decision of its trajectory (recorded
 * during that execution), and the worst stock execution of the pass over
 * the same medians (what the machine's own noise gives); executions cut by the timeout (their time counts
 * as a lower bound); and how much each shadow_* status counter grew over the
 * pass and its learning cycle, the gauges among them (what is queued, the
 * shadow runs' load, the account, the CPUs) at the pass's end as 'now'
 * ('n/a' when the server has none).
 */
CREATE OR REPLACE VIEW bench_pass AS
WITH tot AS (
	SELECT workload, round,
		   sum(ms) FILTER (WHERE phase = 'learn') AS users_ms,
		   sum(ms) FILTER (WHERE phase = 'pass_stock') AS stock_ms,
		   count(*) FILTER (WHERE timed_out) AS timed_out
	  FROM bench_exec WHERE phase IN ('learn', 'pass_stock')
	 GROUP BY 1, 2
),
worst AS (
	SELECT DISTINCT ON (e.workload, e.round) e.workload, e.round, e.shape, e.started_at, e.ms,
		   e.ms / nullif(m.ms, 0) AS ratio
	  FROM bench_exec e JOIN bench_pass_stock_median m USING (workload, round, shape)
	 WHERE e.phase = 'learn'
	 ORDER BY e.workload, e.round, e.ms / nullif(m.ms, 0) DESC NULLS LAST
),
worst_stock AS (
	SELECT e.workload, e.round, max(e.ms / nullif(m.ms, 0)) AS ratio
	  FROM bench_exec e JOIN bench_pass_stock_median m USING (workload, round, shape)
	 WHERE e.phase = 'pass_stock' AND NOT e.timed_out
	 GROUP BY 1, 2
),
-- each learn-mode execution with the stock run of the same statement taken
-- right before or after it (the k-th of each in a pass): the worst ratio
pair AS (
	SELECT DISTINCT ON (workload, round) workload, round, shape AS pair_shape,
		   l.ms / nullif(st.ms, 0) AS users_over_stock
	  FROM (SELECT *, row_number() OVER (PARTITION BY workload, round, shape ORDER BY started_at) AS k
			  FROM bench_exec WHERE phase = 'learn' AND NOT timed_out) l
	  JOIN (SELECT *, row_number() OVER (PARTITION BY workload, round, shape ORDER BY started_at) AS k
			  FROM bench_exec WHERE phase = 'pass_stock' AND NOT timed_out) st
	 USING (workload, round, shape, k)
	 ORDER BY workload, round, l.ms / nullif(st.ms, 0) DESC NULLS LAST
),
shadow AS (
	SELECT s.workload, s.round,
		   (SELECT string_agg(CASE WHEN k.key = ANY (gauges) THEN
									k.key || ' now ' || trim_scale(round(k.value::text::numeric, 1))
								ELSE
									k.key || ' ' || trim_scale(round(k.value::text::numeric -
										CASE WHEN jsonb_typeof(s.counters->k.key) = 'number'
											 THEN (s.counters->>k.key)::numeric ELSE 0 END, 1))
								END, ', ' ORDER BY k.key)
			  FROM jsonb_each(f.counters) k,
				   (SELECT ARRAY['shadow_queued', 'shadow_own_load_pct', 'shadow_budget_ms_available',
								 'shadow_cpus'] AS gauges) g
			 WHERE jsonb_typeof(k.value) = 'number') AS grew
	  FROM bench_counters s
	  JOIN bench_counters f ON f.workload = s.workload AND f.round = s.round AND f.at = 'end'
	 WHERE s.at = 'start'
)
SELECT t.workload, t.round, t.users_ms, t.stock_ms, t.users_ms / nullif(t.stock_ms, 0) AS users_vs_stock,
	   w.ratio AS worst_ratio, w.shape AS worst_shape, ws.ratio AS worst_stock_ratio,
	   pr.users_over_stock AS worst_pair_ratio, pr.pair_shape AS worst_pair_shape,
	   (SELECT coalesce(a.name, tr.arm::text) || ' ' || coalesce(tr.decision, '?')
		  FROM ndag_trajectories tr
		  JOIN bench_shape b ON b.workload = w.workload AND b.shape = w.shape AND b.query_id = tr.query_id
		  LEFT JOIN ndag_arms a ON a.arm_id = tr.arm
		 WHERE tr.recorded_at BETWEEN w.started_at AND w.started_at + (w.ms + 1000) * interval '1 ms'
		 ORDER BY tr.recorded_at LIMIT 1) AS worst_arm,
	   t.timed_out, coalesce(nullif(sh.grew, ''), 'n/a') AS shadow
  FROM tot t
  LEFT JOIN worst w USING (workload, round)
  LEFT JOIN worst_stock ws USING (workload, round)
  LEFT JOIN pair pr USING (workload, round)
  LEFT JOIN shadow sh USING (workload, round);

/*
 * bench_decision_state: per shape of a workload, what apply mode decides
 * for it now (EXPLAIN, which explores nothing: its parameter class,
 * decision and arm) and that class's row of ndag_queries (decision, best
 * arm, runs per arm, demoted arms), so that a statement left on the
 * default plan can be told apart: never tried, tried and not proven,
 * proven for another class, demoted.
 */
CREATE OR REPLACE FUNCTION bench_decision_state(w text)
RETURNS TABLE (shape text, class text, decision text, arm text,
			   memory text, runs_per_arm integer[], demoted integer[])
LANGUAGE plpgsql AS $$
DECLARE
	s		record;
	j		json;
BEGIN
	SET LOCAL ruvector.dag_mode = apply;
	FOR s IN SELECT b.shape, b.query, b.query_id FROM bench_shape b
			  WHERE b.workload = w ORDER BY b.shape LOOP
		EXECUTE 'EXPLAIN (FORMAT JSON) ' || s.query INTO j;
		shape := s.shape;
		class := j->0->'Neural DAG'->>'Parameter Class';
		decision := j->0->'Neural DAG'->>'Decision';
		arm := j->0->'Neural DAG'->>'Arm';
		SELECT q.decision || ' (' || q.decision_source || '), best ' ||
			   coalesce((SELECT a.name FROM ndag_arms a WHERE a.arm_id = q.best_arm), '-'),
			   q.runs_per_arm, q.demoted_arms
		  INTO memory, runs_per_arm, demoted
		  FROM ndag_queries q
		 WHERE q.query_id = s.query_id
		   AND lpad(to_hex(q.class), 16, '0') = bench_decision_state.class;
		RETURN NEXT;
		memory := NULL; runs_per_arm := NULL; demoted := NULL;
	END LOOP;
END
$$;
