/*-------------------------------------------------------------------------
 *
 * embedding.c
 *	  The 64-dimension plan embedding (DESIGN.md section 3).
 *
 * Four segments, each L2-normalised on its own and then the whole vector
 * L2-normalised, so that no segment can drown the others:
 *	- attention-pooled node features (the weighted mean of the feature
 *	  rows, one ndag_sgemv over the n x F matrix), projected to 24 dims by
 *	  a fixed pseudo-random matrix and squashed with tanh;
 *	- the operator-class histogram, as sqrt of the class frequencies;
 *	- eight global statistics (total cost, rows, depth, node count, join
 *	  count, actuals, total time, mean estimate error), each squashed into
 *	  [0, 1);
 *	- a signed sketch of the set of scanned relations: each distinct
 *	  relation oid adds a pseudo-random +-1 vector, so plans over different
 *	  tables point in different directions.
 *
 *-------------------------------------------------------------------------
 */
#include "attention.h"
#include "blas.h"
#include "dag.h"
#include "embedding.h"
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* the fixed projection of the pooled features, filled on first use */
static float ndag_projection[NDAG_E_POOLED_DIM * NDAG_FEATURE_DIM];
static bool ndag_projection_ready = false;

/*
 * ndag_projection_init
 *		Entries uniform in [-sqrt(3), sqrt(3)] (unit variance) from a hash of
 *		their position, scaled by 1/sqrt(F): the same matrix in every process
 *		and on every platform.
 */
static void
ndag_projection_init(void)
{
	int			i;

	if (ndag_projection_ready)
		return;
	for (i = 0; i < NDAG_E_POOLED_DIM * NDAG_FEATURE_DIM; i++)
	{
		uint64_t	h = ndag_hash64(UINT64_C(0x656d626564) + (uint64_t) i);
		double		u = (double) (h >> 11) * (1.0 / 9007199254740992.0);

		ndag_projection[i] = (float) ((2.0 * u - 1.0) * sqrt(3.0) /
									  sqrt((double) NDAG_FEATURE_DIM));
	}
	ndag_projection_ready = true;
}

/*
 * ndag_squash
 *		Map [0, inf) onto [0, 1) monotonically.
 */
static double
ndag_squash(double x)
{
	if (!(x > 0.0))
		return 0.0;
	return x / (1.0 + x);
}

/*
 * ndag_normalize_segment
 *		L2-normalise len floats in place (a zero segment stays zero).
 *		Segments are at most 24 floats: a plain loop, no BLAS call.
 */
static void
ndag_normalize_segment(float *x, int len)
{
	double		ss = 0.0;
	int			i;

	for (i = 0; i < len; i++)
		ss += (double) x[i] * x[i];
	if (!(ss > 0.0) || !isfinite(ss))
	{
		for (i = 0; i < len; i++)
			x[i] = 0.0f;
		return;
	}
	ss = 1.0 / sqrt(ss);
	for (i = 0; i < len; i++)
		x[i] = (float) (x[i] * ss);
}

/*
 * ndag_cmp_u32
 *		qsort comparator for relation oids.
 */
static int
ndag_cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *) a;
	uint32_t	y = *(const uint32_t *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/*
 * ndag_embed_pooled
 *		Segment 1: pooled features.  The pooling is a weighted sum over up
 *		to thousands of rows, which ndag_sgemv does well; the 24 x 40
 *		projection afterwards is a plain loop.
 */
static int
ndag_embed_pooled(const NdagDag *dag, const double *weights, float *out)
{
	int			n = dag->n_nodes;
	float	   *w = malloc(sizeof(float) * (size_t) n);
	float		pooled[NDAG_FEATURE_DIM];
	int			i;
	int			j;

	if (w == NULL)
		return NDAG_ERR_NOMEM;
	for (i = 0; i < n; i++)
	{
		double		x = weights ? weights[i] : 1.0 / n;

		w[i] = (isfinite(x) && x > 0.0) ? (float) x : 0.0f;
	}
	ndag_sgemv(CblasRowMajor, CblasTrans, n, NDAG_FEATURE_DIM, 1.0f,
			   dag->features, NDAG_FEATURE_DIM, w, 1, 0.0f, pooled, 1);
	free(w);

	ndag_projection_init();
	for (i = 0; i < NDAG_E_POOLED_DIM; i++)
	{
		double		acc = 0.0;

		for (j = 0; j < NDAG_FEATURE_DIM; j++)
			acc += (double) ndag_projection[i * NDAG_FEATURE_DIM + j] * pooled[j];
		out[i] = (float) tanh(isfinite(acc) ? acc : 0.0);
	}
	return NDAG_OK;
}

/*
 * ndag_embed_globals
 *		Segments 2 and 3: operator histogram and global statistics.
 */
static void
ndag_embed_globals(const NdagDag *dag, float *hist, float *glob)
{
	int			counts[NDAG_N_OP_CLASSES];
	double		err_sum = 0.0;
	int			err_n = 0;
	int			i;

	memset(counts, 0, sizeof(counts));
	for (i = 0; i < dag->n_nodes; i++)
	{
		const NdagNodeDesc *d = &dag->nodes[i].desc;

		counts[d->op_class]++;
		if (d->has_actuals)
		{
			double		loops = d->loops > 1.0 ? d->loops : 1.0;

			err_sum += fabs(log((d->actual_rows / loops + 1.0) / (d->plan_rows + 1.0)));
			err_n++;
		}
	}
	for (i = 0; i < NDAG_N_OP_CLASSES; i++)
		hist[i] = (float) sqrt((double) counts[i] / dag->n_nodes);

	glob[0] = (float) ndag_squash(log1p(dag->root_total_cost) / 10.0);
	glob[1] = (float) ndag_squash(log1p(dag->root_rows) / 10.0);
	glob[2] = (float) ndag_squash(dag->max_depth / 5.0);
	glob[3] = (float) ndag_squash(log1p((double) dag->n_nodes) / 3.0);
	glob[4] = (float) ndag_squash(dag->n_joins / 3.0);
	glob[5] = dag->has_actuals ? 1.0f : 0.0f;
	glob[6] = (float) ndag_squash(log1p(dag->total_actual_ms) / 5.0);
	glob[7] = (float) ndag_squash(err_n > 0 ? err_sum / err_n : 0.0);
}

/*
 * ndag_embed_relations
 *		Segment 4: the relation-set sketch.  Distinct oids only, so a table
 *		scanned twice counts once and node order does not matter.
 */
static int
ndag_embed_relations(const NdagDag *dag, float *sketch)
{
	uint32_t   *oids = malloc(sizeof(uint32_t) * (size_t) dag->n_nodes);
	int			m = 0;
	int			i;
	int			j;

	if (oids == NULL)
		return NDAG_ERR_NOMEM;
	for (i = 0; i < dag->n_nodes; i++)
		if (dag->nodes[i].desc.rel_oid != 0)
			oids[m++] = dag->nodes[i].desc.rel_oid;
	qsort(oids, (size_t) m, sizeof(uint32_t), ndag_cmp_u32);

	for (j = 0; j < NDAG_E_RELSKETCH_DIM; j++)
		sketch[j] = 0.0f;
	for (i = 0; i < m; i++)
	{
		uint64_t	h;

		if (i > 0 && oids[i] == oids[i - 1])
			continue;
		h = ndag_hash64(UINT64_C(0x72656c736b657463) ^ (uint64_t) oids[i]);
		for (j = 0; j < NDAG_E_RELSKETCH_DIM; j++)
			sketch[j] += ((h >> j) & 1) ? 1.0f : -1.0f;
	}
	free(oids);
	return NDAG_OK;
}

/*
 * ndag_embed
 *		Assemble and normalise the four segments.
 */
int
ndag_embed(const NdagDag *dag, const double *weights, float *out)
{
	int			rc;

	if (dag == NULL || out == NULL)
		return NDAG_ERR_ARG;
	if (!dag->finalized)
		return NDAG_ERR_STATE;

	if ((rc = ndag_embed_pooled(dag, weights, out + NDAG_E_POOLED)) != NDAG_OK)
		return rc;
	ndag_embed_globals(dag, out + NDAG_E_HISTOGRAM, out + NDAG_E_GLOBAL);
	if ((rc = ndag_embed_relations(dag, out + NDAG_E_RELSKETCH)) != NDAG_OK)
		return rc;

	ndag_normalize_segment(out + NDAG_E_POOLED, NDAG_E_POOLED_DIM);
	ndag_normalize_segment(out + NDAG_E_HISTOGRAM, NDAG_N_OP_CLASSES);
	ndag_normalize_segment(out + NDAG_E_GLOBAL, NDAG_E_GLOBAL_DIM);
	ndag_normalize_segment(out + NDAG_E_RELSKETCH, NDAG_E_RELSKETCH_DIM);
	ndag_normalize_segment(out, NDAG_EMBED_DIM);
	return NDAG_OK;
}

/*
 * ndag_embed_mechanism
 *		Weights from one mechanism, then the embedding.
 */
int
ndag_embed_mechanism(const NdagDag *dag, int mechanism,
					 const NdagAttnParams *params, float *out)
{
	double	   *w;
	int			rc;

	if (dag == NULL || out == NULL)
		return NDAG_ERR_ARG;
	if (!dag->finalized)
		return NDAG_ERR_STATE;
	w = malloc(sizeof(double) * (size_t) dag->n_nodes);
	if (w == NULL)
		return NDAG_ERR_NOMEM;
	rc = ndag_attention(dag, mechanism, params, w);
	if (rc == NDAG_OK)
		rc = ndag_embed(dag, w, out);
	free(w);
	return rc;
}
