/*-------------------------------------------------------------------------
 *
 * trace.c
 *	  Temporal eligibility traces keyed by operator signature, and the
 *	  temporal_btsp mechanism that reads them (DESIGN.md section 4).
 *
 * A trace remembers how much of recent executions' time an operator took.
 * It decays with wall-clock time (time constant tau, 2 s) and is boosted
 * during a plateau that starts after a surprising execution, in the manner
 * of behavioural time-scale plasticity: one surprising run is enough to
 * make the operator stand out for a while.
 *
 * Keys are signatures, never node indexes: two queries that share an
 * operator share its trace, and renumbering a plan's nodes changes
 * nothing.  Times are the caller's clock in seconds, passed in, so that
 * tests need no sleeping.
 *
 *-------------------------------------------------------------------------
 */
#include "attention.h"
#include "attention_internal.h"
#include "dag.h"
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* traces below this (outside a plateau) are dropped when the table grows */
#define NDAG_TRACE_FORGET	1e-9

/* weight of the work-based prior beside the traces */
#define NDAG_TRACE_PRIOR	0.1

/*
 * ndag_trace_table_create
 *		An empty table; capacity is rounded up to a power of two and kept
 *		at least twice the expected number of signatures.
 */
NdagTraceTable *
ndag_trace_table_create(int capacity)
{
	NdagTraceTable *t;
	int			cap = 16;

	while (cap < 2 * capacity && cap < (1 << 28))
		cap *= 2;
	t = calloc(1, sizeof(NdagTraceTable));
	if (t == NULL)
		return NULL;
	t->entries = calloc((size_t) cap, sizeof(NdagTraceEntry));
	if (t->entries == NULL)
	{
		free(t);
		return NULL;
	}
	t->capacity = cap;
	t->tau_s = NDAG_TRACE_TAU_S;
	t->plateau_s = 10.0;
	t->plateau_boost = 3.0;
	t->surprise_ratio = 10.0;
	return t;
}

/*
 * ndag_trace_table_free
 *		Release the table.
 */
void
ndag_trace_table_free(NdagTraceTable *table)
{
	if (table == NULL)
		return;
	free(table->entries);
	free(table);
}

/*
 * ndag_trace_slot
 *		Linear probing: the slot holding signature, or the free slot where
 *		it would go.  The table is never full (load <= 1/2).
 */
static NdagTraceEntry *
ndag_trace_slot(NdagTraceEntry *entries, int capacity, uint64_t signature)
{
	uint64_t	mask = (uint64_t) capacity - 1;
	uint64_t	i = ndag_hash64(signature) & mask;

	while (entries[i].signature != 0 && entries[i].signature != signature)
		i = (i + 1) & mask;
	return &entries[i];
}

/*
 * ndag_trace_decayed
 *		An entry's value at time now, without the plateau boost.  A clock
 *		that went backwards does not make a trace grow.
 */
static double
ndag_trace_decayed(const NdagTraceTable *t, const NdagTraceEntry *e, double now)
{
	double		dt = now - e->last_update;

	if (!(dt > 0.0))
		return e->value;
	return e->value * exp(-dt / t->tau_s);
}

/*
 * ndag_trace_grow
 *		Double the table, dropping entries that have decayed to nothing and
 *		whose plateau is over.
 */
static int
ndag_trace_grow(NdagTraceTable *t, double now)
{
	int			cap = t->capacity * 2;
	NdagTraceEntry *fresh;
	int			count = 0;
	int			i;

	if (cap > (1 << 28))
		return NDAG_ERR_NOMEM;
	fresh = calloc((size_t) cap, sizeof(NdagTraceEntry));
	if (fresh == NULL)
		return NDAG_ERR_NOMEM;
	for (i = 0; i < t->capacity; i++)
	{
		NdagTraceEntry *e = &t->entries[i];

		if (e->signature == 0)
			continue;
		if (ndag_trace_decayed(t, e, now) < NDAG_TRACE_FORGET && now >= e->plateau_until)
			continue;
		*ndag_trace_slot(fresh, cap, e->signature) = *e;
		count++;
	}
	free(t->entries);
	t->entries = fresh;
	t->capacity = cap;
	t->count = count;
	return NDAG_OK;
}

/*
 * ndag_trace_value
 *		Effective trace of a signature at time now.
 */
double
ndag_trace_value(const NdagTraceTable *table, uint64_t signature, double now)
{
	const NdagTraceEntry *e;
	double		v;

	if (table == NULL || signature == 0)
		return 0.0;
	e = ndag_trace_slot(table->entries, table->capacity, signature);
	if (e->signature == 0)
		return 0.0;
	v = ndag_trace_decayed(table, e, now);
	if (now < e->plateau_until)
		v *= table->plateau_boost;
	return v;
}

/*
 * ndag_trace_update
 *		Fold one executed plan into the traces; see attention.h.
 */
int
ndag_trace_update(NdagTraceTable *table, const NdagDag *dag, double now,
				  bool surprise)
{
	double		total = 0.0;
	int			executed = 0;
	int			v;

	if (table == NULL || dag == NULL || !isfinite(now) || !(table->tau_s > 0.0) ||
		!(table->plateau_s >= 0.0) || !(table->plateau_boost >= 0.0) ||
		!(table->surprise_ratio > 1.0))
		return NDAG_ERR_ARG;
	if (!dag->finalized)
		return NDAG_ERR_STATE;
	for (v = 0; v < dag->n_nodes; v++)
	{
		if (dag->nodes[v].desc.has_actuals)
		{
			total += dag->nodes[v].work;
			executed++;
		}
	}

	for (v = 0; v < dag->n_nodes; v++)
	{
		const NdagNode *node = &dag->nodes[v];
		const NdagNodeDesc *d = &node->desc;
		NdagTraceEntry *e;
		double		share;
		double		ratio;

		if (!d->has_actuals)
			continue;
		if (2 * (table->count + 1) > table->capacity)
		{
			int			rc = ndag_trace_grow(table, now);

			if (rc != NDAG_OK)
				return rc;
		}
		e = ndag_trace_slot(table->entries, table->capacity, node->signature);
		if (e->signature == 0)
		{
			e->signature = node->signature;
			e->value = 0.0;
			e->last_update = now;
			e->plateau_until = -INFINITY;
			table->count++;
		}
		share = total > 0.0 ? node->work / total : 1.0 / executed;
		e->value = ndag_trace_decayed(table, e, now) + share;
		if (now > e->last_update)
			e->last_update = now;

		ratio = (d->actual_rows / (d->loops > 1.0 ? d->loops : 1.0) + 1.0) /
			(d->plan_rows + 1.0);
		if (surprise || ratio >= table->surprise_ratio ||
			ratio * table->surprise_ratio <= 1.0)
		{
			if (now + table->plateau_s > e->plateau_until)
				e->plateau_until = now + table->plateau_s;
		}
	}
	return NDAG_OK;
}

/*
 * ndag_attention_temporal_btsp
 *		Effective trace of each node's signature at params->now, plus a
 *		small work-based prior so that operators without history still get
 *		a sensible share.  Depends on signatures and work only, so node
 *		order does not matter.
 */
int
ndag_attention_temporal_btsp(const NdagDag *dag, const NdagAttnParams *params,
							 double *weights)
{
	int			rc;
	int			v;

	if ((rc = ndag_attn_check(dag, params, weights)) != NDAG_OK)
		return rc;
	for (v = 0; v < dag->n_nodes; v++)
		weights[v] = ndag_trace_value(params->traces, dag->nodes[v].signature, params->now) +
			NDAG_TRACE_PRIOR * ndag_node_base_weight(dag, v);
	ndag_normalize_weights(weights, dag->n_nodes);
	return NDAG_OK;
}
