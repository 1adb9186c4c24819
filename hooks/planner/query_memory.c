/*-------------------------------------------------------------------------
 *
 * query_memory.c
 *	  Shared memory of the plan rewriter, per (database, queryId): the
 *	  default plan's observed latency, per-arm statistics, the exploration
 *	  budget, arms known to plan like the default, each arm plan's estimated
 *	  cost against the default's, arms forced past disable_cost, demoted
 *	  arms, the BTSP
 *	  one-shot entry and the regression guard's streak.  Also the
 *	  rewriter's counters, an epoch per group of statements that moves when
 *	  a verdict of one of them changes, and a global epoch that moves when
 *	  the whole memory of a database is reset: whenever a decision that
 *	  backends may have cached becomes wrong (a demotion, a BTSP entry).
 *
 * A fixed table of slots found by open addressing over a short probe
 * window; a new query takes a free slot of its window or the least
 * recently used one.  One LWLock protects the table: every operation is a
 * few dozen instructions on one slot.
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

#define QM_SLOTS			2048
#define QM_PROBES			16
#define QM_TRANCHE			"neural_dag query memory"
/* statement epochs: a verdict change drops the cached decisions of its bucket only */
#define QM_EPOCH_BUCKETS	4096

/* default runs whose median is the statement's baseline */
#define QM_RECENT			7
/* a default run pairs with an arm run at most this long after it ... */
#define QM_PAIR_WINDOW_S	10.0
/* ... or this many times the statement's default latency, if longer */
#define QM_PAIR_WINDOW_RUNS 10.0
/* an applied arm is re-validated against the default every this many executions */
#define QM_VALIDATE_EVERY	16
/* ... and an applied arm not proven for the statement (a pattern's) this often */
#define QM_VALIDATE_UNPROVEN 4

/* one arm of one statement class */
typedef struct QmArm
{
	uint32		runs;			/* executions measured under the arm */
	float4		mean_ln;		/* their mean ln ms */
	float4		cost_ratio;		/* estimated cost / default's, 0 unknown */
	uint8		verdict;		/* NdagArmVerdict */
	NdagPaired	pairs;			/* pairs that decide the verdict */
	NdagPaired	validation;		/* pairs since it was proven faster */
} QmArm;

typedef struct QmSlot
{
	Oid			dbid;			/* InvalidOid: free */
	uint64		query_id;
	uint64		klass;			/* parameter class */
	uint64		last_used;		/* tick of the table */
	bool		multi_class;	/* the query has other classes too */
	uint32		default_n;
	float4		default_recent[QM_RECENT];	/* ring of the latest default runs, ms */
	double		fresh_default_ms;	/* latest default run not paired yet */
	double		fresh_default_at;	/* its time in seconds, 0: none */
	uint32		total;
	uint32		explored;
	uint32		since_validation;
	uint64		same_mask;
	uint64		planned_mask;
	uint64		forced_mask;
	uint64		demoted_mask;
	int32		btsp_arm;		/* NDAG_QM_NO_BTSP: none */
	double		btsp_stored_at; /* seconds */
	QmArm		arms[NDAG_MAX_ARMS];
} QmSlot;

typedef struct QmShared
{
	LWLock	   *lock;
	uint64		tick;
	pg_atomic_uint64 epoch;
	pg_atomic_uint64 statement_epochs[QM_EPOCH_BUCKETS];
	pg_atomic_uint64 counters[NDAG_N_RW_COUNTERS];
	QmSlot		slots[QM_SLOTS];
} QmShared;

static QmShared *qm = NULL;

static void query_memory_status(void *state);

static const char *const counter_names[NDAG_N_RW_COUNTERS] = {
	"cache_hits", "cache_misses", "decided_default", "decided_proven",
	"decided_pattern", "decided_explore", "extra_plannings", "demotions",
	"rewrite_fallbacks", "validation_runs"
};

/*
 * NdagQueryMemoryShmemSize
 *		Bytes of the shared table.
 */
Size
NdagQueryMemoryShmemSize(void)
{
	return MAXALIGN(sizeof(QmShared));
}

/*
 * NdagQueryMemoryShmemRequest
 *		Ask for the table's space and its lock (from shmem_request_hook).
 */
void
NdagQueryMemoryShmemRequest(void)
{
	RequestAddinShmemSpace(NdagQueryMemoryShmemSize());
	RequestNamedLWLockTranche(QM_TRANCHE, 1);
}

/*
 * NdagQueryMemoryShmemInit
 *		Create or attach to the table (under AddinShmemInitLock).
 */
void
NdagQueryMemoryShmemInit(void)
{
	bool		found;

	qm = ShmemInitStruct("neural_dag query memory", sizeof(QmShared), &found);
	if (!found)
	{
		memset(qm->slots, 0, sizeof(qm->slots));
		qm->lock = &(GetNamedLWLockTranche(QM_TRANCHE))[0].lock;
		qm->tick = 0;
		pg_atomic_init_u64(&qm->epoch, 1);
		for (int i = 0; i < QM_EPOCH_BUCKETS; i++)
			pg_atomic_init_u64(&qm->statement_epochs[i], 1);
		for (int i = 0; i < NDAG_N_RW_COUNTERS; i++)
			pg_atomic_init_u64(&qm->counters[i], 0);
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
 * statement_bucket
 *		The epoch bucket of a statement of a database.
 */
static pg_atomic_uint64 *
statement_bucket(Oid dbid, uint64 query_id)
{
	uint32		h = hash_bytes_uint32((uint32) query_id ^ (uint32) (query_id >> 32)) ^ dbid;

	return &qm->statement_epochs[h % QM_EPOCH_BUCKETS];
}

/*
 * NdagStatementEpoch
 *		Moves whenever a cached decision of this statement (or of another
 *		in its bucket) may have become wrong: a verdict or demotion.
 */
uint64
NdagStatementEpoch(Oid dbid, uint64 query_id)
{
	return qm != NULL ? pg_atomic_read_u64(statement_bucket(dbid, query_id)) : 0;
}

/*
 * NdagRewriteCount
 *		Add to a rewriter counter.
 */
void
NdagRewriteCount(NdagRewriteCounter counter, uint64 n)
{
	if (qm != NULL)
		pg_atomic_fetch_add_u64(&qm->counters[counter], (int64) n);
}

/*
 * NdagRewriteStatusCounters
 *		The rewriter's counters for ruvector_dag_status(), with the
 *		embedding cache's hit rate in per mille.
 */
void
NdagRewriteStatusCounters(void *state)
{
	uint64		hits;
	uint64		misses;

	if (qm == NULL)
		return;
	for (int c = 0; c < NDAG_N_RW_COUNTERS; c++)
		NdagStatusAddCounter(state, counter_names[c],
							 (int64) pg_atomic_read_u64(&qm->counters[c]));
	hits = pg_atomic_read_u64(&qm->counters[NDAG_RW_CACHE_HITS]);
	misses = pg_atomic_read_u64(&qm->counters[NDAG_RW_CACHE_MISSES]);
	NdagStatusAddCounter(state, "cache_hit_permille",
						 hits + misses > 0 ? (int64) (1000 * hits / (hits + misses)) : 0);
	query_memory_status(state);
}

/*
 * query_memory_status
 *		What the table holds for the current database: statement classes,
 *		those with a default baseline, arm measurements, pairs, arms proven
 *		faster and not faster, explorations counted, demoted arms and BTSP
 *		entries.
 */
static void
query_memory_status(void *state)
{
	int64		entries = 0;
	int64		baselines = 0;
	int64		arm_runs = 0;
	int64		pairs = 0;
	int64		proven = 0;
	int64		refuted = 0;
	int64		explored = 0;
	int64		demoted = 0;
	int64		btsp = 0;

	LWLockAcquire(qm->lock, LW_SHARED);
	for (int i = 0; i < QM_SLOTS; i++)
	{
		const QmSlot *s = &qm->slots[i];

		if (s->dbid != MyDatabaseId || !OidIsValid(s->dbid))
			continue;
		entries++;
		baselines += s->default_n > 0 ? 1 : 0;
		for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
		{
			arm_runs += s->arms[arm].runs;
			pairs += s->arms[arm].pairs.n + s->arms[arm].validation.n;
			proven += s->arms[arm].verdict == NDAG_VERDICT_FASTER ? 1 : 0;
			refuted += s->arms[arm].verdict == NDAG_VERDICT_NOT_FASTER ? 1 : 0;
		}
		explored += s->explored;
		demoted += pg_popcount64(s->demoted_mask);
		btsp += s->btsp_arm != NDAG_QM_NO_BTSP ? 1 : 0;
	}
	LWLockRelease(qm->lock);
	NdagStatusAddCounter(state, "query_memory_entries", entries);
	NdagStatusAddCounter(state, "query_memory_baselines", baselines);
	NdagStatusAddCounter(state, "query_memory_arm_runs", arm_runs);
	NdagStatusAddCounter(state, "query_memory_pairs", pairs);
	NdagStatusAddCounter(state, "query_memory_proven", proven);
	NdagStatusAddCounter(state, "query_memory_not_faster", refuted);
	NdagStatusAddCounter(state, "query_memory_explored", explored);
	NdagStatusAddCounter(state, "query_memory_demoted", demoted);
	NdagStatusAddCounter(state, "query_memory_btsp", btsp);
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
	LWLockAcquire(qm->lock, LW_EXCLUSIVE);
	for (int i = 0; i < QM_SLOTS; i++)
	{
		QmSlot	   *s = &qm->slots[i];

		if (s->dbid != InvalidOid && (dbid == InvalidOid || s->dbid == dbid))
			memset(s, 0, sizeof(QmSlot));
	}
	LWLockRelease(qm->lock);
	pg_atomic_fetch_add_u64(&qm->epoch, 1);
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
 * slot_find
 *		The slot of a statement class, or with create a new one (a free
 *		slot of the probe window, else its least recently used); NULL when
 *		absent.  The classes of one query share its probe window, so a new
 *		class marks the query's other classes, and itself, multi_class.
 *		Caller holds the lock (exclusively to create).
 */
static QmSlot *
slot_find(Oid dbid, uint64 query_id, uint64 klass, bool create)
{
	uint32		h = hash_bytes_uint32((uint32) query_id ^ (uint32) (query_id >> 32)) ^ dbid;
	QmSlot	   *victim = NULL;
	bool		siblings = false;

	for (int p = 0; p < QM_PROBES; p++)
	{
		QmSlot	   *s = &qm->slots[(h + p) % QM_SLOTS];

		if (s->dbid == dbid && s->query_id == query_id)
		{
			if (s->klass == klass)
				return s;
			siblings = true;
		}
		if (s->dbid == InvalidOid)
		{
			if (victim == NULL || victim->dbid != InvalidOid)
				victim = s;
		}
		else if (victim == NULL ||
				 (victim->dbid != InvalidOid && s->last_used < victim->last_used))
			victim = s;
	}
	if (!create)
		return NULL;
	memset(victim, 0, sizeof(QmSlot));
	victim->dbid = dbid;
	victim->query_id = query_id;
	victim->klass = klass;
	victim->btsp_arm = NDAG_QM_NO_BTSP;
	if (siblings)
	{
		victim->multi_class = true;
		for (int p = 0; p < QM_PROBES; p++)
		{
			QmSlot	   *s = &qm->slots[(h + p) % QM_SLOTS];

			if (s->dbid == dbid && s->query_id == query_id)
				s->multi_class = true;
		}
	}
	return victim;
}

/*
 * btsp_current
 *		The slot's BTSP arm while its weight is above the threshold (faded
 *		entries are dropped); NDAG_QM_NO_BTSP otherwise.
 */
static int
btsp_current(QmSlot *s, double now, double *weight)
{
	double		w;

	if (s->btsp_arm == NDAG_QM_NO_BTSP)
		return NDAG_QM_NO_BTSP;
	w = ndag_btsp_decay(1.0, s->btsp_stored_at, now, NDAG_BTSP_TAU_S);
	if (!(w > NDAG_BTSP_THRESHOLD))
	{
		s->btsp_arm = NDAG_QM_NO_BTSP;
		return NDAG_QM_NO_BTSP;
	}
	if (weight != NULL)
		*weight = w;
	return s->btsp_arm;
}

/*
 * default_median
 *		The median of the statement's latest default runs (not one slow
 *		run under load), NaN before the first.
 */
static double
default_median(const QmSlot *s)
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
 * fresh_default
 *		Whether the statement's latest default run is unpaired and recent
 *		enough to pair with an arm run now: within QM_PAIR_WINDOW_S, or
 *		QM_PAIR_WINDOW_RUNS default latencies for slow statements.
 */
static bool
fresh_default(const QmSlot *s, double now)
{
	double		window = QM_PAIR_WINDOW_S;
	double		median = default_median(s);

	if (!(s->fresh_default_at > 0))
		return false;
	if (isfinite(median))
		window = Max(window, QM_PAIR_WINDOW_RUNS * median / 1000.0);
	return now - s->fresh_default_at <= window;
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

	memset(out, 0, sizeof(NdagQueryStats));
	out->btsp_arm = NDAG_QM_NO_BTSP;
	out->default_ms = NAN;
	if (qm == NULL)
		return false;
	LWLockAcquire(qm->lock, LW_EXCLUSIVE);
	s = slot_find(dbid, query_id, klass, false);
	if (s != NULL)
	{
		s->last_used = ++qm->tick;
		out->default_n = s->default_n;
		out->default_ms = default_median(s);
		out->multi_class = s->multi_class;
		out->total = s->total;
		out->explored = s->explored;
		out->same_mask = s->same_mask;
		out->planned_mask = s->planned_mask;
		out->forced_mask = s->forced_mask;
		out->demoted_mask = s->demoted_mask;
		out->btsp_arm = btsp_current(s, now_seconds(), &out->btsp_weight);
		for (int arm = 0; arm < NDAG_MAX_ARMS; arm++)
		{
			const QmArm *a = &s->arms[arm];

			out->arm_n[arm] = a->runs;
			out->arm_mean_ln[arm] = a->mean_ln;
			out->arm_cost_ratio[arm] = a->cost_ratio;
			out->verdict[arm] = a->verdict;
			out->pair_n[arm] = a->pairs.n;
			out->pair_speedup[arm] = (float4) ndag_paired_speedup(&a->pairs);
		}
	}
	LWLockRelease(qm->lock);
	return s != NULL;
}

/*
 * NdagQueryMemoryList
 *		Copies of every statement class of database dbid that has an arm
 *		proven faster (palloc'd array); their number.
 */
int
NdagQueryMemoryList(Oid dbid, NdagQueryClass **out)
{
	int			n = 0;
	QmSlot	   *copies;

	*out = NULL;
	if (qm == NULL)
		return 0;
	copies = palloc(sizeof(QmSlot) * 16);
	LWLockAcquire(qm->lock, LW_SHARED);
	for (int i = 0; i < QM_SLOTS; i++)
	{
		const QmSlot *s = &qm->slots[i];
		bool		proven = false;

		if (s->dbid != dbid || !OidIsValid(dbid))
			continue;
		for (int arm = 1; arm < NDAG_MAX_ARMS && !proven; arm++)
			proven = s->arms[arm].verdict == NDAG_VERDICT_FASTER;
		if (!proven)
			continue;
		if (n > 0 && n % 16 == 0)
			copies = repalloc(copies, sizeof(QmSlot) * (n + 16));
		copies[n++] = *s;
	}
	LWLockRelease(qm->lock);
	*out = palloc(sizeof(NdagQueryClass) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		const QmSlot *s = &copies[i];
		NdagQueryClass *c = &(*out)[i];

		c->query_id = s->query_id;
		c->klass = s->klass;
		c->default_ms = default_median(s);
		c->best_arm = 0;
		c->speedup = 0;
		c->pairs = 0;
		for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
		{
			double		speedup = ndag_paired_speedup(&s->arms[arm].pairs);

			if (s->arms[arm].verdict == NDAG_VERDICT_FASTER && speedup > c->speedup)
			{
				c->best_arm = arm;
				c->speedup = speedup;
				c->pairs = s->arms[arm].pairs.n;
			}
		}
	}
	pfree(copies);
	return n;
}

/*
 * NdagArmExplorable
 *		Whether exploration may run an arm planned for a query: its plan
 *		differs from the default's (and from other arms'), was not forced
 *		past disable_cost, and is not estimated costlier than
 *		ruvector.dag_explore_max_cost_ratio times the default plan (a ratio
 *		of 0 is unknown: the arm is planned again before it runs).
 */
bool
NdagArmExplorable(uint64 same_mask, uint64 forced_mask, float4 cost_ratio,
				  int arm)
{
	uint64		bit = UINT64CONST(1) << arm;

	return (same_mask & bit) == 0 && (forced_mask & bit) == 0 &&
		!(cost_ratio > ndag_explore_max_cost_ratio);
}

/*
 * open_arms
 *		The usable arms of a statement class whose verdict is still open:
 *		never planned for it, or explorable (NdagArmExplorable).  Caller
 *		holds the lock.
 */
static uint64
open_arms(const QmSlot *s, uint64 enabled)
{
	uint64		usable = enabled & ~s->demoted_mask & ~UINT64CONST(1);
	uint64		open = 0;

	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
	{
		uint64		bit = UINT64CONST(1) << arm;

		if ((usable & bit) == 0 || s->arms[arm].verdict != NDAG_VERDICT_OPEN)
			continue;
		if ((s->planned_mask & bit) == 0 ||
			NdagArmExplorable(s->same_mask, s->forced_mask,
							  s->arms[arm].cost_ratio, arm))
			open |= bit;
	}
	return open;
}

/*
 * NdagQueryMemoryOpenArms
 *		open_arms() of a statement class (every usable arm when nothing is
 *		known of it).
 */
uint64
NdagQueryMemoryOpenArms(Oid dbid, uint64 query_id, uint64 klass,
						uint64 enabled)
{
	QmSlot	   *s;
	uint64		open;

	if (qm == NULL)
		return 0;
	LWLockAcquire(qm->lock, LW_SHARED);
	s = slot_find(dbid, query_id, klass, false);
	open = s != NULL ? open_arms(s, enabled) : enabled & ~UINT64CONST(1);
	LWLockRelease(qm->lock);
	return open;
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
 * NdagQueryMemoryTurn
 *		What one execution of a statement class runs besides its decision.
 *		With an arm applied and ruvector.dag_regression_guard on: every
 *		QM_VALIDATE_EVERY executions (every
 *		QM_VALIDATE_UNPROVEN for an arm not proven for it) the default
 *		plan, whose run the next run of the arm is paired with.  With
 *		may_explore (learn mode, inline exploration, worth it), an open arm
 *		runs only right after a default run it pairs with (else the default
 *		runs first): an arm under test (under_test) at every such chance,
 *		others within 1 + fraction * decisions explorations; a BTSP
 *		"explore" entry grants one turn and is used up.  No exploration
 *		before the default plan was observed once.  A standby runs nothing
 *		but its decisions.
 */
NdagTurn
NdagQueryMemoryTurn(Oid dbid, uint64 query_id, uint64 klass, uint64 enabled,
					int applied_arm, bool may_explore, double fraction)
{
	QmSlot	   *s;
	NdagTurn	turn = NDAG_TURN_DECIDED;
	double		now = now_seconds();
	bool		explore = false;
	bool		fresh = false;

	if (qm == NULL || !NdagMayWriteLearnedState())
		return NDAG_TURN_DECIDED;
	LWLockAcquire(qm->lock, LW_EXCLUSIVE);
	s = slot_find(dbid, query_id, klass, true);
	s->last_used = ++qm->tick;
	s->total++;
	if (may_explore && s->default_n > 0)
	{
		uint64		open = open_arms(s, enabled) & ~(UINT64CONST(1) << applied_arm);

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
				explore = (double) s->explored < 1.0 + fraction * (double) s->total - 1e-9;
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
	LWLockRelease(qm->lock);
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

	if (qm == NULL || arm <= 0 || arm >= NDAG_MAX_ARMS)
		return;
	LWLockAcquire(qm->lock, LW_EXCLUSIVE);
	s = slot_find(dbid, query_id, klass, true);
	s->last_used = ++qm->tick;
	s->planned_mask |= UINT64CONST(1) << arm;
	if (same)
		s->same_mask |= UINT64CONST(1) << arm;
	if (forced)
		s->forced_mask |= UINT64CONST(1) << arm;
	else
		s->forced_mask &= ~(UINT64CONST(1) << arm);
	if (cost_ratio > 0)
		s->arms[arm].cost_ratio = (float4) cost_ratio;
	LWLockRelease(qm->lock);
}

/*
 * pair_record
 *		One pair of runs of an arm and the default: an open arm's pairs
 *		decide its verdict (a timed-out arm is not faster at once); a
 *		proven arm's later pairs demote it when they prove it slower than
 *		the default (its window of validation pairs restarts every
 *		2 * NDAG_PAIRED_MAX pairs, so that old pairs do not hide a change).
 *		Caller holds the lock exclusively.
 */
static void
pair_record(QmSlot *s, int arm, double default_ms, double arm_ms,
			bool timed_out, NdagQueryObserved *out)
{
	QmArm	   *a = &s->arms[arm];
	uint64		bit = UINT64CONST(1) << arm;

	if (a->verdict == NDAG_VERDICT_FASTER)
	{
		if (a->validation.n >= 2 * NDAG_PAIRED_MAX)
			memset(&a->validation, 0, sizeof(NdagPaired));
		ndag_paired_add(&a->validation, timed_out ? Max(arm_ms, 2.0 * default_ms) : arm_ms,
						default_ms);
		out->pairs = a->validation.n;
		out->speedup = ndag_paired_speedup(&a->validation);
		if (ndag_regression_guard &&
			(timed_out || ndag_paired_slower(&a->validation)))
		{
			a->verdict = NDAG_VERDICT_NOT_FASTER;
			s->demoted_mask |= bit;
			if (s->btsp_arm == arm)
				s->btsp_arm = NDAG_QM_NO_BTSP;
			out->demoted = true;
		}
		return;
	}
	if (a->verdict != NDAG_VERDICT_OPEN)
		return;
	if (timed_out)
		a->verdict = NDAG_VERDICT_NOT_FASTER;
	else
	{
		ndag_paired_add(&a->pairs, arm_ms, default_ms);
		a->verdict = (uint8) ndag_paired_verdict(&a->pairs);
	}
	out->pairs = a->pairs.n;
	out->speedup = ndag_paired_speedup(&a->pairs);
	if (a->verdict == NDAG_VERDICT_FASTER)
	{
		memset(&a->validation, 0, sizeof(NdagPaired));
		out->proven = true;
	}
	else if (a->verdict == NDAG_VERDICT_NOT_FASTER)
	{
		if (s->btsp_arm == arm)
			s->btsp_arm = NDAG_QM_NO_BTSP;
		out->refuted = true;
	}
}

/*
 * NdagQueryMemoryAddPair
 *		One pair of runs made back to back by the caller (shadow
 *		exploration): pair_record, the statement's epoch moved when a
 *		verdict changed.
 *		Returns the arm's verdict after it.
 */
NdagArmVerdict
NdagQueryMemoryAddPair(Oid dbid, uint64 query_id, uint64 klass, int arm,
					   double default_ms, double arm_ms, bool arm_timed_out)
{
	NdagQueryObserved out;
	QmSlot	   *s;
	NdagArmVerdict verdict;

	memset(&out, 0, sizeof(out));
	if (qm == NULL || arm <= 0 || arm >= NDAG_MAX_ARMS)
		return NDAG_VERDICT_OPEN;
	LWLockAcquire(qm->lock, LW_EXCLUSIVE);
	s = slot_find(dbid, query_id, klass, true);
	s->last_used = ++qm->tick;
	pair_record(s, arm, default_ms, arm_ms, arm_timed_out, &out);
	verdict = (NdagArmVerdict) s->arms[arm].verdict;
	LWLockRelease(qm->lock);
	if (out.proven || out.refuted || out.demoted)
		pg_atomic_fetch_add_u64(statement_bucket(dbid, query_id), 1);
	if (out.demoted)
		NdagRewriteCount(NDAG_RW_DEMOTIONS, 1);
	return verdict;
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

	if (qm == NULL || arm <= 0 || arm >= NDAG_MAX_ARMS)
		return NDAG_VERDICT_OPEN;
	LWLockAcquire(qm->lock, LW_SHARED);
	s = slot_find(dbid, query_id, klass, false);
	if (s != NULL)
		verdict = (NdagArmVerdict) s->arms[arm].verdict;
	LWLockRelease(qm->lock);
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
	double		now = now_seconds();
	double		baseline;
	bool		bump = false;
	int			verdict;

	memset(out, 0, sizeof(NdagQueryObserved));
	out->baseline_ms = NAN;
	out->speedup = NAN;
	if (qm == NULL || arm < 0 || arm >= NDAG_MAX_ARMS || !(exec_ms >= 0))
		return;
	LWLockAcquire(qm->lock, LW_EXCLUSIVE);
	s = slot_find(dbid, query_id, klass, true);
	s->last_used = ++qm->tick;
	baseline = default_median(s);
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
	verdict = ndag_btsp_judge(btsp_current(s, now, NULL), arm,
							  arm == 0 ? default_median(s) : exec_ms,
							  baseline, predicted_default_ln,
							  NDAG_BTSP_SPEEDUP, NDAG_BTSP_SLOWDOWN_LN);
	if (verdict == NDAG_BTSP_FORGET)
	{
		s->btsp_arm = NDAG_QM_NO_BTSP;
		out->btsp_forgot = true;
	}
	else if ((verdict == NDAG_BTSP_STORE_ARM &&
			  s->arms[arm].verdict == NDAG_VERDICT_OPEN &&
			  (s->demoted_mask & (UINT64CONST(1) << arm)) == 0) ||
			 verdict == NDAG_BTSP_STORE_EXPLORE)
	{
		int			remembered = verdict == NDAG_BTSP_STORE_ARM ? arm : NDAG_BTSP_EXPLORE;

		s->btsp_arm = remembered;
		s->btsp_stored_at = now;
		out->btsp_stored = true;
	}

	if (arm != 0)
	{
		QmArm	   *a = &s->arms[arm];
		double		ln_ms = log(Max(exec_ms, 1e-6));

		a->runs++;
		a->mean_ln += (float4) ((ln_ms - a->mean_ln) / a->runs);
		if (fresh_default(s, now))
		{
			pair_record(s, arm, s->fresh_default_ms, exec_ms, false, out);
			s->fresh_default_at = 0;
		}
	}
	bump = out->proven || out->refuted || out->demoted;
	LWLockRelease(qm->lock);

	if (bump)
		pg_atomic_fetch_add_u64(statement_bucket(dbid, query_id), 1);
	if (out->demoted)
		NdagRewriteCount(NDAG_RW_DEMOTIONS, 1);
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
	LWLockAcquire(qm->lock, LW_SHARED);
	for (int i = 0; i < QM_SLOTS; i++)
	{
		if (OidIsValid(qm->slots[i].dbid) && qm->slots[i].dbid == dbid)
			n++;
	}
	LWLockRelease(qm->lock);
	return n;
}
