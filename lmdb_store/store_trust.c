/*-------------------------------------------------------------------------
 *
 * store_trust.c
 *	  Whether the store's plan-deciding state may decide plans: a store
 *	  copied by a base backup is not trusted as copied.
 *
 * A store in a base backup is a file copied while the primary may have
 * written it: it can be torn (the startup check moves such a store aside,
 * store_startup.c) or hold a state that matches no point of the WAL.  So a
 * server that starts from a base backup (backup_label in PGDATA at
 * postmaster start) marks its store untrusted, with the backup's start LSN
 * (meta "trust_after_lsn").  Until redo applies a snapshot of the whole
 * plan-deciding state (store_wal.c) logged after that LSN, statements are
 * planned with the default plan; redo applies every record whatever the
 * store's wal_lsn says, and the snapshot replaces the logged stores
 * wholesale.  A server that leaves recovery with its store still untrusted
 * trusts it once its learner has logged a snapshot of its own.
 *
 * The mark lives in the store, so it survives restarts (backup_label is
 * gone after the first one); its copy in shared memory is what planning
 * reads: one atomic read per planned statement.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/fd.h"
#include "storage/shmem.h"

#include "store_int.h"

/* shared copy of the store's trust */
typedef struct StoreTrustShared
{
	pg_atomic_uint64 trust_after;	/* 0: trusted; else the LSN a snapshot must follow */
} StoreTrustShared;

static StoreTrustShared *trust_shared = NULL;

/* what the start-up child works on */
typedef struct TrustStartArg
{
	uint64		backup_start;	/* start LSN of backup_label, 0 if none */
} TrustStartArg;

/*
 * StoreTrustShmemSize
 *		Shared memory of the trust flag.
 */
Size
StoreTrustShmemSize(void)
{
	return MAXALIGN(sizeof(StoreTrustShared));
}

/*
 * StoreTrustShmemInit
 *		Create or attach the trust flag (caller holds AddinShmemInitLock);
 *		trusted until the start-up check says otherwise.
 */
void
StoreTrustShmemInit(void)
{
	bool		found;

	trust_shared = ShmemInitStruct("neural_dag store trust",
								   sizeof(StoreTrustShared), &found);
	if (!found)
		pg_atomic_init_u64(&trust_shared->trust_after, 0);
}

/*
 * StoreTrusted
 *		Whether the store's plan-deciding state may decide plans.
 */
pg_attribute_hot bool
StoreTrusted(void)
{
	return trust_shared == NULL ||
		pg_atomic_read_u64(&trust_shared->trust_after) == 0;
}

/*
 * StoreTrustAfterLsn
 *		0 when the store is trusted, else the LSN after which a replayed
 *		snapshot makes it trusted.
 */
uint64
StoreTrustAfterLsn(void)
{
	return trust_shared == NULL ? 0 :
		pg_atomic_read_u64(&trust_shared->trust_after);
}

/*
 * StoreTrustPublish
 *		Set the shared copy of the trust mark (0: trusted).
 */
void
StoreTrustPublish(uint64 trust_after)
{
	if (trust_shared != NULL)
		pg_atomic_write_u64(&trust_shared->trust_after, trust_after);
}

/*
 * StoreTrustGet
 *		In txn: the store's trust mark, 0 when trusted.  0 or an LMDB code.
 */
int
StoreTrustGet(MDB_txn *txn, uint64 *trust_after)
{
	int64		value = 0;
	int			rc = StoreMetaGet(txn, STORE_META_TRUST_AFTER, &value);

	*trust_after = 0;
	if (rc == MDB_NOTFOUND)
		return 0;
	if (rc == 0)
		*trust_after = (uint64) value;
	return rc;
}

/*
 * StoreTrustSet
 *		In txn: make the store trusted (trust_after 0) or untrusted until a
 *		snapshot after trust_after.  The shared copy follows once the
 *		caller's transaction committed (StoreTrustPublish).
 */
int
StoreTrustSet(MDB_txn *txn, uint64 trust_after)
{
	if (trust_after == 0)
	{
		MDB_val		key;
		int			rc;

		key.mv_data = (void *) STORE_META_TRUST_AFTER;
		key.mv_size = strlen(STORE_META_TRUST_AFTER);
		rc = mdb_del(txn, StoreDbiHandle(STORE_DBI_META), &key, NULL);
		return rc == MDB_NOTFOUND ? 0 : rc;
	}
	return StoreMetaPut(txn, STORE_META_TRUST_AFTER, (int64) trust_after);
}

/*
 * backup_label_start
 *		The START WAL LOCATION of $PGDATA/backup_label; 0 when there is no
 *		such file, 1 (an LSN before any record) when it cannot be read.
 */
static uint64
backup_label_start(void)
{
	char		path[MAXPGPATH];
	char		line[1024];
	FILE	   *file;
	uint64		lsn = 1;

	snprintf(path, sizeof(path), "%s/backup_label", DataDir);
	file = AllocateFile(path, "r");
	if (file == NULL)
		return errno == ENOENT ? 0 : 1;
	while (fgets(line, sizeof(line), file) != NULL)
	{
		unsigned int hi;
		unsigned int lo;

		if (sscanf(line, "START WAL LOCATION: %X/%X", &hi, &lo) == 2)
		{
			lsn = ((uint64) hi << 32) | lo;
			break;
		}
	}
	FreeFile(file);
	return lsn;
}

/* argument of trust_at_start_write */
typedef struct TrustWriteArg
{
	uint64		backup_start;
	uint64		trust_after;	/* out */
} TrustWriteArg;

/*
 * trust_at_start_write
 *		Write function of the start-up child: mark the store untrusted when
 *		the server starts from a base backup; read the mark otherwise.
 */
static int
trust_at_start_write(MDB_txn *txn, void *arg)
{
	TrustWriteArg *a = (TrustWriteArg *) arg;
	int			rc;

	if (a->backup_start != 0)
	{
		a->trust_after = a->backup_start;
		return StoreTrustSet(txn, a->backup_start);
	}
	rc = StoreTrustGet(txn, &a->trust_after);
	return rc;
}

/*
 * store_child_trust
 *		In a child of the postmaster: apply the start-up rule to the verified
 *		store and publish its trust in shared memory (inherited by fork).
 */
static StoreVerifyStatus
store_child_trust(void *arg, char **why)
{
	TrustWriteArg warg;

	warg.backup_start = ((TrustStartArg *) arg)->backup_start;
	warg.trust_after = 0;
	StoreRunWriteAt(StoreDirectory(), trust_at_start_write, &warg,
					"mark the neural_dag store copied by a base backup");
	StoreTrustPublish(warg.trust_after);
	*why = NULL;
	return STORE_VERIFY_OK;
}

/*
 * StoreTrustAtStart
 *		From the postmaster's start-up check, once the store is verified (or
 *		created): a store found with backup_label in PGDATA is marked
 *		untrusted until a snapshot logged after the backup's start is
 *		replayed; otherwise the mark it keeps is published.  Never raises
 *		an error: a failure leaves the store untrusted, with a WARNING.
 */
void
StoreTrustAtStart(void)
{
	TrustStartArg arg;
	char	   *why = NULL;

	arg.backup_start = backup_label_start();
	if (arg.backup_start != 0)
		ereport(LOG,
				(errmsg("neural_dag plans with the default plan until this server replays a snapshot of the learned state logged after %X/%X",
						(uint32) (arg.backup_start >> 32),
						(uint32) arg.backup_start),
				 errdetail("The server starts from a base backup: the store copied with it is not trusted.")));
	if (StoreRunInChild(store_child_trust, &arg, StoreVerifyTimeout(0),
						&why) != STORE_VERIFY_OK)
	{
		StoreTrustPublish(arg.backup_start != 0 ? arg.backup_start : 1);
		ereport(WARNING,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("could not read whether the neural_dag store may decide plans"),
				 errdetail_internal("%s", why ? why : ""),
				 errhint("Queries run with the default plan until a snapshot of the learned state is replayed or logged.")));
	}
}
