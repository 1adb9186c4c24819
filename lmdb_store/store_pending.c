/*-------------------------------------------------------------------------
 *
 * store_pending.c
 *	  The writes of the current PostgreSQL transaction: queued while it
 *	  runs, applied to LMDB as one batch at commit, dropped on abort.
 *
 * Two structures are kept in a child of TopTransactionContext:
 *
 *	- the operation log, in order, each tagged with the subtransaction
 *	  nesting level that queued it (a rolled-back savepoint drops its
 *	  operations; a released one hands them to its parent);
 *	- an index (dbi, key) -> state after all queued operations, plus which
 *	  databases of each DBI were cleared, which scans and lookups overlay
 *	  on the stored records so that a transaction sees its own writes.
 *
 * The index is maintained as operations arrive and rebuilt from the log
 * after a subtransaction abort.  Values reachable from index entries are
 * never modified or freed before the transaction ends (a patch makes new
 * arrays), so a scan may keep a snapshot of entries while the statement
 * queues more operations: it sees the state as of its start.
 *
 * At commit the log, not the index, is applied: patches must be merged
 * with the records as they are at commit time.  It is applied in two
 * phases (store_intent.c): checked and recorded as a durable intent at
 * PRE_COMMIT, where an error still aborts the transaction, and applied
 * at XACT_EVENT_COMMIT, after PostgreSQL committed, or deleted at
 * XACT_EVENT_ABORT, so that nothing of a transaction whose commit fails
 * late (a serialization failure at commit) remains.  The queue is kept
 * until the end of the transaction, for other callbacks to look at.
 *
 * Best-effort writes (StorePendingDeleteBestEffort, ...) keep the learned
 * state in step with the catalogs (a dropped table, database, extension):
 * when the store cannot take a transaction that queued nothing else, a
 * WARNING is given and the transaction commits anyway, since a user's
 * DROP must not fail because of neural_dag.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/hashfn.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "store_int.h"

/* hash key of the index: points to the op's encoded key */
typedef struct PendingKey
{
	StoreDbi	dbi;
	uint32		keylen;
	const char *key;
} PendingKey;

typedef struct PendingIndexEntry
{
	PendingKey	hkey;			/* must be first */
	StorePendingEntry entry;
} PendingIndexEntry;

/* which records of a DBI the transaction cleared */
typedef struct PendingCleared
{
	bool		all;
	List	   *dbids;			/* of per-database DBIs, as OIDs */
} PendingCleared;

static MemoryContext pending_cxt = NULL;
static MemoryContext index_cxt = NULL;
static List *pending_ops = NIL;
static HTAB *pending_index = NULL;
static PendingCleared pending_cleared[STORE_NUM_DBIS];
static int	pending_nops[STORE_NUM_DBIS];
static int	pending_required = 0;	/* operations that are not best effort */

/* see store.h */
StorePendingCommitHook store_pending_commit_hook = NULL;

static void pending_xact_callback(XactEvent event, void *arg);
static void pending_subxact_callback(SubXactEvent event,
									 SubTransactionId mySubid,
									 SubTransactionId parentSubid,
									 void *arg);

/*
 * StorePendingInit
 *		Register the transaction callbacks (once, from _PG_init).
 */
void
StorePendingInit(void)
{
	RegisterXactCallback(pending_xact_callback, NULL);
	RegisterSubXactCallback(pending_subxact_callback, NULL);
}

/*
 * pending_key_hash
 *		Hash of (dbi, key bytes).
 */
static uint32
pending_key_hash(const void *key, Size keysize)
{
	const PendingKey *k = (const PendingKey *) key;

	return hash_combine(hash_bytes((const unsigned char *) k->key, k->keylen),
						(uint32) k->dbi);
}

/*
 * pending_key_match
 *		0 if two index keys are equal.
 */
static int
pending_key_match(const void *key1, const void *key2, Size keysize)
{
	const PendingKey *a = (const PendingKey *) key1;
	const PendingKey *b = (const PendingKey *) key2;

	if (a->dbi != b->dbi || a->keylen != b->keylen)
		return 1;
	return memcmp(a->key, b->key, a->keylen);
}

/*
 * pending_reset
 *		Forget all pending state (its memory goes with the transaction).
 *		Writes nothing when there is none (pending_ensure creates the
 *		context before any of it is set), so that a transaction that
 *		wrote nothing leaves the backend's copy of these pages shared.
 */
static void
pending_reset(void)
{
	if (pending_cxt == NULL)
		return;
	pending_cxt = NULL;
	index_cxt = NULL;
	pending_ops = NIL;
	pending_index = NULL;
	memset(pending_cleared, 0, sizeof(pending_cleared));
	memset(pending_nops, 0, sizeof(pending_nops));
	pending_required = 0;
}

/*
 * pending_index_create
 *		A new, empty index in its own context.
 */
static void
pending_index_create(void)
{
	HASHCTL		ctl;

	index_cxt = AllocSetContextCreate(pending_cxt,
									  "neural_dag pending index",
									  ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(PendingKey);
	ctl.entrysize = sizeof(PendingIndexEntry);
	ctl.hash = pending_key_hash;
	ctl.match = pending_key_match;
	ctl.hcxt = index_cxt;
	pending_index = hash_create("neural_dag pending writes", 64, &ctl,
								HASH_ELEM | HASH_FUNCTION | HASH_COMPARE |
								HASH_CONTEXT);
	memset(pending_cleared, 0, sizeof(pending_cleared));
}

/*
 * pending_ensure
 *		Create the transaction's pending state on first use.
 */
static void
pending_ensure(void)
{
	if (pending_cxt != NULL)
		return;
	pending_cxt = AllocSetContextCreate(TopTransactionContext,
										"neural_dag pending writes",
										ALLOCSET_DEFAULT_SIZES);
	pending_index_create();
}

/*
 * pending_key_dbid
 *		The database oid a key of a per-database DBI starts with.
 */
static Oid
pending_key_dbid(const char *key, uint32 keylen)
{
	const unsigned char *k = (const unsigned char *) key;

	if (keylen < 4)
		return InvalidOid;
	return ((Oid) k[0] << 24) | ((Oid) k[1] << 16) | ((Oid) k[2] << 8) | (Oid) k[3];
}

/*
 * pending_cleared_covers
 *		Whether a CLEAR of this transaction hides the stored record of key.
 */
static bool
pending_cleared_covers(StoreDbi dbi, Oid dbid)
{
	PendingCleared *c = &pending_cleared[dbi];

	return c->all || (OidIsValid(dbid) && list_member_oid(c->dbids, dbid));
}

/*
 * pending_index_apply
 *		Fold one operation into the index.
 */
static void
pending_index_apply(const StoreOp *op)
{
	const StoreSchema *schema = StoreGetSchema(op->dbi);
	PendingKey	hkey;
	PendingIndexEntry *ie;
	MemoryContext oldcxt;
	bool		found;

	if (op->kind == STORE_OP_CLEAR)
	{
		HASH_SEQ_STATUS status;

		oldcxt = MemoryContextSwitchTo(index_cxt);
		if (!OidIsValid(op->dbid))
			pending_cleared[op->dbi].all = true;
		else
			pending_cleared[op->dbi].dbids =
				list_append_unique_oid(pending_cleared[op->dbi].dbids, op->dbid);
		MemoryContextSwitchTo(oldcxt);

		hash_seq_init(&status, pending_index);
		while ((ie = (PendingIndexEntry *) hash_seq_search(&status)) != NULL)
		{
			if (ie->hkey.dbi != op->dbi)
				continue;
			if (!OidIsValid(op->dbid) ||
				pending_key_dbid(ie->hkey.key, ie->hkey.keylen) == op->dbid)
			{
				ie->entry.state = STORE_PENDING_DELETED;
				ie->entry.values = NULL;
				ie->entry.changed = NULL;
			}
		}
		return;
	}

	hkey.dbi = op->dbi;
	hkey.keylen = op->keylen;
	hkey.key = op->key;

	if (op->kind == STORE_OP_PATCH)
	{
		ie = hash_search(pending_index, &hkey, HASH_FIND, NULL);
		if (ie == NULL)
		{
			Oid			dbid = schema->per_database ?
				pending_key_dbid(op->key, op->keylen) : InvalidOid;

			/* the stored record is cleared: the patch finds nothing */
			if (pending_cleared_covers(op->dbi, dbid))
				return;
		}
		else if (ie->entry.state == STORE_PENDING_DELETED)
			return;
		else
		{
			/* merge into new arrays: snapshots may hold the old ones */
			StoreValue *values;
			bool	   *changed;

			oldcxt = MemoryContextSwitchTo(pending_cxt);
			values = palloc(sizeof(StoreValue) * schema->nfields);
			memcpy(values, ie->entry.values, sizeof(StoreValue) * schema->nfields);
			changed = palloc0(sizeof(bool) * schema->nfields);
			if (ie->entry.state == STORE_PENDING_PATCH)
				memcpy(changed, ie->entry.changed, sizeof(bool) * schema->nfields);
			MemoryContextSwitchTo(oldcxt);
			for (int i = 0; i < schema->nfields; i++)
			{
				if (op->changed[i])
				{
					values[i] = op->values[i];
					changed[i] = true;
				}
			}
			ie->entry.values = values;
			ie->entry.changed = (ie->entry.state == STORE_PENDING_PATCH) ?
				changed : NULL;
			return;
		}
	}

	ie = hash_search(pending_index, &hkey, HASH_ENTER, &found);
	/* the hash key points to the op's key bytes, which live as long */
	ie->entry.key = op->key;
	ie->entry.keylen = op->keylen;
	switch (op->kind)
	{
		case STORE_OP_PUT:
			ie->entry.state = STORE_PENDING_PUT;
			ie->entry.values = op->values;
			ie->entry.changed = NULL;
			break;
		case STORE_OP_PATCH:
			ie->entry.state = STORE_PENDING_PATCH;
			ie->entry.values = op->values;
			ie->entry.changed = op->changed;
			break;
		case STORE_OP_DELETE:
			ie->entry.state = STORE_PENDING_DELETED;
			ie->entry.values = NULL;
			ie->entry.changed = NULL;
			break;
		case STORE_OP_CLEAR:
			break;
	}
}

/*
 * pending_add
 *		Queue an operation built in the pending context.
 */
static void
pending_add(StoreOpKind kind, StoreDbi dbi, const StoreValue *values,
			const bool *changed, Oid dbid, bool best_effort)
{
	StoreOp    *op;
	MemoryContext oldcxt;

	if (!IsTransactionState())
		elog(ERROR, "neural_dag store writes need a transaction");
	pending_ensure();
	op = StoreOpMake(pending_cxt, kind, dbi, values, changed, dbid);
	op->level = GetCurrentTransactionNestLevel();
	op->best_effort = best_effort;
	oldcxt = MemoryContextSwitchTo(pending_cxt);
	pending_ops = lappend(pending_ops, op);
	MemoryContextSwitchTo(oldcxt);
	pending_nops[dbi]++;
	if (!best_effort)
		pending_required++;
	pending_index_apply(op);
}

/*
 * StorePendingPut
 *		At commit, insert or replace the whole record values[].
 */
void
StorePendingPut(StoreDbi dbi, const StoreValue *values)
{
	pending_add(STORE_OP_PUT, dbi, values, NULL, InvalidOid, false);
}

/*
 * StorePendingPatch
 *		At commit, replace the fields flagged in changed[] of the record with
 *		the key fields of values[], if it still exists.
 */
void
StorePendingPatch(StoreDbi dbi, const StoreValue *values, const bool *changed)
{
	pending_add(STORE_OP_PATCH, dbi, values, changed, InvalidOid, false);
}

/*
 * StorePendingDelete
 *		At commit, delete the record with the key fields of keyvalues[].
 */
void
StorePendingDelete(StoreDbi dbi, const StoreValue *keyvalues)
{
	pending_add(STORE_OP_DELETE, dbi, keyvalues, NULL, InvalidOid, false);
}

/*
 * StorePendingClear
 *		At commit, delete every record of database dbid (all records if dbid
 *		is InvalidOid or the DBI is cluster-wide).
 */
void
StorePendingClear(StoreDbi dbi, Oid dbid)
{
	pending_add(STORE_OP_CLEAR, dbi, NULL, NULL, dbid, false);
}

/*
 * StorePendingDeleteBestEffort
 *		StorePendingDelete for bookkeeping that follows a catalog change: if
 *		the store cannot take the transaction's writes and nothing else was
 *		queued, the transaction commits with a WARNING.
 */
void
StorePendingDeleteBestEffort(StoreDbi dbi, const StoreValue *keyvalues)
{
	pending_add(STORE_OP_DELETE, dbi, keyvalues, NULL, InvalidOid, true);
}

/*
 * StorePendingClearBestEffort
 *		StorePendingClear as a best-effort write (see above).
 */
void
StorePendingClearBestEffort(StoreDbi dbi, Oid dbid)
{
	pending_add(STORE_OP_CLEAR, dbi, NULL, NULL, dbid, true);
}

/*
 * StorePendingAny
 *		Whether this transaction queued writes to dbi.
 */
bool
StorePendingAny(StoreDbi dbi)
{
	return pending_cxt != NULL && pending_nops[dbi] > 0;
}

/*
 * StorePendingCleared
 *		Whether this transaction cleared the stored records of dbid in dbi
 *		(any dbid for a cluster-wide DBI).
 */
bool
StorePendingCleared(StoreDbi dbi, Oid dbid)
{
	if (pending_cxt == NULL)
		return false;
	if (!StoreGetSchema(dbi)->per_database)
		dbid = InvalidOid;
	return pending_cleared_covers(dbi, dbid);
}

/*
 * StorePendingLookup
 *		The pending state of one key, or NULL if this transaction did not
 *		write it.
 */
const StorePendingEntry *
StorePendingLookup(StoreDbi dbi, const char *key, uint32 keylen)
{
	PendingKey	hkey;
	PendingIndexEntry *ie;

	if (pending_cxt == NULL || pending_nops[dbi] == 0)
		return NULL;
	hkey.dbi = dbi;
	hkey.keylen = keylen;
	hkey.key = key;
	ie = hash_search(pending_index, &hkey, HASH_FIND, NULL);
	return ie ? &ie->entry : NULL;
}

/*
 * pending_entry_cmp
 *		qsort comparator: LMDB's key order (memcmp, then shorter first).
 */
static int
pending_entry_cmp(const void *a, const void *b)
{
	const StorePendingEntry *x = (const StorePendingEntry *) a;
	const StorePendingEntry *y = (const StorePendingEntry *) b;
	int			c = memcmp(x->key, y->key, Min(x->keylen, y->keylen));

	if (c != 0)
		return c;
	return (x->keylen > y->keylen) - (x->keylen < y->keylen);
}

/*
 * StorePendingSnapshot
 *		A palloc'd copy, in key order, of the pending entries of dbi (of
 *		database dbid if the DBI is per database).
 */
StorePendingEntry *
StorePendingSnapshot(StoreDbi dbi, Oid dbid, int *nentries)
{
	bool		per_db = StoreGetSchema(dbi)->per_database;
	StorePendingEntry *entries;
	HASH_SEQ_STATUS status;
	PendingIndexEntry *ie;
	int			n = 0;
	int			size;

	*nentries = 0;
	if (pending_cxt == NULL || pending_nops[dbi] == 0)
		return NULL;

	size = (int) hash_get_num_entries(pending_index);
	entries = palloc(sizeof(StorePendingEntry) * Max(size, 1));
	hash_seq_init(&status, pending_index);
	while ((ie = (PendingIndexEntry *) hash_seq_search(&status)) != NULL)
	{
		if (ie->hkey.dbi != dbi)
			continue;
		if (per_db && pending_key_dbid(ie->hkey.key, ie->hkey.keylen) != dbid)
			continue;
		entries[n++] = ie->entry;
	}
	if (n > 1)
		qsort(entries, n, sizeof(StorePendingEntry), pending_entry_cmp);
	*nentries = n;
	return entries;
}

/*
 * pending_rebuild_index
 *		Rebuild the index from the log (after a subtransaction abort).
 */
static void
pending_rebuild_index(void)
{
	ListCell   *lc;

	MemoryContextDelete(index_cxt);
	pending_index_create();
	memset(pending_nops, 0, sizeof(pending_nops));
	pending_required = 0;
	foreach(lc, pending_ops)
	{
		StoreOp    *op = (StoreOp *) lfirst(lc);

		pending_nops[op->dbi]++;
		if (!op->best_effort)
			pending_required++;
		pending_index_apply(op);
	}
}

/*
 * pending_subxact_callback
 *		A rolled-back subtransaction drops its operations (and those of its
 *		children); a committed one hands them to its parent.
 */
static void
pending_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	int			level;
	ListCell   *lc;
	bool		dropped = false;

	if (pending_cxt == NULL)
		return;
	level = GetCurrentTransactionNestLevel();

	if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		foreach(lc, pending_ops)
		{
			StoreOp    *op = (StoreOp *) lfirst(lc);

			if (op->level >= level)
				op->level = level - 1;
		}
	}
	else if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		foreach(lc, pending_ops)
		{
			StoreOp    *op = (StoreOp *) lfirst(lc);

			if (op->level >= level)
			{
				pending_ops = foreach_delete_current(pending_ops, lc);
				dropped = true;
			}
		}
		if (dropped)
			pending_rebuild_index();
	}
}

/*
 * pending_write_intent
 *		Phase 1 at PRE_COMMIT: record the queued writes as this
 *		transaction's intent.  An error aborts the transaction, unless every
 *		queued write is best effort: then it is a WARNING and the writes are
 *		forgotten.
 */
static void
pending_write_intent(void)
{
	MemoryContext oldcxt = CurrentMemoryContext;

	if (pending_required > 0)
	{
		StoreIntentWrite(pending_ops);
		return;
	}
	PG_TRY();
	{
		StoreIntentWrite(pending_ops);
	}
	PG_CATCH();
	{
		StoreWarnCaughtError(oldcxt,
							 "The learned state of the dropped objects stays in the neural_dag store.",
							 "Remove it with ruvector_disable_neural_dag() or ruvector_dag_reset() once the store works again.");
		pending_reset();
	}
	PG_END_TRY();
}

/*
 * pending_committed
 *		Phase 2 after PostgreSQL committed: apply the intent, then tell
 *		store_pending_commit_hook which DBIs the transaction wrote.  Never
 *		fails.
 */
static void
pending_committed(void)
{
	bool		written[STORE_NUM_DBIS];

	for (int i = 0; i < STORE_NUM_DBIS; i++)
		written[i] = pending_nops[i] > 0;
	(void) StoreIntentCommit();
	if (store_pending_commit_hook != NULL)
		store_pending_commit_hook(written);
}

/*
 * pending_xact_callback
 *		Record the log as an intent just before commit, apply it once the
 *		transaction committed, drop it when it aborted; forget everything at
 *		the end of the transaction.  Prepared transactions cannot carry
 *		writes: LMDB cannot hold them until COMMIT PREPARED.
 */
static pg_attribute_hot void
pending_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (pending_ops != NIL)
				pending_write_intent();
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (pending_ops != NIL && pending_required == 0)
			{
				ereport(WARNING,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("neural_dag cannot follow the drops of a prepared transaction"),
						 errdetail("The learned state of the dropped objects stays in the neural_dag store."),
						 errhint("Remove it with ruvector_disable_neural_dag() or ruvector_dag_reset() after COMMIT PREPARED.")));
				pending_reset();
			}
			else if (pending_ops != NIL)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot prepare a transaction that modified neural_dag state"),
						 errhint("Commit the changes to neural_dag's foreign tables or functions in a transaction of their own.")));
			break;
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			break;
		case XACT_EVENT_COMMIT:
			if (StoreIntentPending())
				pending_committed();
			pending_reset();
			break;
		case XACT_EVENT_ABORT:
			StoreIntentAbort();
			pending_reset();
			break;
		case XACT_EVENT_PARALLEL_COMMIT:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PREPARE:
			pending_reset();
			break;
	}
}
