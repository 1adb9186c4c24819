/*-------------------------------------------------------------------------
 *
 * shadow_worker.c
 *	  The shadow workers: a dynamic background worker connected to one
 *	  database as one role runs the captured statements of that database
 *	  and role (shadow/), heaviest first (one whose default run is longer
 *	  than the budget grants over a minute after the others), then exits.  The learner launches
 *	  one when statements wait and no shadow worker runs.
 *
 * One shadow worker runs at a time in the cluster, so that together they
 * keep within ruvector.dag_shadow_budget CPUs: after each round the worker
 * sleeps (on its latch) long enough for its busy time, times the processes
 * it kept running (itself and its parallel workers), to stay within that
 * many CPUs of the time, and it stops when the load average per
 * CPU goes above ruvector.dag_shadow_max_load (its entries wait for the
 * next launch).  Nothing is launched on a standby, nor while the budget is
 * 0.
 *
 * The worker connects as the role that ran the statements: a role that may
 * no longer log in (or was dropped) makes the connection fail, and the
 * learner then drops the entries that launch was for, counted as errors,
 * instead of launching again and again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/core.h"
#include "shadow/shadow.h"
#include "workers/workers.h"

#define SHADOW_WORKER_NAME	"neural_dag shadow"

/* the longest sleep after one round (ms) */
#define SHADOW_MAX_SLEEP_MS	600000.0
/* the budget is looked at again at least this often while the worker sleeps (ms) */
#define SHADOW_SLEEP_STEP_MS	5000.0

StaticAssertDecl(sizeof(NdagShadowLaunch) <= BGW_EXTRALEN,
				 "NdagShadowLaunch must fit in bgw_extra");

PGDLLEXPORT void ndag_shadow_worker_main(Datum main_arg);

/* the learner's shadow worker, and the launch number its entries carry */
static BackgroundWorkerHandle *shadow_handle = NULL;
static uint32 shadow_launch = 0;

/*
 * launch_worker
 *		Start a shadow worker for a database and role that notifies this
 *		process when it stops; NULL if no worker slot is free.  The handle
 *		lives in TopMemoryContext.
 */
static BackgroundWorkerHandle *
launch_worker(const NdagShadowLaunch *launch)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	MemoryContext oldcxt;
	bool		ok;

	NdagWorkerDefine(&worker, SHADOW_WORKER_NAME, "ndag_shadow_worker_main",
					 BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, BGW_MAXLEN, SHADOW_WORKER_NAME " for database %u",
			 launch->dbid);
	memcpy(worker.bgw_extra, launch, sizeof(NdagShadowLaunch));
	worker.bgw_notify_pid = MyProcPid;

	oldcxt = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&worker, &handle);
	MemoryContextSwitchTo(oldcxt);
	return ok ? handle : NULL;
}

/*
 * NdagShadowLaunchStep
 *		From the learner's loop: when the shadow worker it launched has
 *		stopped, drop the entries it left assigned (it could not run them);
 *		when none runs, statements wait, the budget is not 0 and the
 *		machine has capacity to spare, launch one for the database and role
 *		of the heaviest waiting statement.
 */
void
NdagShadowLaunchStep(void)
{
	NdagShadowLaunch launch;

	if (shadow_handle != NULL)
	{
		pid_t		pid;
		BgwHandleStatus status = GetBackgroundWorkerPid(shadow_handle, &pid);

		if (status == BGWH_STARTED || status == BGWH_NOT_YET_STARTED)
			return;
		(void) NdagShadowDropAssigned(shadow_launch);
		pfree(shadow_handle);
		shadow_handle = NULL;
	}
	if (!NdagMayWriteLearnedState() || !(NdagShadowBudget() > 0) ||
		!NdagShadowHeaviestWaiting(&launch.dbid, &launch.userid))
		return;
	launch.launch = NdagShadowAssign(launch.dbid, launch.userid);
	shadow_handle = launch_worker(&launch);
	if (shadow_handle == NULL)
	{
		NdagShadowUnassign(launch.launch);
		ereport(DEBUG1,
				(errmsg("could not start a neural_dag shadow worker: no background worker slot is free")));
		return;
	}
	shadow_launch = launch.launch;
}

/*
 * serve_reload
 *		Read the configuration file again when SIGHUP asked for it.
 */
static void
serve_reload(void)
{
	if (ConfigReloadPending)
	{
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

/*
 * shadow_pace
 *		After a round that kept the worker and `processes` processes on
 *		average (its parallel workers included) busy busy_ms: account them
 *		in the shadow runs' own load, sleep on the latch so that busy time
 *		times those processes stays within the CPUs of the budget of the
 *		moment (NdagShadowBudget, looked at again every
 *		SHADOW_SLEEP_STEP_MS while it sleeps), then say whether the run may go on (the budget not 0).
 *		Signals are served while it sleeps.
 */
static bool
shadow_pace(double busy_ms, double processes, void *arg)
{
	TimestampTz start;
	double		budget;

	CHECK_FOR_INTERRUPTS();
	serve_reload();
	NdagShadowAccountLoad(processes);
	start = GetCurrentTimestamp();
	for (;;)
	{
		long		slept_ms;
		double		sleep_ms;

		/* the budget of the moment: a load that changes shortens or lengthens the sleep */
		budget = NdagShadowBudget();
		if (!(budget > 0))
			return false;
		/* busy_ms kept `processes` CPUs busy: sleep until that is budget CPUs */
		sleep_ms = Min(SHADOW_MAX_SLEEP_MS,
					   Max(busy_ms * (Max(processes, 1.0) / budget - 1.0), 0.0));
		slept_ms = TimestampDifferenceMilliseconds(start, GetCurrentTimestamp());
		if (slept_ms >= sleep_ms)
			break;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) Min(sleep_ms - slept_ms, SHADOW_SLEEP_STEP_MS),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		serve_reload();
	}
	NdagShadowAccountLoad(0);
	return NdagShadowBudget() > 0;
}

/*
 * has_extension
 *		Whether neural_dag is installed in this database.
 */
static bool
has_extension(void)
{
	bool		found;

	StartTransactionCommand();
	found = OidIsValid(get_extension_oid("neural_dag", true));
	CommitTransactionCommand();
	return found;
}

/*
 * unassign_at_exit
 *		on_shmem_exit callback: the entries of this launch not run wait for
 *		the next one.
 */
static void
unassign_at_exit(int code, Datum arg)
{
	NdagShadowUnassign(DatumGetUInt32(arg));
}

/*
 * ndag_shadow_worker_main
 *		Entry point of a shadow worker: bgw_extra is the NdagShadowLaunch.
 *		Run the entries of its database and role, heaviest first, while
 *		the budget and the load allow, then exit.
 */
void
ndag_shadow_worker_main(Datum main_arg)
{
	NdagShadowLaunch launch;
	NdagShadowEntry *entry;
	MemoryContext cxt;

	memcpy(&launch, MyBgworkerEntry->bgw_extra, sizeof(NdagShadowLaunch));

	/* a backend's signals: SIGINT cancels the running statement (timeouts) */
	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, StatementCancelHandler);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	NdagWorkerGuardEnter(NDAG_WORKER_SHADOW);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnectionByOid(launch.dbid, launch.userid, 0);
	pgstat_report_appname(SHADOW_WORKER_NAME);
	NdagShadowSessionSettings();
	NdagLowerOwnPriority();
	on_shmem_exit(unassign_at_exit, UInt32GetDatum(launch.launch));
	if (!has_extension())
		proc_exit(0);

	cxt = AllocSetContextCreate(TopMemoryContext, SHADOW_WORKER_NAME,
								ALLOCSET_DEFAULT_SIZES);
	entry = MemoryContextAlloc(TopMemoryContext, sizeof(NdagShadowEntry));
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (!shadow_pace(0, 0, NULL) ||
			!NdagShadowTake(launch.dbid, launch.userid,
							NdagShadowBudgetWindowMs(), entry))
			break;
		MemoryContextSwitchTo(cxt);
		pgstat_report_activity(STATE_RUNNING, "neural_dag shadow run");
		NdagShadowRunEntry(entry, shadow_pace, NULL);
		pgstat_report_activity(STATE_IDLE, NULL);
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(cxt);
	}
	proc_exit(0);
}
