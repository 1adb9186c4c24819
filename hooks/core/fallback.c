/*-------------------------------------------------------------------------
 *
 * fallback.c
 *	  Learning failed, the statement goes on: the one guarded call that
 *	  runs a learning step for a user's statement (DESIGN.md section 11).
 *
 * NdagFallbackRun runs a step inside PG_TRY.  An error it raises is
 * re-thrown when it must end the statement or the process:
 *
 *	- FATAL and PANIC (they never reach a PG_CATCH; checked all the same),
 *	  and any error raised while the caller was in a critical section
 *	  (errstart makes it a PANIC: out of memory there included);
 *	- class 57, operator intervention: query cancel and statement_timeout,
 *	  termination (pg_terminate_backend, shutdown), a dropped database;
 *	- any error while the process is being terminated (ProcDiePending).
 *
 * Every other error (class 53 too: out of memory or a full disk in
 * learning only costs what learning would have given) is logged, counted
 * by kind, and the error state flushed: WARNING at most once a minute per
 * kind in each process, DEBUG1 otherwise.  The counts are shared and shown
 * by ruvector_dag_status() as "fallback_<kind>".
 *
 * A step that runs with interrupts held is called between the caller's
 * HOLD_INTERRUPTS and RESUME_INTERRUPTS: an ERROR zeroes the holdoff
 * counts, NdagFallbackRun puts them back as they were.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/elog.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/core.h"

/* at most one WARNING per kind and process in this many ms */
#define FALLBACK_WARNING_MS		60000

/* what the log and ruvector_dag_status() say of each kind */
typedef struct FallbackKindInfo
{
	const char *counter;		/* key in ruvector_dag_status() counters */
	const char *detail;			/* what happens instead */
	const char *hint;			/* NULL: none */
} FallbackKindInfo;

static const FallbackKindInfo kind_info[NDAG_N_FALLBACK_KINDS] = {
	[NDAG_FALLBACK_ENABLED_TABLES] = {
		"fallback_enabled_tables",
		"The statement runs as without neural_dag.", NULL
	},
	[NDAG_FALLBACK_DECISION] = {
		"fallback_decision",
		"The statement runs with the default plan.", NULL
	},
	[NDAG_FALLBACK_RECORDING] = {
		"fallback_recording",
		"The statement was not affected; ruvector_dag_status() counts the failure.",
		NULL
	},
	[NDAG_FALLBACK_EXPLAIN] = {
		"fallback_explain",
		"EXPLAIN shows less of its neural_dag section.", NULL
	},
	[NDAG_FALLBACK_LEARNED_STATE] = {
		"fallback_learned_state",
		"Queries are planned without it until it can be loaded.", NULL
	},
	[NDAG_FALLBACK_DROP] = {
		"fallback_drop",
		"The DROP goes on.",
		"Remove the learned state of the dropped object with ruvector_disable_neural_dag() or ruvector_dag_reset() once the store works again."
	},
};

/* shared counts per kind */
typedef struct FallbackShared
{
	pg_atomic_uint64 counts[NDAG_N_FALLBACK_KINDS];
} FallbackShared;

static FallbackShared *fallback_shared = NULL;

/* per kind, when this process last logged it at WARNING */
static TimestampTz last_warning[NDAG_N_FALLBACK_KINDS];

/*
 * NdagFallbackShmemSize
 *		Shared memory of the counts.
 */
Size
NdagFallbackShmemSize(void)
{
	return MAXALIGN(sizeof(FallbackShared));
}

/*
 * NdagFallbackShmemInit
 *		Create or attach to the counts (under AddinShmemInitLock).
 */
void
NdagFallbackShmemInit(void)
{
	bool		found;

	fallback_shared = ShmemInitStruct("neural_dag fallbacks",
									  sizeof(FallbackShared), &found);
	if (!found)
	{
		for (int i = 0; i < NDAG_N_FALLBACK_KINDS; i++)
			pg_atomic_init_u64(&fallback_shared->counts[i], 0);
	}
}

/*
 * NdagFallbackLevel
 *		Count one failure of kind and say how to log it: WARNING if this
 *		process has not logged that kind at WARNING within the last minute,
 *		else DEBUG1.  For failures that are status codes, not errors.
 */
int
NdagFallbackLevel(NdagFallbackKind kind)
{
	TimestampTz now = GetCurrentTimestamp();

	Assert(kind >= 0 && kind < NDAG_N_FALLBACK_KINDS);
	if (fallback_shared != NULL)
		pg_atomic_fetch_add_u64(&fallback_shared->counts[kind], 1);
	if (last_warning[kind] != 0 &&
		!TimestampDifferenceExceeds(last_warning[kind], now,
									FALLBACK_WARNING_MS))
		return DEBUG1;
	last_warning[kind] = now;
	return WARNING;
}

/*
 * must_rethrow
 *		Whether a caught error must end the statement or the process (see
 *		the file's comment); in_crit_section: the caller was in one.
 */
static bool
must_rethrow(const ErrorData *edata, bool in_crit_section)
{
	return edata->elevel >= FATAL || in_crit_section || ProcDiePending ||
		ERRCODE_TO_CATEGORY(edata->sqlerrcode) == ERRCODE_OPERATOR_INTERVENTION;
}

/*
 * NdagFallbackRun
 *		Run step(arg); true when it returned.  When it raised an error that
 *		need not be re-thrown: "neural_dag could not <what>: <message>" is
 *		logged (rate-limited per kind), the failure counted, the error state
 *		flushed, the caller's memory context and interrupt holdoff counts
 *		restored, and false returned.
 */
bool
NdagFallbackRun(NdagFallbackKind kind, const char *what,
				NdagLearningStep step, void *arg)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	uint32		interrupt_holdoff = InterruptHoldoffCount;
	uint32		cancel_holdoff = QueryCancelHoldoffCount;
	bool		in_crit_section = CritSectionCount > 0;
	volatile bool ok = true;

	PG_TRY();
	{
		step(arg);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		int			level;

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		if (must_rethrow(edata, in_crit_section))
		{
			FreeErrorData(edata);
			PG_RE_THROW();
		}
		FlushErrorState();
		InterruptHoldoffCount = interrupt_holdoff;
		QueryCancelHoldoffCount = cancel_holdoff;
		level = NdagFallbackLevel(kind);
		ereport(level,
				(errcode(edata->sqlerrcode),
				 errmsg("neural_dag could not %s: %s", what, edata->message),
				 errdetail("%s", kind_info[kind].detail),
				 kind_info[kind].hint ? errhint("%s", kind_info[kind].hint) : 0));
		FreeErrorData(edata);
		ok = false;
	}
	PG_END_TRY();
	return ok;
}

/*
 * NdagFallbackStatusCounters
 *		The counts per kind for ruvector_dag_status().
 */
void
NdagFallbackStatusCounters(void *state)
{
	for (int i = 0; i < NDAG_N_FALLBACK_KINDS; i++)
		NdagStatusAddCounter(state, kind_info[i].counter,
							 fallback_shared != NULL ?
							 (int64) pg_atomic_read_u64(&fallback_shared->counts[i]) : 0);
}
