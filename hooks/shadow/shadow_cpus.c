/*-------------------------------------------------------------------------
 *
 * shadow_cpus.c
 *	  The CPUs this server's processes may use: the CPUs online, fewer when
 *	  the process's CPU affinity allows fewer (taskset, a cpuset) or when
 *	  its control group has a CPU quota (a container's CPU limit: cgroup v2
 *	  cpu.max, v1 cpu.cfs_quota_us over cpu.cfs_period_us, the smallest on
 *	  the way to the hierarchy's root, rounded up).
 *
 * Shadow exploration sizes itself by it: the default budget (a quarter of
 * these CPUs) and the oversubscription rule (a parallel plan that keeps
 * more processes busy than these CPUs).  A server in a container limited
 * to two CPUs of a 64-CPU host would otherwise give shadow runs sixteen.
 * The load average stays divided by the CPUs online (shadow_capacity.c):
 * the kernel counts it over the whole machine.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>
#include <sched.h>
#include <unistd.h>

#include "utils/timestamp.h"

#include "shadow/shadow.h"

/* the figure is read again after this long (ms): a limit may change */
#define CPUS_REFRESH_MS		10000

/* where the kernel's control group hierarchies are mounted */
#define CGROUP_ROOT			"/sys/fs/cgroup"

/*
 * read_line
 *		The first line of file path into buf (without its newline); false
 *		when it cannot be read.
 */
static bool
read_line(const char *path, char *buf, int size)
{
	FILE	   *f = fopen(path, "r");
	bool		ok;

	if (f == NULL)
		return false;
	ok = fgets(buf, size, f) != NULL;
	fclose(f);
	if (ok)
		buf[strcspn(buf, "\n")] = '\0';
	return ok;
}

/*
 * quota_cpus
 *		The CPUs a quota of quota_us per period_us gives, rounded up; 0 when
 *		there is no quota ("max", -1) or the figures make no sense.
 */
static int
quota_cpus(double quota_us, double period_us)
{
	if (!(quota_us > 0) || !(period_us > 0))
		return 0;
	return (int) Max(1.0, ceil(quota_us / period_us - 1e-9));
}

/*
 * group_quota_cpus
 *		The CPUs the quota of one control group directory gives (v2: dir
 *		/cpu.max; v1: dir/cpu.cfs_quota_us and cpu.cfs_period_us); 0 none.
 */
static int
group_quota_cpus(const char *dir, bool v2)
{
	char		path[MAXPGPATH];
	char		line[128];
	char		quota[64];
	double		period;

	if (v2)
	{
		snprintf(path, sizeof(path), "%s/cpu.max", dir);
		if (!read_line(path, line, sizeof(line)) ||
			sscanf(line, "%63s %lf", quota, &period) != 2 ||
			strcmp(quota, "max") == 0)
			return 0;
		return quota_cpus(strtod(quota, NULL), period);
	}
	snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
	if (!read_line(path, quota, sizeof(quota)))
		return 0;
	snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
	if (!read_line(path, line, sizeof(line)))
		return 0;
	return quota_cpus(strtod(quota, NULL), strtod(line, NULL));
}

/*
 * hierarchy_quota_cpus
 *		The smallest quota on the way from the process's group (path, as
 *		/proc/self/cgroup names it) up to the root of the hierarchy mounted
 *		at mount; 0 none.
 */
static int
hierarchy_quota_cpus(const char *mount, const char *path, bool v2)
{
	char		dir[MAXPGPATH];
	int			best = 0;

	snprintf(dir, sizeof(dir), "%s%s", mount, strcmp(path, "/") == 0 ? "" : path);
	for (;;)
	{
		int			cpus = group_quota_cpus(dir, v2);
		char	   *slash;

		if (cpus > 0 && (best == 0 || cpus < best))
			best = cpus;
		if (strlen(dir) <= strlen(mount))
			break;
		slash = strrchr(dir, '/');
		if (slash == NULL || slash < dir + strlen(mount))
			break;
		*slash = '\0';
	}
	return best;
}

/*
 * cgroup_quota_cpus
 *		The CPUs the process's control groups allow (v2, then v1's cpu
 *		controller); 0 when no quota is set or none can be read.
 */
static int
cgroup_quota_cpus(void)
{
	FILE	   *f = fopen("/proc/self/cgroup", "r");
	char		line[MAXPGPATH];
	int			best = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
	{
		char	   *controllers = strchr(line, ':');
		char	   *path = controllers != NULL ? strchr(controllers + 1, ':') : NULL;
		int			cpus = 0;

		if (path == NULL)
			continue;
		*path++ = '\0';
		controllers++;
		path[strcspn(path, "\n")] = '\0';
		if (*controllers == '\0')
		{
			/* v2: the unified hierarchy, alone or beside v1's */
			cpus = hierarchy_quota_cpus(CGROUP_ROOT, path, true);
			if (cpus == 0)
				cpus = hierarchy_quota_cpus(CGROUP_ROOT "/unified", path, true);
		}
		else if (strcmp(controllers, "cpu") == 0 ||
				 strcmp(controllers, "cpu,cpuacct") == 0 ||
				 strcmp(controllers, "cpuacct,cpu") == 0)
		{
			char		mount[MAXPGPATH];

			snprintf(mount, sizeof(mount), "%s/%s", CGROUP_ROOT, controllers);
			cpus = hierarchy_quota_cpus(mount, path, false);
		}
		if (cpus > 0 && (best == 0 || cpus < best))
			best = cpus;
	}
	fclose(f);
	return best;
}

/*
 * affinity_cpus
 *		The CPUs the process's affinity mask allows; 0 when unknown.
 */
static int
affinity_cpus(void)
{
#ifdef CPU_COUNT
	cpu_set_t	set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return CPU_COUNT(&set);
#endif
	return 0;
}

/*
 * NdagMachineCpus
 *		The machine's CPUs online, at least 1.
 */
int
NdagMachineCpus(void)
{
	return (int) Max(sysconf(_SC_NPROCESSORS_ONLN), 1);
}

/*
 * NdagShadowCpus
 *		The CPUs this server's processes may use, at least 1 (read again
 *		every CPUS_REFRESH_MS).
 */
int
NdagShadowCpus(void)
{
	static int	cpus = 0;
	static TimestampTz read_at = 0;
	TimestampTz now = GetCurrentTimestamp();

	if (cpus == 0 || TimestampDifferenceExceeds(read_at, now, CPUS_REFRESH_MS))
	{
		int			affinity = affinity_cpus();
		int			quota = cgroup_quota_cpus();

		cpus = NdagMachineCpus();
		if (affinity > 0)
			cpus = Min(cpus, affinity);
		if (quota > 0)
			cpus = Min(cpus, quota);
		read_at = now;
	}
	return cpus;
}
