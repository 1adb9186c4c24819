/*-------------------------------------------------------------------------
 *
 * mincut.c
 *	  Exact minimum cut of a plan DAG by Dinic's max-flow (DESIGN.md
 *	  section 6), and the mincut_gated mechanism built on it.
 *
 * The flow network: every DAG edge child -> parent is an arc whose
 * capacity is what the child sends (rows, or inclusive time); a
 * super-source feeds every leaf through an unbounded arc; the sink is the
 * root, or under a virtual root a super-sink fed by every sink through an
 * unbounded arc.  Leaves that are also sinks (isolated nodes) are left out:
 * nothing can separate them from themselves.  Every arc has a reverse arc
 * in the residual graph.  Unbounded arcs carry IEEE infinity, which
 * subtracting a finite flow leaves unbounded.
 *
 * Dinic's algorithm: BFS levels on the residual graph, then blocking flow
 * by an iterative DFS (no recursion: plans can be thousands of levels
 * deep).  The min cut is the set of DAG edges from the nodes still reachable
 * from the source in the final residual graph to the others.
 *
 *-------------------------------------------------------------------------
 */
#include "attention.h"
#include "attention_internal.h"
#include "dag.h"
#include "dag_internal.h"
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* capacities are clamped to this, so that sums of them stay exact enough */
#define NDAG_CAP_MAX	1e15

/* a residual below this fraction of its arc's capacity counts as none */
#define NDAG_CAP_EPS	1e-12

typedef struct NdagFlow
{
	int			n_vertices;
	int			source;
	int			sink;
	int			n_arcs;
	int		   *head;			/* first arc out of each vertex, or -1 */
	int		   *next;			/* next arc out of the same vertex */
	int		   *to;
	double	   *res;			/* residual capacity */
	double	   *thr;			/* residuals <= thr are treated as 0 */
	int		   *level;
	int		   *iter;
	int		   *queue;
	int		   *path;
} NdagFlow;

/*
 * ndag_mincut_capacity
 *		What each edge out of v can carry.  AUTO means rows: actual rows
 *		when the node was executed, else estimated rows.
 */
double
ndag_mincut_capacity(const NdagDag *dag, int v, int mode)
{
	const NdagNode *node;
	double		cap;

	if (dag == NULL || !dag->finalized || v < 0 || v >= dag->n_nodes)
		return -1.0;
	node = &dag->nodes[v];
	switch (mode)
	{
		case NDAG_CAP_AUTO:
		case NDAG_CAP_ROWS:
			cap = (node->desc.has_actuals ? node->desc.actual_rows : node->desc.plan_rows) + 1.0;
			break;
		case NDAG_CAP_TIME:
			cap = node->work + node->cone_work + 1.0;
			break;
		default:
			return -1.0;
	}
	if (!(cap <= NDAG_CAP_MAX))
		cap = NDAG_CAP_MAX;
	return cap;
}

/*
 * ndag_flow_free
 *		Release the network's arrays.
 */
static void
ndag_flow_free(NdagFlow *f)
{
	free(f->head);
	free(f->next);
	free(f->to);
	free(f->res);
	free(f->thr);
	free(f->level);
	free(f->iter);
	free(f->queue);
	free(f->path);
}

/*
 * ndag_flow_arc
 *		Add an arc u -> v of capacity cap and its reverse (arc index ^ 1).
 */
static void
ndag_flow_arc(NdagFlow *f, int u, int v, double cap)
{
	int			a = f->n_arcs;
	double		thr = isinf(cap) ? 0.0 : cap * NDAG_CAP_EPS;

	f->to[a] = v;
	f->res[a] = cap;
	f->thr[a] = thr;
	f->next[a] = f->head[u];
	f->head[u] = a;
	f->to[a + 1] = u;
	f->res[a + 1] = 0.0;
	f->thr[a + 1] = thr;
	f->next[a + 1] = f->head[v];
	f->head[v] = a + 1;
	f->n_arcs += 2;
}

/*
 * ndag_flow_build
 *		The network of a DAG; arcs 2*i and 2*i+1 belong to DAG edge i in
 *		input-CSR order (child in_idx[i] -> the node whose list holds it).
 */
static int
ndag_flow_build(const NdagDag *dag, int mode, NdagFlow *f)
{
	int			n = dag->n_nodes;
	int			max_arcs = 2 * (dag->n_edges + n + 1);
	int			v;
	int			k;

	memset(f, 0, sizeof(NdagFlow));
	f->n_vertices = n + 2;
	f->source = n;
	f->sink = dag->root >= 0 ? dag->root : n + 1;
	f->head = malloc(sizeof(int) * (size_t) f->n_vertices);
	f->next = malloc(sizeof(int) * (size_t) max_arcs);
	f->to = malloc(sizeof(int) * (size_t) max_arcs);
	f->res = malloc(sizeof(double) * (size_t) max_arcs);
	f->thr = malloc(sizeof(double) * (size_t) max_arcs);
	f->level = malloc(sizeof(int) * (size_t) f->n_vertices);
	f->iter = malloc(sizeof(int) * (size_t) f->n_vertices);
	f->queue = malloc(sizeof(int) * (size_t) f->n_vertices);
	f->path = malloc(sizeof(int) * (size_t) f->n_vertices);
	if (!f->head || !f->next || !f->to || !f->res || !f->thr || !f->level ||
		!f->iter || !f->queue || !f->path)
	{
		ndag_flow_free(f);
		return NDAG_ERR_NOMEM;
	}
	for (v = 0; v < f->n_vertices; v++)
		f->head[v] = -1;

	for (v = 0; v < n; v++)
		for (k = dag->in_off[v]; k < dag->in_off[v + 1]; k++)
			ndag_flow_arc(f, dag->in_idx[k], v,
						  ndag_mincut_capacity(dag, dag->in_idx[k], mode));
	for (v = 0; v < n; v++)
	{
		const NdagNode *node = &dag->nodes[v];

		if (node->n_inputs == 0 && node->n_consumers > 0)
			ndag_flow_arc(f, f->source, v, INFINITY);
		if (dag->root < 0 && node->n_consumers == 0 && node->n_inputs > 0)
			ndag_flow_arc(f, v, f->sink, INFINITY);
	}
	return NDAG_OK;
}

/*
 * ndag_flow_bfs
 *		Levels from the source over arcs with residual capacity; true if
 *		the sink is reachable.  Also used for the final reachable set.
 */
static bool
ndag_flow_bfs(NdagFlow *f)
{
	int			head = 0;
	int			tail = 0;
	int			v;

	for (v = 0; v < f->n_vertices; v++)
		f->level[v] = -1;
	f->level[f->source] = 0;
	f->queue[tail++] = f->source;
	while (head < tail)
	{
		int			u = f->queue[head++];
		int			a;

		for (a = f->head[u]; a >= 0; a = f->next[a])
		{
			if (f->res[a] > f->thr[a] && f->level[f->to[a]] < 0)
			{
				f->level[f->to[a]] = f->level[u] + 1;
				f->queue[tail++] = f->to[a];
			}
		}
	}
	return f->level[f->sink] >= 0;
}

/*
 * ndag_flow_blocking
 *		Augment along level-increasing paths until none is left (one Dinic
 *		phase), with an explicit stack of arcs instead of recursion.  A
 *		vertex with no way forward gets level -1 so it is not tried again.
 */
static void
ndag_flow_blocking(NdagFlow *f)
{
	int			top = 0;
	int			u = f->source;

	memcpy(f->iter, f->head, sizeof(int) * (size_t) f->n_vertices);
	for (;;)
	{
		if (u == f->sink)
		{
			double		push = INFINITY;
			int			i;
			int			cut = -1;

			for (i = 0; i < top; i++)
				if (f->res[f->path[i]] < push)
					push = f->res[f->path[i]];
			for (i = 0; i < top; i++)
			{
				int			a = f->path[i];

				f->res[a] -= push;
				f->res[a ^ 1] += push;
				if (cut < 0 && !(f->res[a] > f->thr[a]))
					cut = i;
			}
			/* resume from the tail of the first saturated arc */
			top = cut < 0 ? 0 : cut;
			u = top == 0 ? f->source : f->to[f->path[top - 1]];
			continue;
		}

		while (f->iter[u] >= 0)
		{
			int			a = f->iter[u];

			if (f->res[a] > f->thr[a] && f->level[f->to[a]] == f->level[u] + 1)
				break;
			f->iter[u] = f->next[a];
		}
		if (f->iter[u] >= 0)
		{
			f->path[top++] = f->iter[u];
			u = f->to[f->iter[u]];
			continue;
		}

		/* dead end: retreat */
		f->level[u] = -1;
		if (top == 0)
			break;
		top--;
		u = f->to[f->path[top] ^ 1];
		f->iter[u] = f->next[f->iter[u]];
	}
}

/*
 * ndag_mincut_run
 *		Max-flow, then in_source[v] = 1 for vertices reachable from the
 *		source in the residual graph (caller's array of n_nodes).
 */
static int
ndag_mincut_run(const NdagDag *dag, int mode, unsigned char *in_source)
{
	NdagFlow	f;
	int			rc;
	int			v;

	if ((rc = ndag_flow_build(dag, mode, &f)) != NDAG_OK)
		return rc;
	while (ndag_flow_bfs(&f))
		ndag_flow_blocking(&f);
	/* the last BFS failed to reach the sink: its levels are the S side */
	for (v = 0; v < dag->n_nodes; v++)
		in_source[v] = f.level[v] >= 0;
	ndag_flow_free(&f);
	return NDAG_OK;
}

/*
 * ndag_cmp_cut_edge
 *		Order cut edges by child, then parent.
 */
static int
ndag_cmp_cut_edge(const void *a, const void *b)
{
	const NdagCutEdge *x = a;
	const NdagCutEdge *y = b;

	if (x->child != y->child)
		return x->child < y->child ? -1 : 1;
	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return 0;
}

/*
 * ndag_mincut
 *		Exact minimum cut; see dag.h.  The value is the sum of the cut
 *		edges' capacities, which equals the max-flow value.
 */
int
ndag_mincut(const NdagDag *dag, int mode, double *value, NdagCutEdge *edges,
			int max_edges, int *n_edges)
{
	unsigned char *side;
	double		total = 0.0;
	int			count = 0;
	int			rc;
	int			v;
	int			k;

	if (dag == NULL || value == NULL || n_edges == NULL ||
		mode < NDAG_CAP_AUTO || mode > NDAG_CAP_TIME)
		return NDAG_ERR_ARG;
	if (!dag->finalized)
		return NDAG_ERR_STATE;
	*value = 0.0;
	*n_edges = 0;
	if (dag->n_edges == 0)
		return NDAG_OK;

	side = malloc((size_t) dag->n_nodes);
	if (side == NULL)
		return NDAG_ERR_NOMEM;
	if ((rc = ndag_mincut_run(dag, mode, side)) != NDAG_OK)
	{
		free(side);
		return rc;
	}
	for (v = 0; v < dag->n_nodes; v++)
	{
		for (k = dag->in_off[v]; k < dag->in_off[v + 1]; k++)
		{
			int			c = dag->in_idx[k];

			if (side[c] && !side[v])
			{
				double		cap = ndag_mincut_capacity(dag, c, mode);

				if (edges != NULL && count < max_edges)
				{
					edges[count].child = c;
					edges[count].parent = v;
					edges[count].capacity = cap;
				}
				total += cap;
				count++;
			}
		}
	}
	free(side);
	*value = total;
	*n_edges = count;
	if (edges != NULL && count > max_edges)
		return NDAG_ERR_BUFFER;
	if (edges != NULL)
		qsort(edges, (size_t) count, sizeof(NdagCutEdge), ndag_cmp_cut_edge);
	return NDAG_OK;
}

/*
 * ndag_mincut_mark
 *		on_cut[v] = 1 when an edge out of v is in the minimum cut.
 */
int
ndag_mincut_mark(const NdagDag *dag, int mode, unsigned char *on_cut)
{
	unsigned char *side;
	int			rc;
	int			v;
	int			k;

	memset(on_cut, 0, (size_t) dag->n_nodes);
	if (dag->n_edges == 0)
		return NDAG_OK;
	side = malloc((size_t) dag->n_nodes);
	if (side == NULL)
		return NDAG_ERR_NOMEM;
	if ((rc = ndag_mincut_run(dag, mode, side)) != NDAG_OK)
	{
		free(side);
		return rc;
	}
	for (v = 0; v < dag->n_nodes; v++)
		for (k = dag->in_off[v]; k < dag->in_off[v + 1]; k++)
			if (side[dag->in_idx[k]] && !side[v])
				on_cut[dag->in_idx[k]] = 1;
	free(side);
	return NDAG_OK;
}

/*
 * ndag_attention_mincut_gated
 *		The cost-aware base weight times a gate: 1.0 for nodes whose output
 *		crosses the exact minimum cut (the bottleneck operators),
 *		mincut_threshold for all others.
 */
int
ndag_attention_mincut_gated(const NdagDag *dag, const NdagAttnParams *params,
							double *weights)
{
	unsigned char *on_cut;
	int			rc;
	int			v;

	if ((rc = ndag_attn_check(dag, params, weights)) != NDAG_OK)
		return rc;
	on_cut = malloc((size_t) dag->n_nodes);
	if (on_cut == NULL)
		return NDAG_ERR_NOMEM;
	if ((rc = ndag_mincut_mark(dag, params->mincut_capacity, on_cut)) != NDAG_OK)
	{
		free(on_cut);
		return rc;
	}
	for (v = 0; v < dag->n_nodes; v++)
		weights[v] = ndag_node_base_weight(dag, v) *
			(on_cut[v] ? 1.0 : params->mincut_threshold);
	free(on_cut);
	ndag_normalize_weights(weights, dag->n_nodes);
	return NDAG_OK;
}
