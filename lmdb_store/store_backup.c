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
 * A restore first validates the file completely, opened as a second,
 * read-only environment: that it is LMDB, not truncated, of our format
 * version, and that every record of every DBI decodes.  Only then is the
 * live state replaced, in one write transaction, so that readers see
 * either the old or the new state.  Backups and restores cover the whole
 * environment, every database's learned state; the restore takes effect at
 * once, not at the commit of the calling transaction.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "miscadmin.h"
#include "storage/fd.h"

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

/* the backup being restored, open read-only */
typedef struct StoreRestoreSource
{
	const char *path;
	MDB_env    *env;
	MDB_txn    *txn;
	MDB_cursor *cursor;			/* open on txn, closed on every path */
	MDB_dbi		dbis[STORE_NUM_DBIS];
	uint64		records;		/* outside meta */
} StoreRestoreSource;

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
 * store_check_file
 *		The file exists, is a regular file and can hold an LMDB environment.
 */
static void
store_check_file(const char *path, uint32 psize, struct stat *st)
{
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
 * store_validate_source
 *		Open the backup as a read-only environment and check everything:
 *		size against its last page, DBIs, format version, every record.
 */
static void
store_validate_source(StoreRestoreSource *src, const struct stat *st)
{
	MDB_envinfo info;
	MDB_stat	envstat;
	int64		format = 0;
	int			rc;

	rc = mdb_env_create(&src->env);
	if (rc != 0)
		StoreReportError(ERROR, rc, "open the backup");
	rc = mdb_env_set_maxdbs(src->env, STORE_NUM_DBIS + STORE_SPARE_DBIS);
	if (rc == 0)
		rc = mdb_env_open(src->env, src->path,
						  MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK,
						  pg_file_create_mode);
	if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
		store_not_backup(src->path, mdb_strerror(rc));
	if (rc != 0)
		StoreReportError(ERROR, rc,
						 psprintf("open backup \"%s\"", src->path));

	/* before touching any data page: a truncated file would fault */
	mdb_env_info(src->env, &info);
	mdb_env_stat(src->env, &envstat);
	if (((uint64) info.me_last_pgno + 1) * envstat.ms_psize > (uint64) st->st_size)
		store_damaged_backup(src->path,
							 psprintf("The file is truncated: its pages need " UINT64_FORMAT " bytes, it has %lld.",
									  ((uint64) info.me_last_pgno + 1) * envstat.ms_psize,
									  (long long) st->st_size));

	rc = mdb_txn_begin(src->env, NULL, MDB_RDONLY, &src->txn);
	if (rc != 0)
		StoreReportError(ERROR, rc,
						 psprintf("read backup \"%s\"", src->path));

	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		const char *name = StoreGetSchema((StoreDbi) i)->name;

		rc = mdb_dbi_open(src->txn, name, 0, &src->dbis[i]);
		if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
			store_not_backup(src->path,
							 psprintf("The environment has no store \"%s\".", name));
		if (rc != 0)
			store_damaged_backup(src->path, mdb_strerror(rc));
	}

	/* format version, from meta */
	{
		const StoreSchema *schema = StoreGetSchema(STORE_DBI_META);
		StoreValue	values[2];
		const char *why = NULL;
		MDB_val		key;
		MDB_val		data;

		key.mv_data = (void *) STORE_META_FORMAT_VERSION;
		key.mv_size = strlen(STORE_META_FORMAT_VERSION);
		rc = mdb_get(src->txn, src->dbis[STORE_DBI_META], &key, &data);
		if (rc == MDB_NOTFOUND)
			store_not_backup(src->path, "The environment has no format version.");
		if (rc != 0)
			store_damaged_backup(src->path, mdb_strerror(rc));
		if (!StoreRecordTryDecode(schema, data.mv_data, data.mv_size, values, &why))
			store_damaged_backup(src->path, why);
		format = values[1].isnull ? -1 : values[1].v.i8;
		if (format != STORE_FORMAT_VERSION)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("neural_dag backup \"%s\" has format version " INT64_FORMAT ", but this server reads version %d",
							src->path, format, STORE_FORMAT_VERSION),
					 errhint("Restore it with the version of neural_dag that wrote it.")));
	}

	/* every record decodes, under the key its fields encode to */
	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		const StoreSchema *schema = StoreGetSchema((StoreDbi) i);
		StoreValue *values = palloc(sizeof(StoreValue) * schema->nfields);
		StringInfoData keybuf;
		MDB_val		key;
		MDB_val		data;
		uint64		n = 0;

		initStringInfo(&keybuf);
		rc = mdb_cursor_open(src->txn, src->dbis[i], &src->cursor);
		if (rc != 0)
			StoreReportError(ERROR, rc, psprintf("read backup \"%s\"", src->path));
		while ((rc = mdb_cursor_get(src->cursor, &key, &data,
									n == 0 ? MDB_FIRST : MDB_NEXT)) == 0)
		{
			const char *why = NULL;

			n++;
			if (!StoreRecordTryDecode(schema, data.mv_data, data.mv_size, values, &why))
				store_damaged_backup(src->path,
									 psprintf("Record " UINT64_FORMAT " of store \"%s\" cannot be decoded: %s.",
											  n, schema->name, why));
			resetStringInfo(&keybuf);
			StoreKeyEncode(schema, values, &keybuf);
			if (keybuf.len != (int) key.mv_size ||
				memcmp(keybuf.data, key.mv_data, key.mv_size) != 0)
				store_damaged_backup(src->path,
									 psprintf("Record " UINT64_FORMAT " of store \"%s\" is stored under the wrong key.",
											  n, schema->name));
		}
		mdb_cursor_close(src->cursor);
		src->cursor = NULL;
		if (rc != MDB_NOTFOUND)
			store_damaged_backup(src->path, mdb_strerror(rc));
		if (i != STORE_DBI_META)
			src->records += n;
		pfree(keybuf.data);
		pfree(values);
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
 * store_restore_write
 *		Write function: replace every DBI with the backup's records; meta
 *		takes the backup's values except that the generation moves past
 *		both and id counters keep the larger value.
 */
static int
store_restore_write(MDB_txn *txn, void *arg)
{
	StoreRestoreSource *src = (StoreRestoreSource *) arg;
	StoreMetaItem *live;
	StoreMetaItem *backup;
	int			nlive;
	int			nbackup;
	int64		generation = 0;
	int			rc;

	rc = store_read_meta(txn, StoreDbiHandle(STORE_DBI_META), &live, &nlive);
	if (rc != 0)
		return rc;
	rc = store_read_meta(src->txn, src->dbis[STORE_DBI_META], &backup, &nbackup);
	if (rc != 0)
		return rc;

	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		MDB_dbi		dbi = StoreDbiHandle((StoreDbi) i);
		MDB_val		key;
		MDB_val		data;
		bool		first = true;

		rc = mdb_drop(txn, dbi, 0);
		if (rc != 0)
			return rc;
		if (i == STORE_DBI_META)
			continue;
		rc = mdb_cursor_open(src->txn, src->dbis[i], &src->cursor);
		if (rc != 0)
			return rc;
		while ((rc = mdb_cursor_get(src->cursor, &key, &data,
									first ? MDB_FIRST : MDB_NEXT)) == 0)
		{
			first = false;
			rc = mdb_put(txn, dbi, &key, &data, MDB_APPEND);
			if (rc != 0)
				break;
		}
		mdb_cursor_close(src->cursor);
		src->cursor = NULL;
		if (rc != MDB_NOTFOUND)
			return rc;
	}

	/* meta: the backup's counters, raised to the live ones */
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
		{
			for (int l = 0; l < nlive; l++)
			{
				if (strcmp(live[l].name, backup[b].name) == 0)
					value = Max(value, live[l].value);
			}
		}
		rc = StoreMetaPut(txn, backup[b].name, value);
		if (rc != 0)
			return rc;
	}
	for (int l = 0; l < nlive; l++)
	{
		bool		in_backup = false;

		if (strcmp(live[l].name, STORE_META_GENERATION) == 0)
		{
			generation = Max(generation, live[l].value);
			continue;
		}
		for (int b = 0; b < nbackup && !in_backup; b++)
			in_backup = (strcmp(live[l].name, backup[b].name) == 0);
		/* a counter the backup predates keeps counting from where it is */
		if (!in_backup &&
			strncmp(live[l].name, STORE_META_COUNTER_PREFIX,
					strlen(STORE_META_COUNTER_PREFIX)) == 0)
		{
			rc = StoreMetaPut(txn, live[l].name, live[l].value);
			if (rc != 0)
				return rc;
		}
	}
	rc = StoreMetaPut(txn, STORE_META_FORMAT_VERSION, STORE_FORMAT_VERSION);
	if (rc == 0)
	{
		StoreNoteGenerationMoved();
		rc = StoreMetaPut(txn, STORE_META_GENERATION, generation + 1);
	}
	return rc;
}

/*
 * StoreRestore
 *		Replace the whole learned state with the backup at path; returns the
 *		number of records restored (meta not counted).  A file that fails
 *		validation changes nothing.
 */
uint64
StoreRestore(const char *path)
{
	StoreRestoreSource src;
	struct stat st;
	volatile uint64 records = 0;

	store_require_absolute(path);
	store_check_file(path, StorePageSize(), &st);

	memset(&src, 0, sizeof(src));
	src.path = path;
	PG_TRY();
	{
		store_validate_source(&src, &st);
		StoreRunWrite(store_restore_write, &src, (uint64) st.st_size,
					  psprintf("restore the neural_dag store from \"%s\"", path));
		records = src.records;
	}
	PG_FINALLY();
	{
		if (src.cursor != NULL)
			mdb_cursor_close(src.cursor);
		if (src.txn != NULL)
			mdb_txn_abort(src.txn);
		if (src.env != NULL)
			mdb_env_close(src.env);
	}
	PG_END_TRY();

	return records;
}
