/*-------------------------------------------------------------------------
 *
 * trajectory.c
 *	  Turn one detailed (instrumented) execution into a trajectory in the
 *	  shared ring: the plan DAG with actuals, the attention mechanism and its
 *	  per-node scores, the plan embedding; then feed the temporal traces.
 *	  Every recorded execution, detailed or not, feeds its latency to the
 *	  planner's query memory under the decision it was planned with.
 *
 * Everything happens in a memory context reset after each recording, with
 * interrupts held, inside NdagFallbackRun (fallback.c): an error is logged
 * (WARNING at most once a minute, DEBUG1 otherwise), counted as failed, and
 * the user's statement goes on as if the extension were not there.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "executor/execdesc.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "portability/instr_time.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "dag.h"
#include "embedding.h"
#include "engine.h"
#include "compat/compat_explain.h"
#include "core/core.h"
#include "plandag/plandag.h"
#include "learning/learning.h"
#include "planner/planner.h"
#include "recording/recording.h"

StaticAssertDecl(NDAG_TRAJ_EMBED_DIM == NDAG_EMBED_DIM,
				 "the ring's embedding width must match the engine's");

/* the built-in arm that changes nothing (store_arms.c) */
#define DEFAULT_ARM		0

static MemoryContext record_cxt = NULL;

/*
 * statement_relids
 *		The distinct relations of the range table, sorted, at most
 *		NDAG_TRAJ_MAX_RELIDS of them.
 */
static int
statement_relids(const PlannedStmt *stmt, Oid *relids)
{
	ListCell   *lc;
	int			n = 0;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);
		int			pos;

		if (rte->rtekind != RTE_RELATION || n == NDAG_TRAJ_MAX_RELIDS)
			continue;
		/* insertion into the sorted prefix, skipping duplicates */
		for (pos = 0; pos < n && relids[pos] < rte->relid; pos++)
			;
		if (pos < n && relids[pos] == rte->relid)
			continue;
		memmove(&relids[pos + 1], &relids[pos], sizeof(Oid) * (n - pos));
		relids[pos] = rte->relid;
		n++;
	}
	return n;
}

/*
 * fill_nodes
 *		The per-node part of a trajectory: the first NDAG_TRAJ_MAX_NODES
 *		nodes and, for each, its consumers among them.
 */
static void
fill_nodes(const NdagPlanDag *pd, const double *weights, NdagRingEntry *traj)
{
	const NdagDag *dag = pd->dag;
	int			n = Min(dag->n_nodes, NDAG_TRAJ_MAX_NODES);

	traj->n_plan_nodes = dag->n_nodes;
	traj->n_nodes = n;
	for (int v = 0; v < n; v++)
	{
		const NdagNode *node = &dag->nodes[v];
		NdagRingNode *out = &traj->nodes[v];
		Plan	   *plan = pd->plans[v];

		memset(out, 0, sizeof(NdagRingNode));
		out->signature = node->signature;
		out->est_rows = node->desc.plan_rows;
		out->est_cost = (float4) node->desc.total_cost;
		out->score = (float4) weights[v];
		out->relation = node->desc.rel_oid;
		out->node_tag = (int16) nodeTag(plan);
		if (IsA(plan, ModifyTable))
			out->operation = (uint8) ((ModifyTable *) plan)->operation;
		if (node->desc.has_actuals && node->desc.loops > 0)
		{
			out->actual_rows = node->desc.actual_rows / node->desc.loops;
			out->loops = (float4) node->desc.loops;
			out->self_ms = node->desc.untimed ? NAN : (float4) node->self_time_ms;
		}
		else
			out->actual_rows = -1.0;

		for (int e = dag->out_off[v]; e < dag->out_off[v + 1]; e++)
		{
			int			parent = dag->out_idx[e];

			if (parent < n && out->nparents < NDAG_TRAJ_MAX_PARENTS)
				out->parents[out->nparents++] = (int16) parent;
		}
	}
}

/*
 * decision_of
 *		The decision the statement was planned under, with the decision
 *		embedding of its default plan.  A decision taken without the
 *		embedding (a statement known to keep its default plan, decision.c)
 *		gets it now, with the cost model's prediction, and this backend
 *		keeps it for the plan's next runs.  A plan this backend did not
 *		decide (observe mode, or a cached plan whose arm it no longer
 *		remembers) is taken as planned by default: its embedding is computed
 *		from it without actuals, as the planner hook would have.
 */
static void
decision_of(PlannedStmt *stmt, NdagDecision *d)
{
	if (NdagPlanDecision(stmt, d))
	{
		if (d->has_embedding)
			return;
		if (d->arm == DEFAULT_ARM)
		{
			NdagDecisionEmbed(stmt, d);
			NdagDecisionPredictDefault(d);
			NdagPlanDecisionKeep(stmt, d);
			return;
		}
	}
	/* a plan kept by the plan cache is a copy of the one decided */
	if (NdagPlanDecisionByShape(stmt->queryId, NdagPlanShapeHash(stmt), d) &&
		d->has_embedding)
		return;
	memset(d, 0, sizeof(NdagDecision));
	d->source = NDAG_DECISION_DEFAULT;
	d->arm = DEFAULT_ARM;
	d->similarity = NAN;
	d->confidence = NAN;
	d->predicted_ms = NAN;
	d->predicted_default_ms = NAN;
	d->baseline_ms = NAN;
	d->klass = NdagPlanShapeHash(stmt);	/* the default plan's class */
	NdagDecisionEmbed(stmt, d);
}

/*
 * measured_class
 *		A run planned to measure its parameter set: the rows bucket its plan
 *		produced is remembered, and the run counts for the class it makes
 *		(the default plan's shape and that bucket).  The rows of the topmost
 *		join are the whole join's, whichever plan produced them.
 */
static void
measured_class(QueryDesc *queryDesc, NdagDecision *d)
{
	int			bucket;

	if (!d->measure_class)
		return;
	bucket = NdagParamRowsBucket(queryDesc->planstate);
	if (bucket == 0)
		return;
	NdagParamBucketPut(MyDatabaseId, queryDesc->plannedstmt->queryId,
					   d->param_hash, bucket,
					   NdagParamClass(d->default_shape, bucket));
	NdagParamClassMeasured(queryDesc->plannedstmt->queryId, d);
}

/*
 * plan_indexes
 *		The distinct indexes the plan's index, index-only and bitmap index
 *		scans use, at most NDAG_TRAJ_MAX_INDEXES of them (the index
 *		metadata of the learned patterns is built from these).
 */
static void
plan_indexes(const NdagPlanDag *pd, NdagRingEntry *traj)
{
	traj->nindexes = 0;
	for (int v = 0; v < pd->n_nodes; v++)
	{
		Oid			indexid = NdagPlanIndexOid(pd->plans[v]);
		int			i;

		if (!OidIsValid(indexid))
			continue;
		for (i = 0; i < traj->nindexes && traj->indexes[i] != indexid; i++)
			;
		if (i == traj->nindexes && traj->nindexes < NDAG_TRAJ_MAX_INDEXES)
			traj->indexes[traj->nindexes++] = indexid;
	}
}

/*
 * recording_figures
 *		What EXPLAIN ANALYZE shows of a recording: the decision's attention
 *		mechanism and embedding norm, the plan's node count, the latency.
 */
static void
recording_figures(const NdagDecision *d, const NdagPlanDag *pd, double exec_ms,
				  NdagRecordingFigures *figures)
{
	double		sum = 0;

	for (int i = 0; i < NDAG_EMBED_DIM; i++)
		sum += (double) d->embedding[i] * d->embedding[i];
	figures->mechanism = d->mechanism;
	figures->n_nodes = pd->dag->n_nodes;
	figures->embedding_norm = sqrt(sum);
	figures->exec_ms = exec_ms;
}

#if !NDAG_EXPLAIN_EXTENSIONS
/*
 * Before PostgreSQL 18 the EXPLAIN section is printed after ExecutorEnd
 * recorded the execution (explain_driver.c), so it shows what the last
 * recording of this backend found; from 18 it is printed before, from the
 * execution still running (NdagUnfinishedRecording).
 */
static struct
{
	const PlannedStmt *stmt;	/* NULL: none */
	NdagRecordingFigures figures;
}			last_recording;

/*
 * remember_recording
 *		Keep what EXPLAIN ANALYZE shows of the recording of stmt just made
 *		(stmt NULL: forget the last one).
 */
static void
remember_recording(const PlannedStmt *stmt, const NdagDecision *d,
				   const NdagPlanDag *pd, double exec_ms)
{
	last_recording.stmt = stmt;
	if (stmt != NULL)
		recording_figures(d, pd, exec_ms, &last_recording.figures);
}

/*
 * NdagLastRecording
 *		If the last execution this backend recorded ran stmt, what EXPLAIN
 *		ANALYZE shows of it.
 */
bool
NdagLastRecording(const PlannedStmt *stmt, NdagRecordingFigures *figures)
{
	if (stmt == NULL || last_recording.stmt != stmt)
		return false;
	*figures = last_recording.figures;
	return true;
}
#else
#define remember_recording(stmt, d, pd, exec_ms) ((void) 0)
#endif							/* !NDAG_EXPLAIN_EXTENSIONS */

/*
 * build_and_put
 *		The recording proper; runs in record_cxt and may raise errors.
 */
static void
build_and_put(QueryDesc *queryDesc, double planning_us)
{
	PlannedStmt *stmt = queryDesc->plannedstmt;
	NdagRingEntry *traj;
	NdagPlanDag *pd;
	double	   *weights;
	int			mechanism;
	NdagDecision d;

	traj = palloc0(sizeof(NdagRingEntry));
	decision_of(stmt, &d);
	mechanism = d.mechanism;
	memcpy(traj->embedding, d.embedding, sizeof(traj->embedding));

	/* the nodes' rows: the executed plan with its actuals */
	pd = NdagPlanDagBuild(stmt, queryDesc->planstate);
	weights = NdagComputeScores(pd->dag, mechanism);

	traj->dbid = MyDatabaseId;
	traj->userid = GetUserId();
	traj->query_id = (int64) stmt->queryId;
	traj->recorded_at = GetCurrentTimestamp();
	traj->planning_us = planning_us;
	if (queryDesc->totaltime != NULL)
	{
		InstrEndLoop(queryDesc->totaltime);
		traj->exec_us = queryDesc->totaltime->total * 1000000.0;
	}
	traj->est_cost = stmt->planTree->total_cost;
	traj->arm = d.arm;
	traj->decision = (int16) d.source;
	traj->pattern_id = d.pattern_id;
	traj->predicted_ms = d.predicted_ms;
	traj->mechanism = (int16) mechanism;
	traj->nrelids = statement_relids(stmt, traj->relids);
	fill_nodes(pd, weights, traj);
	plan_indexes(pd, traj);
	if (traj->n_plan_nodes > traj->n_nodes)
		NdagCounterAdd(NDAG_COUNTER_TRUNCATED, 1);

	remember_recording(stmt, &d, pd, traj->exec_us / 1000.0);

	NdagRingPut(traj);
	NdagUpdateTraces(pd->dag);
	if (queryDesc->totaltime != NULL)
	{
		measured_class(queryDesc, &d);
		if (!NdagTimedApart(queryDesc))
			NdagDecisionObserve(stmt->queryId, &d, traj->exec_us / 1000.0);
		else
			NdagCacheForget(stmt->queryId);
	}
}

/*
 * NdagTimedApart
 *		Whether an execution was timed node by node (the timing sample, or
 *		EXPLAIN ANALYZE and auto_explain with timing) while recorded runs
 *		are not all timed.  Such a run reads the clock twice per row per
 *		node, which makes a row-heavy plan several times slower where the
 *		clock is slow: its latency is not the statement's, so the query
 *		memory (baselines, pairs, demotions), the instant loop, the
 *		fast-statement means and shadow capture do not take it (its
 *		trajectory is kept, its latency left out of learning by
 *		learn_cycle.c), and its cached decision is taken anew.  Where the
 *		settings time every recorded run (ruvector.dag_detail_sample_rate
 *		and ruvector.dag_timing_sample_rate 1) timed runs are the measure.
 */
bool
NdagTimedApart(const QueryDesc *queryDesc)
{
	if (ndag_detail_sample_rate >= 1.0 && ndag_timing_sample_rate >= 1.0)
		return false;
	return (queryDesc->instrument_options & INSTRUMENT_TIMER) != 0;
}

/*
 * observe_latency
 *		What an execution without node instrumentation teaches: its latency
 *		under its decision, for the query memory; runs in record_cxt and may
 *		raise errors.
 */
static void
observe_latency(QueryDesc *queryDesc)
{
	NdagDecision d;

	if (queryDesc->totaltime == NULL)
		return;
	InstrEndLoop(queryDesc->totaltime);
	decision_of(queryDesc->plannedstmt, &d);
	measured_class(queryDesc, &d);
	NdagDecisionObserve(queryDesc->plannedstmt->queryId, &d,
						queryDesc->totaltime->total * 1000.0);
}

/*
 * NdagUnfinishedRecording
 *		If this backend is recording an execution of stmt in detail that has
 *		run but not reached its ExecutorEnd (where it is recorded), what
 *		EXPLAIN ANALYZE will show of its recording: the same figures,
 *		computed from the same decision, plan state and timer.  May raise
 *		errors (the caller runs it inside NdagFallbackRun).
 */
bool
NdagUnfinishedRecording(PlannedStmt *stmt, NdagRecordingFigures *figures)
{
	QueryDesc  *queryDesc = NdagDetailedRecordingOf(stmt);
	Instrumentation *timer;
	double		exec_s = 0;
	NdagDecision d;

	if (queryDesc == NULL)
		return false;
	/* the timer as InstrEndLoop will close it at ExecutorEnd */
	timer = queryDesc->totaltime;
	if (timer != NULL)
	{
		exec_s = timer->total;
		if (timer->running)
			exec_s += INSTR_TIME_GET_DOUBLE(timer->counter);
	}
	decision_of(stmt, &d);
	recording_figures(&d, NdagPlanDagBuild(stmt, queryDesc->planstate),
					  exec_s * 1000.0, figures);
	return true;
}

/* build_and_put for NdagFallbackRun */
typedef struct RecordCall
{
	QueryDesc  *queryDesc;
	double		planning_us;
	bool		detailed;
} RecordCall;

/*
 * record_step
 *		Build the trajectory of a detailed execution and put it into the
 *		ring; of another, only observe its latency.
 */
static void
record_step(void *arg)
{
	RecordCall *call = (RecordCall *) arg;

	if (call->detailed)
		build_and_put(call->queryDesc, call->planning_us);
	else
		observe_latency(call->queryDesc);
}

/*
 * NdagRecordExecution
 *		Record a sampled execution (from ExecutorEnd, before the plan state
 *		is freed): a detailed one as a trajectory, any as a latency for the
 *		query memory.  Never raises an error.
 */
void
NdagRecordExecution(QueryDesc *queryDesc, double planning_us, bool detailed)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	RecordCall	call;
	instr_time	start;
	instr_time	duration;
	uint64		ns;

	INSTR_TIME_SET_CURRENT(start);
	if (record_cxt == NULL)
		record_cxt = AllocSetContextCreate(TopMemoryContext,
										   "neural_dag recording",
										   ALLOCSET_DEFAULT_SIZES);

	HOLD_INTERRUPTS();
	MemoryContextSwitchTo(record_cxt);
	remember_recording(NULL, NULL, NULL, 0);
	call.queryDesc = queryDesc;
	call.planning_us = planning_us;
	call.detailed = detailed;
	if (!NdagFallbackRun(NDAG_FALLBACK_RECORDING, "record an execution",
						 record_step, &call))
		NdagCounterAdd(NDAG_COUNTER_FAILED, 1);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextReset(record_cxt);
	RESUME_INTERRUPTS();

	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	ns = (uint64) (INSTR_TIME_GET_DOUBLE(duration) * 1e9);
	NdagCounterAdd(NDAG_COUNTER_RECORD_NS, ns);
	NdagRecordLatency(ns);
}
