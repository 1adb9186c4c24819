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

extern void NdagDefineGucs(void);

/* ---------- neural_dag.c: module start-up ---------- */

extern bool ndag_preloaded;				/* _PG_init ran from shared_preload_libraries */
extern void NdagRequirePreload(void);

/* ---------- privileges.c ---------- */

extern bool NdagIsAdmin(Oid roleid);
extern void NdagRequireAdmin(const char *action);
extern bool NdagCanReadQueries(Oid roleid);
extern void NdagRequireReadQueries(const char *relname);

/* ---------- store_functions.c ---------- */

/*
 * ruvector_dag_status() calls this hook, if set, while it builds its
 * "counters" object; the hook calls NdagStatusAddCounter(state, name,
 * value) once per counter.
 */
typedef void (*NdagStatusCountersHook) (void *state);
extern NdagStatusCountersHook ndag_status_counters_hook;
extern void NdagStatusAddCounter(void *state, const char *name, int64 value);

/* ---------- plan_dag.c ---------- */

extern NdagPlanDag *NdagPlanDagBuild(struct PlannedStmt *stmt,
									 struct PlanState *planstate);
extern const char *NdagPlanNodeName(const struct Plan *plan);

/* ---------- attention_state.c: this backend's selector and traces ---------- */

struct NdagAttnParams;

extern int	NdagAttentionContext(const struct NdagDag *dag);
extern int	NdagParseMechanism(const char *name);
extern int	NdagChooseMechanism(const struct NdagDag *dag, int requested,
								bool explore);
extern void NdagAttentionParams(const struct NdagDag *dag,
								struct NdagAttnParams *params);
extern double *NdagComputeScores(const struct NdagDag *dag, int mechanism);

/* ---------- attention_sql.c: planning a query text ---------- */

extern char *NdagTextArg(FunctionCallInfo fcinfo, int argno, const char *what);
extern struct PlannedStmt *NdagPlanQueryText(const char *query_text);
extern NdagPlanDag *NdagPlanQueryDag(FunctionCallInfo fcinfo, int argno);
extern Oid	NdagNodeRelation(const NdagPlanDag *pd, int v);

#endif							/* NDAG_HOOKS_H */
