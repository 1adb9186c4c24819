/*-------------------------------------------------------------------------
 *
 * store_env.c
 *	  The LMDB environment of this process: lazy open after fork, the DBI
 *	  handles, read transactions, the write-transaction runner with map
 *	  growth, and the counters kept in meta.
 *
 * Each process opens the environment itself, the first time it needs it;
 * the postmaster never does, so no handle crosses a fork.  Should one
 * anyway (a process that forked after opening), the child forgets the
 * inherited handle without closing it (closing would release the parent's
 * reader slots and locks) and opens its own.
 *
 * mdb_env_set_mapsize() remaps the file, which would leave every pointer
 * of an open read transaction dangling: LMDB leaves it to the caller to
 * call it only when no transaction of the process is active, so this file
 * counts the read transactions it hands out.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/xlog.h"
#include "common/file_perm.h"
#include "miscadmin.h"
#include "postmaster/autovacuum.h"
#include "replication/walsender.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat/compat_backend.h"
#include "store_int.h"

/* how often one write is retried after growing a full map */
#define STORE_MAX_GROWTHS	16

/* reader slots beyond the processes PostgreSQL may start */
#define STORE_READER_MARGIN	32

/* how often, at most, an open store is checked to be the file at its path */
#define STORE_IDENTITY_CHECK_MS	1000

static MDB_env *store_env = NULL;
static pid_t store_pid = 0;
static char *store_path = NULL;
static MDB_dbi store_dbis[STORE_NUM_DBIS];
static int	store_active_reads = 0;

/* where and how large: given by StoreConfigure() at start-up */
static char *store_directory_setting = NULL;	/* as configured; NULL or "" default */
static int	store_map_size_mb = 1024;

/* stale reader slots the open of this process cleared (self-healing reports them) */
static int	store_cleared_at_open = 0;
static bool store_exit_registered = false;

/* which file the open store is (device and inode of data.mdb) */
static dev_t store_ident_dev;
static ino_t store_ident_ino;
static uint64 store_switches_seen = 0;	/* StoreSwitchCount() at open */
static TimestampTz store_checked_at = 0;
static LocalTransactionId store_checked_lxid = InvalidLocalTransactionId;

static void store_at_exit(int code, Datum arg);
static void store_grow_map(uint64 min_growth);
static void store_adopt_map_size(void);
static void store_open_meta(const char *path);
static void store_open_dbis(const char *path);
static void store_remember_identity(void);
static void store_check_identity(bool force);
static bool store_path_is_open_store(void);

/*
 * StoreConfigure
 *		Called from _PG_init once the GUCs are defined: the configured
 *		directory of the environment (ruvector.dag_data_directory; empty
 *		means $PGDATA/neural_dag, a relative path is taken against the data
 *		directory) and its initial map size in MB (ruvector.dag_map_size).
 *		Both settings take effect at server start only, so copies suffice.
 */
void
StoreConfigure(const char *directory, int map_size_mb)
{
	store_directory_setting = (directory != NULL) ?
		MemoryContextStrdup(TopMemoryContext, directory) : NULL;
	store_map_size_mb = map_size_mb;
}

/*
 * StoreInit
 *		Called from _PG_init: register the transaction callbacks of pending
 *		writes.  Nothing is opened here (the postmaster runs this).
 */
void
StoreInit(void)
{
	StorePendingInit();
	/* registered after, so called before the pending writes' callback */
	StoreRestoreInit();
}

/*
 * StoreDirectory
 *		The directory of the environment: the configured directory, made
 *		absolute against the data directory, or $PGDATA/neural_dag.
 */
const char *
StoreDirectory(void)
{
	char	   *path;

	if (store_path != NULL)
		return store_path;

	if (store_directory_setting != NULL && store_directory_setting[0] != '\0')
	{
		if (is_absolute_path(store_directory_setting))
			path = pstrdup(store_directory_setting);
		else
			path = psprintf("%s/%s", DataDir, store_directory_setting);
	}
	else
		path = psprintf("%s/neural_dag", DataDir);
	canonicalize_path(path);
	return path;
}

/*
 * store_max_readers
 *		Reader slots: one per process PostgreSQL may run, plus a margin for
 *		processes holding several read transactions at once.
 */
static unsigned int
store_max_readers(void)
{
	return (unsigned int) (MaxConnections + max_worker_processes +
						   autovacuum_max_workers + max_wal_senders +
						   STORE_READER_MARGIN);
}

/*
 * store_open_env
 *		Create an environment handle and open path with flags: the sizes
 *		and reader slots every process uses.  Returns 0 or an LMDB code;
 *		*envp is set (and must be closed) only on success.
 */
static int
store_open_env(const char *path, unsigned int flags, MDB_env **envp)
{
	MDB_env    *env = NULL;
	int			rc;

	*envp = NULL;
	rc = mdb_env_create(&env);
	if (rc != 0)
		return rc;
	rc = mdb_env_set_maxdbs(env, STORE_NUM_DBIS + STORE_SPARE_DBIS);
	if (rc == 0)
		rc = mdb_env_set_maxreaders(env, store_max_readers());
	if (rc == 0)
		rc = mdb_env_set_mapsize(env, (size_t) store_map_size_mb * 1024 * 1024);
	if (rc == 0)
		rc = mdb_env_open(env, path, flags, pg_file_create_mode);
	if (rc != 0)
	{
		mdb_env_close(env);
		return rc;
	}
	*envp = env;
	return 0;
}

/*
 * store_data_file
 *		The path of the data file of the environment directory dir.
 */
static char *
store_data_file(const char *dir)
{
	return psprintf("%s/data.mdb", dir);
}

/*
 * store_missing_error
 *		The store is not where it should be: nobody but the server start
 *		creates it, so that a process never writes to a store of its own.
 */
static void
store_missing_error(const char *path)
{
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_FILE),
			 errmsg("the neural_dag store at \"%s\" does not exist", path),
			 errdetail("Only the server start creates the store; it was removed since, or could not be created then."),
			 errhint("Restore a backup with ruvector_dag_restore(), or restart the server to start learning afresh.")));
}

/*
 * StoreEnsureOpen
 *		Open the environment in this process if it is not open yet, and
 *		check it is the one it claims to be: every DBI exists, the format
 *		version and the cluster's system identifier match.  A store that
 *		is open is checked to still be the file at its path at its first
 *		use in each transaction, and again after a second within a long
 *		one (store_check_identity: one stat()).  Nothing
 *		is created here: the server start creates the store
 *		(store_startup.c).
 */
void
StoreEnsureOpen(void)
{
	MDB_env    *env = NULL;
	char	   *path;
	char	   *datafile;
	char	   *what;
	struct stat st;
	int			rc;
	int			dead = 0;

	if (store_env != NULL)
	{
		if (store_pid == MyProcPid)
		{
			store_check_identity(false);
			if (store_env != NULL)
				return;
		}
		else
		{
			/* inherited across fork: forget it, the parent still owns it */
			store_env = NULL;
			store_active_reads = 0;
			store_path = NULL;
			store_exit_registered = false;	/* StoreClose is idempotent */
		}
	}

	if (IsPostmasterEnvironment && !IsUnderPostmaster)
		elog(ERROR, "the neural_dag store cannot be opened in the postmaster");

	path = MemoryContextStrdup(TopMemoryContext, StoreDirectory());
	what = psprintf("open the neural_dag store at \"%s\"", path);
	datafile = store_data_file(path);
	if (stat(datafile, &st) != 0)
	{
		if (errno == ENOENT)
			store_missing_error(path);
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not %s: %m", what),
				 errhint("The store directory and its files must belong to the PostgreSQL server's operating system user.")));
	}

	rc = store_open_env(path, MDB_NOTLS, &env);
	if (rc != 0)
		StoreReportError(ERROR, rc, what);

	PG_TRY();
	{
		rc = mdb_reader_check(env, &dead);
		if (rc != 0)
			StoreReportError(ERROR, rc, what);
		if (dead > 0)
			elog(DEBUG1, "neural_dag store: cleared %d stale reader slots", dead);
		store_cleared_at_open = dead;

		store_env = env;
		store_pid = MyProcPid;
		store_path = path;
		store_active_reads = 0;
		/* the file is known before a migration writes to it */
		store_remember_identity();
		store_open_dbis(path);
		store_remember_identity();
		StoreOpenCounted();
	}
	PG_CATCH();
	{
		store_env = NULL;
		store_path = NULL;
		mdb_env_close(env);
		PG_RE_THROW();
	}
	PG_END_TRY();

	if (!store_exit_registered)
	{
		on_proc_exit(store_at_exit, (Datum) 0);
		store_exit_registered = true;
	}
	pfree(datafile);
	pfree(what);
}

/*
 * store_damaged_error
 *		The environment at path is not a whole neural_dag store of this
 *		cluster.
 */
static void
store_damaged_error(const char *path, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("the neural_dag store at \"%s\" is damaged or not this cluster's", path),
			 errdetail_internal("%s", detail),
			 errhint("Restart the server to move it aside and start with an empty store, then restore a backup with ruvector_dag_restore().")));
}

/*
 * store_open_meta
 *		Open the meta DBI of an existing environment (a committed read
 *		transaction keeps the handle).
 */
static void
store_open_meta(const char *path)
{
	MDB_txn    *txn = NULL;
	int			rc;

	rc = mdb_txn_begin(store_env, NULL, MDB_RDONLY, &txn);
	if (rc == 0)
	{
		rc = mdb_dbi_open(txn, StoreGetSchema(STORE_DBI_META)->name, 0,
						  &store_dbis[STORE_DBI_META]);
		if (rc == 0)
			rc = mdb_txn_commit(txn);
		else
			mdb_txn_abort(txn);
	}
	if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
		store_damaged_error(path, "It has no store \"meta\".");
	if (rc != 0)
		StoreReportError(ERROR, rc,
						 psprintf("open the neural_dag store at \"%s\"", path));
}

/*
 * store_open_dbis
 *		Open every DBI of an existing environment in a read transaction
 *		(committed, so that the handles stay valid), and check its format
 *		version and system identifier.
 */
static void
store_open_dbis(const char *path)
{
	MDB_txn    *volatile txn = NULL;
	int			rc;

	/* meta first: a store of an older format is migrated before the rest */
	store_open_meta(path);
	StoreMigrateOnOpen(path);

	rc = mdb_txn_begin(store_env, NULL, MDB_RDONLY, (MDB_txn **) &txn);
	if (rc != 0)
		StoreReportError(ERROR, rc,
						 psprintf("open the neural_dag store at \"%s\"", path));
	PG_TRY();
	{
		int64		format = 0;
		int64		sysid = 0;

		for (int i = 0; i < STORE_NUM_DBIS; i++)
		{
			const char *name = StoreGetSchema((StoreDbi) i)->name;

			rc = mdb_dbi_open(txn, name, 0, &store_dbis[i]);
			if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
				store_damaged_error(path,
									psprintf("It has no store \"%s\".", name));
			if (rc != 0)
				StoreReportError(ERROR, rc,
								 psprintf("open the neural_dag store at \"%s\"", path));
		}

		rc = StoreMetaGet(txn, STORE_META_FORMAT_VERSION, &format);
		if (rc == MDB_NOTFOUND)
			store_damaged_error(path, "It has no format version.");
		if (rc != 0)
			StoreReportError(ERROR, rc,
							 psprintf("open the neural_dag store at \"%s\"", path));
		if (format != STORE_FORMAT_VERSION)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("neural_dag store at \"%s\" has format version " INT64_FORMAT ", but this server reads version %d",
							path, format, STORE_FORMAT_VERSION),
					 errhint("Restart the server to move it aside and start with an empty store.")));

		rc = StoreMetaGet(txn, STORE_META_SYSTEM_IDENTIFIER, &sysid);
		if (rc == MDB_NOTFOUND)
			store_damaged_error(path, "It has no system identifier.");
		if (rc != 0)
			StoreReportError(ERROR, rc,
							 psprintf("open the neural_dag store at \"%s\"", path));
		if ((uint64) sysid != GetSystemIdentifier())
			store_damaged_error(path,
								psprintf("It belongs to the cluster with system identifier " UINT64_FORMAT ", this is " UINT64_FORMAT ".",
										 (uint64) sysid, GetSystemIdentifier()));
	}
	PG_CATCH();
	{
		mdb_txn_abort(txn);
		PG_RE_THROW();
	}
	PG_END_TRY();

	/* committing a read transaction keeps the DBI handles it opened */
	rc = mdb_txn_commit(txn);
	if (rc != 0)
		StoreReportError(ERROR, rc,
						 psprintf("open the neural_dag store at \"%s\"", path));
}

/*
 * store_init_new
 *		Write function that makes an empty environment a store: every DBI,
 *		meta (format version, generation, id counters, system identifier)
 *		and the built-in arms.
 */
static int
store_init_new(MDB_txn *txn, void *arg)
{
	static const char *const counters[] = {
		"next_pattern_id", "next_traj_id", "next_event_id", "next_snapshot_id"
	};
	int64		format;
	int			rc;

	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		rc = mdb_dbi_open(txn, StoreGetSchema((StoreDbi) i)->name, MDB_CREATE,
						  &store_dbis[i]);
		if (rc != 0)
			return rc;
	}
	rc = StoreMetaGet(txn, STORE_META_FORMAT_VERSION, &format);
	if (rc != MDB_NOTFOUND)
		return rc == 0 ? MDB_KEYEXIST : rc;

	rc = StoreMetaPut(txn, STORE_META_FORMAT_VERSION, STORE_FORMAT_VERSION);
	if (rc == 0)
		rc = StoreMetaPut(txn, STORE_META_SYSTEM_IDENTIFIER,
						  (int64) GetSystemIdentifier());
	if (rc == 0)
		rc = StoreMetaPut(txn, STORE_META_GENERATION, 1);
	for (int i = 0; rc == 0 && i < (int) lengthof(counters); i++)
		rc = StoreMetaPut(txn, counters[i], 1);
	if (rc == 0)
		rc = StoreArmsSeed(txn);
	return rc;
}

/*
 * store_run_private
 *		Open the store environment at path for this process alone, run fn
 *		in one write transaction, sync and close it again.  The server start
 *		does this (in a child of the postmaster) for StoreCreate and
 *		StoreRunWriteAt.
 */
static void
store_run_private(const char *path, StoreWriteFn fn, void *arg, const char *what)
{
	MDB_env    *env = NULL;
	int			rc;

	rc = store_open_env(path, MDB_NOTLS, &env);
	if (rc != 0)
		StoreReportError(ERROR, rc, what);
	store_env = env;
	store_pid = MyProcPid;
	store_path = pstrdup(path);
	store_active_reads = 0;
	store_remember_identity();
	PG_TRY();
	{
		StoreRunWrite(fn, arg, 0, what);
		rc = mdb_env_sync(env, 1);
		if (rc != 0)
			StoreReportError(ERROR, rc, what);
	}
	PG_FINALLY();
	{
		mdb_env_close(env);
		store_env = NULL;
		store_path = NULL;
	}
	PG_END_TRY();
}

/*
 * StoreCreate
 *		Create an empty store in directory path, which must not hold one
 *		yet, and close it again.  Only the server start calls this (in a
 *		child of the postmaster, store_startup.c).
 */
void
StoreCreate(const char *path)
{
	char	   *what = psprintf("create the neural_dag store at \"%s\"", path);

	if (pg_mkdir_p(pstrdup(path), pg_dir_create_mode & S_IRWXU) != 0 &&
		errno != EEXIST)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not create directory \"%s\": %m", path)));
	store_run_private(path, store_init_new, NULL, what);
}

/* argument of store_write_at */
typedef struct StoreWriteAtArg
{
	StoreWriteFn fn;
	void	   *arg;
} StoreWriteAtArg;

/*
 * store_write_at
 *		Write function of StoreRunWriteAt: open every DBI, then run the
 *		caller's function.
 */
static int
store_write_at(MDB_txn *txn, void *arg)
{
	StoreWriteAtArg *a = (StoreWriteAtArg *) arg;

	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		int			rc = mdb_dbi_open(txn, StoreGetSchema((StoreDbi) i)->name,
									  0, &store_dbis[i]);

		if (rc != 0)
			return rc;
	}
	return a->fn(txn, a->arg);
}

/*
 * StoreRunWriteAt
 *		Run fn in a write transaction of the verified store at path, synced
 *		and closed again.  Only the server start calls this (in a child of
 *		the postmaster, which StoreEnsureOpen refuses; as StoreCreate).
 */
void
StoreRunWriteAt(const char *path, StoreWriteFn fn, void *arg, const char *what)
{
	StoreWriteAtArg warg;

	warg.fn = fn;
	warg.arg = arg;
	store_run_private(path, store_write_at, &warg, what);
}

/*
 * store_remember_identity
 *		Note which file this process has open (device and inode of
 *		data.mdb), to notice when the path names another one.
 */
static void
store_remember_identity(void)
{
	struct stat st;
	int			fd;

	if (mdb_env_get_fd(store_env, &fd) != 0 || fstat(fd, &st) != 0)
		elog(ERROR, "could not identify the data file of the neural_dag store: %m");
	store_ident_dev = st.st_dev;
	store_ident_ino = st.st_ino;
	store_switches_seen = StoreSwitchCount();
	store_checked_at = GetCurrentTimestamp();
	store_checked_lxid = MyProc != NULL ? NdagProcLxid(MyProc) : InvalidLocalTransactionId;
}

/*
 * store_path_is_open_store
 *		Whether data.mdb at the store's path is the file this process has
 *		open.
 */
static bool
store_path_is_open_store(void)
{
	struct stat st;
	char	   *datafile = store_data_file(store_path);
	bool		same;

	same = (stat(datafile, &st) == 0 &&
			st.st_dev == store_ident_dev && st.st_ino == store_ident_ino);
	pfree(datafile);
	return same;
}

/*
 * store_check_identity
 *		Whether the open store is still the file at its path: checked when
 *		force is set (before a write), else at the first use in each
 *		transaction and again after a second within a long one.  When the path names
 *		another store because a restore put it there, the environment is
 *		closed quietly and the caller opens the new one.  When the store
 *		was removed or replaced behind the server's back, the environment
 *		is closed and the caller gets an error: this process's writes
 *		would be lost, and its reads would show a state nobody else sees.
 *		Never while this process has a read transaction open.
 */
static void
store_check_identity(bool force)
{
	struct stat st;
	char	   *datafile;
	bool		exists;
	TimestampTz now;
	LocalTransactionId lxid;

	if (store_env == NULL || store_active_reads > 0)
		return;
	lxid = MyProc != NULL ? NdagProcLxid(MyProc) : InvalidLocalTransactionId;
	now = GetCurrentTimestamp();
	if (!force && lxid == store_checked_lxid &&
		!TimestampDifferenceExceeds(store_checked_at, now, STORE_IDENTITY_CHECK_MS))
		return;
	store_checked_lxid = lxid;
	store_checked_at = now;

	datafile = store_data_file(store_path);
	exists = (stat(datafile, &st) == 0);
	pfree(datafile);
	if (exists && st.st_dev == store_ident_dev && st.st_ino == store_ident_ino)
		return;

	/* another file, or none: let go of the old one */
	{
		char	   *path = pstrdup(store_path);
		bool		restored = (StoreSwitchCount() != store_switches_seen);

		StoreClose();
		if (exists && restored)
			return;
		if (!exists)
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_FILE),
					 errmsg("the neural_dag store at \"%s\" was removed while the server was running", path),
					 errdetail("This process had it open; nothing it wrote since is kept."),
					 errhint("Restore a backup with ruvector_dag_restore(), or restart the server to start learning afresh.")));
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("the neural_dag store at \"%s\" was replaced while the server was running", path),
				 errdetail("This process had another store open; it uses the new one from now on."),
				 errhint("Replace the store with ruvector_dag_restore() rather than by hand, or restart the server after replacing it.")));
	}
}

/*
 * store_at_exit
 *		on_proc_exit callback: close the environment this process opened.
 */
static void
store_at_exit(int code, Datum arg)
{
	StoreClose();
}

/*
 * StoreClose
 *		Close the environment if this process opened it.  With read
 *		transactions still open (an exit in the middle of a scan) the handle
 *		is left alone: the process is going away and mdb_reader_check() in
 *		another process reclaims its slots.
 */
void
StoreClose(void)
{
	if (store_env == NULL || store_pid != MyProcPid)
	{
		store_env = NULL;
		return;
	}
	if (store_active_reads == 0)
		mdb_env_close(store_env);
	store_env = NULL;
	store_path = NULL;
	store_active_reads = 0;
}

/*
 * StoreIsOpen
 *		Whether this process has the environment open.
 */
bool
StoreIsOpen(void)
{
	return store_env != NULL && store_pid == MyProcPid;
}

/*
 * StoreGetEnv
 *		The environment of this process, opened if need be.
 */
MDB_env *
StoreGetEnv(void)
{
	StoreEnsureOpen();
	return store_env;
}

/*
 * StoreDbiHandle
 *		The LMDB handle of a DBI (valid once the environment is open).
 */
MDB_dbi
StoreDbiHandle(StoreDbi dbi)
{
	Assert(dbi >= 0 && dbi < STORE_NUM_DBIS);
	return store_dbis[dbi];
}

/*
 * store_adopt_map_size
 *		Another process grew the map: map the file at its new size.  Only
 *		possible while this process has no transaction open.
 */
static void
store_adopt_map_size(void)
{
	int			rc;

	if (store_active_reads > 0)
		StoreReportError(ERROR, MDB_MAP_RESIZED, "read the neural_dag store");
	rc = mdb_env_set_mapsize(store_env, 0);
	if (rc != 0)
		StoreReportError(ERROR, rc, "map the grown neural_dag store");
}

/*
 * store_grow_map
 *		The map is full: double it, or grow it by min_growth if that is more.
 */
static void
store_grow_map(uint64 min_growth)
{
	MDB_envinfo info;
	uint64		newsize;
	int			rc;

	if (store_active_reads > 0)
		ereport(ERROR,
				(errcode(ERRCODE_DISK_FULL),
				 errmsg("the neural_dag store is full"),
				 errdetail("The map cannot grow while this session is reading the store."),
				 errhint("Retry the statement, or raise ruvector.dag_map_size and restart.")));

	mdb_env_info(store_env, &info);
	newsize = Max((uint64) info.me_mapsize * 2,
				  (uint64) info.me_mapsize + min_growth);
	if (newsize > (uint64) SIZE_MAX / 2)
		StoreReportError(ERROR, MDB_MAP_FULL, "grow the neural_dag store");
	rc = mdb_env_set_mapsize(store_env, (size_t) newsize);
	if (rc != 0)
		StoreReportError(ERROR, rc, "grow the neural_dag store");
	ereport(LOG,
			(errmsg("neural_dag store map grown from %zu to " UINT64_FORMAT " bytes",
					info.me_mapsize, newsize)));
}

/*
 * StoreBeginRead
 *		Begin a read-only transaction.  Every one must be ended with
 *		StoreEndRead, on error paths too.
 */
MDB_txn *
StoreBeginRead(void)
{
	MDB_txn    *txn = NULL;
	bool		checked = false;
	int			rc;

	StoreEnsureOpen();
	for (;;)
	{
		rc = mdb_txn_begin(store_env, NULL, MDB_RDONLY, &txn);
		if (rc == 0)
			break;
		if (rc == MDB_MAP_RESIZED)
		{
			store_adopt_map_size();
			continue;
		}
		if (rc == MDB_READERS_FULL && !checked)
		{
			int			dead = 0;

			/* slots of processes that died without releasing them */
			checked = true;
			mdb_reader_check(store_env, &dead);
			if (dead > 0)
				continue;
		}
		StoreReportError(ERROR, rc, "begin a read transaction on the neural_dag store");
	}
	store_active_reads++;
	return txn;
}

/*
 * StoreEndRead
 *		End a transaction begun by StoreBeginRead.
 */
void
StoreEndRead(MDB_txn *txn)
{
	if (txn == NULL)
		return;
	mdb_txn_abort(txn);
	if (store_active_reads > 0)
		store_active_reads--;
}

/* see store.h; store_generation_moved: the current write moved it */
StoreGenerationHook store_generation_hook = NULL;
static bool store_generation_moved = false;

/*
 * store_call_write_fn
 *		Run fn in txn; an error aborts txn before it propagates.
 */
static int
store_call_write_fn(MDB_txn *txn, StoreWriteFn fn, void *arg)
{
	int			rc = 0;

	PG_TRY();
	{
		rc = fn(txn, arg);
	}
	PG_CATCH();
	{
		mdb_txn_abort(txn);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return rc;
}

/*
 * StoreRunWrite
 *		Run fn in a write transaction and commit it.  On MDB_MAP_FULL the
 *		transaction is aborted, the map grown (by at least min_growth bytes)
 *		and fn run again from the start; on MDB_MAP_RESIZED at begin the
 *		map is adopted and the begin retried.  Any other failure is an
 *		error; "what" names the operation in the message.
 */
void
StoreRunWrite(StoreWriteFn fn, void *arg, uint64 min_growth, const char *what)
{
	int			growths = 0;

	StoreEnsureOpen();
	for (;;)
	{
		MDB_txn    *txn = NULL;
		int			rc;

		rc = mdb_txn_begin(store_env, NULL, 0, &txn);
		if (rc == MDB_MAP_RESIZED)
		{
			store_adopt_map_size();
			continue;
		}
		if (rc != 0)
			StoreReportError(ERROR, rc, what);

		/* holding the writer lock: is the path still the store written? */
		if (store_active_reads == 0 && !store_path_is_open_store())
		{
			mdb_txn_abort(txn);
			store_check_identity(true);
			StoreEnsureOpen();
			continue;
		}

		store_generation_moved = false;
		rc = store_call_write_fn(txn, fn, arg);
		if (rc == 0)
			rc = mdb_txn_commit(txn);	/* frees txn, also on failure */
		else
			mdb_txn_abort(txn);
		if (rc == 0)
		{
			if (store_generation_moved && store_generation_hook != NULL)
				store_generation_hook();
			store_generation_moved = false;
			return;
		}
		if (rc == MDB_MAP_FULL && growths < STORE_MAX_GROWTHS)
		{
			growths++;
			store_grow_map(min_growth);
			continue;
		}
		StoreReportError(ERROR, rc, what);
	}
}

/*
 * StoreMetaGet
 *		Read the meta counter name: 0, or MDB_NOTFOUND, or an LMDB code.
 */
int
StoreMetaGet(MDB_txn *txn, const char *name, int64 *value)
{
	const StoreSchema *schema = StoreGetSchema(STORE_DBI_META);
	StoreValue	values[2];
	MDB_val		key;
	MDB_val		data;
	int			rc;

	key.mv_data = (void *) name;
	key.mv_size = strlen(name);
	rc = mdb_get(txn, store_dbis[STORE_DBI_META], &key, &data);
	if (rc != 0)
		return rc;
	StoreRecordDecode(schema, data.mv_data, data.mv_size, values);
	if (values[1].isnull)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupted record in neural_dag store \"%s\"", schema->name),
				 errdetail("Counter \"%s\" is null.", name)));
	*value = values[1].v.i8;
	return 0;
}

/*
 * StoreMetaPut
 *		Write the meta counter name.
 */
int
StoreMetaPut(MDB_txn *txn, const char *name, int64 value)
{
	StoreValue	values[2];

	memset(values, 0, sizeof(values));
	values[0].data = name;
	values[0].len = strlen(name);
	values[1].v.i8 = value;
	return StorePutRecord(txn, STORE_DBI_META, values);
}

/*
 * StorePutRecord
 *		Encode a record and put it under its key.
 */
int
StorePutRecord(MDB_txn *txn, StoreDbi dbi, const StoreValue *values)
{
	return StorePutRecordInto(txn, store_dbis[dbi], dbi, values);
}

/*
 * StorePutRecordInto
 *		Encode a record of DBI dbi's schema and put it under its key into
 *		the handle `handle` (of this environment or of another one, such as
 *		a restore's staging copy).
 */
int
StorePutRecordInto(MDB_txn *txn, MDB_dbi handle, StoreDbi dbi,
				   const StoreValue *values)
{
	const StoreSchema *schema = StoreGetSchema(dbi);
	StringInfoData keybuf;
	StringInfoData valbuf;
	MDB_val		key;
	MDB_val		data;
	int			rc;

	initStringInfo(&keybuf);
	initStringInfo(&valbuf);
	StoreKeyEncode(schema, values, &keybuf);
	StoreRecordEncode(schema, values, &valbuf);
	key.mv_data = keybuf.data;
	key.mv_size = keybuf.len;
	data.mv_data = valbuf.data;
	data.mv_size = valbuf.len;
	rc = mdb_put(txn, handle, &key, &data, 0);
	pfree(keybuf.data);
	pfree(valbuf.data);
	return rc;
}

/* argument of store_next_id */
typedef struct StoreNextIdArg
{
	const char *counter;
	int64		value;
} StoreNextIdArg;

/*
 * store_next_id
 *		Write function of StoreNextId: hand out the counter, store it + 1
 *		and WAL-log the new value (redo keeps the larger value, so that a
 *		promoted standby never hands the id out again).
 */
static int
store_next_id(MDB_txn *txn, void *arg)
{
	StoreNextIdArg *a = (StoreNextIdArg *) arg;
	int			rc;

	rc = StoreMetaGet(txn, a->counter, &a->value);
	if (rc == MDB_NOTFOUND)
	{
		a->value = 1;
		rc = 0;
	}
	if (rc != 0)
		return rc;
	if (a->value == PG_INT64_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_SEQUENCE_GENERATOR_LIMIT_EXCEEDED),
				 errmsg("neural_dag counter \"%s\" reached its maximum", a->counter)));
	rc = StoreMetaPut(txn, a->counter, a->value + 1);
	if (rc == 0)
		rc = StoreWalLogOps(txn, list_make1(StoreMetaPutOp(a->counter, a->value + 1)),
							false);
	return rc;
}

/*
 * StoreNextId
 *		The next value of a meta id counter (a missing counter starts at 1),
 *		committed at once: like nextval(), a rolled-back caller leaves a gap.
 */
int64
StoreNextId(const char *counter)
{
	StoreNextIdArg arg;

	arg.counter = counter;
	arg.value = 0;
	StoreRunWrite(store_next_id, &arg, 0, "advance a neural_dag id counter");
	return arg.value;
}

/*
 * StoreGeneration
 *		The current generation: bumped whenever the learned state changes,
 *		so that processes caching it know when to reload.
 */
uint64
StoreGeneration(void)
{
	MDB_txn    *volatile txn = StoreBeginRead();
	int64		value = 0;
	int			rc;

	PG_TRY();
	{
		rc = StoreMetaGet(txn, STORE_META_GENERATION, &value);
		if (rc != 0 && rc != MDB_NOTFOUND)
			StoreReportError(ERROR, rc, "read the neural_dag store's generation");
	}
	PG_FINALLY();
	{
		StoreEndRead(txn);
	}
	PG_END_TRY();
	return (uint64) value;
}

/*
 * StoreNoteGenerationMoved
 *		The write transaction in progress changes the generation: call
 *		store_generation_hook once it commits.
 */
void
StoreNoteGenerationMoved(void)
{
	store_generation_moved = true;
}

/* argument of store_bump_generation */
typedef struct StoreBumpArg
{
	int64		value;
} StoreBumpArg;

/*
 * StoreBumpGenerationInTxn
 *		Increment meta "generation" inside a write transaction.
 */
int
StoreBumpGenerationInTxn(MDB_txn *txn, int64 *newvalue)
{
	int64		value = 0;
	int			rc;

	rc = StoreMetaGet(txn, STORE_META_GENERATION, &value);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	value++;
	if (newvalue)
		*newvalue = value;
	StoreNoteGenerationMoved();
	return StoreMetaPut(txn, STORE_META_GENERATION, value);
}

/*
 * store_bump_generation
 *		Write function of StoreBumpGeneration.
 */
static int
store_bump_generation(MDB_txn *txn, void *arg)
{
	return StoreBumpGenerationInTxn(txn, &((StoreBumpArg *) arg)->value);
}

/*
 * StoreBumpGeneration
 *		Increment the generation at once; returns the new value.
 */
uint64
StoreBumpGeneration(void)
{
	StoreBumpArg arg;

	arg.value = 0;
	StoreRunWrite(store_bump_generation, &arg, 0,
				  "advance the neural_dag store's generation");
	return (uint64) arg.value;
}

/*
 * StoreReadersClearedAtOpen
 *		How many stale reader slots the open of the environment in this
 *		process cleared.
 */
int
StoreReadersClearedAtOpen(void)
{
	StoreEnsureOpen();
	return store_cleared_at_open;
}

/*
 * StoreReaderCheck
 *		Clear the reader slots of dead processes; returns how many.
 */
int
StoreReaderCheck(void)
{
	int			dead = 0;
	int			rc;

	StoreEnsureOpen();
	rc = mdb_reader_check(store_env, &dead);
	if (rc != 0)
		StoreReportError(ERROR, rc, "check the neural_dag store's readers");
	return dead;
}

/*
 * store_count_reader
 *		mdb_reader_list callback: count the lines that describe a slot.
 */
static int
store_count_reader(const char *msg, void *ctx)
{
	/* slot lines start with the pid; the header and "(no ...)" do not */
	while (*msg == ' ')
		msg++;
	if (*msg >= '0' && *msg <= '9')
		(*(int *) ctx)++;
	return 0;
}

/*
 * StoreGetEnvInfo
 *		Sizes, reader slots, entries per DBI and the generation.
 */
void
StoreGetEnvInfo(StoreEnvInfo *info)
{
	MDB_envinfo envinfo;
	MDB_stat	envstat;
	MDB_txn    *volatile txn;
	int			readers = 0;

	StoreEnsureOpen();
	memset(info, 0, sizeof(StoreEnvInfo));
	info->path = store_path;

	mdb_env_info(store_env, &envinfo);
	mdb_env_stat(store_env, &envstat);
	info->map_size = envinfo.me_mapsize;
	info->used_bytes = ((uint64) envinfo.me_last_pgno + 1) * envstat.ms_psize;
	info->max_readers = (int) envinfo.me_maxreaders;
	mdb_reader_list(store_env, store_count_reader, &readers);
	info->readers_used = readers;

	txn = StoreBeginRead();
	PG_TRY();
	{
		int64		generation = 0;
		int			rc;

		for (int i = 0; i < STORE_NUM_DBIS; i++)
		{
			MDB_stat	st;

			rc = mdb_stat(txn, store_dbis[i], &st);
			if (rc != 0)
				StoreReportError(ERROR, rc, "read the neural_dag store's statistics");
			info->entries[i] = st.ms_entries;
		}
		rc = StoreMetaGet(txn, STORE_META_GENERATION, &generation);
		if (rc != 0 && rc != MDB_NOTFOUND)
			StoreReportError(ERROR, rc, "read the neural_dag store's generation");
		info->generation = (uint64) generation;
	}
	PG_FINALLY();
	{
		StoreEndRead(txn);
	}
	PG_END_TRY();
}

/*
 * StorePageSize
 *		The page size of the environment.
 */
uint32
StorePageSize(void)
{
	MDB_stat	st;

	StoreEnsureOpen();
	mdb_env_stat(store_env, &st);
	return st.ms_psize;
}

/*
 * StoreActiveReads
 *		Read transactions this process has open.
 */
int
StoreActiveReads(void)
{
	return store_active_reads;
}
