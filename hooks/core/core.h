/*-------------------------------------------------------------------------
 *
 * core.h
 *	  The ground floor of the PostgreSQL side: what every other folder of
 *	  hooks/ (and fdw/) may use, and which uses nothing of them.
 *
 *	guc.c				every ruvector.* setting, defined once; their C
 *						variables are declared here (one place for all)
 *	preload.c			NdagRequirePreload: refuse to run unless the library
 *						was loaded through shared_preload_libraries
 *	standby.c			nothing changes learned state during recovery
 *	privileges.c		neural_dag admins, readers of recorded queries, owners
 *	safe_sql.c			every SQL the extension runs itself (search_path)
 *	shmem.c				the shared state of all folders: counters, the flush,
 *						learn and delta locks, the tables and learned epochs,
 *						the learner's latch (init/ requests and attaches it)
 *	extension_state.c	whether this database has the extension
 *	database_state.c	the per-database look-ups of new backends, shared
 *	enabled_tables.c	the tables enabled for learning, per backend
 *	arm_settings.c		the planner settings of an arm ('name=value, ...'),
 *						checked for fdw/ and applied by planner/
 *	store_functions.c	admin SQL functions: enable/disable a table, status,
 *						reset, backup, restore
 *	process_priority.c	the nice value of shadow runs and their parallel
 *						workers
 *
 * Includers include postgres.h first.
 *
 * pg_attribute_hot (PostgreSQL's c.h) marks the functions every backend
 * runs around its first statement (hooks, transaction callbacks, the
 * store's trust check, the look-ups of a statement not ours): the compiler
 * puts them side by side in .text.hot, and a new backend, which faults
 * each page of the library it touches (fork copies no page tables of
 * file mappings), faults 6 of its pages instead of 9 (perf record -e
 * minor-faults over pgbench -S -C connections).
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_CORE_H
#define NDAG_CORE_H

#include "fmgr.h"
#include "datatype/timestamp.h"

/* ---------- constants ---------- */

/* ruvector.dag_mode */
typedef enum NdagMode
{
	NDAG_MODE_OFF,				/* nothing is recorded or changed */
	NDAG_MODE_OBSERVE,			/* record only, plans untouched */
	NDAG_MODE_LEARN,			/* record, explore, apply */
	NDAG_MODE_APPLY				/* apply what is learned, frozen */
} NdagMode;

/* ruvector.dag_exploration_mode: where unproven arms are tried (learn mode) */
typedef enum NdagExplorationMode
{
	NDAG_EXPLORATION_SHADOW,	/* background re-runs of captured SELECTs; inline for the rest */
	NDAG_EXPLORATION_INLINE,	/* users' own executions run candidate arms */
	NDAG_EXPLORATION_OFF		/* nothing unproven is tried */
} NdagExplorationMode;

/* ruvector.dag_healing_scope */
typedef enum NdagHealScope
{
	NDAG_HEAL_SCOPE_ENABLED,	/* enabled tables and their indexes */
	NDAG_HEAL_SCOPE_ALL			/* every user table of the database */
} NdagHealScope;

/* ---------- GUC variables (guc.c) ---------- */

extern bool ndag_enabled;				/* ruvector.neural_dag_enabled */
extern int	ndag_mode;					/* ruvector.dag_mode */
extern char *ndag_data_directory;		/* ruvector.dag_data_directory */
extern int	ndag_map_size_mb;			/* ruvector.dag_map_size, MB */
extern int	ndag_rmgr_id;			/* ruvector.dag_rmgr_id */
extern bool ndag_wal_snapshots;		/* ruvector.dag_wal_snapshots */
extern char *ndag_attention_type;		/* ruvector.dag_attention_type */
extern double ndag_attention_exploration;	/* ruvector.dag_attention_exploration */
extern double ndag_ucb_c;				/* ruvector.dag_ucb_c */
extern bool ndag_mincut_enabled;		/* ruvector.dag_mincut_enabled */
extern double ndag_mincut_threshold;	/* ruvector.dag_mincut_threshold */
extern double ndag_sample_rate;			/* ruvector.dag_sample_rate */
extern double ndag_fast_query_ms;		/* ruvector.dag_fast_query_ms */
extern double ndag_fast_sample_rate;	/* ruvector.dag_fast_sample_rate */
extern double ndag_detail_sample_rate;	/* ruvector.dag_detail_sample_rate */
extern double ndag_timing_sample_rate;	/* ruvector.dag_timing_sample_rate */
extern int	ndag_max_trajectories;		/* ruvector.dag_max_trajectories */
extern bool ndag_all_tables;			/* ruvector.dag_all_tables */

/* self-healing (healing/, workers/) */
extern bool ndag_healing_enabled;		/* ruvector.dag_healing_enabled */
extern int	ndag_healing_check_interval;	/* ruvector.dag_healing_check_interval, ms */
extern bool ndag_healing_auto_repair;	/* ruvector.dag_healing_auto_repair */
extern int	ndag_healing_scope;			/* ruvector.dag_healing_scope */
extern char *ndag_database;				/* ruvector.dag_database */
extern int	ndag_healing_lock_timeout;	/* ruvector.dag_healing_lock_timeout, ms */
extern int	ndag_healing_statement_timeout; /* ruvector.dag_healing_statement_timeout, ms */
extern double ndag_healing_bloat_ratio; /* ruvector.dag_healing_bloat_ratio */
extern double ndag_healing_stale_ratio; /* ruvector.dag_healing_stale_ratio */
extern int	ndag_healing_stale_min_rows;	/* ruvector.dag_healing_stale_min_rows */
extern int	ndag_healing_max_events;	/* ruvector.dag_healing_max_events */

/* learning (learning/, workers/) */
extern int	ndag_pattern_clusters;		/* ruvector.dag_pattern_clusters */
extern double ndag_quality_threshold;	/* ruvector.dag_quality_threshold */
extern int	ndag_background_interval;	/* ruvector.dag_background_interval, ms */
extern double ndag_learning_rate;		/* ruvector.dag_learning_rate */
extern double ndag_base_lora_lr;		/* ruvector.dag_base_lora_lr */
extern int	ndag_base_lora_rank;		/* ruvector.dag_base_lora_rank */
extern int	ndag_micro_lora_rank;		/* ruvector.dag_micro_lora_rank */
extern double ndag_ewc_lambda;			/* ruvector.dag_ewc_lambda */
extern double ndag_ewc_max_lambda;		/* ruvector.dag_ewc_max_lambda */
extern double ndag_ewc_fisher_decay;	/* ruvector.dag_ewc_fisher_decay */

/* plan rewriting (planner/) */
extern double ndag_min_latency;			/* ruvector.dag_min_latency, ms */
extern double ndag_min_cost;			/* ruvector.dag_min_cost */
extern double ndag_exploration;			/* ruvector.dag_exploration */
extern int	ndag_exploration_mode;		/* ruvector.dag_exploration_mode */
extern bool ndag_regression_guard;		/* ruvector.dag_regression_guard */
extern int	ndag_max_candidates;		/* ruvector.dag_max_candidates */
extern double ndag_explore_max_cost_ratio;	/* ruvector.dag_explore_max_cost_ratio */
extern int	ndag_query_memory_size;	/* ruvector.dag_query_memory_size, slots */
extern double ndag_confidence_threshold;	/* ruvector.dag_confidence_threshold */
extern int	ndag_embedding_cache_size;	/* ruvector.dag_embedding_cache_size */

/* shadow exploration (shadow/, workers/) */
extern double ndag_shadow_budget;		/* ruvector.dag_shadow_budget, CPUs (-1 auto) */
extern double ndag_shadow_max_load;		/* ruvector.dag_shadow_max_load, per CPU */
extern double ndag_shadow_min_share;	/* ruvector.dag_shadow_min_share, CPUs */
extern int	ndag_shadow_max_pairs;	/* ruvector.dag_shadow_max_pairs */
extern double ndag_shadow_timeout_factor;	/* ruvector.dag_shadow_timeout_factor */
extern int	ndag_shadow_nice;		/* ruvector.dag_shadow_nice */
extern double ndag_shadow_max_cost_ratio;	/* ruvector.dag_shadow_max_cost_ratio */
extern int	ndag_process_nice;		/* ruvector.dag_process_nice (hidden) */
extern double ndag_shadow_default_timeout_factor;	/* ruvector.dag_shadow_default_timeout_factor */

extern void NdagDefineGucs(void);
extern void NdagDefineHealingGucs(void);
extern void NdagDefineLearningGucs(void);
extern void NdagDefineShadowGucs(void);

/* ---------- preload.c: module start-up ---------- */

extern bool ndag_preloaded;				/* _PG_init ran from shared_preload_libraries */
extern void NdagRequirePreload(void);

/* ---------- standby.c: nothing changes learned state during recovery ---------- */

extern bool NdagMayWriteLearnedState(void);
extern void NdagRequireWritableLearnedState(const char *action);

/* ---------- privileges.c ---------- */

extern bool NdagIsAdmin(Oid roleid);
extern void NdagRequireAdmin(const char *action);
extern bool NdagCanReadQueries(Oid roleid);
extern void NdagRequireReadQueries(const char *relname);
extern void NdagRequireOwnerOrAdmin(const char *action);

/* ---------- safe_sql.c: every SQL the extension runs itself ---------- */

#define NDAG_SAFE_SEARCH_PATH	"pg_catalog, pg_temp"

typedef void (*NdagSafeSqlFunc) (void *arg);
extern void NdagRunSafeSql(NdagSafeSqlFunc fn, void *arg);
extern void NdagSafeSearchPathForSession(void);

/* ---------- fallback.c: learning failed, the statement goes on ---------- */

/* what failed, one rate-limited WARNING and one counter each */
typedef enum NdagFallbackKind
{
	NDAG_FALLBACK_ENABLED_TABLES,	/* reading the tables enabled for learning */
	NDAG_FALLBACK_DECISION,		/* deciding the arm, planning under it */
	NDAG_FALLBACK_RECORDING,	/* recording an execution, learning from it */
	NDAG_FALLBACK_EXPLAIN,		/* EXPLAIN's neural_dag section */
	NDAG_FALLBACK_LEARNED_STATE,	/* loading the learned state in a backend */
	NDAG_FALLBACK_DROP,			/* following a DROP in the learned state */
	NDAG_N_FALLBACK_KINDS
} NdagFallbackKind;

typedef void (*NdagLearningStep) (void *arg);

extern bool NdagFallbackRun(NdagFallbackKind kind, const char *what,
							NdagLearningStep step, void *arg);
extern int	NdagFallbackLevel(NdagFallbackKind kind);
extern Size NdagFallbackShmemSize(void);
extern void NdagFallbackShmemInit(void);
extern void NdagFallbackStatusCounters(void *state);

/* ---------- engine_error.c: engine status codes as errors ---------- */

extern void NdagEngineCheck(int rc, const char *what);

/* ---------- process_priority.c: the nice value of shadow runs ---------- */

extern void NdagProcessNiceAssign(int newval, void *extra);
extern void NdagLowerOwnPriority(void);

/* ---------- store_functions.c ---------- */

/*
 * ruvector_dag_status() builds its "counters" object by calling, in the
 * order registered, the function each concern registered (from _PG_init,
 * in one place); each calls NdagStatusAddCounter(state, name, value) once
 * per counter.  A concern or counter name given twice is an error.
 */
typedef void (*NdagStatusCountersFunc) (void *state);
extern void NdagStatusRegisterCounters(const char *concern,
									   NdagStatusCountersFunc fn);
extern void NdagStatusAddCounter(void *state, const char *name, int64 value);

/*
 * reset_scopes.c: what a committed ruvector_dag_reset() of the scopes
 * queries, patterns, learned or all also clears: the per-statement state
 * kept in shared memory by a layer above core, and how many entries of a
 * database it holds (both registered from _PG_init).
 */
typedef void (*NdagResetCallback) (Oid dbid);
typedef int64 (*NdagResetCountFunc) (Oid dbid);
extern void NdagRegisterResetCallback(NdagResetCallback fn);
extern void NdagRegisterResetCounter(NdagResetCountFunc fn);

/*
 * enabled_tables_dump.c: the config table ndag_enabled_tables that
 * pg_dump carries, kept in step with the store's enabled tables
 */
extern void NdagEnabledTablesDumpRecord(Oid relid, bool enabled);
extern void NdagEnabledTablesDumpClear(void);
extern bool NdagEnabledTablesStorePut(Oid relid);	/* store_functions.c */

/* ---------- shmem.c: shared state ---------- */

/* shared counters shown by ruvector_dag_status() */
typedef enum NdagCounter
{
	NDAG_COUNTER_SAMPLED,		/* eligible statements chosen for recording */
	NDAG_COUNTER_RECORDED,		/* trajectories put into the ring */
	NDAG_COUNTER_FLUSHED,		/* trajectories written to the store */
	NDAG_COUNTER_DROPPED,		/* lost: ring full, or trimmed before a write */
	NDAG_COUNTER_FAILED,		/* recordings or flushes that raised an error */
	NDAG_COUNTER_TRUNCATED,		/* plans with more than NDAG_TRAJ_MAX_NODES nodes */
	NDAG_COUNTER_RECORD_NS,		/* time spent recording, nanoseconds */
	NDAG_COUNTER_FLUSH_US,		/* time spent writing flushed chunks, microseconds */
	NDAG_N_COUNTERS
} NdagCounter;

struct LWLock;
struct Latch;

extern void NdagSharedShmemRequest(void);
extern void NdagSharedShmemInit(void);
extern bool NdagShmemReady(void);
extern void NdagCounterAdd(NdagCounter counter, uint64 n);
extern uint64 NdagCounterGet(NdagCounter counter);
extern const char *NdagCounterName(NdagCounter counter);
extern void NdagRecordLatency(uint64 ns);
extern uint64 NdagRecordLatencyQuantile(double q);
extern struct LWLock *NdagFlushLock(void);
extern struct LWLock *NdagLearnLock(void);
extern uint64 NdagTablesEpoch(void);
extern void NdagTablesEpochBump(void);
extern struct LWLock *NdagDeltaLock(void);
extern uint64 NdagLearnedEpoch(void);
extern void NdagLearnedEpochBump(void);
extern void NdagSetLearnerLatch(struct Latch *latch);
extern void NdagWakeLearner(void);

/* ---------- extension_state.c: whether this database has the extension ---------- */

extern void NdagExtensionStateInit(void);
extern bool NdagExtensionInstalled(void);

/* ---------- database_state.c: per-database look-ups shared by backends ---------- */

extern Size NdagDatabaseStateShmemSize(void);
extern void NdagDatabaseStateShmemInit(void);
extern uint64 NdagExtensionEpoch(void);
extern void NdagExtensionEpochBump(void);
extern bool NdagSharedInstalled(Oid dbid, uint64 epoch, bool *installed);
extern void NdagSharedPublishInstalled(Oid dbid, uint64 epoch, bool installed);
extern bool NdagSharedTables(Oid dbid, uint64 tables_epoch,
							 uint64 learned_epoch, MemoryContext cxt,
							 Oid **relids, int *n, TimestampTz *loaded_at);
extern void NdagSharedPublishTables(Oid dbid, uint64 tables_epoch,
									uint64 learned_epoch, TimestampTz loaded_at,
									const Oid *relids, int n);
extern void NdagDatabaseStateStatusCounters(void *state);

/* ---------- enabled_tables.c ---------- */

struct PlannedStmt;

extern void NdagEnabledTablesInit(void);
extern bool NdagStatementEligible(const struct PlannedStmt *stmt,
								  bool any_table);
extern bool NdagStatementEligibleOrFallback(const struct PlannedStmt *stmt,
											bool any_table, bool *failed);
extern bool NdagTableEnabled(Oid relid);

/* ---------- arm_settings.c: planner settings of an arm ---------- */

struct List;

/*
 * One setting of a planner-configuration arm, as parsed from ndag_arms
 * .settings ('name=value, name=value').  name is the setting's canonical
 * (lower case) name, value the text given, without quotes.
 */
typedef struct NdagArmSetting
{
	char	   *name;
	char	   *value;
} NdagArmSetting;

extern bool NdagArmSettingIsAllowed(const char *name);
extern const char *NdagArmSettingsAllowedList(void);
extern struct List *NdagArmSettingsParse(const char *settings);
extern void NdagArmSettingsValidate(struct List *settings);
extern char *NdagArmSettingsFormat(struct List *settings);

#endif							/* NDAG_CORE_H */
