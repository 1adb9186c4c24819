/*-------------------------------------------------------------------------
 *
 * recording.h
 *	  Recording: what a statement's execution leaves behind.  The executor
 *	  hooks choose and instrument executions, a trajectory (plan DAG with
 *	  actuals, attention scores, embedding, the planner's decision) goes
 *	  into a shared ring, and the flush drains the ring into the store for
 *	  the learner.  EXPLAIN shows the section of the execution just
 *	  recorded, and dropped objects leave the store.
 *
 *	executor_hooks.c	ExecutorStart/Run/Finish/End: which executions are
 *						recorded, their instrumentation, the recording
 *	sampling.c			which statements are recorded (sample rates)
 *	fast_statements.c	the statements' recordings counted and their mean
 *						latencies, shared: a statement is known to be fast
 *						in every backend, a new one too
 *	trajectory.c		one detailed execution -> one ring entry; every
 *						recorded execution feeds the planner's query memory
 *	ring.c				the fixed-size shared ring of trajectories
 *	flush.c				ring -> store, latency baselines, ruvector_dag_flush(),
 *						the recording counters of ruvector_dag_status()
 *	explain_section.c	the "Neural DAG" section of EXPLAIN (decision and, with
 *						ANALYZE, the execution's recording)
 *	explain_option.c	from PostgreSQL 18: EXPLAIN (NEURAL_DAG) and the section
 *						through PostgreSQL's per-plan EXPLAIN hook
 *	explain_driver.c	before 18: an ExplainOneQuery hook that explains the
 *						query as PostgreSQL does and appends the section
 *	drop_tracking.c		dropped tables, databases and the extension leave the
 *						store (the ring is flushed before a database is cleared)
 *	recorded.c			recorded executions read back from the store
 *	execution_picture.c	ruvector_dag_visualize() of a recorded execution: the
 *						default and the arm's plan side by side
 *	history_sql.c		ruvector_dag_history(): a statement's recorded
 *						executions over time
 *
 * Uses core/, plandag/, learning/, planner/ (the decision it records) and
 * shadow/ (the capture of statements to re-run).
 * Includers include postgres.h first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_RECORDING_H
#define NDAG_RECORDING_H

#include "datatype/timestamp.h"
#include "plandag/plandag.h"

/* ---------- constants ---------- */

/* a recorded plan keeps its first NDAG_TRAJ_MAX_NODES nodes */
#define NDAG_TRAJ_MAX_NODES		48
#define NDAG_TRAJ_MAX_PARENTS	4	/* consumers kept per node */
#define NDAG_TRAJ_MAX_RELIDS	16	/* relations kept per statement */
#define NDAG_TRAJ_MAX_INDEXES	8	/* indexes kept per statement */

/* ---------- types ---------- */

struct PlannedStmt;
struct QueryDesc;

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

/* ---------- ring.c: the fixed-size ring of trajectories ---------- */

extern Size NdagRingShmemSize(void);
extern void NdagRingShmemInit(void);
extern bool NdagRingPut(const NdagRingEntry *traj);
extern int	NdagRingTake(NdagRingEntry *out, int max);
extern void NdagRingUsage(uint64 *used, uint64 *capacity);

/* ---------- executor_hooks.c, sampling.c ---------- */

extern void NdagInstallExecutorHooks(void);
extern struct QueryDesc *NdagDetailedRecordingOf(const struct PlannedStmt *stmt);
extern uint64 NdagFastStatementKey(const struct PlannedStmt *stmt);
extern bool NdagSampleStatement(const struct PlannedStmt *stmt);
extern bool NdagSampleUnlessFast(const struct PlannedStmt *stmt);
extern bool NdagSampleDetail(const struct PlannedStmt *stmt);
extern bool NdagSampleTiming(void);

/* ---------- fast_statements.c: shared statement latencies ---------- */

extern Size NdagFastStatementsShmemSize(void);
extern void NdagFastStatementsShmemInit(void);
extern bool NdagFastStatementMean(uint64 query_id, uint32 *count,
								  double *mean_ms);
extern void NdagFastStatementNote(uint64 query_id, double exec_ms);

/* ---------- trajectory.c: one execution into the ring ---------- */

/* what EXPLAIN ANALYZE shows of an execution's recording */
typedef struct NdagRecordingFigures
{
	int			mechanism;		/* attention mechanism of the embedding */
	int			n_nodes;		/* nodes of the plan */
	double		embedding_norm;
	double		exec_ms;		/* the execution's latency */
} NdagRecordingFigures;

extern bool NdagTimedApart(const struct QueryDesc *queryDesc);
extern void NdagRecordExecution(struct QueryDesc *queryDesc, double planning_us,
								bool detailed);
#if defined(NDAG_EXPLAIN_EXTENSIONS) && !NDAG_EXPLAIN_EXTENSIONS
/* before PostgreSQL 18 only (compat/compat_explain.h, included first) */
extern bool NdagLastRecording(const struct PlannedStmt *stmt,
							  NdagRecordingFigures *figures);
#endif
extern bool NdagUnfinishedRecording(struct PlannedStmt *stmt,
									NdagRecordingFigures *figures);

/* ---------- flush.c: ring -> store ---------- */

extern Size NdagBaselineShmemSize(void);
extern void NdagBaselineShmemInit(void);
extern int64 NdagFlush(void);
extern void NdagRecordingStatusCounters(void *state);

/* ---------- explain_section.c: the "Neural DAG" section of EXPLAIN ---------- */

struct ExplainState;
typedef struct NdagExplainFigures NdagExplainFigures;

extern NdagExplainFigures *NdagExplainDescribe(struct PlannedStmt *plan,
											   struct ExplainState *es,
											   bool any_statement,
											   bool execution_ended);
extern void NdagExplainOpenSection(struct ExplainState *es);
extern void NdagExplainProperties(struct ExplainState *es,
								  const NdagExplainFigures *fig);
extern void NdagExplainCloseSection(struct ExplainState *es);

/* ---------- explain_driver.c or explain_option.c, drop_tracking.c ---------- */

extern void NdagInstallExplainHook(void);
extern void NdagInstallDropTracking(void);

/* ---------- recorded.c: recorded executions read back ---------- */

/* One plan node of a recorded execution (a row of ndag_attention). */
typedef struct NdagRecordedNode
{
	int			node_id;		/* 0 is the top of the plan */
	int			nparents;
	int32	   *parents;		/* consumers' node ids */
	char	   *node_type;
	Oid			relation;		/* InvalidOid: none */
	double		est_rows;		/* per loop */
	double		actual_rows;	/* per loop; NaN: never executed */
	double		loops;			/* NaN: never executed */
	double		self_ms;		/* over all loops; NaN: not timed */
} NdagRecordedNode;

/* One recorded execution (a row of ndag_trajectories) and its nodes. */
typedef struct NdagRecorded
{
	int64		traj_id;
	TimestampTz recorded_at;
	int64		query_id;
	int32		arm;
	char	   *decision;		/* decision source; NULL: unknown */
	int64		pattern_id;		/* 0: none */
	double		exec_ms;
	double		planning_ms;	/* 0 when a cached plan was reused */
	int			n_nodes;
	NdagRecordedNode *nodes;	/* NULL until NdagRecordedLoadNodes */
} NdagRecorded;

extern struct List *NdagRecordedOfQuery(int64 query_id);
extern NdagRecorded *NdagRecordedGet(int64 traj_id);
extern void NdagRecordedLoadNodes(NdagRecorded *rec);
extern char *NdagRecordedArmName(int32 arm_id);

#endif							/* NDAG_RECORDING_H */
