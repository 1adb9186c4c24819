/*-------------------------------------------------------------------------
 *
 * handler.c
 *	  The handler of neural_dag_fdw, its planning callbacks and EXPLAIN.
 *
 * Row counts come from mdb_stat, which is exact and costs nothing.  Quals
 * on the user key become cursor positioning (pushdown.c); records come out
 * of the cursor in key order, which the path advertises as pathkeys when a
 * query can use them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/sysattr.h"
#include "access/table.h"
#include "nodes/makefuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/typcache.h"

#include "fdw.h"
#include "compat/compat_explain.h"
#include "compat/compat_fdw.h"
#include "core/core.h"

/* opening a read transaction and positioning a cursor */
#define NDAGFDW_STARTUP_COST	1.0

PG_FUNCTION_INFO_V1(neural_dag_fdw_handler);

static void ndagfdwGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
									 Oid foreigntableid);
static void ndagfdwGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
								   Oid foreigntableid);
static ForeignScan *ndagfdwGetForeignPlan(PlannerInfo *root,
										  RelOptInfo *baserel,
										  Oid foreigntableid,
										  ForeignPath *best_path,
										  List *tlist, List *scan_clauses,
										  Plan *outer_plan);
static void ndagfdwExplainForeignScan(ForeignScanState *node,
									  ExplainState *es);

/*
 * neural_dag_fdw_handler
 *		The FdwRoutine of neural_dag_fdw.
 *
 * Scans are not parallel safe: a worker could not see the pending writes
 * of the leader's transaction.
 */
Datum
neural_dag_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *routine = makeNode(FdwRoutine);

	routine->GetForeignRelSize = ndagfdwGetForeignRelSize;
	routine->GetForeignPaths = ndagfdwGetForeignPaths;
	routine->GetForeignPlan = ndagfdwGetForeignPlan;
	routine->BeginForeignScan = ndagfdwBeginForeignScan;
	routine->IterateForeignScan = ndagfdwIterateForeignScan;
	routine->ReScanForeignScan = ndagfdwReScanForeignScan;
	routine->EndForeignScan = ndagfdwEndForeignScan;
	routine->ExplainForeignScan = ndagfdwExplainForeignScan;

	routine->IsForeignRelUpdatable = ndagfdwIsForeignRelUpdatable;
	routine->AddForeignUpdateTargets = ndagfdwAddForeignUpdateTargets;
	routine->PlanForeignModify = ndagfdwPlanForeignModify;
	routine->BeginForeignModify = ndagfdwBeginForeignModify;
	routine->ExecForeignInsert = ndagfdwExecForeignInsert;
	routine->ExecForeignUpdate = ndagfdwExecForeignUpdate;
	routine->ExecForeignDelete = ndagfdwExecForeignDelete;
	routine->EndForeignModify = ndagfdwEndForeignModify;
	routine->BeginForeignInsert = ndagfdwBeginForeignInsert;
	routine->EndForeignInsert = ndagfdwEndForeignInsert;

	routine->AnalyzeForeignTable = ndagfdwAnalyzeForeignTable;

	PG_RETURN_POINTER(routine);
}

/*
 * key_is_unique
 *		Whether the user key alone identifies a record, i.e. it is the last
 *		key field (ndag_attention's traj_id is followed by node_id).
 */
static bool
key_is_unique(const NdagFdwTable *table)
{
	const StoreSchema *schema = table->schema;

	return schema->key_fields[schema->nkeys - 1] == table->key_field;
}

/*
 * ndagfdwGetForeignRelSize
 *		Resolve the table against its store and estimate its rows.
 *
 * The record count of the DBI is exact; for a per-database store it
 * counts every database's records, which overestimates only when several
 * databases learn.  A pushed-down equality on a unique key is one row;
 * other quals use the ordinary selectivity estimates (statistics after
 * ANALYZE, defaults before).
 */
static void
ndagfdwGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel,
						 Oid foreigntableid)
{
	NdagFdwPlanState *state = palloc0(sizeof(NdagFdwPlanState));
	Relation	rel;
	Selectivity sel;
	ListCell   *lc;

	NdagRequirePreload();

	rel = table_open(foreigntableid, NoLock);
	state->table = NdagFdwGetTable(rel);
	table_close(rel, NoLock);

	state->entries = (double) StoreCountEntries(state->table->schema->dbi);

	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid,
				   &state->attrs_used);
	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);

		pull_varattnos((Node *) rinfo->clause, baserel->relid,
					   &state->attrs_used);
	}

	NdagFdwFindKeyQuals(root, baserel, state);

	baserel->tuples = state->entries;
	sel = clauselist_selectivity(root, baserel->baserestrictinfo, 0,
								 JOIN_INNER, NULL);
	baserel->rows = clamp_row_est(state->entries * sel);
	if (state->kind == NDAGFDW_KEY_EQUALITY && key_is_unique(state->table))
		baserel->rows = 1;

	baserel->fdw_private = state;
}

/*
 * key_pathkeys
 *		Pathkeys describing the cursor's key order, if the query has a use
 *		for them (an ORDER BY or merge join on the key), else NIL.
 *
 * Integers and oids come out in numeric order; text keys come out
 * bytewise, which matches no collation a pathkey can name in general, so
 * they get none.
 */
static List *
key_pathkeys(PlannerInfo *root, RelOptInfo *baserel,
			 const NdagFdwTable *table, Oid foreigntableid)
{
	StoreFieldType keytype;
	Oid			typid;
	int32		typmod;
	Oid			collid;
	TypeCacheEntry *tce;
	Var		   *var;

	if (table->key_att == InvalidAttrNumber)
		return NIL;
	keytype = table->schema->fields[table->key_field].type;
	if (keytype != STORE_INT4 && keytype != STORE_INT8 &&
		keytype != STORE_OID)
		return NIL;

	get_atttypetypmodcoll(foreigntableid, table->key_att,
						  &typid, &typmod, &collid);
	tce = lookup_type_cache(typid, TYPECACHE_LT_OPR);
	if (!OidIsValid(tce->lt_opr))
		return NIL;

	var = makeVar(baserel->relid, table->key_att, typid, typmod, collid, 0);
	return NdagBuildExpressionPathkey(root, (Expr *) var, tce->lt_opr,
									  baserel->relids);
}

/*
 * ndagfdwGetForeignPaths
 *		One path: a cursor over the key range, in key order.
 *
 * A full scan visits every record of the database, an equality one (or,
 * for a non-unique key, the estimated rows), a range the records the
 * estimate says; each visited record costs a tuple and the quals.
 */
static void
ndagfdwGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel,
					   Oid foreigntableid)
{
	NdagFdwPlanState *state = (NdagFdwPlanState *) baserel->fdw_private;
	double		visited;
	Cost		startup_cost;
	Cost		run_cost;
	ForeignPath *path;

	if (state->kind == NDAGFDW_FULL_SCAN)
		visited = state->entries;
	else
		visited = baserel->rows;

	startup_cost = NDAGFDW_STARTUP_COST + baserel->baserestrictcost.startup +
		cpu_operator_cost * log2(state->entries + 2.0);
	run_cost = visited * (cpu_tuple_cost + baserel->baserestrictcost.per_tuple) +
		baserel->rows * baserel->reltarget->cost.per_tuple;

	path = NdagCreateForeignscanPath(root, baserel,
									 NULL,	/* default pathtarget */
									 baserel->rows,
									 startup_cost,
									 startup_cost + run_cost,
									 key_pathkeys(root, baserel, state->table,
												  foreigntableid),
									 baserel->lateral_relids,
									 NULL,	/* no outer path */
									 NIL);	/* private state is on baserel */
	add_path(baserel, (Path *) path);
}

/*
 * ndagfdwGetForeignPlan
 *		A ForeignScan carrying the pushed-down quals' strategies and values.
 *
 * Every qual, pushed down or not, stays in the local quals and is
 * rechecked on each row.
 */
static ForeignScan *
ndagfdwGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel,
					  Oid foreigntableid, ForeignPath *best_path,
					  List *tlist, List *scan_clauses, Plan *outer_plan)
{
	NdagFdwPlanState *state = (NdagFdwPlanState *) baserel->fdw_private;
	const NdagFdwTable *table = state->table;
	List	   *strategies = NIL;
	List	   *valuetypes = NIL;
	List	   *values = NIL;
	List	   *needed = NIL;
	List	   *fdw_private;
	bool		wholerow;
	ListCell   *lc;

	foreach(lc, state->key_quals)
	{
		NdagFdwKeyQual *qual = (NdagFdwKeyQual *) lfirst(lc);

		strategies = lappend_int(strategies, qual->strategy);
		valuetypes = lappend_oid(valuetypes, qual->valuetype);
		values = lappend(values, qual->value);
	}

	wholerow = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber,
							 state->attrs_used);
	for (int i = 0; i < table->natts; i++)
	{
		AttrNumber	attnum = i + 1;

		if (table->att_field[i] < 0)
			continue;
		if (wholerow ||
			bms_is_member(attnum - FirstLowInvalidHeapAttributeNumber,
						  state->attrs_used))
			needed = lappend_int(needed, attnum);
	}

	fdw_private = list_make5(makeString(pstrdup(table->schema->name)),
							 makeInteger(state->kind),
							 strategies, valuetypes, needed);

	scan_clauses = extract_actual_clauses(scan_clauses, false);

	return make_foreignscan(tlist, scan_clauses, baserel->relid,
							values, fdw_private,
							NIL,	/* no custom tlist */
							NIL,	/* no remote quals */
							outer_plan);
}

/*
 * ndagfdwExplainForeignScan
 *		Show the store and how the scan uses its key, e.g.
 *		"LMDB Store: patterns, key range".
 */
static void
ndagfdwExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	const char *store = strVal(list_nth(plan->fdw_private, NdagFdwScanStore));
	NdagFdwKeyKind kind = intVal(list_nth(plan->fdw_private, NdagFdwScanKind));

	ExplainPropertyText("LMDB Store",
						psprintf("%s, %s", store, NdagFdwKeyKindName(kind)),
						es);
}
