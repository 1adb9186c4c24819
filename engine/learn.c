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

	if (n > 0)
	{
		emb = malloc(sizeof(float) * (size_t) n * NDAG_EMBED_DIM);
		arms = malloc(sizeof(int) * (size_t) n);
		targets = malloc(sizeof(float) * (size_t) n);
		if (emb == NULL || arms == NULL || targets == NULL)
		{
			rc = NDAG_ERR_NOMEM;
			goto done;
		}
	}
	for (i = 0; i < n; i++)
	{
		const NdagTrajectory *t = &traj[i];
		bool		usable = t->arm >= 0 && t->arm < model->n_arms &&
			t->latency_ms > 0.0 && isfinite(t->latency_ms);
		int			d;

		for (d = 0; usable && d < NDAG_EMBED_DIM; d++)
			usable = isfinite(t->embedding[d]);
		if (!usable)
			continue;
		memcpy(emb + (size_t) m * NDAG_EMBED_DIM, t->embedding,
			   sizeof(float) * NDAG_EMBED_DIM);
		arms[m] = t->arm;
		targets[m] = (float) log(t->latency_ms);
		m++;
	}
	result->trained = m;
	if (m > 0)
	{
		rc = ndag_cost_train_base(model, ewc, emb, arms, targets, m,
								  &opts->train, &tr);
		if (rc == NDAG_ERR_NONFINITE)
		{
			/* the model is back as it was; the patterns still count */
			result->train_rejected = true;
			result->trained = 0;
		}
		else if (rc != NDAG_OK)
			goto done;
		else
		{
			result->loss_before = tr.loss_before;
			result->loss_after = tr.loss_after;
			result->loss_boundary = tr.boundary;
		}
	}
	rc = NDAG_OK;

done:
	free(emb);
	free(arms);
	free(targets);
	return rc;
}
