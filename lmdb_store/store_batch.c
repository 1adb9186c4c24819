/*-------------------------------------------------------------------------
 *
 * store_batch.c
 *	  Lists of writes applied in one LMDB write transaction: the learner's
 *	  batched flushes (StoreBatch*) and, through StoreApplyOps, the pending
 *	  writes of a PostgreSQL transaction at commit.
 *
 * Keys and whole records are encoded when an operation is added, so that a
 * bad value is reported by the statement that supplied it.  A patch is
 * applied against the record as it is at apply time (read, replace the
 * changed fields, write), so two transactions patching different fields of
 * one record both keep their change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "store_int.h"

struct StoreBatch
{
	MemoryContext cxt;
	List	   *ops;			/* StoreOp * */
	bool		bump_generation;
};

/*
 * store_copy_fields
 *		A copy of values[] in the current context where the fields selected
 *		by mask (all if mask is NULL) and the key fields are deep-copied and
 *		every other field is null.
 */
static StoreValue *
store_copy_fields(const StoreSchema *schema, const StoreValue *values,
				  const bool *mask)
{
	StoreValue *copy = palloc0(sizeof(StoreValue) * schema->nfields);
	bool	   *keep = palloc(sizeof(bool) * schema->nfields);

	for (int i = 0; i < schema->nfields; i++)
		keep[i] = (mask == NULL || mask[i]);
	for (int k = 0; k < schema->nkeys; k++)
		keep[schema->key_fields[k]] = true;
	for (int i = 0; i < schema->nfields; i++)
	{
		if (keep[i])
			copy[i] = values[i];
		else
			copy[i].isnull = true;
	}
	StoreValuesCopy(schema, copy);
	pfree(keep);
	return copy;
}

/*
 * StoreOpMake
 *		Build one operation in cxt: values[] is a whole record (PUT), the key
 *		fields plus the changed ones (PATCH) or the key fields (DELETE);
 *		dbid only matters for CLEAR.
 */
StoreOp *
StoreOpMake(MemoryContext cxt, StoreOpKind kind, StoreDbi dbi,
			const StoreValue *values, const bool *changed, Oid dbid)
{
	const StoreSchema *schema = StoreGetSchema(dbi);
	MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
	StoreOp    *op = palloc0(sizeof(StoreOp));

	op->kind = kind;
	op->dbi = dbi;
	op->dbid = schema->per_database ? dbid : InvalidOid;

	if (kind != STORE_OP_CLEAR)
	{
		StringInfoData buf;

		initStringInfo(&buf);
		StoreKeyEncode(schema, values, &buf);
		op->key = buf.data;
		op->keylen = buf.len;
	}

	switch (kind)
	{
		case STORE_OP_PUT:
			{
				StringInfoData buf;

				op->values = store_copy_fields(schema, values, NULL);
				initStringInfo(&buf);
				StoreRecordEncode(schema, op->values, &buf);
				op->value = buf.data;
				op->valuelen = buf.len;
			}
			break;
		case STORE_OP_PATCH:
			for (int k = 0; k < schema->nkeys; k++)
			{
				if (changed[schema->key_fields[k]])
					elog(ERROR, "cannot patch key field \"%s\" of neural_dag store \"%s\"",
						 schema->fields[schema->key_fields[k]].name, schema->name);
			}
			op->values = store_copy_fields(schema, values, changed);
			op->changed = palloc(sizeof(bool) * schema->nfields);
			memcpy(op->changed, changed, sizeof(bool) * schema->nfields);
			break;
		case STORE_OP_DELETE:
		case STORE_OP_CLEAR:
			break;
	}

	MemoryContextSwitchTo(oldcxt);
	return op;
}

/*
 * store_clear
 *		Delete every record of a DBI (dbid invalid) or of one database.
 */
static int
store_clear(MDB_txn *txn, const StoreOp *op)
{
	MDB_dbi		dbi = StoreDbiHandle(op->dbi);
	MDB_cursor *cursor;
	char		prefix[4];
	MDB_val		key;
	MDB_val		data;
	int			rc;

	if (!OidIsValid(op->dbid))
		return mdb_drop(txn, dbi, 0);

	prefix[0] = (char) ((op->dbid >> 24) & 0xFF);
	prefix[1] = (char) ((op->dbid >> 16) & 0xFF);
	prefix[2] = (char) ((op->dbid >> 8) & 0xFF);
	prefix[3] = (char) (op->dbid & 0xFF);

	rc = mdb_cursor_open(txn, dbi, &cursor);
	if (rc != 0)
		return rc;
	for (;;)
	{
		key.mv_data = prefix;
		key.mv_size = sizeof(prefix);
		rc = mdb_cursor_get(cursor, &key, &data, MDB_SET_RANGE);
		if (rc == MDB_NOTFOUND)
		{
			rc = 0;
			break;
		}
		if (rc != 0)
			break;
		if (key.mv_size < sizeof(prefix) ||
			memcmp(key.mv_data, prefix, sizeof(prefix)) != 0)
			break;
		rc = mdb_cursor_del(cursor, 0);
		if (rc != 0)
			break;
	}
	mdb_cursor_close(cursor);
	return rc;
}

/*
 * current_value
 *		Look up the stored value of op's key into *data: 0, MDB_NOTFOUND or
 *		another LMDB code.
 */
static int
current_value(MDB_txn *txn, const StoreOp *op, MDB_val *data)
{
	MDB_val		key;

	key.mv_data = op->key;
	key.mv_size = op->keylen;
	return mdb_get(txn, StoreDbiHandle(op->dbi), &key, data);
}

/*
 * put_unless_same
 *		Store len bytes under op's key unless current (the stored value,
 *		NULL if none) holds them already; *changed says whether it did.
 */
static int
put_unless_same(MDB_txn *txn, const StoreOp *op, const MDB_val *current,
				const void *bytes, size_t len, bool *changed)
{
	MDB_val		key;
	MDB_val		data;

	*changed = current == NULL || current->mv_size != len ||
		memcmp(current->mv_data, bytes, len) != 0;
	if (!*changed)
		return 0;
	key.mv_data = op->key;
	key.mv_size = op->keylen;
	data.mv_data = (void *) bytes;
	data.mv_size = len;
	return mdb_put(txn, StoreDbiHandle(op->dbi), &key, &data, 0);
}

/*
 * store_patch
 *		Replace the changed fields of the stored record; a record that is
 *		gone is left gone.  *changed: whether the stored bytes changed.
 */
static int
store_patch(MDB_txn *txn, const StoreOp *op, bool *changed)
{
	const StoreSchema *schema = StoreGetSchema(op->dbi);
	StoreValue *values;
	StringInfoData buf;
	MDB_val		data;
	int			rc;

	*changed = false;
	rc = current_value(txn, op, &data);
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc != 0)
		return rc;

	values = palloc(sizeof(StoreValue) * schema->nfields);
	StoreRecordDecode(schema, data.mv_data, data.mv_size, values);
	for (int i = 0; i < schema->nfields; i++)
	{
		if (op->changed[i])
			values[i] = op->values[i];
	}
	initStringInfo(&buf);
	StoreRecordEncode(schema, values, &buf);
	return put_unless_same(txn, op, &data, buf.data, buf.len, changed);
}

/*
 * store_put
 *		Insert or replace a whole record, unless the store holds these very
 *		bytes already.  *changed: whether the stored bytes changed.
 */
static int
store_put(MDB_txn *txn, const StoreOp *op, bool *changed)
{
	MDB_val		data;
	int			rc;

	*changed = false;
	rc = current_value(txn, op, &data);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	return put_unless_same(txn, op, rc == 0 ? &data : NULL,
						   op->value, op->valuelen, changed);
}

/*
 * StoreOpApply
 *		Apply one operation in a write transaction; scratch memory goes to
 *		tmpcxt, which the caller resets.  *changed (if not NULL): whether
 *		the store changed, false for a PUT or PATCH that leaves a record's
 *		bytes as they were or a DELETE of a missing key.
 */
int
StoreOpApply(MDB_txn *txn, const StoreOp *op, MemoryContext tmpcxt,
			 bool *changed)
{
	MDB_val		key;
	MemoryContext oldcxt;
	bool		did_change = true;
	int			rc = 0;

	key.mv_data = op->key;
	key.mv_size = op->keylen;
	switch (op->kind)
	{
		case STORE_OP_PUT:
			rc = store_put(txn, op, &did_change);
			break;
		case STORE_OP_PATCH:
			oldcxt = MemoryContextSwitchTo(tmpcxt);
			rc = store_patch(txn, op, &did_change);
			MemoryContextSwitchTo(oldcxt);
			break;
		case STORE_OP_DELETE:
			rc = mdb_del(txn, StoreDbiHandle(op->dbi), &key, NULL);
			if (rc == MDB_NOTFOUND)
			{
				did_change = false;
				rc = 0;
			}
			break;
		case STORE_OP_CLEAR:
			rc = store_clear(txn, op);
			break;
	}
	if (changed != NULL)
		*changed = did_change;
	return rc;
}

/* argument of store_apply_ops */
typedef struct StoreApplyArg
{
	List	   *ops;
	bool		bump_generation;
} StoreApplyArg;

/*
 * store_apply_ops
 *		Write function: apply every operation in order, WAL-log those of
 *		the plan-deciding state that changed the store (store_wal.c: an
 *		operation that left the store as it was is not logged, so that a
 *		flush that rewrites unchanged records writes no WAL), then bump the
 *		generation if asked.
 */
static int
store_apply_ops(MDB_txn *txn, void *arg)
{
	StoreApplyArg *a = (StoreApplyArg *) arg;
	MemoryContext tmpcxt;
	List	   *changing = NIL;
	ListCell   *lc;
	int			rc = 0;

	tmpcxt = AllocSetContextCreate(CurrentMemoryContext,
								   "neural_dag store batch",
								   ALLOCSET_SMALL_SIZES);
	foreach(lc, a->ops)
	{
		bool		changed;

		rc = StoreOpApply(txn, (StoreOp *) lfirst(lc), tmpcxt, &changed);
		MemoryContextReset(tmpcxt);
		if (rc != 0)
			break;
		if (changed)
			changing = lappend(changing, lfirst(lc));
	}
	if (rc == 0)
		rc = StoreWalLogOps(txn, changing, a->bump_generation);
	if (rc == 0 && a->bump_generation)
		rc = StoreBumpGenerationInTxn(txn, NULL);
	list_free(changing);
	MemoryContextDelete(tmpcxt);
	return rc;
}

/*
 * StoreApplyOps
 *		Apply a list of operations in one write transaction (grown and
 *		retried as a whole when the map is full).
 */
void
StoreApplyOps(List *ops, bool bump_generation, const char *what)
{
	StoreApplyArg arg;
	uint64		bytes = 0;
	ListCell   *lc;

	if (ops == NIL && !bump_generation)
		return;
	foreach(lc, ops)
	{
		StoreOp    *op = (StoreOp *) lfirst(lc);

		/* a patched record can grow by its new fields' bytes */
		bytes += op->keylen + op->valuelen + 64;
	}
	arg.ops = ops;
	arg.bump_generation = bump_generation;
	StoreRunWrite(store_apply_ops, &arg, bytes * 2, what);
}

/*
 * StoreBatchCreate
 *		An empty batch whose operations live in cxt.
 */
StoreBatch *
StoreBatchCreate(MemoryContext cxt)
{
	StoreBatch *batch = MemoryContextAllocZero(cxt, sizeof(StoreBatch));

	batch->cxt = cxt;
	return batch;
}

/*
 * store_batch_add
 *		Append an operation to a batch.
 */
static void
store_batch_add(StoreBatch *batch, StoreOp *op)
{
	MemoryContext oldcxt = MemoryContextSwitchTo(batch->cxt);

	batch->ops = lappend(batch->ops, op);
	MemoryContextSwitchTo(oldcxt);
}

/*
 * StoreBatchPut
 *		Insert or replace a whole record.
 */
void
StoreBatchPut(StoreBatch *batch, StoreDbi dbi, const StoreValue *values)
{
	store_batch_add(batch, StoreOpMake(batch->cxt, STORE_OP_PUT, dbi,
									   values, NULL, InvalidOid));
}

/*
 * StoreBatchPatch
 *		Replace the fields flagged in changed[] of an existing record; values[]
 *		needs the key fields and the changed ones.  Nothing happens if the
 *		record is gone when the batch is applied.
 */
void
StoreBatchPatch(StoreBatch *batch, StoreDbi dbi, const StoreValue *values,
				const bool *changed)
{
	store_batch_add(batch, StoreOpMake(batch->cxt, STORE_OP_PATCH, dbi,
									   values, changed, InvalidOid));
}

/*
 * StoreBatchDelete
 *		Delete the record whose key fields are given in keyvalues[].
 */
void
StoreBatchDelete(StoreBatch *batch, StoreDbi dbi, const StoreValue *keyvalues)
{
	store_batch_add(batch, StoreOpMake(batch->cxt, STORE_OP_DELETE, dbi,
									   keyvalues, NULL, InvalidOid));
}

/*
 * StoreBatchClear
 *		Delete every record of database dbid, or of the whole DBI if dbid is
 *		InvalidOid or the DBI is cluster-wide.
 */
void
StoreBatchClear(StoreBatch *batch, StoreDbi dbi, Oid dbid)
{
	store_batch_add(batch, StoreOpMake(batch->cxt, STORE_OP_CLEAR, dbi,
									   NULL, NULL, dbid));
}

/*
 * StoreBatchBumpGeneration
 *		Make StoreBatchApply advance the generation in the same transaction,
 *		telling other processes to reload what they cache.
 */
void
StoreBatchBumpGeneration(StoreBatch *batch)
{
	batch->bump_generation = true;
}

/*
 * StoreBatchApply
 *		Apply the batch in one write transaction and empty it (the memory of
 *		the applied operations stays in the batch's context).
 */
void
StoreBatchApply(StoreBatch *batch)
{
	StoreApplyOps(batch->ops, batch->bump_generation,
				  "write a batch to the neural_dag store");
	batch->ops = NIL;
	batch->bump_generation = false;
}

/*
 * StoreBatchLength
 *		Number of operations not yet applied.
 */
int
StoreBatchLength(StoreBatch *batch)
{
	return list_length(batch->ops);
}
