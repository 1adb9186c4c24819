/*
 * TEMPORARY, removed when the paired comparison of the query memory lands:
 * weak stand-ins so that the library loads before it does.
 */
#include "postgres.h"

#include "planner/planner.h"

__attribute__((weak)) NdagArmVerdict
NdagQueryMemoryAddPair(Oid dbid, uint64 query_id, uint64 klass, int arm,
					   double default_ms, double arm_ms, bool arm_timed_out)
{
	return NDAG_VERDICT_OPEN;
}

__attribute__((weak)) NdagArmVerdict
NdagQueryMemoryVerdict(Oid dbid, uint64 query_id, uint64 klass, int arm)
{
	return NDAG_VERDICT_OPEN;
}

__attribute__((weak)) uint64
NdagQueryMemoryOpenArms(Oid dbid, uint64 query_id, uint64 klass,
						uint64 enabled)
{
	return enabled;
}
