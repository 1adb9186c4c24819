/*-------------------------------------------------------------------------
 *
 * instant_loop.c
 *	  The instant loop of this backend's copy of the learned state
 *	  (learned_state.c), and the shared slots through which the copy's
 *	  changes and the attention rewards reach the learner, which merges
 *	  them into the stored cost model and selector.
 *
 * The instant loop (learn mode only).  One SGD step (ndag_cost_instant_step,
 * ruvector.dag_learning_rate) on the MicroLoRA factors and output layer of
 * this backend's model copy per recorded execution embedded with the
 * decision mechanism.  Every INSTANT_FLUSH_EVERY steps the change since the
 * last flush (ndag_cost_delta_capture) is added into this database's shared
 * slot, without waiting: if the slot lock is busy the change stays in the
 * copy and goes with the next attempt (a reload pushes what is pending
 * first).  The learner takes the slots at most every MERGE_INTERVAL_S
 * (NdagLearnedMergePending: a merge moves the generation, so every backend
 * reloads) or at the start of a cycle, merges the deltas into the stored
 * model (ndag_cost_delta_merge), adds the rewards to the stored selector,
 * and writes both with the generation bumped; backends then reload the
 * merged model.
 *
 * Merging.  Every backend trains its own copy of one stored model, so the
 * deltas in a slot are parallel steps from the same point: their sum is k
 * times one backend's step (16 busy backends: 16 x the learning rate),
 * which overshoots and, merge after merge, made the stored model diverge
 * to infinities (16 pgbench clients, a restore every few seconds: 171
 * non-finite parameters).  The learner therefore merges their mean: the
 * summed diff scaled by 1 / the number of backend copies that contributed
 * (a copy counts once per take of the slots however often it flushed; a
 * reload starts a new copy).  Deltas pending when the model is replaced
 * (a cycle, a restore) still merge into the new model, averaged the same
 * way.  Non-finite values never get in: an instant step, a push into a
 * slot, a merge and a training run that would produce one are rejected
 * whole and counted (rejected_* in ruvector_dag_status()), and a model
 * with one is never written.
 *
 * Rewards.  When a model was stored, every recorded execution's accuracy
 * 1 - min(1, |ln(pred / actual)| / ln 10) rewards the mechanism that made
 * its embedding: in this backend's UCB selector (attention_state.c) and,
 * through the slot, in the learned selector that picks the decision
 * mechanism (learned_state.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "port/atomics.h"
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

#define INSTANT_FLUSH_EVERY		100 /* instant steps between delta flushes */
#define REWARD_FLUSH_EVERY		100 /* rewards between flushes */
#define DELTA_SLOTS				16	/* databases with pending deltas */
#define MERGE_INTERVAL_S		10	/* the learner merges at most this often */

/* the largest instant slice: b, v, c, A_micro, B_micro */
#define DELTA_MAX_N \
	(2 * NDAG_COST_HIDDEN + 1 + \
	 NDAG_COST_MAX_RANK * (NDAG_EMBED_DIM + NDAG_COST_MAX_ARMS) + \
	 NDAG_COST_HIDDEN * NDAG_COST_MAX_RANK)

/* the pending instant-loop changes and rewards of one database */
typedef struct DeltaSlot
{
	Oid			dbid;			/* InvalidOid: free */
	int			n_arms;			/* shape of the summed diff (n 0: none) */
	int			base_rank;
	int			micro_rank;
	int			n;
	uint64		steps;			/* instant steps summed in diff */
	uint64		deltas;			/* backend flushes summed */
	uint64		copies;			/* backend copies that contributed */
	double		reward_sum[NDAG_N_MECHANISMS];
	uint64		reward_n[NDAG_N_MECHANISMS];
	float		diff[DELTA_MAX_N];
} DeltaSlot;

typedef struct LearnedShared
{
	pg_atomic_uint64 instant_steps; /* all backends */
	pg_atomic_uint64 deltas_flushed;	/* backend flushes into a slot */
	pg_atomic_uint64 deltas_merged; /* backend flushes merged by the learner */
	pg_atomic_uint64 merges;	/* merges written to the store */
	pg_atomic_uint64 rejected_steps;	/* instant steps (non-finite) */
	pg_atomic_uint64 rejected_deltas;	/* pushes and merges (non-finite) */
	pg_atomic_uint64 rejected_models;	/* training runs and writes */
	pg_atomic_uint64 loads;		/* backends' loads of the learned state */
	pg_atomic_uint64 bank_loads;	/* ... of its pattern bank */
	pg_atomic_uint64 model_loads;	/* ... of its cost model, decoded */
	pg_atomic_uint64 model_takes;	/* ... copied from the shared slot */
	uint64		takes;			/* times the learner emptied slots (delta
								 * lock) */
	DeltaSlot	slots[DELTA_SLOTS];
} LearnedShared;

static LearnedShared *learned_shared = NULL;

/* the copy this backend trains (owned by learned_state.c) */
static NdagCostModel *instant_model = NULL;
static Oid	instant_dbid = InvalidOid;
static NdagCostDelta *instant_delta = NULL;
static uint64 instant_counted = 0;	/* takes + 1 when this copy was last
									 * counted in a slot; 0: not yet */

/* instant loop, not yet in a shared slot */
static uint64 pending_steps = 0;
static double pending_reward_sum[NDAG_N_MECHANISMS];
static uint64 pending_reward_n[NDAG_N_MECHANISMS];
static uint64 pending_rewards = 0;

/* this backend's figures for ruvector_dag_status() */
static uint64 backend_instant_steps = 0;
static uint64 backend_deltas_flushed = 0;

/*
 * NdagLearnedShmemSize
 *		Shared memory of the delta slots.
 */
Size
NdagLearnedShmemSize(void)
{
	return MAXALIGN(sizeof(LearnedShared));
}

/*
 * NdagLearnedShmemInit
 *		Create or attach to the delta slots (under AddinShmemInitLock).
 */
void
NdagLearnedShmemInit(void)
{
	bool		found;

	learned_shared = ShmemInitStruct("neural_dag learned state",
									 sizeof(LearnedShared), &found);
	if (!found)
	{
		memset(learned_shared->slots, 0, sizeof(learned_shared->slots));
		pg_atomic_init_u64(&learned_shared->instant_steps, 0);
		pg_atomic_init_u64(&learned_shared->deltas_flushed, 0);
		pg_atomic_init_u64(&learned_shared->deltas_merged, 0);
		pg_atomic_init_u64(&learned_shared->merges, 0);
		pg_atomic_init_u64(&learned_shared->rejected_steps, 0);
		pg_atomic_init_u64(&learned_shared->rejected_deltas, 0);
		pg_atomic_init_u64(&learned_shared->rejected_models, 0);
		pg_atomic_init_u64(&learned_shared->loads, 0);
		pg_atomic_init_u64(&learned_shared->bank_loads, 0);
		pg_atomic_init_u64(&learned_shared->model_loads, 0);
		pg_atomic_init_u64(&learned_shared->model_takes, 0);
		learned_shared->takes = 0;
	}
}

/*
 * NdagLearnedCountRejected
 *		Count a non-finite update that was rejected: an instant step, a
 *		delta (pushed or merged) or a model (a training run or a write).
 */
void
NdagLearnedCountRejected(NdagRejectedKind kind)
{
	if (learned_shared == NULL)
		return;
	switch (kind)
	{
		case NDAG_REJECTED_STEP:
			pg_atomic_fetch_add_u64(&learned_shared->rejected_steps, 1);
			break;
		case NDAG_REJECTED_DELTA:
			pg_atomic_fetch_add_u64(&learned_shared->rejected_deltas, 1);
			break;
		case NDAG_REJECTED_MODEL:
			pg_atomic_fetch_add_u64(&learned_shared->rejected_models, 1);
			break;
	}
}

/*
 * NdagLearnedCountLoad
 *		Count a backend's load of a part of the learned state
 *		(learned_state.c).
 */
void
NdagLearnedCountLoad(NdagLoadedPart part)
{
	if (learned_shared == NULL)
		return;
	if (part == NDAG_LOADED_BANK)
		pg_atomic_fetch_add_u64(&learned_shared->bank_loads, 1);
	else if (part == NDAG_LOADED_MODEL)
		pg_atomic_fetch_add_u64(&learned_shared->model_loads, 1);
	else if (part == NDAG_LOADED_MODEL_SHARED)
		pg_atomic_fetch_add_u64(&learned_shared->model_takes, 1);
	else
		pg_atomic_fetch_add_u64(&learned_shared->loads, 1);
}

/*
 * find_slot
 *		The slot of dbid whose diff has the given shape (n 0: any), or a free
 *		one claimed for it; NULL when all are taken.  Caller holds the delta
 *		lock exclusively.
 */
static DeltaSlot *
find_slot(Oid dbid, const NdagCostDelta *delta)
{
	DeltaSlot  *free_slot = NULL;

	for (int i = 0; i < DELTA_SLOTS; i++)
	{
		DeltaSlot  *s = &learned_shared->slots[i];

		if (s->dbid == InvalidOid)
		{
			if (free_slot == NULL)
				free_slot = s;
			continue;
		}
		if (s->dbid != dbid)
			continue;
		if (delta == NULL || s->n == 0 ||
			(s->n == delta->n && s->n_arms == delta->n_arms &&
			 s->base_rank == delta->base_rank &&
			 s->micro_rank == delta->micro_rank))
			return s;
	}
	if (free_slot != NULL)
	{
		memset(free_slot, 0, offsetof(DeltaSlot, diff));
		free_slot->dbid = dbid;
	}
	return free_slot;
}

/*
 * push_pending
 *		Add this backend's instant-loop change since the last push and its
 *		pending rewards into the database's shared slot.  Without wait, a
 *		busy lock leaves everything pending (false).
 */
static bool
push_pending(bool wait)
{
	LWLock	   *lock = NdagDeltaLock();
	bool		with_delta = pending_steps > 0 && instant_delta != NULL &&
		instant_delta->n <= DELTA_MAX_N;
	DeltaSlot  *slot;

	if (learned_shared == NULL)
		return false;
	if (with_delta &&
		ndag_cost_delta_capture(instant_delta, instant_model) != NDAG_OK)
		with_delta = false;
	if (wait)
		LWLockAcquire(lock, LW_EXCLUSIVE);
	else if (!LWLockConditionalAcquire(lock, LW_EXCLUSIVE))
		return false;
	slot = find_slot(instant_dbid, with_delta ? instant_delta : NULL);
	if (slot == NULL)
	{
		LWLockRelease(lock);
		return false;
	}
	if (with_delta)
	{
		if (slot->n == 0)
		{
			slot->n = instant_delta->n;
			slot->n_arms = instant_delta->n_arms;
			slot->base_rank = instant_delta->base_rank;
			slot->micro_rank = instant_delta->micro_rank;
			memset(slot->diff, 0, sizeof(float) * slot->n);
		}
		if (ndag_vec_add_finite(slot->diff, instant_delta->diff, slot->n,
								1.0) == NDAG_OK)
		{
			slot->steps += instant_delta->steps;
			slot->deltas++;
			if (instant_counted != learned_shared->takes + 1)
				slot->copies++;
			instant_counted = learned_shared->takes + 1;
		}
		else
		{
			/* dropped: the copy is rebased below and starts over */
			NdagLearnedCountRejected(NDAG_REJECTED_DELTA);
			with_delta = false;
		}
	}
	for (int m = 0; m < NDAG_N_MECHANISMS; m++)
	{
		slot->reward_sum[m] += pending_reward_sum[m];
		slot->reward_n[m] += pending_reward_n[m];
	}
	LWLockRelease(lock);

	(void) ndag_cost_delta_rebase(instant_delta, instant_model);
	if (with_delta)
	{
		pg_atomic_fetch_add_u64(&learned_shared->deltas_flushed, 1);
		backend_deltas_flushed++;
	}
	pending_steps = 0;
	pending_rewards = 0;
	memset(pending_reward_sum, 0, sizeof(pending_reward_sum));
	memset(pending_reward_n, 0, sizeof(pending_reward_n));
	return true;
}

/*
 * NdagInstantAttach
 *		Train `model` (this backend's copy of database dbid's cost model,
 *		owned by learned_state.c) from now on; its delta starts here.
 */
void
NdagInstantAttach(NdagCostModel *model, Oid dbid)
{
	instant_model = model;
	instant_dbid = dbid;
	instant_delta = model != NULL ? ndag_cost_delta_create(model) : NULL;
	instant_counted = 0;
}

/*
 * NdagInstantDetach
 *		Before the copy is freed: push what is pending (waiting for the slot
 *		lock; lost only if every slot is taken) and forget the copy.
 */
void
NdagInstantDetach(void)
{
	if (instant_model != NULL && pending_steps + pending_rewards > 0)
		(void) push_pending(true);
	ndag_cost_delta_free(instant_delta);
	instant_delta = NULL;
	instant_model = NULL;
	instant_dbid = InvalidOid;
	pending_steps = 0;
	pending_rewards = 0;
	memset(pending_reward_sum, 0, sizeof(pending_reward_sum));
	memset(pending_reward_n, 0, sizeof(pending_reward_n));
}

/*
 * NdagInstantLearn
 *		The instant loop for one recorded execution in learn mode: the
 *		accuracy of the cost model on it rewards the mechanism that made
 *		the embedding (this backend's selector in plan-shape context
 *		`context`, and the learned selector through the shared slot); when
 *		that is the decision mechanism, one SGD step on this backend's
 *		model copy.  Every INSTANT_FLUSH_EVERY steps the change goes to
 *		shared memory.  Never reads or writes the store.
 */
void
NdagInstantLearn(int context, int mechanism, const float *embedding, int arm,
				 double exec_ms)
{
	const NdagLearned *learned;
	double		target;
	double		y = get_float8_nan();

	if (ndag_mode != NDAG_MODE_LEARN || embedding == NULL ||
		!(exec_ms > 0) || !isfinite(exec_ms) ||
		arm < 0 || arm >= LEARN_ARMS ||
		mechanism < 0 || mechanism >= NDAG_N_MECHANISMS)
		return;
	learned = NdagLearnedWithModel();
	if (learned == NULL || instant_model == NULL)
		return;
	target = log(exec_ms);

	if (mechanism == NdagDecisionMechanism(NULL) && instant_delta != NULL)
	{
		int			rc = ndag_cost_instant_step(instant_model, embedding, arm,
												target, ndag_learning_rate, &y);

		if (rc == NDAG_OK)
		{
			pending_steps++;
			backend_instant_steps++;
			pg_atomic_fetch_add_u64(&learned_shared->instant_steps, 1);
		}
		else if (rc == NDAG_ERR_NONFINITE)
			NdagLearnedCountRejected(NDAG_REJECTED_STEP);
	}
	else if (learned->model != NULL)
	{
		if (ndag_cost_predict(instant_model, embedding, arm, &y) != NDAG_OK)
			y = get_float8_nan();
	}

	/* an untrained model's accuracy says nothing about the mechanism */
	if (learned->model != NULL && isfinite(y))
	{
		double		reward = 1.0 - Min(1.0, fabs(y - target) / log(10.0));

		NdagAttentionReward(context, mechanism, reward);
		pending_reward_sum[mechanism] += reward;
		pending_reward_n[mechanism]++;
		pending_rewards++;
	}

	if (pending_steps >= INSTANT_FLUSH_EVERY ||
		pending_rewards >= REWARD_FLUSH_EVERY)
		(void) push_pending(false);
}

/*
 * NdagLearnTakeDeltas
 *		For the learner, with the learn lock held: empty dbid's shared
 *		slots, merge the mean of their backend copies' deltas into model
 *		(those of another shape are dropped, a merge that would make a
 *		parameter non-finite is rejected) and their
 *		rewards into selector (either may be NULL).  Returns the backend
 *		flushes merged plus the rewards taken (0: nothing changed).
 */
int
NdagLearnTakeDeltas(Oid dbid, NdagCostModel *model, NdagUcb *selector)
{
	DeltaSlot  *taken = NULL;
	int			n_taken = 0;
	int64		changed = 0;
	uint64		merged = 0;

	if (learned_shared == NULL)
		return 0;
	LWLockAcquire(NdagDeltaLock(), LW_EXCLUSIVE);
	for (int i = 0; i < DELTA_SLOTS; i++)
	{
		DeltaSlot  *s = &learned_shared->slots[i];

		if (s->dbid != dbid)
			continue;
		if (taken == NULL)
			taken = palloc(sizeof(DeltaSlot) * DELTA_SLOTS);
		memcpy(&taken[n_taken++], s, sizeof(DeltaSlot));
		s->dbid = InvalidOid;
	}
	learned_shared->takes++;
	LWLockRelease(NdagDeltaLock());

	for (int k = 0; k < n_taken; k++)
	{
		DeltaSlot  *s = &taken[k];

		if (model != NULL && s->n > 0 && s->n == model->n_instant &&
				 s->n_arms == model->n_arms && s->base_rank == model->base_rank &&
				 s->micro_rank == model->micro_rank)
		{
			NdagCostDelta *delta = ndag_cost_delta_create(model);
			int			rc;

			if (delta == NULL)
				NdagEngineCheck(NDAG_ERR_NOMEM, "ndag_cost_delta_create");
			memcpy(delta->diff, s->diff, sizeof(float) * s->n);
			delta->steps = s->steps;
			rc = ndag_cost_delta_merge(model, delta,
									   1.0 / (double) Max(s->copies, 1));
			if (rc == NDAG_OK)
			{
				merged += s->deltas;
				changed += s->deltas;
			}
			else if (rc == NDAG_ERR_NONFINITE)
				NdagLearnedCountRejected(NDAG_REJECTED_DELTA);
			ndag_cost_delta_free(delta);
		}
		for (int m = 0; selector != NULL && m < NDAG_N_MECHANISMS; m++)
		{
			if (s->reward_n[m] == 0)
				continue;
			selector->pulls[m] += s->reward_n[m];
			selector->rewards[m] += s->reward_sum[m];
			changed += (int64) s->reward_n[m];
		}
	}
	if (merged > 0)
		pg_atomic_fetch_add_u64(&learned_shared->deltas_merged, merged);
	return (int) Min(changed, PG_INT32_MAX);
}

/*
 * merge_database
 *		Merge dbid's pending deltas and rewards into its stored cost model
 *		and selector and write both with the generation bumped; false when
 *		there was nothing to merge.  Caller holds the learn lock.
 */
static bool
merge_database(Oid dbid)
{
	NdagCostModel *volatile model = NdagLearnLoadCostModel(dbid, false);
	bool		model_existed = model != NULL;
	NdagUcb    *volatile selector = NdagLearnLoadSelector(dbid, false);
	bool		selector_existed = selector != NULL;
	volatile bool merged = false;

	PG_TRY();
	{
		if (model == NULL)
			model = NdagLearnLoadCostModel(dbid, true);
		if (selector == NULL)
			selector = NdagLearnLoadSelector(dbid, true);
		if (NdagLearnTakeDeltas(dbid, model, selector) > 0)
		{
			StoreBatch *batch = StoreBatchCreate(CurrentMemoryContext);
			TimestampTz now = GetCurrentTimestamp();
			size_t		len = ndag_cost_serialized_size(model);
			char	   *buf = palloc(len);
			size_t		done;
			int64		pulls;

			NdagEngineCheck(ndag_cost_serialize(model, buf, len, &done),
							 "ndag_cost_serialize");
			NdagLearnPutModelState(batch, dbid, "cost_model", buf, done,
								   model->n_params,
								   (int64) (model->instant_steps +
											model->base_steps),
								   model_existed, now);
			buf = NdagLearnSelectorBytes(selector, &len, &pulls);
			NdagLearnPutModelState(batch, dbid, LEARN_SELECTOR_NAME,
								   buf, len, selector->n_arms, pulls,
								   selector_existed, now);
			StoreBatchBumpGeneration(batch);
			StoreBatchApply(batch);
			pg_atomic_fetch_add_u64(&learned_shared->merges, 1);
			merged = true;
		}
	}
	PG_FINALLY();
	{
		ndag_cost_free(model);
		ndag_ucb_free(selector);
	}
	PG_END_TRY();
	return merged;
}

/*
 * merge_databases
 *		merge_database for each of n databases; returns how many wrote.
 */
static int
merge_databases(const Oid *dbids, int n)
{
	int			written = 0;

	StoreEnsureOpen();
	for (int k = 0; k < n; k++)
		written += merge_database(dbids[k]) ? 1 : 0;
	return written;
}

/*
 * NdagLearnedMergePending
 *		The learner's periodic merge (at most every MERGE_INTERVAL_S
 *		seconds): for each database with a non-empty
 *		slot, the stored cost model and selector get the pending deltas and
 *		rewards, written in one batch with the generation bumped.  Skipped
 *		(left for the cycle or the next call) while a cycle holds the learn
 *		lock.  Returns the databases written.
 */
int
NdagLearnedMergePending(void)
{
	Oid			dbids[DELTA_SLOTS];
	int			n_db = 0;
	volatile int written = 0;
	LWLock	   *learn_lock = NdagLearnLock();

	static TimestampTz last_merge = 0;

	/* every merge makes every backend reload: not more than this often */
	if (learned_shared == NULL ||
		(last_merge != 0 &&
		 !TimestampDifferenceExceeds(last_merge, GetCurrentTimestamp(),
									 MERGE_INTERVAL_S * 1000)))
		return 0;
	LWLockAcquire(NdagDeltaLock(), LW_SHARED);
	for (int i = 0; i < DELTA_SLOTS; i++)
	{
		Oid			dbid = learned_shared->slots[i].dbid;
		bool		seen = false;

		for (int k = 0; k < n_db; k++)
			seen |= dbids[k] == dbid;
		if (dbid != InvalidOid && !seen)
			dbids[n_db++] = dbid;
	}
	LWLockRelease(NdagDeltaLock());
	if (n_db == 0)
		return 0;
	if (!LWLockConditionalAcquire(learn_lock, LW_EXCLUSIVE))
		return 0;
	last_merge = GetCurrentTimestamp();
	PG_TRY();
	{
		written = merge_databases(dbids, n_db);
	}
	PG_FINALLY();
	{
		LWLockRelease(learn_lock);
	}
	PG_END_TRY();
	return written;
}

/*
 * NdagInstantStatusCounters
 *		The instant loop's counters for ruvector_dag_status(): this
 *		backend's steps and flushes, the cluster's steps, flushes, merged
 *		flushes, merges, non-finite updates rejected and loads of the
 *		learned state.
 */
void
NdagInstantStatusCounters(void *state)
{
	NdagStatusAddCounter(state, "instant_steps", (int64) backend_instant_steps);
	NdagStatusAddCounter(state, "deltas_flushed", (int64) backend_deltas_flushed);
	if (learned_shared == NULL)
		return;
	NdagStatusAddCounter(state, "instant_steps_all",
						 (int64) pg_atomic_read_u64(&learned_shared->instant_steps));
	NdagStatusAddCounter(state, "deltas_flushed_all",
						 (int64) pg_atomic_read_u64(&learned_shared->deltas_flushed));
	NdagStatusAddCounter(state, "deltas_merged_all",
						 (int64) pg_atomic_read_u64(&learned_shared->deltas_merged));
	NdagStatusAddCounter(state, "delta_merges_all",
						 (int64) pg_atomic_read_u64(&learned_shared->merges));
	NdagStatusAddCounter(state, "rejected_steps_all",
						 (int64) pg_atomic_read_u64(&learned_shared->rejected_steps));
	NdagStatusAddCounter(state, "rejected_deltas_all",
						 (int64) pg_atomic_read_u64(&learned_shared->rejected_deltas));
	NdagStatusAddCounter(state, "rejected_models_all",
						 (int64) pg_atomic_read_u64(&learned_shared->rejected_models));
	NdagStatusAddCounter(state, "learned_loads_all",
						 (int64) pg_atomic_read_u64(&learned_shared->loads));
	NdagStatusAddCounter(state, "learned_bank_loads_all",
						 (int64) pg_atomic_read_u64(&learned_shared->bank_loads));
	NdagStatusAddCounter(state, "learned_model_loads_all",
						 (int64) pg_atomic_read_u64(&learned_shared->model_loads));
	NdagStatusAddCounter(state, "learned_model_takes_all",
						 (int64) pg_atomic_read_u64(&learned_shared->model_takes));
}
