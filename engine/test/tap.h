/*-------------------------------------------------------------------------
 *
 * tap.h
 *	  A minimal TAP producer for the engine's unit tests: ok(), diag() and
 *	  a plan printed at the end.  Header-only; every test is one binary.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_TAP_H
#define NDAG_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static int	tap_count = 0;
static int	tap_failures = 0;

/*
 * tap_ok
 *		Report one test point; returns cond so callers can add diagnostics.
 */
static inline int
tap_ok(int cond, const char *fmt,...)
{
	va_list		ap;

	tap_count++;
	printf("%sok %d - ", cond ? "" : "not ", tap_count);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond)
		tap_failures++;
	fflush(stdout);
	return cond;
}

/*
 * tap_diag
 *		A diagnostic line (prove shows it on failure or with -v).
 */
static inline void
tap_diag(const char *fmt,...)
{
	va_list		ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/*
 * tap_done
 *		Print the plan; the exit status is non-zero if anything failed.
 */
static inline int
tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures == 0 ? 0 : 1;
}

/*
 * tap_seeds
 *		How many random seeds a property is checked on: NDAG_TEST_SEEDS
 *		when set (fewer under valgrind), else the default.
 */
static inline int
tap_seeds(int dflt)
{
	const char *s = getenv("NDAG_TEST_SEEDS");
	int			n;

	if (s == NULL || *s == '\0')
		return dflt;
	n = atoi(s);
	return n > 0 ? n : dflt;
}

#endif							/* NDAG_TAP_H */
