/*-------------------------------------------------------------------------
 *
 * store_wal.c
 *	  The store's custom WAL resource manager: every applied write of the
 *	  plan-deciding state is logged, and redo (crash recovery, a standby's
 *	  startup process) applies it to the local store.
 *
 * What is logged.  A record is logged where a list of store operations is
 * applied, in the LMDB write transaction that applies it: a batch of the
 * learner (StoreApplyOps) or the intent of a committed transaction
 * (store_intent.c: settled at XACT_EVENT_COMMIT, or later by
 * StoreIntentResolve).  Its body is the intent encoding of the operations
 * on the logged DBIs (tables, arms, patterns, models, btsp, index_meta,
 * queries; of meta only the id counters; trajectories and nodes only
 * with ruvector.dag_wal_trajectories; never hdc, healing), preceded by a
 * flag byte (bump the generation; the body is compressed).  So redo is
 * one generic "apply this list of operations", whatever made it: a DBA's
 * edit, a reset (a CLEAR), a learning cycle, a restore (logged once the
 * restored store is in place, StoreWalLogSnapshot: CLEAR of every logged
 * DBI and PUT of every record; a crash between the two leaves the restore
 * out of WAL).
 *
 * Volume.  The learner rewrites records every second (the per-statement
 * memory) and at every learning cycle; a batch's operation that leaves the
 * store's bytes as they were is not logged (store_batch.c), and a body is
 * pglz-compressed when that makes it smaller (the per-statement state is
 * mostly zeroed per-arm slots).
 *
 * Id counters.  A PUT of a meta id counter ("next_...") in a batch, and
 * every id StoreNextId hands out, is logged too; redo keeps the larger of
 * the logged and the stored value (redo_counter), so that a promoted
 * standby hands out no id the primary handed out, even one whose record
 * was deleted or rolled back since.
 *
 * Order and idempotence.  The record is inserted while the LMDB writer lock
 * is held, so WAL order is the order in which the writes reach the store;
 * it is flushed before the LMDB transaction commits, so the store never
 * holds a change that a crash could take out of the WAL.  The same LMDB
 * transaction stores the record's end LSN in meta ("wal_lsn"); redo skips
 * a record whose end LSN is not past the stored one, so replaying a record
 * the store already holds (crash recovery from the last checkpoint, a
 * standby's store copied after the backup started) changes nothing.
 *
 * Snapshots.  The learner logs the whole logged state (CLEAR of every
 * logged DBI, PUT of each record and of the meta id counters: a record with
 * the snapshot flag) after each checkpoint (StoreWalSnapshotDue: the redo
 * pointer moved past the last snapshot), marked unimportant so that an idle
 * server does not checkpoint for it; a restore logs one too.  A store copied
 * by a base backup is untrusted (store_trust.c) until redo applies a
 * snapshot that starts after the backup's start; while untrusted, redo
 * applies every record whatever the stored LSN.  Redo keeps the larger of
 * a logged id counter and the store's, so that a promoted standby hands out
 * no id the primary handed out before its last snapshot.
 *
 * Failures.  A write of the store never fails because of WAL: when the
 * record cannot be inserted (a record too large, no WAL allowed) the
 * operations are applied anyway, with a WARNING.  Redo never stops
 * recovery: a record that cannot be decoded or applied is a WARNING and
 * the standby goes on with the state it has.
 *
 * The resource manager is registered from _PG_init under
 * shared_preload_libraries only (ruvector.dag_rmgr_id); without it nothing
 * is logged.
 *
 * Files: store_wal.c (this one: what is logged, logging, snapshots),
 * store_wal_record.c (the record: flag byte, compression, insert, decode),
 * store_wal_redo.c (the resource manager: registration, redo, desc).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "utils/memutils.h"

#include "store_int.h"

/* see store.h */
bool		store_wal_trajectories = false;

/*
 * StoreWalDbiLogged
 *		Whether writes of dbi are WAL-logged: the plan-deciding state.
 */
bool
StoreWalDbiLogged(StoreDbi dbi)
{
	switch (dbi)
	{
		case STORE_DBI_TABLES:
		case STORE_DBI_ARMS:
		case STORE_DBI_PATTERNS:
		case STORE_DBI_MODELS:
		case STORE_DBI_BTSP:
		case STORE_DBI_INDEX_META:
		case STORE_DBI_QUERIES:
			return true;
		default:
			return false;
	}
}

/*
 * meta_counter_put
 *		Whether op is a PUT of a meta id counter ("next_..."), which redo
 *		applies by keeping the larger value (redo_counter).
 */
static bool
meta_counter_put(const StoreOp *op)
{
	size_t		prefix = strlen(STORE_META_COUNTER_PREFIX);

	return op->dbi == STORE_DBI_META && op->kind == STORE_OP_PUT &&
		op->values != NULL && !op->values[0].isnull &&
		op->values[0].len >= prefix &&
		memcmp(op->values[0].data, STORE_META_COUNTER_PREFIX, prefix) == 0;
}

/*
 * wal_op_logged
 *		Whether a write goes to WAL: the plan-deciding state, the meta id
 *		counters (so that a promoted standby hands out no id the primary
 *		handed out, even one whose record is deleted since), and the
 *		recorded executions (trajectories, their plan nodes) when
 *		ruvector.dag_wal_trajectories is on.  Snapshots hold only the
 *		plan-deciding state and the counters.
 */
static bool
wal_op_logged(const StoreOp *op)
{
	if (StoreWalDbiLogged(op->dbi) || meta_counter_put(op))
		return true;
	return store_wal_trajectories &&
		(op->dbi == STORE_DBI_TRAJECTORIES || op->dbi == STORE_DBI_NODES);
}

/*
 * store_wal_log
 *		In txn: log ops (all to be logged) as one record with flags and
 *		store its LSN in meta; a snapshot also becomes the snapshot in use
 *		and makes the store trusted (*logged tells the caller to publish
 *		that after its commit).  A failure to log is a WARNING, the write
 *		goes on unlogged.  Returns 0 or an LMDB code.
 */
static int
store_wal_log(MDB_txn *txn, List *ops, uint8 flags, bool unimportant,
			  bool *logged)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	StringInfoData body;
	volatile XLogRecPtr lsn = InvalidXLogRecPtr;
	int			rc;

	if (logged != NULL)
		*logged = false;
	initStringInfo(&body);
	StoreOpsEncode(ops, &body);
	PG_TRY();
	{
		lsn = StoreWalInsert(flags, &body, unimportant);
	}
	PG_CATCH();
	{
		StoreWarnCaughtError(oldcxt,
							 "The change of the learned state is applied on this server but not written to WAL: standbys and crash recovery do not see it.",
							 "Check the server log; the next learning cycle writes the state again.");
	}
	PG_END_TRY();
	pfree(body.data);
	if (XLogRecPtrIsInvalid(lsn))
		return 0;
	rc = StoreMetaPut(txn, STORE_META_WAL_LSN, (int64) lsn);
	if (rc == 0 && (flags & WAL_FLAG_SNAPSHOT))
		rc = StoreMetaPut(txn, STORE_META_SNAPSHOT_LSN, (int64) lsn);
	if (rc == 0 && (flags & WAL_FLAG_SNAPSHOT))
		rc = StoreTrustSet(txn, 0);
	if (rc == 0 && logged != NULL)
		*logged = true;
	return rc;
}

/*
 * StoreWalLogOps
 *		In the write transaction txn that applies ops: log the operations
 *		of ops that go to WAL (wal_op_logged; with bump_generation) and
 *		store the record's LSN in meta.  Returns 0 or an LMDB code; a
 *		failure to log is a WARNING, the write goes on unlogged.  Nothing
 *		on a server in recovery or without the resource manager.
 */
int
StoreWalLogOps(MDB_txn *txn, List *ops, bool bump_generation)
{
	List	   *logged = NIL;
	ListCell   *lc;
	int			rc;

	if (store_wal_rmgr_id == 0 || RecoveryInProgress())
		return 0;
	foreach(lc, ops)
	{
		StoreOp    *op = (StoreOp *) lfirst(lc);

		if (wal_op_logged(op))
			logged = lappend(logged, op);
	}
	if (logged == NIL)
		return 0;
	rc = store_wal_log(txn, logged,
					   bump_generation ? WAL_FLAG_BUMP_GENERATION : 0,
					   false, NULL);
	list_free(logged);
	return rc;
}

/* argument of store_wal_redo_write */
/*
 * StoreWalLastLsn
 *		The end LSN of the last logged or replayed change the store holds
 *		(InvalidXLogRecPtr if none).
 */
uint64
StoreWalLastLsn(void)
{
	int64		value;

	if (!StoreMetaRead(STORE_META_WAL_LSN, &value))
		return 0;
	return (uint64) value;
}

/*
 * put_op_copy
 *		A PUT of dbi with copies of an LMDB key and value, for a snapshot.
 */
static StoreOp *
put_op_copy(StoreDbi dbi, const MDB_val *key, const MDB_val *data)
{
	StoreOp    *put = palloc0(sizeof(StoreOp));

	put->kind = STORE_OP_PUT;
	put->dbi = dbi;
	put->key = palloc(key->mv_size);
	memcpy(put->key, key->mv_data, key->mv_size);
	put->keylen = key->mv_size;
	put->value = palloc(data->mv_size);
	memcpy(put->value, data->mv_data, data->mv_size);
	put->valuelen = data->mv_size;
	return put;
}

/*
 * snapshot_add_counters
 *		Append a PUT of every meta id counter to *ops (redo keeps the larger
 *		value, redo_counter).  0 or an LMDB code.
 */
static int
snapshot_add_counters(MDB_txn *txn, List **ops)
{
	MDB_cursor *cursor;
	MDB_val		key;
	MDB_val		data;
	size_t		prefix = strlen(STORE_META_COUNTER_PREFIX);
	int			rc;

	rc = mdb_cursor_open(txn, StoreDbiHandle(STORE_DBI_META), &cursor);
	if (rc != 0)
		return rc;
	key.mv_data = (void *) STORE_META_COUNTER_PREFIX;
	key.mv_size = prefix;
	rc = mdb_cursor_get(cursor, &key, &data, MDB_SET_RANGE);
	while (rc == 0 && key.mv_size >= prefix &&
		   memcmp(key.mv_data, STORE_META_COUNTER_PREFIX, prefix) == 0)
	{
		*ops = lappend(*ops, put_op_copy(STORE_DBI_META, &key, &data));
		rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT);
	}
	if (rc == MDB_NOTFOUND || rc == 0)
		rc = 0;
	mdb_cursor_close(cursor);
	return rc;
}

/* argument of store_wal_snapshot_write */
typedef struct SnapshotArg
{
	bool		bump_generation;	/* the state changed (a restore) */
	bool		logged;			/* out */
} SnapshotArg;

/*
 * store_wal_snapshot_write
 *		Write function of StoreWalLogSnapshot: log, as one record, a CLEAR
 *		of every logged DBI followed by a PUT of each of its records and of
 *		the id counters; with bump_generation bump the generation (the
 *		store itself changes in nothing else).
 */
static int
store_wal_snapshot_write(MDB_txn *txn, void *arg)
{
	SnapshotArg *sarg = (SnapshotArg *) arg;
	MemoryContext cxt = AllocSetContextCreate(CurrentMemoryContext,
											  "neural_dag WAL snapshot",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	List	   *ops = NIL;
	int			rc = 0;

	sarg->logged = false;
	for (int i = 0; i < STORE_NUM_DBIS && rc == 0; i++)
	{
		StoreDbi	dbi = (StoreDbi) i;
		StoreOp    *clear;
		MDB_cursor *cursor;
		MDB_val		key;
		MDB_val		data;

		if (!StoreWalDbiLogged(dbi))
			continue;
		clear = palloc0(sizeof(StoreOp));
		clear->kind = STORE_OP_CLEAR;
		clear->dbi = dbi;
		clear->dbid = InvalidOid;
		ops = lappend(ops, clear);

		rc = mdb_cursor_open(txn, StoreDbiHandle(dbi), &cursor);
		if (rc != 0)
			break;
		rc = mdb_cursor_get(cursor, &key, &data, MDB_FIRST);
		while (rc == 0)
		{
			ops = lappend(ops, put_op_copy(dbi, &key, &data));
			rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT);
		}
		if (rc == MDB_NOTFOUND)
			rc = 0;
		mdb_cursor_close(cursor);
	}
	if (rc == 0)
		rc = snapshot_add_counters(txn, &ops);
	if (rc == 0)
		rc = store_wal_log(txn, ops,
						   WAL_FLAG_SNAPSHOT |
						   (sarg->bump_generation ? WAL_FLAG_BUMP_GENERATION : 0),
						   !sarg->bump_generation, &sarg->logged);
	if (rc == 0 && sarg->bump_generation)
		rc = StoreBumpGenerationInTxn(txn, NULL);
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	return rc;
}

/*
 * StoreWalLogSnapshot
 *		Log the whole plan-deciding state of the store as it is now, so that
 *		redo makes a standby's store, or the store after a crash, hold the
 *		same: after a restore replaced it (bump_generation), and after each
 *		checkpoint (StoreWalSnapshotDue), so that a server started from a
 *		base backup finds a snapshot to trust.  Logging one also makes this
 *		server's store trusted.  Never fails: an error is a WARNING.
 */
void
StoreWalLogSnapshot(bool bump_generation)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	SnapshotArg arg;

	if (store_wal_rmgr_id == 0 || RecoveryInProgress())
		return;
	arg.bump_generation = bump_generation;
	arg.logged = false;
	PG_TRY();
	{
		StoreRunWrite(store_wal_snapshot_write, &arg, 0,
					  "write the neural_dag store's state to WAL");
		if (arg.logged)
			StoreTrustPublish(0);
	}
	PG_CATCH();
	{
		StoreWarnCaughtError(oldcxt,
							 bump_generation ?
							 "The restored learned state is in this server's store but not in WAL: standbys keep their state." :
							 "The snapshot of the learned state is not in WAL: standbys made from a base backup wait for the next one.",
							 bump_generation ? "Run ruvector_dag_restore() again." :
							 "Check the server log; the learner tries again after the next checkpoint.");
	}
	PG_END_TRY();
}

/*
 * StoreWalSnapshotLsn
 *		The end LSN of the snapshot the store's state starts from (logged or
 *		replayed), 0 if none.
 */
uint64
StoreWalSnapshotLsn(void)
{
	int64		value;

	if (!StoreMetaRead(STORE_META_SNAPSHOT_LSN, &value))
		return 0;
	return (uint64) value;
}

/*
 * StoreWalSnapshotDue
 *		Whether a primary should log a snapshot now: a checkpoint started
 *		after the last one (its redo pointer moved past it), or the store is
 *		not trusted yet (a promoted server from a base backup).
 */
bool
StoreWalSnapshotDue(void)
{
	if (store_wal_rmgr_id == 0 || RecoveryInProgress())
		return false;
	if (!StoreTrusted())
		return true;
	/* a checkpoint whose redo starts at the snapshot's end came after it */
	return StoreWalSnapshotLsn() <= (uint64) GetRedoRecPtr();
}

