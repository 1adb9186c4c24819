/*-------------------------------------------------------------------------
 *
 * store_intent.c
 *	  The writes of a committing PostgreSQL transaction as a durable intent,
 *	  applied once the transaction is known to have committed.
 *
 * PostgreSQL can still fail a commit after the XACT_EVENT_PRE_COMMIT
 * callbacks ran: a SERIALIZABLE transaction's serialization failure
 * (PreCommit_CheckForSerializationFailure), NOTIFY's queue, the commit
 * record itself.  Writing a transaction's store edits at PRE_COMMIT would
 * keep them after such a failure, and writing them only at
 * XACT_EVENT_COMMIT could lose them (that callback must not fail, and
 * nothing would remain of the writes if the process died just before it).
 * Holding one LMDB write transaction open from PRE_COMMIT to COMMIT is no
 * way out either: LMDB has a single writer, whose lock would be held, by
 * an uninterruptible wait in every other writer, across the commit
 * record's flush and a synchronous standby's answer, and a failure of
 * mdb_txn_commit() after PostgreSQL committed would still lose the edits.
 *
 * So the edits go through two phases, like a prepared transaction:
 *
 *	1. At PRE_COMMIT (StoreIntentWrite), where an error still aborts the
 *	   PostgreSQL transaction, the operations are tried in a nested LMDB
 *	   transaction that is thrown away (everything that can fail on their
 *	   account, fails here), then stored as one intent record keyed by the
 *	   transaction's full xid and committed to LMDB.  The transaction gets
 *	   an xid if it had none, and its commit record is flushed before it
 *	   reports success (ForceSyncCommit), so that what the commit log says
 *	   about the xid is what PostgreSQL will say after a crash.
 *	2. At COMMIT (StoreIntentCommit) the intent's operations are applied
 *	   (and WAL-logged, store_wal.c) and the intent deleted, in one LMDB
 *	   transaction, with the generation bumped; at ABORT (StoreIntentAbort) the intent is deleted.
 *
 * Neither step of phase 2 may fail the transaction; if one does (a full
 * disk, a crash in between), the intent stays, and StoreIntentResolve
 * settles it by the commit log: an xid still running is left alone, a
 * committed one is applied, any other deleted.  The learner worker calls it
 * about once a second, and every phase-2 step first settles the intents of
 * finished transactions (in xid order) so that a committed edit that was
 * left over is never applied after a later one.  Until then readers see
 * the state without the left-over edit.
 *
 * An intent carries the system identifier of the cluster that wrote it: an
 * intent of another cluster (a store copied from elsewhere) or of an xid
 * whose status the commit log no longer holds is deleted with a WARNING,
 * as is one that fails its checksum.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "port/pg_crc32c.h"
#include "storage/lwlock.h"
#include "storage/procarray.h"
#include "utils/memutils.h"

#include "compat/compat_backend.h"
#include "store_int.h"

#define INTENT_MAGIC		0x4E445849	/* "NDXI" */
#define INTENT_VERSION		1

/* header of an intent record; the operations follow it */
typedef struct IntentHeader
{
	uint32		magic;
	uint16		version;
	uint16		reserved;
	uint64		sysid;			/* GetSystemIdentifier() of the writer */
	uint32		nops;
	pg_crc32c	crc;			/* of everything after the header */
} IntentHeader;

/*
 * Each operation: kind, dbi (uint8 each), dbid, keylen (uint32), key,
 * datalen (uint32), data: the encoded record of a PUT, the encoded fields
 * of a PATCH followed by its changed[] flags (one byte per field).
 */

/* what becomes of an intent when its transaction is settled */
typedef enum IntentFate
{
	INTENT_KEEP,				/* its transaction is still running */
	INTENT_APPLY,				/* committed */
	INTENT_DROP,				/* aborted or crashed */
	INTENT_UNKNOWN				/* the commit log cannot tell: dropped */
} IntentFate;

/* argument of the write functions */
typedef struct IntentArg
{
	FullTransactionId own;		/* this transaction's xid, or invalid */
	bool		own_committed;	/* apply (true) or drop (false) the own */
	List	   *ops;			/* StoreIntentWrite: the operations */
	StringInfo	record;			/* StoreIntentWrite: the encoded intent */
	int			applied;		/* intents applied (out) */
	int			dropped;		/* intents deleted unapplied (out) */
} IntentArg;

/* full xid of the intent this transaction wrote, or invalid */
static FullTransactionId intent_written = {InvalidTransactionId};

/*
 * intent_dbi
 *		Open (in a write transaction, create) the intents DBI in txn;
 *		MDB_NOTFOUND from a read transaction when it does not exist yet.
 */
static int
intent_dbi(MDB_txn *txn, bool create, MDB_dbi *dbi)
{
	return mdb_dbi_open(txn, STORE_INTENT_DBI_NAME, create ? MDB_CREATE : 0, dbi);
}

/*
 * intent_key
 *		The big-endian key of a full xid, so that cursor order is xid order.
 */
static void
intent_key(FullTransactionId fxid, unsigned char *key)
{
	uint64		v = U64FromFullTransactionId(fxid);

	for (int i = 0; i < 8; i++)
		key[i] = (unsigned char) (v >> (56 - 8 * i));
}

/*
 * intent_key_fxid
 *		The full xid of an intent key.
 */
static FullTransactionId
intent_key_fxid(const MDB_val *key)
{
	const unsigned char *k = key->mv_data;
	uint64		v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | k[i];
	return FullTransactionIdFromU64(v);
}

/*
 * append_uint32
 *		Append a native-order uint32.
 */
static void
append_uint32(StringInfo buf, uint32 v)
{
	appendBinaryStringInfo(buf, (const char *) &v, sizeof(v));
}

/*
 * StoreOpsEncode
 *		The intent record of a list of operations (also the body of the
 *		store's WAL records, store_wal.c).
 */
void
StoreOpsEncode(List *ops, StringInfo out)
{
	IntentHeader header;
	ListCell   *lc;

	memset(&header, 0, sizeof(header));
	appendBinaryStringInfo(out, (const char *) &header, sizeof(header));
	foreach(lc, ops)
	{
		const StoreOp *op = (const StoreOp *) lfirst(lc);
		const StoreSchema *schema = StoreGetSchema(op->dbi);
		uint8		kind = (uint8) op->kind;
		uint8		dbi = (uint8) op->dbi;

		appendBinaryStringInfo(out, (const char *) &kind, 1);
		appendBinaryStringInfo(out, (const char *) &dbi, 1);
		append_uint32(out, op->dbid);
		append_uint32(out, op->keylen);
		appendBinaryStringInfo(out, op->key ? op->key : "", op->keylen);
		if (op->kind == STORE_OP_PUT)
		{
			append_uint32(out, op->valuelen);
			appendBinaryStringInfo(out, op->value, op->valuelen);
		}
		else if (op->kind == STORE_OP_PATCH)
		{
			StringInfoData rec;

			initStringInfo(&rec);
			StoreRecordEncode(schema, op->values, &rec);
			append_uint32(out, rec.len + schema->nfields);
			appendBinaryStringInfo(out, rec.data, rec.len);
			for (int i = 0; i < schema->nfields; i++)
			{
				char		c = op->changed[i] ? 1 : 0;

				appendBinaryStringInfo(out, &c, 1);
			}
			pfree(rec.data);
		}
		else
			append_uint32(out, 0);
	}

	header.magic = INTENT_MAGIC;
	header.version = INTENT_VERSION;
	header.sysid = GetSystemIdentifier();
	header.nops = (uint32) list_length(ops);
	INIT_CRC32C(header.crc);
	COMP_CRC32C(header.crc, out->data + sizeof(header), out->len - sizeof(header));
	FIN_CRC32C(header.crc);
	memcpy(out->data, &header, sizeof(header));
}

/*
 * read_bytes
 *		Take n bytes from *p (below end); false when the record is short.
 */
static bool
read_bytes(const char **p, const char *end, void *dst, size_t n)
{
	if ((size_t) (end - *p) < n)
		return false;
	if (dst != NULL)
		memcpy(dst, *p, n);
	*p += n;
	return true;
}

/*
 * StoreIntentRecordValid
 *		Whether data is an intent record of this version whose checksum
 *		matches (reading every byte of it); *why says what is wrong if not.
 */
bool
StoreIntentRecordValid(const char *data, size_t len, const char **why)
{
	IntentHeader header;
	pg_crc32c	crc;

	if (len < sizeof(header))
	{
		*why = "it is shorter than an intent header";
		return false;
	}
	memcpy(&header, data, sizeof(header));
	if (header.magic != INTENT_MAGIC || header.version != INTENT_VERSION)
	{
		*why = "it is not an intent record of this version";
		return false;
	}
	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data + sizeof(header), len - sizeof(header));
	FIN_CRC32C(crc);
	if (!EQ_CRC32C(crc, header.crc))
	{
		*why = "its checksum does not match";
		return false;
	}
	return true;
}

/*
 * StoreOpsDecode
 *		The operations of an intent record (data is a palloc'd copy that
 *		they point into); NULL with *why set if the record is damaged or
 *		written by another cluster.
 */
List *
StoreOpsDecode(const char *data, size_t len, const char **why)
{
	IntentHeader header;
	const char *p = data;
	const char *end = data + len;
	List	   *ops = NIL;

	if (!StoreIntentRecordValid(data, len, why))
		return NULL;
	memcpy(&header, p, sizeof(header));
	p += sizeof(header);
	if (header.sysid != GetSystemIdentifier())
	{
		*why = "it was written by another cluster";
		return NULL;
	}

	for (uint32 n = 0; n < header.nops; n++)
	{
		StoreOp    *op = palloc0(sizeof(StoreOp));
		uint8		kind;
		uint8		dbi;
		uint32		datalen;

		if (!read_bytes(&p, end, &kind, 1) || !read_bytes(&p, end, &dbi, 1) ||
			kind > STORE_OP_CLEAR || dbi >= STORE_NUM_DBIS ||
			!read_bytes(&p, end, &op->dbid, sizeof(uint32)) ||
			!read_bytes(&p, end, &op->keylen, sizeof(uint32)))
		{
			*why = "an operation is damaged";
			return NULL;
		}
		op->kind = (StoreOpKind) kind;
		op->dbi = (StoreDbi) dbi;
		op->key = (char *) p;
		if (!read_bytes(&p, end, NULL, op->keylen) ||
			!read_bytes(&p, end, &datalen, sizeof(uint32)) ||
			(size_t) (end - p) < datalen)
		{
			*why = "an operation is damaged";
			return NULL;
		}
		if (op->kind == STORE_OP_PUT)
		{
			op->value = (char *) p;
			op->valuelen = datalen;
		}
		else if (op->kind == STORE_OP_PATCH)
		{
			const StoreSchema *schema = StoreGetSchema(op->dbi);
			uint32		reclen = datalen - schema->nfields;

			if (datalen < (uint32) schema->nfields)
			{
				*why = "an operation is damaged";
				return NULL;
			}
			op->values = palloc(sizeof(StoreValue) * schema->nfields);
			if (!StoreRecordTryDecode(schema, p, reclen, op->values, why))
				return NULL;
			op->changed = palloc(sizeof(bool) * schema->nfields);
			for (int i = 0; i < schema->nfields; i++)
				op->changed[i] = p[reclen + i] != 0;
		}
		p += datalen;
		ops = lappend(ops, op);
	}
	return ops;
}

/*
 * intent_fate
 *		What the commit log says of another transaction's intent, read under
 *		XactTruncationLock as pg_xact_status() does so that the status
 *		cannot be truncated away while it is read.
 */
static IntentFate
intent_fate(FullTransactionId fxid)
{
	FullTransactionId next = ReadNextFullTransactionId();
	TransactionId xid = XidFromFullTransactionId(fxid);
	IntentFate	fate;

	/* an xid this cluster never assigned, or one from too long ago */
	if (!FullTransactionIdPrecedes(fxid, next) ||
		U64FromFullTransactionId(next) - U64FromFullTransactionId(fxid) >
		(uint64) (MaxTransactionId / 2))
		return INTENT_UNKNOWN;

	LWLockAcquire(XactTruncationLock, LW_SHARED);
	if (!TransactionIdIsNormal(xid) ||
		TransactionIdPrecedes(xid, NdagTransamVariables->oldestClogXid))
		fate = INTENT_UNKNOWN;
	else if (TransactionIdIsInProgress(xid))
		fate = INTENT_KEEP;
	else if (TransactionIdDidCommit(xid))
		fate = INTENT_APPLY;
	else
		fate = INTENT_DROP;
	LWLockRelease(XactTruncationLock);
	return fate;
}

/*
 * apply_ops
 *		Apply decoded operations in txn; scratch memory in tmpcxt.
 */
static int
apply_ops(MDB_txn *txn, List *ops, MemoryContext tmpcxt)
{
	ListCell   *lc;
	int			rc = 0;

	foreach(lc, ops)
	{
		rc = StoreOpApply(txn, (const StoreOp *) lfirst(lc), tmpcxt, NULL);
		MemoryContextReset(tmpcxt);
		if (rc != 0)
			break;
	}
	return rc;
}

/*
 * settle_intents
 *		Write function: settle every intent of a finished transaction, and
 *		this transaction's own as arg says, in xid order; bump the
 *		generation if any was applied.  Runs again from the start after a
 *		map growth, so it only counts into arg.
 */
static int
settle_intents(MDB_txn *txn, void *arg)
{
	IntentArg  *a = (IntentArg *) arg;
	MemoryContext cxt;
	MemoryContext oldcxt;
	MDB_dbi		dbi;
	MDB_cursor *cursor;
	MDB_val		key;
	MDB_val		data;
	List	   *to_settle = NIL;
	ListCell   *lc;
	int			rc;

	a->applied = 0;
	a->dropped = 0;
	rc = intent_dbi(txn, true, &dbi);
	if (rc != 0)
		return rc;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "neural_dag intents",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);

	/* collect first: values may move once the transaction writes */
	rc = mdb_cursor_open(txn, dbi, &cursor);
	if (rc == 0)
	{
		rc = mdb_cursor_get(cursor, &key, &data, MDB_FIRST);
		while (rc == 0)
		{
			if (key.mv_size == 8)
			{
				FullTransactionId fxid = intent_key_fxid(&key);
				IntentFate	fate;

				if (FullTransactionIdIsValid(a->own) &&
					FullTransactionIdEquals(fxid, a->own))
					fate = a->own_committed ? INTENT_APPLY : INTENT_DROP;
				else
					fate = intent_fate(fxid);
				if (fate == INTENT_UNKNOWN)
					ereport(WARNING,
							(errcode(ERRCODE_DATA_CORRUPTED),
							 errmsg("neural_dag dropped the store edits of transaction " UINT64_FORMAT ", whose outcome this cluster does not know",
									U64FromFullTransactionId(fxid)),
							 errhint("The store may have been copied from another cluster; check its learned state.")));
				if (fate != INTENT_KEEP)
				{
					StringInfo	copy = makeStringInfo();

					appendBinaryStringInfo(copy, key.mv_data, key.mv_size);
					appendStringInfoChar(copy, fate == INTENT_APPLY ? 'a' : 'd');
					appendBinaryStringInfo(copy, data.mv_data, data.mv_size);
					to_settle = lappend(to_settle, copy);
				}
			}
			rc = mdb_cursor_get(cursor, &key, &data, MDB_NEXT);
		}
		if (rc == MDB_NOTFOUND)
			rc = 0;
		mdb_cursor_close(cursor);
	}

	foreach(lc, to_settle)
	{
		StringInfo	copy = (StringInfo) lfirst(lc);
		bool		apply = copy->data[8] == 'a';

		if (rc != 0)
			break;
		if (apply)
		{
			const char *why = NULL;
			List	   *ops = StoreOpsDecode(copy->data + 9, copy->len - 9, &why);

			if (ops == NULL && why != NULL)
			{
				MDB_val		k = {8, copy->data};

				ereport(WARNING,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("neural_dag dropped the store edits of committed transaction " UINT64_FORMAT ": %s",
								U64FromFullTransactionId(intent_key_fxid(&k)), why),
						 errhint("Check the learned state this transaction changed and make its changes again.")));
				apply = false;
			}
			else
			{
				MemoryContext tmpcxt = AllocSetContextCreate(cxt, "neural_dag intent op",
															 ALLOCSET_SMALL_SIZES);

				rc = apply_ops(txn, ops, tmpcxt);
				MemoryContextDelete(tmpcxt);
				if (rc == 0)
					rc = StoreWalLogOps(txn, ops, true);
			}
		}
		if (rc == 0)
		{
			key.mv_data = copy->data;
			key.mv_size = 8;
			rc = mdb_del(txn, dbi, &key, NULL);
			if (apply)
				a->applied++;
			else
				a->dropped++;
		}
	}
	if (rc == 0 && a->applied > 0)
		rc = StoreBumpGenerationInTxn(txn, NULL);

	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(cxt);
	return rc;
}

/*
 * write_intent
 *		Write function of StoreIntentWrite: try the operations in a nested
 *		transaction that is thrown away, then store the intent.
 */
static int
write_intent(MDB_txn *txn, void *arg)
{
	IntentArg  *a = (IntentArg *) arg;
	MemoryContext tmpcxt;
	MDB_txn    *child = NULL;
	MDB_dbi		dbi;
	MDB_val		key;
	MDB_val		data;
	unsigned char keybuf[8];
	int			rc;

	rc = intent_dbi(txn, true, &dbi);
	if (rc != 0)
		return rc;

	rc = mdb_txn_begin(StoreGetEnv(), txn, 0, &child);
	if (rc != 0)
		return rc;
	tmpcxt = AllocSetContextCreate(CurrentMemoryContext, "neural_dag intent check",
								   ALLOCSET_SMALL_SIZES);
	/* an ERROR aborts txn, and with it the child */
	rc = apply_ops(child, a->ops, tmpcxt);
	MemoryContextDelete(tmpcxt);
	mdb_txn_abort(child);
	if (rc != 0)
		return rc;

	intent_key(a->own, keybuf);
	key.mv_data = keybuf;
	key.mv_size = sizeof(keybuf);
	data.mv_data = a->record->data;
	data.mv_size = a->record->len;
	return mdb_put(txn, dbi, &key, &data, 0);
}

/*
 * StoreIntentWrite
 *		Phase 1, at PRE_COMMIT: check the operations against the store and
 *		record them as this transaction's intent.  An error aborts the
 *		transaction.
 */
void
StoreIntentWrite(List *ops)
{
	IntentArg	arg;
	StringInfoData record;
	ListCell   *lc;
	uint64		bytes = 0;

	memset(&arg, 0, sizeof(arg));
	arg.own = GetTopFullTransactionId();
	arg.ops = ops;
	initStringInfo(&record);
	StoreOpsEncode(ops, &record);
	arg.record = &record;
	foreach(lc, ops)
	{
		const StoreOp *op = (const StoreOp *) lfirst(lc);

		bytes += op->keylen + op->valuelen + 64;
	}

	StoreRunWrite(write_intent, &arg, (bytes + record.len) * 3,
				  "write this transaction's changes to the neural_dag store");
	intent_written = arg.own;
	pfree(record.data);

	/* the commit log must hold the outcome before the intent is acted on */
	ForceSyncCommit();
}

/*
 * StoreIntentPending
 *		Whether this transaction wrote an intent that phase 2 has not
 *		settled yet.
 */
pg_attribute_hot bool
StoreIntentPending(void)
{
	return FullTransactionIdIsValid(intent_written);
}

/*
 * settle_own
 *		Phase 2: settle this transaction's intent (and any left over by
 *		finished transactions).  Never fails: an error becomes a WARNING
 *		and leaves the intents to StoreIntentResolve.
 */
static bool
settle_own(bool committed)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	IntentArg	arg;
	volatile bool ok = true;

	memset(&arg, 0, sizeof(arg));
	arg.own = intent_written;
	arg.own_committed = committed;
	intent_written = InvalidFullTransactionId;

	PG_TRY();
	{
		StoreRunWrite(settle_intents, &arg, 0,
					  committed ? "apply this transaction's changes to the neural_dag store"
					  : "discard this transaction's changes to the neural_dag store");
	}
	PG_CATCH();
	{
		StoreWarnCaughtError(oldcxt,
							 committed ?
							 "The transaction committed; its changes to the learned state are kept in the store and are applied by the neural_dag learner once the store can take them." :
							 "The transaction rolled back; its changes are discarded by the neural_dag learner.",
							 "Check the server log for the store's state.");
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * StoreIntentCommit
 *		Phase 2 after PostgreSQL committed: apply this transaction's intent.
 *		Never fails; false when the intent was left for later.
 */
bool
StoreIntentCommit(void)
{
	if (!FullTransactionIdIsValid(intent_written))
		return true;
	return settle_own(true);
}

/*
 * StoreIntentAbort
 *		Phase 2 after the transaction aborted: delete its intent.  Never
 *		fails.
 */
void
StoreIntentAbort(void)
{
	if (!FullTransactionIdIsValid(intent_written))
		return;
	(void) settle_own(false);
}

/*
 * StoreIntentCount
 *		The intents in the store, read in a read transaction.
 */
uint64
StoreIntentCount(void)
{
	MDB_txn    *volatile txn = StoreBeginRead();
	volatile uint64 count = 0;

	PG_TRY();
	{
		MDB_stat	st;
		MDB_dbi		dbi;
		int			rc;

		rc = intent_dbi(txn, false, &dbi);
		if (rc == 0)
			rc = mdb_stat(txn, dbi, &st);
		if (rc == 0)
			count = st.ms_entries;
		else if (rc != MDB_NOTFOUND)
			StoreReportError(ERROR, rc, "read the neural_dag store's transaction intents");
	}
	PG_FINALLY();
	{
		StoreEndRead(txn);
	}
	PG_END_TRY();
	return count;
}

/*
 * StoreIntentResolve
 *		Settle the intents of finished transactions (the learner's periodic
 *		call): committed ones applied, the others deleted.  Returns how many
 *		were settled; cheap when there are none.  May fail.
 */
int
StoreIntentResolve(void)
{
	IntentArg	arg;

	if (StoreIntentCount() == 0)
		return 0;

	memset(&arg, 0, sizeof(arg));
	arg.own = InvalidFullTransactionId;
	StoreRunWrite(settle_intents, &arg, 0,
				  "settle transaction intents in the neural_dag store");
	if (arg.applied > 0)
		ereport(LOG,
				(errmsg("neural_dag applied the store edits of %d committed transaction(s) left over", arg.applied)));
	return arg.applied + arg.dropped;
}
