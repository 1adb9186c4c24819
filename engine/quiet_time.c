/*-------------------------------------------------------------------------
 *
 * quiet_time.c
 *	  A run's time on a quiet machine (quiet_time.h).
 *
 * A serial run's run-queue wait is all load: the whole of it comes out of
 * its wall-clock time (waits for I/O or locks stay in).  The processes of
 * a parallel run also wait for each other when there are more of them
 * than CPUs (a leader and two workers on two CPUs), and that wait is the
 * plan's own: users see it.  Each of P processes on C CPUs, all runnable,
 * runs C/P of the time, so it waits (P - C)/C of its running time on a
 * quiet machine, and never longer than the others' running time over C
 * (they must hold every CPU): that much of each process's wait stays (its
 * self-contention); only the rest is load.  So a parallel run's time on
 * a quiet machine is the longest of
 *	- its wall-clock time less the leader's wait beyond its
 *	  self-contention and less the part of the time the leader slept
 *	  (waiting for its workers' rows, mostly) that its workers' mean wait
 *	  beyond theirs explains,
 *	- its processes' running times summed, spread over the CPUs they could
 *	  use (their number, at most the machine's),
 *	- the longest running time of one of them.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "quiet_time.h"

/*
 * self_contention_ms
 *		The run-queue wait a process that ran running_ms would have on a
 *		quiet machine, its run's processes having run work_ms in all:
 *		rate times its running time, but no more than the others' running
 *		time spread over the CPUs (a leader whose workers barely started
 *		waited for none of them).
 */
static double
self_contention_ms(double rate, double running_ms, double work_ms, int ncpu)
{
	return fmin(rate * running_ms, fmax(work_ms - running_ms, 0.0) / ncpu);
}

/*
 * ndag_quiet_ms
 *		The run's time on a quiet machine (the file's comment).
 */
double
ndag_quiet_ms(const NdagRunReadings *r)
{
	int			ncpu = r->ncpu > 1 ? r->ncpu : 1;
	int			workers = r->workers > 0 ? r->workers : 0;
	double		processes = 1.0 + workers;
	double		rate = fmax(processes - ncpu, 0.0) / ncpu;
	double		work_ms = r->leader_running_ms;
	double		longest_ms = fmax(r->leader_running_ms, r->longest_running_ms);
	double		leader_load_ms = r->leader_queued_ms;
	double		waited_for_workers_ms = 0.0;

	if (workers > 0)
	{
		double		asleep_ms = fmax(r->wall_ms - r->leader_running_ms -
									r->leader_queued_ms, 0.0);
		double		worker_load_ms;

		work_ms += r->workers_running_ms;
		worker_load_ms = r->workers_queued_ms / workers -
			self_contention_ms(rate, r->workers_running_ms / workers, work_ms, ncpu);
		waited_for_workers_ms = fmin(asleep_ms, fmax(worker_load_ms, 0.0));
		leader_load_ms = fmax(leader_load_ms -
							 self_contention_ms(rate, r->leader_running_ms,
												work_ms, ncpu), 0.0);
	}
	return fmax(r->wall_ms - leader_load_ms - waited_for_workers_ms,
			   fmax(work_ms / fmin((double) ncpu, processes), longest_ms));
}
