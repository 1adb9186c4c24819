/*-------------------------------------------------------------------------
 *
 * query_memory_records.c
 *	  The query memory's slots as records of the store (ndag_queries):
 *	  what the learner flushes (the slots changed since their last flush),
 *	  what a planning loads when the shared table does not hold a class
 *	  (after a restart or an eviction), and the DBA's committed edits of
 *	  the records taken back into the table.  The table itself is
 *	  query_memory.c's; query_store.c reads and writes the store.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "port/atomics.h"
#include "storage/lwlock.h"

#include "core/core.h"
#include "planner/planner.h"
#include "planner/query_memory_int.h"

/*
 * next_decision
 *		What the next planning of a slot's class would do, as far as the
 *		table knows (a pattern match needs the plan: the latest decision
 *		drawn stands for it): the pin, the best usable proven arm, the
 *		latest pattern arm still allowed, else the default plan.
 */
static int
next_decision(const QmSlot *s, uint64 enabled, int *arm)
{
	uint64		usable = enabled & ~s->demoted_mask & ~s->forbidden_mask;
	double		speedup;

	if (s->pinned_arm != NDAG_QM_NOT_PINNED)
	{
		*arm = s->pinned_arm;
		return NDAG_DECISION_PINNED;
	}
	*arm = NdagQmBestProven(s, usable, &speedup);
	if (*arm != 0)
		return NDAG_DECISION_PROVEN;
	if (s->last_source == NDAG_DECISION_PATTERN && s->last_arm > 0 &&
		s->last_arm < NDAG_MAX_ARMS &&
		(usable & (UINT64CONST(1) << s->last_arm)) != 0)
	{
		*arm = s->last_arm;
		return NDAG_DECISION_PATTERN;
	}
	*arm = 0;
	return NDAG_DECISION_DEFAULT;
}

/*
 * slot_record
 *		A slot as ndag_queries shows it, with its statistics packed
 *		(palloc'd).
 */
static void
slot_record(QmSlot *s, uint64 enabled, NdagQueryRecord *r)
{
	QmPacked   *p = palloc0(sizeof(QmPacked));
	double		speedup;

	memset(r, 0, sizeof(NdagQueryRecord));
	r->dbid = s->dbid;
	r->query_id = s->query_id;
	r->klass = s->klass;
	r->stored = s->stored;
	r->decision_source = next_decision(s, enabled, &r->decision_arm);
	r->default_median_ms = NdagQmDefaultMedian(s);
	r->best_arm = NdagQmBestProven(s, ~s->demoted_mask, &speedup);
	r->best_arm_ms = r->best_arm != 0 ? exp(s->arms[r->best_arm].mean_ln) : NAN;
	r->runs[0] = s->default_n;
	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
		r->runs[arm] = s->arms[arm].runs;
	r->demoted_mask = s->demoted_mask;
	r->pinned_arm = s->pinned_arm;
	r->forbidden_mask = s->forbidden_mask;
	r->frozen = s->frozen;
	r->last_used = (TimestampTz) pg_atomic_read_u64(&s->used_at);

	p->magic = QM_PACKED_MAGIC;
	p->size = sizeof(QmPacked);
	p->default_n = s->default_n;
	memcpy(p->default_recent, s->default_recent, sizeof(p->default_recent));
	p->total = pg_atomic_read_u32(&s->total);
	p->explored = s->explored;
	p->since_validation = s->since_validation;
	p->same_mask = s->same_mask;
	p->planned_mask = s->planned_mask;
	p->forced_mask = s->forced_mask;
	p->demoted_mask = s->demoted_mask;
	p->last_source = s->last_source;
	p->last_arm = s->last_arm;
	memcpy(p->arms, s->arms, sizeof(p->arms));
	r->state = p;
	r->state_len = sizeof(QmPacked);
}

/* records collected from the table */
typedef struct QmCollect
{
	uint64		enabled;		/* the catalogue's enabled arms */
	NdagQueryRecord *records;	/* palloc'd */
	int			n;
	int			size;
} QmCollect;

/*
 * collect_if_dirty
 *		NdagQmForEachSlot visitor: a slot changed since it was last collected
 *		goes into a QmCollect as a record, and counts as flushed and stored.
 */
static void
collect_if_dirty(QmSlot *s, void *arg)
{
	QmCollect  *c = arg;

	if (!s->dirty)
		return;
	if (c->n == c->size)
	{
		c->size *= 2;
		c->records = repalloc(c->records, sizeof(NdagQueryRecord) * c->size);
	}
	slot_record(s, c->enabled, &c->records[c->n++]);
	s->dirty = false;
	s->stored = true;
}

/*
 * NdagQueryMemoryCollect
 *		Records of the slots of database dbid (InvalidOid: all) that
 *		changed since they were last collected, in a palloc'd array; their
 *		number.  They count as flushed and stored
 *		from now on.  enabled is the catalogue's enabled arms.
 */
int
NdagQueryMemoryCollect(Oid dbid, uint64 enabled, NdagQueryRecord **out)
{
	QmCollect	c = {enabled, palloc(sizeof(NdagQueryRecord) * 16), 0, 16};

	NdagQmForEachSlot(dbid, LW_EXCLUSIVE, collect_if_dirty, &c);
	*out = c.records;
	return c.n;
}

/*
 * NdagQueryMemoryLoad
 *		Install a stored record's class (its controls, and its statistics
 *		when state is of this build's layout) unless the table has it
 *		already.  True when it was installed.
 */
bool
NdagQueryMemoryLoad(const NdagQueryRecord *r)
{
	QmSlot	   *s;
	uint32		h;
	bool		installed = false;

	if (!NdagQmAttached() || !OidIsValid(r->dbid))
		return false;
	h = NdagQmStatementHash(r->dbid, r->query_id);
	LWLockAcquire(NdagQmStatementLock(h), LW_EXCLUSIVE);
	if (NdagQmSlotFind(h, r->dbid, r->query_id, r->klass, false) == NULL)
	{
		const QmPacked *p = (const QmPacked *) r->state;

		s = NdagQmSlotFind(h, r->dbid, r->query_id, r->klass, true);
		s->pinned_arm = r->pinned_arm;
		s->forbidden_mask = r->forbidden_mask;
		s->frozen = r->frozen;
		pg_atomic_write_u64(&s->used_at, (uint64) r->last_used);
		s->stored = true;
		if (p != NULL && r->state_len == sizeof(QmPacked) &&
			p->magic == QM_PACKED_MAGIC && p->size == sizeof(QmPacked))
		{
			s->default_n = p->default_n;
			memcpy(s->default_recent, p->default_recent, sizeof(s->default_recent));
			pg_atomic_write_u32(&s->total, p->total);
			s->explored = p->explored;
			s->since_validation = p->since_validation;
			s->same_mask = p->same_mask;
			s->planned_mask = p->planned_mask;
			s->forced_mask = p->forced_mask;
			s->demoted_mask = p->demoted_mask;
			s->last_source = (int8) p->last_source;
			s->last_arm = (int16) p->last_arm;
			memcpy(s->arms, p->arms, sizeof(s->arms));
		}
		NdagQmTouchTick(s);
		installed = true;
	}
	LWLockRelease(NdagQmStatementLock(h));
	if (installed)
		pg_atomic_fetch_add_u64(NdagQmStatementBucket(r->dbid, r->query_id), 1);
	return installed;
}

/* the records a sync compares the slots with */
typedef struct QmSync
{
	const NdagQueryRecord *records;	/* sorted by query_id, then klass */
	int			n;
} QmSync;

/*
 * sync_slot
 *		NdagQmForEachSlot visitor: a stored slot takes the controls of its
 *		record in a QmSync (and is flushed again when they changed), or is
 *		forgotten when it has none.
 */
static void
sync_slot(QmSlot *s, void *arg)
{
	const QmSync *sync = arg;
	const NdagQueryRecord *r = NULL;
	int			lo = 0;
	int			hi = sync->n - 1;

	if (!s->stored)
		return;
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		const NdagQueryRecord *m = &sync->records[mid];

		if (m->query_id == s->query_id && m->klass == s->klass)
		{
			r = m;
			break;
		}
		if (m->query_id < s->query_id ||
			(m->query_id == s->query_id && m->klass < s->klass))
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	if (r == NULL)
		NdagQmSlotClear(s);
	else if (s->pinned_arm != r->pinned_arm ||
			 s->forbidden_mask != r->forbidden_mask ||
			 s->frozen != r->frozen)
	{
		s->pinned_arm = r->pinned_arm;
		s->forbidden_mask = r->forbidden_mask;
		s->frozen = r->frozen;
		s->dirty = true;		/* its next decision changed */
	}
}

/*
 * NdagQueryMemorySync
 *		After a committed edit of database dbid's records: every stored
 *		slot of the database takes the controls of its record among
 *		records[] (sorted by query_id, then klass, unsigned), and is
 *		flushed again when they changed (its next decision did); a
 *		stored slot without a record was deleted and is forgotten.  Every
 *		backend's cached decisions are dropped.
 */
void
NdagQueryMemorySync(Oid dbid, const NdagQueryRecord *records, int n)
{
	QmSync		sync = {records, n};

	if (!NdagQmAttached())
		return;
	if (OidIsValid(dbid))
		NdagQmForEachSlot(dbid, LW_EXCLUSIVE, sync_slot, &sync);
	NdagRewriteEpochBump();
}
