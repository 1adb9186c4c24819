/*-------------------------------------------------------------------------
 *
 * learning_int.h
 *	  Internals of the learning/ folder, shared by learn_cycle.c (loading a
 *	  database's learned state and running the cycle), learn_load.c,
 *	  learn_store.c (store helpers and writing the state back),
 *	  learned_state.c and instant_loop.c; nothing outside learning/
 *	  includes it.  Includers include postgres.h, engine.h, store.h and
 *	  learning/learning.h first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_HOOKS_LEARNING_INT_H
#define NDAG_HOOKS_LEARNING_INT_H

#include "nodes/pg_list.h"

#define LEARN_ARMS			NDAG_PATTERN_MAX_ARMS	/* arms the state covers */
#define LEARN_CAPACITY_PER_CLUSTER	10	/* bank capacity = 10 x clusters */
#define HDC_KEEP			64	/* snapshots kept per database */
#define LEARN_MODEL_SEED	UINT64_C(0x6e646167636f7374)
#define LEARN_SELECTOR_NAME	"attention_selector"	/* models record */

typedef struct LearnState
{
	Oid			dbid;
	bool		matching_only;	/* a backend's copy: hypervectors are
								 * encoded only where matching uses them */
	NdagPatternBank *bank;
	NdagCostModel *model;
	NdagCostModel *before;		/* copy of the model before training */
	NdagEwc    *ewc;
	NdagUcb    *selector;		/* the learned attention selector */
	int			n_deltas;		/* instant-loop deltas merged into model */
	NdagPattern *extra;			/* stored engine patterns, sorted by id */
	int			n_extra;
	NdagHv		previous;
	bool		has_previous;
	int64		last_snapshot;	/* id of the newest stored snapshot */
	List	   *old_snapshots;	/* int64 ids to delete (beyond HDC_KEEP) */
	NdagTrajectory *traj;
	uint64	   *traj_ids;		/* per trajectory: its traj_id (the split) */
	List	  **traj_relids;	/* per trajectory: List of Oid */
	int			n_traj;
	int64		last_traj_id;
	int64		consumed_traj_id;	/* newest consumed before this cycle */
	NdagTrajectory *replay;		/* the newest earlier trajectories (a ring) */
	uint64	   *replay_ids;
	int			n_replay;
	List	  **pattern_relids; /* per bank index, after the cycle */
	int			n_pattern_relids;
	/* stored relids per pattern id, from the records */
	List	   *stored_ids;		/* int64 */
	List	   *stored_relids;	/* List of Oid, parallel */
	List	   *stored_demoted; /* uint64 masks of demoted arms, parallel */
} LearnState;

/* learn_store.c: field access, meta counters, models */
extern double NdagLearnSeconds(TimestampTz ts);
extern TimestampTz NdagLearnTimestamp(double s);
extern int64 NdagLearnMetaGet(const char *prefix, Oid dbid, int64 dflt);
extern void NdagLearnMetaPut(StoreBatch *batch, const char *prefix, Oid dbid,
							 int64 value);
extern bytea *NdagLearnModelGet(Oid dbid, const char *name);

/* learn_load.c: reading the learned state */
extern void NdagLearnLoadBank(LearnState *st);
extern NdagCostModel *NdagLearnLoadCostModel(Oid dbid, bool create);
extern NdagUcb *NdagLearnLoadSelector(Oid dbid, bool create);

/* instant_loop.c: the copy learned_state.c trains, the learner's merge */
typedef enum NdagRejectedKind
{
	NDAG_REJECTED_STEP,			/* an instant step */
	NDAG_REJECTED_DELTA,		/* a delta pushed into a slot or merged */
	NDAG_REJECTED_MODEL			/* a training run, or a model not written */
} NdagRejectedKind;

extern void NdagLearnedCountRejected(NdagRejectedKind kind);
/* what a backend loaded of its database's learned state */
typedef enum NdagLoadedPart
{
	NDAG_LOADED_STATE,			/* the generation and the selector */
	NDAG_LOADED_BANK,			/* the pattern bank */
	NDAG_LOADED_MODEL,			/* the cost model, decoded from the store */
	NDAG_LOADED_MODEL_SHARED	/* ... copied from the shared slot */
} NdagLoadedPart;

extern void NdagLearnedCountLoad(NdagLoadedPart part);
extern void NdagInstantAttach(NdagCostModel *model, Oid dbid);
extern void NdagInstantDetach(void);
extern void NdagInstantStatusCounters(void *state);
extern int	NdagLearnTakeDeltas(Oid dbid, NdagCostModel *model, NdagUcb *selector);

/* learn_store.c: writing the state back */
extern void NdagLearnCollectRelids(LearnState *st);
extern void NdagLearnWrite(LearnState *st, const NdagLearnResult *res,
						   NdagLearnSummary *sum, TimestampTz now);
extern void NdagLearnPutModelState(StoreBatch *batch, Oid dbid, const char *name,
								   const void *state, size_t len,
								   int64 parameters, int64 updates,
								   bool exists, TimestampTz now);
extern char *NdagLearnSelectorBytes(const NdagUcb *ucb, size_t *len,
									int64 *pulls);

/* shared_model.c: decoded cost models shared by a database's backends */
typedef enum NdagSharedModelResult
{
	SHARED_MODEL_MISS,			/* the slot holds another model */
	SHARED_MODEL_NONE,			/* no model is stored */
	SHARED_MODEL_HIT			/* predicted */
} NdagSharedModelResult;

extern NdagSharedModelResult NdagSharedModelPredict(Oid dbid, uint64 epoch,
													const float *embedding,
													int arm, double *y);
extern void NdagSharedModelPublish(Oid dbid, uint64 epoch,
								   const NdagCostModel *model);
extern NdagSharedModelResult NdagSharedModelTake(Oid dbid, uint64 epoch,
												 NdagCostModel **model);
extern uint64 NdagSharedModelCopies(void);

#endif							/* NDAG_HOOKS_LEARNING_INT_H */
