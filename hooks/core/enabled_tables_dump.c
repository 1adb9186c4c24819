/*-------------------------------------------------------------------------
 *
 * enabled_tables_dump.c
 *	  The config table ndag_enabled_tables (relation regclass), which
 *	  pg_dump carries (pg_extension_config_dump), kept in step with the
 *	  store's enabled tables of the database.
 *
 * The store (ndag_tables) stays the runtime source: deciding whether a
 * statement is recorded never reads the config table.  The table follows
 * it: ruvector_enable_neural_dag() and ruvector_disable_neural_dag() add
 * and remove a row, a reset of 'tables' or 'all' empties it, and an event
 * trigger of the install script removes the rows of dropped relations.  A
 * regclass is dumped as the relation's qualified name, so the list follows
 * renames and is restored by name into a new database.
 *
 * The way back: a row inserted into the table (pg_restore's COPY, or an
 * admin's INSERT) fires ruvector_dag_enabled_tables_apply(), an AFTER
 * INSERT trigger that enables the relation in the store at commit, so that
 * a restored database learns on the same tables as the dumped one.
 *
 * The rows are written with SPI as the table's owner (the extension's
 * owner): a table's owner may enable it without any right on the config
 * table.  This is the one place where the extension acts with more than
 * the caller's rights, and it is kept narrow: it is reached only after the
 * caller passed the enable/disable rights check, the statement is a fixed
 * INSERT or DELETE on the config table with the relation as a bound
 * parameter, run under NdagRunSafeSql (search_path pg_catalog, pg_temp,
 * qualified names and operators) with SECURITY_LOCAL_USERID_CHANGE.  Against the 0.1.0 SQL objects, which have no config table,
 * nothing is written.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "core/core.h"

PG_FUNCTION_INFO_V1(ruvector_dag_enabled_tables_apply);

#define DUMP_TABLE_NAME		"ndag_enabled_tables"

/* one statement on the config table, for NdagRunSafeSql */
typedef struct DumpSql
{
	const char *sql;			/* %s: the qualified config table */
	Oid			relid;			/* $1, or InvalidOid for none */
	Oid			table;			/* the config table */
} DumpSql;

/*
 * dump_table
 *		The config table of this database's extension, InvalidOid when the
 *		extension's SQL objects have none (0.1.0, before the update).
 */
static Oid
dump_table(void)
{
	Oid			schema = InvalidOid;
	Relation	rel;
	ScanKeyData key;
	SysScanDesc scan;
	HeapTuple	tup;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber,
				F_NAMEEQ, CStringGetDatum("neural_dag"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		schema = ((Form_pg_extension) GETSTRUCT(tup))->extnamespace;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);

	if (!OidIsValid(schema))
		return InvalidOid;
	return get_relname_relid(DUMP_TABLE_NAME, schema);
}

/*
 * dump_sql_step
 *		Run the statement as the config table's owner.
 */
static void
dump_sql_step(void *arg)
{
	DumpSql    *d = (DumpSql *) arg;
	char	   *qualified = quote_qualified_identifier(get_namespace_name(get_rel_namespace(d->table)),
													   DUMP_TABLE_NAME);
	Oid			argtypes[1] = {OIDOID};
	Datum		values[1] = {ObjectIdGetDatum(d->relid)};
	Oid			save_userid;
	int			save_sec_context;
	HeapTuple	tup;
	Oid			owner;

	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(d->table));
	if (!HeapTupleIsValid(tup))
		return;
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		char	   *sql = psprintf(d->sql, qualified);
		int			rc;

		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "SPI_connect failed");
		if (OidIsValid(d->relid))
			rc = SPI_execute_with_args(sql, 1, argtypes, values, NULL, false, 0);
		else
			rc = SPI_execute(sql, false, 0);
		if (rc < 0)
			elog(ERROR, "SPI_execute failed on %s: %s", DUMP_TABLE_NAME,
				 SPI_result_code_string(rc));
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec_context);
	}
	PG_END_TRY();
}

/*
 * run_dump_sql
 *		Run sql on the config table, if there is one.
 */
static void
run_dump_sql(const char *sql, Oid relid)
{
	DumpSql		d = {sql, relid, dump_table()};

	if (!OidIsValid(d.table))
		return;
	NdagRunSafeSql(dump_sql_step, &d);
}

/*
 * NdagEnabledTablesDumpRecord
 *		Add relid to the config table (enabled) or remove it.
 */
void
NdagEnabledTablesDumpRecord(Oid relid, bool enabled)
{
	if (enabled)
		run_dump_sql("INSERT INTO %s (relation) VALUES ($1::pg_catalog.regclass) "
					 "ON CONFLICT DO NOTHING", relid);
	else
		run_dump_sql("DELETE FROM %s WHERE relation OPERATOR(pg_catalog.=) $1::pg_catalog.regclass",
					 relid);
}

/*
 * NdagEnabledTablesDumpClear
 *		Empty the config table (a reset of the enabled tables).
 */
void
NdagEnabledTablesDumpClear(void)
{
	run_dump_sql("DELETE FROM %s", InvalidOid);
}

/*
 * ruvector_dag_enabled_tables_apply
 *		AFTER INSERT row trigger of the config table: enable the inserted
 *		relation in the store at commit.  A relation that does not exist
 *		(a dump's stale OID) or cannot be learned from (a view) is skipped
 *		with a WARNING.
 */
Datum
ruvector_dag_enabled_tables_apply(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	tupdesc;
	Datum		value;
	bool		isnull;
	Oid			relid;
	char		relkind;

	if (!CALLED_AS_TRIGGER(fcinfo) ||
		!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(trigdata->tg_event) ||
		!TRIGGER_FIRED_BY_INSERT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("ruvector_dag_enabled_tables_apply() must be an AFTER INSERT row trigger"),
				 errhint("It is the trigger of %s, created by the extension.",
						 DUMP_TABLE_NAME)));

	NdagRequirePreload();
	NdagRequireWritableLearnedState("enable learning on a table");
	tupdesc = RelationGetDescr(trigdata->tg_relation);
	value = heap_getattr(trigdata->tg_trigtuple, 1, tupdesc, &isnull);
	if (isnull)
		return PointerGetDatum(NULL);
	relid = DatumGetObjectId(value);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
	{
		ereport(WARNING,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist; it is not enabled for learning",
						relid),
				 errhint("Enable the table by name with ruvector_enable_neural_dag().")));
		return PointerGetDatum(NULL);
	}
	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_MATVIEW)
	{
		ereport(WARNING,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table or materialized view; it is not enabled for learning",
						get_rel_name(relid)),
				 errhint("Learning follows the statements that read tables, partitioned tables and materialized views.")));
		return PointerGetDatum(NULL);
	}
	(void) NdagEnabledTablesStorePut(relid);
	return PointerGetDatum(NULL);
}
