/*-------------------------------------------------------------------------
 *
 * shadow.h
 *	  Shadow exploration: the plain SELECTs whose arms are still open are
 *	  captured (text, bound parameters, search_path, role) into a bounded
 *	  shared queue, and a background worker re-runs each of them as its
 *	  role, read-only, in pairs default plan / candidate arm, feeding each
 *	  pair to the query memory's paired comparison.
 *
 *	shadow_queue.c		the shared queue of captured statements (weights,
 *						eviction of the lightest), the capture at
 *						ExecutorEnd, whose turn it is (the slice of entries
 *						a launch serves, the database and role served least
 *						recently next), the counters of ruvector_dag_status()
 *	shadow_entry.c		the layout of an entry: the search_path, then up to
 *						NDAG_SHADOW_CAPTURES captures (text, parameters)
 *	shadow_run.c		one entry's shadow run: parse and check again, plan
 *						the default and each open arm, run the pairs
 *	shadow_capacity.c	whether the machine has spare capacity (load), and
 *						the account of shadow time (refilled at the budget,
 *						charged with the CPU time the runs took)
 *
 * Uses core/ and planner/.  Includers include postgres.h first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_SHADOW_H
#define NDAG_SHADOW_H

#include "datatype/timestamp.h"
#include "storage/spin.h"
#include "planner/planner.h"

/* ---------- constants ---------- */

#define NDAG_SHADOW_QUEUE_ENTRIES	32	/* statements waiting at most */
#define NDAG_SHADOW_ENTRY_BYTES		8192	/* search_path, texts, parameters */
#define NDAG_SHADOW_CAPTURES		4	/* parameter sets an entry keeps, run in turn */
#define NDAG_SHADOW_SLICE_ENTRIES	4	/* entries one worker launch serves at most */
#define NDAG_SHADOW_ACCOUNT_S		60	/* the account holds at most this many seconds of the budget */

/* ---------- types ---------- */

/* the counters of ruvector_dag_status() */
typedef enum NdagShadowCounter
{
	NDAG_SHADOW_CAPTURED,		/* executions captured (queued or weighed in) */
	NDAG_SHADOW_RUNS,			/* entries run */
	NDAG_SHADOW_PAIRS,			/* pairs default / arm measured */
	NDAG_SHADOW_DEFAULT_RUNS,	/* runs of the default plan they were measured against */
	NDAG_SHADOW_BRACKETS,		/* brackets: arm runs between two default runs */
	NDAG_SHADOW_TIMEOUTS,		/* runs stopped by their timeout */
	NDAG_SHADOW_ERRORS,			/* entries whose run failed (privileges, objects gone) */
	NDAG_SHADOW_SKIPPED,		/* entries dropped unrun or cut short */
	NDAG_SHADOW_MS,				/* time spent in shadow runs, ms */
	NDAG_SHADOW_SERIAL_PAIRS,	/* pairs screened without parallel workers */
	NDAG_SHADOW_DEFERRED,		/* entries passed over: default run above what the account holds */
	NDAG_SHADOW_LAUNCHES,		/* shadow workers launched */
	NDAG_SHADOW_DECIDED,		/* entries dropped unrun: every arm decided meanwhile */
	NDAG_SHADOW_CPU_MS,			/* CPU time the account was charged, ms */
	NDAG_SHADOW_YIELDED,		/* runs that proved an arm and gave way, arms still open */
	NDAG_SHADOW_SCREENED,		/* arms faster in serial pairs, then paired as users run them */
	NDAG_SHADOW_WORKER_WAITS,	/* parallel workers of shadow runs that reported their CPU waits */
	NDAG_N_SHADOW_COUNTERS
} NdagShadowCounter;

/*
 * One captured statement class: who ran it where, its class, and in
 * data[] the session's search_path, '\0', then each capture: its own
 * text, '\0', its bound parameters (SerializeParamList) (shadow_entry.c)
 */
typedef struct NdagShadowEntry
{
	Oid			dbid;
	Oid			userid;			/* GetUserId() when it ran */
	uint64		query_id;
	uint64		klass;			/* parameter class (NdagDecision.klass) */
	double		weight_ms;		/* default-plan time seen while queued */
	int			turns;			/* its runs that gave way (shadow_run.c) */
	double		default_ms;		/* the longest capture's time */
	TimestampTz enqueued_at;
	uint32		launch;			/* the worker launch it waits for, 0 none */
	uint64		resets_at_take; /* the resets committed when it was taken */
	int			path_len;
	int			ncaptures;		/* captures held */
	int			next_capture;	/* the one a new capture replaces once full */
	int			capture_len[NDAG_SHADOW_CAPTURES];	/* text, '\0', parameters */
	int			text_len[NDAG_SHADOW_CAPTURES];
	uint32		capture_hash[NDAG_SHADOW_CAPTURES];
	double		capture_ms[NDAG_SHADOW_CAPTURES];	/* its latest execution's time */
	char		data[NDAG_SHADOW_ENTRY_BYTES];
} NdagShadowEntry;

/*
 * The shadow runs' own share of the load average: an exponential average
 * over a minute, as the kernel's, of the processes they kept running
 * (shadow_capacity.c; written by the one shadow worker running)
 */
typedef struct NdagShadowLoad
{
	double		processes;		/* the average */
	TimestampTz at;				/* when it was last brought up to date */
} NdagShadowLoad;

/*
 * The account of shadow time, in ms of CPU: refilled at the budget of the
 * moment (NdagShadowBudget) times the wall-clock time, up to
 * NDAG_SHADOW_ACCOUNT_S seconds of it, and debited with each round's busy
 * time times the processes it kept running (shadow_capacity.c; at == 0:
 * never used, full).  mutex guards both fields.
 */
typedef struct NdagShadowAccount
{
	slock_t		mutex;
	double		balance_ms;		/* may go below 0 after a round */
	TimestampTz at;				/* when it was last refilled */
} NdagShadowAccount;

/* what a worker is told at launch (bgw_extra) */
typedef struct NdagShadowLaunch
{
	Oid			dbid;
	Oid			userid;
	uint32		launch;
} NdagShadowLaunch;

/*
 * Called by a shadow run after each transaction of pairs with the time it
 * was busy, the processes it kept running meanwhile and the CPU time it
 * took (its own and its parallel workers'); returns false when
 * the run must stop (shutdown, no spare capacity).  The worker sleeps in
 * it to keep within its budget.
 */
typedef bool (*NdagShadowPace) (double busy_ms, double processes,
								double cpu_ms, void *arg);

struct QueryDesc;

/* ---------- shadow_queue.c ---------- */

extern Size NdagShadowShmemSize(void);
extern void NdagShadowShmemRequest(void);
extern void NdagShadowShmemInit(void);
extern void NdagShadowCapture(struct QueryDesc *queryDesc,
							  const NdagDecision *decision, double exec_ms);
extern void NdagShadowUnassign(uint32 launch);
extern int	NdagShadowDropAssigned(uint32 launch);
extern bool NdagShadowTake(uint32 launch, double available_ms,
						   double capacity_ms, NdagShadowEntry *out);
extern void NdagShadowReset(Oid dbid);
extern void NdagShadowRequeue(const NdagShadowEntry *entry);
extern bool NdagShadowResetSince(const NdagShadowEntry *entry);
extern bool NdagShadowOthersWait(const NdagShadowEntry *entry, int most_turns,
								 double least_ms);
extern void NdagShadowCount(NdagShadowCounter counter, uint64 n);
extern void NdagShadowStatusCounters(void *state);
extern NdagShadowLoad *NdagShadowOwnLoad(void);
extern NdagShadowAccount *NdagShadowOwnAccount(void);
extern bool NdagShadowNextToServe(Oid *dbid, Oid *userid);
extern uint32 NdagShadowAssign(Oid dbid, Oid userid);

/* ---------- shadow_entry.c ---------- */

extern bool NdagShadowEntryInit(NdagShadowEntry *e, const char *path);
extern bool NdagShadowEntryAddCapture(NdagShadowEntry *e, const char *text,
									  int text_len, const char *params,
									  int params_len, double exec_ms);
extern const char *NdagShadowEntryPath(const NdagShadowEntry *e);
extern const char *NdagShadowEntryText(const NdagShadowEntry *e, int c);
extern struct ParamListInfoData *NdagShadowEntryParams(const NdagShadowEntry *e,
													  int c);

/* ---------- shadow_run.c ---------- */

extern bool NdagShadowRunEntry(NdagShadowEntry *entry, NdagShadowPace pace,
							   void *pace_arg);
extern void NdagShadowSessionSettings(void);

/* ---------- shadow_cpus.c ---------- */

extern int	NdagMachineCpus(void);
extern int	NdagShadowCpus(void);

/* ---------- shadow_capacity.c ---------- */

extern double NdagShadowBudget(void);
extern double NdagShadowAccountCapacityMs(void);
extern double NdagShadowAccountAvailableMs(void);
extern void NdagShadowAccountSpend(double cpu_ms);
extern void NdagShadowAccountLoad(double processes);
extern double NdagShadowOwnLoadNow(void);
extern double NdagShadowProcessCpuMs(void);

/* ---------- shadow_cpu_waits.c ---------- */

/* a shadow run's process's readings at its start */
typedef struct NdagShadowWaits
{
	bool		known;			/* the kernel said */
	uint64		running_ns;
	uint64		queued_ns;
} NdagShadowWaits;

extern Size NdagShadowWaitsShmemSize(void);
extern void NdagShadowWaitsShmemInit(void);
extern void NdagShadowWaitsBegin(NdagShadowWaits *w);
extern double NdagShadowWaitsLoadMs(const NdagShadowWaits *w, int workers,
									double wall_ms);
extern double NdagShadowWaitsWorkersMs(int workers);
extern void NdagShadowWorkerStart(void);
extern void NdagShadowWorkerEnd(void);

#endif							/* NDAG_SHADOW_H */
