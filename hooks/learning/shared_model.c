/*-------------------------------------------------------------------------
 *
 * shared_model.c
 *	  Decoded cost models shared by the backends of a database, so that a
 *	  new backend predicts without decoding the stored model itself.
 *
 * Every planned statement on an enabled table asks the cost model for a
 * prediction (the baseline of a statement without default runs, the
 * latency shown by EXPLAIN and kept with the trajectory).  Decoding the
 * stored model into a backend's own copy (checks, allocation, W_eff) is
 * the larger part of a short connection's learning cost, and it is the
 * same work in every backend of a database until the model changes.  So
 * the first backend that decodes a database's model (as of a learned-state
 * epoch: NdagLearnedEpoch, which moves with every store write that changes
 * the learned state, a reset or a restore) also copies its parameters and W_eff here, and the others
 * predict from that copy under a shared lock until they need a copy of
 * their own: the instant loop trains one, from a recorded execution in
 * learn mode (learned_state.c).  A slot also says when no model is stored.
 *
 * A long-lived backend does not keep predicting in the slot: every planned
 * statement on an enabled table predicts at least once, and a shared
 * LWLock taken that often by every backend of a database is a contended
 * cache line.  After PREDICTIONS_BEFORE_COPY predictions at an epoch the
 * backend copies the slot (a few tens of kB) under the shared lock, builds
 * the engine's view of it once, and predicts from its copy without a lock
 * until the epoch moves.  The first few are made in the slot because a
 * short connection (one or two statements) would pay more for the copy's
 * fresh pages than for the lock.
 *
 * SHARED_MODEL_SLOTS slots, a database's chosen by its oid (a database
 * whose slot another holds decodes its own copies, as before); each slot
 * has its own LWLock, held shared to predict and exclusively to publish.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/pg_list.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "costmodel.h"
#include "engine.h"
#include "learn.h"
#include "patterns.h"
#include "ucb.h"
#include "core/core.h"
#include "plandag/plandag.h"
#include "learning/learning.h"
#include "store.h"
#include "learning/learning_int.h"

#define SHARED_MODEL_SLOTS		8
#define SHARED_MODEL_TRANCHE	"neural_dag shared models"
#define PREDICTIONS_BEFORE_COPY	16	/* in the slot, then from a copy */
/* floats of the largest model: parameters at the largest ranks, W_eff */
#define SHARED_MODEL_FLOATS \
	((2 * NDAG_COST_MAX_RANK * (NDAG_EMBED_DIM + LEARN_ARMS)) + \
	 (2 * NDAG_COST_HIDDEN * NDAG_COST_MAX_RANK) + 2 * NDAG_COST_HIDDEN + 1 + \
	 NDAG_COST_HIDDEN * (NDAG_EMBED_DIM + LEARN_ARMS))

typedef struct SharedModelSlot
{
	Oid			dbid;			/* InvalidOid: empty */
	uint64		epoch;			/* the learned-state epoch it was read at */
	bool		stored;			/* a model is stored; else nothing below */
	int			n_arms;
	int			base_rank;
	int			micro_rank;
	int			n_params;
	uint64		seed;			/* of W0 */
	uint64		instant_steps;	/* the stored model's step counts */
	uint64		base_steps;
	float		data[SHARED_MODEL_FLOATS];	/* params, then W_eff */
} SharedModelSlot;

typedef struct SharedModels
{
	LWLockPadded *locks;
	SharedModelSlot slots[SHARED_MODEL_SLOTS];
} SharedModels;

static SharedModels *shared_models = NULL;

/* this backend's copy of its database's slot, as of one epoch */
typedef struct LocalModelCopy
{
	Oid			dbid;			/* InvalidOid: none */
	uint64		epoch;
	bool		stored;			/* a model is stored; else no view */
	bool		viewable;		/* view is usable for predictions */
	NdagCostModel view;			/* over data and scratch */
	float	   *data;			/* params, then W_eff (TopMemoryContext) */
	float		scratch[NDAG_COST_SCRATCH];
} LocalModelCopy;

static LocalModelCopy local_copy = {InvalidOid};

/* predictions made in the slot, at in_slot_epoch of in_slot_dbid */
static Oid	in_slot_dbid = InvalidOid;
static uint64 in_slot_epoch = 0;
static int	in_slot_predictions = 0;

/* copies of a slot this backend took, for ruvector_dag_status() */
static uint64 slot_copies = 0;

/*
 * NdagSharedModelShmemSize
 *		Bytes of the slots.
 */
Size
NdagSharedModelShmemSize(void)
{
	return sizeof(SharedModels);
}

/*
 * NdagSharedModelShmemRequest
 *		Ask for the slots and their locks (from shmem_request_hook).
 */
void
NdagSharedModelShmemRequest(void)
{
	RequestAddinShmemSpace(NdagSharedModelShmemSize());
	RequestNamedLWLockTranche(SHARED_MODEL_TRANCHE, SHARED_MODEL_SLOTS);
}

/*
 * NdagSharedModelShmemInit
 *		Create or attach to the slots (under AddinShmemInitLock).
 */
void
NdagSharedModelShmemInit(void)
{
	bool		found;

	shared_models = ShmemInitStruct("neural_dag shared models",
									NdagSharedModelShmemSize(), &found);
	if (!found)
	{
		shared_models->locks = GetNamedLWLockTranche(SHARED_MODEL_TRANCHE);
		for (int i = 0; i < SHARED_MODEL_SLOTS; i++)
			shared_models->slots[i].dbid = InvalidOid;
	}
}

/*
 * slot_lock
 *		The lock of a database's slot.
 */
static LWLock *
slot_lock(Oid dbid)
{
	return &shared_models->locks[dbid % SHARED_MODEL_SLOTS].lock;
}

/*
 * copy_slot
 *		Copy database dbid's slot into local_copy if it holds the model of
 *		epoch, and build the engine's view of the copy; false when the slot
 *		holds something else (or out of memory: the caller decodes its own
 *		model).  The shared lock is held only for the copy.
 */
static bool
copy_slot(Oid dbid, uint64 epoch)
{
	SharedModelSlot *s = &shared_models->slots[dbid % SHARED_MODEL_SLOTS];
	bool		copied = false;
	int			n_arms = 0;
	int			base_rank = 0;
	int			micro_rank = 0;
	int			n_params = 0;

	/* the largest model's size, allocated once: nothing to resize later */
	if (local_copy.data == NULL)
		local_copy.data = MemoryContextAllocExtended(TopMemoryContext,
													 sizeof(float) * SHARED_MODEL_FLOATS,
													 MCXT_ALLOC_NO_OOM);
	if (local_copy.data == NULL)
		return false;
	LWLockAcquire(slot_lock(dbid), LW_SHARED);
	if (s->dbid == dbid && s->epoch == epoch)
	{
		copied = true;
		local_copy.stored = s->stored;
		if (s->stored)
		{
			n_arms = s->n_arms;
			base_rank = s->base_rank;
			micro_rank = s->micro_rank;
			n_params = s->n_params;
			/* Publish checked that parameters and W_eff fit */
			memcpy(local_copy.data, s->data, sizeof(float) *
				   ((size_t) n_params +
					(size_t) NDAG_COST_HIDDEN * (NDAG_EMBED_DIM + n_arms)));
		}
	}
	LWLockRelease(slot_lock(dbid));
	if (!copied)
		return false;
	local_copy.dbid = dbid;
	local_copy.epoch = epoch;
	slot_copies++;
	local_copy.viewable = local_copy.stored &&
		ndag_cost_view(&local_copy.view, n_arms, base_rank, micro_rank,
					   n_params, local_copy.data, local_copy.data + n_params,
					   local_copy.scratch) == NDAG_OK;
	return true;
}

/*
 * predict_with
 *		The prediction of a stored model's view for an arm into *y, NaN
 *		when the arm is out of range or the view is not usable.
 */
static void
predict_with(NdagCostModel *view, bool viewable, const float *embedding,
			 int arm, double *y)
{
	*y = get_float8_nan();
	if (viewable && arm >= 0 && arm < view->n_arms &&
		ndag_cost_predict(view, embedding, arm, y) != NDAG_OK)
		*y = get_float8_nan();
}

/*
 * predict_in_slot
 *		NdagSharedModelPredict in the slot itself, under its shared lock.
 */
static NdagSharedModelResult
predict_in_slot(Oid dbid, uint64 epoch, const float *embedding, int arm,
				double *y)
{
	SharedModelSlot *s = &shared_models->slots[dbid % SHARED_MODEL_SLOTS];
	NdagSharedModelResult result = SHARED_MODEL_MISS;

	LWLockAcquire(slot_lock(dbid), LW_SHARED);
	if (s->dbid == dbid && s->epoch == epoch)
	{
		NdagCostModel view;

		result = s->stored ? SHARED_MODEL_HIT : SHARED_MODEL_NONE;
		if (s->stored)
			predict_with(&view,
						 ndag_cost_view(&view, s->n_arms, s->base_rank,
										s->micro_rank, s->n_params, s->data,
										s->data + s->n_params,
										local_copy.scratch) == NDAG_OK,
						 embedding, arm, y);
	}
	LWLockRelease(slot_lock(dbid));
	return result;
}

/*
 * NdagSharedModelPredict
 *		The prediction of database dbid's model as stored at epoch, if
 *		its slot holds it: SHARED_MODEL_HIT with *y set (NaN for an arm out
 *		of range), SHARED_MODEL_NONE when no model is stored,
 *		SHARED_MODEL_MISS when the slot holds something else.  The first
 *		PREDICTIONS_BEFORE_COPY of an epoch are made in the slot, the
 *		others from this backend's copy of it.
 */
NdagSharedModelResult
NdagSharedModelPredict(Oid dbid, uint64 epoch, const float *embedding,
					   int arm, double *y)
{
	if (shared_models == NULL)
		return SHARED_MODEL_MISS;
	if (local_copy.dbid != dbid || local_copy.epoch != epoch)
	{
		if (in_slot_dbid != dbid || in_slot_epoch != epoch)
		{
			in_slot_dbid = dbid;
			in_slot_epoch = epoch;
			in_slot_predictions = 0;
		}
		if (++in_slot_predictions <= PREDICTIONS_BEFORE_COPY)
			return predict_in_slot(dbid, epoch, embedding, arm, y);
		if (!copy_slot(dbid, epoch))
			return SHARED_MODEL_MISS;
	}
	if (!local_copy.stored)
		return SHARED_MODEL_NONE;
	predict_with(&local_copy.view, local_copy.viewable, embedding, arm, y);
	return SHARED_MODEL_HIT;
}

/*
 * NdagSharedModelTake
 *		A model of this backend's own, for the instant loop to train, made
 *		from database dbid's slot if it holds the model as stored at epoch
 *		(its parameters, W_eff, step counts and seed: what decoding the
 *		stored model gives, without reading the store, checking the blob or
 *		computing W_eff): SHARED_MODEL_HIT with *model set,
 *		SHARED_MODEL_NONE when no model is stored (*model NULL),
 *		SHARED_MODEL_MISS when the slot holds something else or the copy
 *		could not be allocated (the caller decodes the stored model).
 *		Copied from the slot itself, not through copy_slot: that would copy
 *		the model twice and give a short connection local_copy's buffer, tens
 *		of kB of fresh pages, as well (+41,000 instructions under callgrind).
 */
NdagSharedModelResult
NdagSharedModelTake(Oid dbid, uint64 epoch, NdagCostModel **model)
{
	SharedModelSlot *s;
	NdagSharedModelResult result = SHARED_MODEL_MISS;
	NdagCostModel view;

	*model = NULL;
	if (shared_models == NULL)
		return SHARED_MODEL_MISS;
	s = &shared_models->slots[dbid % SHARED_MODEL_SLOTS];
	LWLockAcquire(slot_lock(dbid), LW_SHARED);
	if (s->dbid == dbid && s->epoch == epoch)
	{
		if (!s->stored)
			result = SHARED_MODEL_NONE;
		else if (ndag_cost_view(&view, s->n_arms, s->base_rank, s->micro_rank,
								s->n_params, s->data, s->data + s->n_params,
								local_copy.scratch) == NDAG_OK)
		{
			view.seed = s->seed;
			view.instant_steps = s->instant_steps;
			view.base_steps = s->base_steps;
			/* the engine's malloc: nothing raised while the lock is held */
			*model = ndag_cost_copy(&view);
			if (*model != NULL)
				result = SHARED_MODEL_HIT;
		}
	}
	LWLockRelease(slot_lock(dbid));
	return result;
}

/*
 * NdagSharedModelCopies
 *		How many times this backend copied its database's slot to predict
 *		without the lock.
 */
uint64
NdagSharedModelCopies(void)
{
	return slot_copies;
}

/*
 * NdagSharedModelPublish
 *		Put database dbid's model as stored at epoch (NULL: none stored)
 *		into its slot, unless the slot already holds that model at a later
 *		epoch or the model does not fit.
 */
void
NdagSharedModelPublish(Oid dbid, uint64 epoch, const NdagCostModel *model)
{
	SharedModelSlot *s;
	size_t		w_floats;

	if (shared_models == NULL)
		return;
	w_floats = model != NULL ? (size_t) model->hidden * model->in_dim : 0;
	if (model != NULL && (size_t) model->n_params + w_floats > SHARED_MODEL_FLOATS)
		return;
	s = &shared_models->slots[dbid % SHARED_MODEL_SLOTS];
	LWLockAcquire(slot_lock(dbid), LW_EXCLUSIVE);
	if (s->dbid != dbid || s->epoch < epoch)
	{
		s->dbid = dbid;
		s->epoch = epoch;
		s->stored = model != NULL;
		if (model != NULL)
		{
			s->n_arms = model->n_arms;
			s->base_rank = model->base_rank;
			s->micro_rank = model->micro_rank;
			s->n_params = model->n_params;
			s->seed = model->seed;
			s->instant_steps = model->instant_steps;
			s->base_steps = model->base_steps;
			memcpy(s->data, model->params, sizeof(float) * model->n_params);
			memcpy(s->data + model->n_params, model->w_eff,
				   sizeof(float) * w_floats);
		}
	}
	LWLockRelease(slot_lock(dbid));
}
