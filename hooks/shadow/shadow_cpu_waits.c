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
 * run queue while it could run.  A serial run's wait is all load: the
 * whole of it comes out of the run's wall-clock time (waits for I/O or
 * locks stay in).  The processes of a parallel run also wait for each
 * other when there are more of them than CPUs (a leader and two workers
 * on two CPUs), and that wait is the plan's own: users see it.  Each of
 * P processes on C CPUs, all runnable, runs C/P of the time, so it waits
 * (P - C)/C of its running time on a quiet machine, and never longer than
 * the others' running time over C (they must hold every CPU): that much
 * of each process's wait stays (its self-contention); only the rest is
 * load.  So
 * a parallel run's time on a quiet machine is taken as the longest of
 *	- its wall-clock time less the shadow worker's (the leader's) wait
 *	  beyond its self-contention and less the part of the time the leader
 *	  slept (waiting for its workers' rows, mostly) that its workers' mean
 *	  wait beyond theirs explains,
 *	- its processes' running times summed, spread over the CPUs they
 *	  could use (their number, at most the machine's),
 *	- the longest running time of one of them;
 * and the load's part is what its wall-clock time exceeds that by.  For a
 * serial run that is its wait.  A leader that does most of the work while
 * its workers start (a short statement) loses its own wait; a balanced
 * plan whose three processes share two CPUs keeps the wait they cause
 * each other, but not what other processes added.
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
#include <unistd.h>

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/proc.h"
#include "storage/shmem.h"
#include "utils/float.h"

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
 * self_contention_ms
 *		The run-queue wait a process of a parallel run that ran running_ms
 *		would have on a quiet machine, its run's processes having run
 *		work_ms in all: self_wait_rate times its running time, but no more
 *		than the others' running time spread over the CPUs (it waits for
 *		them only while they hold every CPU; a leader whose workers barely
 *		started waited for none of them).
 */
static double
self_contention_ms(double self_wait_rate, double running_ms, double work_ms,
				   long ncpu)
{
	return Min(self_wait_rate * running_ms, Max(work_ms - running_ms, 0.0) / ncpu);
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
	double		own_running_ms;
	double		own_queued_ms;
	double		waited_for_workers_ms = 0.0;
	double		longest_ms;
	double		work_ms;
	long		ncpu = Max(sysconf(_SC_NPROCESSORS_ONLN), 1);
	double		usable_cpus = Min((double) ncpu, 1.0 + Max(workers, 0));
	/* run-queue wait per ms of running the run's processes cause each other */
	double		self_wait_rate = Max(1.0 + Max(workers, 0) - ncpu, 0.0) / ncpu;
	double		quiet_ms;

	/* the run is over: no other process's workers report into the slot */
	if (worker_waits != NULL)
		pg_atomic_write_u32(&worker_waits->leader_pid, 0);
	if (!w->known || !read_schedstat(&running_ns, &queued_ns))
		return get_float8_nan();
	own_running_ms = (running_ns - w->running_ns) / 1e6;
	own_queued_ms = (queued_ns - w->queued_ns) / 1e6;
	longest_ms = own_running_ms;
	work_ms = own_running_ms;
	if (workers > 0)
	{
		double		asleep_ms = Max(wall_ms - own_running_ms - own_queued_ms, 0.0);
		double		workers_running_ms;
		double		worker_queued_ms;

		pg_read_barrier();
		if (worker_waits == NULL ||
			pg_atomic_read_u32(&worker_waits->reports) != (uint32) workers)
			return get_float8_nan();
		workers_running_ms = pg_atomic_read_u64(&worker_waits->running_ns) / 1e6;
		work_ms += workers_running_ms;
		longest_ms = Max(longest_ms,
						 pg_atomic_read_u64(&worker_waits->longest_ns) / 1e6);
		worker_queued_ms = pg_atomic_read_u64(&worker_waits->queued_ns) / 1e6 / workers -
			self_contention_ms(self_wait_rate, workers_running_ms / workers,
							   work_ms, ncpu);
		waited_for_workers_ms = Min(asleep_ms, Max(worker_queued_ms, 0.0));
		own_queued_ms = Max(own_queued_ms - self_contention_ms(self_wait_rate,
															   own_running_ms,
															   work_ms, ncpu),
							0.0);
	}
	quiet_ms = Max(wall_ms - own_queued_ms - waited_for_workers_ms,
				   Max(work_ms / usable_cpus, longest_ms));
	return Max(wall_ms - quiet_ms, 0.0);
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
