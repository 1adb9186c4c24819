/*-------------------------------------------------------------------------
 *
 * test_blas.c
 *	  The engine's BLAS calls (blas.h) against products computed here in
 *	  double precision: every transpose, row- and column-major, strided
 *	  vectors, beta 0 (the output not read, NaN there ignored) and not;
 *	  small and medium products (shorter and longer than the loops' SIMD
 *	  lanes) in the loops without loading OpenBLAS, large ones in OpenBLAS
 *	  once loaded.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "blas.h"
#include "tap.h"

static unsigned int seed = 12345;

/*
 * uniform
 *		A value in [-1, 1) from a small linear congruential generator.
 */
static float
uniform(void)
{
	seed = seed * 1103515245u + 12345u;
	return (float) ((seed >> 8) & 0xffff) / 32768.0f - 1.0f;
}

/*
 * fill
 *		n random values, or NaN when nan (an output beta 0 must not read).
 */
static float *
fill(size_t n, int nan)
{
	float	   *v = malloc(sizeof(float) * (n ? n : 1));

	for (size_t i = 0; i < n; i++)
		v[i] = nan ? NAN : uniform();
	return v;
}

/*
 * element
 *		Element (r, c) of a matrix stored in order with leading dimension
 *		ld, as op() sees it when trans.
 */
static double
element(const float *a, int ld, int col_major, int trans, int r, int c)
{
	if (trans)
	{
		int			t = r;

		r = c;
		c = t;
	}
	return col_major ? a[(size_t) c * ld + r] : a[(size_t) r * ld + c];
}

/*
 * check_sgemm
 *		One ndag_sgemm against the double-precision product; true if every
 *		element is within a relative 1e-4 of it.
 */
static int
check_sgemm(int col_major, int ta, int tb, int m, int n, int k, float beta)
{
	int			rows_a = ta ? k : m, cols_a = ta ? m : k;
	int			rows_b = tb ? n : k, cols_b = tb ? k : n;
	int			lda = (col_major ? rows_a : cols_a) + 1;
	int			ldb = (col_major ? rows_b : cols_b) + 2;
	int			ldc = (col_major ? m : n) + 3;
	float	   *a = fill((size_t) lda * (col_major ? cols_a : rows_a), 0);
	float	   *b = fill((size_t) ldb * (col_major ? cols_b : rows_b), 0);
	float	   *c = fill((size_t) ldc * (col_major ? n : m), beta == 0.0f);
	float	   *c0 = malloc(sizeof(float) * (size_t) ldc * (col_major ? n : m));
	int			ok = 1;

	for (size_t i = 0; i < (size_t) ldc * (col_major ? n : m); i++)
		c0[i] = c[i];
	ndag_sgemm(col_major ? CblasColMajor : CblasRowMajor,
			   ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
			   m, n, k, 0.5f, a, lda, b, ldb, beta, c, ldc);
	for (int i = 0; i < m && ok; i++)
		for (int j = 0; j < n && ok; j++)
		{
			double		want = 0.0;
			size_t		at = col_major ? (size_t) j * ldc + i : (size_t) i * ldc + j;

			for (int p = 0; p < k; p++)
				want += element(a, lda, col_major, ta, i, p) *
					element(b, ldb, col_major, tb, p, j);
			want = 0.5 * want + (beta == 0.0f ? 0.0 : beta * c0[at]);
			ok = fabs(c[at] - want) <= 1e-4 * (1.0 + fabs(want)) * sqrt(k);
		}
	free(a);
	free(b);
	free(c);
	free(c0);
	return ok;
}

/*
 * check_sgemv
 *		One ndag_sgemv (x and y strided) against the double-precision
 *		product.
 */
static int
check_sgemv(int col_major, int trans, int m, int n, float beta)
{
	int			lda = (col_major ? m : n) + 1;
	int			len_x = trans ? m : n, len_y = trans ? n : m;
	float	   *a = fill((size_t) lda * (col_major ? n : m), 0);
	float	   *x = fill((size_t) 2 * len_x, 0);
	float	   *y = fill((size_t) 3 * len_y, beta == 0.0f);
	float	   *y0 = malloc(sizeof(float) * 3 * (size_t) len_y);
	int			ok = 1;

	for (int i = 0; i < 3 * len_y; i++)
		y0[i] = y[i];
	ndag_sgemv(col_major ? CblasColMajor : CblasRowMajor,
			   trans ? CblasTrans : CblasNoTrans, m, n, 2.0f, a, lda, x, 2,
			   beta, y, 3);
	for (int i = 0; i < len_y && ok; i++)
	{
		double		want = 0.0;

		for (int j = 0; j < len_x; j++)
			want += element(a, lda, col_major, trans, i, j) * x[2 * j];
		want = 2.0 * want + (beta == 0.0f ? 0.0 : beta * y0[3 * i]);
		ok = fabs(y[3 * i] - want) <= 1e-4 * (1.0 + fabs(want)) * sqrt(len_x) &&
			(y[3 * i + 1] == y0[3 * i + 1] || (isnan(y[3 * i + 1]) && isnan(y0[3 * i + 1])));
	}
	free(a);
	free(x);
	free(y);
	free(y0);
	return ok;
}

/*
 * check_dgemv
 *		One ndag_dgemv against the product computed here.
 */
static int
check_dgemv(int col_major, int trans, int m, int n)
{
	int			lda = col_major ? m : n;
	int			len_x = trans ? m : n, len_y = trans ? n : m;
	double	   *a = malloc(sizeof(double) * (size_t) m * n);
	double	   *x = malloc(sizeof(double) * (size_t) len_x);
	double	   *y = malloc(sizeof(double) * (size_t) len_y);
	int			ok = 1;

	for (size_t i = 0; i < (size_t) m * n; i++)
		a[i] = uniform();
	for (int i = 0; i < len_x; i++)
		x[i] = uniform();
	for (int i = 0; i < len_y; i++)
		y[i] = 1.0;
	ndag_dgemv(col_major ? CblasColMajor : CblasRowMajor,
			   trans ? CblasTrans : CblasNoTrans, m, n, 1.0, a, lda, x, 1,
			   -1.0, y, 1);
	for (int i = 0; i < len_y && ok; i++)
	{
		double		want = -1.0;

		for (int j = 0; j < len_x; j++)
		{
			int			r = trans ? j : i, c = trans ? i : j;

			want += (col_major ? a[(size_t) c * lda + r] : a[(size_t) r * lda + c]) * x[j];
		}
		ok = fabs(y[i] - want) <= 1e-9 * (1.0 + fabs(want)) * len_x;
	}
	free(a);
	free(x);
	free(y);
	return ok;
}

/*
 * test_products
 *		Every variant at one size.
 */
static void
test_products(const char *size, int m, int n, int k)
{
	int			ok_gemm = 1, ok_gemv = 1, ok_dgemv = 1;

	for (int variant = 0; variant < 16; variant++)
	{
		int			col_major = variant & 1, ta = (variant >> 1) & 1, tb = (variant >> 2) & 1;
		float		beta = (variant & 8) ? 0.0f : 0.75f;

		ok_gemm &= check_sgemm(col_major, ta, tb, m, n, k, beta);
		ok_gemv &= check_sgemv(col_major, ta, m, k * (variant & 8 ? 1 : n), beta);
		ok_dgemv &= check_dgemv(col_major, ta, m, k * n);
	}
	tap_ok(ok_gemm, "%s sgemm: every transpose and order, beta 0 and not", size);
	tap_ok(ok_gemv, "%s sgemv: every transpose and order, strided, beta 0 and not", size);
	tap_ok(ok_dgemv, "%s dgemv: every transpose and order", size);
}

int
main(void)
{
	float		x[64];
	float		y[64];
	double		want = 0.0;
	double		want_strided = 0.0;

	for (int i = 0; i < 64; i++)
	{
		x[i] = uniform();
		y[i] = uniform();
		want += (double) x[i] * y[i];
		if (i % 2 == 0)
			want_strided += (double) x[i] * y[i];
	}
	tap_ok(fabs(ndag_sdot(64, x, 1, y, 1) - want) < 1e-5 &&
		   fabs(ndag_sdot(32, x, 2, y, 2) - want_strided) < 1e-5, "sdot, strided and not");

	test_products("small", 7, 5, 9);
	test_products("medium", 33, 19, 70);
	tap_ok(!ndag_blas_openblas_loaded(),
		   "products of at most %d multiply-adds do not load OpenBLAS",
		   NDAG_BLAS_LOOP_MAX);
	test_products("large", 130, 70, 60);
	tap_ok(ndag_blas_openblas_loaded(), "a larger product loads OpenBLAS");
	return tap_done();
}
