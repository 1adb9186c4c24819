/*-------------------------------------------------------------------------
 *
 * explain_option.c
 *	  From PostgreSQL 18: the "Neural DAG" section of EXPLAIN through
 *	  PostgreSQL's own interfaces, and the EXPLAIN (NEURAL_DAG) option.
 *
 * The section is printed by explain_per_plan_hook, inside the statement's
 * group after the plan (in JSON, YAML and XML a member of the statement's
 * object, beside "Plan"), as contrib's pg_overexplain prints its own.
 * That hook runs before ExecutorEnd, where an execution is recorded; with
 * ANALYZE the section therefore shows the recording under way, computed
 * from the same decision, plan state and timer as ExecutorEnd records it
 * (trajectory.c), and it comes before EXPLAIN's "Execution Time".
 *
 * Without the option the section is shown where PostgreSQL 15 shows it:
 * for a statement on an enabled table explained from its query (not for
 * EXPLAIN EXECUTE of a prepared statement).  NEURAL_DAG (or NEURAL_DAG
 * true) shows it for any statement the extension can describe, also on
 * tables not enabled and for EXPLAIN EXECUTE; NEURAL_DAG false never.
 * The option only changes what EXPLAIN prints: planning and recording are
 * the same either way.
 *
 * The ExplainOneQuery hook stays, only to tell the planner hook that a
 * plan of EXPLAIN without ANALYZE never runs (and so must not use an
 * exploration turn) and to mark the ExplainState as explaining a query;
 * the planning and explaining are PostgreSQL's (or another module's).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "compat/compat_explain.h"

#if NDAG_EXPLAIN_EXTENSIONS

#include "commands/defrem.h"
#include "parser/parse_node.h"
#include "utils/builtins.h"
#include "utils/memutils.h"

#include "planner/planner.h"
#include "recording/recording.h"

/* what this module keeps in an ExplainState */
typedef struct ExplainOptions
{
	bool		option_given;	/* NEURAL_DAG was given */
	bool		show;			/* its value */
	bool		of_query;		/* EXPLAIN of a query (not EXPLAIN EXECUTE) */
} ExplainOptions;

static int	explain_extension_id = -1;

static ExplainOneQuery_hook_type prev_ExplainOneQuery = NULL;
static explain_per_plan_hook_type prev_explain_per_plan_hook = NULL;

/*
 * explain_options
 *		This module's state in es, created on first use.
 */
static ExplainOptions *
explain_options(ExplainState *es)
{
	ExplainOptions *options;

	options = GetExplainExtensionState(es, explain_extension_id);
	if (options == NULL)
	{
		options = MemoryContextAllocZero(GetMemoryChunkContext(es),
										 sizeof(ExplainOptions));
		SetExplainExtensionState(es, explain_extension_id, options);
	}
	return options;
}

/*
 * neural_dag_option
 *		EXPLAIN (NEURAL_DAG [boolean]): show the section or not.
 */
static void
neural_dag_option(ExplainState *es, DefElem *opt, ParseState *pstate)
{
	ExplainOptions *options = explain_options(es);
	bool		value = true;

	if (opt->arg != NULL && !parse_bool(defGetString(opt), &value))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("EXPLAIN option %s requires a Boolean value",
						"NEURAL_DAG"),
				 errhint("Write NEURAL_DAG, NEURAL_DAG true or NEURAL_DAG false."),
				 parser_errposition(pstate, opt->location)));
	options->option_given = true;
	options->show = value;
}

/*
 * section_wanted
 *		Whether the section is printed for this EXPLAIN, and whether for
 *		any statement (the option) or only one on an enabled table.
 */
static bool
section_wanted(ExplainState *es, bool *any_statement)
{
	ExplainOptions *options = GetExplainExtensionState(es, explain_extension_id);

	*any_statement = false;
	if (options == NULL)
		return false;
	if (options->option_given)
	{
		*any_statement = options->show;
		return options->show;
	}
	return options->of_query;
}

/*
 * ndag_explain_per_plan
 *		After a plan's output, inside its statement's group: the section.
 */
static void
ndag_explain_per_plan(PlannedStmt *plannedstmt, IntoClause *into,
					  ExplainState *es, const char *queryString,
					  ParamListInfo params, QueryEnvironment *queryEnv)
{
	NdagExplainFigures *fig;
	bool		any_statement;

	if (prev_explain_per_plan_hook)
		prev_explain_per_plan_hook(plannedstmt, into, es, queryString,
								   params, queryEnv);
	if (!section_wanted(es, &any_statement))
		return;
	fig = NdagExplainDescribe(plannedstmt, es, any_statement, false);
	if (fig == NULL)
		return;
	NdagExplainOpenSection(es);
	NdagExplainProperties(es, fig);
	NdagExplainCloseSection(es);
}

/*
 * ndag_ExplainOneQuery
 *		Mark es as explaining a query, and plan and explain it as PostgreSQL
 *		(or the hook installed before ours) does, saying to the planner hook
 *		whether the plan will run.
 */
static void
ndag_ExplainOneQuery(Query *query, int cursorOptions, IntoClause *into,
					 ExplainState *es, const char *queryString,
					 ParamListInfo params, QueryEnvironment *queryEnv)
{
	int			previous;

	explain_options(es)->of_query = true;
	previous = NdagSetPlanningFor(es->analyze ? NDAG_PLANNING_EXPLAIN_ANALYZE :
								  NDAG_PLANNING_PLAIN_EXPLAIN);
	PG_TRY();
	{
		if (prev_ExplainOneQuery)
			prev_ExplainOneQuery(query, cursorOptions, into, es, queryString,
								 params, queryEnv);
		else
			standard_ExplainOneQuery(query, cursorOptions, into, es,
									 queryString, params, queryEnv);
	}
	PG_FINALLY();
	{
		NdagSetPlanningFor(previous);
	}
	PG_END_TRY();
}

/*
 * NdagInstallExplainHook
 *		Register the NEURAL_DAG option and chain the EXPLAIN hooks (from
 *		_PG_init).
 */
void
NdagInstallExplainHook(void)
{
	explain_extension_id = GetExplainExtensionId("neural_dag");
	RegisterExtensionExplainOption("neural_dag", neural_dag_option);
	prev_ExplainOneQuery = ExplainOneQuery_hook;
	ExplainOneQuery_hook = ndag_ExplainOneQuery;
	prev_explain_per_plan_hook = explain_per_plan_hook;
	explain_per_plan_hook = ndag_explain_per_plan;
}

#endif							/* NDAG_EXPLAIN_EXTENSIONS */
