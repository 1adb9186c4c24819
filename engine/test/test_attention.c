/*-------------------------------------------------------------------------
 *
 * test_attention.c
 *	  The attention mechanisms: valid weights on random, single-node, wide,
 *	  deep and shared DAGs; and for each mechanism the structure it is
 *	  named for (depth decay, cones, the critical path by actual time, the
 *	  Lorentz constraint and monotone radii, branch shares, the ensemble's
 *	  dependence on rewards).  mincut_gated is in test_mincut.c and
 *	  temporal_btsp in test_temporal.c.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "dag.h"
#include "engine.h"
#include "tap.h"
#include "testutil.h"
#include "ucb.h"

/*
 * all_valid
 *		Every mechanism gives valid, deterministic weights; returns the
 *		first failing mechanism or -1.
 */
static int
all_valid(const NdagDag *dag, const NdagAttnParams *p)
{
	int			n = dag->n_nodes;
	double	   *w1 = malloc(sizeof(double) * (size_t) n);
	double	   *w2 = malloc(sizeof(double) * (size_t) n);
	int			bad = -1;
	int			m;

	for (m = 0; m < NDAG_N_MECHANISMS && bad < 0; m++)
	{
		if (ndag_attention(dag, m, p, w1) != NDAG_OK || !tu_weights_valid(w1, n))
			bad = m;
		else if (ndag_attention(dag, m, p, w2) != NDAG_OK ||
				 memcmp(w1, w2, sizeof(double) * (size_t) n) != 0)
			bad = m;
	}
	free(w1);
	free(w2);
	return bad;
}

/*
 * test_names
 *		The name <-> enum mapping.
 */
static void
test_names(void)
{
	const char *names[] = {"topological", "causal_cone", "critical_path", "mincut_gated",
	"hierarchical_lorentz", "parallel_branch", "temporal_btsp", "ensemble"};
	bool		ok = true;
	int			m;
	int			got;

	for (m = 0; m < NDAG_N_MECHANISMS; m++)
		if (strcmp(ndag_mechanism_name(m), names[m]) != 0 ||
			ndag_mechanism_from_name(names[m], &got) != NDAG_OK || got != m)
			ok = false;
	tap_ok(ok, "mechanism names round-trip");
	tap_ok(ndag_mechanism_from_name("auto", &got) == NDAG_ERR_ARG &&
		   ndag_mechanism_from_name("Topological", &got) == NDAG_ERR_ARG &&
		   ndag_mechanism_from_name(NULL, &got) == NDAG_ERR_ARG &&
		   ndag_mechanism_name(8) == NULL && ndag_mechanism_name(-1) == NULL,
		   "unknown names rejected");
	tap_ok(strcmp(ndag_op_class_name(NDAG_OP_HASHJOIN), "hashjoin") == 0 &&
		   ndag_op_class_name(16) == NULL, "operator class names");
}

/*
 * test_validity
 *		All mechanisms on random DAGs and on special shapes.
 */
static void
test_validity(void)
{
	NdagAttnParams p;
	NdagTraceTable *traces = ndag_trace_table_create(64);
	int			seeds = tap_seeds(300);
	int			failures = 0;
	int			s;
	int			bad;
	NdagDag    *dag;
	NdagNodeDesc d;
	int			i;

	ndag_attn_params_init(&p);
	p.traces = traces;
	for (s = 0; s < seeds; s++)
	{
		NdagRng		rng;
		TuGraph		g;

		ndag_rng_seed(&rng, (uint64_t) s + 5);
		tu_graph_random(&g, &rng, 1 + (int) ndag_rng_below(&rng, s % 5 == 0 ? 400 : 30),
						0.25, 1 + (int) ndag_rng_below(&rng, 3), (int) (s % 3));
		dag = tu_graph_build(&g, &rng);
		p.now = (double) s;
		if (dag->has_actuals)
			ndag_trace_update(traces, dag, p.now, s % 7 == 0);
		bad = all_valid(dag, &p);
		if (bad >= 0 && failures++ < 5)
			tap_diag("seed %d (n=%d): %s", s, dag->n_nodes, ndag_mechanism_name(bad));
		ndag_dag_free(dag);
		tu_graph_free(&g);
	}
	tap_ok(failures == 0, "all mechanisms valid and deterministic on %d random DAGs", seeds);

	dag = ndag_dag_create(1);
	d = tu_desc(NDAG_OP_SEQSCAN, 0, 0);
	ndag_dag_add_node(dag, &d, NULL);
	ndag_dag_finalize(dag);
	tap_ok(all_valid(dag, &p) < 0, "single node with zero cost");
	{
		double		w;

		ndag_attention(dag, NDAG_MECH_CRITICAL_PATH, &p, &w);
		tap_ok(w == 1.0, "single node gets weight 1");
	}
	ndag_dag_free(dag);

	dag = ndag_dag_create(1000);
	d = tu_desc(NDAG_OP_APPEND, 1e6, 1e300);
	ndag_dag_add_node(dag, &d, NULL);
	for (i = 1; i < 1000; i++)
	{
		d = tu_desc(NDAG_OP_SEQSCAN, 1e3, i % 2 ? 1e300 : 0);
		ndag_dag_add_node(dag, &d, NULL);
		ndag_dag_add_edge(dag, i, 0);
	}
	ndag_dag_finalize(dag);
	tap_ok(all_valid(dag, &p) < 0, "wide: 999 children of one append, costs 0 and 1e300");
	ndag_dag_free(dag);

	dag = tu_chain(1000);
	tap_ok(all_valid(dag, &p) < 0, "deep: 1000-node chain");
	ndag_dag_free(dag);

	dag = tu_chain(5);
	p.topo_decay = 0.0;
	tap_ok(ndag_attention(dag, NDAG_MECH_TOPOLOGICAL, &p, NULL) == NDAG_ERR_ARG &&
		   ndag_attention(dag, NDAG_MECH_TOPOLOGICAL, &p, (double[5]) {0}) == NDAG_ERR_ARG &&
		   ndag_attention(dag, 99, NULL, (double[5]) {0}) == NDAG_ERR_ARG,
		   "bad parameters and mechanism rejected");
	ndag_dag_free(dag);
	ndag_trace_table_free(traces);
}

/*
 * test_topological
 *		Decay by depth over a 10-level chain; masking.
 */
static void
test_topological(void)
{
	NdagDag    *dag = tu_chain(10);
	NdagAttnParams p;
	double		w[10];
	double		w5[10];
	double		wmin = 1;
	double		wmax = 0;
	bool		monotone = true;
	bool		uniform = true;
	int			i;

	ndag_attn_params_init(&p);
	ndag_attention_topological(dag, &p, w);
	for (i = 0; i < 10; i++)
	{
		wmin = fmin(wmin, w[i]);
		wmax = fmax(wmax, w[i]);
		if (i > 0 && w[i] > w[i - 1])
			monotone = false;
	}
	tap_ok(wmax / wmin > 2.0, "10-level chain is not near-uniform (max/min %.2f)", wmax / wmin);
	tap_ok(monotone && w[0] == wmax, "weight decreases with depth, root highest");

	p.topo_decay = 0.5;
	ndag_attention_topological(dag, &p, w5);
	tap_ok(w5[0] / w5[9] > w[0] / w[9], "stronger decay, steeper profile (%.1f > %.1f)",
		   w5[0] / w5[9], w[0] / w[9]);

	p.topo_decay = 0.9;
	p.topo_k = 0;
	ndag_attention_topological(dag, &p, w);
	for (i = 0; i < 10; i++)
		if (fabs(w[i] - 0.1) > 1e-12)
			uniform = false;
	tap_ok(uniform, "k = 0 masks every ancestor: each node attends only to itself");

	p.topo_k = 1;
	ndag_attention_topological(dag, &p, w);
	/* with one ancestor: node d receives decay^1/(1+decay) from itself... */
	tap_ok(fabs(w[9] - (0.9 / 1.9) / 10) < 1e-12 && fabs(w[0] - (1.0 + 1.0 / 1.9) / 10) < 1e-12,
		   "k = 1: exact softmax over node and parent");
	ndag_dag_free(dag);
}

/*
 * test_causal_cone
 *		Root over two branches: the branch with the bigger, costlier cone
 *		wins at equal depth; deeper nodes are discounted.
 *			0 root
 *			  1 -> 3 -> 4 (long branch)
 *			  2 (leaf)
 */
static void
test_causal_cone(void)
{
	NdagDag    *dag = ndag_dag_create(5);
	NdagAttnParams p;
	double		w[5];
	double		w2[5];
	double		cost[5] = {100, 60, 20, 40, 20};
	int			i;

	for (i = 0; i < 5; i++)
	{
		NdagNodeDesc d = tu_desc(NDAG_OP_SORT, 10, cost[i]);

		ndag_dag_add_node(dag, &d, NULL);
	}
	ndag_dag_add_edge(dag, 1, 0);
	ndag_dag_add_edge(dag, 2, 0);
	ndag_dag_add_edge(dag, 3, 1);
	ndag_dag_add_edge(dag, 4, 3);
	ndag_dag_finalize(dag);
	ndag_attn_params_init(&p);
	ndag_attention_causal_cone(dag, &p, w);
	tap_ok(w[0] > w[1] && w[1] > w[2], "bigger cone, more weight (root > long branch > leaf)");
	tap_ok(w[1] > w[3] && w[3] > w[4], "weight falls along the branch");
	p.cone_discount = 0.5;
	ndag_attention_causal_cone(dag, &p, w2);
	tap_ok(w2[4] / w2[0] < w[4] / w[0], "stronger discount, deep nodes weigh less");
	ndag_dag_free(dag);
}

/*
 * build_join
 *		Join 0 over input 1 (estimated 900, actually 5 ms) and input 2
 *		(estimated 50, actually 400 ms), each over a scan (3 under 1, 4
 *		under 2).  Estimates and actuals disagree on the critical branch.
 */
static NdagDag *
build_join(bool actuals)
{
	NdagDag    *dag = ndag_dag_create(5);
	NdagNodeDesc d[5];
	double		est[5] = {1000, 900, 50, 400, 20};
	double		act[5] = {410, 5, 400, 3, 390};
	int			i;

	for (i = 0; i < 5; i++)
	{
		d[i] = tu_desc(i == 0 ? NDAG_OP_HASHJOIN : (i < 3 ? NDAG_OP_SORT : NDAG_OP_SEQSCAN),
					   100, est[i]);
		d[i].has_actuals = actuals;
		d[i].actual_total_ms = act[i];
		d[i].actual_rows = 100;
		d[i].loops = 1;
		ndag_dag_add_node(dag, &d[i], NULL);
	}
	ndag_dag_add_edge(dag, 1, 0);
	ndag_dag_add_edge(dag, 2, 0);
	ndag_dag_add_edge(dag, 3, 1);
	ndag_dag_add_edge(dag, 4, 2);
	ndag_dag_finalize(dag);
	return dag;
}

/*
 * test_critical_path
 *		The weight follows the costliest root-to-leaf path, by actual time
 *		when the plan was executed.
 */
static void
test_critical_path(void)
{
	NdagDag    *est = build_join(false);
	NdagDag    *act = build_join(true);
	NdagAttnParams p;
	double		we[5];
	double		wa[5];
	int			seeds = tap_seeds(300);
	int			bad = 0;
	int			s;

	ndag_attn_params_init(&p);
	ndag_attention_critical_path(est, &p, we);
	ndag_attention_critical_path(act, &p, wa);
	tap_ok(we[0] + we[1] + we[3] >= 0.9 - 1e-12 && we[1] > we[2] && we[3] > we[4],
		   "estimates: the 900-cost branch carries the weight");
	tap_ok(wa[0] + wa[2] + wa[4] >= 0.9 - 1e-12 && wa[2] > wa[1] && wa[4] > wa[3],
		   "actuals: the 400 ms branch carries the weight, estimates ignored");

	/* random DAGs: path mass is 1 - off_share and the top node is on it */
	for (s = 0; s < seeds; s++)
	{
		NdagRng		rng;
		TuGraph		g;
		NdagDag    *dag;
		double	   *w;
		double		on = 0.0;
		int			top = 0;
		int			i;

		ndag_rng_seed(&rng, (uint64_t) s + 31337);
		tu_graph_random(&g, &rng, 2 + (int) ndag_rng_below(&rng, 100), 0.2, 1, (int) (s % 3));
		dag = tu_graph_build(&g, NULL);
		w = malloc(sizeof(double) * (size_t) dag->n_nodes);
		ndag_attention_critical_path(dag, &p, w);
		for (i = 0; i < dag->n_nodes; i++)
		{
			if (dag->nodes[i].on_critical_path)
				on += w[i];
			if (w[i] > w[top])
				top = i;
		}
		if ((dag->critical_len < dag->n_nodes && fabs(on - 0.9) > 1e-9) ||
			!dag->nodes[top].on_critical_path)
			bad++;
		free(w);
		ndag_dag_free(dag);
		tu_graph_free(&g);
	}
	tap_ok(bad == 0, "random DAGs: 90%% of the mass on the critical path, top node on it");
	ndag_dag_free(est);
	ndag_dag_free(act);
}

/*
 * test_lorentz
 *		Points on the hyperboloid, radius monotone in depth, and the
 *		mechanism favouring the costly side of the hierarchy.
 */
static void
test_lorentz(void)
{
	NdagAttnParams p;
	int			seeds = tap_seeds(300);
	int			off_hyperboloid = 0;
	int			not_monotone = 0;
	double		worst = 0.0;
	int			s;

	ndag_attn_params_init(&p);
	for (s = 0; s < seeds + 2; s++)
	{
		NdagRng		rng;
		TuGraph		g;
		NdagDag    *dag;
		double	   *x;
		double		origin[3];
		int			i;
		int			j;

		ndag_rng_seed(&rng, (uint64_t) s + 2024);
		if (s < seeds)
		{
			tu_graph_random(&g, &rng, 1 + (int) ndag_rng_below(&rng, 200), 0.2,
							1 + (int) ndag_rng_below(&rng, 2), 0);
			dag = tu_graph_build(&g, NULL);
			tu_graph_free(&g);
		}
		else
			dag = tu_chain(s == seeds ? 1000 : 12);
		x = malloc(sizeof(double) * 3 * (size_t) dag->n_nodes);
		ndag_lorentz_embed(dag, &p, x, origin);
		for (i = 0; i < dag->n_nodes; i++)
		{
			double		q = ndag_lorentz_inner(x + 3 * i, x + 3 * i);
			double		rel = fabs(q + 1.0);

			if (rel > worst)
				worst = rel;
			if (rel > 1e-6 || x[3 * i] < 1.0)
				off_hyperboloid++;
		}
		/* every pair: shallower is never farther from the root */
		for (i = 0; i < dag->n_nodes; i++)
			for (j = 0; j < dag->n_nodes; j++)
				if (dag->nodes[i].depth < dag->nodes[j].depth &&
					ndag_lorentz_distance(origin, x + 3 * i) >
					ndag_lorentz_distance(origin, x + 3 * j) + 1e-9)
					not_monotone++;
		free(x);
		ndag_dag_free(dag);
	}
	tap_ok(off_hyperboloid == 0, "<x,x>_L = -1 within 1e-6 for every point (worst %.2g)", worst);
	tap_ok(not_monotone == 0, "distance from the root non-decreasing in depth");

	/* chain of 5: distances are depth * step exactly */
	{
		NdagDag    *dag = tu_chain(5);
		double		x[15];
		double		o[3];
		bool		exact = true;
		int			i;

		ndag_lorentz_embed(dag, &p, x, o);
		for (i = 0; i < 5; i++)
			if (fabs(ndag_lorentz_distance(o, x + 3 * i) - i * p.lorentz_step) > 1e-9)
				exact = false;
		tap_ok(exact, "radius = depth * step");
		ndag_dag_free(dag);
	}

	/*
	 * Root with two identical subtrees (1 <- 3, 2 <- 4) except that the
	 * scan under 2 is expensive: mirror nodes at the same depth get
	 * different weights because of where mu lies, and siblings are apart.
	 */
	{
		NdagDag    *dag = ndag_dag_create(5);
		double		cost[5] = {1030, 15, 1010, 10, 1000};
		double		w[5];
		double		x[15];
		int			i;

		for (i = 0; i < 5; i++)
		{
			NdagNodeDesc d = tu_desc(NDAG_OP_SORT, 10, cost[i]);

			ndag_dag_add_node(dag, &d, NULL);
		}
		ndag_dag_add_edge(dag, 1, 0);
		ndag_dag_add_edge(dag, 2, 0);
		ndag_dag_add_edge(dag, 3, 1);
		ndag_dag_add_edge(dag, 4, 2);
		ndag_dag_finalize(dag);
		ndag_attention_hierarchical_lorentz(dag, &p, w);
		ndag_lorentz_embed(dag, &p, x, NULL);
		tap_ok(tu_weights_valid(w, 5) && w[2] > w[1] && w[4] > w[3],
			   "costly subtree weighs more at equal depth");
		tap_ok(ndag_lorentz_distance(x + 3, x + 6) > 1.0 && ndag_lorentz_distance(x + 9, x + 12) > 2.0,
			   "siblings separated by angle");
		ndag_dag_free(dag);
	}
}

/*
 * branch_plan
 *		Root append 0 over two sort -> scan branches (1 <- 3, 2 <- 4) whose
 *		scans cost a and b.
 */
static NdagDag *
branch_plan(double a, double b)
{
	NdagDag    *dag = ndag_dag_create(5);
	double		cost[5] = {a + b + 20, a + 10, b + 10, a, b};
	int			i;

	for (i = 0; i < 5; i++)
	{
		NdagNodeDesc d = tu_desc(i == 0 ? NDAG_OP_APPEND : (i < 3 ? NDAG_OP_SORT : NDAG_OP_SEQSCAN),
								 10, cost[i]);

		ndag_dag_add_node(dag, &d, NULL);
	}
	ndag_dag_add_edge(dag, 1, 0);
	ndag_dag_add_edge(dag, 2, 0);
	ndag_dag_add_edge(dag, 3, 1);
	ndag_dag_add_edge(dag, 4, 2);
	ndag_dag_finalize(dag);
	return dag;
}

/*
 * test_parallel_branch
 *		Balanced branches share evenly; a lopsided fork sends more than the
 *		cost share to its straggler and weighs more itself.
 */
static void
test_parallel_branch(void)
{
	NdagDag    *bal = branch_plan(100, 100);
	NdagDag    *lop = branch_plan(30, 270);
	NdagAttnParams p;
	double		wb[5];
	double		wl[5];
	double		w0[5];

	ndag_attn_params_init(&p);
	ndag_attention_parallel_branch(bal, &p, wb);
	ndag_attention_parallel_branch(lop, &p, wl);
	tap_ok(fabs(wb[1] - wb[2]) < 1e-15 && fabs(wb[3] - wb[4]) < 1e-15 &&
		   bal->nodes[0].fork_imbalance == 0.0, "balanced branches weigh the same");
	tap_ok(wl[2] > wl[1] && wl[4] > wl[3], "lopsided: the heavy branch weighs more");
	tap_ok(wl[2] / wl[1] > (280.0 / 40.0), "imbalance sharpens beyond the cost share (%.1f > 7)",
		   wl[2] / wl[1]);
	tap_ok(wl[0] / (wl[1] + wl[2]) > wb[0] / (wb[1] + wb[2]), "the fork weighs more when lopsided");
	p.branch_sharpen = 0.0;
	ndag_attention_parallel_branch(lop, &p, w0);
	tap_ok(fabs(w0[2] / w0[1] - 7.0) < 1e-9, "without sharpening the split is the cost share");
	ndag_dag_free(bal);
	ndag_dag_free(lop);
}

/*
 * test_ensemble
 *		Mixture of the seven, weighted by the selector's mean rewards.
 */
static void
test_ensemble(void)
{
	NdagDag    *dag = build_join(true);
	NdagUcb    *ucb = ndag_ucb_create(4, NDAG_N_MECHANISMS, NDAG_UCB_DEFAULT_C, 0.1);
	NdagAttnParams p;
	double		w1[5];
	double		w2[5];
	double		wc[5];
	double		wt[5];
	double		mix[NDAG_N_BASE_MECHANISMS];
	double		diff = 0.0;
	int			i;
	int			k;

	ndag_attn_params_init(&p);
	tap_ok(ndag_ensemble_mix_from_ucb(ucb, 0, mix) == NDAG_OK && fabs(mix[3] - 1.0 / 7) < 1e-12,
		   "no rewards yet: uniform mixture");
	for (k = 0; k < NDAG_N_BASE_MECHANISMS; k++)
		ndag_ucb_update(ucb, 0, k, k == NDAG_MECH_CRITICAL_PATH ? 1.0 : 0.1);
	ndag_ensemble_mix_from_ucb(ucb, 0, mix);
	tap_ok(fabs(mix[NDAG_MECH_CRITICAL_PATH] - 1.0 / 1.6) < 1e-12, "mixture proportional to mean rewards");
	memcpy(p.ensemble_mix, mix, sizeof(mix));
	ndag_attention_ensemble(dag, &p, w1);

	ndag_ucb_update(ucb, 0, NDAG_MECH_CRITICAL_PATH, 0.0);
	ndag_ucb_update(ucb, 0, NDAG_MECH_CRITICAL_PATH, 0.0);
	ndag_ucb_update(ucb, 0, NDAG_MECH_TOPOLOGICAL, 1.0);
	ndag_ensemble_mix_from_ucb(ucb, 0, mix);
	memcpy(p.ensemble_mix, mix, sizeof(mix));
	ndag_attention_ensemble(dag, &p, w2);
	for (i = 0; i < 5; i++)
		diff += fabs(w1[i] - w2[i]);
	tap_ok(tu_weights_valid(w1, 5) && tu_weights_valid(w2, 5) && diff > 1e-3,
		   "ensemble changes when rewards change (L1 %.3f)", diff);

	for (k = 0; k < NDAG_N_BASE_MECHANISMS; k++)
		p.ensemble_mix[k] = k == NDAG_MECH_CRITICAL_PATH ? 1.0 : 0.0;
	ndag_attention_ensemble(dag, &p, w1);
	ndag_attention_critical_path(dag, &p, wc);
	diff = 0.0;
	for (i = 0; i < 5; i++)
		diff += fabs(w1[i] - wc[i]);
	tap_ok(diff < 1e-12, "one-hot mixture reproduces that mechanism");

	for (k = 0; k < NDAG_N_BASE_MECHANISMS; k++)
		p.ensemble_mix[k] = k == NDAG_MECH_TOPOLOGICAL ? 0.5 : (k == NDAG_MECH_CRITICAL_PATH ? 0.5 : 0.0);
	ndag_attention_ensemble(dag, &p, w1);
	ndag_attention_topological(dag, &p, wt);
	diff = 0.0;
	for (i = 0; i < 5; i++)
		diff += fabs(w1[i] - 0.5 * (wt[i] + wc[i]));
	tap_ok(diff < 1e-12, "half-half mixture is the average");
	tap_ok(ndag_ensemble_mix_from_ucb(ucb, 4, mix) == NDAG_ERR_ARG, "context out of range rejected");
	ndag_ucb_free(ucb);
	ndag_dag_free(dag);
}

int
main(void)
{
	test_names();
	test_validity();
	test_topological();
	test_causal_cone();
	test_critical_path();
	test_lorentz();
	test_parallel_branch();
	test_ensemble();
	return tap_done();
}
