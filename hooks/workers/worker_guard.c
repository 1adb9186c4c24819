/*-------------------------------------------------------------------------
 *
 * worker_guard.c
 *	  A background worker of neural_dag that keeps crashing stops being
 *	  started, instead of making the postmaster reinitialise the server
 *	  again and again.
 *
 * A crash of a worker (a signal, or an exit status other than 0 and 1)
 * makes the postmaster stop every process, reinitialise shared memory and
 * start the static workers again at once.  Shared memory does not survive
 * that, but the postmaster's own memory does, and every worker is forked
 * from it: so the postmaster counts the crashes, just before it throws the
 * old shared memory away (an on_shmem_exit callback of the postmaster), in
 * static variables that each new worker inherits.
 *
 * Which process crashed is not told to the postmaster's callbacks, so each
 * guarded worker says it in shared memory: it counts itself as running
 * when it starts and as gone when it exits normally, and its SIGQUIT
 * handler notes that it was told to quit by the postmaster (because some
 * other process crashed).  A worker still counted as running that was not
 * told to quit is the one that crashed (or was killed with SIGKILL).
 *
 * A worker that finds NDAG_WORKER_MAX_CRASHES crashes of its kind, each
 * within NDAG_WORKER_CRASH_WINDOW_S of the previous one, logs why and
 * exits with status 0, which tells the postmaster never to start it
 * again; a server restart starts it afresh.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <unistd.h>

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/timestamp.h"

#include "workers/workers.h"

/* crashes in a row after which a worker is no longer started */
#define NDAG_WORKER_MAX_CRASHES		3

/* crashes further apart than this do not count as "in a row" */
#define NDAG_WORKER_CRASH_WINDOW_S	600

typedef struct NdagGuardShared
{
	pg_atomic_uint32 running[NDAG_N_GUARDED];	/* started, not exited */
	pg_atomic_uint32 quit[NDAG_N_GUARDED];	/* of those, told to quit */
} NdagGuardShared;

static NdagGuardShared *guard_shared = NULL;

/* postmaster memory, inherited by every worker at fork */
static int	guard_crashes[NDAG_N_GUARDED];
static TimestampTz guard_last_crash[NDAG_N_GUARDED];

/* the kind of this process, if it is a guarded worker */
static int	guard_self = -1;

static const char *const guard_names[NDAG_N_GUARDED] = {
	"neural_dag learner", "neural_dag healing launcher", "neural_dag healer",
	"neural_dag shadow"
};

/*
 * NdagWorkerGuardShmemSize
 *		Shared memory of the guard.
 */
Size
NdagWorkerGuardShmemSize(void)
{
	return MAXALIGN(sizeof(NdagGuardShared));
}

/*
 * guard_count_crashes
 *		on_shmem_exit callback of the postmaster, run before it discards
 *		shared memory (after a crash, or at shutdown): count each kind of
 *		worker that was running and not told to quit as crashed.
 */
static void
guard_count_crashes(int code, Datum arg)
{
	TimestampTz now;

	if (guard_shared == NULL)
		return;
	now = GetCurrentTimestamp();
	for (int i = 0; i < NDAG_N_GUARDED; i++)
	{
		uint32		running = pg_atomic_read_u32(&guard_shared->running[i]);
		uint32		quit = pg_atomic_read_u32(&guard_shared->quit[i]);

		if (running <= quit)
			continue;
		if (guard_last_crash[i] == 0 ||
			TimestampDifferenceExceeds(guard_last_crash[i], now,
									   NDAG_WORKER_CRASH_WINDOW_S * 1000))
			guard_crashes[i] = 0;
		guard_crashes[i]++;
		guard_last_crash[i] = now;
	}
	guard_shared = NULL;
}

/*
 * NdagWorkerGuardShmemInit
 *		Create or attach the shared state (caller holds
 *		AddinShmemInitLock); in the postmaster, arrange for the crashes to
 *		be counted before this shared memory goes away.
 */
void
NdagWorkerGuardShmemInit(void)
{
	bool		found;

	guard_shared = ShmemInitStruct("neural_dag worker guard",
								   sizeof(NdagGuardShared), &found);
	if (!found)
	{
		for (int i = 0; i < NDAG_N_GUARDED; i++)
		{
			pg_atomic_init_u32(&guard_shared->running[i], 0);
			pg_atomic_init_u32(&guard_shared->quit[i], 0);
		}
	}
	if (!IsUnderPostmaster)
		on_shmem_exit(guard_count_crashes, (Datum) 0);
}

/*
 * guard_quit_handler
 *		SIGQUIT: the postmaster stops everything (another process crashed,
 *		or an immediate shutdown).  Note it, then exit as PostgreSQL's own
 *		handler does.
 */
static void
guard_quit_handler(SIGNAL_ARGS)
{
	if (guard_shared != NULL && guard_self >= 0)
		pg_atomic_fetch_add_u32(&guard_shared->quit[guard_self], 1);
	_exit(2);
}

/*
 * guard_exit
 *		on_shmem_exit callback of a guarded worker: it did not crash.
 */
static void
guard_exit(int code, Datum arg)
{
	if (guard_shared != NULL && guard_self >= 0)
		pg_atomic_fetch_sub_u32(&guard_shared->running[guard_self], 1);
	guard_self = -1;
}

/*
 * NdagWorkerGuardEnter
 *		First thing in a guarded worker: exit for good if workers of its
 *		kind crashed too often in a row, else count it as running.
 */
void
NdagWorkerGuardEnter(NdagGuardedWorker kind)
{
	if (guard_crashes[kind] >= NDAG_WORKER_MAX_CRASHES)
	{
		ereport(LOG,
				(errmsg("%s is not started again: it crashed %d times in a row, each within %d seconds of the previous crash",
						guard_names[kind], guard_crashes[kind],
						NDAG_WORKER_CRASH_WINDOW_S),
				 errdetail("Each crash made the server reinitialise; it stays stopped until the server restarts."),
				 errhint("Look for the cause of the crashes earlier in the server log, then restart the server.")));
		proc_exit(0);
	}
	if (guard_shared == NULL)
		return;
	guard_self = kind;
	pg_atomic_fetch_add_u32(&guard_shared->running[kind], 1);
	on_shmem_exit(guard_exit, (Datum) 0);
	pqsignal(SIGQUIT, guard_quit_handler);
}
