/*-------------------------------------------------------------------------
 *
 * workers.h
 *	  The background workers and the SQL functions that run one of their
 *	  cycles now, in the calling backend.
 *
 *	learner.c			"neural_dag learner": drains the ring into the store
 *						about once a second, runs the learning cycle of each
 *						database, merges the instant loop's deltas
 *	healing_worker.c	the self-healing launcher and the healers it starts,
 *						one per database, as one role
 *	shadow_worker.c		the shadow workers (shadow exploration), one at a
 *						time, launched by the learner for the database and
 *						role of the heaviest captured statement
 *	worker_guard.c		a worker that keeps crashing is not started again
 *	worker_define.c		the definition every worker of this library shares
 *	learn_sql.c			ruvector_dag_learn() and the HDC functions
 *	healing_sql.c		ruvector_dag_heal()
 *
 * Uses core/, healing/, learning/, shadow/ and recording/ (the flush).  Includers
 * include postgres.h first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_WORKERS_H
#define NDAG_WORKERS_H

#include "healing/selfheal.h"

/* ---------- types ---------- */

struct BackgroundWorkerHandle;

/* the workers worker_guard.c watches */
typedef enum NdagGuardedWorker
{
	NDAG_WORKER_LEARNER,
	NDAG_WORKER_HEALING_LAUNCHER,
	NDAG_WORKER_HEALER,
	NDAG_WORKER_SHADOW,
	NDAG_N_GUARDED
} NdagGuardedWorker;

/* ---------- worker_guard.c: workers that keep crashing are not started again ---------- */

extern Size NdagWorkerGuardShmemSize(void);
extern void NdagWorkerGuardShmemInit(void);
extern void NdagWorkerGuardEnter(NdagGuardedWorker kind);

/* ---------- database_list.c: the databases a worker may work on ---------- */

struct FormData_pg_database;
typedef void (*NdagDatabaseFunc) (struct FormData_pg_database *db, void *arg);
extern void NdagForEachDatabase(NdagDatabaseFunc fn, void *arg);

/* ---------- learner.c: the learner worker ---------- */

struct BackgroundWorker;
extern void NdagWorkerDefine(struct BackgroundWorker *worker, const char *type,
							 const char *function, int restart_s);
extern void NdagRegisterStaticWorker(const char *name, const char *function,
									 int restart_s);
extern void NdagRegisterLearner(void);

/* ---------- healing_worker.c: healer and launcher workers ---------- */

extern void NdagRegisterHealingLauncher(void);
extern void NdagHealParamsFromGucs(NdagHealParams *params, Oid userid);
extern struct BackgroundWorkerHandle *NdagLaunchHealer(Oid dbid,
													   const NdagHealParams *params);

/* ---------- shadow_worker.c: shadow workers, launched by the learner ---------- */

extern void NdagShadowLaunchStep(void);

#endif							/* NDAG_WORKERS_H */
