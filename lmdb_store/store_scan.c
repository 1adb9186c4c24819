/*-------------------------------------------------------------------------
 *
 * store_scan.c
 *	  Reads: cursor scans over a key range of one database's records, with
 *	  the current transaction's pending writes overlaid; single-key gets;
 *	  entry counts.
 *
 * A scan holds a read transaction until StoreScanEnd.  It is allocated in
 * the caller's memory context together with a reset callback, so that an
 * error (which resets or deletes that context) releases the transaction
 * and cursor as well.  Because the callback cannot be unregistered, the
 * scan struct itself stays allocated until the context goes away; a scan
 * that is run again (a rescan) should use StoreScanRestart.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/memutils.h"

#include "store_int.h"

struct StoreScan
{
	const StoreSchema *schema;
	StoreDbi	dbi;
	Oid			dbid;
	bool		include_pending;
	MemoryContext cxt;			/* where the scan and its snapshot live */

	/* the read transaction; NULL once released */
	MDB_txn    *txn;
	MDB_cursor *cursor;
	MemoryContextCallback callback;

	/* bounds: encoded [dbid] prefix and user-key bounds */
	StringInfoData prefix;
	StringInfoData lower;
	StringInfoData upper;
	bool		has_lower;
	bool		lower_inclusive;
	bool		has_upper;
	bool		upper_inclusive;

	/* stored records */
	bool		started;
	bool		base_done;
	bool		base_hidden;	/* a pending CLEAR hides them all */
	bool		have_base;
	MDB_val		base_key;
	MDB_val		base_value;

	/* pending overlay, in key order */
	StorePendingEntry *pending;
	int			npending;
	int			next_pending;
};

/*
 * store_scan_release
 *		End the read transaction of a scan (idempotent); also the context
 *		reset callback.
 */
static void
store_scan_release(void *arg)
{
	StoreScan  *scan = (StoreScan *) arg;

	if (scan->txn == NULL)
		return;
	if (scan->cursor != NULL)
		mdb_cursor_close(scan->cursor);
	scan->cursor = NULL;
	StoreEndRead(scan->txn);
	scan->txn = NULL;
}

/*
 * store_user_key_offset
 *		Where the user key field starts in a key: after the dbid, if any.
 */
static inline size_t
store_user_key_offset(const StoreSchema *schema)
{
	return schema->per_database ? 4 : 0;
}

/*
 * store_user_key_cmp
 *		Compare the user key field of an encoded key with an encoded bound,
 *		in LMDB order.  A fixed-width field is compared on its width; a text
 *		field (always last) on the rest of the key.
 */
static int
store_user_key_cmp(const StoreScan *scan, const char *key, size_t keylen,
				   const StringInfoData *bound)
{
	size_t		off = store_user_key_offset(scan->schema);
	size_t		flen;
	int			c;

	if (keylen < off)
		return -1;
	flen = keylen - off;
	if (scan->schema->fields[scan->schema->key_fields[scan->schema->per_database ? 1 : 0]].type != STORE_TEXT)
		flen = Min(flen, (size_t) bound->len);
	c = memcmp(key + off, bound->data, Min(flen, (size_t) bound->len));
	if (c != 0)
		return c;
	return (flen > (size_t) bound->len) - (flen < (size_t) bound->len);
}

/*
 * store_key_in_range
 *		-1 if key is below the scan's lower bound, 1 if past its end (upper
 *		bound or another database), 0 if inside.
 */
static int
store_key_in_range(const StoreScan *scan, const char *key, size_t keylen)
{
	if (scan->prefix.len > 0 &&
		(keylen < (size_t) scan->prefix.len ||
		 memcmp(key, scan->prefix.data, scan->prefix.len) != 0))
		return memcmp(key, scan->prefix.data,
					  Min(keylen, (size_t) scan->prefix.len)) < 0 ? -1 : 1;
	if (scan->has_lower)
	{
		int			c = store_user_key_cmp(scan, key, keylen, &scan->lower);

		if (c < 0 || (c == 0 && !scan->lower_inclusive))
			return -1;
	}
	if (scan->has_upper)
	{
		int			c = store_user_key_cmp(scan, key, keylen, &scan->upper);

		if (c > 0 || (c == 0 && !scan->upper_inclusive))
			return 1;
	}
	return 0;
}

/*
 * store_scan_setup
 *		Encode the bounds, take the pending snapshot and begin the read
 *		transaction.
 */
static void
store_scan_setup(StoreScan *scan, const StoreKeyRange *range)
{
	const StoreSchema *schema = scan->schema;
	StoreFieldType ktype;

	ktype = schema->fields[schema->key_fields[schema->per_database ? 1 : 0]].type;
	resetStringInfo(&scan->prefix);
	resetStringInfo(&scan->lower);
	resetStringInfo(&scan->upper);
	if (schema->per_database)
	{
		StoreValue	v;

		memset(&v, 0, sizeof(v));
		v.v.oid = scan->dbid;
		StoreKeyEncodeField(STORE_OID, &v, &scan->prefix);
	}
	scan->has_lower = range != NULL && range->has_lower;
	scan->has_upper = range != NULL && range->has_upper;
	if (scan->has_lower)
	{
		scan->lower_inclusive = range->lower_inclusive;
		StoreKeyEncodeField(ktype, &range->lower, &scan->lower);
	}
	if (scan->has_upper)
	{
		scan->upper_inclusive = range->upper_inclusive;
		StoreKeyEncodeField(ktype, &range->upper, &scan->upper);
	}

	scan->started = false;
	scan->base_done = false;
	scan->have_base = false;
	scan->base_hidden = false;
	scan->pending = NULL;
	scan->npending = 0;
	scan->next_pending = 0;
	if (scan->include_pending)
	{
		StorePendingEntry *all;
		MemoryContext oldcxt;
		int			n;

		scan->base_hidden = StorePendingCleared(scan->dbi, scan->dbid);
		oldcxt = MemoryContextSwitchTo(scan->cxt);
		all = StorePendingSnapshot(scan->dbi, scan->dbid, &n);
		MemoryContextSwitchTo(oldcxt);
		/* keep the entries inside the range, in order */
		for (int i = 0; i < n; i++)
		{
			if (store_key_in_range(scan, all[i].key, all[i].keylen) == 0)
				all[scan->npending++] = all[i];
		}
		scan->pending = all;
	}

	scan->txn = StoreBeginRead();
	if (mdb_cursor_open(scan->txn, StoreDbiHandle(scan->dbi), &scan->cursor) != 0)
	{
		scan->cursor = NULL;
		store_scan_release(scan);
		elog(ERROR, "could not open a cursor on neural_dag store \"%s\"",
			 schema->name);
	}
}

/*
 * StoreScanBegin
 *		Start a scan of dbi: the records of database dbid (ignored for a
 *		cluster-wide DBI) whose user key is in range (NULL: all), in key
 *		order, with this transaction's pending writes if include_pending.
 */
StoreScan *
StoreScanBegin(StoreDbi dbi, Oid dbid, const StoreKeyRange *range,
			   bool include_pending)
{
	StoreScan  *scan = palloc0(sizeof(StoreScan));

	scan->schema = StoreGetSchema(dbi);
	scan->dbi = dbi;
	scan->dbid = scan->schema->per_database ? dbid : InvalidOid;
	scan->include_pending = include_pending;
	scan->cxt = CurrentMemoryContext;
	initStringInfo(&scan->prefix);
	initStringInfo(&scan->lower);
	initStringInfo(&scan->upper);

	scan->callback.func = store_scan_release;
	scan->callback.arg = scan;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, &scan->callback);

	store_scan_setup(scan, range);
	return scan;
}

/*
 * StoreScanRestart
 *		Run a scan again from the start, with a new range and a fresh view of
 *		the store and of the pending writes.
 */
void
StoreScanRestart(StoreScan *scan, const StoreKeyRange *range)
{
	store_scan_release(scan);
	if (scan->pending != NULL)
		pfree(scan->pending);
	store_scan_setup(scan, range);
}

/*
 * store_scan_fetch_base
 *		Move to the next stored record inside the range, or mark the stored
 *		records done.
 */
static void
store_scan_fetch_base(StoreScan *scan)
{
	int			rc;

	while (!scan->base_done)
	{
		if (!scan->started)
		{
			StringInfoData start;

			initStringInfo(&start);
			appendBinaryStringInfo(&start, scan->prefix.data, scan->prefix.len);
			if (scan->has_lower)
				appendBinaryStringInfo(&start, scan->lower.data, scan->lower.len);
			scan->base_key.mv_data = start.data;
			scan->base_key.mv_size = start.len;
			if (start.len > 0)
				rc = mdb_cursor_get(scan->cursor, &scan->base_key,
									&scan->base_value, MDB_SET_RANGE);
			else
				rc = mdb_cursor_get(scan->cursor, &scan->base_key,
									&scan->base_value, MDB_FIRST);
			scan->started = true;
			pfree(start.data);
		}
		else
			rc = mdb_cursor_get(scan->cursor, &scan->base_key,
								&scan->base_value, MDB_NEXT);

		if (rc == MDB_NOTFOUND)
		{
			scan->base_done = true;
			break;
		}
		if (rc != 0)
			StoreReportError(ERROR, rc, psprintf("read neural_dag store \"%s\"",
												 scan->schema->name));

		rc = store_key_in_range(scan, scan->base_key.mv_data,
								scan->base_key.mv_size);
		if (rc > 0)
		{
			scan->base_done = true;
			break;
		}
		if (rc == 0)
		{
			scan->have_base = true;
			return;
		}
		/* below an exclusive lower bound: skip */
	}
	scan->have_base = false;
}

/*
 * store_scan_step
 *		Advance to the next visible row: a stored record (*base set), a
 *		pending one (*pend set), or a stored record with a pending patch
 *		(both set).  False at the end.  Nothing is decoded.
 */
static bool
store_scan_step(StoreScan *scan, bool *base, const StorePendingEntry **pendp)
{
	if (scan->txn == NULL)
		return false;

	for (;;)
	{
		const StorePendingEntry *pend = NULL;
		int			c;

		if (!scan->have_base && !scan->base_done)
			store_scan_fetch_base(scan);
		if (scan->next_pending < scan->npending)
			pend = &scan->pending[scan->next_pending];

		if (!scan->have_base && pend == NULL)
			return false;

		if (!scan->have_base)
			c = 1;
		else if (pend == NULL)
			c = -1;
		else
		{
			size_t		bl = scan->base_key.mv_size;

			c = memcmp(scan->base_key.mv_data, pend->key, Min(bl, pend->keylen));
			if (c == 0)
				c = (bl > pend->keylen) - (bl < pend->keylen);
		}

		if (c < 0)
		{
			/* a stored record the transaction did not touch */
			scan->have_base = false;
			if (scan->base_hidden)
				continue;
			*base = true;
			*pendp = NULL;
			return true;
		}

		scan->next_pending++;
		if (c == 0)
			scan->have_base = false;

		switch (pend->state)
		{
			case STORE_PENDING_PUT:
				*base = false;
				*pendp = pend;
				return true;
			case STORE_PENDING_PATCH:
				if (c != 0)
					continue;	/* patched record no longer stored */
				*base = true;
				*pendp = pend;
				return true;
			case STORE_PENDING_DELETED:
				continue;
		}
	}
}

/*
 * StoreScanNext
 *		The next record into values[] (schema->nfields of them); false at the
 *		end.  Data pointers are valid until the next call.
 */
bool
StoreScanNext(StoreScan *scan, StoreValue *values)
{
	const StoreSchema *schema = scan->schema;
	const StorePendingEntry *pend;
	bool		base;

	if (!store_scan_step(scan, &base, &pend))
		return false;

	if (!base)
	{
		memcpy(values, pend->values, sizeof(StoreValue) * schema->nfields);
		return true;
	}
	/* base_value stays valid: the cursor has not moved since */
	StoreRecordDecode(schema, scan->base_value.mv_data,
					  scan->base_value.mv_size, values);
	if (pend != NULL)
	{
		for (int i = 0; i < schema->nfields; i++)
		{
			if (pend->changed[i])
				values[i] = pend->values[i];
		}
	}
	return true;
}

/*
 * StoreScanCount
 *		Count the rows a scan would return, without decoding them (so that
 *		damaged records are counted too), and end the scan.
 */
uint64
StoreScanCount(StoreScan *scan)
{
	const StorePendingEntry *pend;
	bool		base;
	uint64		n = 0;

	while (store_scan_step(scan, &base, &pend))
		n++;
	StoreScanEnd(scan);
	return n;
}

/*
 * StoreScanEnd
 *		Release the read transaction now (the struct goes with its context).
 */
void
StoreScanEnd(StoreScan *scan)
{
	store_scan_release(scan);
	if (scan->pending != NULL)
	{
		pfree(scan->pending);
		scan->pending = NULL;
	}
	scan->npending = 0;
}

/*
 * StoreGet
 *		Look up one record by the key fields of keyvalues[] (a whole record's
 *		worth of values, of which the key fields are read); on success fill
 *		values[] with palloc'd copies.
 */
bool
StoreGet(StoreDbi dbi, const StoreValue *keyvalues, StoreValue *values,
		 bool include_pending)
{
	const StoreSchema *schema = StoreGetSchema(dbi);
	const StorePendingEntry *pend = NULL;
	StringInfoData keybuf;
	MDB_txn    *volatile txn = NULL;
	volatile bool found = false;

	initStringInfo(&keybuf);
	StoreKeyEncode(schema, keyvalues, &keybuf);

	if (include_pending)
	{
		pend = StorePendingLookup(dbi, keybuf.data, keybuf.len);
		if (pend != NULL && pend->state == STORE_PENDING_DELETED)
			return false;
		if (pend != NULL && pend->state == STORE_PENDING_PUT)
		{
			memcpy(values, pend->values, sizeof(StoreValue) * schema->nfields);
			StoreValuesCopy(schema, values);
			return true;
		}
		if (pend == NULL &&
			StorePendingCleared(dbi, schema->per_database ?
								keyvalues[schema->key_fields[0]].v.oid :
								InvalidOid))
			return false;
	}

	txn = StoreBeginRead();
	PG_TRY();
	{
		MDB_val		key;
		MDB_val		data;
		int			rc;

		key.mv_data = keybuf.data;
		key.mv_size = keybuf.len;
		rc = mdb_get(txn, StoreDbiHandle(dbi), &key, &data);
		if (rc != 0 && rc != MDB_NOTFOUND)
			StoreReportError(ERROR, rc, psprintf("read neural_dag store \"%s\"",
												 schema->name));
		if (rc == 0)
		{
			StoreRecordDecode(schema, data.mv_data, data.mv_size, values);
			if (pend != NULL)
			{
				for (int i = 0; i < schema->nfields; i++)
				{
					if (pend->changed[i])
						values[i] = pend->values[i];
				}
			}
			StoreValuesCopy(schema, values);
			found = true;
		}
	}
	PG_FINALLY();
	{
		StoreEndRead(txn);
	}
	PG_END_TRY();

	pfree(keybuf.data);
	return found;
}

/*
 * StoreCountEntries
 *		Records in a DBI, all databases together (exact and cheap: mdb_stat).
 */
uint64
StoreCountEntries(StoreDbi dbi)
{
	MDB_txn    *txn = StoreBeginRead();
	MDB_stat	st;
	int			rc;

	rc = mdb_stat(txn, StoreDbiHandle(dbi), &st);
	StoreEndRead(txn);
	if (rc != 0)
		StoreReportError(ERROR, rc, "read the neural_dag store's statistics");
	return st.ms_entries;
}
