/*-------------------------------------------------------------------------
 *
 * ring.c
 *	  The shared ring of recorded trajectories: ruvector.dag_max_trajectories
 *	  fixed-size slots written by backends and drained by one flusher at a
 *	  time (the learner worker or ruvector_dag_flush()).
 *
 * Positions grow without bound; position p lives in slot p % nslots.  A
 * writer takes the next position under the spinlock, marks the slot
 * FILLING, copies its trajectory outside the lock and marks it READY.  If
 * the slot still holds a READY trajectory nobody flushed, that oldest
 * trajectory is overwritten and counted as dropped; if another process is
 * still copying into or out of it, the new trajectory is dropped instead.
 * Nobody ever waits for anything but the spinlock, held for a few
 * instructions.
 *
 * The reader takes positions from tail in order, and stops at a slot still
 * being filled: it is picked up by the next drain.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "storage/shmem.h"
#include "storage/spin.h"

#include "core/core.h"
#include "recording/recording.h"

typedef enum SlotState
{
	SLOT_EMPTY = 0,
	SLOT_FILLING,				/* a writer copies into it */
	SLOT_READY,					/* published, not flushed yet */
	SLOT_READING				/* the flusher copies out of it */
} SlotState;

typedef struct RingSlot
{
	uint64		pos;			/* position the slot holds */
	SlotState	state;
	NdagRingEntry traj;
} RingSlot;

typedef struct Ring
{
	slock_t		lock;
	uint64		head;			/* next position to hand out */
	uint64		tail;			/* oldest position not taken by the flusher */
	int			nslots;
	RingSlot	slots[FLEXIBLE_ARRAY_MEMBER];
} Ring;

static Ring *ring = NULL;

/*
 * NdagRingShmemSize
 *		Bytes of the ring for ruvector.dag_max_trajectories slots.
 */
Size
NdagRingShmemSize(void)
{
	return MAXALIGN(add_size(offsetof(Ring, slots),
							 mul_size(sizeof(RingSlot), ndag_max_trajectories)));
}

/*
 * NdagRingShmemInit
 *		Create or attach to the ring (caller holds AddinShmemInitLock).
 */
void
NdagRingShmemInit(void)
{
	bool		found;

	ring = ShmemInitStruct("neural_dag trajectory ring",
						   NdagRingShmemSize(), &found);
	if (!found)
	{
		SpinLockInit(&ring->lock);
		ring->head = 0;
		ring->tail = 0;
		ring->nslots = ndag_max_trajectories;
		for (int i = 0; i < ring->nslots; i++)
		{
			ring->slots[i].pos = 0;
			ring->slots[i].state = SLOT_EMPTY;
		}
	}
}

/*
 * NdagRingPut
 *		Copy a trajectory into the ring; false if it had to be dropped.
 *		Never raises an error and never waits on anything but the spinlock.
 *
 * Every trajectory offered counts as recorded, so that recorded = flushed +
 * dropped + in the ring + lost by a failed flush.
 */
bool
NdagRingPut(const NdagRingEntry *traj)
{
	RingSlot   *slot;
	uint64		pos;
	bool		overwrote = false;
	bool		half_full;

	if (ring == NULL)
		return false;
	NdagCounterAdd(NDAG_COUNTER_RECORDED, 1);

	SpinLockAcquire(&ring->lock);
	pos = ring->head;
	slot = &ring->slots[pos % ring->nslots];
	if (slot->state == SLOT_FILLING || slot->state == SLOT_READING)
	{
		SpinLockRelease(&ring->lock);
		NdagCounterAdd(NDAG_COUNTER_DROPPED, 1);
		return false;
	}
	overwrote = (slot->state == SLOT_READY);
	slot->state = SLOT_FILLING;
	slot->pos = pos;
	ring->head = pos + 1;
	if (ring->head - ring->tail > (uint64) ring->nslots)
		ring->tail = ring->head - ring->nslots;
	half_full = (ring->head - ring->tail == (uint64) (ring->nslots / 2));
	SpinLockRelease(&ring->lock);

	if (overwrote)
		NdagCounterAdd(NDAG_COUNTER_DROPPED, 1);

	memcpy(&slot->traj, traj, NdagRingEntrySize(traj));

	SpinLockAcquire(&ring->lock);
	slot->state = SLOT_READY;
	SpinLockRelease(&ring->lock);

	/* do not wait for the learner's next tick to drain a filling ring */
	if (half_full)
		NdagWakeLearner();
	return true;
}

/*
 * NdagRingTake
 *		Move up to max published trajectories, oldest first, into out[];
 *		returns how many.  The caller holds NdagFlushLock(), so there is
 *		one reader at a time.
 */
int
NdagRingTake(NdagRingEntry *out, int max)
{
	int			n = 0;

	if (ring == NULL)
		return 0;

	while (n < max)
	{
		RingSlot   *slot;
		uint64		pos;

		SpinLockAcquire(&ring->lock);
		if (ring->tail >= ring->head)
		{
			SpinLockRelease(&ring->lock);
			break;
		}
		pos = ring->tail;
		slot = &ring->slots[pos % ring->nslots];
		if (slot->pos != pos || slot->state == SLOT_EMPTY)
		{
			/* dropped and reused, or abandoned: nothing to take here */
			ring->tail = pos + 1;
			SpinLockRelease(&ring->lock);
			continue;
		}
		if (slot->state != SLOT_READY)
		{
			/* still being filled: the next drain takes it */
			SpinLockRelease(&ring->lock);
			break;
		}
		slot->state = SLOT_READING;
		ring->tail = pos + 1;
		SpinLockRelease(&ring->lock);

		memcpy(&out[n], &slot->traj, NdagRingEntrySize(&slot->traj));
		n++;

		SpinLockAcquire(&ring->lock);
		slot->state = SLOT_EMPTY;
		SpinLockRelease(&ring->lock);
	}
	return n;
}

/*
 * NdagRingUsage
 *		Positions handed out and not yet taken, and the number of slots.
 */
void
NdagRingUsage(uint64 *used, uint64 *capacity)
{
	*used = 0;
	*capacity = 0;
	if (ring == NULL)
		return;
	SpinLockAcquire(&ring->lock);
	*used = ring->head - ring->tail;
	*capacity = ring->nslots;
	SpinLockRelease(&ring->lock);
}
