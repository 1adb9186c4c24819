/*-------------------------------------------------------------------------
 *
 * sampling.c
 *	  Which top-level statements are recorded: ruvector.dag_sample_rate,
 *	  thinned for statements known to be fast.
 *
 * A statement that reliably runs in well under a millisecond has nothing
 * to gain from a different plan, while recording it costs a fixed few
 * microseconds plus the learner's work: recording every execution of such
 * statements is what makes the overhead visible on short-query workloads.
 * So once a statement (its queryId and its parameter class, so that its
 * constants that plan or read apart count apart: NdagFastStatementKey) has been
 * recorded a few times (by any backends: the count and mean are shared,
 * fast_statements.c) with a mean latency below
 * ruvector.dag_fast_query_ms, only the fraction
 * ruvector.dag_fast_sample_rate of its executions is recorded, in every
 * backend, a new one from its first execution; the first executions, and
 * every slow statement, are recorded at the full rate.  A statement run by
 * a function (PL/pgSQL, EXECUTE) is recorded when the call that runs it
 * is, and thinned the same way by its own key: a fast statement run in a
 * loop is otherwise recorded at every execution of a sampled call, which
 * costs a 0.2 ms statement a tenth of its time.
 *
 * Of the statements recorded, the fraction ruvector.dag_detail_sample_rate
 * is also instrumented node by node and kept as a trajectory, and of those
 * the fraction ruvector.dag_timing_sample_rate is also timed node by node
 * (executor_hooks.c says why not all).  A statement a backend records over
 * and over teaches the learner little more with its thousandth trajectory
 * than with its first hundred, while each costs the statement its per-node
 * counting: past DETAIL_FULL recordings of a statement (its queryId) in a
 * backend, its detail rate falls as DETAIL_FULL / recordings, to
 * DETAIL_FLOOR of the set rate (from ten times DETAIL_FULL recordings on).
 * At rate 1 (every recording detailed, as asked) nothing falls.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "common/pg_prng.h"
#include "nodes/plannodes.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "core/core.h"
#include "planner/planner.h"
#include "recording/recording.h"

/* recordings of a statement before its latency decides its sampling */
#define FAST_WARMUP			8
/* a statement's recordings in a backend at the full detail rate ... */
#define DETAIL_FULL			100
/* ... and the share of the rate it falls to */
#define DETAIL_FLOOR		0.1
/* statements a backend counts recordings of; one more starts all anew */
#define DETAIL_COUNTED_MAX	1024

/* this backend's recordings per statement (queryId) */
typedef struct DetailCount
{
	uint64		query_id;
	uint64		recorded;
} DetailCount;

static HTAB *detail_counts = NULL;

/*
 * draw
 *		True with probability rate: a uniform 64-bit draw below rate x 2^64
 *		(pg_prng_double's ldexp was the largest part of a fast statement's
 *		sampling in a pgbench -S profile).
 */
static bool
draw(double rate)
{
	if (rate >= 1.0)
		return true;
	return rate > 0.0 &&
		pg_prng_uint64(&pg_global_prng_state) < (uint64) (rate * 18446744073709551616.0);
}

/*
 * NdagFastStatementKey
 *		What a statement's recorded latencies are counted under
 *		(fast_statements.c): its queryId with its parameter class (the
 *		shape of its default plan and the rows bucket of its parameter set)
 *		when the planning that made the plan is remembered, so that the
 *		constants of one statement that plan apart (a rare one read by an
 *		index in 0.2 ms, a frequent one by a hash join in 100 ms), or plan
 *		alike but read rows by the hundred or by the million, are fast or
 *		not apart; else its queryId.
 */
uint64
NdagFastStatementKey(const PlannedStmt *stmt)
{
	const NdagDecision *planned;
	uint64		klass;

	if (stmt->queryId == 0 || (planned = NdagPlanDecisionOf(stmt)) == NULL)
		return stmt->queryId;
	/* a run that measured its parameter set counts under the class it made */
	klass = NdagParamClassNow(stmt->queryId, planned);
	if (klass != 0)
		return hash_combine64(stmt->queryId, klass);
	return stmt->queryId;
}

/*
 * NdagSampleStatement
 *		Whether to record a top-level statement (its key is looked for only
 *		once the sample rate drew it).
 */
pg_attribute_hot bool
NdagSampleStatement(const PlannedStmt *stmt)
{
	return draw(ndag_sample_rate) && NdagSampleUnlessFast(stmt);
}

/*
 * NdagSampleUnlessFast
 *		Whether to record an execution the sample rate chose (a top-level
 *		statement's own draw, or the call that runs a nested one): always,
 *		unless its statement is known to be fast, then with probability
 *		ruvector.dag_fast_sample_rate.
 */
bool
NdagSampleUnlessFast(const PlannedStmt *stmt)
{
	uint32		recorded;
	double		mean_ms;

	if (ndag_fast_query_ms <= 0 ||
		!NdagFastStatementMean(NdagFastStatementKey(stmt), &recorded, &mean_ms) ||
		recorded < FAST_WARMUP || mean_ms >= ndag_fast_query_ms)
		return true;
	return draw(ndag_fast_sample_rate);
}

/*
 * recorded_before
 *		How many times this backend recorded the statement before (counted
 *		now); the table starts anew when it holds DETAIL_COUNTED_MAX
 *		statements.
 */
static uint64
recorded_before(uint64 query_id)
{
	DetailCount *entry;
	bool		found;

	if (detail_counts != NULL &&
		hash_get_num_entries(detail_counts) >= DETAIL_COUNTED_MAX)
	{
		hash_destroy(detail_counts);
		detail_counts = NULL;
	}
	if (detail_counts == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(uint64);
		ctl.entrysize = sizeof(DetailCount);
		ctl.hcxt = TopMemoryContext;
		detail_counts = hash_create("neural_dag detail counts", 64, &ctl,
									HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(detail_counts, &query_id, HASH_ENTER, &found);
	if (!found)
		entry->recorded = 0;
	return entry->recorded++;
}

/*
 * NdagSampleDetail
 *		Whether a recorded top-level statement also counts rows per node and
 *		leaves a trajectory (executor_hooks.c): with probability
 *		ruvector.dag_detail_sample_rate for the statement's first
 *		DETAIL_FULL recordings in this backend, falling after them as
 *		DETAIL_FULL / recordings to DETAIL_FLOOR of it.
 */
bool
NdagSampleDetail(const PlannedStmt *stmt)
{
	double		rate = ndag_detail_sample_rate;
	uint64		before;

	if (rate >= 1.0 || rate <= 0.0 || stmt->queryId == 0)
		return draw(rate);
	before = recorded_before(stmt->queryId);
	if (before >= DETAIL_FULL)
		rate *= Max(DETAIL_FLOOR, (double) DETAIL_FULL / (double) (before + 1));
	return draw(rate);
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
