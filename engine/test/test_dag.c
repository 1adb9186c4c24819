/*-------------------------------------------------------------------------
 *
 * test_dag.c
 *	  Plan DAG builder and the quantities finalize derives: errors,
 *	  topological order, depths, self costs, exact input cones, critical
 *	  path, branches, sanitising, signatures.  Derived values are checked
 *	  against brute force on the raw edge list of hundreds of random DAGs.
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
 * bf_work
 *		Expected work of every node from the raw edge list: self time when
 *		any node has actuals, else self cost, clamped at 0.
 */
static void
bf_work(const NdagDag *dag, double *work)
{
	int			n = dag->n_nodes;
	bool		actuals = false;
	int			i;

	for (i = 0; i < n; i++)
		if (dag->nodes[i].desc.has_actuals)
			actuals = true;
	for (i = 0; i < n; i++)
		work[i] = actuals ? dag->nodes[i].desc.actual_total_ms : dag->nodes[i].desc.total_cost;
	for (i = 0; i < dag->n_edges; i++)
	{
		const NdagNodeDesc *c = &dag->nodes[dag->edge_child[i]].desc;

		work[dag->edge_parent[i]] -= actuals ? c->actual_total_ms : c->total_cost;
	}
	for (i = 0; i < n; i++)
	{
		if (actuals && !dag->nodes[i].desc.has_actuals)
			work[i] = 0.0;
		if (work[i] < 0.0)
			work[i] = 0.0;
	}
}

/*
 * bf_cone
 *		Mark every node that feeds v (transitively) by repeated sweeps over
 *		the raw edge list; returns the count.
 */
static int
bf_cone(const NdagDag *dag, int v, char *mark)
{
	bool		changed = true;
	int			count = 0;
	int			i;

	memset(mark, 0, (size_t) dag->n_nodes);
	mark[v] = 2;
	while (changed)
	{
		changed = false;
		for (i = 0; i < dag->n_edges; i++)
		{
			if (mark[dag->edge_parent[i]] && !mark[dag->edge_child[i]])
			{
				mark[dag->edge_child[i]] = 1;
				changed = true;
			}
		}
	}
	for (i = 0; i < dag->n_nodes; i++)
		if (mark[i] == 1)
			count++;
	return count;
}

/*
 * bf_best_path
 *		Largest work of any path from v down to a leaf, by enumerating all
 *		paths (exponential; small DAGs only).
 */
static double
bf_best_path(const NdagDag *dag, int v, const double *work)
{
	double		best = 0.0;
	int			i;

	for (i = 0; i < dag->n_edges; i++)
	{
		if (dag->edge_parent[i] == v)
		{
			double		w = bf_best_path(dag, dag->edge_child[i], work);

			if (w > best)
				best = w;
		}
	}
	return work[v] + best;
}

/*
 * has_edge
 *		Whether the raw edge list has child -> parent.
 */
static bool
has_edge(const NdagDag *dag, int child, int parent)
{
	int			i;

	for (i = 0; i < dag->n_edges; i++)
		if (dag->edge_child[i] == child && dag->edge_parent[i] == parent)
			return true;
	return false;
}

/*
 * check_random
 *		All derived quantities of one random DAG against brute force.
 *		Returns a short reason on failure, NULL when all agree.
 */
static const char *
check_random(const NdagDag *dag, bool small)
{
	int			n = dag->n_nodes;
	double	   *work = malloc(sizeof(double) * (size_t) n);
	int		   *depth = malloc(sizeof(int) * (size_t) n);
	char	   *mark = malloc((size_t) n);
	const char *why = NULL;
	bool		changed = true;
	int			i;
	int			k;

	bf_work(dag, work);

	/* topological order: every edge's child earlier */
	for (i = 0; i < dag->n_edges && !why; i++)
		if (dag->nodes[dag->edge_child[i]].topo_pos >= dag->nodes[dag->edge_parent[i]].topo_pos)
			why = "topological order";
	for (i = 0; i < n && !why; i++)
		if (dag->topo[dag->nodes[i].topo_pos] != i)
			why = "topo_pos";

	/* depths: Bellman-Ford style relaxation from the sinks */
	for (i = 0; i < n; i++)
		depth[i] = dag->nodes[i].n_consumers == 0 ? 0 : n + 1;
	while (changed)
	{
		changed = false;
		for (i = 0; i < dag->n_edges; i++)
		{
			if (depth[dag->edge_parent[i]] + 1 < depth[dag->edge_child[i]])
			{
				depth[dag->edge_child[i]] = depth[dag->edge_parent[i]] + 1;
				changed = true;
			}
		}
	}
	for (i = 0; i < n && !why; i++)
	{
		int			p = dag->nodes[i].tree_parent;

		if (dag->nodes[i].depth != depth[i])
			why = "depth";
		else if (p >= 0 && (!has_edge(dag, i, p) || depth[p] + 1 != depth[i]))
			why = "tree parent";
		else if (p < 0 && depth[i] != 0)
			why = "tree parent missing";
	}

	/* self work, cones */
	for (i = 0; i < n && !why; i++)
	{
		double		cone_work = 0.0;
		double		cone_cost = 0.0;
		int			size = bf_cone(dag, i, mark);

		if (fabs(dag->nodes[i].work - work[i]) > 1e-9 * (1.0 + work[i]))
			why = "self work";
		for (k = 0; k < n; k++)
		{
			if (mark[k] == 1)
			{
				cone_work += work[k];
				cone_cost += dag->nodes[k].self_cost;
			}
		}
		if (!why && size != dag->nodes[i].cone_size)
			why = "cone size";
		if (!why && fabs(cone_work - dag->nodes[i].cone_work) > 1e-9 * (1.0 + cone_work))
			why = "cone work";
		if (!why && fabs(cone_cost - dag->nodes[i].cone_cost) > 1e-9 * (1.0 + cone_cost))
			why = "cone cost";
	}

	/* critical path: starts at a sink, follows edges, ends at a leaf */
	if (!why)
	{
		double		sum = 0.0;
		int			first = dag->critical_path[0];
		int			last = dag->critical_path[dag->critical_len - 1];

		if (dag->nodes[first].n_consumers != 0 || dag->nodes[last].n_inputs != 0)
			why = "critical path ends";
		for (i = 0; i < dag->critical_len && !why; i++)
		{
			sum += work[dag->critical_path[i]];
			if (i > 0 && !has_edge(dag, dag->critical_path[i], dag->critical_path[i - 1]))
				why = "critical path not a path";
		}
		if (!why && fabs(sum - dag->critical_work) > 1e-9 * (1.0 + sum))
			why = "critical path work";
		for (i = 0; i < n && !why; i++)
		{
			bool		on = false;

			for (k = 0; k < dag->critical_len; k++)
				if (dag->critical_path[k] == i)
					on = true;
			if (on != dag->nodes[i].on_critical_path)
				why = "critical path flags";
		}
		if (!why && small)
		{
			double		best = 0.0;

			for (i = 0; i < n; i++)
			{
				if (dag->nodes[i].n_consumers == 0)
				{
					double		w = bf_best_path(dag, i, work);

					if (w > best)
						best = w;
				}
			}
			if (fabs(best - dag->critical_work) > 1e-9 * (1.0 + best))
				why = "critical path not the costliest";
		}
	}

	/* branches: the fork is an ancestor on the tree route */
	for (i = 0; i < n && !why; i++)
	{
		int			f = dag->nodes[i].branch_fork;
		int			b = dag->nodes[i].branch_input;
		int			v = i;

		if (f < 0)
		{
			while (dag->nodes[v].tree_parent >= 0 && !why)
			{
				if (dag->nodes[dag->nodes[v].tree_parent].n_inputs >= 2)
					why = "fork missed";
				v = dag->nodes[v].tree_parent;
			}
			continue;
		}
		if (dag->nodes[f].n_inputs < 2 || dag->nodes[b].tree_parent != f)
			why = "branch fork";
		while (!why && v != b)
		{
			int			p = dag->nodes[v].tree_parent;

			if (p < 0 || dag->nodes[p].n_inputs >= 2)
				why = "branch input not the nearest fork's";
			v = p;
		}
	}

	free(work);
	free(depth);
	free(mark);
	return why;
}

/*
 * test_errors
 *		Every builder error code.
 */
static void
test_errors(void)
{
	NdagDag    *dag = ndag_dag_create(0);
	NdagNodeDesc d = tu_desc(NDAG_OP_SEQSCAN, 10, 10);
	int			id = -1;

	tap_ok(ndag_dag_finalize(dag) == NDAG_ERR_EMPTY, "finalize of an empty DAG fails");
	tap_ok(ndag_dag_add_node(NULL, &d, &id) == NDAG_ERR_ARG, "add_node(NULL dag) fails");
	tap_ok(ndag_dag_add_node(dag, NULL, &id) == NDAG_ERR_ARG, "add_node(NULL desc) fails");
	d.op_class = NDAG_N_OP_CLASSES;
	tap_ok(ndag_dag_add_node(dag, &d, &id) == NDAG_ERR_ARG, "op class out of range is rejected");
	d.op_class = NDAG_OP_SEQSCAN;
	d.join_type = -1;
	tap_ok(ndag_dag_add_node(dag, &d, &id) == NDAG_ERR_ARG, "join type out of range is rejected");
	d.join_type = NDAG_JOIN_NONE;
	tap_ok(ndag_dag_add_node(dag, &d, &id) == NDAG_OK && id == 0, "first node gets id 0");
	tap_ok(ndag_dag_add_node(dag, &d, &id) == NDAG_OK && id == 1, "second node gets id 1");
	tap_ok(ndag_dag_add_node(dag, &d, &id) == NDAG_OK && id == 2, "third node gets id 2");
	tap_ok(ndag_dag_add_edge(dag, 0, 3) == NDAG_ERR_RANGE, "edge to a missing node is rejected");
	tap_ok(ndag_dag_add_edge(dag, -1, 0) == NDAG_ERR_RANGE, "negative index is rejected");
	tap_ok(ndag_dag_add_edge(dag, 1, 1) == NDAG_ERR_CYCLE, "self-loop is rejected");
	tap_ok(ndag_dag_add_edge(dag, 1, 0) == NDAG_OK && ndag_dag_add_edge(dag, 2, 1) == NDAG_OK &&
		   ndag_dag_add_edge(dag, 0, 2) == NDAG_OK, "edges of a 3-cycle are accepted one by one");
	tap_ok(ndag_dag_finalize(dag) == NDAG_ERR_CYCLE, "finalize finds the 3-cycle");
	ndag_dag_free(dag);

	dag = ndag_dag_create(2);
	ndag_dag_add_node(dag, &d, NULL);
	ndag_dag_add_node(dag, &d, NULL);
	ndag_dag_add_edge(dag, 1, 0);
	ndag_dag_add_edge(dag, 1, 0);
	tap_ok(ndag_dag_finalize(dag) == NDAG_ERR_DUPLICATE, "finalize finds a duplicate edge");
	ndag_dag_free(dag);

	dag = ndag_dag_create(1);
	ndag_dag_add_node(dag, &d, NULL);
	tap_ok(ndag_dag_finalize(dag) == NDAG_OK, "single node finalizes");
	tap_ok(ndag_dag_finalize(dag) == NDAG_ERR_STATE, "second finalize fails");
	tap_ok(ndag_dag_add_node(dag, &d, NULL) == NDAG_ERR_STATE, "add_node after finalize fails");
	tap_ok(ndag_dag_add_edge(dag, 0, 0) == NDAG_ERR_STATE, "add_edge after finalize fails");
	tap_ok(dag->root == 0 && dag->nodes[0].depth == 0 && dag->critical_len == 1 &&
		   dag->nodes[0].cone_size == 0, "single node is root, depth 0, own critical path");
	ndag_dag_free(dag);
	ndag_dag_free(NULL);
	tap_ok(ndag_dag_finalize(NULL) == NDAG_ERR_ARG, "finalize(NULL) fails");
	tap_ok(strcmp(ndag_strerror(NDAG_ERR_CYCLE), "plan graph contains a cycle") == 0 &&
		   strcmp(ndag_strerror(12345), "unknown error") == 0, "strerror");
}

/*
 * test_hash_join
 *		A hand-built plan:
 *			0 Hash Join (cost 100)
 *			  1 Seq Scan a (cost 60)
 *			  2 Hash (cost 25)
 *				3 Seq Scan b (cost 20)
 */
static void
test_hash_join(void)
{
	NdagDag    *dag = ndag_dag_create(4);
	NdagNodeDesc d[4];
	int			i;

	d[0] = tu_desc(NDAG_OP_HASHJOIN, 500, 100);
	d[0].join_type = NDAG_JOIN_INNER;
	d[1] = tu_desc(NDAG_OP_SEQSCAN, 1000, 60);
	d[2] = tu_desc(NDAG_OP_HASH, 100, 25);
	d[3] = tu_desc(NDAG_OP_SEQSCAN, 100, 20);
	for (i = 0; i < 4; i++)
		ndag_dag_add_node(dag, &d[i], NULL);
	ndag_dag_add_edge(dag, 1, 0);
	ndag_dag_add_edge(dag, 2, 0);
	ndag_dag_add_edge(dag, 3, 2);
	tap_ok(ndag_dag_finalize(dag) == NDAG_OK, "hash join plan finalizes");
	tap_ok(dag->root == 0 && dag->n_sinks == 1 && dag->n_leaves == 2, "root, sinks, leaves");
	tap_ok(dag->nodes[0].depth == 0 && dag->nodes[1].depth == 1 && dag->nodes[2].depth == 1 &&
		   dag->nodes[3].depth == 2 && dag->max_depth == 2, "depths");
	tap_ok(dag->nodes[0].self_cost == 15 && dag->nodes[1].self_cost == 60 &&
		   dag->nodes[2].self_cost == 5 && dag->nodes[3].self_cost == 20, "self costs");
	tap_ok(dag->nodes[0].cone_size == 3 && dag->nodes[2].cone_size == 1 &&
		   dag->nodes[1].cone_size == 0 && dag->nodes[0].cone_cost == 85, "cone sizes and cost");
	tap_ok(dag->critical_len == 2 && dag->critical_path[0] == 0 && dag->critical_path[1] == 1 &&
		   dag->critical_work == 75, "critical path is join -> seq scan a (75 > 40)");
	tap_ok(dag->nodes[3].branch_fork == 0 && dag->nodes[3].branch_input == 2 &&
		   dag->nodes[1].branch_input == 1 && dag->nodes[0].branch_fork == -1, "branches");
	tap_ok(fabs(dag->nodes[0].fork_imbalance - (60.0 - 25.0) / 85.0) < 1e-12, "fork imbalance");
	tap_ok(dag->n_joins == 1 && dag->nodes[0].tree_size == 4 && dag->nodes[2].tree_size == 2,
		   "join count and tree sizes");
	tap_ok(ndag_node_features(dag, 0)[NDAG_F_OPCLASS + NDAG_OP_HASHJOIN] == 1.0f &&
		   ndag_node_features(dag, 0)[NDAG_F_JOIN] == 1.0f &&
		   ndag_node_features(dag, 1)[NDAG_F_CRITICAL] == 1.0f &&
		   ndag_node_features(dag, 3)[NDAG_F_CRITICAL] == 0.0f &&
		   ndag_node_features(dag, 3)[NDAG_F_BIAS] == 1.0f &&
		   ndag_node_features(dag, 4) == NULL, "features: one-hot, join, critical, bias");
	ndag_dag_free(dag);

	/* with actuals the critical path follows time, not estimates */
	dag = ndag_dag_create(4);
	d[0].has_actuals = d[1].has_actuals = d[2].has_actuals = d[3].has_actuals = true;
	d[0].actual_total_ms = 900;
	d[1].actual_total_ms = 10;
	d[2].actual_total_ms = 880;
	d[3].actual_total_ms = 870;
	for (i = 0; i < 4; i++)
	{
		d[i].loops = 1;
		ndag_dag_add_node(dag, &d[i], NULL);
	}
	ndag_dag_add_edge(dag, 1, 0);
	ndag_dag_add_edge(dag, 2, 0);
	ndag_dag_add_edge(dag, 3, 2);
	ndag_dag_finalize(dag);
	tap_ok(dag->has_actuals && dag->critical_len == 3 && dag->critical_path[1] == 2 &&
		   dag->critical_path[2] == 3 && dag->critical_work == 890,
		   "with actuals the critical path follows the slow hash side");
	ndag_dag_free(dag);
}

/*
 * test_untimed
 *		The hash join plan executed with rows counted but no per-node
 *		timing: its times are unknown, not 0 ms, so work, the critical path
 *		and the traces follow the estimates while rows still count.
 */
static void
test_untimed(void)
{
	NdagDag    *dag = ndag_dag_create(4);
	NdagTraceTable *t = ndag_trace_table_create(8);
	NdagNodeDesc d[4];
	const float *f;
	int			i;

	d[0] = tu_desc(NDAG_OP_HASHJOIN, 500, 100);
	d[0].join_type = NDAG_JOIN_INNER;
	d[1] = tu_desc(NDAG_OP_SEQSCAN, 1000, 60);
	d[2] = tu_desc(NDAG_OP_HASH, 100, 25);
	d[3] = tu_desc(NDAG_OP_SEQSCAN, 100, 20);
	for (i = 0; i < 4; i++)
	{
		d[i].has_actuals = true;
		d[i].untimed = true;
		d[i].actual_rows = 10 * d[i].plan_rows;
		/* a stale number the flag says is not a measurement */
		d[i].actual_total_ms = 1000 - 100 * i;
		d[i].loops = 1;
		d[i].rel_oid = 16384 + i;	/* distinct signatures for the traces */
		ndag_dag_add_node(dag, &d[i], NULL);
	}
	ndag_dag_add_edge(dag, 1, 0);
	ndag_dag_add_edge(dag, 2, 0);
	ndag_dag_add_edge(dag, 3, 2);
	tap_ok(ndag_dag_finalize(dag) == NDAG_OK, "untimed plan finalizes");
	tap_ok(dag->has_actuals && !dag->has_timing && dag->total_actual_ms == 0,
		   "untimed: actuals without timing, no total time taken");
	tap_ok(dag->nodes[0].self_time_ms == 0 && dag->nodes[1].self_time_ms == 0 &&
		   dag->nodes[1].work == 60 && dag->total_work == 100,
		   "untimed: work is the self cost, not 0 ms");
	tap_ok(dag->critical_len == 2 && dag->critical_path[1] == 1 && dag->critical_work == 75,
		   "untimed: the critical path follows the estimates");
	f = ndag_node_features(dag, 1);
	tap_ok(f[NDAG_F_HAS_ACTUALS] == 1.0f && f[NDAG_F_SELF_TIME] == 0.0f &&
		   fabs(f[NDAG_F_ACT_ROWS] - log1p(10000.0) / 10.0) < 1e-6 &&
		   fabs(f[NDAG_F_WORK_SHARE] - 0.6) < 1e-6,
		   "untimed: features keep rows, self time 0, work share from cost");
	tap_ok(ndag_mincut_capacity(dag, 1, NDAG_CAP_ROWS) == 10001 &&
		   ndag_mincut_capacity(dag, 1, NDAG_CAP_TIME) == 61,
		   "untimed: min-cut capacities from actual rows and from cost");
	tap_ok(t != NULL && ndag_trace_update(t, dag, 0.0, false) == NDAG_OK &&
		   fabs(ndag_trace_value(t, dag->nodes[1].signature, 0.0) - 0.6) < 1e-9 &&
		   fabs(ndag_trace_value(t, dag->nodes[3].signature, 0.0) - 0.2) < 1e-9,
		   "untimed: traces grow by the share of the estimated work");
	ndag_trace_table_free(t);
	ndag_dag_free(dag);
}

/*
 * test_shared
 *		A CTE scanned twice (node 3 feeds 1 and 2), and a DAG with two
 *		sinks (virtual root).
 */
static void
test_shared(void)
{
	NdagDag    *dag = ndag_dag_create(5);
	NdagNodeDesc d = tu_desc(NDAG_OP_SEQSCAN, 10, 10);
	int			i;

	for (i = 0; i < 5; i++)
		ndag_dag_add_node(dag, &d, NULL);
	ndag_dag_add_edge(dag, 1, 0);
	ndag_dag_add_edge(dag, 2, 0);
	ndag_dag_add_edge(dag, 3, 1);
	ndag_dag_add_edge(dag, 3, 2);
	ndag_dag_add_edge(dag, 4, 3);
	tap_ok(ndag_dag_finalize(dag) == NDAG_OK, "shared CTE plan finalizes");
	tap_ok(dag->nodes[0].cone_size == 4 && dag->nodes[1].cone_size == 2 &&
		   dag->nodes[3].cone_size == 1, "shared node counted once in the root's cone");
	tap_ok(dag->nodes[3].n_consumers == 2 && dag->nodes[3].depth == 2 &&
		   dag->nodes[3].tree_parent == 1, "shared node: two consumers, shortest depth");
	ndag_dag_free(dag);

	dag = ndag_dag_create(3);
	for (i = 0; i < 3; i++)
		ndag_dag_add_node(dag, &d, NULL);
	ndag_dag_add_edge(dag, 2, 0);
	ndag_dag_add_edge(dag, 2, 1);
	tap_ok(ndag_dag_finalize(dag) == NDAG_OK && dag->root == NDAG_VIRTUAL_ROOT &&
		   dag->n_sinks == 2 && dag->nodes[0].depth == 0 && dag->nodes[1].depth == 0 &&
		   dag->nodes[2].depth == 1, "two sinks: virtual root, both at depth 0");
	ndag_dag_free(dag);
}

/*
 * test_sanitise
 *		NaN, infinities and negative numbers never reach the features.
 */
static void
test_sanitise(void)
{
	NdagDag    *dag = ndag_dag_create(2);
	NdagNodeDesc d = tu_desc(NDAG_OP_SEQSCAN, NAN, INFINITY);
	bool		finite = true;
	int			i;

	d.startup_cost = -5;
	d.plan_width = -INFINITY;
	d.rel_pages = 1e308;
	d.nquals = -3;
	d.has_actuals = true;
	d.actual_rows = NAN;
	d.actual_total_ms = INFINITY;
	d.loops = -1;
	ndag_dag_add_node(dag, &d, NULL);
	d.total_cost = NAN;
	ndag_dag_add_node(dag, &d, NULL);
	ndag_dag_add_edge(dag, 1, 0);
	tap_ok(ndag_dag_finalize(dag) == NDAG_OK, "nonsense numbers finalize");
	for (i = 0; i < 2 * NDAG_FEATURE_DIM; i++)
		if (!isfinite(dag->features[i]))
			finite = false;
	tap_ok(finite, "features finite for NaN/inf/negative inputs");
	tap_ok(dag->nodes[0].desc.plan_rows == 0 && dag->nodes[0].desc.total_cost == 1e300 &&
		   dag->nodes[0].desc.startup_cost == 0 && dag->nodes[0].desc.nquals == 0 &&
		   dag->nodes[0].desc.rel_pages == 1e300, "sanitised values");
	tap_ok(isfinite(dag->total_work) && isfinite(dag->critical_work), "totals finite");
	ndag_dag_free(dag);
}

/*
 * test_signatures
 *		Signatures depend on the operator's identity, not on node order.
 */
static void
test_signatures(void)
{
	uint64_t	a = ndag_signature(NDAG_OP_SEQSCAN, 1, 16384, 0, 42);

	tap_ok(a == ndag_signature(NDAG_OP_SEQSCAN, 1, 16384, 0, 42) && a != 0, "signature stable");
	tap_ok(a != ndag_signature(NDAG_OP_SEQSCAN, 1, 16385, 0, 42) &&
		   a != ndag_signature(NDAG_OP_INDEXSCAN, 1, 16384, 0, 42) &&
		   a != ndag_signature(NDAG_OP_SEQSCAN, 1, 16384, 7, 42) &&
		   a != ndag_signature(NDAG_OP_SEQSCAN, 1, 16384, 0, 43) &&
		   a != ndag_signature(NDAG_OP_SEQSCAN, 2, 16384, 0, 42),
		   "signature changes with class, tag, relation, index, quals");
}

/*
 * test_random
 *		Brute-force agreement on random DAGs of several shapes.
 */
static void
test_random(void)
{
	int			seeds = tap_seeds(300);
	int			failures = 0;
	int			bad_perm = 0;
	int			s;

	for (s = 0; s < seeds; s++)
	{
		NdagRng		rng;
		NdagRng		shuf;
		TuGraph		g;
		NdagDag    *dag;
		int			n;
		const char *why;

		ndag_rng_seed(&rng, (uint64_t) s);
		ndag_rng_seed(&shuf, (uint64_t) s + 1000000);
		n = 1 + (int) ndag_rng_below(&rng, s % 4 == 0 ? 60 : 12);
		tu_graph_random(&g, &rng, n, 0.3, 1 + (int) ndag_rng_below(&rng, 2), (int) (s % 3));
		dag = tu_graph_build(&g, s % 2 ? &shuf : NULL);
		why = dag == NULL ? "build failed" : check_random(dag, n <= 12);
		if (why != NULL)
		{
			if (failures++ < 5)
				tap_diag("seed %d (n=%d): %s", s, n, why);
		}
		else
		{
			int		   *perm = malloc(sizeof(int) * (size_t) n);
			NdagDag    *plain;
			int			i;

			/* cone sizes do not depend on insertion order */
			memcpy(perm, g.perm, sizeof(int) * (size_t) n);
			plain = tu_graph_build(&g, NULL);
			for (i = 0; i < n; i++)
				if (plain->nodes[i].cone_size != dag->nodes[perm[i]].cone_size ||
					plain->nodes[i].depth != dag->nodes[perm[i]].depth)
					bad_perm++;
			ndag_dag_free(plain);
			free(perm);
		}
		ndag_dag_free(dag);
		tu_graph_free(&g);
	}
	tap_ok(failures == 0, "derived quantities agree with brute force on %d random DAGs", seeds);
	tap_ok(bad_perm == 0, "cones and depths invariant under node order");
}

/*
 * test_large
 *		A deep chain and a wide fan-in finalize with the expected shape.
 */
static void
test_large(void)
{
	NdagDag    *dag = tu_chain(1000);
	NdagNodeDesc d = tu_desc(NDAG_OP_APPEND, 10, 10);
	int			i;

	tap_ok(dag != NULL && dag->max_depth == 999 && dag->critical_len == 1000 &&
		   dag->nodes[0].cone_size == 999, "1000-node chain");
	ndag_dag_free(dag);

	dag = ndag_dag_create(0);
	ndag_dag_add_node(dag, &d, NULL);
	for (i = 1; i < 2000; i++)
	{
		d = tu_desc(NDAG_OP_SEQSCAN, 10, (double) i);
		ndag_dag_add_node(dag, &d, NULL);
		ndag_dag_add_edge(dag, i, 0);
	}
	tap_ok(ndag_dag_finalize(dag) == NDAG_OK && dag->max_depth == 1 &&
		   dag->nodes[0].cone_size == 1999 && dag->critical_path[1] == 1999,
		   "2000-node fan-in: costliest branch on the critical path");
	ndag_dag_free(dag);
}

int
main(void)
{
	test_errors();
	test_hash_join();
	test_untimed();
	test_shared();
	test_sanitise();
	test_signatures();
	test_random();
	test_large();
	return tap_done();
}
