/*-------------------------------------------------------------------------
 *
 * store_wal_record.c
 *	  The record of the store's resource manager (store_wal.c): a flag byte
 *	  (bump the generation, a snapshot, a compressed body) and the intent
 *	  encoding of the operations, pglz-compressed when that makes it
 *	  smaller; inserting one, and decoding one back into operations (for
 *	  redo and rm_desc).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "access/xloginsert.h"
#include "common/pg_lzcompress.h"
#include "utils/memutils.h"

#include "store_int.h"

/*
 * wal_body_compress
 *		Replace body (the encoded operations) by its pglz compression, its
 *		raw length first, when that is smaller: the records of the learned
 *		state are mostly sparse arrays.  True if it did.
 */
static bool
wal_body_compress(StringInfo body)
{
	int32		rawlen = body->len;
	char	   *out = palloc(sizeof(int32) + PGLZ_MAX_OUTPUT(rawlen));
	int32		len;

	len = pglz_compress(body->data, rawlen, out + sizeof(int32),
						PGLZ_strategy_default);
	if (len < 0 || len + (int32) sizeof(int32) >= rawlen)
	{
		pfree(out);
		return false;
	}
	memcpy(out, &rawlen, sizeof(int32));
	pfree(body->data);
	body->data = out;
	body->len = len + sizeof(int32);
	body->maxlen = body->len;
	return true;
}

/*
 * StoreWalInsert
 *		Insert and flush one record of the flag byte and body (compressed
 *		in place when that makes it smaller); the record's end LSN.  An
 *		unimportant record does not make the next checkpoint happen (as a
 *		periodic snapshot must not).  May fail.
 */
XLogRecPtr
StoreWalInsert(uint8 flags, const StringInfo body, bool unimportant)
{
	XLogRecPtr	lsn;

	if (wal_body_compress(body))
		flags |= WAL_FLAG_COMPRESSED;
	XLogBeginInsert();
	if (unimportant)
		XLogSetRecordFlags(XLOG_MARK_UNIMPORTANT);
	XLogRegisterData((char *) &flags, sizeof(flags));
	XLogRegisterData(body->data, body->len);
	lsn = XLogInsert(store_wal_rmgr_id, XLOG_NDAG_STORE_APPLY);
	XLogFlush(lsn);
	return lsn;
}


/*
 * StoreWalRecordOps
 *		The operations of a record's data (its flag byte first; the rest
 *		compressed with WAL_FLAG_COMPRESSED), NIL with *why set when they
 *		cannot be decoded.  Never errors out (rm_desc calls it too).
 */
List *
StoreWalRecordOps(const char *data, size_t len, const char **why)
{
	int32		rawlen;
	char	   *raw;

	if (!(data[0] & WAL_FLAG_COMPRESSED))
		return StoreOpsDecode(data + 1, len - 1, why);
	if (len < 1 + sizeof(int32))
	{
		*why = "the compressed record is truncated";
		return NIL;
	}
	memcpy(&rawlen, data + 1, sizeof(int32));
	if (rawlen <= 0 || (Size) rawlen > MaxAllocSize)
	{
		*why = "the compressed record has a bad length";
		return NIL;
	}
	raw = palloc(rawlen);
	if (pglz_decompress(data + 1 + sizeof(int32), len - 1 - sizeof(int32),
						raw, rawlen, true) != rawlen)
	{
		*why = "the compressed record cannot be decompressed";
		return NIL;
	}
	return StoreOpsDecode(raw, rawlen, why);
}

