/*-------------------------------------------------------------------------
 *
 * executor_hooks.c
 *	  ExecutorStart/Run/Finish/End hooks: decide which executions are
 *	  recorded, instrument them, and record them at ExecutorEnd.
 *
 * A statement is eligible when learning is on, the mode is not off, the
 * process is not a parallel worker, the database has the extension, the
 * statement has a queryId and it touches an enabled table.  Each top-level
 * statement is sampled with probability ruvector.dag_sample_rate; statements
 * it runs (PL/pgSQL, SPI) follow its choice, so that a sampled call is
 * recorded whole, except those known to be fast, which are thinned by their
 * own key as top-level ones are (sampling.c).
 *
 * Every recorded execution gets its duration from one timer around the
 * whole run (queryDesc->totaltime), and that latency feeds the planner's
 * query memory (median default, paired runs, re-validation, demotion).
 * Counting rows and loops per node (INSTRUMENT_ROWS) costs a few counters
 * per tuple per node, 5 to 14% of the CPU time of row-heavy and
 * rescan-heavy plans, so only the fraction ruvector.dag_detail_sample_rate
 * of recorded statements is instrumented node by node and leaves a
 * trajectory (the plan with actuals that attention, patterns and the cost
 * model learn from).  Per-node timing reads the clock twice per tuple per
 * node, which makes row-heavy plans several times slower on machines with
 * a slow clock source, so only the fraction ruvector.dag_timing_sample_rate
 * of detailed recordings gets it.  Both are drawn once per top-level
 * statement, at the first of its recordings (the top-level statement's
 * own, or that of the first statement it runs that is recorded), and the
 * detail rate falls for a statement the backend records over and over
 * (sampling.c).  An execution someone else instruments (EXPLAIN
 * ANALYZE, auto_explain) is always detailed and keeps exactly the options
 * asked: with timing it is recorded with its node times, without timing it
 * stays so.
 *
 * A recorded top-level execution of the default plan whose decision asks
 * for it is captured for shadow exploration (shadow/) at its ExecutorEnd.
 * A parallel worker records nothing, but when its leader is the shadow
 * worker it reports how long it waited for a CPU (shadow_cpu_waits.c).
 *
 * A recorded execution is remembered in a small per-backend table until
 * its ExecutorEnd; a memory-context callback on the executor state forgets
 * it when the execution is abandoned by an error.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "common/pg_prng.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat/compat_executor.h"
#include "core/core.h"
#include "planner/planner.h"
#include "recording/recording.h"
#include "shadow/shadow.h"

#define DEFAULT_ARM		0

/* executions being recorded at once in this backend (nesting depth) */
#define MAX_RECORDING	32

typedef struct Recording
{
	QueryDesc  *queryDesc;		/* NULL: free entry */
	double		planning_us;
	bool		detailed;		/* instrumented node by node */
	MemoryContextCallback cb;
} Recording;

static Recording recordings[MAX_RECORDING];
static int	recordings_taken = 0;	/* entries in use: none, nothing to find */

/* executor nesting depth, as pg_stat_statements tracks it */
static int	nesting_level = 0;

/* sampling decisions of the current top-level statement */
static bool top_sampled = false;
static bool top_detail_drawn = false;
static bool top_detailed = false;
static bool top_timed = false;

static ExecutorStart_hook_type prev_ExecutorStart = NULL;
static ExecutorRun_hook_type prev_ExecutorRun = NULL;
static ExecutorFinish_hook_type prev_ExecutorFinish = NULL;
static ExecutorEnd_hook_type prev_ExecutorEnd = NULL;

/*
 * forget_recording
 *		Memory-context callback of the executor state: the execution is over
 *		(ended, or abandoned by an error), forget it.
 */
static void
forget_recording(void *arg)
{
	Recording  *rec = (Recording *) arg;

	rec->queryDesc = NULL;
	recordings_taken--;
}

/*
 * find_recording
 *		The entry of a recorded execution, or NULL.
 */
static Recording *
find_recording(QueryDesc *queryDesc)
{
	if (queryDesc != NULL && recordings_taken == 0)
		return NULL;
	for (int i = 0; i < MAX_RECORDING; i++)
	{
		if (recordings[i].queryDesc == queryDesc)
			return &recordings[i];
	}
	return NULL;
}

/*
 * NdagDetailedRecordingOf
 *		The execution of stmt this backend records node by node, between
 *		its ExecutorStart and its ExecutorEnd, or NULL (for EXPLAIN ANALYZE,
 *		which prints its plan before ExecutorEnd records it).
 */
QueryDesc *
NdagDetailedRecordingOf(const PlannedStmt *stmt)
{
	if (recordings_taken == 0)
		return NULL;
	for (int i = 0; i < MAX_RECORDING; i++)
	{
		QueryDesc  *queryDesc = recordings[i].queryDesc;

		if (queryDesc != NULL && recordings[i].detailed &&
			queryDesc->plannedstmt == stmt)
			return queryDesc;
	}
	return NULL;
}

/*
 * recording_on
 *		Whether this backend records anything now (what is known without
 *		looking at the statement: a top-level statement draws only then).
 */
static bool
recording_on(void)
{
	return ndag_enabled && ndag_mode != NDAG_MODE_OFF && !IsParallelWorker() &&
		NdagShmemReady();
}

/*
 * statement_eligible
 *		Whether this execution may be recorded; a failure to read the
 *		enabled tables is logged (rate-limited) and counted, and the
 *		statement is then simply not recorded.
 */
static bool
statement_eligible(QueryDesc *queryDesc, int eflags)
{
	PlannedStmt *stmt = queryDesc->plannedstmt;
	bool		eligible;
	bool		failed;

	if (!recording_on())
		return false;
	/* a standby records nothing (standby.c) */
	if (!NdagMayWriteLearnedState())
		return false;
	if (stmt == NULL || stmt->queryId == UINT64CONST(0) ||
		stmt->commandType == CMD_UTILITY ||
		(eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0)
		return false;
	if (!NdagExtensionInstalled())
		return false;

	HOLD_INTERRUPTS();
	eligible = NdagStatementEligibleOrFallback(stmt, ndag_all_tables, &failed);
	if (failed)
		NdagCounterAdd(NDAG_COUNTER_FAILED, 1);
	RESUME_INTERRUPTS();
	return eligible;
}

/*
 * instrument_recording
 *		Ask for the per-node instrumentation of a detailed recording: rows
 *		always, timing when the statement drew it, unless another module
 *		already chose (with or without timing) what this execution measures.
 */
static void
instrument_recording(QueryDesc *queryDesc)
{
	if ((queryDesc->instrument_options & (INSTRUMENT_TIMER | INSTRUMENT_ROWS)) == 0 &&
		top_timed)
		queryDesc->instrument_options |= INSTRUMENT_TIMER;
	queryDesc->instrument_options |= INSTRUMENT_ROWS;
}

/*
 * measures_class
 *		Whether an execution is of a parameter set whose rows were never
 *		measured: it counts rows node by node (not time), so that its
 *		parameter class is known from then on (param_class.c).
 */
static bool
measures_class(QueryDesc *queryDesc)
{
	const NdagDecision *d = NdagPlanDecisionOf(queryDesc->plannedstmt);

	return d != NULL && d->measure_class;
}

/*
 * ndag_ExecutorStart
 *		Instrument a sampled eligible execution before it starts.
 */
static void
ndag_ExecutorStart(QueryDesc *queryDesc, int eflags)
{
	Recording  *rec = NULL;
	bool		measuring = false;

	/* a shadow run's parallel worker says how long it waited for a CPU */
	if (IsParallelWorker())
		NdagShadowWorkerStart();

	/*
	 * a top-level statement draws; the statements it runs follow it, the
	 * fast ones thinned; whether it is detailed is drawn at its first
	 * recording (by that statement's count, sampling.c)
	 */
	if (nesting_level == 0)
	{
		top_sampled = queryDesc->plannedstmt != NULL && recording_on() &&
			NdagSampleStatement(queryDesc->plannedstmt);
		top_detail_drawn = false;
		top_detailed = false;
		top_timed = false;
	}
	if (top_sampled && statement_eligible(queryDesc, eflags) &&
		(nesting_level == 0 || NdagSampleUnlessFast(queryDesc->plannedstmt)))
		rec = find_recording(NULL);
	if (rec != NULL)
	{
		NdagCounterAdd(NDAG_COUNTER_SAMPLED, 1);
		if (!top_detail_drawn)
		{
			top_detail_drawn = true;
			top_detailed = NdagSampleDetail(queryDesc->plannedstmt);
			top_timed = top_detailed && NdagSampleTiming();
		}
		if (top_detailed)
			instrument_recording(queryDesc);
		else if (queryDesc->instrument_options == 0 && measures_class(queryDesc))
		{
			queryDesc->instrument_options |= INSTRUMENT_ROWS;
			measuring = true;
		}
	}

	if (prev_ExecutorStart)
		prev_ExecutorStart(queryDesc, eflags);
	else
		standard_ExecutorStart(queryDesc, eflags);

	if (rec != NULL)
	{
		MemoryContext oldcxt;

		/*
		 * Total time of the execution, allocated as pg_stat_statements does
		 * (INSTRUMENT_ALL): whichever of us runs first allocates it, and it
		 * must carry the buffer and WAL usage pg_stat_statements reports.
		 */
		oldcxt = MemoryContextSwitchTo(queryDesc->estate->es_query_cxt);
		if (queryDesc->totaltime == NULL)
			queryDesc->totaltime = InstrAlloc(1, INSTRUMENT_ALL, false);
		MemoryContextSwitchTo(oldcxt);

		rec->queryDesc = queryDesc;
		recordings_taken++;
		rec->planning_us = NdagTakePlanningTime(queryDesc->plannedstmt);
		/* nodes another module instruments anyway are recorded too */
		rec->detailed = top_detailed ||
			(queryDesc->planstate != NULL &&
			 queryDesc->planstate->instrument != NULL &&
			 (!measuring || queryDesc->instrument_options != INSTRUMENT_ROWS));
		rec->cb.func = forget_recording;
		rec->cb.arg = rec;
		MemoryContextRegisterResetCallback(queryDesc->estate->es_query_cxt,
										   &rec->cb);
	}
}

/*
 * ndag_ExecutorRun
 *		Track the nesting level.
 */
static void
ndag_ExecutorRun(NDAG_EXECUTOR_RUN_ARGS)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorRun)
			prev_ExecutorRun(NDAG_EXECUTOR_RUN_PASS);
		else
			standard_ExecutorRun(NDAG_EXECUTOR_RUN_PASS);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

/*
 * ndag_ExecutorFinish
 *		Track the nesting level (AFTER triggers run here).
 */
static void
ndag_ExecutorFinish(QueryDesc *queryDesc)
{
	nesting_level++;
	PG_TRY();
	{
		if (prev_ExecutorFinish)
			prev_ExecutorFinish(queryDesc);
		else
			standard_ExecutorFinish(queryDesc);
	}
	PG_FINALLY();
	{
		nesting_level--;
	}
	PG_END_TRY();
}

/*
 * capture_for_shadow
 *		An execution of the default plan whose decision asked for it goes
 *		to shadow exploration's queue, and so does the first run of a
 *		statement class that took over ruvector.dag_min_latency (a
 *		statement whose text cannot run on its own, as PL/pgSQL's static
 *		SQL naming its variables, fails its re-parse in the worker and is
 *		dropped there).
 */
static void
capture_for_shadow(QueryDesc *queryDesc)
{
	NdagDecision decision;
	double		exec_ms = queryDesc->totaltime->total * 1000.0;

	if (!NdagPlanDecision(queryDesc->plannedstmt, &decision) ||
		!NdagDecisionWantsCapture(queryDesc->plannedstmt->queryId, &decision,
								  exec_ms))
		return;
	/* a run that measured its parameter set goes under the class it made */
	NdagParamClassMeasured(queryDesc->plannedstmt->queryId, &decision);
	NdagShadowCapture(queryDesc, &decision, exec_ms);
}

/*
 * ndag_ExecutorEnd
 *		Record a sampled execution while its plan state still exists: its
 *		latency always, its trajectory when it was detailed.
 */
static void
ndag_ExecutorEnd(QueryDesc *queryDesc)
{
	Recording  *rec = find_recording(queryDesc);

	if (IsParallelWorker())
		NdagShadowWorkerEnd();

	/*
	 * The entry stays taken until the executor state is freed (its
	 * callback is registered there and must not be reused before it ran).
	 */
	if (rec != NULL)
	{
		NdagRecordExecution(queryDesc, rec->planning_us, rec->detailed);
		/* (a run timed node by node is slower than the statement) */
		if (queryDesc->totaltime != NULL && !NdagTimedApart(queryDesc))
		{
			NdagFastStatementNote(NdagFastStatementKey(queryDesc->plannedstmt),
								  queryDesc->totaltime->total * 1000.0);
			/* statements run by functions too (EXECUTE of a query text) */
			capture_for_shadow(queryDesc);
		}
	}

	if (prev_ExecutorEnd)
		prev_ExecutorEnd(queryDesc);
	else
		standard_ExecutorEnd(queryDesc);
}

/*
 * NdagInstallExecutorHooks
 *		Chain the executor hooks (from _PG_init).
 */
void
NdagInstallExecutorHooks(void)
{
	prev_ExecutorStart = ExecutorStart_hook;
	ExecutorStart_hook = ndag_ExecutorStart;
	prev_ExecutorRun = ExecutorRun_hook;
	ExecutorRun_hook = ndag_ExecutorRun;
	prev_ExecutorFinish = ExecutorFinish_hook;
	ExecutorFinish_hook = ndag_ExecutorFinish;
	prev_ExecutorEnd = ExecutorEnd_hook;
	ExecutorEnd_hook = ndag_ExecutorEnd;
}
