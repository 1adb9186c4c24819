/*-------------------------------------------------------------------------
 *
 * shadow_capacity.c
 *	  How much of the machine shadow runs may take now: the CPUs of
 *	  ruvector.dag_shadow_budget (-1: a quarter of those the server may use,
 *	  at least one) while the 1-minute load average per CPU online, not
 *	  counting the shadow runs' own processes, is at most
 *	  ruvector.dag_shadow_max_load, fewer in proportion above it, never
 *	  fewer than ruvector.dag_shadow_min_share.
 *
 * The shadow runs' own share is followed the way the kernel follows the
 * load: an exponential average over a minute of the processes they kept
 * running (the worker and the parallel workers its plans launched while
 * it was busy, none while it slept or no worker ran).  Without it a shadow
 * run of a parallel plan would count itself as load and slow itself down.
 *
 * The account is charged with the CPU time the runs took (the worker's
 * own, read from the kernel), not their wall-clock time: a shadow run at
 * its nice value on a busy machine waits for the CPU most of its time, and
 * charging that wait would shrink the budget a second time, on top of the
 * load's own shrinking.  That wait itself is what shadow pairs take out of
 * their runs' times (shadow_cpu_waits.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include "utils/timestamp.h"

#include "core/core.h"
#include "shadow/shadow.h"

/* the time constant of the 1-minute load average, seconds */
#define LOAD_AVERAGE_SECONDS	60.0

/*
 * decay
 *		The weight the average keeps over the time since own->at.
 */
static double
decay(const NdagShadowLoad *own, TimestampTz now)
{
	if (own->at == 0)
		return 0.0;
	if (now <= own->at)
		return 1.0;
	return exp(-(double) (now - own->at) / (LOAD_AVERAGE_SECONDS * USECS_PER_SEC));
}

/*
 * NdagShadowOwnLoadNow
 *		The shadow runs' own share of the load average now (the processes
 *		they kept running, averaged over a minute as the kernel does).
 */
double
NdagShadowOwnLoadNow(void)
{
	NdagShadowLoad *own = NdagShadowOwnLoad();

	if (own == NULL)
		return 0.0;
	return own->processes * decay(own, GetCurrentTimestamp());
}

/*
 * NdagShadowAccountLoad
 *		Bring the shadow runs' own share of the load up to date: since the
 *		last call they kept `processes` processes running on average.
 *		Called by the shadow worker only (one runs at a time).
 */
void
NdagShadowAccountLoad(double processes)
{
	NdagShadowLoad *own = NdagShadowOwnLoad();
	TimestampTz now = GetCurrentTimestamp();
	double		keep;

	if (own == NULL)
		return;
	keep = decay(own, now);
	own->processes = own->processes * keep + Max(processes, 0.0) * (1.0 - keep);
	own->at = now;
}

/*
 * NdagShadowProcessCpuMs
 *		The CPU time this process has taken so far (user and system), ms;
 *		0 when the kernel does not say.
 */
double
NdagShadowProcessCpuMs(void)
{
	struct rusage usage;

	if (getrusage(RUSAGE_SELF, &usage) != 0)
		return 0;
	return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * 1000.0 +
		(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1000.0;
}

/*
 * configured_cpus
 *		ruvector.dag_shadow_budget in CPUs: -1 is a quarter of the
 *		CPUs the server may use (shadow_cpus.c), at least one.
 */
static double
configured_cpus(long ncpu)
{
	if (ndag_shadow_budget < 0)
		return Max(1.0, (double) ncpu / 4.0);
	return ndag_shadow_budget;
}

/*
 * NdagShadowBudget
 *		The CPUs shadow runs may keep busy now (the worker and its parallel
 *		workers): the configured budget, times ruvector.dag_shadow_max_load
 *		over the load average per CPU (without the shadow runs' own share)
 *		when that is higher, so that a busy machine slows shadow runs down,
 *		but never below ruvector.dag_shadow_min_share (nor above the
 *		configured budget), so that a sustained load does not stop learning
 *		(a system that reports no load average counts as idle).  0 stops
 *		them.
 */
double
NdagShadowBudget(void)
{
	double		load[1];
	int			ncpu = NdagMachineCpus();
	double		cpus = configured_cpus(NdagShadowCpus());
	double		floor_cpus = Min(cpus, ndag_shadow_min_share);
	double		per_cpu;

	if (!(cpus > 0))
		return 0;
	if (getloadavg(load, 1) < 1)
		return cpus;
	per_cpu = Max(load[0] - NdagShadowOwnLoadNow(), 0.0) / (double) ncpu;
	if (per_cpu <= ndag_shadow_max_load)
		return cpus;
	return Max(floor_cpus, cpus * ndag_shadow_max_load / per_cpu);
}

/*
 * capacity_at
 *		The most the account holds under a budget of `budget` CPUs, in ms
 *		of CPU.
 */
static double
capacity_at(double budget)
{
	return budget * NDAG_SHADOW_ACCOUNT_S * 1000.0;
}

/*
 * NdagShadowAccountCapacityMs
 *		The most the account holds: NDAG_SHADOW_ACCOUNT_S seconds of the
 *		budget of the moment, in ms of CPU.  A statement whose default run
 *		is longer is deferred while others wait (NdagShadowTake).
 */
double
NdagShadowAccountCapacityMs(void)
{
	return capacity_at(NdagShadowBudget());
}

/*
 * balance_now
 *		What the account holds at `now`, refilled at `budget` CPUs since it
 *		was last refilled, within capacity_ms (a new account is full).
 *		Caller holds the account's mutex.
 */
static double
balance_now(const NdagShadowAccount *account, TimestampTz now, double budget,
			double capacity_ms)
{
	double		elapsed_ms;

	if (account->at == 0)
		return capacity_ms;
	elapsed_ms = now > account->at ? (double) (now - account->at) / 1000.0 : 0.0;
	return Min(capacity_ms, account->balance_ms + budget * elapsed_ms);
}

/*
 * NdagShadowAccountAvailableMs
 *		What the account of shadow time holds now, in ms of CPU (below 0
 *		while a round's spending is being paid back).
 */
double
NdagShadowAccountAvailableMs(void)
{
	NdagShadowAccount *account = NdagShadowOwnAccount();
	double		budget = NdagShadowBudget();
	double		capacity_ms = capacity_at(budget);
	TimestampTz now = GetCurrentTimestamp();
	double		balance;

	if (account == NULL)
		return 0;
	SpinLockAcquire(&account->mutex);
	balance = balance_now(account, now, budget, capacity_ms);
	SpinLockRelease(&account->mutex);
	return balance;
}

/*
 * NdagShadowAccountSpend
 *		Refill the account up to now, then debit it with cpu_ms (the CPU
 *		time a round took: the worker's own and its parallel workers'),
 *		counted in shadow_cpu_ms.
 */
void
NdagShadowAccountSpend(double cpu_ms)
{
	NdagShadowAccount *account = NdagShadowOwnAccount();
	double		budget = NdagShadowBudget();
	double		capacity_ms = capacity_at(budget);
	TimestampTz now = GetCurrentTimestamp();

	if (account == NULL)
		return;
	SpinLockAcquire(&account->mutex);
	account->balance_ms = balance_now(account, now, budget, capacity_ms) -
		Max(cpu_ms, 0.0);
	account->at = now;
	SpinLockRelease(&account->mutex);
	NdagShadowCount(NDAG_SHADOW_CPU_MS, (uint64) rint(Max(cpu_ms, 0.0)));
}
