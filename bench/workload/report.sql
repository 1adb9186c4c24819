-- The figures of one workload (psql variable w) from bench_result,
-- bench_plan and ndag_trajectories: per shape, then the totals.  stock,
-- apply, apply_norec and oracle_arm come from the paired runs (taking
-- turns).  The oracle phase chooses each shape's best arm (the default
-- included; an arm that plans the shape as the default does is not a
-- candidate: bench_oracle); the oracle's latency of a shape is that arm's latency in the
-- paired runs, or the stock one if that is lower (the oracle may keep the
-- default): the least of the arms' medians in the oracle phase, a few
-- executions each, is lower than the chosen arm's real latency, and the
-- load differs from phase to phase.  That phase's own figure (its best
-- arm's latency over the default's, times stock) is shown beside it.
\pset footer off
\pset border 1
CREATE TEMP VIEW per_shape AS
WITH m AS (
	SELECT phase, round, shape, arm, ms FROM bench_med WHERE workload = :'w'
),
stock AS (SELECT shape, ms FROM m WHERE phase = 'stock'),
best AS (
	SELECT DISTINCT ON (shape) shape, arm, ms,
		   ms / nullif((SELECT d.ms FROM m d WHERE d.phase = 'oracle' AND d.shape = o.shape
						   AND d.arm = 'default'), 0) AS ratio
	  FROM bench_oracle o WHERE workload = :'w'
	 ORDER BY shape, ms
),
learn AS (SELECT shape, round, ms FROM m WHERE phase = 'learn'),
apply AS (SELECT shape, ms FROM m WHERE phase = 'apply'),
norec AS (SELECT shape, ms FROM m WHERE phase = 'apply_norec'),
oracle_arm AS (SELECT shape, ms FROM m WHERE phase = 'oracle_arm'),
plan AS (
	SELECT shape, max(ms) FILTER (WHERE mode = 'off') AS off_ms,
		   max(ms) FILTER (WHERE mode = 'apply') AS apply_ms
	  FROM bench_plan WHERE workload = :'w' GROUP BY shape
)
SELECT s.shape, s.what, st.ms AS stock_ms, b.arm AS best_arm,
	   CASE WHEN b.arm = 'default' THEN st.ms ELSE least(st.ms, o.ms) END AS oracle_ms,
	   st.ms * b.ratio AS oracle_selection_ms,
	   (SELECT l.ms FROM learn l WHERE l.shape = s.shape ORDER BY l.round LIMIT 1) AS learn_first_ms,
	   (SELECT l.ms FROM learn l WHERE l.shape = s.shape ORDER BY l.round DESC LIMIT 1) AS learn_last_ms,
	   a.ms AS apply_ms, nr.ms AS norec_ms, p.off_ms AS plan_off_ms, p.apply_ms AS plan_apply_ms
  FROM bench_shape s
  LEFT JOIN stock st USING (shape)
  LEFT JOIN best b USING (shape)
  LEFT JOIN apply a USING (shape)
  LEFT JOIN norec nr USING (shape)
  LEFT JOIN oracle_arm o USING (shape)
  LEFT JOIN plan p USING (shape)
 WHERE s.workload = :'w';

\echo
\echo '== per query shape (median ms; stock, apply and apply_norec (apply mode with ruvector.dag_sample_rate = 0,'
\echo '   not recorded) taking turns; best_arm: the oracle phase''s choice; oracle = that arm taking turns with'
\echo '   them, or stock if lower; oracle_sel = stock x best arm / default in the oracle phase; learn_r1 and'
\echo '   learn_last: first and last learn-mode round; a missing figure: failed or timed out)'
SELECT shape, left(what, 44) AS what, round(stock_ms::numeric, 1) AS stock,
	   best_arm, round(oracle_ms::numeric, 1) AS oracle, round(oracle_selection_ms::numeric, 1) AS oracle_sel,
	   round(learn_first_ms::numeric, 1) AS learn_r1, round(learn_last_ms::numeric, 1) AS learn_last,
	   round(apply_ms::numeric, 1) AS apply,
	   round((stock_ms / nullif(apply_ms, 0))::numeric, 2) AS "speed-up",
	   round(norec_ms::numeric, 1) AS apply_norec,
	   round((stock_ms / nullif(norec_ms, 0))::numeric, 2) AS "speed-up norec"
  FROM per_shape ORDER BY shape;

\echo '== arm chosen per shape in apply mode (the trajectory of each recorded apply-mode execution of the paired runs)'
SELECT e.shape, coalesce(a.name, t.arm::text, '-') AS arm, coalesce(t.decision, '-') AS decision,
	   count(*) AS executions
  FROM bench_exec e
  JOIN bench_shape s ON s.workload = e.workload AND s.shape = e.shape
  LEFT JOIN LATERAL (SELECT tr.arm, tr.decision FROM ndag_trajectories tr
					  WHERE tr.query_id = s.query_id
						AND tr.recorded_at BETWEEN e.started_at
							AND e.started_at + (e.ms + 200) * interval '1 ms'
					  ORDER BY tr.recorded_at LIMIT 1) t ON true
  LEFT JOIN ndag_arms a ON a.arm_id = t.arm
 WHERE e.workload = :'w' AND e.phase = 'apply'
 GROUP BY 1, 2, 3 ORDER BY 1, 4 DESC;

CREATE TEMP VIEW recheck AS
WITH m AS (
	SELECT phase, shape, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms
	  FROM bench_exec WHERE workload = :'w' AND NOT timed_out
	   AND phase IN ('recheck_stock', 'recheck_apply')
	 GROUP BY 1, 2
)
SELECT p.shape, p.stock_ms, p.apply_ms, p.apply_ms / p.stock_ms AS paired_ratio,
	   s.ms AS recheck_stock_ms, a.ms AS recheck_apply_ms, a.ms / nullif(s.ms, 0) AS recheck_ratio,
	   (SELECT count(*) FROM bench_exec e WHERE e.workload = :'w' AND e.shape = p.shape
		   AND e.phase = 'recheck_apply' AND e.timed_out) AS timed_out
  FROM per_shape p
  JOIN m a ON a.shape = p.shape AND a.phase = 'recheck_apply'
  LEFT JOIN m s ON s.shape = p.shape AND s.phase = 'recheck_stock';

\echo '== statements over 1.1x stock in the paired runs (apply, recorded), rechecked with more pairs taking turns;'
\echo '   a statement stays a regression when its apply median over the rechecks is over 1.1x the stock one'
SELECT shape, round(stock_ms::numeric, 1) AS stock, round(apply_ms::numeric, 1) AS apply,
	   round(paired_ratio::numeric, 2) AS ratio, round(recheck_stock_ms::numeric, 1) AS recheck_stock,
	   round(recheck_apply_ms::numeric, 1) AS recheck_apply, round(recheck_ratio::numeric, 2) AS recheck_ratio,
	   CASE WHEN recheck_ratio > 1.1 OR timed_out > 0 THEN 'slower' ELSE 'noise' END AS verdict
  FROM recheck ORDER BY shape;

\echo '== totals'
WITH t AS (
	SELECT sum(stock_ms) AS stock, sum(oracle_ms) AS oracle, sum(apply_ms) AS apply,
		   sum(oracle_selection_ms) AS oracle_selection, sum(norec_ms) AS norec, sum(learn_last_ms) AS learn_last,
		   count(*) FILTER (WHERE apply_ms IS NULL OR norec_ms IS NULL OR stock_ms IS NULL) AS missing
	  FROM per_shape
),
worst AS (
	SELECT (SELECT round((apply_ms / stock_ms)::numeric, 2)::text || ' (' || shape || ')' FROM per_shape
			 WHERE apply_ms IS NOT NULL AND stock_ms > 0 ORDER BY apply_ms / stock_ms DESC LIMIT 1) AS apply,
		   (SELECT round((norec_ms / stock_ms)::numeric, 2)::text || ' (' || shape || ')' FROM per_shape
			 WHERE norec_ms IS NOT NULL AND stock_ms > 0 ORDER BY norec_ms / stock_ms DESC LIMIT 1) AS norec
),
rounds AS (
	SELECT round, sum(ms) AS total
	  FROM bench_med WHERE workload = :'w' AND phase = 'learn'
	 GROUP BY round
),
conv AS (
	SELECT min(r.round) AS round FROM rounds r
	 WHERE NOT EXISTS (SELECT 1 FROM rounds q WHERE q.round >= r.round
						  AND q.total > 1.1 * (SELECT min(total) FROM rounds))
),
-- the stock executions before learning, each over its statement's median:
-- the machine's own noise with no learning going on
base_noise AS (
	SELECT shape, max(x) / nullif(percentile_cont(0.5) WITHIN GROUP (ORDER BY x), 0) AS worst
	  FROM bench_result, unnest(ms) x
	 WHERE workload = :'w' AND phase = 'baseline'
	 GROUP BY shape
),
-- the learn passes' executions over 1.5x their statement's stock median
-- (a timed-out one counts as over), learn mode against the stock runs of
-- the same passes (the machine's own noise)
over_goal AS (
	SELECT count(*) FILTER (WHERE e.phase = 'learn' AND (e.timed_out OR e.ms > 1.5 * m.ms)) AS learn_over,
		   count(*) FILTER (WHERE e.phase = 'learn') AS learn_n,
		   count(*) FILTER (WHERE e.phase = 'pass_stock' AND e.ms > 1.5 * m.ms) AS stock_over,
		   count(*) FILTER (WHERE e.phase = 'pass_stock' AND NOT e.timed_out) AS stock_n
	  FROM bench_exec e JOIN bench_pass_stock_median m USING (workload, round, shape)
	 WHERE e.workload = :'w' AND e.phase IN ('learn', 'pass_stock')
),
plan AS (
	SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY plan_apply_ms - plan_off_ms) AS added,
		   percentile_cont(0.5) WITHIN GROUP (ORDER BY plan_off_ms) AS base
	  FROM per_shape
)
SELECT * FROM (VALUES
	('stock PostgreSQL (ruvector.dag_mode = off), total ms', (SELECT round(stock::numeric, 1)::text FROM t)),
	('oracle (best arm per shape taking turns with stock), total ms', (SELECT round(oracle::numeric, 1)::text FROM t)),
	('oracle speed-up vs stock', (SELECT round((stock / oracle)::numeric, 2)::text || 'x' FROM t)),
	('oracle as its own phase measured it (scaled to stock), speed-up',
	 (SELECT round((stock / oracle_selection)::numeric, 2)::text || 'x' FROM t)),
	('fraction of that oracle''s gain, apply',
	 (SELECT round(((stock - apply) / nullif(stock - oracle_selection, 0))::numeric, 2)::text FROM t)),
	('learn mode, last round, total ms', (SELECT round(learn_last::numeric, 1)::text FROM t)),
	('apply mode, total ms', (SELECT round(apply::numeric, 1)::text FROM t)),
	('apply speed-up vs stock (goal >= 2x on demo)', (SELECT round((stock / apply)::numeric, 2)::text || 'x' FROM t)),
	('fraction of the oracle''s gain, apply (goal >= 0.9)',
	 (SELECT round(((stock - apply) / nullif(stock - oracle, 0))::numeric, 2)::text FROM t)),
	('worst per-shape slowdown, apply vs stock (goal <= 1.1)', (SELECT apply FROM worst)),
	('apply mode not recording, total ms', (SELECT round(norec::numeric, 1)::text FROM t)),
	('apply not recording, speed-up vs stock', (SELECT round((stock / norec)::numeric, 2)::text || 'x' FROM t)),
	('fraction of the oracle''s gain, apply not recording',
	 (SELECT round(((stock - norec) / nullif(stock - oracle, 0))::numeric, 2)::text FROM t)),
	('worst per-shape slowdown, apply not recording vs stock', (SELECT norec FROM worst)),
	('shapes without a stock or apply figure', (SELECT missing::text FROM t)),
	('statements > 1.1x slower than stock after rechecks, apply (goal none)',
	 (SELECT count(*) || coalesce(': ' || string_agg(shape || ' ' || round(recheck_ratio::numeric, 2) || 'x', ', '
												  ORDER BY shape), '')
		FROM recheck WHERE recheck_ratio > 1.1 OR timed_out > 0)),
	('rounds to converge (first round within 1.1x of the best round, for good)',
	 coalesce((SELECT round::text FROM conv), '-')),
	('learn passes'' executions over 1.5x their stock median (goal none), learn mode / stock runs of the same passes',
	 (SELECT learn_over || ' of ' || learn_n || ' / ' || stock_over || ' of ' || stock_n FROM over_goal)),
	('worst stock execution before learning over its statement''s median (no learning going on)',
	 (SELECT round(worst::numeric, 2)::text || 'x (' || shape || ')' FROM base_noise
	   ORDER BY worst DESC NULLS LAST LIMIT 1)),
	('planning time, mode off, median over shapes, ms', (SELECT round(base::numeric, 3)::text FROM plan)),
	('planning time added in apply mode, median over shapes, ms (goal < 0.050)',
	 (SELECT round(added::numeric, 3)::text FROM plan))
) v(figure, value);

\echo '== learn passes: the users'' total (learn mode) against stock taking turns in the same pass; the worst single'
\echo '   learn-mode execution against its shape''s stock median, and the worst stock execution of the pass'
\echo '   (the noise of the machine: A against A); the worst learn-mode execution against the stock run of the'
\echo '   same statement taken right before or after it (pair_x); growth of the shadow_* and final* status counters (gauges: now)'
SELECT round AS pass, round(users_ms::numeric, 1) AS users_ms, round(stock_ms::numeric, 1) AS stock_ms,
	   round(users_vs_stock::numeric, 2) AS "users/stock", round(worst_ratio::numeric, 2) AS worst_x,
	   worst_shape, worst_arm, round(worst_stock_ratio::numeric, 2) AS worst_stock_x,
	   round(worst_pair_ratio::numeric, 2) AS pair_x, worst_pair_shape AS pair_shape,
	   timed_out, shadow
  FROM bench_pass WHERE workload = :'w' ORDER BY round;

\echo '== learn passes per shape: the learn-mode executions'' total over the stock executions'' total of the'
\echo '   same shape in the same pass (they ran one right after the other), pass 1 first; the shapes whose'
\echo '   learn-mode executions took the most time beyond their stock runs over all passes come first; and'
\echo '   the arm each learn-mode execution ran, pass by pass, from its trajectory (0 the default plan, ?'
\echo '   not recorded node by node: ruvector.dag_detail_sample_rate)'
WITH learn_arm AS (
	SELECT e.shape, e.round, e.started_at,
		   coalesce((SELECT tr.arm::text
					   FROM ndag_trajectories tr
					   JOIN bench_shape b ON b.workload = e.workload AND b.shape = e.shape
										 AND b.query_id = tr.query_id
					  WHERE tr.recorded_at BETWEEN e.started_at
											   AND e.started_at + (e.ms + 1000) * interval '1 ms'
					  ORDER BY tr.recorded_at LIMIT 1), '?') AS arm
	  FROM bench_exec e WHERE e.workload = :'w' AND e.phase = 'learn'
),
per_pass AS (
	SELECT shape, round,
		   sum(ms) FILTER (WHERE phase = 'learn') AS learn_ms,
		   sum(ms) FILTER (WHERE phase = 'pass_stock') AS stock_ms,
		   (SELECT string_agg(a.arm, ',' ORDER BY a.started_at) FROM learn_arm a
			 WHERE a.shape = e.shape AND a.round = e.round) AS arms
	  FROM bench_exec e WHERE workload = :'w' AND phase IN ('learn', 'pass_stock')
	 GROUP BY shape, round
)
SELECT shape, round(sum(learn_ms - stock_ms)::numeric) AS excess_ms,
	   string_agg(round((learn_ms / nullif(stock_ms, 0))::numeric, 2)::text, ' ' ORDER BY round) AS "learn/stock by pass",
	   string_agg(arms, ' ' ORDER BY round) AS "arms by pass"
  FROM per_pass
 GROUP BY shape
 ORDER BY sum(learn_ms - stock_ms) DESC NULLS LAST;

\echo '== decisions at the end, per shape: what apply mode decides now (EXPLAIN: parameter class, decision,'
\echo '   arm) and the class in ndag_queries (decision, best arm, runs per arm from the default on, demoted arms)'
SELECT * FROM bench_decision_state(:'w');

-- one line for the summary of all workloads (psql variable summary: the
-- file to write it to)
\pset format unaligned
\pset tuples_only on
\o :summary
WITH t AS (
	SELECT sum(stock_ms) AS stock, sum(oracle_ms) AS oracle, sum(apply_ms) AS apply, count(*) AS n
	  FROM per_shape
),
p AS (
	SELECT (SELECT round(users_vs_stock::numeric, 2) FROM bench_pass
			 WHERE workload = :'w' ORDER BY bench_pass.round LIMIT 1) AS first,
		   (SELECT round(users_vs_stock::numeric, 2) FROM bench_pass
			 WHERE workload = :'w' ORDER BY bench_pass.round DESC LIMIT 1) AS last,
		   (SELECT round(worst_ratio::numeric, 1) || 'x ' || worst_shape || ' p' || round
			  FROM bench_pass WHERE workload = :'w' ORDER BY worst_ratio DESC NULLS LAST LIMIT 1) ||
		   ' (stock ' || (SELECT round(max(worst_stock_ratio)::numeric, 1) FROM bench_pass
						  WHERE workload = :'w') || 'x)' AS worst,
		   (SELECT round(worst_pair_ratio::numeric, 1) || 'x ' || worst_pair_shape || ' p' || round
			  FROM bench_pass WHERE workload = :'w'
			 ORDER BY worst_pair_ratio DESC NULLS LAST LIMIT 1) AS worst_pair,
		   -- the shadow worker over all passes: wall-clock and CPU time of
		   -- its runs, and the pairs they gave
		   coalesce((SELECT round(sum(g.ms) / 1000) || ' s run, ' ||
				   round(sum(g.cpu_ms) / 1000) || ' s CPU, ' ||
				   sum(g.pairs) || ' pairs'
			  FROM bench_counters s
			  JOIN bench_counters f ON f.workload = s.workload AND f.round = s.round AND f.at = 'end',
				   LATERAL (SELECT (f.counters->>'shadow_ms')::numeric - (s.counters->>'shadow_ms')::numeric,
								   (f.counters->>'shadow_cpu_ms')::numeric - (s.counters->>'shadow_cpu_ms')::numeric,
								   (f.counters->>'shadow_pairs')::numeric - (s.counters->>'shadow_pairs')::numeric)
						   AS g(ms, cpu_ms, pairs)
			 WHERE s.workload = :'w' AND s.at = 'start'), 'n/a') AS shadow
)
SELECT concat_ws('|', :'w', t.n, round(t.stock::numeric), round(t.apply::numeric),
				 round((t.stock / t.apply)::numeric, 2) || 'x', round((t.stock / t.oracle)::numeric, 2) || 'x',
				 round(((t.stock - t.apply) / nullif(t.stock - t.oracle, 0))::numeric, 2),
				 (SELECT count(*) FROM recheck WHERE recheck_ratio > 1.1 OR timed_out > 0),
				 p.first || 'x / ' || p.last || 'x', p.worst, p.worst_pair, p.shadow)
  FROM t, p;
\o
