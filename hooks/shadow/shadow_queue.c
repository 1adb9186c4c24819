/*-------------------------------------------------------------------------
 *
 * shadow_queue.c
 *	  The shared queue of statements captured for shadow exploration, and
 *	  the capture itself (from ExecutorEnd).
 *
 * The queue has NDAG_SHADOW_QUEUE_ENTRIES entries of a fixed size; a
 * statement is one entry per (database, role, queryId, parameter class).
 * Capturing a statement already queued adds the execution's time to its
 * weight, so that the statements costing the server most are run first,
 * and keeps its text and parameters when they differ from those the entry
 * holds (up to NDAG_SHADOW_CAPTURES, the oldest replaced in turn), so that
 * its run measures the parameter sets the class runs, not the first one
 * captured only.  When the queue is full the lightest entry goes (the new
 * one, if it is the lightest).  A run that gave way (it proved an arm, or
 * decided its leading candidates while others waited: shadow_run.c) puts
 * its entry back with one more turn (NdagShadowRequeue); an entry with
 * fewer turns goes before one with more, the heavier first among those
 * with as many, so that every statement's most promising arms are tried
 * before any statement's less promising ones.  An entry leaves the queue when a
 * worker takes it, when the worker launched for it could not run it, or
 * when ruvector_dag_reset() clears its database.
 *
 * Turns: one shadow worker runs at a time, for one database and role, and
 * a launch serves a slice only: the NDAG_SHADOW_SLICE_ENTRIES heaviest
 * entries of its database and role waiting when it was launched (entries
 * captured meanwhile wait for a later launch).  The next launch is for the
 * database and role served least recently among those waiting (never
 * served first; the heaviest entry breaks a tie), so that a database whose
 * workload keeps capturing statements cannot hold the worker while
 * another waits.
 *
 * The statements' text stays in shared memory only: nothing shows it
 * (ruvector_dag_status() shows counts only).
 *
 * Locking: queue_lock guards every field of the entries, used[],
 * next_launch and served[]; counters are atomics; the account has its own
 * spinlock (shadow_capacity.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/namespace.h"
#include "executor/execdesc.h"
#include "miscadmin.h"
#include "nodes/params.h"
#include "parser/scansup.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/float.h"
#include "utils/timestamp.h"

#include "core/core.h"
#include "shadow/shadow.h"

#define SHADOW_TRANCHE		"neural_dag shadow"

/* when a database and role were last served: the number of that launch */
typedef struct ShadowServed
{
	Oid			dbid;
	Oid			userid;
	uint32		launch;			/* 0: a free record */
} ShadowServed;

typedef struct ShadowShared
{
	LWLock	   *queue_lock;
	uint32		next_launch;	/* the last launch number given */
	bool		used[NDAG_SHADOW_QUEUE_ENTRIES];
	pg_atomic_uint64 resets;	/* committed ruvector_dag_reset() calls */
	pg_atomic_uint64 counters[NDAG_N_SHADOW_COUNTERS];
	NdagShadowLoad own_load;	/* see shadow_capacity.c */
	NdagShadowAccount account;	/* see shadow_capacity.c */
	ShadowServed served[NDAG_SHADOW_QUEUE_ENTRIES];
	NdagShadowEntry entries[NDAG_SHADOW_QUEUE_ENTRIES];
} ShadowShared;

static ShadowShared *shadow = NULL;

static const char *const counter_names[NDAG_N_SHADOW_COUNTERS] = {
	[NDAG_SHADOW_CAPTURED] = "shadow_captured",
	[NDAG_SHADOW_RUNS] = "shadow_runs",
	[NDAG_SHADOW_PAIRS] = "shadow_pairs",
	[NDAG_SHADOW_DEFAULT_RUNS] = "shadow_default_runs",
	[NDAG_SHADOW_BRACKETS] = "shadow_brackets",
	[NDAG_SHADOW_TIMEOUTS] = "shadow_timeouts",
	[NDAG_SHADOW_ERRORS] = "shadow_errors",
	[NDAG_SHADOW_SKIPPED] = "shadow_skipped",
	[NDAG_SHADOW_MS] = "shadow_ms",
	[NDAG_SHADOW_SERIAL_PAIRS] = "shadow_serial_pairs",
	[NDAG_SHADOW_DEFERRED] = "shadow_deferred",
	[NDAG_SHADOW_LAUNCHES] = "shadow_launches",
	[NDAG_SHADOW_DECIDED] = "shadow_decided",
	[NDAG_SHADOW_CPU_MS] = "shadow_cpu_ms",
	[NDAG_SHADOW_YIELDED] = "shadow_yielded",
	[NDAG_SHADOW_SCREENED] = "shadow_screened",
	[NDAG_SHADOW_WORKER_WAITS] = "shadow_worker_waits",
};

/*
 * goes_before
 *		Whether entry a is run before entry b: fewer turns first (runs that
 *		gave way), then the heavier.
 */
static bool
goes_before(const NdagShadowEntry *a, const NdagShadowEntry *b)
{
	if (a->turns != b->turns)
		return a->turns < b->turns;
	return a->weight_ms > b->weight_ms;
}

/*
 * NdagShadowShmemSize
 *		Shared memory of the queue.
 */
Size
NdagShadowShmemSize(void)
{
	return MAXALIGN(sizeof(ShadowShared));
}

/*
 * NdagShadowShmemRequest
 *		Ask for the queue's space and lock (shmem_request_hook).
 */
void
NdagShadowShmemRequest(void)
{
	RequestAddinShmemSpace(NdagShadowShmemSize());
	RequestNamedLWLockTranche(SHADOW_TRANCHE, 1);
}

/*
 * NdagShadowShmemInit
 *		Create or attach the queue (caller holds AddinShmemInitLock).
 */
void
NdagShadowShmemInit(void)
{
	bool		found;

	shadow = ShmemInitStruct("neural_dag shadow queue", sizeof(ShadowShared),
							 &found);
	if (!found)
	{
		memset(shadow, 0, sizeof(ShadowShared));
		shadow->queue_lock = &(GetNamedLWLockTranche(SHADOW_TRANCHE))[0].lock;
		for (int i = 0; i < NDAG_N_SHADOW_COUNTERS; i++)
			pg_atomic_init_u64(&shadow->counters[i], 0);
		pg_atomic_init_u64(&shadow->resets, 0);
		SpinLockInit(&shadow->account.mutex);
	}
}

/*
 * NdagShadowOwnLoad
 *		The shadow runs' own share of the load average, kept in the queue's
 *		shared memory so that it outlives one worker (shadow_capacity.c).
 */
NdagShadowLoad *
NdagShadowOwnLoad(void)
{
	return shadow != NULL ? &shadow->own_load : NULL;
}

/*
 * NdagShadowOwnAccount
 *		The account of shadow time, kept in the queue's shared memory so
 *		that it outlives one worker (shadow_capacity.c).
 */
NdagShadowAccount *
NdagShadowOwnAccount(void)
{
	return shadow != NULL ? &shadow->account : NULL;
}

/*
 * NdagShadowCount
 *		Add n to a counter.
 */
void
NdagShadowCount(NdagShadowCounter counter, uint64 n)
{
	if (shadow != NULL)
		pg_atomic_fetch_add_u64(&shadow->counters[counter], n);
}

/*
 * find_entry
 *		The index of the queued entry of a statement, or -1.  Caller holds
 *		the lock.
 */
static int
find_entry(Oid dbid, Oid userid, uint64 query_id, uint64 klass)
{
	for (int i = 0; i < NDAG_SHADOW_QUEUE_ENTRIES; i++)
	{
		NdagShadowEntry *e = &shadow->entries[i];

		if (shadow->used[i] && e->dbid == dbid && e->userid == userid &&
			e->query_id == query_id && e->klass == klass)
			return i;
	}
	return -1;
}

/*
 * free_slot
 *		A free entry, or the lightest one when it is lighter than weight_ms
 *		(its statement is dropped and counted as skipped); -1 when the new
 *		statement is the lightest.  Caller holds the lock exclusively.
 */
static int
free_slot(double weight_ms)
{
	int			lightest = -1;

	for (int i = 0; i < NDAG_SHADOW_QUEUE_ENTRIES; i++)
	{
		if (!shadow->used[i])
			return i;
		if (lightest < 0 ||
			shadow->entries[i].weight_ms < shadow->entries[lightest].weight_ms)
			lightest = i;
	}
	if (shadow->entries[lightest].weight_ms >= weight_ms)
		return -1;
	shadow->used[lightest] = false;
	NdagShadowCount(NDAG_SHADOW_SKIPPED, 1);
	return lightest;
}

/* what NdagShadowCapture captures, for NdagFallbackRun */
typedef struct CaptureCall
{
	QueryDesc  *queryDesc;
	const NdagDecision *decision;
	double		exec_ms;
} CaptureCall;

/*
 * statement_text
 *		The statement's own text within the source text (several statements
 *		may share one), as pg_stat_statements cuts it.
 */
static const char *
statement_text(QueryDesc *queryDesc, int *len)
{
	const char *text = queryDesc->sourceText;
	int			location = queryDesc->plannedstmt->stmt_location;
	int			length = queryDesc->plannedstmt->stmt_len;

	if (text == NULL)
		return NULL;
	if (location >= 0 && location <= (int) strlen(text))
	{
		text += location;
		if (length <= 0)
			length = strlen(text);
	}
	else
		length = strlen(text);
	while (length > 0 && scanner_isspace(text[0]))
	{
		text++;
		length--;
	}
	*len = length;
	return text;
}

/*
 * capture_step
 *		Queue the statement while its class still has an open arm: a new
 *		entry, or one more capture of a queued one (its text and
 *		parameters kept when they differ from those it holds,
 *		shadow_entry.c), whose weight the execution adds to.  A statement
 *		too large for an entry, or lighter than every entry of a full
 *		queue, is counted as skipped.
 */
static void
capture_step(void *arg)
{
	CaptureCall *call = (CaptureCall *) arg;
	QueryDesc  *queryDesc = call->queryDesc;
	Oid			userid = GetUserId();
	uint64		query_id = queryDesc->plannedstmt->queryId;
	uint64		klass = call->decision->klass;
	const char *text;
	const char *path = namespace_search_path ? namespace_search_path : "";
	int			text_len;
	Size		params_len;
	char	   *params;
	char	   *p;
	int			slot;

	/* a plan kept by the plan cache may outlive its class's open arms */
	if (NdagQueryMemoryOpenArms(MyDatabaseId, query_id, klass,
								NdagArmsEnabledMask()) == 0)
		return;

	text = statement_text(queryDesc, &text_len);
	params_len = EstimateParamListSpace(queryDesc->params);
	if (text == NULL || text_len == 0 ||
		strlen(path) + 1 + (Size) text_len + 1 + params_len >
		NDAG_SHADOW_ENTRY_BYTES)
	{
		NdagShadowCount(NDAG_SHADOW_SKIPPED, 1);
		return;
	}
	params = palloc(params_len);
	p = params;
	SerializeParamList(queryDesc->params, &p);
	Assert(p == params + params_len);

	LWLockAcquire(shadow->queue_lock, LW_EXCLUSIVE);
	slot = find_entry(MyDatabaseId, userid, query_id, klass);
	if (slot >= 0)
	{
		NdagShadowEntry *e = &shadow->entries[slot];

		e->weight_ms += call->exec_ms;
		/* a search_path of its own would need an entry of its own */
		if (strcmp(NdagShadowEntryPath(e), path) == 0)
			(void) NdagShadowEntryAddCapture(e, text, text_len, params,
											 (int) params_len, call->exec_ms);
	}
	else if ((slot = free_slot(call->exec_ms)) < 0)
		NdagShadowCount(NDAG_SHADOW_SKIPPED, 1);
	else
	{
		NdagShadowEntry *e = &shadow->entries[slot];

		e->dbid = MyDatabaseId;
		e->userid = userid;
		e->query_id = query_id;
		e->klass = klass;
		e->weight_ms = call->exec_ms;
		e->turns = 0;
		e->enqueued_at = GetCurrentTimestamp();
		e->launch = 0;
		/* it fits: checked above */
		(void) NdagShadowEntryInit(e, path);
		(void) NdagShadowEntryAddCapture(e, text, text_len, params,
										 (int) params_len, call->exec_ms);
		shadow->used[slot] = true;
		slot = -2;				/* a new entry: the learner launches a worker */
	}
	LWLockRelease(shadow->queue_lock);
	pfree(params);
	if (slot != -1)
		NdagShadowCount(NDAG_SHADOW_CAPTURED, 1);
	if (slot == -2)
		NdagWakeLearner();
}

/*
 * NdagShadowCapture
 *		Capture an execution of the default plan for shadow
 *		exploration (the decision asked for it); an error only costs the
 *		capture (NdagFallbackRun).
 */
void
NdagShadowCapture(QueryDesc *queryDesc, const NdagDecision *decision,
				  double exec_ms)
{
	CaptureCall call = {queryDesc, decision, exec_ms};

	if (shadow == NULL || !NdagMayWriteLearnedState() ||
		queryDesc->plannedstmt == NULL)
		return;
	(void) NdagFallbackRun(NDAG_FALLBACK_RECORDING,
						   "capture the statement for shadow exploration",
						   capture_step, &call);
}

/*
 * served_launch
 *		The launch that last served a database and role, 0 if none did (or
 *		its record was reused).  Caller holds the lock.
 */
static uint32
served_launch(Oid dbid, Oid userid)
{
	for (int i = 0; i < NDAG_SHADOW_QUEUE_ENTRIES; i++)
	{
		ShadowServed *r = &shadow->served[i];

		if (r->launch != 0 && r->dbid == dbid && r->userid == userid)
			return r->launch;
	}
	return 0;
}

/*
 * record_served
 *		Remember that a launch serves a database and role, in its record or
 *		in the one served longest ago.  Caller holds the lock exclusively.
 */
static void
record_served(Oid dbid, Oid userid, uint32 launch)
{
	int			oldest = 0;

	for (int i = 0; i < NDAG_SHADOW_QUEUE_ENTRIES; i++)
	{
		ShadowServed *r = &shadow->served[i];

		if (r->launch != 0 && r->dbid == dbid && r->userid == userid)
		{
			oldest = i;
			break;
		}
		if (r->launch < shadow->served[oldest].launch)
			oldest = i;
	}
	shadow->served[oldest].dbid = dbid;
	shadow->served[oldest].userid = userid;
	shadow->served[oldest].launch = launch;
}

/*
 * NdagShadowNextToServe
 *		The database and role the next launch is for: among those with an
 *		entry no launch was for, the one served least recently (never
 *		first), the one whose such entry goes first (goes_before) on a tie;
 *		false when none waits.
 */
bool
NdagShadowNextToServe(Oid *dbid, Oid *userid)
{
	int			best = -1;
	uint32		best_served = 0;

	if (shadow == NULL)
		return false;
	LWLockAcquire(shadow->queue_lock, LW_SHARED);
	for (int i = 0; i < NDAG_SHADOW_QUEUE_ENTRIES; i++)
	{
		NdagShadowEntry *e = &shadow->entries[i];
		uint32		served;

		if (!shadow->used[i] || e->launch != 0)
			continue;
		served = served_launch(e->dbid, e->userid);
		if (best < 0 || served < best_served ||
			(served == best_served && goes_before(e, &shadow->entries[best])))
		{
			best = i;
			best_served = served;
		}
	}
	if (best >= 0)
	{
		*dbid = shadow->entries[best].dbid;
		*userid = shadow->entries[best].userid;
	}
	LWLockRelease(shadow->queue_lock);
	return best >= 0;
}

/*
 * first_unassigned
 *		The entry of a database and role no launch was for that goes first
 *		(goes_before), or -1.  Caller holds the lock.
 */
static int
first_unassigned(Oid dbid, Oid userid)
{
	int			best = -1;

	for (int i = 0; i < NDAG_SHADOW_QUEUE_ENTRIES; i++)
	{
		NdagShadowEntry *e = &shadow->entries[i];

		if (shadow->used[i] && e->launch == 0 && e->dbid == dbid &&
			e->userid == userid &&
			(best < 0 || goes_before(e, &shadow->entries[best])))
			best = i;
	}
	return best;
}

/*
 * NdagShadowAssign
 *		Give a new launch number to the slice of a database and role the
 *		worker about to be launched answers for: the
 *		NDAG_SHADOW_SLICE_ENTRIES of its entries now waiting that go first
 *		(goes_before).  The
 *		database and role count as served by it from now.
 */
uint32
NdagShadowAssign(Oid dbid, Oid userid)
{
	uint32		launch;

	LWLockAcquire(shadow->queue_lock, LW_EXCLUSIVE);
	/* numbers grow: a smaller one was given earlier (0 is never given) */
	if (++shadow->next_launch == 0)
		shadow->next_launch = 1;
	launch = shadow->next_launch;
	for (int n = 0; n < NDAG_SHADOW_SLICE_ENTRIES; n++)
	{
		int			i = first_unassigned(dbid, userid);

		if (i < 0)
			break;
		shadow->entries[i].launch = launch;
	}
	record_served(dbid, userid, launch);
	LWLockRelease(shadow->queue_lock);
	return launch;
}

/*
 * NdagShadowUnassign
 *		The entries of a launch wait again (its worker stopped early, or
 *		could not be started).
 */
void
NdagShadowUnassign(uint32 launch)
{
	LWLockAcquire(shadow->queue_lock, LW_EXCLUSIVE);
	for (int i = 0; i < NDAG_SHADOW_QUEUE_ENTRIES; i++)
	{
		if (shadow->used[i] && shadow->entries[i].launch == launch)
			shadow->entries[i].launch = 0;
	}
	LWLockRelease(shadow->queue_lock);
}

/*
 * NdagShadowDropAssigned
 *		Drop the entries a stopped worker left assigned to its launch: it
 *		could not run them (it could not connect as their role, say), and
 *		launching again would fail the same way.  Each counts as an error.
 */
int
NdagShadowDropAssigned(uint32 launch)
{
	int			dropped = 0;

	LWLockAcquire(shadow->queue_lock, LW_EXCLUSIVE);
	for (int i = 0; i < NDAG_SHADOW_QUEUE_ENTRIES; i++)
	{
		if (shadow->used[i] && shadow->entries[i].launch == launch)
		{
			shadow->used[i] = false;
			dropped++;
		}
	}
	LWLockRelease(shadow->queue_lock);
	NdagShadowCount(NDAG_SHADOW_ERRORS, dropped);
	return dropped;
}

/*
 * NdagShadowTake
 *		Take the entry of a launch's slice that goes first (goes_before)
 *		out of the queue into *out; false when none is left.  The account of
 *		shadow time decides between them: the first whose default run the
 *		account holds now (available_ms); when it holds none of them, the
 *		first whose default run the account can hold at all (capacity_ms), the
 *		worker waiting for it to refill; an entry longer than that only when
 *		no other is left, so that one huge statement does not take the
 *		budget of many small ones.  Each entry passed over for being longer
 *		counts as deferred.
 */
bool
NdagShadowTake(uint32 launch, double available_ms, double capacity_ms,
			   NdagShadowEntry *out)
{
	const double limits[] = {available_ms, capacity_ms, get_float8_infinity()};
	int			best = -1;
	int			deferred = 0;

	LWLockAcquire(shadow->queue_lock, LW_EXCLUSIVE);
	for (int l = 0; l < (int) lengthof(limits) && best < 0; l++)
	{
		deferred = 0;
		for (int i = 0; i < NDAG_SHADOW_QUEUE_ENTRIES; i++)
		{
			NdagShadowEntry *e = &shadow->entries[i];

			if (!shadow->used[i] || e->launch != launch)
				continue;
			if (e->default_ms > limits[l])
				deferred++;
			else if (best < 0 || goes_before(e, &shadow->entries[best]))
				best = i;
		}
	}
	if (best >= 0)
	{
		memcpy(out, &shadow->entries[best], sizeof(NdagShadowEntry));
		out->resets_at_take = pg_atomic_read_u64(&shadow->resets);
		shadow->used[best] = false;
	}
	LWLockRelease(shadow->queue_lock);
	if (deferred > 0)
		NdagShadowCount(NDAG_SHADOW_DEFERRED, deferred);
	return best >= 0;
}

/*
 * NdagShadowRequeue
 *		Put an entry whose run gave way back into the queue, waiting for a
 *		later launch, with its weight and turns: a capture of its class
 *		queued meanwhile takes them in instead.  When the queue is full it
 *		goes like a new capture would (free_slot).  An entry taken before a
 *		ruvector_dag_reset() committed is dropped, as the reset dropped the
 *		queued ones.
 */
void
NdagShadowRequeue(const NdagShadowEntry *entry)
{
	int			slot;

	if (NdagShadowResetSince(entry))
	{
		NdagShadowCount(NDAG_SHADOW_SKIPPED, 1);
		return;
	}
	LWLockAcquire(shadow->queue_lock, LW_EXCLUSIVE);
	slot = find_entry(entry->dbid, entry->userid, entry->query_id,
					  entry->klass);
	if (slot >= 0)
	{
		shadow->entries[slot].weight_ms += entry->weight_ms;
		shadow->entries[slot].turns = Max(shadow->entries[slot].turns,
										  entry->turns);
	}
	else if ((slot = free_slot(entry->weight_ms)) >= 0)
	{
		memcpy(&shadow->entries[slot], entry, sizeof(NdagShadowEntry));
		shadow->entries[slot].launch = 0;
		shadow->used[slot] = true;
	}
	else
		NdagShadowCount(NDAG_SHADOW_SKIPPED, 1);
	LWLockRelease(shadow->queue_lock);
}

/*
 * NdagShadowOthersWait
 *		Whether the queue holds a statement other than the entry's (any
 *		database or role) that had at most most_turns turns and weighs at
 *		least least_ms: what a run gives way to.
 */
bool
NdagShadowOthersWait(const NdagShadowEntry *entry, int most_turns,
					 double least_ms)
{
	bool		found = false;

	LWLockAcquire(shadow->queue_lock, LW_SHARED);
	for (int i = 0; i < NDAG_SHADOW_QUEUE_ENTRIES && !found; i++)
	{
		NdagShadowEntry *e = &shadow->entries[i];

		found = shadow->used[i] && e->turns <= most_turns &&
			e->weight_ms >= least_ms &&
			!(e->dbid == entry->dbid && e->userid == entry->userid &&
			  e->query_id == entry->query_id && e->klass == entry->klass);
	}
	LWLockRelease(shadow->queue_lock);
	return found;
}

/*
 * NdagShadowResetSince
 *		Whether a ruvector_dag_reset() committed since the entry was taken
 *		from the queue (of any database: what its run learns next would
 *		outlive the reset, so the run stops).
 */
bool
NdagShadowResetSince(const NdagShadowEntry *entry)
{
	return pg_atomic_read_u64(&shadow->resets) != entry->resets_at_take;
}

/*
 * NdagShadowReset
 *		Forget the entries of a database (ruvector_dag_reset()); the runs
 *		under way stop (NdagShadowResetSince).
 */
void
NdagShadowReset(Oid dbid)
{
	if (shadow == NULL)
		return;
	pg_atomic_fetch_add_u64(&shadow->resets, 1);
	LWLockAcquire(shadow->queue_lock, LW_EXCLUSIVE);
	for (int i = 0; i < NDAG_SHADOW_QUEUE_ENTRIES; i++)
	{
		if (shadow->used[i] && shadow->entries[i].dbid == dbid)
			shadow->used[i] = false;
	}
	LWLockRelease(shadow->queue_lock);
}

/*
 * NdagShadowStatusCounters
 *		The counters of ruvector_dag_status(), shadow_queued (the entries
 *		waiting now), shadow_own_load_pct, shadow_budget_ms_available
 *		(what the account of shadow time holds now) and shadow_cpus (the
 *		CPUs the server may use, as shadow exploration counts them).
 */
void
NdagShadowStatusCounters(void *state)
{
	int64		queued = 0;

	for (int c = 0; c < NDAG_N_SHADOW_COUNTERS; c++)
		NdagStatusAddCounter(state, counter_names[c],
							 shadow != NULL ?
							 (int64) pg_atomic_read_u64(&shadow->counters[c]) : 0);
	if (shadow != NULL)
	{
		LWLockAcquire(shadow->queue_lock, LW_SHARED);
		for (int i = 0; i < NDAG_SHADOW_QUEUE_ENTRIES; i++)
			queued += shadow->used[i];
		LWLockRelease(shadow->queue_lock);
	}
	NdagStatusAddCounter(state, "shadow_queued", queued);
	NdagStatusAddCounter(state, "shadow_own_load_pct",
						 (int64) rint(100.0 * NdagShadowOwnLoadNow()));
	NdagStatusAddCounter(state, "shadow_budget_ms_available",
						 (int64) floor(NdagShadowAccountAvailableMs()));
	NdagStatusAddCounter(state, "shadow_cpus", NdagShadowCpus());
}
