/*-------------------------------------------------------------------------
 *
 * costmodel.h
 *	  The cost model that predicts a plan's latency under an arm (a fixed
 *	  random projection with BaseLoRA and MicroLoRA factors), its
 *	  per-backend deltas, and EWC++ against forgetting (DESIGN.md section 6).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_COSTMODEL_H
#define NDAG_COSTMODEL_H

#include "engine.h"

/* ---------- constants: cost model and EWC++ ---------- */

#define NDAG_COST_HIDDEN			64	/* hidden units H */
#define NDAG_COST_MAX_ARMS			NDAG_MAX_ARMS	/* arms of the one-hot part of x */
#define NDAG_COST_MAX_RANK			32	/* largest LoRA rank */
/* floats of a model's single-sample work space */
#define NDAG_COST_SCRATCH			(4 * NDAG_COST_HIDDEN + 2 * NDAG_COST_MAX_RANK)
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
	const float *w0;			/* hidden x in_dim: the prepared W0 (shared,
								 * read only) or own_w0 */
	float	   *own_w0;			/* drawn for this model; NULL when shared */
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
	const float *val_embeddings;	/* validation samples (not trained on): */
	const int  *val_arms;		/* the run ends with the parameters, of */
	const float *val_targets;	/* those it went through, first included, */
	int			val_n;			/* whose error on them is lowest; 0: none */
} NdagCostTrainOpts;

/* What a background training run did. */
typedef struct NdagCostTrainResult
{
	double		loss_before;	/* mean 0.5 (y - t)^2 over all samples */
	double		loss_after;
	double		penalty;		/* EWC penalty at the end */
	int			steps;			/* mini-batch steps */
	int			best_step;		/* steps behind the parameters kept */
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

/*
 * Draw the fixed random projection W0 of models of n_arms arms and seed
 * once per process, to be shared (read only) by every such model of this
 * process and of the processes it forks afterwards (a server calls it
 * before forking).
 * NDAG_OK, NDAG_ERR_ARG or NDAG_ERR_NOMEM.
 */
extern int	ndag_cost_prepare(int n_arms, uint64_t seed);

/* Times this process drew a model's W0 itself (not the prepared one). */
extern uint64_t ndag_cost_w0_draws(void);

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
 * A read-only model for ndag_cost_predict over parameters (n_params) and
 * W_eff (hidden x in_dim) held elsewhere, with the caller's scratch
 * (NDAG_COST_SCRATCH floats).  Not to be freed.  NDAG_ERR_ARG when
 * n_params is not the shape's.
 */
extern int	ndag_cost_view(NdagCostModel *view, int n_arms, int base_rank,
						   int micro_rank, int n_params, const float *params,
						   const float *w_eff, float *scratch);

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
 * With validation samples (opts->val_n > 0) the run keeps the parameters
 * with the lowest median |error| on them among the starting ones and those
 * after every checkpoint (about 50 per run): however many steps it takes,
 * it never ends past the point where it started to memorise its samples.
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

/* An independent copy; NULL for NULL or when out of memory. */
extern NdagEwc *ndag_ewc_copy(const NdagEwc *ewc);

/* Overwrite dst with src (same n); NDAG_ERR_ARG otherwise. */
extern int	ndag_ewc_assign(NdagEwc *dst, const NdagEwc *src);

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

#endif							/* NDAG_COSTMODEL_H */
