/*-------------------------------------------------------------------------
 *
 * learner.c
 *	  The background worker "neural_dag learner": about once a second, and
 *	  when a backend finds the ring half full, it drains the trajectory
 *	  ring into the store; every ruvector.dag_background_interval it runs
 *	  a learning cycle for each database (learn_cycle.c).
 *
 * Each pass also settles the store edits that committing transactions
 * left over (StoreIntentResolve), writes the plan rewriter's
 * per-statement memory that changed to the store (query_store.c; once
 * more when the worker stops, so that a clean shutdown keeps it), and
 * launches a shadow worker when captured statements wait
 * (shadow_worker.c), and logs a snapshot of the plan-deciding state to WAL
 * after each checkpoint (ruvector.dag_wal_snapshots, store_wal.c).
 *
 * It attaches to shared memory and, like the logical replication launcher,
 * connects to no database (the store is not in one) so that it shows in
 * pg_stat_activity.  SIGHUP reloads the configuration, SIGTERM ends the loop; an
 * error in a drain is logged and the loop goes on; a crash makes the
 * postmaster reinitialise and start it again, unless it crashed too often
 * in a row (worker_guard.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "core/core.h"
#include "learning/learning.h"
#include "planner/planner.h"
#include "recording/recording.h"
#include "workers/workers.h"
#include "store.h"

#define LEARNER_NAME		"neural_dag learner"
#define LEARNER_RESTART_S	10
#define LEARNER_PERIOD_MS	1000

PGDLLEXPORT void ndag_learner_main(Datum main_arg);

/*
 * NdagRegisterStaticWorker
 *		Register a background worker of this library that starts once
 *		recovery is over, may connect to a database, and is restarted
 *		restart_s seconds after a crash (from _PG_init).
 */
void
NdagRegisterStaticWorker(const char *name, const char *function, int restart_s)
{
	BackgroundWorker worker;

	NdagWorkerDefine(&worker, name, function, restart_s);
	RegisterBackgroundWorker(&worker);
}

/*
 * NdagRegisterLearner
 *		Register the worker (from _PG_init).
 */
void
NdagRegisterLearner(void)
{
	NdagRegisterStaticWorker(LEARNER_NAME, "ndag_learner_main", LEARNER_RESTART_S);
}

/*
 * learner_run
 *		Run one step of the worker's loop in loop_cxt, which is reset
 *		afterwards; an error is reported and forgotten (the next pass tries
 *		again), the locks it held released.
 */
static void
learner_run(MemoryContext loop_cxt, void (*step) (void *arg), void *arg)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(loop_cxt);

	PG_TRY();
	{
		step(arg);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(loop_cxt);
		EmitErrorReport();
		FlushErrorState();
		LWLockReleaseAll();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(loop_cxt);
}

/*
 * drain_step
 *		One drain, then the merge of the instant loop's pending deltas into
 *		the stored models; the trajectories a failed drain lost are counted
 *		by NdagFlush.
 */
static void
drain_step(void *arg)
{
	NdagFlush();
	NdagLearnedMergePending();
}

/*
 * settle_step
 *		Settle the store edits of transactions that finished without
 *		settling them themselves (a crash or a failed apply between their
 *		commit and its callback: store_intent.c).
 */
static void
settle_step(void *arg)
{
	(void) StoreIntentResolve();
}

/*
 * queries_step
 *		Write the per-statement memory of every database that changed
 *		since the last pass to the store (ndag_queries).
 */
static void
queries_step(void *arg)
{
	NdagQueryStoreFlush(InvalidOid);
}

/*
 * shadow_step
 *		Launch a shadow worker when captured statements wait
 *		(shadow_worker.c).
 */
static void
shadow_step(void *arg)
{
	NdagShadowLaunchStep();
}

/*
 * snapshot_step
 *		Log a snapshot of the plan-deciding state when a checkpoint started
 *		since the last one (store_wal.c), so that a standby started from a
 *		base backup has one to trust.
 */
static void
snapshot_step(void *arg)
{
	if (ndag_wal_snapshots && StoreWalSnapshotDue())
		StoreWalLogSnapshot(false);
}

/*
 * add_database
 *		NdagForEachDatabase callback: append the database's oid to a list.
 */
static void
add_database(Form_pg_database db, void *arg)
{
	List	  **dbids = (List **) arg;

	*dbids = lappend_oid(*dbids, db->oid);
}

/*
 * learner_databases
 *		The oids of the cluster's databases that can be connected to
 *		(database_list.c), allocated in the caller's context.
 */
static List *
learner_databases(void)
{
	List	   *dbids = NIL;

	NdagForEachDatabase(add_database, &dbids);
	return dbids;
}

/*
 * learn_database_step
 *		One learning cycle for the database *arg (an Oid).
 */
static void
learn_database_step(void *arg)
{
	NdagLearnSummary summary;

	NdagLearnCycle(*(Oid *) arg, &summary);
	if (summary.trajectories > 0)
		ereport(DEBUG1,
				(errmsg("%s: database %u: %d trajectories, %d patterns (%d created, %d merged, %d evicted) in %.1f ms",
						LEARNER_NAME, summary.dbid,
						summary.trajectories, summary.patterns,
						summary.created, summary.merged,
						summary.evicted, summary.ms)));
}

/*
 * learner_learn
 *		One learning cycle for every database; an error in one database's
 *		cycle is reported and the others still run.
 */
static void
learner_learn(MemoryContext loop_cxt)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(loop_cxt);
	List	   *volatile dbids = NIL;
	Oid		   *ids;
	int			n;

	PG_TRY();
	{
		dbids = learner_databases();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(loop_cxt);
		EmitErrorReport();
		FlushErrorState();
		AbortOutOfAnyTransaction();
	}
	PG_END_TRY();

	/* the list lives in loop_cxt, which each cycle's run resets */
	MemoryContextSwitchTo(oldcxt);
	n = list_length(dbids);
	ids = palloc(sizeof(Oid) * Max(n, 1));
	for (int i = 0; i < n; i++)
		ids[i] = list_nth_oid(dbids, i);
	MemoryContextReset(loop_cxt);

	for (int i = 0; i < n; i++)
	{
		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			break;
		learner_run(loop_cxt, learn_database_step, &ids[i]);
	}
	pfree(ids);
}

/*
 * learner_exit
 *		Withdraw the latch so that no backend sets it after we are gone.
 */
static void
learner_exit(int code, Datum arg)
{
	NdagSetLearnerLatch(NULL);
}

/*
 * ndag_learner_main
 *		Entry point of the worker: the latch loop.
 */
void
ndag_learner_main(Datum main_arg)
{
	MemoryContext loop_cxt;
	TimestampTz last_cycle;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	NdagWorkerGuardEnter(NDAG_WORKER_LEARNER);
	BackgroundWorkerUnblockSignals();

	/* no database: only to show up in pg_stat_activity */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "neural_dag learner",
									 ALLOCSET_DEFAULT_SIZES);
	NdagSetLearnerLatch(MyLatch);
	on_shmem_exit(learner_exit, (Datum) 0);
	ereport(LOG, (errmsg("%s started", LEARNER_NAME)));
	last_cycle = GetCurrentTimestamp();

	while (!ShutdownRequestPending)
	{
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 LEARNER_PERIOD_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			break;
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		learner_run(loop_cxt, settle_step, NULL);
		learner_run(loop_cxt, drain_step, NULL);
		learner_run(loop_cxt, queries_step, NULL);
		learner_run(loop_cxt, shadow_step, NULL);
		if (TimestampDifferenceExceeds(last_cycle, GetCurrentTimestamp(),
									   ndag_background_interval))
		{
			learner_learn(loop_cxt);
			last_cycle = GetCurrentTimestamp();
		}
		learner_run(loop_cxt, snapshot_step, NULL);
	}
	learner_run(loop_cxt, queries_step, NULL);
	proc_exit(0);
}
