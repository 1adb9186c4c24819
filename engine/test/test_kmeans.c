/*-------------------------------------------------------------------------
 *
 * test_kmeans.c
 *	  k-means++: k = min(requested, n/5); planted well-separated blobs are
 *	  recovered with purity 1; the same seed gives the same result; the
 *	  seeding is D^2 (a far outlier cluster always gets a centre); errors.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "patterns.h"
#include "tap.h"

/*
 * blobs
 *		n points around c planted centres (spread `sd`), labels in truth.
 */
static void
blobs(NdagRng *rng, int n, int dim, int c, double sd, float *x, int *truth)
{
	float	   *centres = malloc(sizeof(float) * (size_t) c * dim);
	int			i;
	int			d;

	for (i = 0; i < c * dim; i++)
		centres[i] = (float) (10.0 * ndag_rng_normal(rng));
	for (i = 0; i < n; i++)
	{
		truth[i] = i % c;
		for (d = 0; d < dim; d++)
			x[(size_t) i * dim + d] = centres[truth[i] * dim + d] +
				(float) (sd * ndag_rng_normal(rng));
	}
	free(centres);
}

/*
 * purity
 *		Fraction of points whose cluster's majority label is their own.
 */
static double
purity(const int *assign, const int *truth, int n, int k, int c)
{
	int		   *tab = calloc((size_t) k * c, sizeof(int));
	int			good = 0;
	int			i;
	int			j;

	for (i = 0; i < n; i++)
		tab[assign[i] * c + truth[i]]++;
	for (j = 0; j < k; j++)
	{
		int			best = 0;

		for (i = 0; i < c; i++)
			if (tab[j * c + i] > best)
				best = tab[j * c + i];
		good += best;
	}
	free(tab);
	return (double) good / n;
}

/*
 * test_k_rule
 *		k = min(requested, n/5), at least 1.
 */
static void
test_k_rule(void)
{
	tap_ok(ndag_kmeans_k(100, 1000) == 100 && ndag_kmeans_k(100, 50) == 10 &&
		   ndag_kmeans_k(10, 4) == 1 && ndag_kmeans_k(10, 1) == 1 &&
		   ndag_kmeans_k(10, 0) == 0 && ndag_kmeans_k(3, 14) == 2,
		   "k = min(requested, n/5), at least 1 when n >= 1");
}

/*
 * test_recovery
 *		Purity 1 on separated blobs for several seeds; each planted
 *		cluster gets exactly one centre.
 */
static void
test_recovery(void)
{
	int			seeds = tap_seeds(10) < 10 ? tap_seeds(10) : 10;
	int			perfect = 0;
	int			s;

	for (s = 0; s < seeds; s++)
	{
		const int	n = 600;
		const int	c = 6;
		NdagRng		rng;
		float	   *x = malloc(sizeof(float) * n * NDAG_EMBED_DIM);
		int		   *truth = malloc(sizeof(int) * n);
		int		   *assign = malloc(sizeof(int) * n);
		float		cent[6 * NDAG_EMBED_DIM];
		int			k;
		int			it;

		ndag_rng_seed(&rng, 300 + s);
		blobs(&rng, n, NDAG_EMBED_DIM, c, 0.5, x, truth);
		if (ndag_kmeans(x, n, NDAG_EMBED_DIM, c, 100, 1000 + s, cent, assign, &k, &it) == NDAG_OK &&
			k == c && purity(assign, truth, n, k, c) == 1.0)
			perfect++;
		free(x);
		free(truth);
		free(assign);
	}
	tap_ok(perfect == seeds, "planted blobs recovered with purity 1 (%d/%d seeds)",
		   perfect, seeds);
}

/*
 * test_reproducible
 *		Same seed, same centroids and assignment; overlapping data so that
 *		the seed matters at all.
 */
static void
test_reproducible(void)
{
	const int	n = 500;
	NdagRng		rng;
	float	   *x = malloc(sizeof(float) * n * 8);
	int		   *truth = malloc(sizeof(int) * n);
	int		   *a1 = malloc(sizeof(int) * n);
	int		   *a2 = malloc(sizeof(int) * n);
	int		   *a3 = malloc(sizeof(int) * n);
	float		c1[20 * 8];
	float		c2[20 * 8];
	float		c3[20 * 8];
	int			k1;
	int			k2;
	int			k3;

	ndag_rng_seed(&rng, 4);
	blobs(&rng, n, 8, 5, 20.0, x, truth);
	ndag_kmeans(x, n, 8, 20, 100, 77, c1, a1, &k1, NULL);
	ndag_kmeans(x, n, 8, 20, 100, 77, c2, a2, &k2, NULL);
	ndag_kmeans(x, n, 8, 20, 100, 78, c3, a3, &k3, NULL);
	tap_ok(k1 == 20 && k1 == k2 && memcmp(c1, c2, sizeof(float) * 20 * 8) == 0 &&
		   memcmp(a1, a2, sizeof(int) * n) == 0,
		   "the same seed gives identical centroids and assignments");
	tap_ok(memcmp(c1, c3, sizeof(float) * 20 * 8) != 0,
		   "another seed gives other centroids");
	free(x);
	free(truth);
	free(a1);
	free(a2);
	free(a3);
}

/*
 * test_d2_seeding
 *		With k = 2 and one far, small group, D^2 seeding with Lloyd
 *		iterations isolates the group every time.
 */
static void
test_d2_seeding(void)
{
	int			seeds = tap_seeds(20) < 20 ? tap_seeds(20) : 20;
	int			isolated = 0;
	int			s;

	for (s = 0; s < seeds; s++)
	{
		const int	n = 200;
		float		x[200 * 2];
		int			assign[200];
		float		cent[2 * 2];
		NdagRng		rng;
		int			k;
		int			i;
		bool		ok = true;

		ndag_rng_seed(&rng, 60 + s);
		for (i = 0; i < n; i++)
		{
			bool		far = i >= n - 10;

			x[2 * i] = (float) ((far ? 1000.0 : 0.0) + ndag_rng_normal(&rng));
			x[2 * i + 1] = (float) ndag_rng_normal(&rng);
		}
		ndag_kmeans(x, n, 2, 2, 100, 5000 + s, cent, assign, &k, NULL);
		for (i = 0; i < n; i++)
			if ((assign[i] == assign[n - 1]) != (i >= n - 10))
				ok = false;
		if (ok)
			isolated++;
	}
	tap_ok(isolated == seeds, "a far group of 10 gets its own centre (%d/%d)",
		   isolated, seeds);
}

/*
 * test_errors
 *		Arguments and degenerate data.
 */
static void
test_errors(void)
{
	float		x[10 * 2] = {0};
	float		cent[4 * 2];
	int			assign[10];
	int			k = -1;

	tap_ok(ndag_kmeans(x, 0, 2, 2, 10, 1, cent, assign, &k, NULL) == NDAG_ERR_EMPTY,
		   "no points: NDAG_ERR_EMPTY");
	tap_ok(ndag_kmeans(NULL, 10, 2, 2, 10, 1, cent, assign, &k, NULL) == NDAG_ERR_ARG &&
		   ndag_kmeans(x, 10, 2, 0, 10, 1, cent, assign, &k, NULL) == NDAG_ERR_ARG,
		   "bad arguments: NDAG_ERR_ARG");
	tap_ok(ndag_kmeans(x, 10, 2, 4, 10, 1, cent, assign, &k, NULL) == NDAG_OK && k == 2 &&
		   cent[0] == 0.0f,
		   "identical points: k = 2 centres at the point");
	x[3] = NAN;
	tap_ok(ndag_kmeans(x, 10, 2, 4, 10, 1, cent, assign, &k, NULL) == NDAG_ERR_ARG,
		   "non-finite input rejected");
}

int
main(void)
{
	test_k_rule();
	test_recovery();
	test_reproducible();
	test_d2_seeding();
	test_errors();
	return tap_done();
}
