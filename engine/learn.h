/*-------------------------------------------------------------------------
 *
 * learn.h
 *	  The background learning cycle (DESIGN.md sections 5 and 6): the quality
 *	  of an execution, then pattern extraction, HDC drift, and cost model
 *	  training with EWC++ over the executions recorded since the last cycle.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_LEARN_H
#define NDAG_LEARN_H

#include "costmodel.h"
#include "patterns.h"

/* ---------- the learning cycle (learn.c) ---------- */

#define NDAG_LEARN_DRIFT_BOUNDARY	0.1 /* HDC drift that is a new task */
#define NDAG_LEARN_HELDOUT_SHARE	0.2 /* trajectories held out of training */
#define NDAG_LEARN_HELDOUT_MIN		5	/* fewer held out: judge on all */
#define NDAG_LEARN_KEEP_TOLERANCE	0.02	/* relative error increase taken as noise */
#define NDAG_LEARN_REPLAY_MAX		4096	/* earlier trajectories trained on again */
#define NDAG_LEARN_VALIDATION_SHARE 0.2 /* of the rest: when to stop training */
#define NDAG_LEARN_VALIDATION_SALT	UINT64_C(0x76616c6964617465)	/* a second split */

/* Settings of one cycle; ndag_learn_opts_init. */
typedef struct NdagLearnOpts
{
	NdagPatternParams patterns;
	NdagCostTrainOpts train;
	double		drift_boundary; /* HDC drift that marks an EWC++ boundary */
	double		heldout_share;	/* share of trajectories held out (0: none) */
	double		keep_tolerance; /* see ndag_learn_keep_model */
	double		validation_share;	/* of the samples not held out: the
									 * training run's validation (0: none) */
	const uint64_t *ids;		/* stable id of each trajectory (may be NULL:
								 * its position, counted from 1) */
	const NdagTrajectory *replay;	/* earlier trajectories: cost model only */
	const uint64_t *replay_ids; /* their stable ids (not NULL with replay) */
	int			n_replay;
} NdagLearnOpts;

/* What one cycle did (the figures ruvector_dag_learn() reports). */
typedef struct NdagLearnResult
{
	int			trajectories;	/* given */
	NdagExtractResult extract;	/* used, clusters, created, merged, evicted */
	int			trained;		/* samples the cost model trained on */
	int			replayed;		/* of trained, validated and heldout:
								 * earlier cycles' */
	int			validated;		/* samples the run stopped by */
	double		loss_before;	/* cost model, mean 0.5 (y - ln ms)^2 */
	double		loss_after;
	double		drift;			/* 1 - similarity of the snapshots */
	bool		drift_boundary; /* drift marked a task boundary */
	bool		loss_boundary;	/* the loss detector fired in training */
	bool		train_rejected; /* training hit a non-finite step: the
								 * model is as it was before it */
	int			heldout;		/* samples the model was judged on */
	bool		heldout_all;	/* too few held out: judged on all samples */
	double		heldout_error_before;	/* median |predicted - ln ms| over
										 * them, NaN when none */
	double		heldout_error_after;	/* of the model trained now */
	bool		model_kept;		/* the trained model replaced the old one */
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
 * Whether the trajectory with stable id `id` is held out of cost model
 * training at the given share: a hash of the id, so a trajectory is on the
 * same side in every cycle and every process.
 */
extern bool ndag_learn_is_heldout(uint64_t id, double share);

/*
 * The keep-or-reject rule of a training run: keep the new model when its
 * held-out error is not above the old model's by more than the relative
 * tolerance (or when there is no finite old error to compare with);
 * never keep a non-finite error.
 */
extern bool ndag_learn_keep_model(double error_before, double error_after,
								  double tolerance);

/*
 * Median |predicted - target| of model over n samples (embeddings n x
 * NDAG_EMBED_DIM, arms, targets in ln ms) into *median; NaN for n = 0.
 * Errors: NDAG_ERR_ARG, NDAG_ERR_NOMEM.
 */
extern int	ndag_cost_median_error(const NdagCostModel *model,
								   const float *embeddings, const int *arms,
								   const float *targets, int n,
								   double *median);

/*
 * One background learning cycle over the trajectories recorded since the
 * last cycle (feeding the same ones twice counts them twice): pattern
 * extraction into bank; the bank's HDC snapshot and its drift from
 * *previous (NULL: first cycle, drift 0); a drift above drift_boundary
 * marks an EWC++ boundary before training; then BaseLoRA training of
 * model on every trajectory with a usable arm and latency (target ln ms),
 * with ewc (may be NULL; else ewc->n == model->n_base).  The cost model also
 * trains on opts->replay, the most recent trajectories of earlier cycles
 * (patterns never see them again): trained on the few executions of one
 * cycle alone, a model memorises them and forgets the rest of the workload.
 * A further share of the samples (opts->validation_share, again a hash of
 * the id) is not trained on but validates the run
 * (NdagCostTrainOpts.val_n), which keeps its best parameters.  A training run
 * that diverges (a non-finite loss or parameter) is undone and reported in
 * result->train_rejected; the cycle still succeeds.  The model trains on
 * the trajectories not held out (ndag_learn_is_heldout with
 * opts->heldout_share) and is judged on those held out (on all when fewer
 * than NDAG_LEARN_HELDOUT_MIN are): when its median error there is worse
 * than the old model's (ndag_learn_keep_model), the model and ewc are put
 * back as they were before training and result->model_kept is false.  Errors: NDAG_ERR_ARG,
 * NDAG_ERR_NOMEM.
 */
extern int	ndag_learn_cycle(NdagPatternBank *bank, NdagCostModel *model,
							 NdagEwc *ewc, const NdagTrajectory *traj, int n,
							 const NdagHv *previous, const NdagLearnOpts *opts,
							 double now, NdagLearnResult *result);

#endif							/* NDAG_LEARN_H */
