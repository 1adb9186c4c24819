/*-------------------------------------------------------------------------
 *
 * store_verify.c
 *	  A full verification walk of an environment (the live store or a
 *	  backup file), and running it in a child process.
 *
 * LMDB pages carry no checksums: a damaged page can make mdb_cursor_get
 * read outside the map and fault.  So a store is walked before anyone
 * reads it, in a forked child whose crash is itself the verdict
 * "damaged": at server start and after every crash restart
 * (store_startup.c), and before a restore reads a backup
 * (store_backup.c).  The walk checks what the page structure and the
 * records can show: the data file holds every page the meta page claims,
 * every named DBI opens, meta has our format version (and this cluster's
 * system identifier, when asked), every record of every DBI decodes with
 * a matching checksum under the key its fields encode to, keys come in
 * strictly increasing order, each DBI holds as many records as its header
 * says, the free list names only pages of the file, and no page is
 * accounted for twice (in a tree, in the free list or as a meta page);
 * the intents of committing transactions (store_intent.c) keep their
 * key order and checksums.
 *
 * The walk opens the environment read-only without the lock file
 * (MDB_NOLOCK): at the times it runs, no other process has it open.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/file_perm.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "compat/compat_backend.h"
#include "store_int.h"

/* LMDB's two meta pages, the free-list and main DBI handles */
#define STORE_NUM_METAS		2
#define STORE_FREE_DBI		0
#define STORE_MAIN_DBI		1

/* the verdict a child sends: one status byte, then the text of why */
#define STORE_CHILD_MSG_MAX	1024

static StoreVerifyStatus store_verify_fail(StoreVerifyStatus status, char **why,
										   const char *fmt,...) pg_attribute_printf(3, 4);

/*
 * store_verify_fail
 *		Set *why and return status.
 */
static StoreVerifyStatus
store_verify_fail(StoreVerifyStatus status, char **why, const char *fmt,...)
{
	va_list		ap;
	char		buf[STORE_CHILD_MSG_MAX];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	*why = pstrdup(buf);
	return status;
}

/*
 * store_key_less
 *		LMDB's default key order: memcmp, then the shorter key first.
 */
static bool
store_key_less(const MDB_val *a, const MDB_val *b)
{
	int			c = memcmp(a->mv_data, b->mv_data, Min(a->mv_size, b->mv_size));

	return c < 0 || (c == 0 && a->mv_size < b->mv_size);
}

/*
 * store_walk_dbi
 *		Walk one of our DBIs: order, decoding, keys, record count.
 */
static StoreVerifyStatus
store_walk_dbi(MDB_txn *txn, MDB_dbi dbi, const StoreSchema *schema,
			   char **why)
{
	StoreValue *values = palloc(sizeof(StoreValue) * schema->nfields);
	StringInfoData keybuf;
	StringInfoData prev;
	MDB_cursor *cursor;
	MDB_stat	st;
	MDB_val		key;
	MDB_val		data;
	uint64		n = 0;
	int			rc;

	rc = mdb_stat(txn, dbi, &st);
	if (rc == 0)
		rc = mdb_cursor_open(txn, dbi, &cursor);
	if (rc != 0)
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "Store \"%s\" cannot be read: %s.",
								 schema->name, mdb_strerror(rc));
	initStringInfo(&keybuf);
	initStringInfo(&prev);
	while ((rc = mdb_cursor_get(cursor, &key, &data,
								n == 0 ? MDB_FIRST : MDB_NEXT)) == 0)
	{
		const char *reason = NULL;
		MDB_val		last;

		n++;
		if (n > st.ms_entries)
		{
			mdb_cursor_close(cursor);
			return store_verify_fail(STORE_VERIFY_DAMAGED, why,
									 "Store \"%s\" yields more records than the " UINT64_FORMAT " it holds.",
									 schema->name, (uint64) st.ms_entries);
		}
		last.mv_data = prev.data;
		last.mv_size = prev.len;
		if (n > 1 && !store_key_less(&last, &key))
		{
			mdb_cursor_close(cursor);
			return store_verify_fail(STORE_VERIFY_DAMAGED, why,
									 "Record " UINT64_FORMAT " of store \"%s\" is out of key order.",
									 n, schema->name);
		}
		if (!StoreRecordTryDecode(schema, data.mv_data, data.mv_size,
								  values, &reason))
		{
			mdb_cursor_close(cursor);
			return store_verify_fail(STORE_VERIFY_DAMAGED, why,
									 "Record " UINT64_FORMAT " of store \"%s\" cannot be decoded: %s.",
									 n, schema->name, reason);
		}
		resetStringInfo(&keybuf);
		StoreKeyEncode(schema, values, &keybuf);
		if (keybuf.len != (int) key.mv_size ||
			memcmp(keybuf.data, key.mv_data, key.mv_size) != 0)
		{
			mdb_cursor_close(cursor);
			return store_verify_fail(STORE_VERIFY_DAMAGED, why,
									 "Record " UINT64_FORMAT " of store \"%s\" is stored under the wrong key.",
									 n, schema->name);
		}
		resetStringInfo(&prev);
		appendBinaryStringInfo(&prev, key.mv_data, key.mv_size);
	}
	mdb_cursor_close(cursor);
	if (rc != MDB_NOTFOUND)
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "Store \"%s\" cannot be read after record " UINT64_FORMAT ": %s.",
								 schema->name, n, mdb_strerror(rc));
	if (n != st.ms_entries)
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "Store \"%s\" yields " UINT64_FORMAT " records but holds " UINT64_FORMAT ".",
								 schema->name, n, (uint64) st.ms_entries);
	pfree(values);
	pfree(keybuf.data);
	pfree(prev.data);
	return STORE_VERIFY_OK;
}

/*
 * store_walk_intents
 *		Walk the intents DBI, when there is one: 8-byte keys (full xids) in
 *		increasing order, every record an intent whose checksum matches.
 */
static StoreVerifyStatus
store_walk_intents(MDB_txn *txn, char **why)
{
	MDB_cursor *cursor;
	MDB_dbi		dbi;
	MDB_val		key;
	MDB_val		data;
	MDB_val		prev = {0, NULL};
	const char *reason = NULL;
	int			rc;

	rc = mdb_dbi_open(txn, STORE_INTENT_DBI_NAME, 0, &dbi);
	if (rc == MDB_NOTFOUND)
		return STORE_VERIFY_OK;
	if (rc == 0)
		rc = mdb_cursor_open(txn, dbi, &cursor);
	if (rc != 0)
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "Store \"%s\" cannot be read: %s.",
								 STORE_INTENT_DBI_NAME, mdb_strerror(rc));
	while ((rc = mdb_cursor_get(cursor, &key, &data,
								prev.mv_data == NULL ? MDB_FIRST : MDB_NEXT)) == 0)
	{
		if (key.mv_size != sizeof(uint64) ||
			(prev.mv_data != NULL && !store_key_less(&prev, &key)) ||
			!StoreIntentRecordValid(data.mv_data, data.mv_size, &reason))
		{
			mdb_cursor_close(cursor);
			return store_verify_fail(STORE_VERIFY_DAMAGED, why,
									 "A record of store \"%s\" is damaged: %s.",
									 STORE_INTENT_DBI_NAME,
									 reason != NULL ? reason : "its key is out of order or malformed");
		}
		prev = key;
	}
	mdb_cursor_close(cursor);
	if (rc != MDB_NOTFOUND)
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "Store \"%s\" cannot be read: %s.",
								 STORE_INTENT_DBI_NAME, mdb_strerror(rc));
	return STORE_VERIFY_OK;
}

/*
 * store_tree_pages
 *		Pages of one B-tree (branch, leaf, overflow).
 */
static uint64
store_tree_pages(const MDB_stat *st)
{
	return (uint64) st->ms_branch_pages + st->ms_leaf_pages +
		st->ms_overflow_pages;
}

/*
 * store_walk_pages
 *		The free list names pages of the file only, and the pages of every
 *		tree, of the free list and the meta pages add up to no more than
 *		the file's pages: a page referenced twice breaks the sum.
 */
static StoreVerifyStatus
store_walk_pages(MDB_txn *txn, uint64 last_pgno, char **why)
{
	MDB_cursor *cursor;
	MDB_stat	st;
	MDB_val		key;
	MDB_val		data;
	uint64		used = STORE_NUM_METAS;
	uint64		free_pages = 0;
	bool		first = true;
	int			rc;

	/* the free list: txnid -> (count, pgno...) */
	rc = mdb_stat(txn, STORE_FREE_DBI, &st);
	if (rc == 0)
		rc = mdb_cursor_open(txn, STORE_FREE_DBI, &cursor);
	if (rc != 0)
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "The free list cannot be read: %s.", mdb_strerror(rc));
	used += store_tree_pages(&st);
	while ((rc = mdb_cursor_get(cursor, &key, &data,
								first ? MDB_FIRST : MDB_NEXT)) == 0)
	{
		const char *p = data.mv_data;
		size_t		count;

		first = false;
		if (data.mv_size < sizeof(size_t))
			break;
		memcpy(&count, p, sizeof(size_t));
		if (count > data.mv_size / sizeof(size_t) - 1)
			break;
		for (size_t i = 1; i <= count; i++)
		{
			size_t		pgno;

			memcpy(&pgno, p + i * sizeof(size_t), sizeof(size_t));
			if (pgno < STORE_NUM_METAS || pgno > last_pgno)
			{
				mdb_cursor_close(cursor);
				return store_verify_fail(STORE_VERIFY_DAMAGED, why,
										 "The free list names page %zu of a file of " UINT64_FORMAT " pages.",
										 pgno, last_pgno + 1);
			}
		}
		free_pages += count;
	}
	mdb_cursor_close(cursor);
	if (rc == 0)
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "A free-list record is malformed.");
	if (rc != MDB_NOTFOUND)
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "The free list cannot be read: %s.", mdb_strerror(rc));

	/* the main DBI and every named DBI it lists */
	rc = mdb_stat(txn, STORE_MAIN_DBI, &st);
	if (rc == 0)
		rc = mdb_cursor_open(txn, STORE_MAIN_DBI, &cursor);
	if (rc != 0)
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "The list of stores cannot be read: %s.", mdb_strerror(rc));
	used += store_tree_pages(&st);
	first = true;
	while ((rc = mdb_cursor_get(cursor, &key, &data,
								first ? MDB_FIRST : MDB_NEXT)) == 0)
	{
		char	   *name = pnstrdup(key.mv_data, key.mv_size);
		MDB_dbi		dbi;
		int			orc;

		first = false;
		orc = mdb_dbi_open(txn, name, 0, &dbi);
		if (orc == 0)
			orc = mdb_stat(txn, dbi, &st);
		if (orc != 0)
		{
			mdb_cursor_close(cursor);
			return store_verify_fail(STORE_VERIFY_DAMAGED, why,
									 "Store \"%s\" cannot be opened: %s.",
									 name, mdb_strerror(orc));
		}
		used += store_tree_pages(&st);
		pfree(name);
	}
	mdb_cursor_close(cursor);
	if (rc != MDB_NOTFOUND)
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "The list of stores cannot be read: %s.", mdb_strerror(rc));

	/* fewer is a leak, harmless; more means a page is used twice */
	if (used + free_pages > last_pgno + 1)
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "Its trees and free list account for " UINT64_FORMAT " pages, the file has " UINT64_FORMAT ".",
								 used + free_pages, last_pgno + 1);
	return STORE_VERIFY_OK;
}

/*
 * store_verify_txn
 *		The checks that need a read transaction.
 */
static StoreVerifyStatus
store_verify_txn(MDB_txn *txn, uint64 last_pgno, uint64 sysid, char **why)
{
	MDB_dbi		dbis[STORE_NUM_DBIS];
	bool		present[STORE_NUM_DBIS];
	const StoreSchema *meta = StoreGetSchema(STORE_DBI_META);
	StoreValue	values[2];
	const char *reason = NULL;
	MDB_val		key;
	MDB_val		data;
	StoreVerifyStatus status;
	int			rc;

	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		const char *name = StoreGetSchema((StoreDbi) i)->name;

		present[i] = true;
		rc = mdb_dbi_open(txn, name, 0, &dbis[i]);
		if ((rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) && i != STORE_DBI_META)
		{
			/* allowed if added after the store's format: checked below */
			present[i] = false;
			continue;
		}
		if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
			return store_verify_fail(STORE_VERIFY_NOT_STORE, why,
									 "The environment has no store \"%s\".", name);
		if (rc != 0)
			return store_verify_fail(STORE_VERIFY_DAMAGED, why,
									 "Store \"%s\" cannot be opened: %s.",
									 name, mdb_strerror(rc));
	}

	key.mv_data = (void *) STORE_META_FORMAT_VERSION;
	key.mv_size = strlen(STORE_META_FORMAT_VERSION);
	rc = mdb_get(txn, dbis[STORE_DBI_META], &key, &data);
	if (rc == MDB_NOTFOUND)
		return store_verify_fail(STORE_VERIFY_NOT_STORE, why,
								 "The environment has no format version.");
	if (rc != 0)
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "Its format version cannot be read: %s.", mdb_strerror(rc));
	/* a record of another format version does not decode: say which */
	if (data.mv_size >= sizeof(uint16))
	{
		uint16		version;

		memcpy(&version, data.mv_data, sizeof(version));
		if (version < meta->oldest_version || version > meta->version)
			return store_verify_fail(STORE_VERIFY_FORMAT, why,
									 "Its records have version %u; this server reads versions %u to %u.",
									 version, meta->oldest_version, meta->version);
	}
	if (!StoreRecordTryDecode(meta, data.mv_data, data.mv_size, values, &reason))
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "Its format version cannot be decoded: %s.", reason);
	if (values[1].isnull || values[1].v.i8 < STORE_FORMAT_OLDEST ||
		values[1].v.i8 > STORE_FORMAT_VERSION)
		return store_verify_fail(STORE_VERIFY_FORMAT, why,
								 "It has format version " INT64_FORMAT "; this server reads versions %d to %d.",
								 values[1].isnull ? (int64) -1 : values[1].v.i8,
								 STORE_FORMAT_OLDEST, STORE_FORMAT_VERSION);
	/* a store of an older format lacks only the DBIs added since */
	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		if (!present[i] &&
			StoreGetSchema((StoreDbi) i)->since_format <= values[1].v.i8)
			return store_verify_fail(STORE_VERIFY_NOT_STORE, why,
									 "The environment has no store \"%s\".",
									 StoreGetSchema((StoreDbi) i)->name);
	}

	if (sysid != 0)
	{
		key.mv_data = (void *) STORE_META_SYSTEM_IDENTIFIER;
		key.mv_size = strlen(STORE_META_SYSTEM_IDENTIFIER);
		rc = mdb_get(txn, dbis[STORE_DBI_META], &key, &data);
		if (rc != 0 && rc != MDB_NOTFOUND)
			return store_verify_fail(STORE_VERIFY_DAMAGED, why,
									 "Its system identifier cannot be read: %s.", mdb_strerror(rc));
		if (rc == MDB_NOTFOUND)
			return store_verify_fail(STORE_VERIFY_FOREIGN, why,
									 "It has no system identifier.");
		if (!StoreRecordTryDecode(meta, data.mv_data, data.mv_size, values, &reason))
			return store_verify_fail(STORE_VERIFY_DAMAGED, why,
									 "Its system identifier cannot be decoded: %s.", reason);
		if (values[1].isnull || (uint64) values[1].v.i8 != sysid)
			return store_verify_fail(STORE_VERIFY_FOREIGN, why,
									 "It belongs to the cluster with system identifier " UINT64_FORMAT "; this cluster's is " UINT64_FORMAT ".",
									 values[1].isnull ? 0 : (uint64) values[1].v.i8, sysid);
	}

	for (int i = 0; i < STORE_NUM_DBIS; i++)
	{
		if (!present[i])
			continue;
		status = store_walk_dbi(txn, dbis[i], StoreGetSchema((StoreDbi) i), why);
		if (status != STORE_VERIFY_OK)
			return status;
	}
	status = store_walk_intents(txn, why);
	if (status != STORE_VERIFY_OK)
		return status;
	return store_walk_pages(txn, last_pgno, why);
}

/*
 * StoreVerify
 *		Walk the environment at path (a directory, or with is_file a
 *		backup file) in this process.  sysid: the system identifier it
 *		must carry, or 0 for any.  Returns a status, with *why saying what
 *		is wrong.  A damaged environment may crash the caller: run it
 *		through StoreVerifyInChild.
 */
StoreVerifyStatus
StoreVerify(const char *path, bool is_file, uint64 sysid, char **why)
{
	char	   *datafile = is_file ? pstrdup(path) : psprintf("%s/data.mdb", path);
	MDB_env    *env = NULL;
	MDB_txn    *txn = NULL;
	MDB_envinfo info;
	MDB_stat	envstat;
	StoreVerifyStatus status;
	struct stat st;
	int			rc;

	*why = NULL;
	if (stat(datafile, &st) != 0)
	{
		if (errno == ENOENT)
			return store_verify_fail(STORE_VERIFY_MISSING, why,
									 "File \"%s\" does not exist.", datafile);
		return store_verify_fail(STORE_VERIFY_UNAVAILABLE, why,
								 "File \"%s\" cannot be examined: %s.",
								 datafile, strerror(errno));
	}
	if (!S_ISREG(st.st_mode))
		return store_verify_fail(STORE_VERIFY_NOT_LMDB, why,
								 "It is not a regular file.");
	if (st.st_size == 0)
		return store_verify_fail(STORE_VERIFY_NOT_LMDB, why, "The file is empty.");
	if (access(datafile, R_OK) != 0)
		return store_verify_fail(STORE_VERIFY_UNAVAILABLE, why,
								 "File \"%s\" cannot be read: %s.",
								 datafile, strerror(errno));

	rc = mdb_env_create(&env);
	if (rc == 0)
		rc = mdb_env_set_maxdbs(env, STORE_NUM_DBIS + STORE_SPARE_DBIS);
	/* map what the file holds, not what a damaged meta page may claim */
	if (rc == 0)
		rc = mdb_env_set_mapsize(env, (size_t) st.st_size);
	if (rc == 0)
		rc = mdb_env_open(env, path,
						  MDB_RDONLY | MDB_NOLOCK | (is_file ? MDB_NOSUBDIR : 0),
						  pg_file_create_mode);
	if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
		status = store_verify_fail(STORE_VERIFY_NOT_LMDB, why,
								   "It is not an LMDB environment: %s.", mdb_strerror(rc));
	else if (rc == EACCES || rc == EPERM)
		status = store_verify_fail(STORE_VERIFY_UNAVAILABLE, why,
								   "It cannot be opened: %s.", mdb_strerror(rc));
	else if (rc != 0)
		status = store_verify_fail(STORE_VERIFY_DAMAGED, why,
								   "It cannot be opened: %s.", mdb_strerror(rc));
	else
	{
		uint64		needed;

		/* before touching any data page: a truncated file would fault */
		mdb_env_info(env, &info);
		mdb_env_stat(env, &envstat);
		needed = ((uint64) info.me_last_pgno + 1) * envstat.ms_psize;
		if (needed > (uint64) st.st_size)
			status = store_verify_fail(STORE_VERIFY_DAMAGED, why,
									   "The file is truncated: its pages need " UINT64_FORMAT " bytes, it has %lld.",
									   needed, (long long) st.st_size);
		else if ((rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn)) != 0)
			status = store_verify_fail(STORE_VERIFY_DAMAGED, why,
									   "It cannot be read: %s.", mdb_strerror(rc));
		else
		{
			status = store_verify_txn(txn, (uint64) info.me_last_pgno, sysid, why);
			mdb_txn_abort(txn);
		}
	}
	if (env != NULL)
		mdb_env_close(env);
	return status;
}

/*
 * store_child_main
 *		The child's side of StoreRunInChild: run fn and send its verdict
 *		through fd, then exit without running any exit callback of the
 *		parent (whose shared memory, sockets and locks are not ours).
 */
pg_noreturn static void store_child_main(StoreChildFn fn, void *arg, int fd);

static void
store_child_main(StoreChildFn fn, void *arg, int fd)
{
	char		msg[STORE_CHILD_MSG_MAX + 1];
	int			status;
	char	   *why = NULL;

	on_exit_reset();
	whereToSendOutput = DestNone;
	MyProcPid = getpid();
	for (int sig = 1; sig < NSIG; sig++)
	{
		if (sig != SIGKILL && sig != SIGSTOP)
			signal(sig, SIG_DFL);
	}
	{
		sigset_t	none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
	}

	PG_TRY();
	{
		status = fn(arg, &why);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(TopMemoryContext);
		edata = CopyErrorData();
		status = STORE_VERIFY_UNAVAILABLE;
		why = edata->message;
	}
	PG_END_TRY();

	msg[0] = (char) status;
	strlcpy(msg + 1, why ? why : "", sizeof(msg) - 1);
	if (write(fd, msg, strlen(msg + 1) + 1) < 0)
		_exit(2);
	_exit(0);
}

/*
 * store_fault_signal
 *		Whether a child killed by sig faulted itself (what reading a damaged
 *		page does), rather than being killed from outside (the OOM killer).
 */
static bool
store_fault_signal(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGABRT ||
		sig == SIGFPE || sig == SIGILL;
}

/*
 * StoreRunInChild
 *		Run fn(arg) in a forked child and return its status and *why, or
 *		STORE_VERIFY_DAMAGED if the child faulted or did not finish within
 *		timeout_s seconds (then it is killed).  From a backend, a query
 *		cancel kills the child and is honoured; in the postmaster nothing
 *		here raises an error.
 */
StoreVerifyStatus
StoreRunInChild(StoreChildFn fn, void *arg, int timeout_s, char **why)
{
	int			fds[2];
	pid_t		pid;
	char		msg[STORE_CHILD_MSG_MAX + 2];
	volatile size_t got = 0;
	volatile bool timed_out = false;
	int			wstatus = 0;
	TimestampTz deadline;
	bool		in_postmaster = !IsUnderPostmaster;

	*why = NULL;
	if (pipe(fds) != 0)
		return store_verify_fail(STORE_VERIFY_UNAVAILABLE, why,
								 "Could not create a pipe: %s.", strerror(errno));
	fflush(NULL);
	pid = fork();
	if (pid < 0)
	{
		close(fds[0]);
		close(fds[1]);
		return store_verify_fail(STORE_VERIFY_UNAVAILABLE, why,
								 "Could not fork: %s.", strerror(errno));
	}
	if (pid == 0)
	{
		close(fds[0]);
		store_child_main(fn, arg, fds[1]);
	}
	close(fds[1]);

	deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
										   (int64) timeout_s * 1000);
	PG_TRY();
	{
		for (;;)
		{
			struct pollfd pfd;
			long		wait_ms;
			ssize_t		n;
			int			rc;

			if (!in_postmaster)
				CHECK_FOR_INTERRUPTS();
			wait_ms = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), deadline);
			if (wait_ms <= 0)
			{
				timed_out = true;
				break;
			}
			pfd.fd = fds[0];
			pfd.events = POLLIN;
			pfd.revents = 0;
			rc = poll(&pfd, 1, (int) Min(wait_ms, 100));
			if (rc < 0 && errno != EINTR)
				break;
			if (rc <= 0)
				continue;
			n = read(fds[0], msg + got, sizeof(msg) - 1 - got);
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;			/* end of file: the child is done */
			got += n;
			if (got >= sizeof(msg) - 1)
				break;
		}
	}
	PG_CATCH();
	{
		kill(pid, SIGKILL);
		while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
			;
		close(fds[0]);
		PG_RE_THROW();
	}
	PG_END_TRY();
	close(fds[0]);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR)
		;

	if (timed_out)
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "The check did not finish within %d seconds.", timeout_s);
	if (WIFSIGNALED(wstatus) && store_fault_signal(WTERMSIG(wstatus)))
		return store_verify_fail(STORE_VERIFY_DAMAGED, why,
								 "Reading it crashed the checking process (signal %d: %s).",
								 WTERMSIG(wstatus), pg_strsignal(WTERMSIG(wstatus)));
	if (WIFSIGNALED(wstatus))
		return store_verify_fail(STORE_VERIFY_UNAVAILABLE, why,
								 "The checking process was killed (signal %d: %s).",
								 WTERMSIG(wstatus), pg_strsignal(WTERMSIG(wstatus)));
	if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0 || got == 0)
		return store_verify_fail(STORE_VERIFY_UNAVAILABLE, why,
								 "The checking process failed (exit status %d).",
								 WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
	msg[got] = '\0';
	*why = pstrdup(msg + 1);
	return (StoreVerifyStatus) msg[0];
}

/*
 * StoreVerifyTimeout
 *		Seconds a walk of a file of `bytes` may take: a minute, plus ten
 *		seconds per GB.
 */
int
StoreVerifyTimeout(uint64 bytes)
{
	return 60 + (int) (bytes / (UINT64CONST(1024) * 1024 * 1024)) * 10;
}
