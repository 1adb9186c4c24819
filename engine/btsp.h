/*-------------------------------------------------------------------------
 *
 * btsp.h
 *	  The BTSP one-shot memory queryId -> arm: one surprising execution is
 *	  remembered at once and forgotten as its weight decays (DESIGN.md
 *	  section 6).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_BTSP_H
#define NDAG_BTSP_H

#include "engine.h"

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

#endif							/* NDAG_BTSP_H */
