/*-------------------------------------------------------------------------
 *
 * options.c
 *	  Option validation for neural_dag_fdw, and resolution of a foreign
 *	  table's columns against the record fields of its store.
 *
 * The only option is "store", required on foreign tables; the wrapper,
 * the server, user mappings and columns take none.  Columns map to fields
 * by name, so that a table may show a subset of a record and in any order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/reloptions.h"
#include "catalog/pg_foreign_data_wrapper.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_foreign_table.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "foreign/foreign.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

#include "fdw.h"

/* An option and the catalog of the object it may be given on. */
typedef struct NdagFdwOption
{
	const char *optname;
	Oid			optcontext;
} NdagFdwOption;

static const NdagFdwOption valid_options[] = {
	{NDAGFDW_STORE_OPTION, ForeignTableRelationId},
	{NULL, InvalidOid}
};

PG_FUNCTION_INFO_V1(neural_dag_fdw_validator);

/*
 * is_valid_option
 *		Whether optname may be given on an object of the catalog context.
 */
static bool
is_valid_option(const char *optname, Oid context)
{
	for (const NdagFdwOption *opt = valid_options; opt->optname; opt++)
	{
		if (context == opt->optcontext && strcmp(opt->optname, optname) == 0)
			return true;
	}
	return false;
}

/*
 * report_invalid_option
 *		Complain about an option unknown in this context, listing the valid
 *		ones as postgres_fdw does.
 */
static void
report_invalid_option(const char *optname, Oid context)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (const NdagFdwOption *opt = valid_options; opt->optname; opt++)
	{
		if (context == opt->optcontext)
			appendStringInfo(&buf, "%s%s", buf.len > 0 ? ", " : "",
							 opt->optname);
	}

	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
			 errmsg("invalid option \"%s\"", optname),
			 buf.len > 0
			 ? errhint("Valid options in this context are: %s", buf.data)
			 : errhint("There are no valid options in this context.")));
}

/*
 * lookup_store
 *		The schema of the store called name, or an error listing the stores.
 */
static const StoreSchema *
lookup_store(const char *name)
{
	const StoreSchema *schema = StoreSchemaByName(name);

	if (schema == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("unknown neural_dag store \"%s\"", name),
				 errhint("Valid stores are: %s.", StoreSchemaNameList())));
	return schema;
}

/*
 * neural_dag_fdw_validator
 *		Validate the options of the wrapper, the server, a user mapping, a
 *		foreign table or a column.
 *
 * The store's existence is checked here; whether the columns fit its
 * fields is checked when a query plans or scans the table, since columns
 * can be added and altered after the options are set.
 */
Datum
neural_dag_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	const char *store = NULL;
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (!is_valid_option(def->defname, catalog))
			report_invalid_option(def->defname, catalog);

		if (strcmp(def->defname, NDAGFDW_STORE_OPTION) == 0)
		{
			if (store != NULL)
				ereport(ERROR,
						(errcode(ERRCODE_SYNTAX_ERROR),
						 errmsg("conflicting or redundant options")));
			store = defGetString(def);
			(void) lookup_store(store);
		}
	}

	if (catalog == ForeignTableRelationId && store == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
				 errmsg("option \"%s\" is required for neural_dag_fdw foreign tables",
						NDAGFDW_STORE_OPTION),
				 errhint("Valid stores are: %s.", StoreSchemaNameList())));

	PG_RETURN_VOID();
}

/*
 * NdagFdwGetStore
 *		The schema of the store a foreign table reads.
 */
const StoreSchema *
NdagFdwGetStore(Oid relid)
{
	ForeignTable *table = GetForeignTable(relid);
	ListCell   *lc;

	foreach(lc, table->options)
	{
		DefElem    *def = (DefElem *) lfirst(lc);

		if (strcmp(def->defname, NDAGFDW_STORE_OPTION) == 0)
			return lookup_store(defGetString(def));
	}

	ereport(ERROR,
			(errcode(ERRCODE_FDW_OPTION_NAME_NOT_FOUND),
			 errmsg("foreign table \"%s\" has no option \"%s\"",
					get_rel_name(relid), NDAGFDW_STORE_OPTION),
			 errhint("Set it with ALTER FOREIGN TABLE ... OPTIONS (ADD store '...'); valid stores are: %s.",
					 StoreSchemaNameList())));
	return NULL;				/* keep compiler quiet */
}

/*
 * field_name_list
 *		The fields of a store with their SQL types, for error hints.
 */
static char *
field_name_list(const StoreSchema *schema)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < schema->nfields; i++)
		appendStringInfo(&buf, "%s%s %s", i > 0 ? ", " : "",
						 schema->fields[i].name,
						 StoreFieldTypeName(schema->fields[i].type));
	return buf.data;
}

/*
 * NdagFdwGetTable
 *		Resolve the columns of a foreign table against its store.
 *
 * Every live column must name a field of the store and have the field's
 * SQL type (regclass is accepted for oid, regclass[] for oid[]); anything
 * else is an error naming the column, since a silently NULL or
 * misinterpreted column would be worse.  The result is allocated in the
 * current memory context.
 */
NdagFdwTable *
NdagFdwGetTable(Relation rel)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	const StoreSchema *schema = NdagFdwGetStore(RelationGetRelid(rel));
	NdagFdwTable *table = palloc0(sizeof(NdagFdwTable));
	int			keypos;

	table->relid = RelationGetRelid(rel);
	table->relname = pstrdup(RelationGetRelationName(rel));
	table->schema = schema;
	table->natts = tupdesc->natts;
	table->att_field = palloc(sizeof(int) * Max(tupdesc->natts, 1));
	table->field_att = palloc0(sizeof(AttrNumber) * schema->nfields);

	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		const char *colname = NameStr(att->attname);
		int			field;
		StoreFieldType type;

		table->att_field[i] = -1;
		if (att->attisdropped)
			continue;

		field = StoreSchemaFieldIndex(schema, colname);
		if (field < 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_COLUMN_NAME_NOT_FOUND),
					 errmsg("column \"%s\" of foreign table \"%s\" is not a field of neural_dag store \"%s\"",
							colname, RelationGetRelationName(rel),
							schema->name),
					 errhint("Fields of store \"%s\" are: %s.",
							 schema->name, field_name_list(schema))));
		if (table->field_att[field] != InvalidAttrNumber)
			elog(ERROR, "column \"%s\" appears twice in foreign table \"%s\"",
				 colname, RelationGetRelationName(rel));

		type = schema->fields[field].type;
		if (!NdagFdwTypeMatches(type, att->atttypid))
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("column \"%s\" of foreign table \"%s\" has type %s, but field \"%s\" of neural_dag store \"%s\" is %s",
							colname, RelationGetRelationName(rel),
							format_type_be(att->atttypid),
							colname, schema->name,
							StoreFieldTypeName(type)),
					 errhint("Declare column \"%s\" as %s.",
							 colname, StoreFieldTypeName(type))));

		table->att_field[i] = field;
		table->field_att[field] = att->attnum;
	}

	table->dbid_field = schema->per_database ? schema->key_fields[0] : -1;
	keypos = schema->per_database ? 1 : 0;
	Assert(schema->nkeys > keypos);
	table->key_field = schema->key_fields[keypos];
	table->key_att = table->field_att[table->key_field];

	return table;
}
