/*-------------------------------------------------------------------------
 *
 * shadow_cpu_waits.c
 *	  How long a shadow run waited for a CPU because of other processes'
 *	  load: the shadow worker's own waits and those of the parallel workers
 *	  its plans launched, read from the kernel (/proc/self/schedstat), so
 *	  that a pair compares its plans' times as a quiet machine would show
 *	  them.
 *
 * A process's schedstat says how long it ran and how long it waited on a
 * run queue while it could run.  From those of the shadow worker (the
 * leader) and of its parallel workers, engine/quiet_time.c computes the
 * run's time on a quiet machine: a serial run's whole wait is load, a
 * parallel run keeps the wait its own processes cause each other (users
 * see it) and loses what other processes added; the load's part is what
 * its wall-clock time exceeds that by.
 * On the pairs of nine TPC-H-like statements (bench/workload.sh tpch,
 * three runs under a load of two CPU-burning processes and three without,
 * 306 pairs with parallel workers) the spread of a pair's log ratio about
 * its arm's mean was 0.11 this way (0.10 with every wait of the leader
 * taken out, 0.15 without the leader's sleep taken out, 0.19 wall-clock);
 * an arm's mean under the load moved from its mean without it by 0.07
 * (root mean square over 21 arms; 0.07, 0.11, 0.11).  Against the ratio
 * the users saw (the bench's oracle phase, one session on the machine):
 * root mean square error of a pair's log ratio 0.15 without the load and
 * 0.18 under it (0.19 and 0.19 with every wait taken out, which put a
 * two-worker default at 0.86 of the users' time without the load, and
 * the arms 7% slower against it than the users found them on average;
 * this way 0.97 and 3%).
 *
 * The parallel workers report their running times and waits at their
 * ExecutorEnd (executor hooks) into a shared slot that the shadow worker
 * names with its pid and clears before each run; a run's figure is known
 * only when every worker it launched reported (else NaN, and its pair
 * compares wall-clock).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdio.h>

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/float.h"

#include "quiet_time.h"
#include "shadow/shadow.h"

/* what the parallel workers of the shadow worker's current run report */
typedef struct ShadowWorkerWaits
{
	pg_atomic_uint32 leader_pid;	/* the shadow worker's pid, 0: none */
	pg_atomic_uint32 reports;	/* workers that reported since cleared */
	pg_atomic_uint64 running_ns;	/* their running times, summed */
	pg_atomic_uint64 queued_ns;	/* their run-queue waits, summed */
	pg_atomic_uint64 longest_ns;	/* the longest running time */
} ShadowWorkerWaits;

static ShadowWorkerWaits *worker_waits = NULL;

/* a parallel worker's readings at its ExecutorStart (reporting: it will report) */
static bool reporting = false;
static uint64 start_running_ns;
static uint64 start_queued_ns;

/*
 * read_schedstat
 *		This process's running time and run-queue wait so far, ns; false
 *		when the kernel does not say.
 */
static bool
read_schedstat(uint64 *running_ns, uint64 *queued_ns)
{
	FILE	   *f = fopen("/proc/self/schedstat", "r");
	unsigned long long running;
	unsigned long long queued;
	int			n;

	if (f == NULL)
		return false;
	n = fscanf(f, "%llu %llu", &running, &queued);
	fclose(f);
	if (n != 2)
		return false;
	*running_ns = running;
	*queued_ns = queued;
	return true;
}

/*
 * NdagShadowWaitsShmemSize
 *		Bytes of the parallel workers' slot.
 */
Size
NdagShadowWaitsShmemSize(void)
{
	return MAXALIGN(sizeof(ShadowWorkerWaits));
}

/*
 * NdagShadowWaitsShmemInit
 *		Create or attach to the slot (caller holds AddinShmemInitLock).
 */
void
NdagShadowWaitsShmemInit(void)
{
	bool		found;

	worker_waits = ShmemInitStruct("neural_dag shadow worker waits",
								   sizeof(ShadowWorkerWaits), &found);
	if (!found)
	{
		pg_atomic_init_u32(&worker_waits->leader_pid, 0);
		pg_atomic_init_u32(&worker_waits->reports, 0);
		pg_atomic_init_u64(&worker_waits->running_ns, 0);
		pg_atomic_init_u64(&worker_waits->queued_ns, 0);
		pg_atomic_init_u64(&worker_waits->longest_ns, 0);
	}
}

/*
 * NdagShadowWaitsBegin
 *		Before a shadow run: this process's readings into *w, and the slot
 *		cleared and named for this process's parallel workers.
 */
void
NdagShadowWaitsBegin(NdagShadowWaits *w)
{
	w->known = read_schedstat(&w->running_ns, &w->queued_ns);
	if (worker_waits == NULL)
		return;
	pg_atomic_write_u32(&worker_waits->reports, 0);
	pg_atomic_write_u64(&worker_waits->running_ns, 0);
	pg_atomic_write_u64(&worker_waits->queued_ns, 0);
	pg_atomic_write_u64(&worker_waits->longest_ns, 0);
	pg_write_barrier();
	pg_atomic_write_u32(&worker_waits->leader_pid, (uint32) MyProcPid);
}

/*
 * all_workers_reported
 *		Whether each of the run's `workers` parallel workers reported into
 *		the slot.
 */
static bool
all_workers_reported(int workers)
{
	pg_read_barrier();
	return worker_waits != NULL &&
		pg_atomic_read_u32(&worker_waits->reports) == (uint32) workers;
}

/*
 * NdagShadowWaitsLoadMs
 *		After a shadow run begun with *w that took wall_ms and launched this
 *		many parallel workers: the time of it the load of other processes
 *		took (see the file's comment), ms; NaN when the kernel or a worker
 *		did not say.  The slot is no longer named for this process.
 */
double
NdagShadowWaitsLoadMs(const NdagShadowWaits *w, int workers, double wall_ms)
{
	uint64		running_ns;
	uint64		queued_ns;
	NdagRunReadings r;

	/* the run is over: no other process's workers report into the slot */
	if (worker_waits != NULL)
		pg_atomic_write_u32(&worker_waits->leader_pid, 0);
	if (!w->known || !read_schedstat(&running_ns, &queued_ns))
		return get_float8_nan();
	memset(&r, 0, sizeof(r));
	r.wall_ms = wall_ms;
	r.leader_running_ms = (running_ns - w->running_ns) / 1e6;
	r.leader_queued_ms = (queued_ns - w->queued_ns) / 1e6;
	r.workers = Max(workers, 0);
	r.ncpu = NdagShadowCpus();
	if (workers > 0)
	{
		if (!all_workers_reported(workers))
			return get_float8_nan();
		r.workers_running_ms = pg_atomic_read_u64(&worker_waits->running_ns) / 1e6;
		r.workers_queued_ms = pg_atomic_read_u64(&worker_waits->queued_ns) / 1e6;
		r.longest_running_ms = pg_atomic_read_u64(&worker_waits->longest_ns) / 1e6;
	}
	return Max(wall_ms - ndag_quiet_ms(&r), 0.0);
}

/*
 * NdagShadowWaitsWorkersMs
 *		After NdagShadowWaitsLoadMs: the CPU time the run's `workers`
 *		parallel workers took as the kernel counts it, ms; NaN unless every
 *		one reported.  Their wall-clock time would count the time they
 *		waited for a CPU, most of it on a busy machine.
 */
double
NdagShadowWaitsWorkersMs(int workers)
{
	if (workers <= 0)
		return 0.0;
	if (!all_workers_reported(workers))
		return get_float8_nan();
	return pg_atomic_read_u64(&worker_waits->running_ns) / 1e6;
}

/*
 * NdagShadowWorkerStart
 *		At a parallel worker's ExecutorStart: whether its leader is the
 *		shadow worker running a timed run; if so, its readings now.
 */
void
NdagShadowWorkerStart(void)
{
	PGPROC	   *leader = MyProc != NULL ? MyProc->lockGroupLeader : NULL;

	reporting = false;
	if (worker_waits == NULL || leader == NULL || leader == MyProc)
		return;
	if (pg_atomic_read_u32(&worker_waits->leader_pid) != (uint32) leader->pid)
		return;
	reporting = read_schedstat(&start_running_ns, &start_queued_ns);
}

/*
 * NdagShadowWorkerEnd
 *		At a parallel worker's ExecutorEnd: its running time and wait since
 *		its ExecutorStart added to the shadow worker's slot.
 */
void
NdagShadowWorkerEnd(void)
{
	uint64		running_ns;
	uint64		queued_ns;
	uint64		ran_ns;
	uint64		longest_ns;

	if (!reporting)
		return;
	reporting = false;
	if (!read_schedstat(&running_ns, &queued_ns))
		return;
	ran_ns = running_ns - start_running_ns;
	pg_atomic_fetch_add_u64(&worker_waits->running_ns, (int64) ran_ns);
	pg_atomic_fetch_add_u64(&worker_waits->queued_ns,
							(int64) (queued_ns - start_queued_ns));
	longest_ns = pg_atomic_read_u64(&worker_waits->longest_ns);
	while (ran_ns > longest_ns &&
		   !pg_atomic_compare_exchange_u64(&worker_waits->longest_ns,
										   &longest_ns, ran_ns))
		;
	pg_write_barrier();
	pg_atomic_fetch_add_u32(&worker_waits->reports, 1);
	NdagShadowCount(NDAG_SHADOW_WORKER_WAITS, 1);
}
