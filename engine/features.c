/*-------------------------------------------------------------------------
 *
 * features.c
 *	  The fixed-width node feature vectors (layout NDAG_F_* in dag.h).
 *
 * Magnitudes go through log1p and a fixed divisor so that every slot stays
 * within a few units even for costs of 1e300 (log1p(1e300) / 10 = 69).
 * Inputs are sanitised by ndag_dag_add_node, so no slot can be NaN or
 * infinite.
 *
 *-------------------------------------------------------------------------
 */
#include "dag.h"
#include "dag_internal.h"
#include "engine.h"

#include <math.h>

/*
 * ndag_join_slot
 *		Which of the four join slots a join type sets, or -1.
 */
static int
ndag_join_slot(int join_type)
{
	switch (join_type)
	{
		case NDAG_JOIN_INNER:
			return 0;
		case NDAG_JOIN_LEFT:
		case NDAG_JOIN_RIGHT:
		case NDAG_JOIN_FULL:
			return 1;
		case NDAG_JOIN_SEMI:
			return 2;
		case NDAG_JOIN_ANTI:
			return 3;
	}
	return -1;
}

/*
 * ndag_features_compute
 *		Fill dag->features (already allocated, n x NDAG_FEATURE_DIM) from the
 *		descriptions and the derived quantities.
 */
void
ndag_features_compute(NdagDag *dag)
{
	int			v;

	for (v = 0; v < dag->n_nodes; v++)
	{
		const NdagNode *node = &dag->nodes[v];
		const NdagNodeDesc *d = &node->desc;
		float	   *f = dag->features + (size_t) v * NDAG_FEATURE_DIM;
		int			slot;
		int			i;

		for (i = 0; i < NDAG_FEATURE_DIM; i++)
			f[i] = 0.0f;

		f[NDAG_F_OPCLASS + d->op_class] = 1.0f;
		f[NDAG_F_PLAN_ROWS] = (float) (log1p(d->plan_rows) / 10.0);
		f[NDAG_F_STARTUP] = (float) (log1p(d->startup_cost) / 10.0);
		f[NDAG_F_TOTAL] = (float) (log1p(d->total_cost) / 10.0);
		f[NDAG_F_SELF_COST] = (float) (log1p(node->self_cost) / 10.0);
		f[NDAG_F_WIDTH] = (float) (log1p(d->plan_width) / 10.0);
		f[NDAG_F_PAGES] = (float) (log1p(d->rel_pages) / 10.0);
		f[NDAG_F_NQUALS] = (float) (log1p((double) d->nquals) / 3.0);
		f[NDAG_F_PARALLEL] = d->parallel_aware ? 1.0f : 0.0f;
		slot = ndag_join_slot(d->join_type);
		if (slot >= 0)
			f[NDAG_F_JOIN + slot] = 1.0f;

		if (d->has_actuals)
		{
			double		loops = d->loops > 1.0 ? d->loops : 1.0;
			double		rows_per_loop = d->actual_rows / loops;
			double		err = log((rows_per_loop + 1.0) / (d->plan_rows + 1.0));

			f[NDAG_F_HAS_ACTUALS] = 1.0f;
			f[NDAG_F_ACT_ROWS] = (float) (log1p(rows_per_loop) / 10.0);
			f[NDAG_F_SELF_TIME] = (float) (log1p(node->self_time_ms) / 10.0);
			f[NDAG_F_LOOPS] = (float) (log1p(d->loops) / 10.0);
			f[NDAG_F_EST_ERROR] = (float) (err / 10.0);
		}

		f[NDAG_F_DEPTH] = (float) (log1p((double) node->depth) / 5.0);
		f[NDAG_F_CONE] = (float) (log1p((double) node->cone_size) / 10.0);
		f[NDAG_F_NINPUTS] = (float) log1p((double) node->n_inputs);
		f[NDAG_F_NCONSUMERS] = (float) log1p((double) node->n_consumers);
		f[NDAG_F_CRITICAL] = node->on_critical_path ? 1.0f : 0.0f;
		f[NDAG_F_WORK_SHARE] = dag->total_work > 0.0 ?
			(float) (node->work / dag->total_work) : 0.0f;
		f[NDAG_F_BIAS] = 1.0f;
	}
}
