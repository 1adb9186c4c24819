/*-------------------------------------------------------------------------
 *
 * test_healing.c
 *	  The self-healing rules: latency drift (z-score of the newest
 *	  execution, ratio of the halves) against a direct computation on
 *	  random series, the cases that must and must not drift, and the
 *	  B-tree size estimate against hand-computed layouts.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine.h"
#include "healing.h"
#include "tap.h"

/*
 * close_to
 *		Relative closeness for doubles.
 */
static int
close_to(double a, double b)
{
	return fabs(a - b) <= 1e-9 * fmax(1.0, fmax(fabs(a), fabs(b)));
}

/*
 * test_drift_cases
 *		Flat series, a spike at the end, a step up, noise within 10%.
 */
static void
test_drift_cases(void)
{
	double		v[100];
	NdagDrift	d;
	int			rc;

	for (int i = 0; i < 100; i++)
		v[i] = 50.0;
	tap_ok(ndag_heal_drift(v, 100, 3.0, 1.1, &d) == NDAG_OK && !d.drifted &&
		   d.z == 0.0 && close_to(d.ratio, 1.0),
		   "a flat series does not drift (z 0, ratio 1)");

	for (int i = 0; i < 100; i++)
		v[i] = 50.0 + (i % 2 ? 1.0 : -1.0);
	v[99] = 60.0;
	rc = ndag_heal_drift(v, 100, 3.0, 1.1, &d);
	tap_ok(rc == NDAG_OK && d.drifted && d.z > 3.0 && d.ratio < 1.1,
		   "a spike of the newest execution drifts by z-score (z %.2f)", d.z);

	for (int i = 0; i < 100; i++)
		v[i] = i < 50 ? 100.0 : 150.0;
	rc = ndag_heal_drift(v, 100, 3.0, 1.1, &d);
	tap_ok(rc == NDAG_OK && d.drifted && close_to(d.ratio, 1.5) &&
		   close_to(d.older_mean, 100.0) && close_to(d.newer_mean, 150.0),
		   "a step up drifts by the halves' ratio (%.2f)", d.ratio);

	for (int i = 0; i < 100; i++)
		v[i] = 100.0 + (i % 5) * 2.0;
	rc = ndag_heal_drift(v, 100, 3.0, 1.1, &d);
	tap_ok(rc == NDAG_OK && !d.drifted,
		   "noise within 10%% does not drift (z %.2f, ratio %.3f)", d.z, d.ratio);

	for (int i = 0; i < 7; i++)
		v[i] = i < 3 ? 10.0 : 20.0;
	tap_ok(ndag_heal_drift(v, 7, 3.0, 1.1, &d) == NDAG_OK &&
		   close_to(d.older_mean, 10.0) && close_to(d.newer_mean, 20.0),
		   "with an odd count the middle execution is in neither half");

	tap_ok(ndag_heal_drift(v, 1, 3.0, 1.1, &d) == NDAG_ERR_ARG &&
		   ndag_heal_drift(NULL, 5, 3.0, 1.1, &d) == NDAG_ERR_ARG &&
		   ndag_heal_drift(v, 5, 3.0, 1.1, NULL) == NDAG_ERR_ARG,
		   "fewer than two values or NULL pointers are refused");
}

/*
 * test_drift_random
 *		z and ratio against a direct one-pass computation on random series.
 */
static void
test_drift_random(void)
{
	int			seeds = tap_seeds(200);
	int			bad = 0;

	for (int s = 0; s < seeds; s++)
	{
		double		v[100];
		int			n = 2 + (int) (((unsigned) s * 2654435761u) % 99);
		double		sum = 0,
					sumsq = 0,
					mean,
					sd,
					z,
					lo = 0,
					hi = 0;
		NdagDrift	d;

		srand((unsigned) s + 1);
		for (int i = 0; i < n; i++)
			v[i] = 1.0 + 1000.0 * rand() / RAND_MAX;
		for (int i = 0; i < n - 1; i++)
		{
			sum += v[i];
			sumsq += v[i] * v[i];
		}
		mean = sum / (n - 1);
		sd = sqrt(fmax(0.0, sumsq / (n - 1) - mean * mean));
		z = sd > 0 ? (v[n - 1] - mean) / sd : 0;
		for (int i = 0; i < n / 2; i++)
		{
			lo += v[i];
			hi += v[n - n / 2 + i];
		}
		if (ndag_heal_drift(v, n, 3.0, 1.1, &d) != NDAG_OK ||
			fabs(d.z - z) > 1e-6 * fmax(1.0, fabs(z)) ||
			!close_to(d.ratio, hi / lo) ||
			d.drifted != (d.z > 3.0 || d.ratio > 1.1))
			bad++;
	}
	tap_ok(bad == 0, "z-score and ratio match a direct computation on %d random series",
		   seeds);
}

/*
 * test_btree_pages
 *		Hand-computed layouts: int4 keys are 16 + 4 bytes a tuple, 8152
 *		usable bytes a page.
 */
static void
test_btree_pages(void)
{
	/* 100000 int4 at 90%: 2000000 / 7336.8 -> 273 leaves, 1 root, metapage */
	tap_ok(ndag_heal_btree_pages(100000, 4, 90, 8192) == 275.0,
		   "100000 int4 keys at fillfactor 90: 273 leaves, a root and the metapage");
	/* 5000 int4: 100000 / 7336.8 -> 14 leaves */
	tap_ok(ndag_heal_btree_pages(5000, 4, 90, 8192) == 16.0,
		   "5000 int4 keys: 14 leaves, a root and the metapage");
	tap_ok(ndag_heal_btree_pages(0, 4, 90, 8192) == 2.0,
		   "an empty index is a metapage and one leaf");
	/*
	 * 10M int8 at 100%: tuple 20 bytes (8 + 8 aligned to 16, + 4): 24534
	 * leaves, 407 downlinks a page: 61 inner pages, a root, the metapage
	 */
	tap_ok(ndag_heal_btree_pages(10000000, 8, 100, 8192) ==
		   1 + 24534 + 61 + 1,
		   "10M int8 keys: three levels");
	tap_ok(ndag_heal_btree_pages(1000, 4, 90, 8192) <
		   ndag_heal_btree_pages(1000, 40, 90, 8192) &&
		   ndag_heal_btree_pages(100000, 4, 50, 8192) >
		   ndag_heal_btree_pages(100000, 4, 100, 8192),
		   "wider keys and a lower fillfactor need more pages");
	tap_ok(ndag_heal_btree_pages(-1, 4, 90, 8192) < 0 &&
		   ndag_heal_btree_pages(10, 4, 5, 8192) < 0 &&
		   ndag_heal_btree_pages(10, NAN, 90, 8192) < 0 &&
		   ndag_heal_btree_pages(10, 4, 90, 16) < 0,
		   "nonsense arguments are refused");
}

int
main(void)
{
	test_drift_cases();
	test_drift_random();
	test_btree_pages();
	return tap_done();
}
