/*-------------------------------------------------------------------------
 *
 * learning.c
 *	  Benchmark of the learning engine against DESIGN.md section 10: the
 *	  background cycle (k-means++, pattern extraction, BaseLoRA epochs with
 *	  EWC++) on 1,000 and 10,000 synthetic trajectories, pattern matching
 *	  top-5 over 1,000 patterns, the MicroLoRA forward pass and instant
 *	  step, HDC encoding, and the memory of the model, of 1,000 patterns and
 *	  of a 10,000-trajectory buffer against the seed's budget.
 *
 * It prints numbers; it asserts nothing.  Run with `make bench-learning`.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_util.h"
#include "costmodel.h"
#include "engine.h"
#include "learn.h"
#include "patterns.h"
#include "testutil.h"

#define N_ARMS		8
#define N_SHAPES	60

/*
 * quantile
 *		q-quantile of n sorted samples.
 */
static double
quantile(const double *sorted, int n, double q)
{
	int			i = (int) floor(q * (n - 1) + 0.5);

	return sorted[i < 0 ? 0 : i >= n ? n - 1 : i];
}

/*
 * fmt_ns
 *		A duration with a readable unit.
 */
static const char *
fmt_ns(char *buf, double ns)
{
	if (ns < 1e3)
		sprintf(buf, "%.0f ns", ns);
	else if (ns < 1e6)
		sprintf(buf, "%.2f us", ns / 1e3);
	else
		sprintf(buf, "%.2f ms", ns / 1e6);
	return buf;
}

/*
 * row
 *		One line of the table.
 */
static void
row(const char *op, double median, double p99, const char *seed, const char *goal)
{
	char		a[32];
	char		b[32];

	printf("| %-44s | %10s | %10s | %-10s | %-10s |\n", op, fmt_ns(a, median),
		   fmt_ns(b, p99), seed, goal);
}

/*
 * make_trajectories
 *		n executions of N_SHAPES query shapes under N_ARMS arms: the
 *		embedding is the shape's plus noise, the latency a per-shape base
 *		times a per-shape arm factor, the quality as in DESIGN.md section 5
 *		against the default arm's latency.
 */
static void
make_trajectories(NdagRng *rng, int n, NdagTrajectory *t)
{
	float		shapes[N_SHAPES][NDAG_EMBED_DIM];
	double		base[N_SHAPES];
	double		factor[N_SHAPES][N_ARMS];
	int			s;
	int			a;
	int			i;

	for (s = 0; s < N_SHAPES; s++)
	{
		tu_random_unit(rng, shapes[s]);
		base[s] = exp(1.0 + 5.0 * ndag_rng_uniform(rng));
		for (a = 0; a < N_ARMS; a++)
			factor[s][a] = a == 0 ? 1.0 : exp(1.2 * ndag_rng_normal(rng));
	}
	for (i = 0; i < n; i++)
	{
		double		improvement;

		s = (int) ndag_rng_below(rng, N_SHAPES);
		a = (int) ndag_rng_below(rng, N_ARMS);
		tu_near_unit(rng, shapes[s], 0.03, t[i].embedding);
		t[i].arm = a;
		t[i].latency_ms = base[s] * factor[s][a] * exp(0.15 * ndag_rng_normal(rng));
		improvement = (base[s] - t[i].latency_ms) / base[s];
		if (improvement < -1.0)
			improvement = -1.0;
		t[i].quality = 0.5 / (1.0 + t[i].latency_ms / 1000.0) +
			0.5 * (improvement + 1.0) / 2.0;
		t[i].query_id = 5000 + (uint64_t) s;
	}
}

/*
 * background_cycle
 *		One learning cycle (ndag_learn_cycle, default settings: 100
 *		clusters, 5 epochs of batches of 32) on n trajectories; returns
 *		nanoseconds, the loss before and after and the number of patterns.
 */
static double
background_cycle(const NdagTrajectory *t, int n, double *loss_before,
				 double *loss_after, int *patterns)
{
	NdagPatternBank *bank = ndag_bank_create(N_ARMS, NDAG_PATTERN_CAPACITY);
	NdagCostModel *model = ndag_cost_create(N_ARMS, NDAG_COST_BASE_RANK,
											NDAG_COST_MICRO_RANK, 7);
	NdagEwc    *ewc = ndag_ewc_create(model->n_base);
	NdagLearnResult *r = malloc(sizeof(NdagLearnResult));
	double		t0;
	double		t1;

	t0 = now_ns();
	ndag_learn_cycle(bank, model, ewc, t, n, NULL, NULL, 1.0, r);
	t1 = now_ns();
	*loss_before = r->loss_before;
	*loss_after = r->loss_after;
	*patterns = bank->count;
	free(r);
	ndag_ewc_free(ewc);
	ndag_cost_free(model);
	ndag_bank_free(bank);
	return t1 - t0;
}

int
main(void)
{
	const int	reps = 20000;
	NdagRng		rng;
	NdagTrajectory *traj = malloc(sizeof(NdagTrajectory) * 10000);
	double	   *times = malloc(sizeof(double) * reps);
	NdagCostModel *model;
	NdagCostDelta *delta;
	NdagPatternBank *bank;
	NdagHdcEncoder *enc;
	NdagMatch	out[5];
	NdagHv		hv;
	float		q[NDAG_EMBED_DIM];
	char		label[64];
	size_t		model_bytes;
	size_t		bank_bytes;
	int			sizes[2] = {1000, 10000};
	int			n_out;
	int			i;
	int			z;

	ndag_rng_seed(&rng, 2026);
	make_trajectories(&rng, 10000, traj);

	printf("neural_dag learning benchmark: median and p99 (cycles: median of 5 runs, p99 = max)\n\n");
	printf("| %-44s | %10s | %10s | %-10s | %-10s |\n", "operation", "median", "p99",
		   "seed", "goal");
	printf("|----------------------------------------------|------------|------------|------------|------------|\n");

	for (z = 0; z < 2; z++)
	{
		double		cyc[5];
		double		lb = 0.0;
		double		la = 0.0;
		int			np = 0;

		for (i = 0; i < 5; i++)
			cyc[i] = background_cycle(traj, sizes[z], &lb, &la, &np);
		qsort(cyc, 5, sizeof(double), cmp_double);
		snprintf(label, sizeof(label), "background cycle, %d trajectories", sizes[z]);
		row(label, cyc[2], cyc[4], "< 5 s", z == 0 ? "< 200 ms" : "-");
		fprintf(stderr, "  %d trajectories: %d patterns, loss %.3f -> %.3f\n",
				sizes[z], np, lb, la);
	}

	/* a bank of 1,000 patterns */
	bank = ndag_bank_create(N_ARMS, 2000);
	for (i = 0; i < 1000; i++)
	{
		NdagPattern p;

		memset(&p, 0, sizeof(p));
		tu_random_unit(&rng, p.centroid);
		p.n_members = 10;
		p.arms[0].count = 10;
		ndag_pattern_finish(&p, N_ARMS, 3);
		ndag_bank_insert(bank, &p, NULL);
	}
	for (i = 0; i < reps; i++)
	{
		double		t0;

		tu_random_unit(&rng, q);
		t0 = now_ns();
		ndag_match_exact(bank, q, 5, out, &n_out);
		times[i] = now_ns() - t0;
	}
	qsort(times, reps, sizeof(double), cmp_double);
	row("pattern match top-5 / 1,000 (exact sgemv)", quantile(times, reps, 0.5),
		quantile(times, reps, 0.99), "< 1 ms", "< 50 us");
	for (i = 0; i < reps; i++)
	{
		double		t0;

		tu_random_unit(&rng, q);
		t0 = now_ns();
		ndag_match_hdc(bank, q, 5, out, &n_out);
		times[i] = now_ns() - t0;
	}
	qsort(times, reps, sizeof(double), cmp_double);
	row("pattern match top-5 / 1,000 (HDC pre-filter)", quantile(times, reps, 0.5),
		quantile(times, reps, 0.99), "< 1 ms", "< 50 us");

	/* MicroLoRA */
	model = ndag_cost_create(N_ARMS, NDAG_COST_BASE_RANK, NDAG_COST_MICRO_RANK, 3);
	for (i = 0; i < reps; i++)
	{
		double		t0;
		double		y;

		t0 = now_ns();
		ndag_cost_predict(model, traj[i % 10000].embedding, traj[i % 10000].arm, &y);
		times[i] = now_ns() - t0;
	}
	qsort(times, reps, sizeof(double), cmp_double);
	row("MicroLoRA forward (cost model prediction)", quantile(times, reps, 0.5),
		quantile(times, reps, 0.99), "< 100 us", "< 5 us");
	for (i = 0; i < reps; i++)
	{
		const NdagTrajectory *t = &traj[i % 10000];
		double		t0;

		t0 = now_ns();
		ndag_cost_instant_step(model, t->embedding, t->arm, log(t->latency_ms),
							   NDAG_COST_INSTANT_LR, NULL);
		times[i] = now_ns() - t0;
	}
	qsort(times, reps, sizeof(double), cmp_double);
	row("MicroLoRA instant step", quantile(times, reps, 0.5),
		quantile(times, reps, 0.99), "< 100 us", "< 5 us");

	/* a backend's flush every 100 steps: capture and rebase its delta */
	delta = ndag_cost_delta_create(model);
	for (i = 0; i < reps; i++)
	{
		double		t0;

		ndag_cost_instant_step(model, traj[i % 10000].embedding,
							   traj[i % 10000].arm,
							   log(traj[i % 10000].latency_ms),
							   NDAG_COST_INSTANT_LR, NULL);
		t0 = now_ns();
		ndag_cost_delta_capture(delta, model);
		ndag_cost_delta_rebase(delta, model);
		times[i] = now_ns() - t0;
	}
	qsort(times, reps, sizeof(double), cmp_double);
	row("instant delta capture + rebase", quantile(times, reps, 0.5),
		quantile(times, reps, 0.99), "-", "-");
	for (i = 0; i < reps; i++)
	{
		double		t0;

		t0 = now_ns();
		ndag_cost_delta_merge(model, delta, 1.0);
		times[i] = now_ns() - t0;
	}
	qsort(times, reps, sizeof(double), cmp_double);
	row("instant delta merge (learner)", quantile(times, reps, 0.5),
		quantile(times, reps, 0.99), "-", "-");
	ndag_cost_delta_free(delta);

	/* HDC */
	enc = ndag_hdc_encoder_create(NDAG_HDC_SEED);
	for (i = 0; i < reps; i++)
	{
		double		t0;

		t0 = now_ns();
		ndag_hdc_encode(enc, traj[i % 10000].embedding, &hv);
		times[i] = now_ns() - t0;
	}
	qsort(times, reps, sizeof(double), cmp_double);
	row("HDC encode, 10,000 bits", quantile(times, reps, 0.5),
		quantile(times, reps, 0.99), "< 100 us", "< 20 us");

	/* memory */
	model_bytes = sizeof(NdagCostModel) + sizeof(float) *
		((size_t) model->n_params + 2 * (size_t) model->hidden * model->in_dim +
		 4 * (size_t) model->hidden + 2 * NDAG_COST_MAX_RANK);
	bank_bytes = (size_t) bank->count * (sizeof(NdagPattern) + sizeof(float) * NDAG_EMBED_DIM);
	printf("\n| %-44s | %14s | %-12s |\n", "memory", "measured", "seed budget");
	printf("|----------------------------------------------|----------------|--------------|\n");
	printf("| %-44s | %11.1f KB | %-12s |\n", "cost model in memory (8 arms, ranks 8 + 2)",
		   model_bytes / 1024.0, "400 KB");
	printf("| %-44s | %11.1f KB | %-12s |\n", "cost model serialised",
		   ndag_cost_serialized_size(model) / 1024.0, "400 KB");
	printf("| %-44s | %11.1f MB | %-12s |\n", "1,000 patterns in memory (with HDC vectors)",
		   bank_bytes / (1024.0 * 1024.0), "50 MB");
	printf("| %-44s | %11.1f MB | %-12s |\n", "1,000 patterns serialised",
		   1000.0 * ndag_pattern_serialized_size() / (1024.0 * 1024.0), "50 MB");
	printf("| %-44s | %11.1f MB | %-12s |\n", "10,000-trajectory buffer (NdagTrajectory)",
		   10000.0 * sizeof(NdagTrajectory) / (1024.0 * 1024.0), "20 MB");
	printf("| %-44s | %12zu B | %-12s |\n", "HDC snapshot", sizeof(NdagHv), "1.2 KB");

	ndag_hdc_encoder_free(enc);
	ndag_cost_free(model);
	ndag_bank_free(bank);
	free(traj);
	free(times);
	return 0;
}
