/*-------------------------------------------------------------------------
 *
 * healing_repair.c
 *	  Running the repair of one self-healing event in a healer worker and
 *	  recording its outcome in the event.
 *
 * A SQL repair (REINDEX INDEX CONCURRENTLY, ANALYZE) runs as a top-level
 * utility statement of the worker, in a transaction of its own and never
 * inside a transaction block, the way exec_simple_query runs one: REINDEX
 * CONCURRENTLY commits and starts transactions itself.  It is bounded by
 * lock_timeout and statement_timeout (the timeouts signal the worker with
 * SIGINT, which StatementCancelHandler turns into a query cancel), and an
 * error is caught, its message kept and the transaction aborted, so that a
 * failed repair leaves the object as it was and the worker goes on.
 *
 * Two repairs never work on one object at once: each holds the session
 * advisory lock (NDAG_HEAL_LOCK_CLASS, object oid) of its database while it
 * runs, the same lock pg_try_advisory_lock(NDAG_HEAL_LOCK_CLASS, oid)
 * takes, and is skipped if another session holds it.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "pgstat.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "tcop/pquery.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"
#include "utils/timestamp.h"

#include "compat/compat_backend.h"
#include "core/core.h"
#include "healing/selfheal.h"
#include "store.h"

/*
 * heal_lock
 *		Take (or, with release, give back) the session advisory lock of an
 *		object; false if another session holds it.
 */
static bool
heal_lock(Oid objid, bool release)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, MyDatabaseId, (uint32) NDAG_HEAL_LOCK_CLASS,
						 (uint32) objid, 2);
	if (release)
	{
		LockRelease(&tag, ExclusiveLock, true);
		return true;
	}
	return LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL;
}

/*
 * set_timeouts
 *		The repair bounds of this worker's session, in ms.
 */
static void
set_timeouts(const NdagHealParams *params)
{
	char		buf[32];

	snprintf(buf, sizeof(buf), "%d", params->lock_timeout);
	SetConfigOption("lock_timeout", buf, PGC_SUSET, PGC_S_SESSION);
	snprintf(buf, sizeof(buf), "%d", params->statement_timeout);
	SetConfigOption("statement_timeout", buf, PGC_SUSET, PGC_S_SESSION);
}

/* what run_statement runs */
typedef struct UtilityStatement
{
	const char *sql;
	Oid			prelock;		/* table to lock first, or InvalidOid */
	MemoryContext stmtcxt;		/* outlives the statement's transactions */
} UtilityStatement;

/*
 * run_statement
 *		Parse and run one utility statement at top level (an
 *		NdagSafeSqlFunc); ends in the transaction the statement leaves.
 */
static void
run_statement(void *arg)
{
	UtilityStatement *stmt = (UtilityStatement *) arg;
	List	   *parsed;
	RawStmt    *raw;
	PlannedStmt *pstmt;
	bool		snapshot;

	MemoryContextSwitchTo(stmt->stmtcxt);
	parsed = pg_parse_query(stmt->sql);
	if (list_length(parsed) != 1)
		elog(ERROR, "self-healing repair is not one statement: %s", stmt->sql);
	raw = linitial_node(RawStmt, parsed);
	pstmt = makeNode(PlannedStmt);
	pstmt->commandType = CMD_UTILITY;
	pstmt->canSetTag = true;
	pstmt->utilityStmt = raw->stmt;
	pstmt->stmt_location = raw->stmt_location;
	pstmt->stmt_len = raw->stmt_len;

	if (StatementTimeout > 0)
		enable_timeout_after(STATEMENT_TIMEOUT, StatementTimeout);
	if (OidIsValid(stmt->prelock))
	{
		LockRelationOid(stmt->prelock, ShareUpdateExclusiveLock);
		SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_SESSION);
	}
	snapshot = PlannedStmtRequiresSnapshot(pstmt);
	if (snapshot)
		PushActiveSnapshot(GetTransactionSnapshot());
	ProcessUtility(pstmt, stmt->sql, false, PROCESS_UTILITY_TOPLEVEL, NULL,
				   NULL, None_Receiver, NULL);
	/* REINDEX CONCURRENTLY and VACUUM pop the snapshot themselves */
	if (snapshot && ActiveSnapshotSet())
		PopActiveSnapshot();
	disable_timeout(STATEMENT_TIMEOUT, false);
	MemoryContextSwitchTo(stmt->stmtcxt);
}

/*
 * heal_in_transaction
 *		Run step(arg) in a transaction of its own and commit it; on error,
 *		abort it and return the error (copied into cxt), else NULL.  With
 *		clear_timeouts, the statement's timeouts and the cancel a timeout
 *		left pending are cleared first, so that they do not end the healer.
 */
static ErrorData *
heal_in_transaction(void (*step) (void *arg), void *arg, MemoryContext cxt,
					bool clear_timeouts)
{
	ErrorData  *volatile edata = NULL;

	StartTransactionCommand();
	PG_TRY();
	{
		MemoryContextSwitchTo(cxt);
		step(arg);
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		if (clear_timeouts)
		{
			disable_all_timeouts(false);
			QueryCancelPending = false;
		}
		AbortCurrentTransaction();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return edata;
}

/*
 * run_safe_statement
 *		The statement of a UtilityStatement, with the fixed search_path.
 */
static void
run_safe_statement(void *arg)
{
	NdagRunSafeSql(run_statement, arg);
}

/*
 * run_utility
 *		Run one utility statement at top level in a transaction of its own,
 *		through NdagRunSafeSql; NULL on success, else the error message (in
 *		cxt).
 *
 * With a valid prelock, the statement is REINDEX CONCURRENTLY on an index
 * of that table: lock_timeout bounds taking the table's lock, done here
 * first, and is then lifted.  REINDEX CONCURRENTLY goes on to wait for
 * every transaction writing the table or holding an older snapshot; cut
 * short by lock_timeout, those waits would fail after the new index was
 * created and leave it behind, so only statement_timeout bounds them.
 * Its later transactions run with the healer's session search_path, which
 * is the same (NdagSafeSearchPathForSession).
 */
static char *
run_utility(const char *sql, Oid prelock, MemoryContext cxt)
{
	UtilityStatement stmt;
	ErrorData  *edata;
	char	   *error = NULL;

	stmt.sql = sql;
	stmt.prelock = prelock;
	/* the parse tree must outlive the transactions REINDEX CONCURRENTLY ends */
	stmt.stmtcxt = AllocSetContextCreate(cxt, "neural_dag healing statement",
										 ALLOCSET_DEFAULT_SIZES);
	debug_query_string = sql;
	pgstat_report_activity(STATE_RUNNING, sql);
	SetCurrentStatementStartTimestamp();
	edata = heal_in_transaction(run_safe_statement, &stmt, cxt, true);
	if (edata != NULL)
	{
		error = psprintf("%s (SQLSTATE %s)", edata->message,
						 unpack_sql_state(edata->sqlerrcode));
		ereport(LOG,
				(errmsg("neural_dag self-healing repair failed: %s", error),
				 errcontext("statement: %s", sql)));
		FreeErrorData(edata);
	}
	MemoryContextDelete(stmt.stmtcxt);
	debug_query_string = NULL;
	pgstat_report_activity(STATE_IDLE, NULL);
	return error;
}

/*
 * may_repair
 *		Check, before running it, what a repair would silently skip rather
 *		than refuse (ANALYZE only warns a non-owner); NULL or the reason.
 */
static char *
may_repair(const NdagHealEvent *ev)
{
	char	   *why = NULL;

	if (!ev->needs_owner)
		return NULL;
	StartTransactionCommand();
	if (!NdagRelationOwnercheck(ev->relid, GetUserId()) &&
		!NdagDatabaseOwnercheck(MyDatabaseId, GetUserId()))
		why = psprintf("permission denied: only the owner of %s or of the database may run it (SQLSTATE 42501)",
					   ev->object);
	CommitTransactionCommand();
	return why;
}

/*
 * refresh_index_meta_step
 *		Refresh the index metadata of index *arg (an Oid).
 */
static void
refresh_index_meta_step(void *arg)
{
	PushActiveSnapshot(GetTransactionSnapshot());
	NdagIndexMetaRefresh(*(Oid *) arg);
	PopActiveSnapshot();
}

/*
 * note_rebuild
 *		After the check rebuilt an index, bring the index metadata of the
 *		learned patterns up to date, so that the rebuild is not reported as
 *		a change of theirs.  A failure is only logged: the repair is done.
 */
static void
note_rebuild(Oid indexrelid, MemoryContext cxt)
{
	ErrorData  *edata = heal_in_transaction(refresh_index_meta_step, &indexrelid,
											cxt, false);

	if (edata != NULL)
	{
		ereport(LOG,
				(errmsg("neural_dag could not update the index metadata after rebuilding index %u: %s",
						indexrelid, edata->message)));
		FreeErrorData(edata);
	}
}

/*
 * run_sql_repair
 *		The advisory lock, the privilege check and the statement.
 */
static void
run_sql_repair(NdagHealEvent *ev, const NdagHealParams *params,
			   MemoryContext cxt)
{
	char	   *error;
	bool		locked;

	/*
	 * REINDEX CONCURRENTLY would wait, after building its new index, for the
	 * snapshot of a caller waiting for us, time out and leave that index
	 * behind: do not start it.
	 */
	if (ev->concurrent && params->caller_snapshot)
	{
		ev->status = "skipped";
		ev->action = psprintf("%s not run: ruvector_dag_heal() was called in a transaction block or at REPEATABLE READ or SERIALIZABLE, whose snapshot the rebuild would wait for",
							  ev->sql);
		return;
	}

	StartTransactionCommand();
	locked = !OidIsValid(ev->objid) || heal_lock(ev->objid, false);
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	if (!locked)
	{
		ev->status = "skipped";
		ev->action = psprintf("%s not run: another repair of the object is in progress (advisory lock %d, %u is held)",
							  ev->sql, NDAG_HEAL_LOCK_CLASS, ev->objid);
		return;
	}

	error = may_repair(ev);
	MemoryContextSwitchTo(cxt);
	if (error == NULL)
		error = run_utility(ev->sql, ev->concurrent ? ev->relid : InvalidOid,
							cxt);

	if (OidIsValid(ev->objid))
	{
		StartTransactionCommand();
		heal_lock(ev->objid, true);
		CommitTransactionCommand();
		MemoryContextSwitchTo(cxt);
	}

	if (error == NULL)
	{
		ev->status = "repaired";
		ev->action = pstrdup(ev->sql);
		if (ev->concurrent)
			note_rebuild(ev->objid, cxt);
	}
	else
	{
		ev->status = "failed";
		ev->action = psprintf("%s failed: %s", ev->sql, error);
	}
}

/*
 * store_repair_step
 *		The store repair of event *arg; sets its action and status.
 */
static void
store_repair_step(void *arg)
{
	NdagHealEvent *ev = (NdagHealEvent *) arg;

	if (ev->repair == NDAG_HEAL_READERS)
		ev->action = psprintf("cleared %d stale reader slots (mdb_reader_check)",
							  StoreReaderCheck());
	else if (ev->repair == NDAG_HEAL_CONFIDENCE ||
			 ev->repair == NDAG_HEAL_DEMOTE)
		ev->action = NdagHealPatchPatterns(ev);
	else
		ev->action = psprintf("trimmed the %lld oldest trajectories and their nodes",
							  (long long) NdagHealTrim(ev->keep));
	ev->status = "repaired";
}

/*
 * run_store_repair
 *		Clearing reader slots, trimming trajectories or patching patterns,
 *		in a transaction so that an error (e.g. a full disk) aborts cleanly.
 */
static void
run_store_repair(NdagHealEvent *ev, MemoryContext cxt)
{
	ErrorData  *edata = heal_in_transaction(store_repair_step, ev, cxt, false);

	if (edata != NULL)
	{
		ev->status = "failed";
		ev->action = psprintf("%s failed: %s (SQLSTATE %s)", ev->action,
							  edata->message, unpack_sql_state(edata->sqlerrcode));
		FreeErrorData(edata);
	}
}

/*
 * NdagHealRun
 *		Run the repair of an event if auto repair is on, and set its
 *		status, action and duration.  Called outside any transaction; cxt
 *		is the current memory context, which outlives the transactions.
 */
void
NdagHealRun(NdagHealEvent *ev, const NdagHealParams *params)
{
	MemoryContext cxt = CurrentMemoryContext;
	TimestampTz start;

	if (ev->repair == NDAG_HEAL_NONE)
	{
		if (ev->status == NULL)
			ev->status = "detected";
		return;
	}
	if (!params->auto_repair)
	{
		ev->status = "recommended";
		ev->action = psprintf("would run: %s (ruvector.dag_healing_auto_repair is off)",
							  ev->action);
		return;
	}

	set_timeouts(params);
	start = GetCurrentTimestamp();
	if (ev->repair == NDAG_HEAL_SQL)
		run_sql_repair(ev, params, cxt);
	else
		run_store_repair(ev, cxt);
	ev->has_duration = true;
	ev->duration_ms = (double) (GetCurrentTimestamp() - start) / 1000.0;
	ev->at = start;
}
