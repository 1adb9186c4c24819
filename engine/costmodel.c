/*-------------------------------------------------------------------------
 *
 * costmodel.c
 *	  The learned cost model (DESIGN.md section 5): a one-hidden-layer
 *	  network over [plan embedding ; arm one-hot] predicting ln(latency ms),
 *	  whose hidden weights are a fixed random projection plus two low-rank
 *	  adapters, BaseLoRA (background loop) and MicroLoRA (instant loop).
 *
 * This file holds the model's life cycle, the forward passes, the analytic
 * gradient (batched, as matrix products with cblas), the instant step and
 * the byte format.  Background training and per-backend deltas are in
 * costtrain.c.
 *
 * The batched gradient, for n samples with inputs X (n x D), mean loss
 * L = 1/n sum 0.5 e_i^2, e = y - t:
 *
 *	 U = X A_m^T, Z = X W_eff^T + U B_m^T + 1 b^T, H = relu(Z), y = H v + c
 *	 dy = e / n; dc = sum dy; dv = H^T dy; dZ = (dy v^T) o [Z > 0]
 *	 db = colsum dZ; G = dZ^T X (the gradient of W, hidden x D)
 *	 dB_base = G A_base^T, dA_base = B_base^T G,
 *	 dB_micro = dZ^T U,    dA_micro = B_micro^T G.
 *
 *-------------------------------------------------------------------------
 */
#include "blas.h"
#include "bytes.h"
#include "costmodel.h"
#include "engine.h"
#include "learn_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NDAG_COST_MAGIC		"NDCM"
#define NDAG_COST_HEADER	56	/* magic, version, shape, seed, counters, n_params */
#define NDAG_COST_TRAILER	8

/*
 * ndag_cost_layout
 *		Offsets of the parameter blocks for a shape.
 */
static void
ndag_cost_layout(NdagCostModel *m)
{
	int			d = m->in_dim;
	int			h = m->hidden;

	m->off_base_a = 0;
	m->off_base_b = m->off_base_a + m->base_rank * d;
	m->off_b = m->off_base_b + h * m->base_rank;
	m->off_v = m->off_b + h;
	m->off_c = m->off_v + h;
	m->off_micro_a = m->off_c + 1;
	m->off_micro_b = m->off_micro_a + m->micro_rank * d;
	m->n_params = m->off_micro_b + h * m->micro_rank;
	m->n_base = m->off_micro_a;
	m->n_instant = m->n_params - m->off_b;
}

/*
 * W0 of one (seed, input width) drawn once by ndag_cost_prepare (before a
 * server forks its processes, which share it), never freed; and how many
 * times this process drew a W0 itself.
 */
static float *prepared_w0 = NULL;
static uint64_t prepared_w0_seed = 0;
static int	prepared_w0_in_dim = 0;
static uint64_t w0_draws = 0;

/*
 * draw_w0
 *		W0 ~ N(0, 1/2) from the seed into w0 (hidden x in_dim): an embedding
 *		has norm 1 and the one-hot part norm 1, so pre-activations start
 *		with unit variance.
 */
static void
draw_w0(float *w0, size_t wsize, uint64_t seed)
{
	NdagRng		rng;
	float		scale = (float) sqrt(0.5);

	ndag_rng_seed(&rng, seed ^ UINT64_C(0x57305730));
	for (size_t i = 0; i < wsize; i++)
		w0[i] = scale * (float) ndag_rng_normal(&rng);
}

/*
 * ndag_cost_prepare
 *		Draw W0 of the models of n_arms arms from seed once for this
 *		process and the processes it forks afterwards; models of that shape
 *		and seed share it instead of drawing their own.  A second call does
 *		nothing.
 */
int
ndag_cost_prepare(int n_arms, uint64_t seed)
{
	int			in_dim = NDAG_EMBED_DIM + n_arms;
	size_t		wsize = (size_t) NDAG_COST_HIDDEN * in_dim;

	if (n_arms < 1 || n_arms > NDAG_COST_MAX_ARMS)
		return NDAG_ERR_ARG;
	if (prepared_w0 != NULL)
		return NDAG_OK;
	prepared_w0 = malloc(wsize * sizeof(float));
	if (prepared_w0 == NULL)
		return NDAG_ERR_NOMEM;
	draw_w0(prepared_w0, wsize, seed);
	prepared_w0_seed = seed;
	prepared_w0_in_dim = in_dim;
	return NDAG_OK;
}

/*
 * ndag_cost_w0_draws
 *		Times this process drew a model's W0 itself (the prepared W0 is not
 *		counted).
 */
uint64_t
ndag_cost_w0_draws(void)
{
	return w0_draws;
}

/*
 * ndag_cost_alloc
 *		A model of the given shape with its arrays allocated and W0 from the
 *		seed (the prepared one, shared, when it matches, else drawn);
 *		parameters zero.
 */
static NdagCostModel *
ndag_cost_alloc(int n_arms, int base_rank, int micro_rank, uint64_t seed)
{
	NdagCostModel *m;
	size_t		wsize;

	if (n_arms < 1 || n_arms > NDAG_COST_MAX_ARMS ||
		base_rank < 1 || base_rank > NDAG_COST_MAX_RANK ||
		micro_rank < 1 || micro_rank > NDAG_COST_MAX_RANK)
		return NULL;
	m = calloc(1, sizeof(NdagCostModel));
	if (m == NULL)
		return NULL;
	m->n_arms = n_arms;
	m->in_dim = NDAG_EMBED_DIM + n_arms;
	m->hidden = NDAG_COST_HIDDEN;
	m->base_rank = base_rank;
	m->micro_rank = micro_rank;
	m->seed = seed;
	ndag_cost_layout(m);
	wsize = (size_t) m->hidden * m->in_dim;
	m->params = calloc((size_t) m->n_params, sizeof(float));
	m->w_eff = malloc(wsize * sizeof(float));
	m->scratch = malloc(sizeof(float) * NDAG_COST_SCRATCH);
	if (m->params == NULL || m->w_eff == NULL || m->scratch == NULL)
	{
		ndag_cost_free(m);
		return NULL;
	}
	/* W0 is never written after this: the prepared one is shared as is */
	if (prepared_w0 != NULL && prepared_w0_seed == seed &&
		prepared_w0_in_dim == m->in_dim)
	{
		m->w0 = prepared_w0;
		return m;
	}
	m->own_w0 = malloc(wsize * sizeof(float));
	if (m->own_w0 == NULL)
	{
		ndag_cost_free(m);
		return NULL;
	}
	w0_draws++;
	draw_w0(m->own_w0, wsize, seed);
	m->w0 = m->own_w0;
	return m;
}

/*
 * ndag_cost_create
 *		A model with W0 drawn, A factors small Gaussians, B factors zero, v
 *		small, b and c zero.
 */
NdagCostModel *
ndag_cost_create(int n_arms, int base_rank, int micro_rank, uint64_t seed)
{
	NdagCostModel *m = ndag_cost_alloc(n_arms, base_rank, micro_rank, seed);
	NdagRng		rng;
	float		a_scale;
	float		v_scale;
	int			i;

	if (m == NULL)
		return NULL;
	ndag_rng_seed(&rng, seed ^ UINT64_C(0xa11ce5eed));
	a_scale = (float) (1.0 / sqrt((double) m->in_dim));
	v_scale = (float) (1.0 / sqrt((double) m->hidden));
	for (i = 0; i < m->base_rank * m->in_dim; i++)
		m->params[m->off_base_a + i] = a_scale * (float) ndag_rng_normal(&rng);
	for (i = 0; i < m->micro_rank * m->in_dim; i++)
		m->params[m->off_micro_a + i] = a_scale * (float) ndag_rng_normal(&rng);
	for (i = 0; i < m->hidden; i++)
		m->params[m->off_v + i] = v_scale * (float) ndag_rng_normal(&rng);
	ndag_cost_sync(m);
	return m;
}

/*
 * ndag_cost_free
 *		Release a model.
 */
void
ndag_cost_free(NdagCostModel *model)
{
	if (model == NULL)
		return;
	free(model->params);
	free(model->own_w0);
	free(model->w_eff);
	free(model->scratch);
	free(model);
}

/*
 * ndag_cost_copy
 *		A deep copy.
 */
NdagCostModel *
ndag_cost_copy(const NdagCostModel *model)
{
	NdagCostModel *m;

	if (model == NULL)
		return NULL;
	m = ndag_cost_alloc(model->n_arms, model->base_rank, model->micro_rank,
						model->seed);
	if (m == NULL)
		return NULL;
	memcpy(m->params, model->params, sizeof(float) * (size_t) model->n_params);
	memcpy(m->w_eff, model->w_eff,
		   sizeof(float) * (size_t) model->hidden * (size_t) model->in_dim);
	m->instant_steps = model->instant_steps;
	m->base_steps = model->base_steps;
	return m;
}

/*
 * ndag_cost_sync
 *		w_eff = W0 + B_base A_base (one sgemm).
 */
void
ndag_cost_sync(NdagCostModel *model)
{
	size_t		wsize = (size_t) model->hidden * model->in_dim;

	memcpy(model->w_eff, model->w0, wsize * sizeof(float));
	ndag_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans,
			   model->hidden, model->in_dim, model->base_rank, 1.0f,
			   model->params + model->off_base_b, model->base_rank,
			   model->params + model->off_base_a, model->in_dim,
			   1.0f, model->w_eff, model->in_dim);
}

/*
 * ndag_cost_forward_one
 *		Single-sample forward pass into the scratch space: u (micro rank),
 *		z and h (hidden); returns y.  The one-hot part of x is one column,
 *		so W x is a 64-wide sgemv plus that column.
 */
static double
ndag_cost_forward_one(NdagCostModel *m, const float *emb, int arm,
					  float *u, float *z, float *h)
{
	const float *p = m->params;
	const float *am = p + m->off_micro_a;
	const float *bm = p + m->off_micro_b;
	int			d = m->in_dim;
	int			col = NDAG_EMBED_DIM + arm;
	double		y = p[m->off_c];
	int			j;
	int			r;

	ndag_sgemv(CblasRowMajor, CblasNoTrans, m->micro_rank, NDAG_EMBED_DIM,
			   1.0f, am, d, emb, 1, 0.0f, u, 1);
	for (r = 0; r < m->micro_rank; r++)
		u[r] += am[r * d + col];
	ndag_sgemv(CblasRowMajor, CblasNoTrans, m->hidden, NDAG_EMBED_DIM,
			   1.0f, m->w_eff, d, emb, 1, 0.0f, z, 1);
	for (j = 0; j < m->hidden; j++)
	{
		float		s = z[j] + m->w_eff[j * d + col] + p[m->off_b + j];

		for (r = 0; r < m->micro_rank; r++)
			s += bm[j * m->micro_rank + r] * u[r];
		z[j] = s;
		h[j] = s > 0.0f ? s : 0.0f;
		y += (double) p[m->off_v + j] * h[j];
	}
	return y;
}

/*
 * ndag_cost_view
 *		Make *view a model of the given shape that reads its parameters and
 *		W_eff where they already are (a copy shared by several processes)
 *		and works in the caller's scratch (NDAG_COST_SCRATCH floats): for
 *		ndag_cost_predict only, never written, never freed.
 *		NDAG_ERR_ARG when n_params is not the shape's.
 */
int
ndag_cost_view(NdagCostModel *view, int n_arms, int base_rank, int micro_rank,
			   int n_params, const float *params, const float *w_eff,
			   float *scratch)
{
	memset(view, 0, sizeof(*view));
	view->n_arms = n_arms;
	view->in_dim = NDAG_EMBED_DIM + n_arms;
	view->hidden = NDAG_COST_HIDDEN;
	view->base_rank = base_rank;
	view->micro_rank = micro_rank;
	ndag_cost_layout(view);
	if (n_params != view->n_params)
		return NDAG_ERR_ARG;
	view->params = (float *) params;
	view->w_eff = (float *) w_eff;
	view->scratch = scratch;
	return NDAG_OK;
}

/*
 * ndag_cost_predict
 *		One prediction.
 */
int
ndag_cost_predict(NdagCostModel *model, const float *embedding, int arm,
				  double *y)
{
	float	   *s;

	if (model == NULL || embedding == NULL || y == NULL ||
		arm < 0 || arm >= model->n_arms)
		return NDAG_ERR_ARG;
	s = model->scratch;
	*y = ndag_cost_forward_one(model, embedding, arm, s, s + NDAG_COST_MAX_RANK,
							   s + NDAG_COST_MAX_RANK + model->hidden);
	return NDAG_OK;
}

/*
 * ndag_cost_instant_update
 *		Walk the instant step's updates (gradients dz, du from the old
 *		parameters, activations u, h): with apply false, only check that
 *		every updated value is finite; with apply true, write them.
 */
static bool
ndag_cost_instant_update(NdagCostModel *m, const float *embedding, int col,
						 double lr, float step_e, const float *u,
						 const float *h, const float *dz, const float *du,
						 bool apply)
{
	float	   *p = m->params;
	int			d = m->in_dim;
	int			j;
	int			r;
	int			i;

#define NDAG_INSTANT_UPDATE(target, amount) \
	do { \
		float		nv_ = (target) - (amount); \
		if (apply) \
			(target) = nv_; \
		else if (!isfinite(nv_)) \
			return false; \
	} while (0)

	NDAG_INSTANT_UPDATE(p[m->off_c], step_e);
	for (j = 0; j < m->hidden; j++)
	{
		float		g = (float) lr * dz[j];

		NDAG_INSTANT_UPDATE(p[m->off_v + j], step_e * h[j]);
		NDAG_INSTANT_UPDATE(p[m->off_b + j], g);
		for (r = 0; r < m->micro_rank; r++)
			NDAG_INSTANT_UPDATE(p[m->off_micro_b + j * m->micro_rank + r], g * u[r]);
	}
	for (r = 0; r < m->micro_rank; r++)
	{
		float		g = (float) lr * du[r];
		float	   *row = p + m->off_micro_a + r * d;

		for (i = 0; i < NDAG_EMBED_DIM; i++)
			NDAG_INSTANT_UPDATE(row[i], g * embedding[i]);
		NDAG_INSTANT_UPDATE(row[col], g);
	}
#undef NDAG_INSTANT_UPDATE
	return true;
}

/*
 * ndag_cost_instant_step
 *		One SGD step on the instant slice.  All gradients are formed from
 *		the parameters before the step, then applied; a step that would
 *		make any parameter NaN or infinite (a diverging model, an input
 *		with a NaN) is rejected whole and leaves the model as it was.
 */
int
ndag_cost_instant_step(NdagCostModel *model, const float *embedding, int arm,
					   double target, double lr, double *y_before)
{
	NdagCostModel *m = model;
	float	   *p;
	float	   *u;
	float	   *z;
	float	   *h;
	float	   *dz;
	float	   *du;
	float		step_e;
	double		y;
	double		e;
	int			col;
	int			j;
	int			r;

	if (m == NULL || embedding == NULL || arm < 0 || arm >= m->n_arms ||
		!isfinite(target) || !(lr > 0.0) || !isfinite(lr))
		return NDAG_ERR_ARG;
	p = m->params;
	col = NDAG_EMBED_DIM + arm;
	u = m->scratch;
	du = u + NDAG_COST_MAX_RANK;
	z = du + NDAG_COST_MAX_RANK;
	h = z + m->hidden;
	dz = h + m->hidden;
	y = ndag_cost_forward_one(m, embedding, arm, u, z, h);
	if (y_before != NULL)
		*y_before = y;
	if (!isfinite(y))
		return NDAG_ERR_NONFINITE;
	e = y - target;
	if (e > NDAG_COST_ERROR_CLIP)
		e = NDAG_COST_ERROR_CLIP;
	else if (e < -NDAG_COST_ERROR_CLIP)
		e = -NDAG_COST_ERROR_CLIP;

	/* dz and du from the old v and B_micro */
	for (j = 0; j < m->hidden; j++)
		dz[j] = z[j] > 0.0f ? (float) e * p[m->off_v + j] : 0.0f;
	for (r = 0; r < m->micro_rank; r++)
	{
		float		s = 0.0f;

		for (j = 0; j < m->hidden; j++)
			s += p[m->off_micro_b + j * m->micro_rank + r] * dz[j];
		du[r] = s;
	}

	step_e = (float) (lr * e);
	if (!ndag_cost_instant_update(m, embedding, col, lr, step_e, u, h, dz, du,
								  false))
		return NDAG_ERR_NONFINITE;
	(void) ndag_cost_instant_update(m, embedding, col, lr, step_e, u, h, dz, du,
									true);
	m->instant_steps++;
	return NDAG_OK;
}

/*
 * ndag_cost_is_finite
 *		Whether every parameter is finite.
 */
bool
ndag_cost_is_finite(const NdagCostModel *model)
{
	int			i;

	if (model == NULL)
		return false;
	for (i = 0; i < model->n_params; i++)
		if (!isfinite(model->params[i]))
			return false;
	return true;
}

/*
 * ndag_cost_build_inputs
 *		Rows of X for samples idx[0..n) (or 0..n-1 when idx is NULL):
 *		embedding then one-hot arm.
 */
void
ndag_cost_build_inputs(const NdagCostModel *model, const float *embeddings,
					   const int *arms, const int *idx, int n, float *x)
{
	int			d = model->in_dim;
	int			r;

	memset(x, 0, sizeof(float) * (size_t) n * (size_t) d);
	for (r = 0; r < n; r++)
	{
		int			s = idx != NULL ? idx[r] : r;

		memcpy(x + (size_t) r * d, embeddings + (size_t) s * NDAG_EMBED_DIM,
			   sizeof(float) * NDAG_EMBED_DIM);
		x[(size_t) r * d + NDAG_EMBED_DIM + arms[s]] = 1.0f;
	}
}

/*
 * ndag_cost_batch_work
 *		Floats of work space ndag_cost_batch_grad needs for n samples.
 */
size_t
ndag_cost_batch_work(const NdagCostModel *model, int n)
{
	return (size_t) n * (size_t) (model->micro_rank + 2 * model->hidden + 2) +
		(size_t) model->hidden * (size_t) model->in_dim;
}

/*
 * ndag_cost_batch_forward
 *		U = X A_m^T, Z = X W_eff^T + U B_m^T + b, H = relu(Z) (in place of
 *		a copy), y = H v + c.
 */
static void
ndag_cost_batch_forward(const NdagCostModel *m, const float *x, int n,
						float *u, float *z, float *hz, float *y)
{
	const float *p = m->params;
	int			hid = m->hidden;
	size_t		i;
	int			r;

	ndag_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, m->micro_rank,
			   m->in_dim, 1.0f, x, m->in_dim, p + m->off_micro_a, m->in_dim,
			   0.0f, u, m->micro_rank);
	for (r = 0; r < n; r++)
		memcpy(z + (size_t) r * hid, p + m->off_b, sizeof(float) * (size_t) hid);
	ndag_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, hid, m->in_dim,
			   1.0f, x, m->in_dim, m->w_eff, m->in_dim, 1.0f, z, hid);
	ndag_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, hid, m->micro_rank,
			   1.0f, u, m->micro_rank, p + m->off_micro_b, m->micro_rank,
			   1.0f, z, hid);
	for (i = 0; i < (size_t) n * hid; i++)
		hz[i] = z[i] > 0.0f ? z[i] : 0.0f;
	for (r = 0; r < n; r++)
		y[r] = p[m->off_c];
	ndag_sgemv(CblasRowMajor, CblasNoTrans, n, hid, 1.0f, hz, hid,
			   p + m->off_v, 1, 1.0f, y, 1);
}

/*
 * ndag_cost_batch_grad
 *		Mean loss and (grad not NULL) the full gradient for n input rows x
 *		with targets[idx[r]] (targets[r] when idx is NULL).  work holds
 *		ndag_cost_batch_work(model, n) floats.
 */
int
ndag_cost_batch_grad(const NdagCostModel *model, const float *x,
					 const float *targets, const int *idx, int n, float *work,
					 double *loss, float *grad)
{
	const NdagCostModel *m = model;
	const float *p = m->params;
	int			hid = m->hidden;
	int			d = m->in_dim;
	float	   *u = work;
	float	   *z = u + (size_t) n * m->micro_rank;
	float	   *hz = z + (size_t) n * hid;
	float	   *y = hz + (size_t) n * hid;
	float	   *dy = y + n;
	float	   *gw = dy + n;
	double		sum = 0.0;
	double		dc = 0.0;
	int			r;
	int			j;

	ndag_cost_batch_forward(m, x, n, u, z, hz, y);
	for (r = 0; r < n; r++)
	{
		double		e = (double) y[r] - targets[idx != NULL ? idx[r] : r];

		sum += 0.5 * e * e;
		dy[r] = (float) (e / n);
		dc += e / n;
	}
	*loss = sum / n;
	if (!isfinite(*loss))
		return NDAG_ERR_NONFINITE;
	if (grad == NULL)
		return NDAG_OK;

	memset(grad, 0, sizeof(float) * (size_t) m->n_params);
	grad[m->off_c] = (float) dc;
	ndag_sgemv(CblasRowMajor, CblasTrans, n, hid, 1.0f, hz, hid, dy, 1,
			   0.0f, grad + m->off_v, 1);

	/* dZ overwrites Z: dy_r v_j where Z > 0; db is its column sum */
	for (r = 0; r < n; r++)
	{
		float	   *zr = z + (size_t) r * hid;

		for (j = 0; j < hid; j++)
		{
			zr[j] = zr[j] > 0.0f ? dy[r] * p[m->off_v + j] : 0.0f;
			grad[m->off_b + j] += zr[j];
		}
	}
	ndag_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hid, d, n, 1.0f,
			   z, hid, x, d, 0.0f, gw, d);
	ndag_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, hid, m->base_rank, d,
			   1.0f, gw, d, p + m->off_base_a, d, 0.0f,
			   grad + m->off_base_b, m->base_rank);
	ndag_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m->base_rank, d, hid,
			   1.0f, p + m->off_base_b, m->base_rank, gw, d, 0.0f,
			   grad + m->off_base_a, d);
	ndag_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, hid, m->micro_rank, n,
			   1.0f, z, hid, u, m->micro_rank, 0.0f,
			   grad + m->off_micro_b, m->micro_rank);
	ndag_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, m->micro_rank, d, hid,
			   1.0f, p + m->off_micro_b, m->micro_rank, gw, d, 0.0f,
			   grad + m->off_micro_a, d);
	return NDAG_OK;
}

/*
 * ndag_cost_check_samples
 *		Arms in range and targets finite.
 */
static bool
ndag_cost_check_samples(const NdagCostModel *model, const int *arms,
						const float *targets, int n)
{
	int			i;

	for (i = 0; i < n; i++)
		if (arms[i] < 0 || arms[i] >= model->n_arms ||
			(targets != NULL && !isfinite(targets[i])))
			return false;
	return true;
}

/*
 * ndag_cost_loss_grad
 *		Loss and gradient over all samples at once.
 */
int
ndag_cost_loss_grad(const NdagCostModel *model, const float *embeddings,
					const int *arms, const float *targets, int n, double *loss,
					float *grad)
{
	float	   *x;
	float	   *work;
	int			rc;

	if (model == NULL || embeddings == NULL || arms == NULL || targets == NULL ||
		loss == NULL || n < 1 || !ndag_cost_check_samples(model, arms, targets, n))
		return NDAG_ERR_ARG;
	x = malloc(sizeof(float) * (size_t) n * (size_t) model->in_dim);
	work = malloc(sizeof(float) * ndag_cost_batch_work(model, n));
	if (x == NULL || work == NULL)
	{
		free(x);
		free(work);
		return NDAG_ERR_NOMEM;
	}
	ndag_cost_build_inputs(model, embeddings, arms, NULL, n, x);
	rc = ndag_cost_batch_grad(model, x, targets, NULL, n, work, loss, grad);
	free(x);
	free(work);
	return rc;
}

/*
 * ndag_cost_predict_batch
 *		Forward pass over n samples, in chunks so work space stays small.
 */
int
ndag_cost_predict_batch(const NdagCostModel *model, const float *embeddings,
						const int *arms, int n, float *out)
{
	const int	chunk = 256;
	float	   *x;
	float	   *work;
	int			start;

	if (model == NULL || embeddings == NULL || arms == NULL || out == NULL ||
		n < 0 || !ndag_cost_check_samples(model, arms, NULL, n))
		return NDAG_ERR_ARG;
	if (n == 0)
		return NDAG_OK;
	x = malloc(sizeof(float) * (size_t) chunk * (size_t) model->in_dim);
	work = malloc(sizeof(float) * ndag_cost_batch_work(model, chunk));
	if (x == NULL || work == NULL)
	{
		free(x);
		free(work);
		return NDAG_ERR_NOMEM;
	}
	for (start = 0; start < n; start += chunk)
	{
		int			c = n - start < chunk ? n - start : chunk;
		float	   *u = work;
		float	   *z = u + (size_t) c * model->micro_rank;
		float	   *hz = z + (size_t) c * model->hidden;

		ndag_cost_build_inputs(model, embeddings + (size_t) start * NDAG_EMBED_DIM,
							   arms + start, NULL, c, x);
		ndag_cost_batch_forward(model, x, c, u, z, hz, out + start);
	}
	free(x);
	free(work);
	return NDAG_OK;
}

/*
 * ndag_cost_serialized_size
 *		Header, parameters as float32, checksum.
 */
size_t
ndag_cost_serialized_size(const NdagCostModel *model)
{
	if (model == NULL)
		return 0;
	return NDAG_COST_HEADER + 4 * (size_t) model->n_params + NDAG_COST_TRAILER;
}

/*
 * ndag_cost_serialize
 *		magic, version, n_arms, hidden, base_rank, micro_rank (u32 each),
 *		seed, instant_steps, base_steps (u64), n_params (u32), 4 reserved
 *		bytes, params (f32), FNV-1a of everything before it.  A model with
 *		a non-finite parameter is refused (the reader would refuse it).
 */
int
ndag_cost_serialize(const NdagCostModel *model, void *buf, size_t cap,
					size_t *written)
{
	unsigned char *p = buf;
	size_t		need;
	int			i;

	if (model == NULL || buf == NULL || written == NULL)
		return NDAG_ERR_ARG;
	need = ndag_cost_serialized_size(model);
	*written = 0;
	if (cap < need)
		return NDAG_ERR_BUFFER;
	if (!ndag_cost_is_finite(model))
		return NDAG_ERR_NONFINITE;
	memcpy(p, NDAG_COST_MAGIC, 4);
	ndag_lput_u32(p + 4, NDAG_COST_FORMAT_VERSION);
	ndag_lput_u32(p + 8, (uint32_t) model->n_arms);
	ndag_lput_u32(p + 12, (uint32_t) model->hidden);
	ndag_lput_u32(p + 16, (uint32_t) model->base_rank);
	ndag_lput_u32(p + 20, (uint32_t) model->micro_rank);
	ndag_lput_u64(p + 24, model->seed);
	ndag_lput_u64(p + 32, model->instant_steps);
	ndag_lput_u64(p + 40, model->base_steps);
	ndag_lput_u32(p + 48, (uint32_t) model->n_params);
	ndag_lput_u32(p + 52, 0);
	for (i = 0; i < model->n_params; i++)
		ndag_lput_f32(p + NDAG_COST_HEADER + 4 * (size_t) i, model->params[i]);
	ndag_lput_u64(p + need - NDAG_COST_TRAILER,
				  ndag_lfnv1a(p, need - NDAG_COST_TRAILER));
	*written = need;
	return NDAG_OK;
}

/*
 * ndag_cost_deserialize
 *		Check magic, version, shape, exact length and checksum before
 *		building; every parameter must be finite.
 */
int
ndag_cost_deserialize(const void *buf, size_t len, NdagCostModel **out)
{
	const unsigned char *p = buf;
	NdagCostModel *m;
	uint32_t	n_arms;
	uint32_t	base_rank;
	uint32_t	micro_rank;
	int			i;

	if (buf == NULL || out == NULL)
		return NDAG_ERR_ARG;
	*out = NULL;
	if (len < NDAG_COST_HEADER + NDAG_COST_TRAILER ||
		memcmp(p, NDAG_COST_MAGIC, 4) != 0)
		return NDAG_ERR_CORRUPT;
	if (ndag_lget_u32(p + 4) != NDAG_COST_FORMAT_VERSION)
		return NDAG_ERR_VERSION;
	n_arms = ndag_lget_u32(p + 8);
	base_rank = ndag_lget_u32(p + 16);
	micro_rank = ndag_lget_u32(p + 20);
	if (ndag_lget_u32(p + 12) != NDAG_COST_HIDDEN ||
		n_arms < 1 || n_arms > NDAG_COST_MAX_ARMS ||
		base_rank < 1 || base_rank > NDAG_COST_MAX_RANK ||
		micro_rank < 1 || micro_rank > NDAG_COST_MAX_RANK)
		return NDAG_ERR_CORRUPT;
	if (ndag_lget_u64(p + len - NDAG_COST_TRAILER) !=
		ndag_lfnv1a(p, len - NDAG_COST_TRAILER))
		return NDAG_ERR_CORRUPT;
	m = ndag_cost_alloc((int) n_arms, (int) base_rank, (int) micro_rank,
						ndag_lget_u64(p + 24));
	if (m == NULL)
		return NDAG_ERR_NOMEM;
	if (ndag_lget_u32(p + 48) != (uint32_t) m->n_params ||
		len != ndag_cost_serialized_size(m))
	{
		ndag_cost_free(m);
		return NDAG_ERR_CORRUPT;
	}
	m->instant_steps = ndag_lget_u64(p + 32);
	m->base_steps = ndag_lget_u64(p + 40);
	for (i = 0; i < m->n_params; i++)
	{
		m->params[i] = ndag_lget_f32(p + NDAG_COST_HEADER + 4 * (size_t) i);
		if (!isfinite(m->params[i]))
		{
			ndag_cost_free(m);
			return NDAG_ERR_CORRUPT;
		}
	}
	ndag_cost_sync(m);
	*out = m;
	return NDAG_OK;
}
