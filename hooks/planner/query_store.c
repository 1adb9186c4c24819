/*-------------------------------------------------------------------------
 *
 * query_store.c
 *	  The plan rewriter's per-statement memory in the store (DBI
 *	  "queries", foreign table ndag_queries): flushed from shared memory
 *	  by the learner, before every scan of ndag_queries and at the
 *	  learner's clean shutdown; loaded into shared memory one statement
 *	  class at a time, when a planning finds nothing of it there (after a
 *	  restart or an eviction).  The DBA's controls (pinned_arm,
 *	  forbidden_arms, frozen) are written by UPDATE through the foreign
 *	  table only: a flush patches the other fields of a stored record, so
 *	  it never undoes an edit, and a committed edit (or DELETE, or reset)
 *	  is carried into shared memory by the commit hook here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "storage/lwlock.h"
#include "utils/memutils.h"

#include "core/core.h"
#include "planner/planner.h"
#include "store.h"

/* the fields a flush writes into a stored record: all but key and controls */
static const char *const flushed_fields[] = {
	"decision", "decision_source", "default_median_ms", "best_arm",
	"best_arm_median_ms", "runs_per_arm", "demoted_arms", "last_used", "state"
};

static StorePendingCommitHook prev_pending_commit_hook = NULL;
static StoreReplayHook prev_replay_hook = NULL;

/*
 * mask_array
 *		The arm ids of a mask as an int4 array value (palloc'd).
 */
static void
mask_array(uint64 mask, StoreValue *v)
{
	int32	   *ids = palloc(sizeof(int32) * NDAG_MAX_ARMS);
	int			n = 0;

	for (int arm = 0; arm < NDAG_MAX_ARMS; arm++)
		if ((mask & (UINT64CONST(1) << arm)) != 0)
			ids[n++] = arm;
	v->isnull = false;
	v->data = ids;
	v->len = n;
}

/*
 * array_mask
 *		The mask of the arm ids of an int4 array value (ids out of range
 *		are left out).
 */
static uint64
array_mask(const StoreValue *v)
{
	uint64		mask = 0;

	if (v == NULL)
		return 0;
	for (uint32 i = 0; i < v->len; i++)
	{
		int32		arm;

		memcpy(&arm, (const char *) v->data + i * sizeof(int32), sizeof(int32));
		if (arm >= 0 && arm < NDAG_MAX_ARMS)
			mask |= UINT64CONST(1) << arm;
	}
	return mask;
}

/*
 * set_text
 *		A text field.
 */
static void
set_text(StoreValue *values, const char *name, const char *text)
{
	StoreValue *v = StoreFieldSet(values, STORE_DBI_QUERIES, name);

	v->data = text;
	v->len = strlen(text);
}

/*
 * set_float
 *		A float8 field, null for NaN.
 */
static void
set_float(StoreValue *values, const char *name, double x)
{
	if (isfinite(x))
		StoreFieldSet(values, STORE_DBI_QUERIES, name)->v.f8 = x;
}

/*
 * arm_name
 *		An enabled arm's name, "arm N" for another.
 */
static const char *
arm_name(int arm_id)
{
	const NdagArm *arm = NdagArmGet(arm_id);

	return arm != NULL ? arm->name : psprintf("arm %d", arm_id);
}

/*
 * record_values
 *		The store record of a statement class (palloc'd values).
 */
static StoreValue *
record_values(const NdagQueryRecord *r)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_QUERIES);
	StoreValue *v;
	int32	   *runs;
	int			nruns = 0;

	StoreFieldSet(values, STORE_DBI_QUERIES, "dbid")->v.oid = r->dbid;
	StoreFieldSet(values, STORE_DBI_QUERIES, "query_id")->v.i8 = (int64) r->query_id;
	StoreFieldSet(values, STORE_DBI_QUERIES, "class")->v.i8 = (int64) r->klass;
	set_text(values, "decision", arm_name(r->decision_arm));
	set_text(values, "decision_source", NdagDecisionSourceName(r->decision_source));
	set_float(values, "default_median_ms", r->default_median_ms);
	if (r->best_arm != 0)
		StoreFieldSet(values, STORE_DBI_QUERIES, "best_arm")->v.i4 = r->best_arm;
	set_float(values, "best_arm_median_ms", r->best_arm_ms);

	/* runs_per_arm[arm_id + 1]: up to the highest arm that ran */
	for (int arm = 0; arm < NDAG_MAX_ARMS; arm++)
		if (r->runs[arm] > 0)
			nruns = arm + 1;
	runs = palloc(sizeof(int32) * Max(nruns, 1));
	for (int arm = 0; arm < nruns; arm++)
		runs[arm] = (int32) Min(r->runs[arm], (uint32) PG_INT32_MAX);
	v = StoreFieldSet(values, STORE_DBI_QUERIES, "runs_per_arm");
	v->data = runs;
	v->len = nruns;

	mask_array(r->demoted_mask, StoreFieldSet(values, STORE_DBI_QUERIES, "demoted_arms"));
	if (r->pinned_arm != NDAG_QM_NOT_PINNED)
		StoreFieldSet(values, STORE_DBI_QUERIES, "pinned_arm")->v.i4 = r->pinned_arm;
	mask_array(r->forbidden_mask, StoreFieldSet(values, STORE_DBI_QUERIES, "forbidden_arms"));
	StoreFieldSet(values, STORE_DBI_QUERIES, "frozen")->v.b = r->frozen;
	if (r->last_used != 0)
		StoreFieldSet(values, STORE_DBI_QUERIES, "last_used")->v.ts = r->last_used;
	if (r->state != NULL)
	{
		v = StoreFieldSet(values, STORE_DBI_QUERIES, "state");
		v->data = r->state;
		v->len = r->state_len;
	}
	return values;
}

/*
 * values_record
 *		A statement class from its store record (state copied, palloc'd).
 */
static void
values_record(const StoreValue *values, NdagQueryRecord *r)
{
	const StoreValue *v;

	memset(r, 0, sizeof(NdagQueryRecord));
	r->dbid = StoreFieldGet(values, STORE_DBI_QUERIES, "dbid")->v.oid;
	r->query_id = (uint64) StoreFieldGet(values, STORE_DBI_QUERIES, "query_id")->v.i8;
	r->klass = (uint64) StoreFieldGet(values, STORE_DBI_QUERIES, "class")->v.i8;
	r->stored = true;
	v = StoreFieldGet(values, STORE_DBI_QUERIES, "pinned_arm");
	r->pinned_arm = v != NULL ? v->v.i4 : NDAG_QM_NOT_PINNED;
	r->forbidden_mask = array_mask(StoreFieldGet(values, STORE_DBI_QUERIES, "forbidden_arms"));
	v = StoreFieldGet(values, STORE_DBI_QUERIES, "frozen");
	r->frozen = v != NULL && v->v.b;
	v = StoreFieldGet(values, STORE_DBI_QUERIES, "last_used");
	r->last_used = v != NULL ? v->v.ts : 0;
	v = StoreFieldGet(values, STORE_DBI_QUERIES, "state");
	if (v != NULL && v->len > 0)
	{
		r->state = palloc(v->len);
		memcpy(r->state, v->data, v->len);
		r->state_len = v->len;
	}
}

/*
 * flush_collected
 *		Collect database dbid's slots changed since their last flush and
 *		write them in one write transaction.
 */
static void
flush_collected(Oid dbid)
{
	NdagQueryRecord *records;
	StoreBatch *batch;
	bool	   *changed;
	int			n = NdagQueryMemoryCollect(dbid, NdagArmsEnabledMask(), &records);

	if (n == 0)
		return;
	changed = palloc0(sizeof(bool) *
					  StoreGetSchema(STORE_DBI_QUERIES)->nfields);
	for (int i = 0; i < (int) lengthof(flushed_fields); i++)
		changed[StoreFieldIndex(STORE_DBI_QUERIES, flushed_fields[i])] = true;

	batch = StoreBatchCreate(CurrentMemoryContext);
	for (int i = 0; i < n; i++)
	{
		StoreValue *values = record_values(&records[i]);

		if (records[i].stored)
			StoreBatchPatch(batch, STORE_DBI_QUERIES, values, changed);
		else
			StoreBatchPut(batch, STORE_DBI_QUERIES, values);
	}
	StoreBatchApply(batch);
}

/*
 * NdagQueryStoreFlush
 *		Write the statement classes of database dbid (InvalidOid: every
 *		database) that changed since their last flush to the store now,
 *		in one write transaction: a new
 *		class as a whole record, a stored one patched but for its controls.
 *		Nothing on a standby.
 */
void
NdagQueryStoreFlush(Oid dbid)
{
	LWLock	   *lock = NdagQueryMemoryFlushLock();

	if (!NdagMayWriteLearnedState() || lock == NULL)
		return;
	StoreEnsureOpen();

	/*
	 * a flush under way (the learner's) has collected its slots already:
	 * wait until they are in the store, so that a scan of ndag_queries
	 * after this flush shows them
	 */
	LWLockAcquire(lock, LW_EXCLUSIVE);
	PG_TRY();
	{
		flush_collected(dbid);
	}
	PG_FINALLY();
	{
		LWLockRelease(lock);
	}
	PG_END_TRY();
}

/*
 * NdagQueryStoreLoad
 *		Load a statement class the shared table does not hold from the
 *		store (committed records); false when the store has none (or the
 *		table had it).
 */
bool
NdagQueryStoreLoad(Oid dbid, uint64 query_id, uint64 klass)
{
	StoreValue *key = StoreRecordAlloc(STORE_DBI_QUERIES);
	StoreValue *values = StoreRecordAlloc(STORE_DBI_QUERIES);
	NdagQueryRecord r;

	StoreFieldSet(key, STORE_DBI_QUERIES, "dbid")->v.oid = dbid;
	StoreFieldSet(key, STORE_DBI_QUERIES, "query_id")->v.i8 = (int64) query_id;
	StoreFieldSet(key, STORE_DBI_QUERIES, "class")->v.i8 = (int64) klass;
	if (!StoreGet(STORE_DBI_QUERIES, key, values, false))
		return false;
	values_record(values, &r);
	return NdagQueryMemoryLoad(&r);
}

/*
 * NdagQueryStoreLoadAmong
 *		Load every class of a statement the store has (committed records)
 *		and the shared table does not hold, in one scan of the statement's
 *		records, and mark the statement all loaded (unless a class may have
 *		left the table meanwhile): until one does, a new backend's first
 *		planning of it needs nothing from the store.  found[i]: the store
 *		has klasses[i] (of klasses[0..n-1]).
 */
void
NdagQueryStoreLoadAmong(Oid dbid, uint64 query_id, const uint64 *klasses,
						int n, bool *found)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_QUERIES);
	int			f_class = StoreFieldIndex(STORE_DBI_QUERIES, "class");
	uint64		generation = NdagQueryMemoryLoadGeneration();
	StoreKeyRange range;
	StoreScan  *scan;

	memset(found, 0, sizeof(bool) * n);
	memset(&range, 0, sizeof(range));
	range.has_lower = range.has_upper = true;
	range.lower_inclusive = range.upper_inclusive = true;
	range.lower.v.i8 = range.upper.v.i8 = (int64) query_id;
	scan = StoreScanBegin(STORE_DBI_QUERIES, dbid, &range, false);
	while (StoreScanNext(scan, values))
	{
		NdagQueryRecord r;

		for (int i = 0; i < n; i++)
		{
			if ((uint64) values[f_class].v.i8 == klasses[i])
				found[i] = true;
		}
		values_record(values, &r);
		(void) NdagQueryMemoryLoad(&r);
	}
	StoreScanEnd(scan);
	NdagQueryMemoryMarkAllLoaded(dbid, query_id, generation);
}

/*
 * NdagQueryMemoryForget
 *		Forget every statement class of database dbid when the transaction
 *		commits: its records in the store, then (commit hook) the shared
 *		table's.  What ruvector_dag_reset('queries') does.
 */
void
NdagQueryMemoryForget(Oid dbid)
{
	StorePendingClear(STORE_DBI_QUERIES, dbid);
}

/*
 * record_cmp
 *		Order of records by query_id, then class (unsigned).
 */
static int
record_cmp(const void *x, const void *y)
{
	const NdagQueryRecord *a = x;
	const NdagQueryRecord *b = y;

	if (a->query_id != b->query_id)
		return a->query_id < b->query_id ? -1 : 1;
	if (a->klass != b->klass)
		return a->klass < b->klass ? -1 : 1;
	return 0;
}

/*
 * NdagQueryStoreCommitted
 *		After a committed edit of database dbid's records: the shared
 *		table takes their controls and forgets deleted classes
 *		(NdagQueryMemorySync).
 */
void
NdagQueryStoreCommitted(Oid dbid)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_QUERIES);
	NdagQueryRecord *records = palloc(sizeof(NdagQueryRecord) * 16);
	int			size = 16;
	int			n = 0;
	StoreScan  *scan;

	scan = StoreScanBegin(STORE_DBI_QUERIES, dbid, NULL, false);
	while (StoreScanNext(scan, values))
	{
		if (n == size)
		{
			size *= 2;
			records = repalloc(records, sizeof(NdagQueryRecord) * size);
		}
		values_record(values, &records[n]);
		if (records[n].state != NULL)
			pfree(records[n].state);
		records[n].state = NULL;
		n++;
	}
	StoreScanEnd(scan);
	qsort(records, n, sizeof(NdagQueryRecord), record_cmp);
	NdagQueryMemorySync(dbid, records, n);
}

/*
 * queries_committed
 *		store_pending_commit_hook: a committed transaction wrote this
 *		database's records of ndag_queries: a clear (reset) empties the
 *		database's shared table, an UPDATE or DELETE is carried into it.
 *		Must not fail: on error the table is emptied for the database (it
 *		reloads from the store) with a WARNING.
 */
static void
queries_committed(const bool *written)
{
	MemoryContext cxt = CurrentMemoryContext;

	if (prev_pending_commit_hook != NULL)
		prev_pending_commit_hook(written);
	if (!written[STORE_DBI_QUERIES] || !OidIsValid(MyDatabaseId))
		return;
	if (StorePendingCleared(STORE_DBI_QUERIES, MyDatabaseId))
	{
		NdagQueryMemoryReset(MyDatabaseId);
		return;
	}
	PG_TRY();
	{
		NdagQueryStoreCommitted(MyDatabaseId);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		NdagQueryMemoryReset(MyDatabaseId);
		ereport(WARNING,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not carry the edit of ndag_queries into shared memory"),
				 errhint("The statements of this database are loaded again from the store at their next planning.")));
	}
	PG_END_TRY();
}

/*
 * per_statement_write
 *		Whether a replayed write is of per-statement records (ndag_queries,
 *		BTSP entries), which the shared table caches.
 */
static bool
per_statement_write(const StoreReplayedWrite *w)
{
	return w->dbi == STORE_DBI_QUERIES || w->dbi == STORE_DBI_BTSP;
}

/*
 * replayed_clears
 *		What the clears (and undecodable keys) among a replayed record's
 *		per-statement writes reset: *all when one is of every database,
 *		else the list of the databases they are of.
 */
static List *
replayed_clears(const StoreReplayedWrite *writes, int nwrites, bool *all)
{
	List	   *dbids = NIL;

	*all = false;
	for (int i = 0; i < nwrites; i++)
	{
		const StoreReplayedWrite *w = &writes[i];

		if (!per_statement_write(w) || w->key != NULL)
			continue;
		if (!OidIsValid(w->dbid))
			*all = true;
		else
			dbids = list_append_unique_oid(dbids, w->dbid);
	}
	return dbids;
}

/*
 * queries_replayed
 *		store_replay_hook: redo (a standby, crash recovery) wrote
 *		per-statement records (ndag_queries, BTSP entries): the shared table
 *		forgets the statements they are of, which are loaded again from the
 *		store at their next planning; a clear forgets the statements of its
 *		database (of all), and then the record's writes of the databases it
 *		cleared need no forget of their own (a snapshot: one reset, not one
 *		per statement).  A replayed pattern is of no statement's memory:
 *		the decisions backends cached from patterns go with the generation
 *		its record moves.
 */
static void
queries_replayed(const bool *written, const StoreReplayedWrite *writes,
				 int nwrites)
{
	bool		all;
	List	   *cleared;
	ListCell   *lc;

	if (prev_replay_hook != NULL)
		prev_replay_hook(written, writes, nwrites);
	if (!written[STORE_DBI_QUERIES] && !written[STORE_DBI_BTSP])
		return;
	cleared = replayed_clears(writes, nwrites, &all);
	if (all)
	{
		NdagQueryMemoryReset(InvalidOid);
		return;
	}
	foreach(lc, cleared)
		NdagQueryMemoryReset(lfirst_oid(lc));
	for (int i = 0; i < nwrites; i++)
	{
		const StoreReplayedWrite *w = &writes[i];
		Oid			dbid;
		uint64		query_id;

		if (!per_statement_write(w) || w->key == NULL)
			continue;
		dbid = StoreFieldGet(w->key, w->dbi, "dbid")->v.oid;
		if (list_member_oid(cleared, dbid))
			continue;
		query_id = (uint64) StoreFieldGet(w->key, w->dbi, "query_id")->v.i8;
		NdagQueryMemoryForgetStatement(dbid, query_id);
	}
	list_free(cleared);
}

/*
 * NdagQueryStoreInit
 *		From _PG_init (after NdagEnabledTablesInit): carry committed and
 *		replayed edits of ndag_queries into the shared table.
 */
void
NdagQueryStoreInit(void)
{
	prev_pending_commit_hook = store_pending_commit_hook;
	store_pending_commit_hook = queries_committed;
	prev_replay_hook = store_replay_hook;
	store_replay_hook = queries_replayed;
}

/*
 * check_arm
 *		An arm id the DBA names in a control: one of the enabled arms.
 */
static void
check_arm(int arm_id, const char *column)
{
	if (arm_id < 0 || arm_id >= NDAG_MAX_ARMS || NdagArmGet(arm_id) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s: arm %d is not an enabled arm", column, arm_id),
				 errhint("Name an arm_id of ndag_arms whose enabled is true.")));
}

/*
 * NdagQueryControlsCheck
 *		Refuse controls that cannot be honoured: a pin (NULL: none) or a
 *		forbidden arm that is unknown or disabled, the default arm
 *		forbidden, a pinned arm also forbidden.
 */
void
NdagQueryControlsCheck(const int *pinned_arm, const int32 *forbidden,
					   int nforbidden)
{
	if (pinned_arm != NULL)
		check_arm(*pinned_arm, "pinned_arm");
	for (int i = 0; i < nforbidden; i++)
	{
		if (forbidden[i] == 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("forbidden_arms: the default arm 0 cannot be forbidden"),
					 errhint("To keep a statement on its default plan, set pinned_arm = 0.")));
		check_arm(forbidden[i], "forbidden_arms");
		if (pinned_arm != NULL && *pinned_arm == forbidden[i])
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("arm %d cannot be both pinned and forbidden", forbidden[i]),
					 errhint("Set pinned_arm to NULL or remove the arm from forbidden_arms.")));
	}
}
