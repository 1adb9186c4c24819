/*-------------------------------------------------------------------------
 *
 * drop_tracking.c
 *	  Keep the learned state in step with dropped objects, through an
 *	  object_access_hook on OAT_DROP:
 *
 *	- a dropped table (also by DROP SCHEMA ... CASCADE, DROP OWNED) that
 *	  is enabled for learning leaves ndag_tables, so that a later table
 *	  given the same OID is never enabled silently;
 *	- a dropped database loses its learned state: every record keyed by its
 *	  oid, in every per-database store;
 *	- DROP EXTENSION neural_dag disables learning on every table of the
 *	  database (the rest of the learned state stays for a later CREATE
 *	  EXTENSION).
 *
 * The removals are best-effort pending writes (store_pending.c): applied
 * only if the dropping transaction commits, and a store that cannot take
 * them makes the DROP commit with a WARNING rather than fail.  Tables are
 * tracked only where the extension is installed (elsewhere no table can be
 * enabled, see DROP EXTENSION above).  Before a dropped database's state is
 * cleared, the trajectories its sessions left in the shared ring are
 * written (at PRE_COMMIT, when the database has no session left), so that
 * none of them is written after the clear.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"

#include "core/core.h"
#include "recording/recording.h"
#include "store.h"

static object_access_hook_type prev_object_access_hook = NULL;

/* this transaction drops a database: drain the ring before it commits */
static bool flush_before_commit = false;

/* NdagTableEnabled for NdagFallbackRun */
typedef struct EnabledCall
{
	Oid			relid;
	bool		enabled;
} EnabledCall;

/*
 * enabled_step
 *		Whether the relation is enabled for learning.
 */
static void
enabled_step(void *arg)
{
	EnabledCall *call = (EnabledCall *) arg;

	call->enabled = NdagTableEnabled(call->relid);
}

/*
 * flush_step
 *		Write the ring's trajectories to the store.
 */
static void
flush_step(void *arg)
{
	(void) NdagFlush();
}

/*
 * forget_table
 *		A relation is dropped: if it is a table enabled for learning in this
 *		database, remove it from ndag_tables at commit.
 */
static void
forget_table(Oid relid)
{
	char		relkind = get_rel_relkind(relid);
	EnabledCall call = {relid, false};

	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_MATVIEW)
		return;
	if (!NdagExtensionInstalled())
		return;

	/* the user's DROP goes on when the store cannot be read */
	(void) NdagFallbackRun(NDAG_FALLBACK_DROP,
						   "read the tables enabled for learning",
						   enabled_step, &call);
	if (call.enabled)
	{
		StoreValue *key = StoreRecordAlloc(STORE_DBI_TABLES);

		StoreFieldSet(key, STORE_DBI_TABLES, "dbid")->v.oid = MyDatabaseId;
		StoreFieldSet(key, STORE_DBI_TABLES, "relid")->v.oid = relid;
		StorePendingDeleteBestEffort(STORE_DBI_TABLES, key);
		pfree(key);
	}
}

/*
 * forget_database
 *		A database is dropped: clear its records in every per-database store
 *		at commit.
 */
static void
forget_database(Oid dbid)
{
	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		if (StoreGetSchema((StoreDbi) i)->per_database)
			StorePendingClearBestEffort((StoreDbi) i, dbid);
	}
	flush_before_commit = true;
}

/*
 * forget_enabled_tables
 *		DROP EXTENSION neural_dag: no table of this database stays enabled.
 */
static void
forget_enabled_tables(Oid extoid)
{
	char	   *name = get_extension_name(extoid);

	if (name != NULL && strcmp(name, "neural_dag") == 0)
		StorePendingClearBestEffort(STORE_DBI_TABLES, MyDatabaseId);
}

/*
 * ndag_object_access
 *		object_access_hook: follow drops of tables, databases and the
 *		extension; chain the previous hook.
 */
static void
ndag_object_access(ObjectAccessType access, Oid classId, Oid objectId,
				   int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);

	if (access != OAT_DROP || subId != 0 || !IsTransactionState())
		return;
	if (classId == RelationRelationId)
		forget_table(objectId);
	else if (classId == DatabaseRelationId)
		forget_database(objectId);
	else if (classId == ExtensionRelationId)
		forget_enabled_tables(objectId);
}

/*
 * drop_xact_callback
 *		At PRE_COMMIT of a DROP DATABASE, write the ring's trajectories (of
 *		that database too) before its state is cleared at commit.
 */
static pg_attribute_hot void
drop_xact_callback(XactEvent event, void *arg)
{
	if (!flush_before_commit)
		return;
	if (event == XACT_EVENT_PRE_COMMIT)
		(void) NdagFallbackRun(NDAG_FALLBACK_DROP,
							   "write the recorded executions", flush_step,
							   NULL);
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT ||
		event == XACT_EVENT_PREPARE)
		flush_before_commit = false;
}

/*
 * NdagInstallDropTracking
 *		Chain the object access hook (from _PG_init).
 */
void
NdagInstallDropTracking(void)
{
	prev_object_access_hook = object_access_hook;
	object_access_hook = ndag_object_access;
	RegisterXactCallback(drop_xact_callback, NULL);
}
