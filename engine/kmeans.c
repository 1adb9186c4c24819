/*-------------------------------------------------------------------------
 *
 * kmeans.c
 *	  k-means++ for the ReasoningBank (DESIGN.md section 5): true D^2
 *	  seeding from a fixed seed, then Lloyd iterations whose distance
 *	  matrix is one sgemm, ||x||^2 + ||c||^2 - 2 X C^T.
 *
 *-------------------------------------------------------------------------
 */
#include "blas.h"
#include "engine.h"
#include "patterns.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * ndag_kmeans_k
 *		k = min(requested, n / 5), at least 1 when there is any point.
 */
int
ndag_kmeans_k(int requested, int n)
{
	int			k;

	if (n < 1 || requested < 1)
		return 0;
	k = n / NDAG_KMEANS_MIN_PER_CLUSTER;
	if (k > requested)
		k = requested;
	return k < 1 ? 1 : k;
}

/*
 * ndag_sqdist
 *		Squared Euclidean distance in double.
 */
static double
ndag_sqdist(const float *a, const float *b, int dim)
{
	double		s = 0.0;
	int			i;

	for (i = 0; i < dim; i++)
	{
		double		d = (double) a[i] - b[i];

		s += d * d;
	}
	return s;
}

/*
 * ndag_kmeans_seed
 *		k-means++ seeding: the first centre uniformly, each next one with
 *		probability proportional to the squared distance to the nearest
 *		centre chosen so far (uniformly when all distances are zero).
 */
static void
ndag_kmeans_seed(const float *x, int n, int dim, int k, NdagRng *rng,
				 float *centroids, double *d2)
{
	int			first = (int) ndag_rng_below(rng, (uint64_t) n);
	int			c;
	int			i;

	memcpy(centroids, x + (size_t) first * dim, sizeof(float) * (size_t) dim);
	for (i = 0; i < n; i++)
		d2[i] = ndag_sqdist(x + (size_t) i * dim, centroids, dim);
	for (c = 1; c < k; c++)
	{
		double		total = 0.0;
		double		r;
		int			pick = n - 1;

		for (i = 0; i < n; i++)
			total += d2[i];
		if (total > 0.0)
		{
			r = ndag_rng_uniform(rng) * total;
			for (i = 0; i < n; i++)
			{
				r -= d2[i];
				if (r < 0.0 && d2[i] > 0.0)
				{
					pick = i;
					break;
				}
			}
			/* rounding left r >= 0: the last point with positive weight */
			if (i == n)
				for (pick = n - 1; pick > 0 && d2[pick] <= 0.0; pick--)
					;
		}
		else
			pick = (int) ndag_rng_below(rng, (uint64_t) n);
		memcpy(centroids + (size_t) c * dim, x + (size_t) pick * dim,
			   sizeof(float) * (size_t) dim);
		for (i = 0; i < n; i++)
		{
			double		d = ndag_sqdist(x + (size_t) i * dim,
										centroids + (size_t) c * dim, dim);

			if (d < d2[i])
				d2[i] = d;
		}
	}
}

/*
 * ndag_kmeans
 *		See patterns.h.
 */
int
ndag_kmeans(const float *x, int n, int dim, int k_requested, int max_iter,
			uint64_t seed, float *centroids, int *assign, int *k_out,
			int *iterations)
{
	NdagRng		rng;
	float	   *dot = NULL;
	float	   *xnorm = NULL;
	float	   *cnorm = NULL;
	double	   *d2 = NULL;
	double	   *sum = NULL;
	int		   *count = NULL;
	int			k;
	int			iter = 0;
	int			i;
	int			j;

	if (x == NULL || centroids == NULL || assign == NULL || k_out == NULL ||
		dim < 1 || k_requested < 1 || max_iter < 1)
		return NDAG_ERR_ARG;
	if (n < 1)
		return NDAG_ERR_EMPTY;
	for (i = 0; i < n * dim; i++)
		if (!isfinite(x[i]))
			return NDAG_ERR_ARG;
	k = ndag_kmeans_k(k_requested, n);
	dot = malloc(sizeof(float) * (size_t) n * (size_t) k);
	xnorm = malloc(sizeof(float) * (size_t) n);
	cnorm = malloc(sizeof(float) * (size_t) k);
	d2 = malloc(sizeof(double) * (size_t) n);
	sum = malloc(sizeof(double) * (size_t) k * (size_t) dim);
	count = malloc(sizeof(int) * (size_t) k);
	if (dot == NULL || xnorm == NULL || cnorm == NULL || d2 == NULL ||
		sum == NULL || count == NULL)
	{
		free(dot);
		free(xnorm);
		free(cnorm);
		free(d2);
		free(sum);
		free(count);
		return NDAG_ERR_NOMEM;
	}
	ndag_rng_seed(&rng, seed);
	ndag_kmeans_seed(x, n, dim, k, &rng, centroids, d2);
	for (i = 0; i < n; i++)
	{
		xnorm[i] = ndag_sdot(dim, x + (size_t) i * dim, 1, x + (size_t) i * dim, 1);
		assign[i] = -1;
	}

	for (iter = 0; iter < max_iter; iter++)
	{
		int			changed = 0;

		for (j = 0; j < k; j++)
			cnorm[j] = ndag_sdot(dim, centroids + (size_t) j * dim, 1,
								 centroids + (size_t) j * dim, 1);
		ndag_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, k, dim, 1.0f,
				   x, dim, centroids, dim, 0.0f, dot, k);
		for (i = 0; i < n; i++)
		{
			const float *row = dot + (size_t) i * k;
			float		best = FLT_MAX;
			int			arg = 0;

			for (j = 0; j < k; j++)
			{
				float		d = xnorm[i] + cnorm[j] - 2.0f * row[j];

				if (d < best)
				{
					best = d;
					arg = j;
				}
			}
			d2[i] = best > 0.0f ? best : 0.0;
			if (assign[i] != arg)
			{
				assign[i] = arg;
				changed++;
			}
		}
		if (changed == 0)
			break;

		memset(sum, 0, sizeof(double) * (size_t) k * (size_t) dim);
		memset(count, 0, sizeof(int) * (size_t) k);
		for (i = 0; i < n; i++)
		{
			double	   *s = sum + (size_t) assign[i] * dim;
			const float *xi = x + (size_t) i * dim;
			int			t;

			for (t = 0; t < dim; t++)
				s[t] += xi[t];
			count[assign[i]]++;
		}
		for (j = 0; j < k; j++)
		{
			int			t;

			if (count[j] == 0)
			{
				/* reseed an emptied cluster at the worst-served point */
				int			far = 0;

				for (i = 1; i < n; i++)
					if (d2[i] > d2[far])
						far = i;
				memcpy(centroids + (size_t) j * dim, x + (size_t) far * dim,
					   sizeof(float) * (size_t) dim);
				d2[far] = 0.0;
				continue;
			}
			for (t = 0; t < dim; t++)
				centroids[(size_t) j * dim + t] =
					(float) (sum[(size_t) j * dim + t] / count[j]);
		}
	}
	*k_out = k;
	if (iterations != NULL)
		*iterations = iter;
	free(dot);
	free(xnorm);
	free(cnorm);
	free(d2);
	free(sum);
	free(count);
	return NDAG_OK;
}
