/*-------------------------------------------------------------------------
 *
 * modify.c
 *	  INSERT, UPDATE and DELETE on neural_dag_fdw foreign tables.
 *
 * Only what DESIGN.md section 8 allows is writable:
 *
 *		ndag_patterns		UPDATE pinned, disabled; DELETE
 *		ndag_trajectories	DELETE
 *		ndag_healing		DELETE
 *		ndag_arms			INSERT; UPDATE enabled
 *		ndag_queries		UPDATE pinned_arm (NULL: none), forbidden_arms,
 *							frozen; DELETE
 *
 * IsForeignRelUpdatable reports exactly these events, so PostgreSQL
 * itself refuses the others; updating a column outside the list is
 * refused at plan time.  Rows are identified by their key columns (the
 * database oid is implied for per-database stores).  Writes are queued
 * with the store's pending writes and applied when the transaction
 * commits, dropped when it (or the subtransaction) aborts.  An UPDATE
 * patches only the columns it sets, so that the learner's concurrent
 * updates of other fields survive.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/sysattr.h"
#include "access/table.h"
#include "commands/trigger.h"
#include "executor/executor.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "optimizer/appendinfo.h"
#include "optimizer/inherit.h"
#include "optimizer/pathnode.h"
#include "parser/parsetree.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "fdw.h"
#include "core/core.h"

#define EVENT(cmd)	(1 << (cmd))

/* What may be done to the rows of a store through its foreign table. */
typedef struct NdagFdwWritable
{
	StoreDbi	dbi;
	int			events;			/* EVENT(CMD_INSERT) | ... */
	const char *update_fields[4];	/* NULL-terminated */
	const char *nullable_field; /* the one an UPDATE may set to NULL, or NULL */
} NdagFdwWritable;

static const NdagFdwWritable writable_stores[] = {
	{STORE_DBI_PATTERNS, EVENT(CMD_UPDATE) | EVENT(CMD_DELETE),
	{"pinned", "disabled", NULL}, NULL},
	{STORE_DBI_TRAJECTORIES, EVENT(CMD_DELETE), {NULL}, NULL},
	{STORE_DBI_HEALING, EVENT(CMD_DELETE), {NULL}, NULL},
	{STORE_DBI_ARMS, EVENT(CMD_INSERT) | EVENT(CMD_UPDATE), {"enabled", NULL}, NULL},
	{STORE_DBI_QUERIES, EVENT(CMD_UPDATE) | EVENT(CMD_DELETE),
	{"pinned_arm", "forbidden_arms", "frozen", NULL}, "pinned_arm"},
};

/* Execution state of one modified table, in ResultRelInfo.ri_FdwState. */
typedef struct NdagFdwModifyState
{
	NdagFdwTable *table;
	CmdType		operation;
	MemoryContext tmpcxt;		/* reset for each row */
	AttrNumber *key_junk;		/* per field: junk attno of a key, or 0 */
	bool	   *changed;		/* per field: set by this UPDATE */
	StoreValue *values;			/* the row written */
	StoreValue *current;		/* the row as the store has it */
} NdagFdwModifyState;

/*
 * find_writable
 *		The writable entry of a store, or NULL if it is read-only.
 */
static const NdagFdwWritable *
find_writable(StoreDbi dbi)
{
	for (int i = 0; i < (int) lengthof(writable_stores); i++)
	{
		if (writable_stores[i].dbi == dbi)
			return &writable_stores[i];
	}
	return NULL;
}

/*
 * allows
 *		Whether the store of table accepts the command; the executor refuses
 *		the others with PostgreSQL's own error, so planning just stays out
 *		of the way.
 */
static bool
allows(const NdagFdwTable *table, CmdType operation)
{
	const NdagFdwWritable *w = find_writable(table->schema->dbi);

	return w != NULL && (w->events & EVENT(operation)) != 0;
}

/*
 * row_id_name
 *		The name of the junk column that carries a key field.
 */
static char *
row_id_name(const char *field)
{
	return psprintf("ndag_key_%s", field);
}

/*
 * ndagfdwIsForeignRelUpdatable
 *		The events the table's store accepts.
 */
int
ndagfdwIsForeignRelUpdatable(Relation rel)
{
	const NdagFdwWritable *w = find_writable(NdagFdwGetStore(RelationGetRelid(rel))->dbi);

	return w ? w->events : 0;
}

/*
 * ndagfdwAddForeignUpdateTargets
 *		Ask the scan for the key columns that identify each row.
 */
void
ndagfdwAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
							   RangeTblEntry *target_rte,
							   Relation target_relation)
{
	NdagFdwTable *table = NdagFdwGetTable(target_relation);
	const StoreSchema *schema = table->schema;
	TupleDesc	tupdesc = RelationGetDescr(target_relation);

	if (!allows(table, root->parse->commandType))
		return;

	for (int k = 0; k < schema->nkeys; k++)
	{
		int			field = schema->key_fields[k];
		AttrNumber	attnum = table->field_att[field];
		Form_pg_attribute att;
		Var		   *var;

		if (field == table->dbid_field)
			continue;
		if (attnum == InvalidAttrNumber)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("foreign table \"%s\" does not show key field \"%s\" of neural_dag store \"%s\"",
							table->relname, schema->fields[field].name,
							schema->name),
					 errhint("Add a column \"%s\" to the foreign table to update or delete its rows.",
							 schema->fields[field].name)));

		att = TupleDescAttr(tupdesc, attnum - 1);
		var = makeVar(rtindex, attnum, att->atttypid, att->atttypmod,
					  att->attcollation, 0);
		add_row_identity_var(root, var, rtindex,
							 row_id_name(schema->fields[field].name));
	}
}

/*
 * updatable_list
 *		The columns an UPDATE may set, for error hints.
 */
static char *
updatable_list(const NdagFdwWritable *w)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; w->update_fields[i] != NULL; i++)
		appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", w->update_fields[i]);
	return buf.data;
}

/*
 * check_updated_column
 *		Refuse an UPDATE of a column the store does not let users change.
 */
static void
check_updated_column(const NdagFdwTable *table, const NdagFdwWritable *w,
					 AttrNumber attnum)
{
	int			field = table->att_field[attnum - 1];
	const char *name;

	Assert(field >= 0);
	name = table->schema->fields[field].name;
	for (int i = 0; w->update_fields[i] != NULL; i++)
	{
		if (strcmp(w->update_fields[i], name) == 0)
			return;
	}

	ereport(ERROR,
			(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			 errmsg("cannot update column \"%s\" of foreign table \"%s\"",
					name, table->relname),
			 errdetail("The learned state is maintained by neural_dag."),
			 errhint("Only these columns of \"%s\" can be updated: %s.",
					 table->relname, updatable_list(w))));
}

/*
 * ndagfdwPlanForeignModify
 *		Check what the statement changes; remember the updated columns.
 *
 * The planner's updated-columns set includes columns changed through
 * inheritance and generated columns, so nothing slips through.  A BEFORE
 * ROW UPDATE trigger could change other columns behind our back, so such
 * triggers are refused.
 */
List *
ndagfdwPlanForeignModify(PlannerInfo *root, ModifyTable *plan,
						 Index resultRelation, int subplan_index)
{
	CmdType		operation = plan->operation;
	RangeTblEntry *rte = planner_rt_fetch(resultRelation, root);
	Relation	rel;
	NdagFdwTable *table;
	List	   *targetAttrs = NIL;

	rel = table_open(rte->relid, NoLock);
	table = NdagFdwGetTable(rel);

	if (!allows(table, operation))
	{
		table_close(rel, NoLock);
		return list_make1(NIL);
	}

	if (plan->onConflictAction != ONCONFLICT_NONE)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("INSERT with ON CONFLICT clause is not supported on foreign table \"%s\"",
						table->relname)));

	if (operation == CMD_UPDATE)
	{
		const NdagFdwWritable *w = find_writable(table->schema->dbi);
		RelOptInfo *baserel = find_base_rel(root, resultRelation);
		Bitmapset  *updated = get_rel_all_updated_cols(root, baserel);
		int			col = -1;

		if (rel->trigdesc && rel->trigdesc->trig_update_before_row)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("BEFORE ROW UPDATE triggers on foreign table \"%s\" are not supported",
							table->relname)));

		while ((col = bms_next_member(updated, col)) >= 0)
		{
			AttrNumber	attnum = col + FirstLowInvalidHeapAttributeNumber;

			if (attnum <= InvalidAttrNumber)
				elog(ERROR, "system-column update is not supported");
			check_updated_column(table, w, attnum);
			targetAttrs = lappend_int(targetAttrs, attnum);
		}
	}

	table_close(rel, NoLock);
	return list_make1(targetAttrs);
}

/*
 * begin_modify
 *		Check the writer and build the modify state (BeginForeignModify,
 *		BeginForeignInsert).
 */
static NdagFdwModifyState *
begin_modify(EState *estate, ResultRelInfo *rinfo, CmdType operation,
			 List *targetAttrs, Plan *subplan)
{
	Relation	rel = rinfo->ri_RelationDesc;
	NdagFdwModifyState *fmstate;
	const StoreSchema *schema;
	ListCell   *lc;
	MemoryContext oldcxt;

	NdagRequirePreload();
	NdagRequireAdmin(psprintf("modify foreign table \"%s\"",
							  RelationGetRelationName(rel)));

	oldcxt = MemoryContextSwitchTo(estate->es_query_cxt);

	fmstate = palloc0(sizeof(NdagFdwModifyState));
	fmstate->table = NdagFdwGetTable(rel);
	fmstate->operation = operation;
	fmstate->tmpcxt = AllocSetContextCreate(estate->es_query_cxt,
											"neural_dag_fdw modify",
											ALLOCSET_DEFAULT_SIZES);
	schema = fmstate->table->schema;
	fmstate->key_junk = palloc0(sizeof(AttrNumber) * schema->nfields);
	fmstate->changed = palloc0(sizeof(bool) * schema->nfields);
	fmstate->values = palloc0(sizeof(StoreValue) * schema->nfields);
	fmstate->current = palloc0(sizeof(StoreValue) * schema->nfields);

	if (operation == CMD_UPDATE || operation == CMD_DELETE)
	{
		for (int k = 0; k < schema->nkeys; k++)
		{
			int			field = schema->key_fields[k];
			char	   *name;

			if (field == fmstate->table->dbid_field)
				continue;
			name = row_id_name(schema->fields[field].name);
			fmstate->key_junk[field] =
				ExecFindJunkAttributeInTlist(subplan->targetlist, name);
			if (!AttributeNumberIsValid(fmstate->key_junk[field]))
				elog(ERROR, "could not find junk column \"%s\"", name);
		}
	}

	foreach(lc, targetAttrs)
	{
		AttrNumber	attnum = lfirst_int(lc);

		fmstate->changed[fmstate->table->att_field[attnum - 1]] = true;
	}

	MemoryContextSwitchTo(oldcxt);
	return fmstate;
}

/*
 * ndagfdwBeginForeignModify
 *		Prepare an INSERT, UPDATE or DELETE.
 */
void
ndagfdwBeginForeignModify(ModifyTableState *mtstate, ResultRelInfo *rinfo,
						  List *fdw_private, int subplan_index, int eflags)
{
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
	{
		NdagRequirePreload();
		return;
	}

	rinfo->ri_FdwState =
		begin_modify(mtstate->ps.state, rinfo, mtstate->operation,
					 (List *) linitial(fdw_private),
					 outerPlanState(mtstate)->plan);
}

/*
 * ndagfdwBeginForeignInsert
 *		Prepare COPY FROM or tuple routing into the table.
 */
void
ndagfdwBeginForeignInsert(ModifyTableState *mtstate, ResultRelInfo *rinfo)
{
	rinfo->ri_FdwState = begin_modify(mtstate->ps.state, rinfo, CMD_INSERT,
									  NIL, NULL);
}

/*
 * row_key
 *		Fill the key fields of fmstate->values from the junk columns of a
 *		row to update or delete.
 */
static void
row_key(NdagFdwModifyState *fmstate, TupleTableSlot *planSlot)
{
	const NdagFdwTable *table = fmstate->table;
	const StoreSchema *schema = table->schema;

	for (int f = 0; f < schema->nfields; f++)
	{
		memset(&fmstate->values[f], 0, sizeof(StoreValue));
		fmstate->values[f].isnull = true;
	}

	for (int k = 0; k < schema->nkeys; k++)
	{
		int			field = schema->key_fields[k];
		Datum		datum;
		bool		isnull;

		if (field == table->dbid_field)
		{
			fmstate->values[field].isnull = false;
			fmstate->values[field].v.oid = MyDatabaseId;
			continue;
		}
		datum = ExecGetJunkAttribute(planSlot, fmstate->key_junk[field],
									 &isnull);
		if (isnull)
			elog(ERROR, "key field \"%s\" is NULL", schema->fields[field].name);
		NdagFdwDatumToValue(datum, false, schema->fields[field].type,
							&fmstate->values[field]);
	}
	StoreValuesCopy(schema, fmstate->values);
}

/*
 * ndagfdwExecForeignInsert
 *		Queue one new record; the slot returned shows it as stored, for
 *		RETURNING.
 */
TupleTableSlot *
ndagfdwExecForeignInsert(EState *estate, ResultRelInfo *rinfo,
						 TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	NdagFdwModifyState *fmstate = (NdagFdwModifyState *) rinfo->ri_FdwState;
	const NdagFdwTable *table = fmstate->table;
	MemoryContext oldcxt;

	MemoryContextReset(fmstate->tmpcxt);
	oldcxt = MemoryContextSwitchTo(fmstate->tmpcxt);

	NdagFdwValuesFromSlot(table, slot, fmstate->values);
	StoreValuesCopy(table->schema, fmstate->values);

	if (table->schema->dbi == STORE_DBI_ARMS)
		NdagFdwPrepareArm(table, fmstate->values);
	else
		elog(ERROR, "neural_dag store \"%s\" does not accept inserts",
			 table->schema->name);

	if (table->dbid_field >= 0)
	{
		fmstate->values[table->dbid_field].isnull = false;
		fmstate->values[table->dbid_field].v.oid = MyDatabaseId;
	}

	StorePendingPut(table->schema->dbi, fmstate->values);
	NdagFdwStoreSlot(table, fmstate->values, NULL, slot);

	MemoryContextSwitchTo(oldcxt);
	return slot;
}

/*
 * ndagfdwExecForeignUpdate
 *		Queue a patch of the updated columns of one record.
 *
 * A record deleted since the scan read it (earlier in this transaction,
 * or by another session since) is not updated and not counted.
 */
TupleTableSlot *
ndagfdwExecForeignUpdate(EState *estate, ResultRelInfo *rinfo,
						 TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	NdagFdwModifyState *fmstate = (NdagFdwModifyState *) rinfo->ri_FdwState;
	const NdagFdwTable *table = fmstate->table;
	const StoreSchema *schema = table->schema;
	const NdagFdwWritable *w = find_writable(schema->dbi);
	StoreValue *newvalues;
	MemoryContext oldcxt;

	MemoryContextReset(fmstate->tmpcxt);
	oldcxt = MemoryContextSwitchTo(fmstate->tmpcxt);

	row_key(fmstate, planSlot);
	if (!StoreGet(schema->dbi, fmstate->values, fmstate->current, true))
	{
		MemoryContextSwitchTo(oldcxt);
		return NULL;
	}

	newvalues = palloc(sizeof(StoreValue) * schema->nfields);
	NdagFdwValuesFromSlot(table, slot, newvalues);
	StoreValuesCopy(schema, newvalues);
	for (int f = 0; f < schema->nfields; f++)
	{
		if (!fmstate->changed[f])
			continue;
		if (newvalues[f].isnull &&
			(w->nullable_field == NULL ||
			 strcmp(w->nullable_field, schema->fields[f].name) != 0))
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("column \"%s\" of foreign table \"%s\" cannot be set to null",
							schema->fields[f].name, table->relname)));
		fmstate->values[f] = newvalues[f];
		fmstate->current[f] = newvalues[f];
	}
	if (schema->dbi == STORE_DBI_QUERIES)
		NdagFdwCheckQueryRow(fmstate->current);

	StorePendingPatch(schema->dbi, fmstate->values, fmstate->changed);
	NdagFdwStoreSlot(table, fmstate->current, NULL, slot);

	MemoryContextSwitchTo(oldcxt);
	return slot;
}

/*
 * ndagfdwExecForeignDelete
 *		Queue the deletion of one record; the slot returned shows it, for
 *		RETURNING.
 */
TupleTableSlot *
ndagfdwExecForeignDelete(EState *estate, ResultRelInfo *rinfo,
						 TupleTableSlot *slot, TupleTableSlot *planSlot)
{
	NdagFdwModifyState *fmstate = (NdagFdwModifyState *) rinfo->ri_FdwState;
	const NdagFdwTable *table = fmstate->table;
	MemoryContext oldcxt;

	MemoryContextReset(fmstate->tmpcxt);
	oldcxt = MemoryContextSwitchTo(fmstate->tmpcxt);

	row_key(fmstate, planSlot);
	if (!StoreGet(table->schema->dbi, fmstate->values, fmstate->current, true))
	{
		MemoryContextSwitchTo(oldcxt);
		return NULL;
	}

	StorePendingDelete(table->schema->dbi, fmstate->values);
	NdagFdwStoreSlot(table, fmstate->current, NULL, slot);

	MemoryContextSwitchTo(oldcxt);
	return slot;
}

/*
 * ndagfdwEndForeignModify
 *		Release the modify state's memory.
 */
void
ndagfdwEndForeignModify(EState *estate, ResultRelInfo *rinfo)
{
	NdagFdwModifyState *fmstate = (NdagFdwModifyState *) rinfo->ri_FdwState;

	if (fmstate == NULL)
		return;
	MemoryContextDelete(fmstate->tmpcxt);
	rinfo->ri_FdwState = NULL;
}

/*
 * ndagfdwEndForeignInsert
 *		End of COPY FROM or tuple routing into the table.
 */
void
ndagfdwEndForeignInsert(EState *estate, ResultRelInfo *rinfo)
{
	ndagfdwEndForeignModify(estate, rinfo);
}
