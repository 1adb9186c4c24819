/*-------------------------------------------------------------------------
 *
 * learn_cycle.c
 *	  One learning cycle of a database: the trajectories recorded since the
 *	  last cycle are read from the store, handed to the engine's
 *	  ndag_learn_cycle with the database's pattern bank, cost model and
 *	  EWC++ state, and the results are written back in one store batch that
 *	  bumps the generation (readers see the old state or the new one, never
 *	  a mix).
 *
 * State of database d in the store:
 *	- patterns (d, id): one record per pattern of the bank.  The DBA may set
 *	  pinned and disabled or delete a pattern through ndag_patterns; the
 *	  bank is rebuilt from these records at the start of every cycle, so
 *	  such changes survive.  relids is the union of the relations of the
 *	  trajectories that joined the pattern.
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

#include "engine.h"
#include "hooks.h"
#include "store.h"

#define LEARN_ARMS			NDAG_PATTERN_MAX_ARMS	/* arms the state covers */
#define LEARN_CAPACITY_PER_CLUSTER	10	/* bank capacity = 10 x clusters */
#define HDC_KEEP			64	/* snapshots kept per database */
#define LEARN_MODEL_SEED	UINT64_C(0x6e646167636f7374)

/* Everything one cycle works on; engine objects are malloc'd. */
typedef struct LearnState
{
	Oid			dbid;
	NdagPatternBank *bank;
	NdagCostModel *model;
	NdagCostModel *before;		/* copy of the model before training */
	NdagEwc    *ewc;
	NdagPattern *extra;			/* stored engine patterns, sorted by id */
	int			n_extra;
	NdagHv		previous;
	bool		has_previous;
	int64		last_snapshot;	/* id of the newest stored snapshot */
	List	   *old_snapshots;	/* int64 ids to delete (beyond HDC_KEEP) */
	NdagTrajectory *traj;
	List	  **traj_relids;	/* per trajectory: List of Oid */
	int			n_traj;
	int64		last_traj_id;
	List	  **pattern_relids; /* per bank index, after the cycle */
	int			n_pattern_relids;
	/* stored relids and demoted_arms per pattern id, from the records */
	List	   *stored_ids;		/* int64 */
	List	   *stored_relids;	/* List of Oid, parallel */
	List	   *stored_demoted; /* StoreValue *, parallel (may be NULL) */
} LearnState;

/*
 * fidx
 *		Index of a named field of a DBI's schema.
 */
static int
fidx(StoreDbi dbi, const char *name)
{
	int			i = StoreSchemaFieldIndex(StoreGetSchema(dbi), name);

	if (i < 0)
		elog(ERROR, "store \"%s\" has no field \"%s\"",
			 StoreGetSchema(dbi)->name, name);
	return i;
}

/*
 * new_values
 *		A palloc'd record of dbi with every field null.
 */
static StoreValue *
new_values(StoreDbi dbi)
{
	int			n = StoreGetSchema(dbi)->nfields;
	StoreValue *values = palloc0(sizeof(StoreValue) * n);

	for (int i = 0; i < n; i++)
		values[i].isnull = true;
	return values;
}

/*
 * setf
 *		The slot of a named field, marked not null.
 */
static StoreValue *
setf(StoreValue *values, StoreDbi dbi, const char *name)
{
	StoreValue *v = &values[fidx(dbi, name)];

	v->isnull = false;
	return v;
}

/*
 * getf
 *		The slot of a named field, or NULL when it is null.
 */
static const StoreValue *
getf(const StoreValue *values, StoreDbi dbi, const char *name)
{
	const StoreValue *v = &values[fidx(dbi, name)];

	return v->isnull ? NULL : v;
}

/*
 * ts_seconds / seconds_ts
 *		The engine's clock is seconds (double) since the PostgreSQL epoch.
 */
static double
ts_seconds(TimestampTz ts)
{
	return (double) ts / USECS_PER_SEC;
}

static TimestampTz
seconds_ts(double s)
{
	return (TimestampTz) llround(s * USECS_PER_SEC);
}

/*
 * meta_get / meta_put
 *		A meta counter named "<prefix>:<dbid>" (default when absent), and
 *		queueing a new value in a batch.
 */
static int64
meta_get(const char *prefix, Oid dbid, int64 dflt)
{
	StoreValue *key = new_values(STORE_DBI_META);
	StoreValue *values = new_values(STORE_DBI_META);
	char	   *name = psprintf("%s:%u", prefix, dbid);
	StoreValue *v = setf(key, STORE_DBI_META, "name");

	v->data = name;
	v->len = strlen(name);
	if (StoreGet(STORE_DBI_META, key, values, false) &&
		getf(values, STORE_DBI_META, "value") != NULL)
		return getf(values, STORE_DBI_META, "value")->v.i8;
	return dflt;
}

static void
meta_put(StoreBatch *batch, const char *prefix, Oid dbid, int64 value)
{
	StoreValue *values = new_values(STORE_DBI_META);
	char	   *name = psprintf("%s:%u", prefix, dbid);
	StoreValue *v = setf(values, STORE_DBI_META, "name");

	v->data = name;
	v->len = strlen(name);
	setf(values, STORE_DBI_META, "value")->v.i8 = value;
	StoreBatchPut(batch, STORE_DBI_META, values);
}

/*
 * model_get
 *		The state bytes of models record (dbid, name) as a palloc'd copy, or
 *		NULL.
 */
static bytea *
model_get(Oid dbid, const char *name)
{
	StoreValue *key = new_values(STORE_DBI_MODELS);
	StoreValue *values = new_values(STORE_DBI_MODELS);
	const StoreValue *state;
	StoreValue *v;
	bytea	   *out;

	setf(key, STORE_DBI_MODELS, "dbid")->v.oid = dbid;
	v = setf(key, STORE_DBI_MODELS, "name");
	v->data = name;
	v->len = strlen(name);
	if (!StoreGet(STORE_DBI_MODELS, key, values, false))
		return NULL;
	state = getf(values, STORE_DBI_MODELS, "state");
	if (state == NULL)
		return NULL;
	out = palloc(VARHDRSZ + state->len);
	SET_VARSIZE(out, VARHDRSZ + state->len);
	memcpy(VARDATA(out), state->data, state->len);
	return out;
}

/*
 * engine_check
 *		Raise an error for an engine status other than NDAG_OK.
 */
static void
engine_check(int rc, const char *what)
{
	if (rc == NDAG_ERR_NOMEM)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory in %s", what)));
	if (rc != NDAG_OK)
		elog(ERROR, "%s failed: %s", what, ndag_strerror(rc));
}

/*
 * cmp_pattern_id
 *		qsort/bsearch order of patterns by id.
 */
static int
cmp_pattern_id(const void *a, const void *b)
{
	uint64_t	x = ((const NdagPattern *) a)->id;
	uint64_t	y = ((const NdagPattern *) b)->id;

	return (x > y) - (x < y);
}

/*
 * load_extra
 *		The engine's own serialised patterns of the last cycle.  A damaged
 *		or outdated blob is ignored: the patterns records alone rebuild the
 *		bank.
 */
static void
load_extra(LearnState *st)
{
	bytea	   *blob = model_get(st->dbid, "pattern_state");
	size_t		size = ndag_pattern_serialized_size();
	size_t		len;
	int			n;

	if (blob == NULL)
		return;
	len = VARSIZE(blob) - VARHDRSZ;
	if (len % size != 0)
		return;
	n = (int) (len / size);
	st->extra = palloc0(sizeof(NdagPattern) * Max(n, 1));
	for (int i = 0; i < n; i++)
	{
		if (ndag_pattern_deserialize(VARDATA(blob) + i * size, size,
									 &st->extra[st->n_extra]) == NDAG_OK)
			st->n_extra++;
	}
	qsort(st->extra, st->n_extra, sizeof(NdagPattern), cmp_pattern_id);
}

/*
 * load_bank
 *		Rebuild the bank from the database's patterns records.
 */
static void
load_bank(LearnState *st)
{
	StoreScan  *scan;
	StoreValue *values = new_values(STORE_DBI_PATTERNS);
	int			capacity = ndag_pattern_clusters * LEARN_CAPACITY_PER_CLUSTER;

	st->bank = ndag_bank_create(LEARN_ARMS, Max(capacity, 1));
	if (st->bank == NULL)
		engine_check(NDAG_ERR_NOMEM, "ndag_bank_create");
	load_extra(st);

	scan = StoreScanBegin(STORE_DBI_PATTERNS, st->dbid, NULL, false);
	while (StoreScanNext(scan, values))
	{
		NdagPattern p;
		NdagPattern *found;
		const StoreValue *v;
		List	   *relids = NIL;
		StoreValue *demoted = NULL;
		uint64		n;

		memset(&p, 0, sizeof(p));
		p.id = (uint64_t) getf(values, STORE_DBI_PATTERNS, "pattern_id")->v.i8;
		found = bsearch(&p, st->extra, st->n_extra, sizeof(NdagPattern),
						cmp_pattern_id);
		if (found != NULL)
			p = *found;
		v = getf(values, STORE_DBI_PATTERNS, "centroid");
		if (v == NULL || v->len != NDAG_EMBED_DIM)
			continue;			/* not usable as a pattern */
		memcpy(p.centroid, v->data, sizeof(float) * NDAG_EMBED_DIM);
		n = (v = getf(values, STORE_DBI_PATTERNS, "support")) ? Max(v->v.i8, 0) : 0;
		p.n_members = n;
		if ((v = getf(values, STORE_DBI_PATTERNS, "quality_var")) != NULL)
			p.quality_m2 = v->v.f8 * n;
		if ((v = getf(values, STORE_DBI_PATTERNS, "best_arm")) != NULL)
			p.best_arm = v->v.i4;
		if ((v = getf(values, STORE_DBI_PATTERNS, "gain")) != NULL)
			p.gain = v->v.f8;
		if ((v = getf(values, STORE_DBI_PATTERNS, "confidence")) != NULL)
			p.confidence = v->v.f8;
		if ((v = getf(values, STORE_DBI_PATTERNS, "uses")) != NULL)
			p.uses = Max(v->v.i8, 0);
		p.last_used = (v = getf(values, STORE_DBI_PATTERNS, "last_used")) ?
			ts_seconds(v->v.ts) : 0.0;
		if ((v = getf(values, STORE_DBI_PATTERNS, "created_at")) != NULL)
			p.created = ts_seconds(v->v.ts);
		p.pinned = (v = getf(values, STORE_DBI_PATTERNS, "pinned")) && v->v.b;
		p.disabled = (v = getf(values, STORE_DBI_PATTERNS, "disabled")) && v->v.b;
		if ((v = getf(values, STORE_DBI_PATTERNS, "arm_stats")) != NULL)
		{
			memset(p.arms, 0, sizeof(p.arms));
			for (uint32 i = 0; i + 4 <= v->len; i += 4)
			{
				float8		s[4];
				int			arm;

				memcpy(s, (const float8 *) v->data + i, sizeof(s));
				arm = (int) s[0];
				if (arm < 0 || arm >= LEARN_ARMS || !(s[1] >= 0))
					continue;
				p.arms[arm].count = (uint64_t) s[1];
				p.arms[arm].mean_ln = s[2];
				p.arms[arm].m2_ln = s[3] * s[1];
			}
		}
		if ((v = getf(values, STORE_DBI_PATTERNS, "relids")) != NULL)
		{
			for (uint32 i = 0; i < v->len; i++)
			{
				Oid			relid;

				memcpy(&relid, (const Oid *) v->data + i, sizeof(Oid));
				relids = list_append_unique_oid(relids, relid);
			}
		}
		if ((v = getf(values, STORE_DBI_PATTERNS, "demoted_arms")) != NULL)
		{
			demoted = palloc(sizeof(StoreValue));
			*demoted = *v;
			demoted->data = memcpy(palloc(sizeof(int32) * Max(v->len, 1)),
								   v->data, sizeof(int32) * v->len);
		}
		engine_check(ndag_bank_insert(st->bank, &p, NULL), "ndag_bank_insert");
		st->stored_ids = lappend(st->stored_ids, palloc(sizeof(int64)));
		*(int64 *) llast(st->stored_ids) = (int64) p.id;
		st->stored_relids = lappend(st->stored_relids, relids);
		st->stored_demoted = lappend(st->stored_demoted, demoted);
	}
	StoreScanEnd(scan);
	st->bank->next_id = Max(st->bank->next_id,
							(uint64_t) meta_get("next_pattern", st->dbid, 1));
}

/*
 * load_models
 *		The cost model and EWC++ state of the database, new ones when there
 *		are none (or they cannot be read: the error is logged).
 */
static void
load_models(LearnState *st)
{
	bytea	   *blob = model_get(st->dbid, "cost_model");
	int			rc;

	if (blob != NULL)
	{
		rc = ndag_cost_deserialize(VARDATA(blob), VARSIZE(blob) - VARHDRSZ,
								   &st->model);
		if (rc != NDAG_OK)
		{
			st->model = NULL;
			ereport(WARNING,
					(errmsg("neural_dag cost model of database %u is unreadable (%s), starting a new one",
							st->dbid, ndag_strerror(rc))));
		}
		else if (st->model->n_arms != LEARN_ARMS)
		{
			ndag_cost_free(st->model);
			st->model = NULL;
		}
	}
	if (st->model == NULL)
	{
		st->model = ndag_cost_create(LEARN_ARMS, ndag_base_lora_rank,
									 ndag_micro_lora_rank, LEARN_MODEL_SEED);
		if (st->model == NULL)
			engine_check(NDAG_ERR_NOMEM, "ndag_cost_create");
	}
	st->before = ndag_cost_copy(st->model);
	if (st->before == NULL)
		engine_check(NDAG_ERR_NOMEM, "ndag_cost_copy");

	blob = model_get(st->dbid, "ewc");
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
			engine_check(NDAG_ERR_NOMEM, "ndag_ewc_create");
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
	StoreValue *values = new_values(STORE_DBI_HDC);
	List	   *ids = NIL;
	int			drop;

	while (StoreScanNext(scan, values))
	{
		const StoreValue *state = getf(values, STORE_DBI_HDC, "state");
		int64	   *id = palloc(sizeof(int64));

		*id = getf(values, STORE_DBI_HDC, "snapshot_id")->v.i8;
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
 * load_trajectories
 *		The database's trajectories with traj_id above the last consumed.
 */
static void
load_trajectories(LearnState *st)
{
	StoreKeyRange range;
	StoreScan  *scan;
	StoreValue *values = new_values(STORE_DBI_TRAJECTORIES);
	int			allocated = 1024;

	st->last_traj_id = meta_get("learned_traj", st->dbid, 0);
	memset(&range, 0, sizeof(range));
	range.has_lower = true;
	range.lower_inclusive = false;
	range.lower.v.i8 = st->last_traj_id;
	st->traj = palloc(sizeof(NdagTrajectory) * allocated);
	st->traj_relids = palloc(sizeof(List *) * allocated);

	scan = StoreScanBegin(STORE_DBI_TRAJECTORIES, st->dbid, &range, false);
	while (StoreScanNext(scan, values))
	{
		const StoreValue *emb = getf(values, STORE_DBI_TRAJECTORIES, "embedding");
		const StoreValue *arm = getf(values, STORE_DBI_TRAJECTORIES, "arm");
		const StoreValue *exec = getf(values, STORE_DBI_TRAJECTORIES, "exec_us");
		const StoreValue *quality = getf(values, STORE_DBI_TRAJECTORIES, "quality");
		const StoreValue *qid = getf(values, STORE_DBI_TRAJECTORIES, "query_id");
		const StoreValue *relids = getf(values, STORE_DBI_TRAJECTORIES, "relids");
		NdagTrajectory *t;
		List	   *rl = NIL;

		st->last_traj_id = Max(st->last_traj_id,
							   getf(values, STORE_DBI_TRAJECTORIES, "traj_id")->v.i8);
		if (emb == NULL || emb->len != NDAG_EMBED_DIM || arm == NULL ||
			exec == NULL || quality == NULL)
			continue;
		if (st->n_traj == allocated)
		{
			allocated *= 2;
			st->traj = repalloc_huge(st->traj, sizeof(NdagTrajectory) * allocated);
			st->traj_relids = repalloc_huge(st->traj_relids,
											sizeof(List *) * allocated);
		}
		t = &st->traj[st->n_traj];
		memcpy(t->embedding, emb->data, sizeof(float) * NDAG_EMBED_DIM);
		t->arm = arm->v.i4;
		t->latency_ms = exec->v.f8 / 1000.0;
		t->quality = quality->v.f8;
		t->query_id = qid ? (uint64_t) qid->v.i8 : 0;
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
 * cmp_float
 *		qsort order of floats.
 */
static int
cmp_float(const void *a, const void *b)
{
	float		x = *(const float *) a;
	float		y = *(const float *) b;

	return (x > y) - (x < y);
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
	float	   *pred = palloc(sizeof(float) * Max(st->n_traj, 1));
	double	   *target = palloc(sizeof(double) * Max(st->n_traj, 1));
	float	   *err;
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
		target[m] = log(t->latency_ms);
		m++;
	}
	if (m == 0)
		return get_float8_nan();
	engine_check(ndag_cost_predict_batch(model, emb, arms, m, pred),
				 "ndag_cost_predict_batch");
	err = palloc(sizeof(float) * m);
	for (int i = 0; i < m; i++)
		err[i] = (float) fabs(pred[i] - target[i]);
	qsort(err, m, sizeof(float), cmp_float);
	median = (m % 2 == 1) ? err[m / 2] : 0.5 * (err[m / 2 - 1] + err[m / 2]);
	return median;
}

/*
 * stored_index
 *		Position of a pattern id among the loaded records, or -1.
 */
static int
stored_index(LearnState *st, uint64_t id)
{
	ListCell   *lc;

	foreach(lc, st->stored_ids)
	{
		if (*(int64 *) lfirst(lc) == (int64) id)
			return foreach_current_index(lc);
	}
	return -1;
}

/*
 * collect_relids
 *		Relations of each pattern after the cycle: those it had, and those
 *		of the new trajectories whose nearest pattern it is.
 */
static void
collect_relids(LearnState *st)
{
	NdagPatternBank *bank = st->bank;

	st->n_pattern_relids = bank->count;
	st->pattern_relids = palloc0(sizeof(List *) * Max(bank->count, 1));
	for (int i = 0; i < bank->count; i++)
	{
		int			s = stored_index(st, bank->patterns[i].id);

		if (s >= 0)
			st->pattern_relids[i] = list_copy(list_nth(st->stored_relids, s));
	}
	for (int t = 0; t < st->n_traj && bank->count > 0; t++)
	{
		NdagMatch	match;
		int			n_out = 0;

		if (st->traj[t].quality < ndag_quality_threshold)
			continue;
		engine_check(ndag_match_exact(bank, st->traj[t].embedding, 1, &match,
									  &n_out), "ndag_match_exact");
		if (n_out == 1)
			st->pattern_relids[match.index] =
				list_concat_unique_oid(st->pattern_relids[match.index],
									   st->traj_relids[t]);
	}
}

/*
 * put_model
 *		Queue models record (dbid, name).
 */
static void
put_model(StoreBatch *batch, Oid dbid, const char *name, const void *state,
		  size_t len, int64 parameters, int64 updates, double loss,
		  double lambda, int tasks, TimestampTz now)
{
	StoreValue *values = new_values(STORE_DBI_MODELS);
	StoreValue *v;

	setf(values, STORE_DBI_MODELS, "dbid")->v.oid = dbid;
	v = setf(values, STORE_DBI_MODELS, "name");
	v->data = name;
	v->len = strlen(name);
	setf(values, STORE_DBI_MODELS, "version")->v.i4 = 1;
	setf(values, STORE_DBI_MODELS, "parameters")->v.i8 = parameters;
	setf(values, STORE_DBI_MODELS, "updates")->v.i8 = updates;
	if (isfinite(loss))
		setf(values, STORE_DBI_MODELS, "loss")->v.f8 = loss;
	setf(values, STORE_DBI_MODELS, "lambda")->v.f8 = lambda;
	setf(values, STORE_DBI_MODELS, "tasks")->v.i4 = tasks;
	setf(values, STORE_DBI_MODELS, "trained_at")->v.ts = now;
	v = setf(values, STORE_DBI_MODELS, "state");
	v->data = state;
	v->len = len;
	StoreBatchPut(batch, STORE_DBI_MODELS, values);
}

/*
 * put_pattern
 *		Queue the patterns record of bank->patterns[i].
 */
static void
put_pattern(StoreBatch *batch, LearnState *st, int i)
{
	const NdagPattern *p = &st->bank->patterns[i];
	StoreValue *values = new_values(STORE_DBI_PATTERNS);
	StoreValue *v;
	List	   *relids = st->pattern_relids[i];
	Oid		   *oids = palloc(sizeof(Oid) * Max(list_length(relids), 1));
	float8	   *stats = palloc(sizeof(float8) * 4 * LEARN_ARMS);
	int			n_stats = 0;
	int			s = stored_index(st, p->id);
	ListCell   *lc;

	setf(values, STORE_DBI_PATTERNS, "dbid")->v.oid = st->dbid;
	setf(values, STORE_DBI_PATTERNS, "pattern_id")->v.i8 = (int64) p->id;
	foreach(lc, relids)
		oids[foreach_current_index(lc)] = lfirst_oid(lc);
	v = setf(values, STORE_DBI_PATTERNS, "relids");
	v->data = oids;
	v->len = list_length(relids);
	v = setf(values, STORE_DBI_PATTERNS, "centroid");
	v->data = p->centroid;
	v->len = NDAG_EMBED_DIM;
	setf(values, STORE_DBI_PATTERNS, "best_arm")->v.i4 = p->best_arm;
	setf(values, STORE_DBI_PATTERNS, "gain")->v.f8 = p->gain;
	setf(values, STORE_DBI_PATTERNS, "confidence")->v.f8 = p->confidence;
	setf(values, STORE_DBI_PATTERNS, "support")->v.i8 = (int64) p->n_members;
	setf(values, STORE_DBI_PATTERNS, "uses")->v.i8 = (int64) p->uses;
	if (p->last_used > 0)
		setf(values, STORE_DBI_PATTERNS, "last_used")->v.ts = seconds_ts(p->last_used);
	setf(values, STORE_DBI_PATTERNS, "pinned")->v.b = p->pinned;
	setf(values, STORE_DBI_PATTERNS, "disabled")->v.b = p->disabled;
	setf(values, STORE_DBI_PATTERNS, "created_at")->v.ts = seconds_ts(p->created);
	if (s >= 0 && list_nth(st->stored_demoted, s) != NULL)
		values[fidx(STORE_DBI_PATTERNS, "demoted_arms")] =
			*(StoreValue *) list_nth(st->stored_demoted, s);
	for (int a = 0; a < LEARN_ARMS; a++)
	{
		const NdagArmStats *as = &p->arms[a];

		if (as->count == 0)
			continue;
		stats[n_stats++] = a;
		stats[n_stats++] = (double) as->count;
		stats[n_stats++] = as->mean_ln;
		stats[n_stats++] = as->m2_ln / (double) as->count;
	}
	v = setf(values, STORE_DBI_PATTERNS, "arm_stats");
	v->data = stats;
	v->len = n_stats;
	setf(values, STORE_DBI_PATTERNS, "quality_var")->v.f8 =
		p->n_members > 0 ? p->quality_m2 / (double) p->n_members : 0.0;
	StoreBatchPut(batch, STORE_DBI_PATTERNS, values);
}

/*
 * write_state
 *		Everything the cycle changed, in one batch with the generation
 *		bumped.
 */
static void
write_state(LearnState *st, const NdagLearnResult *res, NdagLearnSummary *sum,
			TimestampTz now)
{
	StoreBatch *batch = StoreBatchCreate(CurrentMemoryContext);
	size_t		psize = ndag_pattern_serialized_size();
	char	   *blob = palloc(psize * Max(st->bank->count, 1));
	size_t		len;
	size_t		written;
	char	   *buf;
	StoreValue *values;
	ListCell   *lc;

	StoreBatchClear(batch, STORE_DBI_PATTERNS, st->dbid);
	for (int i = 0; i < st->bank->count; i++)
	{
		put_pattern(batch, st, i);
		engine_check(ndag_pattern_serialize(&st->bank->patterns[i],
											blob + i * psize, psize, &written),
					 "ndag_pattern_serialize");
	}
	put_model(batch, st->dbid, "pattern_state", blob, psize * st->bank->count,
			  st->bank->count, 0, get_float8_nan(), 0, 0, now);

	len = ndag_cost_serialized_size(st->model);
	buf = palloc(len);
	engine_check(ndag_cost_serialize(st->model, buf, len, &written),
				 "ndag_cost_serialize");
	put_model(batch, st->dbid, "cost_model", buf, written, st->model->n_params,
			  (int64) (st->model->instant_steps + st->model->base_steps),
			  res->trained > 0 ? res->loss_after : get_float8_nan(),
			  st->ewc->lambda, st->ewc->n_tasks, now);

	len = ndag_ewc_serialized_size(st->ewc);
	buf = palloc(len);
	engine_check(ndag_ewc_serialize(st->ewc, buf, len, &written),
				 "ndag_ewc_serialize");
	put_model(batch, st->dbid, "ewc", buf, written, st->ewc->n,
			  (int64) st->ewc->fisher_updates, get_float8_nan(),
			  st->ewc->lambda, st->ewc->n_tasks, now);

	sum->snapshot_id = StoreNextId("next_snapshot_id");
	values = new_values(STORE_DBI_HDC);
	setf(values, STORE_DBI_HDC, "dbid")->v.oid = st->dbid;
	setf(values, STORE_DBI_HDC, "snapshot_id")->v.i8 = sum->snapshot_id;
	setf(values, STORE_DBI_HDC, "taken_at")->v.ts = now;
	setf(values, STORE_DBI_HDC, "patterns")->v.i4 = st->bank->count;
	setf(values, STORE_DBI_HDC, "state")->data = res->snapshot.bytes;
	values[fidx(STORE_DBI_HDC, "state")].len = NDAG_HDC_BYTES;
	StoreBatchPut(batch, STORE_DBI_HDC, values);
	foreach(lc, st->old_snapshots)
	{
		values = new_values(STORE_DBI_HDC);
		setf(values, STORE_DBI_HDC, "dbid")->v.oid = st->dbid;
		setf(values, STORE_DBI_HDC, "snapshot_id")->v.i8 = *(int64 *) lfirst(lc);
		StoreBatchDelete(batch, STORE_DBI_HDC, values);
	}

	meta_put(batch, "learned_traj", st->dbid, st->last_traj_id);
	meta_put(batch, "next_pattern", st->dbid, (int64) st->bank->next_id);
	StoreBatchBumpGeneration(batch);
	StoreBatchApply(batch);
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
	load_bank(st);
	sum->patterns = st->bank->count;
	if (st->n_traj == 0)
		return;					/* nothing new: the state stays as it is */
	load_models(st);
	load_snapshots(st);

	ndag_learn_opts_init(&opts);
	opts.patterns.clusters = ndag_pattern_clusters;
	opts.patterns.quality_threshold = ndag_quality_threshold;
	opts.train.lr = ndag_base_lora_lr;
	CHECK_FOR_INTERRUPTS();
	engine_check(ndag_learn_cycle(st->bank, st->model, st->ewc, st->traj,
								  st->n_traj,
								  st->has_previous ? &st->previous : NULL,
								  &opts, ts_seconds(now), &res),
				 "ndag_learn_cycle");

	sum->used = res.extract.used;
	sum->clusters = res.extract.clusters;
	sum->created = res.extract.created;
	sum->merged = res.extract.merged;
	sum->evicted = res.extract.evicted;
	sum->patterns = st->bank->count;
	sum->trained = res.trained;
	sum->loss_before = res.trained > 0 ? res.loss_before : get_float8_nan();
	sum->loss_after = res.trained > 0 ? res.loss_after : get_float8_nan();
	sum->error_before = median_error(st, st->before);
	sum->error_after = median_error(st, st->model);
	sum->drift = res.drift;
	sum->task_boundary = res.drift_boundary || res.loss_boundary;

	collect_relids(st);
	write_state(st, &res, sum, now);
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
		MemoryContextSwitchTo(oldcxt);
	}
	PG_END_TRY();
	INSTR_TIME_SET_CURRENT(duration);
	INSTR_TIME_SUBTRACT(duration, start);
	summary->ms = INSTR_TIME_GET_MILLISEC(duration);
	MemoryContextDelete(cxt);
}
