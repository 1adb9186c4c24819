/*-------------------------------------------------------------------------
 *
 * healing.h
 *	  Pure-C rules of the self-healing check: latency drift of a series of
 *	  executions and the size of a freshly built B-tree index.  No
 *	  PostgreSQL header; status codes are those of engine.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_HEALING_H
#define NDAG_HEALING_H

#include "engine.h"

/* What ndag_heal_drift found in a window of executions. */
typedef struct NdagDrift
{
	int			n;				/* executions in the window */
	double		newest;			/* the last one */
	double		mean;			/* mean of the ones before it */
	double		sd;				/* their population standard deviation */
	double		z;				/* (newest - mean) / sd, 0 when sd is 0 */
	double		older_mean;		/* mean of the older half */
	double		newer_mean;		/* mean of the newer half */
	double		ratio;			/* newer_mean / older_mean, 0 when older is 0 */
	int			drifted;		/* z > z_limit or ratio > ratio_limit */
} NdagDrift;

/*
 * ndag_heal_drift: values[0 .. n) oldest first, n >= 2; the newest value's
 * z-score against the others and the ratio of the newer half's mean to the
 * older half's (halves of n / 2 values; the middle one of an odd n is in
 * neither).
 */
extern int	ndag_heal_drift(const double *values, int n, double z_limit,
							double ratio_limit, NdagDrift *out);

/*
 * ndag_heal_btree_pages: pages a freshly built B-tree index of reltuples
 * leaf tuples with key_width bytes of key data needs at fillfactor percent
 * in pages of block_size bytes: metapage, leaf pages and inner pages.
 * Returns a value < 0 for nonsense arguments.
 */
extern double ndag_heal_btree_pages(double reltuples, double key_width,
									int fillfactor, int block_size);

#endif							/* NDAG_HEALING_H */
