/*-------------------------------------------------------------------------
 *
 * attention.h
 *	  The eight DAG attention mechanisms and their parameters, the Lorentz
 *	  (hyperboloid) geometry of hierarchical_lorentz, and the temporal
 *	  traces that temporal_btsp reads.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_ATTENTION_H
#define NDAG_ATTENTION_H

#include "dag.h"
#include "ucb.h"

/* ---------- constants ---------- */

/* points of the Lorentz (hyperboloid) model have this many coordinates */
#define NDAG_LORENTZ_DIM	3

/* temporal traces: time constant (seconds) of the decay */
#define NDAG_TRACE_TAU_S		2.0

/* ---------- types ---------- */

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

#endif							/* NDAG_ATTENTION_H */
