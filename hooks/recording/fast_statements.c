/*-------------------------------------------------------------------------
 *
 * fast_statements.c
 *	  The statements' latencies, shared by the backends: per (database,
 *	  statement: a queryId, or one mixed with its parameter class, see
 *	  sampling.c), how many recordings have been seen (up to a cap) and
 *	  their running mean latency, so that whether a statement is fast is known
 *	  cluster-wide (sampling.c) and a new backend samples it as an old one
 *	  does instead of recording its first executions at the full rate.
 *
 * Kept per backend, every new connection started cold: its first
 * executions of a sub-millisecond statement were all recorded, which is
 * what a connection per transaction (pgbench -C) paid on every
 * transaction, and such a backend never recorded enough to judge anything.
 *
 * A table of FAST_SLOTS 64-bit atomic words, direct-mapped by the
 * statement's key; a word packs the key's high bits (its tag), the count
 * and the mean in microseconds, so that it is read and written whole
 * without a lock (compare-and-exchange, a few tries, then the recording is
 * left out: this only steers sampling).  A collision overwrites: the
 * statement that lost its slot starts counting again, as a new backend
 * did before.  The key's low bits choose the slot and are not stored, so
 * two statements share a word only if they agree in every bit; a mistake
 * would only sample a statement at another rate.  Each backend compares
 * the mean with its own ruvector.dag_fast_query_ms.  Once the count is at
 * its cap, a recording that would barely move the mean (under an eighth,
 * the same side of the threshold) writes nothing: the words of statements
 * recorded at the full rate (slow ones) are then mostly read, and fast
 * ones are recorded at 1 % of their executions.
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

/* slots of the table (the low bits of a key choose one) */
#define FAST_SLOTS			16384
/* a word: tag (high bits of the key) | count | mean in microseconds */
#define FAST_MEAN_BITS		20	/* means up to ~1 s; longer saturate */
#define FAST_COUNT_BITS		5	/* counts up to 31 */
#define FAST_MEAN_MAX		((UINT64CONST(1) << FAST_MEAN_BITS) - 1)
#define FAST_COUNT_MAX		((UINT64CONST(1) << FAST_COUNT_BITS) - 1)
#define FAST_TAG_SHIFT		(FAST_MEAN_BITS + FAST_COUNT_BITS)
#define FAST_TAG_MASK		(~((UINT64CONST(1) << FAST_TAG_SHIFT) - 1))
#define FAST_CAS_TRIES		4

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
 *		The statement's key: its queryId mixed with this database, with a
 *		tag that is never 0 (a word of 0 is a free slot).
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

/* the parts of a word */
#define WORD_COUNT(w)	(((w) >> FAST_MEAN_BITS) & FAST_COUNT_MAX)
#define WORD_MEAN_US(w) ((w) & FAST_MEAN_MAX)

/*
 * NdagFastStatementMean
 *		How many recordings of this statement of this database the backends
 *		have seen (at most 31) and their mean latency in ms (infinite when
 *		too long to keep); false when the table holds none (or there is no
 *		shared memory).
 */
pg_attribute_hot bool
NdagFastStatementMean(uint64 query_id, uint32 *count, double *mean_ms)
{
	uint64		key;
	uint64		word;

	if (fast_slots == NULL || query_id == 0)
		return false;
	key = statement_key(query_id);
	word = pg_atomic_read_u64(statement_slot(key));
	if (word == 0 || (word & FAST_TAG_MASK) != (key & FAST_TAG_MASK))
		return false;
	*count = (uint32) WORD_COUNT(word);
	if (WORD_MEAN_US(word) == FAST_MEAN_MAX)
		*mean_ms = get_float8_infinity();
	else
		*mean_ms = (double) WORD_MEAN_US(word) / 1000.0;
	return true;
}

/*
 * NdagFastStatementNote
 *		Add one recorded execution of exec_ms to its statement's count and
 *		mean: a plain mean while counting, then an exponential one; nothing
 *		written when a counted statement's mean would barely move.
 */
void
NdagFastStatementNote(uint64 query_id, double exec_ms)
{
	uint64		key;
	pg_atomic_uint64 *slot;
	uint64		word;
	double		exec_us;
	double		fast_us = ndag_fast_query_ms * 1000.0;

	if (fast_slots == NULL || query_id == 0 || !(exec_ms >= 0))
		return;
	key = statement_key(query_id);
	slot = statement_slot(key);
	exec_us = Min(exec_ms * 1000.0, (double) FAST_MEAN_MAX);
	word = pg_atomic_read_u64(slot);
	for (int try = 0; try < FAST_CAS_TRIES; try++)
	{
		uint64		count = 1;
		double		mean_us = exec_us;
		uint64		new_word;

		if (word != 0 && (word & FAST_TAG_MASK) == (key & FAST_TAG_MASK))
		{
			uint64		old_us = WORD_MEAN_US(word);

			count = Min(WORD_COUNT(word) + 1, FAST_COUNT_MAX);
			mean_us = old_us + (exec_us - old_us) / count;
			if (WORD_COUNT(word) == FAST_COUNT_MAX &&
				fabs(mean_us - old_us) * 8 <= old_us &&
				(mean_us < fast_us) == (old_us < fast_us))
				return;
		}
		new_word = (key & FAST_TAG_MASK) | (count << FAST_MEAN_BITS) |
			(uint64) Min(rint(mean_us), (double) FAST_MEAN_MAX);
		if (new_word == word ||
			pg_atomic_compare_exchange_u64(slot, &word, new_word))
			return;
	}
}
