/*-------------------------------------------------------------------------
 *
 * shadow_run.c
 *	  One shadow run: a captured statement re-run in the background, arm
 *	  runs bracketed by default runs, to prove or refute each arm still
 *	  open for it without a user waiting on an unproven plan.
 *
 * It runs in a worker connected to the statement's database as the role
 * that ran it (privileges and row security apply as they did), with the
 * extension's hooks off for the session (ruvector.dag_mode = off: nothing
 * is recorded, the planner hook changes nothing) and every transaction
 * read-only.  Each round is one transaction: the text is parsed and
 * analysed again with the captured parameters under the captured
 * search_path, the queryId must still be the captured one (else the
 * objects changed and the entry is dropped) and the statement must still
 * be shadowable.  The first round plans the default and every open arm
 * (for the parameter class of the default plan planned here: the
 * session's settings or the statistics may give another than the
 * captured execution's, and a verdict holds for the class it was measured
 * on),
 * tells the query memory what each plans to (like the default, forced
 * past disable_cost, estimated cost ratio) and orders the usable arms:
 * those proven faster for another parameter class of the statement first,
 * then by that ratio, lowest first, taking turns with the favored ones:
 * those the database's statements proved faster more often than they
 * refuted them (one workload's statements often gain from the same arm)
 * and those keeping fewer processes busy than a default plan that keeps
 * more busy than the machine has CPUs; of the entry's other captures (other
 * constants or parameters) it keeps those whose default plan is of the
 * same class, and the brackets take them in turn, one per cycle over the
 * candidates.  Each later round is one bracket: up to
 * SHADOW_BRACKET_ARMS candidates, taken in turn so that each gets its
 * first pair early, run between two default runs (the opening one is the
 * previous bracket's closing run while fresh), each in a subtransaction
 * with its own snapshot, results discarded.  An arm is paired with the
 * geometric mean of the default runs around it: a bracket of two arms
 * costs three runs for two pairs (two once brackets chain), where
 * back-to-back pairs cost four.  The arm's timeout is
 * ruvector.dag_shadow_timeout_factor times the opening default run (a
 * timeout is a result, when the closing run was not slower than the
 * opening one: a load that rose meanwhile proves nothing), the default's a generous
 * ruvector.dag_shadow_default_timeout_factor times its captured time.
 * While the budget is below the processes a parallel plan of the bracket
 * takes, the bracket is screened without parallel workers on both sides:
 * those pairs stay with the run, refute an arm, or pass it on to brackets
 * run as users run the plans, whose pairs alone can prove it (with the
 * workers, noisier: they go on to NDAG_PAIRED_LONG_MAX pairs while their
 * mean says faster at all, ndag_paired_verdict_screened).  A
 * later run of the statement takes such an arm up where the pairs in the
 * query memory left it.
 * Pairs go to NdagQueryMemoryAddPair until every candidate's verdict is in
 * or the run's ruvector.dag_shadow_max_pairs are used (the last bracket
 * takes fewer arms if it must), so that one statement does not take the
 * slice of the worker's launch from the others.  A run pursues its
 * candidates in turns: the SHADOW_BRACKET_ARMS leading ones first (one
 * bracket's worth, the most promising), then the next ones; once a turn's
 * candidates are decided while others are open, it gives way (yields) if
 * another statement waits that had fewer turns, so that every statement's
 * leading arms are tried before any statement's less promising ones (on
 * analytic workloads the gain is mostly in a statement's first candidate
 * or two, and the statements costing most often gain nothing).  A bracket
 * that proves an arm faster while other candidates are open ends the run
 * too when a statement waits in the queue that weighs at least what this
 * one still costs under the proven arm, so that a statement with a gain
 * in hand gives way to those without one, while one still the heaviest
 * goes on with its turn.  A run that yields
 * leaves its entry one turn more (and, after a proof, lighter by the
 * arm's speed-up), and the worker puts it back into the queue, where the
 * entries with fewer turns go first.  Between rounds the
 * caller's pace function keeps the worker within its budget (the CPU time
 * each round took), outside any transaction (no lock is held while it
 * sleeps).
 *
 * An error in a round (permission denied, an object gone, a write
 * refused) ends the entry's run: it is logged and counted, never retried.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/xact.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/params.h"
#include "optimizer/optimizer.h"
#include "parser/parser.h"
#include "portability/instr_time.h"
#include "tcop/dest.h"
#include "tcop/tcopprot.h"
#include "utils/elog.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "paired.h"
#include "compat/compat_executor.h"
#include "core/core.h"
#include "shadow/shadow.h"

/* a default run's timeout is never shorter (ms) */
#define SHADOW_MIN_DEFAULT_TIMEOUT_MS	1000.0
/* candidate arms run in one bracket between two default runs */
#define SHADOW_BRACKET_ARMS		2
/* a default run opens the next bracket if it ended at most this long ago (s) ... */
#define SHADOW_BRACKET_WINDOW_S	10.0
/* ... or this many times its own time, if longer */
#define SHADOW_BRACKET_WINDOW_RUNS 10.0

/* how an entry's run ends */
typedef enum ShadowOutcome
{
	SHADOW_GOING,				/* still running */
	SHADOW_DONE,				/* every candidate has its verdict */
	SHADOW_CHANGED,				/* the text no longer gives the captured queryId */
	SHADOW_NOT_SHADOWABLE,		/* no longer a plain SELECT without side effects */
	SHADOW_DEFAULT_TIMED_OUT,	/* the default plan ran past its timeout */
	SHADOW_CUT_SHORT,			/* budget, shutdown or load */
	SHADOW_FAILED,				/* a round raised an error */
	SHADOW_YIELDED,				/* an arm proven, others open: back to the queue */
	SHADOW_RESET				/* ruvector_dag_reset() committed meanwhile */
} ShadowOutcome;

static const char *const outcome_names[] = {
	"going", "done", "changed", "not shadowable", "default timed out",
	"cut short", "failed", "yielded", "reset"
};

/*
 * a usable arm, whether another parameter class of the statement proved
 * it, whether it is favored (the database's statements favor it, or its
 * plan relieves an oversubscribed default plan), its plan's estimated
 * cost over the default plan's, and its pairs screened without parallel
 * workers (screened: they found it faster)
 */
typedef struct ShadowCandidate
{
	int			arm;
	bool		proven_elsewhere;
	bool		favored;
	double		cost_ratio;
	NdagPaired	serial_pairs;
	bool		screened;
} ShadowCandidate;

/*
 * one execution's measure: its wall-clock time, and of it the time the
 * load of other processes took from it (the waits for a CPU of the worker
 * and its parallel workers, shadow_cpu_waits.c; NaN: not known), and the
 * parallel workers it launched
 */
typedef struct ShadowTiming
{
	double		ms;
	double		load_ms;
	int			workers;
	bool		timed_out;
} ShadowTiming;

/* one entry's run */
typedef struct ShadowRun
{
	const NdagShadowEntry *entry;
	const char *text;			/* the statement of the round's capture */
	const char *search_path;
	int			capture;		/* the round's capture of the entry */
	int			usable[NDAG_SHADOW_CAPTURES];	/* captures of the class, in turn */
	int			nusable;
	int			last_default_capture;	/* the capture last_default measured */
	int			outcome;		/* ShadowOutcome */
	uint64		klass;			/* parameter class its pairs are for */
	ShadowCandidate cand[NDAG_MAX_ARMS];
	int			ncand;
	int			pursued;		/* candidates [0, pursued) are pursued now */
	int			turns;			/* the entry's turns, this one included */
	int			pairs;			/* pairs run for the entry */
	double		proven_speedup; /* of the arm the run proved faster, 0 none */
	int			brackets;		/* brackets run for the entry */
	ShadowTiming last_default;	/* the default's latest run */
	instr_time	last_default_at;	/* its end, zero: none yet */
	bool		last_default_serial;	/* it ran without parallel workers */
	bool		serial;			/* the current bracket is screened serially */
	double		round_busy_ms;	/* the last round, wall-clock */
	double		round_worker_ms;	/* its runs' ms times their parallel workers */
	double		round_worker_cpu_ms;	/* those workers' CPU time */
	double		round_cpu_ms;	/* its CPU time: the worker's own and its workers' */
} ShadowRun;

/*
 * NdagShadowSessionSettings
 *		The settings of a shadow worker's session, above anything the role
 *		or database sets: neural_dag's hooks off (ruvector.dag_mode = off)
 *		and every transaction read-only.
 */
void
NdagShadowSessionSettings(void)
{
	SetConfigOption("ruvector.dag_mode", "off", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_read_only", "on", PGC_SUSET,
					PGC_S_OVERRIDE);
}

/*
 * use_capture
 *		Make capture c of the entry the one the round parses and runs; its
 *		bound parameters, restored in the current context.
 */
static ParamListInfo
use_capture(ShadowRun *run, int c)
{
	run->capture = c;
	run->text = NdagShadowEntryText(run->entry, c);
	return NdagShadowEntryParams(run->entry, c);
}

/*
 * shadow_query
 *		Parse, analyse and rewrite the statement with its parameters (in
 *		the current transaction); NULL, with the run's outcome set, when it
 *		is no longer the captured statement or no longer shadowable.
 */
static Query *
shadow_query(ShadowRun *run, ParamListInfo params)
{
	List	   *raw = raw_parser(run->text, RAW_PARSE_DEFAULT);
	Oid		   *types;
	List	   *queries;
	Query	   *query;

	if (list_length(raw) != 1)
	{
		run->outcome = SHADOW_CHANGED;
		return NULL;
	}
	types = palloc0(sizeof(Oid) * Max(params->numParams, 1));
	for (int i = 0; i < params->numParams; i++)
		types[i] = params->params[i].ptype;
	queries = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw),
												 run->text, types,
												 params->numParams, NULL);
	if (list_length(queries) != 1)
	{
		run->outcome = SHADOW_CHANGED;
		return NULL;
	}
	query = linitial_node(Query, queries);
	if ((uint64) query->queryId != (uint64) run->entry->query_id)
	{
		run->outcome = SHADOW_CHANGED;
		return NULL;
	}
	if (!NdagShadowable(query))
	{
		run->outcome = SHADOW_NOT_SHADOWABLE;
		return NULL;
	}
	return query;
}

/*
 * plan_arm
 *		The statement planned under an arm; NULL when the arm is gone.
 */
static PlannedStmt *
plan_arm(ShadowRun *run, int arm_id, Query *query, ParamListInfo params)
{
	const NdagArm *arm = NdagArmGet(arm_id);

	if (arm == NULL)
		return NULL;
	return NdagPlanUnderArm(arm, copyObject(query), run->text,
							CURSOR_OPT_PARALLEL_OK, params);
}

/*
 * candidate_cmp
 *		Arms proven for another parameter class of the statement first,
 *		then those an earlier run left leading (their pairs so far find
 *		them faster), then lowest estimated cost ratio first, ties by arm
 *		id.
 */
static int
candidate_cmp(const void *x, const void *y)
{
	const ShadowCandidate *a = x;
	const ShadowCandidate *b = y;

	if (a->proven_elsewhere != b->proven_elsewhere)
		return a->proven_elsewhere ? -1 : 1;
	if (a->screened != b->screened)
		return a->screened ? -1 : 1;
	if (a->cost_ratio != b->cost_ratio)
		return a->cost_ratio < b->cost_ratio ? -1 : 1;
	return a->arm - b->arm;
}

/*
 * interleave_favored
 *		After the arms proven elsewhere and those leading, which keep their
 *		places, the others (in candidate_cmp's order) take turns: the next
 *		by estimated cost ratio, then the next favored one (the database's
 *		statements favor it, NdagQueryMemoryFavoredArms, or it relieves an
 *		oversubscribed default plan), and so on.  An arm proven for
 *		many statements (no_parallel where parallel plans lose on a small
 *		machine) is then tried second instead of after every arm its
 *		estimated cost puts first, while the statement's own cheapest
 *		alternative (the arm that may be the one for it alone) still goes
 *		first.
 */
static void
interleave_favored(ShadowCandidate *cand, int ncand)
{
	ShadowCandidate *rest;
	bool	   *taken;
	int			first = 0;
	int			nrest;
	bool		favored_turn = false;

	while (first < ncand && (cand[first].proven_elsewhere || cand[first].screened))
		first++;
	nrest = ncand - first;
	if (nrest < 2)
		return;
	rest = palloc(sizeof(ShadowCandidate) * nrest);
	taken = palloc0(sizeof(bool) * nrest);
	memcpy(rest, cand + first, sizeof(ShadowCandidate) * nrest);
	for (int out = first; out < ncand; out++)
	{
		int			pick = -1;

		for (int i = 0; i < nrest && pick < 0; i++)
			if (!taken[i] && (!favored_turn || rest[i].favored))
				pick = i;
		for (int i = 0; i < nrest && pick < 0; i++)
			if (!taken[i])
				pick = i;
		taken[pick] = true;
		cand[out] = rest[pick];
		favored_turn = !favored_turn;
	}
	pfree(rest);
	pfree(taken);
}

/*
 * log_candidates
 *		Say at DEBUG1 in which order the run tries its candidates (an arm
 *		proven for another class of the statement marked with a star, one
 *		an earlier run left leading with a plus, one the database favors
 *		with a caret).
 */
static void
log_candidates(const ShadowRun *run)
{
	StringInfoData order;

	if (!message_level_is_interesting(DEBUG1))
		return;
	initStringInfo(&order);
	for (int c = 0; c < run->ncand; c++)
		appendStringInfo(&order, "%s%d%s%s%s", c > 0 ? " " : "", run->cand[c].arm,
						 run->cand[c].proven_elsewhere ? "*" : "",
						 run->cand[c].screened ? "+" : "",
						 run->cand[c].favored ? "^" : "");
	ereport(DEBUG1,
			(errmsg("neural_dag shadow run of query %lld, class %016llx: candidate arms in order: %s",
					(long long) run->entry->query_id,
					(unsigned long long) run->klass, order.data)));
	pfree(order.data);
}

/*
 * capture_class
 *		The parameter class of the capture in use: its default plan's shape
 *		and the rows bucket its parameter set measured.
 */
static uint64
capture_class(const ShadowRun *run, Query *query, ParamListInfo params)
{
	uint64		shape = NdagPlanShapeHash(NdagPlanDefault(query, run->text,
														  CURSOR_OPT_PARALLEL_OK,
														  params));

	return NdagParamClassOf(run->entry->dbid, run->entry->query_id, shape,
							query, params);
}

/*
 * keep_class_captures
 *		The captures the run takes in turn: the first, and every other one
 *		of the run's class (its default plan planned now, another parameter
 *		set may plan otherwise, and the rows bucket its parameter set
 *		measured: a verdict holds for the class it was measured on).
 *		Leaves the first capture in use.
 */
static void
keep_class_captures(ShadowRun *run)
{
	run->usable[0] = 0;
	run->nusable = 1;
	for (int c = 1; c < run->entry->ncaptures; c++)
	{
		ParamListInfo params = use_capture(run, c);
		Query	   *query = shadow_query(run, params);

		if (query == NULL)
		{
			/* that capture only is unusable */
			run->outcome = SHADOW_GOING;
			continue;
		}
		if (capture_class(run, query, params) == run->klass)
			run->usable[run->nusable++] = c;
	}
	(void) use_capture(run, 0);
}

/*
 * add_planned_workers
 *		Add the parallel workers planned by the Gather and Gather Merge
 *		nodes of a plan tree (through appends and subquery scans) to
 *		*count.
 */
static void
add_planned_workers(Plan *plan, int *count)
{
	ListCell   *lc;

	if (plan == NULL)
		return;
	if (IsA(plan, Gather))
		*count += ((Gather *) plan)->num_workers;
	else if (IsA(plan, GatherMerge))
		*count += ((GatherMerge *) plan)->num_workers;
	else if (IsA(plan, Append))
		foreach(lc, ((Append *) plan)->appendplans)
			add_planned_workers(lfirst(lc), count);
	else if (IsA(plan, MergeAppend))
		foreach(lc, ((MergeAppend *) plan)->mergeplans)
			add_planned_workers(lfirst(lc), count);
	else if (IsA(plan, SubqueryScan))
		add_planned_workers(((SubqueryScan *) plan)->subplan, count);
	add_planned_workers(plan->lefttree, count);
	add_planned_workers(plan->righttree, count);
}

/*
 * planned_processes
 *		The processes a run of a plan would keep busy: the worker and the
 *		parallel workers its Gather nodes plan for (its subplans' too).
 */
static int
planned_processes(PlannedStmt *plan)
{
	int			workers = 0;
	ListCell   *lc;

	if (plan == NULL)
		return 1;
	add_planned_workers(plan->planTree, &workers);
	foreach(lc, plan->subplans)
		add_planned_workers(lfirst(lc), &workers);
	return 1 + workers;
}

/*
 * relieves_oversubscription
 *		Whether an arm's plan keeps fewer processes busy than a default plan
 *		that keeps more busy than the machine has CPUs: the planner costs a
 *		parallel plan as if its workers ran at once, and where they share
 *		too few CPUs the plan with fewer processes often wins (no_parallel
 *		on two CPUs), whatever its estimated cost says.
 */
static bool
relieves_oversubscription(int default_processes, PlannedStmt *plan)
{
	return default_processes > NdagShadowCpus() &&
		planned_processes(plan) < default_processes;
}

/*
 * prepare_round
 *		Plan the default and each arm still open for the statement's class,
 *		tell the query memory what each plans to, and keep the usable ones
 *		(a plan of their own, not forced past disable_cost, not estimated
 *		costlier than ruvector.dag_shadow_max_cost_ratio times the
 *		default), in candidate_cmp's order with the favored arms
 *		interleaved (interleave_favored).  An arm whose pairs in the
 *		query memory find it faster so far (an earlier run screened it,
 *		or paired it as users run it) counts as screened: its brackets run
 *		as users run the plans from the first.
 */
static void
prepare_round(ShadowRun *run)
{
	const NdagShadowEntry *e = run->entry;
	ParamListInfo params = use_capture(run, 0);
	Query	   *query = shadow_query(run, params);
	PlannedStmt *default_plan;
	uint64		shapes[NDAG_MAX_ARMS];
	int			nshapes = 0;
	bool		default_forced;
	double		default_cost;
	uint64		open;
	uint64		proven_elsewhere;
	uint64		favored;
	uint64		leading;
	int			default_processes;

	if (query == NULL)
		return;
	default_plan = NdagPlanDefault(copyObject(query), run->text,
								   CURSOR_OPT_PARALLEL_OK, params);
	default_forced = NdagPlanForced(default_plan);
	default_cost = default_plan->planTree->total_cost;
	default_processes = planned_processes(default_plan);
	shapes[nshapes++] = NdagPlanShapeHash(default_plan);
	/*
	 * the class: the default plan's shape where the pairs are measured and
	 * the rows bucket of the captured parameter set
	 */
	run->klass = NdagParamClassOf(e->dbid, e->query_id, shapes[0], query,
								  params);
	open = NdagQueryMemoryOpenArms(e->dbid, e->query_id, run->klass,
								   NdagArmsEnabledMask());
	proven_elsewhere = NdagQueryMemoryProvenElsewhere(e->dbid, e->query_id,
													  run->klass);
	favored = NdagQueryMemoryFavoredArms(e->dbid);
	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
	{
		PlannedStmt *plan;
		uint64		shape;
		bool		same = false;
		bool		forced;
		double		ratio;

		if ((open & (UINT64CONST(1) << arm)) == 0)
			continue;
		plan = plan_arm(run, arm, query, params);
		if (plan == NULL)
			continue;
		shape = NdagPlanShapeHash(plan);
		for (int i = 0; i < nshapes && !same; i++)
			same = shapes[i] == shape;
		forced = !default_forced && NdagPlanForced(plan);
		ratio = NdagPlanCostRatio(default_cost, plan);
		NdagQueryMemoryMarkPlanned(e->dbid, e->query_id, run->klass, arm, same,
								   ratio, forced);
		if (same || forced || ratio > ndag_shadow_max_cost_ratio)
			continue;
		shapes[nshapes++] = shape;
		run->cand[run->ncand].arm = arm;
		run->cand[run->ncand].proven_elsewhere =
			(proven_elsewhere & (UINT64CONST(1) << arm)) != 0;
		run->cand[run->ncand].favored =
			(favored & (UINT64CONST(1) << arm)) != 0 ||
			relieves_oversubscription(default_processes, plan);
		run->cand[run->ncand].cost_ratio = ratio;
		run->ncand++;
	}
	leading = NdagQueryMemoryLeadingArms(e->dbid, e->query_id, run->klass, open);
	for (int c = 0; c < run->ncand; c++)
		run->cand[c].screened = (leading & (UINT64CONST(1) << run->cand[c].arm)) != 0;
	qsort(run->cand, run->ncand, sizeof(ShadowCandidate), candidate_cmp);
	interleave_favored(run->cand, run->ncand);
	if (run->ncand == 0)
		run->outcome = SHADOW_DONE;
	else
		keep_class_captures(run);
	log_candidates(run);
}

/*
 * add_launched_workers
 *		Add the parallel workers launched by the Gather and Gather Merge
 *		nodes of a plan's state tree to *(int *) count.
 */
static bool
add_launched_workers(PlanState *ps, void *count)
{
	if (ps == NULL)
		return false;
	if (IsA(ps, GatherState))
		*(int *) count += ((GatherState *) ps)->nworkers_launched;
	else if (IsA(ps, GatherMergeState))
		*(int *) count += ((GatherMergeState *) ps)->nworkers_launched;
	return planstate_tree_walker(ps, add_launched_workers, count);
}

/*
 * execute_plan
 *		Run a plan to completion, its rows discarded; *workers is set to
 *		the parallel workers it launched (as far as it got).
 */
static void
execute_plan(ShadowRun *run, PlannedStmt *plan, ParamListInfo params,
			 int *workers)
{
	QueryDesc  *qd;

	qd = CreateQueryDesc(plan, run->text, GetActiveSnapshot(),
						 InvalidSnapshot, None_Receiver, params, NULL, 0);
	ExecutorStart(qd, 0);
	PG_TRY();
	{
		NdagExecutorRun(qd, ForwardScanDirection, 0);
	}
	PG_FINALLY();
	{
		(void) add_launched_workers(qd->planstate, workers);
	}
	PG_END_TRY();
	ExecutorFinish(qd);
	ExecutorEnd(qd);
	FreeQueryDesc(qd);
}

/*
 * workers_cpu_ms
 *		The CPU time of a run's parallel workers for the account: as the
 *		kernel counts it when each reported, else their wall-clock time
 *		(the run's ms times the workers).
 */
static double
workers_cpu_ms(int workers, double run_ms)
{
	double		reported_ms = NdagShadowWaitsWorkersMs(workers);

	return isfinite(reported_ms) ? reported_ms : run_ms * workers;
}

/*
 * timed_run
 *		Run a plan in a subtransaction of its own, with a snapshot of its
 *		own and a statement timeout of timeout_ms, and roll it back; a
 *		timeout is a result (timed_out, ms = the timeout), any other error
 *		is re-thrown.
 */
static ShadowTiming
timed_run(ShadowRun *run, PlannedStmt *plan, ParamListInfo params,
		  double timeout_ms)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	int			timeout = (int) Min(ceil(Max(timeout_ms, 1.0)), (double) INT_MAX);
	instr_time	start;
	instr_time	duration;
	ShadowTiming result = {0, 0, 0, false};
	NdagShadowWaits waits;
	ErrorData  *volatile edata = NULL;
	volatile int workers = 0;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	NdagShadowWaitsBegin(&waits);
	INSTR_TIME_SET_CURRENT(start);
	PG_TRY();
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		enable_timeout_after(STATEMENT_TIMEOUT, timeout);
		execute_plan(run, plan, params, (int *) &workers);
		disable_timeout(STATEMENT_TIMEOUT, false);
		/* a timeout that fired just after the end cancels nothing else */
		if (get_timeout_indicator(STATEMENT_TIMEOUT, true))
			QueryCancelPending = false;
		PopActiveSnapshot();
	}
	PG_CATCH();
	{
		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
	}
	PG_END_TRY();
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	result.ms = INSTR_TIME_GET_MILLISEC(duration);
	result.workers = workers;
	result.load_ms = NdagShadowWaitsLoadMs(&waits, workers, result.ms);
	run->round_worker_ms += result.ms * workers;
	run->round_worker_cpu_ms += workers_cpu_ms(workers, result.ms);

	/* nothing it did is kept, whatever happened */
	RollbackAndReleaseCurrentSubTransaction();
	MemoryContextSwitchTo(oldcxt);
	CurrentResourceOwner = oldowner;
	if (edata != NULL)
	{
		if (edata->sqlerrcode != ERRCODE_QUERY_CANCELED || result.ms < timeout)
			ReThrowError(edata);
		FreeErrorData(edata);
		result.ms = timeout;
		result.timed_out = true;
	}
	return result;
}

/*
 * default_timeout_ms
 *		The default plan's timeout: ruvector.dag_shadow_default_timeout_factor
 *		times its captured time, at least SHADOW_MIN_DEFAULT_TIMEOUT_MS.
 */
static double
default_timeout_ms(const NdagShadowEntry *e)
{
	return Max(SHADOW_MIN_DEFAULT_TIMEOUT_MS,
			   ndag_shadow_default_timeout_factor * e->default_ms);
}

/* what one round does, for shadow_round */
typedef struct RoundCall
{
	int			narms;			/* 0: the prepare round */
	int			arms[SHADOW_BRACKET_ARMS];
	NdagArmVerdict verdict[SHADOW_BRACKET_ARMS];
} RoundCall;

/*
 * default_fresh
 *		Whether the run's latest default measure may still open a bracket:
 *		taken within SHADOW_BRACKET_WINDOW_S seconds, or
 *		SHADOW_BRACKET_WINDOW_RUNS times its own time if that is longer.
 */
static bool
default_fresh(const ShadowRun *run, instr_time now)
{
	double		age_ms;

	if (INSTR_TIME_IS_ZERO(run->last_default_at))
		return false;
	INSTR_TIME_SUBTRACT(now, run->last_default_at);
	age_ms = INSTR_TIME_GET_MILLISEC(now);
	return age_ms <= Max(SHADOW_BRACKET_WINDOW_S * 1000.0,
						 SHADOW_BRACKET_WINDOW_RUNS * run->last_default.ms);
}

/*
 * run_default
 *		One run of the default plan, remembered as the run's latest default
 *		measure; false (the run's outcome set) when it timed out.
 */
static bool
run_default(ShadowRun *run, PlannedStmt *plan, ParamListInfo params)
{
	ShadowTiming def = timed_run(run, plan, params,
								 default_timeout_ms(run->entry));

	NdagShadowCount(NDAG_SHADOW_DEFAULT_RUNS, 1);
	if (def.timed_out)
	{
		NdagShadowCount(NDAG_SHADOW_TIMEOUTS, 1);
		run->outcome = SHADOW_DEFAULT_TIMED_OUT;
		return false;
	}
	run->last_default = def;
	run->last_default_serial = run->serial;
	run->last_default_capture = run->capture;
	INSTR_TIME_SET_CURRENT(run->last_default_at);
	return true;
}

/*
 * plan_bracket
 *		Plan the default and the call's arms (NULL, verdict not faster, for
 *		an arm gone), without parallel workers when serial: under
 *		max_parallel_workers_per_gather = 0 for every plan of the bracket
 *		alike, so that its pairs stay fair.  False when serial and an arm
 *		then plans like the default (its difference needs parallel
 *		workers): the bracket must run as planned for the users.
 */
static bool
plan_bracket(ShadowRun *run, RoundCall *call, Query *query,
			 ParamListInfo params, bool serial, PlannedStmt **default_plan,
			 PlannedStmt **arm_plan)
{
	int			nest = NewGUCNestLevel();
	bool		distinct = true;

	if (serial)
		(void) set_config_option("max_parallel_workers_per_gather", "0",
								 PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE,
								 true, 0, false);
	PG_TRY();
	{
		*default_plan = NdagPlanDefault(copyObject(query), run->text,
										CURSOR_OPT_PARALLEL_OK, params);
		for (int i = 0; i < call->narms; i++)
		{
			arm_plan[i] = plan_arm(run, call->arms[i], query, params);
			if (arm_plan[i] == NULL)
				call->verdict[i] = NDAG_VERDICT_NOT_FASTER;
			else if (serial &&
					 NdagPlanShapeHash(arm_plan[i]) == NdagPlanShapeHash(*default_plan))
				distinct = false;
		}
	}
	PG_FINALLY();
	{
		AtEOXact_GUC(true, nest);
	}
	PG_END_TRY();
	return distinct;
}

/*
 * bracket_processes
 *		The most processes a run of the bracket's plans would keep busy.
 */
static int
bracket_processes(const RoundCall *call, PlannedStmt *default_plan,
				  PlannedStmt **arm_plan)
{
	int			most = planned_processes(default_plan);

	for (int i = 0; i < call->narms; i++)
		if (arm_plan[i] != NULL)
			most = Max(most, planned_processes(arm_plan[i]));
	return most;
}

/*
 * bracket_capture
 *		The capture a bracket runs: the usable captures in turn, one per
 *		cycle over the candidates (each candidate's first pair on the
 *		first capture, its second on the next, ...), so that brackets
 *		chain on one capture's default runs within a cycle.
 */
static int
bracket_capture(const ShadowRun *run)
{
	int			per_cycle = Max((run->ncand + SHADOW_BRACKET_ARMS - 1) /
								SHADOW_BRACKET_ARMS, 1);

	if (run->nusable <= 1)
		return 0;
	return run->usable[(run->brackets / per_cycle) % run->nusable];
}

/*
 * run_candidate
 *		The run's candidate of an arm, NULL when it is none.
 */
static ShadowCandidate *
run_candidate(ShadowRun *run, int arm)
{
	for (int c = 0; c < run->ncand; c++)
		if (run->cand[c].arm == arm)
			return &run->cand[c];
	return NULL;
}

/*
 * call_screened
 *		Whether an arm of the call passed its serial screening: its
 *		bracket then runs as users run the plans.
 */
static bool
call_screened(ShadowRun *run, const RoundCall *call)
{
	for (int i = 0; i < call->narms; i++)
	{
		ShadowCandidate *c = run_candidate(run, call->arms[i]);

		if (c != NULL && c->screened)
			return true;
	}
	return false;
}

/*
 * run_ms
 *		A run's time: uncontended (wall-clock less the time other
 *		processes' load took from it) or wall-clock.
 */
static double
run_ms(const ShadowTiming *t, bool uncontended)
{
	return uncontended ? Max(t->ms - t->load_ms, 0.001) : t->ms;
}

/* what an arm's pair compares, and the wall-clock times beside */
typedef struct PairTimes
{
	double		default_ms;
	double		arm_ms;
	double		wall_default_ms;
	double		wall_arm_ms;
	int			default_workers;	/* parallel workers the default launched */
	int			arm_workers;	/* and the arm */
	bool		uncontended;	/* the times compared are uncontended */
} PairTimes;

/*
 * pair_times
 *		The two sides of an arm's pair: the arm's run against the geometric
 *		mean of the default runs around it.  When the load's part of each
 *		of the three runs is known (for a parallel run: every worker it
 *		launched reported) and the arm finished, each side is its
 *		uncontended time, so that other processes taking the CPUs (the load
 *		of a busy machine, which comes and goes within a bracket) weigh on
 *		neither side, while waits for I/O or locks, and the waits of a
 *		parallel plan's processes for each other, stay in; else wall-clock.
 */
static PairTimes
pair_times(const ShadowTiming *opening, const ShadowTiming *closing,
		   const ShadowTiming *arm)
{
	PairTimes	t;

	t.uncontended = !arm->timed_out && isfinite(opening->load_ms) &&
		isfinite(closing->load_ms) && isfinite(arm->load_ms);
	t.default_ms = sqrt(run_ms(opening, t.uncontended) *
						run_ms(closing, t.uncontended));
	t.arm_ms = run_ms(arm, t.uncontended);
	t.wall_default_ms = sqrt(opening->ms * closing->ms);
	t.wall_arm_ms = arm->ms;
	t.default_workers = Max(opening->workers, closing->workers);
	t.arm_workers = arm->workers;
	return t;
}

/*
 * screen_pair
 *		One pair of a bracket screened without parallel workers, kept by
 *		the run and never a proof: the users run the plans with their
 *		parallel workers, which can change which plan is faster.  Serial
 *		pairs that find the arm not faster refute it for the class (fair
 *		to both sides, and not worth the CPUs of parallel pairs); serial
 *		pairs that find it faster make it screened: its later brackets
 *		run as users run them, and only their pairs, in the query memory,
 *		can prove it.  Returns the arm's verdict (open while screened).
 */
static NdagArmVerdict
screen_pair(ShadowRun *run, int arm, double default_ms, double arm_ms,
			bool timed_out)
{
	ShadowCandidate *c = run_candidate(run, arm);
	int			verdict = NDAG_PAIRED_NOT_FASTER;

	if (c == NULL)
		return NDAG_VERDICT_OPEN;
	if (!timed_out)
	{
		ndag_paired_add(&c->serial_pairs, arm_ms, default_ms);
		verdict = ndag_paired_verdict(&c->serial_pairs);
	}
	if (verdict == NDAG_PAIRED_NOT_FASTER)
		return NdagQueryMemoryRefute(run->entry->dbid, run->entry->query_id,
									 run->klass, arm);
	if (verdict == NDAG_PAIRED_FASTER && !c->screened)
	{
		c->screened = true;
		NdagShadowCount(NDAG_SHADOW_SCREENED, 1);
	}
	return NDAG_VERDICT_OPEN;
}

/*
 * timeout_proves_slower
 *		Whether an arm cut by its timeout (ruvector.dag_shadow_timeout_factor
 *		times the bracket's opening default run) ran that many times the
 *		closing default run too.  A load that rose during the bracket slows
 *		the arm and the closing run alike: an arm cut below that factor of
 *		the closing run proved nothing, and its pair is left out.
 */
static bool
timeout_proves_slower(const ShadowTiming *arm, const ShadowTiming *closing)
{
	return arm->ms >= ndag_shadow_timeout_factor * closing->ms;
}

/*
 * log_pair
 *		Say at DEBUG2 what a pair measured (and its wall-clock times) and
 *		the arm's verdict since.
 */
static void
log_pair(ShadowRun *run, int arm, const PairTimes *t, bool timed_out,
		 NdagArmVerdict verdict)
{
	static const char *const verdict_names[] = {
		[NDAG_VERDICT_OPEN] = "open",
		[NDAG_VERDICT_FASTER] = "faster",
		[NDAG_VERDICT_NOT_FASTER] = "not faster"
	};
	ShadowCandidate *c = run_candidate(run, arm);

	ereport(DEBUG2,
			(errmsg("neural_dag shadow pair of query %lld, class %016llx, bracket %d: arm %d %.1f ms%s, default %.1f ms, %s, %s, %s; wall-clock arm %.1f ms (%d workers), default %.1f ms (%d workers)",
					(long long) run->entry->query_id,
					(unsigned long long) run->klass, run->brackets, arm,
					t->arm_ms, timed_out ? " (timed out)" : "", t->default_ms,
					run->serial ? "serial" : "parallel",
					t->uncontended ? "uncontended" : "wall-clock",
					c != NULL && c->screened && run->serial ? "screened" :
					verdict_names[verdict], t->wall_arm_ms, t->arm_workers,
					t->wall_default_ms, t->default_workers)));
}

/*
 * bracket_round
 *		One bracket for the round's candidates: their arm runs between two
 *		runs of the default plan (the first one is the previous bracket's
 *		closing run when it is still fresh and planned alike), the arms'
 *		order alternating from bracket to bracket.  Each arm is paired with
 *		the geometric mean of the two default runs around it, so that a
 *		load that rises or falls through the bracket weighs on both sides
 *		of its pair alike; a default run serves every arm of its bracket
 *		and the next bracket.  When the budget of the moment is below the
 *		processes a parallel run of the bracket would take, every plan of
 *		the bracket is planned without parallel workers (a cheaper
 *		screening, fair to both sides: screen_pair), unless an arm differs
 *		from the default only with them or an arm of the call passed its
 *		screening.  An arm's timeout is ruvector.dag_shadow_timeout_factor
 *		times the opening default run; a timeout refutes the arm only when
 *		the closing run was not slower (timeout_proves_slower).  The pairs of a bracket run as
 *		users run it go to the query memory.  The verdicts are returned in
 *		call (OPEN also when the round ended the run).
 */
static void
bracket_round(ShadowRun *run, RoundCall *call)
{
	const NdagShadowEntry *e = run->entry;
	ParamListInfo params = use_capture(run, bracket_capture(run));
	Query	   *query = shadow_query(run, params);
	PlannedStmt *default_plan;
	PlannedStmt *arm_plan[SHADOW_BRACKET_ARMS];
	ShadowTiming alt[SHADOW_BRACKET_ARMS];
	ShadowTiming opening;
	instr_time	now;
	int			processes;

	if (query == NULL)
		return;
	(void) plan_bracket(run, call, query, params, false, &default_plan,
						arm_plan);
	run->serial = false;
	processes = bracket_processes(call, default_plan, arm_plan);
	if (processes > 1 && NdagShadowBudget() < processes &&
		!call_screened(run, call))
	{
		PlannedStmt *serial_default;
		PlannedStmt *serial_arm[SHADOW_BRACKET_ARMS];

		if (plan_bracket(run, call, query, params, true, &serial_default,
						 serial_arm))
		{
			default_plan = serial_default;
			memcpy(arm_plan, serial_arm, sizeof(arm_plan));
			run->serial = true;
		}
	}

	INSTR_TIME_SET_CURRENT(now);
	if ((!default_fresh(run, now) || run->last_default_serial != run->serial ||
		 run->last_default_capture != run->capture) &&
		!run_default(run, default_plan, params))
		return;
	opening = run->last_default;
	for (int k = 0; k < call->narms; k++)
	{
		int			i = run->brackets % 2 == 0 ? k : call->narms - 1 - k;

		if (arm_plan[i] != NULL)
			alt[i] = timed_run(run, arm_plan[i], params,
							   ndag_shadow_timeout_factor * opening.ms);
	}
	if (!run_default(run, default_plan, params))
		return;
	run->brackets++;
	NdagShadowCount(NDAG_SHADOW_BRACKETS, 1);
	/* a reset committed meanwhile forgot what the pairs would go to */
	if (NdagShadowResetSince(e))
	{
		run->outcome = SHADOW_RESET;
		return;
	}

	for (int i = 0; i < call->narms; i++)
	{
		PairTimes	t;

		if (arm_plan[i] == NULL)
			continue;
		t = pair_times(&opening, &run->last_default, &alt[i]);
		run->pairs++;
		NdagShadowCount(NDAG_SHADOW_PAIRS, 1);
		if (alt[i].timed_out)
			NdagShadowCount(NDAG_SHADOW_TIMEOUTS, 1);
		if (alt[i].timed_out && !timeout_proves_slower(&alt[i], &run->last_default))
			call->verdict[i] = NDAG_VERDICT_OPEN;
		else if (run->serial)
		{
			NdagShadowCount(NDAG_SHADOW_SERIAL_PAIRS, 1);
			call->verdict[i] = screen_pair(run, call->arms[i], t.default_ms,
										   t.arm_ms, alt[i].timed_out);
		}
		else
		{
			ShadowCandidate *c = run_candidate(run, call->arms[i]);

			call->verdict[i] = NdagQueryMemoryAddPair(e->dbid, e->query_id,
													  run->klass, call->arms[i],
													  t.default_ms, t.arm_ms,
													  alt[i].timed_out,
													  c != NULL && c->screened);
		}
		log_pair(run, call->arms[i], &t, alt[i].timed_out, call->verdict[i]);
	}
}

/*
 * shadow_round
 *		One round in a read-only transaction of its own, under the captured
 *		search_path, locks waited for at most the default's timeout; an
 *		error ends the run (logged, counted).  The time it took is counted,
 *		and the CPU time it took kept for the account: the worker's own and
 *		its parallel workers'.
 */
static void
shadow_round(ShadowRun *run, RoundCall *call)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	char		lock_timeout[32];
	instr_time	start;
	instr_time	duration;

	snprintf(lock_timeout, sizeof(lock_timeout), "%d",
			 (int) Min(default_timeout_ms(run->entry), (double) INT_MAX));
	run->round_worker_ms = 0;
	run->round_worker_cpu_ms = 0;
	run->round_cpu_ms = -NdagShadowProcessCpuMs();
	INSTR_TIME_SET_CURRENT(start);
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		(void) set_config_option("transaction_read_only", "on", PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
		(void) set_config_option("search_path", run->search_path, PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
		(void) set_config_option("lock_timeout", lock_timeout, PGC_USERSET,
								 PGC_S_SESSION, GUC_ACTION_LOCAL, true, 0, false);
		Assert(XactReadOnly);
		PushActiveSnapshot(GetTransactionSnapshot());
		if (call->narms == 0)
			prepare_round(run);
		else
			bracket_round(run, call);
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ereport(LOG,
				(errmsg("neural_dag shadow run of query %lld failed: %s",
						(long long) run->entry->query_id, edata->message),
				 errdetail("SQLSTATE %s; the statement is not run in the background again until it is captured again.",
						   unpack_sql_state(edata->sqlerrcode))));
		FreeErrorData(edata);
		run->outcome = SHADOW_FAILED;
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	run->round_busy_ms = INSTR_TIME_GET_MILLISEC(duration);
	run->round_cpu_ms += NdagShadowProcessCpuMs() + run->round_worker_cpu_ms;
	NdagShadowCount(NDAG_SHADOW_MS, (uint64) run->round_busy_ms);
}

/*
 * round_processes
 *		The processes the last round kept running on average: the worker,
 *		and the parallel workers its runs launched while they ran.
 */
static double
round_processes(const ShadowRun *run)
{
	if (!(run->round_busy_ms > 0))
		return 0;
	return 1.0 + run->round_worker_ms / run->round_busy_ms;
}

/*
 * count_outcome
 *		Count how an entry's run ended (a completed run counts as a run
 *		only).
 */
static void
count_outcome(const ShadowRun *run)
{
	switch ((ShadowOutcome) run->outcome)
	{
		case SHADOW_GOING:
		case SHADOW_DONE:
		case SHADOW_DEFAULT_TIMED_OUT:
			break;
		case SHADOW_FAILED:
			NdagShadowCount(NDAG_SHADOW_ERRORS, 1);
			break;
		case SHADOW_CHANGED:
		case SHADOW_NOT_SHADOWABLE:
		case SHADOW_CUT_SHORT:
		case SHADOW_RESET:
			NdagShadowCount(NDAG_SHADOW_SKIPPED, 1);
			break;
		case SHADOW_YIELDED:
			NdagShadowCount(NDAG_SHADOW_YIELDED, 1);
			break;
	}
}

/*
 * next_bracket
 *		The next candidates pursued and still open, up to most_arms, taken
 *		in turn from *next onwards (wrapping), so that every candidate
 *		pursued gets its first pair before any gets a third; their number
 *		(0: none left).
 */
static int
next_bracket(const ShadowRun *run, const bool *closed, int *next,
			 int most_arms, RoundCall *call)
{
	int			leading = Min(run->pursued, run->ncand);
	int			first = *next;

	call->narms = 0;
	for (int k = 0; k < leading && call->narms < most_arms; k++)
	{
		int			c = (first + k) % leading;

		if (closed[c])
			continue;
		call->arms[call->narms] = run->cand[c].arm;
		call->verdict[call->narms] = NDAG_VERDICT_OPEN;
		call->narms++;
		*next = (c + 1) % leading;
	}
	return call->narms;
}

/*
 * note_proven
 *		Remember the largest paired speed-up of the arms the run proved
 *		faster (at least 1: the query memory's figure, should it be gone).
 */
static void
note_proven(ShadowRun *run, int arm)
{
	NdagQueryStats stats;
	double		speedup = 1.0;

	if (NdagQueryMemoryGet(run->entry->dbid, run->entry->query_id, run->klass,
						   &stats) &&
		stats.pair_speedup[arm] > 1.0)
		speedup = stats.pair_speedup[arm];
	run->proven_speedup = Max(run->proven_speedup, speedup);
}

/*
 * remaining_weight_ms
 *		What the run's statement still costs the server once its users run
 *		the arm it proved: its weight divided by that arm's speed-up.
 */
static double
remaining_weight_ms(const ShadowRun *run)
{
	return run->entry->weight_ms / Max(run->proven_speedup, 1.0);
}

/*
 * any_open
 *		Whether a candidate of the run still waits for its verdict.
 */
static bool
any_open(const ShadowRun *run, const bool *closed)
{
	for (int c = 0; c < run->ncand; c++)
		if (!closed[c])
			return true;
	return false;
}

/*
 * NdagShadowRunEntry
 *		Run a captured statement's brackets: prepare, then the candidates
 *		pursued in turn (next_bracket), each until its verdict is in,
 *		calling pace after each round with the time it took (the run stops
 *		when pace says so), within ruvector.dag_shadow_max_pairs pairs (the
 *		run is then cut short while arms are still open).  When the
 *		candidates pursued are decided and others are open, the run yields
 *		if a statement waits that had fewer turns, else it pursues the next
 *		SHADOW_BRACKET_ARMS too.  Once a bracket proves an arm faster while
 *		other candidates are still open and a statement waits in the queue
 *		that weighs at least what this one still costs with the arm
 *		(remaining_weight_ms), the run yields too: users' executions run
 *		that arm from now on, and the statement's other arms wait.  A
 *		statement still the heaviest after its proof goes on with its
 *		turn's candidates (a 2x arm found first must not keep a 3x one
 *		untried for many runs).  Returns whether it yielded, the entry then
 *		one turn more and lighter by the proven arm's paired speed-up (the
 *		caller puts it back into the queue).
 *		Errors are logged and counted, never raised.
 */
bool
NdagShadowRunEntry(NdagShadowEntry *entry, NdagShadowPace pace,
				   void *pace_arg)
{
	MemoryContext cxt;
	MemoryContext oldcxt;
	ShadowRun  *run;
	RoundCall	call;
	bool		closed[NDAG_MAX_ARMS];
	int			next = 0;
	bool		yielded;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "neural_dag shadow run",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	run = palloc0(sizeof(ShadowRun));
	run->entry = entry;
	run->text = NdagShadowEntryText(entry, 0);
	run->search_path = NdagShadowEntryPath(entry);
	run->nusable = 1;
	run->last_default_capture = -1;
	run->outcome = SHADOW_GOING;
	run->pursued = SHADOW_BRACKET_ARMS;
	run->turns = entry->turns + 1;
	NdagShadowCount(NDAG_SHADOW_RUNS, 1);

	memset(&call, 0, sizeof(call));
	memset(closed, 0, sizeof(closed));
	shadow_round(run, &call);
	while (run->outcome == SHADOW_GOING)
	{
		int			room = ndag_shadow_max_pairs - run->pairs;

		if (next_bracket(run, closed, &next,
						 Max(Min(SHADOW_BRACKET_ARMS, room), 1), &call) == 0)
		{
			/* the candidates pursued are decided */
			if (run->pursued >= run->ncand || !any_open(run, closed))
				break;
			if (NdagShadowOthersWait(entry, run->turns - 1, 0.0))
			{
				run->outcome = SHADOW_YIELDED;
				break;
			}
			run->turns++;
			run->pursued += SHADOW_BRACKET_ARMS;
			continue;
		}
		if (room <= 0 ||
			!pace(run->round_busy_ms, round_processes(run), run->round_cpu_ms,
				  pace_arg))
		{
			run->outcome = SHADOW_CUT_SHORT;
			break;
		}
		shadow_round(run, &call);
		for (int i = 0; i < call.narms; i++)
		{
			ShadowCandidate *c = run_candidate(run, call.arms[i]);

			if (call.verdict[i] == NDAG_VERDICT_OPEN)
				continue;
			if (call.verdict[i] == NDAG_VERDICT_FASTER)
				note_proven(run, call.arms[i]);
			if (c != NULL)
				closed[c - run->cand] = true;
		}
		/* at its pairs cap the run is cut short instead (below) */
		if (run->outcome == SHADOW_GOING && run->proven_speedup > 0 &&
			run->pairs < ndag_shadow_max_pairs && any_open(run, closed) &&
			NdagShadowOthersWait(entry, INT_MAX, remaining_weight_ms(run)))
			run->outcome = SHADOW_YIELDED;
	}
	if (run->outcome == SHADOW_GOING)
		run->outcome = SHADOW_DONE;
	count_outcome(run);
	ereport(DEBUG1,
			(errmsg("neural_dag shadow run of query %lld: %d candidate arms, %d pursued, %d pairs, %d of %d captures, %s",
					(long long) entry->query_id, run->ncand,
					Min(run->pursued, run->ncand), run->pairs, run->nusable,
					entry->ncaptures, outcome_names[run->outcome])));
	(void) pace(run->round_busy_ms, round_processes(run), run->round_cpu_ms,
				pace_arg);
	yielded = run->outcome == SHADOW_YIELDED;
	if (yielded)
	{
		entry->turns = run->turns;
		entry->weight_ms = remaining_weight_ms(run);
	}
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	return yielded;
}
