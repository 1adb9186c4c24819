/*-------------------------------------------------------------------------
 *
 * shmem_hooks.c
 *	  The module's shared memory: shmem_request_hook asks for the space and
 *	  LWLocks of every folder (core's shared state, the ring, the latency
 *	  baselines, the statements' shared latencies, the query memory, the
 *	  shadow queue, the instant loop's slots, the worker guard, the
 *	  store), shmem_startup_hook creates or attaches them.  Only this
 *	  folder knows them all, so that no folder has to know those above it.
 *
 * Space is requested from shmem_request_hook and initialised from
 * shmem_startup_hook, as pg_stat_statements does; after a crash restart the
 * postmaster runs the startup hook again and everything starts empty.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"

#include "core/core.h"
#include "init/init.h"
#include "learning/learning.h"
#include "planner/planner.h"
#include "recording/recording.h"
#include "shadow/shadow.h"
#include "workers/workers.h"
#include "store.h"

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/*
 * ndag_shmem_request
 *		Ask for the shared memory and named LWLocks of every folder.
 */
static void
ndag_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();

	NdagSharedShmemRequest();
	RequestAddinShmemSpace(NdagRingShmemSize());
	RequestAddinShmemSpace(NdagBaselineShmemSize());
	RequestAddinShmemSpace(NdagFastStatementsShmemSize());
	NdagQueryMemoryShmemRequest();
	RequestAddinShmemSpace(NdagRewriteCountersShmemSize());
	RequestAddinShmemSpace(NdagParamClassShmemSize());
	NdagSharedDecisionsShmemRequest();
	NdagShadowShmemRequest();
	RequestAddinShmemSpace(NdagShadowWaitsShmemSize());
	RequestAddinShmemSpace(NdagLearnedShmemSize());
	NdagSharedModelShmemRequest();
	RequestAddinShmemSpace(NdagWorkerGuardShmemSize());
	RequestAddinShmemSpace(NdagFallbackShmemSize());
	RequestAddinShmemSpace(NdagDatabaseStateShmemSize());
	RequestAddinShmemSpace(StoreShmemSize());
}

/*
 * ndag_shmem_startup
 *		Create or attach to the shared state of every folder (under
 *		AddinShmemInitLock); in the postmaster, then check the store
 *		(store_startup.c).
 */
static void
ndag_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	NdagSharedShmemInit();
	NdagRingShmemInit();
	NdagBaselineShmemInit();
	NdagFastStatementsShmemInit();
	NdagQueryMemoryShmemInit();
	NdagRewriteCountersShmemInit();
	NdagParamClassShmemInit();
	NdagSharedDecisionsShmemInit();
	NdagShadowShmemInit();
	NdagShadowWaitsShmemInit();
	NdagLearnedShmemInit();
	NdagSharedModelShmemInit();
	NdagWorkerGuardShmemInit();
	NdagFallbackShmemInit();
	NdagDatabaseStateShmemInit();
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
