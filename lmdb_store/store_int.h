/*-------------------------------------------------------------------------
 *
 * store_int.h
 *	  Declarations shared by the files of lmdb_store/ only: the LMDB
 *	  handles, the write-transaction runner, meta counters and the
 *	  operations that batches and pending writes are made of.
 *
 * Nothing outside lmdb_store/ includes this file (it includes <lmdb.h>).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_STORE_INT_H
#define NDAG_STORE_INT_H

#include <lmdb.h>

#include "access/rmgr.h"
#include "access/xlogdefs.h"
#include "nodes/pg_list.h"

#include "store.h"

/* ---------- constants ---------- */

/* meta keys */
#define STORE_META_FORMAT_VERSION	"format_version"
#define STORE_META_GENERATION		"generation"
#define STORE_META_SYSTEM_IDENTIFIER	"system_identifier"

/* prefix of the meta keys that are id counters (restore keeps the maximum) */
#define STORE_META_COUNTER_PREFIX	"next_"
/* meta keys of WAL replication (store_wal.c, store_trust.c) */
#define STORE_META_WAL_LSN			"wal_lsn"
#define STORE_META_SNAPSHOT_LSN		"snapshot_lsn"
#define STORE_META_TRUST_AFTER		"trust_after_lsn"

/* named DBIs beyond ours that an environment may hold (spare slots) */
#define STORE_SPARE_DBIS			4

/* ---------- types ---------- */

/* A write applied inside one LMDB write transaction. */
typedef enum StoreOpKind
{
	STORE_OP_PUT,				/* insert or replace a whole record */
	STORE_OP_PATCH,				/* replace some fields of an existing record */
	STORE_OP_DELETE,			/* delete one key */
	STORE_OP_CLEAR				/* delete every record of a dbid, or all */
} StoreOpKind;

/*
 * One write.  key is the encoded key (PUT, PATCH, DELETE); value the
 * encoded record (PUT); values/changed the fields of a PATCH (a whole
 * record's worth of values, of which the changed ones are used).  For
 * CLEAR, dbid selects the database's records in a per-database DBI and
 * InvalidOid all records.  level is the subtransaction nesting level of a
 * pending write, best_effort whether it is one of the best-effort writes
 * of store_pending.c.  Everything is allocated in one memory context and never
 * modified after creation.
 */
typedef struct StoreOp
{
	StoreOpKind kind;
	StoreDbi	dbi;
	Oid			dbid;
	int			level;
	bool		best_effort;
	char	   *key;
	uint32		keylen;
	char	   *value;
	uint32		valuelen;
	StoreValue *values;
	bool	   *changed;
} StoreOp;

/*
 * A function run inside a write transaction by StoreRunWrite.  It returns
 * 0 or an LMDB code; MDB_MAP_FULL makes the runner grow the map and run it
 * again in a fresh transaction, so it must not keep state across runs.  It
 * may also ereport(ERROR): the transaction is aborted first.
 */
typedef int (*StoreWriteFn) (MDB_txn *txn, void *arg);

/* ---------- store_env.c ---------- */

extern MDB_env *StoreGetEnv(void);
extern uint32 StorePageSize(void);
extern int	StoreActiveReads(void);
extern MDB_dbi StoreDbiHandle(StoreDbi dbi);
extern MDB_txn *StoreBeginRead(void);
extern void StoreEndRead(MDB_txn *txn);
extern void StoreRunWrite(StoreWriteFn fn, void *arg, uint64 min_growth,
						  const char *what);
extern int	StoreMetaGet(MDB_txn *txn, const char *name, int64 *value);
extern int	StoreMetaPut(MDB_txn *txn, const char *name, int64 value);
extern StoreOp *StoreMetaPutOp(const char *name, int64 value);
extern int	StorePutRecord(MDB_txn *txn, StoreDbi dbi,
						   const StoreValue *values);
extern int	StorePutRecordInto(MDB_txn *txn, MDB_dbi handle, StoreDbi dbi,
							   const StoreValue *values);
extern int	StoreBumpGenerationInTxn(MDB_txn *txn, int64 *newvalue);
extern void StoreNoteGenerationMoved(void);
extern void StoreCreate(const char *path);
extern bool StoreMigrateOnOpen(const char *path);	/* store_migrate.c */

/* ---------- store_verify.c ---------- */

/* What a verification walk (or another check run in a child) found. */
typedef enum StoreVerifyStatus
{
	STORE_VERIFY_OK = 0,		/* a whole store */
	STORE_VERIFY_MISSING,		/* no data file */
	STORE_VERIFY_UNAVAILABLE,	/* cannot be examined (permissions, ...) */
	STORE_VERIFY_NOT_LMDB,		/* not an LMDB environment at all */
	STORE_VERIFY_NOT_STORE,		/* LMDB, but without our DBIs or meta */
	STORE_VERIFY_FORMAT,		/* another format version */
	STORE_VERIFY_FOREIGN,		/* another cluster's */
	STORE_VERIFY_DAMAGED		/* damaged, torn, or crashed its reader */
} StoreVerifyStatus;

/* a check run by StoreRunInChild; may raise errors */
typedef StoreVerifyStatus (*StoreChildFn) (void *arg, char **why);

extern StoreVerifyStatus StoreVerify(const char *path, bool is_file,
									 uint64 sysid, char **why);
extern StoreVerifyStatus StoreRunInChild(StoreChildFn fn, void *arg,
										 int timeout_s, char **why);
extern int	StoreVerifyTimeout(uint64 bytes);

/* ---------- store_startup.c ---------- */

extern void StoreSwitchBump(void);
extern void StoreOpenCounted(void);

/* ---------- store_arms.c ---------- */

extern int	StoreArmsSeed(MDB_txn *txn);

/* ---------- store_record.c ---------- */

extern void StoreKeyEncodeField(StoreFieldType type, const StoreValue *value,
								StringInfo out);
extern size_t StoreFieldElemSize(StoreFieldType type);

/* ---------- store_batch.c ---------- */

extern StoreOp *StoreOpMake(MemoryContext cxt, StoreOpKind kind,
							StoreDbi dbi, const StoreValue *values,
							const bool *changed, Oid dbid);
extern int	StoreOpApply(MDB_txn *txn, const StoreOp *op,
						 MemoryContext tmpcxt, bool *changed);
extern void StoreApplyOps(List *ops, bool bump_generation,
						  const char *what);

/* ---------- store_wal.c, store_wal_record.c, store_wal_redo.c ---------- */

/* the only record type: operations applied to the store */
#define XLOG_NDAG_STORE_APPLY	0x00

/* flag bits of a record's first byte */
#define WAL_FLAG_BUMP_GENERATION	0x01
#define WAL_FLAG_SNAPSHOT			0x02	/* the whole logged state */
#define WAL_FLAG_COMPRESSED			0x04	/* body: raw length, then pglz */

/* the resource manager id, or 0 when none is registered */
extern RmgrId store_wal_rmgr_id;

extern int	StoreWalLogOps(MDB_txn *txn, List *ops, bool bump_generation);
extern XLogRecPtr StoreWalInsert(uint8 flags, const StringInfo body,
								 bool unimportant);	/* may fail */
extern List *StoreWalRecordOps(const char *data, size_t len,
							   const char **why);	/* never fails */

/* ---------- store_trust.c: whether the store may decide plans ---------- */

extern Size StoreTrustShmemSize(void);
extern void StoreTrustShmemInit(void);
extern void StoreTrustAtStart(void);	/* postmaster, after the check */
extern void StoreTrustPublish(uint64 trust_after);
extern int	StoreTrustGet(MDB_txn *txn, uint64 *trust_after);
extern int	StoreTrustSet(MDB_txn *txn, uint64 trust_after);
extern void StoreRunWriteAt(const char *path, StoreWriteFn fn, void *arg,
							const char *what);	/* start-up child only */

/* ---------- store_intent.c: the two phases of a transaction's writes ---------- */

/* the DBI holding the intents, beside the schema DBIs */
#define STORE_INTENT_DBI_NAME	"xact_intents"

extern bool StoreIntentRecordValid(const char *data, size_t len,
								   const char **why);

extern void StoreOpsEncode(List *ops, StringInfo out);
extern List *StoreOpsDecode(const char *data, size_t len, const char **why);
extern void StoreIntentWrite(List *ops);	/* PRE_COMMIT; may fail */
extern bool StoreIntentPending(void);
extern bool StoreIntentCommit(void);	/* never fails */
extern void StoreIntentAbort(void);	/* never fails */

/* ---------- store_pending.c: overlay of this transaction's writes ---------- */

/* state of one key after this transaction's pending writes */
typedef enum StorePendingState
{
	STORE_PENDING_PUT,			/* values is the whole record */
	STORE_PENDING_PATCH,		/* the stored record with changed fields */
	STORE_PENDING_DELETED		/* gone */
} StorePendingState;

typedef struct StorePendingEntry
{
	const char *key;
	uint32		keylen;
	StorePendingState state;
	const StoreValue *values;
	const bool *changed;
} StorePendingEntry;

extern void StorePendingInit(void);
extern const StorePendingEntry *StorePendingLookup(StoreDbi dbi,
												   const char *key,
												   uint32 keylen);
extern StorePendingEntry *StorePendingSnapshot(StoreDbi dbi, Oid dbid,
											   int *nentries);

#endif							/* NDAG_STORE_INT_H */
