/*-------------------------------------------------------------------------
 *
 * healing.c
 *	  Pure-C rules of the self-healing check (see healing.h).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stddef.h>

#include "engine.h"
#include "healing.h"

/* B-tree page layout (PostgreSQL's nbtree) */
#define BT_PAGE_HEADER		24		/* PageHeaderData */
#define BT_SPECIAL			16		/* BTPageOpaqueData */
#define BT_TUPLE_HEADER		8		/* IndexTupleData */
#define BT_LINE_POINTER		4		/* ItemIdData */
#define BT_ALIGN			8		/* MAXALIGN */

/*
 * ndag_heal_drift
 *		Two-pass mean and deviation of the executions before the newest,
 *		then the halves' means.
 */
int
ndag_heal_drift(const double *values, int n, double z_limit,
				double ratio_limit, NdagDrift *out)
{
	int			half;
	double		sum = 0.0;
	double		ss = 0.0;

	if (values == NULL || out == NULL || n < 2)
		return NDAG_ERR_ARG;

	out->n = n;
	out->newest = values[n - 1];
	for (int i = 0; i < n - 1; i++)
		sum += values[i];
	out->mean = sum / (n - 1);
	for (int i = 0; i < n - 1; i++)
		ss += (values[i] - out->mean) * (values[i] - out->mean);
	out->sd = sqrt(ss / (n - 1));
	out->z = out->sd > 0.0 ? (out->newest - out->mean) / out->sd : 0.0;

	half = n / 2;
	out->older_mean = 0.0;
	out->newer_mean = 0.0;
	for (int i = 0; i < half; i++)
	{
		out->older_mean += values[i];
		out->newer_mean += values[n - half + i];
	}
	out->older_mean /= half;
	out->newer_mean /= half;
	out->ratio = out->older_mean > 0.0 ? out->newer_mean / out->older_mean : 0.0;
	out->drifted = (out->z > z_limit || out->ratio > ratio_limit);
	return NDAG_OK;
}

/*
 * ndag_heal_btree_pages
 *		Leaf pages hold the tuples at fillfactor; inner pages hold one
 *		downlink of about the same size per page below them (filled up),
 *		level by level up to a single root; plus the metapage.
 */
double
ndag_heal_btree_pages(double reltuples, double key_width, int fillfactor,
					  int block_size)
{
	double		tuple;
	double		usable;
	double		per_inner;
	double		level;
	double		pages;

	if (!(reltuples >= 0.0) || !(key_width >= 0.0) || fillfactor < 10 ||
		fillfactor > 100 || block_size <= BT_PAGE_HEADER + BT_SPECIAL + 64)
		return -1.0;

	tuple = ceil((BT_TUPLE_HEADER + ceil(key_width)) / BT_ALIGN) * BT_ALIGN +
		BT_LINE_POINTER;
	usable = (double) (block_size - BT_PAGE_HEADER - BT_SPECIAL);
	per_inner = floor(usable / tuple);
	if (per_inner < 2.0)
		per_inner = 2.0;

	level = ceil(reltuples * tuple / (usable * fillfactor / 100.0));
	if (level < 1.0)
		level = 1.0;
	pages = 1.0 + level;		/* metapage and leaves */
	while (level > 1.0)
	{
		level = ceil(level / per_inner);
		pages += level;
	}
	return pages;
}
