/*-------------------------------------------------------------------------
 *
 * store_wal_redo.c
 *	  The store's custom WAL resource manager (what it logs: store_wal.c):
 *	  its registration, rm_redo (apply a record to this server's store
 *	  unless the store holds it already, keep the larger of a logged and a
 *	  stored id counter, trust the store after a snapshot logged after a
 *	  base backup's start, tell store_replay_hook what was written),
 *	  rm_desc and rm_identify.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogreader.h"
#include "utils/memutils.h"

#include "store_int.h"

/* see store_int.h */
RmgrId		store_wal_rmgr_id = 0;

/* see store.h */
StoreReplayHook store_replay_hook = NULL;

static void store_wal_redo(XLogReaderState *record);
static void store_wal_desc(StringInfo buf, XLogReaderState *record);
static const char *store_wal_identify(uint8 info);

static RmgrData store_rmgr = {
	.rm_name = "neural_dag",
	.rm_redo = store_wal_redo,
	.rm_desc = store_wal_desc,
	.rm_identify = store_wal_identify,
};

/*
 * StoreWalRegister
 *		Register the resource manager under id rmid (from _PG_init, while
 *		shared_preload_libraries are loaded).
 */
void
StoreWalRegister(int rmid)
{
	RegisterCustomRmgr((RmgrId) rmid, &store_rmgr);
	store_wal_rmgr_id = (RmgrId) rmid;
}


typedef struct RedoArg
{
	XLogRecPtr	start_lsn;		/* start LSN of the record */
	XLogRecPtr	lsn;			/* end LSN of the record */
	List	   *ops;
	uint8		flags;
	bool		applied;		/* out: the store did not hold it yet */
	bool		now_trusted;	/* out: a snapshot made the store trusted */
} RedoArg;

/*
 * redo_counter
 *		Apply a logged PUT of a meta id counter: the store keeps the larger
 *		of its value and the logged one, so that ids handed out on the
 *		primary are not handed out again after a promotion.
 */
static int
redo_counter(MDB_txn *txn, const StoreOp *op)
{
	StoreValue	values[2];
	int64		current = 0;
	const char *why = NULL;
	char	   *name;
	int			rc;

	if (op->kind != STORE_OP_PUT ||
		!StoreRecordTryDecode(StoreGetSchema(STORE_DBI_META), op->value,
							  op->valuelen, values, &why) ||
		values[1].isnull)
		return 0;
	name = pnstrdup(values[0].data, values[0].len);
	if (strncmp(name, STORE_META_COUNTER_PREFIX,
				strlen(STORE_META_COUNTER_PREFIX)) != 0)
		return 0;
	rc = StoreMetaGet(txn, name, &current);
	if (rc == MDB_NOTFOUND || (rc == 0 && current < values[1].v.i8))
		rc = StoreMetaPut(txn, name, values[1].v.i8);
	return rc;
}

/*
 * store_wal_redo_write
 *		Write function of redo: apply the record's operations unless the
 *		store holds them already, and stamp the store with its LSN.  An
 *		untrusted store (copied by a base backup) applies every record: a
 *		snapshot logged after the backup's start replaces its state and
 *		makes it trusted.
 */
static int
store_wal_redo_write(MDB_txn *txn, void *arg)
{
	RedoArg    *a = (RedoArg *) arg;
	MemoryContext tmpcxt;
	ListCell   *lc;
	int64		stored = 0;
	uint64		trust_after = 0;
	int			rc;

	a->applied = false;
	a->now_trusted = false;
	rc = StoreTrustGet(txn, &trust_after);
	if (rc != 0)
		return rc;
	/* a start-up check that could not mark the store left it untrusted */
	if (trust_after == 0)
		trust_after = StoreTrustAfterLsn();
	rc = StoreMetaGet(txn, STORE_META_WAL_LSN, &stored);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (trust_after == 0 && rc == 0 && (XLogRecPtr) stored >= a->lsn)
		return 0;

	tmpcxt = AllocSetContextCreate(CurrentMemoryContext,
								   "neural_dag redo op",
								   ALLOCSET_SMALL_SIZES);
	rc = 0;
	foreach(lc, a->ops)
	{
		const StoreOp *op = (const StoreOp *) lfirst(lc);

		if (op->dbi == STORE_DBI_META)
			rc = redo_counter(txn, op);
		else
			rc = StoreOpApply(txn, op, tmpcxt, NULL);
		MemoryContextReset(tmpcxt);
		if (rc != 0)
			break;
	}
	MemoryContextDelete(tmpcxt);
	if (rc == 0)
		rc = StoreMetaPut(txn, STORE_META_WAL_LSN, (int64) a->lsn);
	if (rc == 0 && (a->flags & WAL_FLAG_SNAPSHOT))
		rc = StoreMetaPut(txn, STORE_META_SNAPSHOT_LSN, (int64) a->lsn);
	if (rc == 0 && (a->flags & WAL_FLAG_SNAPSHOT) && trust_after != 0 &&
		a->start_lsn > trust_after)
	{
		rc = StoreTrustSet(txn, 0);
		a->now_trusted = (rc == 0);
	}
	if (rc == 0 && ((a->flags & WAL_FLAG_BUMP_GENERATION) || a->now_trusted))
		rc = StoreBumpGenerationInTxn(txn, NULL);
	if (rc == 0)
		a->applied = true;
	return rc;
}

/*
 * call_replay_hook
 *		Tell store_replay_hook what the applied operations ops wrote: the
 *		DBIs and each operation's key (store.h, StoreReplayedWrite).
 */
static void
call_replay_hook(List *ops)
{
	bool		written[STORE_NUM_DBIS] = {0};
	StoreReplayedWrite *writes = palloc0(sizeof(StoreReplayedWrite) *
										 Max(list_length(ops), 1));
	int			n = 0;
	ListCell   *lc;

	foreach(lc, ops)
	{
		const StoreOp *op = (const StoreOp *) lfirst(lc);
		const StoreSchema *schema = StoreGetSchema(op->dbi);
		StoreReplayedWrite *w = &writes[n++];

		written[op->dbi] = true;
		w->dbi = op->dbi;
		w->dbid = op->dbid;
		if (op->kind != STORE_OP_CLEAR)
		{
			StoreValue *key = StoreRecordAlloc(op->dbi);

			if (StoreKeyTryDecode(schema, op->key, op->keylen, key))
				w->key = key;
			else
				w->dbid = InvalidOid;
		}
	}
	store_replay_hook(written, writes, n);
}

/*
 * store_wal_redo
 *		rm_redo: apply a record to this server's store.  Never fails: an
 *		error is a WARNING and the record is skipped.
 */
static void
store_wal_redo(XLogReaderState *record)
{
	MemoryContext cxt;
	MemoryContext oldcxt;
	const char *data = XLogRecGetData(record);
	size_t		len = XLogRecGetDataLen(record);
	uint8		info = XLogRecGetInfo(record) & ~XLR_INFO_MASK;

	if (info != XLOG_NDAG_STORE_APPLY)
	{
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("neural_dag skipped a WAL record of unknown type %u", info),
				 errhint("The server may run an older neural_dag than the one that wrote the WAL.")));
		return;
	}

	cxt = AllocSetContextCreate(TopMemoryContext, "neural_dag redo",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		RedoArg		arg;
		const char *why = NULL;
		char	   *copy;

		if (len < 1)
			elog(ERROR, "neural_dag WAL record is empty");
		copy = palloc(len);
		memcpy(copy, data, len);
		memset(&arg, 0, sizeof(arg));
		arg.start_lsn = record->ReadRecPtr;
		arg.lsn = record->EndRecPtr;
		arg.flags = (uint8) copy[0];
		arg.ops = StoreWalRecordOps(copy, len, &why);
		if (arg.ops == NIL && why != NULL)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("neural_dag WAL record at %X/%X cannot be decoded: %s",
							LSN_FORMAT_ARGS(record->ReadRecPtr), why)));
		StoreRunWrite(store_wal_redo_write, &arg, 0,
					  "apply a WAL record to the neural_dag store");
		if (arg.now_trusted)
		{
			StoreTrustPublish(0);
			ereport(LOG,
					(errmsg("neural_dag plans with the replicated learned state from the snapshot at %X/%X on",
							LSN_FORMAT_ARGS(arg.start_lsn))));
		}
		if (arg.applied && store_replay_hook != NULL)
			call_replay_hook(arg.ops);
	}
	PG_CATCH();
	{
		StoreWarnCaughtError(cxt,
							 "The change of the learned state in this WAL record is not applied to this server's store.",
							 "Check the store of this server; take a new base backup of the primary if it stays behind.");
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
}

/*
 * store_wal_desc
 *		rm_desc: the record's operations per DBI.
 */
static void
store_wal_desc(StringInfo buf, XLogReaderState *record)
{
	const char *data = XLogRecGetData(record);
	size_t		len = XLogRecGetDataLen(record);
	int			counts[STORE_NUM_DBIS] = {0};
	const char *why = NULL;
	List	   *ops;
	ListCell   *lc;

	if (len < 1)
		return;
	appendStringInfo(buf, "%sgeneration %s",
					 (data[0] & WAL_FLAG_SNAPSHOT) ? "snapshot; " : "",
					 (data[0] & WAL_FLAG_BUMP_GENERATION) ? "bumped" : "kept");
	if (data[0] & WAL_FLAG_COMPRESSED)
		appendStringInfoString(buf, "; compressed");
	ops = StoreWalRecordOps(data, len, &why);
	foreach(lc, ops)
		counts[((StoreOp *) lfirst(lc))->dbi]++;
	for (int i = 0; i < STORE_NUM_DBIS; i++)
		if (counts[i] > 0)
			appendStringInfo(buf, "; %s: %d", StoreGetSchema((StoreDbi) i)->name,
							 counts[i]);
	if (why != NULL)
		appendStringInfo(buf, "; damaged: %s", why);
}

/*
 * store_wal_identify
 *		rm_identify: the name of a record type.
 */
static const char *
store_wal_identify(uint8 info)
{
	if ((info & ~XLR_INFO_MASK) == XLOG_NDAG_STORE_APPLY)
		return "STORE_APPLY";
	return NULL;
}

