/*-------------------------------------------------------------------------
 *
 * bench_clock.c
 *	  The backend's own CPU time, for the overhead benchmarks: a tiny
 *	  module that bench/lib_bench.sh builds and creates the functions of in
 *	  a benchmark's throwaway cluster only (never installed):
 *
 *		bench_cpu_ns()			CPU time of the backend's thread (ns)
 *		bench_process_cpu_ns()	CPU time of the backend process (ns)
 *
 *	  Reading the CPU time before and after a block of statements in one
 *	  session gives what the statements cost the server, undisturbed by
 *	  the time other processes of a busy machine take the core away.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "fmgr.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(bench_cpu_ns);
PG_FUNCTION_INFO_V1(bench_process_cpu_ns);

/*
 * clock_ns
 *		A clock in nanoseconds; an error when the system has no such clock.
 */
static int64
clock_ns(clockid_t clock, const char *name)
{
	struct timespec ts;

	if (clock_gettime(clock, &ts) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("cannot read clock %s: %m", name),
				 errhint("The benchmarks need a Linux kernel with per-thread CPU clocks.")));
	return (int64) ts.tv_sec * INT64CONST(1000000000) + ts.tv_nsec;
}

/*
 * bench_cpu_ns
 *		CPU time the calling backend's thread has used, in nanoseconds.
 */
Datum
bench_cpu_ns(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(clock_ns(CLOCK_THREAD_CPUTIME_ID, "CLOCK_THREAD_CPUTIME_ID"));
}

/*
 * bench_process_cpu_ns
 *		CPU time the calling backend process has used, in nanoseconds.
 */
Datum
bench_process_cpu_ns(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(clock_ns(CLOCK_PROCESS_CPUTIME_ID, "CLOCK_PROCESS_CPUTIME_ID"));
}
