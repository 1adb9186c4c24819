/*-------------------------------------------------------------------------
 *
 * compat_explain.h
 *	  EXPLAIN's interfaces across PostgreSQL versions.
 *
 * PostgreSQL 18 moved ExplainState to commands/explain_state.h and the
 * ExplainProperty and group functions to commands/explain_format.h, and
 * lets an extension add EXPLAIN options (RegisterExtensionExplainOption)
 * and print after each plan (explain_per_plan_hook): with
 * NDAG_EXPLAIN_EXTENSIONS the section comes through those
 * (explain_option.c); before 18 the ExplainOneQuery hook plans and explains
 * the query itself and appends the section (explain_driver.c).
 * ExplainOnePlan takes the planner's memory counters from 17 (the MEMORY
 * option), which NdagPlannerMemoryStart/Stop measure as core's
 * standard_ExplainOneQuery does.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_COMPAT_EXPLAIN_H
#define NDAG_COMPAT_EXPLAIN_H

#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#define NDAG_EXPLAIN_EXTENSIONS 1
#else
#define NDAG_EXPLAIN_EXTENSIONS 0
#endif

#include "utils/memutils.h"

/* the memory the planner used, for EXPLAIN (MEMORY) */
typedef struct NdagPlannerMemory
{
	MemoryContext planner_cxt;	/* NULL: not measured */
	MemoryContext saved_cxt;
#if PG_VERSION_NUM >= 170000
	MemoryContextCounters counters;
#endif
} NdagPlannerMemory;

#if PG_VERSION_NUM >= 170000
/*
 * NdagPlannerMemoryStart
 *		With MEMORY, plan in a context of its own from here on.
 */
static inline void
NdagPlannerMemoryStart(ExplainState *es, NdagPlannerMemory *mem)
{
	mem->planner_cxt = NULL;
	if (!es->memory)
		return;
	mem->planner_cxt = AllocSetContextCreate(CurrentMemoryContext,
											 "explain analyze planner context",
											 ALLOCSET_DEFAULT_SIZES);
	mem->saved_cxt = MemoryContextSwitchTo(mem->planner_cxt);
}

/*
 * NdagPlannerMemoryStop
 *		Back to the previous context, and count what planning used.
 */
static inline void
NdagPlannerMemoryStop(NdagPlannerMemory *mem)
{
	if (mem->planner_cxt == NULL)
		return;
	MemoryContextSwitchTo(mem->saved_cxt);
	MemoryContextMemConsumed(mem->planner_cxt, &mem->counters);
}

#define NdagExplainOnePlan(plan, into, es, text, params, env, duration, bufusage, mem) \
	ExplainOnePlan((plan), (into), (es), (text), (params), (env), \
				   (duration), (bufusage), \
				   (mem)->planner_cxt != NULL ? &(mem)->counters : NULL)
#else
#define NdagPlannerMemoryStart(es, mem) ((void) ((mem)->planner_cxt = NULL))
#define NdagPlannerMemoryStop(mem) ((void) (mem))
#define NdagExplainOnePlan(plan, into, es, text, params, env, duration, bufusage, mem) \
	ExplainOnePlan((plan), (into), (es), (text), (params), (env), \
				   (duration), (bufusage))
#endif

#endif							/* NDAG_COMPAT_EXPLAIN_H */
