/*-------------------------------------------------------------------------
 *
 * learn.c
 *	  One background learning cycle (DESIGN.md section 5): ReasoningBank
 *	  extraction, the HDC state snapshot and its drift (which can mark an
 *	  EWC++ task boundary), and BaseLoRA training with EWC++.  Also the
 *	  trajectory quality formula.
 *
 * The drift boundary is taken before training, so the anchor theta* is
 * the model that served the previous workload.
 *
 * A cost model that never gets worse: a stable share of the trajectories
 * (by a hash of their ids) is held out of training, and the trained model
 * replaces the old one only if its median error on them is not worse than
 * the old model's; otherwise model and EWC++ state are put back.
 *
 * The cost model trains on the cycle's new trajectories and on the caller's
 * replay of earlier ones.  A cycle alone is a few dozen executions, and a
 * background run is at least NDAG_COST_MIN_STEPS Adam steps: on them alone
 * the model drove its training loss to nothing, forgot every statement and
 * arm not executed since the previous cycle, and its held-out error rose
 * in one cycle out of two (EWC++ does not prevent it: without a task
 * boundary its penalty is zero).  Held-out trajectories of earlier cycles
 * stay held out (the split is a hash of the id), so they judge too.  A
 * second hashed share of the rest validates the training run, which ends
 * at its best checkpoint rather than at its last step.
 *
 *-------------------------------------------------------------------------
 */
#include "costmodel.h"
#include "engine.h"
#include "learn.h"
#include "patterns.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * ndag_trajectory_quality
 *		See learn.h.
 */
double
ndag_trajectory_quality(double latency_ms, double baseline_ms)
{
	double		t = latency_ms > 0.0 && isfinite(latency_ms) ? latency_ms : 0.0;
	double		improvement = 0.0;

	if (baseline_ms > 0.0 && isfinite(baseline_ms))
	{
		improvement = (baseline_ms - t) / baseline_ms;
		if (improvement < -1.0)
			improvement = -1.0;
		else if (improvement > 1.0)
			improvement = 1.0;
	}
	return 0.5 / (1.0 + t / 1000.0) + 0.5 * (improvement + 1.0) / 2.0;
}

/*
 * ndag_learn_opts_init
 *		Defaults of every step.
 */
void
ndag_learn_opts_init(NdagLearnOpts *opts)
{
	ndag_pattern_params_init(&opts->patterns);
	ndag_cost_train_opts_init(&opts->train);
	opts->drift_boundary = NDAG_LEARN_DRIFT_BOUNDARY;
	opts->heldout_share = NDAG_LEARN_HELDOUT_SHARE;
	opts->keep_tolerance = NDAG_LEARN_KEEP_TOLERANCE;
	opts->validation_share = NDAG_LEARN_VALIDATION_SHARE;
	opts->ids = NULL;
	opts->replay = NULL;
	opts->replay_ids = NULL;
	opts->n_replay = 0;
}

/*
 * ndag_learn_is_heldout
 *		splitmix64 of the id against the share of the 64-bit range.
 */
bool
ndag_learn_is_heldout(uint64_t id, double share)
{
	uint64_t	z = id + UINT64_C(0x9e3779b97f4a7c15);

	if (!(share > 0.0))
		return false;
	if (share >= 1.0)
		return true;
	z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
	z ^= z >> 31;
	return (double) (z >> 11) * (1.0 / 9007199254740992.0) < share;
}

/*
 * ndag_learn_keep_model
 *		See learn.h.
 */
bool
ndag_learn_keep_model(double error_before, double error_after,
					  double tolerance)
{
	if (!isfinite(error_after))
		return false;
	if (!isfinite(error_before))
		return true;
	return error_after <= error_before * (1.0 + (tolerance > 0.0 ? tolerance : 0.0));
}

/*
 * cmp_double
 *		qsort order of doubles.
 */
static int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return (x > y) - (x < y);
}

/*
 * ndag_cost_median_error
 *		See learn.h.
 */
int
ndag_cost_median_error(const NdagCostModel *model, const float *embeddings,
					   const int *arms, const float *targets, int n,
					   double *median)
{
	float	   *pred;
	double	   *err;
	int			rc;
	int			i;

	if (model == NULL || median == NULL || n < 0 ||
		(n > 0 && (embeddings == NULL || arms == NULL || targets == NULL)))
		return NDAG_ERR_ARG;
	*median = NAN;
	if (n == 0)
		return NDAG_OK;
	pred = malloc(sizeof(float) * (size_t) n);
	err = malloc(sizeof(double) * (size_t) n);
	if (pred == NULL || err == NULL)
	{
		free(pred);
		free(err);
		return NDAG_ERR_NOMEM;
	}
	rc = ndag_cost_predict_batch(model, embeddings, arms, n, pred);
	if (rc == NDAG_OK)
	{
		for (i = 0; i < n; i++)
			err[i] = fabs((double) pred[i] - (double) targets[i]);
		qsort(err, (size_t) n, sizeof(double), cmp_double);
		*median = n % 2 == 1 ? err[n / 2] : 0.5 * (err[n / 2 - 1] + err[n / 2]);
	}
	free(pred);
	free(err);
	return rc;
}

/*
 * ndag_learn_cycle
 *		See learn.h.
 */
int
ndag_learn_cycle(NdagPatternBank *bank, NdagCostModel *model, NdagEwc *ewc,
				 const NdagTrajectory *traj, int n, const NdagHv *previous,
				 const NdagLearnOpts *opts, double now, NdagLearnResult *result)
{
	NdagLearnOpts def;
	NdagCostTrainResult tr;
	float	   *emb = NULL;
	int		   *arms = NULL;
	float	   *targets = NULL;
	int			m = 0;
	int			held = 0;
	const float *judge_emb = NULL;
	const int  *judge_arms = NULL;
	const float *judge_targets = NULL;
	int			judge_n = 0;
	int			n_replay;
	int			n_all;
	float	   *val_emb = NULL;
	int		   *val_arms = NULL;
	float	   *val_targets = NULL;
	int			val_n = 0;
	NdagCostTrainOpts train;
	NdagCostModel *before = NULL;
	NdagEwc    *ewc_before = NULL;
	int			rc;
	int			i;

	if (bank == NULL || model == NULL || result == NULL || n < 0 ||
		(n > 0 && traj == NULL) || (ewc != NULL && ewc->n != model->n_base))
		return NDAG_ERR_ARG;
	if (opts == NULL)
	{
		ndag_learn_opts_init(&def);
		opts = &def;
	}
	memset(result, 0, sizeof(NdagLearnResult));
	result->trajectories = n;

	rc = ndag_bank_extract(bank, traj, n, &opts->patterns, now, &result->extract);
	if (rc != NDAG_OK)
		return rc;
	rc = ndag_hdc_bank_snapshot(bank, &result->snapshot);
	if (rc != NDAG_OK)
		return rc;
	if (previous != NULL)
	{
		result->drift = ndag_hdc_drift(previous, &result->snapshot);
		if (ewc != NULL && result->drift > opts->drift_boundary)
		{
			ndag_ewc_mark_boundary(ewc, model->params);
			result->drift_boundary = true;
		}
	}

	n_replay = n > 0 && opts->replay != NULL && opts->replay_ids != NULL ?
		opts->n_replay : 0;
	n_all = n + n_replay;
	if (n > 0)
	{
		emb = malloc(sizeof(float) * (size_t) n_all * NDAG_EMBED_DIM);
		arms = malloc(sizeof(int) * (size_t) n_all);
		targets = malloc(sizeof(float) * (size_t) n_all);
		val_emb = malloc(sizeof(float) * (size_t) n_all * NDAG_EMBED_DIM);
		val_arms = malloc(sizeof(int) * (size_t) n_all);
		val_targets = malloc(sizeof(float) * (size_t) n_all);
		if (emb == NULL || arms == NULL || targets == NULL ||
			val_emb == NULL || val_arms == NULL || val_targets == NULL)
		{
			rc = NDAG_ERR_NOMEM;
			goto done;
		}
	}

	/*
	 * usable samples, the cycle's and the replayed: those trained on from
	 * the front, those held out from the back of the same arrays
	 */
	for (i = 0; i < n_all; i++)
	{
		const NdagTrajectory *t = i < n ? &traj[i] : &opts->replay[i - n];
		bool		usable = t->arm >= 0 && t->arm < model->n_arms &&
			t->latency_ms > 0.0 && isfinite(t->latency_ms);
		uint64_t	id = i >= n ? opts->replay_ids[i - n] :
			opts->ids != NULL ? opts->ids[i] : (uint64_t) i + 1;
		int			at;
		int			d;

		for (d = 0; usable && d < NDAG_EMBED_DIM; d++)
			usable = isfinite(t->embedding[d]);
		if (!usable)
			continue;
		if (i >= n)
			result->replayed++;
		if (ndag_learn_is_heldout(id, opts->heldout_share))
			at = n_all - 1 - held++;
		else if (ndag_learn_is_heldout(id ^ NDAG_LEARN_VALIDATION_SALT,
									   opts->validation_share))
		{
			memcpy(val_emb + (size_t) val_n * NDAG_EMBED_DIM, t->embedding,
				   sizeof(float) * NDAG_EMBED_DIM);
			val_arms[val_n] = t->arm;
			val_targets[val_n++] = (float) log(t->latency_ms);
			continue;
		}
		else
			at = m++;
		memcpy(emb + (size_t) at * NDAG_EMBED_DIM, t->embedding,
			   sizeof(float) * NDAG_EMBED_DIM);
		arms[at] = t->arm;
		targets[at] = (float) log(t->latency_ms);
	}
	/*
	 * too few to validate by, or nothing else to train on: they train too
	 * (into the gap before the held out)
	 */
	if (val_n > 0 && (val_n < NDAG_LEARN_HELDOUT_MIN || m == 0))
	{
		memcpy(emb + (size_t) m * NDAG_EMBED_DIM, val_emb,
			   sizeof(float) * (size_t) val_n * NDAG_EMBED_DIM);
		memcpy(arms + m, val_arms, sizeof(int) * (size_t) val_n);
		memcpy(targets + m, val_targets, sizeof(float) * (size_t) val_n);
		m += val_n;
		val_n = 0;
	}
	result->heldout_error_before = NAN;
	result->heldout_error_after = NAN;
	if (m == 0 && held > 0)
	{
		/* nothing left to train on: train on all, judge on all */
		m = held;
		memmove(emb, emb + (size_t) (n_all - held) * NDAG_EMBED_DIM,
				sizeof(float) * (size_t) held * NDAG_EMBED_DIM);
		memmove(arms, arms + (n_all - held), sizeof(int) * (size_t) held);
		memmove(targets, targets + (n_all - held), sizeof(float) * (size_t) held);
		held = 0;
	}
	/* too few held out to judge by: they train too, and all are judged */
	if (held > 0 && held < NDAG_LEARN_HELDOUT_MIN)
	{
		memmove(emb + (size_t) m * NDAG_EMBED_DIM,
				emb + (size_t) (n_all - held) * NDAG_EMBED_DIM,
				sizeof(float) * (size_t) held * NDAG_EMBED_DIM);
		memmove(arms + m, arms + (n_all - held), sizeof(int) * (size_t) held);
		memmove(targets + m, targets + (n_all - held), sizeof(float) * (size_t) held);
		m += held;
		held = 0;
	}
	if (held == 0)
	{
		judge_emb = emb;
		judge_arms = arms;
		judge_targets = targets;
		judge_n = m;
		result->heldout_all = true;
	}
	else
	{
		judge_emb = emb + (size_t) (n_all - held) * NDAG_EMBED_DIM;
		judge_arms = arms + (n_all - held);
		judge_targets = targets + (n_all - held);
		judge_n = held;
	}
	result->trained = m;
	result->heldout = judge_n;
	if (m > 0)
	{
		before = ndag_cost_copy(model);
		ewc_before = ewc != NULL ? ndag_ewc_copy(ewc) : NULL;
		if (before == NULL || (ewc != NULL && ewc_before == NULL))
		{
			rc = NDAG_ERR_NOMEM;
			goto done;
		}
		rc = ndag_cost_median_error(model, judge_emb, judge_arms, judge_targets,
									judge_n, &result->heldout_error_before);
		if (rc != NDAG_OK)
			goto done;
		train = opts->train;
		train.val_embeddings = val_emb;
		train.val_arms = val_arms;
		train.val_targets = val_targets;
		train.val_n = val_n;
		result->validated = val_n;
		rc = ndag_cost_train_base(model, ewc, emb, arms, targets, m,
								  &train, &tr);
		if (rc == NDAG_ERR_NONFINITE)
		{
			/* the model is back as it was; the patterns still count */
			result->train_rejected = true;
			result->trained = 0;
			result->heldout_error_after = result->heldout_error_before;
		}
		else if (rc != NDAG_OK)
			goto done;
		else
		{
			result->loss_before = tr.loss_before;
			result->loss_after = tr.loss_after;
			result->loss_boundary = tr.boundary;
			rc = ndag_cost_median_error(model, judge_emb, judge_arms,
										judge_targets, judge_n,
										&result->heldout_error_after);
			if (rc != NDAG_OK)
				goto done;
			result->model_kept =
				ndag_learn_keep_model(result->heldout_error_before,
									  result->heldout_error_after,
									  opts->keep_tolerance);
		}
		if (!result->model_kept)
		{
			/* the old model stays, and so does what EWC++ protected */
			memcpy(model->params, before->params,
				   sizeof(float) * (size_t) model->n_params);
			model->base_steps = before->base_steps;
			model->instant_steps = before->instant_steps;
			ndag_cost_sync(model);
			if (ewc != NULL)
				(void) ndag_ewc_assign(ewc, ewc_before);
		}
	}
	rc = NDAG_OK;

done:
	ndag_cost_free(before);
	ndag_ewc_free(ewc_before);
	free(emb);
	free(arms);
	free(targets);
	free(val_emb);
	free(val_arms);
	free(val_targets);
	return rc;
}
