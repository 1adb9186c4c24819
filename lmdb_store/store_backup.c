/*-------------------------------------------------------------------------
 *
 * store_backup.c
 *	  Hot, compacted backups of the environment into one file, and restore
 *	  from such a file.
 *
 * A backup is LMDB's own compacting copy (mdb_env_copyfd2 with
 * MDB_CP_COMPACT): a consistent snapshot taken in a read transaction, so
 * writers carry on meanwhile.  The same file can be produced by
 * "mdb_copy -c" on the environment directory.
 *
 * A restore first validates the file completely by the verification walk
 * of store_verify.c, run in a child process so that a damaged file cannot
 * crash the backend: that it is LMDB, not truncated, of our format
 * version, and that every record of every DBI decodes.  It then copies the
 * backup into a new environment beside the live one (<store>.restore.<pid>)
 * without reading the live store (only its id counters, if it can), and
 * when the calling transaction commits puts that directory in place of the
 * live one (StoreRestoreApplyPending); on abort the copy is removed.  So a
 * restore works when the live store is damaged, unreadable or gone, and
 * follows the transaction's outcome.  Backups and restores cover the whole
 * environment: every database's learned state and the arms catalogue.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "common/file_perm.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/memutils.h"

#include "store_int.h"

/* ".tmp." and a pid: what a backup's temporary name adds to its path */
#define STORE_BACKUP_TMP_SUFFIX_MAX	16

/*
 * store_require_absolute
 *		Backup and restore paths must be absolute: the server's working
 *		directory is not the caller's.
 */
static void
store_require_absolute(const char *path)
{
	if (!is_absolute_path(path))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("path \"%s\" is not absolute", path),
				 errhint("Give the full path of the file on the database server.")));
}

/*
 * store_fsync_parent
 *		Make the directory entry of a new file durable.
 */
static void
store_fsync_parent(const char *path)
{
	char	   *dir = pstrdup(path);

	get_parent_directory(dir);
	if (dir[0] != '\0')
		fsync_fname_ext(dir, true, false, ERROR);
	pfree(dir);
}

/*
 * store_backup_check_name
 *		A backup path must fit MAXPGPATH with its temporary suffix, and its
 *		file name NAME_MAX with it: else the open would fail with an error
 *		that says nothing useful.
 */
static void
store_backup_check_name(const char *path)
{
	const char *name = last_dir_separator(path);
	const char *component = path;
	size_t		max_name = NAME_MAX - STORE_BACKUP_TMP_SUFFIX_MAX;

	if (strlen(path) + STORE_BACKUP_TMP_SUFFIX_MAX >= MAXPGPATH)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("backup path is too long (%zu bytes)", strlen(path)),
				 errhint("A backup path has at most %d bytes.",
						 (int) (MAXPGPATH - 1 - STORE_BACKUP_TMP_SUFFIX_MAX))));
	name = name != NULL ? name + 1 : path;
	if (strlen(name) > max_name)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("backup file name is too long (%zu bytes)", strlen(name)),
				 errhint("A backup file name has at most %zu bytes.", max_name)));
	/* the directories on the way, which the file system limits too */
	while (component != NULL && *component != '\0')
	{
		const char *next = strchr(component, '/');
		size_t		len = next != NULL ? (size_t) (next - component) : strlen(component);

		if (len > NAME_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_NAME_TOO_LONG),
					 errmsg("a directory name in backup path \"%.64s...\" is too long (%zu bytes)",
							path, len),
					 errhint("A directory name has at most %d bytes.", NAME_MAX)));
		component = next != NULL ? next + 1 : NULL;
	}
}

/*
 * store_backup_create_temp
 *		Create the temporary file a backup is written to, "<path>.tmp.<pid>"
 *		in the target directory, and return its descriptor.  A file left
 *		under that name belongs to a backup of an earlier process with this
 *		pid that was killed: it is removed.  Leftovers of other pids do not
 *		matter.
 */
static int
store_backup_create_temp(const char *tmp)
{
	int			fd;

	fd = OpenTransientFilePerm(tmp, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY,
							   pg_file_create_mode);
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = OpenTransientFilePerm(tmp, O_WRONLY | O_CREAT | O_EXCL | PG_BINARY,
								   pg_file_create_mode);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create file \"%s\": %m", tmp)));
	return fd;
}

/*
 * store_backup_publish
 *		Give the complete, synced temporary file its final name.  A hard
 *		link never replaces a file created meanwhile; where the file system
 *		has no hard links, rename after checking that the name is free.
 */
static void
store_backup_publish(const char *tmp, const char *path)
{
	if (link(tmp, path) == 0)
	{
		if (unlink(tmp) != 0)
			ereport(WARNING,
					(errcode_for_file_access(),
					 errmsg("could not remove file \"%s\": %m", tmp)));
		return;
	}
	if (errno == EEXIST)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_FILE),
				 errmsg("file \"%s\" already exists", path),
				 errhint("Choose a new file name: a backup never overwrites a file.")));
	if (errno != EPERM && errno != EXDEV && errno != EMLINK &&
		errno != ENOTSUP && errno != ENOSYS)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not link file \"%s\" to \"%s\": %m", tmp, path)));
	if (access(path, F_OK) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_FILE),
				 errmsg("file \"%s\" already exists", path),
				 errhint("Choose a new file name: a backup never overwrites a file.")));
	if (rename(tmp, path) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rename file \"%s\" to \"%s\": %m", tmp, path)));
}

/*
 * StoreBackup
 *		Write a compacted copy of the environment to a new file at path;
 *		returns its size in bytes.  The copy is written to a temporary file
 *		in the same directory, synced, and only then given its name (and
 *		the directory synced): a backup killed half-way leaves no file
 *		under the final name, only a temporary one that does not stand in
 *		the way of the next backup.  An existing file is never overwritten,
 *		and the temporary file is removed if anything fails.
 */
uint64
StoreBackup(const char *path)
{
	MDB_env    *env;
	struct stat st;
	volatile int fd = -1;
	volatile bool created = false;
	uint64		bytes = 0;
	char	   *tmp;

	store_require_absolute(path);
	store_backup_check_name(path);
	env = StoreGetEnv();

	if (stat(path, &st) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_FILE),
				 errmsg("file \"%s\" already exists", path),
				 errhint("Choose a new file name: a backup never overwrites a file.")));

	/* the copy's read transaction must not find the map grown under it */
	if (StoreActiveReads() == 0)
		StoreEndRead(StoreBeginRead());

	tmp = psprintf("%s.tmp.%d", path, (int) MyProcPid);
	fd = store_backup_create_temp(tmp);
	created = true;

	PG_TRY();
	{
		sigset_t	all;
		sigset_t	saved;
		int			rc;

		/*
		 * The compacting copy writes from a helper thread.  Block every
		 * signal while it runs so that the thread starts with all signals
		 * blocked and no PostgreSQL handler ever runs on it; pending signals
		 * are delivered to this thread when the mask is restored.
		 */
		sigfillset(&all);
		sigprocmask(SIG_SETMASK, &all, &saved);
		rc = mdb_env_copyfd2(env, fd, MDB_CP_COMPACT);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		if (rc != 0)
			StoreReportErrorAt(ERROR, rc,
							   psprintf("write neural_dag backup \"%s\"", path),
							   tmp);

		if (pg_fsync(fd) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not fsync file \"%s\": %m", tmp)));
		if (fstat(fd, &st) != 0)
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not stat file \"%s\": %m", tmp)));
		bytes = (uint64) st.st_size;
		if (CloseTransientFile(fd) != 0)
		{
			fd = -1;
			ereport(ERROR,
					(errcode_for_file_access(),
					 errmsg("could not close file \"%s\": %m", tmp)));
		}
		fd = -1;
		store_backup_publish(tmp, path);
		created = false;
		store_fsync_parent(path);
	}
	PG_CATCH();
	{
		if (fd >= 0)
			CloseTransientFile(fd);
		if (created)
			unlink(tmp);
		PG_RE_THROW();
	}
	PG_END_TRY();

	pfree(tmp);
	return bytes;
}

/* ---------- restore ---------- */

/*
 * The restore staged by this transaction, put in place at commit: the
 * staging directory (in TopMemoryContext) and the subtransaction nesting
 * level that staged it.
 */
static char *restore_staged = NULL;
static int	restore_level = 0;

static void restore_xact_callback(XactEvent event, void *arg);
static void restore_subxact_callback(SubXactEvent event,
									 SubTransactionId mySubid,
									 SubTransactionId parentSubid,
									 void *arg);

/*
 * StoreRestoreInit
 *		Register the transaction callbacks of restores (from StoreInit).
 */
void
StoreRestoreInit(void)
{
	RegisterXactCallback(restore_xact_callback, NULL);
	RegisterSubXactCallback(restore_subxact_callback, NULL);
}

/*
 * store_not_backup
 *		Error for a file that is not a neural_dag backup at all.
 */
static void
store_not_backup(const char *path, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("file \"%s\" is not a neural_dag backup", path),
			 errdetail_internal("%s", detail),
			 errhint("Restore from a file written by ruvector_dag_backup() or by mdb_copy of the store directory.")));
}

/*
 * store_damaged_backup
 *		Error for a backup that is truncated or damaged.
 */
static void
store_damaged_backup(const char *path, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("neural_dag backup \"%s\" is damaged", path),
			 errdetail_internal("%s", detail),
			 errhint("Restore from another backup; the current state is unchanged.")));
}

/*
 * store_check_path_length
 *		A path the file system cannot take is the caller's mistake, said as
 *		such, before any system call reports ENAMETOOLONG.
 */
static void
store_check_path_length(const char *path)
{
	const char *p = path;

	if (strlen(path) >= MAXPGPATH)
		ereport(ERROR,
				(errcode(ERRCODE_NAME_TOO_LONG),
				 errmsg("path is too long"),
				 errdetail("The path has %zu bytes; at most %d are allowed.",
						   strlen(path), MAXPGPATH - 1)));
	while (*p)
	{
		size_t		len = strcspn(p, "/");

		if (len > NAME_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_NAME_TOO_LONG),
					 errmsg("file name \"%.*s...\" in path is too long", 32, p),
					 errdetail("A file name has at most %d bytes; this one has %zu.",
							   NAME_MAX, len)));
		p += len;
		while (*p == '/')
			p++;
	}
}

/*
 * store_check_file
 *		The file exists, is a regular file and can hold an LMDB environment.
 */
static void
store_check_file(const char *path, struct stat *st)
{
	uint32		psize = (uint32) sysconf(_SC_PAGESIZE);

	if (stat(path, st) != 0)
	{
		if (errno == ENOENT)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("backup file \"%s\" does not exist", path),
					 errhint("Give the path of a file written by ruvector_dag_backup().")));
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not stat file \"%s\": %m", path)));
	}
	if (!S_ISREG(st->st_mode))
		store_not_backup(path, "It is not a regular file.");
	if (st->st_size == 0)
		store_not_backup(path, "The file is empty.");
	if (st->st_size < 2 * (off_t) psize)
		store_not_backup(path,
						 psprintf("The file has %lld bytes, fewer than the two meta pages of an LMDB environment.",
								  (long long) st->st_size));
	if (access(path, R_OK) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not read file \"%s\": %m", path)));
}

/*
 * restore_child_verify
 *		In a child process: the full walk of the backup file.
 */
static StoreVerifyStatus
restore_child_verify(void *arg, char **why)
{
	return StoreVerify((const char *) arg, true, 0, why);
}

/*
 * store_validate_backup
 *		Walk the backup in a child process, so that a damaged file crashes
 *		that child and not this backend; raise the error its verdict calls
 *		for.
 */
static void
store_validate_backup(const char *path, const struct stat *st)
{
	char	   *why = NULL;

	switch (StoreRunInChild(restore_child_verify, (void *) path,
							StoreVerifyTimeout((uint64) st->st_size), &why))
	{
		case STORE_VERIFY_OK:
			return;
		case STORE_VERIFY_MISSING:
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("backup file \"%s\" does not exist", path),
					 errhint("Give the path of a file written by ruvector_dag_backup().")));
			break;
		case STORE_VERIFY_UNAVAILABLE:
			ereport(ERROR,
					(errcode(ERRCODE_IO_ERROR),
					 errmsg("could not read backup \"%s\"", path),
					 errdetail_internal("%s", why ? why : "")));
			break;
		case STORE_VERIFY_NOT_LMDB:
		case STORE_VERIFY_NOT_STORE:
			store_not_backup(path, why);
			break;
		case STORE_VERIFY_FORMAT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("neural_dag backup \"%s\" was written by another format version", path),
					 errdetail_internal("%s", why ? why : ""),
					 errhint("Restore it with the version of neural_dag that wrote it.")));
			break;
		default:
			store_damaged_backup(path, why);
	}
}

/* one meta counter */
typedef struct StoreMetaItem
{
	char	   *name;
	int64		value;
} StoreMetaItem;

/*
 * store_read_meta
 *		All counters of a meta DBI, palloc'd.
 */
static int
store_read_meta(MDB_txn *txn, MDB_dbi dbi, StoreMetaItem **items, int *nitems)
{
	const StoreSchema *schema = StoreGetSchema(STORE_DBI_META);
	MDB_cursor *cursor;
	MDB_val		key;
	MDB_val		data;
	int			n = 0;
	int			size = 16;
	int			rc;

	*items = palloc(sizeof(StoreMetaItem) * size);
	*nitems = 0;
	rc = mdb_cursor_open(txn, dbi, &cursor);
	if (rc != 0)
		return rc;
	while ((rc = mdb_cursor_get(cursor, &key, &data, n == 0 ? MDB_FIRST : MDB_NEXT)) == 0)
	{
		StoreValue	values[2];

		StoreRecordDecode(schema, data.mv_data, data.mv_size, values);
		if (n == size)
		{
			size *= 2;
			*items = repalloc(*items, sizeof(StoreMetaItem) * size);
		}
		(*items)[n].name = pnstrdup(values[0].data, values[0].len);
		(*items)[n].value = values[1].isnull ? 0 : values[1].v.i8;
		n++;
	}
	mdb_cursor_close(cursor);
	*nitems = n;
	return rc == MDB_NOTFOUND ? 0 : rc;
}

/*
 * store_read_live_meta
 *		The counters of the live store, so that the restored one counts on
 *		from where it is; none if it cannot be read (a restore must work
 *		when the live store is gone or unreadable).
 */
static void
store_read_live_meta(StoreMetaItem **items, int *nitems)
{
	MemoryContext cxt = CurrentMemoryContext;
	MDB_txn    *volatile txn = NULL;

	*items = NULL;
	*nitems = 0;
	PG_TRY();
	{
		int			rc;

		txn = StoreBeginRead();
		rc = store_read_meta(txn, StoreDbiHandle(STORE_DBI_META), items, nitems);
		if (rc != 0)
			*nitems = 0;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		*nitems = 0;
	}
	PG_END_TRY();
	if (txn != NULL)
		StoreEndRead(txn);
}

/*
 * store_live_value
 *		The live value of meta counter name, or -1.
 */
static int64
store_live_value(const StoreMetaItem *live, int nlive, const char *name)
{
	for (int l = 0; l < nlive; l++)
	{
		if (strcmp(live[l].name, name) == 0)
			return live[l].value;
	}
	return -1;
}

/*
 * store_put_meta
 *		Put one meta counter into the staging environment.
 */
static int
store_put_meta(MDB_txn *txn, MDB_dbi dbi, const char *name, int64 value)
{
	StoreValue	values[2];

	memset(values, 0, sizeof(values));
	values[0].data = name;
	values[0].len = strlen(name);
	values[1].v.i8 = value;
	return StorePutRecordInto(txn, dbi, STORE_DBI_META, values);
}

/* the backup being restored and the staging environment it is copied to */
typedef struct StoreRestoreCopy
{
	const char *path;			/* the backup */
	MDB_env    *src_env;
	MDB_txn    *src_txn;
	MDB_env    *dst_env;
	MDB_txn    *dst_txn;
	uint64		records;		/* outside meta */
} StoreRestoreCopy;

/*
 * store_copy_records
 *		Copy every DBI of the backup into the staging environment; meta
 *		takes the backup's values, except that id counters keep the larger
 *		of the backup's and the live store's, the generation moves past
 *		both, and format version and system identifier are this server's.
 */
static int
store_copy_records(StoreRestoreCopy *c)
{
	StoreMetaItem *live;
	StoreMetaItem *backup;
	int			nlive;
	int			nbackup;
	int64		generation;
	MDB_dbi		src[STORE_NUM_DBIS];
	MDB_dbi		dst[STORE_NUM_DBIS];
	bool		in_src[STORE_NUM_DBIS];
	int			rc;

	store_read_live_meta(&live, &nlive);
	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		const char *name = StoreGetSchema((StoreDbi) i)->name;

		rc = mdb_dbi_open(c->src_txn, name, 0, &src[i]);
		/* a backup of an older format lacks the DBIs added since (verified) */
		in_src[i] = (rc == 0);
		if (rc == MDB_NOTFOUND)
			rc = 0;
		if (rc == 0)
			rc = mdb_dbi_open(c->dst_txn, name, MDB_CREATE, &dst[i]);
		if (rc != 0)
			return rc;
	}
	rc = store_read_meta(c->src_txn, src[STORE_DBI_META], &backup, &nbackup);
	if (rc != 0)
		return rc;

	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		MDB_cursor *cursor;
		MDB_val		key;
		MDB_val		data;
		bool		first = true;

		if (i == STORE_DBI_META || !in_src[i])
			continue;
		rc = mdb_cursor_open(c->src_txn, src[i], &cursor);
		if (rc != 0)
			return rc;
		while ((rc = mdb_cursor_get(cursor, &key, &data,
									first ? MDB_FIRST : MDB_NEXT)) == 0)
		{
			first = false;
			rc = mdb_put(c->dst_txn, dst[i], &key, &data, MDB_APPEND);
			if (rc != 0)
				break;
			c->records++;
		}
		mdb_cursor_close(cursor);
		if (rc != MDB_NOTFOUND)
			return rc;
	}

	generation = Max(store_live_value(live, nlive, STORE_META_GENERATION), 0);
	for (int b = 0; b < nbackup; b++)
	{
		int64		value = backup[b].value;

		if (strcmp(backup[b].name, STORE_META_GENERATION) == 0)
		{
			generation = Max(generation, value);
			continue;
		}
		if (strncmp(backup[b].name, STORE_META_COUNTER_PREFIX,
					strlen(STORE_META_COUNTER_PREFIX)) == 0)
			value = Max(value, store_live_value(live, nlive, backup[b].name));
		rc = store_put_meta(c->dst_txn, dst[STORE_DBI_META], backup[b].name, value);
		if (rc != 0)
			return rc;
	}
	/* a counter the backup predates keeps counting from where it is */
	for (int l = 0; l < nlive; l++)
	{
		bool		in_backup = false;

		for (int b = 0; b < nbackup && !in_backup; b++)
			in_backup = (strcmp(live[l].name, backup[b].name) == 0);
		if (!in_backup &&
			strncmp(live[l].name, STORE_META_COUNTER_PREFIX,
					strlen(STORE_META_COUNTER_PREFIX)) == 0)
		{
			rc = store_put_meta(c->dst_txn, dst[STORE_DBI_META],
								live[l].name, live[l].value);
			if (rc != 0)
				return rc;
		}
	}
	rc = store_put_meta(c->dst_txn, dst[STORE_DBI_META],
						STORE_META_FORMAT_VERSION, STORE_FORMAT_VERSION);
	if (rc == 0)
		rc = store_put_meta(c->dst_txn, dst[STORE_DBI_META],
							STORE_META_SYSTEM_IDENTIFIER,
							(int64) GetSystemIdentifier());
	if (rc == 0)
		rc = store_put_meta(c->dst_txn, dst[STORE_DBI_META],
							STORE_META_GENERATION, generation + 1);
	return rc;
}

/*
 * store_stage_restore
 *		Build a complete store from the validated backup in directory
 *		staging, synced to disk.
 */
static uint64
store_stage_restore(const char *path, const char *staging, const struct stat *st)
{
	StoreRestoreCopy c;
	volatile uint64 records = 0;
	char	   *what = psprintf("restore the neural_dag store from \"%s\"", path);

	memset(&c, 0, sizeof(c));
	c.path = path;
	if (MakePGDirectory(staging) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", staging)));
	PG_TRY();
	{
		size_t		mapsize;
		int			rc;

		rc = mdb_env_create(&c.src_env);
		if (rc == 0)
			rc = mdb_env_set_maxdbs(c.src_env, STORE_NUM_DBIS + STORE_SPARE_DBIS);
		if (rc == 0)
			rc = mdb_env_open(c.src_env, path,
							  MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK,
							  pg_file_create_mode);
		if (rc == 0)
			rc = mdb_txn_begin(c.src_env, NULL, MDB_RDONLY, &c.src_txn);
		if (rc != 0)
			StoreReportError(ERROR, rc, what);

		/* room for the records, their pages and the map's growth */
		mapsize = (size_t) st->st_size * 2 + 64 * 1024 * 1024;
		rc = mdb_env_create(&c.dst_env);
		if (rc == 0)
			rc = mdb_env_set_maxdbs(c.dst_env, STORE_NUM_DBIS + STORE_SPARE_DBIS);
		if (rc == 0)
			rc = mdb_env_set_mapsize(c.dst_env, mapsize);
		if (rc == 0)
			rc = mdb_env_open(c.dst_env, staging, MDB_NOTLS, pg_file_create_mode);
		if (rc == 0)
			rc = mdb_txn_begin(c.dst_env, NULL, 0, &c.dst_txn);
		if (rc == 0)
			rc = store_copy_records(&c);
		if (rc == 0)
		{
			rc = mdb_txn_commit(c.dst_txn);
			c.dst_txn = NULL;
		}
		if (rc == 0)
			rc = mdb_env_sync(c.dst_env, 1);
		if (rc != 0)
			StoreReportError(ERROR, rc, what);
		records = c.records;
	}
	PG_FINALLY();
	{
		if (c.dst_txn != NULL)
			mdb_txn_abort(c.dst_txn);
		if (c.dst_env != NULL)
			mdb_env_close(c.dst_env);
		if (c.src_txn != NULL)
			mdb_txn_abort(c.src_txn);
		if (c.src_env != NULL)
			mdb_env_close(c.src_env);
	}
	PG_END_TRY();
	store_fsync_parent(staging);
	return records;
}

/*
 * store_remove_dir
 *		Remove a directory and what it holds, if it exists; false if it
 *		could not be removed (rmtree has reported why).
 */
static bool
store_remove_dir(const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) != 0 && errno == ENOENT)
		return true;
	/* a store made unreadable by hand is still ours to remove */
	(void) chmod(dir, pg_dir_create_mode);
	return rmtree(dir, true);
}

/*
 * StoreRestoreDiscardPending
 *		Forget the restore this transaction staged, removing its directory.
 *		Never raises an error (it runs at abort).
 */
void
StoreRestoreDiscardPending(void)
{
	char	   *staged = restore_staged;

	restore_staged = NULL;
	restore_level = 0;
	if (staged == NULL)
		return;
	if (!store_remove_dir(staged))
		ereport(WARNING,
				(errmsg("could not remove the staged neural_dag restore \"%s\"", staged),
				 errhint("Remove the directory by hand.")));
	pfree(staged);
}

/*
 * store_switch_in
 *		Put the staged store at live's path, atomically where the file
 *		system can exchange two directories; what was at the path is
 *		removed.  Returns false with errno set if nothing was switched.
 */
static bool
store_switch_in(const char *staged, const char *live)
{
	char	   *old = psprintf("%s.replaced.%d", live, MyProcPid);
	struct stat st;

	if (lstat(live, &st) != 0)
		return rename(staged, live) == 0;
#ifdef RENAME_EXCHANGE
	if (renameat2(AT_FDCWD, staged, AT_FDCWD, live, RENAME_EXCHANGE) == 0)
	{
		/* the old store now sits at the staging path */
		if (!store_remove_dir(staged))
			ereport(WARNING,
					(errmsg("could not remove the replaced neural_dag store \"%s\"", staged)));
		return true;
	}
#endif
	if (rename(live, old) != 0)
		return false;
	if (rename(staged, live) != 0)
	{
		int			save_errno = errno;

		(void) rename(old, live);
		errno = save_errno;
		return false;
	}
	if (!store_remove_dir(old))
		ereport(WARNING,
				(errmsg("could not remove the replaced neural_dag store \"%s\"", old)));
	return true;
}

/*
 * StoreRestoreApplyPending
 *		At commit: put the store staged by this transaction's restore in
 *		place of the live one, and tell every process (they open the new
 *		one at their next use; writes they started before go to the old
 *		one and are lost, as if made before the restore).  Runs after the
 *		commit is durable, so it never raises an error: a failure is a
 *		WARNING and leaves the live store as it was.
 */
void
StoreRestoreApplyPending(void)
{
	char	   *staged = restore_staged;
	char	   *live;

	if (staged == NULL)
		return;
	restore_staged = NULL;
	restore_level = 0;
	live = pstrdup(StoreDirectory());

	/* this process's handle is on the store being replaced */
	StoreClose();
	if (!store_switch_in(staged, live))
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("could not put the restored neural_dag store in place at \"%s\": %m", live),
				 errdetail("The transaction committed, but the store was not replaced."),
				 errhint("Run ruvector_dag_restore() again.")));
		(void) store_remove_dir(staged);
		pfree(staged);
		return;
	}
	{
		char		dir[MAXPGPATH];

		strlcpy(dir, live, sizeof(dir));
		get_parent_directory(dir);
		if (dir[0] != '\0')
			(void) fsync_fname_ext(dir, true, true, WARNING);
	}
	StoreSwitchBump();
	if (store_generation_hook != NULL)
		store_generation_hook();
	/* standbys and crash recovery take the restored state from WAL */
	StoreWalLogSnapshot(true);
	pfree(staged);
}

/*
 * restore_xact_callback
 *		A staged restore goes in at commit, away at abort; a transaction
 *		that restores may not also queue store writes, before or after the
 *		restore (they would be made to the store the restore replaces, or
 *		be lost with it), nor be prepared.  Registered after the pending
 *		writes' callback, so at PRE_COMMIT it runs first.
 */
static pg_attribute_hot void
restore_xact_callback(XactEvent event, void *arg)
{
	if (restore_staged == NULL)
		return;
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			for (int i = 0; i < STORE_NUM_DBIS; i++)
			{
				if (StorePendingAny((StoreDbi) i))
					ereport(ERROR,
							(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
							 errmsg("a transaction that restores the neural_dag store cannot also change it"),
							 errhint("Call ruvector_dag_restore() in a transaction of its own.")));
			}
			break;
		case XACT_EVENT_PRE_PREPARE:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot prepare a transaction that restored the neural_dag store")));
			break;
		case XACT_EVENT_COMMIT:
			StoreRestoreApplyPending();
			break;
		case XACT_EVENT_ABORT:
			StoreRestoreDiscardPending();
			break;
		default:
			break;
	}
}

/*
 * restore_subxact_callback
 *		A rolled-back savepoint drops a restore staged inside it; a
 *		released one hands it to its parent.
 */
static void
restore_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						 SubTransactionId parentSubid, void *arg)
{
	int			level = GetCurrentTransactionNestLevel();

	if (restore_staged == NULL || restore_level < level)
		return;
	if (event == SUBXACT_EVENT_ABORT_SUB)
		StoreRestoreDiscardPending();
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		restore_level = level - 1;
}

/*
 * StoreRestore
 *		Stage the replacement of the whole store by the backup at path, to
 *		take effect when the current transaction commits; returns the
 *		number of records restored (meta not counted).  The backup is
 *		walked in a child process first; the live store is not read,
 *		except for its counters if it can be: a restore works when the
 *		live store is gone, unreadable or damaged.  A file that fails
 *		validation changes nothing.
 */
uint64
StoreRestore(const char *path)
{
	struct stat st;
	char	   *live;
	char	   *staging;
	uint64		records;

	store_require_absolute(path);
	store_check_path_length(path);
	store_check_file(path, &st);
	store_validate_backup(path, &st);

	/* a second restore in the same transaction replaces the first */
	StoreRestoreDiscardPending();
	live = pstrdup(StoreDirectory());
	staging = psprintf("%s.restore.%d", live, MyProcPid);
	if (!store_remove_dir(staging))
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not remove directory \"%s\"", staging)));
	PG_TRY();
	{
		records = store_stage_restore(path, staging, &st);
	}
	PG_CATCH();
	{
		(void) store_remove_dir(staging);
		PG_RE_THROW();
	}
	PG_END_TRY();

	restore_staged = MemoryContextStrdup(TopMemoryContext, staging);
	restore_level = GetCurrentTransactionNestLevel();
	return records;
}
