/*-------------------------------------------------------------------------
 *
 * shared_decisions.c
 *	  Decisions shared across backends: what a backend's Embedding Cache
 *	  keeps (the decision of a statement's parameter class, with its
 *	  default plan's embedding), published in shared memory, so that a new
 *	  backend planning a statement another backend decided plans it once,
 *	  under its arm, instead of planning the default plan, embedding it and
 *	  deciding it again.  Published are the decisions that save that much:
 *	  those of an arm, and those with an embedding (a known default
 *	  without one costs a new backend only the default planning it needs
 *	  anyway).  They serve parameter sets planned before (decision.c).
 *
 * An entry is stamped like the Embedding Cache's slots (the learned-state
 * generation and the combined epoch of the enabled tables, the rewriter
 * and the statement) and with a fingerprint of the settings that can
 * differ between backends and weigh on a decision (the extension's and
 * the planner's settings a database, role, client or session set); a
 * backend takes it only under the same three.  A backend that forgets a
 * statement's decisions (a verdict moved, its class drifted, an arm no
 * longer plans) forgets the shared ones too, so a decision is shared only
 * while every backend would still keep it.
 *
 * The table is SD_SETS sets of SD_WAYS entries, a statement's classes in
 * the set of its (database, queryId); a new entry replaces the set's
 * oldest.  Each set has its lock (of SD_LOCKS, by set), held only to copy
 * an entry in or out.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/memutils.h"

#include "compat/compat_guc.h"
#include "core/core.h"
#include "planner/planner.h"

/* sets of the table and entries per set */
#define SD_SETS			256
#define SD_WAYS			8
#define SD_LOCKS		16
#define SD_TRANCHE		"neural_dag shared decisions"

typedef struct SharedDecision
{
	uint64		stamp;			/* order of publication, 0: empty */
	uint64		fingerprint;	/* of the publisher's settings */
	NdagCacheEntry entry;		/* keyed by its dbid, query_id and klass */
} SharedDecision;

typedef struct SharedDecisions
{
	pg_atomic_uint64 next_stamp;
	LWLockPadded *locks;
	SharedDecision entries[SD_SETS][SD_WAYS];
} SharedDecisions;

static SharedDecisions *sd = NULL;

/*
 * NdagSharedDecisionsShmemSize
 *		Bytes of the table.
 */
Size
NdagSharedDecisionsShmemSize(void)
{
	return sizeof(SharedDecisions);
}

/*
 * NdagSharedDecisionsShmemRequest
 *		Ask for the table and its locks (shmem_request_hook).
 */
void
NdagSharedDecisionsShmemRequest(void)
{
	RequestAddinShmemSpace(NdagSharedDecisionsShmemSize());
	RequestNamedLWLockTranche(SD_TRANCHE, SD_LOCKS);
}

/*
 * NdagSharedDecisionsShmemInit
 *		Create or attach to the table (caller holds AddinShmemInitLock).
 */
void
NdagSharedDecisionsShmemInit(void)
{
	bool		found;

	sd = ShmemInitStruct(SD_TRANCHE, sizeof(SharedDecisions), &found);
	if (!found)
	{
		memset(sd->entries, 0, sizeof(sd->entries));
		pg_atomic_init_u64(&sd->next_stamp, 1);
	}
	sd->locks = GetNamedLWLockTranche(SD_TRANCHE);
}

/*
 * set_of
 *		The set of a statement of a database.
 */
static int
set_of(Oid dbid, uint64 query_id)
{
	return (int) (hash_bytes_uint32((uint32) query_id ^ (uint32) (query_id >> 32) ^
									dbid) % SD_SETS);
}

/*
 * set_lock
 *		The lock of a set.
 */
static LWLock *
set_lock(int set)
{
	return &sd->locks[set % SD_LOCKS].lock;
}

/*
 * of_statement
 *		Whether a published entry is of this statement of this database.
 */
static bool
of_statement(const SharedDecision *s, Oid dbid, uint64 query_id)
{
	return s->stamp != 0 && s->entry.query_id == query_id &&
		s->entry.dbid == dbid;
}

/*
 * the settings that may weigh on a decision: the extension's own, and the
 * planner's (those EXPLAIN (SETTINGS) shows), in name order; found once
 * per backend (the settings are all defined by then: the library is
 * preloaded)
 */
static struct config_generic **weighing = NULL;
static int	nweighing = 0;

/*
 * weighing_settings
 *		Find the settings that may weigh on a decision, once.
 */
static void
weighing_settings(void)
{
	int			n;
	struct config_generic **gucs;

	if (weighing != NULL)
		return;
	gucs = NdagGucVariables(&n);
	weighing = MemoryContextAlloc(TopMemoryContext,
								  sizeof(struct config_generic *) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if ((gucs[i]->flags & GUC_EXPLAIN) != 0 ||
			strncmp(gucs[i]->name, "ruvector.", 9) == 0)
			weighing[nweighing++] = gucs[i];
	}
}

/*
 * setting_hash
 *		A setting's name and current value hashed (its variable read as is:
 *		nothing allocated, no privilege check for settings only superusers
 *		may read).
 */
static uint64
setting_hash(const struct config_generic *conf)
{
	uint64		h = hash_bytes_extended((const unsigned char *) conf->name,
										strlen(conf->name), 0);
	const void *value;
	size_t		len;

	switch (conf->vartype)
	{
		case PGC_BOOL:
			value = ((const struct config_bool *) conf)->variable;
			len = sizeof(bool);
			break;
		case PGC_INT:
			value = ((const struct config_int *) conf)->variable;
			len = sizeof(int);
			break;
		case PGC_REAL:
			value = ((const struct config_real *) conf)->variable;
			len = sizeof(double);
			break;
		case PGC_ENUM:
			value = ((const struct config_enum *) conf)->variable;
			len = sizeof(int);
			break;
		case PGC_STRING:
			value = *((const struct config_string *) conf)->variable;
			len = value != NULL ? strlen(value) : 0;
			break;
		default:
			return h;
	}
	if (value == NULL || len == 0)
		return h;
	return hash_combine64(h, hash_bytes_extended((const unsigned char *) value,
												 len, 0));
}

/*
 * settings_fingerprint
 *		The fingerprint of this backend's settings that weigh on decisions
 *		(weighing_settings) and may differ from other backends': those set
 *		for a database, a role, by the client or in the session (those of
 *		the server's files and command line are every backend's); 0 when
 *		none is.
 */
static uint64
settings_fingerprint(void)
{
	uint64		h = 0;

	weighing_settings();
	for (int i = 0; i < nweighing; i++)
	{
		if (weighing[i]->source > PGC_S_ARGV)
			h = hash_combine64(h, setting_hash(weighing[i]));
	}
	return h;
}

/*
 * NdagSharedDecisionGet
 *		The decision another backend published for a statement of this
 *		database, decided under this generation, epoch and this backend's
 *		settings (the fingerprint, computed only when an entry is found),
 *		for a parameter set whose latest planning found the entry's class
 *		(class_tag: of a measured rows bucket, or NdagParamClassSeen) and
 *		that it serves (NdagCacheEntryServes), into *out; false when none.
 *		A parameter set not planned before is analysed, not served: its
 *		default plan may have another shape, a class of its own that only
 *		an analysis finds (a backend's own cache serves a settled
 *		statement's new constants as its class; fresh backends analysing
 *		them is how a new class is found).
 */
bool
NdagSharedDecisionGet(uint64 query_id, uint64 generation, uint64 epoch,
					  int bucket, uint32 class_tag, NdagCacheEntry *out)
{
	int			set;
	uint64		fingerprint = 0;
	bool		found = false;

	if (sd == NULL || class_tag == 0)
		return false;
	set = set_of(MyDatabaseId, query_id);
	LWLockAcquire(set_lock(set), LW_SHARED);
	for (int w = 0; w < SD_WAYS && !found; w++)
	{
		const SharedDecision *s = &sd->entries[set][w];

		if (of_statement(s, MyDatabaseId, query_id) &&
			s->entry.generation == generation && s->entry.epoch == epoch &&
			class_tag == (uint32) s->entry.klass &&
			NdagCacheEntryServes(&s->entry, bucket, class_tag))
		{
			*out = s->entry;
			fingerprint = s->fingerprint;
			found = true;
		}
	}
	LWLockRelease(set_lock(set));
	return found && fingerprint == settings_fingerprint();
}

/*
 * NdagSharedDecisionPut
 *		Publish a decision this backend's Embedding Cache now keeps, taken
 *		under this backend's settings: it replaces the statement's entry of
 *		the same class, else the set's oldest.
 */
void
NdagSharedDecisionPut(const NdagCacheEntry *e)
{
	int			set;
	uint64		fingerprint;
	SharedDecision *target = NULL;

	if (sd == NULL)
		return;
	fingerprint = settings_fingerprint();
	set = set_of(e->dbid, e->query_id);
	LWLockAcquire(set_lock(set), LW_EXCLUSIVE);
	for (int w = 0; w < SD_WAYS; w++)
	{
		SharedDecision *s = &sd->entries[set][w];

		if (of_statement(s, e->dbid, e->query_id) && s->entry.klass == e->klass)
		{
			target = s;
			break;
		}
		if (target == NULL || s->stamp < target->stamp)
			target = s;
	}
	target->entry = *e;
	target->fingerprint = fingerprint;
	target->stamp = pg_atomic_fetch_add_u64(&sd->next_stamp, 1);
	LWLockRelease(set_lock(set));
}

/*
 * NdagSharedDecisionsForget
 *		Drop the published decisions of a statement of a database, of
 *		every class.
 */
void
NdagSharedDecisionsForget(Oid dbid, uint64 query_id)
{
	int			set;

	if (sd == NULL)
		return;
	set = set_of(dbid, query_id);
	LWLockAcquire(set_lock(set), LW_EXCLUSIVE);
	for (int w = 0; w < SD_WAYS; w++)
	{
		SharedDecision *s = &sd->entries[set][w];

		if (of_statement(s, dbid, query_id))
			s->stamp = 0;
	}
	LWLockRelease(set_lock(set));
}
