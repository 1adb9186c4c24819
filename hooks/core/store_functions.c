/*-------------------------------------------------------------------------
 *
 * store_functions.c
 *	  SQL functions that manage the store: enabling tables for learning,
 *	  status, backup and restore (reset: reset_scopes.c).
 *
 * Enable and disable are transactional: they queue pending writes
 * that are applied when the calling transaction commits.  A backup is
 * written at once; a restore is staged and put in place when the calling
 * transaction commits (store_backup.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_class.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "compat/compat_backend.h"
#include "core/core.h"
#include "store.h"

PG_FUNCTION_INFO_V1(ruvector_enable_neural_dag);
PG_FUNCTION_INFO_V1(ruvector_disable_neural_dag);
PG_FUNCTION_INFO_V1(ruvector_dag_status);
PG_FUNCTION_INFO_V1(ruvector_dag_backup);
PG_FUNCTION_INFO_V1(ruvector_dag_restore);

/* the concerns that add entries to "counters", in the order registered */
#define MAX_STATUS_CONCERNS		16

typedef struct StatusConcern
{
	const char *name;
	NdagStatusCountersFunc fn;
} StatusConcern;

static StatusConcern status_concerns[MAX_STATUS_CONCERNS];

static int	n_status_concerns = 0;

/* the "counters" object being built, and the names it has */
typedef struct StatusCounters
{
	StringInfo	buf;
	List	   *names;			/* const char * */
} StatusCounters;

/* field positions in the ndag_tables record */
#define TABLES_DBID			0
#define TABLES_RELID		1
#define TABLES_ENABLED_AT	2
#define TABLES_SETTINGS		3
#define TABLES_NFIELDS		4

/*
 * check_learnable_relation
 *		The relation must exist, be a table, partitioned table or
 *		materialized view, and belong to the caller (or the caller be a
 *		neural_dag admin).  Locks it against a concurrent DROP.
 */
static void
check_learnable_relation(Oid relid, const char *funcname)
{
	char		relkind;

	LockRelationOid(relid, AccessShareLock);
	if (!SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", relid)));

	relkind = get_rel_relkind(relid);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_MATVIEW)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table or materialized view",
						get_rel_name(relid)),
				 errhint("%s() accepts tables, partitioned tables and materialized views: learning follows the statements that read them.",
						 funcname)));

	if (!NdagRelationOwnercheck(relid, GetUserId()) && !NdagIsAdmin(GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(relkind),
					   get_rel_name(relid));
}

/*
 * tables_key
 *		The ndag_tables key of relid in the current database.
 */
static void
tables_key(Oid relid, StoreValue *values)
{
	memset(values, 0, sizeof(StoreValue) * TABLES_NFIELDS);
	values[TABLES_DBID].v.oid = MyDatabaseId;
	values[TABLES_RELID].v.oid = relid;
	values[TABLES_ENABLED_AT].isnull = true;
	values[TABLES_SETTINGS].isnull = true;
}

/*
 * relid_argument
 *		The regclass argument, refusing NULL with a clear error.
 */
static Oid
relid_argument(FunctionCallInfo fcinfo, const char *funcname)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("relation must not be null"),
				 errhint("Call %s() with the name of a table, e.g. %s('public.orders').",
						 funcname, funcname)));
	return PG_GETARG_OID(0);
}

/*
 * ruvector_enable_neural_dag
 *		Record the table in ndag_tables (at commit); true if it was not
 *		enabled yet.
 */
Datum
ruvector_enable_neural_dag(PG_FUNCTION_ARGS)
{
	Oid			relid;
	bool		added;

	NdagRequirePreload();
	NdagRequireWritableLearnedState("enable learning on a table");
	relid = relid_argument(fcinfo, "ruvector_enable_neural_dag");
	check_learnable_relation(relid, "ruvector_enable_neural_dag");

	/* the store first: the config table's trigger finds the record queued */
	added = NdagEnabledTablesStorePut(relid);
	NdagEnabledTablesDumpRecord(relid, true);
	PG_RETURN_BOOL(added);
}

/*
 * NdagEnabledTablesStorePut
 *		Record relid in this database's ndag_tables at commit, unless it is
 *		there already (its enabled_at kept); true if it was not.  The
 *		caller checked the relation and the caller's rights.
 */
bool
NdagEnabledTablesStorePut(Oid relid)
{
	StoreValue	values[TABLES_NFIELDS];
	StoreValue	existing[TABLES_NFIELDS];

	tables_key(relid, values);
	if (StoreGet(STORE_DBI_TABLES, values, existing, true))
		return false;

	values[TABLES_ENABLED_AT].isnull = false;
	values[TABLES_ENABLED_AT].v.ts = GetCurrentTransactionStartTimestamp();
	StorePendingPut(STORE_DBI_TABLES, values);
	return true;
}

/*
 * ruvector_disable_neural_dag
 *		Remove the table from ndag_tables (at commit); true if it was
 *		enabled.  What was learned about it stays until reset.
 */
Datum
ruvector_disable_neural_dag(PG_FUNCTION_ARGS)
{
	StoreValue	values[TABLES_NFIELDS];
	StoreValue	existing[TABLES_NFIELDS];
	Oid			relid;

	NdagRequirePreload();
	NdagRequireWritableLearnedState("disable learning on a table");
	relid = relid_argument(fcinfo, "ruvector_disable_neural_dag");

	/* a dropped table can still be disabled, by its old OID */
	if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(relid)))
		check_learnable_relation(relid, "ruvector_disable_neural_dag");
	else
		NdagRequireAdmin("disable learning on a dropped relation");

	NdagEnabledTablesDumpRecord(relid, false);
	tables_key(relid, values);
	if (!StoreGet(STORE_DBI_TABLES, values, existing, true))
		PG_RETURN_BOOL(false);
	StorePendingDelete(STORE_DBI_TABLES, values);
	PG_RETURN_BOOL(true);
}

/*
 * NdagStatusRegisterCounters
 *		Register the function that adds a concern's counters to
 *		ruvector_dag_status() (from _PG_init).
 */
void
NdagStatusRegisterCounters(const char *concern, NdagStatusCountersFunc fn)
{
	for (int i = 0; i < n_status_concerns; i++)
	{
		if (strcmp(status_concerns[i].name, concern) == 0)
			elog(ERROR, "neural_dag status counters of \"%s\" registered twice",
				 concern);
	}
	if (n_status_concerns >= MAX_STATUS_CONCERNS)
		elog(ERROR, "too many neural_dag status concerns (at most %d)",
			 MAX_STATUS_CONCERNS);
	status_concerns[n_status_concerns].name = concern;
	status_concerns[n_status_concerns].fn = fn;
	n_status_concerns++;
}

/*
 * NdagStatusAddCounter
 *		Add "name": value to the "counters" object being built; a name
 *		added before is an error (jsonb would keep only one of them).
 */
void
NdagStatusAddCounter(void *state, const char *name, int64 value)
{
	StatusCounters *counters = (StatusCounters *) state;
	StringInfo	buf = counters->buf;
	ListCell   *lc;

	foreach(lc, counters->names)
	{
		if (strcmp((const char *) lfirst(lc), name) == 0)
			elog(ERROR, "neural_dag status counter \"%s\" added twice", name);
	}
	counters->names = lappend(counters->names, pstrdup(name));
	if (buf->data[buf->len - 1] != '{')
		appendStringInfoString(buf, ", ");
	escape_json(buf, name);
	appendStringInfo(buf, ": " INT64_FORMAT, value);
}

/*
 * ruvector_dag_status
 *		The state of the store and of learning, as jsonb.  The store's path
 *		is shown to roles that may see server settings such as
 *		data_directory.
 */
Datum
ruvector_dag_status(PG_FUNCTION_ARGS)
{
	static const char *const mode_names[] = {"off", "observe", "learn", "apply"};
	StoreEnvInfo info;
	StringInfoData buf;
	StoreScan  *scan;
	StoreValue	meta[2];
	StatusCounters counters = {&buf, NIL};

	NdagRequirePreload();
	StoreGetEnvInfo(&info);

	initStringInfo(&buf);
	appendStringInfoString(&buf, "{\"mode\": ");
	if (ndag_mode >= 0 && ndag_mode < (int) lengthof(mode_names))
		escape_json(&buf, mode_names[ndag_mode]);
	else
		appendStringInfoString(&buf, "null");
	appendStringInfo(&buf, ", \"enabled\": %s", ndag_enabled ? "true" : "false");
	appendStringInfoString(&buf, ", \"store_path\": ");
	if (has_privs_of_role(GetUserId(), ROLE_PG_READ_ALL_SETTINGS))
		escape_json(&buf, info.path);
	else
		appendStringInfoString(&buf, "null");
	/* the store's own format version: a store of an older one is migrated at open */
	appendStringInfo(&buf, ", \"format_version\": " INT64_FORMAT,
					 StoreFormatVersionOnDisk());
	appendStringInfo(&buf, ", \"map_size\": " UINT64_FORMAT, info.map_size);
	appendStringInfo(&buf, ", \"used_bytes\": " UINT64_FORMAT, info.used_bytes);
	appendStringInfo(&buf, ", \"max_readers\": %d", info.max_readers);
	appendStringInfo(&buf, ", \"readers_used\": %d", info.readers_used);
	appendStringInfo(&buf, ", \"generation\": " UINT64_FORMAT, info.generation);
	/* end LSN of the last WAL-logged or replayed change the store holds */
	{
		uint64		lsn = StoreWalLastLsn();

		if (lsn == 0)
			appendStringInfoString(&buf, ", \"wal_lsn\": null");
		else
			appendStringInfo(&buf, ", \"wal_lsn\": \"%X/%X\"",
							 (uint32) (lsn >> 32), (uint32) lsn);
	}
	/* the snapshot the state starts from, and whether it decides plans */
	{
		uint64		lsn = StoreWalSnapshotLsn();
		uint64		after = StoreTrustAfterLsn();

		if (lsn == 0)
			appendStringInfoString(&buf, ", \"snapshot_lsn\": null");
		else
			appendStringInfo(&buf, ", \"snapshot_lsn\": \"%X/%X\"",
							 (uint32) (lsn >> 32), (uint32) lsn);
		appendStringInfo(&buf, ", \"trusted\": %s", after == 0 ? "true" : "false");
		if (after == 0)
			appendStringInfoString(&buf, ", \"trusted_after_lsn\": null");
		else
			appendStringInfo(&buf, ", \"trusted_after_lsn\": \"%X/%X\"",
							 (uint32) (after >> 32), (uint32) after);
	}

	appendStringInfoString(&buf, ", \"entries\": {");
	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		if (i > 0)
			appendStringInfoString(&buf, ", ");
		escape_json(&buf, StoreGetSchema((StoreDbi) i)->name);
		appendStringInfo(&buf, ": " UINT64_FORMAT, info.entries[i]);
	}
	appendStringInfoChar(&buf, '}');

	/* counters: the store's id counters, then each registered concern's */
	appendStringInfoString(&buf, ", \"counters\": {");
	scan = StoreScanBegin(STORE_DBI_META, InvalidOid, NULL, false);
	while (StoreScanNext(scan, meta))
	{
		char	   *name = pnstrdup(meta[0].data, meta[0].len);

		if (strncmp(name, "next_", 5) == 0 && !meta[1].isnull)
			NdagStatusAddCounter(&counters, name, meta[1].v.i8);
		pfree(name);
	}
	StoreScanEnd(scan);
	/* store edits of finished transactions not settled yet (store_intent.c) */
	NdagStatusAddCounter(&counters, "xact_intents", (int64) StoreIntentCount());
	/* the store environments the server's processes opened */
	NdagStatusAddCounter(&counters, "store_opens_all", (int64) StoreOpenCount());
	for (int i = 0; i < n_status_concerns; i++)
		status_concerns[i].fn(&counters);
	appendStringInfoString(&buf, "}}");

	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/*
 * require_server_files_role
 *		Superuser or a member of role (pg_write_server_files or
 *		pg_read_server_files), as for COPY to or from a server file.
 */
static void
require_server_files_role(Oid role, const char *rolename, const char *action)
{
	if (superuser() || has_privs_of_role(GetUserId(), role))
		return;
	ereport(ERROR,
			(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			 errmsg("permission denied to %s", action),
			 errhint("Only superusers and members of role \"%s\" may do this.",
					 rolename)));
}

/*
 * path_argument
 *		The path argument, refusing NULL with a clear error.
 */
static char *
path_argument(FunctionCallInfo fcinfo)
{
	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("path must not be null"),
				 errhint("Give the absolute path of a file on the database server.")));
	return text_to_cstring(PG_GETARG_TEXT_PP(0));
}

/*
 * ruvector_dag_backup
 *		Write a hot, consistent, compacted copy of the store to a new file;
 *		returns its size in bytes.
 */
Datum
ruvector_dag_backup(PG_FUNCTION_ARGS)
{
	char	   *path;

	NdagRequirePreload();
	require_server_files_role(ROLE_PG_WRITE_SERVER_FILES, "pg_write_server_files",
							  "back up the neural_dag store");
	path = path_argument(fcinfo);
	PG_RETURN_INT64((int64) StoreBackup(path));
}

/*
 * ruvector_dag_restore
 *		Replace the whole store (every database's learned state and the
 *		arms catalogue) with a backup when the calling transaction commits;
 *		returns the number of records restored.
 */
Datum
ruvector_dag_restore(PG_FUNCTION_ARGS)
{
	char	   *path;

	NdagRequirePreload();
	NdagRequireWritableLearnedState("restore the neural_dag store");
	require_server_files_role(ROLE_PG_READ_SERVER_FILES, "pg_read_server_files",
							  "restore the neural_dag store");
	path = path_argument(fcinfo);
	PG_RETURN_INT64((int64) StoreRestore(path));
}
