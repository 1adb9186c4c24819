/*-------------------------------------------------------------------------
 *
 * rewrite_counters.c
 *	  The rewriter's counters (cache hits and misses, decisions by source,
 *	  extra plannings, demotions, fallbacks, ...), cluster-wide totals for
 *	  ruvector_dag_status().
 *
 * They are added to at every planning of a statement on an enabled table,
 * by every backend at once: one shared row of atomics would be one cache
 * line bouncing between the cores.  So the counters are striped: a fixed
 * number of rows, each padded to whole cache lines, a process adds to the
 * row its pid picks (so concurrent backends rarely share one) and a reader
 * sums the rows.  The sums are exact; a read during concurrent additions
 * sees each addition either whole or not yet, as with one row.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/shmem.h"

#include "core/core.h"
#include "planner/planner.h"

#define RW_STRIPES			64	/* rows; a power of two is not needed */

/* one row, padded to whole cache lines */
typedef union RwStripe
{
	pg_atomic_uint64 counters[NDAG_N_RW_COUNTERS];
	char		pad[TYPEALIGN(PG_CACHE_LINE_SIZE,
							  sizeof(pg_atomic_uint64) * NDAG_N_RW_COUNTERS)];
} RwStripe;

typedef struct RwShared
{
	char		align[PG_CACHE_LINE_SIZE];	/* room to align the rows */
	RwStripe	stripes[RW_STRIPES];
} RwShared;

static RwStripe *stripes = NULL;	/* the first row, cache-line aligned */

static const char *const counter_names[NDAG_N_RW_COUNTERS] = {
	"cache_hits", "cache_misses", "decided_default", "decided_proven",
	"decided_pattern", "decided_explore", "extra_plannings", "demotions",
	"rewrite_fallbacks", "validation_runs", "decided_pinned",
	"exclusive_turns", "final_runs", "finals_won", "finals_lost",
	"cache_shared_hits"
};

/*
 * NdagRewriteCountersShmemSize
 *		Bytes of the striped counters.
 */
Size
NdagRewriteCountersShmemSize(void)
{
	return sizeof(RwShared);
}

/*
 * NdagRewriteCountersShmemInit
 *		Create or attach to the counters (under AddinShmemInitLock).
 */
void
NdagRewriteCountersShmemInit(void)
{
	bool		found;
	RwShared   *shared = ShmemInitStruct("neural_dag rewrite counters",
										 sizeof(RwShared), &found);

	stripes = (RwStripe *) TYPEALIGN(PG_CACHE_LINE_SIZE, shared);
	if (!found)
		for (int s = 0; s < RW_STRIPES; s++)
			for (int c = 0; c < NDAG_N_RW_COUNTERS; c++)
				pg_atomic_init_u64(&stripes[s].counters[c], 0);
}

/*
 * NdagRewriteCount
 *		Add to a rewriter counter, in this process's row (nothing to add,
 *		nothing written).
 */
void
NdagRewriteCount(NdagRewriteCounter counter, uint64 n)
{
	if (stripes != NULL && n > 0)
		pg_atomic_fetch_add_u64(&stripes[MyProcPid % RW_STRIPES].counters[counter],
								(int64) n);
}

/*
 * rewrite_counter_sum
 *		A counter summed over the rows.
 */
static uint64
rewrite_counter_sum(NdagRewriteCounter counter)
{
	uint64		sum = 0;

	for (int s = 0; s < RW_STRIPES; s++)
		sum += pg_atomic_read_u64(&stripes[s].counters[counter]);
	return sum;
}

/*
 * NdagRewriteStatusCounters
 *		The rewriter's counters for ruvector_dag_status(), with the
 *		embedding cache's hit rate in per mille, then what the query memory
 *		holds.
 */
void
NdagRewriteStatusCounters(void *state)
{
	uint64		hits;
	uint64		misses;

	if (stripes == NULL)
		return;
	for (int c = 0; c < NDAG_N_RW_COUNTERS; c++)
		NdagStatusAddCounter(state, counter_names[c],
							 (int64) rewrite_counter_sum((NdagRewriteCounter) c));
	hits = rewrite_counter_sum(NDAG_RW_CACHE_HITS);
	misses = rewrite_counter_sum(NDAG_RW_CACHE_MISSES);
	NdagStatusAddCounter(state, "cache_hit_permille",
						 hits + misses > 0 ? (int64) (1000 * hits / (hits + misses)) : 0);
	NdagQueryMemoryStatusCounters(state);
}
