/*-------------------------------------------------------------------------
 *
 * query_memory.c
 *	  Shared memory of the plan rewriter, per (database, queryId): the
 *	  default plan's observed latency, per-arm statistics, the exploration
 *	  budget, arms known to plan like the default, each arm plan's estimated
 *	  cost against the default's, arms forced past disable_cost, demoted
 *	  arms, the BTSP
 *	  one-shot entry and the regression guard's streak.  Also the
 *	  rewriter's counters and an epoch that moves whenever a decision that
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
#include "core/core.h"
#include "planner/planner.h"

#define QM_SLOTS			2048
#define QM_PROBES			16
#define QM_TRANCHE			"neural_dag query memory"

/* regression guard: this many runs in a row this much slower than default */
#define QM_GUARD_RATIO		1.2
#define QM_GUARD_STREAK		3
/* ... or one run this much slower */
#define QM_GUARD_VETO		2.0
/* once every distinct arm was measured, exploration re-measures at this share of the budget */
#define QM_REMEASURE_SHARE	0.1

typedef struct QmSlot
{
	Oid			dbid;			/* InvalidOid: free */
	uint64		query_id;
	uint64		last_used;		/* tick of the table */
	uint32		default_n;
	double		default_mean_ms;
	uint32		total;
	uint32		explored;
	uint64		same_mask;
	uint64		planned_mask;
	uint64		forced_mask;
	uint64		demoted_mask;
	int32		btsp_arm;		/* NDAG_QM_NO_BTSP: none */
	double		btsp_stored_at; /* seconds */
	int32		streak_arm;
	int32		streak;
	uint32		arm_n[NDAG_MAX_ARMS];
	float4		arm_mean_ln[NDAG_MAX_ARMS];
	float4		arm_cost_ratio[NDAG_MAX_ARMS];	/* 0: unknown */
} QmSlot;

typedef struct QmShared
{
	LWLock	   *lock;
	uint64		tick;
	pg_atomic_uint64 epoch;
	pg_atomic_uint64 counters[NDAG_N_RW_COUNTERS];
	QmSlot		slots[QM_SLOTS];
} QmShared;

static QmShared *qm = NULL;

static void query_memory_status(void *state);

static const char *const counter_names[NDAG_N_RW_COUNTERS] = {
	"cache_hits", "cache_misses", "decided_default", "decided_btsp",
	"decided_pattern", "decided_explore", "extra_plannings", "demotions",
	"rewrite_fallbacks"
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
 *		What the table holds for the current database: statements, those
 *		with a default baseline, arm measurements, explorations counted,
 *		demoted arms and BTSP entries.
 */
static void
query_memory_status(void *state)
{
	int64		entries = 0;
	int64		baselines = 0;
	int64		arm_runs = 0;
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
		for (int arm = 0; arm < NDAG_MAX_ARMS; arm++)
			arm_runs += s->arm_n[arm];
		explored += s->explored;
		demoted += pg_popcount64(s->demoted_mask);
		btsp += s->btsp_arm != NDAG_QM_NO_BTSP ? 1 : 0;
	}
	LWLockRelease(qm->lock);
	NdagStatusAddCounter(state, "query_memory_entries", entries);
	NdagStatusAddCounter(state, "query_memory_baselines", baselines);
	NdagStatusAddCounter(state, "query_memory_arm_runs", arm_runs);
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
 *		The clock of BTSP entries.
 */
static double
now_seconds(void)
{
	return (double) GetCurrentTimestamp() / 1000000.0;
}

/*
 * slot_find
 *		The slot of a query, or with create a new one (a free slot of the
 *		probe window, else its least recently used); NULL when absent.
 *		Caller holds the lock (exclusively to create).
 */
static QmSlot *
slot_find(Oid dbid, uint64 query_id, bool create)
{
	uint32		h = hash_bytes_uint32((uint32) query_id ^ (uint32) (query_id >> 32)) ^ dbid;
	QmSlot	   *victim = NULL;

	for (int p = 0; p < QM_PROBES; p++)
	{
		QmSlot	   *s = &qm->slots[(h + p) % QM_SLOTS];

		if (s->dbid == dbid && s->query_id == query_id)
			return s;
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
	victim->btsp_arm = NDAG_QM_NO_BTSP;
	victim->streak_arm = -1;
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
 * NdagQueryMemoryGet
 *		Copy a query's state; false when nothing is known of it.
 */
bool
NdagQueryMemoryGet(Oid dbid, uint64 query_id, NdagQueryStats *out)
{
	QmSlot	   *s;

	memset(out, 0, sizeof(NdagQueryStats));
	out->btsp_arm = NDAG_QM_NO_BTSP;
	if (qm == NULL)
		return false;
	LWLockAcquire(qm->lock, LW_EXCLUSIVE);
	s = slot_find(dbid, query_id, false);
	if (s != NULL)
	{
		s->last_used = ++qm->tick;
		out->default_n = s->default_n;
		out->default_mean_ms = s->default_mean_ms;
		out->total = s->total;
		out->explored = s->explored;
		out->same_mask = s->same_mask;
		out->planned_mask = s->planned_mask;
		out->forced_mask = s->forced_mask;
		out->demoted_mask = s->demoted_mask;
		out->btsp_arm = btsp_current(s, now_seconds(), &out->btsp_weight);
		memcpy(out->arm_n, s->arm_n, sizeof(s->arm_n));
		memcpy(out->arm_mean_ln, s->arm_mean_ln, sizeof(s->arm_mean_ln));
		memcpy(out->arm_cost_ratio, s->arm_cost_ratio, sizeof(s->arm_cost_ratio));
	}
	LWLockRelease(qm->lock);
	return s != NULL;
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
 * untried_arms
 *		Whether some usable arm of a query may still teach something: it was
 *		never planned for it, or it is explorable (NdagArmExplorable) and was
 *		never measured.  Caller holds the lock.
 */
static bool
untried_arms(const QmSlot *s, uint64 enabled)
{
	uint64		usable = enabled & ~s->demoted_mask & ~UINT64CONST(1);

	if ((usable & ~s->planned_mask) != 0)
		return true;
	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
		if ((usable & (UINT64CONST(1) << arm)) != 0 && s->arm_n[arm] == 0 &&
			NdagArmExplorable(s->same_mask, s->forced_mask,
							  s->arm_cost_ratio[arm], arm))
			return true;
	return false;
}

/*
 * NdagQueryMemoryExploreTurn
 *		Count one decision of a query that may explore and say whether it
 *		is its turn, none before the default plan was observed once
 *		(exploration is judged against that baseline).  While some of the
 *		enabled arms is untried (never planned, or distinct and never
 *		measured), explorations stay within 1 + fraction * decisions: the
 *		first one comes right after the baseline; once every distinct arm
 *		was measured, within QM_REMEASURE_SHARE of that budget.  A BTSP
 *		"explore" entry grants one turn outside the budget and is then used
 *		up.
 */
bool
NdagQueryMemoryExploreTurn(Oid dbid, uint64 query_id, double fraction,
						   uint64 enabled)
{
	QmSlot	   *s;
	bool		turn = false;

	/* a standby never explores (standby.c) */
	if (qm == NULL || !NdagMayWriteLearnedState())
		return false;
	LWLockAcquire(qm->lock, LW_EXCLUSIVE);
	s = slot_find(dbid, query_id, true);
	s->last_used = ++qm->tick;
	s->total++;
	if (s->default_n > 0)
	{
		if (btsp_current(s, now_seconds(), NULL) == NDAG_BTSP_EXPLORE)
		{
			s->btsp_arm = NDAG_QM_NO_BTSP;
			turn = true;
		}
		else if (untried_arms(s, enabled))
			turn = (double) s->explored < 1.0 + fraction * (double) s->total - 1e-9;
		else
			turn = (double) s->explored + 1.0 <=
				QM_REMEASURE_SHARE * fraction * (double) s->total + 1e-9;
	}
	if (turn)
		s->explored++;
	LWLockRelease(qm->lock);
	return turn;
}

/*
 * NdagQueryMemoryMarkPlanned
 *		An arm was planned for this query; with same, its plan is the
 *		default's (or another arm's): never explore it for this query.
 *		cost_ratio is its plan's estimated cost over the default plan's
 *		(the latest planning's), forced whether its plan was forced past
 *		disable_cost.
 */
void
NdagQueryMemoryMarkPlanned(Oid dbid, uint64 query_id, int arm, bool same,
						   double cost_ratio, bool forced)
{
	QmSlot	   *s;

	if (qm == NULL || arm <= 0 || arm >= NDAG_MAX_ARMS)
		return;
	LWLockAcquire(qm->lock, LW_EXCLUSIVE);
	s = slot_find(dbid, query_id, true);
	s->last_used = ++qm->tick;
	s->planned_mask |= UINT64CONST(1) << arm;
	if (same)
		s->same_mask |= UINT64CONST(1) << arm;
	if (forced)
		s->forced_mask |= UINT64CONST(1) << arm;
	else
		s->forced_mask &= ~(UINT64CONST(1) << arm);
	if (cost_ratio > 0)
		s->arm_cost_ratio[arm] = (float4) cost_ratio;
	LWLockRelease(qm->lock);
}

/*
 * NdagQueryMemoryObserve
 *		One recorded execution of a query under an arm: default mean or the
 *		arm's mean ln ms, the BTSP rules of the engine, and the regression
 *		guard for an applied arm (source btsp or pattern) that ran slower
 *		than QM_GUARD_RATIO times the baseline QM_GUARD_STREAK times in a
 *		row, or slower than QM_GUARD_VETO times it once: demoted for the
 *		query, its BTSP entry forgotten.  The baseline is the default's
 *		mean, or without one fallback_baseline_ms (a pattern's default-arm
 *		mean).  An applied arm whose mean is not faster than the baseline
 *		is reported as vetoed (the decision no longer stands); the epoch
 *		moves then, and after every explored run (the fastest measured arm
 *		may have changed).  ruvector.dag_regression_guard off skips the
 *		guard and the veto.
 */
void
NdagQueryMemoryObserve(Oid dbid, uint64 query_id, int arm, int source,
					   double exec_ms, double predicted_default_ln,
					   double fallback_baseline_ms, NdagQueryObserved *out)
{
	QmSlot	   *s;
	double		now = now_seconds();
	double		baseline;
	bool		bump = false;
	int			verdict;

	memset(out, 0, sizeof(NdagQueryObserved));
	out->baseline_ms = NAN;
	if (qm == NULL || arm < 0 || arm >= NDAG_MAX_ARMS || !(exec_ms >= 0))
		return;
	LWLockAcquire(qm->lock, LW_EXCLUSIVE);
	s = slot_find(dbid, query_id, true);
	s->last_used = ++qm->tick;
	baseline = s->default_n > 0 ? s->default_mean_ms : NAN;
	out->baseline_ms = baseline;
	if (!isfinite(baseline) && isfinite(fallback_baseline_ms) &&
		fallback_baseline_ms > 0)
		baseline = fallback_baseline_ms;

	verdict = ndag_btsp_judge(btsp_current(s, now, NULL), arm, exec_ms,
							  baseline, predicted_default_ln,
							  NDAG_BTSP_SPEEDUP, NDAG_BTSP_SLOWDOWN_LN);
	if (verdict == NDAG_BTSP_FORGET)
	{
		s->btsp_arm = NDAG_QM_NO_BTSP;
		out->btsp_forgot = true;
		bump = true;
	}
	else if ((verdict == NDAG_BTSP_STORE_ARM &&
			  (s->demoted_mask & (UINT64CONST(1) << arm)) == 0) ||
			 verdict == NDAG_BTSP_STORE_EXPLORE)
	{
		int			remembered = verdict == NDAG_BTSP_STORE_ARM ? arm : NDAG_BTSP_EXPLORE;

		/* cached decisions change only when the entry is new */
		bump = s->btsp_arm != remembered;
		s->btsp_arm = remembered;
		s->btsp_stored_at = now;
		out->btsp_stored = true;
	}

	if (arm == 0)
	{
		s->default_n++;
		s->default_mean_ms += (exec_ms - s->default_mean_ms) / s->default_n;
	}
	else
	{
		double		ln_ms = log(Max(exec_ms, 1e-6));

		s->arm_n[arm]++;
		s->arm_mean_ln[arm] += (float4) ((ln_ms - s->arm_mean_ln[arm]) / s->arm_n[arm]);
	}

	if (arm != 0 && source == NDAG_DECISION_EXPLORE)
		bump = true;
	if (arm != 0 && (source == NDAG_DECISION_BTSP || source == NDAG_DECISION_PATTERN) &&
		isfinite(baseline) && ndag_regression_guard)
	{
		out->baseline_ms = baseline;
		if (!(exp(s->arm_mean_ln[arm]) < baseline))
		{
			out->vetoed = true;
			bump = true;
		}
		if (exec_ms > QM_GUARD_RATIO * baseline)
		{
			if (s->streak_arm != arm)
			{
				s->streak_arm = arm;
				s->streak = 0;
			}
			if (++s->streak >= QM_GUARD_STREAK || exec_ms > QM_GUARD_VETO * baseline)
			{
				s->demoted_mask |= UINT64CONST(1) << arm;
				if (s->btsp_arm == arm)
					s->btsp_arm = NDAG_QM_NO_BTSP;
				s->streak = 0;
				out->demoted = true;
				bump = true;
			}
		}
		else if (s->streak_arm == arm)
			s->streak = 0;
	}
	LWLockRelease(qm->lock);

	if (bump)
		pg_atomic_fetch_add_u64(&qm->epoch, 1);
	if (out->demoted)
		NdagRewriteCount(NDAG_RW_DEMOTIONS, 1);
}
