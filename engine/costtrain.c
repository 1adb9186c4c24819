/*-------------------------------------------------------------------------
 *
 * costtrain.c
 *	  The cost model's background loop (mini-batch training of the base
 *	  slice with EWC++) and the per-backend deltas of the instant loop.
 *
 * Background training uses Adam (beta1 0.9, beta2 0.999) with step size
 * opts->lr: the targets are ln(ms), whose scale differs between databases,
 * and plain SGD at 0.001 would need thousands of epochs.  The Fisher
 * information is the squared mini-batch gradient of the data loss (not of
 * the penalty), which is the gradient EWC++'s online estimate follows.
 *
 * A run given validation samples checks them about 50 times and ends with
 * the parameters that did best on them, the starting ones included: the
 * thousand-step minimum is then a ceiling on effort, not an obligation to
 * memorise a small training set.
 *
 *-------------------------------------------------------------------------
 */
#include "bytes.h"
#include "costmodel.h"
#include "engine.h"
#include "learn.h"
#include "learn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NDAG_COST_DELTA_MAGIC	"NDCD"
#define NDAG_COST_DELTA_HEADER	32	/* magic, version, arms, ranks, n, steps */
#define NDAG_ADAM_BETA1			0.9
#define NDAG_ADAM_BETA2			0.999
#define NDAG_ADAM_EPS			1e-8

/*
 * ndag_cost_train_opts_init
 *		Defaults: 5 epochs of batches of 32 (more until NDAG_COST_MIN_STEPS
 *		steps), lr 0.001, boundary detection on, bias initialisation on.
 */
void
ndag_cost_train_opts_init(NdagCostTrainOpts *opts)
{
	opts->epochs = 5;
	opts->batch_size = 32;
	opts->lr = NDAG_COST_BASE_LR;
	opts->seed = 42;
	opts->detect_boundary = true;
	opts->min_steps = NDAG_COST_MIN_STEPS;
	opts->init_bias = true;
	opts->val_embeddings = NULL;
	opts->val_arms = NULL;
	opts->val_targets = NULL;
	opts->val_n = 0;
}

/*
 * ndag_cost_validate
 *		With validation samples: the median |error| of the model on them,
 *		and when it is below *best, the base slice into best_params.
 */
static int
ndag_cost_validate(const NdagCostModel *model, const NdagCostTrainOpts *opts,
				   double *best, float *best_params, int steps, int *best_step)
{
	double		err;
	int			rc;

	if (opts->val_n < 1)
		return NDAG_OK;
	rc = ndag_cost_median_error(model, opts->val_embeddings, opts->val_arms,
								opts->val_targets, opts->val_n, &err);
	if (rc != NDAG_OK)
		return rc;
	if (isfinite(err) && err < *best)
	{
		*best = err;
		memcpy(best_params, model->params, sizeof(float) * (size_t) model->n_base);
		*best_step = steps;
	}
	return NDAG_OK;
}

/*
 * ndag_cost_full_loss
 *		Mean loss over all samples, in chunks of the batch work space.
 */
static int
ndag_cost_full_loss(const NdagCostModel *m, const float *emb, const int *arms,
					const float *targets, int n, int chunk, float *x,
					float *work, double *loss)
{
	double		sum = 0.0;
	int			start;

	for (start = 0; start < n; start += chunk)
	{
		int			c = n - start < chunk ? n - start : chunk;
		double		l;
		int			rc;

		ndag_cost_build_inputs(m, emb + (size_t) start * NDAG_EMBED_DIM,
							   arms + start, NULL, c, x);
		rc = ndag_cost_batch_grad(m, x, targets + start, NULL, c, work, &l, NULL);
		if (rc != NDAG_OK)
			return rc;
		sum += l * c;
	}
	*loss = sum / n;
	return NDAG_OK;
}

/*
 * ndag_cost_train_base
 *		Epochs over a shuffled order; per batch: data gradient, Fisher
 *		update, boundary detector, penalty gradient, Adam step on the base
 *		slice, w_eff refresh.  A step whose loss or updated parameters are
 *		not finite ends the run with NDAG_ERR_NONFINITE and puts the base
 *		slice back as it was before the run: a diverging run never leaves
 *		a model worse than the one it started from.
 */
int
ndag_cost_train_base(NdagCostModel *model, NdagEwc *ewc,
					 const float *embeddings, const int *arms,
					 const float *targets, int n,
					 const NdagCostTrainOpts *opts,
					 NdagCostTrainResult *result)
{
	NdagCostTrainOpts def;
	NdagRng		rng;
	int			nb;
	int			bs;
	int		   *order = NULL;
	float	   *x = NULL;
	float	   *work = NULL;
	float	   *grad = NULL;
	double	   *adam_m = NULL;
	double	   *adam_v = NULL;
	float	   *start_params = NULL;
	float	   *best_params = NULL;
	double		best = INFINITY;
	int			check_every;
	float	   *next = NULL;
	uint64_t	start_steps = model != NULL ? model->base_steps : 0;
	double		b1t = 1.0;
	double		b2t = 1.0;
	int			rc = NDAG_OK;
	int			epoch;
	int			epochs;
	int			batches;
	long		total;
	int			i;

	if (model == NULL || embeddings == NULL || arms == NULL || targets == NULL ||
		result == NULL || n < 1)
		return NDAG_ERR_ARG;
	if (opts == NULL)
	{
		ndag_cost_train_opts_init(&def);
		opts = &def;
	}
	if (opts->epochs < 0 || opts->batch_size < 1 || opts->min_steps < 0 ||
		opts->val_n < 0 ||
		(opts->val_n > 0 && (opts->val_embeddings == NULL ||
							 opts->val_arms == NULL || opts->val_targets == NULL)) ||
		!(opts->lr > 0.0) ||
		!isfinite(opts->lr) || (ewc != NULL && ewc->n != model->n_base))
		return NDAG_ERR_ARG;
	for (i = 0; i < n; i++)
		if (arms[i] < 0 || arms[i] >= model->n_arms || !isfinite(targets[i]))
			return NDAG_ERR_ARG;
	memset(result, 0, sizeof(NdagCostTrainResult));
	nb = model->n_base;
	bs = opts->batch_size < n ? opts->batch_size : n;

	order = malloc(sizeof(int) * (size_t) n);
	x = malloc(sizeof(float) * (size_t) bs * (size_t) model->in_dim);
	work = malloc(sizeof(float) * ndag_cost_batch_work(model, bs));
	grad = malloc(sizeof(float) * (size_t) model->n_params);
	adam_m = calloc((size_t) nb, sizeof(double));
	adam_v = calloc((size_t) nb, sizeof(double));
	start_params = malloc(sizeof(float) * (size_t) nb);
	next = malloc(sizeof(float) * (size_t) nb);
	best_params = malloc(sizeof(float) * (size_t) nb);
	if (order == NULL || x == NULL || work == NULL || grad == NULL ||
		adam_m == NULL || adam_v == NULL || start_params == NULL ||
		next == NULL || best_params == NULL)
	{
		rc = NDAG_ERR_NOMEM;
		goto done;
	}
	memcpy(start_params, model->params, sizeof(float) * (size_t) nb);

	rc = ndag_cost_full_loss(model, embeddings, arms, targets, n, bs, x, work,
							 &result->loss_before);
	if (rc != NDAG_OK)
		goto done;

	/*
	 * a model never trained in the background (at most instant steps, whose
	 * bias is a noisy start): the output bias at the mean target
	 */
	if (opts->init_bias && model->base_steps == 0)
	{
		double		mean = 0.0;

		for (i = 0; i < n; i++)
			mean += targets[i];
		model->params[model->off_c] = (float) (mean / n);
	}

	/* enough epochs for min_steps steps */
	batches = (n + bs - 1) / bs;
	epochs = opts->epochs;
	if ((long) epochs * batches < opts->min_steps && epochs > 0)
		epochs = (int) ((opts->min_steps + batches - 1) / batches);
	total = (long) epochs * batches;
	check_every = total > 50 ? (int) (total / 50) : 1;
	rc = ndag_cost_validate(model, opts, &best, best_params, 0,
							&result->best_step);
	if (rc != NDAG_OK)
		goto done;

	for (i = 0; i < n; i++)
		order[i] = i;
	ndag_rng_seed(&rng, opts->seed);
	for (epoch = 0; epoch < epochs; epoch++)
	{
		int			start;

		for (i = n - 1; i > 0; i--)
		{
			int			j = (int) ndag_rng_below(&rng, (uint64_t) i + 1);
			int			t = order[i];

			order[i] = order[j];
			order[j] = t;
		}
		for (start = 0; start < n; start += bs)
		{
			int			c = n - start < bs ? n - start : bs;
			double		loss;
			double		pen;
			float	   *theta = model->params;
			double		lr;

			/* half cosine from lr down to lr / 10 over the run */
			lr = opts->lr * (0.1 + 0.45 * (1.0 + cos(M_PI * (double) result->steps /
												   (double) (total > 1 ? total - 1 : 1))));

			ndag_cost_build_inputs(model, embeddings, arms, order + start, c, x);
			rc = ndag_cost_batch_grad(model, x, targets, order + start, c, work,
									  &loss, grad);
			if (rc != NDAG_OK)
				goto done;
			if (ewc != NULL)
			{
				bool		boundary = false;

				ndag_ewc_update_fisher(ewc, grad);
				if (opts->detect_boundary)
				{
					ndag_ewc_observe_loss(ewc, loss, theta, &boundary);
					if (boundary)
						result->boundary = true;
				}
				ndag_ewc_penalty(ewc, theta, &pen, grad);
			}

			b1t *= NDAG_ADAM_BETA1;
			b2t *= NDAG_ADAM_BETA2;
			for (i = 0; i < nb; i++)
			{
				double		g = grad[i];
				double		mh;
				double		vh;

				adam_m[i] = NDAG_ADAM_BETA1 * adam_m[i] + (1.0 - NDAG_ADAM_BETA1) * g;
				adam_v[i] = NDAG_ADAM_BETA2 * adam_v[i] + (1.0 - NDAG_ADAM_BETA2) * g * g;
				mh = adam_m[i] / (1.0 - b1t);
				vh = adam_v[i] / (1.0 - b2t);
				next[i] = theta[i] - (float) (lr * mh / (sqrt(vh) + NDAG_ADAM_EPS));
				if (!isfinite(next[i]))
				{
					rc = NDAG_ERR_NONFINITE;
					goto done;
				}
			}
			memcpy(theta, next, sizeof(float) * (size_t) nb);
			ndag_cost_sync(model);
			model->base_steps++;
			result->steps++;
			if (result->steps % check_every == 0 || result->steps == total)
			{
				rc = ndag_cost_validate(model, opts, &best, best_params,
										result->steps, &result->best_step);
				if (rc != NDAG_OK)
					goto done;
			}
		}
	}
	if (isfinite(best))
	{
		memcpy(model->params, best_params, sizeof(float) * (size_t) nb);
		ndag_cost_sync(model);
	}
	else
		result->best_step = result->steps;
	rc = ndag_cost_full_loss(model, embeddings, arms, targets, n, bs, x, work,
							 &result->loss_after);
	if (rc == NDAG_OK && ewc != NULL)
		ndag_ewc_penalty(ewc, model->params, &result->penalty, NULL);

done:
	/* a rejected run leaves the model as it was before it */
	if (rc == NDAG_ERR_NONFINITE)
	{
		memcpy(model->params, start_params, sizeof(float) * (size_t) nb);
		model->base_steps = start_steps;
		ndag_cost_sync(model);
	}
	free(order);
	free(x);
	free(work);
	free(grad);
	free(adam_m);
	free(adam_v);
	free(start_params);
	free(best_params);
	free(next);
	return rc;
}

/*
 * ndag_cost_delta_alloc
 *		A zeroed delta for a shape.
 */
static NdagCostDelta *
ndag_cost_delta_alloc(int n_arms, int base_rank, int micro_rank, int n)
{
	NdagCostDelta *d = calloc(1, sizeof(NdagCostDelta));

	if (d == NULL)
		return NULL;
	d->n_arms = n_arms;
	d->base_rank = base_rank;
	d->micro_rank = micro_rank;
	d->n = n;
	d->origin = calloc((size_t) n, sizeof(float));
	d->diff = calloc((size_t) n, sizeof(float));
	if (d->origin == NULL || d->diff == NULL)
	{
		ndag_cost_delta_free(d);
		return NULL;
	}
	return d;
}

/*
 * ndag_cost_delta_same_shape
 *		Whether a delta applies to a model.
 */
static bool
ndag_cost_delta_same_shape(const NdagCostDelta *d, const NdagCostModel *m)
{
	return d->n_arms == m->n_arms && d->base_rank == m->base_rank &&
		d->micro_rank == m->micro_rank && d->n == m->n_instant;
}

/*
 * ndag_cost_delta_create
 *		Origin = the model's instant slice now.
 */
NdagCostDelta *
ndag_cost_delta_create(const NdagCostModel *model)
{
	NdagCostDelta *d;

	if (model == NULL)
		return NULL;
	d = ndag_cost_delta_alloc(model->n_arms, model->base_rank,
							  model->micro_rank, model->n_instant);
	if (d != NULL)
		ndag_cost_delta_rebase(d, model);
	return d;
}

/*
 * ndag_cost_delta_free
 *		Release a delta.
 */
void
ndag_cost_delta_free(NdagCostDelta *delta)
{
	if (delta == NULL)
		return;
	free(delta->origin);
	free(delta->diff);
	free(delta);
}

/*
 * ndag_cost_delta_capture
 *		diff = current - origin.
 */
int
ndag_cost_delta_capture(NdagCostDelta *delta, const NdagCostModel *model)
{
	const float *cur;
	int			i;

	if (delta == NULL || model == NULL || !ndag_cost_delta_same_shape(delta, model))
		return NDAG_ERR_ARG;
	cur = model->params + model->off_b;
	for (i = 0; i < delta->n; i++)
		delta->diff[i] = cur[i] - delta->origin[i];
	delta->steps = model->instant_steps >= delta->origin_steps ?
		model->instant_steps - delta->origin_steps : 0;
	return NDAG_OK;
}

/*
 * ndag_cost_delta_rebase
 *		Start a new delta at the current parameters.
 */
int
ndag_cost_delta_rebase(NdagCostDelta *delta, const NdagCostModel *model)
{
	if (delta == NULL || model == NULL || !ndag_cost_delta_same_shape(delta, model))
		return NDAG_ERR_ARG;
	memcpy(delta->origin, model->params + model->off_b,
		   sizeof(float) * (size_t) delta->n);
	memset(delta->diff, 0, sizeof(float) * (size_t) delta->n);
	delta->steps = 0;
	delta->origin_steps = model->instant_steps;
	return NDAG_OK;
}

/*
 * ndag_cost_delta_merge
 *		model instant slice += scale * diff, all or nothing: a non-finite
 *		result is rejected before anything is written.
 */
int
ndag_cost_delta_merge(NdagCostModel *model, const NdagCostDelta *delta,
					  double scale)
{
	int			rc;

	if (delta == NULL || model == NULL || !ndag_cost_delta_same_shape(delta, model))
		return NDAG_ERR_ARG;
	rc = ndag_vec_add_finite(model->params + model->off_b, delta->diff,
							 delta->n, scale);
	if (rc != NDAG_OK)
		return rc;
	model->instant_steps += delta->steps;
	return NDAG_OK;
}

/*
 * ndag_cost_delta_serialized_size
 *		Header, diff as float32, checksum.
 */
size_t
ndag_cost_delta_serialized_size(const NdagCostDelta *delta)
{
	if (delta == NULL)
		return 0;
	return NDAG_COST_DELTA_HEADER + 4 * (size_t) delta->n + 8;
}

/*
 * ndag_cost_delta_serialize
 *		magic, version, n_arms, base_rank, micro_rank, n (u32), steps
 *		(u64), diff, FNV-1a.
 */
int
ndag_cost_delta_serialize(const NdagCostDelta *delta, void *buf, size_t cap,
						  size_t *written)
{
	unsigned char *p = buf;
	size_t		need;
	int			i;

	if (delta == NULL || buf == NULL || written == NULL)
		return NDAG_ERR_ARG;
	need = ndag_cost_delta_serialized_size(delta);
	*written = 0;
	if (cap < need)
		return NDAG_ERR_BUFFER;
	memcpy(p, NDAG_COST_DELTA_MAGIC, 4);
	ndag_lput_u32(p + 4, NDAG_COST_DELTA_VERSION);
	ndag_lput_u32(p + 8, (uint32_t) delta->n_arms);
	ndag_lput_u32(p + 12, (uint32_t) delta->base_rank);
	ndag_lput_u32(p + 16, (uint32_t) delta->micro_rank);
	ndag_lput_u32(p + 20, (uint32_t) delta->n);
	ndag_lput_u64(p + 24, delta->steps);
	for (i = 0; i < delta->n; i++)
		ndag_lput_f32(p + NDAG_COST_DELTA_HEADER + 4 * (size_t) i, delta->diff[i]);
	ndag_lput_u64(p + need - 8, ndag_lfnv1a(p, need - 8));
	*written = need;
	return NDAG_OK;
}

/*
 * ndag_cost_delta_deserialize
 *		Validate everything, then build.
 */
int
ndag_cost_delta_deserialize(const void *buf, size_t len, NdagCostDelta **out)
{
	const unsigned char *p = buf;
	NdagCostModel probe;
	NdagCostDelta *d;
	uint32_t	n_arms;
	uint32_t	base_rank;
	uint32_t	micro_rank;
	uint32_t	n;
	int			i;

	if (buf == NULL || out == NULL)
		return NDAG_ERR_ARG;
	*out = NULL;
	if (len < NDAG_COST_DELTA_HEADER + 8 || memcmp(p, NDAG_COST_DELTA_MAGIC, 4) != 0)
		return NDAG_ERR_CORRUPT;
	if (ndag_lget_u32(p + 4) != NDAG_COST_DELTA_VERSION)
		return NDAG_ERR_VERSION;
	n_arms = ndag_lget_u32(p + 8);
	base_rank = ndag_lget_u32(p + 12);
	micro_rank = ndag_lget_u32(p + 16);
	n = ndag_lget_u32(p + 20);
	if (n_arms < 1 || n_arms > NDAG_COST_MAX_ARMS ||
		base_rank < 1 || base_rank > NDAG_COST_MAX_RANK ||
		micro_rank < 1 || micro_rank > NDAG_COST_MAX_RANK)
		return NDAG_ERR_CORRUPT;

	/* the instant slice length implied by the shape */
	memset(&probe, 0, sizeof(probe));
	probe.in_dim = NDAG_EMBED_DIM + (int) n_arms;
	probe.hidden = NDAG_COST_HIDDEN;
	probe.micro_rank = (int) micro_rank;
	if (n != (uint32_t) (2 * probe.hidden + 1 + probe.micro_rank * probe.in_dim +
						 probe.hidden * probe.micro_rank) ||
		len != NDAG_COST_DELTA_HEADER + 4 * (size_t) n + 8 ||
		ndag_lget_u64(p + len - 8) != ndag_lfnv1a(p, len - 8))
		return NDAG_ERR_CORRUPT;
	d = ndag_cost_delta_alloc((int) n_arms, (int) base_rank, (int) micro_rank, (int) n);
	if (d == NULL)
		return NDAG_ERR_NOMEM;
	d->steps = ndag_lget_u64(p + 24);
	for (i = 0; i < (int) n; i++)
	{
		d->diff[i] = ndag_lget_f32(p + NDAG_COST_DELTA_HEADER + 4 * (size_t) i);
		if (!isfinite(d->diff[i]))
		{
			ndag_cost_delta_free(d);
			return NDAG_ERR_CORRUPT;
		}
	}
	*out = d;
	return NDAG_OK;
}
