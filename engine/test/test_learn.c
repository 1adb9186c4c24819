/*-------------------------------------------------------------------------
 *
 * test_learn.c
 *	  The learning cycle: the quality formula on hand values; a first cycle
 *	  creates one pattern per query shape and lowers the cost model's loss;
 *	  more executions of the same shapes merge and do not drift; a new
 *	  workload creates patterns, drifts, and marks an EWC++ boundary.  The
 *	  held-out split is stable and of the asked share; a trained model that
 *	  is worse on the held-out trajectories is rejected and the old one
 *	  (and its EWC++ state) stays.
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
		   r1.trained + r1.validated + r1.heldout == n &&
		   r1.validated >= NDAG_LEARN_HELDOUT_MIN &&
		   r1.heldout >= NDAG_LEARN_HELDOUT_MIN &&
		   !r1.heldout_all && r1.drift == 0.0 && !r1.drift_boundary,
		   "first cycle: %d patterns from %d shapes, %d trained, %d validated, "
		   "%d held out", r1.extract.created, SHAPES, r1.trained, r1.validated,
		   r1.heldout);
	tap_ok(r1.model_kept && r1.heldout_error_after < 0.5 * r1.heldout_error_before,
		   "the first model is kept: held-out error %.3f -> %.3f",
		   r1.heldout_error_before, r1.heldout_error_after);
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

/*
 * test_split
 *		The held-out side of an id never changes, and about the asked share
 *		of ids is held out.
 */
static void
test_split(void)
{
	int			held = 0;
	int			stable = 1;
	uint64_t	id;

	for (id = 1; id <= 10000; id++)
	{
		bool		h = ndag_learn_is_heldout(id, 0.2);

		held += h ? 1 : 0;
		stable &= h == ndag_learn_is_heldout(id, 0.2);
		stable &= !ndag_learn_is_heldout(id, 0.0) && ndag_learn_is_heldout(id, 1.0);
	}
	tap_ok(stable && held > 1800 && held < 2200,
		   "the split is a stable function of the id (%d of 10000 held out at 0.2)",
		   held);
}

/*
 * test_keep_rule
 *		Hand values of the keep-or-reject rule.
 */
static void
test_keep_rule(void)
{
	tap_ok(ndag_learn_keep_model(0.5, 0.4, 0.02) &&
		   ndag_learn_keep_model(0.5, 0.51, 0.02) &&
		   !ndag_learn_keep_model(0.5, 0.52, 0.02) &&
		   !ndag_learn_keep_model(0.58, 5.78, 0.02) &&
		   ndag_learn_keep_model(NAN, 3.0, 0.02) &&
		   !ndag_learn_keep_model(0.5, NAN, 0.02) &&
		   !ndag_learn_keep_model(0.5, INFINITY, 0.02),
		   "keep when held-out error <= before * (1 + tolerance); never a non-finite one");
}

/*
 * test_reject
 *		A model fitted to a workload; then a cycle whose trained side runs
 *		100x slower while its held-out side does not: training makes the
 *		held-out error worse, so the model (every parameter, its step
 *		counters) and the EWC++ state stay as they were.
 */
static void
test_reject(void)
{
	const int	n = 400;
	NdagPatternBank *bank = ndag_bank_create(ARMS, 1000);
	NdagCostModel *model = ndag_cost_create(ARMS, 8, 2, 5);
	NdagCostModel *saved;
	NdagEwc    *ewc = ndag_ewc_create(model->n_base);
	NdagEwc    *ewc_saved;
	NdagTrajectory *t = malloc(sizeof(NdagTrajectory) * n);
	uint64_t   *ids = malloc(sizeof(uint64_t) * n);
	NdagLearnOpts opts;
	NdagLearnResult r1;
	NdagLearnResult r2;
	NdagRng		rng;
	float		shapes[SHAPES][NDAG_EMBED_DIM];
	double		base[SHAPES];
	int			i;
	int			rc;

	ndag_rng_seed(&rng, 21);
	random_shapes(&rng, shapes, base);
	ndag_learn_opts_init(&opts);
	opts.patterns.clusters = SHAPES;
	opts.train.lr = 0.003;
	for (i = 0; i < n; i++)
		ids[i] = 1000 + (uint64_t) i;
	opts.ids = ids;

	workload(&rng, shapes, base, n, t);
	rc = ndag_learn_cycle(bank, model, ewc, t, n, NULL, &opts, 1.0, &r1);
	saved = ndag_cost_copy(model);
	ewc_saved = ndag_ewc_copy(ewc);

	workload(&rng, shapes, base, n, t);
	for (i = 0; i < n; i++)
		if (!ndag_learn_is_heldout(ids[i], opts.heldout_share))
			t[i].latency_ms *= 100.0;
	rc |= ndag_learn_cycle(bank, model, ewc, t, n, &r1.snapshot, &opts, 2.0, &r2);
	tap_ok(rc == NDAG_OK && r1.model_kept && !r2.model_kept && r2.trained > 0 &&
		   r2.heldout_error_after > r2.heldout_error_before,
		   "a model worse on the held-out trajectories is rejected (%.3f -> %.3f)",
		   r2.heldout_error_before, r2.heldout_error_after);
	tap_ok(memcmp(saved->params, model->params, sizeof(float) * model->n_params) == 0 &&
		   saved->base_steps == model->base_steps &&
		   memcmp(saved->w_eff, model->w_eff,
				  sizeof(float) * model->hidden * model->in_dim) == 0 &&
		   memcmp(ewc_saved->fisher, ewc->fisher, sizeof(float) * ewc->n) == 0 &&
		   memcmp(ewc_saved->anchor, ewc->anchor, sizeof(float) * ewc->n) == 0 &&
		   ewc_saved->n_tasks == ewc->n_tasks && ewc_saved->loss_n == ewc->loss_n,
		   "the rejected run leaves the model and the EWC++ state as they were");
	free(t);
	free(ids);
	ndag_ewc_free(ewc);
	ndag_ewc_free(ewc_saved);
	ndag_cost_free(model);
	ndag_cost_free(saved);
	ndag_bank_free(bank);
}

int
main(void)
{
	test_quality();
	test_cycles();
	test_split();
	test_keep_rule();
	test_reject();
	return tap_done();
}
