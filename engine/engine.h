/*-------------------------------------------------------------------------
 *
 * engine.h
 *	  The neural_dag engine: plan DAGs, node features, the plan embedding,
 *	  the eight DAG attention mechanisms, temporal traces, the UCB selector
 *	  and exact minimum cuts; and the learning engine (from the section
 *	  "learning" on): the cost model with BaseLoRA and MicroLoRA, EWC++,
 *	  k-means++, the ReasoningBank of patterns, the matcher, HDC state, the
 *	  BTSP one-shot memory and the background learning cycle.
 *
 * Plain C99 with cblas; no PostgreSQL header is included here or in any
 * engine source, so that the engine can be unit-tested on its own and
 * linked into the extension unchanged.
 *
 * Conventions:
 *	- Every function that can fail returns an int status: NDAG_OK (0) or one
 *	  of the negative NDAG_ERR_* codes below.  Nothing aborts or exits.
 *	- Memory is allocated with malloc and released with free.  Objects made
 *	  by a *_create function are owned by the caller and released with the
 *	  matching *_free function.  Output arrays are caller-owned buffers whose
 *	  required length is stated beside each function.
 *	- Node identifiers are the dense indexes 0..n-1 returned by
 *	  ndag_dag_add_node, in insertion order.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_ENGINE_H
#define NDAG_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------- constants ---------- */

/* status codes */
#define NDAG_OK				0
#define NDAG_ERR_ARG		(-1)	/* NULL pointer or value out of range */
#define NDAG_ERR_NOMEM		(-2)	/* malloc failed */
#define NDAG_ERR_RANGE		(-3)	/* node index out of range */
#define NDAG_ERR_CYCLE		(-4)	/* the edges contain a cycle */
#define NDAG_ERR_STATE		(-5)	/* DAG finalized (or not yet) */
#define NDAG_ERR_EMPTY		(-6)	/* DAG without nodes */
#define NDAG_ERR_DUPLICATE	(-7)	/* the same edge added twice */
#define NDAG_ERR_BUFFER		(-8)	/* caller's buffer too small */
#define NDAG_ERR_CORRUPT	(-9)	/* serialised data damaged or truncated */
#define NDAG_ERR_VERSION	(-10)	/* serialised data of another version */
#define NDAG_ERR_NONFINITE	(-11)	/* an update would make a value NaN or infinite */

/* operator classes: the one-hot buckets of the node features */
typedef enum NdagOpClass
{
	NDAG_OP_SEQSCAN = 0,
	NDAG_OP_INDEXSCAN,
	NDAG_OP_INDEXONLYSCAN,
	NDAG_OP_BITMAPSCAN,			/* bitmap heap and bitmap index scans */
	NDAG_OP_NESTLOOP,
	NDAG_OP_HASHJOIN,
	NDAG_OP_MERGEJOIN,
	NDAG_OP_HASH,
	NDAG_OP_SORT,				/* sort and incremental sort */
	NDAG_OP_AGG,				/* aggregate, group, window aggregate */
	NDAG_OP_GATHER,				/* gather and gather merge */
	NDAG_OP_MATERIAL,			/* material and memoize */
	NDAG_OP_LIMIT,
	NDAG_OP_APPEND,				/* append and merge append */
	NDAG_OP_SUBQUERYSCAN,		/* subquery, CTE, function, values scans */
	NDAG_OP_OTHER
} NdagOpClass;

#define NDAG_N_OP_CLASSES	16

/* join types, as far as the features distinguish them */
typedef enum NdagJoinType
{
	NDAG_JOIN_NONE = 0,			/* not a join */
	NDAG_JOIN_INNER,
	NDAG_JOIN_LEFT,
	NDAG_JOIN_RIGHT,
	NDAG_JOIN_FULL,
	NDAG_JOIN_SEMI,
	NDAG_JOIN_ANTI
} NdagJoinType;

#define NDAG_N_JOIN_TYPES	7

/* the eight attention mechanisms, in the order of DESIGN.md section 4 */
typedef enum NdagMechanism
{
	NDAG_MECH_TOPOLOGICAL = 0,
	NDAG_MECH_CAUSAL_CONE,
	NDAG_MECH_CRITICAL_PATH,
	NDAG_MECH_MINCUT_GATED,
	NDAG_MECH_HIERARCHICAL_LORENTZ,
	NDAG_MECH_PARALLEL_BRANCH,
	NDAG_MECH_TEMPORAL_BTSP,
	NDAG_MECH_ENSEMBLE
} NdagMechanism;

#define NDAG_N_MECHANISMS	8
#define NDAG_N_BASE_MECHANISMS	7	/* all but the ensemble */

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

/* plan embedding: width and layout of its segments */
#define NDAG_EMBED_DIM		64
#define NDAG_E_POOLED		0	/* 24 dims: projected attention-pooled features */
#define NDAG_E_POOLED_DIM	24
#define NDAG_E_HISTOGRAM	24	/* 16 dims: operator class histogram */
#define NDAG_E_GLOBAL		40	/* 8 dims: global plan statistics */
#define NDAG_E_GLOBAL_DIM	8
#define NDAG_E_RELSKETCH	48	/* 16 dims: signed sketch of the relation set */
#define NDAG_E_RELSKETCH_DIM 16

/* points of the Lorentz (hyperboloid) model have this many coordinates */
#define NDAG_LORENTZ_DIM	3

/* the root of a DAG with several nodes without consumer */
#define NDAG_VIRTUAL_ROOT	(-1)

/* min-cut capacity modes */
typedef enum NdagCapacityMode
{
	NDAG_CAP_AUTO = 0,			/* the default: rows */
	NDAG_CAP_ROWS,				/* rows produced by the child, plus 1 */
	NDAG_CAP_TIME				/* inclusive time (or cost) of the child, plus 1 */
} NdagCapacityMode;

/* UCB selector limits and defaults */
#define NDAG_UCB_MAX_ARMS		64
#define NDAG_UCB_MAX_CONTEXTS	65536
#define NDAG_UCB_DEFAULT_C		1.414
#define NDAG_UCB_DEFAULT_EPSILON 0.1
#define NDAG_UCB_FORMAT_VERSION	1

/* temporal traces: time constant (seconds) of the decay */
#define NDAG_TRACE_TAU_S		2.0

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

/* a deterministic random number generator (xoshiro256**) */
typedef struct NdagRng
{
	uint64_t	s[4];
} NdagRng;

/* one edge of a minimum cut */
typedef struct NdagCutEdge
{
	int			child;			/* input node */
	int			parent;			/* consumer node */
	double		capacity;
} NdagCutEdge;

/* one entry of a temporal trace table */
typedef struct NdagTraceEntry
{
	uint64_t	signature;		/* 0 marks a free slot */
	double		value;			/* trace at last_update */
	double		last_update;	/* seconds, caller's clock */
	double		plateau_until;	/* seconds; boosted while now < this */
} NdagTraceEntry;

/*
 * Temporal traces keyed by operator signature; caller-owned (create/free).
 * An open-addressing hash table that grows as needed.
 */
typedef struct NdagTraceTable
{
	NdagTraceEntry *entries;
	int			capacity;		/* power of two */
	int			count;
	double		tau_s;			/* decay time constant, NDAG_TRACE_TAU_S */
	double		plateau_s;		/* plateau duration after a surprise */
	double		plateau_boost;	/* multiplier inside a plateau */
	double		surprise_ratio; /* row misestimate factor that is a surprise */
} NdagTraceTable;

/*
 * UCB selector state: per context and arm, pulls and summed rewards.
 * Caller-owned (ndag_ucb_create / ndag_ucb_free).
 */
typedef struct NdagUcb
{
	int			n_contexts;
	int			n_arms;
	double		c;				/* exploration constant */
	double		epsilon;		/* probability of a uniformly random arm */
	uint64_t   *pulls;			/* n_contexts x n_arms */
	double	   *rewards;		/* n_contexts x n_arms, summed rewards */
} NdagUcb;

/*
 * Parameters of the attention mechanisms; ndag_attn_params_init fills in
 * the defaults.
 */
typedef struct NdagAttnParams
{
	double		topo_decay;		/* per level, default 0.9 */
	int			topo_k;			/* ancestors in each node's window, default 8 */
	double		cone_discount;	/* per level, default 0.9 */
	double		critical_off_share; /* mass left to off-path nodes, default 0.1 */
	double		mincut_threshold;	/* gate of nodes off the cut, default 0.5 */
	int			mincut_capacity;	/* NdagCapacityMode, default AUTO */
	double		lorentz_step;	/* hyperbolic radius per level, default 1.0 */
	double		lorentz_max_radius; /* cap on the radius, default 8.0, at most 10 */
	double		lorentz_temperature;	/* default 1.0 */
	double		branch_sharpen; /* how imbalance sharpens shares, default 2.0 */
	const NdagTraceTable *traces;	/* temporal_btsp; NULL = no history */
	double		now;			/* seconds on the traces' clock */
	double		ensemble_mix[NDAG_N_BASE_MECHANISMS];	/* mixture weights */
} NdagAttnParams;

/* ---------- functions: errors, names, hashing, random numbers (util.c, rng.c) ---------- */

/* Short English description of a status code; never NULL. */
extern const char *ndag_strerror(int status);

/* Name of a mechanism ("topological", ...), or NULL if out of range. */
extern const char *ndag_mechanism_name(int mechanism);

/*
 * Mechanism for a name (exact, lower case).  Returns NDAG_OK and sets
 * *mechanism, or NDAG_ERR_ARG for an unknown name or NULL.
 */
extern int	ndag_mechanism_from_name(const char *name, int *mechanism);

/* Name of an operator class ("seqscan", ...), or NULL if out of range. */
extern const char *ndag_op_class_name(int op_class);

/* 64-bit mix of a value (splitmix64 finaliser). */
extern uint64_t ndag_hash64(uint64_t x);

/* Combine a running hash h with a value x, order-sensitively. */
extern uint64_t ndag_hash_combine(uint64_t h, uint64_t x);

/*
 * Operator signature: hash of operator class, caller's node tag, relation
 * oid, index oid and qual shape hash.  Never 0.  Stable across executions
 * and processes.
 */
extern uint64_t ndag_signature(int op_class, int node_tag, uint32_t rel_oid,
							   uint32_t index_oid, uint64_t qual_hash);

/* Seed a generator; any seed, including 0, gives a usable state. */
extern void ndag_rng_seed(NdagRng *rng, uint64_t seed);

/* Next 64 random bits. */
extern uint64_t ndag_rng_next(NdagRng *rng);

/* Uniform double in [0, 1). */
extern double ndag_rng_uniform(NdagRng *rng);

/* Uniform integer in [0, bound) for bound >= 1 (0 if bound < 1). */
extern uint64_t ndag_rng_below(NdagRng *rng, uint64_t bound);

/* Standard normal deviate. */
extern double ndag_rng_normal(NdagRng *rng);

/*
 * Turn raw scores into weights in place: non-finite or negative entries
 * count as 0; the result sums to 1; all-zero input becomes uniform.
 */
extern void ndag_normalize_weights(double *w, int n);

/*
 * dst[i] += scale * src[i] for n floats, only if every sum is finite:
 * otherwise dst is left as it was and NDAG_ERR_NONFINITE is returned (also
 * for a non-finite scale or src value).  NDAG_ERR_ARG for NULL or n < 0.
 */
extern int	ndag_vec_add_finite(float *dst, const float *src, int n,
								double scale);

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

/* ---------- functions: embedding (embedding.c) ---------- */

/*
 * The 64-dimension plan embedding, L2-normalised, into out[NDAG_EMBED_DIM].
 * weights: one attention weight per node (summing to 1) used to pool the
 * node features; NULL pools uniformly.  Deterministic and finite for any
 * finalized DAG.  Errors: NDAG_ERR_ARG, NDAG_ERR_STATE.
 */
extern int	ndag_embed(const NdagDag *dag, const double *weights, float *out);

/*
 * Convenience: weights by mechanism (ndag_attention), then ndag_embed.
 * params NULL uses the defaults.
 */
extern int	ndag_embed_mechanism(const NdagDag *dag, int mechanism,
								 const NdagAttnParams *params, float *out);

/* ---------- functions: attention mechanisms (attention*.c) ---------- */

/* Default parameters (ensemble mix uniform, no traces, now = 0). */
extern void ndag_attn_params_init(NdagAttnParams *params);

/*
 * Weights of the given mechanism for every node of a finalized DAG into
 * weights[n_nodes]: non-negative, finite, summing to 1, deterministic.
 * params NULL uses the defaults.  Errors: NDAG_ERR_ARG (bad mechanism,
 * NULL pointers, parameters out of range), NDAG_ERR_STATE (not finalized),
 * NDAG_ERR_NOMEM.
 */
extern int	ndag_attention(const NdagDag *dag, int mechanism,
						   const NdagAttnParams *params, double *weights);

/*
 * The mechanisms one by one, same contract as ndag_attention (params must
 * not be NULL here).
 *
 * topological: each node attends over itself and its topo_k nearest
 *	 ancestors on its path to the root with logits depth * ln(topo_decay);
 *	 a node's weight is the attention it receives, so weight decays with
 *	 distance from the root.
 * causal_cone: (cone share + cone work share) / 2 discounted by
 *	 cone_discount ^ depth.
 * critical_path: 1 - critical_off_share over the critical path (half even,
 *	 half by work), the rest over the other nodes by the same rule.
 * mincut_gated: (1/n + work share) / 2 times a gate: 1 for nodes whose
 *	 output edge is in the exact minimum cut, mincut_threshold otherwise.
 * hierarchical_lorentz: nodes embedded in the hyperboloid (radius by
 *	 depth, angle by subtree interval); weight exp(-d(mu, x)/T) times
 *	 (1 + n * work share) / 2, where mu is the work-weighted Lorentz
 *	 centroid.
 * parallel_branch: mass flows from the root down; a fork splits it among
 *	 its inputs by branch work share sharpened by the fork's imbalance, and
 *	 keeps (1 + imbalance) times its mass.
 * temporal_btsp: effective trace of the node's signature at params->now
 *	 plus a small work-based prior.
 * ensemble: sum over the seven of ensemble_mix[k] times their weights.
 */
extern int	ndag_attention_topological(const NdagDag *dag, const NdagAttnParams *params, double *weights);
extern int	ndag_attention_causal_cone(const NdagDag *dag, const NdagAttnParams *params, double *weights);
extern int	ndag_attention_critical_path(const NdagDag *dag, const NdagAttnParams *params, double *weights);
extern int	ndag_attention_mincut_gated(const NdagDag *dag, const NdagAttnParams *params, double *weights);
extern int	ndag_attention_hierarchical_lorentz(const NdagDag *dag, const NdagAttnParams *params, double *weights);
extern int	ndag_attention_parallel_branch(const NdagDag *dag, const NdagAttnParams *params, double *weights);
extern int	ndag_attention_temporal_btsp(const NdagDag *dag, const NdagAttnParams *params, double *weights);
extern int	ndag_attention_ensemble(const NdagDag *dag, const NdagAttnParams *params, double *weights);

/*
 * Ensemble mixture weights from a selector's mean rewards in a context:
 * mix[k] = mean reward of arm k (k < 7), arms never pulled count with the
 * mean of those pulled, all equal when none was pulled; normalised to sum
 * 1.  Errors: NDAG_ERR_ARG (NULL, context out of range, fewer than 7 arms).
 */
extern int	ndag_ensemble_mix_from_ucb(const NdagUcb *ucb, int context,
									   double *mix);

/* ---------- functions: Lorentz model (lorentz.c) ---------- */

/* Minkowski inner product -x0*y0 + x1*y1 + x2*y2. */
extern double ndag_lorentz_inner(const double *x, const double *y);

/* Hyperbolic distance arccosh(-<x,y>_L) (0 when rounding gives < 1). */
extern double ndag_lorentz_distance(const double *x, const double *y);

/*
 * Embed the DAG's shortest-path tree in the hyperboloid into
 * points[n_nodes * NDAG_LORENTZ_DIM]: the root (or the virtual root) at
 * the origin (1, 0, 0); a node's radius is depth * step (depth + 1 under a
 * virtual root) with step = min(params->lorentz_step, max_radius /
 * max depth), its angle the middle of its subtree's interval of [0, 2 pi),
 * intervals split among children by subtree size.  origin may be NULL;
 * otherwise receives the root point.
 */
extern int	ndag_lorentz_embed(const NdagDag *dag, const NdagAttnParams *params,
							   double *points, double *origin);

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

/* ---------- functions: temporal traces (trace.c) ---------- */

/*
 * A new trace table with room for about `capacity` signatures (it grows),
 * tau NDAG_TRACE_TAU_S, plateau 10 s with boost 3, surprise ratio 10.
 * NULL when out of memory.
 */
extern NdagTraceTable *ndag_trace_table_create(int capacity);

/* Release a trace table; NULL is accepted. */
extern void ndag_trace_table_free(NdagTraceTable *table);

/*
 * Effective trace of a signature at time now: value * exp(-(now -
 * last_update) / tau), times plateau_boost while now < plateau_until; 0
 * for an unknown signature.
 */
extern double ndag_trace_value(const NdagTraceTable *table, uint64_t signature,
							   double now);

/*
 * Record an executed DAG at time now (seconds): for every node with
 * actuals, the trace of its signature decays to now and grows by the
 * node's share of the plan's work (self time, or self cost when the plan
 * ran without per-node timing).  A node whose actual rows per loop
 * differ from the estimate by surprise_ratio or more, or every node when
 * `surprise` is true, starts a plateau lasting plateau_s.  Errors:
 * NDAG_ERR_ARG, NDAG_ERR_STATE, NDAG_ERR_NOMEM.
 */
extern int	ndag_trace_update(NdagTraceTable *table, const NdagDag *dag,
							  double now, bool surprise);

/* ---------- functions: UCB selector (ucb.c) ---------- */

/*
 * A selector for n_contexts contexts of n_arms arms each, all statistics
 * zero.  NULL for arguments out of range (n_arms 1..NDAG_UCB_MAX_ARMS,
 * n_contexts 1..NDAG_UCB_MAX_CONTEXTS, c >= 0, 0 <= epsilon <= 1) or
 * when out of memory.
 */
extern NdagUcb *ndag_ucb_create(int n_contexts, int n_arms, double c,
								double epsilon);

/* Release a selector; NULL is accepted. */
extern void ndag_ucb_free(NdagUcb *ucb);

/*
 * Choose an arm in a context: the lowest-numbered arm never pulled, if
 * any; else with probability epsilon a uniformly random arm (from rng);
 * else the arm maximising mean + c * sqrt(ln N / n) (ties: lowest arm).
 * rng may be NULL, which disables epsilon exploration.
 */
extern int	ndag_ucb_choose(const NdagUcb *ucb, int context, NdagRng *rng,
							int *arm);

/* Add one pull of arm with reward in [0, 1]; NDAG_ERR_ARG otherwise. */
extern int	ndag_ucb_update(NdagUcb *ucb, int context, int arm, double reward);

/* Mean reward and pull count of an arm (mean 0 when never pulled). */
extern int	ndag_ucb_stats(const NdagUcb *ucb, int context, int arm,
						   double *mean, uint64_t *pulls);

/* Bytes needed by ndag_ucb_serialize. */
extern size_t ndag_ucb_serialized_size(const NdagUcb *ucb);

/*
 * Write the selector into buf (little-endian: magic "NDUC", version,
 * dimensions, parameters, statistics, FNV-1a checksum).  *written gets the
 * size.  NDAG_ERR_BUFFER if cap is too small.
 */
extern int	ndag_ucb_serialize(const NdagUcb *ucb, void *buf, size_t cap,
							   size_t *written);

/*
 * Rebuild a selector from ndag_ucb_serialize's bytes into a new *out.
 * NDAG_ERR_CORRUPT for a bad magic, checksum, size or value,
 * NDAG_ERR_VERSION for another format version, NDAG_ERR_NOMEM.
 */
extern int	ndag_ucb_deserialize(const void *buf, size_t len, NdagUcb **out);

/* ========== learning (DESIGN.md sections 5 and 6) ========== */

/* ---------- constants: cost model and EWC++ ---------- */

#define NDAG_COST_HIDDEN			64	/* hidden units H */
#define NDAG_COST_MAX_ARMS			64	/* arms of the one-hot part of x */
#define NDAG_COST_MAX_RANK			32	/* largest LoRA rank */
#define NDAG_COST_BASE_RANK			8	/* default BaseLoRA rank */
#define NDAG_COST_MICRO_RANK		2	/* default MicroLoRA rank */
#define NDAG_COST_INSTANT_LR		0.002	/* default instant-loop learning rate */
#define NDAG_COST_BASE_LR			0.001	/* default background learning rate */
#define NDAG_COST_ERROR_CLIP		5.0 /* instant step: |prediction error| cap */
#define NDAG_COST_MIN_STEPS		1000 /* background run: least mini-batch steps */
#define NDAG_COST_FORMAT_VERSION	1
#define NDAG_COST_DELTA_VERSION		1

#define NDAG_EWC_LAMBDA				2000.0
#define NDAG_EWC_MAX_LAMBDA			15000.0
#define NDAG_EWC_LAMBDA_GROWTH		1.5 /* lambda factor per further task */
#define NDAG_EWC_FISHER_DECAY		0.999
#define NDAG_EWC_Z_THRESHOLD		2.0
#define NDAG_EWC_MIN_SAMPLES		50
#define NDAG_EWC_CONFIRM			5	/* consecutive high z-scores */
#define NDAG_EWC_FORMAT_VERSION		1

/* ---------- types: cost model and EWC++ ---------- */

/*
 * The cost model: predicts ln(latency ms) from x = [embedding (64) ; one-hot
 * of the arm (n_arms)], in_dim = 64 + n_arms:
 *
 *	 h = relu(W x + b), y = v . h + c,
 *	 W = W0 + B_base A_base + B_micro A_micro.
 *
 * W0 (hidden x in_dim) is a fixed random projection regenerated from `seed`
 * (never stored).  Everything that learns lives in one float vector
 * `params`, laid out so that both loops train a contiguous slice:
 *
 *	 [ A_base | B_base | b | v | c | A_micro | B_micro ]
 *	 |<------ base slice: n_base ------>|
 *	                   |<--------- instant slice: n_instant --------->|
 *
 * A_* are rank x in_dim and B_* hidden x rank, row-major.  A_* start as
 * small Gaussians and B_* at zero, so W = W0 at first but the gradient of
 * B is not zero (the update is not dead).  v starts small and random, b and
 * c at zero.
 *
 * w_eff caches W0 + B_base A_base; every engine function that changes the
 * base factors refreshes it.  A caller that writes into params directly
 * calls ndag_cost_sync afterwards.  A model is not safe for concurrent use
 * (it has scratch space).
 */
typedef struct NdagCostModel
{
	int			n_arms;
	int			in_dim;			/* NDAG_EMBED_DIM + n_arms */
	int			hidden;			/* NDAG_COST_HIDDEN */
	int			base_rank;
	int			micro_rank;
	uint64_t	seed;			/* of W0 and of the initial factors */
	int			n_params;
	int			off_base_a;		/* offsets of the blocks in params */
	int			off_base_b;
	int			off_b;
	int			off_v;
	int			off_c;
	int			off_micro_a;
	int			off_micro_b;
	int			n_base;			/* params[0 .. n_base): background slice */
	int			n_instant;		/* params[off_b .. n_params): instant slice */
	float	   *params;
	float	   *w0;				/* hidden x in_dim */
	float	   *w_eff;			/* hidden x in_dim: W0 + B_base A_base */
	uint64_t	instant_steps;	/* instant SGD steps taken (and merged) */
	uint64_t	base_steps;		/* background mini-batch steps taken */
	float	   *scratch;		/* single-sample work space */
} NdagCostModel;

/*
 * A per-backend change of the instant slice.  A backend keeps its own copy
 * of the shared model, takes instant steps on it, and every 100 queries
 * captures what those steps changed (ndag_cost_delta_capture: diff =
 * current instant slice - origin), ships the serialised delta to shared
 * memory and rebases (origin = current).  The learner deserialises the
 * deltas and adds them into the shared model (ndag_cost_delta_merge), then
 * stores the model; backends reload it lazily.  A delta only applies to a
 * model of the same shape (arms and ranks).
 */
typedef struct NdagCostDelta
{
	int			n_arms;
	int			base_rank;
	int			micro_rank;
	int			n;				/* n_instant of the shape */
	uint64_t	steps;			/* instant steps captured in diff */
	uint64_t	origin_steps;	/* model->instant_steps at the origin */
	float	   *origin;			/* n: instant slice at the last rebase */
	float	   *diff;			/* n: captured change */
} NdagCostDelta;

/*
 * EWC++ state over a parameter vector of length n (the cost model's base
 * slice): online Fisher diagonal, anchor theta* of the last task, penalty
 * lambda, and the loss statistics (Welford) of the task boundary detector.
 *
 * lambda is 0 until the first task boundary (there is nothing to protect
 * before one); the k-th boundary sets lambda = min(max_lambda,
 * lambda_init * growth^(k-1)): 2000, 3000, 4500, ... up to 15000.
 */
typedef struct NdagEwc
{
	int			n;
	float	   *fisher;			/* n */
	float	   *anchor;			/* n: theta* */
	float	   *pending;		/* n: theta before a suspected boundary */
	bool		has_anchor;
	double		lambda;			/* current penalty weight */
	double		lambda_init;
	double		max_lambda;
	double		growth;
	double		decay;			/* Fisher decay */
	double		z_threshold;
	int			min_samples;
	int			confirm;		/* consecutive z > threshold that fire */
	int			n_high;			/* current run of high z-scores */
	uint64_t	loss_n;			/* Welford over observed losses */
	double		loss_mean;
	double		loss_m2;
	uint64_t	fisher_updates;
	int			n_tasks;		/* boundaries so far */
} NdagEwc;

/* Options of a background training run; ndag_cost_train_opts_init. */
typedef struct NdagCostTrainOpts
{
	int			epochs;			/* default 5 */
	int			batch_size;		/* default 32 */
	double		lr;				/* Adam step size, NDAG_COST_BASE_LR */
	uint64_t	seed;			/* shuffling */
	bool		detect_boundary;	/* feed batch losses to the detector */
	int			min_steps;		/* more epochs until this many steps, default
								 * NDAG_COST_MIN_STEPS */
	bool		init_bias;		/* a model never trained in the background
								 * starts its output bias c at the mean
								 * target */
} NdagCostTrainOpts;

/* What a background training run did. */
typedef struct NdagCostTrainResult
{
	double		loss_before;	/* mean 0.5 (y - t)^2 over all samples */
	double		loss_after;
	double		penalty;		/* EWC penalty at the end */
	int			steps;			/* mini-batch steps */
	bool		boundary;		/* a task boundary was detected */
} NdagCostTrainResult;

/* ---------- functions: cost model (costmodel.c, costtrain.c) ---------- */

/*
 * A new model for n_arms arms (1..NDAG_COST_MAX_ARMS) with the given ranks
 * (1..NDAG_COST_MAX_RANK), initialised from seed.  NULL for arguments out
 * of range or when out of memory.
 */
extern NdagCostModel *ndag_cost_create(int n_arms, int base_rank,
									   int micro_rank, uint64_t seed);

/* Release a model; NULL is accepted. */
extern void ndag_cost_free(NdagCostModel *model);

/* An independent copy (same parameters and counters); NULL when out of memory. */
extern NdagCostModel *ndag_cost_copy(const NdagCostModel *model);

/* Recompute w_eff after params were written directly. */
extern void ndag_cost_sync(NdagCostModel *model);

/* Whether every parameter is finite (false for NULL). */
extern bool ndag_cost_is_finite(const NdagCostModel *model);

/*
 * Predicted ln(latency ms) for one plan embedding (NDAG_EMBED_DIM floats)
 * and arm.  Errors: NDAG_ERR_ARG (NULL, arm out of range).
 */
extern int	ndag_cost_predict(NdagCostModel *model, const float *embedding,
							  int arm, double *y);

/*
 * Predictions for n samples (embeddings n x NDAG_EMBED_DIM row-major, arms
 * n) into out[n], as matrix products.  Errors: NDAG_ERR_ARG, NDAG_ERR_NOMEM.
 */
extern int	ndag_cost_predict_batch(const NdagCostModel *model,
									const float *embeddings, const int *arms,
									int n, float *out);

/*
 * Mean loss 0.5 (y - target)^2 over n samples into *loss and, when grad is
 * not NULL, its analytic gradient with respect to every parameter into
 * grad[n_params] (same layout as params).  Errors: NDAG_ERR_ARG,
 * NDAG_ERR_NOMEM.
 */
extern int	ndag_cost_loss_grad(const NdagCostModel *model,
								const float *embeddings, const int *arms,
								const float *targets, int n, double *loss,
								float *grad);

/*
 * The instant loop: one SGD step with learning rate lr on the instant
 * slice (MicroLoRA and the output layer b, v, c) for one execution, loss
 * 0.5 (y - target)^2 with the error clipped to NDAG_COST_ERROR_CLIP.
 * *y_before (may be NULL) gets the prediction before the step.  Errors:
 * NDAG_ERR_ARG (NULL, arm out of range, non-finite target, lr <= 0),
 * NDAG_ERR_NONFINITE (the prediction or an updated parameter would not be
 * finite: the step is rejected and the model left as it was).
 */
extern int	ndag_cost_instant_step(NdagCostModel *model, const float *embedding,
								   int arm, double target, double lr,
								   double *y_before);

/* Default training options. */
extern void ndag_cost_train_opts_init(NdagCostTrainOpts *opts);

/*
 * The background loop: mini-batch training (Adam, opts->lr decayed along a
 * half cosine to a tenth of it over the run) of the base slice (BaseLoRA
 * and the output layer) on n samples, for opts->epochs epochs or more,
 * until at least opts->min_steps steps (a few hundred executions are a
 * handful of batches, far too few steps to fit anything).  A model never
 * trained in the background (opts->init_bias; base_steps 0) first gets
 * c = mean target, so that training starts from the data's scale rather
 * than from 0.  With EWC++ when ewc is not NULL: each step adds lambda * F * (theta - theta*) to the
 * gradient, updates the online Fisher with the squared data gradient and
 * (opts->detect_boundary) feeds the batch loss to the boundary detector.
 * ewc->n must equal model->n_base.  Errors: NDAG_ERR_ARG, NDAG_ERR_NOMEM.
 */
extern int	ndag_cost_train_base(NdagCostModel *model, NdagEwc *ewc,
								 const float *embeddings, const int *arms,
								 const float *targets, int n,
								 const NdagCostTrainOpts *opts,
								 NdagCostTrainResult *result);

/* Bytes needed by ndag_cost_serialize. */
extern size_t ndag_cost_serialized_size(const NdagCostModel *model);

/*
 * Write the model (little-endian: magic "NDCM", version, shape, seed,
 * counters, params, FNV-1a checksum).  NDAG_ERR_BUFFER if cap is too small,
 * NDAG_ERR_NONFINITE (nothing written) if a parameter is not finite.
 */
extern int	ndag_cost_serialize(const NdagCostModel *model, void *buf,
								size_t cap, size_t *written);

/*
 * Rebuild a model from ndag_cost_serialize's bytes into a new *out.
 * NDAG_ERR_CORRUPT (magic, size, checksum, non-finite value),
 * NDAG_ERR_VERSION, NDAG_ERR_NOMEM.
 */
extern int	ndag_cost_deserialize(const void *buf, size_t len,
								  NdagCostModel **out);

/* A delta whose origin is the model's current instant slice; NULL on OOM. */
extern NdagCostDelta *ndag_cost_delta_create(const NdagCostModel *model);

/* Release a delta; NULL is accepted. */
extern void ndag_cost_delta_free(NdagCostDelta *delta);

/*
 * diff = instant slice - origin, steps = steps since the origin.
 * NDAG_ERR_ARG when the shapes differ.
 */
extern int	ndag_cost_delta_capture(NdagCostDelta *delta,
									const NdagCostModel *model);

/* origin = current instant slice, diff and steps zero. */
extern int	ndag_cost_delta_rebase(NdagCostDelta *delta,
								   const NdagCostModel *model);

/*
 * Add scale * diff to the model's instant slice and steps to its counter
 * (scale 1 replays one backend's steps; 1/k averages k backends).
 * NDAG_ERR_ARG when the shapes differ; NDAG_ERR_NONFINITE, with the model
 * unchanged, when scale, a diff value or an updated parameter is not finite.
 */
extern int	ndag_cost_delta_merge(NdagCostModel *model,
								  const NdagCostDelta *delta, double scale);

/* Bytes of a serialised delta. */
extern size_t ndag_cost_delta_serialized_size(const NdagCostDelta *delta);

/* Write shape, steps and diff ("NDCD", version, checksum). */
extern int	ndag_cost_delta_serialize(const NdagCostDelta *delta, void *buf,
									  size_t cap, size_t *written);

/*
 * A new delta from bytes: origin zero, diff and steps as written.
 * NDAG_ERR_CORRUPT, NDAG_ERR_VERSION, NDAG_ERR_NOMEM.
 */
extern int	ndag_cost_delta_deserialize(const void *buf, size_t len,
										NdagCostDelta **out);

/* ---------- functions: EWC++ (ewc.c) ---------- */

/*
 * EWC++ state for n parameters with the defaults (lambda 2000 at the first
 * boundary, growth 1.5, cap 15000, decay 0.999, z 2, 50 samples, 5
 * confirmations).  NULL for n < 1 or out of memory.
 */
extern NdagEwc *ndag_ewc_create(int n);

/* Release; NULL is accepted. */
extern void ndag_ewc_free(NdagEwc *ewc);

/* F <- decay F + (1 - decay) g^2 over grad[n]. */
extern int	ndag_ewc_update_fisher(NdagEwc *ewc, const float *grad);

/*
 * The penalty lambda/2 sum F_i (theta_i - theta*_i)^2 into *penalty (0
 * without an anchor); when grad is not NULL adds its gradient lambda F_i
 * (theta_i - theta*_i) to grad[n].
 */
extern int	ndag_ewc_penalty(const NdagEwc *ewc, const float *theta,
							 double *penalty, float *grad);

/*
 * Feed one loss to the boundary detector.  z = (loss - mean) / sd over the
 * losses seen since the last boundary (Welford); when at least
 * min_samples were seen and z > z_threshold for `confirm` observations in
 * a row, a boundary is taken (as ndag_ewc_mark_boundary, with theta as it
 * was before the first of those observations) and *boundary is true.
 * Losses of a high run join the statistics only if no boundary follows.
 * theta[n] is the current parameter vector.
 */
extern int	ndag_ewc_observe_loss(NdagEwc *ewc, double loss, const float *theta,
								  bool *boundary);

/*
 * A task boundary now (detected, or signalled by the caller from HDC
 * drift): theta* <- theta, lambda grows as documented at NdagEwc, the loss
 * statistics restart.
 */
extern int	ndag_ewc_mark_boundary(NdagEwc *ewc, const float *theta);

/* Bytes needed by ndag_ewc_serialize. */
extern size_t ndag_ewc_serialized_size(const NdagEwc *ewc);

/* Write the state ("NDEW", version, settings, vectors, checksum). */
extern int	ndag_ewc_serialize(const NdagEwc *ewc, void *buf, size_t cap,
							   size_t *written);

/* A new state from bytes; NDAG_ERR_CORRUPT, NDAG_ERR_VERSION, NDAG_ERR_NOMEM. */
extern int	ndag_ewc_deserialize(const void *buf, size_t len, NdagEwc **out);

/* ---------- constants: k-means, patterns, HDC, BTSP ---------- */

#define NDAG_KMEANS_MAX_ITER		100
#define NDAG_KMEANS_MIN_PER_CLUSTER 5	/* k = min(requested, n / 5) */

#define NDAG_HDC_BITS				10000
#define NDAG_HDC_BYTES				1250	/* NDAG_HDC_BITS / 8 */
#define NDAG_HDC_STAGE1				256 /* Gaussian projections of stage 1 */
#define NDAG_HDC_TAPS				4	/* stage-1 outputs summed per bit */
#define NDAG_HDC_SEED				UINT64_C(0x4e444147c0ffee01)
#define NDAG_HDC_PREFIX_WORDS		16	/* bits 0..1023: the matcher's pre-filter */

#define NDAG_PATTERN_MAX_ARMS		NDAG_COST_MAX_ARMS
#define NDAG_PATTERN_CLUSTERS		100 /* default requested clusters */
#define NDAG_PATTERN_QUALITY		0.3 /* default quality threshold */
#define NDAG_PATTERN_MIN_ARM_COUNT	3	/* runs before an arm can be best */
#define NDAG_PATTERN_MERGE_COSINE	0.95
#define NDAG_PATTERN_CAPACITY		10000	/* default retained patterns */
#define NDAG_PATTERN_HDC_THRESHOLD	4096	/* banks larger than this pre-filter */
#define NDAG_PATTERN_FORMAT_VERSION 1

/* ---------- types: HDC, trajectories, patterns ---------- */

/*
 * A 10,000-bit hypervector, exactly NDAG_HDC_BYTES bytes: bit i is
 * (bytes[i / 8] >> (i % 8)) & 1.  Its serialised form is the bytes as
 * they are.
 */
typedef struct NdagHv
{
	uint8_t		bytes[NDAG_HDC_BYTES];
} NdagHv;

/*
 * The fixed encoder of centroids into hypervectors: a two-stage sign
 * random projection.  Stage 1: y = G x with G (256 x 64) Gaussian.  Stage
 * 2: bit i = [sum of NDAG_HDC_TAPS entries of y, each with a random sign,
 * > 0].  Each bit is the sign of x against a Gaussian direction (a signed
 * sum of rows of G), so the expected Hamming fraction between two encodings
 * is angle / pi as for plain sign random projection, at 4 additions per
 * bit instead of 64 multiply-adds.  Built from NDAG_HDC_SEED so that
 * encodings are comparable across servers.
 */
typedef struct NdagHdcEncoder
{
	uint64_t	seed;
	float	   *proj;			/* NDAG_HDC_STAGE1 x NDAG_EMBED_DIM */
	uint16_t   *taps;			/* NDAG_HDC_BITS x NDAG_HDC_TAPS: index into
								 * [y ; -y] */
} NdagHdcEncoder;

/* One recorded execution, as the learner hands it to pattern extraction. */
typedef struct NdagTrajectory
{
	float		embedding[NDAG_EMBED_DIM];
	int			arm;			/* 0 = the default plan */
	double		latency_ms;
	double		quality;		/* DESIGN.md section 5 */
	uint64_t	query_id;
} NdagTrajectory;

/* Running statistics of ln(latency ms) of one arm; variance = m2 / count. */
typedef struct NdagArmStats
{
	uint64_t	count;
	double		mean_ln;
	double		m2_ln;
} NdagArmStats;

/*
 * A pattern of the ReasoningBank: a cluster of similar plans and what is
 * known about the arms on them.
 */
typedef struct NdagPattern
{
	uint64_t	id;				/* unique in its bank, never reused */
	float		centroid[NDAG_EMBED_DIM];	/* L2-normalised */
	uint64_t	n_members;
	double		quality_mean;	/* over members */
	double		quality_m2;		/* variance = m2 / n_members */
	uint64_t	query_id;		/* the member closest to the centroid */
	NdagArmStats arms[NDAG_PATTERN_MAX_ARMS];
	int			best_arm;		/* lowest mean among arms with enough runs */
	double		gain;			/* exp(mean default - mean best), >= 1 faster */
	double		confidence;		/* (1 - sd quality) (1 - 1/(n+1)), in [0,1] */
	uint64_t	uses;
	double		last_used;		/* caller's clock, 0 = never */
	double		created;
	bool		pinned;			/* never evicted */
	bool		disabled;		/* never matched */
	NdagHv		hv;				/* encoding of the centroid */
} NdagPattern;

/*
 * A bank of patterns.  patterns[0 .. count), the centroid matrix
 * (count x NDAG_EMBED_DIM, row i = patterns[i].centroid) and the matrix of
 * hypervector prefixes are kept in step
 * by the bank functions; the caller may change a pattern's pinned,
 * disabled, uses and last_used directly.  capacity bounds how many are
 * kept after extraction (the arrays themselves grow as needed).
 */
typedef struct NdagPatternBank
{
	int			n_arms;
	int			count;
	int			capacity;
	int			allocated;
	NdagPattern *patterns;
	float	   *centroids;
	uint64_t   *hv_prefix;		/* count x NDAG_HDC_PREFIX_WORDS: the first
								 * 1,024 bits of each pattern's hv */
	uint64_t	next_id;
	int			hdc_threshold;	/* pre-filter when count > this */
	NdagHdcEncoder *encoder;
} NdagPatternBank;

/* Settings of pattern extraction; ndag_pattern_params_init. */
typedef struct NdagPatternParams
{
	int			clusters;		/* requested k */
	double		quality_threshold;
	int			min_arm_count;
	double		merge_cosine;
	int			max_iter;
	uint64_t	seed;
} NdagPatternParams;

/* What an extraction did. */
typedef struct NdagExtractResult
{
	int			used;			/* trajectories at or above the threshold */
	int			clusters;
	int			iterations;		/* k-means iterations */
	int			created;
	int			merged;
	int			evicted;
} NdagExtractResult;

/* One match of the matcher. */
typedef struct NdagMatch
{
	int			index;			/* into bank->patterns */
	uint64_t	id;
	double		cosine;
} NdagMatch;

/* ---------- functions: k-means (kmeans.c) ---------- */

/* min(requested, n / 5), at least 1 when n >= 1 and requested >= 1; else 0. */
extern int	ndag_kmeans_k(int requested, int n);

/*
 * k-means++ over n rows of dim floats: D^2 seeding from seed, then Lloyd
 * iterations (distances ||x||^2 + ||c||^2 - 2 X C^T by sgemm) until no
 * assignment changes or max_iter.  k = ndag_kmeans_k(k_requested, n);
 * centroids receives k x dim floats (room for k_requested x dim), assign
 * n cluster numbers (max_iter >= 1).  An emptied cluster is reseeded at the point farthest
 * from its centroid.  Deterministic for a seed.  Errors: NDAG_ERR_ARG,
 * NDAG_ERR_EMPTY (n < 1), NDAG_ERR_NOMEM.
 */
extern int	ndag_kmeans(const float *x, int n, int dim, int k_requested,
						int max_iter, uint64_t seed, float *centroids,
						int *assign, int *k_out, int *iterations);

/* ---------- functions: HDC (hdc.c) ---------- */

/* The encoder for a seed (NDAG_HDC_SEED for comparable states); NULL on OOM. */
extern NdagHdcEncoder *ndag_hdc_encoder_create(uint64_t seed);

/* Release; NULL is accepted. */
extern void ndag_hdc_encoder_free(NdagHdcEncoder *enc);

/* Encode a NDAG_EMBED_DIM vector (any norm). */
extern int	ndag_hdc_encode(const NdagHdcEncoder *enc, const float *x, NdagHv *out);

/* Number of differing bits, 0..NDAG_HDC_BITS. */
extern int	ndag_hdc_hamming(const NdagHv *a, const NdagHv *b);

/*
 * 1 - hamming / NDAG_HDC_BITS: 1 identical, about 0.5 for unrelated
 * vectors, and for encodings of vectors at angle t about 1 - t / pi.
 */
extern double ndag_hdc_similarity(const NdagHv *a, const NdagHv *b);

/*
 * Bitwise majority of n vectors (stride bytes apart, stride >= sizeof
 * NdagHv, so a vector embedded in a larger struct can be bundled in
 * place).  A tie (even n) takes the bit of a fixed pseudo-random vector.
 * n = 0 gives all zeros.
 */
extern int	ndag_hdc_bundle(const void *first, size_t stride, int n, NdagHv *out);

/* 1 - similarity between two state snapshots. */
extern double ndag_hdc_drift(const NdagHv *a, const NdagHv *b);

/* The state snapshot of a bank: the bundle of its patterns' vectors. */
extern int	ndag_hdc_bank_snapshot(const NdagPatternBank *bank, NdagHv *out);

/* ---------- functions: patterns (patterns.c) ---------- */

/* Default extraction settings. */
extern void ndag_pattern_params_init(NdagPatternParams *params);

/*
 * An empty bank for n_arms arms keeping at most capacity patterns after an
 * extraction.  NULL for arguments out of range or on OOM.
 */
extern NdagPatternBank *ndag_bank_create(int n_arms, int capacity);

/* Release; NULL is accepted. */
extern void ndag_bank_free(NdagPatternBank *bank);

/* (1 - sqrt(quality variance)) * (1 - 1/(n+1)), clamped to [0, 1]. */
extern double ndag_pattern_confidence(double quality_variance, uint64_t n);

/*
 * Recompute a pattern's best arm, gain and confidence from its statistics.
 * The best arm is the lowest mean ln latency among arms with at least
 * min_arm_count runs (arm 0, the default, when none has); gain is exp(mean
 * of arm 0 - mean of the best arm) when arm 0 has enough runs, else 1.
 */
extern void ndag_pattern_finish(NdagPattern *pattern, int n_arms, int min_arm_count);

/*
 * Add a pattern as it is (loading a stored bank): copied, centroid
 * normalised and encoded, id kept (a new one when 0).  *index (may be
 * NULL) gets its position.  Errors: NDAG_ERR_ARG, NDAG_ERR_DUPLICATE (the
 * id exists), NDAG_ERR_NOMEM.
 */
extern int	ndag_bank_insert(NdagPatternBank *bank, const NdagPattern *pattern,
							 int *index);

/* Index of the pattern with an id, or -1. */
extern int	ndag_bank_find(const NdagPatternBank *bank, uint64_t id);

/*
 * The background cycle's pattern step: trajectories with quality >=
 * threshold are clustered (k-means++), each cluster becomes a pattern
 * that merges into the most similar existing one when their cosine
 * exceeds merge_cosine (statistics combined; pinned, disabled, uses and
 * last use kept) or is added; then while more than capacity remain the
 * pattern with the lowest confidence * ln(1 + uses) is evicted (ties: lower
 * confidence, fewer members, older), never a pinned one.  now is the
 * caller's clock.  Errors: NDAG_ERR_ARG, NDAG_ERR_NOMEM.
 */
extern int	ndag_bank_extract(NdagPatternBank *bank, const NdagTrajectory *traj,
							  int n, const NdagPatternParams *params, double now,
							  NdagExtractResult *result);

/* Bytes of one serialised pattern (fixed). */
extern size_t ndag_pattern_serialized_size(void);

/* Write a pattern ("NDPT", version, fields, checksum); hv is not stored. */
extern int	ndag_pattern_serialize(const NdagPattern *pattern, void *buf,
								   size_t cap, size_t *written);

/*
 * Read a pattern (hv left zero; ndag_bank_insert encodes it).
 * NDAG_ERR_CORRUPT, NDAG_ERR_VERSION.
 */
extern int	ndag_pattern_deserialize(const void *buf, size_t len,
									 NdagPattern *out);

/* ---------- functions: matcher (matcher.c) ---------- */

/*
 * The k patterns with the highest cosine to an embedding, best first,
 * disabled patterns skipped, into out[k]; *n_out gets how many (fewer
 * when the bank has fewer).  Exact (one sgemv over the centroid matrix)
 * while count <= hdc_threshold, else ndag_match_hdc.  Use counts are not
 * touched: see ndag_bank_mark_used.  Errors: NDAG_ERR_ARG.
 */
extern int	ndag_match(const NdagPatternBank *bank, const float *embedding,
					   int k, NdagMatch *out, int *n_out);

/* The exact path of ndag_match, whatever the bank's size. */
extern int	ndag_match_exact(const NdagPatternBank *bank, const float *embedding,
							 int k, NdagMatch *out, int *n_out);

/*
 * The pre-filtered path: the first 1,024 bits of the query's hypervector
 * against every pattern's (a contiguous matrix of 128 bytes per pattern,
 * half of what a float centroid takes), the max(8k, 64) nearest by Hamming
 * distance re-ranked by exact cosine.  Encoding the query costs about as
 * much as an exact scan of a few thousand centroids, so the default
 * threshold is NDAG_PATTERN_HDC_THRESHOLD = 4096 (bench/learning measures
 * both paths).
 */
extern int	ndag_match_hdc(const NdagPatternBank *bank, const float *embedding,
						   int k, NdagMatch *out, int *n_out);

/* A pattern was used: uses + 1, last_used = now.  NDAG_ERR_RANGE for an unknown id. */
extern int	ndag_bank_mark_used(NdagPatternBank *bank, uint64_t id, double now);

/* ---------- BTSP one-shot memory (btsp.c) ---------- */

#define NDAG_BTSP_TAU_S				3600.0	/* decay time constant, seconds */
#define NDAG_BTSP_THRESHOLD			0.1 /* recalled while weight > this */
#define NDAG_BTSP_SPEEDUP			2.0 /* an arm this much faster surprises */
#define NDAG_BTSP_SLOWDOWN_LN		1.0986123	/* ln 3: default this much
												 * slower than predicted */
#define NDAG_BTSP_EXPLORE			(-1)	/* recalled "arm": the default is
											 * known bad, try another */

/* one remembered query; query_id 0 marks a free slot */
typedef struct NdagBtspEntry
{
	uint64_t	query_id;
	int			arm;			/* arm to use, or NDAG_BTSP_EXPLORE */
	double		weight;			/* plateau weight when stored (1) */
	double		stored_at;		/* seconds, caller's clock */
} NdagBtspEntry;

/*
 * One-shot memory queryId -> arm (DESIGN.md section 6): a single
 * surprising execution stores an entry with weight 1, which decays as
 * exp(-(now - stored_at) / tau_s); lookups return the arm while the
 * decayed weight exceeds threshold.  An open-addressing table (linear
 * probing, backward-shift deletion) that grows as needed.
 */
typedef struct NdagBtsp
{
	NdagBtspEntry *entries;
	int			capacity;		/* power of two */
	int			count;
	double		tau_s;
	double		threshold;
	double		speedup;
	double		slowdown_ln;
} NdagBtsp;

/* A memory with the defaults; NULL on OOM. */
extern NdagBtsp *ndag_btsp_create(int capacity_hint);

/* Release; NULL is accepted. */
extern void ndag_btsp_free(NdagBtsp *btsp);

/*
 * Learn from one execution of query_id with arm at time now.
 * baseline_ms: mean latency of the default arm for this query (<= 0 or NaN
 * when unknown); predicted_ln: the cost model's ln(ms) for the default arm
 * (NaN when none).  Stored (weight 1), *stored = true:
 *	- arm != 0 and latency * speedup <= baseline: query -> arm;
 *	- arm == 0 and ln(latency) - predicted_ln >= slowdown_ln: query ->
 *	  NDAG_BTSP_EXPLORE.
 * The remembered arm of the query running no faster than the baseline
 * again forgets the entry (*forgot = true).  Either flag may be NULL.
 * Errors: NDAG_ERR_ARG (query_id 0, negative arm, bad numbers),
 * NDAG_ERR_NOMEM.
 */
extern int	ndag_btsp_observe(NdagBtsp *btsp, uint64_t query_id, int arm,
							  double latency_ms, double baseline_ms,
							  double predicted_ln, double now, bool *stored,
							  bool *forgot);

/*
 * Recall: *found is true when the query has an entry whose decayed weight
 * exceeds the threshold; then *arm and *weight (either may be NULL) get
 * them.
 */
extern int	ndag_btsp_lookup(const NdagBtsp *btsp, uint64_t query_id, double now,
							 bool *found, int *arm, double *weight);

/* Forget a query (no-op when absent). */
extern int	ndag_btsp_forget(NdagBtsp *btsp, uint64_t query_id);

/* Drop entries whose weight at now is at or below the threshold; returns how many. */
extern int	ndag_btsp_prune(NdagBtsp *btsp, double now);

#define NDAG_BTSP_NONE				(-2)	/* no entry remembered */

/* What one execution means for a query's BTSP entry (ndag_btsp_judge). */
typedef enum NdagBtspVerdict
{
	NDAG_BTSP_KEEP,				/* nothing changes */
	NDAG_BTSP_STORE_ARM,		/* remember query -> arm */
	NDAG_BTSP_STORE_EXPLORE,	/* remember query -> NDAG_BTSP_EXPLORE */
	NDAG_BTSP_FORGET			/* the remembered arm no longer pays off */
} NdagBtspVerdict;

/*
 * The surprise test of ndag_btsp_observe, for callers keeping their own
 * entries (shared memory): remembered is the query's remembered arm (or
 * NDAG_BTSP_EXPLORE, or NDAG_BTSP_NONE), the other arguments as there.
 * Returns an NdagBtspVerdict.
 */
extern int	ndag_btsp_judge(int remembered, int arm, double latency_ms,
							double baseline_ms, double predicted_ln,
							double speedup, double slowdown_ln);

/* weight decayed from stored_at to now with time constant tau_s. */
extern double ndag_btsp_decay(double weight, double stored_at, double now,
							  double tau_s);

/* ---------- the learning cycle (learn.c) ---------- */

#define NDAG_LEARN_DRIFT_BOUNDARY	0.1 /* HDC drift that is a new task */

/* Settings of one cycle; ndag_learn_opts_init. */
typedef struct NdagLearnOpts
{
	NdagPatternParams patterns;
	NdagCostTrainOpts train;
	double		drift_boundary; /* HDC drift that marks an EWC++ boundary */
} NdagLearnOpts;

/* What one cycle did (the figures ruvector_dag_learn() reports). */
typedef struct NdagLearnResult
{
	int			trajectories;	/* given */
	NdagExtractResult extract;	/* used, clusters, created, merged, evicted */
	int			trained;		/* samples the cost model trained on */
	double		loss_before;	/* cost model, mean 0.5 (y - ln ms)^2 */
	double		loss_after;
	double		drift;			/* 1 - similarity of the snapshots */
	bool		drift_boundary; /* drift marked a task boundary */
	bool		loss_boundary;	/* the loss detector fired in training */
	bool		train_rejected; /* training hit a non-finite step: the
								 * model is as it was before it */
	NdagHv		snapshot;		/* state after the cycle */
} NdagLearnResult;

/*
 * Quality of an execution (DESIGN.md section 5): 0.5 / (1 + t/1000) +
 * 0.5 * (improvement + 1) / 2 with improvement = (baseline - t) /
 * baseline clamped to [-1, 1]; without a baseline (<= 0 or NaN) the
 * improvement is 0.
 */
extern double ndag_trajectory_quality(double latency_ms, double baseline_ms);

/* Default cycle settings. */
extern void ndag_learn_opts_init(NdagLearnOpts *opts);

/*
 * One background learning cycle over the trajectories recorded since the
 * last cycle (feeding the same ones twice counts them twice): pattern
 * extraction into bank; the bank's HDC snapshot and its drift from
 * *previous (NULL: first cycle, drift 0); a drift above drift_boundary
 * marks an EWC++ boundary before training; then BaseLoRA training of
 * model on every trajectory with a usable arm and latency (target ln ms),
 * with ewc (may be NULL; else ewc->n == model->n_base).  A training run
 * that diverges (a non-finite loss or parameter) is undone and reported in
 * result->train_rejected; the cycle still succeeds.  Errors: NDAG_ERR_ARG,
 * NDAG_ERR_NOMEM.
 */
extern int	ndag_learn_cycle(NdagPatternBank *bank, NdagCostModel *model,
							 NdagEwc *ewc, const NdagTrajectory *traj, int n,
							 const NdagHv *previous, const NdagLearnOpts *opts,
							 double now, NdagLearnResult *result);

#endif							/* NDAG_ENGINE_H */
