/*-------------------------------------------------------------------------
 *
 * healing_worker.c
 *	  The self-healing workers: a healer is a dynamic background worker
 *	  connected to one database as one role; it runs the detectors, the
 *	  repairs when auto repair is on, records every event and exits.  The
 *	  static worker "neural_dag healing launcher" starts one healer per
 *	  database every ruvector.dag_healing_check_interval.
 *
 * The launcher, like the autovacuum launcher, connects to no database: it
 * reads the shared catalog pg_database directly, in short transactions,
 * so it does not depend on any database existing.  Its healers connect as
 * the database's owner; a healer started by ruvector_dag_heal() connects
 * as the calling user, so a check and its repairs have exactly that role's
 * rights, never more.  A healer's session search_path is pg_catalog,
 * pg_temp whatever the database's or the role's settings say.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/varlena.h"

#include "core/core.h"
#include "healing/selfheal.h"
#include "workers/workers.h"
#include "store.h"

#define LAUNCHER_NAME		"neural_dag healing launcher"
#define HEALER_NAME			"neural_dag healer"
#define LAUNCHER_RESTART_S	10

StaticAssertDecl(sizeof(NdagHealParams) <= BGW_EXTRALEN,
				 "NdagHealParams must fit in bgw_extra");

PGDLLEXPORT void ndag_healer_main(Datum main_arg);
PGDLLEXPORT void ndag_healing_launcher_main(Datum main_arg);

/* name of the healer's database, for events about the check itself */
static char *healer_dbname = NULL;

/* a database the launcher checks */
typedef struct HealDatabase
{
	Oid			oid;
	Oid			owner;			/* datdba: the role its healer connects as */
	bool		owner_can_login;
	char		name[NAMEDATALEN];
} HealDatabase;

/*
 * NdagHealParamsFromGucs
 *		What a healer connecting as userid is told: this process's settings.
 */
void
NdagHealParamsFromGucs(NdagHealParams *params, Oid userid)
{
	memset(params, 0, sizeof(NdagHealParams));
	params->userid = userid;
	params->auto_repair = ndag_healing_auto_repair;
	params->scope = ndag_healing_scope;
	params->lock_timeout = ndag_healing_lock_timeout;
	params->statement_timeout = ndag_healing_statement_timeout;
	params->bloat_ratio = ndag_healing_bloat_ratio;
	params->stale_ratio = ndag_healing_stale_ratio;
	params->stale_min_rows = ndag_healing_stale_min_rows;
}

/*
 * NdagLaunchHealer
 *		Start a healer in database dbid that notifies this process when it
 *		starts and stops; NULL if no worker slot is free.
 */
BackgroundWorkerHandle *
NdagLaunchHealer(Oid dbid, const NdagHealParams *params)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	NdagWorkerDefine(&worker, HEALER_NAME, "ndag_healer_main", BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, BGW_MAXLEN, HEALER_NAME " for database %u", dbid);
	worker.bgw_main_arg = ObjectIdGetDatum(dbid);
	memcpy(worker.bgw_extra, params, sizeof(NdagHealParams));
	worker.bgw_notify_pid = MyProcPid;

	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return NULL;
	return handle;
}

/*
 * healer_detect
 *		Run every detector in one transaction; a detector's error becomes
 *		a failed "check" event rather than ending the worker silently.
 */
static List *
healer_detect(const NdagHealParams *params, MemoryContext cxt)
{
	List	   *volatile events = NIL;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PG_TRY();
	{
		List	   *enabled = NIL;

		PushActiveSnapshot(GetTransactionSnapshot());
		MemoryContextSwitchTo(cxt);
		if (params->scope == NDAG_HEAL_SCOPE_ENABLED)
			enabled = NdagHealEnabledRelids();
		events = NdagHealDetectCatalog(params, enabled);
		events = list_concat(events, NdagHealDetectStore(params));
		PopActiveSnapshot();
		CommitTransactionCommand();
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		NdagHealEvent *ev;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ev = palloc0(sizeof(NdagHealEvent));
		ev->kind = "check";
		ev->object = psprintf("database %s", healer_dbname);
		ev->detail = psprintf("the check stopped: %s (SQLSTATE %s)",
							  edata->message, unpack_sql_state(edata->sqlerrcode));
		ev->action = pstrdup("none");
		ev->status = "failed";
		ev->at = GetCurrentTimestamp();
		events = lappend(NIL, ev);
		FreeErrorData(edata);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	return events;
}

/*
 * has_extension
 *		Whether neural_dag is installed in this database; remembers the
 *		database's name.
 */
static bool
has_extension(void)
{
	bool		found;

	StartTransactionCommand();
	found = OidIsValid(get_extension_oid("neural_dag", true));
	healer_dbname = MemoryContextStrdup(TopMemoryContext,
										get_database_name(MyDatabaseId));
	CommitTransactionCommand();
	return found;
}

/*
 * record_owner_cannot_login
 *		The periodic check of a database whose owner may not log in: a
 *		skipped "check" event, since the check runs with the owner's rights
 *		and nothing else.
 */
static void
record_owner_cannot_login(Oid owner)
{
	NdagHealEvent ev;

	memset(&ev, 0, sizeof(ev));
	StartTransactionCommand();
	ev.kind = "check";
	ev.object = psprintf("database %s", healer_dbname);
	ev.detail = psprintf("the periodic check runs as the database owner, and role \"%s\" may not log in",
						 GetUserNameFromId(owner, false));
	ev.action = pstrdup("none: give the owner LOGIN, or call ruvector_dag_heal() as a role that may");
	ev.status = "skipped";
	ev.at = GetCurrentTimestamp();
	NdagHealRecord(&ev);
	NdagHealTrimEvents(ndag_healing_max_events);
	CommitTransactionCommand();
}

/*
 * ndag_healer_main
 *		Entry point of a healer: main_arg is the database, bgw_extra the
 *		NdagHealParams.  Detect, repair and record each event, then keep
 *		the database's newest ruvector.dag_healing_max_events events.
 */
void
ndag_healer_main(Datum main_arg)
{
	Oid			dbid = DatumGetObjectId(main_arg);
	NdagHealParams params;
	MemoryContext cxt;
	List	   *events;
	ListCell   *lc;

	memcpy(&params, MyBgworkerEntry->bgw_extra, sizeof(NdagHealParams));

	/* a backend's signals: SIGINT cancels the running repair (timeouts) */
	pqsignal(SIGTERM, die);
	pqsignal(SIGINT, StatementCancelHandler);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	NdagWorkerGuardEnter(NDAG_WORKER_HEALER);
	BackgroundWorkerUnblockSignals();

	BackgroundWorkerInitializeConnectionByOid(dbid, params.userid, 0);
	pgstat_report_appname(HEALER_NAME);
	NdagSafeSearchPathForSession();

	cxt = AllocSetContextCreate(TopMemoryContext, HEALER_NAME,
								ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	if (!has_extension())
		proc_exit(0);
	MemoryContextSwitchTo(cxt);
	if (OidIsValid(params.nologin_owner))
	{
		record_owner_cannot_login(params.nologin_owner);
		proc_exit(0);
	}

	pgstat_report_activity(STATE_RUNNING, "neural_dag self-healing check");
	events = healer_detect(&params, cxt);

	foreach(lc, events)
	{
		NdagHealEvent *ev = (NdagHealEvent *) lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		NdagHealRun(ev, &params);
		StartTransactionCommand();
		NdagHealRecord(ev);
		CommitTransactionCommand();
		MemoryContextSwitchTo(cxt);
	}
	StartTransactionCommand();
	NdagHealTrimEvents(ndag_healing_max_events);
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	proc_exit(0);
}

/*
 * NdagRegisterHealingLauncher
 *		Register the launcher (from _PG_init).
 */
void
NdagRegisterHealingLauncher(void)
{
	NdagRegisterStaticWorker(LAUNCHER_NAME, "ndag_healing_launcher_main",
							 LAUNCHER_RESTART_S);
}

/*
 * database_listed
 *		Whether ruvector.dag_database is empty or names the database.
 */
static bool
database_listed(const char *name)
{
	char	   *raw;
	List	   *names;
	bool		listed = false;
	ListCell   *lc;

	if (ndag_database == NULL || ndag_database[0] == '\0')
		return true;
	raw = pstrdup(ndag_database);
	if (!SplitGUCList(raw, ',', &names))
		return false;
	foreach(lc, names)
	{
		if (strcmp((char *) lfirst(lc), name) == 0)
			listed = true;
	}
	return listed;
}

/*
 * role_can_login
 *		Whether a role has LOGIN (a healer cannot connect as it otherwise).
 */
static bool
role_can_login(Oid roleid)
{
	HeapTuple	tup = SearchSysCache1(AUTHOID, ObjectIdGetDatum(roleid));
	bool		canlogin = false;

	if (HeapTupleIsValid(tup))
	{
		canlogin = ((Form_pg_authid) GETSTRUCT(tup))->rolcanlogin;
		ReleaseSysCache(tup);
	}
	return canlogin;
}

/*
 * add_database
 *		NdagForEachDatabase callback: a database to check (no template,
 *		listed in ruvector.dag_database) joins the list.
 */
static void
add_database(Form_pg_database db, void *arg)
{
	List	  **result = (List **) arg;
	HealDatabase *hd;

	if (db->datistemplate || !database_listed(NameStr(db->datname)))
		return;
	hd = palloc(sizeof(HealDatabase));
	hd->oid = db->oid;
	hd->owner = db->datdba;
	hd->owner_can_login = role_can_login(db->datdba);
	strlcpy(hd->name, NameStr(db->datname), NAMEDATALEN);
	*result = lappend(*result, hd);
}

/*
 * list_databases
 *		The databases to check, allocated in cxt: those that can be
 *		connected to (database_list.c), no template, filtered by
 *		ruvector.dag_database.
 */
static List *
list_databases(MemoryContext cxt)
{
	List	   *result = NIL;
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);

	NdagForEachDatabase(add_database, &result);
	MemoryContextSwitchTo(oldcxt);
	return result;
}

/*
 * wait_healer
 *		Wait until a healer has stopped; false if shutdown was requested
 *		first (the healer is then told to stop).
 */
static bool
wait_healer(BackgroundWorkerHandle *handle)
{
	for (;;)
	{
		pid_t		pid;

		if (GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
			return true;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
		{
			TerminateBackgroundWorker(handle);
			return false;
		}
	}
}

/*
 * launcher_check
 *		One periodic check: one healer per database, one after the other,
 *		each connected as the database's owner.
 */
static void
launcher_check(MemoryContext cxt)
{
	ListCell   *lc;

	foreach(lc, list_databases(cxt))
	{
		HealDatabase *hd = (HealDatabase *) lfirst(lc);
		NdagHealParams params;
		BackgroundWorkerHandle *handle;

		NdagHealParamsFromGucs(&params, hd->owner);
		if (!hd->owner_can_login)
		{
			/* a healer that runs no SQL, only records why it does nothing */
			params.userid = BOOTSTRAP_SUPERUSERID;
			params.nologin_owner = hd->owner;
		}
		handle = NdagLaunchHealer(hd->oid, &params);

		if (handle == NULL)
		{
			ereport(WARNING,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("could not start a neural_dag healer for database \"%s\"",
							hd->name),
					 errhint("Raise max_worker_processes; the check is retried at the next interval.")));
			continue;
		}
		if (!wait_healer(handle))
			return;
	}
}

/*
 * ndag_healing_launcher_main
 *		Entry point of the launcher: the latch loop.
 */
void
ndag_healing_launcher_main(Datum main_arg)
{
	MemoryContext cxt;
	TimestampTz last;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	NdagWorkerGuardEnter(NDAG_WORKER_HEALING_LAUNCHER);
	BackgroundWorkerUnblockSignals();

	/* no database: pg_database is a shared catalog */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);

	cxt = AllocSetContextCreate(TopMemoryContext, LAUNCHER_NAME,
								ALLOCSET_DEFAULT_SIZES);
	ereport(LOG, (errmsg("%s started", LAUNCHER_NAME)));
	last = GetCurrentTimestamp();

	while (!ShutdownRequestPending)
	{
		long		timeout = -1;
		int			events = WL_LATCH_SET | WL_EXIT_ON_PM_DEATH;

		if (ndag_healing_enabled)
		{
			TimestampTz due = TimestampTzPlusMilliseconds(last,
														  ndag_healing_check_interval);

			timeout = Max(0, TimestampDifferenceMilliseconds(GetCurrentTimestamp(), due));
			events |= WL_TIMEOUT;
		}
		(void) WaitLatch(MyLatch, events, timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ShutdownRequestPending)
			break;
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!ndag_healing_enabled ||
			!TimestampDifferenceExceeds(last, GetCurrentTimestamp(),
										ndag_healing_check_interval))
			continue;

		launcher_check(cxt);
		MemoryContextReset(cxt);
		last = GetCurrentTimestamp();
	}
	proc_exit(0);
}
