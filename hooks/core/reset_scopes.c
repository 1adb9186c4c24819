/*-------------------------------------------------------------------------
 *
 * reset_scopes.c
 *	  ruvector_dag_reset(what): forget one named scope of the current
 *	  database's learned state when the calling transaction commits.
 *
 * Scopes (each names exactly what it clears; README "Resetting learned
 * state" has the same table):
 *
 *	queries			per-statement memory: the shared table of the plan
 *					rewriter (baselines, per-arm statistics, explorations,
 *					demotions, BTSP entries, captured statements) and the
 *					btsp store
 *	patterns		patterns, the index metadata of their arms (index_meta)
 *					and the HDC snapshots of the pattern bank; also the
 *					per-statement memory, since decisions in it may have been
 *					taken from the removed patterns' arms
 *	trajectories	recorded executions and their plan nodes (ndag_attention)
 *	models			the cost model, LoRA weights, attention selector:
 *					every ndag_models record
 *	healing			self-healing events
 *	learned			all of the above: every learned record of the database,
 *					enabled tables and arms kept
 *	all				learned, the enabled tables of the database, and the
 *					cluster-wide arms back to the built-in catalogue
 *
 * The single stores of 0.1.0 that are not a scope keep their old meaning:
 * 'tables', 'arms', 'nodes', 'hdc', 'index_meta'; 'btsp' is 'queries'.
 *
 * The store records go at commit (pending clears); the per-statement
 * memory goes at commit too, from the store's commit hook (reset_committed),
 * so a rolled-back reset changes nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/builtins.h"

#include "core/core.h"
#include "store.h"

PG_FUNCTION_INFO_V1(ruvector_dag_reset);

#define DBI_BIT(dbi)		(UINT64CONST(1) << (dbi))

/*
 * The persisted per-statement store (ndag_queries) belongs to 'queries':
 * its clear commits before the shared table is emptied
 * (reset_statement_state, and query_store.c's commit hook).
 */
#define SCOPE_QUERIES		(DBI_BIT(STORE_DBI_BTSP) | DBI_BIT(STORE_DBI_QUERIES))
#define SCOPE_PATTERNS		(DBI_BIT(STORE_DBI_PATTERNS) | \
							 DBI_BIT(STORE_DBI_INDEX_META) | \
							 DBI_BIT(STORE_DBI_HDC))
#define SCOPE_TRAJECTORIES	(DBI_BIT(STORE_DBI_TRAJECTORIES) | \
							 DBI_BIT(STORE_DBI_NODES))
#define SCOPE_MODELS		DBI_BIT(STORE_DBI_MODELS)
#define SCOPE_HEALING		DBI_BIT(STORE_DBI_HEALING)
#define SCOPE_LEARNED		(SCOPE_QUERIES | SCOPE_PATTERNS | \
							 SCOPE_TRAJECTORIES | SCOPE_MODELS | SCOPE_HEALING)

/* one name ruvector_dag_reset() accepts */
typedef struct ResetScope
{
	const char *name;
	uint64		dbis;			/* DBI_BIT of each store cleared */
	bool		arms;			/* arms catalogue back to the built-in one */
	bool		listed;			/* a scope (hint); else a 0.1.0 store name */
} ResetScope;

static const ResetScope reset_scopes[] = {
	{"queries", SCOPE_QUERIES, false, true},
	{"patterns", SCOPE_PATTERNS, false, true},
	{"trajectories", SCOPE_TRAJECTORIES, false, true},
	{"models", SCOPE_MODELS, false, true},
	{"healing", SCOPE_HEALING, false, true},
	{"learned", SCOPE_LEARNED, false, true},
	{"all", SCOPE_LEARNED | DBI_BIT(STORE_DBI_TABLES), true, true},
	/* single stores of 0.1.0 */
	{"tables", DBI_BIT(STORE_DBI_TABLES), false, false},
	{"arms", 0, true, false},
	{"nodes", DBI_BIT(STORE_DBI_NODES), false, false},
	{"hdc", DBI_BIT(STORE_DBI_HDC), false, false},
	{"index_meta", DBI_BIT(STORE_DBI_INDEX_META), false, false},
	{"btsp", SCOPE_QUERIES, false, false},
};

/* stores whose clearing also forgets the per-statement memory */
static const StoreDbi statement_memory_dbis[] = {
	STORE_DBI_BTSP, STORE_DBI_QUERIES, STORE_DBI_PATTERNS
};

/* the per-statement memory a committed reset clears, and how to count it */
static NdagResetCallback reset_callback = NULL;
static NdagResetCountFunc reset_count = NULL;
static StorePendingCommitHook prev_pending_commit_hook = NULL;

/*
 * reset_valid_names
 *		"queries, patterns, ..., all (single stores: tables, ...)" for hints.
 */
static char *
reset_valid_names(void)
{
	StringInfoData buf;
	bool		first_store = true;

	initStringInfo(&buf);
	for (int i = 0; i < (int) lengthof(reset_scopes); i++)
	{
		if (reset_scopes[i].listed)
			appendStringInfo(&buf, "%s%s", i > 0 ? ", " : "", reset_scopes[i].name);
	}
	for (int i = 0; i < (int) lengthof(reset_scopes); i++)
	{
		if (reset_scopes[i].listed)
			continue;
		appendStringInfo(&buf, "%s%s", first_store ? " (single stores: " : ", ",
						 reset_scopes[i].name);
		first_store = false;
	}
	if (!first_store)
		appendStringInfoChar(&buf, ')');
	return buf.data;
}

/*
 * reset_scope_by_name
 *		The scope called name (case-insensitive), or NULL.
 */
static const ResetScope *
reset_scope_by_name(const char *name)
{
	for (int i = 0; i < (int) lengthof(reset_scopes); i++)
	{
		if (pg_strcasecmp(reset_scopes[i].name, name) == 0)
			return &reset_scopes[i];
	}
	return NULL;
}

/*
 * clears_statement_memory
 *		Whether clearing the stores of dbis also forgets the per-statement
 *		memory of the database.
 */
static bool
clears_statement_memory(uint64 dbis)
{
	for (int i = 0; i < (int) lengthof(statement_memory_dbis); i++)
	{
		if (dbis & DBI_BIT(statement_memory_dbis[i]))
			return true;
	}
	return false;
}

/*
 * count_records
 *		Records of dbi in the current database as this transaction sees
 *		them; damaged ones count too.
 */
static int64
count_records(StoreDbi dbi)
{
	return (int64) StoreScanCount(StoreScanBegin(dbi, MyDatabaseId, NULL, true));
}

/*
 * ruvector_dag_reset
 *		Forget a scope of the current database's learned state at commit;
 *		returns the store records removed plus the per-statement memory
 *		entries forgotten (for the arms: the custom arms removed).
 */
Datum
ruvector_dag_reset(PG_FUNCTION_ARGS)
{
	const ResetScope *scope;
	char	   *name;
	int64		removed = 0;

	NdagRequirePreload();
	NdagRequireWritableLearnedState("reset neural_dag state");
	NdagRequireAdmin("reset neural_dag state");
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("reset scope must not be null"),
				 errhint("Valid values are: %s.", reset_valid_names())));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	scope = reset_scope_by_name(name);
	if (scope == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown neural_dag reset scope \"%s\"", name),
				 pg_strcasecmp(name, "meta") == 0 ?
				 errdetail("The meta store holds the format version and the id counters of the store; it cannot be reset.") : 0,
				 errhint("Valid values are: %s.", reset_valid_names())));

	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		if ((scope->dbis & DBI_BIT(i)) == 0)
			continue;
		Assert(StoreGetSchema((StoreDbi) i)->per_database);
		removed += count_records((StoreDbi) i);
		StorePendingClear((StoreDbi) i, MyDatabaseId);
	}
	if (scope->dbis & DBI_BIT(STORE_DBI_TABLES))
		NdagEnabledTablesDumpClear();
	if (clears_statement_memory(scope->dbis) && reset_count != NULL)
		removed += reset_count(MyDatabaseId);
	if (scope->arms)
		removed += StoreArmsReseed();
	PG_RETURN_INT64(removed);
}

/*
 * reset_committed
 *		store_pending_commit_hook: when the committed transaction cleared
 *		this database's BTSP memory or patterns (scopes queries, patterns,
 *		learned, all), the per-statement memory goes too.  Only committed
 *		transactions get here.
 */
static void
reset_committed(const bool *written)
{
	if (prev_pending_commit_hook != NULL)
		prev_pending_commit_hook(written);
	if (reset_callback == NULL || !OidIsValid(MyDatabaseId))
		return;
	for (int i = 0; i < (int) lengthof(statement_memory_dbis); i++)
	{
		if (written[statement_memory_dbis[i]] &&
			StorePendingCleared(statement_memory_dbis[i], MyDatabaseId))
		{
			reset_callback(MyDatabaseId);
			return;
		}
	}
}

/*
 * NdagRegisterResetCallback
 *		From _PG_init (after NdagEnabledTablesInit): fn clears the shared
 *		per-statement state of a database whose learned state was reset.
 */
void
NdagRegisterResetCallback(NdagResetCallback fn)
{
	reset_callback = fn;
	prev_pending_commit_hook = store_pending_commit_hook;
	store_pending_commit_hook = reset_committed;
}

/*
 * NdagRegisterResetCounter
 *		From _PG_init: fn counts the per-statement memory entries of a
 *		database, for the value ruvector_dag_reset() returns.
 */
void
NdagRegisterResetCounter(NdagResetCountFunc fn)
{
	reset_count = fn;
}
