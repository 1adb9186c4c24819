/*-------------------------------------------------------------------------
 *
 * store_error.c
 *	  The one place where LMDB return codes become PostgreSQL errors.
 *
 * LMDB returns either one of its own codes (negative, MDB_KEYEXIST ..
 * MDB_LAST_ERRCODE) or an errno value (positive).  Errno values are
 * reported the way PostgreSQL reports file errors, with %m.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>

#include "store_int.h"

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
 * StoreReportError
 *		Report an LMDB return code at elevel; "what" completes the phrase
 *		"could not ...", e.g. "open the neural_dag store at \"/path\"".
 */
void
StoreReportError(int elevel, int rc, const char *what)
{
	const char *hint = store_error_hint(rc);

	if (rc > 0)
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
