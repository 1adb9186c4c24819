/*-------------------------------------------------------------------------
 *
 * learn_store.c
 *	  Store access of the learning cycle: field helpers, the per-database
 *	  meta counters and models records, and writing a cycle's result (the
 *	  patterns, models and HDC snapshot of a database) in one batch.  The
 *	  layout of the state is described in learn_cycle.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "nodes/pg_list.h"
#include "utils/float.h"
#include "utils/timestamp.h"

#include "costmodel.h"
#include "engine.h"
#include "learn.h"
#include "patterns.h"
#include "ucb.h"
#include "compat/compat_backend.h"
#include "core/core.h"
#include "healing/selfheal.h"
#include "learning/learning.h"
#include "store.h"
#include "learning/learning_int.h"

/*
 * NdagLearnSeconds / NdagLearnTimestamp
 *		The engine's clock is seconds (double) since the PostgreSQL epoch.
 */
double
NdagLearnSeconds(TimestampTz ts)
{
	return (double) ts / USECS_PER_SEC;
}

TimestampTz
NdagLearnTimestamp(double s)
{
	return (TimestampTz) llround(s * USECS_PER_SEC);
}

/*
 * NdagLearnMetaGet / NdagLearnMetaPut
 *		The meta counter of a database, named "<prefix>:<dbid>" (default
 *		when absent), and queueing a new value in a batch.
 */
int64
NdagLearnMetaGet(const char *prefix, Oid dbid, int64 dflt)
{
	int64		value = dflt;

	(void) StoreMetaRead(psprintf("%s:%u", prefix, dbid), &value);
	return value;
}

void
NdagLearnMetaPut(StoreBatch *batch, const char *prefix, Oid dbid, int64 value)
{
	StoreBatchMetaPut(batch, psprintf("%s:%u", prefix, dbid), value);
}

/*
 * NdagLearnModelGet
 *		The state bytes of models record (dbid, name) as a palloc'd copy, or
 *		NULL.
 */
bytea *
NdagLearnModelGet(Oid dbid, const char *name)
{
	StoreValue *key = StoreRecordAlloc(STORE_DBI_MODELS);
	StoreValue *values = StoreRecordAlloc(STORE_DBI_MODELS);
	const StoreValue *state;
	StoreValue *v;
	bytea	   *out;

	StoreFieldSet(key, STORE_DBI_MODELS, "dbid")->v.oid = dbid;
	v = StoreFieldSet(key, STORE_DBI_MODELS, "name");
	v->data = name;
	v->len = strlen(name);
	if (!StoreGet(STORE_DBI_MODELS, key, values, false))
		return NULL;
	state = StoreFieldGet(values, STORE_DBI_MODELS, "state");
	if (state == NULL)
		return NULL;
	out = palloc(VARHDRSZ + state->len);
	SET_VARSIZE(out, VARHDRSZ + state->len);
	memcpy(VARDATA(out), state->data, state->len);
	return out;
}

/*
 * stored_index
 *		Position of a pattern id among the loaded records, or -1.
 */
static int
stored_index(LearnState *st, uint64_t id)
{
	ListCell   *lc;

	foreach(lc, st->stored_ids)
	{
		if (*(int64 *) lfirst(lc) == (int64) id)
			return foreach_current_index(lc);
	}
	return -1;
}

/*
 * NdagLearnCollectRelids
 *		Relations of each pattern after the cycle: those it had, and those
 *		of the new trajectories whose nearest pattern it is.
 */
void
NdagLearnCollectRelids(LearnState *st)
{
	NdagPatternBank *bank = st->bank;

	st->n_pattern_relids = bank->count;
	st->pattern_relids = palloc0(sizeof(List *) * Max(bank->count, 1));
	for (int i = 0; i < bank->count; i++)
	{
		int			s = stored_index(st, bank->patterns[i].id);

		if (s >= 0)
			st->pattern_relids[i] = list_copy(list_nth(st->stored_relids, s));
	}
	for (int t = 0; t < st->n_traj && bank->count > 0; t++)
	{
		NdagMatch	match;
		int			n_out = 0;

		if (st->traj[t].quality < ndag_quality_threshold)
			continue;
		NdagEngineCheck(ndag_match_exact(bank, st->traj[t].embedding, 1, &match,
										&n_out), "ndag_match_exact");
		if (n_out == 1)
			st->pattern_relids[match.index] =
				list_concat_unique_oid(st->pattern_relids[match.index],
									   st->traj_relids[t]);
	}
}

/*
 * put_model
 *		Queue models record (dbid, name).
 */
static void
put_model(StoreBatch *batch, Oid dbid, const char *name, const void *state,
		  size_t len, int64 parameters, int64 updates, double loss,
		  double lambda, int tasks, TimestampTz now)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_MODELS);
	StoreValue *v;

	StoreFieldSet(values, STORE_DBI_MODELS, "dbid")->v.oid = dbid;
	v = StoreFieldSet(values, STORE_DBI_MODELS, "name");
	v->data = name;
	v->len = strlen(name);
	StoreFieldSet(values, STORE_DBI_MODELS, "version")->v.i4 = 1;
	StoreFieldSet(values, STORE_DBI_MODELS, "parameters")->v.i8 = parameters;
	StoreFieldSet(values, STORE_DBI_MODELS, "updates")->v.i8 = updates;
	if (isfinite(loss))
		StoreFieldSet(values, STORE_DBI_MODELS, "loss")->v.f8 = loss;
	StoreFieldSet(values, STORE_DBI_MODELS, "lambda")->v.f8 = lambda;
	StoreFieldSet(values, STORE_DBI_MODELS, "tasks")->v.i4 = tasks;
	StoreFieldSet(values, STORE_DBI_MODELS, "trained_at")->v.ts = now;
	v = StoreFieldSet(values, STORE_DBI_MODELS, "state");
	v->data = state;
	v->len = len;
	StoreBatchPut(batch, STORE_DBI_MODELS, values);
}

/*
 * put_pattern
 *		Queue the patterns record of bank->patterns[i]: a new record for a
 *		new pattern; for one that was stored, a patch of the learned fields
 *		that leaves pinned, disabled and demoted_arms as they are when the
 *		batch is applied (a DBA's change made during the cycle stays) and
 *		does nothing if the DBA deleted the pattern meanwhile.
 */
static void
put_pattern(StoreBatch *batch, LearnState *st, int i)
{
	const NdagPattern *p = &st->bank->patterns[i];
	StoreValue *values = StoreRecordAlloc(STORE_DBI_PATTERNS);
	StoreValue *v;
	List	   *relids = st->pattern_relids[i];
	Oid		   *oids = palloc(sizeof(Oid) * Max(list_length(relids), 1));
	float8	   *stats = palloc(sizeof(float8) * 4 * LEARN_ARMS);
	int			n_stats = 0;
	int			s = stored_index(st, p->id);
	ListCell   *lc;

	StoreFieldSet(values, STORE_DBI_PATTERNS, "dbid")->v.oid = st->dbid;
	StoreFieldSet(values, STORE_DBI_PATTERNS, "pattern_id")->v.i8 = (int64) p->id;
	foreach(lc, relids)
		oids[foreach_current_index(lc)] = lfirst_oid(lc);
	v = StoreFieldSet(values, STORE_DBI_PATTERNS, "relids");
	v->data = oids;
	v->len = list_length(relids);
	v = StoreFieldSet(values, STORE_DBI_PATTERNS, "centroid");
	v->data = p->centroid;
	v->len = NDAG_EMBED_DIM;
	StoreFieldSet(values, STORE_DBI_PATTERNS, "best_arm")->v.i4 = p->best_arm;
	if (isfinite(p->gain))
		StoreFieldSet(values, STORE_DBI_PATTERNS, "gain")->v.f8 = p->gain;
	StoreFieldSet(values, STORE_DBI_PATTERNS, "confidence")->v.f8 = p->confidence;
	StoreFieldSet(values, STORE_DBI_PATTERNS, "support")->v.i8 = (int64) p->n_members;
	StoreFieldSet(values, STORE_DBI_PATTERNS, "uses")->v.i8 = (int64) p->uses;
	if (p->last_used > 0)
		StoreFieldSet(values, STORE_DBI_PATTERNS, "last_used")->v.ts = NdagLearnTimestamp(p->last_used);
	StoreFieldSet(values, STORE_DBI_PATTERNS, "pinned")->v.b = p->pinned;
	StoreFieldSet(values, STORE_DBI_PATTERNS, "disabled")->v.b = p->disabled;
	StoreFieldSet(values, STORE_DBI_PATTERNS, "created_at")->v.ts = NdagLearnTimestamp(p->created);
	for (int a = 0; a < LEARN_ARMS; a++)
	{
		const NdagArmStats *as = &p->arms[a];

		if (as->count == 0)
			continue;
		stats[n_stats++] = a;
		stats[n_stats++] = (double) as->count;
		stats[n_stats++] = as->mean_ln;
		stats[n_stats++] = as->m2_ln / (double) as->count;
	}
	v = StoreFieldSet(values, STORE_DBI_PATTERNS, "arm_stats");
	v->data = stats;
	v->len = n_stats;
	StoreFieldSet(values, STORE_DBI_PATTERNS, "quality_var")->v.f8 =
		p->n_members > 0 ? p->quality_m2 / (double) p->n_members : 0.0;
	if (s < 0)
		StoreBatchPut(batch, STORE_DBI_PATTERNS, values);
	else
	{
		const StoreSchema *schema = StoreGetSchema(STORE_DBI_PATTERNS);
		bool	   *changed = palloc(sizeof(bool) * schema->nfields);

		for (int f = 0; f < schema->nfields; f++)
			changed[f] = !values[f].isnull;
		for (int k = 0; k < schema->nkeys; k++)
			changed[schema->key_fields[k]] = false;
		changed[StoreFieldIndex(STORE_DBI_PATTERNS, "pinned")] = false;
		changed[StoreFieldIndex(STORE_DBI_PATTERNS, "disabled")] = false;
		changed[StoreFieldIndex(STORE_DBI_PATTERNS, "demoted_arms")] = false;
		changed[StoreFieldIndex(STORE_DBI_PATTERNS, "last_used")] = true;
		StoreBatchPatch(batch, STORE_DBI_PATTERNS, values, changed);
	}
}

/*
 * NdagLearnPutModelState
 *		Queue the new state of models record (dbid, name) outside a cycle
 *		(the learner's merge of instant-loop deltas): a patch of state,
 *		parameters, updates and trained_at when the record exists, so that
 *		the cycle's loss, lambda and tasks stay; a new record otherwise.
 */
void
NdagLearnPutModelState(StoreBatch *batch, Oid dbid, const char *name,
					   const void *state, size_t len, int64 parameters,
					   int64 updates, bool exists, TimestampTz now)
{
	StoreValue *values;
	StoreValue *v;
	bool	   *changed;
	const StoreSchema *schema = StoreGetSchema(STORE_DBI_MODELS);

	if (!exists)
	{
		put_model(batch, dbid, name, state, len, parameters, updates,
				  get_float8_nan(), 0, 0, now);
		return;
	}
	values = StoreRecordAlloc(STORE_DBI_MODELS);
	changed = palloc0(sizeof(bool) * schema->nfields);
	StoreFieldSet(values, STORE_DBI_MODELS, "dbid")->v.oid = dbid;
	v = StoreFieldSet(values, STORE_DBI_MODELS, "name");
	v->data = name;
	v->len = strlen(name);
	StoreFieldSet(values, STORE_DBI_MODELS, "parameters")->v.i8 = parameters;
	StoreFieldSet(values, STORE_DBI_MODELS, "updates")->v.i8 = updates;
	StoreFieldSet(values, STORE_DBI_MODELS, "trained_at")->v.ts = now;
	v = StoreFieldSet(values, STORE_DBI_MODELS, "state");
	v->data = state;
	v->len = len;
	changed[StoreFieldIndex(STORE_DBI_MODELS, "parameters")] = true;
	changed[StoreFieldIndex(STORE_DBI_MODELS, "updates")] = true;
	changed[StoreFieldIndex(STORE_DBI_MODELS, "trained_at")] = true;
	changed[StoreFieldIndex(STORE_DBI_MODELS, "state")] = true;
	StoreBatchPatch(batch, STORE_DBI_MODELS, values, changed);
}

/*
 * NdagLearnSelectorBytes
 *		The serialised selector (palloc'd) into *len; its total pulls into
 *		*pulls.
 */
char *
NdagLearnSelectorBytes(const NdagUcb *ucb, size_t *len, int64 *pulls)
{
	size_t		cap = ndag_ucb_serialized_size(ucb);
	char	   *buf = palloc(cap);

	NdagEngineCheck(ndag_ucb_serialize(ucb, buf, cap, len), "ndag_ucb_serialize");
	*pulls = 0;
	for (int i = 0; i < ucb->n_contexts * ucb->n_arms; i++)
		*pulls += (int64) ucb->pulls[i];
	return buf;
}

/*
 * NdagLearnWrite
 *		Everything the cycle changed, in one batch with the generation
 *		bumped.
 */
void
NdagLearnWrite(LearnState *st, const NdagLearnResult *res, NdagLearnSummary *sum,
			TimestampTz now)
{
	StoreBatch *batch = StoreBatchCreate(CurrentMemoryContext);
	size_t		psize = ndag_pattern_serialized_size();
	char	   *blob = palloc(psize * Max(st->bank->count, 1));
	size_t		len;
	size_t		written;
	char	   *buf;
	StoreValue *values;
	ListCell   *lc;

	/* stored patterns the cycle evicted go */
	foreach(lc, st->stored_ids)
	{
		int64		id = *(int64 *) lfirst(lc);

		if (ndag_bank_find(st->bank, (uint64_t) id) < 0)
		{
			values = StoreRecordAlloc(STORE_DBI_PATTERNS);
			StoreFieldSet(values, STORE_DBI_PATTERNS, "dbid")->v.oid = st->dbid;
			StoreFieldSet(values, STORE_DBI_PATTERNS, "pattern_id")->v.i8 = id;
			StoreBatchDelete(batch, STORE_DBI_PATTERNS, values);
		}
	}
	for (int i = 0; i < st->bank->count; i++)
	{
		put_pattern(batch, st, i);
		NdagEngineCheck(ndag_pattern_serialize(&st->bank->patterns[i],
											  blob + i * psize, psize, &written),
					   "ndag_pattern_serialize");
	}
	put_model(batch, st->dbid, "pattern_state", blob, psize * st->bank->count,
			  st->bank->count, 0, get_float8_nan(), 0, 0, now);

	len = ndag_cost_serialized_size(st->model);
	buf = palloc(len);
	NdagEngineCheck(ndag_cost_serialize(st->model, buf, len, &written),
				   "ndag_cost_serialize");
	put_model(batch, st->dbid, "cost_model", buf, written, st->model->n_params,
			  (int64) (st->model->instant_steps + st->model->base_steps),
			  res->trained > 0 && res->model_kept ? res->loss_after :
			  get_float8_nan(),
			  st->ewc->lambda, st->ewc->n_tasks, now);

	if (st->selector != NULL)
	{
		int64		pulls;

		buf = NdagLearnSelectorBytes(st->selector, &len, &pulls);
		put_model(batch, st->dbid, LEARN_SELECTOR_NAME, buf, len,
				  st->selector->n_arms, pulls, get_float8_nan(), 0, 0, now);
	}

	len = ndag_ewc_serialized_size(st->ewc);
	buf = palloc(len);
	NdagEngineCheck(ndag_ewc_serialize(st->ewc, buf, len, &written),
				   "ndag_ewc_serialize");
	put_model(batch, st->dbid, "ewc", buf, written, st->ewc->n,
			  (int64) st->ewc->fisher_updates, get_float8_nan(),
			  st->ewc->lambda, st->ewc->n_tasks, now);

	sum->snapshot_id = StoreNextId("next_snapshot_id");
	values = StoreRecordAlloc(STORE_DBI_HDC);
	StoreFieldSet(values, STORE_DBI_HDC, "dbid")->v.oid = st->dbid;
	StoreFieldSet(values, STORE_DBI_HDC, "snapshot_id")->v.i8 = sum->snapshot_id;
	StoreFieldSet(values, STORE_DBI_HDC, "taken_at")->v.ts = now;
	StoreFieldSet(values, STORE_DBI_HDC, "patterns")->v.i4 = st->bank->count;
	StoreFieldSet(values, STORE_DBI_HDC, "state")->data = res->snapshot.bytes;
	values[StoreFieldIndex(STORE_DBI_HDC, "state")].len = NDAG_HDC_BYTES;
	StoreBatchPut(batch, STORE_DBI_HDC, values);
	foreach(lc, st->old_snapshots)
	{
		values = StoreRecordAlloc(STORE_DBI_HDC);
		StoreFieldSet(values, STORE_DBI_HDC, "dbid")->v.oid = st->dbid;
		StoreFieldSet(values, STORE_DBI_HDC, "snapshot_id")->v.i8 = *(int64 *) lfirst(lc);
		StoreBatchDelete(batch, STORE_DBI_HDC, values);
	}

	NdagIndexMetaUpdate(batch, st->dbid, st->bank, st->last_traj_id);
	NdagLearnMetaPut(batch, "learned_traj", st->dbid, st->last_traj_id);
	NdagLearnMetaPut(batch, "next_pattern", st->dbid, (int64) st->bank->next_id);
	StoreBatchBumpGeneration(batch);
	StoreBatchApply(batch);
}

