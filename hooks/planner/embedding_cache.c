/*-------------------------------------------------------------------------
 *
 * embedding_cache.c
 *	  The Embedding Cache: a per-backend LRU of decisions keyed by
 *	  (queryId, database), holding the default plan's decision embedding
 *	  and the decision taken, so that a statement decided before is planned
 *	  once, directly under its arm, without building its DAG again.
 *
 * An entry remembers the store generation and the epoch (enabled tables
 * and rewriter epochs combined) it was decided under; a lookup under
 * another one drops it, as the learned state, the enabled tables or a
 * demotion may have changed the decision.  At most
 * ruvector.dag_embedding_cache_size entries are kept; the least recently
 * used goes first.
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

typedef struct CacheSlot
{
	CacheKey	key;			/* hash key: first */
	dlist_node	lru;			/* most recent at the head */
	NdagCacheEntry entry;
} CacheSlot;

static HTAB *cache = NULL;
static dlist_head lru_list = DLIST_STATIC_INIT(lru_list);
static long cache_count = 0;

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

	dlist_delete(&slot->lru);
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
 * NdagCacheLookup
 *		The entry of a query decided under this generation and epoch, now
 *		the most recently used; NULL when absent or stale (then dropped).
 */
NdagCacheEntry *
NdagCacheLookup(uint64 query_id, uint64 generation, uint64 epoch)
{
	CacheKey	key;
	CacheSlot  *slot;

	cache_init();
	cache_trim(NULL);
	memset(&key, 0, sizeof(key));
	key.query_id = query_id;
	key.dbid = MyDatabaseId;
	slot = hash_search(cache, &key, HASH_FIND, NULL);
	if (slot == NULL)
		return NULL;
	if (slot->entry.generation != generation || slot->entry.epoch != epoch)
	{
		cache_remove(slot);
		return NULL;
	}
	dlist_move_head(&lru_list, &slot->lru);
	return &slot->entry;
}

/*
 * NdagCacheStore
 *		The entry of a query, created (or reset) for this generation and
 *		epoch; the caller fills it in.  Evicts the least recently used
 *		entries beyond ruvector.dag_embedding_cache_size.
 */
NdagCacheEntry *
NdagCacheStore(uint64 query_id, uint64 generation, uint64 epoch)
{
	CacheKey	key;
	CacheSlot  *slot;
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
		cache_count++;
	}
	memset(&slot->entry, 0, sizeof(NdagCacheEntry));
	slot->entry.query_id = query_id;
	slot->entry.dbid = MyDatabaseId;
	slot->entry.generation = generation;
	slot->entry.epoch = epoch;

	cache_trim(slot);
	return &slot->entry;
}

/*
 * NdagCachePeek
 *		A query's entry whatever it was decided under, LRU order untouched;
 *		NULL when absent.
 */
NdagCacheEntry *
NdagCachePeek(uint64 query_id)
{
	CacheKey	key;
	CacheSlot  *slot;

	if (cache == NULL)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.query_id = query_id;
	key.dbid = MyDatabaseId;
	slot = hash_search(cache, &key, HASH_FIND, NULL);
	return slot != NULL ? &slot->entry : NULL;
}

/*
 * NdagCacheForget
 *		Drop a query's entry, if any.
 */
void
NdagCacheForget(uint64 query_id)
{
	CacheKey	key;
	CacheSlot  *slot;

	if (cache == NULL)
		return;
	memset(&key, 0, sizeof(key));
	key.query_id = query_id;
	key.dbid = MyDatabaseId;
	slot = hash_search(cache, &key, HASH_FIND, NULL);
	if (slot != NULL)
		cache_remove(slot);
}
