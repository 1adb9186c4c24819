/*-------------------------------------------------------------------------
 *
 * shadow_capacity.c
 *	  How much of the machine shadow runs may take now:
 *	  ruvector.dag_shadow_budget while the 1-minute load average per CPU is
 *	  at most ruvector.dag_shadow_max_load, less in proportion above it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <stdlib.h>
#include <unistd.h>

#include "core/core.h"
#include "shadow/shadow.h"

/*
 * NdagShadowBudget
 *		The fraction of one CPU shadow runs may keep busy now:
 *		ruvector.dag_shadow_budget, times ruvector.dag_shadow_max_load over
 *		the load average per CPU when that is higher, so that a busy
 *		machine slows shadow runs down without stopping learning (a system
 *		that reports no load average counts as idle).  0 stops them.
 */
double
NdagShadowBudget(void)
{
	double		load[1];
	long		ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double		per_cpu;

	if (ndag_shadow_budget <= 0 || getloadavg(load, 1) < 1)
		return Max(ndag_shadow_budget, 0);
	per_cpu = load[0] / (double) Max(ncpu, 1);
	if (per_cpu <= ndag_shadow_max_load)
		return ndag_shadow_budget;
	return ndag_shadow_budget * ndag_shadow_max_load / per_cpu;
}
