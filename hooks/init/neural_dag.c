/*-------------------------------------------------------------------------
 *
 * neural_dag.c
 *	  Module start-up: neural_dag works only when preloaded through
 *	  shared_preload_libraries.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "compat/compat_backend.h"
#include "core/core.h"
#include "init/init.h"
#include "learning/learning.h"
#include "planner/planner.h"
#include "recording/recording.h"
#include "shadow/shadow.h"
#include "workers/workers.h"
#include "store.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

/*
 * reset_statement_state
 *		What a committed ruvector_dag_reset() of a database also clears:
 *		its captured statements (the shadow runs under way stop first, so
 *		that their pairs do not outlive the reset) and its statements'
 *		query memory.
 */
static void
reset_statement_state(Oid dbid)
{
	NdagShadowReset(dbid);
	NdagQueryMemoryReset(dbid);
}

/*
 * _PG_init
 *		Define the GUCs, give the store its directory and map size and
 *		register its transaction callbacks and WAL resource manager, and
 *		install what records
 *		executions: shared memory, the planner, executor and EXPLAIN hooks
 *		(which act only in databases that have the extension), the tracking
 *		of dropped objects and the learner worker.
 *
 * Loaded any other way (CREATE EXTENSION or LOAD in a session) the module
 * stays inert, and every function it provides refuses to run with a hint on
 * how to preload it: hooks, shared memory and the learner worker can only be
 * installed at server start.
 */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	NdagDefineGucs();
	StoreConfigure(ndag_data_directory, ndag_map_size_mb);
	StoreInit();
	StoreWalRegister(ndag_rmgr_id);

	/* recording: shared ring, hooks, the learner worker */
	EnableQueryId();
	NdagShmemInit();
	NdagEnabledTablesInit();
	NdagRegisterResetCallback(reset_statement_state);
	NdagRegisterResetCounter(NdagQueryMemoryCount);
	NdagQueryStoreInit();
	NdagExtensionStateInit();
	NdagInstallDropTracking();
	NdagInstallPlannerHook();
	NdagInstallExecutorHooks();
	NdagInstallExplainHook();
	NdagRegisterLearner();
	NdagRegisterHealingLauncher();
	NdagLearnedStateInit();

	/* ruvector_dag_status(): every concern's counters, all listed here */
	NdagStatusRegisterCounters("recording", NdagRecordingStatusCounters);
	NdagStatusRegisterCounters("rewriting", NdagRewriteStatusCounters);
	NdagStatusRegisterCounters("shadow exploration", NdagShadowStatusCounters);
	NdagStatusRegisterCounters("learned state", NdagLearnedStatusCounters);
	NdagStatusRegisterCounters("fallbacks", NdagFallbackStatusCounters);
	NdagStatusRegisterCounters("database state", NdagDatabaseStateStatusCounters);
	NdagStatusRegisterCounters("arms", NdagArmStatusCounters);
	NdagStatusRegisterCounters("decisions", NdagDecisionStatusCounters);
	ndag_preloaded = true;
}
