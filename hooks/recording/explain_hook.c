/*-------------------------------------------------------------------------
 *
 * explain_hook.c
 *	  EXPLAIN of a statement on an enabled table shows a "Neural DAG"
 *	  section after the plan: the mode, the attention mechanism and the
 *	  plan embedding's size, the decision taken (in observe mode, what
 *	  apply mode would decide).
 *
 * The hook plans and explains the query as PostgreSQL's ExplainOneQuery
 * does, then adds the section.  With ANALYZE the figures are those of the
 * execution just recorded; otherwise they come from the plan alone.
 * A database without the extension gets no section.  Statements recorded
 * only because of ruvector.dag_all_tables get no section, so that a regression run over every table sees unchanged
 * EXPLAIN output; another ExplainOneQuery hook installed before ours keeps
 * control and no section is added.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "executor/instrument.h"
#include "miscadmin.h"
#include "optimizer/planner.h"
#include "portability/instr_time.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"

#include "embedding.h"
#include "engine.h"
#include "compat/compat_explain.h"
#include "core/core.h"
#include "plandag/plandag.h"
#include "planner/planner.h"
#include "recording/recording.h"
#include "store.h"

static ExplainOneQuery_hook_type prev_ExplainOneQuery = NULL;

static const char *const mode_names[] = {"off", "observe", "learn", "apply"};

typedef struct ExplainFigures
{
	int			mechanism;
	int			n_nodes;
	double		embedding_norm;
	bool		recorded;		/* the figures are those of a recording */
	bool		decided;		/* the planner hook decided this plan */
	NdagDecision decision;
	bool		advised;		/* observe mode: what apply mode would decide */
	NdagDecision advice;
	double		exec_ms;		/* recorded execution, NaN: none */
} ExplainFigures;

/*
 * plan_figures
 *		Mechanism, node count and embedding norm of a plan that was not
 *		executed (or not recorded).
 */
static void
plan_figures(PlannedStmt *plan, ExplainFigures *fig)
{
	NdagPlanDag *pd = NdagPlanDagBuild(plan, NULL);
	float		embedding[NDAG_EMBED_DIM];
	double	   *weights;
	double		sum = 0;
	int			rc;

	fig->mechanism = NdagChooseMechanism(pd->dag, -1, false);
	weights = NdagComputeScores(pd->dag, fig->mechanism);
	rc = ndag_embed(pd->dag, weights, embedding);
	NdagEngineCheck(rc, "embedding the plan");
	for (int i = 0; i < NDAG_EMBED_DIM; i++)
		sum += (double) embedding[i] * embedding[i];
	fig->n_nodes = pd->n_nodes;
	fig->embedding_norm = sqrt(sum);
	fig->recorded = false;
}

/* what explain_figures works on, for NdagFallbackRun */
typedef struct FiguresCall
{
	PlannedStmt *plan;
	ExplainState *es;
	ExplainFigures *fig;
	bool		ours;			/* the statement touches an enabled table */
} FiguresCall;

/*
 * figures_step
 *		Whether the statement is ours, and then its figures.
 */
static void
figures_step(void *arg)
{
	FiguresCall *call = (FiguresCall *) arg;
	ExplainFigures *fig = call->fig;

	fig->exec_ms = NAN;
	fig->decided = NdagPlanDecision(call->plan, &fig->decision);
	call->ours = NdagStatementEligible(call->plan, false);
	if (!call->ours)
		return;
	fig->advised = ndag_mode == NDAG_MODE_OBSERVE &&
		NdagAdvise(call->plan, &fig->advice);
	if (call->es->analyze &&
		NdagLastRecording(call->plan, &fig->mechanism, &fig->n_nodes,
						  &fig->embedding_norm))
	{
		fig->recorded = true;
		fig->exec_ms = NdagLastRecordingMs(call->plan);
	}
	else
	{
		plan_figures(call->plan, fig);
		if (fig->decided && fig->decision.has_embedding)
			fig->mechanism = fig->decision.mechanism;
	}
}

/*
 * explain_figures
 *		Whether the statement gets a section (it touches an enabled table)
 *		and its figures.  A failure is logged (fallback.c) and counted, and
 *		EXPLAIN then shows no section.
 */
static bool
explain_figures(PlannedStmt *plan, ExplainState *es, ExplainFigures *fig)
{
	MemoryContext cxt;
	MemoryContext oldcxt = CurrentMemoryContext;
	FiguresCall call = {plan, es, fig, false};
	bool		ok;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "neural_dag explain",
								ALLOCSET_DEFAULT_SIZES);
	HOLD_INTERRUPTS();
	MemoryContextSwitchTo(cxt);
	ok = NdagFallbackRun(NDAG_FALLBACK_EXPLAIN, "describe the plan",
						 figures_step, &call);
	if (!ok)
		NdagCounterAdd(NDAG_COUNTER_FAILED, 1);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	RESUME_INTERRUPTS();
	return ok && call.ours;
}

/* NdagArmGet for NdagFallbackRun */
typedef struct ArmCall
{
	int			arm_id;
	const NdagArm *arm;
} ArmCall;

/*
 * arm_step
 *		The arm of the decision, NULL when it is no longer enabled.
 */
static void
arm_step(void *arg)
{
	ArmCall    *call = (ArmCall *) arg;

	call->arm = NdagArmGet(call->arm_id);
}

/*
 * explain_arm
 *		The arm's id and name and, for an arm other than the default, its
 *		planner settings (what EXPLAIN (SETTINGS) cannot show: they are set
 *		only while the statement is planned), under the given labels.
 */
static void
explain_arm(ExplainState *es, int arm_id, const char *label,
			const char *settings_label)
{
	ArmCall		call = {arm_id, NULL};
	const NdagArm *arm;

	/* an unreadable arm catalogue costs the name only */
	HOLD_INTERRUPTS();
	if (!NdagFallbackRun(NDAG_FALLBACK_EXPLAIN, "read the arm catalogue",
						 arm_step, &call))
		call.arm = NULL;
	RESUME_INTERRUPTS();
	arm = call.arm;
	ExplainPropertyText(label,
						psprintf("%d (%s)", arm_id,
								 arm != NULL ? arm->name :
								 (arm_id == 0 ? "default" : "unknown")),
						es);
	if (arm_id != 0 && arm != NULL)
		ExplainPropertyText(settings_label, NdagArmSettingsFormat(arm->settings),
							es);
}

/*
 * explain_decision
 *		The decision's figures: arm and its settings, pattern, measured
 *		gain, predicted and baseline latency, parameter class, whether the
 *		default plan runs to pair an arm with, whether it came from the
 *		Embedding Cache.
 */
static void
explain_decision(ExplainState *es, const NdagDecision *d)
{
	explain_arm(es, d->arm, "Arm", "Arm Settings");
	if (d->pattern_id != 0)
		ExplainPropertyInteger("Pattern", NULL, d->pattern_id, es);
	if (isfinite(d->similarity))
		ExplainPropertyFloat("Similarity", NULL, d->similarity, 3, es);
	if (isfinite(d->confidence))
		ExplainPropertyFloat("Confidence", NULL, d->confidence, 3, es);
	if (isfinite(d->gain))
		ExplainPropertyFloat("Measured Gain", NULL, d->gain, 2, es);
	if (isfinite(d->predicted_ms))
		ExplainPropertyFloat("Predicted Latency", "ms", d->predicted_ms, 3, es);
	if (isfinite(d->baseline_ms))
		ExplainPropertyFloat("Baseline Latency", "ms", d->baseline_ms, 3, es);
	if (d->klass != 0)
		ExplainPropertyText("Parameter Class",
							psprintf("%016llx", (unsigned long long) d->klass), es);
	if (d->validation)
		ExplainPropertyBool("Paired Default Run", true, es);
	ExplainPropertyBool("Cache Hit", d->cache_hit, es);
	ExplainPropertyInteger("Extra Plannings", NULL, d->extra_plannings, es);
}

/*
 * explain_advice
 *		Observe mode: the arm apply mode would use, why, and its gain.
 */
static void
explain_advice(ExplainState *es, const NdagDecision *advice)
{
	explain_arm(es, advice->arm, "Would Apply", "Would Apply Settings");
	ExplainPropertyText("Advice Source", NdagDecisionSourceName(advice->source), es);
	if (isfinite(advice->gain))
		ExplainPropertyFloat("Measured Gain", NULL, advice->gain, 2, es);
	if (isfinite(advice->predicted_ms))
		ExplainPropertyFloat("Predicted Latency", "ms", advice->predicted_ms, 3, es);
	if (isfinite(advice->baseline_ms))
		ExplainPropertyFloat("Baseline Latency", "ms", advice->baseline_ms, 3, es);
}

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
 *		Print the "Neural DAG" section.  In text format it is a heading with
 *		indented properties; in the structured formats an object inside the
 *		statement's own (beside "Plan"), or after it when its output cannot
 *		be reopened.
 */
static void
explain_section(ExplainState *es, const ExplainFigures *fig)
{
	const char *mechanism = ndag_mechanism_name(fig->mechanism);
	bool		inside = false;

	if (es->format == EXPLAIN_FORMAT_TEXT)
	{
		appendStringInfoSpaces(es->str, es->indent * 2);
		appendStringInfoString(es->str, "Neural DAG:\n");
		es->indent++;
	}
	else
	{
		inside = reopen_query_group(es);
		/* else JSON and YAML: an element of the top-level list */
		if (!inside && es->format != EXPLAIN_FORMAT_XML)
			ExplainOpenGroup("Neural DAG", NULL, true, es);
		ExplainOpenGroup("Neural DAG", "Neural DAG", true, es);
	}

	ExplainPropertyText("Mode", mode_names[ndag_mode], es);
	ExplainPropertyText("Attention", mechanism ? mechanism : "unknown", es);
	ExplainPropertyInteger("Plan Nodes", NULL, fig->n_nodes, es);
	ExplainPropertyFloat("Embedding Norm", NULL, fig->embedding_norm, 3, es);
	if (!fig->decided || fig->decision.source == NDAG_DECISION_DEFAULT)
		ExplainPropertyText("Decision", "default plan", es);
	else
		ExplainPropertyText("Decision",
							NdagDecisionSourceName(fig->decision.source), es);
	if (!StoreTrusted())
		ExplainPropertyText("Learned State",
							"not trusted until a WAL snapshot after the base backup is replayed",
							es);
	if (fig->decided)
		explain_decision(es, &fig->decision);
	if (fig->advised && fig->advice.arm != 0)
		explain_advice(es, &fig->advice);
	if (es->analyze)
		ExplainPropertyBool("Recorded", fig->recorded, es);
	if (es->analyze && fig->decided && fig->recorded && isfinite(fig->exec_ms))
		ExplainPropertyFloat("Executed Latency", "ms", fig->exec_ms, 3, es);

	if (es->format == EXPLAIN_FORMAT_TEXT)
		es->indent--;
	else
	{
		ExplainCloseGroup("Neural DAG", "Neural DAG", true, es);
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
	bool		previous = NdagSetPlainExplain(plain);

	PG_TRY();
	{
		plan = pg_plan_query(query, queryString, cursorOptions, params);
	}
	PG_FINALLY();
	{
		NdagSetPlainExplain(previous);
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
	ExplainFigures fig;

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

	if (!ndag_enabled || ndag_mode == NDAG_MODE_OFF || !NdagShmemReady() ||
		plan->commandType == CMD_UTILITY || !NdagExtensionInstalled())
		return;
	if (explain_figures(plan, es, &fig))
		explain_section(es, &fig);
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
