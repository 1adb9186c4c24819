/*-------------------------------------------------------------------------
 *
 * hooks.h
 *	  The PostgreSQL side of neural_dag: module start-up, GUCs, privileges
 *	  and the SQL-callable functions.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_HOOKS_H
#define NDAG_HOOKS_H

#include "fmgr.h"

/* ---------- constants ---------- */

/* ruvector.dag_mode */
typedef enum NdagMode
{
	NDAG_MODE_OFF,				/* nothing is recorded or changed */
	NDAG_MODE_OBSERVE,			/* record only, plans untouched */
	NDAG_MODE_LEARN,			/* record, explore, apply */
	NDAG_MODE_APPLY				/* apply what is learned, frozen */
} NdagMode;

/* ---------- types ---------- */

struct NdagDag;
struct PlannedStmt;
struct PlanState;
struct Plan;

/* A planned statement as the engine's DAG (plan_dag.c). */
typedef struct NdagPlanDag
{
	struct NdagDag *dag;		/* engine DAG, freed with the memory context */
	int			n_nodes;
	struct Plan **plans;		/* node id -> plan node */
} NdagPlanDag;

/* ---------- GUC variables (guc.c) ---------- */

extern bool ndag_enabled;				/* ruvector.neural_dag_enabled */
extern int	ndag_mode;					/* ruvector.dag_mode */
extern char *ndag_data_directory;		/* ruvector.dag_data_directory */
extern int	ndag_map_size_mb;			/* ruvector.dag_map_size, MB */
extern char *ndag_attention_type;		/* ruvector.dag_attention_type */
extern double ndag_attention_exploration;	/* ruvector.dag_attention_exploration */
extern double ndag_ucb_c;				/* ruvector.dag_ucb_c */
extern bool ndag_mincut_enabled;		/* ruvector.dag_mincut_enabled */
extern double ndag_mincut_threshold;	/* ruvector.dag_mincut_threshold */
extern double ndag_sample_rate;			/* ruvector.dag_sample_rate */
extern double ndag_fast_query_ms;		/* ruvector.dag_fast_query_ms */
extern double ndag_fast_sample_rate;	/* ruvector.dag_fast_sample_rate */
extern double ndag_timing_sample_rate;	/* ruvector.dag_timing_sample_rate */
extern int	ndag_max_trajectories;		/* ruvector.dag_max_trajectories */
extern bool ndag_all_tables;			/* ruvector.dag_all_tables */

extern void NdagDefineGucs(void);

/* ---------- neural_dag.c: module start-up ---------- */

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

/* ---------- trajectory recording: shmem.c, ring.c, trajectory.c, flush.c ---------- */

/* a recorded plan keeps its first NDAG_TRAJ_MAX_NODES nodes */
#define NDAG_TRAJ_MAX_NODES		48
#define NDAG_TRAJ_MAX_PARENTS	4	/* consumers kept per node */
#define NDAG_TRAJ_MAX_RELIDS	16	/* relations kept per statement */
#define NDAG_TRAJ_EMBED_DIM		64	/* NDAG_EMBED_DIM of engine.h */
#define NDAG_TRAJ_MAX_INDEXES	8	/* indexes kept per statement */

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

/* One plan node of a recorded execution (a row of ndag_attention). */
typedef struct NdagRingNode
{
	uint64		signature;		/* operator signature */
	double		est_rows;		/* plan rows per loop */
	double		actual_rows;	/* rows per loop, as EXPLAIN ANALYZE; < 0: never executed */
	float4		loops;
	float4		est_cost;		/* total cost */
	float4		self_ms;		/* actual self time over all loops; NaN when
								 * the execution had no per-node timing */
	float4		score;			/* attention weight */
	Oid			relation;		/* scanned relation or InvalidOid */
	int16		node_tag;		/* NodeTag of the Plan node */
	uint8		operation;		/* CmdType of a ModifyTable */
	uint8		nparents;
	int16		parents[NDAG_TRAJ_MAX_PARENTS];
} NdagRingNode;

/*
 * One recorded execution as it travels through the shared ring: the fields
 * of a trajectories record, then nodes[0 .. n_nodes).  Only the used part
 * of nodes[] is copied (NdagRingEntrySize).
 */
typedef struct NdagRingEntry
{
	Oid			dbid;
	Oid			userid;
	int64		query_id;
	int64		recorded_at;	/* TimestampTz */
	double		planning_us;	/* 0 when a cached plan was reused */
	double		exec_us;
	double		est_cost;
	int32		arm;			/* planner configuration executed */
	int16		decision;		/* NdagDecisionSource of the arm */
	int64		pattern_id;		/* pattern that chose the arm, 0 none */
	double		predicted_ms;	/* cost model for the arm, NaN none */
	int16		mechanism;		/* attention mechanism of the embedding */
	int16		n_nodes;		/* nodes kept */
	int32		n_plan_nodes;	/* nodes of the plan */
	int32		nrelids;
	Oid			relids[NDAG_TRAJ_MAX_RELIDS];
	float4		embedding[NDAG_TRAJ_EMBED_DIM];
	int16		nindexes;		/* indexes the plan scans, distinct */
	Oid			indexes[NDAG_TRAJ_MAX_INDEXES];
	NdagRingNode nodes[NDAG_TRAJ_MAX_NODES];
} NdagRingEntry;

#define NdagRingEntrySize(t) \
	(offsetof(NdagRingEntry, nodes) + sizeof(NdagRingNode) * (t)->n_nodes)

struct LWLock;
struct QueryDesc;

/* shmem.c: shared state of the recording path */
extern void NdagShmemInit(void);
extern bool NdagShmemReady(void);
extern void NdagCounterAdd(NdagCounter counter, uint64 n);
extern uint64 NdagCounterGet(NdagCounter counter);
extern const char *NdagCounterName(NdagCounter counter);
extern void NdagRecordLatency(uint64 ns);
extern uint64 NdagRecordLatencyQuantile(double q);
extern struct LWLock *NdagFlushLock(void);
extern uint64 NdagTablesEpoch(void);
extern void NdagTablesEpochBump(void);
struct Latch;
extern struct LWLock *NdagDeltaLock(void);
extern uint64 NdagLearnedEpoch(void);
extern void NdagLearnedEpochBump(void);
extern void NdagSetLearnerLatch(struct Latch *latch);
extern void NdagWakeLearner(void);

/* ring.c: the fixed-size ring of trajectories */
extern Size NdagRingShmemSize(void);
extern void NdagRingShmemInit(void);
extern bool NdagRingPut(const NdagRingEntry *traj);
extern int	NdagRingTake(NdagRingEntry *out, int max);
extern void NdagRingUsage(uint64 *used, uint64 *capacity);

/* planner_hook.c, executor_hooks.c, enabled_tables.c */
extern void NdagInstallPlannerHook(void);
extern double NdagTakePlanningTime(const struct PlannedStmt *stmt);
extern void NdagInstallExecutorHooks(void);
extern void NdagEnabledTablesInit(void);
extern bool NdagStatementEligible(const struct PlannedStmt *stmt,
								  bool any_table);
extern bool NdagStatementEligibleOrFallback(const struct PlannedStmt *stmt,
											bool any_table, bool *failed);
extern bool NdagTableEnabled(Oid relid);

/* extension_state.c: whether this database has the extension */
extern void NdagExtensionStateInit(void);
extern bool NdagExtensionInstalled(void);

/* drop_tracking.c: dropped tables, databases and the extension */
extern void NdagInstallDropTracking(void);

/* trajectory.c: one execution into the ring */
extern void NdagRecordExecution(struct QueryDesc *queryDesc, double planning_us);
extern bool NdagLastRecording(const struct PlannedStmt *stmt, int *mechanism,
							  int *n_nodes, double *embedding_norm);
extern double NdagLastRecordingMs(const struct PlannedStmt *stmt);

/* explain_hook.c */
extern void NdagInstallExplainHook(void);

/* flush.c: ring -> store */
extern Size NdagBaselineShmemSize(void);
extern void NdagBaselineShmemInit(void);
extern int64 NdagFlush(void);
extern void NdagRecordingStatusCounters(void *state);

/* worker_guard.c: workers that keep crashing are not started again */
typedef enum NdagGuardedWorker
{
	NDAG_WORKER_LEARNER,
	NDAG_WORKER_HEALING_LAUNCHER,
	NDAG_WORKER_HEALER,
	NDAG_N_GUARDED
} NdagGuardedWorker;

extern Size NdagWorkerGuardShmemSize(void);
extern void NdagWorkerGuardShmemInit(void);
extern void NdagWorkerGuardEnter(NdagGuardedWorker kind);

/* database_list.c: the databases a worker may work on */
struct FormData_pg_database;
typedef void (*NdagDatabaseFunc) (struct FormData_pg_database *db, void *arg);
extern void NdagForEachDatabase(NdagDatabaseFunc fn, void *arg);

/* learner.c: the background worker */
extern void NdagRegisterStaticWorker(const char *name, const char *function,
									 int restart_s);
extern void NdagRegisterLearner(void);

/* ---------- plan_dag.c ---------- */

extern NdagPlanDag *NdagPlanDagBuild(struct PlannedStmt *stmt,
									 struct PlanState *planstate);
extern const char *NdagPlanNodeName(const struct Plan *plan);
extern Oid	NdagPlanIndexOid(const struct Plan *plan);

/* ---------- attention_state.c: this backend's selector and traces ---------- */

struct NdagAttnParams;

extern int	NdagAttentionContext(const struct NdagDag *dag);
extern int	NdagParseMechanism(const char *name);
extern int	NdagChooseMechanism(const struct NdagDag *dag, int requested,
								bool explore);
extern void NdagAttentionParams(const struct NdagDag *dag,
								struct NdagAttnParams *params);
extern double *NdagComputeScores(const struct NdagDag *dag, int mechanism);
extern void NdagUpdateTraces(const struct NdagDag *dag);
extern void NdagAttentionReward(int context, int mechanism, double reward);

/* ---------- attention_sql.c: planning a query text ---------- */

extern char *NdagTextArg(FunctionCallInfo fcinfo, int argno, const char *what);
extern struct PlannedStmt *NdagPlanQueryText(const char *query_text);
extern NdagPlanDag *NdagPlanQueryDag(FunctionCallInfo fcinfo, int argno);
extern Oid	NdagNodeRelation(const NdagPlanDag *pd, int v);

/* ---------- self-healing: healing_*.c ---------- */

struct List;
struct StringInfoData;
struct BackgroundWorkerHandle;

/* ruvector.dag_healing_scope */
typedef enum NdagHealScope
{
	NDAG_HEAL_SCOPE_ENABLED,	/* enabled tables and their indexes */
	NDAG_HEAL_SCOPE_ALL			/* every user table of the database */
} NdagHealScope;

/* first key of the advisory lock a repair holds on its object */
#define NDAG_HEAL_LOCK_CLASS	1852055911	/* 'ndag' */

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

extern void NdagDefineHealingGucs(void);

/* What a healer is told when it is launched (its bgw_extra). */
typedef struct NdagHealParams
{
	Oid			userid;			/* role the healer connects as */
	bool		auto_repair;
	int			scope;			/* NdagHealScope */
	int			lock_timeout;	/* ms */
	int			statement_timeout;	/* ms */
	double		bloat_ratio;
	double		stale_ratio;
	int			stale_min_rows;
	bool		caller_snapshot;	/* a waiting caller keeps its snapshot */
	Oid			nologin_owner;	/* periodic check of a database whose owner
								 * may not log in: only say so */
} NdagHealParams;

/* What a repair does. */
typedef enum NdagHealRepair
{
	NDAG_HEAL_NONE,				/* nothing to run: a recommendation */
	NDAG_HEAL_SQL,				/* run sql as a top-level utility statement */
	NDAG_HEAL_READERS,			/* clear stale LMDB reader slots */
	NDAG_HEAL_TRIM,				/* delete the oldest trajectories */
	NDAG_HEAL_CONFIDENCE,		/* scale the confidence of patterns */
	NDAG_HEAL_DEMOTE			/* demote an arm of patterns */
} NdagHealRepair;

/* One finding of a detector, then the outcome of its repair. */
typedef struct NdagHealEvent
{
	const char *kind;			/* invalid_index, bloated_index, ... */
	char	   *object;			/* qualified name or description */
	char	   *detail;			/* figures */
	char	   *action;			/* what was or would be done */
	const char *status;			/* detected, repaired, failed, skipped, recommended */
	int64		at;				/* TimestampTz */
	NdagHealRepair repair;
	char	   *sql;			/* NDAG_HEAL_SQL: the statement */
	Oid			objid;			/* object of the advisory lock, or InvalidOid */
	Oid			relid;			/* table the object belongs to, or InvalidOid */
	bool		needs_owner;	/* the repair silently skips non-owners */
	bool		concurrent;		/* waits for older snapshots (REINDEX CONCURRENTLY) */
	int64		keep;			/* NDAG_HEAL_TRIM: trajectories to keep */
	int64	   *pattern_ids;	/* NDAG_HEAL_CONFIDENCE, _DEMOTE: patterns */
	int			npatterns;
	double		factor;			/* confidence multiplier */
	int			arm;			/* NDAG_HEAL_DEMOTE: the arm demoted */
	bool		has_duration;
	double		duration_ms;
} NdagHealEvent;

/* healing_detect.c: detectors over the catalogs (SPI, in a transaction) */
extern struct List *NdagHealDetectCatalog(const NdagHealParams *params,
										  struct List *enabled_relids);

/* healing_store.c: detectors over the store, events, baselines */
extern struct List *NdagHealEnabledRelids(void);
extern struct List *NdagHealDetectStore(const NdagHealParams *params);
extern void NdagHealPatternSummary(Oid relid, struct StringInfoData *out);
extern bool NdagHealIndexBaseline(Oid indexoid, int64 idx_scan,
								  int64 *since);
extern bool NdagHealIndexReported(Oid indexoid, int64 since);
extern int64 NdagHealEventCounter(void);
extern void NdagHealRecord(const NdagHealEvent *event);
extern int64 NdagHealTrim(int64 keep);
extern int64 NdagHealTrimEvents(int64 keep);

/* healing_patterns.c: the regressed_pattern detector, patching patterns */
extern struct List *NdagHealDetectRegressed(const NdagHealParams *params);
extern char *NdagHealPatchPatterns(const NdagHealEvent *event);

/* index_meta.c: index metadata of the patterns, the pattern_index detector */
struct StoreBatch;
struct NdagPatternBank;
extern void NdagIndexMetaUpdate(struct StoreBatch *batch, Oid dbid,
								const struct NdagPatternBank *bank,
								int64 last_traj_id);
extern struct List *NdagHealDetectPatternIndex(void);
extern void NdagIndexMetaRefresh(Oid indexrelid);

/* healing_repair.c: running one repair */
extern void NdagHealRun(NdagHealEvent *event, const NdagHealParams *params);

/* healing_worker.c: healer and launcher workers */
extern void NdagRegisterHealingLauncher(void);
extern void NdagHealParamsFromGucs(NdagHealParams *params, Oid userid);
extern struct BackgroundWorkerHandle *NdagLaunchHealer(Oid dbid,
													   const NdagHealParams *params);

/* ---------- learning: learn_cycle.c, learn_sql.c ---------- */

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

extern void NdagDefineLearningGucs(void);

/* What one learning cycle of a database did (ruvector_dag_learn()). */
typedef struct NdagLearnSummary
{
	Oid			dbid;
	int			trajectories;	/* new trajectories loaded */
	int			used;			/* at or above the quality threshold */
	int			clusters;
	int			created;
	int			merged;
	int			evicted;
	int			patterns;		/* patterns after the cycle */
	int			trained;		/* samples the cost model trained on */
	bool		model_rejected; /* training diverged and was undone */
	double		loss_before;
	double		loss_after;
	double		error_before;	/* median |predicted - actual ln ms| */
	double		error_after;
	double		drift;
	bool		task_boundary;
	int64		snapshot_id;	/* 0: no snapshot written */
	int64		last_traj_id;	/* newest trajectory consumed */
	double		ms;
} NdagLearnSummary;

extern struct LWLock *NdagLearnLock(void);
extern void NdagLearnCycle(Oid dbid, NdagLearnSummary *summary);

/* ---------- learned_state.c: this backend's copy of the learned state ---------- */

struct NdagPatternBank;
struct NdagCostModel;

/*
 * The learned state of this backend's database as of a store generation:
 * the pattern bank, the cost model (NULL when none was trained yet) and
 * per pattern (index into bank->patterns) the mask of arms demoted for it.
 */
typedef struct NdagLearned
{
	uint64		generation;
	struct NdagPatternBank *bank;
	struct NdagCostModel *model;
	uint64	   *demoted;		/* bank->count masks, bit a = arm a (< 64) */
} NdagLearned;

extern const NdagLearned *NdagLearnedCurrent(void);
extern int	NdagDecisionMechanism(const struct NdagDag *dag);
extern double NdagPredictLn(const float *embedding, int arm);
extern void NdagInstantLearn(int context, int mechanism, const float *embedding,
							 int arm, double exec_ms);

/* learned_state.c: start-up, shared deltas, the learner's merge, status */
extern void NdagLearnedStateInit(void);
extern Size NdagLearnedShmemSize(void);
extern void NdagLearnedShmemInit(void);
extern int	NdagLearnedMergePending(void);
extern void NdagLearnedStatusCounters(void *state);

/* ---------- plan rewriting: decision.c, replan.c, embedding_cache.c, query_memory.c ---------- */

extern double ndag_min_latency;			/* ruvector.dag_min_latency, ms */
extern double ndag_min_cost;			/* ruvector.dag_min_cost */
extern double ndag_exploration;			/* ruvector.dag_exploration */
extern bool ndag_regression_guard;		/* ruvector.dag_regression_guard */
extern int	ndag_max_candidates;		/* ruvector.dag_max_candidates */
extern double ndag_confidence_threshold;	/* ruvector.dag_confidence_threshold */
extern int	ndag_embedding_cache_size;	/* ruvector.dag_embedding_cache_size */

#define NDAG_MAX_ARMS			64	/* arms the rewriter may use (bit masks) */

/* where the arm of a plan came from */
typedef enum NdagDecisionSource
{
	NDAG_DECISION_DEFAULT,
	NDAG_DECISION_BTSP,
	NDAG_DECISION_PATTERN,
	NDAG_DECISION_EXPLORE
} NdagDecisionSource;

/*
 * The decision taken for one planning: the arm planned, why, and the
 * decision embedding of the default plan (the one trajectories record, so
 * that runs of a query under different arms fall into the same pattern).
 */
typedef struct NdagDecision
{
	int			source;			/* NdagDecisionSource */
	int			arm;
	int64		pattern_id;		/* 0: none */
	double		similarity;		/* cosine to the pattern, NaN: none */
	double		confidence;		/* of the pattern, NaN: none */
	double		predicted_ms;	/* cost model, executed arm; NaN: none */
	double		baseline_ms;	/* default arm: observed mean, else predicted; NaN */
	bool		cache_hit;
	uint64		shape;			/* NdagPlanShapeHash of an arm's plan, 0 default */
	int			extra_plannings;	/* plannings besides the one executed */
	bool		has_embedding;
	int16		mechanism;		/* of the embedding */
	int			context;		/* attention context of the default DAG */
	float4		embedding[NDAG_TRAJ_EMBED_DIM];
} NdagDecision;

extern const char *NdagDecisionSourceName(int source);

struct Query;
struct ParamListInfoData;

/* planner_hook.c */
extern struct PlannedStmt *NdagPlanDefault(struct Query *parse,
										   const char *query_string,
										   int cursorOptions,
										   struct ParamListInfoData *boundParams);
extern bool NdagPlanDecision(const struct PlannedStmt *stmt,
							 NdagDecision *decision);
extern bool NdagPlanDecisionByShape(uint64 query_id, uint64 shape,
									NdagDecision *decision);

/* decision.c: the planner hook's work on an eligible statement */
extern struct PlannedStmt *NdagPlanAndDecide(struct Query *parse,
											 const char *query_string,
											 int cursorOptions,
											 struct ParamListInfoData *boundParams,
											 NdagDecision *decision,
											 bool *decided);
extern void NdagDecisionObserve(uint64 query_id, const NdagDecision *decision,
								double exec_ms);

/* replan.c: planning under an arm */
typedef struct NdagArm
{
	int			arm_id;
	char	   *name;
	struct List *settings;		/* NdagArmSetting */
} NdagArm;

extern const NdagArm *NdagArmGet(int arm_id);
extern uint64 NdagArmsEnabledMask(void);
extern struct PlannedStmt *NdagPlanUnderArm(const NdagArm *arm,
											struct Query *parse,
											const char *query_string,
											int cursorOptions,
											struct ParamListInfoData *boundParams);
extern uint64 NdagPlanShapeHash(const struct PlannedStmt *stmt);

/* embedding_cache.c: per-backend LRU of decisions */
typedef struct NdagCacheEntry
{
	uint64		query_id;		/* hash key, with dbid */
	Oid			dbid;
	uint64		generation;		/* store generation when decided */
	uint64		epoch;			/* tables and rewrite epochs when decided */
	bool		worth;			/* exploration may pay off (learn mode) */
	double		default_cost;
	NdagDecision decision;
} NdagCacheEntry;

extern NdagCacheEntry *NdagCacheLookup(uint64 query_id, uint64 generation,
									   uint64 epoch);
extern NdagCacheEntry *NdagCacheStore(uint64 query_id, uint64 generation,
									  uint64 epoch);
extern NdagCacheEntry *NdagCachePeek(uint64 query_id);
extern void NdagCacheForget(uint64 query_id);

/* query_memory.c: shared per-query state */
typedef enum NdagRewriteCounter
{
	NDAG_RW_CACHE_HITS,
	NDAG_RW_CACHE_MISSES,
	NDAG_RW_DECIDED_DEFAULT,
	NDAG_RW_DECIDED_BTSP,
	NDAG_RW_DECIDED_PATTERN,
	NDAG_RW_DECIDED_EXPLORE,
	NDAG_RW_EXTRA_PLANNINGS,
	NDAG_RW_DEMOTIONS,
	NDAG_RW_FALLBACKS,
	NDAG_N_RW_COUNTERS
} NdagRewriteCounter;

#define NDAG_QM_NO_BTSP			(-2)	/* btsp_arm: nothing remembered */

/* A copy of one query's shared state. */
typedef struct NdagQueryStats
{
	uint32		default_n;
	double		default_mean_ms;
	uint32		total;			/* decisions that considered exploring */
	uint32		explored;
	uint64		same_mask;		/* arms planning like the default (or another arm) */
	uint64		planned_mask;	/* arms planned once for this query */
	uint64		demoted_mask;
	int			btsp_arm;		/* arm, NDAG_BTSP_EXPLORE or NDAG_QM_NO_BTSP */
	double		btsp_weight;
	uint32		arm_n[NDAG_MAX_ARMS];
	float4		arm_mean_ln[NDAG_MAX_ARMS];
} NdagQueryStats;

/* What one observed execution changed. */
typedef struct NdagQueryObserved
{
	bool		demoted;		/* the arm was demoted now */
	bool		btsp_stored;
	bool		btsp_forgot;
	bool		vetoed;			/* an applied arm measured not faster than the baseline */
	double		baseline_ms;	/* default mean before this run, NaN none */
} NdagQueryObserved;

extern Size NdagQueryMemoryShmemSize(void);
extern void NdagQueryMemoryShmemRequest(void);
extern void NdagQueryMemoryShmemInit(void);
extern uint64 NdagRewriteEpoch(void);
extern void NdagRewriteCount(NdagRewriteCounter counter, uint64 n);
extern void NdagRewriteStatusCounters(void *state);
extern bool NdagQueryMemoryGet(Oid dbid, uint64 query_id, NdagQueryStats *out);
extern bool NdagQueryMemoryExploreTurn(Oid dbid, uint64 query_id,
									   double fraction, uint64 enabled);
extern void NdagQueryMemoryMarkPlanned(Oid dbid, uint64 query_id, int arm,
									   bool same);
extern void NdagQueryMemoryObserve(Oid dbid, uint64 query_id, int arm,
								   int source, double exec_ms,
								   double predicted_default_ln,
								   double fallback_baseline_ms,
								   NdagQueryObserved *out);

/* ---------- sampling.c ---------- */

extern bool NdagSampleStatement(uint64 query_id);
extern bool NdagSampleTiming(void);
extern void NdagNoteLatency(uint64 query_id, double exec_ms);

#endif							/* NDAG_HOOKS_H */
