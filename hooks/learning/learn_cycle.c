/*-------------------------------------------------------------------------
 *
 * learn_cycle.c
 *	  One learning cycle of a database: the trajectories recorded since the
 *	  last cycle (and, for the cost model only, the newest
 *	  NDAG_LEARN_REPLAY_MAX of those consumed before) are read from the
 *	  store, handed to the engine's
 *	  ndag_learn_cycle with the database's pattern bank, cost model and
 *	  EWC++ state, and the results are written back in one store batch that
 *	  bumps the generation (readers see the old state or the new one, never
 *	  a mix).
 *
 * State of database d in the store:
 *	- patterns (d, id): one record per pattern of the bank.  The DBA may set
 *	  pinned and disabled or delete a pattern through ndag_patterns; the
 *	  bank is rebuilt from these records at the start of every cycle, and
 *	  stored patterns are written back as patches that leave pinned,
 *	  disabled and demoted_arms alone (and skip deleted records), so such
 *	  changes survive, even when made during a cycle.  relids is the union
 *	  of the relations of the trajectories that joined the pattern.
 *	- models (d, 'cost_model'), (d, 'ewc'): the serialised cost model and
 *	  EWC++ state; (d, 'pattern_state'): the engine's serialised patterns,
 *	  for the statistics the patterns records have no field for (mean
 *	  quality, representative queryId).
 *	- hdc (d, snapshot_id): the state snapshot after each cycle; the newest
 *	  HDC_KEEP are kept.
 *	- meta "learned_traj:d": the newest traj_id consumed; "next_pattern:d":
 *	  the next pattern id (ids are never reused).
 *
 * One cycle runs at a time in the cluster (NdagLearnLock, held throughout).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "nodes/pg_list.h"
#include "portability/instr_time.h"
#include "storage/lwlock.h"
#include "utils/float.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "costmodel.h"
#include "engine.h"
#include "learn.h"
#include "patterns.h"
#include "ucb.h"
#include "compat/compat_backend.h"
#include "core/core.h"
#include "learning/learning.h"
#include "store.h"
#include "learning/learning_int.h"

/*
 * load_models
 *		The cost model and EWC++ state of the database, new ones when there
 *		are none (or they cannot be read: the error is logged).
 */
static void
load_models(LearnState *st)
{
	bytea	   *blob;

	st->model = NdagLearnLoadCostModel(st->dbid, true);
	st->selector = NdagLearnLoadSelector(st->dbid, true);
	st->n_deltas = NdagLearnTakeDeltas(st->dbid, st->model, st->selector);
	st->before = ndag_cost_copy(st->model);
	if (st->before == NULL)
		NdagEngineCheck(NDAG_ERR_NOMEM, "ndag_cost_copy");

	blob = NdagLearnModelGet(st->dbid, "ewc");
	if (blob != NULL &&
		(ndag_ewc_deserialize(VARDATA(blob), VARSIZE(blob) - VARHDRSZ,
							  &st->ewc) != NDAG_OK ||
		 st->ewc->n != st->model->n_base))
	{
		ndag_ewc_free(st->ewc);
		st->ewc = NULL;
	}
	if (st->ewc == NULL)
	{
		st->ewc = ndag_ewc_create(st->model->n_base);
		if (st->ewc == NULL)
			NdagEngineCheck(NDAG_ERR_NOMEM, "ndag_ewc_create");
	}
	st->ewc->lambda_init = ndag_ewc_lambda;
	st->ewc->max_lambda = ndag_ewc_max_lambda;
	st->ewc->decay = ndag_ewc_fisher_decay;
	if (st->ewc->lambda > st->ewc->max_lambda)
		st->ewc->lambda = st->ewc->max_lambda;
}

/*
 * load_snapshots
 *		The newest HDC snapshot of the database, and the ids of those that
 *		fall out of the newest HDC_KEEP once this cycle adds one.
 */
static void
load_snapshots(LearnState *st)
{
	StoreScan  *scan = StoreScanBegin(STORE_DBI_HDC, st->dbid, NULL, false);
	StoreValue *values = StoreRecordAlloc(STORE_DBI_HDC);
	List	   *ids = NIL;
	int			drop;

	while (StoreScanNext(scan, values))
	{
		const StoreValue *state = StoreFieldGet(values, STORE_DBI_HDC, "state");
		int64	   *id = palloc(sizeof(int64));

		*id = StoreFieldGet(values, STORE_DBI_HDC, "snapshot_id")->v.i8;
		ids = lappend(ids, id);
		st->last_snapshot = *id;
		st->has_previous = state != NULL && state->len == NDAG_HDC_BYTES;
		if (st->has_previous)
			memcpy(st->previous.bytes, state->data, NDAG_HDC_BYTES);
	}
	StoreScanEnd(scan);
	drop = list_length(ids) - (HDC_KEEP - 1);
	for (int i = 0; i < drop; i++)
		st->old_snapshots = lappend(st->old_snapshots, list_nth(ids, i));
}

/*
 * find_timed
 *		For each of n trajectories of the database (by traj_id), whether its
 *		run was timed node by node: its first executed plan node has a self
 *		time (all of an execution's nodes are timed or none).  One scan of
 *		ndag_attention, restarted at each trajectory.
 */
static void
find_timed(Oid dbid, const uint64 *ids, int n, bool *timed)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_NODES);
	int			f_actual = StoreFieldIndex(STORE_DBI_NODES, "actual_rows");
	int			f_self = StoreFieldIndex(STORE_DBI_NODES, "self_ms");
	StoreScan  *scan = NULL;
	StoreKeyRange range;

	memset(&range, 0, sizeof(range));
	range.has_lower = range.has_upper = true;
	range.lower_inclusive = range.upper_inclusive = true;
	for (int i = 0; i < n; i++)
	{
		range.lower.v.i8 = range.upper.v.i8 = (int64) ids[i];
		if (scan == NULL)
			scan = StoreScanBegin(STORE_DBI_NODES, dbid, &range, false);
		else
			StoreScanRestart(scan, &range);
		timed[i] = false;
		while (StoreScanNext(scan, values))
			if (!values[f_actual].isnull)
			{
				timed[i] = !values[f_self].isnull;
				break;
			}
	}
	if (scan != NULL)
		StoreScanEnd(scan);
	pfree(values);
}

/*
 * trajectory_from_record
 *		The engine's view of a stored trajectory into *t; false when the
 *		record lacks a field the engine needs.
 */
static bool
trajectory_from_record(const StoreValue *values, NdagTrajectory *t)
{
	const StoreValue *emb = StoreFieldGet(values, STORE_DBI_TRAJECTORIES, "embedding");
	const StoreValue *arm = StoreFieldGet(values, STORE_DBI_TRAJECTORIES, "arm");
	const StoreValue *exec = StoreFieldGet(values, STORE_DBI_TRAJECTORIES, "exec_us");
	const StoreValue *quality = StoreFieldGet(values, STORE_DBI_TRAJECTORIES, "quality");
	const StoreValue *qid = StoreFieldGet(values, STORE_DBI_TRAJECTORIES, "query_id");

	if (emb == NULL || emb->len != NDAG_EMBED_DIM || arm == NULL ||
		exec == NULL || quality == NULL)
		return false;
	memcpy(t->embedding, emb->data, sizeof(float) * NDAG_EMBED_DIM);
	t->arm = arm->v.i4;
	t->latency_ms = exec->v.f8 / 1000.0;
	t->quality = quality->v.f8;
	t->query_id = qid ? (uint64_t) qid->v.i8 : 0;
	return true;
}

/*
 * leave_out_timed
 *		While most of the cycle's trajectories (new and replayed) were not
 *		timed node by node, the latency of those that were is not known
 *		(NaN): they ran slower than the statement by their clock reads, so
 *		neither the cost model nor the patterns learn from them (their
 *		records stay).  Where most were timed (every recording timed by
 *		the settings) they are the measure and all count.
 */
static void
leave_out_timed(LearnState *st)
{
	bool	   *traj_timed = palloc(sizeof(bool) * Max(st->n_traj, 1));
	bool	   *replay_timed = palloc(sizeof(bool) * Max(st->n_replay, 1));
	int			timed = 0;

	find_timed(st->dbid, st->traj_ids, st->n_traj, traj_timed);
	find_timed(st->dbid, st->replay_ids, st->n_replay, replay_timed);
	for (int i = 0; i < st->n_traj; i++)
		timed += traj_timed[i];
	for (int i = 0; i < st->n_replay; i++)
		timed += replay_timed[i];
	if (2 * timed <= st->n_traj + st->n_replay)
	{
		for (int i = 0; i < st->n_traj; i++)
			if (traj_timed[i])
				st->traj[i].latency_ms = get_float8_nan();
		for (int i = 0; i < st->n_replay; i++)
			if (replay_timed[i])
				st->replay[i].latency_ms = get_float8_nan();
	}
	pfree(traj_timed);
	pfree(replay_timed);
}

/*
 * load_trajectories
 *		The database's trajectories with traj_id above the last consumed.
 */
static void
load_trajectories(LearnState *st)
{
	StoreKeyRange range;
	StoreScan  *scan;
	StoreValue *values = StoreRecordAlloc(STORE_DBI_TRAJECTORIES);
	int			allocated = 1024;

	st->last_traj_id = NdagLearnMetaGet("learned_traj", st->dbid, 0);
	st->consumed_traj_id = st->last_traj_id;
	memset(&range, 0, sizeof(range));
	range.has_lower = true;
	range.lower_inclusive = false;
	range.lower.v.i8 = st->last_traj_id;
	st->traj = palloc(sizeof(NdagTrajectory) * allocated);
	st->traj_ids = palloc(sizeof(uint64) * allocated);
	st->traj_relids = palloc(sizeof(List *) * allocated);

	scan = StoreScanBegin(STORE_DBI_TRAJECTORIES, st->dbid, &range, false);
	while (StoreScanNext(scan, values))
	{
		const StoreValue *relids = StoreFieldGet(values, STORE_DBI_TRAJECTORIES, "relids");
		List	   *rl = NIL;
		int64		traj_id = StoreFieldGet(values, STORE_DBI_TRAJECTORIES, "traj_id")->v.i8;

		st->last_traj_id = Max(st->last_traj_id, traj_id);
		if (st->n_traj == allocated)
		{
			allocated *= 2;
			st->traj = repalloc_huge(st->traj, sizeof(NdagTrajectory) * allocated);
			st->traj_ids = repalloc_huge(st->traj_ids, sizeof(uint64) * allocated);
			st->traj_relids = repalloc_huge(st->traj_relids,
											sizeof(List *) * allocated);
		}
		if (!trajectory_from_record(values, &st->traj[st->n_traj]))
			continue;
		st->traj_ids[st->n_traj] = (uint64) traj_id;
		for (uint32 i = 0; relids != NULL && i < relids->len; i++)
		{
			Oid			relid;

			memcpy(&relid, (const Oid *) relids->data + i, sizeof(Oid));
			rl = list_append_unique_oid(rl, relid);
		}
		st->traj_relids[st->n_traj] = rl;
		st->n_traj++;
	}
	StoreScanEnd(scan);
}

/*
 * load_replay
 *		The newest NDAG_LEARN_REPLAY_MAX trajectories of the database that
 *		earlier cycles consumed (traj_id up to consumed_traj_id), which the cost
 *		model trains on again with the new ones.  Kept in a ring while the
 *		scan goes forward; their order does not matter to training.
 */
static void
load_replay(LearnState *st)
{
	StoreKeyRange range;
	StoreScan  *scan;
	StoreValue *values = StoreRecordAlloc(STORE_DBI_TRAJECTORIES);
	int			next = 0;

	if (st->consumed_traj_id <= 0)
		return;
	memset(&range, 0, sizeof(range));
	range.has_upper = true;
	range.upper_inclusive = true;
	range.upper.v.i8 = st->consumed_traj_id;
	st->replay = palloc(sizeof(NdagTrajectory) * NDAG_LEARN_REPLAY_MAX);
	st->replay_ids = palloc(sizeof(uint64) * NDAG_LEARN_REPLAY_MAX);

	scan = StoreScanBegin(STORE_DBI_TRAJECTORIES, st->dbid, &range, false);
	while (StoreScanNext(scan, values))
	{
		if (!trajectory_from_record(values, &st->replay[next]))
			continue;
		st->replay_ids[next] = (uint64)
			StoreFieldGet(values, STORE_DBI_TRAJECTORIES, "traj_id")->v.i8;
		next = (next + 1) % NDAG_LEARN_REPLAY_MAX;
		st->n_replay = Min(st->n_replay + 1, NDAG_LEARN_REPLAY_MAX);
	}
	StoreScanEnd(scan);
}

/*
 * median_error
 *		Median |predicted - ln(latency ms)| of a model over the usable
 *		trajectories; NaN when there are none.
 */
static double
median_error(LearnState *st, const NdagCostModel *model)
{
	float	   *emb = palloc(sizeof(float) * NDAG_EMBED_DIM * Max(st->n_traj, 1));
	int		   *arms = palloc(sizeof(int) * Max(st->n_traj, 1));
	float	   *target = palloc(sizeof(float) * Max(st->n_traj, 1));
	int			m = 0;
	double		median;

	for (int i = 0; i < st->n_traj; i++)
	{
		const NdagTrajectory *t = &st->traj[i];

		if (t->arm < 0 || t->arm >= model->n_arms || !(t->latency_ms > 0) ||
			!isfinite(t->latency_ms))
			continue;
		memcpy(emb + (size_t) m * NDAG_EMBED_DIM, t->embedding,
			   sizeof(float) * NDAG_EMBED_DIM);
		arms[m] = t->arm;
		target[m] = (float) log(t->latency_ms);
		m++;
	}
	NdagEngineCheck(ndag_cost_median_error(model, emb, arms, target, m, &median),
				   "ndag_cost_median_error");
	return m > 0 ? median : get_float8_nan();
}

/*
 * run_cycle
 *		The cycle proper, with the learn lock held.
 */
static void
run_cycle(LearnState *st, NdagLearnSummary *sum)
{
	NdagLearnOpts opts;
	NdagLearnResult res;
	TimestampTz now = GetCurrentTimestamp();

	load_trajectories(st);
	sum->trajectories = st->n_traj;
	sum->last_traj_id = st->last_traj_id;
	NdagLearnLoadBank(st);
	sum->patterns = st->bank->count;
	if (st->n_traj == 0)
		return;					/* nothing new: the state stays as it is */
	load_models(st);
	load_snapshots(st);
	load_replay(st);
	leave_out_timed(st);

	ndag_learn_opts_init(&opts);
	opts.patterns.clusters = ndag_pattern_clusters;
	opts.patterns.quality_threshold = ndag_quality_threshold;
	opts.train.lr = ndag_base_lora_lr;
	opts.ids = st->traj_ids;
	opts.replay = st->replay;
	opts.replay_ids = st->replay_ids;
	opts.n_replay = st->n_replay;
	CHECK_FOR_INTERRUPTS();
	NdagEngineCheck(ndag_learn_cycle(st->bank, st->model, st->ewc, st->traj,
									st->n_traj,
									st->has_previous ? &st->previous : NULL,
									&opts, NdagLearnSeconds(now), &res),
				   "ndag_learn_cycle");

	if (res.train_rejected)
	{
		/* the model stays as it was before training; it is what is written */
		NdagLearnedCountRejected(NDAG_REJECTED_MODEL);
		sum->model_rejected = true;
	}
	sum->used = res.extract.used;
	sum->clusters = res.extract.clusters;
	sum->created = res.extract.created;
	sum->merged = res.extract.merged;
	sum->evicted = res.extract.evicted;
	sum->patterns = st->bank->count;
	sum->trained = res.trained;
	sum->validated = res.validated;
	sum->replayed = res.replayed;
	sum->heldout = res.heldout;
	sum->heldout_error_before = res.heldout_error_before;
	sum->heldout_error_after = res.heldout_error_after;
	sum->model_kept = res.model_kept;
	sum->loss_before = res.trained > 0 ? res.loss_before : get_float8_nan();
	sum->loss_after = res.trained > 0 ? res.loss_after : get_float8_nan();
	sum->error_before = median_error(st, st->before);
	sum->error_after = median_error(st, st->model);
	sum->drift = res.drift;
	sum->task_boundary = res.drift_boundary || res.loss_boundary;

	NdagLearnCollectRelids(st);
	NdagLearnWrite(st, &res, sum, now);
}

/*
 * NdagLearnCycle
 *		Run one learning cycle for database dbid (flush the ring first if
 *		the new trajectories are wanted) and describe it in *summary.  Waits
 *		for a cycle running elsewhere.  Errors are raised after the engine
 *		objects are freed and the lock released.
 */
void
NdagLearnCycle(Oid dbid, NdagLearnSummary *summary)
{
	LWLock	   *lock = NdagLearnLock();
	MemoryContext cxt;
	MemoryContext oldcxt;
	LearnState	st;
	instr_time	start;
	instr_time	duration;

	memset(summary, 0, sizeof(NdagLearnSummary));
	summary->dbid = dbid;
	summary->loss_before = summary->loss_after = get_float8_nan();
	summary->error_before = summary->error_after = get_float8_nan();
	summary->heldout_error_before = summary->heldout_error_after = get_float8_nan();
	memset(&st, 0, sizeof(st));
	st.dbid = dbid;
	StoreEnsureOpen();

	cxt = AllocSetContextCreate(CurrentMemoryContext, "neural_dag learning cycle",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	LWLockAcquire(lock, LW_EXCLUSIVE);
	INSTR_TIME_SET_CURRENT(start);
	PG_TRY();
	{
		run_cycle(&st, summary);
	}
	PG_FINALLY();
	{
		if (LWLockHeldByMe(lock))
			LWLockRelease(lock);
		ndag_bank_free(st.bank);
		ndag_cost_free(st.model);
		ndag_cost_free(st.before);
		ndag_ewc_free(st.ewc);
		ndag_ucb_free(st.selector);
		MemoryContextSwitchTo(oldcxt);
	}
	PG_END_TRY();
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	summary->ms = INSTR_TIME_GET_MILLISEC(duration);
	MemoryContextDelete(cxt);
}
