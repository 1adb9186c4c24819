/*-------------------------------------------------------------------------
 *
 * blas.c
 *	  The engine's BLAS calls: plain loops for small products, OpenBLAS
 *	  (loaded by path at a process's first large product) for the others.
 *	  See blas.h for why.
 *
 * The loops work in row-major order; a column-major call is the same
 * product of the transposed matrices.  Like BLAS, a beta of 0 sets the
 * output without reading it.
 *
 *-------------------------------------------------------------------------
 */
#include "blas.h"

#include <dlfcn.h>
#include <stddef.h>

#ifndef NDAG_OPENBLAS_LIB
#error "NDAG_OPENBLAS_LIB must name the OpenBLAS library to load"
#endif

/* OpenBLAS in this process: not tried yet, loaded, or not loadable */
typedef enum
{
	OPENBLAS_UNTRIED,
	OPENBLAS_LOADED,
	OPENBLAS_MISSING
} OpenblasState;

static OpenblasState openblas_state = OPENBLAS_UNTRIED;
static __typeof__(cblas_sgemv) *openblas_sgemv;
static __typeof__(cblas_dgemv) *openblas_dgemv;
static __typeof__(cblas_sgemm) *openblas_sgemm;

/*
 * openblas_for
 *		Whether a product of work multiply-adds goes to OpenBLAS: it is
 *		larger than the loops take and OpenBLAS is (or now gets) loaded.
 */
static bool
openblas_for(double work)
{
	if (work <= NDAG_BLAS_LOOP_MAX)
		return false;
	if (openblas_state == OPENBLAS_UNTRIED)
	{
		void	   *lib = dlopen(NDAG_OPENBLAS_LIB, RTLD_NOW | RTLD_LOCAL);

		if (lib != NULL)
		{
			openblas_sgemv = (__typeof__(cblas_sgemv) *) dlsym(lib, "cblas_sgemv");
			openblas_dgemv = (__typeof__(cblas_dgemv) *) dlsym(lib, "cblas_dgemv");
			openblas_sgemm = (__typeof__(cblas_sgemm) *) dlsym(lib, "cblas_sgemm");
		}
		openblas_state = (openblas_sgemv != NULL && openblas_dgemv != NULL &&
						  openblas_sgemm != NULL) ? OPENBLAS_LOADED : OPENBLAS_MISSING;
	}
	return openblas_state == OPENBLAS_LOADED;
}

/*
 * ndag_blas_openblas_loaded
 *		Whether this process has loaded OpenBLAS.
 */
bool
ndag_blas_openblas_loaded(void)
{
	return openblas_state == OPENBLAS_LOADED;
}

/*
 * transposed
 *		Whether a CBLAS transpose flag transposes (the matrices are real).
 */
static bool
transposed(enum CBLAS_TRANSPOSE trans)
{
	return trans == CblasTrans || trans == CblasConjTrans;
}

/*
 * Eight floats operated on at once (GCC's and clang's vector extension:
 * SIMD instructions where the target has them), so that the loops over
 * contiguous floats keep pace with OpenBLAS at the engine's sizes, which
 * compiled scalar they do not (a float sum is not reordered for SIMD
 * without that being asked for).
 */
typedef float FloatLanes __attribute__((vector_size(8 * sizeof(float))));
/* the same, at any float's address */
typedef FloatLanes FloatLanesAt __attribute__((aligned(sizeof(float)), may_alias));
#define FLOAT_LANES ((int) (sizeof(FloatLanes) / sizeof(float)))

/*
 * dot_float
 *		The dot product of n contiguous floats of x and y.
 */
static float
dot_float(const float *x, const float *y, int n)
{
	FloatLanes	acc = {0};
	float		sum = 0.0f;
	int			j = 0;

	for (; j + FLOAT_LANES <= n; j += FLOAT_LANES)
		acc += *(const FloatLanesAt *) (x + j) * *(const FloatLanesAt *) (y + j);
	for (; j < n; j++)
		sum += x[j] * y[j];
	for (int k = 0; k < FLOAT_LANES; k++)
		sum += acc[k];
	return sum;
}

/*
 * axpy_float
 *		y += alpha x over n contiguous floats.
 */
static void
axpy_float(float *y, const float *x, float alpha, int n)
{
	int			j = 0;

	for (; j + FLOAT_LANES <= n; j += FLOAT_LANES)
		*(FloatLanesAt *) (y + j) += alpha * *(const FloatLanesAt *) (x + j);
	for (; j < n; j++)
		y[j] += alpha * x[j];
}

/*
 * dot_double, axpy_double
 *		The same for doubles (the engine's double products are n x 3).
 */
static double
dot_double(const double *x, const double *y, int n)
{
	double		sum = 0.0;

	for (int j = 0; j < n; j++)
		sum += x[j] * y[j];
	return sum;
}

static void
axpy_double(double *y, const double *x, double alpha, int n)
{
	for (int j = 0; j < n; j++)
		y[j] += alpha * x[j];
}

/*
 * DEFINE_GEMV_LOOPS
 *		Define gemv_loops_T: y = alpha op(A) x + beta y in plain loops, A
 *		m x n stored in order, for elements of type T; contiguous vectors
 *		go through dot_T and axpy_T.
 */
#define DEFINE_GEMV_LOOPS(T) \
static void \
gemv_loops_##T(enum CBLAS_ORDER order, bool t, int m, int n, T alpha, \
			   const T *a, int lda, const T *x, int incx, T beta, T *y, \
			   int incy) \
{ \
	if (order == CblasColMajor) \
	{ \
		int			rows = n; \
\
		n = m; \
		m = rows; \
		t = !t; \
	} \
	if (!t) \
	{ \
		for (int i = 0; i < m; i++) \
		{ \
			const T    *row = a + (size_t) i * lda; \
			T			acc = 0; \
\
			if (incx == 1) \
				acc = dot_##T(row, x, n); \
			else \
				for (int j = 0; j < n; j++) \
					acc += row[j] * x[(size_t) j * incx]; \
			y[(size_t) i * incy] = alpha * acc + \
				(beta == 0 ? 0 : beta * y[(size_t) i * incy]); \
		} \
		return; \
	} \
	for (int j = 0; j < n; j++) \
		y[(size_t) j * incy] = beta == 0 ? 0 : beta * y[(size_t) j * incy]; \
	for (int i = 0; i < m; i++) \
	{ \
		const T    *row = a + (size_t) i * lda; \
		T			xi = alpha * x[(size_t) i * incx]; \
\
		if (incy == 1) \
			axpy_##T(y, row, xi, n); \
		else \
			for (int j = 0; j < n; j++) \
				y[(size_t) j * incy] += row[j] * xi; \
	} \
}

/*
 * DEFINE_GEMV
 *		Define the public gemv of element type T, NAME (ndag_sgemv,
 *		ndag_dgemv): y = alpha op(A) x + beta y, A m x n, in the loops or
 *		by OPENBLAS_GEMV.
 */
#define DEFINE_GEMV(T, NAME, OPENBLAS_GEMV) \
DEFINE_GEMV_LOOPS(T) \
\
void \
NAME(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans, int m, int n, \
	 T alpha, const T *a, int lda, const T *x, int incx, T beta, T *y, \
	 int incy) \
{ \
	if (openblas_for((double) m * n)) \
		OPENBLAS_GEMV(order, trans, m, n, alpha, a, lda, x, incx, beta, y, \
					  incy); \
	else \
		gemv_loops_##T(order, transposed(trans), m, n, alpha, a, lda, x, \
					   incx, beta, y, incy); \
}

DEFINE_GEMV(float, ndag_sgemv, openblas_sgemv)
DEFINE_GEMV(double, ndag_dgemv, openblas_dgemv)

/*
 * ndag_sgemm
 *		C = alpha op(A) op(B) + beta C, C m x n, op(A) m x k, op(B) k x n.
 */
void
ndag_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans_a,
		   enum CBLAS_TRANSPOSE trans_b, int m, int n, int k, float alpha,
		   const float *a, int lda, const float *b, int ldb, float beta,
		   float *c, int ldc)
{
	bool		ta = transposed(trans_a);
	bool		tb = transposed(trans_b);

	if (openblas_for((double) m * n * k))
	{
		openblas_sgemm(order, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb,
					   beta, c, ldc);
		return;
	}
	if (order == CblasColMajor)
	{
		/* row-major C^T = op(B)^T op(A)^T */
		ndag_sgemm(CblasRowMajor, trans_b, trans_a, n, m, k, alpha, b, ldb,
				   a, lda, beta, c, ldc);
		return;
	}
	for (int i = 0; i < m; i++)
	{
		float	   *crow = c + (size_t) i * ldc;

		for (int j = 0; j < n; j++)
			crow[j] = beta == 0.0f ? 0.0f : beta * crow[j];
		if (!ta && tb)
		{
			/* rows of A times rows of B */
			for (int j = 0; j < n; j++)
				crow[j] += alpha * dot_float(a + (size_t) i * lda,
											 b + (size_t) j * ldb, k);
			continue;
		}
		for (int p = 0; p < k; p++)
		{
			float		aip = alpha * (ta ? a[(size_t) p * lda + i] : a[(size_t) i * lda + p]);

			if (!tb)
				axpy_float(crow, b + (size_t) p * ldb, aip, n);
			else
			{
				for (int j = 0; j < n; j++)
					crow[j] += aip * b[(size_t) j * ldb + p];
			}
		}
	}
}

/*
 * ndag_sdot
 *		The dot product of x and y, n elements each.
 */
float
ndag_sdot(int n, const float *x, int incx, const float *y, int incy)
{
	float		acc = 0.0f;

	if (incx == 1 && incy == 1)
		return dot_float(x, y, n);
	for (int i = 0; i < n; i++)
		acc += x[(size_t) i * incx] * y[(size_t) i * incy];
	return acc;
}
