/*-------------------------------------------------------------------------
 *
 * worker_define.c
 *	  The definition every background worker of this library shares.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "postmaster/bgworker.h"

#include "workers/workers.h"

/*
 * NdagWorkerDefine
 *		A worker of this library, of type type, running function, that
 *		starts once recovery is over, may connect to a database and is
 *		restarted restart_s seconds after a crash (BGW_NEVER_RESTART: never);
 *		named after its type, with no argument and nobody notified.
 */
void
NdagWorkerDefine(BackgroundWorker *worker, const char *type,
				 const char *function, int restart_s)
{
	memset(worker, 0, sizeof(BackgroundWorker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = restart_s;
	snprintf(worker->bgw_library_name, BGW_MAXLEN, "neural_dag");
	snprintf(worker->bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(worker->bgw_name, BGW_MAXLEN, "%s", type);
	snprintf(worker->bgw_type, BGW_MAXLEN, "%s", type);
	worker->bgw_main_arg = (Datum) 0;
	worker->bgw_notify_pid = 0;
}
