/*-------------------------------------------------------------------------
 *
 * store_migrate.c
 *	  Bringing a store written by an older build up to this build's format.
 *
 * DESIGN.  Two version numbers say what a store holds:
 *
 *	- every record starts with its record version (a uint16 of the header,
 *	  store_record.c), the version of its DBI's schema when it was written
 *	  (store_schema.c).  A DBI's record version moves when fields are
 *	  appended to its records; fields are never removed, reordered or
 *	  retyped.  A record of an older version, down to the schema's
 *	  oldest_version, decodes with the fields it lacks null: records are
 *	  read as they are and rewritten in the current version the next time
 *	  they are written, so no pass over a large store is ever needed.
 *	- the environment's format version (meta "format_version",
 *	  STORE_FORMAT_VERSION) says which DBIs exist and what meta holds.  A
 *	  store of an older format, down to STORE_FORMAT_OLDEST, is migrated
 *	  when a process opens it: in one LMDB write transaction, every DBI the
 *	  store lacks is created empty and the format version is set to this
 *	  build's (store_migrate_txn).  Writers are serialised by LMDB, so when
 *	  several processes open the old store at once the first migrates it and
 *	  the others find it current.  A newer format is refused, so an old
 *	  build never writes a store it does not understand.
 *
 * Verification at server start (store_verify.c) and restores of a backup
 * (store_backup.c) accept the same range of formats: a DBI missing from an
 * older store or backup is empty, and a restored store gets this build's
 * format version.
 *
 * History: format 2 and record version 2 are those of release 0.1.0
 * (records carry a CRC-32C, meta the cluster's system identifier); format
 * 3 (0.2.0) adds DBIs only.  t/152_store_fixture.pl opens a store written
 * by the 0.1.0 build (t/fixtures/store_0.1.0.mdb).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "store_int.h"

/*
 * store_migrate_txn
 *		Write function: create the DBIs the store lacks and set the format
 *		version to this build's; nothing when another process migrated it
 *		first.
 */
static int
store_migrate_txn(MDB_txn *txn, void *arg)
{
	int64		format = 0;
	int			rc;

	rc = StoreMetaGet(txn, STORE_META_FORMAT_VERSION, &format);
	if (rc != 0)
		return rc;
	if (format >= STORE_FORMAT_VERSION)
		return 0;
	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		MDB_dbi		dbi;

		rc = mdb_dbi_open(txn, StoreGetSchema((StoreDbi) i)->name, MDB_CREATE, &dbi);
		if (rc != 0)
			return rc;
	}
	return StoreMetaPut(txn, STORE_META_FORMAT_VERSION, STORE_FORMAT_VERSION);
}

/*
 * StoreMigrateOnOpen
 *		With the meta DBI open: migrate the store at path if its format is
 *		older than this build's and not older than STORE_FORMAT_OLDEST;
 *		true if it was migrated.  Other formats are left for the caller's
 *		checks to refuse.
 */
bool
StoreMigrateOnOpen(const char *path)
{
	MDB_txn    *txn;
	int64		format = 0;
	int			rc;

	rc = mdb_txn_begin(StoreGetEnv(), NULL, MDB_RDONLY, &txn);
	if (rc != 0)
		StoreReportError(ERROR, rc,
						 psprintf("open the neural_dag store at \"%s\"", path));
	rc = StoreMetaGet(txn, STORE_META_FORMAT_VERSION, &format);
	mdb_txn_abort(txn);
	if (rc != 0 || format >= STORE_FORMAT_VERSION || format < STORE_FORMAT_OLDEST)
		return false;

	StoreRunWrite(store_migrate_txn, NULL, 0,
				  psprintf("migrate the neural_dag store at \"%s\" to format version %d",
						   path, STORE_FORMAT_VERSION));
	ereport(LOG,
			(errmsg("neural_dag store at \"%s\" migrated from format version " INT64_FORMAT " to %d",
					path, format, STORE_FORMAT_VERSION)));
	return true;
}
