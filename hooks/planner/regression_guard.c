/*-------------------------------------------------------------------------
 *
 * regression_guard.c
 *	  What a recorded execution teaches the rewriter: the shared query
 *	  memory (default baseline, per-arm statistics, BTSP entries), the
 *	  regression guard's demotions and their record, the backend's cached
 *	  decision, the instant loop.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/timestamp.h"

#include "core/core.h"
#include "healing/selfheal.h"
#include "learning/learning.h"
#include "planner/planner.h"
#include "store.h"

/*
 * persist_demotion
 *		Append arm to a pattern record's demoted_arms and halve its
 *		confidence, in a write of its own with the generation bumped: the
 *		demotion is a fact about measured executions, so it must outlast a
 *		rollback of the user's transaction, and every backend's cached
 *		decisions must drop the arm now.  The learning cycle leaves
 *		demoted_arms alone.
 */
static void
persist_demotion(int64 pattern_id, int arm)
{
	const StoreSchema *schema = StoreGetSchema(STORE_DBI_PATTERNS);
	StoreValue *key = palloc0(sizeof(StoreValue) * schema->nfields);
	StoreValue *values = palloc0(sizeof(StoreValue) * schema->nfields);
	bool	   *changed = palloc0(sizeof(bool) * schema->nfields);
	int			f_demoted = StoreSchemaFieldIndex(schema, "demoted_arms");
	int			f_conf = StoreSchemaFieldIndex(schema, "confidence");
	int32	   *arms;
	int			n = 0;
	StoreBatch *batch;

	key[StoreSchemaFieldIndex(schema, "dbid")].v.oid = MyDatabaseId;
	key[StoreSchemaFieldIndex(schema, "pattern_id")].v.i8 = pattern_id;
	if (!StoreGet(STORE_DBI_PATTERNS, key, values, false))
		return;					/* evicted meanwhile */
	arms = palloc(sizeof(int32) * (values[f_demoted].isnull ? 1 : values[f_demoted].len + 1));
	if (!values[f_demoted].isnull)
	{
		memcpy(arms, values[f_demoted].data, sizeof(int32) * values[f_demoted].len);
		n = values[f_demoted].len;
	}
	for (int i = 0; i < n; i++)
		if (arms[i] == arm)
			return;
	arms[n++] = arm;
	values[f_demoted].isnull = false;
	values[f_demoted].data = arms;
	values[f_demoted].len = n;
	changed[f_demoted] = true;
	if (!values[f_conf].isnull)
	{
		values[f_conf].v.f8 *= 0.5;
		changed[f_conf] = true;
	}
	batch = StoreBatchCreate(CurrentMemoryContext);
	StoreBatchPatch(batch, STORE_DBI_PATTERNS, values, changed);
	StoreBatchBumpGeneration(batch);
	StoreBatchApply(batch);
}

/*
 * record_demotion
 *		The regression guard demoted an arm: an ndag_healing event and, for
 *		a pattern's arm, the pattern record.
 */
static void
record_demotion(uint64 query_id, const NdagDecision *d, double exec_ms,
				double baseline_ms)
{
	NdagHealEvent ev;
	const NdagArm *arm = NdagArmGet(d->arm);

	if (d->source == NDAG_DECISION_PATTERN && d->pattern_id != 0)
		persist_demotion(d->pattern_id, d->arm);

	memset(&ev, 0, sizeof(ev));
	ev.kind = "regressed_arm";
	ev.object = d->source == NDAG_DECISION_PATTERN ?
		psprintf("pattern %lld, query %lld", (long long) d->pattern_id,
				 (long long) query_id) :
		psprintf("query %lld", (long long) query_id);
	ev.detail = psprintf("arm %d (%s) from %s ran %.3f ms against a default baseline of %.3f ms, %s",
						 d->arm, arm ? arm->name : "disabled",
						 NdagDecisionSourceName(d->source), exec_ms, baseline_ms,
						 exec_ms > 2.0 * baseline_ms ? "more than 2x slower" :
						 "slower than 1.2x three times in a row");
	ev.action = psprintf("arm %d demoted for this %s", d->arm,
						 d->source == NDAG_DECISION_PATTERN ? "pattern" : "query");
	ev.status = "repaired";
	ev.at = GetCurrentTimestamp();
	ev.repair = NDAG_HEAL_NONE;
	NdagHealRecord(&ev);
}

/*
 * NdagDecisionObserve
 *		What one recorded execution under a decision teaches: the query
 *		memory (means, BTSP, regression guard, the veto of an arm measured
 *		not faster than the baseline), the cached decision, the instant
 *		loop.  A pattern's arm on a query without a default baseline is
 *		judged against the pattern's default-arm mean.  May raise errors
 *		(the caller catches them).
 */
void
NdagDecisionObserve(uint64 query_id, const NdagDecision *d, double exec_ms)
{
	NdagQueryObserved obs;
	double		predicted_default_ln = NAN;
	double		fallback = NAN;

	if (d->has_embedding)
		predicted_default_ln = NdagPredictLn(d->embedding, 0);
	if (d->source == NDAG_DECISION_PATTERN)
		fallback = d->baseline_ms;
	NdagQueryMemoryObserve(MyDatabaseId, query_id, d->arm, d->source, exec_ms,
						   predicted_default_ln, fallback, &obs);
	if (obs.demoted || obs.btsp_forgot || obs.btsp_stored || obs.vetoed ||
		d->source == NDAG_DECISION_EXPLORE)
		NdagCacheForget(query_id);
	else if (d->arm == 0 && exec_ms > ndag_min_latency)
	{
		NdagCacheEntry *entry = NdagCachePeek(query_id);

		/* a slow default makes the query worth exploring from now on */
		if (entry != NULL)
			entry->worth = true;
	}
	if (obs.demoted)
		record_demotion(query_id, d, exec_ms, obs.baseline_ms);
	if (d->has_embedding)
		NdagInstantLearn(d->context, d->mechanism, d->embedding, d->arm,
						 exec_ms);
}
