/*-------------------------------------------------------------------------
 *
 * quiet_time.h
 *	  The time a run would have taken on a quiet machine, from what the
 *	  kernel says its processes did (running time and run-queue wait of
 *	  the leader and of its parallel workers): how a shadow pair takes
 *	  other processes' load out of its runs (hooks/shadow/shadow_cpu_waits.c
 *	  reads the figures, this computes).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_QUIET_TIME_H
#define NDAG_QUIET_TIME_H

#include "engine.h"

/* What one run's processes did, ms (the workers' figures summed). */
typedef struct NdagRunReadings
{
	double		wall_ms;
	double		leader_running_ms;
	double		leader_queued_ms;	/* run-queue wait while it could run */
	int			workers;		/* parallel workers launched */
	double		workers_running_ms;
	double		workers_queued_ms;
	double		longest_running_ms; /* of one process, the leader included */
	int			ncpu;			/* CPUs of the machine */
} NdagRunReadings;

/* The run's time on a quiet machine, ms (quiet_time.c says how). */
extern double ndag_quiet_ms(const NdagRunReadings *r);

#endif							/* NDAG_QUIET_TIME_H */
