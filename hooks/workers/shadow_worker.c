/*-------------------------------------------------------------------------
 *
 * shadow_worker.c
 *	  The shadow workers: a dynamic background worker connected to one
 *	  database as one role runs a slice of the captured statements of that
 *	  database and role (shadow/: the few waiting when it was launched
 *	  that go first: fewest turns, then heaviest), in that order (one whose
 *	  default run is longer than the account of shadow time can hold after
 *	  the others), puts back those whose run gave way, then exits.  The
 *	  learner launches one when statements wait and no shadow worker runs,
 *	  for the database and role served least recently, so that each
 *	  waiting database and role gets its turn.
 *
 * One shadow worker runs at a time in the cluster, so that together they
 * keep within ruvector.dag_shadow_budget CPUs: each round is debited from
 * the account of shadow time (shadow_capacity.c) with the CPU time it took
 * (its own and its parallel workers', as the kernel counts it), and the
 * worker sleeps (on its latch) while the account is below 0, and before a
 * statement while the account holds less than its default run.  A run
 * stops when the budget of the moment is 0 (its entries wait for the next
 * launch).  Nothing is launched on a standby, nor while the budget is 0.
 *
 * The worker connects as the role that ran the statements: a role that may
 * no longer log in (or was dropped) makes the connection fail, and the
 * learner then drops the entries that launch was for, counted as errors,
 * instead of launching again and again.  Where the settings a new session
 * of that role in that database gets (postgresql.conf, ALTER SYSTEM, ALTER
 * DATABASE / ROLE ... SET) do not learn in shadow mode (ruvector.dag_mode
 * not learn: apply freezes what was learned; ruvector.dag_exploration_mode
 * not shadow), the worker drops its entries unrun, counted as skipped: a
 * session that set learn for itself does not make the server explore.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/float.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/core.h"
#include "shadow/shadow.h"
#include "workers/workers.h"

#define SHADOW_WORKER_NAME	"neural_dag shadow"

/* the longest sleep waiting for the account (ms) */
#define SHADOW_MAX_SLEEP_MS	600000.0
/* the account is looked at again at least this often while the worker sleeps (ms) */
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
 *		when none runs, statements wait and the budget is not 0, launch one
 *		for the database and role whose turn it is (NdagShadowNextToServe).
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
		!NdagShadowNextToServe(&launch.dbid, &launch.userid))
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
	NdagShadowCount(NDAG_SHADOW_LAUNCHES, 1);
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
 * wait_for_account
 *		Sleep on the latch until the account of shadow time holds need_ms
 *		(looked at again every SHADOW_SLEEP_STEP_MS, so that a budget that
 *		changes with the load shortens or lengthens the sleep), at most
 *		SHADOW_MAX_SLEEP_MS; false when the budget of the moment is 0.
 *		Signals are served while it sleeps.
 */
static bool
wait_for_account(double need_ms)
{
	TimestampTz start = GetCurrentTimestamp();

	for (;;)
	{
		double		budget = NdagShadowBudget();
		double		missing_ms;
		long		slept_ms;

		if (!(budget > 0))
			return false;
		missing_ms = need_ms - NdagShadowAccountAvailableMs();
		slept_ms = TimestampDifferenceMilliseconds(start, GetCurrentTimestamp());
		if (!(missing_ms > 0) || slept_ms >= SHADOW_MAX_SLEEP_MS)
			return true;
		/* the account refills at `budget` ms of CPU per ms */
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 (long) ceil(Min(missing_ms / budget,
										 Min(SHADOW_SLEEP_STEP_MS,
											 SHADOW_MAX_SLEEP_MS - slept_ms))),
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		serve_reload();
	}
}

/*
 * shadow_pace
 *		After a round that kept `processes` processes on average (its
 *		parallel workers included) busy busy_ms and took cpu_ms of CPU:
 *		account the processes in the shadow runs' own load, debit the
 *		account of shadow time with the CPU time (not the wall-clock time:
 *		at its nice value on a busy machine the worker waits for the CPU
 *		most of the time), and sleep until the account is back to 0;
 *		whether the run may go on (the budget not 0).
 */
static bool
shadow_pace(double busy_ms, double processes, double cpu_ms, void *arg)
{
	bool		go_on;

	CHECK_FOR_INTERRUPTS();
	serve_reload();
	NdagShadowAccountLoad(processes);
	if (busy_ms > 0)
		NdagShadowAccountSpend(cpu_ms);
	go_on = wait_for_account(0);
	NdagShadowAccountLoad(0);
	return go_on;
}

/*
 * entry_decided
 *		Whether every arm of the entry's class has its verdict by now (a run
 *		of the statement for another role, or inline exploration, decided
 *		them while it waited).
 */
static bool
entry_decided(const NdagShadowEntry *entry)
{
	bool		decided;

	StartTransactionCommand();
	decided = NdagQueryMemoryOpenArms(entry->dbid, entry->query_id,
									  entry->klass, NdagArmsEnabledMask()) == 0;
	CommitTransactionCommand();
	return decided;
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
 * shadow_exploration_on
 *		Whether the session's settings before the worker's own (those of the
 *		database and role it connected as) learn in shadow mode.
 */
static bool
shadow_exploration_on(void)
{
	return ndag_enabled && ndag_mode == NDAG_MODE_LEARN &&
		ndag_exploration_mode == NDAG_EXPLORATION_SHADOW;
}

/*
 * drop_launch_entries
 *		Drop the entries of the launch's slice unrun, each counted as
 *		skipped.
 */
static void
drop_launch_entries(uint32 launch, NdagShadowEntry *entry)
{
	double		any = get_float8_infinity();

	while (NdagShadowTake(launch, any, any, entry))
		NdagShadowCount(NDAG_SHADOW_SKIPPED, 1);
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
 *		Run the entries of its launch's slice in the queue's order (an
 *		entry whose arms were all decided meanwhile is dropped unrun), while
 *		the budget allows, then exit; drop them unrun where the database's
 *		and role's settings do not explore in shadow mode.
 */
void
ndag_shadow_worker_main(Datum main_arg)
{
	NdagShadowLaunch launch;
	NdagShadowEntry *entry;
	MemoryContext cxt;
	bool		exploring;
	bool		yielded;

	memcpy(&launch, MyBgworkerEntry->bgw_extra, sizeof(NdagShadowLaunch));

	/* a backend's signals: SIGINT cancels the running statement (timeouts) */
	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, StatementCancelHandler);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	NdagWorkerGuardEnter(NDAG_WORKER_SHADOW);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnectionByOid(launch.dbid, launch.userid, 0);
	pgstat_report_appname(SHADOW_WORKER_NAME);
	exploring = shadow_exploration_on();
	NdagShadowSessionSettings();
	NdagLowerOwnPriority();
	on_shmem_exit(unassign_at_exit, UInt32GetDatum(launch.launch));
	if (!has_extension())
		proc_exit(0);

	entry = MemoryContextAlloc(TopMemoryContext, sizeof(NdagShadowEntry));
	if (!exploring)
	{
		drop_launch_entries(launch.launch, entry);
		proc_exit(0);
	}
	cxt = AllocSetContextCreate(TopMemoryContext, SHADOW_WORKER_NAME,
								ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (!shadow_pace(0, 0, 0, NULL) ||
			!NdagShadowTake(launch.launch, NdagShadowAccountAvailableMs(),
							NdagShadowAccountCapacityMs(), entry))
			break;
		if (entry_decided(entry))
		{
			NdagShadowCount(NDAG_SHADOW_DECIDED, 1);
			continue;
		}
		/* its first default run is paid for before it starts */
		if (!wait_for_account(Min(entry->default_ms,
								  NdagShadowAccountCapacityMs())))
		{
			NdagShadowCount(NDAG_SHADOW_SKIPPED, 1);
			break;
		}
		MemoryContextSwitchTo(cxt);
		pgstat_report_activity(STATE_RUNNING, "neural_dag shadow run");
		yielded = NdagShadowRunEntry(entry, shadow_pace, NULL);
		pgstat_report_activity(STATE_IDLE, NULL);
		/* its other arms wait for the statements that had fewer turns */
		if (yielded)
			NdagShadowRequeue(entry);
		MemoryContextSwitchTo(TopMemoryContext);
		MemoryContextReset(cxt);
	}
	proc_exit(0);
}
