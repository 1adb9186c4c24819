/*-------------------------------------------------------------------------
 *
 * explain_section.c
 *	  The "Neural DAG" section of EXPLAIN: the mode, the attention
 *	  mechanism and the plan embedding's size, the decision taken (in
 *	  observe mode, what apply mode would decide) and, with ANALYZE, what
 *	  the recording of the execution shows.
 *
 * The figures come from the plan alone, or with ANALYZE from the
 * execution's recording: after ExecutorEnd the recording just made
 * (explain_driver.c, before PostgreSQL 18), or before it the one under
 * way, computed as ExecutorEnd will (explain_option.c, from 18).  Who
 * prints the section and where is up to those two files; this one knows
 * what it says.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "utils/memutils.h"

#include "embedding.h"
#include "engine.h"
#include "compat/compat_explain.h"
#include "core/core.h"
#include "plandag/plandag.h"
#include "planner/planner.h"
#include "recording/recording.h"
#include "store.h"

static const char *const mode_names[] = {"off", "observe", "learn", "apply"};

struct NdagExplainFigures
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
};

/*
 * plan_figures
 *		Mechanism, node count and embedding norm of a plan that was not
 *		executed (or not recorded).
 */
static void
plan_figures(PlannedStmt *plan, NdagExplainFigures *fig)
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

/* what figures_step works on, for NdagFallbackRun */
typedef struct FiguresCall
{
	PlannedStmt *plan;
	ExplainState *es;
	bool		any_statement;	/* a section even off the enabled tables */
	bool		execution_ended;	/* ExecutorEnd ran (and recorded) */
	NdagExplainFigures *fig;
	bool		shown;			/* the statement gets a section */
} FiguresCall;

/*
 * recording_of
 *		With ANALYZE, what the execution's recording shows, if it was (or is
 *		being) recorded in detail.
 */
static bool
recording_of(FiguresCall *call, NdagRecordingFigures *recording)
{
	if (!call->es->analyze)
		return false;
#if !NDAG_EXPLAIN_EXTENSIONS
	if (call->execution_ended)
		return NdagLastRecording(call->plan, recording);
#endif
	return NdagUnfinishedRecording(call->plan, recording);
}

/*
 * figures_step
 *		Whether the statement gets a section, and then its figures.
 */
static void
figures_step(void *arg)
{
	FiguresCall *call = (FiguresCall *) arg;
	NdagExplainFigures *fig = call->fig;
	NdagRecordingFigures recording;
	bool		ours;

	fig->exec_ms = NAN;
	fig->decided = NdagPlanDecision(call->plan, &fig->decision);
	ours = NdagStatementEligible(call->plan, false);
	call->shown = ours || call->any_statement;
	if (!call->shown)
		return;
	fig->advised = ours && ndag_mode == NDAG_MODE_OBSERVE &&
		NdagAdvise(call->plan, &fig->advice);
	if (recording_of(call, &recording))
	{
		fig->recorded = true;
		fig->mechanism = recording.mechanism;
		fig->n_nodes = recording.n_nodes;
		fig->embedding_norm = recording.embedding_norm;
		fig->exec_ms = recording.exec_ms;
	}
	else
	{
		plan_figures(call->plan, fig);
		if (fig->decided && fig->decision.has_embedding)
			fig->mechanism = fig->decision.mechanism;
	}
}

/*
 * NdagExplainDescribe
 *		The figures of the section of a statement EXPLAIN prints, or NULL
 *		when it gets none: the extension is off or not installed in this
 *		database, or the statement is a utility one or (unless
 *		any_statement) touches no enabled table.  execution_ended says
 *		whether the execution of EXPLAIN ANALYZE has reached ExecutorEnd.
 *		A failure is logged (fallback.c) and counted, and EXPLAIN then shows
 *		no section.  The result is allocated in CurrentMemoryContext.
 */
NdagExplainFigures *
NdagExplainDescribe(PlannedStmt *plan, ExplainState *es, bool any_statement,
					bool execution_ended)
{
	MemoryContext cxt;
	MemoryContext oldcxt = CurrentMemoryContext;
	NdagExplainFigures *fig;
	FiguresCall call;
	bool		ok;

	if (!ndag_enabled || ndag_mode == NDAG_MODE_OFF || !NdagShmemReady() ||
		plan->commandType == CMD_UTILITY || !NdagExtensionInstalled())
		return NULL;

	fig = palloc0(sizeof(NdagExplainFigures));
	call.plan = plan;
	call.es = es;
	call.any_statement = any_statement;
	call.execution_ended = execution_ended;
	call.fig = fig;
	call.shown = false;
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
	if (!ok || !call.shown)
	{
		pfree(fig);
		return NULL;
	}
	return fig;
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
 *		only while the statement is planned), under the given labels (no
 *		settings when settings_label is NULL).
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
	if (arm_id != 0 && arm != NULL && settings_label != NULL)
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
	if (d->rows_bucket > 0)
		ExplainPropertyText("Parameter Rows",
							psprintf("%.0f to %.0f", pow(4, d->rows_bucket - 1) - 1,
									 pow(4, d->rows_bucket) - 2), es);
	else if (d->klass != 0)
		ExplainPropertyText("Parameter Rows",
							d->measure_class ? "not measured" :
							"not measured (not worth exploring)", es);
	if (d->validation)
		ExplainPropertyBool("Paired Default Run", true, es);
	if (d->final_against != 0)
		explain_arm(es, d->final_against, "Final Against", NULL);
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
 * NdagExplainOpenSection
 *		Start the section: in text format a heading whose properties are
 *		indented under it, in the structured formats a "Neural DAG" object
 *		(element in XML) inside the group now open.
 */
void
NdagExplainOpenSection(ExplainState *es)
{
	if (es->format == EXPLAIN_FORMAT_TEXT)
	{
		appendStringInfoSpaces(es->str, es->indent * 2);
		appendStringInfoString(es->str, "Neural DAG:\n");
		es->indent++;
	}
	else
		ExplainOpenGroup("Neural DAG", "Neural DAG", true, es);
}

/*
 * NdagExplainCloseSection
 *		End what NdagExplainOpenSection started.
 */
void
NdagExplainCloseSection(ExplainState *es)
{
	if (es->format == EXPLAIN_FORMAT_TEXT)
		es->indent--;
	else
		ExplainCloseGroup("Neural DAG", "Neural DAG", true, es);
}

/*
 * NdagExplainProperties
 *		The section's properties; with ANALYZE, whether the execution is
 *		recorded and, for a decided plan, the latency recorded.
 */
void
NdagExplainProperties(ExplainState *es, const NdagExplainFigures *fig)
{
	const char *mechanism = ndag_mechanism_name(fig->mechanism);

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
}
