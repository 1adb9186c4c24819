/*-------------------------------------------------------------------------
 *
 * store.h
 *	  The LMDB store of neural_dag: environment, schemas of the named DBIs,
 *	  versioned record encoding, scans, batched and transactional writes,
 *	  backup and restore.
 *
 * Only the files of lmdb_store include <lmdb.h>; everything else talks to LMDB
 * through this header.  Keys are big-endian so that cursor order is numeric
 * order; values start with a record version.  Callers include postgres.h
 * first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_STORE_H
#define NDAG_STORE_H

#include "lib/stringinfo.h"
#include "utils/timestamp.h"

/* ---------- constants ---------- */

/*
 * version of the environment layout, kept in meta under "format_version"
 * (store_migrate.c: what each version changed and how an older store is
 * brought up to date when it is opened or restored);
 * 2 (0.1.0): records carry a CRC-32C, meta holds the cluster's system
 *	  identifier;
 * 3 (0.2.0): DBIs added since 2 are created empty in an older store
 */
#define STORE_FORMAT_VERSION	3
/* the oldest format version this build reads (and migrates) */
#define STORE_FORMAT_OLDEST		2

/* name of the role whose members may modify the learned state */
#define STORE_ADMIN_ROLE		"neural_dag_admin"

/* ---------- types ---------- */

/* The named DBIs of the environment (DESIGN.md section 7). */
typedef enum StoreDbi
{
	STORE_DBI_META = 0,			/* format version, generation, id counters */
	STORE_DBI_TABLES,			/* relations enabled for learning */
	STORE_DBI_ARMS,				/* planner-configuration catalogue (cluster-wide) */
	STORE_DBI_PATTERNS,			/* ReasoningBank patterns */
	STORE_DBI_TRAJECTORIES,		/* recorded executions */
	STORE_DBI_NODES,			/* per-trajectory node activations/scores */
	STORE_DBI_MODELS,			/* cost model, LoRA factors, Fisher, UCB state */
	STORE_DBI_BTSP,				/* one-shot memory: queryId -> arm */
	STORE_DBI_HDC,				/* hypervector state snapshots */
	STORE_DBI_HEALING,			/* self-healing events */
	STORE_DBI_INDEX_META,		/* pattern -> indexes its arm's plans use */
	STORE_DBI_QUERIES,			/* per-statement memory and its controls */
	STORE_NUM_DBIS
} StoreDbi;

/* Types a record field can have; each maps to one SQL type in the FDW. */
typedef enum StoreFieldType
{
	STORE_INT4,					/* int4 */
	STORE_INT8,					/* int8 */
	STORE_OID,					/* oid or regclass */
	STORE_FLOAT4,				/* real */
	STORE_FLOAT8,				/* double precision */
	STORE_BOOL,					/* boolean */
	STORE_TEXT,					/* text (no terminating NUL stored) */
	STORE_TIMESTAMPTZ,			/* timestamptz */
	STORE_BYTEA,				/* bytea */
	STORE_INT4_ARRAY,			/* int4[] */
	STORE_INT8_ARRAY,			/* int8[] */
	STORE_OID_ARRAY,			/* oid[] */
	STORE_FLOAT4_ARRAY,			/* real[] */
	STORE_FLOAT8_ARRAY			/* double precision[] */
} StoreFieldType;

/* One field of a record schema. */
typedef struct StoreFieldDef
{
	const char *name;			/* column name the FDW matches */
	StoreFieldType type;
} StoreFieldDef;

/*
 * Schema of one DBI: its fields in stored order and which of them form the
 * key.  In a per-database DBI the first key field is the database oid
 * ("dbid").  Only the last key field may be STORE_TEXT.
 */
typedef struct StoreSchema
{
	StoreDbi	dbi;
	const char *name;			/* DBI name, also the FDW's store option */
	uint16		version;		/* current record version */
	uint16		oldest_version; /* oldest record version decoded */
	uint16		since_format;	/* format version that added the DBI */
	bool		per_database;	/* keys start with the database oid */
	int			nfields;
	const StoreFieldDef *fields;
	int			nkeys;
	const int  *key_fields;		/* indexes into fields, in key order */
} StoreSchema;

/*
 * One field value.  Scalars live in the union.  For text and bytea, data/len
 * give the bytes; for arrays, data points at len elements in native byte
 * order.  After a decode, data points into the stored record and may be
 * unaligned: copy with memcpy, and only while the scan or the call that
 * produced it is current.
 */
typedef struct StoreValue
{
	bool		isnull;
	union
	{
		int32		i4;
		int64		i8;
		Oid			oid;
		float4		f4;
		float8		f8;
		bool		b;
		TimestampTz ts;
	}			v;
	const void *data;
	uint32		len;
} StoreValue;

/*
 * A range on the first key field after dbid (the "user key"), pushed down
 * from quals into cursor positioning.  Equality is lower == upper, both
 * inclusive.
 */
typedef struct StoreKeyRange
{
	bool		has_lower;
	bool		lower_inclusive;
	StoreValue	lower;
	bool		has_upper;
	bool		upper_inclusive;
	StoreValue	upper;
} StoreKeyRange;

/* What ruvector_dag_status() and the FDW's estimates need of the env. */
typedef struct StoreEnvInfo
{
	const char *path;			/* environment directory */
	uint64		map_size;		/* bytes */
	uint64		used_bytes;		/* (last page + 1) * page size */
	uint64		entries[STORE_NUM_DBIS];
	uint64		generation;		/* meta "generation" */
	int			max_readers;
	int			readers_used;
} StoreEnvInfo;

typedef struct StoreScan StoreScan;
typedef struct StoreBatch StoreBatch;

/* ---------- store_schema.c: the DBIs and their records ---------- */

extern const StoreSchema *StoreGetSchema(StoreDbi dbi);
extern const StoreSchema *StoreSchemaByName(const char *name);
extern const char *StoreSchemaNameList(void);	/* "arms, healing, ..." */
extern int	StoreSchemaFieldIndex(const StoreSchema *schema, const char *name);
extern int	StoreFieldIndex(StoreDbi dbi, const char *name);	/* error if unknown */
extern StoreValue *StoreRecordAlloc(StoreDbi dbi);	/* every field null */
extern StoreValue *StoreFieldSet(StoreValue *values, StoreDbi dbi,
								 const char *name);	/* slot, marked not null */
extern const StoreValue *StoreFieldGet(const StoreValue *values, StoreDbi dbi,
									   const char *name);	/* NULL when null */
extern const char *StoreFieldTypeName(StoreFieldType type);

/* ---------- store_record.c: encoding ---------- */

extern void StoreRecordEncode(const StoreSchema *schema,
							  const StoreValue *values, StringInfo out);
extern void StoreRecordDecode(const StoreSchema *schema,
							  const void *data, size_t len, StoreValue *values);
extern bool StoreRecordTryDecode(const StoreSchema *schema,
								 const void *data, size_t len,
								 StoreValue *values, const char **why);
extern bool StoreKeyTryDecode(const StoreSchema *schema, const char *key,
							  size_t len, StoreValue *values);
extern void StoreKeyEncode(const StoreSchema *schema,
						   const StoreValue *values, StringInfo out);
extern void StoreValuesCopy(const StoreSchema *schema, StoreValue *values);

/* ---------- store_env.c: environment lifecycle ---------- */

extern void StoreConfigure(const char *directory, int map_size_mb);	/* from _PG_init */
extern void StoreInit(void);	/* from _PG_init: xact callbacks, no LMDB */
extern void StoreEnsureOpen(void);	/* lazy open in this process */
extern bool StoreIsOpen(void);
extern void StoreClose(void);
extern const char *StoreDirectory(void);
extern void StoreGetEnvInfo(StoreEnvInfo *info);
extern int	StoreReaderCheck(void); /* stale reader slots cleared */
extern int	StoreStaleReaders(void);	/* store_readers.c: counted, kept */
extern int	StoreReadersClearedAtOpen(void);
extern uint64 StoreGeneration(void);
extern uint64 StoreBumpGeneration(void);

/*
 * Called in this process after a write transaction that moved the
 * generation committed (a batch or commit-time writes that bump it, a
 * restore), so that a cheap shared counter can tell other processes to
 * reload without reading the store.  Must not fail.
 */
typedef void (*StoreGenerationHook) (void);
extern StoreGenerationHook store_generation_hook;
extern int64 StoreNextId(const char *counter);	/* immediate, like nextval */

/* ---------- store_startup.c: the store at server start ---------- */

extern Size StoreShmemSize(void);
extern void StoreShmemInit(void);	/* caller holds AddinShmemInitLock */
extern void StoreStartupCheck(void);	/* postmaster: verify, quarantine */
extern uint64 StoreSwitchCount(void);	/* restores that replaced the store */
extern uint64 StoreOpenCount(void);	/* environments opened by processes */
extern bool StoreQuarantineName(const char *path, char *dest, size_t destlen);

/* ---------- store_error.c: LMDB codes to PostgreSQL errors ---------- */

extern int	StoreErrcode(int rc);
extern void StoreReportError(int elevel, int rc, const char *what);
extern void StoreReportErrorAt(int elevel, int rc, const char *what,
							   const char *path);
extern void StoreWarnCaughtError(MemoryContext cxt, const char *detail,
								 const char *hint);

/* ---------- store_scan.c: reads ---------- */

/*
 * A scan holds an LMDB read transaction from Begin to End.  It is allocated
 * in CurrentMemoryContext with a reset callback, so an error that resets
 * that context releases the transaction too: begin scans in a context that
 * lives no longer than the query (and use StoreScanRestart for rescans, as
 * the struct is only freed with its context).  Next's values point into the
 * transaction's pages or this transaction's pending writes, valid until the
 * next call.  StoreGet reads the key fields of keyvalues[] (a whole
 * record's worth of values) and returns palloc'd copies.  With
 * include_pending, this transaction's queued writes are overlaid.
 */

extern StoreScan *StoreScanBegin(StoreDbi dbi, Oid dbid,
								 const StoreKeyRange *range,
								 bool include_pending);
extern void StoreScanRestart(StoreScan *scan, const StoreKeyRange *range);
extern bool StoreScanNext(StoreScan *scan, StoreValue *values);
extern void StoreScanEnd(StoreScan *scan);
extern uint64 StoreScanCount(StoreScan *scan);	/* rows left; ends the scan */
extern bool StoreGet(StoreDbi dbi, const StoreValue *keyvalues,
					 StoreValue *values, bool include_pending);
extern uint64 StoreCountEntries(StoreDbi dbi);

/* ---------- store_batch.c: immediate batched writes ---------- */

extern StoreBatch *StoreBatchCreate(MemoryContext cxt);
extern void StoreBatchPut(StoreBatch *batch, StoreDbi dbi,
						  const StoreValue *values);
extern void StoreBatchPatch(StoreBatch *batch, StoreDbi dbi,
							const StoreValue *values, const bool *changed);
extern void StoreBatchDelete(StoreBatch *batch, StoreDbi dbi,
							 const StoreValue *keyvalues);
extern void StoreBatchClear(StoreBatch *batch, StoreDbi dbi, Oid dbid);
extern void StoreBatchBumpGeneration(StoreBatch *batch);
extern int	StoreBatchLength(StoreBatch *batch);
extern void StoreBatchApply(StoreBatch *batch);

/* ---------- store_meta.c: named counters of the meta DBI ---------- */

extern bool StoreMetaRead(const char *name, int64 *value);	/* false: none */
extern int64 StoreFormatVersionOnDisk(void);	/* -1: none */
extern void StoreBatchMetaPut(StoreBatch *batch, const char *name,
							  int64 value);
extern void StoreBatchMetaDelete(StoreBatch *batch, const char *name);

/* ---------- store_pending.c: writes applied at PostgreSQL commit ---------- */

/*
 * Queued in the current (sub)transaction, applied as one LMDB write
 * transaction once PostgreSQL committed (with the generation bumped),
 * dropped on abort, with a rolled-back savepoint or when the commit fails
 * late: at PRE_COMMIT they are checked and recorded as a durable intent
 * tagged with the transaction's xid (an error there aborts the
 * transaction), at COMMIT applied, at ABORT deleted; an intent left over by
 * a crash or a failed apply is settled by StoreIntentResolve() from the
 * commit log (store_intent.c).  A patch replaces the changed[] fields of
 * the record as it is when applied; values[] needs the key fields and
 * those.  A prepared transaction cannot carry pending writes.  The
 * best-effort variants are for bookkeeping after catalog changes: if the
 * store cannot take them (and nothing else was queued) the transaction
 * commits with a WARNING.
 */

extern void StorePendingPut(StoreDbi dbi, const StoreValue *values);
extern void StorePendingPatch(StoreDbi dbi, const StoreValue *values,
							  const bool *changed);
extern void StorePendingDelete(StoreDbi dbi, const StoreValue *keyvalues);
extern void StorePendingClear(StoreDbi dbi, Oid dbid);
extern void StorePendingDeleteBestEffort(StoreDbi dbi,
										 const StoreValue *keyvalues);
extern void StorePendingClearBestEffort(StoreDbi dbi, Oid dbid);
extern bool StorePendingAny(StoreDbi dbi);	/* this transaction wrote dbi */
extern bool StorePendingCleared(StoreDbi dbi, Oid dbid);	/* ... cleared dbid's records */

/*
 * Called in this process at XACT_EVENT_COMMIT of a transaction whose
 * pending writes were recorded, after they were applied (or, if applying
 * failed, left to StoreIntentResolve), with written[dbi] for each DBI
 * they touch.  Must not fail.
 */
typedef void (*StorePendingCommitHook) (const bool *written);
extern StorePendingCommitHook store_pending_commit_hook;

/* store_intent.c: intents left over by crashed or failed commits */
extern int	StoreIntentResolve(void);	/* settled; may fail */
extern uint64 StoreIntentCount(void);

/* ---------- store_backup.c ---------- */

extern uint64 StoreBackup(const char *path);
extern uint64 StoreRestore(const char *path);	/* records restored, at commit */
extern void StoreRestoreInit(void);	/* from StoreInit: xact callbacks */
extern void StoreRestoreApplyPending(void); /* at commit; never fails */
extern void StoreRestoreDiscardPending(void);	/* at abort */

/* ---------- store_wal*.c: the custom WAL resource manager ---------- */

/* the default of ruvector.dag_rmgr_id (custom range 128-255) */
#define STORE_RMGR_ID_DEFAULT	173

extern void StoreWalRegister(int rmid);	/* from _PG_init */
extern bool StoreWalDbiLogged(StoreDbi dbi);
extern uint64 StoreWalLastLsn(void);	/* 0: none */
extern void StoreWalLogSnapshot(bool bump_generation);	/* never fails */
extern bool StoreWalSnapshotDue(void);	/* a checkpoint since the last one */
extern uint64 StoreWalSnapshotLsn(void);	/* 0: none */
extern bool StoreTrusted(void); /* may the store decide plans */
extern uint64 StoreTrustAfterLsn(void); /* 0: trusted */

/*
 * One write of a replayed WAL record: its DBI and the key fields of the
 * record it wrote (key: a record of the DBI's schema with the key fields
 * set), or key NULL when it may have written many (a CLEAR of database
 * dbid, InvalidOid: of all; a key that does not decode).
 */
typedef struct StoreReplayedWrite
{
	StoreDbi	dbi;
	Oid			dbid;
	const StoreValue *key;
} StoreReplayedWrite;

/*
 * Called in the startup process after redo applied a record to the store,
 * with written[dbi] for each DBI the record changed and its writes[], so
 * that what shared memory caches of them is dropped.  Must not fail.
 */
typedef void (*StoreReplayHook) (const bool *written,
								 const StoreReplayedWrite *writes,
								 int nwrites);
extern StoreReplayHook store_replay_hook;

/* ruvector.dag_wal_trajectories: WAL-log recorded executions too */
extern bool store_wal_trajectories;

/* ---------- store_arms.c: the built-in planner-configuration catalogue ---------- */

extern int	StoreArmsBuiltinCount(void);
extern int64 StoreArmsReseed(void);	/* pending; custom arms removed */

#endif							/* NDAG_STORE_H */
