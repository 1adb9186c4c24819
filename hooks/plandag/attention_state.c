/*-------------------------------------------------------------------------
 *
 * attention_state.c
 *	  This backend's attention state: the UCB selector over the eight
 *	  mechanisms, the temporal traces of temporal_btsp, and the parameters
 *	  the mechanisms get from the GUCs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/timestamp.h"

#include "attention.h"
#include "dag.h"
#include "engine.h"
#include "ucb.h"
#include "core/core.h"
#include "plandag/plandag.h"

/* plan-shape buckets the selector keeps statistics for */
#define NDAG_ATTENTION_CONTEXTS 64

static NdagUcb *backend_selector = NULL;
static NdagTraceTable *backend_traces = NULL;
static NdagRng backend_rng;

/*
 * ensure_attention_state
 *		Create the selector and trace table on first use.
 */
static void
ensure_attention_state(void)
{
	if (backend_selector != NULL && backend_traces != NULL)
		return;
	if (backend_selector == NULL)
		backend_selector = ndag_ucb_create(NDAG_ATTENTION_CONTEXTS,
										   NDAG_N_MECHANISMS,
										   ndag_ucb_c,
										   ndag_attention_exploration);
	if (backend_traces == NULL)
		backend_traces = ndag_trace_table_create(256);
	if (backend_selector == NULL || backend_traces == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory creating the attention selector")));
	ndag_rng_seed(&backend_rng, (uint64) MyProcPid ^ (uint64) GetCurrentTimestamp());
}

/*
 * NdagAttentionContext
 *		The selector context of a plan: a hash of its operator classes in
 *		topological order, so that plans of the same shape share
 *		statistics whatever their tables and constants.
 */
int
NdagAttentionContext(const NdagDag *dag)
{
	uint64		h = 0;

	for (int i = 0; i < dag->n_nodes; i++)
		h = ndag_hash_combine(h, (uint64) dag->nodes[dag->topo[i]].desc.op_class);
	return (int) (ndag_hash64(h) % NDAG_ATTENTION_CONTEXTS);
}

/*
 * NdagParseMechanism
 *		The mechanism a user named: 'auto' gives -1, an unknown name is an
 *		error listing the valid ones.
 */
int
NdagParseMechanism(const char *name)
{
	int			mechanism;

	if (strcmp(name, "auto") == 0)
		return -1;
	if (ndag_mechanism_from_name(name, &mechanism) != NDAG_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown attention mechanism \"%s\"", name),
				 errhint("Valid mechanisms are auto, topological, causal_cone, critical_path, mincut_gated, hierarchical_lorentz, parallel_branch, temporal_btsp and ensemble.")));
	return mechanism;
}

/*
 * NdagChooseMechanism
 *		The mechanism for a plan: the requested one, else the one
 *		ruvector.dag_attention_type names, else the selector's choice in the
 *		plan's context (epsilon exploration only when explore is set).
 */
int
NdagChooseMechanism(const NdagDag *dag, int requested, bool explore)
{
	int			mechanism;

	if (requested >= 0)
		return requested;
	mechanism = NdagParseMechanism(ndag_attention_type);
	if (mechanism >= 0)
		return mechanism;

	ensure_attention_state();
	backend_selector->c = ndag_ucb_c;
	backend_selector->epsilon = ndag_attention_exploration;
	if (ndag_ucb_choose(backend_selector, NdagAttentionContext(dag),
						explore ? &backend_rng : NULL, &mechanism) != NDAG_OK)
		mechanism = NDAG_MECH_TOPOLOGICAL;
	return mechanism;
}

/*
 * NdagAttentionReward
 *		One reward in [0, 1] for a mechanism in a selector context (the
 *		accuracy of the cost model with that mechanism's embedding).
 */
void
NdagAttentionReward(int context, int mechanism, double reward)
{
	ensure_attention_state();
	if (context < 0 || context >= NDAG_ATTENTION_CONTEXTS)
		context = 0;
	(void) ndag_ucb_update(backend_selector, context, mechanism,
						   Max(0.0, Min(1.0, reward)));
}

/*
 * NdagAttentionParams
 *		Mechanism parameters from the GUCs and this backend's state.
 */
void
NdagAttentionParams(const NdagDag *dag, NdagAttnParams *params)
{
	ensure_attention_state();
	ndag_attn_params_init(params);
	params->mincut_threshold = ndag_mincut_enabled ? ndag_mincut_threshold : 1.0;
	params->traces = backend_traces;
	params->now = (double) GetCurrentTimestamp() / USECS_PER_SEC;
	if (ndag_ensemble_mix_from_ucb(backend_selector, NdagAttentionContext(dag),
								   params->ensemble_mix) != NDAG_OK)
	{
		for (int k = 0; k < NDAG_N_BASE_MECHANISMS; k++)
			params->ensemble_mix[k] = 1.0 / NDAG_N_BASE_MECHANISMS;
	}
}

/*
 * NdagComputeScores
 *		One attention weight per node of a plan DAG (palloc'd).
 */
double *
NdagComputeScores(const NdagDag *dag, int mechanism)
{
	NdagAttnParams params;
	double	   *weights = palloc(sizeof(double) * dag->n_nodes);
	int			rc;

	NdagAttentionParams(dag, &params);
	rc = ndag_attention(dag, mechanism, &params, weights);
	if (rc != NDAG_OK)
		NdagEngineCheck(rc, psprintf("attention mechanism %s",
									 ndag_mechanism_name(mechanism)));
	return weights;
}

/*
 * NdagUpdateTraces
 *		Feed an executed DAG (with actuals) into this backend's temporal
 *		traces, so that temporal_btsp follows where time is really spent.
 */
void
NdagUpdateTraces(const NdagDag *dag)
{
	int			rc;

	ensure_attention_state();
	rc = ndag_trace_update(backend_traces, dag,
						   (double) GetCurrentTimestamp() / USECS_PER_SEC, false);
	NdagEngineCheck(rc, "updating the temporal traces");
}
