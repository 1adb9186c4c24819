/*-------------------------------------------------------------------------
 *
 * ewc.c
 *	  EWC++ (DESIGN.md section 5): an online diagonal Fisher over the
 *	  trained parameter vector, the quadratic penalty anchoring parameters
 *	  that mattered for earlier tasks, and the task boundary detector on the
 *	  training loss.
 *
 * The detector's z-score is taken against the Welford mean and standard
 * deviation of the losses since the last boundary.  One z > 2 happens on
 * about 2% of pure noise, so a boundary needs `confirm` (5) high scores in
 * a row; a real change of task keeps the loss high for many batches.
 *
 *-------------------------------------------------------------------------
 */
#include "bytes.h"
#include "costmodel.h"
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NDAG_EWC_MAGIC		"NDEW"
#define NDAG_EWC_HEADER		128

/*
 * ndag_ewc_create
 *		Zero Fisher, no anchor, default settings.
 */
NdagEwc *
ndag_ewc_create(int n)
{
	NdagEwc    *e;

	if (n < 1)
		return NULL;
	e = calloc(1, sizeof(NdagEwc));
	if (e == NULL)
		return NULL;
	e->n = n;
	e->fisher = calloc((size_t) n, sizeof(float));
	e->anchor = calloc((size_t) n, sizeof(float));
	e->pending = calloc((size_t) n, sizeof(float));
	if (e->fisher == NULL || e->anchor == NULL || e->pending == NULL)
	{
		ndag_ewc_free(e);
		return NULL;
	}
	e->lambda = 0.0;
	e->lambda_init = NDAG_EWC_LAMBDA;
	e->max_lambda = NDAG_EWC_MAX_LAMBDA;
	e->growth = NDAG_EWC_LAMBDA_GROWTH;
	e->decay = NDAG_EWC_FISHER_DECAY;
	e->z_threshold = NDAG_EWC_Z_THRESHOLD;
	e->min_samples = NDAG_EWC_MIN_SAMPLES;
	e->confirm = NDAG_EWC_CONFIRM;
	return e;
}

/*
 * ndag_ewc_free
 *		Release.
 */
void
ndag_ewc_free(NdagEwc *ewc)
{
	if (ewc == NULL)
		return;
	free(ewc->fisher);
	free(ewc->anchor);
	free(ewc->pending);
	free(ewc);
}

/*
 * ndag_ewc_assign
 *		Copy settings, statistics and vectors of src into dst.
 */
int
ndag_ewc_assign(NdagEwc *dst, const NdagEwc *src)
{
	float	   *fisher;
	float	   *anchor;
	float	   *pending;

	if (dst == NULL || src == NULL || dst->n != src->n)
		return NDAG_ERR_ARG;
	fisher = dst->fisher;
	anchor = dst->anchor;
	pending = dst->pending;
	*dst = *src;
	dst->fisher = fisher;
	dst->anchor = anchor;
	dst->pending = pending;
	memcpy(fisher, src->fisher, sizeof(float) * (size_t) src->n);
	memcpy(anchor, src->anchor, sizeof(float) * (size_t) src->n);
	memcpy(pending, src->pending, sizeof(float) * (size_t) src->n);
	return NDAG_OK;
}

/*
 * ndag_ewc_copy
 *		A new state equal to ewc.
 */
NdagEwc *
ndag_ewc_copy(const NdagEwc *ewc)
{
	NdagEwc    *e;

	if (ewc == NULL)
		return NULL;
	e = ndag_ewc_create(ewc->n);
	if (e != NULL)
		(void) ndag_ewc_assign(e, ewc);
	return e;
}

/*
 * ndag_ewc_update_fisher
 *		Exponential moving average of the squared gradient; non-finite
 *		gradients count as 0 and an update that would overflow is skipped.
 */
int
ndag_ewc_update_fisher(NdagEwc *ewc, const float *grad)
{
	float		keep;
	float		add;
	int			i;

	if (ewc == NULL || grad == NULL)
		return NDAG_ERR_ARG;
	keep = (float) ewc->decay;
	add = (float) (1.0 - ewc->decay);
	for (i = 0; i < ewc->n; i++)
	{
		float		g = isfinite(grad[i]) ? grad[i] : 0.0f;
		float		f = keep * ewc->fisher[i] + add * g * g;

		/* an overflowing square keeps the old value: never an infinite F */
		if (isfinite(f))
			ewc->fisher[i] = f;
	}
	ewc->fisher_updates++;
	return NDAG_OK;
}

/*
 * ndag_ewc_penalty
 *		lambda/2 sum F (theta - theta*)^2, and its gradient added to grad.
 */
int
ndag_ewc_penalty(const NdagEwc *ewc, const float *theta, double *penalty,
				 float *grad)
{
	double		sum = 0.0;
	int			i;

	if (ewc == NULL || theta == NULL || penalty == NULL)
		return NDAG_ERR_ARG;
	*penalty = 0.0;
	if (!ewc->has_anchor || ewc->lambda <= 0.0)
		return NDAG_OK;
	for (i = 0; i < ewc->n; i++)
	{
		double		dlt = (double) theta[i] - ewc->anchor[i];
		double		w = ewc->lambda * ewc->fisher[i];

		sum += w * dlt * dlt;
		if (grad != NULL)
			grad[i] += (float) (w * dlt);
	}
	*penalty = 0.5 * sum;
	return NDAG_OK;
}

/*
 * ndag_ewc_mark_boundary
 *		Anchor at theta, grow lambda, restart the loss statistics.
 */
int
ndag_ewc_mark_boundary(NdagEwc *ewc, const float *theta)
{
	if (ewc == NULL || theta == NULL)
		return NDAG_ERR_ARG;
	memcpy(ewc->anchor, theta, sizeof(float) * (size_t) ewc->n);
	ewc->has_anchor = true;
	ewc->n_tasks++;
	if (ewc->n_tasks == 1)
		ewc->lambda = ewc->lambda_init;
	else
		ewc->lambda *= ewc->growth;
	if (ewc->lambda > ewc->max_lambda)
		ewc->lambda = ewc->max_lambda;
	ewc->loss_n = 0;
	ewc->loss_mean = 0.0;
	ewc->loss_m2 = 0.0;
	ewc->n_high = 0;
	return NDAG_OK;
}

/*
 * ndag_ewc_welford
 *		Add one loss to the running statistics.
 */
static void
ndag_ewc_welford(NdagEwc *ewc, double loss)
{
	double		d;

	ewc->loss_n++;
	d = loss - ewc->loss_mean;
	ewc->loss_mean += d / (double) ewc->loss_n;
	ewc->loss_m2 += d * (loss - ewc->loss_mean);
}

/*
 * ndag_ewc_observe_loss
 *		The boundary detector (see the file header).  Losses of a run of
 *		high z-scores wait in the run (only their count is kept) so that a
 *		real jump does not inflate the statistics it is measured against;
 *		when the run breaks before confirmation they join them.
 */
int
ndag_ewc_observe_loss(NdagEwc *ewc, double loss, const float *theta,
					  bool *boundary)
{
	double		sd;
	double		z;

	if (ewc == NULL || theta == NULL || boundary == NULL)
		return NDAG_ERR_ARG;
	*boundary = false;
	if (!isfinite(loss))
		return NDAG_ERR_ARG;
	if (ewc->loss_n < (uint64_t) ewc->min_samples || ewc->loss_n < 2)
	{
		ndag_ewc_welford(ewc, loss);
		return NDAG_OK;
	}
	sd = sqrt(ewc->loss_m2 / (double) (ewc->loss_n - 1));
	z = sd > 0.0 ? (loss - ewc->loss_mean) / sd :
		(loss > ewc->loss_mean ? INFINITY : 0.0);
	if (z > ewc->z_threshold)
	{
		if (ewc->n_high == 0)
			memcpy(ewc->pending, theta, sizeof(float) * (size_t) ewc->n);
		ewc->n_high++;
		if (ewc->n_high >= ewc->confirm)
		{
			ndag_ewc_mark_boundary(ewc, ewc->pending);
			*boundary = true;
		}
		return NDAG_OK;
	}
	ewc->n_high = 0;
	ndag_ewc_welford(ewc, loss);
	return NDAG_OK;
}

/*
 * ndag_ewc_serialized_size
 *		Header, Fisher and anchor as float32, checksum.
 */
size_t
ndag_ewc_serialized_size(const NdagEwc *ewc)
{
	if (ewc == NULL)
		return 0;
	return NDAG_EWC_HEADER + 8 * (size_t) ewc->n + 8;
}

/*
 * ndag_ewc_serialize
 *		magic, version, n, flags, then the settings and statistics as
 *		doubles and counters, Fisher, anchor, FNV-1a.
 */
int
ndag_ewc_serialize(const NdagEwc *ewc, void *buf, size_t cap, size_t *written)
{
	unsigned char *p = buf;
	size_t		need;
	int			i;

	if (ewc == NULL || buf == NULL || written == NULL)
		return NDAG_ERR_ARG;
	need = ndag_ewc_serialized_size(ewc);
	*written = 0;
	if (cap < need)
		return NDAG_ERR_BUFFER;
	memset(p, 0, NDAG_EWC_HEADER);
	memcpy(p, NDAG_EWC_MAGIC, 4);
	ndag_lput_u32(p + 4, NDAG_EWC_FORMAT_VERSION);
	ndag_lput_u32(p + 8, (uint32_t) ewc->n);
	ndag_lput_u32(p + 12, ewc->has_anchor ? 1 : 0);
	ndag_lput_f64(p + 16, ewc->lambda);
	ndag_lput_f64(p + 24, ewc->lambda_init);
	ndag_lput_f64(p + 32, ewc->max_lambda);
	ndag_lput_f64(p + 40, ewc->growth);
	ndag_lput_f64(p + 48, ewc->decay);
	ndag_lput_f64(p + 56, ewc->z_threshold);
	ndag_lput_u32(p + 64, (uint32_t) ewc->min_samples);
	ndag_lput_u32(p + 68, (uint32_t) ewc->confirm);
	ndag_lput_u64(p + 72, ewc->loss_n);
	ndag_lput_f64(p + 80, ewc->loss_mean);
	ndag_lput_f64(p + 88, ewc->loss_m2);
	ndag_lput_u64(p + 96, ewc->fisher_updates);
	ndag_lput_u32(p + 104, (uint32_t) ewc->n_tasks);
	for (i = 0; i < ewc->n; i++)
	{
		ndag_lput_f32(p + NDAG_EWC_HEADER + 4 * (size_t) i, ewc->fisher[i]);
		ndag_lput_f32(p + NDAG_EWC_HEADER + 4 * (size_t) (ewc->n + i), ewc->anchor[i]);
	}
	ndag_lput_u64(p + need - 8, ndag_lfnv1a(p, need - 8));
	*written = need;
	return NDAG_OK;
}

/*
 * ndag_ewc_deserialize
 *		Validate, then build.
 */
int
ndag_ewc_deserialize(const void *buf, size_t len, NdagEwc **out)
{
	const unsigned char *p = buf;
	NdagEwc    *e;
	uint32_t	n;
	int			i;
	bool		ok;

	if (buf == NULL || out == NULL)
		return NDAG_ERR_ARG;
	*out = NULL;
	if (len < NDAG_EWC_HEADER + 8 || memcmp(p, NDAG_EWC_MAGIC, 4) != 0)
		return NDAG_ERR_CORRUPT;
	if (ndag_lget_u32(p + 4) != NDAG_EWC_FORMAT_VERSION)
		return NDAG_ERR_VERSION;
	n = ndag_lget_u32(p + 8);
	if (n < 1 || n > (1u << 26) || len != NDAG_EWC_HEADER + 8 * (size_t) n + 8 ||
		ndag_lget_u64(p + len - 8) != ndag_lfnv1a(p, len - 8))
		return NDAG_ERR_CORRUPT;
	e = ndag_ewc_create((int) n);
	if (e == NULL)
		return NDAG_ERR_NOMEM;
	e->has_anchor = ndag_lget_u32(p + 12) != 0;
	e->lambda = ndag_lget_f64(p + 16);
	e->lambda_init = ndag_lget_f64(p + 24);
	e->max_lambda = ndag_lget_f64(p + 32);
	e->growth = ndag_lget_f64(p + 40);
	e->decay = ndag_lget_f64(p + 48);
	e->z_threshold = ndag_lget_f64(p + 56);
	e->min_samples = (int) ndag_lget_u32(p + 64);
	e->confirm = (int) ndag_lget_u32(p + 68);
	e->loss_n = ndag_lget_u64(p + 72);
	e->loss_mean = ndag_lget_f64(p + 80);
	e->loss_m2 = ndag_lget_f64(p + 88);
	e->fisher_updates = ndag_lget_u64(p + 96);
	e->n_tasks = (int) ndag_lget_u32(p + 104);
	ok = e->lambda >= 0.0 && isfinite(e->lambda) && e->lambda_init >= 0.0 &&
		e->max_lambda >= 0.0 && isfinite(e->max_lambda) && e->growth >= 1.0 &&
		isfinite(e->growth) && e->decay >= 0.0 && e->decay <= 1.0 &&
		isfinite(e->z_threshold) && e->min_samples >= 0 && e->confirm >= 1 &&
		isfinite(e->loss_mean) && e->loss_m2 >= 0.0 && isfinite(e->loss_m2) &&
		e->n_tasks >= 0;
	for (i = 0; ok && i < (int) n; i++)
	{
		e->fisher[i] = ndag_lget_f32(p + NDAG_EWC_HEADER + 4 * (size_t) i);
		e->anchor[i] = ndag_lget_f32(p + NDAG_EWC_HEADER + 4 * (size_t) (n + i));
		ok = e->fisher[i] >= 0.0f && isfinite(e->fisher[i]) && isfinite(e->anchor[i]);
	}
	if (!ok)
	{
		ndag_ewc_free(e);
		return NDAG_ERR_CORRUPT;
	}
	*out = e;
	return NDAG_OK;
}
