/*-------------------------------------------------------------------------
 *
 * learning.h
 *	  Learning: the cycle that turns a database's recorded trajectories
 *	  into patterns and a cost model in the store, and each backend's copy
 *	  of that learned state, which the planner consults and the instant
 *	  loop trains between cycles.
 *
 *	learn_cycle.c		one learning cycle of a database (the learner worker
 *						and ruvector_dag_learn() run it)
 *	learn_load.c		reading a database's learned state from the store
 *	learn_store.c		store helpers of the cycle; writing its result back
 *	learned_state.c		this backend's copy of the learned state and the
 *						predictions made with it
 *	instant_loop.c		the copy's instant training after each execution,
 *						and the shared slots through which its deltas reach
 *						the learner's merge
 *	shared_model.c		decoded cost models shared by a database's backends,
 *						which predict from them until they train a copy
 *	learning_int.h		what these files share among themselves only
 *
 * Uses core/, plandag/ and healing/ (the index metadata of patterns).
 * Includers include postgres.h first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_LEARNING_H
#define NDAG_LEARNING_H

/* ---------- types ---------- */

struct NdagDag;
struct NdagPatternBank;
struct NdagCostModel;

/* What one learning cycle of a database did (ruvector_dag_learn()). */
typedef struct NdagLearnSummary
{
	Oid			dbid;
	int			trajectories;	/* new trajectories loaded */
	int			used;			/* at or above the quality threshold */
	int			clusters;
	int			created;
	int			merged;
	int			evicted;
	int			patterns;		/* patterns after the cycle */
	int			trained;		/* samples the cost model trained on */
	int			validated;		/* samples the training run stopped by */
	int			replayed;		/* of trained, validated, heldout: earlier
								 * cycles' */
	bool		model_rejected; /* training diverged and was undone */
	double		loss_before;
	double		loss_after;
	double		error_before;	/* median |predicted - actual ln ms| */
	double		error_after;
	int			heldout;		/* trajectories the new model was judged on */
	double		heldout_error_before;	/* their median error, old model */
	double		heldout_error_after;	/* ... model trained now */
	bool		model_kept;		/* it replaced the old one */
	double		drift;
	bool		task_boundary;
	int64		snapshot_id;	/* 0: no snapshot written */
	int64		last_traj_id;	/* newest trajectory consumed */
	double		ms;
} NdagLearnSummary;

/*
 * The learned state of this backend's database as of a store generation:
 * the pattern bank, the cost model (NULL when none was trained yet) and
 * per pattern (index into bank->patterns) the mask of arms demoted for it.
 * The bank and the masks are NULL until a statement needs them
 * (NdagLearnedWithBank), the model until a prediction or the instant loop
 * needs it (NdagLearnedWithModel).
 */
typedef struct NdagLearned
{
	uint64		generation;
	struct NdagPatternBank *bank;
	struct NdagCostModel *model;
	uint64	   *demoted;		/* bank->count masks, bit a = arm a (< 64) */
} NdagLearned;

/* ---------- learn_cycle.c ---------- */

extern void NdagLearnCycle(Oid dbid, NdagLearnSummary *summary);

/* ---------- learned_state.c: this backend's copy of the learned state ---------- */

extern const NdagLearned *NdagLearnedCurrent(void);
extern const NdagLearned *NdagLearnedWithBank(void);
extern const NdagLearned *NdagLearnedWithModel(void);
extern int	NdagDecisionMechanism(const struct NdagDag *dag);
extern double NdagPredictLn(const float *embedding, int arm);
extern void NdagLearnedStateInit(void);
extern void NdagLearnedStatusCounters(void *state);

/* ---------- shared_model.c: decoded cost models in shared memory ---------- */

extern Size NdagSharedModelShmemSize(void);
extern void NdagSharedModelShmemRequest(void);
extern void NdagSharedModelShmemInit(void);

/* ---------- instant_loop.c: instant training, shared deltas, the learner's merge ---------- */

extern void NdagInstantLearn(int context, int mechanism, const float *embedding,
							 int arm, double exec_ms);
extern Size NdagLearnedShmemSize(void);
extern void NdagLearnedShmemInit(void);
extern int	NdagLearnedMergePending(void);

#endif							/* NDAG_LEARNING_H */
