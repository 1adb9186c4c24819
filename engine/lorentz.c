/*-------------------------------------------------------------------------
 *
 * lorentz.c
 *	  The Lorentz (hyperboloid) model of the hyperbolic plane, the tree
 *	  embedding of a plan DAG in it, and the hierarchical_lorentz mechanism.
 *
 * Points are (x0, x1, x2) with <x,x>_L = -x0^2 + x1^2 + x2^2 = -1, x0 > 0.
 * The root sits at the origin (1, 0, 0); a node at hyperbolic radius r and
 * angle t is (cosh r, sinh r cos t, sinh r sin t), at distance exactly r
 * from the origin.  Radius grows with depth, angles split the parent's
 * interval among its children by subtree size: the classic construction
 * that gives a tree low distortion in hyperbolic space.
 *
 * Radii are capped (lorentz_max_radius, at most 10) because cosh r grows
 * like e^r / 2: beyond that, -x0^2 + x1^2 + x2^2 loses the digits that
 * make it -1 in double precision.
 *
 *-------------------------------------------------------------------------
 */
#include "attention.h"
#include "attention_internal.h"
#include "blas.h"
#include "dag.h"
#include "engine.h"

#include <math.h>
#include <stdlib.h>

#define NDAG_TWO_PI 6.28318530717958647692

/*
 * ndag_lorentz_inner
 *		Minkowski inner product of two 3-vectors.  Three terms: plain code.
 */
double
ndag_lorentz_inner(const double *x, const double *y)
{
	return -x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
}

/*
 * ndag_lorentz_distance
 *		arccosh(-<x,y>_L); rounding can push the argument just below 1.
 */
double
ndag_lorentz_distance(const double *x, const double *y)
{
	double		a = -ndag_lorentz_inner(x, y);

	return a > 1.0 ? acosh(a) : 0.0;
}

/*
 * ndag_lorentz_embed
 *		Radius and angle interval for every node, root (or virtual root)
 *		first.  Each node's tree children (inputs whose tree_parent it is)
 *		share its interval in proportion to their subtree sizes; a node's
 *		angle is the middle of its own interval.
 */
int
ndag_lorentz_embed(const NdagDag *dag, const NdagAttnParams *params,
				   double *points, double *origin)
{
	int			n;
	double	   *lo;				/* start of each node's interval */
	double	   *len;			/* length of each node's interval */
	int			levels;
	double		step;
	int			shift;
	int			i;

	if (dag == NULL || params == NULL || points == NULL)
		return NDAG_ERR_ARG;
	if (!dag->finalized)
		return NDAG_ERR_STATE;
	if (!(params->lorentz_step > 0.0) || !(params->lorentz_max_radius > 0.0) ||
		params->lorentz_max_radius > 10.0)
		return NDAG_ERR_ARG;
	n = dag->n_nodes;
	lo = malloc(sizeof(double) * (size_t) n);
	len = malloc(sizeof(double) * (size_t) n);
	if (lo == NULL || len == NULL)
	{
		free(lo);
		free(len);
		return NDAG_ERR_NOMEM;
	}

	shift = dag->root < 0 ? 1 : 0;
	levels = dag->max_depth + shift;
	step = params->lorentz_step;
	if (levels > 0 && step * levels > params->lorentz_max_radius)
		step = params->lorentz_max_radius / levels;

	/* the sinks share the full circle (one sink: the root, radius 0) */
	{
		double		total = 0.0;
		double		at = 0.0;

		for (i = 0; i < dag->n_sinks; i++)
			total += dag->nodes[dag->sinks[i]].tree_size;
		for (i = 0; i < dag->n_sinks; i++)
		{
			int			s = dag->sinks[i];

			lo[s] = at;
			len[s] = NDAG_TWO_PI * dag->nodes[s].tree_size / total;
			at += len[s];
		}
	}

	/* consumers before inputs: a tree parent's interval is known first */
	for (i = n - 1; i >= 0; i--)
	{
		int			v = dag->topo[i];
		const NdagNode *node = &dag->nodes[v];
		double		at = lo[v];
		double		children = node->tree_size - 1.0;
		double		r = step * (node->depth + shift);
		double		t = lo[v] + 0.5 * len[v];
		double	   *x = points + (size_t) v * NDAG_LORENTZ_DIM;
		int			k;

		x[1] = sinh(r) * cos(t);
		x[2] = sinh(r) * sin(t);
		/* x0 from the other two keeps <x,x>_L = -1 to the last digit */
		x[0] = sqrt(1.0 + x[1] * x[1] + x[2] * x[2]);

		for (k = dag->in_off[v]; k < dag->in_off[v + 1]; k++)
		{
			int			c = dag->in_idx[k];

			if (dag->nodes[c].tree_parent != v)
				continue;
			lo[c] = at;
			len[c] = children > 0.0 ? len[v] * dag->nodes[c].tree_size / children : 0.0;
			at += len[c];
		}
	}
	if (origin != NULL)
	{
		origin[0] = 1.0;
		origin[1] = 0.0;
		origin[2] = 0.0;
	}
	free(lo);
	free(len);
	return NDAG_OK;
}

/*
 * ndag_attention_hierarchical_lorentz
 *		Embed the tree, take the base-weighted Lorentz centroid mu (the sum
 *		of the points scaled back onto the hyperboloid), and weigh each node
 *		by exp(-d(mu, x) / T) times its base weight.  Nodes in the part of
 *		the hierarchy where work concentrates sit near mu; siblings far
 *		from it in angle are discounted even at equal depth.
 */
int
ndag_attention_hierarchical_lorentz(const NdagDag *dag, const NdagAttnParams *params,
									double *weights)
{
	double	   *points;
	double	   *base;
	double	   *inner;
	double		mu[NDAG_LORENTZ_DIM] = {0.0, 0.0, 0.0};
	double		jmu[NDAG_LORENTZ_DIM];
	double		norm;
	int			n;
	int			rc;
	int			v;

	if ((rc = ndag_attn_check(dag, params, weights)) != NDAG_OK)
		return rc;
	n = dag->n_nodes;
	points = malloc(sizeof(double) * (size_t) n * NDAG_LORENTZ_DIM);
	base = malloc(sizeof(double) * (size_t) n);
	inner = malloc(sizeof(double) * (size_t) n);
	if (points == NULL || base == NULL || inner == NULL)
	{
		rc = NDAG_ERR_NOMEM;
		goto done;
	}
	if ((rc = ndag_lorentz_embed(dag, params, points, NULL)) != NDAG_OK)
		goto done;

	for (v = 0; v < n; v++)
		base[v] = ndag_node_base_weight(dag, v);

	/* mu = X^T base: one pass over the n x 3 matrix */
	ndag_dgemv(CblasRowMajor, CblasTrans, n, NDAG_LORENTZ_DIM, 1.0, points,
			   NDAG_LORENTZ_DIM, base, 1, 0.0, mu, 1);
	norm = -ndag_lorentz_inner(mu, mu);
	norm = norm > 0.0 ? sqrt(norm) : 1.0;
	jmu[0] = -mu[0] / norm;
	jmu[1] = mu[1] / norm;
	jmu[2] = mu[2] / norm;

	/* all <mu, x_v>_L at once: X (n x 3) times J mu */
	ndag_dgemv(CblasRowMajor, CblasNoTrans, n, NDAG_LORENTZ_DIM, 1.0, points,
			   NDAG_LORENTZ_DIM, jmu, 1, 0.0, inner, 1);
	for (v = 0; v < n; v++)
	{
		double		a = -inner[v];
		double		d = a > 1.0 ? acosh(a) : 0.0;

		weights[v] = exp(-d / params->lorentz_temperature) * base[v];
	}
	ndag_normalize_weights(weights, n);
	rc = NDAG_OK;

done:
	free(points);
	free(base);
	free(inner);
	return rc;
}
