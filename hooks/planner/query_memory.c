/*-------------------------------------------------------------------------
 *
 * query_memory.c
 *	  Shared memory of the plan rewriter, per (database, queryId): the
 *	  default plan's observed latency, per-arm statistics, the exploration
 *	  budget, arms known to plan like the default, each arm plan's estimated
 *	  cost against the default's, arms forced past disable_cost, demoted
 *	  arms, the BTSP
 *	  one-shot entry and the regression guard's streak.  Also an epoch
 *	  per group of statements that moves when
 *	  a verdict of one of them changes, and a global epoch that moves when
 *	  the whole memory of a database is reset: whenever a decision that
 *	  backends may have cached becomes wrong (a demotion, a BTSP entry).
 *
 * A table of ruvector.dag_query_memory_size slots split into lock
 * partitions (like the buffer mapping's), each with its own LWLock; a
 * statement hashes to one partition and a short probe window in it.  A new
 * class takes a free slot of its window or the least recently used one
 * (one without the DBA's controls first), an eviction that is counted and
 * moves the epoch, since the evicted class's state is reloaded from the
 * store (query_store.c) at its next planning.  Every operation is a few
 * dozen instructions on one slot under its partition's lock.  Each slot
 * also holds the DBA's controls (pinned arm, forbidden arms, frozen) and
 * whether it changed since the learner last flushed it; the slots as
 * records of the store are query_memory_records.c's.
 *
 * Locking: a slot's fields change only under its partition's lock held
 * exclusively, except last_used, used_at and total, which are atomics:
 * the turn of a statement whose planning changes nothing else (no
 * exploration or validation to draw, the same decision as last time,
 * already dirty) counts itself under the lock held shared, so that
 * backends planning the same statement do not queue behind each other.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "port/pg_bitutils.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "btsp.h"
#include "engine.h"
#include "paired.h"
#include "core/core.h"
#include "planner/planner.h"
#include "planner/query_memory_int.h"
#include "store.h"

#define QM_PROBES			16
/* lock partitions at most (fewer for small tables: QM_PROBES slots each at least) */
#define QM_PARTITIONS		16
#define QM_TRANCHE			"neural_dag query memory"
/* statement epochs: a verdict change drops the cached decisions of its bucket only */
#define QM_EPOCH_BUCKETS	4096

/* a default run pairs with an arm run at most this long after it ... */
#define QM_PAIR_WINDOW_S	10.0
/* ... or this many times the statement's default latency, if longer */
#define QM_PAIR_WINDOW_RUNS 10.0
/* an applied arm is re-validated against the default every this many executions */
#define QM_VALIDATE_EVERY	16
/*
 * ... and an applied arm not proven for the statement (a pattern's) every
 * other execution: its runs alternate with the default plan's until its
 * pairs prove or refute it (one or two pairs refute an arm 1.5x or 1.15x
 * slower), so that an unproven arm slows down at most a few executions
 */
#define QM_VALIDATE_UNPROVEN 2
/*
 * a final between two proven arms is abandoned after this many of its
 * turns without a pair (its sequential test needs at most a dozen pairs,
 * each formed within a few turns when the leader's runs are recorded)
 */
#define QM_FINAL_MAX_IDLE_TURNS 200
/* used_at (ndag_queries.last_used) moves in steps of this, in microseconds */
#define QM_USED_AT_GRAIN_US	100000

typedef struct QmShared
{
	int			nslots;			/* npartitions * part_slots */
	int			npartitions;
	int			part_slots;
	int			probes;			/* probe window, at most part_slots */
	LWLockPadded *locks;		/* one per partition */
	pg_atomic_uint64 tick;
	pg_atomic_uint64 epoch;
	pg_atomic_uint64 evictions;
	pg_atomic_uint64 forgets;	/* classes left the table, the store kept them */
	pg_atomic_uint64 statement_epochs[QM_EPOCH_BUCKETS];
	QmSlot		slots[FLEXIBLE_ARRAY_MEMBER];
} QmShared;

static QmShared *qm = NULL;

/*
 * partitions_for
 *		Lock partitions of a table of nslots slots: QM_PARTITIONS, fewer
 *		when a partition would hold less than a probe window.
 */
static int
partitions_for(int nslots)
{
	return Max(1, Min(QM_PARTITIONS, nslots / QM_PROBES));
}

/*
 * NdagQueryMemoryShmemSize
 *		Bytes of the shared table of ruvector.dag_query_memory_size slots.
 */
Size
NdagQueryMemoryShmemSize(void)
{
	return add_size(offsetof(QmShared, slots),
					mul_size(sizeof(QmSlot), ndag_query_memory_size));
}

/*
 * NdagQueryMemoryShmemRequest
 *		Ask for the table's space and its partitions' locks (from
 *		shmem_request_hook).
 */
void
NdagQueryMemoryShmemRequest(void)
{
	RequestAddinShmemSpace(NdagQueryMemoryShmemSize());
	/* the partitions' locks, then the flush lock */
	RequestNamedLWLockTranche(QM_TRANCHE, partitions_for(ndag_query_memory_size) + 1);
}

/*
 * NdagQueryMemoryShmemInit
 *		Create or attach to the table (under AddinShmemInitLock).
 */
void
NdagQueryMemoryShmemInit(void)
{
	bool		found;

	qm = ShmemInitStruct("neural_dag query memory", NdagQueryMemoryShmemSize(),
						 &found);
	if (!found)
	{
		qm->npartitions = partitions_for(ndag_query_memory_size);
		qm->part_slots = ndag_query_memory_size / qm->npartitions;
		qm->nslots = qm->npartitions * qm->part_slots;
		qm->probes = Min(QM_PROBES, qm->part_slots);
		qm->locks = GetNamedLWLockTranche(QM_TRANCHE);
		for (int i = 0; i < qm->nslots; i++)
			NdagQmSlotClear(&qm->slots[i]);
		pg_atomic_init_u64(&qm->tick, 0);
		pg_atomic_init_u64(&qm->evictions, 0);
		pg_atomic_init_u64(&qm->forgets, 0);
		pg_atomic_init_u64(&qm->epoch, 1);
		for (int i = 0; i < QM_EPOCH_BUCKETS; i++)
			pg_atomic_init_u64(&qm->statement_epochs[i], 1);
	}
}

/*
 * NdagRewriteEpoch
 *		Moves whenever a cached decision may have become wrong.
 */
uint64
NdagRewriteEpoch(void)
{
	return qm != NULL ? pg_atomic_read_u64(&qm->epoch) : 0;
}

/*
 * NdagRewriteEpochBump
 *		Drop every decision backends cached (the DBA changed a statement's
 *		controls, or a class was evicted).
 */
void
NdagRewriteEpochBump(void)
{
	if (qm != NULL)
		pg_atomic_fetch_add_u64(&qm->epoch, 1);
}

/*
 * NdagQueryMemoryFlushLock
 *		The lock a flush of the table to the store holds from collecting
 *		the changed slots to committing them, so that a concurrent flush
 *		(a scan of ndag_queries) waits for them to be in the store.  NULL
 *		when the table is not attached.
 */
LWLock *
NdagQueryMemoryFlushLock(void)
{
	return qm != NULL ? &qm->locks[qm->npartitions].lock : NULL;
}

/*
 * NdagQmAttached
 *		Whether this process has the table (it is created at startup).
 */
bool
NdagQmAttached(void)
{
	return qm != NULL;
}

/*
 * NdagQmStatementHash
 *		The hash of a statement of a database: it picks the statement's
 *		partition, probe window and epoch bucket.
 */
uint32
NdagQmStatementHash(Oid dbid, uint64 query_id)
{
	return hash_bytes_uint32((uint32) query_id ^ (uint32) (query_id >> 32)) ^ dbid;
}

/*
 * partition_lock
 *		The lock of a partition.
 */
static LWLock *
partition_lock(int partition)
{
	return &qm->locks[partition].lock;
}

/*
 * NdagQmForEachSlot
 *		Call visit on every slot in use of database dbid (InvalidOid: of
 *		every database), each partition under its lock taken in mode.
 */
void
NdagQmForEachSlot(Oid dbid, LWLockMode mode, QmSlotVisitor visit, void *arg)
{
	if (qm == NULL)
		return;
	for (int part = 0; part < qm->npartitions; part++)
	{
		LWLockAcquire(partition_lock(part), mode);
		for (int i = part * qm->part_slots; i < (part + 1) * qm->part_slots; i++)
		{
			QmSlot	   *s = &qm->slots[i];

			if (OidIsValid(s->dbid) && (!OidIsValid(dbid) || s->dbid == dbid))
				visit(s, arg);
		}
		LWLockRelease(partition_lock(part));
	}
}

/*
 * NdagQmStatementLock
 *		The lock of the partition a statement hashes to.
 */
LWLock *
NdagQmStatementLock(uint32 h)
{
	return partition_lock(h % qm->npartitions);
}

/*
 * window_slot
 *		Slot p (0 .. probes - 1) of the probe window of a statement of hash
 *		h: the only slots where that statement's classes can live.
 */
static QmSlot *
window_slot(uint32 h, int p)
{
	int			base = (h % qm->npartitions) * qm->part_slots;
	uint32		start = h / qm->npartitions;

	return &qm->slots[base + (start + p) % qm->part_slots];
}

/*
 * for_each_statement_slot
 *		Call visit on every slot of statement query_id of database dbid,
 *		whatever its class: its probe window only, under its partition's
 *		lock taken in mode.
 */
static void
for_each_statement_slot(Oid dbid, uint64 query_id, LWLockMode mode,
						QmSlotVisitor visit, void *arg)
{
	uint32		h = NdagQmStatementHash(dbid, query_id);

	LWLockAcquire(NdagQmStatementLock(h), mode);
	for (int p = 0; p < qm->probes; p++)
	{
		QmSlot	   *s = window_slot(h, p);

		if (s->dbid == dbid && s->query_id == query_id)
			visit(s, arg);
	}
	LWLockRelease(NdagQmStatementLock(h));
}

/*
 * NdagQmStatementBucket
 *		The epoch bucket of a statement of a database.
 */
pg_atomic_uint64 *
NdagQmStatementBucket(Oid dbid, uint64 query_id)
{
	return &qm->statement_epochs[NdagQmStatementHash(dbid, query_id) % QM_EPOCH_BUCKETS];
}

/*
 * NdagStatementEpoch
 *		Moves whenever a cached decision of this statement (or of another
 *		in its bucket) may have become wrong: a verdict or demotion.
 */
uint64
NdagStatementEpoch(Oid dbid, uint64 query_id)
{
	return qm != NULL ? pg_atomic_read_u64(NdagQmStatementBucket(dbid, query_id)) : 0;
}

/* what NdagQueryMemoryStatusCounters adds up */
typedef struct QmTotals
{
	int64		entries;
	int64		baselines;
	int64		arm_runs;
	int64		pairs;
	int64		proven;
	int64		refuted;
	int64		explored;
	int64		demoted;
	int64		btsp;
	int64		controlled;
} QmTotals;

/*
 * add_to_totals
 *		NdagQmForEachSlot visitor: add a slot to a QmTotals.
 */
static void
add_to_totals(QmSlot *s, void *arg)
{
	QmTotals   *t = arg;

	t->entries++;
	t->baselines += s->default_n > 0 ? 1 : 0;
	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
	{
		t->arm_runs += s->arms[arm].runs;
		t->pairs += s->arms[arm].pairs.n + s->arms[arm].validation.n;
		t->proven += s->arms[arm].verdict == NDAG_VERDICT_FASTER ? 1 : 0;
		t->refuted += s->arms[arm].verdict == NDAG_VERDICT_NOT_FASTER ? 1 : 0;
	}
	t->explored += s->explored;
	t->demoted += pg_popcount64(s->demoted_mask);
	t->btsp += s->btsp_arm != NDAG_QM_NO_BTSP ? 1 : 0;
	t->controlled += (s->pinned_arm != NDAG_QM_NOT_PINNED ||
					  s->forbidden_mask != 0 || s->frozen) ? 1 : 0;
}

/*
 * NdagQueryMemoryStatusCounters
 *		What the table holds for the current database: statement classes,
 *		those with a default baseline, arm measurements, pairs, arms proven
 *		faster and not faster, explorations counted, demoted arms, BTSP
 *		entries and classes under the DBA's controls; and the table's size
 *		and evictions (all databases).
 */
void
NdagQueryMemoryStatusCounters(void *state)
{
	QmTotals	t;

	if (qm == NULL)
		return;
	memset(&t, 0, sizeof(t));
	if (OidIsValid(MyDatabaseId))
		NdagQmForEachSlot(MyDatabaseId, LW_SHARED, add_to_totals, &t);
	NdagStatusAddCounter(state, "query_memory_entries", t.entries);
	NdagStatusAddCounter(state, "query_memory_baselines", t.baselines);
	NdagStatusAddCounter(state, "query_memory_arm_runs", t.arm_runs);
	NdagStatusAddCounter(state, "query_memory_pairs", t.pairs);
	NdagStatusAddCounter(state, "query_memory_proven", t.proven);
	NdagStatusAddCounter(state, "query_memory_not_faster", t.refuted);
	NdagStatusAddCounter(state, "query_memory_explored", t.explored);
	NdagStatusAddCounter(state, "query_memory_demoted", t.demoted);
	NdagStatusAddCounter(state, "query_memory_btsp", t.btsp);
	NdagStatusAddCounter(state, "query_memory_controlled", t.controlled);
	NdagStatusAddCounter(state, "query_memory_size", qm->nslots);
	NdagStatusAddCounter(state, "query_memory_evictions",
						 (int64) pg_atomic_read_u64(&qm->evictions));
}

/*
 * forget_slot
 *		NdagQmForEachSlot visitor: free a slot.
 */
static void
forget_slot(QmSlot *s, void *arg)
{
	NdagQmSlotClear(s);
}

/*
 * NdagQueryMemoryReset
 *		Forget every statement of database dbid (InvalidOid: of every
 *		database) and move the epoch, so that the decisions every backend
 *		cached from that state are dropped at their next lookup.
 */
void
NdagQueryMemoryReset(Oid dbid)
{
	if (qm == NULL)
		return;
	NdagQmForEachSlot(dbid, LW_EXCLUSIVE, forget_slot, NULL);
	pg_atomic_fetch_add_u64(&qm->forgets, 1);
	/* the parameter sets' buckets are measured again (all databases') */
	NdagParamClassReset();
	pg_atomic_fetch_add_u64(&qm->epoch, 1);
}

/*
 * NdagQueryMemoryForgetStatement
 *		Forget every class of one statement of database dbid (its probe
 *		window only) and move its epoch, so that it is loaded again from
 *		the store at its next planning and the decisions backends cached
 *		from it are dropped.
 */
void
NdagQueryMemoryForgetStatement(Oid dbid, uint64 query_id)
{
	if (qm == NULL || !OidIsValid(dbid))
		return;
	for_each_statement_slot(dbid, query_id, LW_EXCLUSIVE, forget_slot, NULL);
	pg_atomic_fetch_add_u64(&qm->forgets, 1);
	pg_atomic_fetch_add_u64(NdagQmStatementBucket(dbid, query_id), 1);
}

/*
 * load_generation
 *		Moves whenever the table may stop holding a class the store has:
 *		an eviction, a forgotten statement or database, a restore that put
 *		another store in place.  A statement marked all loaded at one
 *		generation stays so while it does not move; classes the table
 *		gains (new ones, loaded ones) do not change that.
 */
static uint64
load_generation(void)
{
	return pg_atomic_read_u64(&qm->forgets) + StoreSwitchCount();
}

/*
 * NdagQueryMemoryLoadGeneration
 *		The load generation, read before a scan of a statement's records
 *		whose every class is then loaded (NdagQueryMemoryMarkAllLoaded).
 */
uint64
NdagQueryMemoryLoadGeneration(void)
{
	return qm != NULL ? load_generation() : 0;
}

/*
 * all_loaded_now
 *		Whether slot s says that the table holds every class of its
 *		statement the store has.
 */
static bool
all_loaded_now(const QmSlot *s)
{
	return s->all_loaded_at == load_generation() + 1;
}

/*
 * statement_all_loaded
 *		Whether the table holds every class of the statement the store
 *		has: then a class it lacks is not in the store either, and looking
 *		there (opening the store, in a new backend) can be skipped.
 *		Caller holds the statement's partition lock.
 */
static bool
statement_all_loaded(uint32 h, Oid dbid, uint64 query_id)
{
	for (int p = 0; p < qm->probes; p++)
	{
		QmSlot	   *s = window_slot(h, p);

		if (s->dbid == dbid && s->query_id == query_id && all_loaded_now(s))
			return true;
	}
	return false;
}

/*
 * NdagQueryMemoryMarkAllLoaded
 *		After every record of a statement the store has was loaded into the
 *		table, by a scan begun at load generation generation: the statement
 *		is all loaded, unless a class may have left the table since (the
 *		generation moved).  A statement the table holds no class of stays
 *		unmarked.
 */
void
NdagQueryMemoryMarkAllLoaded(Oid dbid, uint64 query_id, uint64 generation)
{
	uint32		h;

	if (qm == NULL)
		return;
	h = NdagQmStatementHash(dbid, query_id);
	LWLockAcquire(NdagQmStatementLock(h), LW_EXCLUSIVE);
	if (load_generation() == generation)
	{
		for (int p = 0; p < qm->probes; p++)
		{
			QmSlot	   *s = window_slot(h, p);

			if (s->dbid == dbid && s->query_id == query_id)
				s->all_loaded_at = generation + 1;
		}
	}
	LWLockRelease(NdagQmStatementLock(h));
}

/*
 * now_seconds
 *		The clock of BTSP entries and of pairing.
 */
static double
now_seconds(void)
{
	return (double) GetCurrentTimestamp() / 1000000.0;
}

/*
 * controlled
 *		Whether the DBA pinned, forbade or froze something of a slot.
 */
static bool
controlled(const QmSlot *s)
{
	return s->pinned_arm != NDAG_QM_NOT_PINNED || s->forbidden_mask != 0 ||
		s->frozen;
}

/*
 * NdagQmTouchTick
 *		A slot was used now, for the LRU choice: it gets the table's next
 *		tick, unless it holds the newest one already (it is the most
 *		recently used), so that backends planning a hot statement under
 *		the partition's lock held shared do not all write the table's tick
 *		(one cache line for the whole cluster) and the slot every time.
 */
void
NdagQmTouchTick(QmSlot *s)
{
	if (pg_atomic_read_u64(&s->last_used) != pg_atomic_read_u64(&qm->tick))
		pg_atomic_write_u64(&s->last_used, pg_atomic_add_fetch_u64(&qm->tick, 1));
}

/*
 * touch
 *		A slot was used now: the table's tick for the LRU choice, the
 *		wall-clock time for ndag_queries.last_used, dirty for the flush.
 */
static void
touch(QmSlot *s, TimestampTz now)
{
	NdagQmTouchTick(s);
	if (now != 0)
		pg_atomic_write_u64(&s->used_at, (uint64) now);
	s->dirty = true;
}

/*
 * touch_shared
 *		touch() under the partition's lock held shared (the slot is dirty
 *		already): NdagQmTouchTick, and used_at (ndag_queries.last_used) moved
 *		in steps of QM_USED_AT_GRAIN_US, for the same reason.
 */
static void
touch_shared(QmSlot *s, TimestampTz now)
{
	NdagQmTouchTick(s);
	if (now - (TimestampTz) pg_atomic_read_u64(&s->used_at) >= QM_USED_AT_GRAIN_US)
		pg_atomic_write_u64(&s->used_at, (uint64) now);
}

/*
 * NdagQmSlotClear
 *		A free slot (its atomics initialised).
 */
void
NdagQmSlotClear(QmSlot *s)
{
	memset(s, 0, sizeof(QmSlot));
	pg_atomic_init_u64(&s->last_used, 0);
	pg_atomic_init_u64(&s->used_at, 0);
	pg_atomic_init_u32(&s->total, 0);
}

/*
 * slot_init
 *		An empty slot for a statement class.
 */
static void
slot_init(QmSlot *s, Oid dbid, uint64 query_id, uint64 klass)
{
	NdagQmSlotClear(s);
	s->dbid = dbid;
	s->query_id = query_id;
	s->klass = klass;
	s->btsp_arm = NDAG_QM_NO_BTSP;
	s->pinned_arm = NDAG_QM_NOT_PINNED;
}

/*
 * NdagQmSlotFind
 *		The slot of a statement class, or with create a new one (a free
 *		slot of the probe window, else its least recently used, one
 *		without the DBA's controls if there is such: an eviction, counted,
 *		that moves the epoch so that backends reload the evicted class from
 *		the store); NULL when absent.  The classes of one query share its
 *		partition and probe window, so a new class marks the query's other
 *		classes, and itself, multi_class (the statement's second class moves
 *		its epoch: decisions cached as its only class no longer hold for
 *		every parameter set).  Caller holds the partition's lock
 *		(exclusively to create); h is NdagQmStatementHash(dbid, query_id).
 */
QmSlot *
NdagQmSlotFind(uint32 h, Oid dbid, uint64 query_id, uint64 klass, bool create)
{
	QmSlot	   *victim = NULL;
	bool		siblings = false;

	for (int p = 0; p < qm->probes; p++)
	{
		QmSlot	   *s = window_slot(h, p);

		if (s->dbid == dbid && s->query_id == query_id)
		{
			if (s->klass == klass)
				return s;
			siblings = true;
		}
		if (victim != NULL && victim->dbid == InvalidOid)
			continue;
		if (s->dbid == InvalidOid || victim == NULL ||
			(controlled(victim) && !controlled(s)) ||
			(controlled(victim) == controlled(s) &&
			 pg_atomic_read_u64(&s->last_used) < pg_atomic_read_u64(&victim->last_used)))
			victim = s;
	}
	if (!create)
		return NULL;
	if (victim->dbid != InvalidOid)
	{
		pg_atomic_fetch_add_u64(&qm->evictions, 1);
		pg_atomic_fetch_add_u64(&qm->forgets, 1);
		pg_atomic_fetch_add_u64(&qm->epoch, 1);
	}
	slot_init(victim, dbid, query_id, klass);
	if (siblings)
	{
		bool		was_single = false;

		victim->multi_class = true;
		for (int p = 0; p < qm->probes; p++)
		{
			QmSlot	   *s = window_slot(h, p);

			if (s->dbid == dbid && s->query_id == query_id)
			{
				was_single |= !s->multi_class;
				s->multi_class = true;
			}
		}
		/* decisions cached as the statement's only class no longer are */
		if (was_single)
			pg_atomic_fetch_add_u64(NdagQmStatementBucket(dbid, query_id), 1);
	}
	return victim;
}

/*
 * btsp_live
 *		The slot's BTSP arm while its weight is above the threshold;
 *		NDAG_QM_NO_BTSP otherwise.  Reads only (the lock held shared will
 *		do).
 */
static int
btsp_live(const QmSlot *s, double now, double *weight)
{
	double		w;

	if (s->btsp_arm == NDAG_QM_NO_BTSP)
		return NDAG_QM_NO_BTSP;
	w = ndag_btsp_decay(1.0, s->btsp_stored_at, now, NDAG_BTSP_TAU_S);
	if (!(w > NDAG_BTSP_THRESHOLD))
		return NDAG_QM_NO_BTSP;
	if (weight != NULL)
		*weight = w;
	return s->btsp_arm;
}

/*
 * btsp_current
 *		btsp_live, dropping a faded entry (caller holds the lock
 *		exclusively).
 */
static int
btsp_current(QmSlot *s, double now, double *weight)
{
	int			arm = btsp_live(s, now, weight);

	if (arm == NDAG_QM_NO_BTSP)
		s->btsp_arm = NDAG_QM_NO_BTSP;
	return arm;
}

/*
 * NdagQmDefaultMedian
 *		The median of the statement's latest default runs (not one slow
 *		run under load), NaN before the first.
 */
double
NdagQmDefaultMedian(const QmSlot *s)
{
	int			n = Min(s->default_n, QM_RECENT);
	float4		v[QM_RECENT];

	if (n == 0)
		return NAN;
	memcpy(v, s->default_recent, sizeof(float4) * n);
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--)
		{
			float4		t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/*
 * fresh_run
 *		Whether an unpaired run of a statement made at "at" (seconds, 0:
 *		none) is recent enough to pair with a run now: within
 *		QM_PAIR_WINDOW_S, or QM_PAIR_WINDOW_RUNS times typical_ms (the
 *		statement's usual latency, NaN unknown) for slow statements.
 */
static bool
fresh_run(double at, double typical_ms, double now)
{
	double		window = QM_PAIR_WINDOW_S;

	if (!(at > 0))
		return false;
	if (isfinite(typical_ms))
		window = Max(window, QM_PAIR_WINDOW_RUNS * typical_ms / 1000.0);
	return now - at <= window;
}

/*
 * fresh_default
 *		Whether the statement's latest default run is unpaired and recent
 *		enough to pair with an arm run now (fresh_run, by its median).
 */
static bool
fresh_default(const QmSlot *s, double now)
{
	return fresh_run(s->fresh_default_at, NdagQmDefaultMedian(s), now);
}

/*
 * fresh_leader
 *		Whether the final's latest leader run is unpaired and recent enough
 *		to pair with a challenger's run now (fresh_run, by the leader's
 *		geometric mean).
 */
static bool
fresh_leader(const QmSlot *s, double now)
{
	const QmArm *leader = &s->arms[s->final_leader];

	return fresh_run(s->fresh_leader_at,
					 leader->runs > 0 ? exp(leader->mean_ln) : NAN, now);
}

/*
 * arm_speedup
 *		An arm's paired speed-up: a proven arm's over the pairs that proved
 *		it and its validation pairs since, so that a proof by two lucky
 *		pairs does not keep outweighing another proven arm once later pairs
 *		put it lower; an open or refuted arm's over its pairs.
 */
static double
arm_speedup(const QmArm *a)
{
	NdagPaired	all;

	if (a->verdict != NDAG_VERDICT_FASTER)
		return ndag_paired_speedup(&a->pairs);
	all = ndag_paired_merge(&a->pairs, &a->validation);
	return ndag_paired_speedup(&all);
}

/*
 * NdagQueryMemoryGet
 *		Copy a statement class's state; false when nothing is known of it.
 */
bool
NdagQueryMemoryGet(Oid dbid, uint64 query_id, uint64 klass,
				   NdagQueryStats *out)
{
	QmSlot	   *s;
	uint32		h;

	memset(out, 0, sizeof(NdagQueryStats));
	out->btsp_arm = NDAG_QM_NO_BTSP;
	out->pinned_arm = NDAG_QM_NOT_PINNED;
	out->default_ms = NAN;
	if (qm == NULL)
		return false;
	h = NdagQmStatementHash(dbid, query_id);
	/* reads only: last_used is an atomic */
	LWLockAcquire(NdagQmStatementLock(h), LW_SHARED);
	s = NdagQmSlotFind(h, dbid, query_id, klass, false);
	/* read only where the class is missing: whether the store may hold it */
	out->all_loaded = s == NULL && statement_all_loaded(h, dbid, query_id);
	if (s != NULL)
	{
		NdagQmTouchTick(s);
		out->default_n = s->default_n;
		out->default_ms = NdagQmDefaultMedian(s);
		out->multi_class = s->multi_class;
		out->total = pg_atomic_read_u32(&s->total);
		out->explored = s->explored;
		out->same_mask = s->same_mask;
		out->planned_mask = s->planned_mask;
		out->forced_mask = s->forced_mask;
		out->demoted_mask = s->demoted_mask;
		out->pinned_arm = s->pinned_arm;
		out->forbidden_mask = s->forbidden_mask;
		out->frozen = s->frozen;
		out->btsp_arm = btsp_live(s, now_seconds(), &out->btsp_weight);
		out->final_winner = s->final_winner;
		out->final_lost_mask = s->final_lost_mask;
		for (int arm = 0; arm < NDAG_MAX_ARMS; arm++)
		{
			const QmArm *a = &s->arms[arm];

			out->arm_n[arm] = a->runs;
			out->arm_mean_ln[arm] = a->mean_ln;
			out->arm_cost_ratio[arm] = a->cost_ratio;
			out->verdict[arm] = a->verdict;
			out->pair_n[arm] = a->pairs.n;
			out->pair_speedup[arm] = (float4) arm_speedup(a);
		}
	}
	LWLockRelease(NdagQmStatementLock(h));
	return s != NULL;
}

/* the classes NdagQueryMemoryClassesOf looks for, and which it found */
typedef struct QmClassesOf
{
	const uint64 *klasses;
	int			n;
	bool	   *found;
	bool		all_loaded;		/* the statement is all loaded */
} QmClassesOf;

/*
 * mark_class
 *		for_each_statement_slot visitor: mark the slot's class in a
 *		QmClassesOf when it is one of its classes.
 */
static void
mark_class(QmSlot *s, void *arg)
{
	QmClassesOf *c = arg;

	c->all_loaded |= all_loaded_now(s);
	for (int i = 0; i < c->n; i++)
		if (s->klass == c->klasses[i])
			c->found[i] = true;
}

/*
 * NdagQueryMemoryClassesOf
 *		Which of a statement's classes klasses[0..n-1] the table holds
 *		(found[i]), in one pass over the statement's probe window under its
 *		lock, where a look-up per class takes the lock each time; true when
 *		the statement is all loaded (the store has none of the others).
 */
bool
NdagQueryMemoryClassesOf(Oid dbid, uint64 query_id, const uint64 *klasses,
						 int n, bool *found)
{
	QmClassesOf c = {klasses, n, found, false};

	memset(found, 0, sizeof(bool) * n);
	if (qm != NULL)
		for_each_statement_slot(dbid, query_id, LW_SHARED, mark_class, &c);
	return c.all_loaded;
}

/*
 * NdagQmBestProven
 *		The arm of usable (a mask) proven faster on a slot: the winner of
 *		its latest final while it is proven and usable, else the one with
 *		the largest paired speed-up; 0 when none.
 */
int
NdagQmBestProven(const QmSlot *s, uint64 usable, double *speedup)
{
	int			best = 0;
	int			w = s->final_winner;

	*speedup = 0;
	if (w > 0 && w < NDAG_MAX_ARMS && (usable & (UINT64CONST(1) << w)) != 0 &&
		s->arms[w].verdict == NDAG_VERDICT_FASTER)
	{
		*speedup = arm_speedup(&s->arms[w]);
		return w;
	}
	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
	{
		double		x = arm_speedup(&s->arms[arm]);

		if ((usable & (UINT64CONST(1) << arm)) != 0 &&
			s->arms[arm].verdict == NDAG_VERDICT_FASTER && x > *speedup)
		{
			best = arm;
			*speedup = x;
		}
	}
	return best;
}

/* slots copied out of the table */
typedef struct QmCopies
{
	QmSlot	   *slots;			/* palloc'd, grown by 16 */
	int			n;
} QmCopies;

/*
 * copy_if_proven
 *		NdagQmForEachSlot visitor: copy a slot with an arm proven faster and not
 *		forbidden into a QmCopies.
 */
static void
copy_if_proven(QmSlot *s, void *arg)
{
	QmCopies   *c = arg;
	double		speedup;

	if (NdagQmBestProven(s, ~s->forbidden_mask, &speedup) == 0)
		return;
	if (c->n > 0 && c->n % 16 == 0)
		c->slots = repalloc(c->slots, sizeof(QmSlot) * (c->n + 16));
	c->slots[c->n++] = *s;
}

/*
 * NdagQueryMemoryList
 *		Copies of every statement class of database dbid that has an arm
 *		proven faster and not forbidden (palloc'd array); their number.
 */
int
NdagQueryMemoryList(Oid dbid, NdagQueryClass **out)
{
	int			n;
	QmCopies	copies = {palloc(sizeof(QmSlot) * 16), 0};

	*out = NULL;
	if (qm == NULL)
		return 0;
	if (OidIsValid(dbid))
		NdagQmForEachSlot(dbid, LW_SHARED, copy_if_proven, &copies);
	n = copies.n;
	*out = palloc(sizeof(NdagQueryClass) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		const QmSlot *s = &copies.slots[i];
		NdagQueryClass *c = &(*out)[i];

		c->query_id = s->query_id;
		c->klass = s->klass;
		c->default_ms = NdagQmDefaultMedian(s);
		c->best_arm = NdagQmBestProven(s, ~s->forbidden_mask, &c->speedup);
		c->pairs = c->best_arm != 0 ? s->arms[c->best_arm].pairs.n : 0;
	}
	pfree(copies.slots);
	return n;
}

/*
 * NdagArmExplorable
 *		Whether exploration may run an arm planned for a query: its plan
 *		differs from the default's (and from other arms'), was not forced
 *		past disable_cost, and is not estimated costlier than max_ratio
 *		times the default plan (a ratio of 0 is unknown: the arm is planned
 *		again before it runs).  max_ratio is
 *		ruvector.dag_explore_max_cost_ratio for a user's execution,
 *		ruvector.dag_shadow_max_cost_ratio for a shadow run (whose timeout
 *		bounds what a slow arm costs).
 */
bool
NdagArmExplorable(uint64 same_mask, uint64 forced_mask, float4 cost_ratio,
				  int arm, double max_ratio)
{
	uint64		bit = UINT64CONST(1) << arm;

	return (same_mask & bit) == 0 && (forced_mask & bit) == 0 &&
		!(cost_ratio > max_ratio);
}

/*
 * open_arms
 *		The usable arms of a statement class whose verdict is still open:
 *		never planned for it, or explorable (NdagArmExplorable with
 *		max_ratio).  None for a class the DBA pinned or froze; never a
 *		forbidden arm.  Caller holds the lock.
 */
static uint64
open_arms(const QmSlot *s, uint64 enabled, double max_ratio)
{
	uint64		usable = enabled & ~s->demoted_mask & ~s->forbidden_mask &
		~UINT64CONST(1);
	uint64		open = 0;

	if (s->frozen || s->pinned_arm != NDAG_QM_NOT_PINNED)
		return 0;
	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
	{
		uint64		bit = UINT64CONST(1) << arm;

		if ((usable & bit) == 0 || s->arms[arm].verdict != NDAG_VERDICT_OPEN)
			continue;
		if ((s->planned_mask & bit) == 0 ||
			NdagArmExplorable(s->same_mask, s->forced_mask,
							  s->arms[arm].cost_ratio, arm, max_ratio))
			open |= bit;
	}
	return open;
}

/* what a statement class's slot says of a mask of arms (read_slot_mask) */
typedef uint64 (*QmSlotMask) (const QmSlot *s, uint64 mask);

/*
 * read_slot_mask
 *		What fn says of mask for a statement class, read under the lock
 *		held shared; if_none when shared memory has nothing of the class.
 */
static uint64
read_slot_mask(Oid dbid, uint64 query_id, uint64 klass, QmSlotMask fn,
			   uint64 mask, uint64 if_none)
{
	QmSlot	   *s;
	uint64		result;
	uint32		h;

	if (qm == NULL)
		return 0;
	h = NdagQmStatementHash(dbid, query_id);
	LWLockAcquire(NdagQmStatementLock(h), LW_SHARED);
	s = NdagQmSlotFind(h, dbid, query_id, klass, false);
	result = s != NULL ? fn(s, mask) : if_none;
	LWLockRelease(NdagQmStatementLock(h));
	return result;
}

/*
 * shadow_open_arms
 *		open_arms() capped by ruvector.dag_shadow_max_cost_ratio.
 */
static uint64
shadow_open_arms(const QmSlot *s, uint64 enabled)
{
	return open_arms(s, enabled, ndag_shadow_max_cost_ratio);
}

/*
 * NdagQueryMemoryOpenArms
 *		open_arms() of a statement class for shadow runs (cap
 *		ruvector.dag_shadow_max_cost_ratio; every usable arm when nothing is
 *		known of it).
 */
uint64
NdagQueryMemoryOpenArms(Oid dbid, uint64 query_id, uint64 klass,
						uint64 enabled)
{
	return read_slot_mask(dbid, query_id, klass, shadow_open_arms, enabled,
						  enabled & ~UINT64CONST(1));
}

/*
 * leading_arms
 *		The arms of mask still open whose pairs so far find them faster on
 *		the whole.
 */
static uint64
leading_arms(const QmSlot *s, uint64 mask)
{
	uint64		leading = 0;

	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
	{
		const QmArm *a = &s->arms[arm];

		if ((mask & (UINT64CONST(1) << arm)) != 0 &&
			a->verdict == NDAG_VERDICT_OPEN && a->pairs.n > 0 && a->pairs.mean < 0)
			leading |= UINT64CONST(1) << arm;
	}
	return leading;
}

/*
 * NdagQueryMemoryLeadingArms
 *		leading_arms() of a statement class (pairs run as users run the
 *		plans): a shadow run takes them up where an earlier run left them,
 *		without screening them again.
 */
uint64
NdagQueryMemoryLeadingArms(Oid dbid, uint64 query_id, uint64 klass,
						   uint64 mask)
{
	return read_slot_mask(dbid, query_id, klass, leading_arms, mask, 0);
}

/* argument of add_if_proven_elsewhere */
typedef struct ProvenElsewhere
{
	uint64		klass;			/* the class asking */
	uint64		proven;			/* out: arms proven in its other classes */
} ProvenElsewhere;

/*
 * add_if_proven_elsewhere
 *		for_each_statement_slot visitor: add to the ProvenElsewhere *arg the
 *		arms proven faster, and neither demoted nor forbidden, in a class
 *		other than its own.
 */
static void
add_if_proven_elsewhere(QmSlot *s, void *arg)
{
	ProvenElsewhere *pe = (ProvenElsewhere *) arg;

	if (s->klass == pe->klass)
		return;
	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
	{
		uint64		bit = UINT64CONST(1) << arm;

		if (s->arms[arm].verdict == NDAG_VERDICT_FASTER &&
			((s->demoted_mask | s->forbidden_mask) & bit) == 0)
			pe->proven |= bit;
	}
}

/*
 * NdagQueryMemoryProvenElsewhere
 *		The arms proven faster (and neither demoted nor forbidden there) for
 *		the statement's other parameter classes in shared memory: a gain
 *		another class of the same statement showed is the likeliest one,
 *		so shadow runs try these first.
 */
uint64
NdagQueryMemoryProvenElsewhere(Oid dbid, uint64 query_id, uint64 klass)
{
	ProvenElsewhere pe = {klass, 0};

	if (qm == NULL)
		return 0;
	for_each_statement_slot(dbid, query_id, LW_SHARED, add_if_proven_elsewhere,
							&pe);
	return pe.proven;
}

/* per arm, the statement classes of a database that proved or refuted it */
typedef struct ArmRecord
{
	int			proven[NDAG_MAX_ARMS];
	int			refuted[NDAG_MAX_ARMS];
} ArmRecord;

/*
 * add_to_arm_record
 *		NdagQmForEachSlot visitor: count a class's verdicts in the ArmRecord
 *		*arg: proven faster, or measured not faster (its pairs refuted it,
 *		or the regression guard demoted it).  Arms judged without pairs (a
 *		plan like the default's) count for neither.
 */
static void
add_to_arm_record(QmSlot *s, void *arg)
{
	ArmRecord  *r = (ArmRecord *) arg;

	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
	{
		const QmArm *a = &s->arms[arm];

		if ((s->demoted_mask & (UINT64CONST(1) << arm)) != 0)
			r->refuted[arm]++;
		else if (a->verdict == NDAG_VERDICT_FASTER)
			r->proven[arm]++;
		else if (a->verdict == NDAG_VERDICT_NOT_FASTER && a->pairs.n > 0)
			r->refuted[arm]++;
	}
}

/*
 * NdagQueryMemoryFavoredArms
 *		The arms the database's statements proved faster more often than
 *		they refuted them: on one workload the same arm often wins for many
 *		statements (no_parallel on a machine with few CPUs, a cheaper
 *		random_page_cost on cached data), so shadow runs try these before
 *		the others; each refutation weighs against the arm, and one refuted
 *		as often as proven is no longer favored.
 */
uint64
NdagQueryMemoryFavoredArms(Oid dbid)
{
	ArmRecord	r;
	uint64		favored = 0;

	memset(&r, 0, sizeof(r));
	NdagQmForEachSlot(dbid, LW_SHARED, add_to_arm_record, &r);
	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
		if (r.proven[arm] > r.refuted[arm])
			favored |= UINT64CONST(1) << arm;
	return favored;
}

/*
 * under_test
 *		Whether an open arm of the mask already has pairs, or is the
 *		statement's BTSP candidate: it is paired again at the next chance,
 *		outside the exploration budget, until its verdict.
 */
static bool
under_test(QmSlot *s, uint64 open, double now)
{
	int			btsp = btsp_current(s, now, NULL);

	if (btsp > 0 && btsp < NDAG_MAX_ARMS && (open & (UINT64CONST(1) << btsp)) != 0)
		return true;
	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
		if ((open & (UINT64CONST(1) << arm)) != 0 && s->arms[arm].pairs.n > 0)
			return true;
	return false;
}

/*
 * final_may_run
 *		Whether a final of challenger against the applied arm may run: both
 *		proven faster on the class, the challenger never beaten in a final.
 *		Caller holds the lock.
 */
static bool
final_may_run(const QmSlot *s, int applied_arm, int challenger)
{
	return applied_arm > 0 && applied_arm < NDAG_MAX_ARMS &&
		challenger > 0 && challenger < NDAG_MAX_ARMS &&
		challenger != applied_arm &&
		s->arms[applied_arm].verdict == NDAG_VERDICT_FASTER &&
		s->arms[challenger].verdict == NDAG_VERDICT_FASTER &&
		(s->final_lost_mask & (UINT64CONST(1) << challenger)) == 0;
}

/*
 * final_start
 *		A new final between the applied arm (the leader) and a challenger:
 *		no pairs yet; the leader's next run opens it.  Caller holds the
 *		lock exclusively.
 */
static void
final_start(QmSlot *s, int leader, int challenger)
{
	s->final_leader = (int16) leader;
	s->final_challenger = (int16) challenger;
	s->fresh_leader_at = 0;
	s->final_turn_given = false;
	s->final_idle_turns = 0;
	memset(&s->final_pairs, 0, sizeof(NdagPaired));
}

/*
 * final_abandon
 *		A final whose pairs stopped forming (the leader's runs seldom
 *		recorded, or always too long before the challenger's turn): the
 *		challenger did not prove itself and never challenges again, the
 *		leader stays, and the statement's epoch moves so that cached
 *		decisions stop naming the challenger (each turn of a class with one
 *		takes the exclusive lock).  Counted as a lost final.  Caller holds
 *		the lock exclusively.
 */
static void
final_abandon(QmSlot *s, Oid dbid, uint64 query_id)
{
	elog(DEBUG1, "neural_dag: statement %lld: the final of arm %d against arm %d abandoned after %d turns without a pair (%d pairs)",
		 (long long) query_id, s->final_challenger, s->final_leader,
		 QM_FINAL_MAX_IDLE_TURNS, s->final_pairs.n);
	s->final_lost_mask |= UINT64CONST(1) << s->final_challenger;
	final_start(s, 0, 0);
	NdagRewriteCount(NDAG_RW_FINALS_LOST, 1);
	pg_atomic_fetch_add_u64(NdagQmStatementBucket(dbid, query_id), 1);
}

/*
 * final_observe
 *		A recorded run of an arm during a final: the leader's waits to be
 *		paired; the challenger's pairs with a fresh one, and when their
 *		sequential test (ndag_paired_verdict, the challenger against the
 *		leader) ends it, the winner is remembered (a challenger that won
 *		is applied from then on, best_proven_arm), the loser never
 *		challenges again.  Caller holds the lock exclusively.
 */
static void
final_observe(QmSlot *s, int arm, double exec_ms, double now,
			  NdagQueryObserved *out)
{
	int			verdict;
	int			loser;

	if (s->final_leader == 0)
		return;
	if (arm == s->final_leader)
	{
		s->fresh_leader_ms = exec_ms;
		s->fresh_leader_at = now;
		s->final_turn_given = false;
		return;
	}
	if (arm != s->final_challenger || !fresh_leader(s, now))
		return;
	ndag_paired_add(&s->final_pairs, exec_ms, s->fresh_leader_ms);
	s->fresh_leader_at = 0;
	s->final_idle_turns = 0;
	verdict = ndag_paired_verdict(&s->final_pairs);
	if (verdict == NDAG_PAIRED_FASTER)
	{
		s->final_winner = s->final_challenger;
		loser = s->final_leader;
		out->final_outcome = 1;
	}
	else if (verdict == NDAG_PAIRED_NOT_FASTER)
	{
		loser = s->final_challenger;
		out->final_outcome = -1;
	}
	else
		return;
	out->final_pairs = s->final_pairs.n;
	out->final_speedup = ndag_paired_speedup(&s->final_pairs);
	s->final_lost_mask |= UINT64CONST(1) << loser;
	final_start(s, 0, 0);
}

/*
 * turn_counted_shared
 *		The turn of an execution whose decision is all it runs, counted
 *		under the partition's lock held shared: when the class is known,
 *		pinned or neither exploring nor validating an applied arm, already
 *		dirty and drew the same decision last time, only the atomics
 *		change (total, last_used, used_at).  False when the exclusive path
 *		must run.
 */
static bool
turn_counted_shared(uint32 h, Oid dbid, uint64 query_id, uint64 klass,
					int applied_arm, int applied_source, bool may_explore,
					int challenger, TimestampTz now)
{
	QmSlot	   *s;
	bool		counted = false;

	/*
	 * an arm applied under the regression guard counts to its validation;
	 * one with a challenger may run it
	 */
	bool		plain = !may_explore && challenger == 0 &&
		!(applied_arm > 0 && applied_arm < NDAG_MAX_ARMS && ndag_regression_guard);

	LWLockAcquire(NdagQmStatementLock(h), LW_SHARED);
	s = NdagQmSlotFind(h, dbid, query_id, klass, false);
	if (s != NULL && s->dirty && s->last_source == applied_source &&
		s->last_arm == applied_arm &&
		(plain || s->pinned_arm != NDAG_QM_NOT_PINNED))
	{
		touch_shared(s, now);
		pg_atomic_fetch_add_u32(&s->total, 1);
		counted = true;
	}
	LWLockRelease(NdagQmStatementLock(h));
	return counted;
}

/*
 * NdagQueryMemoryTurn
 *		What one execution of a statement class runs besides its decision
 *		(applied_arm, from applied_source, which the slot remembers for
 *		ndag_queries).
 *		With an arm applied and ruvector.dag_regression_guard on: every
 *		QM_VALIDATE_EVERY executions (every
 *		QM_VALIDATE_UNPROVEN for an arm not proven for it) the default
 *		plan, whose run the next run of the arm is paired with.  With
 *		may_explore (learn mode, inline exploration, worth it), an open arm
 *		runs only right after a default run it pairs with (else the default
 *		runs first): an arm under test (under_test) at every such chance,
 *		others within 1 + fraction * decisions explorations; a BTSP
 *		"explore" entry grants one turn and is used up.  No exploration
 *		before the default plan was observed once.  With a challenger (a
 *		proven arm the caller would pit against the applied one, learn mode)
 *		and neither of these due, the challenger runs right after each
 *		recorded run of the applied arm, once per such run (the final,
 *		final_observe).  A pinned class runs its pin and nothing else; a
 *		frozen one never explores (open_arms).  A standby runs nothing but
 *		its decisions.
 */
NdagTurn
NdagQueryMemoryTurn(Oid dbid, uint64 query_id, uint64 klass, int applied_arm,
					int applied_source, bool may_explore, double fraction,
					int challenger)
{
	uint64		enabled;
	QmSlot	   *s;
	NdagTurn	turn = NDAG_TURN_DECIDED;
	TimestampTz ts = GetCurrentTimestamp();
	double		now = (double) ts / 1000000.0;
	bool		explore = false;
	bool		fresh = false;
	uint32		h;

	if (qm == NULL || !NdagMayWriteLearnedState())
		return NDAG_TURN_DECIDED;
	h = NdagQmStatementHash(dbid, query_id);
	if (turn_counted_shared(h, dbid, query_id, klass, applied_arm,
							applied_source, may_explore, challenger, ts))
		return NDAG_TURN_DECIDED;
	/* the arm catalogue, read only where an arm may be explored */
	enabled = may_explore ? NdagArmsEnabledMask() : 0;
	NdagRewriteCount(NDAG_RW_EXCLUSIVE_TURNS, 1);
	LWLockAcquire(NdagQmStatementLock(h), LW_EXCLUSIVE);
	s = NdagQmSlotFind(h, dbid, query_id, klass, true);
	touch(s, ts);
	pg_atomic_fetch_add_u32(&s->total, 1);
	s->last_source = (int8) applied_source;
	s->last_arm = (int16) applied_arm;
	if (s->pinned_arm != NDAG_QM_NOT_PINNED)
	{
		LWLockRelease(NdagQmStatementLock(h));
		return NDAG_TURN_DECIDED;
	}
	if (may_explore && s->default_n > 0)
	{
		uint64		open = open_arms(s, enabled, ndag_explore_max_cost_ratio) &
			~(UINT64CONST(1) << applied_arm);

		if (open != 0)
		{
			if (under_test(s, open, now))
				explore = true;
			else if (btsp_current(s, now, NULL) == NDAG_BTSP_EXPLORE)
			{
				s->btsp_arm = NDAG_QM_NO_BTSP;
				explore = true;
			}
			else
				explore = (double) s->explored <
					1.0 + fraction * (double) pg_atomic_read_u32(&s->total) - 1e-9;
		}
		fresh = fresh_default(s, now);
	}
	if (applied_arm > 0 && applied_arm < NDAG_MAX_ARMS && ndag_regression_guard)
	{
		uint32		every = s->arms[applied_arm].verdict == NDAG_VERDICT_FASTER ?
			QM_VALIDATE_EVERY : QM_VALIDATE_UNPROVEN;

		/* an unproven arm on a statement never run by default: soon */
		if (s->default_n == 0)
			every = Min(every, 2);

		if (++s->since_validation >= every || (explore && !fresh))
		{
			s->since_validation = 0;
			turn = NDAG_TURN_DEFAULT;
		}
	}
	if (turn == NDAG_TURN_DECIDED && explore && fresh)
	{
		s->explored++;
		turn = NDAG_TURN_EXPLORE;
	}
	if (turn == NDAG_TURN_DECIDED && final_may_run(s, applied_arm, challenger))
	{
		if (s->final_leader != applied_arm || s->final_challenger != challenger)
			final_start(s, applied_arm, challenger);
		else if (++s->final_idle_turns > QM_FINAL_MAX_IDLE_TURNS)
			final_abandon(s, dbid, query_id);
		else if (fresh_leader(s, now) && !s->final_turn_given)
		{
			s->final_turn_given = true;
			turn = NDAG_TURN_FINAL;
		}
	}
	LWLockRelease(NdagQmStatementLock(h));
	return turn;
}

/*
 * NdagQueryMemoryMarkPlanned
 *		An arm was planned for this statement class; with same, its plan is
 *		the default's (or another arm's): never explore it for this class.
 *		cost_ratio is its plan's estimated cost over the default plan's
 *		(the latest planning's), forced whether its plan was forced past
 *		disable_cost.
 */
void
NdagQueryMemoryMarkPlanned(Oid dbid, uint64 query_id, uint64 klass, int arm,
						   bool same, double cost_ratio, bool forced)
{
	QmSlot	   *s;
	uint32		h;

	if (qm == NULL || arm <= 0 || arm >= NDAG_MAX_ARMS)
		return;
	h = NdagQmStatementHash(dbid, query_id);
	LWLockAcquire(NdagQmStatementLock(h), LW_EXCLUSIVE);
	s = NdagQmSlotFind(h, dbid, query_id, klass, true);
	touch(s, 0);
	s->planned_mask |= UINT64CONST(1) << arm;
	if (same)
		s->same_mask |= UINT64CONST(1) << arm;
	if (forced)
		s->forced_mask |= UINT64CONST(1) << arm;
	else
		s->forced_mask &= ~(UINT64CONST(1) << arm);
	if (cost_ratio > 0)
		s->arms[arm].cost_ratio = (float4) cost_ratio;
	LWLockRelease(NdagQmStatementLock(h));
}

/*
 * refute
 *		An open arm proven not faster: its verdict, and a BTSP memory of it
 *		forgotten.  Caller holds the lock exclusively.
 */
static void
refute(QmSlot *s, int arm, NdagQueryObserved *out)
{
	s->arms[arm].verdict = NDAG_VERDICT_NOT_FASTER;
	if (s->btsp_arm == arm)
		s->btsp_arm = NDAG_QM_NO_BTSP;
	out->refuted = true;
}

/*
 * pair_record
 *		One pair of runs of an arm and the default: an open arm's pairs
 *		decide its verdict (a timed-out arm is not faster at once); a
 *		proven arm's later pairs demote it when they prove it slower than
 *		the default (its window of validation pairs restarts every
 *		2 * NDAG_PAIRED_MAX pairs, so that old pairs do not hide a change).
 *		The arm the DBA pinned is never demoted.  An open arm screened
 *		faster before (shadow runs' pairs without parallel workers) is
 *		judged by ndag_paired_verdict_screened.  Caller holds the lock
 *		exclusively.
 */
static void
pair_record(QmSlot *s, int arm, double default_ms, double arm_ms,
			bool timed_out, bool screened, NdagQueryObserved *out)
{
	QmArm	   *a = &s->arms[arm];
	uint64		bit = UINT64CONST(1) << arm;
	int			verdict;

	if (a->verdict == NDAG_VERDICT_FASTER)
	{
		double		speedup;
		int			best_before = NdagQmBestProven(s, ~s->demoted_mask, &speedup);

		if (a->validation.n >= 2 * NDAG_PAIRED_MAX)
			memset(&a->validation, 0, sizeof(NdagPaired));
		ndag_paired_add(&a->validation, timed_out ? Max(arm_ms, 2.0 * default_ms) : arm_ms,
						default_ms);
		out->pairs = a->validation.n;
		out->speedup = ndag_paired_speedup(&a->validation);
		if (ndag_regression_guard && s->pinned_arm != arm &&
			(timed_out || ndag_paired_slower(&a->validation)))
		{
			a->verdict = NDAG_VERDICT_NOT_FASTER;
			s->demoted_mask |= bit;
			if (s->btsp_arm == arm)
				s->btsp_arm = NDAG_QM_NO_BTSP;
			out->demoted = true;
		}
		/* its speed-up counts these pairs: the ranking of proven arms may move */
		else if (NdagQmBestProven(s, ~s->demoted_mask, &speedup) != best_before)
			out->reranked = true;
		return;
	}
	if (a->verdict != NDAG_VERDICT_OPEN)
		return;
	if (!timed_out)
		ndag_paired_add(&a->pairs, arm_ms, default_ms);
	out->pairs = a->pairs.n;
	out->speedup = ndag_paired_speedup(&a->pairs);
	verdict = ndag_paired_verdict_screened(&a->pairs, screened);
	if (timed_out || verdict == NDAG_PAIRED_NOT_FASTER)
		refute(s, arm, out);
	else if (verdict == NDAG_PAIRED_FASTER)
	{
		a->verdict = NDAG_VERDICT_FASTER;
		memset(&a->validation, 0, sizeof(NdagPaired));
		out->proven = true;
	}
}

/*
 * verdict_moved
 *		After a verdict or the ranking of the proven arms changed (out): the
 *		statement's epoch moves, so that cached decisions of it are made
 *		again; a demotion is counted.
 */
static void
verdict_moved(Oid dbid, uint64 query_id, const NdagQueryObserved *out)
{
	if (out->proven || out->refuted || out->demoted || out->reranked ||
		out->final_outcome != 0)
		pg_atomic_fetch_add_u64(NdagQmStatementBucket(dbid, query_id), 1);
	if (out->demoted)
		NdagRewriteCount(NDAG_RW_DEMOTIONS, 1);
}

/* what update_arm does to an arm: a pair of runs, or a refutation */
typedef struct QmArmUpdate
{
	bool		refute;			/* refute it if it is still open */
	double		default_ms;		/* else the pair */
	double		arm_ms;
	bool		arm_timed_out;
	bool		screened;		/* of an arm screened faster before */
} QmArmUpdate;

/*
 * update_arm
 *		Apply an update to an arm of a statement class under its lock, then
 *		move the statement's epoch when a verdict changed.  Returns the
 *		arm's verdict after it.
 */
static NdagArmVerdict
update_arm(Oid dbid, uint64 query_id, uint64 klass, int arm,
		   const QmArmUpdate *u)
{
	NdagQueryObserved out;
	QmSlot	   *s;
	NdagArmVerdict verdict;
	uint32		h;

	memset(&out, 0, sizeof(out));
	if (qm == NULL || arm <= 0 || arm >= NDAG_MAX_ARMS)
		return NDAG_VERDICT_OPEN;
	h = NdagQmStatementHash(dbid, query_id);
	LWLockAcquire(NdagQmStatementLock(h), LW_EXCLUSIVE);
	s = NdagQmSlotFind(h, dbid, query_id, klass, true);
	touch(s, 0);
	if (!u->refute)
		pair_record(s, arm, u->default_ms, u->arm_ms, u->arm_timed_out,
					u->screened, &out);
	else if (s->arms[arm].verdict == NDAG_VERDICT_OPEN)
		refute(s, arm, &out);
	verdict = (NdagArmVerdict) s->arms[arm].verdict;
	LWLockRelease(NdagQmStatementLock(h));
	verdict_moved(dbid, query_id, &out);
	return verdict;
}

/*
 * NdagQueryMemoryAddPair
 *		One pair of runs made back to back by the caller (shadow
 *		exploration), of an arm screened faster before or not: pair_record,
 *		the statement's epoch moved when a verdict changed.
 *		Returns the arm's verdict after it.
 */
NdagArmVerdict
NdagQueryMemoryAddPair(Oid dbid, uint64 query_id, uint64 klass, int arm,
					   double default_ms, double arm_ms, bool arm_timed_out,
					   bool screened)
{
	QmArmUpdate u = {false, default_ms, arm_ms, arm_timed_out, screened};

	return update_arm(dbid, query_id, klass, arm, &u);
}

/*
 * NdagQueryMemoryRefute
 *		An arm still open for a statement class found not faster by pairs
 *		the caller judged itself (shadow pairs screened without parallel
 *		workers): its verdict becomes not faster.  Returns the arm's
 *		verdict after it.
 */
NdagArmVerdict
NdagQueryMemoryRefute(Oid dbid, uint64 query_id, uint64 klass, int arm)
{
	QmArmUpdate u = {true, 0, 0, false, false};

	return update_arm(dbid, query_id, klass, arm, &u);
}

/*
 * NdagQueryMemoryVerdict
 *		An arm's verdict for a statement class (open when nothing is known).
 */
NdagArmVerdict
NdagQueryMemoryVerdict(Oid dbid, uint64 query_id, uint64 klass, int arm)
{
	QmSlot	   *s;
	NdagArmVerdict verdict = NDAG_VERDICT_OPEN;
	uint32		h;

	if (qm == NULL || arm <= 0 || arm >= NDAG_MAX_ARMS)
		return NDAG_VERDICT_OPEN;
	h = NdagQmStatementHash(dbid, query_id);
	LWLockAcquire(NdagQmStatementLock(h), LW_SHARED);
	s = NdagQmSlotFind(h, dbid, query_id, klass, false);
	if (s != NULL)
		verdict = (NdagArmVerdict) s->arms[arm].verdict;
	LWLockRelease(NdagQmStatementLock(h));
	return verdict;
}

/*
 * NdagQueryMemoryObserve
 *		One recorded execution of a statement class under an arm: a default
 *		run joins the median baseline and waits to be paired; an arm run
 *		pairs with a fresh default run (pair_record), and its mean ln ms is
 *		kept.  BTSP entries are candidates only: one arm run
 *		NDAG_BTSP_SPEEDUP times faster than the median default puts the arm
 *		under test, a median default far slower than predicted grants an
 *		exploration.  The statement's epoch moves when a verdict changed.
 */
void
NdagQueryMemoryObserve(Oid dbid, uint64 query_id, uint64 klass, int arm,
					   double exec_ms, double predicted_default_ln,
					   NdagQueryObserved *out)
{
	QmSlot	   *s;
	TimestampTz ts = GetCurrentTimestamp();
	double		now = (double) ts / 1000000.0;
	double		baseline;
	int			verdict;
	int			live;
	uint32		h;

	memset(out, 0, sizeof(NdagQueryObserved));
	out->baseline_ms = NAN;
	out->speedup = NAN;
	if (qm == NULL || arm < 0 || arm >= NDAG_MAX_ARMS || !(exec_ms >= 0))
		return;
	h = NdagQmStatementHash(dbid, query_id);
	LWLockAcquire(NdagQmStatementLock(h), LW_EXCLUSIVE);
	s = NdagQmSlotFind(h, dbid, query_id, klass, true);
	touch(s, ts);
	baseline = NdagQmDefaultMedian(s);
	out->baseline_ms = baseline;
	if (arm == 0)
	{
		s->default_recent[s->default_n % QM_RECENT] = (float4) exec_ms;
		s->default_n++;
		s->fresh_default_ms = exec_ms;
		s->fresh_default_at = now;
	}

	/*
	 * a default run is judged by the median with it, so that one slow run
	 * under load grants no exploration
	 */
	live = btsp_current(s, now, NULL);
	verdict = ndag_btsp_judge(live, arm,
							  arm == 0 ? NdagQmDefaultMedian(s) : exec_ms,
							  baseline, predicted_default_ln,
							  NDAG_BTSP_SPEEDUP, NDAG_BTSP_SLOWDOWN_LN);
	if (verdict == NDAG_BTSP_FORGET)
	{
		s->btsp_arm = NDAG_QM_NO_BTSP;
		out->btsp_forgot = true;
	}
	else if ((verdict == NDAG_BTSP_STORE_ARM &&
			  s->arms[arm].verdict == NDAG_VERDICT_OPEN &&
			  ((s->demoted_mask | s->forbidden_mask) & (UINT64CONST(1) << arm)) == 0) ||
			 verdict == NDAG_BTSP_STORE_EXPLORE)
	{
		int			remembered = verdict == NDAG_BTSP_STORE_ARM ? arm : NDAG_BTSP_EXPLORE;

		/*
		 * the entry renewed (a median default still far slower than
		 * predicted, run after run) changes no decision: only a new one
		 * counts as stored, so that cached decisions are not dropped at
		 * every execution
		 */
		out->btsp_stored = live != remembered;
		s->btsp_arm = remembered;
		s->btsp_stored_at = now;
	}

	if (arm != 0)
	{
		QmArm	   *a = &s->arms[arm];
		double		ln_ms = log(Max(exec_ms, 1e-6));

		a->runs++;
		a->mean_ln += (float4) ((ln_ms - a->mean_ln) / a->runs);
		if (fresh_default(s, now))
		{
			pair_record(s, arm, s->fresh_default_ms, exec_ms, false, false, out);
			s->fresh_default_at = 0;
		}
		final_observe(s, arm, exec_ms, now, out);
	}
	LWLockRelease(NdagQmStatementLock(h));
	verdict_moved(dbid, query_id, out);
}

/*
 * count_slot
 *		NdagQmForEachSlot visitor: count a slot in *(int64 *) arg.
 */
static void
count_slot(QmSlot *s, void *arg)
{
	(*(int64 *) arg)++;
}

/*
 * NdagQueryMemoryCount
 *		Statement classes of database dbid in the table (what a reset of
 *		its per-statement memory forgets).
 */
int64
NdagQueryMemoryCount(Oid dbid)
{
	int64		n = 0;

	if (qm == NULL)
		return 0;
	if (OidIsValid(dbid))
		NdagQmForEachSlot(dbid, LW_SHARED, count_slot, &n);
	return n;
}
