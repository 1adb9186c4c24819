/*-------------------------------------------------------------------------
 *
 * query_memory_int.h
 *	  The slots of the query memory's shared table and the helpers its
 *	  files share: query_memory.c (the table, turns, pairs and verdicts)
 *	  and query_memory_records.c (records for the store: flush, load,
 *	  sync).  Nothing outside hooks/planner/query_memory*.c includes it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_QUERY_MEMORY_INT_H
#define NDAG_QUERY_MEMORY_INT_H

#include "port/atomics.h"
#include "storage/lwlock.h"

#include "paired.h"
#include "planner/planner.h"

/* default runs whose median is the statement's baseline */
#define QM_RECENT			7

/* one arm of one statement class */
typedef struct QmArm
{
	uint32		runs;			/* executions measured under the arm */
	float4		mean_ln;		/* their mean ln ms */
	float4		cost_ratio;		/* estimated cost / default's, 0 unknown */
	uint8		verdict;		/* NdagArmVerdict */
	NdagPaired	pairs;			/* pairs that decide the verdict */
	NdagPaired	validation;		/* pairs since it was proven faster */
} QmArm;

typedef struct QmSlot
{
	Oid			dbid;			/* InvalidOid: free */
	uint64		query_id;
	uint64		klass;			/* parameter class */
	pg_atomic_uint64 last_used; /* tick of the table */
	pg_atomic_uint64 used_at;	/* TimestampTz: when last planned or observed */
	bool		multi_class;	/* the query has other classes too */
	bool		stored;			/* the store has a record of it */
	uint64		all_loaded_at;	/* 1 + the load generation at which the table
								 * held every class of the statement the store
								 * has; 0: not known */
	bool		dirty;			/* changed since it was last flushed */
	bool		frozen;			/* DBA: no exploration */
	int32		pinned_arm;		/* DBA: always this arm, NDAG_QM_NOT_PINNED none */
	uint64		forbidden_mask; /* DBA: never these arms */
	int8		last_source;	/* the latest decision drawn: NdagDecisionSource */
	int16		last_arm;		/* ... and its arm */
	uint32		default_n;
	float4		default_recent[QM_RECENT];	/* ring of the latest default runs, ms */
	double		fresh_default_ms;	/* latest default run not paired yet */
	double		fresh_default_at;	/* its time in seconds, 0: none */
	pg_atomic_uint32 total;		/* decisions that drew a turn */
	uint32		explored;
	uint32		since_validation;
	uint64		same_mask;
	uint64		planned_mask;
	uint64		forced_mask;
	uint64		demoted_mask;
	int32		btsp_arm;		/* NDAG_QM_NO_BTSP: none */
	double		btsp_stored_at; /* seconds */
	/*
	 * the users' final between two proven arms (learn mode; shared memory
	 * only, like the load it ran under): the applied arm (leader) and a
	 * challenger take turns, each run of the challenger paired with the
	 * leader's run before it
	 */
	int16		final_leader;	/* 0: no final running */
	int16		final_challenger;
	int16		final_winner;	/* the latest final's winning challenger, 0 none */
	uint64		final_lost_mask;	/* arms that lost a final */
	double		fresh_leader_ms;	/* latest leader run not paired yet */
	double		fresh_leader_at;	/* its time in seconds, 0: none */
	bool		final_turn_given;	/* the challenger's turn after it was drawn */
	uint16		final_idle_turns;	/* turns since the final's start or last
									 * pair */
	NdagPaired	final_pairs;	/* challenger ms against leader ms */
	QmArm		arms[NDAG_MAX_ARMS];
} QmSlot;

/*
 * The statistics of a slot as the store keeps them (the record's "state"):
 * native layout, the store being this cluster's only; magic and size tell
 * a record of another layout, whose statistics are then not loaded.
 */
#define QM_PACKED_MAGIC		0x4e514d31	/* "NQM1" */
typedef struct QmPacked
{
	uint32		magic;
	uint32		size;			/* sizeof(QmPacked) */
	uint32		default_n;
	float4		default_recent[QM_RECENT];
	uint32		total;
	uint32		explored;
	uint32		since_validation;
	uint64		same_mask;
	uint64		planned_mask;
	uint64		forced_mask;
	uint64		demoted_mask;
	int32		last_source;
	int32		last_arm;
	QmArm		arms[NDAG_MAX_ARMS];
} QmPacked;

/* what NdagQmForEachSlot does with one slot */
typedef void (*QmSlotVisitor) (QmSlot *s, void *arg);

/* ---------- query_memory.c ---------- */
extern bool NdagQmAttached(void);
extern uint32 NdagQmStatementHash(Oid dbid, uint64 query_id);
extern LWLock *NdagQmStatementLock(uint32 h);
extern QmSlot *NdagQmSlotFind(uint32 h, Oid dbid, uint64 query_id,
							  uint64 klass, bool create);
extern void NdagQmSlotClear(QmSlot *s);
extern void NdagQmTouchTick(QmSlot *s);
extern pg_atomic_uint64 *NdagQmStatementBucket(Oid dbid, uint64 query_id);
extern void NdagQmForEachSlot(Oid dbid, LWLockMode mode, QmSlotVisitor visit,
							  void *arg);
extern int	NdagQmBestProven(const QmSlot *s, uint64 usable, double *speedup);
extern double NdagQmDefaultMedian(const QmSlot *s);

#endif							/* NDAG_QUERY_MEMORY_INT_H */
