/*-------------------------------------------------------------------------
 *
 * test_ewc.c
 *	  EWC++: the Fisher vector is as long as the trained parameter vector
 *	  and follows F <- decay F + (1 - decay) g^2; the penalty and its
 *	  gradient on hand values; lambda's growth; the boundary detector fires
 *	  on a loss jump and not on noise; and training task A then task B
 *	  forgets A measurably less with EWC++ than with lambda = 0.
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

/*
 * test_fisher_and_penalty
 *		Lengths, the update rule, the penalty on hand values.
 */
static void
test_fisher_and_penalty(void)
{
	NdagCostModel *m = ndag_cost_create(4, 8, 2, 1);
	NdagEwc    *e = ndag_ewc_create(m->n_base);
	NdagEwc    *wrong = ndag_ewc_create(m->n_base + 1);
	NdagEwc    *h = ndag_ewc_create(3);
	NdagCostTrainResult res;
	float		emb[NDAG_EMBED_DIM] = {1.0f};
	int			arm = 0;
	float		t = 1.0f;
	float		g[3] = {1.0f, -2.0f, 0.0f};
	float		theta[3] = {1.0f, 1.0f, 1.0f};
	float		grad[3] = {0.0f, 0.0f, 0.0f};
	double		pen;
	int			nonzero = 0;
	int			i;

	tap_ok(e->n == m->n_base && m->n_base == m->off_micro_a,
		   "Fisher has the length of the trained (base) parameter vector: %d", e->n);
	tap_ok(ndag_cost_train_base(m, wrong, emb, &arm, &t, 1, NULL, &res) == NDAG_ERR_ARG,
		   "training refuses an EWC state of another length");
	ndag_cost_train_base(m, e, emb, &arm, &t, 1, NULL, &res);
	for (i = 0; i < e->n; i++)
		nonzero += e->fisher[i] > 0.0f;
	tap_ok(e->fisher_updates == (uint64_t) res.steps && res.steps > 0 && nonzero > 0,
		   "training updates the Fisher once per step (%d non-zero entries)", nonzero);

	ndag_ewc_update_fisher(h, g);
	ndag_ewc_update_fisher(h, g);
	tap_ok(fabs(h->fisher[0] - (0.999 * 0.001 + 0.001)) < 1e-7 &&
		   fabs(h->fisher[1] - 4.0 * (0.999 * 0.001 + 0.001)) < 1e-7 &&
		   h->fisher[2] == 0.0f,
		   "F <- 0.999 F + 0.001 g^2 on hand values");
	ndag_ewc_penalty(h, theta, &pen, grad);
	tap_ok(pen == 0.0 && grad[0] == 0.0f, "no penalty before a boundary");
	h->fisher[0] = 0.5f;
	h->fisher[1] = 2.0f;
	h->fisher[2] = 1.0f;
	ndag_ewc_mark_boundary(h, theta);
	tap_ok(h->lambda == 2000.0 && h->has_anchor, "first boundary: lambda 2000");
	theta[0] = 2.0f;
	theta[1] = 0.0f;
	ndag_ewc_penalty(h, theta, &pen, grad);
	tap_ok(fabs(pen - 0.5 * 2000.0 * (0.5 * 1.0 + 2.0 * 1.0)) < 1e-6 &&
		   fabs(grad[0] - 2000.0 * 0.5) < 1e-3 && fabs(grad[1] + 2000.0 * 2.0) < 1e-3 &&
		   grad[2] == 0.0f,
		   "penalty lambda/2 sum F (theta - theta*)^2 = %.1f and its gradient", pen);
	ndag_ewc_mark_boundary(h, theta);
	tap_ok(h->lambda == 3000.0, "second boundary: lambda 3000");
	for (i = 0; i < 10; i++)
		ndag_ewc_mark_boundary(h, theta);
	tap_ok(h->lambda == 15000.0 && h->n_tasks == 12, "lambda is capped at 15000");
	ndag_ewc_free(e);
	ndag_ewc_free(wrong);
	ndag_ewc_free(h);
	ndag_cost_free(m);
}

/*
 * test_detector
 *		Noise never fires over many seeds; a jump fires within the
 *		confirmation run and anchors the parameters from before it.
 */
static void
test_detector(void)
{
	int			seeds = tap_seeds(100) < 100 ? tap_seeds(100) : 100;
	int			false_alarms = 0;
	int			detected = 0;
	int			early = 0;
	int			delays_ok = 0;
	int			s;

	for (s = 0; s < seeds; s++)
	{
		NdagEwc    *e = ndag_ewc_create(2);
		NdagRng		rng;
		float		theta[2] = {0.0f, 0.0f};
		bool		b;
		int			i;
		int			fired_at = -1;

		ndag_rng_seed(&rng, 500 + s);
		for (i = 0; i < 2000; i++)
		{
			theta[0] = (float) i;
			ndag_ewc_observe_loss(e, 1.0 + 0.1 * ndag_rng_normal(&rng), theta, &b);
			if (b)
				false_alarms++;
		}
		for (i = 0; i < 20 && fired_at < 0; i++)
		{
			theta[0] = (float) (2000 + i);
			ndag_ewc_observe_loss(e, 2.0 + 0.1 * ndag_rng_normal(&rng), theta, &b);
			if (b)
				fired_at = i;
		}
		if (fired_at >= 0)
			detected++;
		/* a noisy high loss just before the jump may start the run early */
		if (fired_at >= 0 && fired_at <= NDAG_EWC_CONFIRM - 1 &&
			e->anchor[0] == (float) (2000 + fired_at - (NDAG_EWC_CONFIRM - 1)))
			delays_ok++;
		ndag_ewc_free(e);

		/* fewer than 50 samples: never */
		e = ndag_ewc_create(2);
		for (i = 0; i < 49; i++)
		{
			ndag_ewc_observe_loss(e, i < 40 ? 1.0 + 0.01 * (i % 3) : 50.0, theta, &b);
			if (b)
				early++;
		}
		ndag_ewc_free(e);
	}
	tap_ok(false_alarms == 0, "no boundary on 2000 noisy losses x %d seeds", seeds);
	tap_ok(detected == seeds, "a loss jump is detected (%d/%d)", detected, seeds);
	tap_ok(delays_ok == seeds,
		   "it fires on the fifth high loss in a row and anchors theta from before the run");
	tap_ok(early == 0, "no boundary before 50 samples");
}

/*
 * task_data
 *		Samples of a task: targets offset + 4 * e . w.
 */
static void
task_data(NdagRng *rng, int n, const float *w, double offset, float *emb,
		  int *arms, float *t)
{
	int			i;
	int			k;

	for (i = 0; i < n; i++)
	{
		float	   *e = emb + (size_t) i * NDAG_EMBED_DIM;
		double		s = 0.0;
		double		dot = 0.0;

		for (k = 0; k < NDAG_EMBED_DIM; k++)
		{
			e[k] = (float) ndag_rng_normal(rng);
			s += (double) e[k] * e[k];
		}
		for (k = 0; k < NDAG_EMBED_DIM; k++)
		{
			e[k] = (float) (e[k] / sqrt(s));
			dot += (double) e[k] * w[k];
		}
		arms[i] = (int) ndag_rng_below(rng, 3);
		t[i] = (float) (offset + 4.0 * dot + 0.3 * arms[i]);
	}
}

/*
 * forgetting
 *		Train task A, mark a boundary, train task B; the loss on A after B.
 *		lambda_init 0 gives plain training with the same seeds.
 */
static double
forgetting(int seed, double lambda_init, double *loss_a_before, double *loss_b)
{
	const int	n = 1000;
	NdagCostModel *m = ndag_cost_create(3, 8, 2, 40 + seed);
	NdagEwc    *e = ndag_ewc_create(m->n_base);
	NdagCostTrainOpts opts;
	NdagCostTrainResult res;
	NdagRng		rng;
	float		wa[NDAG_EMBED_DIM];
	float		wb[NDAG_EMBED_DIM];
	float	   *ea = malloc(sizeof(float) * n * NDAG_EMBED_DIM);
	float	   *eb = malloc(sizeof(float) * n * NDAG_EMBED_DIM);
	int		   *aa = malloc(sizeof(int) * n);
	int		   *ab = malloc(sizeof(int) * n);
	float	   *ta = malloc(sizeof(float) * n);
	float	   *tb = malloc(sizeof(float) * n);
	double		after;
	int			k;

	ndag_rng_seed(&rng, 900 + seed);
	for (k = 0; k < NDAG_EMBED_DIM; k++)
	{
		wa[k] = (float) ndag_rng_normal(&rng) / 8.0f;
		wb[k] = (float) ndag_rng_normal(&rng) / 8.0f;
	}
	task_data(&rng, n, wa, 2.0, ea, aa, ta);
	task_data(&rng, n, wb, 4.0, eb, ab, tb);
	e->lambda_init = lambda_init;
	ndag_cost_train_opts_init(&opts);
	opts.epochs = 15;
	opts.lr = 0.003;
	opts.detect_boundary = false;
	ndag_cost_train_base(m, e, ea, aa, ta, n, &opts, &res);
	*loss_a_before = res.loss_after;
	ndag_ewc_mark_boundary(e, m->params);
	ndag_cost_train_base(m, e, eb, ab, tb, n, &opts, &res);
	*loss_b = res.loss_after;
	ndag_cost_loss_grad(m, ea, aa, ta, n, &after, NULL);
	free(ea);
	free(eb);
	free(aa);
	free(ab);
	free(ta);
	free(tb);
	ndag_ewc_free(e);
	ndag_cost_free(m);
	return after;
}

/*
 * test_forgetting
 *		EWC++ keeps more of task A than lambda = 0, same seeds.
 */
static void
test_forgetting(void)
{
	/* four trainings per seed: one seed when fewer are asked (valgrind) */
	int			seeds = getenv("NDAG_TEST_SEEDS") != NULL ? 1 : 3;
	int			s;

	for (s = 0; s < seeds; s++)
	{
		double		a0_ewc;
		double		b_ewc;
		double		a0_plain;
		double		b_plain;
		double		with_ewc = forgetting(s, NDAG_EWC_LAMBDA, &a0_ewc, &b_ewc);
		double		plain = forgetting(s, 0.0, &a0_plain, &b_plain);

		tap_ok(a0_ewc == a0_plain, "seed %d: identical task A training (%.4f)", s, a0_ewc);
		tap_ok(with_ewc < 0.7 * plain,
			   "seed %d: loss on A after B with EWC++ %.4f < 0.7 x without %.4f (B: %.4f vs %.4f)",
			   s, with_ewc, plain, b_ewc, b_plain);
	}
}

/*
 * test_serialize
 *		Round trip and damage.
 */
static void
test_serialize(void)
{
	NdagEwc    *e = ndag_ewc_create(10);
	NdagEwc    *back = NULL;
	float		g[10];
	unsigned char *buf;
	size_t		size = ndag_ewc_serialized_size(e);
	size_t		written;
	int			i;

	for (i = 0; i < 10; i++)
		g[i] = (float) i;
	ndag_ewc_update_fisher(e, g);
	ndag_ewc_mark_boundary(e, g);
	buf = malloc(size);
	ndag_ewc_serialize(e, buf, size, &written);
	tap_ok(ndag_ewc_deserialize(buf, written, &back) == NDAG_OK &&
		   memcmp(back->fisher, e->fisher, sizeof(g)) == 0 &&
		   memcmp(back->anchor, e->anchor, sizeof(g)) == 0 &&
		   back->lambda == e->lambda && back->has_anchor && back->n_tasks == 1,
		   "EWC state round trip");
	ndag_ewc_free(back);
	buf[20] ^= 2;
	tap_ok(ndag_ewc_deserialize(buf, written, &back) == NDAG_ERR_CORRUPT,
		   "damaged EWC state rejected");
	free(buf);
	ndag_ewc_free(e);
}

int
main(void)
{
	test_fisher_and_penalty();
	test_detector();
	test_forgetting();
	test_serialize();
	return tap_done();
}
