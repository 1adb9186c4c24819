/*-------------------------------------------------------------------------
 *
 * store_startup.c
 *	  The store at server start and after every crash restart: verified
 *	  before any process reads it, moved aside (quarantined) when it is
 *	  damaged, torn, of another format or of another cluster, and created
 *	  when there is none; then whether it may decide plans (store_trust.c).
 *	  Also the shared counters of store switches and opens.
 *
 * The postmaster runs StoreStartupCheck from its shared-memory start-up
 * hook, so it runs before the first start of any backend or worker and
 * again on every reinitialisation after a crash.  The postmaster itself
 * never opens the environment: the walk and the creation run in forked
 * children (store_verify.c); the postmaster only renames a directory.  A
 * check that crashes its child has found the damage that would have
 * crashed a backend.
 *
 * Nothing else creates a store: a process that finds the directory gone
 * reports it (store_env.c) rather than starting a store of its own.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access/xlog.h"
#include "port/atomics.h"
#include "storage/fd.h"
#include "storage/shmem.h"

#include "store_int.h"

/* shared state of the store layer */
typedef struct StoreShared
{
	pg_atomic_uint64 switches;	/* stores put in place by a restore */
	pg_atomic_uint64 opens;		/* environments opened by processes */
} StoreShared;

static StoreShared *store_shared = NULL;

/* what a check in a child works on */
typedef struct StoreStartupArg
{
	const char *path;
	uint64		sysid;
} StoreStartupArg;

/*
 * StoreShmemSize
 *		Shared memory the store layer needs.
 */
Size
StoreShmemSize(void)
{
	return add_size(MAXALIGN(sizeof(StoreShared)), StoreTrustShmemSize());
}

/*
 * StoreShmemInit
 *		Create or attach the shared state (caller holds AddinShmemInitLock).
 */
void
StoreShmemInit(void)
{
	bool		found;

	store_shared = ShmemInitStruct("neural_dag store", sizeof(StoreShared),
								   &found);
	if (!found)
	{
		pg_atomic_init_u64(&store_shared->switches, 0);
		pg_atomic_init_u64(&store_shared->opens, 0);
	}
	StoreTrustShmemInit();
}

/*
 * StoreSwitchCount
 *		How many times a restore put another store in place since the
 *		server (re)started: a process whose open store is no longer the file
 *		at the path, while this moved, follows quietly.
 */
uint64
StoreSwitchCount(void)
{
	return store_shared != NULL ? pg_atomic_read_u64(&store_shared->switches) : 0;
}

/*
 * StoreSwitchBump
 *		A restore just put another store at the path.
 */
void
StoreSwitchBump(void)
{
	if (store_shared != NULL)
		pg_atomic_fetch_add_u64(&store_shared->switches, 1);
}

/*
 * StoreOpenCount
 *		How many times processes of the server opened the store's
 *		environment: each open maps its files and registers a reader,
 *		which a new backend pays for unless nothing it runs needs the store.
 */
uint64
StoreOpenCount(void)
{
	return store_shared != NULL ? pg_atomic_read_u64(&store_shared->opens) : 0;
}

/*
 * StoreOpenCounted
 *		This process opened the store's environment.
 */
void
StoreOpenCounted(void)
{
	if (store_shared != NULL)
		pg_atomic_fetch_add_u64(&store_shared->opens, 1);
}

/*
 * store_child_verify
 *		In the child: the full walk of the store.
 */
static StoreVerifyStatus
store_child_verify(void *arg, char **why)
{
	StoreStartupArg *a = (StoreStartupArg *) arg;

	return StoreVerify(a->path, false, a->sysid, why);
}

/*
 * store_child_create
 *		In the child: create an empty store.
 */
static StoreVerifyStatus
store_child_create(void *arg, char **why)
{
	StoreCreate(((StoreStartupArg *) arg)->path);
	*why = NULL;
	return STORE_VERIFY_OK;
}

/*
 * StoreQuarantineName
 *		A free name next to path for a store moved aside now:
 *		<path>.quarantine.<UTC time>[.<n>].  False if none is free.
 */
bool
StoreQuarantineName(const char *path, char *dest, size_t destlen)
{
	time_t		now = time(NULL);
	struct tm	tm;
	char		stamp[32];
	struct stat st;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int n = 0; n < 1000; n++)
	{
		if (n == 0)
			snprintf(dest, destlen, "%s.quarantine.%s", path, stamp);
		else
			snprintf(dest, destlen, "%s.quarantine.%s.%d", path, stamp, n);
		if (lstat(dest, &st) != 0 && errno == ENOENT)
			return true;
	}
	return false;
}

/*
 * store_fsync_parent_quietly
 *		Make a rename in the parent directory of path durable; failures are
 *		only logged (the postmaster must not raise an error).
 */
static void
store_fsync_parent_quietly(const char *path)
{
	char		dir[MAXPGPATH];

	strlcpy(dir, path, sizeof(dir));
	get_parent_directory(dir);
	if (dir[0] != '\0')
		(void) fsync_fname_ext(dir, true, true, LOG);
}

/*
 * store_problem
 *		What a verification status says about the store, for the WARNING.
 */
static const char *
store_problem(StoreVerifyStatus status)
{
	switch (status)
	{
		case STORE_VERIFY_NOT_LMDB:
		case STORE_VERIFY_NOT_STORE:
			return "is damaged or is not a neural_dag store";
		case STORE_VERIFY_FORMAT:
			return "was written by another version of neural_dag";
		case STORE_VERIFY_FOREIGN:
			return "belongs to another cluster";
		default:
			return "is damaged";
	}
}

/*
 * store_create_at_start
 *		Create an empty store at path, in a child.
 */
static void
store_create_at_start(StoreStartupArg *arg)
{
	char	   *why = NULL;

	if (StoreRunInChild(store_child_create, arg, StoreVerifyTimeout(0),
						&why) != STORE_VERIFY_OK)
		ereport(WARNING,
				(errmsg("could not create the neural_dag store at \"%s\"", arg->path),
				 errdetail_internal("%s", why ? why : ""),
				 errhint("Queries run without learned state until the server is restarted with a writable store directory.")));
	else
	{
		ereport(LOG,
				(errmsg("neural_dag created an empty store at \"%s\"", arg->path)));
		StoreTrustAtStart();
	}
}

/*
 * StoreStartupCheck
 *		From the postmaster's shared-memory start-up hook: verify the store
 *		in a child; move a damaged, torn, foreign or other-format store
 *		aside with a WARNING naming where it went; create a store where
 *		there is none.  A store that cannot be examined (permissions) is
 *		left as it is, with a WARNING.  Never raises an error.
 */
void
StoreStartupCheck(void)
{
	StoreStartupArg arg;
	char		datafile[MAXPGPATH];
	char		dest[MAXPGPATH];
	struct stat st;
	StoreVerifyStatus status;
	char	   *why = NULL;

	arg.path = StoreDirectory();
	arg.sysid = GetSystemIdentifier();
	snprintf(datafile, sizeof(datafile), "%s/data.mdb", arg.path);

	status = StoreRunInChild(store_child_verify, &arg,
							 StoreVerifyTimeout(stat(datafile, &st) == 0 ?
												(uint64) st.st_size : 0),
							 &why);
	switch (status)
	{
		case STORE_VERIFY_OK:
			ereport(DEBUG1,
					(errmsg("neural_dag store at \"%s\" verified", arg.path)));
			StoreTrustAtStart();
			return;
		case STORE_VERIFY_MISSING:
			store_create_at_start(&arg);
			return;
		case STORE_VERIFY_UNAVAILABLE:
			ereport(WARNING,
					(errmsg("could not check the neural_dag store at \"%s\"", arg.path),
					 errdetail_internal("%s", why ? why : ""),
					 errhint("Queries run without learned state until the store can be read.")));
			return;
		default:
			break;
	}

	if (!StoreQuarantineName(arg.path, dest, sizeof(dest)) ||
		rename(arg.path, dest) != 0)
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("the neural_dag store at \"%s\" %s, and could not be moved aside: %m",
						arg.path, store_problem(status)),
				 errdetail_internal("%s", why ? why : ""),
				 errhint("Stop the server and move the directory away; an empty store is created at the next start.")));
		return;
	}
	store_fsync_parent_quietly(arg.path);
	ereport(WARNING,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("the neural_dag store at \"%s\" %s; it was moved to \"%s\" and learning starts again from an empty store",
					arg.path, store_problem(status), dest),
			 errdetail_internal("%s", why ? why : ""),
			 errhint("Restore a backup taken before the damage with ruvector_dag_restore('/path/to/backup'); remove \"%s\" once it is no longer needed.",
					 dest)));
	store_create_at_start(&arg);
}
