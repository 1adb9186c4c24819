/*-------------------------------------------------------------------------
 *
 * test_quiet_time.c
 *	  A run's time on a quiet machine: a serial run loses its whole wait;
 *	  a balanced parallel run of three processes on two CPUs keeps the
 *	  wait they cause each other when nothing else runs, and loses only
 *	  what a load added; a leader whose workers barely started loses its
 *	  wait (it waited for no worker of its own).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "quiet_time.h"
#include "tap.h"

/*
 * near
 *		Whether a is within 0.01 ms of b.
 */
static bool
near(double a, double b)
{
	return fabs(a - b) < 0.01;
}

int
main(void)
{
	NdagRunReadings r;
	double		q;

	/* serial: 40 ms running, 50 ms waiting for a CPU, 10 ms of I/O */
	memset(&r, 0, sizeof(r));
	r.wall_ms = 100;
	r.leader_running_ms = 40;
	r.leader_queued_ms = 50;
	r.ncpu = 2;
	q = ndag_quiet_ms(&r);
	tap_ok(near(q, 50), "a serial run loses its whole wait (%.2f ms)", q);

	/*
	 * a leader and two workers on two CPUs, nothing else running: each
	 * ran 20 ms and waited 10 (half its running time) for the others
	 */
	memset(&r, 0, sizeof(r));
	r.wall_ms = 30;
	r.leader_running_ms = 20;
	r.leader_queued_ms = 10;
	r.workers = 2;
	r.workers_running_ms = 40;
	r.workers_queued_ms = 20;
	r.longest_running_ms = 20;
	r.ncpu = 2;
	q = ndag_quiet_ms(&r);
	tap_ok(near(q, 30), "a balanced parallel run keeps the wait its processes cause each other (%.2f of 30 ms)", q);

	/* the same run while a load made each process wait 30 ms more */
	r.wall_ms = 60;
	r.leader_queued_ms = 40;
	r.workers_queued_ms = 80;
	q = ndag_quiet_ms(&r);
	tap_ok(near(q, 30), "and loses only what the load added (%.2f of 60 ms)", q);

	/*
	 * four workers that barely started (1.4 ms in all): the leader did
	 * the work and its 18 ms of wait were the load's
	 */
	memset(&r, 0, sizeof(r));
	r.wall_ms = 79.4;
	r.leader_running_ms = 58.7;
	r.leader_queued_ms = 18.1;
	r.workers = 4;
	r.workers_running_ms = 1.4;
	r.workers_queued_ms = 2.0;
	r.longest_running_ms = 1.0;
	r.ncpu = 2;
	q = ndag_quiet_ms(&r);
	tap_ok(q < 62.1 && q >= 58.7, "a leader whose workers barely started loses its wait (%.2f of 79.4 ms)", q);

	/* never below the longest running time nor the work over the CPUs */
	r.leader_queued_ms = 1000;
	r.wall_ms = 1100;
	q = ndag_quiet_ms(&r);
	tap_ok(q >= 58.7, "nor below the leader's running time (%.2f ms)", q);

	return tap_done();
}
