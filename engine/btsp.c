/*-------------------------------------------------------------------------
 *
 * btsp.c
 *	  BTSP one-shot memory (DESIGN.md section 6): after a single surprising
 *	  execution the query's arm is remembered with a plateau weight that
 *	  decays exponentially, so that the second execution already benefits,
 *	  before any pattern exists for it.
 *
 * The table is open addressing with linear probing keyed by a mix of the
 * query id; deletion shifts the following run back instead of leaving
 * tombstones, so a lookup never walks past dead slots.
 *
 *-------------------------------------------------------------------------
 */
#include "btsp.h"
#include "engine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/*
 * ndag_btsp_slot
 *		Home slot of a query id.
 */
static inline int
ndag_btsp_slot(const NdagBtsp *b, uint64_t query_id)
{
	return (int) (ndag_hash64(query_id) & (uint64_t) (b->capacity - 1));
}

/*
 * ndag_btsp_find
 *		Slot holding query_id, or -1.
 */
static int
ndag_btsp_find(const NdagBtsp *b, uint64_t query_id)
{
	int			i = ndag_btsp_slot(b, query_id);

	while (b->entries[i].query_id != 0)
	{
		if (b->entries[i].query_id == query_id)
			return i;
		i = (i + 1) & (b->capacity - 1);
	}
	return -1;
}

/*
 * ndag_btsp_alloc
 *		A table of `capacity` empty slots (a power of two).
 */
static int
ndag_btsp_alloc(NdagBtsp *b, int capacity)
{
	b->entries = calloc((size_t) capacity, sizeof(NdagBtspEntry));
	if (b->entries == NULL)
		return NDAG_ERR_NOMEM;
	b->capacity = capacity;
	b->count = 0;
	return NDAG_OK;
}

/*
 * ndag_btsp_create
 *		Defaults from btsp.h.
 */
NdagBtsp *
ndag_btsp_create(int capacity_hint)
{
	NdagBtsp   *b = calloc(1, sizeof(NdagBtsp));
	int			cap = 16;

	if (b == NULL)
		return NULL;
	while (cap < 2 * capacity_hint && cap < (1 << 28))
		cap *= 2;
	if (ndag_btsp_alloc(b, cap) != NDAG_OK)
	{
		free(b);
		return NULL;
	}
	b->tau_s = NDAG_BTSP_TAU_S;
	b->threshold = NDAG_BTSP_THRESHOLD;
	b->speedup = NDAG_BTSP_SPEEDUP;
	b->slowdown_ln = NDAG_BTSP_SLOWDOWN_LN;
	return b;
}

/*
 * ndag_btsp_free
 *		Release.
 */
void
ndag_btsp_free(NdagBtsp *btsp)
{
	if (btsp == NULL)
		return;
	free(btsp->entries);
	free(btsp);
}

/*
 * ndag_btsp_put
 *		Insert or overwrite (the table has room).
 */
static void
ndag_btsp_put(NdagBtsp *b, const NdagBtspEntry *e)
{
	int			i = ndag_btsp_slot(b, e->query_id);

	while (b->entries[i].query_id != 0 && b->entries[i].query_id != e->query_id)
		i = (i + 1) & (b->capacity - 1);
	if (b->entries[i].query_id == 0)
		b->count++;
	b->entries[i] = *e;
}

/*
 * ndag_btsp_grow
 *		Double the table, rehashing every entry.
 */
static int
ndag_btsp_grow(NdagBtsp *b)
{
	NdagBtspEntry *old = b->entries;
	int			old_cap = b->capacity;
	int			i;

	if (ndag_btsp_alloc(b, old_cap * 2) != NDAG_OK)
	{
		b->entries = old;
		b->capacity = old_cap;
		return NDAG_ERR_NOMEM;
	}
	for (i = 0; i < old_cap; i++)
		if (old[i].query_id != 0)
			ndag_btsp_put(b, &old[i]);
	free(old);
	return NDAG_OK;
}

/*
 * ndag_btsp_delete_slot
 *		Empty slot i and move back every entry of the following run whose
 *		home lies cyclically at or before the hole.
 */
static void
ndag_btsp_delete_slot(NdagBtsp *b, int i)
{
	int			mask = b->capacity - 1;
	int			j = i;

	b->entries[i].query_id = 0;
	b->count--;
	for (;;)
	{
		int			home;

		j = (j + 1) & mask;
		if (b->entries[j].query_id == 0)
			return;
		home = ndag_btsp_slot(b, b->entries[j].query_id);
		/* j's entry may fill the hole i unless home lies in (i, j] */
		if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j))
		{
			b->entries[i] = b->entries[j];
			b->entries[j].query_id = 0;
			i = j;
		}
	}
}

/*
 * ndag_btsp_weight
 *		Decayed weight of an entry at now (no growth for a clock that
 *		went back).
 */
static double
ndag_btsp_weight(const NdagBtsp *b, const NdagBtspEntry *e, double now)
{
	return ndag_btsp_decay(e->weight, e->stored_at, now, b->tau_s);
}

/*
 * ndag_btsp_decay
 *		See btsp.h.
 */
double
ndag_btsp_decay(double weight, double stored_at, double now, double tau_s)
{
	double		dt = now - stored_at;

	if (!(dt > 0.0))
		return weight;
	return weight * exp(-dt / tau_s);
}

/*
 * ndag_btsp_judge
 *		See btsp.h.  A remembered arm that ran no faster than the baseline
 *		is forgotten; an arm speedup times faster than the baseline is
 *		stored; a default run slowdown_ln (in ln ms) slower than predicted
 *		marks the default bad unless a better arm is already known.
 */
int
ndag_btsp_judge(int remembered, int arm, double latency_ms, double baseline_ms,
				double predicted_ln, double speedup, double slowdown_ln)
{
	bool		have_baseline = baseline_ms > 0.0 && isfinite(baseline_ms);

	if (remembered == arm && arm != 0 && have_baseline && latency_ms >= baseline_ms)
		return NDAG_BTSP_FORGET;
	if (arm != 0 && have_baseline && latency_ms * speedup <= baseline_ms)
		return NDAG_BTSP_STORE_ARM;
	if (arm == 0 && isfinite(predicted_ln) &&
		log(latency_ms > 1e-6 ? latency_ms : 1e-6) - predicted_ln >= slowdown_ln)
	{
		if (remembered != NDAG_BTSP_NONE && remembered != NDAG_BTSP_EXPLORE)
			return NDAG_BTSP_KEEP;
		return NDAG_BTSP_STORE_EXPLORE;
	}
	return NDAG_BTSP_KEEP;
}

/*
 * ndag_btsp_store
 *		Remember query -> arm with weight 1 at now.
 */
static int
ndag_btsp_store(NdagBtsp *b, uint64_t query_id, int arm, double now)
{
	NdagBtspEntry e;

	if (ndag_btsp_find(b, query_id) < 0 && 10 * (b->count + 1) > 7 * b->capacity)
	{
		ndag_btsp_prune(b, now);
		if (10 * (b->count + 1) > 7 * b->capacity)
		{
			int			rc = ndag_btsp_grow(b);

			if (rc != NDAG_OK)
				return rc;
		}
	}
	e.query_id = query_id;
	e.arm = arm;
	e.weight = 1.0;
	e.stored_at = now;
	ndag_btsp_put(b, &e);
	return NDAG_OK;
}

/*
 * ndag_btsp_observe
 *		See btsp.h.
 */
int
ndag_btsp_observe(NdagBtsp *btsp, uint64_t query_id, int arm, double latency_ms,
				  double baseline_ms, double predicted_ln, double now,
				  bool *stored, bool *forgot)
{
	int			slot;
	int			verdict;

	if (stored != NULL)
		*stored = false;
	if (forgot != NULL)
		*forgot = false;
	if (btsp == NULL || query_id == 0 || arm < 0 || !isfinite(now) ||
		!(latency_ms >= 0.0) || !isfinite(latency_ms))
		return NDAG_ERR_ARG;

	slot = ndag_btsp_find(btsp, query_id);
	verdict = ndag_btsp_judge(slot >= 0 ? btsp->entries[slot].arm : NDAG_BTSP_NONE,
							  arm, latency_ms, baseline_ms, predicted_ln,
							  btsp->speedup, btsp->slowdown_ln);
	switch (verdict)
	{
		case NDAG_BTSP_FORGET:
			ndag_btsp_delete_slot(btsp, slot);
			if (forgot != NULL)
				*forgot = true;
			return NDAG_OK;
		case NDAG_BTSP_STORE_ARM:
			if (stored != NULL)
				*stored = true;
			return ndag_btsp_store(btsp, query_id, arm, now);
		case NDAG_BTSP_STORE_EXPLORE:
			if (stored != NULL)
				*stored = true;
			return ndag_btsp_store(btsp, query_id, NDAG_BTSP_EXPLORE, now);
		default:
			return NDAG_OK;
	}
}

/*
 * ndag_btsp_lookup
 *		Recall while the weight is above the threshold.
 */
int
ndag_btsp_lookup(const NdagBtsp *btsp, uint64_t query_id, double now,
				 bool *found, int *arm, double *weight)
{
	int			slot;
	double		w;

	if (btsp == NULL || found == NULL)
		return NDAG_ERR_ARG;
	*found = false;
	if (query_id == 0)
		return NDAG_OK;
	slot = ndag_btsp_find(btsp, query_id);
	if (slot < 0)
		return NDAG_OK;
	w = ndag_btsp_weight(btsp, &btsp->entries[slot], now);
	if (!(w > btsp->threshold))
		return NDAG_OK;
	*found = true;
	if (arm != NULL)
		*arm = btsp->entries[slot].arm;
	if (weight != NULL)
		*weight = w;
	return NDAG_OK;
}

/*
 * ndag_btsp_forget
 *		Remove one query.
 */
int
ndag_btsp_forget(NdagBtsp *btsp, uint64_t query_id)
{
	int			slot;

	if (btsp == NULL)
		return NDAG_ERR_ARG;
	if (query_id == 0)
		return NDAG_OK;
	slot = ndag_btsp_find(btsp, query_id);
	if (slot >= 0)
		ndag_btsp_delete_slot(btsp, slot);
	return NDAG_OK;
}

/*
 * ndag_btsp_prune
 *		Remove faded entries.  A backward shift may move a not yet visited
 *		entry into the current slot, so the slot is examined again then.
 */
int
ndag_btsp_prune(NdagBtsp *btsp, double now)
{
	int			removed = 0;
	int			i = 0;

	if (btsp == NULL)
		return 0;
	while (i < btsp->capacity)
	{
		NdagBtspEntry *e = &btsp->entries[i];

		if (e->query_id != 0 && !(ndag_btsp_weight(btsp, e, now) > btsp->threshold))
		{
			ndag_btsp_delete_slot(btsp, i);
			removed++;
			continue;
		}
		i++;
	}
	return removed;
}
