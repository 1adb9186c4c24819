/*-------------------------------------------------------------------------
 *
 * planner.h
 *	  Planning decisions: the planner hook plans each eligible statement
 *	  through a decision (the default plan, an arm a pattern or BTSP
 *	  remembers, or exploration), plans it again under that arm's planner
 *	  settings when it is not the default, and learns from each execution
 *	  which arms regress.
 *
 *	planner_hook.c		the planner hook; the planning time and decision kept
 *						beside each PlannedStmt for the executor and EXPLAIN
 *	decision.c			which arm plans a statement on an enabled table
 *	replan.c			the arms catalogue; planning under an arm in a GUC
 *						nest level of its own; the shape hash of a plan;
 *						plans forced past disable_cost
 *	embedding_cache.c	per-backend LRU of decisions by (queryId, database),
 *						a few parameter classes each
 *	param_class.c		runtime parameter classes: the rows bucket each
 *						parameter set's default plan produced
 *	query_memory.c		shared per-query state: baselines, per-arm statistics,
 *						exploration budget, demotions, BTSP entries, the
 *						DBA's controls (pin, forbidden arms, frozen)
 *	query_store.c		that state in the store (ndag_queries): flush, load,
 *						committed edits, validation of the controls
 *	rewrite_counters.c	the rewriter's counters, striped over cache lines
 *	shadowable.c		which statements shadow exploration may re-run
 *	advice_sql.c		ruvector_dag_advice(): statements with a proven arm
 *	regression_guard.c	what an execution teaches: demotions of arms that
 *						regress (recorded as self-healing events), the
 *						instant loop, the cache
 *
 * Uses core/, plandag/, healing/ and learning/ (the learned state it
 * decides with).  Includers include postgres.h first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_PLANNER_H
#define NDAG_PLANNER_H

#include "datatype/timestamp.h"

#include "plandag/plandag.h"

/* ---------- constants ---------- */

#define NDAG_MAX_ARMS			64	/* arms the rewriter may use (bit masks) */

/* ---------- types ---------- */

struct List;
struct PlannedStmt;

/* where the arm of a plan came from */
typedef enum NdagDecisionSource
{
	NDAG_DECISION_DEFAULT,
	NDAG_DECISION_PROVEN,		/* proven faster by paired runs on this statement */
	NDAG_DECISION_PATTERN,
	NDAG_DECISION_EXPLORE,
	NDAG_DECISION_PINNED		/* the DBA pinned the arm (ndag_queries) */
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
	double		predicted_default_ms;	/* cost model, default plan; NaN: none */
	double		baseline_ms;	/* default arm: observed median, else predicted; NaN */
	double		gain;			/* measured speed-up of the arm: paired, or the pattern's; NaN */
	bool		cache_hit;
	uint64		shape;			/* NdagPlanShapeHash of an arm's plan, 0 default */
	int			extra_plannings;	/* plannings besides the one executed */
	bool		has_embedding;
	int16		mechanism;		/* of the embedding */
	int			context;		/* attention context of the default DAG */
	float4		embedding[NDAG_TRAJ_EMBED_DIM];
	uint64		klass;			/* parameter class: NdagParamClass of the default
								 * plan's shape and the rows bucket */
	uint64		default_shape;	/* NdagPlanShapeHash of the default plan */
	uint64		param_hash;		/* NdagParamSetHash of its constants */
	int			rows_bucket;	/* of its parameter set, 0 not measured */
	bool		measure_class;	/* count the default plan's rows for the bucket */
	bool		shadow_capture; /* ran the default; shadow exploration wants its text */
	bool		shadow_if_slow; /* ... if it runs over ruvector.dag_min_latency */
	bool		validation;		/* the default plan run to pair an arm with */
	int			final_against;	/* a proven arm run against the applied arm
								 * (this one), in their final: 0 none */
} NdagDecision;

extern const char *NdagDecisionSourceName(int source);

struct Query;
struct ParamListInfoData;

/* ---------- planner_hook.c ---------- */

extern void NdagInstallPlannerHook(void);
/* what the planner hook plans for */
typedef enum NdagPlanningFor
{
	NDAG_PLANNING_STATEMENT,	/* a statement to run */
	NDAG_PLANNING_EXPLAIN_ANALYZE,	/* an EXPLAIN ANALYZE */
	NDAG_PLANNING_PLAIN_EXPLAIN /* an EXPLAIN that will not run it */
} NdagPlanningFor;

extern int	NdagSetPlanningFor(int what);
extern bool NdagPlanningExplain(void);
extern bool NdagPlanningPlainExplain(void);
extern bool NdagDecisionWantsCapture(uint64 query_id, const NdagDecision *d,
									 double exec_ms);
extern double NdagTakePlanningTime(const struct PlannedStmt *stmt);
extern struct PlannedStmt *NdagPlanDefault(struct Query *parse,
										   const char *query_string,
										   int cursorOptions,
										   struct ParamListInfoData *boundParams);
extern const NdagDecision *NdagPlanDecisionOf(const struct PlannedStmt *stmt);
extern bool NdagPlanDecision(const struct PlannedStmt *stmt,
							 NdagDecision *decision);
extern void NdagPlanDecisionKeep(const struct PlannedStmt *stmt,
								 const NdagDecision *decision);
extern int	NdagPlanRowsBucket(const struct PlannedStmt *stmt);
extern bool NdagPlanDecisionByShape(uint64 query_id, uint64 shape,
									NdagDecision *decision);

/* ---------- decision.c: the planner hook's work on an eligible statement ---------- */
extern struct PlannedStmt *NdagPlanAndDecide(struct Query *parse,
											 const char *query_string,
											 int cursorOptions,
											 struct ParamListInfoData *boundParams,
											 NdagDecision *decision,
											 bool *decided);
extern void NdagDecisionObserve(uint64 query_id, const NdagDecision *decision,
								double exec_ms);
extern void NdagDecisionEmbed(struct PlannedStmt *default_plan, NdagDecision *d);
extern void NdagDecisionPredictDefault(NdagDecision *d);
extern void NdagDecisionStatusCounters(void *state);
extern bool NdagAdvise(struct PlannedStmt *default_plan, NdagDecision *advice);

/* ---------- replan.c: planning under an arm ---------- */
typedef struct NdagArm
{
	int			arm_id;
	char	   *name;
	struct List *settings;		/* NdagArmSetting; parsed by NdagArmGet */
	char	   *settings_text;	/* as stored */
	bool		parsed;			/* settings holds settings_text parsed */
} NdagArm;

extern const NdagArm *NdagArmGet(int arm_id);
extern uint64 NdagArmsEnabledMask(void);
extern void NdagArmStatusCounters(void *state);
extern struct PlannedStmt *NdagPlanUnderArm(const NdagArm *arm,
											struct Query *parse,
											const char *query_string,
											int cursorOptions,
											struct ParamListInfoData *boundParams);
extern uint64 NdagPlanShapeHash(const struct PlannedStmt *stmt);
extern bool NdagPlanForced(const struct PlannedStmt *stmt);
extern double NdagPlanCostRatio(double default_cost,
								const struct PlannedStmt *plan);

/* ---------- embedding_cache.c: per-backend LRU of decisions ---------- */
typedef struct NdagCacheEntry
{
	uint64		query_id;		/* hash key, with dbid */
	Oid			dbid;
	uint64		generation;		/* store generation when decided */
	uint64		epoch;			/* tables and rewrite epochs when decided */
	bool		worth;			/* exploration may pay off (learn mode) */
	bool		may_explore;	/* inline exploration allowed (learn mode) */
	bool		shadow;			/* shadow exploration may capture it */
	bool		shadow_if_slow; /* ... if its run shows it worth it */
	bool		multi_class;	/* several parameter classes: decide each planning */
	int			challenger;		/* proven arm to run against the decision's, 0 none */
	uint64		klass;			/* parameter class decided for */
	int			rows_bucket;	/* ... and its parameter set's rows bucket */
	double		default_cost;
	NdagDecision decision;
} NdagCacheEntry;

/* a statement's slot of the Embedding Cache (embedding_cache.c) */
typedef struct NdagCacheSlot NdagCacheSlot;

extern NdagCacheSlot *NdagCacheCurrent(uint64 query_id, uint64 generation,
									   uint64 epoch);
extern NdagCacheEntry *NdagCacheSettled(NdagCacheSlot *slot);
extern NdagCacheEntry *NdagCacheServing(NdagCacheSlot *slot, int bucket,
										uint32 class_tag);
extern NdagCacheEntry *NdagCacheStore(uint64 query_id, uint64 generation,
									  uint64 epoch, uint64 klass);
extern bool NdagCacheEntryServes(const NdagCacheEntry *e, int bucket,
								 uint32 class_tag);
extern NdagCacheEntry *NdagCacheAdopt(const NdagCacheEntry *published);
extern bool NdagCacheKnown(uint64 query_id);
extern NdagCacheEntry *NdagCachePeek(uint64 query_id, uint64 klass);
extern void NdagCacheKeepEmbedding(uint64 query_id, const NdagDecision *d);
extern bool NdagCacheDecisionByShape(uint64 query_id, uint64 shape,
									 NdagDecision *decision);
extern void NdagCacheForget(uint64 query_id);

/* ---------- shared_decisions.c: decisions shared across backends ---------- */
extern Size NdagSharedDecisionsShmemSize(void);
extern void NdagSharedDecisionsShmemRequest(void);
extern void NdagSharedDecisionsShmemInit(void);
extern bool NdagSharedDecisionGet(uint64 query_id, uint64 generation,
								  uint64 epoch, int bucket, uint32 class_tag,
								  NdagCacheEntry *out);
extern void NdagSharedDecisionPut(const NdagCacheEntry *e);
extern void NdagSharedDecisionsForget(Oid dbid, uint64 query_id);

/* ---------- param_class.c: runtime parameter classes ---------- */
struct PlanState;
extern Size NdagParamClassShmemSize(void);
extern void NdagParamClassShmemInit(void);
extern void NdagParamClassReset(void);
extern uint64 NdagParamSetHash(struct Query *parse,
							   struct ParamListInfoData *boundParams);
extern int	NdagParamBucketGet(Oid dbid, uint64 query_id, uint64 param_hash,
							   uint32 *class_tag);
extern void NdagParamBucketPut(Oid dbid, uint64 query_id, uint64 param_hash,
							   int bucket, uint64 klass);
extern void NdagParamClassSeen(Oid dbid, uint64 query_id, uint64 param_hash,
							   uint64 klass);
extern uint64 NdagParamClass(uint64 shape, int bucket);
extern uint64 NdagParamClassOf(Oid dbid, uint64 query_id, uint64 shape,
							   struct Query *parse,
							   struct ParamListInfoData *params);
extern int	NdagParamRowsBucket(struct PlanState *planstate);
extern uint64 NdagParamClassNow(uint64 query_id, const NdagDecision *d);
extern void NdagParamClassMeasured(uint64 query_id, NdagDecision *d);

/* ---------- rewrite_counters.c: the rewriter's counters ---------- */
typedef enum NdagRewriteCounter
{
	NDAG_RW_CACHE_HITS,
	NDAG_RW_CACHE_MISSES,
	NDAG_RW_DECIDED_DEFAULT,
	NDAG_RW_DECIDED_PROVEN,
	NDAG_RW_DECIDED_PATTERN,
	NDAG_RW_DECIDED_EXPLORE,
	NDAG_RW_EXTRA_PLANNINGS,
	NDAG_RW_DEMOTIONS,
	NDAG_RW_FALLBACKS,
	NDAG_RW_VALIDATIONS,
	NDAG_RW_DECIDED_PINNED,
	NDAG_RW_EXCLUSIVE_TURNS,	/* turns that took the query memory's lock
								 * exclusively */
	NDAG_RW_FINAL_RUNS,			/* runs of a challenger in a final */
	NDAG_RW_FINALS_WON,			/* finals the challenger won */
	NDAG_RW_FINALS_LOST,		/* finals the challenger lost */
	NDAG_RW_CACHE_SHARED_HITS,	/* plannings not in this backend's cache
								 * served by a decision another backend
								 * published (not counted as hits or
								 * misses) */
	NDAG_N_RW_COUNTERS
} NdagRewriteCounter;

extern Size NdagRewriteCountersShmemSize(void);
extern void NdagRewriteCountersShmemInit(void);
extern void NdagRewriteCount(NdagRewriteCounter counter, uint64 n);
extern void NdagRewriteStatusCounters(void *state);

/* ---------- query_memory.c: shared per-query state ---------- */

#define NDAG_QM_NO_BTSP			(-2)	/* btsp_arm: nothing remembered */
#define NDAG_QM_NOT_PINNED		(-1)	/* pinned_arm: none */

/* A copy of one statement class's shared state. */
typedef struct NdagQueryStats
{
	uint32		default_n;
	double		default_ms;		/* median of the latest default runs, NaN none */
	bool		multi_class;	/* the query has other parameter classes too */
	bool		all_loaded;		/* the table holds every class of the query
								 * the store has; set only when the class
								 * itself is missing */
	uint32		total;			/* decisions that drew a turn */
	uint32		explored;
	uint64		same_mask;		/* arms planning like the default (or another arm) */
	uint64		planned_mask;	/* arms planned once for this class */
	uint64		forced_mask;	/* arms whose plan was forced past disable_cost */
	uint64		demoted_mask;	/* arms proven faster, then proven slower */
	int			pinned_arm;		/* DBA: always this arm, NDAG_QM_NOT_PINNED none */
	uint64		forbidden_mask; /* DBA: never these arms */
	bool		frozen;			/* DBA: no exploration */
	int			btsp_arm;		/* candidate arm, NDAG_BTSP_EXPLORE or NDAG_QM_NO_BTSP */
	double		btsp_weight;
	uint32		arm_n[NDAG_MAX_ARMS];
	float4		arm_mean_ln[NDAG_MAX_ARMS];
	float4		arm_cost_ratio[NDAG_MAX_ARMS];	/* estimated cost / default's, 0 unknown */
	uint8		verdict[NDAG_MAX_ARMS]; /* NdagArmVerdict */
	uint32		pair_n[NDAG_MAX_ARMS];	/* pairs with the default */
	float4		pair_speedup[NDAG_MAX_ARMS];	/* their geometric mean speed-up (a proven
												 * arm: re-validation pairs included), NaN
												 * none */
	int			final_winner;	/* proven arm that won the latest final, 0 none */
	uint64		final_lost_mask;	/* proven arms that lost a final */
} NdagQueryStats;

/* What one observed execution or pair changed. */
typedef struct NdagQueryObserved
{
	bool		proven;			/* the arm was proven faster now */
	bool		refuted;		/* the arm was proven not faster now */
	bool		demoted;		/* a proven arm was proven slower now */
	bool		reranked;		/* a proven arm's pair changed which proven arm
								 * ranks first */
	bool		btsp_stored;	/* a BTSP entry other than the live one was stored */
	bool		btsp_forgot;
	int			final_outcome;	/* a final between two proven arms ended now:
								 * 1 the challenger won, -1 it lost; 0 none */
	int			final_pairs;	/* pairs behind the final's outcome */
	double		final_speedup;	/* their geometric mean speed-up of the
								 * challenger over the leader */
	int			pairs;			/* pairs behind the arm's verdict (or validation) */
	double		speedup;		/* their geometric mean speed-up, NaN none */
	double		baseline_ms;	/* median default before this run, NaN none */
} NdagQueryObserved;

/* what an execution runs besides its decision */
typedef enum NdagTurn
{
	NDAG_TURN_DECIDED,			/* the decision */
	NDAG_TURN_DEFAULT,			/* the default plan, to pair the next arm run with */
	NDAG_TURN_EXPLORE,			/* an open arm, paired with the default run before */
	NDAG_TURN_FINAL				/* the challenger, paired with the applied arm's run
								 * before (learn mode, two arms proven) */
} NdagTurn;

extern Size NdagQueryMemoryShmemSize(void);
extern void NdagQueryMemoryShmemRequest(void);
extern void NdagQueryMemoryShmemInit(void);
extern uint64 NdagRewriteEpoch(void);
extern uint64 NdagStatementEpoch(Oid dbid, uint64 query_id);
extern void NdagQueryMemoryStatusCounters(void *state);
extern bool NdagQueryMemoryGet(Oid dbid, uint64 query_id, uint64 klass,
							   NdagQueryStats *out);
extern NdagTurn NdagQueryMemoryTurn(Oid dbid, uint64 query_id, uint64 klass,
									int applied_arm, int applied_source,
									bool may_explore, double fraction,
									int challenger);
extern bool NdagArmExplorable(uint64 same_mask, uint64 forced_mask,
							  float4 cost_ratio, int arm, double max_ratio);
extern void NdagQueryMemoryMarkPlanned(Oid dbid, uint64 query_id, uint64 klass,
									   int arm, bool same, double cost_ratio,
									   bool forced);
extern void NdagQueryMemoryReset(Oid dbid);
extern void NdagQueryMemoryForgetStatement(Oid dbid, uint64 query_id);
extern int64 NdagQueryMemoryCount(Oid dbid);
extern void NdagRewriteEpochBump(void);

/*
 * One statement class as the store keeps it (ndag_queries): what its next
 * planning would do, figures shown, the DBA's controls and the packed
 * statistics the shared table is loaded from.
 */
typedef struct NdagQueryRecord
{
	Oid			dbid;
	uint64		query_id;
	uint64		klass;
	bool		stored;			/* the store had a record of it */
	int			decision_source;	/* NdagDecisionSource */
	int			decision_arm;
	double		default_median_ms;	/* NaN: none */
	int			best_arm;		/* proven faster, largest speed-up; 0 none */
	double		best_arm_ms;	/* its geometric mean ms, NaN none */
	uint32		runs[NDAG_MAX_ARMS];	/* [0] default runs */
	uint64		demoted_mask;
	int			pinned_arm;		/* NDAG_QM_NOT_PINNED: none */
	uint64		forbidden_mask;
	bool		frozen;
	TimestampTz last_used;		/* 0: unknown */
	void	   *state;			/* packed statistics, NULL none */
	Size		state_len;
} NdagQueryRecord;

extern int	NdagQueryMemoryCollect(Oid dbid, uint64 enabled,
								   NdagQueryRecord **out);
extern bool NdagQueryMemoryLoad(const NdagQueryRecord *r);
extern void NdagQueryMemorySync(Oid dbid, const NdagQueryRecord *records,
								int n);
extern uint64 NdagQueryMemoryLoadGeneration(void);
extern void NdagQueryMemoryMarkAllLoaded(Oid dbid, uint64 query_id,
										 uint64 generation);

/* ---------- query_store.c: the query memory in the store (ndag_queries) ---------- */
extern void NdagQueryStoreInit(void);
extern void NdagQueryStoreFlush(Oid dbid);
extern struct LWLock *NdagQueryMemoryFlushLock(void);
extern bool NdagQueryStoreLoad(Oid dbid, uint64 query_id, uint64 klass);
extern void NdagQueryStoreLoadAmong(Oid dbid, uint64 query_id,
									const uint64 *klasses, int n, bool *found);
extern void NdagQueryMemoryForget(Oid dbid);
extern void NdagQueryStoreCommitted(Oid dbid);
extern void NdagQueryControlsCheck(const int *pinned_arm,
								   const int32 *forbidden, int nforbidden);

/* what the paired comparison of an arm with the default plan has shown */
typedef enum NdagArmVerdict
{
	NDAG_VERDICT_OPEN,			/* not enough pairs yet */
	NDAG_VERDICT_FASTER,		/* proven faster than the default plan */
	NDAG_VERDICT_NOT_FASTER		/* proven not faster, or no proof within the most pairs */
} NdagArmVerdict;

/* a statement class with an arm proven faster */
typedef struct NdagQueryClass
{
	uint64		query_id;
	uint64		klass;
	int			best_arm;		/* the proven arm with the largest speed-up */
	double		speedup;		/* its paired geometric mean speed-up */
	int			pairs;
	double		default_ms;		/* median of the latest default runs */
} NdagQueryClass;

extern int	NdagQueryMemoryList(Oid dbid, NdagQueryClass **out);
extern NdagArmVerdict NdagQueryMemoryAddPair(Oid dbid, uint64 query_id,
											 uint64 klass, int arm,
											 double default_ms, double arm_ms,
											 bool arm_timed_out, bool screened);
extern bool NdagQueryMemoryClassesOf(Oid dbid, uint64 query_id,
									 const uint64 *klasses, int n,
									 bool *found);
extern NdagArmVerdict NdagQueryMemoryRefute(Oid dbid, uint64 query_id,
											uint64 klass, int arm);
extern NdagArmVerdict NdagQueryMemoryVerdict(Oid dbid, uint64 query_id,
											 uint64 klass, int arm);
extern uint64 NdagQueryMemoryOpenArms(Oid dbid, uint64 query_id, uint64 klass,
									  uint64 enabled);
extern uint64 NdagQueryMemoryLeadingArms(Oid dbid, uint64 query_id,
										 uint64 klass, uint64 mask);
extern uint64 NdagQueryMemoryProvenElsewhere(Oid dbid, uint64 query_id,
											 uint64 klass);
extern uint64 NdagQueryMemoryFavoredArms(Oid dbid);

/* ---------- shadowable.c: statements shadow exploration may re-run ---------- */
extern bool NdagShadowable(const struct Query *parse);
extern void NdagQueryMemoryObserve(Oid dbid, uint64 query_id, uint64 klass,
								   int arm, double exec_ms,
								   double predicted_default_ln,
								   NdagQueryObserved *out);

#endif							/* NDAG_PLANNER_H */
