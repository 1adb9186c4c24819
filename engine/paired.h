/*-------------------------------------------------------------------------
 *
 * paired.h
 *	  Paired comparisons of an arm with the default plan: each pair is one
 *	  run of each, back to back on the same statement, summarised as the
 *	  log ratio ln(arm ms / default ms).  A load change that slows both
 *	  runs of a pair alike leaves the ratio alone.  A one-sided sequential
 *	  t-test on the pairs (with shortcuts for a clear gain, a clear loss
 *	  and a futile arm) proves an arm faster, proves it not faster, or
 *	  asks for more pairs; the same test on later pairs proves a proven arm
 *	  slower than the default (demotion).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_PAIRED_H
#define NDAG_PAIRED_H

#include "engine.h"

/* ---------- constants ---------- */

#define NDAG_PAIRED_MIN			3	/* pairs before any verdict but refutation */
#define NDAG_PAIRED_MAX			6	/* pairs after which an unproven arm is not faster ... */
#define NDAG_PAIRED_PROMISING	1.15	/* ... unless its mean says this much faster: then */
#define NDAG_PAIRED_LONG_MAX	12	/* pairs after which it is not faster */
#define NDAG_PAIRED_MIN_GAIN	1.05	/* proven faster: at least this speed-up */
#define NDAG_PAIRED_REFUTE		1.5 /* one pair (or the mean) this much slower refutes at once */
#define NDAG_PAIRED_FUTILE		1.15	/* from 2 pairs, a mean this much slower refutes */
#define NDAG_PAIRED_CLEAR		1.5 /* every one of 2+ pairs this much faster proves at once */
#define NDAG_PAIRED_MIN_SD		0.03	/* floor of the pairs' standard deviation, ln units */

/* the verdict of the pairs of one arm */
typedef enum NdagPairedVerdict
{
	NDAG_PAIRED_OPEN,			/* more pairs needed */
	NDAG_PAIRED_FASTER,			/* faster than the default by NDAG_PAIRED_MIN_GAIN, 97.5% one-sided */
	NDAG_PAIRED_NOT_FASTER		/* not that much faster (97.5%), or no proof in time */
} NdagPairedVerdict;

/* ---------- types ---------- */

/* Running mean and sum of squared deviations of the pairs' log ratios. */
typedef struct NdagPaired
{
	uint32_t	n;
	float		mean;			/* mean ln(arm ms / default ms) */
	float		m2;				/* sum of squared deviations from the mean */
	float		max;			/* the largest log ratio (the arm's worst pair) */
} NdagPaired;

/* ---------- functions (paired.c) ---------- */

/* Add one pair (both latencies > 0; others are ignored). */
extern void ndag_paired_add(NdagPaired *p, double arm_ms, double default_ms);

/* The pairs of a and b together (as if each of b's had been added to a). */
extern NdagPaired ndag_paired_merge(const NdagPaired *a, const NdagPaired *b);

/* The verdict of the pairs so far (NdagPairedVerdict). */
extern int	ndag_paired_verdict(const NdagPaired *p);

/*
 * The same for an arm screened faster before (by pairs of its plans run
 * without parallel workers): paired up to NDAG_PAIRED_LONG_MAX while its
 * mean says it is faster at all.
 */
extern int	ndag_paired_verdict_screened(const NdagPaired *p, bool screened);

/* Whether the pairs prove the arm slower than the default (97.5% one-sided). */
extern bool ndag_paired_slower(const NdagPaired *p);

/* The pairs' mean speed-up, default ms over arm ms (NaN without pairs). */
extern double ndag_paired_speedup(const NdagPaired *p);

/* The one-sided 97.5% quantile of Student's t with df degrees of freedom. */
extern double ndag_t975(int df);

#endif							/* NDAG_PAIRED_H */
