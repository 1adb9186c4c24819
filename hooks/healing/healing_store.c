/*-------------------------------------------------------------------------
 *
 * healing_store.c
 *	  The self-healing check's side of the store: the detectors that read
 *	  it (latency drift, trajectory budget, stale reader slots), the
 *	  unused-index baselines, the summary of a table's learned patterns,
 *	  the healing events and the trimming of trajectories.
 *
 * Everything here runs in a healer worker connected to one database
 * (MyDatabaseId), inside a transaction of that worker.
 *
 * The idx_scan baselines of the unused-index detector live in the meta
 * store under names "healing_idx:<dbid>:<index oid>" (the counter) and
 * "healing_idx_at:<dbid>:<index oid>" (when it was last seen to change);
 * "healing_idx_reported:<dbid>:<index oid>" is the baseline time of the
 * last report, so that an index is reported once until it is scanned.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/lwlock.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "healing.h"
#include "core/core.h"
#include "healing/selfheal.h"
#include "store.h"

#define EVENT_COUNTER		"next_event_id"

/* latency drift: window per queryId and the thresholds of the issue */
#define DRIFT_WINDOW		100
#define DRIFT_MIN_RUNS		20
#define DRIFT_Z				3.0
#define DRIFT_RATIO			1.1

/* the last DRIFT_WINDOW exec_us of one queryId, as a ring */
typedef struct DriftEntry
{
	int64		query_id;		/* hash key */
	int			n;				/* values held, <= DRIFT_WINDOW */
	int			next;			/* ring position of the next value */
	double		exec_us[DRIFT_WINDOW];
} DriftEntry;

/*
 * null_values
 *		Set n values to null.
 */
static void
null_values(StoreValue *values, int n)
{
	memset(values, 0, sizeof(StoreValue) * n);
	for (int i = 0; i < n; i++)
		values[i].isnull = true;
}

/*
 * set_text
 *		Point a text value at a NUL-terminated string.
 */
static void
set_text(StoreValue *v, const char *s)
{
	v->isnull = false;
	v->data = s;
	v->len = strlen(s);
}

/*
 * NdagHealEnabledRelids
 *		The relations of this database enabled for learning (an OID list).
 */
List *
NdagHealEnabledRelids(void)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_TABLES);
	int			relid = StoreFieldIndex(STORE_DBI_TABLES, "relid");
	List	   *result = NIL;
	StoreScan  *scan;

	scan = StoreScanBegin(STORE_DBI_TABLES, MyDatabaseId, NULL, false);
	while (StoreScanNext(scan, values))
		result = lappend_oid(result, values[relid].v.oid);
	StoreScanEnd(scan);
	return result;
}

/*
 * NdagHealPatternSummary
 *		Append to out what the learned patterns of this database say about
 *		a table: how many involve it and whether any regressed (an arm was
 *		demoted after it turned out slower), with the lowest confidence.
 */
void
NdagHealPatternSummary(Oid relid, StringInfo out)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_PATTERNS);
	int			relids = StoreFieldIndex(STORE_DBI_PATTERNS, "relids");
	int			demoted = StoreFieldIndex(STORE_DBI_PATTERNS, "demoted_arms");
	int			confidence = StoreFieldIndex(STORE_DBI_PATTERNS, "confidence");
	int			n = 0;
	int			regressed = 0;
	double		min_confidence = 1.0;
	StoreScan  *scan;

	scan = StoreScanBegin(STORE_DBI_PATTERNS, MyDatabaseId, NULL, false);
	while (StoreScanNext(scan, values))
	{
		bool		found = false;

		if (values[relids].isnull)
			continue;
		for (uint32 i = 0; i < values[relids].len && !found; i++)
		{
			Oid			oid;

			memcpy(&oid, (const char *) values[relids].data + i * sizeof(Oid),
				   sizeof(Oid));
			found = (oid == relid);
		}
		if (!found)
			continue;
		n++;
		if (!values[demoted].isnull && values[demoted].len > 0)
			regressed++;
		if (!values[confidence].isnull)
			min_confidence = Min(min_confidence, values[confidence].v.f8);
	}
	StoreScanEnd(scan);
	pfree(values);

	if (n == 0)
		appendStringInfoString(out, "; learned patterns on the table: none");
	else
		appendStringInfo(out, "; learned patterns on the table: %d, regressed (arms demoted): %d, lowest confidence %.3f",
						 n, regressed, min_confidence);
}

/*
 * NdagHealIndexBaseline
 *		Compare an index's idx_scan with its recorded baseline.  Returns
 *		true, with *since the time the baseline was recorded, when the
 *		counter has not moved since; otherwise records the current value
 *		as the new baseline (first sight, scans since, or statistics reset)
 *		and returns false.
 */
bool
NdagHealIndexBaseline(Oid indexoid, int64 idx_scan, int64 *since)
{
	char		scan_name[64];
	char		at_name[64];
	int64		base;
	int64		at;
	StoreBatch *batch;

	snprintf(scan_name, sizeof(scan_name), "healing_idx:%u:%u",
			 MyDatabaseId, indexoid);
	snprintf(at_name, sizeof(at_name), "healing_idx_at:%u:%u",
			 MyDatabaseId, indexoid);
	if (StoreMetaRead(scan_name, &base) && StoreMetaRead(at_name, &at) &&
		base == idx_scan)
	{
		*since = at;
		return true;
	}

	batch = StoreBatchCreate(CurrentMemoryContext);
	StoreBatchMetaPut(batch, scan_name, idx_scan);
	StoreBatchMetaPut(batch, at_name, (int64) GetCurrentTimestamp());
	StoreBatchApply(batch);
	return false;
}

/*
 * NdagHealIndexReported
 *		Whether an unused index was reported already for the baseline
 *		recorded at since; if not, remember that it is now.  A baseline
 *		changes when the index is scanned or the statistics are reset, so
 *		an index is reported once per stretch of disuse.
 */
bool
NdagHealIndexReported(Oid indexoid, int64 since)
{
	char		name[64];
	int64		reported;
	StoreBatch *batch;

	snprintf(name, sizeof(name), "healing_idx_reported:%u:%u",
			 MyDatabaseId, indexoid);
	if (StoreMetaRead(name, &reported) && reported == since)
		return true;
	batch = StoreBatchCreate(CurrentMemoryContext);
	StoreBatchMetaPut(batch, name, since);
	StoreBatchApply(batch);
	return false;
}

/*
 * drift_event
 *		The latency_drift event of one queryId's window, or NULL if its
 *		latency did not drift (ndag_heal_drift: the newest execution's
 *		z-score against the ones before it, the newer half's mean against
 *		the older half's).
 */
static NdagHealEvent *
drift_event(const DriftEntry *e)
{
	double		v[DRIFT_WINDOW];
	int			n = e->n;
	NdagDrift	d;
	NdagHealEvent *ev;

	if (n < DRIFT_MIN_RUNS)
		return NULL;
	/* oldest first */
	for (int i = 0; i < n; i++)
		v[i] = e->exec_us[(e->next - n + i + DRIFT_WINDOW) % DRIFT_WINDOW];
	if (ndag_heal_drift(v, n, DRIFT_Z, DRIFT_RATIO, &d) != NDAG_OK || !d.drifted)
		return NULL;

	ev = palloc0(sizeof(NdagHealEvent));
	ev->kind = "latency_drift";
	ev->object = psprintf("query_id %lld", (long long) e->query_id);
	ev->detail = psprintf("last %d executions: newest %.1f us, z-score %.2f against mean %.1f us (sd %.1f); newer half mean %.1f us = %.2fx the older half %.1f us",
						  n, d.newest, d.z, d.mean, d.sd, d.newer_mean,
						  d.ratio, d.older_mean);
	ev->action = pstrdup("re-learn: the plan choices for this query should be measured again");
	ev->repair = NDAG_HEAL_NONE;
	ev->status = "recommended";
	ev->at = GetCurrentTimestamp();
	return ev;
}

/*
 * detect_latency_drift
 *		One event per queryId of this database whose latency drifted over
 *		its last DRIFT_WINDOW recorded executions (traj_id order is
 *		recording order).
 */
static List *
detect_latency_drift(void)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_TRAJECTORIES);
	int			qid = StoreFieldIndex(STORE_DBI_TRAJECTORIES, "query_id");
	int			exec = StoreFieldIndex(STORE_DBI_TRAJECTORIES, "exec_us");
	HASHCTL		ctl;
	HTAB	   *htab;
	HASH_SEQ_STATUS seq;
	DriftEntry *e;
	StoreScan  *scan;
	List	   *events = NIL;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(DriftEntry);
	ctl.hcxt = CurrentMemoryContext;
	htab = hash_create("neural_dag latency drift", 256, &ctl,
					   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	scan = StoreScanBegin(STORE_DBI_TRAJECTORIES, MyDatabaseId, NULL, false);
	while (StoreScanNext(scan, values))
	{
		int64		query_id;
		bool		found;

		if (values[qid].isnull || values[exec].isnull || values[qid].v.i8 == 0)
			continue;
		query_id = values[qid].v.i8;
		e = hash_search(htab, &query_id, HASH_ENTER, &found);
		if (!found)
		{
			e->n = 0;
			e->next = 0;
		}
		e->exec_us[e->next] = values[exec].v.f8;
		e->next = (e->next + 1) % DRIFT_WINDOW;
		e->n = Min(e->n + 1, DRIFT_WINDOW);
	}
	StoreScanEnd(scan);

	hash_seq_init(&seq, htab);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		NdagHealEvent *ev = drift_event(e);

		if (ev != NULL)
			events = lappend(events, ev);
	}
	hash_destroy(htab);
	pfree(values);
	return events;
}

/*
 * count_trajectories
 *		The trajectories of this database in the store.
 */
static int64
count_trajectories(void)
{
	return (int64) StoreScanCount(StoreScanBegin(STORE_DBI_TRAJECTORIES,
												 MyDatabaseId, NULL, false));
}

/*
 * detect_trajectory_budget
 *		An event if this database keeps more trajectories than
 *		ruvector.dag_max_trajectories (possible after that setting was
 *		lowered: the learner trims only when it writes new ones).
 */
static List *
detect_trajectory_budget(void)
{
	int64		count = count_trajectories();
	NdagHealEvent *ev;

	if (count <= ndag_max_trajectories)
		return NIL;
	ev = palloc0(sizeof(NdagHealEvent));
	ev->kind = "trajectory_budget";
	ev->object = pstrdup("trajectories");
	ev->detail = psprintf("%lld trajectories stored, budget (ruvector.dag_max_trajectories) %d",
						  (long long) count, ndag_max_trajectories);
	ev->action = psprintf("trim the oldest %lld trajectories and their nodes",
						  (long long) (count - ndag_max_trajectories));
	ev->repair = NDAG_HEAL_TRIM;
	ev->keep = ndag_max_trajectories;
	ev->at = GetCurrentTimestamp();
	return list_make1(ev);
}

/*
 * detect_stale_readers
 *		Reader slots of the LMDB environment held by dead processes.  Every
 *		process clears them when it opens the environment, so the slots
 *		this healer's own open cleared are reported as repaired (whatever
 *		auto repair says: opening always does it), and those of processes
 *		that died since are found and cleared as a repair.
 */
static List *
detect_stale_readers(void)
{
	int			cleared = StoreReadersClearedAtOpen();
	int			stale = StoreStaleReaders();
	List	   *events = NIL;
	NdagHealEvent *ev;

	if (cleared > 0)
	{
		ev = palloc0(sizeof(NdagHealEvent));
		ev->kind = "stale_readers";
		ev->object = pstrdup(StoreDirectory());
		ev->detail = psprintf("%d reader slots were held by processes that no longer exist",
							  cleared);
		ev->action = pstrdup("cleared when the check opened the store (mdb_reader_check)");
		ev->repair = NDAG_HEAL_NONE;
		ev->status = "repaired";
		ev->at = GetCurrentTimestamp();
		events = lappend(events, ev);
	}
	if (stale > 0)
	{
		ev = palloc0(sizeof(NdagHealEvent));
		ev->kind = "stale_readers";
		ev->object = pstrdup(StoreDirectory());
		ev->detail = psprintf("%d reader slots held by processes that no longer exist",
							  stale);
		ev->action = pstrdup("clear them (mdb_reader_check)");
		ev->repair = NDAG_HEAL_READERS;
		ev->at = GetCurrentTimestamp();
		events = lappend(events, ev);
	}
	return events;
}

/*
 * NdagHealDetectStore
 *		The findings of the detectors that read the store.
 */
List *
NdagHealDetectStore(const NdagHealParams *params)
{
	List	   *events = NIL;

	events = list_concat(events, detect_stale_readers());
	events = list_concat(events, detect_trajectory_budget());
	events = list_concat(events, detect_latency_drift());
	events = list_concat(events, NdagHealDetectPatternIndex());
	events = list_concat(events, NdagHealDetectRegressed(params));
	return events;
}

/*
 * NdagHealEventCounter
 *		The event id the next recorded event will get (ids below it are
 *		taken).
 */
int64
NdagHealEventCounter(void)
{
	int64		value;

	if (!StoreMetaRead(EVENT_COUNTER, &value))
		return 1;
	return value;
}

/*
 * NdagHealRecord
 *		Write one event of this database into the healing store.
 */
void
NdagHealRecord(const NdagHealEvent *event)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_HEALING);
	StoreBatch *batch;

	StoreFieldSet(values, STORE_DBI_HEALING, "dbid")->v.oid = MyDatabaseId;
	StoreFieldSet(values, STORE_DBI_HEALING, "event_id")->v.i8 = StoreNextId(EVENT_COUNTER);
	StoreFieldSet(values, STORE_DBI_HEALING, "at")->v.ts = (TimestampTz) event->at;
	set_text(StoreFieldSet(values, STORE_DBI_HEALING, "kind"), event->kind);
	set_text(StoreFieldSet(values, STORE_DBI_HEALING, "object"), event->object);
	set_text(StoreFieldSet(values, STORE_DBI_HEALING, "detail"), event->detail);
	set_text(StoreFieldSet(values, STORE_DBI_HEALING, "action"), event->action);
	set_text(StoreFieldSet(values, STORE_DBI_HEALING, "status"), event->status);
	if (event->has_duration)
		StoreFieldSet(values, STORE_DBI_HEALING, "duration_ms")->v.f8 = event->duration_ms;

	batch = StoreBatchCreate(CurrentMemoryContext);
	StoreBatchPut(batch, STORE_DBI_HEALING, values);
	StoreBatchApply(batch);
	pfree(values);
}

/*
 * trim_oldest
 *		Queue the deletion of this database's oldest trajectories (and of
 *		their nodes) so that keep remain; returns how many are deleted.
 */
static int64
trim_oldest(StoreBatch *batch, int64 keep)
{
	const StoreSchema *tschema = StoreGetSchema(STORE_DBI_TRAJECTORIES);
	const StoreSchema *nschema = StoreGetSchema(STORE_DBI_NODES);
	StoreValue *values = palloc(sizeof(StoreValue) *
								Max(tschema->nfields, nschema->nfields));
	int			tid = StoreFieldIndex(STORE_DBI_TRAJECTORIES, "traj_id");
	int			ntid = StoreFieldIndex(STORE_DBI_NODES, "traj_id");
	int			nnid = StoreFieldIndex(STORE_DBI_NODES, "node_id");
	int64		count = count_trajectories();
	int64		excess = count - keep;
	int64		last = 0;
	int64		done = 0;
	StoreKeyRange range;
	StoreScan  *scan;

	if (excess <= 0)
		return 0;

	/* traj_id order is age order: the first excess ones go */
	scan = StoreScanBegin(STORE_DBI_TRAJECTORIES, MyDatabaseId, NULL, false);
	while (done < excess && StoreScanNext(scan, values))
	{
		StoreValue	key[32];

		Assert(tschema->nfields <= (int) lengthof(key));
		last = values[tid].v.i8;
		null_values(key, tschema->nfields);
		StoreFieldSet(key, STORE_DBI_TRAJECTORIES, "dbid")->v.oid = MyDatabaseId;
		StoreFieldSet(key, STORE_DBI_TRAJECTORIES, "traj_id")->v.i8 = last;
		StoreBatchDelete(batch, STORE_DBI_TRAJECTORIES, key);
		done++;
	}
	StoreScanEnd(scan);

	/* nodes are keyed by traj_id too: all of them up to the last trimmed */
	memset(&range, 0, sizeof(range));
	range.has_upper = true;
	range.upper_inclusive = true;
	range.upper.v.i8 = last;
	scan = StoreScanBegin(STORE_DBI_NODES, MyDatabaseId, &range, false);
	while (StoreScanNext(scan, values))
	{
		StoreValue	key[32];

		Assert(nschema->nfields <= (int) lengthof(key));
		null_values(key, nschema->nfields);
		StoreFieldSet(key, STORE_DBI_NODES, "dbid")->v.oid = MyDatabaseId;
		StoreFieldSet(key, STORE_DBI_NODES, "traj_id")->v.i8 = values[ntid].v.i8;
		StoreFieldSet(key, STORE_DBI_NODES, "node_id")->v.i4 = values[nnid].v.i4;
		StoreBatchDelete(batch, STORE_DBI_NODES, key);
	}
	StoreScanEnd(scan);
	pfree(values);
	return done;
}

/*
 * NdagHealTrim
 *		Delete the oldest trajectories of this database so that keep
 *		remain; returns how many were deleted.  Holds the flush lock so that
 *		no drain of the ring writes or trims at the same time.
 */
int64
NdagHealTrim(int64 keep)
{
	LWLock	   *lock = NdagFlushLock();
	volatile int64 done = 0;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	PG_TRY();
	{
		StoreBatch *batch = StoreBatchCreate(CurrentMemoryContext);

		done = trim_oldest(batch, keep);
		StoreBatchApply(batch);
	}
	PG_FINALLY();
	{
		LWLockRelease(lock);
	}
	PG_END_TRY();
	return done;
}

/*
 * NdagHealTrimEvents
 *		Delete the oldest healing events of this database so that at most
 *		keep remain (periodic checks repeat their recommendations, which
 *		would otherwise grow the store without end); returns how many.
 */
int64
NdagHealTrimEvents(int64 keep)
{
	const StoreSchema *schema = StoreGetSchema(STORE_DBI_HEALING);
	StoreValue *values = StoreRecordAlloc(STORE_DBI_HEALING);
	StoreValue *key = StoreRecordAlloc(STORE_DBI_HEALING);
	int			eid = StoreFieldIndex(STORE_DBI_HEALING, "event_id");
	int64		excess;
	int64		done = 0;
	StoreBatch *batch;
	StoreScan  *scan;

	excess = (int64) StoreScanCount(StoreScanBegin(STORE_DBI_HEALING,
												   MyDatabaseId, NULL,
												   false)) - keep;
	if (excess <= 0)
		return 0;

	batch = StoreBatchCreate(CurrentMemoryContext);
	scan = StoreScanBegin(STORE_DBI_HEALING, MyDatabaseId, NULL, false);
	while (done < excess && StoreScanNext(scan, values))
	{
		null_values(key, schema->nfields);
		StoreFieldSet(key, STORE_DBI_HEALING, "dbid")->v.oid = MyDatabaseId;
		StoreFieldSet(key, STORE_DBI_HEALING, "event_id")->v.i8 = values[eid].v.i8;
		StoreBatchDelete(batch, STORE_DBI_HEALING, key);
		done++;
	}
	StoreScanEnd(scan);
	StoreBatchApply(batch);
	return done;
}
