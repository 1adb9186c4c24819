/*-------------------------------------------------------------------------
 *
 * store_error.c
 *	  The one place where LMDB return codes become PostgreSQL errors.
 *
 * LMDB returns either one of its own codes (negative, MDB_KEYEXIST ..
 * MDB_LAST_ERRCODE) or an errno value (positive).  Errno values are
 * reported the way PostgreSQL reports file errors, with %m.
 *
 * A full disk is reported as such, with the path: LMDB passes ENOSPC on
 * from some writes but turns a failed write into EIO in others (its page
 * flush and meta page writes), so an EIO while the file system of the
 * path in question has less than STORE_FULL_BYTES left for the server is
 * reported as a full disk too.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <sys/statvfs.h>

#include "store_int.h"

/* available bytes below which a file system counts as full */
#define STORE_FULL_BYTES	(1024 * 1024)

/*
 * StoreErrcode
 *		The SQLSTATE an LMDB return code is reported with.
 */
int
StoreErrcode(int rc)
{
	switch (rc)
	{
		case MDB_MAP_FULL:
			return ERRCODE_DISK_FULL;
		case MDB_CORRUPTED:
		case MDB_INVALID:
		case MDB_PAGE_NOTFOUND:
		case MDB_VERSION_MISMATCH:
		case MDB_INCOMPATIBLE:
		case MDB_PANIC:
		case MDB_BAD_RSLOT:
		case MDB_BAD_TXN:
		case MDB_BAD_VALSIZE:
		case MDB_BAD_DBI:
			return ERRCODE_DATA_CORRUPTED;
		case MDB_READERS_FULL:
			return ERRCODE_TOO_MANY_CONNECTIONS;
		case MDB_DBS_FULL:
		case MDB_TLS_FULL:
		case MDB_TXN_FULL:
		case MDB_CURSOR_FULL:
		case MDB_PAGE_FULL:
			return ERRCODE_PROGRAM_LIMIT_EXCEEDED;
		case MDB_MAP_RESIZED:
			return ERRCODE_T_R_SERIALIZATION_FAILURE;
		case MDB_NOTFOUND:
		case MDB_KEYEXIST:
			return ERRCODE_INTERNAL_ERROR;
	}

	/* an errno value: the same mapping as errcode_for_file_access() */
	switch (rc)
	{
		case EPERM:
		case EACCES:
#ifdef EROFS
		case EROFS:
#endif
			return ERRCODE_INSUFFICIENT_PRIVILEGE;
		case ENOENT:
			return ERRCODE_UNDEFINED_FILE;
		case EEXIST:
			return ERRCODE_DUPLICATE_FILE;
		case ENOTDIR:
		case EISDIR:
		case ENOTEMPTY:
			return ERRCODE_WRONG_OBJECT_TYPE;
		case ENOSPC:
			return ERRCODE_DISK_FULL;
		case ENOMEM:
			return ERRCODE_OUT_OF_MEMORY;
		case ENFILE:
		case EMFILE:
			return ERRCODE_INSUFFICIENT_RESOURCES;
	}
	return rc > 0 ? ERRCODE_IO_ERROR : ERRCODE_INTERNAL_ERROR;
}

/*
 * store_error_hint
 *		What a user can do about an LMDB code, or NULL.
 */
static const char *
store_error_hint(int rc)
{
	switch (rc)
	{
		case MDB_MAP_FULL:
		case ENOSPC:
			return "Free disk space, raise ruvector.dag_map_size, or remove learned state with ruvector_dag_reset().";
		case MDB_CORRUPTED:
		case MDB_INVALID:
		case MDB_PAGE_NOTFOUND:
		case MDB_VERSION_MISMATCH:
		case MDB_INCOMPATIBLE:
		case MDB_PANIC:
			return "The LMDB environment of neural_dag is damaged: restore a backup with ruvector_dag_restore(), or stop the server and remove the store directory to start learning afresh.";
		case MDB_READERS_FULL:
			return "Every LMDB reader slot is taken; close idle sessions, or raise max_connections and restart so that the store is opened with more slots.";
		case MDB_MAP_RESIZED:
			return "Another process grew the store while this statement was reading it; retry the statement.";
		case EACCES:
		case EPERM:
			return "The store directory and its files must belong to the PostgreSQL server's operating system user.";
	}
	return NULL;
}

/*
 * store_filesystem_full
 *		Whether the file system holding path has less than STORE_FULL_BYTES
 *		available to the server (false when it cannot be asked).
 */
static bool
store_filesystem_full(const char *path)
{
	struct statvfs fs;

	if (path == NULL || statvfs(path, &fs) != 0)
		return false;
	return (uint64) fs.f_bavail * (uint64) fs.f_frsize < STORE_FULL_BYTES;
}

/*
 * StoreReportErrorAt
 *		Report an LMDB return code at elevel; "what" completes the phrase
 *		"could not ...", e.g. "open the neural_dag store at \"/path\"", and
 *		path names the file or directory written, whose file system is
 *		looked at when the code may mean a full disk.
 */
void
StoreReportErrorAt(int elevel, int rc, const char *what, const char *path)
{
	const char *hint = store_error_hint(rc);

	if (rc == ENOSPC || (rc == EIO && store_filesystem_full(path)))
	{
		errno = rc;
		ereport(elevel,
				(errcode(ERRCODE_DISK_FULL),
				 errmsg("could not %s: disk full at \"%s\"", what, path),
				 errdetail("The operating system reported: %m."),
				 errhint("%s", store_error_hint(ENOSPC))));
	}
	else if (rc > 0)
	{
		errno = rc;
		ereport(elevel,
				(errcode_for_file_access(),
				 errmsg("could not %s: %m", what),
				 hint ? errhint("%s", hint) : 0));
	}
	else
		ereport(elevel,
				(errcode(StoreErrcode(rc)),
				 errmsg("could not %s: %s", what, mdb_strerror(rc)),
				 hint ? errhint("%s", hint) : 0));
}

/*
 * StoreReportError
 *		StoreReportErrorAt for an operation on the store's own directory.
 */
void
StoreReportError(int elevel, int rc, const char *what)
{
	StoreReportErrorAt(elevel, rc, what, StoreDirectory());
}

/*
 * StoreWarnCaughtError
 *		In a PG_CATCH block whose error must not fail the transaction (a
 *		commit callback, a best-effort write): report the error being
 *		handled as a WARNING with detail and hint, and clear it.  cxt is
 *		the memory context to copy the error into.
 */
void
StoreWarnCaughtError(MemoryContext cxt, const char *detail, const char *hint)
{
	ErrorData  *edata;

	MemoryContextSwitchTo(cxt);
	edata = CopyErrorData();
	FlushErrorState();
	ereport(WARNING,
			(errcode(edata->sqlerrcode),
			 errmsg("%s", edata->message),
			 errdetail("%s", detail),
			 errhint("%s", hint)));
	FreeErrorData(edata);
}
