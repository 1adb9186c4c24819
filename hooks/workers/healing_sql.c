/*-------------------------------------------------------------------------
 *
 * healing_sql.c
 *	  ruvector_dag_heal(): run one self-healing check of the current
 *	  database now, as the calling user, and return the events it recorded.
 *	  Only the database owner, neural_dag_admin and superusers may: each
 *	  call records events (pushing older ones out) and starts a worker.
 *
 * The check runs in a healer worker (healing_worker.c) with this session's
 * ruvector.dag_healing_* settings, because a repair such as REINDEX INDEX
 * CONCURRENTLY cannot run inside the caller's transaction.  The caller
 * waits for the worker to exit.  A repair needing a lock that the calling
 * transaction holds waits for it until lock_timeout and is recorded as
 * failed.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_authid.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/lwlock.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "core/core.h"
#include "healing/selfheal.h"
#include "workers/workers.h"
#include "store.h"

PG_FUNCTION_INFO_V1(ruvector_dag_heal);

/* columns of ruvector_dag_heal() */
#define HEAL_COLS	8

/*
 * require_login
 *		A healer connects as the current user, which therefore needs LOGIN.
 */
static void
require_login(Oid roleid)
{
	HeapTuple	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(roleid));
	bool		canlogin;
	char	   *name;

	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for role %u", roleid);
	canlogin = ((Form_pg_authid) GETSTRUCT(tup))->rolcanlogin;
	name = pstrdup(NameStr(((Form_pg_authid) GETSTRUCT(tup))->rolname));
	ReleaseSysCache(tup);
	if (!canlogin)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("role \"%s\" cannot run a self-healing check", name),
				 errdetail("The check runs in a background worker that connects as the current role, and \"%s\" may not log in.",
						   name),
				 errhint("Call ruvector_dag_heal() as a role with LOGIN, e.g. after RESET ROLE.")));
}

/*
 * set_safe_ic
 *		Set or clear PROC_IN_SAFE_IC on this backend, as indexcmds.c does for
 *		a backend running CREATE INDEX CONCURRENTLY.
 */
static void
set_safe_ic(bool on)
{
	LWLockAcquire(ProcArrayLock, LW_EXCLUSIVE);
	if (on)
		MyProc->statusFlags |= PROC_IN_SAFE_IC;
	else
		MyProc->statusFlags &= ~PROC_IN_SAFE_IC;
	ProcGlobal->statusFlags[MyProc->pgxactoff] = MyProc->statusFlags;
	LWLockRelease(ProcArrayLock);
}

/*
 * run_healer
 *		Start a healer for this database and wait until it exits; a cancel
 *		of the caller stops the healer too.
 *
 * REINDEX CONCURRENTLY waits for every transaction whose snapshot is older
 * than its own, and the caller's statement has one while it waits for the
 * healer: the repair could never finish.  Like a backend running CREATE
 * INDEX CONCURRENTLY, the waiting caller is therefore marked
 * PROC_IN_SAFE_IC, which those waits skip.  That is sound only if the
 * caller's snapshot is not used on the table afterwards, so it is done
 * only at READ COMMITTED outside a transaction block (the next statement
 * takes a new snapshot); otherwise the healer skips such rebuilds (they
 * would time out after building their new index and leave it behind).
 */
static void
run_healer(void)
{
	NdagHealParams params;
	BackgroundWorkerHandle *handle;
	bool		safe_ic = !IsTransactionBlock() && !IsolationUsesXactSnapshot();

	NdagHealParamsFromGucs(&params, GetUserId());
	params.caller_snapshot = !safe_ic;
	handle = NdagLaunchHealer(MyDatabaseId, &params);
	if (handle == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("could not start a neural_dag healer worker"),
				 errhint("Raise max_worker_processes, or retry when fewer background workers run.")));

	if (safe_ic)
		set_safe_ic(true);
	PG_TRY();
	{
		if (WaitForBackgroundWorkerShutdown(handle) == BGWH_POSTMASTER_DIED)
			ereport(ERROR,
					(errcode(ERRCODE_ADMIN_SHUTDOWN),
					 errmsg("postmaster exited during a neural_dag self-healing check")));
	}
	PG_CATCH();
	{
		if (safe_ic)
			set_safe_ic(false);
		TerminateBackgroundWorker(handle);
		PG_RE_THROW();
	}
	PG_END_TRY();
	if (safe_ic)
		set_safe_ic(false);
}

/*
 * ruvector_dag_heal
 *		Run a check now and return the events of this database recorded
 *		since it started.
 */
Datum
ruvector_dag_heal(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	const StoreSchema *schema = StoreGetSchema(STORE_DBI_HEALING);
	StoreValue *values;
	StoreKeyRange range;
	StoreScan  *scan;
	int64		first;
	int			f_id,
				f_at,
				f_kind,
				f_object,
				f_detail,
				f_action,
				f_status,
				f_duration;

	NdagRequirePreload();
	if (RecoveryInProgress())
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("cannot run a self-healing check during recovery"),
				 errhint("Run ruvector_dag_heal() on the primary server.")));
	NdagRequireOwnerOrAdmin("run a self-healing check");
	require_login(GetUserId());
	InitMaterializedSRF(fcinfo, 0);

	first = NdagHealEventCounter();
	run_healer();

	f_id = StoreSchemaFieldIndex(schema, "event_id");
	f_at = StoreSchemaFieldIndex(schema, "at");
	f_kind = StoreSchemaFieldIndex(schema, "kind");
	f_object = StoreSchemaFieldIndex(schema, "object");
	f_detail = StoreSchemaFieldIndex(schema, "detail");
	f_action = StoreSchemaFieldIndex(schema, "action");
	f_status = StoreSchemaFieldIndex(schema, "status");
	f_duration = StoreSchemaFieldIndex(schema, "duration_ms");

	memset(&range, 0, sizeof(range));
	range.has_lower = true;
	range.lower_inclusive = true;
	range.lower.v.i8 = first;
	values = palloc(sizeof(StoreValue) * schema->nfields);
	scan = StoreScanBegin(STORE_DBI_HEALING, MyDatabaseId, &range, false);
	while (StoreScanNext(scan, values))
	{
		Datum		out[HEAL_COLS];
		bool		nulls[HEAL_COLS];
		int			textf[5] = {f_kind, f_object, f_detail, f_action, f_status};

		memset(nulls, 0, sizeof(nulls));
		out[0] = Int64GetDatum(values[f_id].v.i8);
		out[1] = TimestampTzGetDatum(values[f_at].v.ts);
		nulls[1] = values[f_at].isnull;
		for (int i = 0; i < 5; i++)
		{
			StoreValue *v = &values[textf[i]];

			nulls[2 + i] = v->isnull;
			if (!v->isnull)
				out[2 + i] = PointerGetDatum(cstring_to_text_with_len(v->data,
																	  v->len));
		}
		out[7] = Float8GetDatum(values[f_duration].v.f8);
		nulls[7] = values[f_duration].isnull;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, out, nulls);
	}
	StoreScanEnd(scan);
	return (Datum) 0;
}
