/*-------------------------------------------------------------------------
 *
 * sampling.c
 *	  Which top-level statements are recorded: ruvector.dag_sample_rate,
 *	  thinned for statements this backend has seen to be fast.
 *
 * A statement that reliably runs in well under a millisecond has nothing
 * to gain from a different plan, while recording it costs a fixed few
 * microseconds plus the learner's work: recording every execution of such
 * statements is what makes the overhead visible on short-query workloads.
 * So once a queryId has been recorded a few times in this backend with a
 * mean latency below ruvector.dag_fast_query_ms, only the fraction
 * ruvector.dag_fast_sample_rate of its executions is recorded; every slow
 * statement is recorded at the full rate.  Until this backend has recorded
 * a statement that often, the mean another backend published for it
 * (fast_statements.c) decides, so that a new connection does not record
 * its first executions of a statement known to be fast at the full rate;
 * only a statement no backend has judged yet is recorded fully from the
 * start.  A backend publishes its own mean once it has judged a statement.
 *
 * Of the statements recorded, the fraction ruvector.dag_detail_sample_rate
 * is also instrumented node by node and kept as a trajectory, and of those
 * the fraction ruvector.dag_timing_sample_rate is also timed node by node
 * (executor_hooks.c says why not all).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"

#include "core/core.h"
#include "recording/recording.h"

/* recordings of a queryId before its latency decides its sampling */
#define FAST_WARMUP			8

/* per-backend latency memory: direct-mapped, a collision overwrites */
#define LATENCY_SLOTS		1024

typedef struct LatencySlot
{
	uint64		query_id;		/* 0: free */
	uint32		recorded;		/* recordings seen */
	double		mean_ms;		/* running mean of execution time */
} LatencySlot;

static LatencySlot latency_slots[LATENCY_SLOTS];

/*
 * latency_slot
 *		The slot of a queryId.
 */
static LatencySlot *
latency_slot(uint64 query_id)
{
	return &latency_slots[(query_id ^ (query_id >> 29)) % LATENCY_SLOTS];
}

/*
 * draw
 *		True with probability rate.
 */
static bool
draw(double rate)
{
	if (rate >= 1.0)
		return true;
	return rate > 0.0 && pg_prng_double(&pg_global_prng_state) < rate;
}

/*
 * NdagSampleStatement
 *		Whether to record a top-level statement with this queryId.
 */
bool
NdagSampleStatement(uint64 query_id)
{
	LatencySlot *slot;
	double		mean_ms;

	if (!draw(ndag_sample_rate))
		return false;
	if (ndag_fast_query_ms <= 0 || query_id == 0)
		return true;
	slot = latency_slot(query_id);
	if (slot->query_id == query_id && slot->recorded >= FAST_WARMUP)
		mean_ms = slot->mean_ms;
	else if (!NdagFastStatementMean(query_id, &mean_ms))
		return true;
	if (mean_ms >= ndag_fast_query_ms)
		return true;
	return draw(ndag_fast_sample_rate);
}

/*
 * NdagSampleDetail
 *		Whether a recorded top-level statement also counts rows per node and
 *		leaves a trajectory (executor_hooks.c).
 */
bool
NdagSampleDetail(void)
{
	return draw(ndag_detail_sample_rate);
}

/*
 * NdagSampleTiming
 *		Whether a detailed recording also gets per-node timing.
 */
bool
NdagSampleTiming(void)
{
	return draw(ndag_timing_sample_rate);
}

/*
 * NdagNoteLatency
 *		Remember the execution time of a recorded top-level statement, and
 *		share the mean once it has been recorded often enough to judge.
 */
void
NdagNoteLatency(uint64 query_id, double exec_ms)
{
	LatencySlot *slot;

	if (query_id == 0 || exec_ms < 0 || isnan(exec_ms))
		return;
	slot = latency_slot(query_id);
	if (slot->query_id != query_id)
	{
		slot->query_id = query_id;
		slot->recorded = 0;
		slot->mean_ms = 0;
	}
	slot->recorded++;
	/* a plain mean while warming up, then an exponential one */
	slot->mean_ms += (exec_ms - slot->mean_ms) /
		Min(slot->recorded, (uint32) (FAST_WARMUP * 4));
	if (slot->recorded >= FAST_WARMUP)
		NdagFastStatementPublish(query_id, slot->mean_ms);
}
