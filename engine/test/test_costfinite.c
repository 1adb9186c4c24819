/*-------------------------------------------------------------------------
 *
 * test_costfinite.c
 *	  The cost model stays finite: a delta with a NaN or an overflowing
 *	  value is rejected by the merge, an instant step or a training run
 *	  that would leave a non-finite parameter is rejected and leaves the
 *	  model as it was, a non-finite model is never serialised, the Fisher
 *	  never becomes infinite, and the merge policy of the learner (deltas
 *	  of k backends trained from one model are averaged, scale 1/k) stays
 *	  bounded where summing them (scale 1, k times the step) diverges.
 *
 *-------------------------------------------------------------------------
 */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "costmodel.h"
#include "engine.h"
#include "tap.h"
#include "testutil.h"

/*
 * same_params
 *		Whether two models hold bitwise the same parameters.
 */
static bool
same_params(const NdagCostModel *a, const NdagCostModel *b)
{
	return a->n_params == b->n_params &&
		memcmp(a->params, b->params, sizeof(float) * (size_t) a->n_params) == 0;
}

/*
 * max_abs
 *		Largest |parameter| (infinity when one is not finite).
 */
static double
max_abs(const NdagCostModel *m)
{
	double		worst = 0.0;
	int			i;

	for (i = 0; i < m->n_params; i++)
	{
		if (!isfinite(m->params[i]))
			return INFINITY;
		if (fabs(m->params[i]) > worst)
			worst = fabs(m->params[i]);
	}
	return worst;
}

/*
 * test_merge_rejects
 *		A NaN, an infinity or an overflowing sum in a delta is rejected
 *		whole: the model and its step counter stay as they were.
 */
static void
test_merge_rejects(void)
{
	NdagCostModel *m = ndag_cost_create(64, 8, 2, 3);
	NdagCostModel *before = ndag_cost_copy(m);
	NdagCostDelta *d = ndag_cost_delta_create(m);
	float		dst[2] = {1.0f, 2.0f};
	float		src[2] = {1.0f, NAN};

	d->steps = 100;
	d->diff[0] = 0.5f;
	d->diff[d->n - 1] = NAN;
	tap_ok(ndag_cost_delta_merge(m, d, 1.0) == NDAG_ERR_NONFINITE,
		   "a delta with a NaN is rejected");
	tap_ok(same_params(m, before) && m->instant_steps == before->instant_steps,
		   "the rejected NaN delta changed nothing");
	d->diff[d->n - 1] = 0.0f;
	d->diff[3] = FLT_MAX;
	m->params[m->off_b + 3] = FLT_MAX;
	ndag_cost_free(before);
	before = ndag_cost_copy(m);
	tap_ok(ndag_cost_delta_merge(m, d, 1.0) == NDAG_ERR_NONFINITE &&
		   same_params(m, before),
		   "a delta whose sum overflows is rejected and changes nothing");
	d->diff[3] = 0.0f;
	tap_ok(ndag_cost_delta_merge(m, d, NAN) == NDAG_ERR_NONFINITE,
		   "a NaN scale is rejected");
	tap_ok(ndag_cost_delta_merge(m, d, 0.5) == NDAG_OK &&
		   m->instant_steps == before->instant_steps + 100,
		   "a finite delta still merges");
	tap_ok(ndag_vec_add_finite(dst, src, 2, 1.0) == NDAG_ERR_NONFINITE &&
		   dst[0] == 1.0f && dst[1] == 2.0f,
		   "ndag_vec_add_finite is all or nothing");
	ndag_cost_delta_free(d);
	ndag_cost_free(m);
	ndag_cost_free(before);
}

/*
 * test_instant_rejects
 *		An instant step whose update overflows is rejected; a run of steps
 *		at a learning rate far too high never leaves a non-finite model.
 */
static void
test_instant_rejects(void)
{
	NdagCostModel *m = ndag_cost_create(64, 8, 2, 5);
	NdagCostModel *before = ndag_cost_copy(m);
	NdagRng		rng;
	float		emb[NDAG_EMBED_DIM];
	int			rejected = 0;
	int			i;

	ndag_rng_seed(&rng, 17);
	tu_random_unit(&rng, emb);
	tap_ok(ndag_cost_instant_step(m, emb, 1, 20.0, 1e38, NULL) == NDAG_ERR_NONFINITE,
		   "an overflowing instant step is rejected");
	tap_ok(same_params(m, before) && m->instant_steps == 0,
		   "the rejected step left the model as it was");
	for (i = 0; i < 2000; i++)
	{
		tu_random_unit(&rng, emb);
		if (ndag_cost_instant_step(m, emb, i % 64, 10.0 * emb[0], 1.0, NULL) ==
			NDAG_ERR_NONFINITE)
			rejected++;
	}
	tap_ok(ndag_cost_is_finite(m), "2000 steps at lr 1.0: the model is finite "
		   "(%d rejected, max |theta| %.3g)", rejected, max_abs(m));
	m->params[m->off_v] = NAN;
	tap_ok(!ndag_cost_is_finite(m), "ndag_cost_is_finite sees a NaN");
	ndag_cost_free(m);
	ndag_cost_free(before);
}

/*
 * test_serialize_refuses
 *		A model with a non-finite parameter is not written.
 */
static void
test_serialize_refuses(void)
{
	NdagCostModel *m = ndag_cost_create(8, 8, 2, 7);
	size_t		size = ndag_cost_serialized_size(m);
	unsigned char *buf = malloc(size);
	size_t		written = 1;

	m->params[m->off_c] = INFINITY;
	tap_ok(ndag_cost_serialize(m, buf, size, &written) == NDAG_ERR_NONFINITE &&
		   written == 0, "a non-finite model is not serialised");
	free(buf);
	ndag_cost_free(m);
}

/*
 * test_train_rejects
 *		A training run whose loss overflows ends with NDAG_ERR_NONFINITE and
 *		gives back the model it started from.
 */
static void
test_train_rejects(void)
{
	NdagCostModel *m = ndag_cost_create(4, 8, 2, 9);
	NdagCostModel *before;
	NdagCostTrainResult res;
	NdagRng		rng;
	float		emb[16 * NDAG_EMBED_DIM];
	int			arms[16];
	float		targets[16];
	int			i;

	ndag_rng_seed(&rng, 23);
	for (i = 0; i < 16; i++)
	{
		tu_random_unit(&rng, emb + i * NDAG_EMBED_DIM);
		arms[i] = i % 4;
		targets[i] = 1.0f;
	}
	/* outputs of the order of 64 x 3e38: the loss overflows */
	for (i = 0; i < m->hidden; i++)
		m->params[m->off_v + i] = 3e38f;
	m->params[m->off_c] = 0.0f;
	m->base_steps = 7;
	before = ndag_cost_copy(m);
	tap_ok(ndag_cost_train_base(m, NULL, emb, arms, targets, 16, NULL, &res) ==
		   NDAG_ERR_NONFINITE, "a diverging training run is rejected");
	tap_ok(same_params(m, before) && m->base_steps == 7,
		   "the rejected run gave back the model it started from");
	ndag_cost_free(m);
	ndag_cost_free(before);
}

/*
 * test_fisher_finite
 *		A gradient whose square overflows leaves the Fisher finite.
 */
static void
test_fisher_finite(void)
{
	NdagEwc    *e = ndag_ewc_create(3);
	float		g[3] = {1.0f, 1e30f, NAN};

	ndag_ewc_update_fisher(e, g);
	tap_ok(isfinite(e->fisher[0]) && isfinite(e->fisher[1]) &&
		   isfinite(e->fisher[2]) && e->fisher[0] > 0.0f,
		   "the Fisher stays finite on huge and NaN gradients");
	ndag_ewc_free(e);
}

/*
 * parallel_rounds
 *		k copies of a shared model take 100 instant steps each (lr) on
 *		their own executions of 20 statements, their deltas are merged at
 *		scale `scale`, for `rounds` rounds.  Returns the largest |theta|
 *		reached (infinity once a merge was rejected).
 */
static double
parallel_rounds(int k, double lr, double scale, int rounds)
{
	NdagCostModel *shared = ndag_cost_create(64, 8, 2, 42);
	NdagRng		rng;
	float		emb[20][NDAG_EMBED_DIM];
	double		target[20];
	double		worst = 0.0;
	int			q;
	int			r;

	ndag_rng_seed(&rng, 1);
	for (q = 0; q < 20; q++)
	{
		tu_random_unit(&rng, emb[q]);
		target[q] = log(0.05 + q * 3.0);
	}
	for (r = 0; r < rounds && isfinite(worst); r++)
	{
		NdagCostDelta *sum = ndag_cost_delta_create(shared);
		int			c;

		for (c = 0; c < k; c++)
		{
			NdagCostModel *copy = ndag_cost_copy(shared);
			NdagCostDelta *d = ndag_cost_delta_create(copy);
			int			s;

			for (s = 0; s < 100; s++)
			{
				q = (int) ndag_rng_below(&rng, 20);
				(void) ndag_cost_instant_step(copy, emb[q], q % 3, target[q],
											  lr, NULL);
			}
			ndag_cost_delta_capture(d, copy);
			(void) ndag_vec_add_finite(sum->diff, d->diff, d->n, 1.0);
			sum->steps += d->steps;
			ndag_cost_delta_free(d);
			ndag_cost_free(copy);
		}
		if (ndag_cost_delta_merge(shared, sum, scale) != NDAG_OK)
			worst = INFINITY;
		else if (max_abs(shared) > worst)
			worst = max_abs(shared);
		ndag_cost_delta_free(sum);
	}
	ndag_cost_free(shared);
	return worst;
}

/*
 * test_parallel_merge
 *		The divergence under concurrency: 16 backends' deltas, each from
 *		the same model, summed into it are 16 times one backend's step and
 *		blow the model up; averaged they stay as bounded as one backend.
 */
static void
test_parallel_merge(void)
{
	double		summed = parallel_rounds(16, 0.01, 1.0, 30);
	double		averaged = parallel_rounds(16, 0.01, 1.0 / 16, 30);
	double		single = parallel_rounds(1, 0.01, 1.0, 30);

	tap_ok(summed > 1e3, "16 summed deltas diverge (max |theta| %.3g)", summed);
	tap_ok(averaged < 10.0 && single < 10.0,
		   "16 averaged deltas stay bounded as one backend does "
		   "(max |theta| %.3g, one backend %.3g)", averaged, single);
}

int
main(void)
{
	test_merge_rejects();
	test_instant_rejects();
	test_serialize_refuses();
	test_train_rejects();
	test_fisher_finite();
	test_parallel_merge();
	return tap_done();
}
