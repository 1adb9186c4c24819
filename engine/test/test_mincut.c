/*-------------------------------------------------------------------------
 *
 * test_mincut.c
 *	  The exact minimum cut: hand-built plans (including one where a
 *	  super-source over a single leaf would give the wrong answer), brute
 *	  force over every source/sink partition of hundreds of random small
 *	  DAGs, an independent Edmonds-Karp on medium DAGs, validity of the
 *	  returned edges, capacities and the mincut_gated mechanism.
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

/*
 * bf_mincut
 *		Minimum over all assignments of the free nodes to the source or sink
 *		side of the capacity of edges from source side to sink side.  Leaves
 *		with consumers are on the source side, the root (every sink with an
 *		input, under a virtual root) on the sink side.
 */
static double
bf_mincut(const NdagDag *dag, int mode)
{
	int			n = dag->n_nodes;
	int		   *forced = malloc(sizeof(int) * (size_t) n);	/* 1 S, 0 T, -1 free */
	int		   *freeidx = malloc(sizeof(int) * (size_t) n);
	char	   *side = malloc((size_t) n);
	int			nfree = 0;
	double		best = INFINITY;
	unsigned long mask;
	int			v;

	for (v = 0; v < n; v++)
	{
		const NdagNode *node = &dag->nodes[v];

		forced[v] = -1;
		if (node->n_inputs == 0 && node->n_consumers > 0)
			forced[v] = 1;
		else if (node->n_consumers == 0)
			forced[v] = 0;
		else
			freeidx[nfree++] = v;
	}
	for (mask = 0; mask < (1UL << nfree); mask++)
	{
		double		cut = 0.0;
		int			i;

		for (v = 0; v < n; v++)
			side[v] = forced[v] == 1;
		for (i = 0; i < nfree; i++)
			side[freeidx[i]] = (mask >> i) & 1;
		for (i = 0; i < dag->n_edges; i++)
			if (side[dag->edge_child[i]] && !side[dag->edge_parent[i]])
				cut += ndag_mincut_capacity(dag, dag->edge_child[i], mode);
		if (cut < best)
			best = cut;
	}
	free(forced);
	free(freeidx);
	free(side);
	return dag->n_edges == 0 ? 0.0 : best;
}

/*
 * ek_maxflow
 *		Edmonds-Karp on a dense capacity matrix of the same network: an
 *		independent second opinion for DAGs too big to enumerate.
 */
static double
ek_maxflow(const NdagDag *dag, int mode)
{
	int			n = dag->n_nodes;
	int			N = n + 2;
	int			S = n;
	int			T = dag->root >= 0 ? dag->root : n + 1;
	double	   *cap = calloc((size_t) N * N, sizeof(double));
	int		   *prev = malloc(sizeof(int) * (size_t) N);
	int		   *queue = malloc(sizeof(int) * (size_t) N);
	double		flow = 0.0;
	int			v;
	int			i;

	for (i = 0; i < dag->n_edges; i++)
		cap[dag->edge_child[i] * N + dag->edge_parent[i]] +=
			ndag_mincut_capacity(dag, dag->edge_child[i], mode);
	for (v = 0; v < n; v++)
	{
		if (dag->nodes[v].n_inputs == 0 && dag->nodes[v].n_consumers > 0)
			cap[S * N + v] = 1e300;
		if (dag->root < 0 && dag->nodes[v].n_consumers == 0 && dag->nodes[v].n_inputs > 0)
			cap[v * N + T] = 1e300;
	}
	for (;;)
	{
		int			head = 0;
		int			tail = 0;
		double		push = 1e300;

		for (v = 0; v < N; v++)
			prev[v] = -1;
		prev[S] = S;
		queue[tail++] = S;
		while (head < tail && prev[T] < 0)
		{
			int			u = queue[head++];

			for (v = 0; v < N; v++)
			{
				if (prev[v] < 0 && cap[u * N + v] > 1e-9)
				{
					prev[v] = u;
					queue[tail++] = v;
				}
			}
		}
		if (prev[T] < 0)
			break;
		for (v = T; v != S; v = prev[v])
			if (cap[prev[v] * N + v] < push)
				push = cap[prev[v] * N + v];
		for (v = T; v != S; v = prev[v])
		{
			cap[prev[v] * N + v] -= push;
			cap[v * N + prev[v]] += push;
		}
		flow += push;
	}
	free(cap);
	free(prev);
	free(queue);
	return flow;
}

/*
 * cut_is_valid
 *		With the returned edges removed, no leaf reaches a sink; the
 *		capacities are those of the mode and sum to the value; edges are
 *		real and sorted.
 */
static bool
cut_is_valid(const NdagDag *dag, int mode, const NdagCutEdge *edges, int m, double value)
{
	int			n = dag->n_nodes;
	char	   *reach = calloc((size_t) n, 1);
	bool		changed = true;
	bool		ok = true;
	double		sum = 0.0;
	int			i;
	int			k;

	for (k = 0; k < m; k++)
	{
		bool		found = false;

		for (i = 0; i < dag->n_edges; i++)
			if (dag->edge_child[i] == edges[k].child && dag->edge_parent[i] == edges[k].parent)
				found = true;
		if (!found || edges[k].capacity != ndag_mincut_capacity(dag, edges[k].child, mode))
			ok = false;
		if (k > 0 && (edges[k - 1].child > edges[k].child ||
					  (edges[k - 1].child == edges[k].child && edges[k - 1].parent >= edges[k].parent)))
			ok = false;
		sum += edges[k].capacity;
	}
	if (fabs(sum - value) > 1e-9 * (1.0 + value))
		ok = false;

	for (i = 0; i < n; i++)
		if (dag->nodes[i].n_inputs == 0 && dag->nodes[i].n_consumers > 0)
			reach[i] = 1;
	while (changed)
	{
		changed = false;
		for (i = 0; i < dag->n_edges; i++)
		{
			int			c = dag->edge_child[i];
			int			p = dag->edge_parent[i];
			bool		removed = false;

			if (!reach[c] || reach[p])
				continue;
			for (k = 0; k < m; k++)
				if (edges[k].child == c && edges[k].parent == p)
					removed = true;
			if (!removed)
			{
				reach[p] = 1;
				changed = true;
			}
		}
	}
	for (i = 0; i < n; i++)
		if (reach[i] && dag->nodes[i].n_consumers == 0)
			ok = false;
	free(reach);
	return ok;
}

/*
 * test_hand_built
 *		Aggregate over a hash join of a big table and a small hashed one.
 *		The cheapest separation of BOTH leaves from the root is the join's
 *		output (501); a source at the small leaf alone would cut 11.
 */
static void
test_hand_built(void)
{
	NdagDag    *dag = ndag_dag_create(5);
	NdagNodeDesc d[5];
	NdagCutEdge edges[8];
	double		value = -1;
	int			m = -1;
	int			i;

	d[0] = tu_desc(NDAG_OP_AGG, 1, 5000);
	d[1] = tu_desc(NDAG_OP_HASHJOIN, 500, 4000);
	d[2] = tu_desc(NDAG_OP_SEQSCAN, 1000000, 3000);
	d[3] = tu_desc(NDAG_OP_HASH, 10, 20);
	d[4] = tu_desc(NDAG_OP_SEQSCAN, 10, 19);
	for (i = 0; i < 5; i++)
		ndag_dag_add_node(dag, &d[i], NULL);
	ndag_dag_add_edge(dag, 1, 0);
	ndag_dag_add_edge(dag, 2, 1);
	ndag_dag_add_edge(dag, 3, 1);
	ndag_dag_add_edge(dag, 4, 3);
	ndag_dag_finalize(dag);

	tap_ok(ndag_mincut_capacity(dag, 2, NDAG_CAP_ROWS) == 1000001 &&
		   ndag_mincut_capacity(dag, 2, NDAG_CAP_AUTO) == 1000001 &&
		   ndag_mincut_capacity(dag, 1, NDAG_CAP_TIME) == 4001 &&
		   ndag_mincut_capacity(dag, 9, NDAG_CAP_ROWS) < 0, "capacities by mode");
	tap_ok(ndag_mincut(dag, NDAG_CAP_ROWS, &value, edges, 8, &m) == NDAG_OK, "mincut runs");
	tap_ok(m == 1 && edges[0].child == 1 && edges[0].parent == 0 && value == 501 &&
		   edges[0].capacity == 501, "cut is the join's output (all leaves are sources)");
	tap_ok(ndag_mincut(dag, NDAG_CAP_ROWS, &value, edges, 0, &m) == NDAG_ERR_BUFFER && m == 1,
		   "too small a buffer reports the size needed");
	tap_ok(ndag_mincut(dag, NDAG_CAP_ROWS, &value, NULL, 0, &m) == NDAG_OK && m == 1 &&
		   value == 501, "value only");
	tap_ok(ndag_mincut(dag, 7, &value, NULL, 0, &m) == NDAG_ERR_ARG &&
		   ndag_mincut(NULL, NDAG_CAP_ROWS, &value, NULL, 0, &m) == NDAG_ERR_ARG,
		   "bad mode or NULL rejected");
	ndag_dag_free(dag);

	/* executed: the join really produced 2 million rows, the hash side 3 */
	dag = ndag_dag_create(5);
	for (i = 0; i < 5; i++)
	{
		d[i].has_actuals = true;
		d[i].loops = 1;
	}
	d[0].actual_rows = 1;
	d[1].actual_rows = 2000000;
	d[2].actual_rows = 1000000;
	d[3].actual_rows = 3;
	d[4].actual_rows = 3;
	for (i = 0; i < 5; i++)
		ndag_dag_add_node(dag, &d[i], NULL);
	ndag_dag_add_edge(dag, 1, 0);
	ndag_dag_add_edge(dag, 2, 1);
	ndag_dag_add_edge(dag, 3, 1);
	ndag_dag_add_edge(dag, 4, 3);
	ndag_dag_finalize(dag);
	ndag_mincut(dag, NDAG_CAP_AUTO, &value, edges, 8, &m);
	tap_ok(m == 2 && value == 1000001 + 4 && edges[0].child == 2 &&
		   (edges[1].child == 3 || edges[1].child == 4),
		   "with actuals the cut moves below the exploding join");
	ndag_dag_free(dag);

	/* a single node and a DAG without edges */
	dag = ndag_dag_create(1);
	ndag_dag_add_node(dag, &d[0], NULL);
	ndag_dag_finalize(dag);
	tap_ok(ndag_mincut(dag, NDAG_CAP_ROWS, &value, edges, 8, &m) == NDAG_OK && m == 0 &&
		   value == 0, "single node: empty cut");
	ndag_dag_free(dag);
}

/*
 * test_random_small
 *		Brute force on hundreds of random DAGs of up to 13 nodes, with
 *		shared nodes, several sinks, rows and time capacities.
 */
static void
test_random_small(void)
{
	int			seeds = tap_seeds(400);
	int			wrong = 0;
	int			invalid = 0;
	int			s;

	for (s = 0; s < seeds; s++)
	{
		NdagRng		rng;
		TuGraph		g;
		NdagDag    *dag;
		NdagCutEdge *edges;
		double		value;
		double		expect;
		int			mode = s % 3 == 2 ? NDAG_CAP_TIME : NDAG_CAP_ROWS;
		int			n;
		int			m;
		int			i;

		ndag_rng_seed(&rng, (uint64_t) s * 7919 + 1);
		n = 1 + (int) ndag_rng_below(&rng, 13);
		tu_graph_random(&g, &rng, n, 0.35, 1 + (int) ndag_rng_below(&rng, 3), (int) (s % 3));
		/* small integer rows make ties common */
		if (s % 2 == 0)
			for (i = 0; i < n; i++)
			{
				g.desc[i].plan_rows = (double) ndag_rng_below(&rng, 6);
				g.desc[i].actual_rows = (double) ndag_rng_below(&rng, 6);
			}
		dag = tu_graph_build(&g, &rng);
		edges = malloc(sizeof(NdagCutEdge) * (size_t) (dag->n_edges + 1));
		if (ndag_mincut(dag, mode, &value, edges, dag->n_edges, &m) != NDAG_OK)
			wrong++;
		else
		{
			expect = bf_mincut(dag, mode);
			if (fabs(value - expect) > 1e-9 * (1.0 + expect))
			{
				if (wrong++ < 5)
					tap_diag("seed %d n=%d: mincut %g, brute force %g", s, n, value, expect);
			}
			if (!cut_is_valid(dag, mode, edges, m, value) && invalid++ < 5)
				tap_diag("seed %d: returned edges are not a valid cut", s);
		}
		free(edges);
		ndag_dag_free(dag);
		tu_graph_free(&g);
	}
	tap_ok(wrong == 0, "min cut value equals brute force on %d random DAGs", seeds);
	tap_ok(invalid == 0, "returned edges separate every leaf from the root and sum to the value");
}

/*
 * test_random_medium
 *		Dinic against Edmonds-Karp on DAGs of up to 200 nodes.
 */
static void
test_random_medium(void)
{
	int			seeds = tap_seeds(400) / 4 + 1;
	int			wrong = 0;
	int			invalid = 0;
	int			s;

	for (s = 0; s < seeds; s++)
	{
		NdagRng		rng;
		TuGraph		g;
		NdagDag    *dag;
		NdagCutEdge *edges;
		double		value;
		double		expect;
		int			n;
		int			m;

		ndag_rng_seed(&rng, (uint64_t) s + 424242);
		n = 20 + (int) ndag_rng_below(&rng, 180);
		tu_graph_random(&g, &rng, n, 0.25, 1 + (int) ndag_rng_below(&rng, 3), (int) (s % 2));
		dag = tu_graph_build(&g, NULL);
		edges = malloc(sizeof(NdagCutEdge) * (size_t) (dag->n_edges + 1));
		ndag_mincut(dag, NDAG_CAP_ROWS, &value, edges, dag->n_edges, &m);
		expect = ek_maxflow(dag, NDAG_CAP_ROWS);
		if (fabs(value - expect) > 1e-9 * (1.0 + expect) && wrong++ < 5)
			tap_diag("seed %d n=%d: dinic %.17g, edmonds-karp %.17g", s, n, value, expect);
		if (!cut_is_valid(dag, NDAG_CAP_ROWS, edges, m, value))
			invalid++;
		free(edges);
		ndag_dag_free(dag);
		tu_graph_free(&g);
	}
	tap_ok(wrong == 0, "min cut equals Edmonds-Karp max flow on %d DAGs of 20-200 nodes", seeds);
	tap_ok(invalid == 0, "medium cuts valid");
}

/*
 * test_deep
 *		A 3000-level chain: no recursion limit; the cut is the thinnest
 *		edge.
 */
static void
test_deep(void)
{
	NdagDag    *dag = ndag_dag_create(3000);
	NdagCutEdge edge;
	double		value;
	int			m;
	int			i;

	for (i = 0; i < 3000; i++)
	{
		NdagNodeDesc d = tu_desc(NDAG_OP_SORT, i == 1777 ? 3 : 1000 + i, 10);

		ndag_dag_add_node(dag, &d, NULL);
	}
	for (i = 0; i + 1 < 3000; i++)
		ndag_dag_add_edge(dag, i + 1, i);
	ndag_dag_finalize(dag);
	tap_ok(ndag_mincut(dag, NDAG_CAP_ROWS, &value, &edge, 1, &m) == NDAG_OK && m == 1 &&
		   edge.child == 1777 && edge.parent == 1776 && value == 4,
		   "3000-level chain: cut at the thinnest edge");
	ndag_dag_free(dag);
}

/*
 * test_gated
 *		mincut_gated passes the cut's nodes at 1.0 and the rest at the
 *		threshold: with equal work, a cut node weighs 1/threshold times
 *		any other.
 */
static void
test_gated(void)
{
	NdagDag    *dag = ndag_dag_create(4);
	NdagAttnParams p;
	double		w[4];
	double		w2[4];
	int			i;

	for (i = 0; i < 4; i++)
	{
		NdagNodeDesc d = tu_desc(NDAG_OP_SORT, i == 2 ? 5 : 1000, 10.0 * (4 - i));

		ndag_dag_add_node(dag, &d, NULL);
	}
	for (i = 0; i + 1 < 4; i++)
		ndag_dag_add_edge(dag, i + 1, i);
	ndag_dag_finalize(dag);
	ndag_attn_params_init(&p);
	tap_ok(ndag_attention_mincut_gated(dag, &p, w) == NDAG_OK && tu_weights_valid(w, 4),
		   "mincut_gated weights valid");
	tap_ok(fabs(w[2] / w[0] - 2.0) < 1e-9 && fabs(w[1] - w[0]) < 1e-12 &&
		   fabs(w[3] - w[0]) < 1e-12, "cut node weighs 1/threshold = 2x the others");
	p.mincut_threshold = 0.1;
	ndag_attention_mincut_gated(dag, &p, w2);
	tap_ok(fabs(w2[2] / w2[0] - 10.0) < 1e-9, "threshold 0.1 gives 10x");
	p.mincut_threshold = 1.5;
	tap_ok(ndag_attention_mincut_gated(dag, &p, w2) == NDAG_ERR_ARG, "threshold > 1 rejected");
	ndag_dag_free(dag);
}

int
main(void)
{
	test_hand_built();
	test_random_small();
	test_random_medium();
	test_deep();
	test_gated();
	return tap_done();
}
