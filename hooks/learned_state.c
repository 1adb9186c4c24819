/*-------------------------------------------------------------------------
 *
 * learned_state.c
 *	  This backend's copy of its database's learned state (pattern bank,
 *	  cost model, demoted arms, the decision mechanism), the instant loop
 *	  that trains the copy after each recorded execution, and the shared
 *	  slots through which the copy's changes and the attention rewards
 *	  reach the learner.
 *
 * Reloading.  Every committed store write that moves the store's generation
 * (a learning cycle, a merge of instant-loop deltas, a DBA's change of
 * ndag_patterns or ndag_models, a reset, a restore) also bumps a shared
 * atomic counter (store_generation_hook -> NdagLearnedEpochBump).  A backend
 * compares that counter with the one it loaded at: one atomic read per
 * planned statement, no store access.  When it moved, the state is read
 * again into a fresh memory context and the old one is freed.  A failed
 * load is a rate-limited WARNING and a NULL state (tried again after
 * LOAD_RETRY_S or when the counter moves); the user's query goes on.
 *
 * The decision mechanism.  Patterns and the cost model only mean something
 * for embeddings of the mechanism they were learned with, so every backend
 * of a database must embed with the same one, and it may change only when
 * the learned state does.  With ruvector.dag_attention_type set, it is that
 * mechanism.  With 'auto' it is the greedy choice of the learned selector
 * (models record 'attention_selector': per mechanism, the pulls and summed
 * rewards reported by the backends and merged by the learner): the
 * mechanism with the highest mean reward among those rewarded, topological
 * while none was.  Reward = 1 - min(1, |ln(pred / actual)| / ln 10), the
 * accuracy of the cost model with that mechanism's embedding, counted for
 * whichever mechanism embedded a recorded execution.  Each backend also
 * feeds the reward to its own UCB selector (attention_state.c), which tries
 * each mechanism once before UCB applies.
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
 * reloads) or at the start of a cycle,
 * merges the summed deltas into the stored model (ndag_cost_delta_merge),
 * adds the rewards to the stored selector, and writes both with the
 * generation bumped; backends then reload the merged model.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "port/pg_bitutils.h"
#include "port/atomics.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "engine.h"
#include "hooks.h"
#include "store.h"
#include "learn_int.h"

#define INSTANT_FLUSH_EVERY		100 /* instant steps between delta flushes */
#define REWARD_FLUSH_EVERY		100 /* rewards between flushes */
#define DELTA_SLOTS				16	/* databases with pending deltas */
#define LOAD_RETRY_S			10	/* retry a failed load after this */
#define LOAD_WARNING_S			60	/* at most one load WARNING per this */
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
	DeltaSlot	slots[DELTA_SLOTS];
} LearnedShared;

static LearnedShared *learned_shared = NULL;

/* this backend's copy */
static MemoryContext learned_cxt = NULL;
static NdagLearned learned;
static bool learned_valid = false;
static Oid	learned_dbid = InvalidOid;
static uint64 learned_epoch = 0;
static NdagCostModel *instant_model = NULL; /* always set while valid */
static NdagCostDelta *instant_delta = NULL;
static NdagUcb *learned_selector = NULL;	/* may be NULL */
static int	greedy_mechanism = NDAG_MECH_TOPOLOGICAL;

/* failed loads */
static uint64 failed_epoch = 0;
static TimestampTz failed_at = 0;
static TimestampTz warned_at = 0;

/* instant loop, not yet in a shared slot */
static uint64 pending_steps = 0;
static double pending_reward_sum[NDAG_N_MECHANISMS];
static uint64 pending_reward_n[NDAG_N_MECHANISMS];
static uint64 pending_rewards = 0;

/* this backend's figures for ruvector_dag_status() */
static uint64 backend_loads = 0;
static uint64 backend_instant_steps = 0;
static uint64 backend_deltas_flushed = 0;

static NdagStatusCountersHook prev_status_hook = NULL;

static bool push_pending(bool wait);

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
	}
}

/*
 * NdagLearnedStateInit
 *		From _PG_init: store writes that move the generation bump the shared
 *		epoch, and ruvector_dag_status() shows this file's counters.
 */
void
NdagLearnedStateInit(void)
{
	store_generation_hook = NdagLearnedEpochBump;
	prev_status_hook = ndag_status_counters_hook;
	ndag_status_counters_hook = NdagLearnedStatusCounters;
}

/*
 * selector_greedy
 *		The mechanism with the highest mean reward among those rewarded
 *		(ties: the lowest), topological when none was.
 */
static int
selector_greedy(const NdagUcb *ucb)
{
	int			best = NDAG_MECH_TOPOLOGICAL;
	double		best_mean = -1.0;

	if (ucb == NULL)
		return best;
	for (int a = 0; a < ucb->n_arms && a < NDAG_N_MECHANISMS; a++)
	{
		double		mean;

		if (ucb->pulls[a] == 0)
			continue;
		mean = ucb->rewards[a] / (double) ucb->pulls[a];
		if (mean > best_mean)
		{
			best_mean = mean;
			best = a;
		}
	}
	return best;
}

/*
 * free_learned
 *		Release this backend's copy (pending changes are pushed first, or
 *		lost if the slots are full).
 */
static void
free_learned(void)
{
	if (learned_valid && pending_steps + pending_rewards > 0)
		(void) push_pending(true);
	ndag_bank_free(learned.bank);
	ndag_cost_free(instant_model);
	ndag_cost_delta_free(instant_delta);
	ndag_ucb_free(learned_selector);
	if (learned_cxt != NULL)
		MemoryContextDelete(learned_cxt);
	memset(&learned, 0, sizeof(learned));
	instant_model = NULL;
	instant_delta = NULL;
	learned_selector = NULL;
	learned_cxt = NULL;
	learned_valid = false;
	pending_steps = 0;
	pending_rewards = 0;
	memset(pending_reward_sum, 0, sizeof(pending_reward_sum));
	memset(pending_reward_n, 0, sizeof(pending_reward_n));
}

/*
 * load_learned
 *		Read the learned state of MyDatabaseId as of shared epoch `epoch`.
 *		On failure: a rate-limited WARNING, nothing loaded, false.
 */
static bool
load_learned(uint64 epoch)
{
	MemoryContext cxt;
	MemoryContext oldcxt = CurrentMemoryContext;
	LearnState	st;
	NdagCostModel *volatile model = NULL;
	NdagUcb    *volatile selector = NULL;
	volatile uint64 generation = 0;
	uint64	   *demoted;
	ListCell   *lc;

	memset(&st, 0, sizeof(st));
	st.dbid = MyDatabaseId;
	cxt = AllocSetContextCreate(TopMemoryContext, "neural_dag learned state",
								ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		StoreEnsureOpen();
		generation = StoreGeneration();
		NdagLearnLoadBank(&st);
		model = NdagLearnLoadCostModel(st.dbid, false);
		selector = NdagLearnLoadSelector(st.dbid, false);
	}
	PG_CATCH();
	{
		ErrorData  *edata;
		TimestampTz now = GetCurrentTimestamp();

		MemoryContextSwitchTo(oldcxt);
		edata = CopyErrorData();
		FlushErrorState();
		ndag_bank_free(st.bank);
		ndag_cost_free(model);
		ndag_ucb_free(selector);
		MemoryContextDelete(cxt);
		failed_epoch = epoch;
		failed_at = now;
		if (warned_at == 0 ||
			TimestampDifferenceExceeds(warned_at, now, LOAD_WARNING_S * 1000))
		{
			warned_at = now;
			ereport(WARNING,
					(errmsg("neural_dag could not load the learned state of database %u: %s",
							st.dbid, edata->message),
					 errdetail("Queries are planned without it until it can be loaded.")));
		}
		FreeErrorData(edata);
		return false;
	}
	PG_END_TRY();

	/* per bank index, the demoted arms of the pattern */
	demoted = palloc0(sizeof(uint64) * Max(st.bank->count, 1));
	foreach(lc, st.stored_ids)
	{
		int			i = ndag_bank_find(st.bank,
									   (uint64_t) *(int64 *) lfirst(lc));

		if (i >= 0)
			demoted[i] = *(uint64 *) list_nth(st.stored_demoted,
											  foreach_current_index(lc));
	}
	MemoryContextSwitchTo(oldcxt);

	free_learned();
	learned_cxt = cxt;
	learned.generation = generation;
	learned.bank = st.bank;
	learned.demoted = demoted;
	learned.model = model;
	learned_selector = selector;
	greedy_mechanism = selector_greedy(selector);
	/* without a stored model the instant loop starts from the cycle's seed */
	instant_model = model != NULL ? model :
		ndag_cost_create(LEARN_ARMS, ndag_base_lora_rank,
						 ndag_micro_lora_rank, LEARN_MODEL_SEED);
	instant_delta = instant_model ? ndag_cost_delta_create(instant_model) : NULL;
	learned_dbid = MyDatabaseId;
	learned_epoch = epoch;
	learned_valid = true;
	backend_loads++;
	return true;
}

/*
 * NdagLearnedCurrent
 *		This backend's copy of its database's learned state, reloaded when
 *		the shared epoch moved; NULL when it cannot be loaded (or outside a
 *		database, or without shared memory).
 */
const NdagLearned *
NdagLearnedCurrent(void)
{
	uint64		epoch;

	if (!NdagShmemReady() || !OidIsValid(MyDatabaseId))
		return NULL;
	epoch = NdagLearnedEpoch();
	if (learned_valid && learned_epoch == epoch && learned_dbid == MyDatabaseId)
		return &learned;
	if (failed_at != 0 && failed_epoch == epoch &&
		!TimestampDifferenceExceeds(failed_at, GetCurrentTimestamp(),
									LOAD_RETRY_S * 1000))
		return NULL;
	if (!load_learned(epoch))
		return NULL;
	failed_at = 0;
	return &learned;
}

/*
 * NdagDecisionMechanism
 *		The mechanism whose embedding drives matching and prediction:
 *		ruvector.dag_attention_type unless 'auto', else the learned
 *		selector's greedy choice (topological until it has rewards).  It is
 *		the same in every backend and changes only with the learned state.
 */
int
NdagDecisionMechanism(const struct NdagDag *dag)
{
	int			mechanism;

	if (ndag_attention_type != NULL &&
		strcmp(ndag_attention_type, "auto") != 0 &&
		ndag_mechanism_from_name(ndag_attention_type, &mechanism) == NDAG_OK)
		return mechanism;
	if (NdagLearnedCurrent() == NULL)
		return NDAG_MECH_TOPOLOGICAL;
	return greedy_mechanism;
}

/*
 * NdagPredictLn
 *		The cost model's ln(latency ms) for an embedding (of the decision
 *		mechanism) and arm; NaN when no model was stored yet or the arm is
 *		out of range.
 */
double
NdagPredictLn(const float *embedding, int arm)
{
	const NdagLearned *l = NdagLearnedCurrent();
	double		y;

	if (l == NULL || l->model == NULL || embedding == NULL ||
		arm < 0 || arm >= l->model->n_arms)
		return get_float8_nan();
	if (ndag_cost_predict(instant_model, embedding, arm, &y) != NDAG_OK ||
		!isfinite(y))
		return get_float8_nan();
	return y;
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
	slot = find_slot(learned_dbid, with_delta ? instant_delta : NULL);
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
		for (int i = 0; i < slot->n; i++)
			slot->diff[i] += instant_delta->diff[i];
		slot->steps += instant_delta->steps;
		slot->deltas++;
	}
	for (int m = 0; m < NDAG_N_MECHANISMS; m++)
	{
		slot->reward_sum[m] += pending_reward_sum[m];
		slot->reward_n[m] += pending_reward_n[m];
	}
	LWLockRelease(lock);

	if (with_delta)
	{
		(void) ndag_cost_delta_rebase(instant_delta, instant_model);
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
	double		target;
	double		y = get_float8_nan();

	if (ndag_mode != NDAG_MODE_LEARN || embedding == NULL ||
		!(exec_ms > 0) || !isfinite(exec_ms) ||
		arm < 0 || arm >= LEARN_ARMS ||
		mechanism < 0 || mechanism >= NDAG_N_MECHANISMS)
		return;
	if (NdagLearnedCurrent() == NULL || instant_model == NULL)
		return;
	target = log(exec_ms);

	if (mechanism == NdagDecisionMechanism(NULL) && instant_delta != NULL)
	{
		if (ndag_cost_instant_step(instant_model, embedding, arm, target,
								   ndag_learning_rate, &y) == NDAG_OK)
		{
			pending_steps++;
			backend_instant_steps++;
			pg_atomic_fetch_add_u64(&learned_shared->instant_steps, 1);
		}
	}
	else if (learned.model != NULL)
	{
		if (ndag_cost_predict(instant_model, embedding, arm, &y) != NDAG_OK)
			y = get_float8_nan();
	}

	/* an untrained model's accuracy says nothing about the mechanism */
	if (learned.model != NULL && isfinite(y))
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
 *		slots, merge their summed deltas into model (those of another shape
 *		are dropped) and their rewards into selector (either may be NULL).
 *		Returns the backend flushes merged plus the rewards taken (0:
 *		nothing changed).
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
	LWLockRelease(NdagDeltaLock());

	for (int k = 0; k < n_taken; k++)
	{
		DeltaSlot  *s = &taken[k];

		if (model != NULL && s->n > 0 && s->n == model->n_instant &&
			s->n_arms == model->n_arms && s->base_rank == model->base_rank &&
			s->micro_rank == model->micro_rank)
		{
			NdagCostDelta *delta = ndag_cost_delta_create(model);

			if (delta == NULL)
				NdagLearnCheck(NDAG_ERR_NOMEM, "ndag_cost_delta_create");
			memcpy(delta->diff, s->diff, sizeof(float) * s->n);
			delta->steps = s->steps;
			if (ndag_cost_delta_merge(model, delta, 1.0) == NDAG_OK)
			{
				merged += s->deltas;
				changed += s->deltas;
			}
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

			NdagLearnCheck(ndag_cost_serialize(model, buf, len, &done),
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
 * demoted_arms
 *		(pattern, arm) pairs demoted in this backend's copy.
 */
static int64
demoted_arms(void)
{
	int64		n = 0;

	if (!learned_valid || learned.bank == NULL)
		return 0;
	for (int i = 0; i < learned.bank->count; i++)
		n += pg_popcount64(learned.demoted[i]);
	return n;
}

/*
 * NdagLearnedStatusCounters
 *		ndag_status_counters_hook: the previous hook's counters, then this
 *		backend's learned state as a planned statement would see it (loaded
 *		first if the generation moved: generation, patterns, loads so far,
 *		decision mechanism), its instant steps and deltas flushed, and the
 *		cluster's instant-loop figures.
 */
void
NdagLearnedStatusCounters(void *state)
{
	int			mechanism;

	if (prev_status_hook != NULL)
		prev_status_hook(state);
	(void) NdagLearnedCurrent();
	mechanism = NdagDecisionMechanism(NULL);
	NdagStatusAddCounter(state, "learned_generation",
						 learned_valid ? (int64) learned.generation : -1);
	NdagStatusAddCounter(state, "learned_patterns",
						 learned_valid && learned.bank ? learned.bank->count : 0);
	NdagStatusAddCounter(state, "learned_demoted_arms", demoted_arms());
	NdagStatusAddCounter(state, "learned_loads", (int64) backend_loads);
	NdagStatusAddCounter(state, "decision_mechanism", mechanism);
	NdagStatusAddCounter(state, "instant_steps", (int64) backend_instant_steps);
	NdagStatusAddCounter(state, "deltas_flushed", (int64) backend_deltas_flushed);
	if (learned_shared != NULL)
	{
		NdagStatusAddCounter(state, "instant_steps_all",
							 (int64) pg_atomic_read_u64(&learned_shared->instant_steps));
		NdagStatusAddCounter(state, "deltas_flushed_all",
							 (int64) pg_atomic_read_u64(&learned_shared->deltas_flushed));
		NdagStatusAddCounter(state, "deltas_merged_all",
							 (int64) pg_atomic_read_u64(&learned_shared->deltas_merged));
		NdagStatusAddCounter(state, "delta_merges_all",
							 (int64) pg_atomic_read_u64(&learned_shared->merges));
	}
}
