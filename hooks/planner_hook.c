/*-------------------------------------------------------------------------
 *
 * planner_hook.c
 *	  The planner hook: measures planning time so that a trajectory can
 *	  report it.  Plans are not changed yet; the rewriting issue adds the
 *	  decision step here.
 *
 * The time is kept per backend beside the PlannedStmt it produced, for the
 * executor hooks to take when that plan runs.  A cached plan that runs
 * again was not planned again: its planning time is 0.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "optimizer/planner.h"
#include "portability/instr_time.h"

#include "hooks.h"

/* plans whose planning time was not taken yet (most recent last) */
#define PLANNING_TIMES	16

typedef struct PlanningTime
{
	const PlannedStmt *stmt;
	double		planning_us;
} PlanningTime;

static PlanningTime planning_times[PLANNING_TIMES];
static int	planning_next = 0;

static planner_hook_type prev_planner_hook = NULL;

/*
 * ndag_planner
 *		Plan with the previous hook or the standard planner and remember
 *		how long it took.
 */
static PlannedStmt *
ndag_planner(Query *parse, const char *query_string, int cursorOptions,
			 ParamListInfo boundParams)
{
	PlannedStmt *result;
	instr_time	start;
	instr_time	duration;
	bool		timed;

	timed = ndag_enabled && ndag_mode != NDAG_MODE_OFF && !IsParallelWorker() &&
		parse->queryId != UINT64CONST(0);
	if (timed)
		INSTR_TIME_SET_CURRENT(start);

	if (prev_planner_hook)
		result = prev_planner_hook(parse, query_string, cursorOptions,
								   boundParams);
	else
		result = standard_planner(parse, query_string, cursorOptions,
								  boundParams);

	if (timed)
	{
		INSTR_TIME_SET_CURRENT(duration);
		INSTR_TIME_SUBTRACT(duration, start);
		/* a plan freed since may have left its address behind */
		for (int i = 0; i < PLANNING_TIMES; i++)
		{
			if (planning_times[i].stmt == result)
				planning_times[i].stmt = NULL;
		}
		planning_times[planning_next].stmt = result;
		planning_times[planning_next].planning_us =
			INSTR_TIME_GET_DOUBLE(duration) * 1000000.0;
		planning_next = (planning_next + 1) % PLANNING_TIMES;
	}
	return result;
}

/*
 * NdagTakePlanningTime
 *		The planning time of stmt in microseconds, once; 0 if this backend
 *		did not just plan it (a cached plan, or one planned long ago).
 */
double
NdagTakePlanningTime(const PlannedStmt *stmt)
{
	for (int i = 0; i < PLANNING_TIMES; i++)
	{
		if (planning_times[i].stmt == stmt)
		{
			planning_times[i].stmt = NULL;
			return planning_times[i].planning_us;
		}
	}
	return 0.0;
}

/*
 * NdagInstallPlannerHook
 *		Chain the planner hook (from _PG_init).
 */
void
NdagInstallPlannerHook(void)
{
	prev_planner_hook = planner_hook;
	planner_hook = ndag_planner;
}
