/*-------------------------------------------------------------------------
 *
 * fast_statements.c
 *	  What the backends know of their statements' latencies, shared: per
 *	  (database, queryId), the mean latency a backend that has recorded
 *	  the statement often enough has seen, so that a new backend samples a
 *	  statement known to be fast as an old one does (sampling.c) instead of
 *	  recording its first executions at the full rate.
 *
 * Without it every new connection starts cold: its first executions of a
 * sub-millisecond statement are all recorded, which is what a connection
 * per transaction (pgbench -C) pays on every transaction.
 *
 * A table of FAST_SLOTS 64-bit atomic words, direct-mapped by the
 * statement's key: the key's high bits and the mean latency in
 * microseconds packed in one word, so that a word is read and written
 * whole without a lock.  A collision overwrites (the statement that lost
 * its slot is sampled cold again in new backends, as without the table);
 * a key's low bits choose the slot and are not stored, so two statements
 * share a word's tag only if they agree in every bit: a mistake would only
 * sample a statement at another rate.  Each backend compares the mean with
 * its own ruvector.dag_fast_query_ms.  A backend writes its slot only when
 * the mean it publishes moved by more than a quarter or the slot holds
 * another statement: fast statements are recorded at 1 % of their runs,
 * so writes are rare and the cache line is mostly read.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "utils/float.h"

#include "core/core.h"
#include "recording/recording.h"

/* slots of the table (a power of two: the low bits of a key choose one) */
#define FAST_SLOTS			4096
/* bits of a word holding the mean latency in microseconds (max ~1 s) */
#define FAST_MEAN_BITS		20
#define FAST_MEAN_MAX		((UINT64CONST(1) << FAST_MEAN_BITS) - 1)
#define FAST_TAG_MASK		(~FAST_MEAN_MAX)

static pg_atomic_uint64 *fast_slots = NULL;

/*
 * NdagFastStatementsShmemSize
 *		Shared memory the table needs.
 */
Size
NdagFastStatementsShmemSize(void)
{
	return MAXALIGN(sizeof(pg_atomic_uint64) * FAST_SLOTS);
}

/*
 * NdagFastStatementsShmemInit
 *		Create or attach to the table (under AddinShmemInitLock).
 */
void
NdagFastStatementsShmemInit(void)
{
	bool		found;

	fast_slots = ShmemInitStruct("neural_dag fast statements",
								 NdagFastStatementsShmemSize(), &found);
	if (!found)
	{
		for (int i = 0; i < FAST_SLOTS; i++)
			pg_atomic_init_u64(&fast_slots[i], 0);
	}
}

/*
 * statement_key
 *		The statement's key: its queryId mixed with this database, never 0
 *		in its tag bits for a queryId that is not 0.
 */
static uint64
statement_key(uint64 query_id)
{
	uint64		key = query_id ^ ((uint64) MyDatabaseId * UINT64CONST(0x9E3779B97F4A7C15));

	key ^= key >> 31;
	if ((key & FAST_TAG_MASK) == 0)
		key |= UINT64CONST(1) << 63;
	return key;
}

/*
 * statement_slot
 *		The word of a key.
 */
static pg_atomic_uint64 *
statement_slot(uint64 key)
{
	return &fast_slots[key % FAST_SLOTS];
}

/*
 * NdagFastStatementMean
 *		The mean latency (ms) a backend published for this statement of this
 *		database; false when none is known (or no shared memory).
 */
bool
NdagFastStatementMean(uint64 query_id, double *mean_ms)
{
	uint64		key;
	uint64		word;

	if (fast_slots == NULL || query_id == 0)
		return false;
	key = statement_key(query_id);
	word = pg_atomic_read_u64(statement_slot(key));
	if (word == 0 || (word & FAST_TAG_MASK) != (key & FAST_TAG_MASK))
		return false;
	/* a mean too long for its bits reads as slow at any threshold */
	if ((word & FAST_MEAN_MAX) == FAST_MEAN_MAX)
		*mean_ms = get_float8_infinity();
	else
		*mean_ms = (double) (word & FAST_MEAN_MAX) / 1000.0;
	return true;
}

/*
 * NdagFastStatementPublish
 *		Publish the mean latency (ms) this backend has seen for a statement
 *		it recorded often enough to judge; skipped when the slot already
 *		says about as much (within a quarter, and on the same side of this
 *		backend's ruvector.dag_fast_query_ms).
 */
void
NdagFastStatementPublish(uint64 query_id, double mean_ms)
{
	uint64		key;
	pg_atomic_uint64 *slot;
	uint64		word;
	uint64		mean_us;
	uint64		old_us;
	double		fast_us = ndag_fast_query_ms * 1000.0;

	if (fast_slots == NULL || query_id == 0 || !(mean_ms >= 0))
		return;
	key = statement_key(query_id);
	slot = statement_slot(key);
	mean_us = (uint64) Min(mean_ms * 1000.0, (double) FAST_MEAN_MAX);
	word = pg_atomic_read_u64(slot);
	old_us = word & FAST_MEAN_MAX;
	if (word != 0 && (word & FAST_TAG_MASK) == (key & FAST_TAG_MASK) &&
		mean_us * 4 <= old_us * 5 && mean_us * 5 >= old_us * 4 &&
		(mean_us < fast_us) == (old_us < fast_us))
		return;
	pg_atomic_write_u64(slot, (key & FAST_TAG_MASK) | mean_us);
}
