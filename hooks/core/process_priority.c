/*-------------------------------------------------------------------------
 *
 * process_priority.c
 *	  The scheduling priority (nice value) of background learning work:
 *	  a shadow worker and the parallel workers of its runs yield the CPU
 *	  to users' statements.
 *
 * Shadow runs use CPUs the users leave idle, but on a small machine a
 * shadow run that is already under way when a user's statement starts
 * competes with it for a core: the user's statement can then run slower
 * than it would without the extension.  Raising the shadow processes'
 * nice value lets the kernel give the users' processes the CPU first
 * (at nice 10 a busy process gets about a tenth of a core that a process
 * at nice 0 also wants), while an idle core is still used in full.
 *
 * The value is carried by the hidden setting ruvector.dag_process_nice,
 * whose assign hook raises the calling process's nice value: a parallel
 * worker restores its leader's settings, so the workers of a shadow run
 * are lowered like the shadow worker itself.  A nice value is only ever
 * raised (an unprivileged process cannot lower it again), and never in
 * the postmaster.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <sys/resource.h>

#include "miscadmin.h"
#include "utils/guc.h"

#include "core/core.h"

/*
 * NdagProcessNiceAssign
 *		Assign hook of ruvector.dag_process_nice: raise this process's nice
 *		value to newval when it is lower (a failure leaves it as it is).
 */
void
NdagProcessNiceAssign(int newval, void *extra)
{
	int			current;

	if (!IsUnderPostmaster || newval <= 0)
		return;
	errno = 0;
	current = getpriority(PRIO_PROCESS, 0);
	if (errno != 0 || current >= newval)
		return;
	(void) setpriority(PRIO_PROCESS, 0, newval);
}

/*
 * NdagLowerOwnPriority
 *		Set ruvector.dag_process_nice to ruvector.dag_shadow_nice for this
 *		session: this process, and the parallel workers it launches, run at
 *		that nice value from now on.
 */
void
NdagLowerOwnPriority(void)
{
	char		value[16];

	if (ndag_shadow_nice <= 0)
		return;
	snprintf(value, sizeof(value), "%d", ndag_shadow_nice);
	SetConfigOption("ruvector.dag_process_nice", value, PGC_SUSET, PGC_S_SESSION);
}
