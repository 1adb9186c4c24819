/*-------------------------------------------------------------------------
 *
 * bench_util.h
 *	  Helpers shared by the engine benchmarks (bench/engine.c,
 *	  bench/learning.c): the clock and the order of samples.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_BENCH_UTIL_H
#define NDAG_BENCH_UTIL_H

#include <time.h>

/*
 * now_ns
 *		Monotonic clock in nanoseconds.
 */
static inline double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec * 1e9 + (double) ts.tv_nsec;
}

/*
 * cmp_double
 *		qsort order of doubles, ascending.
 */
static inline int
cmp_double(const void *a, const void *b)
{
	double		x = *(const double *) a;
	double		y = *(const double *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

#endif							/* NDAG_BENCH_UTIL_H */
