/*-------------------------------------------------------------------------
 *
 * test_costmodel.c
 *	  The cost model: analytic gradients against central differences for
 *	  every parameter block, the instant step as exactly one SGD step on
 *	  the instant slice, MicroLoRA and BaseLoRA learning a synthetic target
 *	  (and mattering: removing what they learned hurts), batch and single
 *	  predictions agreeing, the byte format, and per-backend deltas.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "costmodel.h"
#include "engine.h"
#include "tap.h"
#include "testutil.h"

/*
 * synth_target
 *		ln(ms) as a function of a few embedding dims and the arm.
 */
static float
synth_target(const float *e, int arm)
{
	return (float) (2.0 + 3.0 * e[0] - 2.0 * e[3] + 1.5 * e[7] * e[7] * 8.0 -
					0.4 * arm + (arm == 2 ? 2.0 * e[1] : 0.0));
}

/*
 * make_data
 *		n samples of the synthetic target.
 */
static void
make_data(NdagRng *rng, int n, int n_arms, float *emb, int *arms, float *t)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		tu_random_unit(rng, emb + (size_t) i * NDAG_EMBED_DIM);
		arms[i] = (int) ndag_rng_below(rng, (uint64_t) n_arms);
		t[i] = synth_target(emb + (size_t) i * NDAG_EMBED_DIM, arms[i]);
	}
}

/*
 * test_grad_check
 *		Central differences for sampled entries of every block, with all
 *		factors made non-zero first so every path carries gradient.
 */
static void
test_grad_check(void)
{
	const char *names[] = {"A_base", "B_base", "b", "v", "c", "A_micro", "B_micro"};
	int			seeds = tap_seeds(3) < 3 ? tap_seeds(3) : 3;
	int			s;

	for (s = 0; s < seeds; s++)
	{
		NdagCostModel *m = ndag_cost_create(5, 8, 2, 100 + s);
		NdagRng		rng;
		float		emb[6 * NDAG_EMBED_DIM];
		int			arms[6];
		float		t[6];
		float	   *grad = malloc(sizeof(float) * (size_t) m->n_params);
		int			offs[8];
		int			blk;
		int			i;
		double		loss;

		ndag_rng_seed(&rng, 7 + s);
		make_data(&rng, 6, 5, emb, arms, t);
		for (i = 0; i < m->n_params; i++)
			m->params[i] += (float) (0.3 * ndag_rng_normal(&rng));
		ndag_cost_sync(m);
		ndag_cost_loss_grad(m, emb, arms, t, 6, &loss, grad);
		offs[0] = m->off_base_a;
		offs[1] = m->off_base_b;
		offs[2] = m->off_b;
		offs[3] = m->off_v;
		offs[4] = m->off_c;
		offs[5] = m->off_micro_a;
		offs[6] = m->off_micro_b;
		offs[7] = m->n_params;
		for (blk = 0; blk < 7; blk++)
		{
			int			len = offs[blk + 1] - offs[blk];
			int			tries = len < 12 ? len : 12;
			int			good = 0;
			double		worst = 0.0;
			double		gmax = 0.0;
			int			k;

			for (k = 0; k < tries; k++)
			{
				int			idx = offs[blk] + (len <= 12 ? k : (int) ndag_rng_below(&rng, (uint64_t) len));
				float		saved = m->params[idx];
				const float eps = 2e-3f;
				double		lp;
				double		lm;
				double		num;
				double		err;

				m->params[idx] = saved + eps;
				ndag_cost_sync(m);
				ndag_cost_loss_grad(m, emb, arms, t, 6, &lp, NULL);
				m->params[idx] = saved - eps;
				ndag_cost_sync(m);
				ndag_cost_loss_grad(m, emb, arms, t, 6, &lm, NULL);
				m->params[idx] = saved;
				ndag_cost_sync(m);
				num = (lp - lm) / (2.0 * (double) eps);
				err = fabs(num - grad[idx]);
				if (err <= 2e-3 + 2e-2 * fabs(num))
					good++;
				if (err > worst)
					worst = err;
				if (fabs(grad[idx]) > gmax)
					gmax = fabs(grad[idx]);
			}
			tap_ok(good == tries && gmax > 0.0,
				   "seed %d: gradient of %s matches central differences (%d/%d, worst %.2g, max |g| %.3g)",
				   s, names[blk], good, tries, worst, gmax);
		}
		free(grad);
		ndag_cost_free(m);
	}
}

/*
 * test_instant_is_sgd
 *		One instant step equals params - lr * grad on the instant slice and
 *		leaves the rest alone (error below the clip).
 */
static void
test_instant_is_sgd(void)
{
	NdagCostModel *m = ndag_cost_create(4, 8, 2, 3);
	NdagRng		rng;
	float		emb[NDAG_EMBED_DIM];
	float	   *before = malloc(sizeof(float) * (size_t) m->n_params);
	float	   *grad = malloc(sizeof(float) * (size_t) m->n_params);
	int			arm = 2;
	double		y;
	double		loss;
	double		worst_inst = 0.0;
	double		worst_rest = 0.0;
	float		t;
	int			i;

	ndag_rng_seed(&rng, 11);
	tu_random_unit(&rng, emb);
	for (i = 0; i < m->n_params; i++)
		m->params[i] += (float) (0.2 * ndag_rng_normal(&rng));
	ndag_cost_sync(m);
	ndag_cost_predict(m, emb, arm, &y);
	t = (float) (y + 1.0);
	memcpy(before, m->params, sizeof(float) * (size_t) m->n_params);
	ndag_cost_loss_grad(m, emb, &arm, &t, 1, &loss, grad);
	tap_ok(ndag_cost_instant_step(m, emb, arm, t, 0.01, NULL) == NDAG_OK,
		   "instant step succeeds");
	for (i = 0; i < m->n_params; i++)
	{
		double		expect = i >= m->off_b ? before[i] - 0.01 * grad[i] : before[i];
		double		err = fabs(m->params[i] - expect);

		if (i >= m->off_b && i != m->off_c && i < m->off_micro_a && err > worst_inst)
			worst_inst = err;
		if (i >= m->off_micro_a && err > worst_inst)
			worst_inst = err;
		if (i < m->off_b && err > worst_rest)
			worst_rest = err;
	}
	tap_ok(worst_inst < 1e-5, "instant step is one SGD step on the instant slice (worst %.2g)",
		   worst_inst);
	tap_ok(worst_rest == 0.0, "instant step leaves the base factors alone");
	tap_ok(fabs(m->params[m->off_c] - (before[m->off_c] - 0.01 * grad[m->off_c])) < 1e-6,
		   "instant step moves c by lr * error");
	tap_ok(m->instant_steps == 1, "instant steps are counted");
	tap_ok(ndag_cost_instant_step(m, emb, 4, 1.0, 0.01, NULL) == NDAG_ERR_ARG &&
		   ndag_cost_instant_step(m, emb, 0, NAN, 0.01, NULL) == NDAG_ERR_ARG &&
		   ndag_cost_instant_step(m, emb, 0, 1.0, 0.0, NULL) == NDAG_ERR_ARG,
		   "instant step rejects bad arm, target and lr");
	free(before);
	free(grad);
	ndag_cost_free(m);
}

/*
 * test_micro_learns
 *		Instant steps over a stream reduce held-out loss; the learned
 *		MicroLoRA factors matter (zeroing B_micro raises the loss).
 */
static void
test_micro_learns(void)
{
	const int	n_train = 4000;
	const int	n_test = 500;
	NdagCostModel *m = ndag_cost_create(4, 8, 2, 5);
	NdagRng		rng;
	float	   *emb = malloc(sizeof(float) * (size_t) (n_train + n_test) * NDAG_EMBED_DIM);
	int		   *arms = malloc(sizeof(int) * (size_t) (n_train + n_test));
	float	   *t = malloc(sizeof(float) * (size_t) (n_train + n_test));
	float	   *te = emb + (size_t) n_train * NDAG_EMBED_DIM;
	double		before;
	double		after;
	double		no_micro;
	double		y0;
	double		y1;
	double		bnorm = 0.0;
	int			epoch;
	int			i;

	ndag_rng_seed(&rng, 21);
	make_data(&rng, n_train + n_test, 4, emb, arms, t);
	ndag_cost_loss_grad(m, te, arms + n_train, t + n_train, n_test, &before, NULL);
	ndag_cost_predict(m, te, arms[n_train], &y0);
	for (epoch = 0; epoch < 3; epoch++)
		for (i = 0; i < n_train; i++)
			ndag_cost_instant_step(m, emb + (size_t) i * NDAG_EMBED_DIM, arms[i],
								   t[i], 0.01, NULL);
	ndag_cost_loss_grad(m, te, arms + n_train, t + n_train, n_test, &after, NULL);
	ndag_cost_predict(m, te, arms[n_train], &y1);
	for (i = m->off_micro_b; i < m->n_params; i++)
		bnorm += fabs(m->params[i]);
	tap_ok(after < 0.5 * before, "instant loop halves held-out loss (%.4f -> %.4f)",
		   before, after);
	tap_ok(y1 != y0 && bnorm > 0.0, "MicroLoRA output changed, |B_micro|_1 = %.4f", bnorm);
	memset(m->params + m->off_micro_b, 0,
		   sizeof(float) * (size_t) (m->n_params - m->off_micro_b));
	ndag_cost_loss_grad(m, te, arms + n_train, t + n_train, n_test, &no_micro, NULL);
	tap_ok(no_micro > after, "zeroing the learned MicroLoRA raises the loss (%.4f > %.4f)",
		   no_micro, after);
	free(emb);
	free(arms);
	free(t);
	ndag_cost_free(m);
}

/*
 * test_base_learns
 *		Background training reduces loss; BaseLoRA's learned factors matter.
 */
static void
test_base_learns(void)
{
	const int	n = 2000;
	NdagCostModel *m = ndag_cost_create(4, 8, 2, 9);
	NdagRng		rng;
	NdagCostTrainOpts opts;
	NdagCostTrainResult res;
	float	   *emb = malloc(sizeof(float) * (size_t) n * NDAG_EMBED_DIM);
	int		   *arms = malloc(sizeof(int) * (size_t) n);
	float	   *t = malloc(sizeof(float) * (size_t) n);
	float	   *pred0 = malloc(sizeof(float) * (size_t) n);
	float	   *pred1 = malloc(sizeof(float) * (size_t) n);
	double		no_base;
	double		single;
	double		bnorm = 0.0;
	double		agree = 0.0;
	int			i;

	ndag_rng_seed(&rng, 31);
	make_data(&rng, n, 4, emb, arms, t);
	ndag_cost_predict_batch(m, emb, arms, n, pred0);
	ndag_cost_train_opts_init(&opts);
	opts.epochs = 20;
	opts.lr = 0.003;
	tap_ok(ndag_cost_train_base(m, NULL, emb, arms, t, n, &opts, &res) == NDAG_OK,
		   "background training runs");
	tap_ok(res.loss_after < 0.2 * res.loss_before,
		   "background training reduces loss by 5x (%.4f -> %.4f, %d steps)",
		   res.loss_before, res.loss_after, res.steps);
	ndag_cost_predict_batch(m, emb, arms, n, pred1);
	for (i = m->off_base_b; i < m->off_b; i++)
		bnorm += fabs(m->params[i]);
	tap_ok(bnorm > 0.0 && pred0[0] != pred1[0], "BaseLoRA output changed, |B_base|_1 = %.3f",
		   bnorm);
	for (i = 0; i < 50; i++)
	{
		ndag_cost_predict(m, emb + (size_t) i * NDAG_EMBED_DIM, arms[i], &single);
		if (fabs(single - pred1[i]) > agree)
			agree = fabs(single - pred1[i]);
	}
	tap_ok(agree < 1e-4, "single and batched predictions agree (%.2g)", agree);
	memset(m->params + m->off_base_b, 0, sizeof(float) * (size_t) (m->off_b - m->off_base_b));
	ndag_cost_sync(m);
	ndag_cost_loss_grad(m, emb, arms, t, n, &no_base, NULL);
	tap_ok(no_base > 2.0 * res.loss_after,
		   "zeroing the learned BaseLoRA raises the loss (%.4f vs %.4f)",
		   no_base, res.loss_after);
	free(emb);
	free(arms);
	free(t);
	free(pred0);
	free(pred1);
	ndag_cost_free(m);
}

/*
 * test_step_budget_and_bias
 *		A small sample set still gets min_steps steps; a model never trained
 *		in the background starts its output bias at the mean target (also
 *		after instant steps), one that was keeps its bias.
 */
static void
test_step_budget_and_bias(void)
{
	int			n = 40;
	NdagCostModel *m = ndag_cost_create(4, 8, 2, 5);
	NdagCostModel *fresh = ndag_cost_create(4, 8, 2, 5);
	NdagRng		rng;
	NdagCostTrainOpts opts;
	NdagCostTrainResult res;
	float	   *emb = malloc(sizeof(float) * (size_t) n * NDAG_EMBED_DIM);
	int		   *arms = malloc(sizeof(int) * (size_t) n);
	float	   *t = malloc(sizeof(float) * (size_t) n);
	double		mean = 0.0;
	float		c;
	int			rc;
	int			i;

	ndag_rng_seed(&rng, 77);
	make_data(&rng, n, 4, emb, arms, t);
	for (i = 0; i < n; i++)
	{
		t[i] += 3.0f;			/* far from the initial bias 0 */
		mean += t[i];
	}
	mean /= n;
	ndag_cost_train_opts_init(&opts);
	rc = ndag_cost_train_base(m, NULL, emb, arms, t, n, &opts, &res);
	tap_ok(rc == NDAG_OK && res.steps >= opts.min_steps &&
		   res.steps < opts.min_steps + 2,
		   "40 samples in batches of 32 still get %d steps (%d)", opts.min_steps,
		   res.steps);
	tap_ok(res.loss_after < 0.1 * res.loss_before,
		   "and fit them (loss %.4f -> %.4f)", res.loss_before, res.loss_after);

	opts.epochs = 0;
	opts.min_steps = 0;
	ndag_cost_instant_step(fresh, emb, arms[0], t[0], 0.002, NULL);
	ndag_cost_train_base(fresh, NULL, emb, arms, t, n, &opts, &res);
	tap_ok(res.steps == 0 && fabs(fresh->params[fresh->off_c] - mean) < 1e-4,
		   "a model never trained in the background starts at c = mean target (%.4f, %.4f)",
		   fresh->params[fresh->off_c], mean);
	c = m->params[m->off_c];
	ndag_cost_train_base(m, NULL, emb, arms, t, n, &opts, &res);
	tap_ok(m->params[m->off_c] == c, "a trained model keeps its bias");

	ndag_cost_free(m);
	ndag_cost_free(fresh);
	free(emb);
	free(arms);
	free(t);
}

/*
 * test_serialize
 *		Round trip gives identical predictions; damage is rejected.
 */
static void
test_serialize(void)
{
	NdagCostModel *m = ndag_cost_create(6, 8, 2, 77);
	NdagCostModel *back = NULL;
	NdagRng		rng;
	float		emb[NDAG_EMBED_DIM];
	unsigned char *buf;
	size_t		size = ndag_cost_serialized_size(m);
	size_t		written;
	double		y1;
	double		y2;
	bool		all_bytes = true;
	size_t		i;

	ndag_rng_seed(&rng, 5);
	tu_random_unit(&rng, emb);
	for (i = 0; i < 200; i++)
		ndag_cost_instant_step(m, emb, (int) (i % 6), 3.0, 0.01, NULL);
	buf = malloc(size);
	tap_ok(ndag_cost_serialize(m, buf, size - 1, &written) == NDAG_ERR_BUFFER,
		   "serialize reports a short buffer");
	tap_ok(ndag_cost_serialize(m, buf, size, &written) == NDAG_OK && written == size,
		   "serialize writes %zu bytes", size);
	tap_ok(ndag_cost_deserialize(buf, size, &back) == NDAG_OK, "deserialize succeeds");
	ndag_cost_predict(m, emb, 3, &y1);
	ndag_cost_predict(back, emb, 3, &y2);
	tap_ok(y1 == y2 && back->instant_steps == m->instant_steps &&
		   memcmp(back->params, m->params, sizeof(float) * (size_t) m->n_params) == 0,
		   "round trip keeps parameters, counters and predictions");
	ndag_cost_free(back);
	for (i = 0; i < size; i += (size > 400 ? 37 : 1))
	{
		NdagCostModel *bad = NULL;
		int			rc;

		buf[i] ^= 0x40;
		rc = ndag_cost_deserialize(buf, size, &bad);
		buf[i] ^= 0x40;
		if ((rc != NDAG_ERR_CORRUPT && rc != NDAG_ERR_VERSION) || bad != NULL)
		{
			all_bytes = false;
			ndag_cost_free(bad);
		}
	}
	tap_ok(all_bytes, "a flipped bit anywhere is rejected");
	tap_ok(ndag_cost_deserialize(buf, size - 4, &back) == NDAG_ERR_CORRUPT,
		   "a truncated buffer is rejected");
	buf[4] = 9;
	tap_ok(ndag_cost_deserialize(buf, size, &back) == NDAG_ERR_VERSION,
		   "another version is reported");
	free(buf);
	ndag_cost_free(m);
}

/*
 * test_delta
 *		A backend's instant steps, captured, serialised and merged into the
 *		shared model, reproduce the backend's instant slice.
 */
static void
test_delta(void)
{
	NdagCostModel *shared = ndag_cost_create(3, 8, 2, 12);
	NdagCostModel *local = ndag_cost_copy(shared);
	NdagCostModel *other = ndag_cost_create(4, 8, 2, 12);
	NdagCostDelta *d = ndag_cost_delta_create(local);
	NdagCostDelta *back = NULL;
	NdagRng		rng;
	float		emb[NDAG_EMBED_DIM];
	unsigned char *buf;
	size_t		size;
	size_t		written;
	double		worst = 0.0;
	int			i;

	ndag_rng_seed(&rng, 8);
	for (i = 0; i < 100; i++)
	{
		tu_random_unit(&rng, emb);
		ndag_cost_instant_step(local, emb, i % 3, 1.0 + emb[0], 0.01, NULL);
	}
	tap_ok(ndag_cost_delta_capture(d, local) == NDAG_OK && d->steps == 100,
		   "delta captures 100 steps");
	size = ndag_cost_delta_serialized_size(d);
	buf = malloc(size);
	ndag_cost_delta_serialize(d, buf, size, &written);
	tap_ok(ndag_cost_delta_deserialize(buf, written, &back) == NDAG_OK,
		   "delta round trip");
	tap_ok(ndag_cost_delta_merge(shared, back, 1.0) == NDAG_OK, "delta merges");
	for (i = 0; i < shared->n_params; i++)
		if (fabs(shared->params[i] - local->params[i]) > worst)
			worst = fabs(shared->params[i] - local->params[i]);
	tap_ok(worst < 1e-6 && shared->instant_steps == 100,
		   "merged shared model equals the backend's (worst %.2g)", worst);
	tap_ok(ndag_cost_delta_merge(other, back, 1.0) == NDAG_ERR_ARG,
		   "a delta of another shape is refused");
	buf[written - 1] ^= 1;
	ndag_cost_delta_free(back);
	tap_ok(ndag_cost_delta_deserialize(buf, written, &back) == NDAG_ERR_CORRUPT,
		   "a damaged delta is rejected");
	ndag_cost_delta_rebase(d, local);
	ndag_cost_delta_capture(d, local);
	tap_ok(d->steps == 0 && d->diff[0] == 0.0f, "rebase starts an empty delta");
	free(buf);
	ndag_cost_delta_free(d);
	ndag_cost_free(shared);
	ndag_cost_free(local);
	ndag_cost_free(other);
}

/*
 * test_args
 *		Creation limits.
 */
static void
test_args(void)
{
	NdagCostModel *m = ndag_cost_create(64, 8, 2, 1);

	tap_ok(ndag_cost_create(0, 8, 2, 1) == NULL && ndag_cost_create(65, 8, 2, 1) == NULL &&
		   ndag_cost_create(4, 0, 2, 1) == NULL && ndag_cost_create(4, 8, 33, 1) == NULL,
		   "create rejects shapes out of range");
	tap_ok(m != NULL && m->in_dim == 128 && m->n_base == m->off_micro_a &&
		   m->n_instant == m->n_params - m->off_b,
		   "64 arms: in_dim 128, slices laid out as documented");
	ndag_cost_free(m);
}

/*
 * test_prepared
 *		After ndag_cost_prepare, models of that shape and seed share the
 *		prepared W0 (no draw) and predict exactly as before; other seeds
 *		still draw theirs.  Runs last: the prepared W0 stays.
 */
static void
test_prepared(void)
{
	NdagCostModel *before = ndag_cost_create(5, 4, 2, 31);
	NdagCostModel *after;
	NdagCostModel *other;
	NdagRng		rng;
	float		emb[NDAG_EMBED_DIM];
	double		y1;
	double		y2;
	uint64_t	draws;

	tap_ok(ndag_cost_prepare(0, 31) == NDAG_ERR_ARG, "prepare checks n_arms");
	tap_ok(ndag_cost_prepare(5, 31) == NDAG_OK, "prepare draws W0");
	draws = ndag_cost_w0_draws();
	after = ndag_cost_create(5, 4, 2, 31);
	tap_ok(ndag_cost_w0_draws() == draws && after->own_w0 == NULL,
		   "a model of the prepared shape and seed draws no W0: it shares it");
	ndag_rng_seed(&rng, 8);
	tu_random_unit(&rng, emb);
	ndag_cost_predict(before, emb, 2, &y1);
	ndag_cost_predict(after, emb, 2, &y2);
	tap_ok(y1 == y2 && memcmp(before->w0, after->w0,
							  sizeof(float) * (size_t) before->hidden * before->in_dim) == 0,
		   "it has the same W0 and predictions as a drawn one");
	other = ndag_cost_create(5, 4, 2, 32);
	tap_ok(ndag_cost_w0_draws() == draws + 1, "another seed still draws its W0");
	{
		NdagCostModel *copy = ndag_cost_copy(after);
		double		y3;

		ndag_cost_free(after);
		ndag_cost_predict(copy, emb, 2, &y3);
		tap_ok(y3 == y1 && copy->own_w0 == NULL,
			   "a copy shares it too and outlives the model it was copied from");
		ndag_cost_free(copy);
	}
	ndag_cost_free(other);
	ndag_cost_free(before);
}

int
main(void)
{
	test_args();
	test_grad_check();
	test_instant_is_sgd();
	test_micro_learns();
	test_base_learns();
	test_step_budget_and_bias();
	test_serialize();
	test_delta();
	test_prepared();
	return tap_done();
}
