/*-------------------------------------------------------------------------
 *
 * blas.h
 *	  The engine's BLAS calls (the CBLAS signatures, row- or column-major):
 *	  a product of at most NDAG_BLAS_LOOP_MAX multiply-adds runs in plain
 *	  loops, a larger one in OpenBLAS (the serial build), which a process
 *	  loads at its first large product.
 *
 * Why: the products a backend makes while planning (a cost prediction,
 * an embedding, matching a pattern bank of up to 4,096 patterns) are small
 * enough that a loop is as fast as the call into OpenBLAS, and a process
 * that maps OpenBLAS pays for it at every fork and exit (its libgfortran
 * and libquadmath, its finalisers), also when it never calls it.  So only
 * the processes that train (the learner, a backend running
 * ruvector_dag_learn) load it.  If it cannot be loaded the loops do every
 * product: slower, the same results up to rounding.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_BLAS_H
#define NDAG_BLAS_H

#include <cblas.h>
#include <stdbool.h>

/* products of at most this many multiply-adds never load OpenBLAS */
#define NDAG_BLAS_LOOP_MAX	(1 << 18)

extern void ndag_sgemv(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans,
					   int m, int n, float alpha, const float *a, int lda,
					   const float *x, int incx, float beta, float *y,
					   int incy);
extern void ndag_dgemv(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans,
					   int m, int n, double alpha, const double *a, int lda,
					   const double *x, int incx, double beta, double *y,
					   int incy);
extern void ndag_sgemm(enum CBLAS_ORDER order, enum CBLAS_TRANSPOSE trans_a,
					   enum CBLAS_TRANSPOSE trans_b, int m, int n, int k,
					   float alpha, const float *a, int lda, const float *b,
					   int ldb, float beta, float *c, int ldc);
extern float ndag_sdot(int n, const float *x, int incx, const float *y,
					   int incy);
extern bool ndag_blas_openblas_loaded(void);

#endif							/* NDAG_BLAS_H */
