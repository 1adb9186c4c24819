/*-------------------------------------------------------------------------
 *
 * replan.c
 *	  Planning a statement under an arm: the arm's planner settings are set
 *	  in a GUC nest level of their own around the planner and always
 *	  rolled back (also on error), as pg_hint_plan does, so that the
 *	  session's settings are exactly what they were.  Also the enabled arms
 *	  of the store, kept per backend until the store generation moves, and
 *	  the shape hash that tells whether two plans are the same.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "optimizer/cost.h"
#include "optimizer/planner.h"
#include "parser/parsetree.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "compat/compat_planner.h"
#include "core/core.h"
#include "plandag/plandag.h"
#include "planner/planner.h"
#include "store.h"

/* the enabled arms as of learned-state epoch arms_generation, by id */
static MemoryContext arms_cxt = NULL;
static NdagArm *arms[NDAG_MAX_ARMS];
static uint64 arms_mask = 0;
static uint64 arms_generation = 0;
static bool arms_loaded = false;

/* arm settings this backend parsed, for ruvector_dag_status() */
static uint64 arms_parsed = 0;

/*
 * load_arms
 *		Read the enabled arms of the store (ids below NDAG_MAX_ARMS) into
 *		arms_cxt.  Their settings are parsed when an arm is first asked for
 *		(NdagArmGet): most statements only need the mask of enabled arms.
 */
static void
load_arms(uint64 generation)
{
	const StoreSchema *schema = StoreGetSchema(STORE_DBI_ARMS);
	StoreValue *values = StoreRecordAlloc(STORE_DBI_ARMS);
	int			f_id = StoreSchemaFieldIndex(schema, "arm_id");
	int			f_name = StoreSchemaFieldIndex(schema, "name");
	int			f_settings = StoreSchemaFieldIndex(schema, "settings");
	int			f_enabled = StoreSchemaFieldIndex(schema, "enabled");
	StoreScan  *scan;
	MemoryContext oldcxt;

	if (arms_cxt == NULL)
		arms_cxt = AllocSetContextCreate(TopMemoryContext, "neural_dag arms",
										 ALLOCSET_SMALL_SIZES);
	MemoryContextReset(arms_cxt);
	memset(arms, 0, sizeof(arms));
	arms_mask = 0;
	arms_loaded = false;

	scan = StoreScanBegin(STORE_DBI_ARMS, InvalidOid, NULL, false);
	while (StoreScanNext(scan, values))
	{
		int			id;
		NdagArm    *arm;

		if (values[f_id].isnull || values[f_enabled].isnull || !values[f_enabled].v.b)
			continue;
		id = values[f_id].v.i4;
		if (id < 0 || id >= NDAG_MAX_ARMS)
			continue;
		oldcxt = MemoryContextSwitchTo(arms_cxt);
		arm = palloc0(sizeof(NdagArm));
		arm->arm_id = id;
		arm->name = values[f_name].isnull ? psprintf("arm %d", id) :
			pnstrdup(values[f_name].data, values[f_name].len);
		arm->settings_text = values[f_settings].isnull ? pstrdup("") :
			pnstrdup(values[f_settings].data, values[f_settings].len);
		MemoryContextSwitchTo(oldcxt);
		arms[id] = arm;
		arms_mask |= UINT64CONST(1) << id;
	}
	StoreScanEnd(scan);
	pfree(values);
	arms_generation = generation;
	arms_loaded = true;
}

/*
 * ensure_arms
 *		Reload the arms when a store write moved the generation (the
 *		learned-state epoch follows it in shared memory).
 */
static void
ensure_arms(void)
{
	uint64		generation = NdagLearnedEpoch();

	if (!arms_loaded || generation != arms_generation)
		load_arms(generation);
}

/*
 * NdagArmGet
 *		An enabled arm with its settings parsed, or NULL.  May read the
 *		store and raise errors: an arm whose settings no longer parse
 *		raises one at every call (the caller falls back).
 */
const NdagArm *
NdagArmGet(int arm_id)
{
	NdagArm    *arm;

	ensure_arms();
	if (arm_id < 0 || arm_id >= NDAG_MAX_ARMS)
		return NULL;
	arm = arms[arm_id];
	if (arm != NULL && !arm->parsed)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(arms_cxt);

		arm->settings = NdagArmSettingsParse(arm->settings_text);
		arm->parsed = true;
		arms_parsed++;
		MemoryContextSwitchTo(oldcxt);
	}
	return arm;
}

/*
 * NdagArmStatusCounters
 *		ruvector_dag_status() counter: how many arms' settings this backend
 *		parsed (only arms it planned under, explained or advised).
 */
void
NdagArmStatusCounters(void *state)
{
	NdagStatusAddCounter(state, "arms_parsed", (int64) arms_parsed);
}

/*
 * NdagArmsEnabledMask
 *		Bit a set for every enabled arm a.
 */
uint64
NdagArmsEnabledMask(void)
{
	ensure_arms();
	return arms_mask;
}

/*
 * NdagPlanUnderArm
 *		Plan a statement with the arm's settings in force.  The settings
 *		live in a new GUC nest level whose changes AtEOXact_GUC rolls back
 *		both after planning and on error, so nothing leaks into the session
 *		(a SET LOCAL or SET in progress in an outer level is untouched).
 */
PlannedStmt *
NdagPlanUnderArm(const NdagArm *arm, Query *parse, const char *query_string,
				 int cursorOptions, ParamListInfo boundParams)
{
	PlannedStmt *result = NULL;
	int			nestlevel;
	GucContext	context = superuser() ? PGC_SUSET : PGC_USERSET;

	nestlevel = NewGUCNestLevel();
	PG_TRY();
	{
		ListCell   *lc;

		foreach(lc, arm->settings)
		{
			NdagArmSetting *s = (NdagArmSetting *) lfirst(lc);

			(void) set_config_option(s->name, s->value, context,
									 PGC_S_SESSION, GUC_ACTION_SAVE, true,
									 ERROR, false);
		}
		result = NdagPlanDefault(parse, query_string, cursorOptions,
								 boundParams);
	}
	PG_CATCH();
	{
		AtEOXact_GUC(false, nestlevel);
		PG_RE_THROW();
	}
	PG_END_TRY();
	AtEOXact_GUC(false, nestlevel);
	return result;
}

/*
 * plan_shape
 *		Hash a plan tree: node tags, join types, scanned relations, indexes
 *		and the order of children.  Costs and row estimates are left out:
 *		two plans with the same shape execute the same way.
 */
static uint64
plan_shape(const Plan *plan, const List *rtable, uint64 h)
{
	if (plan == NULL)
		return hash_combine64(h, UINT64CONST(0x9e3779b97f4a7c15));

	h = hash_combine64(h, (uint64) nodeTag(plan));
	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_TidScan:
		case T_TidRangeScan:
		case T_ForeignScan:
		case T_BitmapHeapScan:
			break;
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapIndexScan:
			h = hash_combine64(h, NdagPlanIndexOid(plan));
			break;
		case T_NestLoop:
		case T_MergeJoin:
		case T_HashJoin:
			h = hash_combine64(h, (uint64) ((const Join *) plan)->jointype);
			break;
		case T_Agg:
			h = hash_combine64(h, (uint64) ((const Agg *) plan)->aggstrategy);
			break;
		default:
			break;
	}
	if (IsA(plan, SeqScan) || IsA(plan, SampleScan) || IsA(plan, IndexScan) ||
		IsA(plan, IndexOnlyScan) || IsA(plan, BitmapHeapScan) ||
		IsA(plan, TidScan) || IsA(plan, TidRangeScan))
	{
		Index		scanrelid = ((const Scan *) plan)->scanrelid;

		if (scanrelid > 0 && scanrelid <= (Index) list_length(rtable))
			h = hash_combine64(h, rt_fetch(scanrelid, rtable)->relid);
	}

	/* children with several inputs */
	if (IsA(plan, Append))
	{
		ListCell   *lc;

		foreach(lc, ((const Append *) plan)->appendplans)
			h = plan_shape(lfirst(lc), rtable, h);
	}
	else if (IsA(plan, MergeAppend))
	{
		ListCell   *lc;

		foreach(lc, ((const MergeAppend *) plan)->mergeplans)
			h = plan_shape(lfirst(lc), rtable, h);
	}
	else if (IsA(plan, BitmapAnd) || IsA(plan, BitmapOr))
	{
		ListCell   *lc;
		List	   *children = IsA(plan, BitmapAnd) ?
			((const BitmapAnd *) plan)->bitmapplans :
			((const BitmapOr *) plan)->bitmapplans;

		foreach(lc, children)
			h = plan_shape(lfirst(lc), rtable, h);
	}
	else if (IsA(plan, SubqueryScan))
		h = plan_shape(((const SubqueryScan *) plan)->subplan, rtable, h);

	h = plan_shape(plan->lefttree, rtable, h);
	h = plan_shape(plan->righttree, rtable, h);
	return h;
}

/*
 * NdagPlanShapeHash
 *		The shape of a planned statement: its main tree and its subplans.
 */
uint64
NdagPlanShapeHash(const PlannedStmt *stmt)
{
	uint64		h = plan_shape(stmt->planTree, stmt->rtable, 0);
	ListCell   *lc;

	foreach(lc, stmt->subplans)
		h = plan_shape(lfirst(lc), stmt->rtable, h);
	return h;
}

/*
 * plan_forced
 *		Whether a plan node or one below it is one a setting disables
 *		(costed at disable_cost or more before PostgreSQL 18).
 */
static bool
plan_forced(const Plan *plan)
{
	ListCell   *lc;
	List	   *children = NIL;

	if (plan == NULL)
		return false;
	if (NdagPlanNodeDisabled(plan))
		return true;
	if (IsA(plan, Append))
		children = ((const Append *) plan)->appendplans;
	else if (IsA(plan, MergeAppend))
		children = ((const MergeAppend *) plan)->mergeplans;
	else if (IsA(plan, BitmapAnd))
		children = ((const BitmapAnd *) plan)->bitmapplans;
	else if (IsA(plan, BitmapOr))
		children = ((const BitmapOr *) plan)->bitmapplans;
	else if (IsA(plan, CustomScan))
		children = ((const CustomScan *) plan)->custom_plans;
	else if (IsA(plan, SubqueryScan) &&
			 plan_forced(((const SubqueryScan *) plan)->subplan))
		return true;
	foreach(lc, children)
		if (plan_forced(lfirst(lc)))
			return true;
	return plan_forced(plan->lefttree) || plan_forced(plan->righttree);
}

/*
 * NdagPlanCostRatio
 *		An arm plan's estimated total cost over the default plan's (1 when
 *		both are free, infinite when only the default is).
 */
double
NdagPlanCostRatio(double default_cost, const PlannedStmt *plan)
{
	double		cost = plan->planTree->total_cost;

	if (default_cost > 0)
		return Max(cost, 0) / default_cost;
	return cost > 0 ? INFINITY : 1.0;
}

/*
 * NdagPlanForced
 *		Whether a planned statement (its main tree or a subplan) has a node
 *		costed at disable_cost or more: a setting the planner could not
 *		obey, such as enable_seqscan = off on a table without an index.
 */
bool
NdagPlanForced(const PlannedStmt *stmt)
{
	ListCell   *lc;

	if (plan_forced(stmt->planTree))
		return true;
	foreach(lc, stmt->subplans)
		if (plan_forced(lfirst(lc)))
			return true;
	return false;
}
