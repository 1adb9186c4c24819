/*-------------------------------------------------------------------------
 *
 * compat_planner.h
 *	  How a plan shows a node the planner could not avoid across
 *	  PostgreSQL versions.
 *
 * Up to 17 a node an enable_* setting forbids is costed at disable_cost
 * or more; from 18 it keeps its real cost and counts in the plan's
 * disabled_nodes instead.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_COMPAT_PLANNER_H
#define NDAG_COMPAT_PLANNER_H

#include "nodes/plannodes.h"
#include "optimizer/cost.h"

#if PG_VERSION_NUM >= 180000
#define NdagPlanNodeDisabled(plan) ((plan)->disabled_nodes > 0)
#else
#define NdagPlanNodeDisabled(plan) \
	((plan)->startup_cost >= disable_cost || (plan)->total_cost >= disable_cost)
#endif

#endif							/* NDAG_COMPAT_PLANNER_H */
