/*-------------------------------------------------------------------------
 *
 * healing_patterns.c
 *	  The self-healing check's side of the learned patterns: the
 *	  regressed_pattern detector, and the repairs that patch patterns
 *	  (lower their confidence, demote an arm).
 *
 * A pattern regressed when its recent executions under its best arm are
 * slower than REGRESS_RATIO times what the default arm takes for the same
 * queries: over the pattern's last REGRESS_WINDOW trajectories under that
 * arm (those of queryIds the default arm also ran), the sum of their
 * latencies against the sum of the default arm's mean latency of each one's
 * queryId.  The repair demotes the arm for the pattern (appended to
 * demoted_arms, which the learning cycle leaves alone) and halves the
 * pattern's confidence; a demoted arm is not looked at again.  Without auto
 * repair a regression is recommended once: the meta store keeps
 * "healing_regressed:<dbid>:<pattern_id>" = the arm reported while the
 * pattern stays regressed, and forgets it when it no longer is.
 *
 * Repairs hold the learn lock, so that no learning cycle writes the
 * patterns between the read and the patch, and bump the generation so
 * that backends load the patched patterns.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/lwlock.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "core/core.h"
#include "healing/selfheal.h"
#include "store.h"

#define DEFAULT_ARM			0
#define REGRESS_WINDOW		100
#define REGRESS_MIN_RUNS	3	/* as the regression guard's 3 in a row */
#define REGRESS_RATIO		1.2
#define REGRESS_CONFIDENCE	0.5 /* confidence multiplier of a demotion */
#define REGRESSED_PREFIX	"healing_regressed"

/* a pattern and its recent trajectories under its best arm */
typedef struct PatternEntry
{
	int64		pattern_id;		/* hash key */
	int32		best_arm;
	bool		demoted;		/* best_arm is in demoted_arms already */
	int			n;				/* held, <= REGRESS_WINDOW */
	int			next;			/* ring position of the next one */
	double		exec_us[REGRESS_WINDOW];
	int64		query_id[REGRESS_WINDOW];
} PatternEntry;

/* the default arm's latencies of one queryId */
typedef struct DefaultEntry
{
	int64		query_id;		/* hash key */
	int64		n;
	double		sum_us;
} DefaultEntry;

/*
 * marker_name
 *		The name of a pattern's regression marker in the meta DBI.
 */
static char *
marker_name(int64 pattern_id)
{
	return psprintf("%s:%u:%lld", REGRESSED_PREFIX, MyDatabaseId,
					(long long) pattern_id);
}

/*
 * marker_get
 *		The arm a pattern's regression was reported for, or -1.
 */
static int
marker_get(int64 pattern_id)
{
	int64		arm = -1;

	(void) StoreMetaRead(marker_name(pattern_id), &arm);
	return (int) arm;
}

/*
 * load_patterns
 *		The patterns of this database with a best arm other than the
 *		default, into a hash table by id.
 */
static HTAB *
load_patterns(void)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_PATTERNS);
	int			f_id = StoreFieldIndex(STORE_DBI_PATTERNS, "pattern_id");
	int			f_best = StoreFieldIndex(STORE_DBI_PATTERNS, "best_arm");
	int			f_demoted = StoreFieldIndex(STORE_DBI_PATTERNS, "demoted_arms");
	HASHCTL		ctl;
	HTAB	   *htab;
	StoreScan  *scan;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(PatternEntry);
	ctl.hcxt = CurrentMemoryContext;
	htab = hash_create("neural_dag regressed patterns", 64, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	scan = StoreScanBegin(STORE_DBI_PATTERNS, MyDatabaseId, NULL, false);
	while (StoreScanNext(scan, values))
	{
		int64		id = values[f_id].v.i8;
		PatternEntry *e;

		if (values[f_best].isnull || values[f_best].v.i4 == DEFAULT_ARM)
			continue;
		e = hash_search(htab, &id, HASH_ENTER, NULL);
		e->best_arm = values[f_best].v.i4;
		e->demoted = false;
		e->n = 0;
		e->next = 0;
		for (uint32 i = 0; !values[f_demoted].isnull && i < values[f_demoted].len; i++)
		{
			int32		arm;

			memcpy(&arm, (const char *) values[f_demoted].data + i * sizeof(int32),
				   sizeof(int32));
			if (arm == e->best_arm)
				e->demoted = true;
		}
	}
	StoreScanEnd(scan);
	pfree(values);
	return htab;
}

/*
 * regressed_event
 *		The regressed_pattern event of one pattern, or NULL when its recent
 *		executions under its best arm are not slower than REGRESS_RATIO
 *		times the default arm's for the same queries.
 */
static NdagHealEvent *
regressed_event(const PatternEntry *e, HTAB *defaults)
{
	double		actual = 0;
	double		expected = 0;
	int			runs = 0;
	NdagHealEvent *ev;

	for (int i = 0; i < e->n; i++)
	{
		DefaultEntry *d = hash_search(defaults, &e->query_id[i], HASH_FIND, NULL);

		if (d == NULL || d->n == 0)
			continue;
		actual += e->exec_us[i];
		expected += d->sum_us / d->n;
		runs++;
	}
	if (runs < REGRESS_MIN_RUNS || expected <= 0 ||
		actual <= REGRESS_RATIO * expected)
		return NULL;

	ev = palloc0(sizeof(NdagHealEvent));
	ev->kind = "regressed_pattern";
	ev->object = psprintf("pattern %lld", (long long) e->pattern_id);
	ev->detail = psprintf("last %d executions under its best arm %d: mean %.3f ms, %.2fx the default arm's mean %.3f ms for the same queries (threshold %.1fx)",
						  runs, e->best_arm, actual / runs / 1000.0,
						  actual / expected, expected / runs / 1000.0,
						  REGRESS_RATIO);
	ev->action = psprintf("demote arm %d for pattern %lld (demoted_arms) and halve its confidence",
						  e->best_arm, (long long) e->pattern_id);
	ev->repair = NDAG_HEAL_DEMOTE;
	ev->pattern_ids = palloc(sizeof(int64));
	ev->pattern_ids[0] = e->pattern_id;
	ev->npatterns = 1;
	ev->arm = e->best_arm;
	ev->factor = REGRESS_CONFIDENCE;
	ev->at = GetCurrentTimestamp();
	return ev;
}

/*
 * NdagHealDetectRegressed
 *		The regressed_pattern detector of the current database: one event
 *		per pattern whose best arm (not yet demoted) regressed, unless, auto
 *		repair being off, it was recommended already since it did.  Runs in
 *		a transaction.
 */
List *
NdagHealDetectRegressed(const NdagHealParams *params)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_TRAJECTORIES);
	int			f_pattern = StoreFieldIndex(STORE_DBI_TRAJECTORIES, "pattern_id");
	int			f_arm = StoreFieldIndex(STORE_DBI_TRAJECTORIES, "arm");
	int			f_qid = StoreFieldIndex(STORE_DBI_TRAJECTORIES, "query_id");
	int			f_exec = StoreFieldIndex(STORE_DBI_TRAJECTORIES, "exec_us");
	HTAB	   *patterns = load_patterns();
	HTAB	   *defaults;
	HASHCTL		ctl;
	HASH_SEQ_STATUS seq;
	PatternEntry *e;
	StoreScan  *scan;
	StoreBatch *batch = StoreBatchCreate(CurrentMemoryContext);
	List	   *events = NIL;

	if (hash_get_num_entries(patterns) == 0)
		return NIL;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(DefaultEntry);
	ctl.hcxt = CurrentMemoryContext;
	defaults = hash_create("neural_dag default latencies", 256, &ctl,
						   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	/* traj_id order is recording order: the ring keeps the newest */
	scan = StoreScanBegin(STORE_DBI_TRAJECTORIES, MyDatabaseId, NULL, false);
	while (StoreScanNext(scan, values))
	{
		int64		qid;

		if (values[f_arm].isnull || values[f_exec].isnull ||
			values[f_qid].isnull || values[f_qid].v.i8 == 0)
			continue;
		qid = values[f_qid].v.i8;
		if (values[f_arm].v.i4 == DEFAULT_ARM)
		{
			bool		found;
			DefaultEntry *d = hash_search(defaults, &qid, HASH_ENTER, &found);

			if (!found)
			{
				d->n = 0;
				d->sum_us = 0;
			}
			d->n++;
			d->sum_us += values[f_exec].v.f8;
			continue;
		}
		if (values[f_pattern].isnull)
			continue;
		e = hash_search(patterns, &values[f_pattern].v.i8, HASH_FIND, NULL);
		if (e == NULL || e->best_arm != values[f_arm].v.i4)
			continue;
		e->exec_us[e->next] = values[f_exec].v.f8;
		e->query_id[e->next] = qid;
		e->next = (e->next + 1) % REGRESS_WINDOW;
		e->n = Min(e->n + 1, REGRESS_WINDOW);
	}
	StoreScanEnd(scan);

	hash_seq_init(&seq, patterns);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		NdagHealEvent *ev = e->demoted ? NULL : regressed_event(e, defaults);
		int			reported = marker_get(e->pattern_id);

		if (ev == NULL)
		{
			if (reported >= 0)
				StoreBatchMetaDelete(batch, marker_name(e->pattern_id));
			continue;
		}
		if (reported == e->best_arm && !params->auto_repair)
			continue;			/* recommended already, nothing changed */
		events = lappend(events, ev);
		StoreBatchMetaPut(batch, marker_name(e->pattern_id), e->best_arm);
	}
	if (StoreBatchLength(batch) > 0)
		StoreBatchApply(batch);
	hash_destroy(defaults);
	hash_destroy(patterns);
	pfree(values);
	return events;
}

/*
 * patch_pattern
 *		Queue the patch of one pattern: confidence times factor and, with
 *		arm >= 0, arm appended to demoted_arms.  Appends what it did to out;
 *		false if the pattern is gone.
 */
static bool
patch_pattern(StoreBatch *batch, int64 pattern_id, double factor, int arm,
			  StringInfo out)
{
	const StoreSchema *schema = StoreGetSchema(STORE_DBI_PATTERNS);
	StoreValue *key = StoreRecordAlloc(STORE_DBI_PATTERNS);
	StoreValue *values = StoreRecordAlloc(STORE_DBI_PATTERNS);
	StoreValue *rec = StoreRecordAlloc(STORE_DBI_PATTERNS);
	bool	   *changed = palloc0(sizeof(bool) * schema->nfields);
	int			f_conf = StoreFieldIndex(STORE_DBI_PATTERNS, "confidence");
	int			f_demoted = StoreFieldIndex(STORE_DBI_PATTERNS, "demoted_arms");
	double		before;

	StoreFieldSet(key, STORE_DBI_PATTERNS, "dbid")->v.oid = MyDatabaseId;
	StoreFieldSet(key, STORE_DBI_PATTERNS, "pattern_id")->v.i8 = pattern_id;
	if (!StoreGet(STORE_DBI_PATTERNS, key, values, false))
	{
		appendStringInfo(out, "%lld (gone)", (long long) pattern_id);
		return false;
	}
	StoreFieldSet(rec, STORE_DBI_PATTERNS, "dbid")->v.oid = MyDatabaseId;
	StoreFieldSet(rec, STORE_DBI_PATTERNS, "pattern_id")->v.i8 = pattern_id;
	before = values[f_conf].isnull ? 0.0 : values[f_conf].v.f8;
	StoreFieldSet(rec, STORE_DBI_PATTERNS, "confidence")->v.f8 = before * factor;
	changed[f_conf] = true;
	if (arm >= 0)
	{
		uint32		n = values[f_demoted].isnull ? 0 : values[f_demoted].len;
		int32	   *arms = palloc(sizeof(int32) * (n + 1));
		bool		present = false;
		StoreValue *v;

		if (n > 0)
			memcpy(arms, values[f_demoted].data, sizeof(int32) * n);
		for (uint32 i = 0; i < n; i++)
			present |= (arms[i] == arm);
		if (!present)
			arms[n++] = arm;
		v = StoreFieldSet(rec, STORE_DBI_PATTERNS, "demoted_arms");
		v->data = arms;
		v->len = n;
		changed[f_demoted] = true;
		appendStringInfo(out, "%lld (arm %d demoted, confidence %.3f -> %.3f)",
						 (long long) pattern_id, arm, before, before * factor);
	}
	else
		appendStringInfo(out, "%lld (%.3f -> %.3f)", (long long) pattern_id,
						 before, before * factor);
	StoreBatchPatch(batch, STORE_DBI_PATTERNS, rec, changed);
	return true;
}

/*
 * NdagHealPatchPatterns
 *		The repair of a pattern_index or regressed_pattern event: patch its
 *		patterns in one batch that bumps the generation, under the learn
 *		lock.  Returns the action done.
 */
char *
NdagHealPatchPatterns(const NdagHealEvent *event)
{
	LWLock	   *lock = NdagLearnLock();
	StringInfoData out;
	int			arm = event->repair == NDAG_HEAL_DEMOTE ? event->arm : -1;

	initStringInfo(&out);
	appendStringInfoString(&out, arm >= 0 ? "demoted: pattern " :
						   "confidence lowered until the next learning cycle: patterns ");
	LWLockAcquire(lock, LW_EXCLUSIVE);
	PG_TRY();
	{
		StoreBatch *batch = StoreBatchCreate(CurrentMemoryContext);
		int			patched = 0;

		for (int i = 0; i < event->npatterns; i++)
		{
			if (i > 0)
				appendStringInfoString(&out, ", ");
			if (patch_pattern(batch, event->pattern_ids[i], event->factor, arm,
							  &out))
				patched++;
		}
		if (patched > 0)
		{
			StoreBatchBumpGeneration(batch);
			StoreBatchApply(batch);
		}
	}
	PG_FINALLY();
	{
		LWLockRelease(lock);
	}
	PG_END_TRY();
	return out.data;
}
