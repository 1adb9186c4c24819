/*-------------------------------------------------------------------------
 *
 * extension_state.c
 *	  Whether the neural_dag extension is installed in this backend's
 *	  database, cached per backend for the hooks' hot path.
 *
 * The library is preloaded for the whole cluster, but a database without
 * the extension (never created, or dropped) must see stock PostgreSQL:
 * the planner, executor and EXPLAIN hooks change and record nothing
 * there.  Looking the extension up in pg_extension for every statement
 * would cost an index scan each time, so the answer is cached and
 * invalidated through the syscache of pg_foreign_data_wrapper: CREATE and
 * DROP EXTENSION create and drop the neural_dag_fdw wrapper in the same
 * transaction, and the invalidation of its catalog row reaches every
 * backend of the database when that transaction commits (and this backend
 * at once, at its next command).  Another wrapper's change costs one
 * lookup.
 *
 * A new backend takes the answer another backend of its database looked
 * up, kept in shared memory (database_state.c) for as long as the
 * extension epoch does not move.  It moves at the commit of a transaction
 * that created or dropped an extension or dropped a database (the object
 * access hook below notes such a transaction, its commit callback moves
 * the epoch once the commit is visible), after every COMMIT PREPARED (the
 * utility hook below: which prepared transaction changed extensions is
 * not known there, and the commit is visible once the statement returns),
 * and whenever a backend sees the neural_dag_fdw wrapper change.  A look-up made for the shared copy uses
 * a fresh catalog snapshot, taken after the epoch was read; a transaction
 * that creates or drops an extension itself, and a hot standby (which sees
 * the primary's changes only through invalidations), always look for
 * themselves.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_database.h"
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "tcop/utility.h"
#include "utils/inval.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "core/core.h"

#define NDAG_EXTENSION_NAME		"neural_dag"

static bool installed_valid = false;
static bool installed = false;

/* this transaction created or dropped an extension, or dropped a database */
static bool extensions_changed = false;

static object_access_hook_type prev_object_access_hook = NULL;
static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/*
 * invalidate_installed
 *		Syscache callback: a foreign-data wrapper changed (or every cache was
 *		reset); look the extension up again when next asked.  A wrapper's
 *		own change (not a reset of every cache) also makes the shared
 *		answers stale.
 */
static void
invalidate_installed(Datum arg, int cacheid, uint32 hashvalue)
{
	installed_valid = false;
	if (hashvalue != 0)
		NdagExtensionEpochBump();
}

/*
 * note_extension_change
 *		object_access_hook: a created or dropped extension, or a dropped
 *		database, changes the shared answers once this transaction commits.
 */
static void
note_extension_change(ObjectAccessType access, Oid classId, Oid objectId,
					  int subId, void *arg)
{
	if (prev_object_access_hook)
		prev_object_access_hook(access, classId, objectId, subId, arg);
	if (subId == 0 &&
		((classId == ExtensionRelationId &&
		  (access == OAT_POST_CREATE || access == OAT_DROP)) ||
		 (classId == DatabaseRelationId && access == OAT_DROP)))
		extensions_changed = true;
}

/*
 * extension_xact_callback
 *		At the commit (or PREPARE) of a transaction that changed extensions,
 *		move the extension epoch: the commit is visible to every snapshot
 *		taken from now on.  The note ends with the transaction.
 */
static pg_attribute_hot void
extension_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_COMMIT:
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PREPARE:
			if (extensions_changed)
				NdagExtensionEpochBump();
			extensions_changed = false;
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			extensions_changed = false;
			break;
		default:
			break;
	}
}

/*
 * ndag_ProcessUtility
 *		After COMMIT PREPARED, move the extension epoch: the prepared
 *		transaction may have created or dropped an extension, and its
 *		commit is visible now.  Its syscache invalidations reach the other
 *		backends of the database only at their next transaction, and a new
 *		backend never, so without this a new backend would keep taking the
 *		shared answer looked up before the commit.
 */
static void
ndag_ProcessUtility(PlannedStmt *pstmt, const char *queryString,
					bool readOnlyTree, ProcessUtilityContext context,
					ParamListInfo params, QueryEnvironment *queryEnv,
					DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *stmt = pstmt->utilityStmt;

	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
	if (IsA(stmt, TransactionStmt) &&
		((TransactionStmt *) stmt)->kind == TRANS_STMT_COMMIT_PREPARED)
		NdagExtensionEpochBump();
}

/*
 * NdagExtensionStateInit
 *		Register the invalidation callback, the object access hook, the
 *		transaction callback and the utility hook (from _PG_init).
 */
void
NdagExtensionStateInit(void)
{
	CacheRegisterSyscacheCallback(FOREIGNDATAWRAPPEROID,
								  invalidate_installed, (Datum) 0);
	prev_object_access_hook = object_access_hook;
	object_access_hook = note_extension_change;
	RegisterXactCallback(extension_xact_callback, NULL);
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = ndag_ProcessUtility;
}

/*
 * NdagExtensionInstalled
 *		Whether this database has the neural_dag extension.  Outside a
 *		transaction or a database the answer is no (nothing to look in).
 */
bool
NdagExtensionInstalled(void)
{
	bool		found;
	bool		shared;
	uint64		epoch = 0;

	if (installed_valid)
		return installed;
	if (!IsTransactionState() || !OidIsValid(MyDatabaseId))
		return false;

	/* an invalidation during the lookup makes the next call look again */
	installed_valid = true;
	shared = !extensions_changed && !RecoveryInProgress();
	if (shared)
	{
		epoch = NdagExtensionEpoch();
		if (NdagSharedInstalled(MyDatabaseId, epoch, &found))
		{
			installed = found;
			return found;
		}
		/* a snapshot taken after the epoch was read */
		InvalidateCatalogSnapshot();
	}
	found = OidIsValid(get_extension_oid(NDAG_EXTENSION_NAME, true));
	installed = found;
	/* counted in any case; kept for the others when shared (epoch 0: not) */
	NdagSharedPublishInstalled(MyDatabaseId,
							   shared && installed_valid ? epoch : 0, found);
	return found;
}
