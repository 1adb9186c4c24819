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

/* a default run this many times off its class's median may be another class */
#define CLASS_DRIFT			4.0

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
 *		Paired runs proved an applied arm slower than the default plan (a
 *		proven arm on re-validation, or a pattern's arm): an ndag_healing
 *		event and, for a pattern's arm, the pattern record.
 */
static void
record_demotion(uint64 query_id, const NdagDecision *d,
				const NdagQueryObserved *obs)
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
	ev.detail = psprintf("arm %d (%s) from %s ran %.2fx the default plan's time over %d paired runs (median default %.3f ms)",
						 d->arm, arm ? arm->name : "disabled",
						 NdagDecisionSourceName(d->source),
						 obs->speedup > 0 ? 1.0 / obs->speedup : NAN,
						 obs->pairs, obs->baseline_ms);
	ev.action = psprintf("arm %d demoted for this %s", d->arm,
						 d->source == NDAG_DECISION_PATTERN ? "pattern" : "query");
	ev.status = "repaired";
	/* a proven arm's demotion is counted by the query memory */
	if (!obs->demoted)
		NdagRewriteCount(NDAG_RW_DEMOTIONS, 1);
	ev.at = GetCurrentTimestamp();
	ev.repair = NDAG_HEAL_NONE;
	NdagHealRecord(&ev);
}

/*
 * class_may_matter
 *		Whether a default run far from its class's median may be of a class
 *		decided apart: the statement is worth exploring, or this run took
 *		over ruvector.dag_min_latency.  A statement not worth it has one
 *		class (its parameter sets are not measured), so a short run that
 *		the machine's load made 4 times slower or faster than its median
 *		changes nothing to decide, and keeps its cached decision.
 */
static bool
class_may_matter(uint64 query_id, uint64 klass, double exec_ms)
{
	NdagCacheEntry *entry = NdagCachePeek(query_id, klass);

	return entry == NULL || entry->worth || exec_ms > ndag_min_latency;
}

/*
 * NdagDecisionObserve
 *		What one recorded execution under a decision teaches: the query
 *		memory (median default, pairs of arm runs with the default run
 *		before them, verdicts, demotions, BTSP candidates), the cached
 *		decision, the instant loop.  A default run far from its class's
 *		median drops the cached decision, so that the next planning checks
 *		the statement's parameter class.  May raise errors (the caller
 *		catches them).
 */
void
NdagDecisionObserve(uint64 query_id, const NdagDecision *d, double exec_ms)
{
	NdagQueryObserved obs;
	double		predicted_default_ln = NAN;

	/* the default plan's prediction: the decision's, else made now */
	if (isfinite(d->predicted_default_ms) && d->predicted_default_ms > 0)
		predicted_default_ln = log(d->predicted_default_ms);
	else if (d->has_embedding)
		predicted_default_ln = NdagPredictLn(d->embedding, 0);
	NdagQueryMemoryObserve(MyDatabaseId, query_id, d->klass, d->arm, exec_ms,
						   predicted_default_ln, &obs);
	if (obs.final_outcome != 0)
	{
		NdagRewriteCount(obs.final_outcome > 0 ? NDAG_RW_FINALS_WON :
						 NDAG_RW_FINALS_LOST, 1);
		elog(DEBUG1, "neural_dag: statement %lld class %016llx: arm %d %s its final against arm %d over %d pairs (speed-up %.2fx)",
			 (long long) query_id, (unsigned long long) d->klass, d->arm,
			 obs.final_outcome > 0 ? "won" : "lost", d->final_against,
			 obs.final_pairs, obs.final_speedup);
	}
	if (obs.proven || obs.refuted || obs.demoted || obs.reranked ||
		obs.final_outcome != 0 ||
		obs.btsp_stored ||
		obs.btsp_forgot || d->source == NDAG_DECISION_EXPLORE)
		NdagCacheForget(query_id);
	else if (d->arm == 0 && isfinite(obs.baseline_ms) &&
			 (exec_ms > CLASS_DRIFT * obs.baseline_ms ||
			  exec_ms * CLASS_DRIFT < obs.baseline_ms) &&
			 class_may_matter(query_id, d->klass, exec_ms))
		NdagCacheForget(query_id);
	else if (d->arm == 0 &&
			 (isfinite(obs.baseline_ms) ? obs.baseline_ms : exec_ms) > ndag_min_latency)
	{
		NdagCacheEntry *entry = NdagCachePeek(query_id, d->klass);

		/* a slow median default makes it worth exploring: decide anew */
		if (entry != NULL && !entry->worth)
			NdagCacheForget(query_id);
	}
	if (obs.demoted ||
		(obs.refuted && d->source == NDAG_DECISION_PATTERN && d->arm != 0 &&
		 ndag_regression_guard))
		record_demotion(query_id, d, &obs);
	if (d->has_embedding)
		NdagInstantLearn(d->context, d->mechanism, d->embedding, d->arm,
						 exec_ms);
}
