/*-------------------------------------------------------------------------
 *
 * embedding_cache.c
 *	  The Embedding Cache: a per-backend LRU of decisions keyed by
 *	  (queryId, database), holding the default plan's decision embedding
 *	  and the decision taken, so that a statement decided before is planned
 *	  once, directly under its arm, without building its DAG again.
 *
 * A statement's slot keeps the decisions of up to CACHE_CLASSES of its
 * parameter classes (a statement whose constants fall in several classes,
 * taking turns, is then not decided anew at each planning); a lookup
 * finds the one that serves the parameter set planned.  A slot remembers
 * the store generation and the epoch (enabled tables and rewriter epochs
 * combined) it was decided under; a lookup under another one drops it, as
 * the learned state, the enabled tables or a demotion may have changed
 * the decisions.  At most ruvector.dag_embedding_cache_size statements
 * are kept; the least recently used goes first.  What it keeps is also
 * published for other backends (shared_decisions.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/ilist.h"
#include "miscadmin.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "core/core.h"
#include "planner/planner.h"

typedef struct CacheKey
{
	uint64		query_id;
	Oid			dbid;
} CacheKey;

/* parameter classes of one statement whose decisions a slot keeps */
#define CACHE_CLASSES		4

typedef struct NdagCacheSlot
{
	CacheKey	key;			/* hash key: first */
	dlist_node	lru;			/* most recent at the head */
	uint64		generation;		/* store generation when decided */
	uint64		epoch;			/* tables and rewrite epochs when decided */
	int			nentries;		/* decisions kept */
	int			next;			/* the one a new class replaces when full */
	/* allocated as needed (most statements have one class), NULL: not yet */
	NdagCacheEntry *entries[CACHE_CLASSES];
} CacheSlot;

static HTAB *cache = NULL;
static dlist_head lru_list = DLIST_STATIC_INIT(lru_list);
static long cache_count = 0;

/*
 * the slot found last: a planning looks its statement up more than once,
 * and a workload often plans one statement over and over (dynahash keeps
 * an entry in place until it is removed)
 */
static CacheSlot *last_found = NULL;

/*
 * cache_init
 *		Create the hash table in TopMemoryContext on first use.
 */
static void
cache_init(void)
{
	HASHCTL		ctl;

	if (cache != NULL)
		return;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(CacheKey);
	ctl.entrysize = sizeof(CacheSlot);
	ctl.hcxt = TopMemoryContext;
	cache = hash_create("neural_dag embedding cache", 256, &ctl,
						HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/*
 * cache_remove
 *		Drop one slot.
 */
static void
cache_remove(CacheSlot *slot)
{
	CacheKey	key = slot->key;

	for (int i = 0; i < CACHE_CLASSES; i++)
		if (slot->entries[i] != NULL)
			pfree(slot->entries[i]);
	dlist_delete(&slot->lru);
	if (last_found == slot)
		last_found = NULL;
	hash_search(cache, &key, HASH_REMOVE, NULL);
	cache_count--;
}

/*
 * cache_trim
 *		Evict the least recently used entries beyond
 *		ruvector.dag_embedding_cache_size, keep excepted (NULL: none), so
 *		that a smaller size takes effect at the next lookup.
 */
static void
cache_trim(CacheSlot *keep)
{
	while (cache_count > ndag_embedding_cache_size && !dlist_is_empty(&lru_list))
	{
		CacheSlot  *old = dlist_tail_element(CacheSlot, lru, &lru_list);

		if (old == keep)
			break;
		cache_remove(old);
	}
}

/*
 * find_slot
 *		The slot of a query in this database, NULL when absent.
 */
static CacheSlot *
find_slot(uint64 query_id)
{
	CacheKey	key;
	CacheSlot  *slot;

	if (cache == NULL)
		return NULL;
	if (last_found != NULL && last_found->key.query_id == query_id &&
		last_found->key.dbid == MyDatabaseId)
		return last_found;
	memset(&key, 0, sizeof(key));
	key.query_id = query_id;
	key.dbid = MyDatabaseId;
	slot = hash_search(cache, &key, HASH_FIND, NULL);
	if (slot != NULL)
		last_found = slot;
	return slot;
}

/*
 * NdagCacheEntryServes
 *		Whether a kept decision serves a parameter set of this rows bucket
 *		whose latest planning found class_tag: of its bucket, or not
 *		measured when the statement is not worth exploring (its parameter
 *		sets are not measured: decision.c decides them as the kept class),
 *		and for a statement of several classes, of the class its latest
 *		planning found.
 */
bool
NdagCacheEntryServes(const NdagCacheEntry *e, int bucket, uint32 class_tag)
{
	return (e->rows_bucket == bucket || (bucket == 0 && !e->worth)) &&
		(!e->multi_class || (bucket != 0 && class_tag == (uint32) e->klass));
}

/*
 * NdagCacheCurrent
 *		The slot of a query decided under this generation and epoch, now the
 *		most recently used; NULL when none (a stale slot is dropped).  One
 *		look-up for what NdagCacheSettled and NdagCacheServing then read.
 */
NdagCacheSlot *
NdagCacheCurrent(uint64 query_id, uint64 generation, uint64 epoch)
{
	CacheSlot  *slot;

	cache_init();
	cache_trim(NULL);
	slot = find_slot(query_id);
	if (slot == NULL)
		return NULL;
	if (slot->generation != generation || slot->epoch != epoch)
	{
		cache_remove(slot);
		return NULL;
	}
	dlist_move_head(&lru_list, &slot->lru);
	return slot;
}

/*
 * NdagCacheSettled
 *		The decision of a current slot (NULL: none) when it serves every
 *		parameter set alike, so that its parameter set need not be looked
 *		at: the statement's only class (no other in shared memory when it
 *		was decided; a second class created since moves the statement's
 *		epoch), known not to gain (so its parameter sets are not measured),
 *		deciding the default plan with nothing to explore, validate or
 *		capture.  NULL otherwise.
 */
NdagCacheEntry *
NdagCacheSettled(NdagCacheSlot *slot)
{
	NdagCacheEntry *e;

	if (slot == NULL || slot->nentries != 1)
		return NULL;
	e = slot->entries[0];
	if (e->worth || e->multi_class || e->may_explore || e->shadow ||
		e->shadow_if_slow || e->decision.arm != 0)
		return NULL;
	return e;
}

/*
 * NdagCacheServing
 *		The decision of a current slot (NULL: none) that serves a parameter
 *		set of this rows bucket and class tag (NdagCacheEntryServes); NULL
 *		when none.
 */
NdagCacheEntry *
NdagCacheServing(NdagCacheSlot *slot, int bucket, uint32 class_tag)
{
	for (int i = 0; slot != NULL && i < slot->nentries; i++)
	{
		if (NdagCacheEntryServes(slot->entries[i], bucket, class_tag))
			return slot->entries[i];
	}
	return NULL;
}

/*
 * NdagCacheStore
 *		The decision of a query's parameter class klass, created (or reset)
 *		for this generation and epoch; the caller fills it in.  A slot of
 *		another generation or epoch starts empty; a full slot gives up its
 *		classes in turn.  Evicts the least recently used statements beyond
 *		ruvector.dag_embedding_cache_size.
 */
NdagCacheEntry *
NdagCacheStore(uint64 query_id, uint64 generation, uint64 epoch, uint64 klass)
{
	CacheKey	key;
	CacheSlot  *slot;
	NdagCacheEntry *e = NULL;
	bool		found;

	cache_init();
	memset(&key, 0, sizeof(key));
	key.query_id = query_id;
	key.dbid = MyDatabaseId;
	slot = hash_search(cache, &key, HASH_ENTER, &found);
	if (found)
		dlist_move_head(&lru_list, &slot->lru);
	else
	{
		dlist_push_head(&lru_list, &slot->lru);
		memset(slot->entries, 0, sizeof(slot->entries));
		cache_count++;
	}
	if (!found || slot->generation != generation || slot->epoch != epoch)
	{
		slot->generation = generation;
		slot->epoch = epoch;
		slot->nentries = 0;
		slot->next = 0;
	}
	for (int i = 0; i < slot->nentries && e == NULL; i++)
	{
		if (slot->entries[i]->klass == klass)
			e = slot->entries[i];
	}
	if (e == NULL && slot->nentries < CACHE_CLASSES)
	{
		if (slot->entries[slot->nentries] == NULL)
			slot->entries[slot->nentries] =
				MemoryContextAlloc(TopMemoryContext, sizeof(NdagCacheEntry));
		e = slot->entries[slot->nentries++];
	}
	else if (e == NULL)
	{
		e = slot->entries[slot->next];
		slot->next = (slot->next + 1) % CACHE_CLASSES;
	}
	memset(e, 0, sizeof(NdagCacheEntry));
	e->query_id = query_id;
	e->dbid = MyDatabaseId;
	e->generation = generation;
	e->epoch = epoch;
	e->klass = klass;

	cache_trim(slot);
	return e;
}

/*
 * NdagCacheAdopt
 *		Keep a decision another backend published (shared_decisions.c), as
 *		if this backend had taken it; returns the kept entry.
 */
NdagCacheEntry *
NdagCacheAdopt(const NdagCacheEntry *published)
{
	NdagCacheEntry *e = NdagCacheStore(published->query_id,
									   published->generation,
									   published->epoch, published->klass);

	*e = *published;
	return e;
}

/*
 * NdagCacheKnown
 *		Whether this backend keeps a decision of a query, whatever it was
 *		decided under (the query was found ours before).
 */
bool
NdagCacheKnown(uint64 query_id)
{
	CacheSlot  *slot = find_slot(query_id);

	return slot != NULL && slot->nentries > 0;
}

/*
 * NdagCachePeek
 *		The decision kept for a query's parameter class klass whatever it
 *		was decided under, LRU order untouched; NULL when absent.
 */
NdagCacheEntry *
NdagCachePeek(uint64 query_id, uint64 klass)
{
	CacheSlot  *slot = find_slot(query_id);

	for (int i = 0; slot != NULL && i < slot->nentries; i++)
	{
		if (slot->entries[i]->klass == klass)
			return slot->entries[i];
	}
	return NULL;
}

/*
 * NdagCacheKeepEmbedding
 *		Give the cached default decision of d's class, taken without the
 *		embedding of its plan (decision.c known_default), the one a
 *		recording made of the same default plan since, so that the runs it
 *		serves next are recorded without embedding their plan again.
 */
void
NdagCacheKeepEmbedding(uint64 query_id, const NdagDecision *d)
{
	NdagCacheEntry *e = NdagCachePeek(query_id, d->klass);

	if (e == NULL || e->decision.has_embedding || e->decision.arm != 0 ||
		!d->has_embedding || e->decision.default_shape != d->default_shape)
		return;
	memcpy(e->decision.embedding, d->embedding, sizeof(d->embedding));
	e->decision.has_embedding = true;
	e->decision.mechanism = d->mechanism;
	e->decision.context = d->context;
	e->decision.predicted_default_ms = d->predicted_default_ms;
	e->decision.predicted_ms = d->predicted_ms;
}

/*
 * NdagCacheDecisionByShape
 *		A decision kept for a query that runs an arm whose plan has this
 *		shape, into *decision; false when none.
 */
bool
NdagCacheDecisionByShape(uint64 query_id, uint64 shape, NdagDecision *decision)
{
	CacheSlot  *slot = find_slot(query_id);

	for (int i = 0; slot != NULL && i < slot->nentries; i++)
	{
		const NdagCacheEntry *e = slot->entries[i];

		if (e->decision.arm != 0 && e->decision.shape == shape)
		{
			*decision = e->decision;
			return true;
		}
	}
	return false;
}

/*
 * NdagCacheForget
 *		Drop a query's decisions, of every class, if any, and those other
 *		backends published (what made this backend forget them holds for
 *		them too).
 */
void
NdagCacheForget(uint64 query_id)
{
	CacheSlot  *slot = find_slot(query_id);

	if (slot != NULL)
		cache_remove(slot);
	NdagSharedDecisionsForget(MyDatabaseId, query_id);
}
