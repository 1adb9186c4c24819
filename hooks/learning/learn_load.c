/*-------------------------------------------------------------------------
 *
 * learn_load.c
 *	  Reading a database's learned state from the store: the pattern bank
 *	  (from the patterns records and the engine's 'pattern_state'), the
 *	  cost model ('cost_model') and the attention selector
 *	  ('attention_selector').  The learning cycle (learn_cycle.c) and every
 *	  backend's copy of the state (learned_state.c) load it the same way.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "nodes/pg_list.h"
#include "utils/timestamp.h"

#include "costmodel.h"
#include "engine.h"
#include "learn.h"
#include "patterns.h"
#include "ucb.h"
#include "compat/compat_backend.h"
#include "core/core.h"
#include "learning/learning.h"
#include "store.h"
#include "learning/learning_int.h"

/*
 * cmp_pattern_id
 *		qsort/bsearch order of patterns by id.
 */
static int
cmp_pattern_id(const void *a, const void *b)
{
	uint64_t	x = ((const NdagPattern *) a)->id;
	uint64_t	y = ((const NdagPattern *) b)->id;

	return (x > y) - (x < y);
}

/*
 * load_extra
 *		The engine's own serialised patterns of the last cycle.  A damaged
 *		or outdated blob is ignored: the patterns records alone rebuild the
 *		bank.
 */
static void
load_extra(LearnState *st)
{
	bytea	   *blob = NdagLearnModelGet(st->dbid, "pattern_state");
	size_t		size = ndag_pattern_serialized_size();
	size_t		len;
	int			n;

	if (blob == NULL)
		return;
	len = VARSIZE(blob) - VARHDRSZ;
	if (len % size != 0)
		return;
	n = (int) (len / size);
	st->extra = palloc0(sizeof(NdagPattern) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (ndag_pattern_deserialize(VARDATA(blob) + i * size, size,
									 &st->extra[st->n_extra]) == NDAG_OK)
			st->n_extra++;
	}
	qsort(st->extra, st->n_extra, sizeof(NdagPattern), cmp_pattern_id);
}

/*
 * NdagLearnLoadBank
 *		Rebuild st->bank from the database's patterns records (with the
 *		engine's own statistics of the last cycle where they exist), and
 *		note per stored pattern its id, relations and demoted arms.  With
 *		st->matching_only (a backend's copy) the patterns' hypervectors
 *		(about 20 us each) are encoded only when the bank is large enough
 *		for matching to use them.
 */
void
NdagLearnLoadBank(LearnState *st)
{
	StoreScan  *scan;
	StoreValue *values = StoreRecordAlloc(STORE_DBI_PATTERNS);
	int			capacity = ndag_pattern_clusters * LEARN_CAPACITY_PER_CLUSTER;

	st->bank = ndag_bank_create(LEARN_ARMS, Max(capacity, 1));
	if (st->bank == NULL)
		NdagEngineCheck(NDAG_ERR_NOMEM, "ndag_bank_create");
	st->bank->defer_hv = st->matching_only;
	load_extra(st);

	scan = StoreScanBegin(STORE_DBI_PATTERNS, st->dbid, NULL, false);
	while (StoreScanNext(scan, values))
	{
		NdagPattern p;
		NdagPattern *found;
		const StoreValue *v;
		List	   *relids = NIL;
		uint64		n;
		uint64		demoted;

		memset(&p, 0, sizeof(p));
		p.id = (uint64_t) StoreFieldGet(values, STORE_DBI_PATTERNS, "pattern_id")->v.i8;
		found = bsearch(&p, st->extra, st->n_extra, sizeof(NdagPattern),
						cmp_pattern_id);
		if (found != NULL)
			p = *found;
		v = StoreFieldGet(values, STORE_DBI_PATTERNS, "centroid");
		if (v == NULL || v->len != NDAG_EMBED_DIM)
			continue;			/* not usable as a pattern */
		memcpy(p.centroid, v->data, sizeof(float) * NDAG_EMBED_DIM);
		n = (v = StoreFieldGet(values, STORE_DBI_PATTERNS, "support")) ? Max(v->v.i8, 0) : 0;
		p.n_members = n;
		if ((v = StoreFieldGet(values, STORE_DBI_PATTERNS, "quality_var")) != NULL)
			p.quality_m2 = v->v.f8 * n;
		if ((v = StoreFieldGet(values, STORE_DBI_PATTERNS, "best_arm")) != NULL)
			p.best_arm = v->v.i4;
		p.gain = (v = StoreFieldGet(values, STORE_DBI_PATTERNS, "gain")) ? v->v.f8 : NAN;
		if ((v = StoreFieldGet(values, STORE_DBI_PATTERNS, "confidence")) != NULL)
			p.confidence = v->v.f8;
		if ((v = StoreFieldGet(values, STORE_DBI_PATTERNS, "uses")) != NULL)
			p.uses = Max(v->v.i8, 0);
		p.last_used = (v = StoreFieldGet(values, STORE_DBI_PATTERNS, "last_used")) ?
			NdagLearnSeconds(v->v.ts) : 0.0;
		if ((v = StoreFieldGet(values, STORE_DBI_PATTERNS, "created_at")) != NULL)
			p.created = NdagLearnSeconds(v->v.ts);
		p.pinned = (v = StoreFieldGet(values, STORE_DBI_PATTERNS, "pinned")) && v->v.b;
		p.disabled = (v = StoreFieldGet(values, STORE_DBI_PATTERNS, "disabled")) && v->v.b;
		if ((v = StoreFieldGet(values, STORE_DBI_PATTERNS, "arm_stats")) != NULL)
		{
			memset(p.arms, 0, sizeof(p.arms));
			for (uint32 i = 0; i + 4 <= v->len; i += 4)
			{
				float8		s[4];
				int			arm;

				memcpy(s, (const float8 *) v->data + i, sizeof(s));
				arm = (int) s[0];
				if (arm < 0 || arm >= LEARN_ARMS || !(s[1] >= 0))
					continue;
				p.arms[arm].count = (uint64_t) s[1];
				p.arms[arm].mean_ln = s[2];
				p.arms[arm].m2_ln = s[3] * s[1];
			}
		}
		if ((v = StoreFieldGet(values, STORE_DBI_PATTERNS, "relids")) != NULL)
		{
			for (uint32 i = 0; i < v->len; i++)
			{
				Oid			relid;

				memcpy(&relid, (const Oid *) v->data + i, sizeof(Oid));
				relids = list_append_unique_oid(relids, relid);
			}
		}
		demoted = 0;
		if ((v = StoreFieldGet(values, STORE_DBI_PATTERNS, "demoted_arms")) != NULL)
		{
			for (uint32 i = 0; i < v->len; i++)
			{
				int32		arm;

				memcpy(&arm, (const int32 *) v->data + i, sizeof(int32));
				if (arm >= 0 && arm < 64)
					demoted |= UINT64CONST(1) << arm;
			}
		}
		NdagEngineCheck(ndag_bank_insert(st->bank, &p, NULL), "ndag_bank_insert");
		st->stored_ids = lappend(st->stored_ids, palloc(sizeof(int64)));
		*(int64 *) llast(st->stored_ids) = (int64) p.id;
		st->stored_relids = lappend(st->stored_relids, relids);
		st->stored_demoted = lappend(st->stored_demoted, palloc(sizeof(uint64)));
		*(uint64 *) llast(st->stored_demoted) = demoted;
	}
	StoreScanEnd(scan);
	st->bank->next_id = Max(st->bank->next_id,
							(uint64_t) NdagLearnMetaGet("next_pattern", st->dbid, 1));
	/* only a bank above the threshold is matched by its hypervectors */
	if (st->bank->count > st->bank->hdc_threshold)
		NdagEngineCheck(ndag_bank_encode(st->bank), "ndag_bank_encode");
}

/*
 * NdagLearnLoadCostModel
 *		The stored cost model of a database; when there is none, or it
 *		cannot be read (a WARNING says so, at most once a minute per
 *		process, DEBUG1 otherwise: fallback.c) or has another number of arms, a new one
 *		if create is set, else NULL.
 */
NdagCostModel *
NdagLearnLoadCostModel(Oid dbid, bool create)
{
	bytea	   *blob = NdagLearnModelGet(dbid, "cost_model");
	NdagCostModel *model = NULL;
	int			rc;

	if (blob != NULL)
	{
		rc = ndag_cost_deserialize(VARDATA(blob), VARSIZE(blob) - VARHDRSZ,
								   &model);
		if (rc != NDAG_OK)
		{
			/* every reload of every backend reads it: once a minute each */
			model = NULL;
			ereport(NdagFallbackLevel(NDAG_FALLBACK_LEARNED_STATE),
					(errmsg("neural_dag cost model of database %u is unreadable (%s)%s",
							dbid, ndag_strerror(rc),
							create ? ", starting a new one" : ""),
					 errhint("The next learning cycle or merge of the instant loop stores a new one.")));
		}
		else if (model->n_arms != LEARN_ARMS)
		{
			ndag_cost_free(model);
			model = NULL;
		}
		pfree(blob);
	}
	if (model == NULL && create)
	{
		model = ndag_cost_create(LEARN_ARMS, ndag_base_lora_rank,
								 ndag_micro_lora_rank, LEARN_MODEL_SEED);
		if (model == NULL)
			NdagEngineCheck(NDAG_ERR_NOMEM, "ndag_cost_create");
	}
	return model;
}

/*
 * NdagLearnLoadSelector
 *		The stored attention selector of a database (one context, one arm
 *		per mechanism); a new empty one when there is none or it is
 *		unreadable and create is set, else NULL.
 */
NdagUcb *
NdagLearnLoadSelector(Oid dbid, bool create)
{
	bytea	   *blob = NdagLearnModelGet(dbid, LEARN_SELECTOR_NAME);
	NdagUcb    *ucb = NULL;

	if (blob != NULL)
	{
		if (ndag_ucb_deserialize(VARDATA(blob), VARSIZE(blob) - VARHDRSZ,
								 &ucb) != NDAG_OK)
			ucb = NULL;
		else if (ucb->n_contexts != 1 || ucb->n_arms != NDAG_N_MECHANISMS)
		{
			ndag_ucb_free(ucb);
			ucb = NULL;
		}
		pfree(blob);
	}
	if (ucb == NULL && create)
	{
		ucb = ndag_ucb_create(1, NDAG_N_MECHANISMS, 0.0, 0.0);
		if (ucb == NULL)
			NdagEngineCheck(NDAG_ERR_NOMEM, "ndag_ucb_create");
	}
	return ucb;
}
