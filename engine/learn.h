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

#endif							/* NDAG_LEARN_H */
