/*-------------------------------------------------------------------------
 *
 * dag.h
 *	  Plan DAGs: building one from node descriptions, the fields derived by
 *	  ndag_dag_finalize, the node features, and the exact minimum cut.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_DAG_H
#define NDAG_DAG_H

#include "engine.h"

/* ---------- constants ---------- */

/* width of a node's feature vector and layout of its slots */
#define NDAG_FEATURE_DIM	40
#define NDAG_F_OPCLASS		0	/* 16 slots: one-hot operator class */
#define NDAG_F_PLAN_ROWS	16	/* log1p(plan rows) / 10 */
#define NDAG_F_STARTUP		17	/* log1p(startup cost) / 10 */
#define NDAG_F_TOTAL		18	/* log1p(total cost) / 10 */
#define NDAG_F_SELF_COST	19	/* log1p(self cost) / 10 */
#define NDAG_F_WIDTH		20	/* log1p(width) / 10 */
#define NDAG_F_PAGES		21	/* log1p(relation pages) / 10 */
#define NDAG_F_NQUALS		22	/* log1p(number of quals) / 3 */
#define NDAG_F_PARALLEL		23	/* 1 if parallel-aware */
#define NDAG_F_JOIN			24	/* 4 slots: inner, outer, semi, anti */
#define NDAG_F_HAS_ACTUALS	28	/* 1 if executed with instrumentation */
#define NDAG_F_ACT_ROWS		29	/* log1p(actual rows per loop) / 10 */
#define NDAG_F_SELF_TIME	30	/* log1p(actual self time, ms) / 10 */
#define NDAG_F_LOOPS		31	/* log1p(loops) / 10 */
#define NDAG_F_EST_ERROR	32	/* ln((act rows/loop + 1)/(plan rows + 1)) / 10 */
#define NDAG_F_DEPTH		33	/* log1p(depth) / 5 */
#define NDAG_F_CONE			34	/* log1p(input cone size) / 10 */
#define NDAG_F_NINPUTS		35	/* log1p(number of inputs) */
#define NDAG_F_NCONSUMERS	36	/* log1p(number of consumers) */
#define NDAG_F_CRITICAL		37	/* 1 if on the critical path */
#define NDAG_F_WORK_SHARE	38	/* self work / total work of the plan */
#define NDAG_F_BIAS			39	/* always 1 */

/* the root of a DAG with several nodes without consumer */
#define NDAG_VIRTUAL_ROOT	(-1)

/* min-cut capacity modes */
typedef enum NdagCapacityMode
{
	NDAG_CAP_AUTO = 0,			/* the default: rows */
	NDAG_CAP_ROWS,				/* rows produced by the child, plus 1 */
	NDAG_CAP_TIME				/* inclusive time (or cost) of the child, plus 1 */
} NdagCapacityMode;

/* ---------- types ---------- */

/*
 * What the caller knows about one plan node.  All numbers are sanitised by
 * ndag_dag_add_node: NaN becomes 0, negative becomes 0, +infinity and values
 * above 1e300 become 1e300.
 *
 * Estimates are per loop, as in PostgreSQL's Plan.  Actuals are totals over
 * all loops, as in Instrumentation after InstrEndLoop: actual_rows is
 * ntuples, actual_total_ms is total * 1000, loops is nloops.  A node
 * executed with rows counted but without per-node timing sets untimed: its
 * actual_total_ms is unknown and ignored (never taken as 0 ms measured).
 */
typedef struct NdagNodeDesc
{
	int			op_class;		/* NdagOpClass */
	int			node_tag;		/* caller's finer node type (opaque) */
	int			join_type;		/* NdagJoinType */
	double		plan_rows;
	double		startup_cost;
	double		total_cost;
	double		plan_width;
	double		rel_pages;		/* pages of the scanned relation, else 0 */
	int			nquals;
	bool		parallel_aware;
	uint32_t	rel_oid;		/* scanned relation, 0 if none */
	uint32_t	index_oid;		/* index used, 0 if none */
	uint64_t	qual_hash;		/* caller's hash of the qual shape */
	bool		has_actuals;
	double		actual_rows;
	double		actual_total_ms;
	double		loops;
	bool		untimed;		/* has_actuals without timing: time unknown */
} NdagNodeDesc;

/*
 * One node of a finalized DAG.  Fields after `desc` are derived by
 * ndag_dag_finalize and are read-only for the caller.
 *
 * "Work" is the quantity the mechanisms follow: actual self time in ms when
 * the DAG has timed actuals (some node has has_actuals without untimed),
 * else estimated self cost.  self_time_ms is 0 where the time is unknown.
 */
typedef struct NdagNode
{
	NdagNodeDesc desc;			/* sanitised copy of the caller's description */
	uint64_t	signature;		/* operator signature, see ndag_signature */
	int			depth;			/* shortest distance (edges) to the root */
	int			topo_pos;		/* position in dag->topo */
	int			tree_parent;	/* consumer on a shortest path to the root, or -1 */
	int			n_inputs;
	int			n_consumers;
	double		self_cost;		/* total cost minus inputs' total costs, >= 0 */
	double		self_time_ms;	/* actual total minus inputs' actual totals, >= 0;
								 * 0 when not executed or untimed */
	double		work;			/* self time or self cost, see above */
	int			cone_size;		/* number of nodes feeding this one (exclusive) */
	double		cone_cost;		/* sum of self_cost over the input cone */
	double		cone_work;		/* sum of work over the input cone */
	bool		on_critical_path;
	int			branch_fork;	/* nearest fork (>= 2 inputs) above, or -1 */
	int			branch_input;	/* input of branch_fork this node lies under */
	double		fork_imbalance; /* forks: max minus min branch share, else 0 */
	int			tree_size;		/* nodes in this node's tree_parent subtree */
} NdagNode;

/*
 * A plan DAG.  Build it with ndag_dag_create, ndag_dag_add_node,
 * ndag_dag_add_edge and ndag_dag_finalize; afterwards every field is
 * read-only.  Edges run from an input (child) to its consumer (parent); a
 * node may have several consumers.
 *
 * The root is the node without consumer.  When several nodes have no
 * consumer, root is NDAG_VIRTUAL_ROOT: they are all treated as inputs of an
 * implicit root, each with depth 0, and the min cut uses a super-sink joined
 * to each of them.
 */
typedef struct NdagDag
{
	int			n_nodes;
	int			n_edges;
	bool		finalized;
	NdagNode   *nodes;			/* n_nodes entries */

	/* derived by ndag_dag_finalize */
	int			root;			/* root node or NDAG_VIRTUAL_ROOT */
	int		   *in_off;			/* inputs of node v: in_idx[in_off[v] .. in_off[v+1]) */
	int		   *in_idx;
	int		   *out_off;		/* consumers of node v, same layout */
	int		   *out_idx;
	int		   *topo;			/* every input before its consumers (leaves first) */
	int		   *sinks;			/* nodes without consumer */
	int			n_sinks;
	int			n_leaves;		/* nodes without input */
	int			max_depth;
	int		   *critical_path;	/* root (or a sink) first, ends at a leaf */
	int			critical_len;
	double		critical_work;	/* sum of work along the critical path */
	bool		has_actuals;
	bool		has_timing;		/* some node has actuals with timing */
	double		total_work;		/* sum of work over all nodes */
	double		root_total_cost;	/* total cost of the root (sum over sinks) */
	double		root_rows;		/* plan rows of the root (sum over sinks) */
	double		total_actual_ms;	/* actual total time of the root(s) */
	int			n_joins;
	float	   *features;		/* n_nodes x NDAG_FEATURE_DIM, row-major */

	/* builder state */
	int			cap_nodes;
	int			cap_edges;
	int		   *edge_child;
	int		   *edge_parent;
} NdagDag;

/* one edge of a minimum cut */
typedef struct NdagCutEdge
{
	int			child;			/* input node */
	int			parent;			/* consumer node */
	double		capacity;
} NdagCutEdge;

/* ---------- functions: the plan DAG (dag.c, dag_derive.c) ---------- */

/*
 * A new, empty DAG; node_hint preallocates room (0 is fine).
 * Returns NULL when out of memory.  Free with ndag_dag_free.
 */
extern NdagDag *ndag_dag_create(int node_hint);

/* Release a DAG and everything it owns; NULL is accepted. */
extern void ndag_dag_free(NdagDag *dag);

/* Fill a node description with zeros and NDAG_OP_OTHER. */
extern void ndag_node_desc_init(NdagNodeDesc *desc);

/*
 * Append a node (its description is copied and sanitised) and return its
 * index in *node_id (may be NULL).  Errors: NDAG_ERR_ARG for a NULL dag or
 * desc or an op_class/join_type out of range, NDAG_ERR_STATE after
 * finalize, NDAG_ERR_NOMEM.
 */
extern int	ndag_dag_add_node(NdagDag *dag, const NdagNodeDesc *desc, int *node_id);

/*
 * Add the edge child (input) -> parent (consumer).  Errors: NDAG_ERR_RANGE
 * for an index out of range, NDAG_ERR_CYCLE for child == parent,
 * NDAG_ERR_DUPLICATE when the edge already exists (checked at finalize),
 * NDAG_ERR_STATE after finalize, NDAG_ERR_NOMEM.
 */
extern int	ndag_dag_add_edge(NdagDag *dag, int child, int parent);

/*
 * Compute everything derived, once, in O(n + e) (plus O(e * m / 64) for
 * the input cones when m nodes feed a node with several consumers):
 * topological order, depths, inputs/consumers, self cost and time, input
 * cones, critical path, branches, node features.  Errors: NDAG_ERR_EMPTY,
 * NDAG_ERR_CYCLE, NDAG_ERR_DUPLICATE, NDAG_ERR_STATE if already finalized,
 * NDAG_ERR_NOMEM.  After an error the DAG may only be freed.
 */
extern int	ndag_dag_finalize(NdagDag *dag);

/* Feature vector of node v of a finalized DAG (NDAG_FEATURE_DIM floats). */
extern const float *ndag_node_features(const NdagDag *dag, int v);

/* ---------- functions: minimum cut (mincut.c) ---------- */

/*
 * Capacity of every edge leaving node v in the given mode: rows (and
 * AUTO): actual rows (total over loops) when the node has actuals, else
 * plan rows, plus 1; time: inclusive work (work + cone work) plus 1.
 * Capped at 1e15.  Negative on error.
 */
extern double ndag_mincut_capacity(const NdagDag *dag, int v, int mode);

/*
 * Exact minimum cut between all leaves (a super-source with unbounded
 * edges to every leaf that has a consumer) and the root (or a super-sink
 * with unbounded edges from every sink that has an input), by Dinic's
 * max-flow on the residual graph.  *value gets the cut value; the cut
 * edges (the source side is the set reachable in the residual graph) go to
 * edges[0 .. *n_edges), ordered by child then parent.  edges may be NULL
 * to ask only for the value and count; otherwise max_edges must be at
 * least the number of cut edges (dag->n_edges always suffices), else
 * NDAG_ERR_BUFFER with *n_edges set to the number needed.  A DAG without
 * edges has an empty cut of value 0.
 */
extern int	ndag_mincut(const NdagDag *dag, int mode, double *value,
						NdagCutEdge *edges, int max_edges, int *n_edges);

#endif							/* NDAG_DAG_H */
