/*-------------------------------------------------------------------------
 *
 * plandag.h
 *	  The bridge from PostgreSQL plans to the engine: a PlannedStmt becomes
 *	  the engine's DAG, which this backend's attention state scores and
 *	  embeds.  Recording, learning and planning all see plans this way.
 *
 *	plan_dag.c			PlannedStmt (and its PlanState, with actuals) ->
 *						engine DAG; node names and the index a node scans
 *	attention_state.c	this backend's UCB selector over the attention
 *						mechanisms, its temporal traces, and the mechanism
 *						parameters the GUCs give
 *	attention_sql.c		SQL functions that plan a query text (never run it)
 *						and return its attention scores and minimum cut
 *	visualize.c			ruvector_dag_visualize(): the scored plan DAG as
 *						Graphviz dot, Mermaid or JSON; the formats and label
 *						escaping the pictures of recorded executions share
 *
 * Uses core/.  Includers include postgres.h first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_PLANDAG_H
#define NDAG_PLANDAG_H

#include "fmgr.h"

/* ---------- constants ---------- */

/* size of a plan embedding as decided on and recorded (NDAG_EMBED_DIM) */
#define NDAG_TRAJ_EMBED_DIM		64

/* ---------- types ---------- */

struct NdagDag;
struct NdagAttnParams;
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

/* ---------- plan_dag.c ---------- */

extern NdagPlanDag *NdagPlanDagBuild(struct PlannedStmt *stmt,
									 struct PlanState *planstate);
extern const char *NdagPlanNodeName(const struct Plan *plan);
extern Oid	NdagPlanIndexOid(const struct Plan *plan);

/* ---------- attention_state.c: this backend's selector and traces ---------- */

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

/* ---------- visualize.c: pictures of plans ---------- */

typedef enum NdagVisualFormat
{
	VISUAL_DOT,
	VISUAL_MERMAID,
	VISUAL_JSON
} NdagVisualFormat;

extern NdagVisualFormat NdagVisualParseFormat(const char *format);
extern void NdagVisualAppendEscaped(struct StringInfoData *out,
									const char *text,
									NdagVisualFormat format);

#endif							/* NDAG_PLANDAG_H */
