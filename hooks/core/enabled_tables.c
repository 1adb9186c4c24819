/*-------------------------------------------------------------------------
 *
 * enabled_tables.c
 *	  This backend's copy of the tables enabled for learning in its
 *	  database, so that deciding whether a statement is recorded costs no
 *	  LMDB read.
 *
 * The copy is reloaded when the shared tables epoch moves (a transaction
 * that enabled or disabled a table committed and its writes were applied:
 * see tables_committed), and at least every TABLES_MAX_AGE_MS, which covers
 * changes the epoch does not see, such as a restore.  A (re)load first takes
 * the set another backend of the database read at the same tables and
 * learned-state epochs (a restore moves the latter) from shared memory
 * (database_state.c), and reads the store only when there is none; what it
 * reads it shares.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "nodes/plannodes.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/core.h"
#include "store.h"

#define TABLES_MAX_AGE_MS	5000

static Oid *enabled_relids = NULL;	/* sorted, in TopMemoryContext */
static int	n_enabled = 0;
static bool enabled_valid = false;
static uint64 enabled_epoch = 0;
static TimestampTz enabled_loaded_at = 0;

/*
 * oid_cmp
 *		qsort/bsearch comparator of Oids.
 */
static int
oid_cmp(const void *a, const void *b)
{
	Oid			x = *(const Oid *) a;
	Oid			y = *(const Oid *) b;

	return (x > y) - (x < y);
}

/*
 * tables_committed
 *		store_pending_commit_hook: a committed transaction's writes were
 *		applied; if they touched the enabled tables, tell every backend.
 *		Only committed transactions get here, so an aborted one (also one
 *		whose commit failed after PRE_COMMIT) moves no epoch.
 */
static void
tables_committed(const bool *written)
{
	if (written[STORE_DBI_TABLES])
	{
		NdagTablesEpochBump();
		enabled_valid = false;
	}
}

/*
 * tables_replayed
 *		store_replay_hook: redo changed the enabled tables (a standby, crash
 *		recovery); tell every backend.
 */
static void
tables_replayed(const bool *written, const StoreReplayedWrite *writes,
				int nwrites)
{
	if (written[STORE_DBI_TABLES])
		NdagTablesEpochBump();
}

/*
 * NdagEnabledTablesInit
 *		Hook into the store's commit-time writes and into redo (from
 *		_PG_init).
 */
void
NdagEnabledTablesInit(void)
{
	store_pending_commit_hook = tables_committed;
	store_replay_hook = tables_replayed;
}

/*
 * install_enabled_tables
 *		Make relids (sorted, in TopMemoryContext) this backend's copy, read
 *		at tables epoch epoch at time loaded_at.
 */
static void
install_enabled_tables(Oid *relids, int n, uint64 epoch, TimestampTz loaded_at)
{
	if (enabled_relids != NULL)
		pfree(enabled_relids);
	enabled_relids = relids;
	n_enabled = n;
	enabled_epoch = epoch;
	enabled_loaded_at = loaded_at;
	enabled_valid = true;
}

/*
 * load_enabled_tables
 *		Take the enabled tables of this database from shared memory, or read
 *		them from the store and share them.
 */
static void
load_enabled_tables(void)
{
	const StoreSchema *schema;
	StoreValue *values;
	int			relid_field;
	uint64		epoch = NdagTablesEpoch();
	uint64		learned_epoch = NdagLearnedEpoch();
	TimestampTz now = GetCurrentStatementStartTimestamp();
	TimestampTz loaded_at;
	StoreScan  *scan;
	Oid		   *relids;
	int			n = 0;
	int			cap = 16;

	if (NdagSharedTables(MyDatabaseId, epoch, learned_epoch, TopMemoryContext,
						 &relids, &n, &loaded_at))
	{
		/* its age counts from this backend's take, as a read would */
		install_enabled_tables(relids, n, epoch, now);
		return;
	}

	schema = StoreGetSchema(STORE_DBI_TABLES);
	values = palloc(sizeof(StoreValue) * schema->nfields);
	relid_field = StoreSchemaFieldIndex(schema, "relid");
	relids = MemoryContextAlloc(TopMemoryContext, sizeof(Oid) * cap);
	PG_TRY();
	{
		scan = StoreScanBegin(STORE_DBI_TABLES, MyDatabaseId, NULL, false);
		while (StoreScanNext(scan, values))
		{
			if (values[relid_field].isnull)
				continue;
			if (n == cap)
			{
				cap *= 2;
				relids = repalloc(relids, sizeof(Oid) * cap);
			}
			relids[n++] = values[relid_field].v.oid;
		}
		StoreScanEnd(scan);
	}
	PG_CATCH();
	{
		pfree(relids);
		PG_RE_THROW();
	}
	PG_END_TRY();
	pfree(values);

	qsort(relids, n, sizeof(Oid), oid_cmp);
	install_enabled_tables(relids, n, epoch, now);
	NdagSharedPublishTables(MyDatabaseId, epoch, learned_epoch, now, relids, n);
}

/*
 * ensure_enabled_tables
 *		Reload the copy if it may be out of date.
 */
static void
ensure_enabled_tables(void)
{
	if (!enabled_valid || enabled_epoch != NdagTablesEpoch() ||
		TimestampDifferenceExceeds(enabled_loaded_at,
								   GetCurrentStatementStartTimestamp(),
								   TABLES_MAX_AGE_MS))
		load_enabled_tables();
}

/*
 * NdagTableEnabled
 *		Whether relid is enabled for learning in this database, as this
 *		backend's copy says.  May read the store.
 */
bool
NdagTableEnabled(Oid relid)
{
	ensure_enabled_tables();
	return n_enabled > 0 &&
		bsearch(&relid, enabled_relids, n_enabled, sizeof(Oid), oid_cmp) != NULL;
}

/*
 * NdagStatementEligible
 *		Whether a statement reads or writes a table enabled for learning,
 *		or any table at all when any_table is set (ruvector.dag_all_tables).
 *		May read the store.
 */
bool
NdagStatementEligible(const PlannedStmt *stmt, bool any_table)
{
	ListCell   *lc;
	bool		has_relation = false;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind == RTE_RELATION)
		{
			has_relation = true;
			break;
		}
	}
	if (!has_relation)
		return false;
	if (any_table)
		return true;

	ensure_enabled_tables();
	if (n_enabled == 0)
		return false;

	foreach(lc, stmt->rtable)
	{
		RangeTblEntry *rte = (RangeTblEntry *) lfirst(lc);

		if (rte->rtekind == RTE_RELATION &&
			bsearch(&rte->relid, enabled_relids, n_enabled, sizeof(Oid),
					oid_cmp) != NULL)
			return true;
	}
	return false;
}

/* NdagStatementEligible for NdagFallbackRun */
typedef struct EligibleCall
{
	const PlannedStmt *stmt;
	bool		any_table;
	bool		eligible;
} EligibleCall;

/*
 * eligible_step
 *		NdagStatementEligible of the call.
 */
static void
eligible_step(void *arg)
{
	EligibleCall *call = (EligibleCall *) arg;

	call->eligible = NdagStatementEligible(call->stmt, call->any_table);
}

/*
 * NdagStatementEligibleOrFallback
 *		NdagStatementEligible for a user's statement: false as well when
 *		the enabled tables cannot be read, with *failed set (the failure is
 *		logged and counted by fallback.c).
 */
bool
NdagStatementEligibleOrFallback(const PlannedStmt *stmt, bool any_table,
								bool *failed)
{
	EligibleCall call = {stmt, any_table, false};

	*failed = !NdagFallbackRun(NDAG_FALLBACK_ENABLED_TABLES,
							   "read the enabled tables", eligible_step, &call);
	return !*failed && call.eligible;
}
