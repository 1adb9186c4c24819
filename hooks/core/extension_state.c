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
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/inval.h"
#include "utils/syscache.h"

#include "core/core.h"

#define NDAG_EXTENSION_NAME		"neural_dag"

static bool installed_valid = false;
static bool installed = false;

/*
 * invalidate_installed
 *		Syscache callback: a foreign-data wrapper changed (or every cache was
 *		reset); look the extension up again when next asked.
 */
static void
invalidate_installed(Datum arg, int cacheid, uint32 hashvalue)
{
	installed_valid = false;
}

/*
 * NdagExtensionStateInit
 *		Register the invalidation callback (from _PG_init).
 */
void
NdagExtensionStateInit(void)
{
	CacheRegisterSyscacheCallback(FOREIGNDATAWRAPPEROID,
								  invalidate_installed, (Datum) 0);
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

	if (installed_valid)
		return installed;
	if (!IsTransactionState() || !OidIsValid(MyDatabaseId))
		return false;

	/* an invalidation during the lookup makes the next call look again */
	installed_valid = true;
	found = OidIsValid(get_extension_oid(NDAG_EXTENSION_NAME, true));
	installed = found;
	return found;
}
