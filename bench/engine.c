/*-------------------------------------------------------------------------
 *
 * engine.c
 *	  Benchmark of the engine against DESIGN.md section 10: median and p99
 *	  of DAG construction, the plan embedding, each attention mechanism
 *	  (reported per operator), the exact min cut and the UCB choice, on
 *	  executed plan-shaped DAGs of 10, 100 and 1,000 nodes.
 *
 * It prints numbers; it asserts nothing.  Run with `make bench-engine`.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attention.h"
#include "bench_util.h"
#include "dag.h"
#include "embedding.h"
#include "engine.h"
#include "ucb.h"

/* what one timed operation needs */
typedef struct BenchCtx
{
	NdagNodeDesc *desc;			/* plan to rebuild (construction timing) */
	int		   *child;
	int		   *parent;
	int			n;
	int			n_edges;
	NdagDag    *dag;
	NdagAttnParams params;
	int			mechanism;
	double	   *weights;
	float		embedding[NDAG_EMBED_DIM];
	NdagCutEdge *cut;
	NdagUcb    *ucb;
	NdagRng		rng;
	int			context;
	volatile double sink;
} BenchCtx;

typedef void (*BenchFn) (BenchCtx *ctx);

/*
 * gen_subplan
 *		A plan-shaped subtree of about `size` nodes into the arrays,
 *		returning its top node: scans at the leaves, sorts, aggregates and
 *		hashes over them, and joins (mostly left-deep) combining subplans.
 *		Actual times and rows are consistent with the tree.
 */
static int
gen_subplan(BenchCtx *c, NdagRng *rng, int size, double *time_out)
{
	int			me = c->n++;
	NdagNodeDesc *d = &c->desc[me];
	double		child_time = 0.0;
	double		child_cost = 0.0;

	ndag_node_desc_init(d);
	d->has_actuals = true;
	d->loops = 1;
	if (size <= 1)
	{
		d->op_class = ndag_rng_below(rng, 3) ? NDAG_OP_SEQSCAN : NDAG_OP_INDEXSCAN;
		d->rel_oid = 16384 + (uint32_t) ndag_rng_below(rng, 50);
		d->rel_pages = (double) (1 + ndag_rng_below(rng, 100000));
		d->nquals = (int) ndag_rng_below(rng, 3);
	}
	else if (size == 2 || ndag_rng_below(rng, 5) == 0)
	{
		int			k;
		double		t;

		d->op_class = (int[]) {NDAG_OP_SORT, NDAG_OP_AGG, NDAG_OP_HASH, NDAG_OP_MATERIAL}[ndag_rng_below(rng, 4)];
		k = gen_subplan(c, rng, size - 1, &t);
		c->child[c->n_edges] = k;
		c->parent[c->n_edges++] = me;
		child_time += t;
		child_cost += c->desc[k].total_cost;
	}
	else
	{
		int			right = ndag_rng_below(rng, 10) < 7 ? 1 + (int) ndag_rng_below(rng, 3) :
		(size - 1) / 2;
		int			left = size - 1 - right;
		int			k;
		double		t;

		if (left < 1)
		{
			left = 1;
			right = size - 2;
		}
		d->op_class = (int[]) {NDAG_OP_HASHJOIN, NDAG_OP_NESTLOOP, NDAG_OP_MERGEJOIN}[ndag_rng_below(rng, 3)];
		d->join_type = NDAG_JOIN_INNER + (int) ndag_rng_below(rng, 3);
		k = gen_subplan(c, rng, left, &t);
		c->child[c->n_edges] = k;
		c->parent[c->n_edges++] = me;
		child_time += t;
		child_cost += c->desc[k].total_cost;
		k = gen_subplan(c, rng, right, &t);
		c->child[c->n_edges] = k;
		c->parent[c->n_edges++] = me;
		child_time += t;
		child_cost += c->desc[k].total_cost;
	}
	d->plan_rows = floor(exp(ndag_rng_uniform(rng) * 12.0));
	d->plan_width = (double) (4 + ndag_rng_below(rng, 100));
	d->total_cost = child_cost + exp(ndag_rng_uniform(rng) * 8.0);
	d->startup_cost = d->total_cost * ndag_rng_uniform(rng) * 0.5;
	d->actual_rows = floor(d->plan_rows * exp(ndag_rng_normal(rng)));
	d->actual_total_ms = child_time + exp(ndag_rng_uniform(rng) * 4.0) / 10.0;
	d->qual_hash = ndag_rng_next(rng);
	d->node_tag = d->op_class;
	*time_out = d->actual_total_ms;
	return me;
}

/*
 * build_dag
 *		Construct and finalize the DAG from the generated arrays.
 */
static NdagDag *
build_dag(BenchCtx *c)
{
	NdagDag    *dag = ndag_dag_create(c->n);
	int			i;

	for (i = 0; i < c->n; i++)
		ndag_dag_add_node(dag, &c->desc[i], NULL);
	for (i = 0; i < c->n_edges; i++)
		ndag_dag_add_edge(dag, c->child[i], c->parent[i]);
	if (ndag_dag_finalize(dag) != NDAG_OK)
	{
		fprintf(stderr, "finalize failed\n");
		exit(1);
	}
	return dag;
}

/*
 * op_build
 *		Build and finalize the plan's DAG from scratch.
 */
static void
op_build(BenchCtx *c)
{
	NdagDag    *dag = build_dag(c);

	c->sink += dag->critical_work;
	ndag_dag_free(dag);
}

/*
 * op_embed
 *		The 64-dim embedding with precomputed weights.
 */
static void
op_embed(BenchCtx *c)
{
	ndag_embed(c->dag, c->weights, c->embedding);
	c->sink += c->embedding[0];
}

/*
 * op_attention
 *		One mechanism's weights for every node.
 */
static void
op_attention(BenchCtx *c)
{
	ndag_attention(c->dag, c->mechanism, &c->params, c->weights);
	c->sink += c->weights[0];
}

/*
 * op_mincut
 *		The exact min cut with its edges.
 */
static void
op_mincut(BenchCtx *c)
{
	double		value;
	int			m;

	ndag_mincut(c->dag, NDAG_CAP_ROWS, &value, c->cut, c->dag->n_edges, &m);
	c->sink += value;
}

/*
 * op_ucb
 *		One UCB choice, cycling through the 64 contexts.
 */
static void
op_ucb(BenchCtx *c)
{
	int			arm;

	ndag_ucb_choose(c->ucb, c->context, &c->rng, &arm);
	c->context = (c->context + 1) & 63;
	c->sink += arm;
}

/*
 * measure
 *		Median and p99 of one call in ns.  Fast operations are timed in
 *		batches so that the clock's own cost does not dominate.
 */
static void
measure(BenchCtx *c, BenchFn fn, double *median, double *p99)
{
	double		est = 1e18;
	double		samples[2000];
	int			batch;
	int			n_samples;
	int			i;
	int			j;

	for (i = 0; i < 20; i++)
	{
		double		t0 = now_ns();

		fn(c);
		est = fmin(est, now_ns() - t0);
	}
	batch = est < 2000.0 ? (int) (2000.0 / fmax(est, 1.0)) + 1 : 1;
	n_samples = (int) fmin(2000.0, fmax(100.0, 3e8 / (fmax(est, 1.0) * batch)));
	for (i = 0; i < n_samples; i++)
	{
		double		t0 = now_ns();

		for (j = 0; j < batch; j++)
			fn(c);
		samples[i] = (now_ns() - t0) / batch;
	}
	qsort(samples, (size_t) n_samples, sizeof(double), cmp_double);
	*median = samples[n_samples / 2];
	*p99 = samples[(int) floor(0.99 * (n_samples - 1))];
}

/*
 * fmt_time
 *		ns as a short string with a unit.
 */
static const char *
fmt_time(double ns, char *buf)
{
	if (ns < 1e3)
		sprintf(buf, "%.0f ns", ns);
	else if (ns < 1e6)
		sprintf(buf, "%.2f us", ns / 1e3);
	else
		sprintf(buf, "%.2f ms", ns / 1e6);
	return buf;
}

/*
 * row
 *		One line of the table; seed and goal in ns (<= 0: none).
 */
static void
row(const char *op, int nodes, double median, double p99, double seed, double goal,
	const char *seed_txt, const char *goal_txt)
{
	char		a[32];
	char		b[32];
	const char *verdict;

	if (seed <= 0)
		verdict = "-";
	else if (p99 >= seed)
		verdict = "OVER SEED";
	else if (goal > 0 && median >= goal)
		verdict = "seed ok, goal missed";
	else
		verdict = "ok";
	printf("| %-42s | %5d | %10s | %10s | %-10s | %-16s | %-20s |\n", op, nodes,
		   fmt_time(median, a), fmt_time(p99, b), seed_txt, goal_txt, verdict);
}

int
main(void)
{
	int			sizes[3] = {10, 100, 1000};
	int			s;

	printf("neural_dag engine benchmark: executed plan-shaped DAGs, median and p99 of one call\n");
	printf("(per-operator rows: time of one call divided by the number of nodes)\n\n");
	printf("| %-42s | %5s | %10s | %10s | %-10s | %-16s | %-20s |\n", "operation", "nodes",
		   "median", "p99", "seed", "our goal", "verdict");
	printf("|%s|%s|%s|%s|%s|%s|%s|\n", "--------------------------------------------", "-------",
		   "------------", "------------", "------------", "------------------",
		   "----------------------");

	for (s = 0; s < 3; s++)
	{
		BenchCtx	c;
		NdagRng		rng;
		NdagTraceTable *traces = ndag_trace_table_create(4096);
		double		med;
		double		p99;
		double		t;
		char		name[64];
		int			target = sizes[s];
		int			m;
		int			i;

		memset(&c, 0, sizeof(c));
		c.desc = malloc(sizeof(NdagNodeDesc) * (size_t) target * 2);
		c.child = malloc(sizeof(int) * (size_t) target * 2);
		c.parent = malloc(sizeof(int) * (size_t) target * 2);
		ndag_rng_seed(&rng, (uint64_t) target);
		gen_subplan(&c, &rng, target, &t);
		c.dag = build_dag(&c);
		c.weights = malloc(sizeof(double) * (size_t) c.n);
		c.cut = malloc(sizeof(NdagCutEdge) * (size_t) (c.n_edges + 1));
		c.ucb = ndag_ucb_create(64, NDAG_N_MECHANISMS, NDAG_UCB_DEFAULT_C, NDAG_UCB_DEFAULT_EPSILON);
		ndag_rng_seed(&c.rng, 42);
		for (i = 0; i < 64 * 40; i++)
			ndag_ucb_update(c.ucb, i & 63, (i >> 6) % NDAG_N_MECHANISMS, ndag_rng_uniform(&rng));
		for (i = 0; i < 20; i++)
			ndag_trace_update(traces, c.dag, i * 0.5, i == 10);
		ndag_attn_params_init(&c.params);
		c.params.traces = traces;
		c.params.now = 10.0;
		ndag_ensemble_mix_from_ucb(c.ucb, 0, c.params.ensemble_mix);
		ndag_attention(c.dag, NDAG_MECH_TOPOLOGICAL, &c.params, c.weights);

		measure(&c, op_build, &med, &p99);
		row("dag build + finalize", c.n, med, p99, 0, 0, "-", "-");
		measure(&c, op_embed, &med, &p99);
		row("embedding (whole plan)", c.n, med, p99, 100e3, 50e3, "< 100 us", "< 50 us");
		for (m = 0; m < NDAG_N_MECHANISMS; m++)
		{
			c.mechanism = m;
			measure(&c, op_attention, &med, &p99);
			snprintf(name, sizeof(name), "attention %s / operator", ndag_mechanism_name(m));
			row(name, c.n, med / c.n, p99 / c.n, 500e3, 2e3, "< 500 us", "< 2 us");
		}
		measure(&c, op_mincut, &med, &p99);
		row("mincut (exact, whole plan)", c.n, med, p99, 10e6, 1e6, "< 10 ms", "< 1 ms");
		measure(&c, op_ucb, &med, &p99);
		row("ucb choice (8 arms)", c.n, med, p99, 0, 0, "-", "-");

		ndag_trace_table_free(traces);
		ndag_ucb_free(c.ucb);
		ndag_dag_free(c.dag);
		free(c.desc);
		free(c.child);
		free(c.parent);
		free(c.weights);
		free(c.cut);
	}
	printf("\nThe build row includes first-touch page faults of the per-DAG arrays, which\n"
		   "dominate at 1,000 nodes on virtual machines.\n");
	printf("seed and goal: DESIGN.md section 10; the embedding row uses the HDC/MicroLoRA-like\n"
		   "seed target (< 100 us) with our goal of < 50 us for the whole plan; the seed's\n"
		   "MinCut target is for 1,000-node plans and is applied to every size here.\n");
	return 0;
}
