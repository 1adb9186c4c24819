/*-------------------------------------------------------------------------
 *
 * store_schema.c
 *	  The named DBIs of the environment and the fields of their records.
 *
 * A foreign table shows the fields whose names match its columns, so a
 * field added here (with a new record version) is invisible until the SQL
 * script declares a column for it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "store.h"

#define NFIELDS(a) ((int) lengthof(a))

/* meta: name -> counter (format_version, generation, next_* ids) */
static const StoreFieldDef meta_fields[] = {
	{"name", STORE_TEXT},
	{"value", STORE_INT8},
};
static const int meta_keys[] = {0};

/* tables: relations enabled for learning, per database */
static const StoreFieldDef tables_fields[] = {
	{"dbid", STORE_OID},
	{"relid", STORE_OID},
	{"enabled_at", STORE_TIMESTAMPTZ},
	{"settings", STORE_TEXT},
};
static const int tables_keys[] = {0, 1};

/* arms: the planner-configuration catalogue, cluster-wide */
static const StoreFieldDef arms_fields[] = {
	{"arm_id", STORE_INT4},
	{"name", STORE_TEXT},
	{"settings", STORE_TEXT},
	{"enabled", STORE_BOOL},
	{"builtin", STORE_BOOL},
	{"pulls", STORE_INT8},
	{"mean_reward", STORE_FLOAT8},
};
static const int arms_keys[] = {0};

/* patterns: the ReasoningBank */
static const StoreFieldDef patterns_fields[] = {
	{"dbid", STORE_OID},
	{"pattern_id", STORE_INT8},
	{"relids", STORE_OID_ARRAY},
	{"centroid", STORE_FLOAT4_ARRAY},
	{"best_arm", STORE_INT4},
	{"gain", STORE_FLOAT8},
	{"confidence", STORE_FLOAT8},
	{"support", STORE_INT8},
	{"uses", STORE_INT8},
	{"last_used", STORE_TIMESTAMPTZ},
	{"pinned", STORE_BOOL},
	{"disabled", STORE_BOOL},
	{"created_at", STORE_TIMESTAMPTZ},
	{"demoted_arms", STORE_INT4_ARRAY},
	{"arm_stats", STORE_FLOAT8_ARRAY},	/* per arm: arm_id, n, mean, var */
	{"quality_var", STORE_FLOAT8},
};
static const int patterns_keys[] = {0, 1};

/* trajectories: one recorded execution each */
static const StoreFieldDef trajectories_fields[] = {
	{"dbid", STORE_OID},
	{"traj_id", STORE_INT8},
	{"recorded_at", STORE_TIMESTAMPTZ},
	{"userid", STORE_OID},
	{"query_id", STORE_INT8},
	{"pattern_id", STORE_INT8},
	{"arm", STORE_INT4},
	{"decision", STORE_TEXT},
	{"attention", STORE_TEXT},
	{"planning_us", STORE_FLOAT8},
	{"exec_us", STORE_FLOAT8},
	{"est_cost", STORE_FLOAT8},
	{"predicted_ms", STORE_FLOAT8},
	{"quality", STORE_FLOAT8},
	{"relids", STORE_OID_ARRAY},
	{"embedding", STORE_FLOAT4_ARRAY},
	{"indexes", STORE_OID_ARRAY},	/* used by the plan's index scans */
};
static const int trajectories_keys[] = {0, 1};

/* nodes: per-trajectory node activations and attention scores */
static const StoreFieldDef nodes_fields[] = {
	{"dbid", STORE_OID},
	{"traj_id", STORE_INT8},
	{"node_id", STORE_INT4},
	{"parent_ids", STORE_INT4_ARRAY},
	{"node_type", STORE_TEXT},
	{"relation", STORE_OID},
	{"mechanism", STORE_TEXT},
	{"score", STORE_FLOAT8},
	{"est_rows", STORE_FLOAT8},
	{"actual_rows", STORE_FLOAT8},
	{"loops", STORE_FLOAT8},
	{"est_cost", STORE_FLOAT8},
	{"self_ms", STORE_FLOAT8},
	{"signature", STORE_INT8},
};
static const int nodes_keys[] = {0, 1, 2};

/* models: serialised learned models, one per name and database */
static const StoreFieldDef models_fields[] = {
	{"dbid", STORE_OID},
	{"name", STORE_TEXT},
	{"version", STORE_INT4},
	{"parameters", STORE_INT8},
	{"updates", STORE_INT8},
	{"loss", STORE_FLOAT8},
	{"lambda", STORE_FLOAT8},
	{"tasks", STORE_INT4},
	{"trained_at", STORE_TIMESTAMPTZ},
	{"state", STORE_BYTEA},
};
static const int models_keys[] = {0, 1};

/* btsp: one-shot memory, queryId -> arm with a decaying plateau weight */
static const StoreFieldDef btsp_fields[] = {
	{"dbid", STORE_OID},
	{"query_id", STORE_INT8},
	{"arm", STORE_INT4},
	{"weight", STORE_FLOAT8},
	{"stored_at", STORE_TIMESTAMPTZ},
	{"speedup", STORE_FLOAT8},
};
static const int btsp_keys[] = {0, 1};

/* hdc: hypervector snapshots of the learned state */
static const StoreFieldDef hdc_fields[] = {
	{"dbid", STORE_OID},
	{"snapshot_id", STORE_INT8},
	{"taken_at", STORE_TIMESTAMPTZ},
	{"patterns", STORE_INT4},
	{"state", STORE_BYTEA},
};
static const int hdc_keys[] = {0, 1};

/* healing: self-healing events */
static const StoreFieldDef healing_fields[] = {
	{"dbid", STORE_OID},
	{"event_id", STORE_INT8},
	{"at", STORE_TIMESTAMPTZ},
	{"kind", STORE_TEXT},
	{"object", STORE_TEXT},
	{"detail", STORE_TEXT},
	{"action", STORE_TEXT},
	{"status", STORE_TEXT},
	{"duration_ms", STORE_FLOAT8},
};
static const int healing_keys[] = {0, 1};

/*
 * index_meta: which indexes the plans of a pattern's chosen arm use, one
 * record per (pattern, index), with the index's relfilenode and validity
 * as last seen (a change is what the self-healing check reports)
 */
static const StoreFieldDef index_meta_fields[] = {
	{"dbid", STORE_OID},
	{"pattern_id", STORE_INT8},
	{"indexrelid", STORE_OID},
	{"arm", STORE_INT4},
	{"relid", STORE_OID},
	{"index_name", STORE_TEXT},
	{"relfilenode", STORE_OID},
	{"valid", STORE_BOOL},
	{"recorded_at", STORE_TIMESTAMPTZ},
};
static const int index_meta_keys[] = {0, 1, 2};

/*
 * queries: the plan rewriter's memory of one statement class (database,
 * queryId, default plan shape), flushed from shared memory by the learner
 * (hooks/planner/query_store.c); pinned_arm, forbidden_arms and frozen are
 * the DBA's controls, state the packed statistics the shared table is
 * loaded from
 */
static const StoreFieldDef queries_fields[] = {
	{"dbid", STORE_OID},
	{"query_id", STORE_INT8},
	{"class", STORE_INT8},
	{"decision", STORE_TEXT},
	{"decision_source", STORE_TEXT},
	{"default_median_ms", STORE_FLOAT8},
	{"best_arm", STORE_INT4},
	{"best_arm_median_ms", STORE_FLOAT8},
	{"runs_per_arm", STORE_INT4_ARRAY},
	{"demoted_arms", STORE_INT4_ARRAY},
	{"pinned_arm", STORE_INT4},
	{"forbidden_arms", STORE_INT4_ARRAY},
	{"frozen", STORE_BOOL},
	{"last_used", STORE_TIMESTAMPTZ},
	{"state", STORE_BYTEA},
};
static const int queries_keys[] = {0, 1, 2};

/*
 * Record versions (the uint16 at the start of every record,
 * store_record.c): 2 (0.1.0) records carry a CRC-32C.  A DBI's version
 * moves when fields are appended to its records; records of an older
 * version, down to STORE_RECORD_OLDEST, still decode, the fields they lack
 * null (store_migrate.c).  Fields are only ever appended, never removed,
 * reordered or retyped.
 */
#define STORE_RECORD_VERSION	2
#define STORE_RECORD_OLDEST		2

/* every DBI below exists since format 2 (0.1.0); a DBI added later says so */
#define SCHEMA(dbi, name, per_db, f, k) \
	SCHEMA_SINCE(dbi, name, per_db, f, k, 2)
#define SCHEMA_SINCE(dbi, name, per_db, f, k, format) \
	{dbi, name, STORE_RECORD_VERSION, STORE_RECORD_OLDEST, format, per_db, \
	 NFIELDS(f), f, NFIELDS(k), k}

static const StoreSchema store_schemas[STORE_NUM_DBIS] = {
	SCHEMA(STORE_DBI_META, "meta", false, meta_fields, meta_keys),
	SCHEMA(STORE_DBI_TABLES, "tables", true, tables_fields, tables_keys),
	SCHEMA(STORE_DBI_ARMS, "arms", false, arms_fields, arms_keys),
	SCHEMA(STORE_DBI_PATTERNS, "patterns", true, patterns_fields, patterns_keys),
	SCHEMA(STORE_DBI_TRAJECTORIES, "trajectories", true, trajectories_fields, trajectories_keys),
	SCHEMA(STORE_DBI_NODES, "nodes", true, nodes_fields, nodes_keys),
	SCHEMA(STORE_DBI_MODELS, "models", true, models_fields, models_keys),
	SCHEMA(STORE_DBI_BTSP, "btsp", true, btsp_fields, btsp_keys),
	SCHEMA(STORE_DBI_HDC, "hdc", true, hdc_fields, hdc_keys),
	SCHEMA(STORE_DBI_HEALING, "healing", true, healing_fields, healing_keys),
	SCHEMA(STORE_DBI_INDEX_META, "index_meta", true, index_meta_fields, index_meta_keys),
	SCHEMA_SINCE(STORE_DBI_QUERIES, "queries", true, queries_fields, queries_keys, 3),
};

/*
 * StoreGetSchema
 *		The schema of a DBI.
 */
const StoreSchema *
StoreGetSchema(StoreDbi dbi)
{
	Assert(dbi >= 0 && dbi < STORE_NUM_DBIS);
	return &store_schemas[dbi];
}

/*
 * StoreSchemaByName
 *		The schema whose DBI is called name, or NULL.
 */
const StoreSchema *
StoreSchemaByName(const char *name)
{
	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		if (strcmp(store_schemas[i].name, name) == 0)
			return &store_schemas[i];
	}
	return NULL;
}

/*
 * StoreSchemaNameList
 *		All DBI names, comma separated, for error hints.
 */
const char *
StoreSchemaNameList(void)
{
	static char *list = NULL;

	if (list == NULL)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		for (int i = 0; i < STORE_NUM_DBIS; i++)
			appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "",
							 store_schemas[i].name);
		list = MemoryContextStrdup(TopMemoryContext, buf.data);
		pfree(buf.data);
	}
	return list;
}

/*
 * StoreSchemaFieldIndex
 *		Index of the field called name, or -1.
 */
int
StoreSchemaFieldIndex(const StoreSchema *schema, const char *name)
{
	for (int i = 0; i < schema->nfields; i++)
	{
		if (strcmp(schema->fields[i].name, name) == 0)
			return i;
	}
	return -1;
}

/*
 * StoreFieldIndex
 *		Index of a named field of a DBI's record; the schemas are fixed at
 *		build time, so an unknown name is a programming error.
 */
int
StoreFieldIndex(StoreDbi dbi, const char *name)
{
	int			i = StoreSchemaFieldIndex(StoreGetSchema(dbi), name);

	if (i < 0)
		elog(ERROR, "store \"%s\" has no field \"%s\"",
			 StoreGetSchema(dbi)->name, name);
	return i;
}

/*
 * StoreRecordAlloc
 *		A palloc'd record of dbi with every field null.
 */
StoreValue *
StoreRecordAlloc(StoreDbi dbi)
{
	int			n = StoreGetSchema(dbi)->nfields;
	StoreValue *values = palloc0(sizeof(StoreValue) * n);

	for (int i = 0; i < n; i++)
		values[i].isnull = true;
	return values;
}

/*
 * StoreFieldSet
 *		The slot of a named field, marked not null, for the caller to fill.
 */
StoreValue *
StoreFieldSet(StoreValue *values, StoreDbi dbi, const char *name)
{
	StoreValue *v = &values[StoreFieldIndex(dbi, name)];

	v->isnull = false;
	return v;
}

/*
 * StoreFieldGet
 *		The slot of a named field, or NULL when the field is null.
 */
const StoreValue *
StoreFieldGet(const StoreValue *values, StoreDbi dbi, const char *name)
{
	const StoreValue *v = &values[StoreFieldIndex(dbi, name)];

	return v->isnull ? NULL : v;
}

/*
 * StoreFieldTypeName
 *		The SQL type a field type is shown as.
 */
const char *
StoreFieldTypeName(StoreFieldType type)
{
	switch (type)
	{
		case STORE_INT4:
			return "integer";
		case STORE_INT8:
			return "bigint";
		case STORE_OID:
			return "oid";
		case STORE_FLOAT4:
			return "real";
		case STORE_FLOAT8:
			return "double precision";
		case STORE_BOOL:
			return "boolean";
		case STORE_TEXT:
			return "text";
		case STORE_TIMESTAMPTZ:
			return "timestamp with time zone";
		case STORE_BYTEA:
			return "bytea";
		case STORE_INT4_ARRAY:
			return "integer[]";
		case STORE_INT8_ARRAY:
			return "bigint[]";
		case STORE_OID_ARRAY:
			return "oid[]";
		case STORE_FLOAT4_ARRAY:
			return "real[]";
		case STORE_FLOAT8_ARRAY:
			return "double precision[]";
	}
	return "unknown";
}
