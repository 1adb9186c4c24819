/*-------------------------------------------------------------------------
 *
 * shadow_capacity.c
 *	  Whether the machine has capacity to spare for shadow runs: the
 *	  1-minute load average per CPU at most ruvector.dag_shadow_max_load.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdlib.h>
#include <unistd.h>

#include "core/core.h"
#include "shadow/shadow.h"

/*
 * NdagShadowSpareCapacity
 *		Whether shadow runs may go on now: the load average per CPU is at
 *		most ruvector.dag_shadow_max_load (a system that reports no load
 *		average counts as idle).
 */
bool
NdagShadowSpareCapacity(void)
{
	double		load[1];
	long		ncpu = sysconf(_SC_NPROCESSORS_ONLN);

	if (getloadavg(load, 1) < 1)
		return true;
	return load[0] / (double) Max(ncpu, 1) <= ndag_shadow_max_load;
}
