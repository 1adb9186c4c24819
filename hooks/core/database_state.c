/*-------------------------------------------------------------------------
 *
 * database_state.c
 *	  What every new backend of a database would otherwise look up for
 *	  itself at its first statement, looked up once and kept in shared
 *	  memory: whether the database has the extension (a pg_extension
 *	  scan) and the tables enabled for learning in it (an LMDB open and
 *	  scan).
 *
 * One slot per database (DB_STATE_SLOTS, the least recently used is
 * reused).  Each answer carries the epoch it was looked up at and is
 * valid only while that epoch is current:
 *
 *	- the extension epoch (here) moves at the commit of a transaction that
 *	  created or dropped an extension or dropped a database, after every
 *	  COMMIT PREPARED (extension_state.c), and when a backend sees the
 *	  neural_dag_fdw wrapper change (the syscache invalidation of CREATE
 *	  and DROP EXTENSION);
 *	- the tables epoch (shmem.c) moves at the commit of every write of the
 *	  enabled tables (enabled_tables.c); a shared enabled-table set is
 *	  also dropped when the learned-state epoch moves (every store write
 *	  that moves the store's generation, a restore among them, which
 *	  brings its own enabled tables).
 *
 * A backend publishes what it looked up only if the epoch it read before
 * looking did not move meanwhile, so an answer that a concurrent commit
 * made stale is never kept.  A set of more than DB_STATE_MAX_TABLES tables
 * is not shared (each backend reads its own).  Backends keep their own
 * copies on top (extension_state.c, enabled_tables.c): this only spares a
 * new backend, or one whose copy went stale, the look-up.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "storage/spin.h"

#include "core/core.h"

#define DB_STATE_SLOTS			64
#define DB_STATE_MAX_TABLES		256

typedef struct DbStateSlot
{
	Oid			dbid;			/* InvalidOid: free */
	uint64		last_used;		/* for replacement: the oldest goes */
	uint64		extension_epoch;	/* 0: not known */
	bool		installed;
	bool		tables_known;	/* the set below was read */
	uint64		tables_epoch;	/* the tables epoch it was read at */
	uint64		tables_learned_epoch;	/* and the learned-state epoch */
	TimestampTz tables_loaded_at;
	int			ntables;
	Oid			tables[DB_STATE_MAX_TABLES];	/* sorted */
} DbStateSlot;

typedef struct DbStateShared
{
	slock_t		mutex;			/* protects the slots and the clock */
	uint64		clock;			/* ticks at every use of a slot */
	pg_atomic_uint64 extension_epoch;	/* starts at 1 */
	pg_atomic_uint64 catalog_lookups;	/* pg_extension looked up by a backend */
	pg_atomic_uint64 table_loads;	/* enabled tables read from the store */
	DbStateSlot slots[DB_STATE_SLOTS];
} DbStateShared;

static DbStateShared *db_state = NULL;

/*
 * NdagDatabaseStateShmemSize
 *		Space of the shared slots (from the module's shmem_request_hook).
 */
Size
NdagDatabaseStateShmemSize(void)
{
	return MAXALIGN(sizeof(DbStateShared));
}

/*
 * NdagDatabaseStateShmemInit
 *		Create or attach to the shared slots (from the module's
 *		shmem_startup_hook, which holds AddinShmemInitLock).
 */
void
NdagDatabaseStateShmemInit(void)
{
	bool		found;

	db_state = ShmemInitStruct("neural_dag database state",
							   sizeof(DbStateShared), &found);
	if (!found)
	{
		SpinLockInit(&db_state->mutex);
		db_state->clock = 0;
		pg_atomic_init_u64(&db_state->extension_epoch, 1);
		pg_atomic_init_u64(&db_state->catalog_lookups, 0);
		pg_atomic_init_u64(&db_state->table_loads, 0);
		for (int i = 0; i < DB_STATE_SLOTS; i++)
		{
			db_state->slots[i].dbid = InvalidOid;
			db_state->slots[i].last_used = 0;
			db_state->slots[i].extension_epoch = 0;
			db_state->slots[i].tables_known = false;
			db_state->slots[i].ntables = 0;
		}
	}
}

/*
 * NdagExtensionEpoch
 *		The current extension epoch (0 before shared memory exists: nothing
 *		is shared then).
 */
pg_attribute_hot uint64
NdagExtensionEpoch(void)
{
	return db_state != NULL ? pg_atomic_read_u64(&db_state->extension_epoch) : 0;
}

/*
 * NdagExtensionEpochBump
 *		Whether a database has the extension may have changed: every shared
 *		answer becomes stale.
 */
void
NdagExtensionEpochBump(void)
{
	if (db_state != NULL)
		pg_atomic_fetch_add_u64(&db_state->extension_epoch, 1);
}

/*
 * find_slot
 *		The slot of dbid, or NULL; with create, a free or the least
 *		recently used slot is taken for it.  Caller holds the mutex.
 */
static pg_attribute_hot DbStateSlot *
find_slot(Oid dbid, bool create)
{
	DbStateSlot *oldest = NULL;

	for (int i = 0; i < DB_STATE_SLOTS; i++)
	{
		DbStateSlot *slot = &db_state->slots[i];

		if (slot->dbid == dbid)
		{
			slot->last_used = ++db_state->clock;
			return slot;
		}
		if (oldest == NULL || slot->dbid == InvalidOid ||
			(oldest->dbid != InvalidOid && slot->last_used < oldest->last_used))
			oldest = slot;
	}
	if (!create)
		return NULL;
	oldest->dbid = dbid;
	oldest->last_used = ++db_state->clock;
	oldest->extension_epoch = 0;
	oldest->tables_known = false;
	oldest->ntables = 0;
	return oldest;
}

/*
 * NdagSharedInstalled
 *		Whether dbid has the extension, as looked up at epoch; false when
 *		no answer of that epoch is kept.
 */
bool
NdagSharedInstalled(Oid dbid, uint64 epoch, bool *installed)
{
	DbStateSlot *slot;
	bool		known = false;

	if (db_state == NULL || epoch == 0)
		return false;
	SpinLockAcquire(&db_state->mutex);
	slot = find_slot(dbid, false);
	if (slot != NULL && slot->extension_epoch == epoch)
	{
		*installed = slot->installed;
		known = true;
	}
	SpinLockRelease(&db_state->mutex);
	return known;
}

/*
 * NdagSharedPublishInstalled
 *		Keep what a backend looked up in pg_extension, read at epoch, unless
 *		the epoch moved meanwhile; counts the look-up.
 */
void
NdagSharedPublishInstalled(Oid dbid, uint64 epoch, bool installed)
{
	DbStateSlot *slot;

	if (db_state == NULL)
		return;
	pg_atomic_fetch_add_u64(&db_state->catalog_lookups, 1);
	if (epoch == 0)
		return;
	SpinLockAcquire(&db_state->mutex);
	if (pg_atomic_read_u64(&db_state->extension_epoch) == epoch)
	{
		slot = find_slot(dbid, true);
		slot->extension_epoch = epoch;
		slot->installed = installed;
	}
	SpinLockRelease(&db_state->mutex);
}

/*
 * NdagSharedTables
 *		The enabled tables of dbid as read at the current tables and
 *		learned-state epochs (tables_epoch, learned_epoch as read by the
 *		caller): a sorted copy palloc'd in cxt into *relids, their number
 *		into *n, when they were read into *loaded_at; false when no such
 *		set is kept.
 */
bool
NdagSharedTables(Oid dbid, uint64 tables_epoch, uint64 learned_epoch,
				 MemoryContext cxt, Oid **relids, int *n,
				 TimestampTz *loaded_at)
{
	Oid		   *copy = MemoryContextAlloc(cxt, sizeof(Oid) * DB_STATE_MAX_TABLES);
	DbStateSlot *slot;
	bool		known = false;

	if (db_state == NULL)
	{
		pfree(copy);
		return false;
	}
	SpinLockAcquire(&db_state->mutex);
	slot = find_slot(dbid, false);
	if (slot != NULL && slot->tables_known &&
		slot->tables_epoch == tables_epoch &&
		slot->tables_learned_epoch == learned_epoch)
	{
		memcpy(copy, slot->tables, sizeof(Oid) * slot->ntables);
		*n = slot->ntables;
		*loaded_at = slot->tables_loaded_at;
		known = true;
	}
	SpinLockRelease(&db_state->mutex);
	if (!known)
	{
		pfree(copy);
		return false;
	}
	*relids = copy;
	return true;
}

/*
 * NdagSharedPublishTables
 *		Keep the enabled tables of dbid (sorted) a backend read from the
 *		store at the tables and learned-state epochs given, unless either
 *		moved meanwhile or they are too many to share; counts the read.
 */
void
NdagSharedPublishTables(Oid dbid, uint64 tables_epoch, uint64 learned_epoch,
						TimestampTz loaded_at, const Oid *relids, int n)
{
	DbStateSlot *slot;

	if (db_state == NULL)
		return;
	pg_atomic_fetch_add_u64(&db_state->table_loads, 1);
	if (n > DB_STATE_MAX_TABLES)
		return;
	SpinLockAcquire(&db_state->mutex);
	if (NdagTablesEpoch() == tables_epoch &&
		NdagLearnedEpoch() == learned_epoch)
	{
		slot = find_slot(dbid, true);
		memcpy(slot->tables, relids, sizeof(Oid) * n);
		slot->ntables = n;
		slot->tables_known = true;
		slot->tables_epoch = tables_epoch;
		slot->tables_learned_epoch = learned_epoch;
		slot->tables_loaded_at = loaded_at;
	}
	SpinLockRelease(&db_state->mutex);
}

/*
 * NdagDatabaseStateStatusCounters
 *		ruvector_dag_status() counters: how many times, cluster-wide, a
 *		backend looked the extension up in pg_extension and read the
 *		enabled tables from the store (rather than finding them shared),
 *		and the epochs whose moves make the shared answers stale.
 */
void
NdagDatabaseStateStatusCounters(void *state)
{
	NdagStatusAddCounter(state, "extension_epoch", (int64) NdagExtensionEpoch());
	NdagStatusAddCounter(state, "tables_epoch", (int64) NdagTablesEpoch());
	NdagStatusAddCounter(state, "learned_epoch", (int64) NdagLearnedEpoch());
	NdagStatusAddCounter(state, "extension_lookups",
						 db_state ? (int64) pg_atomic_read_u64(&db_state->catalog_lookups) : 0);
	NdagStatusAddCounter(state, "enabled_table_loads",
						 db_state ? (int64) pg_atomic_read_u64(&db_state->table_loads) : 0);
}
