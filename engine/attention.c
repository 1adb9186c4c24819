/*-------------------------------------------------------------------------
 *
 * attention.c
 *	  Parameters, argument checks and the dispatcher of the eight attention
 *	  mechanisms, and the ensemble that mixes the other seven.
 *
 * The mechanisms themselves live in attention_structure.c (topological,
 * causal_cone, critical_path, parallel_branch), attention_mincut.c,
 * lorentz.c (hierarchical_lorentz) and trace.c (temporal_btsp).
 *
 *-------------------------------------------------------------------------
 */
#include "attention.h"
#include "attention_internal.h"
#include "dag.h"
#include "engine.h"
#include "ucb.h"

#include <math.h>
#include <stdlib.h>

typedef int (*NdagMechanismFn) (const NdagDag *dag, const NdagAttnParams *params,
								double *weights);

static const NdagMechanismFn ndag_mechanism_fns[NDAG_N_MECHANISMS] = {
	ndag_attention_topological,
	ndag_attention_causal_cone,
	ndag_attention_critical_path,
	ndag_attention_mincut_gated,
	ndag_attention_hierarchical_lorentz,
	ndag_attention_parallel_branch,
	ndag_attention_temporal_btsp,
	ndag_attention_ensemble
};

/*
 * ndag_attn_params_init
 *		The defaults of DESIGN.md section 4 and the seed's GUCs.
 */
void
ndag_attn_params_init(NdagAttnParams *params)
{
	int			k;

	if (params == NULL)
		return;
	params->topo_decay = 0.9;
	params->topo_k = 8;
	params->cone_discount = 0.9;
	params->critical_off_share = 0.1;
	params->mincut_threshold = 0.5;
	params->mincut_capacity = NDAG_CAP_AUTO;
	params->lorentz_step = 1.0;
	params->lorentz_max_radius = 8.0;
	params->lorentz_temperature = 1.0;
	params->branch_sharpen = 2.0;
	params->traces = NULL;
	params->now = 0.0;
	for (k = 0; k < NDAG_N_BASE_MECHANISMS; k++)
		params->ensemble_mix[k] = 1.0 / NDAG_N_BASE_MECHANISMS;
}

/*
 * ndag_attn_check
 *		Common argument checks: a finalized DAG, an output buffer and
 *		parameters within their ranges.
 */
int
ndag_attn_check(const NdagDag *dag, const NdagAttnParams *p, double *weights)
{
	int			k;

	if (dag == NULL || p == NULL || weights == NULL)
		return NDAG_ERR_ARG;
	if (!dag->finalized)
		return NDAG_ERR_STATE;
	if (!(p->topo_decay > 0.0 && p->topo_decay <= 1.0) || p->topo_k < 0 ||
		!(p->cone_discount > 0.0 && p->cone_discount <= 1.0) ||
		!(p->critical_off_share >= 0.0 && p->critical_off_share < 1.0) ||
		!(p->mincut_threshold >= 0.0 && p->mincut_threshold <= 1.0) ||
		p->mincut_capacity < NDAG_CAP_AUTO || p->mincut_capacity > NDAG_CAP_TIME ||
		!(p->lorentz_step > 0.0 && p->lorentz_step <= 100.0) ||
		!(p->lorentz_max_radius > 0.0 && p->lorentz_max_radius <= 10.0) ||
		!(p->lorentz_temperature > 0.0 && p->lorentz_temperature <= 1e6) ||
		!(p->branch_sharpen >= 0.0 && p->branch_sharpen <= 100.0) ||
		!isfinite(p->now))
		return NDAG_ERR_ARG;
	for (k = 0; k < NDAG_N_BASE_MECHANISMS; k++)
		if (!(p->ensemble_mix[k] >= 0.0) || !isfinite(p->ensemble_mix[k]))
			return NDAG_ERR_ARG;
	return NDAG_OK;
}

/*
 * ndag_attention
 *		Dispatch by mechanism number.
 */
int
ndag_attention(const NdagDag *dag, int mechanism, const NdagAttnParams *params,
			   double *weights)
{
	NdagAttnParams defaults;

	if (mechanism < 0 || mechanism >= NDAG_N_MECHANISMS)
		return NDAG_ERR_ARG;
	if (params == NULL)
	{
		ndag_attn_params_init(&defaults);
		params = &defaults;
	}
	return ndag_mechanism_fns[mechanism] (dag, params, weights);
}

/*
 * ndag_attention_ensemble
 *		Sum of the seven other mechanisms' weights, each scaled by its
 *		(normalised) mixture weight.  Every part sums to 1, so the mixture
 *		does too.
 */
int
ndag_attention_ensemble(const NdagDag *dag, const NdagAttnParams *params,
						double *weights)
{
	double		mix[NDAG_N_BASE_MECHANISMS];
	double		total = 0.0;
	double	   *part;
	int			n;
	int			rc;
	int			k;
	int			i;

	if ((rc = ndag_attn_check(dag, params, weights)) != NDAG_OK)
		return rc;
	n = dag->n_nodes;
	for (k = 0; k < NDAG_N_BASE_MECHANISMS; k++)
	{
		mix[k] = params->ensemble_mix[k];
		total += mix[k];
	}
	for (k = 0; k < NDAG_N_BASE_MECHANISMS; k++)
		mix[k] = total > 0.0 ? mix[k] / total : 1.0 / NDAG_N_BASE_MECHANISMS;

	part = malloc(sizeof(double) * (size_t) n);
	if (part == NULL)
		return NDAG_ERR_NOMEM;
	for (i = 0; i < n; i++)
		weights[i] = 0.0;
	for (k = 0; k < NDAG_N_BASE_MECHANISMS; k++)
	{
		if (mix[k] == 0.0)
			continue;
		rc = ndag_mechanism_fns[k] (dag, params, part);
		if (rc != NDAG_OK)
		{
			free(part);
			return rc;
		}
		for (i = 0; i < n; i++)
			weights[i] += mix[k] * part[i];
	}
	free(part);
	ndag_normalize_weights(weights, n);
	return NDAG_OK;
}

/*
 * ndag_ensemble_mix_from_ucb
 *		Mixture weights proportional to the selector's mean rewards of the
 *		seven base mechanisms in one context.
 */
int
ndag_ensemble_mix_from_ucb(const NdagUcb *ucb, int context, double *mix)
{
	double		pulled_sum = 0.0;
	int			pulled_n = 0;
	double		fill;
	int			k;

	if (ucb == NULL || mix == NULL || context < 0 || context >= ucb->n_contexts ||
		ucb->n_arms < NDAG_N_BASE_MECHANISMS)
		return NDAG_ERR_ARG;
	for (k = 0; k < NDAG_N_BASE_MECHANISMS; k++)
	{
		double		mean;
		uint64_t	pulls;

		ndag_ucb_stats(ucb, context, k, &mean, &pulls);
		mix[k] = pulls > 0 ? mean : -1.0;
		if (pulls > 0)
		{
			pulled_sum += mean;
			pulled_n++;
		}
	}
	fill = pulled_n > 0 ? pulled_sum / pulled_n : 1.0;
	for (k = 0; k < NDAG_N_BASE_MECHANISMS; k++)
		if (mix[k] < 0.0)
			mix[k] = fill;
	ndag_normalize_weights(mix, NDAG_N_BASE_MECHANISMS);
	return NDAG_OK;
}
