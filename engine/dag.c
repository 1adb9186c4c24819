/*-------------------------------------------------------------------------
 *
 * dag.c
 *	  Building a plan DAG: create, add nodes and edges, finalize (adjacency,
 *	  topological order, then the derivations of dag_derive.c and the
 *	  features of features.c).
 *
 *-------------------------------------------------------------------------
 */
#include "dag.h"
#include "dag_internal.h"
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * ndag_dag_create
 *		An empty DAG with room for node_hint nodes.
 */
NdagDag *
ndag_dag_create(int node_hint)
{
	NdagDag    *dag = calloc(1, sizeof(NdagDag));

	if (dag == NULL)
		return NULL;
	if (node_hint < 4)
		node_hint = 4;
	if (node_hint > NDAG_MAX_NODES)
		node_hint = NDAG_MAX_NODES;
	dag->nodes = malloc(sizeof(NdagNode) * (size_t) node_hint);
	dag->edge_child = malloc(sizeof(int) * (size_t) node_hint);
	dag->edge_parent = malloc(sizeof(int) * (size_t) node_hint);
	if (dag->nodes == NULL || dag->edge_child == NULL || dag->edge_parent == NULL)
	{
		ndag_dag_free(dag);
		return NULL;
	}
	dag->cap_nodes = node_hint;
	dag->cap_edges = node_hint;
	dag->root = NDAG_VIRTUAL_ROOT;
	return dag;
}

/*
 * ndag_dag_free
 *		Release the DAG and all its arrays.
 */
void
ndag_dag_free(NdagDag *dag)
{
	if (dag == NULL)
		return;
	free(dag->nodes);
	free(dag->in_off);
	free(dag->in_idx);
	free(dag->out_off);
	free(dag->out_idx);
	free(dag->topo);
	free(dag->sinks);
	free(dag->critical_path);
	free(dag->features);
	free(dag->edge_child);
	free(dag->edge_parent);
	free(dag);
}

/*
 * ndag_node_desc_init
 *		A description of an unknown operator with no estimates.
 */
void
ndag_node_desc_init(NdagNodeDesc *desc)
{
	if (desc == NULL)
		return;
	memset(desc, 0, sizeof(NdagNodeDesc));
	desc->op_class = NDAG_OP_OTHER;
	desc->join_type = NDAG_JOIN_NONE;
}

/*
 * ndag_sanitize
 *		A non-negative finite number no larger than NDAG_HUGE_VALUE.
 */
static double
ndag_sanitize(double x)
{
	if (isnan(x) || x < 0.0)
		return 0.0;
	if (x > NDAG_HUGE_VALUE)
		return NDAG_HUGE_VALUE;
	return x;
}

/*
 * ndag_dag_add_node
 *		Append a sanitised copy of desc.  Derived fields are filled in by
 *		finalize.
 */
int
ndag_dag_add_node(NdagDag *dag, const NdagNodeDesc *desc, int *node_id)
{
	NdagNode   *node;

	if (dag == NULL || desc == NULL)
		return NDAG_ERR_ARG;
	if (dag->finalized)
		return NDAG_ERR_STATE;
	if (desc->op_class < 0 || desc->op_class >= NDAG_N_OP_CLASSES ||
		desc->join_type < 0 || desc->join_type >= NDAG_N_JOIN_TYPES)
		return NDAG_ERR_ARG;
	if (dag->n_nodes >= NDAG_MAX_NODES)
		return NDAG_ERR_NOMEM;
	if (dag->n_nodes == dag->cap_nodes)
	{
		int			cap = dag->cap_nodes * 2;
		NdagNode   *grown;

		if (cap > NDAG_MAX_NODES)
			cap = NDAG_MAX_NODES;
		grown = realloc(dag->nodes, sizeof(NdagNode) * (size_t) cap);
		if (grown == NULL)
			return NDAG_ERR_NOMEM;
		dag->nodes = grown;
		dag->cap_nodes = cap;
	}

	node = &dag->nodes[dag->n_nodes];
	memset(node, 0, sizeof(NdagNode));
	node->desc = *desc;
	node->desc.plan_rows = ndag_sanitize(desc->plan_rows);
	node->desc.startup_cost = ndag_sanitize(desc->startup_cost);
	node->desc.total_cost = ndag_sanitize(desc->total_cost);
	node->desc.plan_width = ndag_sanitize(desc->plan_width);
	node->desc.rel_pages = ndag_sanitize(desc->rel_pages);
	node->desc.actual_rows = ndag_sanitize(desc->actual_rows);
	node->desc.actual_total_ms = ndag_sanitize(desc->actual_total_ms);
	node->desc.loops = ndag_sanitize(desc->loops);
	if (node->desc.nquals < 0)
		node->desc.nquals = 0;
	if (!node->desc.has_actuals)
	{
		node->desc.actual_rows = 0.0;
		node->desc.actual_total_ms = 0.0;
		node->desc.loops = 0.0;
		node->desc.untimed = false;
	}
	else if (node->desc.untimed)
		node->desc.actual_total_ms = 0.0;
	node->signature = ndag_signature(desc->op_class, desc->node_tag,
									 desc->rel_oid, desc->index_oid,
									 desc->qual_hash);
	node->tree_parent = -1;
	node->branch_fork = -1;
	node->branch_input = -1;

	if (node_id != NULL)
		*node_id = dag->n_nodes;
	dag->n_nodes++;
	return NDAG_OK;
}

/*
 * ndag_dag_add_edge
 *		Record child -> parent.  Duplicates and cycles longer than a
 *		self-loop are found by finalize, which sees all edges at once.
 */
int
ndag_dag_add_edge(NdagDag *dag, int child, int parent)
{
	if (dag == NULL)
		return NDAG_ERR_ARG;
	if (dag->finalized)
		return NDAG_ERR_STATE;
	if (child < 0 || child >= dag->n_nodes || parent < 0 || parent >= dag->n_nodes)
		return NDAG_ERR_RANGE;
	if (child == parent)
		return NDAG_ERR_CYCLE;
	if (dag->n_edges >= INT32_MAX / 2)
		return NDAG_ERR_NOMEM;
	if (dag->n_edges == dag->cap_edges)
	{
		int			cap = dag->cap_edges * 2;
		int		   *c = realloc(dag->edge_child, sizeof(int) * (size_t) cap);
		int		   *p;

		if (c == NULL)
			return NDAG_ERR_NOMEM;
		dag->edge_child = c;
		p = realloc(dag->edge_parent, sizeof(int) * (size_t) cap);
		if (p == NULL)
			return NDAG_ERR_NOMEM;
		dag->edge_parent = p;
		dag->cap_edges = cap;
	}
	dag->edge_child[dag->n_edges] = child;
	dag->edge_parent[dag->n_edges] = parent;
	dag->n_edges++;
	return NDAG_OK;
}

/*
 * ndag_build_adjacency
 *		Counting sort of the edge list into the input and consumer CSR
 *		arrays (edge insertion order kept within a node), rejecting
 *		duplicate edges with a per-node marker in O(n + e).
 */
static int
ndag_build_adjacency(NdagDag *dag)
{
	int			n = dag->n_nodes;
	int			e = dag->n_edges;
	int		   *fill;
	int			i;

	dag->in_off = calloc((size_t) n + 1, sizeof(int));
	dag->out_off = calloc((size_t) n + 1, sizeof(int));
	dag->in_idx = malloc(sizeof(int) * (size_t) (e > 0 ? e : 1));
	dag->out_idx = malloc(sizeof(int) * (size_t) (e > 0 ? e : 1));
	fill = malloc(sizeof(int) * (size_t) n);
	if (dag->in_off == NULL || dag->out_off == NULL || dag->in_idx == NULL ||
		dag->out_idx == NULL || fill == NULL)
	{
		free(fill);
		return NDAG_ERR_NOMEM;
	}

	for (i = 0; i < e; i++)
	{
		dag->in_off[dag->edge_parent[i] + 1]++;
		dag->out_off[dag->edge_child[i] + 1]++;
	}
	for (i = 0; i < n; i++)
	{
		dag->in_off[i + 1] += dag->in_off[i];
		dag->out_off[i + 1] += dag->out_off[i];
	}

	memcpy(fill, dag->in_off, sizeof(int) * (size_t) n);
	for (i = 0; i < e; i++)
		dag->in_idx[fill[dag->edge_parent[i]]++] = dag->edge_child[i];
	memcpy(fill, dag->out_off, sizeof(int) * (size_t) n);
	for (i = 0; i < e; i++)
		dag->out_idx[fill[dag->edge_child[i]]++] = dag->edge_parent[i];

	/* duplicates: fill[] now serves as "last parent that listed c" */
	for (i = 0; i < n; i++)
		fill[i] = -1;
	for (i = 0; i < n; i++)
	{
		int			k;

		dag->nodes[i].n_inputs = dag->in_off[i + 1] - dag->in_off[i];
		dag->nodes[i].n_consumers = dag->out_off[i + 1] - dag->out_off[i];
		for (k = dag->in_off[i]; k < dag->in_off[i + 1]; k++)
		{
			int			c = dag->in_idx[k];

			if (fill[c] == i)
			{
				free(fill);
				return NDAG_ERR_DUPLICATE;
			}
			fill[c] = i;
		}
	}
	free(fill);
	return NDAG_OK;
}

/*
 * ndag_topo_sort
 *		Kahn's algorithm, leaves first in index order.  A node left over
 *		means a cycle.
 */
static int
ndag_topo_sort(NdagDag *dag)
{
	int			n = dag->n_nodes;
	int		   *remaining;
	int			head = 0;
	int			tail = 0;
	int			i;

	dag->topo = malloc(sizeof(int) * (size_t) n);
	remaining = malloc(sizeof(int) * (size_t) n);
	if (dag->topo == NULL || remaining == NULL)
	{
		free(remaining);
		return NDAG_ERR_NOMEM;
	}
	for (i = 0; i < n; i++)
	{
		remaining[i] = dag->nodes[i].n_inputs;
		if (remaining[i] == 0)
			dag->topo[tail++] = i;
	}
	dag->n_leaves = tail;
	while (head < tail)
	{
		int			v = dag->topo[head++];
		int			k;

		for (k = dag->out_off[v]; k < dag->out_off[v + 1]; k++)
		{
			int			p = dag->out_idx[k];

			if (--remaining[p] == 0)
				dag->topo[tail++] = p;
		}
	}
	free(remaining);
	if (tail != n)
		return NDAG_ERR_CYCLE;
	for (i = 0; i < n; i++)
		dag->nodes[dag->topo[i]].topo_pos = i;
	return NDAG_OK;
}

/*
 * ndag_find_sinks
 *		The nodes without consumer, and the root if there is only one.
 */
static int
ndag_find_sinks(NdagDag *dag)
{
	int			i;

	dag->sinks = malloc(sizeof(int) * (size_t) dag->n_nodes);
	if (dag->sinks == NULL)
		return NDAG_ERR_NOMEM;
	dag->n_sinks = 0;
	for (i = 0; i < dag->n_nodes; i++)
		if (dag->nodes[i].n_consumers == 0)
			dag->sinks[dag->n_sinks++] = i;
	dag->root = dag->n_sinks == 1 ? dag->sinks[0] : NDAG_VIRTUAL_ROOT;
	return NDAG_OK;
}

/*
 * ndag_dag_finalize
 *		Derive everything the mechanisms read.  The builder's edge list is
 *		kept (it is small) so that the caller may still inspect it.
 */
int
ndag_dag_finalize(NdagDag *dag)
{
	int			rc;

	if (dag == NULL)
		return NDAG_ERR_ARG;
	if (dag->finalized || dag->in_off != NULL)
		return NDAG_ERR_STATE;
	if (dag->n_nodes == 0)
		return NDAG_ERR_EMPTY;

	if ((rc = ndag_build_adjacency(dag)) != NDAG_OK)
		return rc;
	if ((rc = ndag_topo_sort(dag)) != NDAG_OK)
		return rc;
	if ((rc = ndag_find_sinks(dag)) != NDAG_OK)
		return rc;
	if ((rc = ndag_derive_depths(dag)) != NDAG_OK)
		return rc;
	ndag_derive_self_costs(dag);
	if ((rc = ndag_derive_cones(dag)) != NDAG_OK)
		return rc;
	if ((rc = ndag_derive_critical_path(dag)) != NDAG_OK)
		return rc;
	ndag_derive_branches(dag);

	dag->features = malloc(sizeof(float) * (size_t) dag->n_nodes * NDAG_FEATURE_DIM);
	if (dag->features == NULL)
		return NDAG_ERR_NOMEM;
	ndag_features_compute(dag);

	dag->finalized = true;
	return NDAG_OK;
}

/*
 * ndag_node_features
 *		Row v of the feature matrix.
 */
const float *
ndag_node_features(const NdagDag *dag, int v)
{
	if (dag == NULL || !dag->finalized || v < 0 || v >= dag->n_nodes)
		return NULL;
	return dag->features + (size_t) v * NDAG_FEATURE_DIM;
}
