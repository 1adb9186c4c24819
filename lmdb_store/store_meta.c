/*-------------------------------------------------------------------------
 *
 * store_meta.c
 *	  Named counters of the meta DBI (next ids, per-database progress,
 *	  markers): read one, queue a new value or its removal in a batch.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "store_int.h"

/*
 * meta_record
 *		A meta record named name, its value null.
 */
static StoreValue *
meta_record(const char *name)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_META);
	StoreValue *v = StoreFieldSet(values, STORE_DBI_META, "name");

	v->data = pstrdup(name);
	v->len = strlen(name);
	return values;
}

/*
 * StoreMetaRead
 *		The value of meta counter name; false (and *value untouched) when
 *		there is no such record or its value is null.
 */
bool
StoreMetaRead(const char *name, int64 *value)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_META);
	const StoreValue *v;

	if (!StoreGet(STORE_DBI_META, meta_record(name), values, false))
		return false;
	v = StoreFieldGet(values, STORE_DBI_META, "value");
	if (v == NULL)
		return false;
	*value = v->v.i8;
	return true;
}

/*
 * StoreBatchMetaPut
 *		Queue meta counter name = value in batch.
 */
void
StoreBatchMetaPut(StoreBatch *batch, const char *name, int64 value)
{
	StoreValue *values = meta_record(name);

	StoreFieldSet(values, STORE_DBI_META, "value")->v.i8 = value;
	StoreBatchPut(batch, STORE_DBI_META, values);
}

/*
 * StoreMetaPutOp
 *		A PUT of meta counter name = value, built in the current memory
 *		context (to WAL-log a counter written outside a batch).
 */
StoreOp *
StoreMetaPutOp(const char *name, int64 value)
{
	StoreValue *values = meta_record(name);

	StoreFieldSet(values, STORE_DBI_META, "value")->v.i8 = value;
	return StoreOpMake(CurrentMemoryContext, STORE_OP_PUT, STORE_DBI_META,
					   values, NULL, InvalidOid);
}

/*
 * StoreBatchMetaDelete
 *		Queue the removal of meta counter name in batch.
 */
void
StoreBatchMetaDelete(StoreBatch *batch, const char *name)
{
	StoreBatchDelete(batch, STORE_DBI_META, meta_record(name));
}

/*
 * StoreFormatVersionOnDisk
 *		The format version the open store records (meta "format_version"),
 *		-1 if it records none.
 */
int64
StoreFormatVersionOnDisk(void)
{
	int64		version;

	if (!StoreMetaRead(STORE_META_FORMAT_VERSION, &version))
		return -1;
	return version;
}
