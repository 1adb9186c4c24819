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

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "hooks.h"

#define NDAG_LWLOCK_TRANCHE		"neural_dag"

typedef struct NdagSharedState
{
	LWLock	   *flush_lock;		/* one drainer of the ring at a time */
	pg_atomic_uint64 tables_epoch;	/* moves when a table is (dis)enabled */
	Latch	   *learner_latch;	/* the running learner's, or NULL */
	pg_atomic_uint64 counters[NDAG_N_COUNTERS];
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
	RequestNamedLWLockTranche(NDAG_LWLOCK_TRANCHE, 1);
}

/*
 * ndag_shmem_startup
 *		Create or attach to the shared state (under AddinShmemInitLock).
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
		pg_atomic_init_u64(&ndag_shared->tables_epoch, 0);
		ndag_shared->learner_latch = NULL;
		for (int i = 0; i < NDAG_N_COUNTERS; i++)
			pg_atomic_init_u64(&ndag_shared->counters[i], 0);
	}
	NdagRingShmemInit();
	NdagBaselineShmemInit();
	LWLockRelease(AddinShmemInitLock);
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
