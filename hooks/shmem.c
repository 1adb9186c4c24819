/*-------------------------------------------------------------------------
 *
 * shmem.c
 *	  Shared memory of the recording path: counters, the lock that
 *	  serialises flushes, the epoch of the enabled-table set, and the
 *	  areas of the trajectory ring (ring.c) and of the latency baselines
 *	  (flush.c).
 *
 * Space is requested from shmem_request_hook and initialised from
 * shmem_startup_hook, as pg_stat_statements does; after a crash restart the
 * postmaster runs the startup hook again and everything starts empty.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "hooks.h"
#include "store.h"

#define NDAG_LWLOCK_TRANCHE		"neural_dag"

/*
 * Histogram of recording times: bucket b holds durations in
 * [2^(b/4), 2^((b+1)/4)) nanoseconds, four buckets per power of two, so
 * that a quantile is known within 19%.
 */
#define LATENCY_STEPS_PER_OCTAVE	4
#define LATENCY_BUCKETS		(40 * LATENCY_STEPS_PER_OCTAVE)

typedef struct NdagSharedState
{
	LWLock	   *flush_lock;		/* one drainer of the ring at a time */
	LWLock	   *learn_lock;		/* one learning cycle at a time */
	pg_atomic_uint64 tables_epoch;	/* moves when a table is (dis)enabled */
	LWLock	   *delta_lock;		/* the instant loop's shared deltas */
	pg_atomic_uint64 learned_epoch; /* moves when the learned state changes */
	Latch	   *learner_latch;	/* the running learner's, or NULL */
	pg_atomic_uint64 counters[NDAG_N_COUNTERS];
	pg_atomic_uint64 latency[LATENCY_BUCKETS];	/* recording times */
} NdagSharedState;

static NdagSharedState *ndag_shared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static const char *const counter_names[NDAG_N_COUNTERS] = {
	"sampled", "recorded", "flushed", "dropped", "failed", "truncated",
	"record_ns", "flush_us"
};

/*
 * ndag_shmem_request
 *		Ask for our shared memory and our named LWLock.
 */
static void
ndag_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	RequestAddinShmemSpace(MAXALIGN(sizeof(NdagSharedState)));
	RequestAddinShmemSpace(NdagRingShmemSize());
	RequestAddinShmemSpace(NdagBaselineShmemSize());
	NdagQueryMemoryShmemRequest();
	RequestAddinShmemSpace(NdagLearnedShmemSize());
	RequestAddinShmemSpace(NdagWorkerGuardShmemSize());
	RequestAddinShmemSpace(NdagFallbackShmemSize());
	RequestAddinShmemSpace(StoreShmemSize());
	RequestNamedLWLockTranche(NDAG_LWLOCK_TRANCHE, 3);
}

/*
 * ndag_shmem_startup
 *		Create or attach to the shared state (under AddinShmemInitLock);
 *		in the postmaster, then check the store (store_startup.c).
 */
static void
ndag_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	ndag_shared = ShmemInitStruct("neural_dag shared state",
								  sizeof(NdagSharedState), &found);
	if (!found)
	{
		LWLockPadded *locks = GetNamedLWLockTranche(NDAG_LWLOCK_TRANCHE);

		ndag_shared->flush_lock = &locks[0].lock;
		ndag_shared->learn_lock = &locks[1].lock;
		pg_atomic_init_u64(&ndag_shared->tables_epoch, 0);
		ndag_shared->delta_lock = &locks[2].lock;
		pg_atomic_init_u64(&ndag_shared->learned_epoch, 1);
		ndag_shared->learner_latch = NULL;
		for (int i = 0; i < NDAG_N_COUNTERS; i++)
			pg_atomic_init_u64(&ndag_shared->counters[i], 0);
		for (int i = 0; i < LATENCY_BUCKETS; i++)
			pg_atomic_init_u64(&ndag_shared->latency[i], 0);
	}
	NdagRingShmemInit();
	NdagBaselineShmemInit();
	NdagQueryMemoryShmemInit();
	NdagLearnedShmemInit();
	NdagWorkerGuardShmemInit();
	NdagFallbackShmemInit();
	StoreShmemInit();
	LWLockRelease(AddinShmemInitLock);

	/*
	 * At server start and after every crash restart, before any process
	 * can read the store: verify it, quarantine it if need be.
	 */
	if (!IsUnderPostmaster)
		StoreStartupCheck();
}

/*
 * NdagShmemInit
 *		Install the shared-memory hooks (from _PG_init).
 */
void
NdagShmemInit(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = ndag_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = ndag_shmem_startup;
}

/*
 * NdagShmemReady
 *		Whether this process is attached to the shared state.
 */
bool
NdagShmemReady(void)
{
	return ndag_shared != NULL;
}

/*
 * NdagCounterAdd
 *		Add n to a shared counter (nothing before shared memory exists).
 */
void
NdagCounterAdd(NdagCounter counter, uint64 n)
{
	if (ndag_shared != NULL)
		pg_atomic_fetch_add_u64(&ndag_shared->counters[counter], (int64) n);
}

/*
 * NdagCounterGet
 *		The current value of a shared counter.
 */
uint64
NdagCounterGet(NdagCounter counter)
{
	if (ndag_shared == NULL)
		return 0;
	return pg_atomic_read_u64(&ndag_shared->counters[counter]);
}

/*
 * NdagCounterName
 *		The key of a counter in ruvector_dag_status().
 */
const char *
NdagCounterName(NdagCounter counter)
{
	return counter_names[counter];
}

/*
 * NdagRecordLatency
 *		Count one recording that took ns nanoseconds.
 */
void
NdagRecordLatency(uint64 ns)
{
	int			bucket = 0;

	if (ndag_shared == NULL)
		return;
	if (ns > 1)
		bucket = (int) (log2((double) ns) * LATENCY_STEPS_PER_OCTAVE);
	bucket = Min(Max(bucket, 0), LATENCY_BUCKETS - 1);
	pg_atomic_fetch_add_u64(&ndag_shared->latency[bucket], 1);
}

/*
 * NdagRecordLatencyQuantile
 *		The q-quantile (0 < q < 1) of the recording times in nanoseconds,
 *		as the geometric middle of its bucket; 0 before any recording.
 */
uint64
NdagRecordLatencyQuantile(double q)
{
	uint64		counts[LATENCY_BUCKETS];
	uint64		total = 0;
	uint64		seen = 0;

	if (ndag_shared == NULL)
		return 0;
	for (int b = 0; b < LATENCY_BUCKETS; b++)
	{
		counts[b] = pg_atomic_read_u64(&ndag_shared->latency[b]);
		total += counts[b];
	}
	if (total == 0)
		return 0;
	for (int b = 0; b < LATENCY_BUCKETS; b++)
	{
		seen += counts[b];
		if ((double) seen >= q * (double) total)
			return (uint64) pow(2.0, (b + 0.5) / LATENCY_STEPS_PER_OCTAVE);
	}
	return 0;
}

/*
 * NdagFlushLock
 *		The LWLock held while the ring is drained into the store.
 */
LWLock *
NdagFlushLock(void)
{
	if (ndag_shared == NULL)
		elog(ERROR, "neural_dag shared memory is not initialized");
	return ndag_shared->flush_lock;
}

/*
 * NdagLearnLock
 *		The LWLock held for a whole learning cycle (learn_cycle.c).
 */
LWLock *
NdagLearnLock(void)
{
	if (ndag_shared == NULL)
		elog(ERROR, "neural_dag shared memory is not initialized");
	return ndag_shared->learn_lock;
}

/*
 * NdagTablesEpoch
 *		A number that changes whenever a committed transaction changed the
 *		set of enabled tables, so that backends know to reload it.
 */
uint64
NdagTablesEpoch(void)
{
	if (ndag_shared == NULL)
		return 0;
	return pg_atomic_read_u64(&ndag_shared->tables_epoch);
}

/*
 * NdagTablesEpochBump
 *		Tell every backend that the set of enabled tables changed.
 */
void
NdagTablesEpochBump(void)
{
	if (ndag_shared != NULL)
		pg_atomic_fetch_add_u64(&ndag_shared->tables_epoch, 1);
}

/*
 * NdagDeltaLock
 *		The LWLock of the shared instant-loop deltas (learned_state.c).
 */
LWLock *
NdagDeltaLock(void)
{
	if (ndag_shared == NULL)
		elog(ERROR, "neural_dag shared memory is not initialized");
	return ndag_shared->delta_lock;
}

/*
 * NdagLearnedEpoch
 *		A number that changes whenever a committed store write changed the
 *		learned state (store_generation_hook), so that backends know to
 *		reload it without reading the store; 0 without shared memory.
 */
uint64
NdagLearnedEpoch(void)
{
	if (ndag_shared == NULL)
		return 0;
	return pg_atomic_read_u64(&ndag_shared->learned_epoch);
}

/*
 * NdagLearnedEpochBump
 *		Tell every backend that the learned state changed.
 */
void
NdagLearnedEpochBump(void)
{
	if (ndag_shared != NULL)
		pg_atomic_fetch_add_u64(&ndag_shared->learned_epoch, 1);
}

/*
 * NdagSetLearnerLatch
 *		Publish the running learner's latch (NULL when it exits).
 */
void
NdagSetLearnerLatch(Latch *latch)
{
	if (ndag_shared != NULL)
		ndag_shared->learner_latch = latch;
}

/*
 * NdagWakeLearner
 *		Ask the learner to drain the ring now.
 */
void
NdagWakeLearner(void)
{
	Latch	   *latch;

	if (ndag_shared == NULL)
		return;
	latch = ndag_shared->learner_latch;
	if (latch != NULL)
		SetLatch(latch);
}
