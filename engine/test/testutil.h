/*-------------------------------------------------------------------------
 *
 * testutil.h
 *	  Random plan-like DAGs, random unit vectors and planted clusters, and
 *	  small helpers shared by the engine tests and benchmarks.
 *
 * A graph is generated on logical indexes 0..n-1 where every edge runs
 * from a higher index (input) to a lower one (consumer), so it is acyclic;
 * tu_graph_build may insert the nodes in a shuffled order, and perm maps a
 * logical index to the node id in the built DAG.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_TESTUTIL_H
#define NDAG_TESTUTIL_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dag.h"
#include "engine.h"

typedef struct TuGraph
{
	int			n;
	int			n_edges;
	int		   *child;			/* logical edge list */
	int		   *parent;
	NdagNodeDesc *desc;			/* logical node descriptions */
	int		   *perm;			/* logical index -> node id in the DAG */
} TuGraph;

/*
 * tu_graph_random
 *		n nodes, the first n_roots without consumer, every other node with
 *		one consumer of lower index and, with probability p_share, a second
 *		one (a shared subplan).  Costs are consistent (total = self + inputs)
 *		except for an occasional node whose total is below its inputs'.
 *		actuals: 0 none, 1 every node, 2 a random half.
 */
static inline void
tu_graph_random(TuGraph *g, NdagRng *rng, int n, double p_share, int n_roots,
				int actuals)
{
	double	   *acc_cost = calloc((size_t) n, sizeof(double));
	double	   *acc_time = calloc((size_t) n, sizeof(double));
	int		   *first_edge = malloc(sizeof(int) * ((size_t) n + 1));
	int			i;

	if (n_roots < 1)
		n_roots = 1;
	if (n_roots > n)
		n_roots = n;
	g->n = n;
	g->n_edges = 0;
	g->child = malloc(sizeof(int) * (size_t) (2 * n + 1));
	g->parent = malloc(sizeof(int) * (size_t) (2 * n + 1));
	g->desc = malloc(sizeof(NdagNodeDesc) * (size_t) n);
	g->perm = malloc(sizeof(int) * (size_t) n);

	for (i = 0; i < n; i++)
	{
		first_edge[i] = g->n_edges;
		if (i < n_roots)
			continue;
		g->child[g->n_edges] = i;
		g->parent[g->n_edges] = (int) ndag_rng_below(rng, (uint64_t) i);
		g->n_edges++;
		if (i >= 2 && ndag_rng_uniform(rng) < p_share)
		{
			int			p2 = (int) ndag_rng_below(rng, (uint64_t) i);

			if (p2 != g->parent[g->n_edges - 1])
			{
				g->child[g->n_edges] = i;
				g->parent[g->n_edges] = p2;
				g->n_edges++;
			}
		}
	}
	first_edge[n] = g->n_edges;

	for (i = n - 1; i >= 0; i--)
	{
		NdagNodeDesc *d = &g->desc[i];
		double		self = ndag_rng_uniform(rng) < 0.1 ? 0.0 :
		exp(ndag_rng_uniform(rng) * 8.0) - 1.0;
		double		tself = exp(ndag_rng_uniform(rng) * 5.0) - 1.0;
		int			k;

		ndag_node_desc_init(d);
		d->op_class = (int) ndag_rng_below(rng, NDAG_N_OP_CLASSES);
		d->node_tag = (int) ndag_rng_below(rng, 40);
		d->join_type = (int) ndag_rng_below(rng, NDAG_N_JOIN_TYPES);
		d->plan_rows = ndag_rng_uniform(rng) < 0.05 ? 0.0 :
			floor(exp(ndag_rng_uniform(rng) * 12.0));
		d->total_cost = self + acc_cost[i];
		if (ndag_rng_uniform(rng) < 0.1)
			d->total_cost = 0.5 * acc_cost[i];
		d->startup_cost = d->total_cost * ndag_rng_uniform(rng);
		d->plan_width = (double) ndag_rng_below(rng, 200);
		d->rel_pages = (double) ndag_rng_below(rng, 10000);
		d->nquals = (int) ndag_rng_below(rng, 4);
		d->parallel_aware = ndag_rng_below(rng, 4) == 0;
		d->rel_oid = 16384 + (uint32_t) ndag_rng_below(rng, 8);
		d->index_oid = ndag_rng_below(rng, 2) ? 0 : 20000 + (uint32_t) ndag_rng_below(rng, 8);
		d->qual_hash = ndag_rng_next(rng);
		d->has_actuals = actuals == 1 || (actuals == 2 && ndag_rng_below(rng, 2) == 0);
		if (d->has_actuals)
		{
			d->loops = 1.0 + (double) ndag_rng_below(rng, 3);
			d->actual_rows = floor(exp(ndag_rng_uniform(rng) * 12.0));
			d->actual_total_ms = tself + acc_time[i];
		}
		for (k = first_edge[i]; k < first_edge[i + 1]; k++)
		{
			acc_cost[g->parent[k]] += d->total_cost;
			acc_time[g->parent[k]] += d->has_actuals ? d->actual_total_ms : 0.0;
		}
	}
	free(acc_cost);
	free(acc_time);
	free(first_edge);
}

/*
 * tu_graph_build
 *		The NdagDag of a graph, finalized; nodes inserted in a random order
 *		when shuffle is not NULL.  NULL if any engine call failed.
 */
static inline NdagDag *
tu_graph_build(TuGraph *g, NdagRng *shuffle)
{
	NdagDag    *dag = ndag_dag_create(g->n);
	int		   *order = malloc(sizeof(int) * (size_t) g->n);
	int			i;

	for (i = 0; i < g->n; i++)
		order[i] = i;
	if (shuffle != NULL)
	{
		for (i = g->n - 1; i > 0; i--)
		{
			int			j = (int) ndag_rng_below(shuffle, (uint64_t) i + 1);
			int			t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
	}
	for (i = 0; i < g->n; i++)
	{
		int			id;

		if (ndag_dag_add_node(dag, &g->desc[order[i]], &id) != NDAG_OK)
			goto fail;
		g->perm[order[i]] = id;
	}
	for (i = 0; i < g->n_edges; i++)
		if (ndag_dag_add_edge(dag, g->perm[g->child[i]], g->perm[g->parent[i]]) != NDAG_OK)
			goto fail;
	if (ndag_dag_finalize(dag) != NDAG_OK)
		goto fail;
	free(order);
	return dag;
fail:
	free(order);
	ndag_dag_free(dag);
	return NULL;
}

/*
 * tu_graph_free
 *		Release a graph's arrays.
 */
static inline void
tu_graph_free(TuGraph *g)
{
	free(g->child);
	free(g->parent);
	free(g->desc);
	free(g->perm);
	memset(g, 0, sizeof(TuGraph));
}

/*
 * tu_weights_valid
 *		Non-negative, finite, summing to 1 within 1e-9.
 */
static inline int
tu_weights_valid(const double *w, int n)
{
	double		sum = 0.0;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (!isfinite(w[i]) || w[i] < 0.0)
			return 0;
		sum += w[i];
	}
	return fabs(sum - 1.0) < 1e-9;
}

/*
 * tu_desc
 *		A node description with the common fields set.
 */
static inline NdagNodeDesc
tu_desc(int op_class, double rows, double total_cost)
{
	NdagNodeDesc d;

	ndag_node_desc_init(&d);
	d.op_class = op_class;
	d.plan_rows = rows;
	d.total_cost = total_cost;
	d.startup_cost = total_cost / 10.0;
	d.plan_width = 8.0;
	return d;
}

/*
 * tu_chain
 *		A finalized chain of n nodes, node 0 the root, node i consuming
 *		node i + 1; each node costs 10 on its own.
 */
static inline NdagDag *
tu_chain(int n)
{
	NdagDag    *dag = ndag_dag_create(n);
	int			i;

	for (i = 0; i < n; i++)
	{
		NdagNodeDesc d = tu_desc(i == n - 1 ? NDAG_OP_SEQSCAN : NDAG_OP_SORT,
								 100.0, 10.0 * (n - i));

		ndag_dag_add_node(dag, &d, NULL);
	}
	for (i = 0; i + 1 < n; i++)
		ndag_dag_add_edge(dag, i + 1, i);
	if (ndag_dag_finalize(dag) != NDAG_OK)
	{
		ndag_dag_free(dag);
		return NULL;
	}
	return dag;
}

/*
 * tu_random_unit
 *		A random unit vector of NDAG_EMBED_DIM floats: Gaussian coordinates,
 *		L2-normalised.
 */
static inline void
tu_random_unit(NdagRng *rng, float *v)
{
	double		s = 0.0;
	int			i;

	for (i = 0; i < NDAG_EMBED_DIM; i++)
	{
		v[i] = (float) ndag_rng_normal(rng);
		s += (double) v[i] * v[i];
	}
	for (i = 0; i < NDAG_EMBED_DIM; i++)
		v[i] = (float) (v[i] / sqrt(s));
}

/*
 * tu_near_unit
 *		A member of a cluster planted around centre: centre plus Gaussian
 *		noise of standard deviation `noise` per coordinate, L2-normalised
 *		(NDAG_EMBED_DIM floats).
 */
static inline void
tu_near_unit(NdagRng *rng, const float *centre, double noise, float *v)
{
	double		s = 0.0;
	int			i;

	for (i = 0; i < NDAG_EMBED_DIM; i++)
	{
		v[i] = centre[i] + (float) (noise * ndag_rng_normal(rng));
		s += (double) v[i] * v[i];
	}
	for (i = 0; i < NDAG_EMBED_DIM; i++)
		v[i] = (float) (v[i] / sqrt(s));
}

#endif							/* NDAG_TESTUTIL_H */
