-- Per shape of a workload and per built-in arm: the arm plan's estimated
-- total cost over the default plan's and its latency over the default's
-- (each the fastest of two executions after one unmeasured execution of
-- the default, at most 4 s each; a timeout counts as 4 s), then, for caps
-- of ruvector.dag_explore_max_cost_ratio, how many faster arms (1.2x) a
-- cap would never explore and how many arms over 5x slower it would let
-- run.  Plans are the planner's own (ruvector.dag_mode = off).
SET ruvector.dag_mode = off;
CREATE TEMP TABLE cr (shape text, arm text, cost_ratio float8, ms float8, default_ms float8);

-- cr_set_arm(settings): the session's planner settings are the arm's
CREATE FUNCTION pg_temp.cr_set_arm(settings text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
	kv text;
BEGIN
	RESET ALL;
	SET ruvector.dag_mode = off;
	SET statement_timeout = '4s';
	FOREACH kv IN ARRAY coalesce(string_to_array(nullif(settings, ''), ','), '{}') LOOP
		EXECUTE format('SET %s = %s', trim(split_part(kv, '=', 1)), trim(split_part(kv, '=', 2)));
	END LOOP;
END
$$;

-- cr_ms(q): the fastest of two executions of q, in ms
CREATE FUNCTION pg_temp.cr_ms(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	t0 timestamptz;
	best float8 := 'Infinity';
BEGIN
	FOR i IN 1..2 LOOP
		BEGIN
			t0 := clock_timestamp();
			EXECUTE q;
			best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
		EXCEPTION WHEN query_canceled THEN
			RETURN least(best, 4000);
		END;
	END LOOP;
	RETURN best;
END
$$;

-- cr_cost(q): the estimated total cost of q's plan under the session's settings
CREATE FUNCTION pg_temp.cr_cost(q text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
	j json;
BEGIN
	EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;
	RETURN (j->0->'Plan'->>'Total Cost')::float8;
END
$$;

DO $$
DECLARE
	s record;
	a record;
	default_cost float8;
	default_ms float8;
BEGIN
	FOR s IN SELECT * FROM bench_shape WHERE workload = current_database() ORDER BY shape LOOP
		PERFORM pg_temp.cr_set_arm('');
		default_cost := pg_temp.cr_cost(s.query);
		PERFORM pg_temp.cr_ms(s.query);		/* warm the cache */
		default_ms := pg_temp.cr_ms(s.query);
		FOR a IN SELECT * FROM ndag_arms WHERE builtin AND arm_id > 0 ORDER BY arm_id LOOP
			PERFORM pg_temp.cr_set_arm(a.settings);
			INSERT INTO cr VALUES (s.shape, a.name, pg_temp.cr_cost(s.query) / default_cost,
								   pg_temp.cr_ms(s.query), default_ms);
		END LOOP;
	END LOOP;
	PERFORM pg_temp.cr_set_arm('');
END
$$;

\pset footer off
SELECT shape, arm, round(cost_ratio::numeric, 2) AS cost_ratio,
	   round((ms / default_ms)::numeric, 2) AS time_ratio, round(default_ms::numeric, 1) AS default_ms
  FROM cr WHERE cost_ratio NOT BETWEEN 0.99 AND 1.01 OR ms / default_ms NOT BETWEEN 0.8 AND 1.25
 ORDER BY shape, arm;
SELECT cap, count(*) FILTER (WHERE cost_ratio > cap AND ms * 1.2 < default_ms) AS faster_never_explored,
	   count(*) FILTER (WHERE cost_ratio <= cap AND ms > 5 * default_ms) AS over_5x_slower_explored,
	   count(*) FILTER (WHERE cost_ratio > cap AND ms > 5 * default_ms) AS over_5x_slower_capped
  FROM cr, unnest(ARRAY[2, 5, 10, 30, 100, 1e15]::float8[]) cap
 GROUP BY cap ORDER BY cap;
