/*-------------------------------------------------------------------------
 *
 * scan.c
 *	  Executing a neural_dag_fdw scan: an LMDB cursor over a key range.
 *
 * The cursor is opened at the first fetch rather than in
 * BeginForeignScan, as postgres_fdw does, so that Params (bind values,
 * initplan outputs) are evaluated when they are known, and again after
 * each rescan.  The scan sees the committed records overlaid with this
 * transaction's pending writes.
 *
 * Memory: the scan's state lives in a context under es_query_cxt, so an
 * error anywhere in the query releases the read transaction through the
 * store's reset callback; the cursor and its bounds live in a child reset
 * on rescan; each row's Datums live in a context reset for every row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "utils/datum.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "fdw.h"
#include "core/core.h"

/* Execution state of one scan, in ForeignScanState.fdw_state. */
typedef struct NdagFdwScanState
{
	NdagFdwTable *table;
	MemoryContext scancxt;		/* this state */
	MemoryContext cursorcxt;	/* the store scan and its bounds */
	MemoryContext rowcxt;		/* one row's Datums */
	List	   *strategies;		/* pushed-down quals ... */
	List	   *valuetypes;
	List	   *value_states;	/* ... and their values' ExprStates */
	int			nvalues;
	Datum	   *values;			/* the values, evaluated */
	bool	   *nulls;
	bool	   *needed;			/* per attribute: read by the query */
	StoreValue *record;			/* one record's fields */
	StoreScan  *scan;			/* NULL before the first fetch or if empty */
	bool		started;		/* cursor opened (or known to be empty) */
} NdagFdwScanState;

/*
 * check_readable
 *		Refuse to read trajectories and node activations to roles that may
 *		not see other users' queries.
 */
static void
check_readable(const NdagFdwTable *table)
{
	StoreDbi	dbi = table->schema->dbi;

	if (dbi == STORE_DBI_TRAJECTORIES || dbi == STORE_DBI_NODES)
		NdagRequireReadQueries(table->relname);
}

/*
 * ndagfdwBeginForeignScan
 *		Check the table and the reader, and prepare the scan state.
 */
void
ndagfdwBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *plan = (ForeignScan *) node->ss.ps.plan;
	EState	   *estate = node->ss.ps.state;
	Relation	rel = node->ss.ss_currentRelation;
	MemoryContext scancxt;
	MemoryContext oldcxt;
	NdagFdwScanState *st;
	List	   *needed;
	ListCell   *lc;

	NdagRequirePreload();

	scancxt = AllocSetContextCreate(estate->es_query_cxt,
									"neural_dag_fdw scan",
									ALLOCSET_SMALL_SIZES);
	oldcxt = MemoryContextSwitchTo(scancxt);

	st = palloc0(sizeof(NdagFdwScanState));
	st->scancxt = scancxt;
	st->table = NdagFdwGetTable(rel);
	check_readable(st->table);

	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
	{
		MemoryContextSwitchTo(oldcxt);
		MemoryContextDelete(scancxt);
		return;
	}

	st->cursorcxt = AllocSetContextCreate(scancxt, "neural_dag_fdw cursor",
										  ALLOCSET_SMALL_SIZES);
	st->rowcxt = AllocSetContextCreate(scancxt, "neural_dag_fdw row",
									   ALLOCSET_DEFAULT_SIZES);

	st->strategies = (List *) list_nth(plan->fdw_private, NdagFdwScanStrategies);
	st->valuetypes = (List *) list_nth(plan->fdw_private, NdagFdwScanValueTypes);
	st->value_states = ExecInitExprList(plan->fdw_exprs, (PlanState *) node);
	st->nvalues = list_length(st->value_states);
	st->values = palloc0(sizeof(Datum) * Max(st->nvalues, 1));
	st->nulls = palloc0(sizeof(bool) * Max(st->nvalues, 1));

	st->needed = palloc0(sizeof(bool) * Max(st->table->natts, 1));
	needed = (List *) list_nth(plan->fdw_private, NdagFdwScanNeeded);
	foreach(lc, needed)
	{
		int			attnum = lfirst_int(lc);

		Assert(attnum >= 1 && attnum <= st->table->natts);
		st->needed[attnum - 1] = true;
	}

	st->record = palloc0(sizeof(StoreValue) * st->table->schema->nfields);

	MemoryContextSwitchTo(oldcxt);
	node->fdw_state = st;

	/* ndag_queries shows the shared per-statement memory as of now */
	if (st->table->schema->dbi == STORE_DBI_QUERIES)
		NdagFdwQueriesBeforeScan();
}

/*
 * start_scan
 *		Evaluate the pushed-down values and open the cursor over their key
 *		range; leave st->scan NULL if no key can match.
 */
static void
start_scan(ForeignScanState *node, NdagFdwScanState *st)
{
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	StoreKeyRange range;
	MemoryContext oldcxt;
	int			i = 0;
	ListCell   *lc;
	ListCell   *lt;

	forboth(lc, st->value_states, lt, st->valuetypes)
	{
		ExprState  *expr = (ExprState *) lfirst(lc);
		Datum		value;

		oldcxt = MemoryContextSwitchTo(econtext->ecxt_per_tuple_memory);
		value = ExecEvalExpr(expr, econtext, &st->nulls[i]);
		MemoryContextSwitchTo(oldcxt);

		/* bounds must outlive the per-tuple memory: copy varlenas */
		if (!st->nulls[i] && lfirst_oid(lt) == TEXTOID)
		{
			oldcxt = MemoryContextSwitchTo(st->cursorcxt);
			value = datumCopy(value, false, -1);
			MemoryContextSwitchTo(oldcxt);
		}
		st->values[i] = value;
		i++;
	}

	st->started = true;
	oldcxt = MemoryContextSwitchTo(st->cursorcxt);
	if (NdagFdwBuildKeyRange(st->table, st->strategies, st->valuetypes,
							 st->values, st->nulls, &range))
		st->scan = StoreScanBegin(st->table->schema->dbi, MyDatabaseId,
								  st->nvalues > 0 ? &range : NULL, true);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * ndagfdwIterateForeignScan
 *		Return the next record of the LMDB cursor, or an empty slot at the
 *		end.
 */
TupleTableSlot *
ndagfdwIterateForeignScan(ForeignScanState *node)
{
	NdagFdwScanState *st = (NdagFdwScanState *) node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;
	MemoryContext oldcxt;
	bool		found;

	if (!st->started)
		start_scan(node, st);
	if (st->scan == NULL)
		return ExecClearTuple(slot);

	MemoryContextReset(st->rowcxt);
	oldcxt = MemoryContextSwitchTo(st->rowcxt);
	found = StoreScanNext(st->scan, st->record);
	if (found)
		NdagFdwStoreSlot(st->table, st->record, st->needed, slot);
	MemoryContextSwitchTo(oldcxt);

	if (!found)
	{
		/* release the read transaction as soon as the records run out */
		StoreScanEnd(st->scan);
		st->scan = NULL;
		return ExecClearTuple(slot);
	}
	return slot;
}

/*
 * ndagfdwReScanForeignScan
 *		Close the cursor; the next fetch re-evaluates the values and opens
 *		it again.
 */
void
ndagfdwReScanForeignScan(ForeignScanState *node)
{
	NdagFdwScanState *st = (NdagFdwScanState *) node->fdw_state;

	if (st->scan != NULL)
		StoreScanEnd(st->scan);
	st->scan = NULL;
	st->started = false;
	MemoryContextReset(st->cursorcxt);
	MemoryContextReset(st->rowcxt);
}

/*
 * ndagfdwEndForeignScan
 *		Close the cursor and release the scan's memory.
 */
void
ndagfdwEndForeignScan(ForeignScanState *node)
{
	NdagFdwScanState *st = (NdagFdwScanState *) node->fdw_state;

	if (st == NULL)
		return;
	if (st->scan != NULL)
		StoreScanEnd(st->scan);
	st->scan = NULL;
	node->fdw_state = NULL;
	MemoryContextDelete(st->scancxt);
}
