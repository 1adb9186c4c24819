/*-------------------------------------------------------------------------
 *
 * planner_hook.c
 *	  The planner hook: statements that may be ours are planned through
 *	  the decision step (decision.c), every one timed so that a trajectory
 *	  can report its planning time.
 *
 * The planning time and the decision are kept per backend beside the
 * PlannedStmt they belong to, for the executor hooks (trajectories) and
 * EXPLAIN to find when that plan runs.  A cached plan that runs again was
 * not planned again: its planning time is 0, its decision is still known
 * while its entry was not reused by a newer plan.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "optimizer/planner.h"
#include "portability/instr_time.h"

#include "core/core.h"
#include "planner/planner.h"

/* plans whose planning time and decision are remembered (most recent last) */
#define PLANNED_STMTS	32

typedef struct PlannedInfo
{
	uint64		query_id;
	bool		time_taken;
	bool		decided;
	double		planning_us;
	int			rows_bucket;	/* of its parameter set, decided or not */
	NdagDecision decision;
} PlannedInfo;

/*
 * The plans, apart from what is kept of them, so that finding a plan (at
 * every execution) reads a few cache lines, not every entry's decision.
 * NULL: free; a plan may have been freed since.
 */
static const PlannedStmt *planned_stmts[PLANNED_STMTS];
static PlannedInfo planned[PLANNED_STMTS];
static int	planned_next = 0;
static int	planned_last = 0;	/* where the latest look-up found its plan */

static planner_hook_type prev_planner_hook = NULL;

/*
 * what is being planned: a statement, or for an EXPLAIN (ANALYZE), or for
 * a plain EXPLAIN (nothing is explored or counted)
 */
static int	planning_for = NDAG_PLANNING_STATEMENT;

/*
 * NdagSetPlanningFor
 *		Say what is planned next (NdagPlanningFor; the EXPLAIN hooks, around
 *		their planning); returns the previous value for the caller to put
 *		back.
 */
int
NdagSetPlanningFor(int what)
{
	int			previous = planning_for;

	planning_for = what;
	return previous;
}

/*
 * NdagPlanningExplain
 *		Whether this backend plans for an EXPLAIN, with or without ANALYZE.
 */
bool
NdagPlanningExplain(void)
{
	return planning_for != NDAG_PLANNING_STATEMENT;
}

/*
 * NdagPlanningPlainExplain
 *		Whether this backend plans for an EXPLAIN without ANALYZE: such a
 *		plan never runs, so it must not use an exploration turn.
 */
bool
NdagPlanningPlainExplain(void)
{
	return planning_for == NDAG_PLANNING_PLAIN_EXPLAIN;
}

/*
 * NdagPlanDefault
 *		Plan with the previous hook or the standard planner.
 */
PlannedStmt *
NdagPlanDefault(Query *parse, const char *query_string, int cursorOptions,
				ParamListInfo boundParams)
{
	if (prev_planner_hook)
		return prev_planner_hook(parse, query_string, cursorOptions,
								 boundParams);
	return standard_planner(parse, query_string, cursorOptions, boundParams);
}

/*
 * planned_find
 *		The index of stmt among the remembered plans, -1 when not there;
 *		the plan found last is looked at first (a statement's execution
 *		looks its plan up several times).
 */
static int
planned_find(const PlannedStmt *stmt)
{
	if (stmt == NULL)
		return -1;
	if (planned_stmts[planned_last] == stmt)
		return planned_last;
	for (int i = 0; i < PLANNED_STMTS; i++)
	{
		if (planned_stmts[i] == stmt)
		{
			planned_last = i;
			return i;
		}
	}
	return -1;
}

/*
 * remember
 *		Keep a plan's planning time and decision; an entry whose plan was
 *		freed since and whose address came back is overwritten.
 */
static void
remember(const PlannedStmt *stmt, double planning_us,
		 const NdagDecision *decision, int rows_bucket)
{
	PlannedInfo *info;
	int			i = planned_find(stmt);

	if (i >= 0)
		planned_stmts[i] = NULL;
	info = &planned[planned_next];
	planned_stmts[planned_next] = stmt;
	planned_last = planned_next;
	planned_next = (planned_next + 1) % PLANNED_STMTS;
	info->query_id = stmt->queryId;
	info->time_taken = false;
	info->planning_us = planning_us;
	info->decided = decision != NULL;
	info->rows_bucket = rows_bucket;
	if (decision != NULL)
		info->decision = *decision;
}

/*
 * ndag_planner
 *		Plan, deciding the arm of a statement that may be ours, and
 *		remember how long it took.  In a database without the extension
 *		every statement is planned as stock PostgreSQL plans it.
 */
static pg_attribute_hot PlannedStmt *
ndag_planner(Query *parse, const char *query_string, int cursorOptions,
			 ParamListInfo boundParams)
{
	PlannedStmt *result;
	NdagDecision decision;
	bool		decided = false;
	instr_time	start;
	instr_time	duration;

	if (!ndag_enabled || ndag_mode == NDAG_MODE_OFF || IsParallelWorker() ||
		parse->queryId == UINT64CONST(0) || parse->commandType == CMD_UTILITY ||
		!NdagShmemReady() || !NdagExtensionInstalled())
		return NdagPlanDefault(parse, query_string, cursorOptions, boundParams);

	INSTR_TIME_SET_CURRENT(start);
	result = NdagPlanAndDecide(parse, query_string, cursorOptions, boundParams,
							   &decision, &decided);
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	remember(result, INSTR_TIME_GET_DOUBLE(duration) * 1000000.0,
			 decided ? &decision : NULL, decision.rows_bucket);
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
	int			i = planned_find(stmt);

	if (i < 0 || planned[i].time_taken)
		return 0.0;
	planned[i].time_taken = true;
	return planned[i].planning_us;
}

/*
 * NdagPlanDecisionOf
 *		The decision this backend took when it planned stmt, valid until
 *		its next planning; NULL when it took none (not ours, observe mode)
 *		or no longer remembers it.  Readers that need only a field or two
 *		(at every execution) use it rather than a copy.
 */
const NdagDecision *
NdagPlanDecisionOf(const PlannedStmt *stmt)
{
	int			i = planned_find(stmt);

	return i >= 0 && planned[i].decided ? &planned[i].decision : NULL;
}

/*
 * NdagPlanDecision
 *		A copy of the decision this backend took when it planned stmt;
 *		false when it took none or no longer remembers it.
 */
bool
NdagPlanDecision(const PlannedStmt *stmt, NdagDecision *decision)
{
	const NdagDecision *d = NdagPlanDecisionOf(stmt);

	if (d == NULL)
		return false;
	*decision = *d;
	return true;
}

/*
 * NdagPlanDecisionKeep
 *		Replace the decision this backend remembers for stmt, and the
 *		Embedding Cache's of its class: a recording that embedded the plan of
 *		a decision taken without its embedding keeps it for the plan's next
 *		runs and the next plannings the cache serves.
 */
void
NdagPlanDecisionKeep(const PlannedStmt *stmt, const NdagDecision *decision)
{
	int			i = planned_find(stmt);

	if (i >= 0 && planned[i].decided)
		planned[i].decision = *decision;
	NdagCacheKeepEmbedding(stmt->queryId, decision);
}

/*
 * NdagPlanRowsBucket
 *		The rows bucket of the parameter set stmt was planned for (observe
 *		mode included), 0 when not measured or not remembered.
 */
int
NdagPlanRowsBucket(const PlannedStmt *stmt)
{
	int			i = planned_find(stmt);

	return i >= 0 ? planned[i].rows_bucket : 0;
}

/*
 * NdagPlanDecisionByShape
 *		The decision of an arm's plan of query_id whose shape is shape: a
 *		copy of a plan this backend decided (the plan cache copies the plans
 *		it keeps), found among the remembered plans (the latest first: an
 *		older one may be an exploration of the arm before it was proven) or
 *		in the Embedding Cache; false when none matches (then the plan is a
 *		default one).
 */
bool
NdagPlanDecisionByShape(uint64 query_id, uint64 shape, NdagDecision *decision)
{
	if (shape == 0)
		return false;
	for (int k = 1; k <= PLANNED_STMTS; k++)
	{
		int			i = (planned_next + PLANNED_STMTS - k) % PLANNED_STMTS;
		const PlannedInfo *info = &planned[i];

		if (planned_stmts[i] != NULL && info->decided &&
			info->query_id == query_id && info->decision.shape == shape)
		{
			*decision = info->decision;
			return true;
		}
	}
	return NdagCacheDecisionByShape(query_id, shape, decision);
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
