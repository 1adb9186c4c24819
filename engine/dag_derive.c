/*-------------------------------------------------------------------------
 *
 * dag_derive.c
 *	  The per-node quantities ndag_dag_finalize derives once: depths and the
 *	  shortest-path tree, self cost and time, input cones, the critical path
 *	  and the branches under forks.
 *
 * Every step is a pass over the topological order (or its reverse) and
 * costs O(n + e), except the exact input-cone counts of nodes above a
 * shared node, which use bitsets over the m nodes that feed a shared node:
 * O(e * m / 64) time and n * m / 8 bytes, only when there is sharing.
 *
 *-------------------------------------------------------------------------
 */
#include "dag.h"
#include "dag_internal.h"
#include "engine.h"

#include <stdlib.h>
#include <string.h>

/*
 * ndag_derive_depths
 *		Breadth-first search from the sinks (depth 0) along input edges: a
 *		node's depth is its shortest distance to the root and tree_parent
 *		the consumer that first reached it.  Also the subtree sizes of that
 *		shortest-path tree, and the root statistics.
 */
int
ndag_derive_depths(NdagDag *dag)
{
	int			n = dag->n_nodes;
	int		   *queue = malloc(sizeof(int) * (size_t) n);
	int			head = 0;
	int			tail = 0;
	int			i;

	if (queue == NULL)
		return NDAG_ERR_NOMEM;
	for (i = 0; i < n; i++)
	{
		dag->nodes[i].depth = -1;
		dag->nodes[i].tree_parent = -1;
		dag->nodes[i].tree_size = 1;
	}
	for (i = 0; i < dag->n_sinks; i++)
	{
		dag->nodes[dag->sinks[i]].depth = 0;
		queue[tail++] = dag->sinks[i];
	}
	dag->max_depth = 0;
	while (head < tail)
	{
		int			v = queue[head++];
		int			k;

		if (dag->nodes[v].depth > dag->max_depth)
			dag->max_depth = dag->nodes[v].depth;
		for (k = dag->in_off[v]; k < dag->in_off[v + 1]; k++)
		{
			int			c = dag->in_idx[k];

			if (dag->nodes[c].depth < 0)
			{
				dag->nodes[c].depth = dag->nodes[v].depth + 1;
				dag->nodes[c].tree_parent = v;
				queue[tail++] = c;
			}
		}
	}
	free(queue);

	/* subtree sizes of the shortest-path tree: inputs come first in topo */
	for (i = 0; i < n; i++)
	{
		int			v = dag->topo[i];
		int			p = dag->nodes[v].tree_parent;

		if (p >= 0)
			dag->nodes[p].tree_size += dag->nodes[v].tree_size;
	}

	dag->root_total_cost = 0.0;
	dag->root_rows = 0.0;
	dag->total_actual_ms = 0.0;
	for (i = 0; i < dag->n_sinks; i++)
	{
		NdagNodeDesc *d = &dag->nodes[dag->sinks[i]].desc;

		dag->root_total_cost += d->total_cost;
		dag->root_rows += d->plan_rows;
		dag->total_actual_ms += d->actual_total_ms;
	}
	return NDAG_OK;
}

/*
 * ndag_derive_self_costs
 *		Self cost = total cost minus the inputs' total costs, self time the
 *		same with actual totals, both clamped at 0 (a nested loop's inner
 *		input is costed per loop, so the difference can be negative).  Work
 *		is self time when the DAG has timed actuals, else self cost: a plan
 *		executed with rows counted but no per-node timing falls back to the
 *		estimates rather than taking its unknown times as 0 ms.
 */
void
ndag_derive_self_costs(NdagDag *dag)
{
	int			n = dag->n_nodes;
	int			i;

	dag->has_actuals = false;
	dag->has_timing = false;
	dag->n_joins = 0;
	for (i = 0; i < n; i++)
	{
		NdagNode   *node = &dag->nodes[i];
		double		cost = node->desc.total_cost;
		double		time = node->desc.actual_total_ms;
		int			k;

		if (node->desc.has_actuals)
			dag->has_actuals = true;
		if (node->desc.has_actuals && !node->desc.untimed)
			dag->has_timing = true;
		if (node->desc.join_type != NDAG_JOIN_NONE ||
			node->desc.op_class == NDAG_OP_NESTLOOP ||
			node->desc.op_class == NDAG_OP_HASHJOIN ||
			node->desc.op_class == NDAG_OP_MERGEJOIN)
			dag->n_joins++;
		for (k = dag->in_off[i]; k < dag->in_off[i + 1]; k++)
		{
			NdagNodeDesc *in = &dag->nodes[dag->in_idx[k]].desc;

			cost -= in->total_cost;
			time -= in->actual_total_ms;
		}
		node->self_cost = cost > 0.0 ? cost : 0.0;
		node->self_time_ms = (node->desc.has_actuals && !node->desc.untimed &&
							  time > 0.0) ? time : 0.0;
	}

	dag->total_work = 0.0;
	for (i = 0; i < n; i++)
	{
		NdagNode   *node = &dag->nodes[i];

		node->work = dag->has_timing ? node->self_time_ms : node->self_cost;
		dag->total_work += node->work;
	}
}

/*
 * ndag_derive_cones
 *		Exact size, cost and work of each node's input cone.
 *
 * Let M be the shared nodes (several consumers) and everything feeding
 * them.  A node outside M has one consumer, itself outside M, so it is
 * reached from any node above it by exactly one path: summing the outside
 * parts over inputs counts it exactly once.  The M part of a cone is a
 * bitset over M, OR-ed along the edges, counted at the end.  Plans without
 * sharing have M empty and need no bitsets.
 */
int
ndag_derive_cones(NdagDag *dag)
{
	int			n = dag->n_nodes;
	int		   *mindex;			/* position in M, or -1 */
	int		   *mnode;			/* node of each position in M */
	int			m = 0;
	int			words;
	uint64_t   *bits = NULL;
	int			i;

	mindex = malloc(sizeof(int) * (size_t) n);
	mnode = malloc(sizeof(int) * (size_t) n);
	if (mindex == NULL || mnode == NULL)
	{
		free(mindex);
		free(mnode);
		return NDAG_ERR_NOMEM;
	}

	/* membership in M, consumers before inputs */
	for (i = n - 1; i >= 0; i--)
	{
		int			v = dag->topo[i];
		bool		in_m = dag->nodes[v].n_consumers >= 2;
		int			k;

		for (k = dag->out_off[v]; k < dag->out_off[v + 1] && !in_m; k++)
			if (mindex[dag->out_idx[k]] >= 0)
				in_m = true;
		mindex[v] = -1;
		if (in_m)
		{
			mindex[v] = m;
			mnode[m++] = v;
		}
	}

	words = (m + 63) / 64;
	if (m > 0)
	{
		bits = calloc((size_t) n * (size_t) words, sizeof(uint64_t));
		if (bits == NULL)
		{
			free(mindex);
			free(mnode);
			return NDAG_ERR_NOMEM;
		}
	}

	/*
	 * Inputs before consumers.  While this loop runs, the cone fields hold
	 * only the part outside M.
	 */
	for (i = 0; i < n; i++)
	{
		int			v = dag->topo[i];
		NdagNode   *node = &dag->nodes[v];
		uint64_t   *vb = bits ? bits + (size_t) v * words : NULL;
		int			k;

		node->cone_size = 0;
		node->cone_cost = 0.0;
		node->cone_work = 0.0;
		for (k = dag->in_off[v]; k < dag->in_off[v + 1]; k++)
		{
			int			c = dag->in_idx[k];
			NdagNode   *in = &dag->nodes[c];

			if (vb != NULL)
			{
				uint64_t   *cb = bits + (size_t) c * words;
				int			w;

				for (w = 0; w < words; w++)
					vb[w] |= cb[w];
			}
			if (mindex[c] < 0)
			{
				node->cone_size += in->cone_size + 1;
				node->cone_cost += in->cone_cost + in->self_cost;
				node->cone_work += in->cone_work + in->work;
			}
			else
				vb[mindex[c] / 64] |= UINT64_C(1) << (mindex[c] % 64);
		}
	}

	/* add the M part of every cone */
	for (i = 0; bits != NULL && i < n; i++)
	{
		NdagNode   *node = &dag->nodes[i];
		uint64_t   *vb = bits + (size_t) i * words;
		int			w;

		for (w = 0; w < words; w++)
		{
			uint64_t	x = vb[w];

			while (x != 0)
			{
				NdagNode   *in = &dag->nodes[mnode[w * 64 + __builtin_ctzll(x)]];

				node->cone_size++;
				node->cone_cost += in->self_cost;
				node->cone_work += in->work;
				x &= x - 1;
			}
		}
	}

	free(bits);
	free(mindex);
	free(mnode);
	return NDAG_OK;
}

/*
 * ndag_derive_critical_path
 *		Longest path by work from the root (or the best sink) to a leaf:
 *		best[v] = work[v] + max over inputs, inputs first.  Ties go to the
 *		input listed first.
 */
int
ndag_derive_critical_path(NdagDag *dag)
{
	int			n = dag->n_nodes;
	double	   *best = malloc(sizeof(double) * (size_t) n);
	int		   *next = malloc(sizeof(int) * (size_t) n);
	int			v;
	int			i;

	dag->critical_path = malloc(sizeof(int) * (size_t) n);
	dag->critical_len = 0;
	dag->critical_work = 0.0;
	if (best == NULL || next == NULL || dag->critical_path == NULL)
	{
		free(best);
		free(next);
		return NDAG_ERR_NOMEM;
	}

	for (i = 0; i < n; i++)
	{
		int			u = dag->topo[i];
		int			k;

		next[u] = -1;
		best[u] = 0.0;
		for (k = dag->in_off[u]; k < dag->in_off[u + 1]; k++)
		{
			int			c = dag->in_idx[k];

			if (next[u] < 0 || best[c] > best[next[u]])
				next[u] = c;
		}
		best[u] = dag->nodes[u].work + (next[u] >= 0 ? best[next[u]] : 0.0);
	}

	v = dag->sinks[0];
	for (i = 1; i < dag->n_sinks; i++)
		if (best[dag->sinks[i]] > best[v])
			v = dag->sinks[i];
	dag->critical_work = best[v];
	while (v >= 0)
	{
		dag->nodes[v].on_critical_path = true;
		dag->critical_path[dag->critical_len++] = v;
		v = next[v];
	}
	free(best);
	free(next);
	return NDAG_OK;
}

/*
 * ndag_derive_branches
 *		For every fork (node with two or more inputs), the imbalance of its
 *		branches: max minus min share of inclusive work.  For every node,
 *		the nearest fork on its shortest-path-tree route to the root and the
 *		fork's input it lies under.
 */
void
ndag_derive_branches(NdagDag *dag)
{
	int			n = dag->n_nodes;
	int			i;

	for (i = 0; i < n; i++)
	{
		NdagNode   *node = &dag->nodes[i];
		double		sum = 0.0;
		double		lo = 0.0;
		double		hi = 0.0;
		int			k;

		node->fork_imbalance = 0.0;
		if (node->n_inputs < 2)
			continue;
		for (k = dag->in_off[i]; k < dag->in_off[i + 1]; k++)
		{
			NdagNode   *in = &dag->nodes[dag->in_idx[k]];

			sum += in->work + in->cone_work;
		}
		if (!(sum > 0.0))
			continue;
		for (k = dag->in_off[i]; k < dag->in_off[i + 1]; k++)
		{
			NdagNode   *in = &dag->nodes[dag->in_idx[k]];
			double		s = (in->work + in->cone_work) / sum;

			if (k == dag->in_off[i] || s < lo)
				lo = s;
			if (k == dag->in_off[i] || s > hi)
				hi = s;
		}
		node->fork_imbalance = hi - lo;
	}

	/* consumers before inputs, so a tree parent is done before its child */
	for (i = n - 1; i >= 0; i--)
	{
		int			v = dag->topo[i];
		int			p = dag->nodes[v].tree_parent;

		dag->nodes[v].branch_fork = -1;
		dag->nodes[v].branch_input = -1;
		if (p < 0)
			continue;
		if (dag->nodes[p].n_inputs >= 2)
		{
			dag->nodes[v].branch_fork = p;
			dag->nodes[v].branch_input = v;
		}
		else
		{
			dag->nodes[v].branch_fork = dag->nodes[p].branch_fork;
			dag->nodes[v].branch_input = dag->nodes[p].branch_input;
		}
	}
}
