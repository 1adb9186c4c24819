/*-------------------------------------------------------------------------
 *
 * standby.c
 *	  What neural_dag does on a server in recovery (a hot standby): its
 *	  store changes only by the startup process's redo of the primary's
 *	  WAL records (lmdb_store/store_wal.c), so the standby adds nothing of
 *	  its own to it.  Statements are not recorded (no ring
 *	  writes, no instant loop, no regression guard), nothing is explored,
 *	  and the SQL functions that write the store refuse; plans still use
 *	  what the copied store holds (decisions of patterns and remembered
 *	  arms apply as on the primary).  The learner and the healing launcher
 *	  start only once recovery has finished (BgWorkerStart_RecoveryFinished),
 *	  so they run on a standby only after its promotion.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"

#include "core/core.h"

/*
 * NdagMayWriteLearnedState
 *		Whether this server may change learned state: record, explore,
 *		learn, write the store.  False while in recovery.
 */
bool
NdagMayWriteLearnedState(void)
{
	return !RecoveryInProgress();
}

/*
 * NdagRequireWritableLearnedState
 *		ERROR (read-only transaction) for a SQL function that would change
 *		learned state on a server in recovery; `action` completes "cannot
 *		... during recovery".
 */
void
NdagRequireWritableLearnedState(const char *action)
{
	if (!NdagMayWriteLearnedState())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot %s during recovery", action),
				 errdetail("The neural_dag store of a standby server changes only by replaying the primary's WAL."),
				 errhint("Run it on the primary server.")));
}
