/*-------------------------------------------------------------------------
 *
 * compat_explain.h
 *	  EXPLAIN's interfaces across PostgreSQL versions.
 *
 * PostgreSQL 18 moved ExplainState to commands/explain_state.h and the
 * ExplainProperty and group functions to commands/explain_format.h;
 * ExplainOnePlan takes the planner's memory counters from 17
 * (NdagExplainOnePlan passes none: EXPLAIN (MEMORY) then shows no planning
 * memory for a statement that gets our section).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_COMPAT_EXPLAIN_H
#define NDAG_COMPAT_EXPLAIN_H

#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif

#if PG_VERSION_NUM >= 170000
#define NdagExplainOnePlan(plan, into, es, text, params, env, duration, bufusage) \
	ExplainOnePlan((plan), (into), (es), (text), (params), (env), \
				   (duration), (bufusage), NULL)
#else
#define NdagExplainOnePlan(plan, into, es, text, params, env, duration, bufusage) \
	ExplainOnePlan((plan), (into), (es), (text), (params), (env), \
				   (duration), (bufusage))
#endif

#endif							/* NDAG_COMPAT_EXPLAIN_H */
