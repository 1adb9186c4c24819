/*-------------------------------------------------------------------------
 *
 * test_learn.c
 *	  The learning cycle: the quality formula on hand values; a first cycle
 *	  creates one pattern per query shape and lowers the cost model's loss;
 *	  more executions of the same shapes merge and do not drift; a new
 *	  workload creates patterns, drifts, and marks an EWC++ boundary.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "costmodel.h"
#include "engine.h"
#include "learn.h"
#include "patterns.h"
#include "tap.h"
#include "testutil.h"

#define SHAPES	5
#define ARMS	4

/*
 * workload
 *		n executions of the given shapes; latency = base * arm factor.
 */
static void
workload(NdagRng *rng, float shapes[][NDAG_EMBED_DIM], const double *base,
		 int n, NdagTrajectory *t)
{
	static const double factor[ARMS] = {1.0, 0.3, 2.0, 1.2};
	int			i;

	for (i = 0; i < n; i++)
	{
		int			s = i % SHAPES;

		tu_near_unit(rng, shapes[s], 0.01, t[i].embedding);
		t[i].arm = (i / SHAPES) % ARMS;
		t[i].latency_ms = base[s] * factor[t[i].arm] * exp(0.05 * ndag_rng_normal(rng));
		t[i].quality = ndag_trajectory_quality(t[i].latency_ms, base[s]);
		t[i].query_id = 100 + (uint64_t) s;
	}
}

/*
 * random_shapes
 *		SHAPES random unit vectors and base latencies.
 */
static void
random_shapes(NdagRng *rng, float shapes[][NDAG_EMBED_DIM], double *base)
{
	int			s;

	for (s = 0; s < SHAPES; s++)
	{
		tu_random_unit(rng, shapes[s]);
		base[s] = exp(1.0 + 4.0 * ndag_rng_uniform(rng));
	}
}

/*
 * test_quality
 *		The formula of DESIGN.md section 5.
 */
static void
test_quality(void)
{
	tap_ok(fabs(ndag_trajectory_quality(0.0, 100.0) - 1.0) < 1e-12 &&
		   fabs(ndag_trajectory_quality(1000.0, 1000.0) - 0.5) < 1e-12 &&
		   fabs(ndag_trajectory_quality(3000.0, 1000.0) - 0.125) < 1e-12 &&
		   fabs(ndag_trajectory_quality(1000.0, NAN) - 0.5) < 1e-12 &&
		   fabs(ndag_trajectory_quality(500.0, 1000.0) - (0.5 / 1.5 + 0.375)) < 1e-12,
		   "quality = 0.5/(1 + t/1000) + 0.5 (improvement + 1)/2 on hand values");
}

/*
 * test_cycles
 *		Three cycles: learn, repeat, new workload.
 */
static void
test_cycles(void)
{
	const int	n = 600;
	NdagPatternBank *bank = ndag_bank_create(ARMS, 1000);
	NdagCostModel *model = ndag_cost_create(ARMS, 8, 2, 5);
	NdagEwc    *ewc = ndag_ewc_create(model->n_base);
	NdagTrajectory *t = malloc(sizeof(NdagTrajectory) * n);
	NdagLearnOpts opts;
	NdagLearnResult r1;
	NdagLearnResult r2;
	NdagLearnResult r3;
	NdagRng		rng;
	float		shapes[SHAPES][NDAG_EMBED_DIM];
	double		base[SHAPES];
	int			rc;
	int			i;
	int			best_ok = 0;

	ndag_rng_seed(&rng, 12);
	random_shapes(&rng, shapes, base);
	ndag_learn_opts_init(&opts);
	opts.patterns.clusters = SHAPES;
	opts.train.epochs = 10;
	opts.train.lr = 0.003;

	workload(&rng, shapes, base, n, t);
	rc = ndag_learn_cycle(bank, model, ewc, t, n, NULL, &opts, 1.0, &r1);
	tap_ok(rc == NDAG_OK && r1.extract.created == SHAPES && bank->count == SHAPES &&
		   r1.trained == n && r1.drift == 0.0 && !r1.drift_boundary,
		   "first cycle: %d patterns from %d shapes, %d trained", r1.extract.created,
		   SHAPES, r1.trained);
	tap_ok(r1.loss_after < 0.25 * r1.loss_before, "cost model loss %.3f -> %.3f",
		   r1.loss_before, r1.loss_after);
	for (i = 0; i < bank->count; i++)
		if (bank->patterns[i].best_arm == 1 && fabs(bank->patterns[i].gain - 1.0 / 0.3) < 0.3)
			best_ok++;
	tap_ok(best_ok == SHAPES, "every pattern found arm 1 (gain about 3.3)");

	workload(&rng, shapes, base, n, t);
	rc = ndag_learn_cycle(bank, model, ewc, t, n, &r1.snapshot, &opts, 2.0, &r2);
	tap_ok(rc == NDAG_OK && r2.extract.created == 0 && r2.extract.merged == SHAPES &&
		   bank->count == SHAPES && r2.drift < 0.02 && !r2.drift_boundary,
		   "same shapes again: merged, drift %.4f, no boundary", r2.drift);

	random_shapes(&rng, shapes, base);
	workload(&rng, shapes, base, n, t);
	rc = ndag_learn_cycle(bank, model, ewc, t, n, &r2.snapshot, &opts, 3.0, &r3);
	tap_ok(rc == NDAG_OK && r3.extract.created == SHAPES && bank->count == 2 * SHAPES &&
		   r3.drift > NDAG_LEARN_DRIFT_BOUNDARY && r3.drift_boundary &&
		   ewc->n_tasks >= 1 && ewc->lambda >= NDAG_EWC_LAMBDA,
		   "new workload: drift %.3f marks an EWC++ boundary (lambda %.0f)", r3.drift,
		   ewc->lambda);
	tap_ok(ndag_learn_cycle(bank, model, NULL, NULL, 0, NULL, &opts, 4.0, &r3) == NDAG_OK &&
		   r3.trained == 0 && r3.extract.used == 0,
		   "an empty cycle does nothing");
	free(t);
	ndag_ewc_free(ewc);
	ndag_cost_free(model);
	ndag_bank_free(bank);
}

int
main(void)
{
	test_quality();
	test_cycles();
	return tap_done();
}
