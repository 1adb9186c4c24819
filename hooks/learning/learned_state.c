/*-------------------------------------------------------------------------
 *
 * learned_state.c
 *	  This backend's copy of its database's learned state (pattern bank,
 *	  cost model, demoted arms, the decision mechanism) and the
 *	  predictions made with it.
 *
 * Loading.  Nothing is loaded at connection: the copy is read at the first
 * statement that needs it (a decision or recording on an enabled table,
 * ruvector_dag_status()), so a backend that never touches an enabled table
 * never reads the store.  That first read takes only the store's
 * generation and the attention selector (what picks the decision
 * mechanism).  The cost model is decoded only when a prediction or an
 * instant-loop step needs it (NdagLearnedWithModel): an exploring decision
 * ranking its candidates, or a recorded execution; a backend whose
 * statements are all planned from the cache or not recorded (a short
 * connection running a known-fast statement) never decodes it.  The pattern bank (the records of every pattern,
 * the larger part, growing with the patterns) is read only when a
 * statement's decision matches patterns (NdagLearnedWithBank): not for a
 * statement pinned or with an arm proven for it, nor in learn mode for one
 * not worth exploring, whose pattern match would only name a candidate to
 * explore (decision.c).  The bank is read in a transaction of its own; a
 * store write between the two reads moves the epoch, and the next
 * statement reloads both.  What is the same in every process (the HDC
 * encoder of the pattern bank, the cost model's fixed projection W0) is
 * built once in the postmaster (NdagLearnedStateInit) and inherited, and
 * so is the instant loop's starting model of a database without a stored
 * one (drawn from a fixed seed: each backend copies it instead of drawing
 * it again), so a load only reads and decodes the database's records; the patterns'
 * hypervectors are not encoded unless the bank is large enough for
 * matching to use them (learn_load.c).
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
 * The instant loop that trains the copy and ships its changes to the
 * learner is in instant_loop.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "port/pg_bitutils.h"
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

#define LOAD_RETRY_S			10	/* retry a failed load after this */

/* this backend's copy */
static MemoryContext learned_cxt = NULL;
static NdagLearned learned;
static bool learned_valid = false;
static Oid	learned_dbid = InvalidOid;
static uint64 learned_epoch = 0;
static NdagCostModel *instant_model = NULL; /* the stored model, or a new one */
static NdagUcb *learned_selector = NULL;	/* may be NULL */
static int	greedy_mechanism = NDAG_MECH_TOPOLOGICAL;

/* failed loads */
typedef struct LoadFailure
{
	uint64		epoch;			/* the shared epoch it failed at */
	TimestampTz at;				/* 0: the last load did not fail */
} LoadFailure;

static LoadFailure state_failure;
static LoadFailure bank_failure;
static LoadFailure model_failure;
static bool model_loaded = false;	/* learned.model is what is stored */

/*
 * The instant loop's starting model where no model is stored, drawn in the
 * postmaster at the ranks set then (NULL: out of memory there).
 */
static NdagCostModel *seed_model = NULL;

/* this backend's figures for ruvector_dag_status() */
static uint64 backend_loads = 0;
static uint64 seed_models_drawn = 0;	/* starting models drawn, not copied */

/*
 * NdagLearnedStateInit
 *		From _PG_init: store writes that move the generation bump the shared
 *		epoch; and what every process's learned state shares is built now,
 *		in the postmaster, so that backends inherit it instead of drawing it
 *		at their first load: the HDC encoder of the pattern banks, the
 *		fixed projection W0 of the cost model and the starting model of the
 *		instant loop.  Out of memory here, each process draws its own as
 *		before.
 */
void
NdagLearnedStateInit(void)
{
	store_generation_hook = NdagLearnedEpochBump;
	(void) ndag_hdc_prepare();
	(void) ndag_cost_prepare(LEARN_ARMS, LEARN_MODEL_SEED);
	seed_model = ndag_cost_create(LEARN_ARMS, ndag_base_lora_rank,
								  ndag_micro_lora_rank, LEARN_MODEL_SEED);
}

/*
 * load_failed_recently
 *		Whether a load failed at this epoch less than LOAD_RETRY_S ago (it
 *		is not tried again before).
 */
static bool
load_failed_recently(const LoadFailure *f, uint64 epoch)
{
	return f->at != 0 && f->epoch == epoch &&
		!TimestampDifferenceExceeds(f->at, GetCurrentTimestamp(),
									LOAD_RETRY_S * 1000);
}

/*
 * note_load_failure
 *		Remember that a load failed now, at this epoch.
 */
static void
note_load_failure(LoadFailure *f, uint64 epoch)
{
	f->epoch = epoch;
	f->at = GetCurrentTimestamp();
}

/*
 * new_instant_model
 *		The instant loop's starting model for a database without a stored
 *		one: a copy of the postmaster's when the ranks are still those it
 *		was drawn at, else drawn here (counted).  NULL when out of memory.
 */
static NdagCostModel *
new_instant_model(void)
{
	if (seed_model != NULL && seed_model->base_rank == ndag_base_lora_rank &&
		seed_model->micro_rank == ndag_micro_lora_rank)
		return ndag_cost_copy(seed_model);
	seed_models_drawn++;
	return ndag_cost_create(LEARN_ARMS, ndag_base_lora_rank,
							ndag_micro_lora_rank, LEARN_MODEL_SEED);
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
 *		Release this backend's copy (the instant loop's pending changes are
 *		pushed to shared memory first).
 */
static void
free_learned(void)
{
	if (learned_valid)
		NdagInstantDetach();
	ndag_bank_free(learned.bank);
	ndag_cost_free(instant_model);
	ndag_ucb_free(learned_selector);
	if (learned_cxt != NULL)
		MemoryContextDelete(learned_cxt);
	memset(&learned, 0, sizeof(learned));
	instant_model = NULL;
	learned_selector = NULL;
	learned_cxt = NULL;
	learned_valid = false;
	model_loaded = false;
}

/* the part of the learned state a load reads */
typedef enum LoadPart
{
	LOAD_STATE,					/* the store's generation, the selector */
	LOAD_BANK,					/* the pattern bank */
	LOAD_MODEL					/* the cost model */
} LoadPart;

static const char *const load_part_names[] = {"state", "patterns", "cost model"};

/* what load_learned, load_bank or load_model reads, for NdagFallbackRun */
typedef struct LoadCall
{
	LoadPart	part;
	MemoryContext cxt;			/* what is read goes here; NULL once freed */
	LearnState	st;				/* the database; the bank read */
	NdagCostModel *model;
	NdagUcb    *selector;
	uint64		generation;
} LoadCall;

/*
 * load_step
 *		Read into call->cxt the pattern bank of st.dbid (with its stored ids
 *		and demoted arms), its cost model, or the store's generation and
 *		the selector.  On an error what was read (the engine's
 *		objects are malloc'd) and the context are freed, and the error goes
 *		on.
 */
static void
load_step(void *arg)
{
	LoadCall   *call = (LoadCall *) arg;
	MemoryContext oldcxt = MemoryContextSwitchTo(call->cxt);

	PG_TRY();
	{
		StoreEnsureOpen();
		if (call->part == LOAD_BANK)
			NdagLearnLoadBank(&call->st);
		else if (call->part == LOAD_MODEL)
			call->model = NdagLearnLoadCostModel(call->st.dbid, false);
		else
		{
			call->generation = StoreGeneration();
			call->selector = NdagLearnLoadSelector(call->st.dbid, false);
		}
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		ndag_bank_free(call->st.bank);
		ndag_cost_free(call->model);
		ndag_ucb_free(call->selector);
		MemoryContextDelete(call->cxt);
		call->cxt = NULL;
		PG_RE_THROW();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(oldcxt);
}

/*
 * run_load
 *		Run load_step for call (its part set by the caller) in a new
 *		context under parent, for MyDatabaseId; false when it failed (a
 *		rate-limited WARNING, fallback.c).
 */
static bool
run_load(LoadCall *call, MemoryContext parent)
{
	char		what[64];

	call->st.dbid = MyDatabaseId;
	call->st.matching_only = call->part == LOAD_BANK;
	call->cxt = AllocSetContextCreate(parent, "neural_dag learned state",
									  ALLOCSET_DEFAULT_SIZES);
	snprintf(what, sizeof(what), "load the learned %s of database %u",
			 load_part_names[call->part], call->st.dbid);
	return NdagFallbackRun(NDAG_FALLBACK_LEARNED_STATE, what, load_step, call);
}

/*
 * load_learned
 *		Read the learned state of MyDatabaseId as of shared epoch `epoch`.
 *		On failure: a rate-limited WARNING (fallback.c), nothing loaded,
 *		false.
 */
static bool
load_learned(uint64 epoch)
{
	LoadCall	call;

	memset(&call, 0, sizeof(call));
	if (!run_load(&call, TopMemoryContext))
	{
		note_load_failure(&state_failure, epoch);
		return false;
	}

	free_learned();
	learned_cxt = call.cxt;
	learned.generation = call.generation;
	learned.bank = NULL;		/* NdagLearnedWithBank reads it */
	learned.demoted = NULL;
	learned.model = NULL;		/* NdagLearnedWithModel reads it */
	learned_selector = call.selector;
	greedy_mechanism = selector_greedy(call.selector);
	learned_dbid = MyDatabaseId;
	learned_epoch = epoch;
	learned_valid = true;
	backend_loads++;
	NdagLearnedCountLoad(NDAG_LOADED_STATE);
	return true;
}

/*
 * load_part
 *		Read a part of the learned state (the pattern bank or the cost
 *		model) of the loaded epoch into call, under the loaded copy's
 *		context, unless reading it failed at this epoch less than
 *		LOAD_RETRY_S ago; false when not read (failure noted).
 */
static bool
load_part(LoadCall *call, LoadPart part, LoadFailure *failure)
{
	if (load_failed_recently(failure, learned_epoch))
		return false;
	memset(call, 0, sizeof(*call));
	call->part = part;
	if (!run_load(call, learned_cxt))
	{
		note_load_failure(failure, learned_epoch);
		return false;
	}
	failure->at = 0;
	return true;
}

/*
 * load_bank
 *		Read the pattern bank into the loaded copy, with per pattern the
 *		arms demoted for it.  On failure: a rate-limited WARNING, no bank,
 *		false (tried again after LOAD_RETRY_S or when the epoch moves).
 */
static bool
load_bank(void)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	LoadCall	call;
	uint64	   *demoted;
	ListCell   *lc;

	if (!load_part(&call, LOAD_BANK, &bank_failure))
		return false;
	MemoryContextSwitchTo(call.cxt);
	demoted = palloc0(sizeof(uint64) * Max(call.st.bank->count, 1));
	foreach(lc, call.st.stored_ids)
	{
		int			i = ndag_bank_find(call.st.bank,
									   (uint64_t) *(int64 *) lfirst(lc));

		if (i >= 0)
			demoted[i] = *(uint64 *) list_nth(call.st.stored_demoted,
											  foreach_current_index(lc));
	}
	MemoryContextSwitchTo(oldcxt);
	learned.bank = call.st.bank;
	learned.demoted = demoted;
	NdagLearnedCountLoad(NDAG_LOADED_BANK);
	return true;
}

/*
 * keep_model
 *		Make model (NULL: none stored) the loaded copy's cost model and the
 *		one the instant loop trains (without a stored model, a copy of the
 *		cycle's starting model).
 */
static void
keep_model(NdagCostModel *model)
{
	learned.model = model;
	instant_model = model != NULL ? model : new_instant_model();
	NdagInstantAttach(instant_model, MyDatabaseId);
	model_loaded = true;
}

/*
 * load_model
 *		The cost model of the loaded epoch, for the instant loop to train:
 *		copied from the shared slot when an earlier backend decoded it (or
 *		found none stored) at that epoch, else decoded from the store and
 *		shared.  On a decoding failure: a rate-limited WARNING, no model,
 *		false (tried again after LOAD_RETRY_S or when the epoch moves).
 */
static bool
load_model(void)
{
	LoadCall	call;
	NdagCostModel *taken;

	if (NdagSharedModelTake(MyDatabaseId, learned_epoch, &taken) != SHARED_MODEL_MISS)
	{
		keep_model(taken);
		NdagLearnedCountLoad(NDAG_LOADED_MODEL_SHARED);
		return true;
	}
	if (!load_part(&call, LOAD_MODEL, &model_failure))
		return false;
	/* shared only if the model read is the one of the loaded epoch */
	if (NdagLearnedEpoch() == learned_epoch)
		NdagSharedModelPublish(MyDatabaseId, learned_epoch, call.model);
	keep_model(call.model);
	NdagLearnedCountLoad(NDAG_LOADED_MODEL);
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
	if (load_failed_recently(&state_failure, epoch))
		return NULL;
	if (!load_learned(epoch))
		return NULL;
	state_failure.at = 0;
	return &learned;
}

/*
 * NdagLearnedWithBank
 *		NdagLearnedCurrent with the pattern bank read too, for the decisions
 *		that match patterns; the bank is NULL when it cannot be read (the
 *		statement goes on without patterns).
 */
const NdagLearned *
NdagLearnedWithBank(void)
{
	const NdagLearned *l = NdagLearnedCurrent();

	if (l != NULL && l->bank == NULL)
		(void) load_bank();
	return l;
}

/*
 * NdagLearnedWithModel
 *		NdagLearnedCurrent with the cost model decoded too, for predictions
 *		and the instant loop; the model is NULL when none is stored or it
 *		cannot be read.
 */
const NdagLearned *
NdagLearnedWithModel(void)
{
	const NdagLearned *l = NdagLearnedCurrent();

	if (l != NULL && !model_loaded)
		(void) load_model();
	return l;
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
 *		out of range.  Until this backend decodes a copy of its own (for
 *		the instant loop), from the database's shared decoded model when it
 *		is there (shared_model.c); else the copy is decoded now.
 */
double
NdagPredictLn(const float *embedding, int arm)
{
	const NdagLearned *l = NdagLearnedCurrent();
	double		y = get_float8_nan();

	if (l == NULL || embedding == NULL)
		return get_float8_nan();
	if (!model_loaded)
	{
		switch (NdagSharedModelPredict(MyDatabaseId, learned_epoch,
									   embedding, arm, &y))
		{
			case SHARED_MODEL_HIT:
				return isfinite(y) ? y : get_float8_nan();
			case SHARED_MODEL_NONE:
				return get_float8_nan();
			case SHARED_MODEL_MISS:
				l = NdagLearnedWithModel();
				break;
		}
	}
	if (l == NULL || l->model == NULL ||
		arm < 0 || arm >= l->model->n_arms)
		return get_float8_nan();
	if (ndag_cost_predict(instant_model, embedding, arm, &y) != NDAG_OK ||
		!isfinite(y))
		return get_float8_nan();
	return y;
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
 *		For ruvector_dag_status(): this backend's learned state as a
 *		planned statement would see it (loaded first, its pattern bank too,
 *		if the generation moved: generation, patterns, loads so far,
 *		decision mechanism), the
 *		HDC encoders and cost-model projections it drew itself instead of
 *		inheriting them (NdagLearnedStateInit), the shared model's slot
 *		copies it took, its instant steps and deltas flushed, and the
 *		cluster's instant-loop figures.
 */
void
NdagLearnedStatusCounters(void *state)
{
	int			mechanism;

	(void) NdagLearnedWithBank();
	mechanism = NdagDecisionMechanism(NULL);
	NdagStatusAddCounter(state, "learned_generation",
						 learned_valid ? (int64) learned.generation : -1);
	NdagStatusAddCounter(state, "learned_patterns",
						 learned_valid && learned.bank ? learned.bank->count : 0);
	NdagStatusAddCounter(state, "learned_demoted_arms", demoted_arms());
	NdagStatusAddCounter(state, "learned_loads", (int64) backend_loads);
	NdagStatusAddCounter(state, "fixed_state_draws",
						 (int64) (ndag_hdc_encoder_draws() + ndag_cost_w0_draws()));
	NdagStatusAddCounter(state, "seed_models_drawn", (int64) seed_models_drawn);
	NdagStatusAddCounter(state, "shared_model_copies",
						 (int64) NdagSharedModelCopies());
	NdagStatusAddCounter(state, "decision_mechanism", mechanism);
	NdagInstantStatusCounters(state);
}
