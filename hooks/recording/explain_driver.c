/*-------------------------------------------------------------------------
 *
 * explain_driver.c
 *	  Before PostgreSQL 18: EXPLAIN of a statement on an enabled table ends
 *	  with the "Neural DAG" section (explain_section.c).
 *
 * Those versions let an extension add nothing to EXPLAIN's output, so the
 * ExplainOneQuery hook plans and explains the query as PostgreSQL's
 * ExplainOneQuery does, then appends the section, reopening the
 * statement's group so that the section is a member of its object.  With
 * ANALYZE the figures are those of the execution just recorded.  Another
 * ExplainOneQuery hook installed before ours keeps control and no section
 * is added.  From 18, explain_option.c does this through PostgreSQL's own
 * interfaces and this file compiles to nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "compat/compat_explain.h"

#if !NDAG_EXPLAIN_EXTENSIONS

#include "executor/instrument.h"
#include "miscadmin.h"
#include "optimizer/planner.h"
#include "portability/instr_time.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"

#include "core/core.h"
#include "planner/planner.h"
#include "recording/recording.h"

static ExplainOneQuery_hook_type prev_ExplainOneQuery = NULL;

/*
 * reopen_query_group
 *		Undo the close of the statement's "Query" group that ExplainOnePlan
 *		ended with, so that the section becomes a member of the statement's
 *		object (JSON, YAML) or element (XML) instead of one of its own.  As
 *		PostgreSQL 15's ExplainCloseGroup wrote it: JSON a newline, the
 *		indentation and "}", YAML nothing, XML the indentation and
 *		"</Query>" and a newline.  false, with nothing changed, when the
 *		output does not end that way.
 */
static bool
reopen_query_group(ExplainState *es)
{
	StringInfo	str = es->str;
	int			n;

	switch (es->format)
	{
		case EXPLAIN_FORMAT_JSON:
			n = 1 + 2 * es->indent + 1;
			if (str->len < n || str->data[str->len - n] != '\n' ||
				str->data[str->len - 1] != '}')
				return false;
			break;
		case EXPLAIN_FORMAT_XML:
			n = 2 * es->indent + strlen("</Query>\n");
			if (str->len < n ||
				strcmp(str->data + str->len - strlen("</Query>\n"), "</Query>\n") != 0)
				return false;
			break;
		case EXPLAIN_FORMAT_YAML:
			n = 0;
			break;
		default:
			return false;
	}
	str->len -= n;
	str->data[str->len] = '\0';
	/* the group has members: the next one is preceded by a separator */
	if (es->format != EXPLAIN_FORMAT_XML)
		es->grouping_stack = lcons_int(1, es->grouping_stack);
	es->indent++;
	return true;
}

/*
 * explain_section
 *		Print the section: in text format after the statement's output; in
 *		the structured formats an object inside the statement's own (beside
 *		"Plan"), or after it when its output cannot be reopened.
 */
static void
explain_section(ExplainState *es, const NdagExplainFigures *fig)
{
	bool		inside = false;

	if (es->format != EXPLAIN_FORMAT_TEXT)
	{
		inside = reopen_query_group(es);
		/* else JSON and YAML: an element of the top-level list */
		if (!inside && es->format != EXPLAIN_FORMAT_XML)
			ExplainOpenGroup("Neural DAG", NULL, true, es);
	}
	NdagExplainOpenSection(es);
	NdagExplainProperties(es, fig);
	NdagExplainCloseSection(es);
	if (es->format != EXPLAIN_FORMAT_TEXT)
	{
		if (inside)
			ExplainCloseGroup("Query", NULL, true, es);
		else if (es->format != EXPLAIN_FORMAT_XML)
			ExplainCloseGroup("Neural DAG", NULL, true, es);
	}
}

/*
 * plan_for_explain
 *		pg_plan_query for EXPLAIN; without ANALYZE the plan will not run,
 *		so its planning uses no exploration turn (decision.c).
 */
static PlannedStmt *
plan_for_explain(Query *query, const char *queryString, int cursorOptions,
				 ParamListInfo params, bool plain)
{
	PlannedStmt *volatile plan = NULL;
	int			previous = NdagSetPlanningFor(plain ? NDAG_PLANNING_PLAIN_EXPLAIN :
												  NDAG_PLANNING_EXPLAIN_ANALYZE);

	PG_TRY();
	{
		plan = pg_plan_query(query, queryString, cursorOptions, params);
	}
	PG_FINALLY();
	{
		NdagSetPlanningFor(previous);
	}
	PG_END_TRY();
	return plan;
}

/*
 * ndag_ExplainOneQuery
 *		Plan and explain as PostgreSQL does, then add our section for a
 *		statement on an enabled table.
 */
static void
ndag_ExplainOneQuery(Query *query, int cursorOptions, IntoClause *into,
					 ExplainState *es, const char *queryString,
					 ParamListInfo params, QueryEnvironment *queryEnv)
{
	PlannedStmt *plan;
	instr_time	planstart;
	instr_time	planduration;
	BufferUsage bufusage_start;
	BufferUsage bufusage;
	NdagPlannerMemory planner_memory;
	NdagExplainFigures *fig;

	if (prev_ExplainOneQuery)
	{
		prev_ExplainOneQuery(query, cursorOptions, into, es, queryString,
							 params, queryEnv);
		return;
	}

	NdagPlannerMemoryStart(es, &planner_memory);
	if (es->buffers)
		bufusage_start = pgBufferUsage;
	INSTR_TIME_SET_CURRENT(planstart);
	plan = plan_for_explain(query, queryString, cursorOptions, params,
							!es->analyze);
	INSTR_TIME_SET_CURRENT(planduration);
	INSTR_TIME_SUBTRACT(planduration, planstart);
	NdagPlannerMemoryStop(&planner_memory);
	if (es->buffers)
	{
		memset(&bufusage, 0, sizeof(BufferUsage));
		BufferUsageAccumDiff(&bufusage, &pgBufferUsage, &bufusage_start);
	}

	NdagExplainOnePlan(plan, into, es, queryString, params, queryEnv,
					   &planduration, (es->buffers ? &bufusage : NULL),
					   &planner_memory);

	fig = NdagExplainDescribe(plan, es, false, true);
	if (fig != NULL)
		explain_section(es, fig);
}

/*
 * NdagInstallExplainHook
 *		Chain the ExplainOneQuery hook (from _PG_init).
 */
void
NdagInstallExplainHook(void)
{
	prev_ExplainOneQuery = ExplainOneQuery_hook;
	ExplainOneQuery_hook = ndag_ExplainOneQuery;
}

#endif							/* !NDAG_EXPLAIN_EXTENSIONS */
