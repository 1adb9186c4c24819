/*-------------------------------------------------------------------------
 *
 * attention_structure.c
 *	  The mechanisms that follow the DAG's structure directly: topological,
 *	  causal_cone, critical_path and parallel_branch (DESIGN.md section 4).
 *
 * All read quantities ndag_dag_finalize derived once (depths, tree
 * parents, cones, critical path, fork imbalances) and cost O(n) or
 * O(n * k).  The per-node arithmetic is scalar and branchy, so there is no
 * BLAS call here.
 *
 *-------------------------------------------------------------------------
 */
#include "attention.h"
#include "attention_internal.h"
#include "dag.h"
#include "engine.h"

#include <math.h>
#include <stdlib.h>

/*
 * ndag_work_share
 *		A node's share of the plan's work, or 0 when there is no work.
 */
static inline double
ndag_work_share(const NdagDag *dag, double work)
{
	return dag->total_work > 0.0 ? work / dag->total_work : 0.0;
}

/*
 * ndag_attention_topological
 *		Every node v attends over its context: itself and its topo_k nearest
 *		ancestors on its shortest path to the root, with logits
 *		depth(u) * ln(topo_decay), i.e. softmax weights proportional to
 *		topo_decay ^ depth(u).  A node's weight is the attention it receives,
 *		averaged over all nodes.  Ancestors along the tree route have depths
 *		d - 1, d - 2, ..., so each context costs O(k) with a geometric sum.
 */
int
ndag_attention_topological(const NdagDag *dag, const NdagAttnParams *params,
						   double *weights)
{
	double		decay;
	int			n;
	int			rc;
	int			v;

	if ((rc = ndag_attn_check(dag, params, weights)) != NDAG_OK)
		return rc;
	n = dag->n_nodes;
	decay = params->topo_decay;
	for (v = 0; v < n; v++)
		weights[v] = 0.0;

	for (v = 0; v < n; v++)
	{
		int			d = dag->nodes[v].depth;
		int			j = d < params->topo_k ? d : params->topo_k;
		double		z = 0.0;
		double		term = 1.0;
		int			u;
		int			i;

		/* softmax denominator, relative to the shallowest context member */
		for (i = 0; i <= j; i++)
		{
			z += term;
			term *= decay;
		}
		/* walk from v up: v has relative exponent j, its parent j - 1, ... */
		u = v;
		term = pow(decay, (double) j);
		for (i = 0; i <= j && u >= 0; i++)
		{
			weights[u] += term / z;
			term = decay > 0.0 ? term / decay : 0.0;
			u = dag->nodes[u].tree_parent;
		}
	}
	ndag_normalize_weights(weights, n);
	return NDAG_OK;
}

/*
 * ndag_attention_causal_cone
 *		The mean of the node's cone share by count ((cone + 1) / n) and by
 *		inclusive work, discounted by cone_discount per level of depth.
 */
int
ndag_attention_causal_cone(const NdagDag *dag, const NdagAttnParams *params,
						   double *weights)
{
	int			n;
	int			rc;
	int			v;

	if ((rc = ndag_attn_check(dag, params, weights)) != NDAG_OK)
		return rc;
	n = dag->n_nodes;
	for (v = 0; v < n; v++)
	{
		const NdagNode *node = &dag->nodes[v];
		double		count_share = (node->cone_size + 1.0) / n;
		double		work_share = dag->total_work > 0.0 ?
		(node->work + node->cone_work) / dag->total_work : count_share;

		if (work_share > 1.0)	/* shared inputs counted under each consumer */
			work_share = 1.0;
		weights[v] = pow(params->cone_discount, (double) node->depth) *
			0.5 * (count_share + work_share);
	}
	ndag_normalize_weights(weights, n);
	return NDAG_OK;
}

/*
 * ndag_attention_critical_path
 *		1 - critical_off_share of the mass to the critical path (the path of
 *		most work: actual self time when known, else estimated self cost),
 *		the rest to the other nodes.  Within each group half the mass is
 *		even and half by work, so a zero-work node on the path still counts.
 */
int
ndag_attention_critical_path(const NdagDag *dag, const NdagAttnParams *params,
							 double *weights)
{
	double		on_mass = 1.0 - params->critical_off_share;
	double		off_mass = params->critical_off_share;
	double		on_work = 0.0;
	double		off_work = 0.0;
	int			on_n = 0;
	int			off_n = 0;
	int			n;
	int			rc;
	int			v;

	if ((rc = ndag_attn_check(dag, params, weights)) != NDAG_OK)
		return rc;
	n = dag->n_nodes;
	for (v = 0; v < n; v++)
	{
		if (dag->nodes[v].on_critical_path)
		{
			on_n++;
			on_work += dag->nodes[v].work;
		}
		else
		{
			off_n++;
			off_work += dag->nodes[v].work;
		}
	}
	for (v = 0; v < n; v++)
	{
		const NdagNode *node = &dag->nodes[v];
		bool		on = node->on_critical_path;
		double		mass = on ? on_mass : off_mass;
		double		cnt = on ? on_n : off_n;
		double		wsum = on ? on_work : off_work;
		double		byw = wsum > 0.0 ? node->work / wsum : 1.0 / cnt;

		weights[v] = mass * (0.5 / cnt + 0.5 * byw);
	}
	ndag_normalize_weights(weights, n);
	return NDAG_OK;
}

/*
 * ndag_attention_parallel_branch
 *		Mass flows from the root(s) to the leaves, consumers first.  A node
 *		with one input passes its whole mass down.  A fork splits it among
 *		its inputs by the share s_i of each branch's inclusive work (work +
 *		cone work), sharpened to s_i ^ (1 + branch_sharpen * imbalance) and
 *		renormalised, so that a lopsided fork sends even more attention to
 *		its straggler while a balanced one stays even.  The fork itself
 *		weighs (1 + imbalance) times its mass: it waits on the slowest
 *		branch.  A node with several consumers collects mass from each.
 */
int
ndag_attention_parallel_branch(const NdagDag *dag, const NdagAttnParams *params,
							   double *weights)
{
	double	   *mass;
	int			n;
	int			rc;
	int			i;

	if ((rc = ndag_attn_check(dag, params, weights)) != NDAG_OK)
		return rc;
	n = dag->n_nodes;
	mass = calloc((size_t) n, sizeof(double));
	if (mass == NULL)
		return NDAG_ERR_NOMEM;
	for (i = 0; i < dag->n_sinks; i++)
		mass[dag->sinks[i]] = 1.0 / dag->n_sinks;

	for (i = n - 1; i >= 0; i--)
	{
		int			v = dag->topo[i];
		const NdagNode *node = &dag->nodes[v];
		int			lo = dag->in_off[v];
		int			hi = dag->in_off[v + 1];
		double		imb = node->fork_imbalance;
		int			k;

		weights[v] = mass[v] * (1.0 + imb);
		if (hi - lo == 1)
			mass[dag->in_idx[lo]] += mass[v];
		else if (hi - lo >= 2)
		{
			double		beta = 1.0 + params->branch_sharpen * imb;
			double		sum = 0.0;
			double		psum = 0.0;

			for (k = lo; k < hi; k++)
			{
				const NdagNode *in = &dag->nodes[dag->in_idx[k]];

				sum += in->work + in->cone_work;
			}
			for (k = lo; k < hi; k++)
			{
				const NdagNode *in = &dag->nodes[dag->in_idx[k]];
				double		s = sum > 0.0 ? (in->work + in->cone_work) / sum : 1.0;

				psum += pow(s, beta);
			}
			for (k = lo; k < hi; k++)
			{
				const NdagNode *in = &dag->nodes[dag->in_idx[k]];
				double		s = sum > 0.0 ? (in->work + in->cone_work) / sum : 1.0;
				double		p = psum > 0.0 ? pow(s, beta) / psum : 1.0 / (hi - lo);

				mass[dag->in_idx[k]] += mass[v] * p;
			}
		}
	}
	free(mass);
	ndag_normalize_weights(weights, n);
	return NDAG_OK;
}

/*
 * ndag_node_base_weight
 *		(1/n + work share) / 2: the cost-aware base that mincut_gated,
 *		hierarchical_lorentz and temporal_btsp scale.  Sums to 1 over the
 *		nodes and is positive for every node.
 */
double
ndag_node_base_weight(const NdagDag *dag, int v)
{
	if (!(dag->total_work > 0.0))
		return 1.0 / dag->n_nodes;
	return 0.5 * (1.0 / dag->n_nodes + ndag_work_share(dag, dag->nodes[v].work));
}
