/*-------------------------------------------------------------------------
 *
 * flush.c
 *	  Drain the trajectory ring into the store: one StoreBatch per chunk of
 *	  trajectories (trajectories and nodes records, the traj_id counter,
 *	  and the trim of each database to ruvector.dag_max_trajectories),
 *	  applied in one LMDB write transaction.
 *
 * The learner worker drains about once a second; ruvector_dag_flush() runs
 * the same drain at once from the calling backend.  NdagFlushLock()
 * serialises them, which is also what makes reading and advancing the
 * next_traj_id counter inside the batch safe.
 *
 * The quality of a trajectory needs the mean latency of the default arm
 * for the same queryId: those means live in a small shared table updated
 * under the same lock.  It starts empty after a restart.
 *
 * Trimming a database to its budget needs its number of trajectories,
 * which only a scan gives.  A shared estimate per database (an upper bound:
 * users may delete, but only the flush adds) avoids the scan until the
 * budget may be exceeded; a trim then goes TRIM_SLACK_DIV-th below the
 * budget, so that scans happen once per that many trajectories.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/plannodes.h"
#include "portability/instr_time.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/memutils.h"

#include "engine.h"
#include "core/core.h"
#include "plandag/plandag.h"
#include "planner/planner.h"
#include "recording/recording.h"
#include "store.h"

PG_FUNCTION_INFO_V1(ruvector_dag_flush);

/* trajectories taken from the ring and written per LMDB transaction */
#define FLUSH_CHUNK			1024

/* field lookups remembered by field() */
#define FIELD_CACHE			64

/* shared table of default-arm latency means per (database, queryId) */
#define BASELINE_SLOTS		4096
#define BASELINE_PROBES		32

/* databases whose trajectory count is estimated */
#define DBCOUNT_SLOTS		64

/* a trim leaves room for budget / TRIM_SLACK_DIV more trajectories */
#define TRIM_SLACK_DIV		20

#define TRAJ_COUNTER		"next_traj_id"
#define DEFAULT_ARM			0

typedef struct Baseline
{
	Oid			dbid;			/* InvalidOid: free slot */
	int64		query_id;
	uint64		n;
	double		mean_us;
} Baseline;

/* upper bound of a database's trajectories in the store */
typedef struct DbCount
{
	Oid			dbid;			/* InvalidOid: free slot */
	int64		count;			/* < 0: unknown */
} DbCount;

typedef struct FlushShared
{
	DbCount		dbcounts[DBCOUNT_SLOTS];
	Baseline	baselines[BASELINE_SLOTS];
} FlushShared;

static FlushShared *flush_shared = NULL;

/* a database with trajectories in the chunk being written */
typedef struct ChunkDb
{
	Oid			dbid;
	int			n_new;
	int			skip;			/* oldest new ones not written (over budget) */
} ChunkDb;

/*
 * NdagBaselineShmemSize
 *		Bytes of the baselines and database counts.
 */
Size
NdagBaselineShmemSize(void)
{
	return MAXALIGN(sizeof(FlushShared));
}

/*
 * NdagBaselineShmemInit
 *		Create or attach to the baselines and database counts (caller
 *		holds AddinShmemInitLock).
 */
void
NdagBaselineShmemInit(void)
{
	bool		found;

	flush_shared = ShmemInitStruct("neural_dag flush state",
								   NdagBaselineShmemSize(), &found);
	if (!found)
		memset(flush_shared, 0, NdagBaselineShmemSize());
}

/*
 * dbcount_lookup
 *		The count estimate of a database, created unknown if there is
 *		room; NULL when the table is full.
 */
static DbCount *
dbcount_lookup(Oid dbid)
{
	for (int i = 0; i < DBCOUNT_SLOTS; i++)
	{
		DbCount    *c = &flush_shared->dbcounts[i];

		if (c->dbid == dbid)
			return c;
		if (c->dbid == InvalidOid)
		{
			c->dbid = dbid;
			c->count = -1;
			return c;
		}
	}
	return NULL;
}

/*
 * dbcount_forget_all
 *		Forget every estimate (after a failed write).
 */
static void
dbcount_forget_all(void)
{
	for (int i = 0; i < DBCOUNT_SLOTS; i++)
		flush_shared->dbcounts[i].count = -1;
}

/*
 * baseline_lookup
 *		The baseline entry of (dbid, query_id), created if there is room;
 *		NULL when the table is full around it.
 */
static Baseline *
baseline_lookup(Oid dbid, int64 query_id)
{
	uint64		h = ndag_hash_combine(ndag_hash64((uint64) dbid),
									  (uint64) query_id);

	for (int i = 0; i < BASELINE_PROBES; i++)
	{
		Baseline   *b = &flush_shared->baselines[(h + i) % BASELINE_SLOTS];

		if (b->dbid == dbid && b->query_id == query_id)
			return b;
		if (b->dbid == InvalidOid)
		{
			b->dbid = dbid;
			b->query_id = query_id;
			b->n = 0;
			b->mean_us = 0;
			return b;
		}
	}
	return NULL;
}

/*
 * trajectory_quality
 *		DESIGN.md section 5: 0.5 / (1 + t_ms / 1000) + 0.5 * (improvement +
 *		1) / 2, improvement = (baseline - t) / baseline against the mean
 *		latency of earlier default-arm executions of the same queryId (0
 *		for the first one).  Default-arm executions update that mean.
 */
static double
trajectory_quality(const NdagRingEntry *traj)
{
	Baseline   *b = baseline_lookup(traj->dbid, traj->query_id);
	double		t = traj->exec_us;
	double		improvement = 0.0;

	if (b != NULL && b->n > 0 && b->mean_us > 0)
		improvement = Max(-1.0, Min(1.0, (b->mean_us - t) / b->mean_us));
	if (b != NULL && traj->arm == DEFAULT_ARM)
	{
		b->n++;
		b->mean_us += (t - b->mean_us) / b->n;
	}
	return 0.5 / (1.0 + t / 1000000.0) + 0.5 * (improvement + 1.0) / 2.0;
}

/*
 * null_values
 *		Set n values to null.
 */
static void
null_values(StoreValue *values, int n)
{
	memset(values, 0, sizeof(StoreValue) * n);
	for (int i = 0; i < n; i++)
		values[i].isnull = true;
}

/*
 * field
 *		The value slot of a named field (the schema is fixed at build time).
 */
static StoreValue *
field(StoreValue *values, StoreDbi dbi, const char *name)
{
	/* callers pass string literals: remember their indexes by address */
	static struct
	{
		StoreDbi	dbi;
		const char *name;
		int			index;
	}			cache[FIELD_CACHE];
	static int	ncached = 0;
	int			i = -1;

	for (int c = 0; c < ncached; c++)
	{
		if (cache[c].name == name && cache[c].dbi == dbi)
		{
			i = cache[c].index;
			break;
		}
	}
	if (i < 0)
	{
		i = StoreSchemaFieldIndex(StoreGetSchema(dbi), name);
		if (i >= 0 && ncached < FIELD_CACHE)
		{
			cache[ncached].dbi = dbi;
			cache[ncached].name = name;
			cache[ncached].index = i;
			ncached++;
		}
	}
	if (i < 0)
		elog(ERROR, "store \"%s\" has no field \"%s\"",
			 StoreGetSchema(dbi)->name, name);
	values[i].isnull = false;
	return &values[i];
}

/*
 * set_text
 *		Point a text field at a NUL-terminated string.
 */
static void
set_text(StoreValue *v, const char *s)
{
	v->data = s;
	v->len = strlen(s);
}

/*
 * node_type_name
 *		EXPLAIN's name of a recorded node, from its tag and operation.
 */
static const char *
node_type_name(const NdagRingNode *node)
{
	ModifyTable mt;

	memset(&mt, 0, sizeof(mt));
	mt.plan.type = (NodeTag) node->node_tag;
	mt.operation = (CmdType) node->operation;
	return NdagPlanNodeName((Plan *) &mt);
}

/*
 * read_counter
 *		The next traj_id to hand out (1 if never used).
 */
static int64
read_counter(void)
{
	int64		next = 1;

	(void) StoreMetaRead(TRAJ_COUNTER, &next);
	return Max(next, 1);
}

/*
 * put_trajectory
 *		Queue the trajectories record and the nodes records of one
 *		trajectory under traj_id.
 */
static void
put_trajectory(StoreBatch *batch, const NdagRingEntry *traj, int64 traj_id)
{
	const StoreSchema *tschema = StoreGetSchema(STORE_DBI_TRAJECTORIES);
	const StoreSchema *nschema = StoreGetSchema(STORE_DBI_NODES);
	StoreValue *t = palloc(sizeof(StoreValue) * tschema->nfields);
	StoreValue *n = palloc(sizeof(StoreValue) * nschema->nfields);
	const char *mechanism = ndag_mechanism_name(traj->mechanism);

	if (mechanism == NULL)
		mechanism = "unknown";

	/* fields not set below stay null */
	null_values(t, tschema->nfields);
	field(t, STORE_DBI_TRAJECTORIES, "dbid")->v.oid = traj->dbid;
	field(t, STORE_DBI_TRAJECTORIES, "traj_id")->v.i8 = traj_id;
	field(t, STORE_DBI_TRAJECTORIES, "recorded_at")->v.ts = traj->recorded_at;
	field(t, STORE_DBI_TRAJECTORIES, "userid")->v.oid = traj->userid;
	field(t, STORE_DBI_TRAJECTORIES, "query_id")->v.i8 = traj->query_id;
	field(t, STORE_DBI_TRAJECTORIES, "arm")->v.i4 = traj->arm;
	set_text(field(t, STORE_DBI_TRAJECTORIES, "decision"),
			 NdagDecisionSourceName(traj->decision));
	if (traj->pattern_id != 0)
		field(t, STORE_DBI_TRAJECTORIES, "pattern_id")->v.i8 = traj->pattern_id;
	if (isfinite(traj->predicted_ms))
		field(t, STORE_DBI_TRAJECTORIES, "predicted_ms")->v.f8 = traj->predicted_ms;
	set_text(field(t, STORE_DBI_TRAJECTORIES, "attention"), mechanism);
	field(t, STORE_DBI_TRAJECTORIES, "planning_us")->v.f8 = traj->planning_us;
	field(t, STORE_DBI_TRAJECTORIES, "exec_us")->v.f8 = traj->exec_us;
	field(t, STORE_DBI_TRAJECTORIES, "est_cost")->v.f8 = traj->est_cost;
	field(t, STORE_DBI_TRAJECTORIES, "quality")->v.f8 = trajectory_quality(traj);
	field(t, STORE_DBI_TRAJECTORIES, "relids")->data = traj->relids;
	field(t, STORE_DBI_TRAJECTORIES, "relids")->len = traj->nrelids;
	field(t, STORE_DBI_TRAJECTORIES, "embedding")->data = traj->embedding;
	field(t, STORE_DBI_TRAJECTORIES, "embedding")->len = NDAG_TRAJ_EMBED_DIM;
	field(t, STORE_DBI_TRAJECTORIES, "indexes")->data = traj->indexes;
	field(t, STORE_DBI_TRAJECTORIES, "indexes")->len = traj->nindexes;
	StoreBatchPut(batch, STORE_DBI_TRAJECTORIES, t);

	for (int v = 0; v < traj->n_nodes; v++)
	{
		const NdagRingNode *node = &traj->nodes[v];
		int32		parents[NDAG_TRAJ_MAX_PARENTS];

		null_values(n, nschema->nfields);
		for (int p = 0; p < node->nparents; p++)
			parents[p] = node->parents[p];
		field(n, STORE_DBI_NODES, "dbid")->v.oid = traj->dbid;
		field(n, STORE_DBI_NODES, "traj_id")->v.i8 = traj_id;
		field(n, STORE_DBI_NODES, "node_id")->v.i4 = v;
		field(n, STORE_DBI_NODES, "parent_ids")->data = parents;
		field(n, STORE_DBI_NODES, "parent_ids")->len = node->nparents;
		set_text(field(n, STORE_DBI_NODES, "node_type"), node_type_name(node));
		if (OidIsValid(node->relation))
			field(n, STORE_DBI_NODES, "relation")->v.oid = node->relation;
		set_text(field(n, STORE_DBI_NODES, "mechanism"), mechanism);
		field(n, STORE_DBI_NODES, "score")->v.f8 = node->score;
		field(n, STORE_DBI_NODES, "est_rows")->v.f8 = node->est_rows;
		field(n, STORE_DBI_NODES, "est_cost")->v.f8 = node->est_cost;
		field(n, STORE_DBI_NODES, "signature")->v.i8 = (int64) node->signature;
		if (node->actual_rows >= 0)
		{
			field(n, STORE_DBI_NODES, "actual_rows")->v.f8 = node->actual_rows;
			field(n, STORE_DBI_NODES, "loops")->v.f8 = node->loops;
			if (!isnan(node->self_ms))	/* NULL: not timed */
				field(n, STORE_DBI_NODES, "self_ms")->v.f8 = node->self_ms;
		}
		/* the batch copies the record when the operation is queued */
		StoreBatchPut(batch, STORE_DBI_NODES, n);
	}
}

/*
 * trim_database
 *		Count the trajectories of a database and, if n_new more would
 *		exceed ruvector.dag_max_trajectories, queue the deletion of the
 *		oldest ones (and of their nodes) down to the budget less its slack.
 *		Returns how many remain.
 */
static int64
trim_database(StoreBatch *batch, Oid dbid, int n_new)
{
	const StoreSchema *tschema = StoreGetSchema(STORE_DBI_TRAJECTORIES);
	const StoreSchema *nschema = StoreGetSchema(STORE_DBI_NODES);
	StoreValue *values = palloc(sizeof(StoreValue) *
								Max(tschema->nfields, nschema->nfields));
	int			id_field = StoreSchemaFieldIndex(tschema, "traj_id");
	int64	   *ids;
	int64		count;
	int64		excess;
	int64		n = 0;
	StoreKeyRange range;
	StoreScan  *scan;

	/* counting does not decode the records */
	scan = StoreScanBegin(STORE_DBI_TRAJECTORIES, dbid, NULL, false);
	count = (int64) StoreScanCount(scan);
	if (count + n_new <= ndag_max_trajectories)
		return count;
	excess = count - Max(0, ndag_max_trajectories -
						 ndag_max_trajectories / TRIM_SLACK_DIV - n_new);
	if (excess <= 0)
		return count;

	/* the oldest come first in key order */
	ids = palloc(sizeof(int64) * excess);
	scan = StoreScanBegin(STORE_DBI_TRAJECTORIES, dbid, NULL, false);
	while (n < excess && StoreScanNext(scan, values))
		ids[n++] = values[id_field].v.i8;
	StoreScanEnd(scan);
	excess = n;
	if (excess == 0)
		return count;

	for (int i = 0; i < excess; i++)
	{
		null_values(values, tschema->nfields);
		field(values, STORE_DBI_TRAJECTORIES, "dbid")->v.oid = dbid;
		field(values, STORE_DBI_TRAJECTORIES, "traj_id")->v.i8 = ids[i];
		StoreBatchDelete(batch, STORE_DBI_TRAJECTORIES, values);
	}

	/* their nodes: every nodes record up to the last trimmed traj_id */
	memset(&range, 0, sizeof(range));
	range.has_upper = true;
	range.upper_inclusive = true;
	range.upper.v.i8 = ids[excess - 1];
	{
		List	   *keys = NIL;
		ListCell   *lc;
		int			tid = StoreSchemaFieldIndex(nschema, "traj_id");
		int			nid = StoreSchemaFieldIndex(nschema, "node_id");

		scan = StoreScanBegin(STORE_DBI_NODES, dbid, &range, false);
		while (StoreScanNext(scan, values))
		{
			int64	   *key = palloc(sizeof(int64) * 2);

			key[0] = values[tid].v.i8;
			key[1] = values[nid].v.i4;
			keys = lappend(keys, key);
		}
		StoreScanEnd(scan);

		foreach(lc, keys)
		{
			int64	   *key = (int64 *) lfirst(lc);

			null_values(values, nschema->nfields);
			field(values, STORE_DBI_NODES, "dbid")->v.oid = dbid;
			field(values, STORE_DBI_NODES, "traj_id")->v.i8 = key[0];
			field(values, STORE_DBI_NODES, "node_id")->v.i4 = (int32) key[1];
			StoreBatchDelete(batch, STORE_DBI_NODES, values);
		}
	}
	return count - excess;
}

/*
 * write_chunk
 *		Write n trajectories taken from the ring in one LMDB transaction;
 *		returns how many were written (those over a database's budget in
 *		this very chunk are dropped).
 */
static int
write_chunk(NdagRingEntry *trajs, int n)
{
	StoreBatch *batch = StoreBatchCreate(CurrentMemoryContext);
	ChunkDb    *dbs = palloc0(sizeof(ChunkDb) * n);
	int			ndbs = 0;
	int			written = 0;
	int64		next_id;

	for (int i = 0; i < n; i++)
	{
		int			d;

		for (d = 0; d < ndbs && dbs[d].dbid != trajs[i].dbid; d++)
			;
		if (d == ndbs)
			dbs[ndbs++].dbid = trajs[i].dbid;
		dbs[d].n_new++;
	}

	/* scan and trim a database only when its estimate may exceed the budget */
	for (int d = 0; d < ndbs; d++)
	{
		DbCount    *c = dbcount_lookup(dbs[d].dbid);
		int			n_write;

		dbs[d].skip = Max(0, dbs[d].n_new - ndag_max_trajectories);
		n_write = dbs[d].n_new - dbs[d].skip;
		if (c == NULL || c->count < 0 ||
			c->count + n_write > ndag_max_trajectories)
		{
			int64		remaining = trim_database(batch, dbs[d].dbid, n_write);

			if (c != NULL)
				c->count = remaining + n_write;
		}
		else
			c->count += n_write;
	}

	next_id = read_counter();
	for (int i = 0; i < n; i++)
	{
		int			d;

		for (d = 0; dbs[d].dbid != trajs[i].dbid; d++)
			;
		if (dbs[d].skip > 0)
		{
			dbs[d].skip--;
			NdagCounterAdd(NDAG_COUNTER_DROPPED, 1);
			continue;
		}
		put_trajectory(batch, &trajs[i], next_id++);
		written++;
	}
	StoreBatchMetaPut(batch, TRAJ_COUNTER, next_id);
	StoreBatchApply(batch);
	return written;
}

/*
 * NdagFlush
 *		Drain the ring into the store; returns the number of trajectories
 *		written.  Trajectories taken from the ring when an error occurs
 *		are lost and counted as failed; the error is raised again.
 */
int64
NdagFlush(void)
{
	MemoryContext cxt;
	MemoryContext oldcxt;
	LWLock	   *lock = NdagFlushLock();
	NdagRingEntry *buf;
	volatile int64 total = 0;
	volatile int taken = 0;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "neural_dag flush",
								ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(cxt);
	buf = palloc(sizeof(NdagRingEntry) * FLUSH_CHUNK);
	MemoryContextSwitchTo(oldcxt);

	LWLockAcquire(lock, LW_EXCLUSIVE);
	PG_TRY();
	{
		for (;;)
		{
			MemoryContext chunkcxt;
			int			written;
			instr_time	start;
			instr_time	duration;

			CHECK_FOR_INTERRUPTS();
			taken = NdagRingTake(buf, FLUSH_CHUNK);
			if (taken == 0)
				break;
			chunkcxt = AllocSetContextCreate(cxt, "neural_dag flush chunk",
											 ALLOCSET_DEFAULT_SIZES);
			oldcxt = MemoryContextSwitchTo(chunkcxt);
			INSTR_TIME_SET_CURRENT(start);
			written = write_chunk(buf, taken);
			INSTR_TIME_SET_CURRENT(duration);
			INSTR_TIME_SUBTRACT(duration, start);
			NdagCounterAdd(NDAG_COUNTER_FLUSH_US,
						   INSTR_TIME_GET_MICROSEC(duration));
			MemoryContextSwitchTo(oldcxt);
			MemoryContextDelete(chunkcxt);
			taken = 0;
			NdagCounterAdd(NDAG_COUNTER_FLUSHED, written);
			total += written;
		}
	}
	PG_CATCH();
	{
		if (taken > 0)
			NdagCounterAdd(NDAG_COUNTER_FAILED, taken);
		dbcount_forget_all();
		LWLockRelease(lock);
		PG_RE_THROW();
	}
	PG_END_TRY();
	LWLockRelease(lock);
	MemoryContextDelete(cxt);
	return total;
}

/*
 * ruvector_dag_flush
 *		Write every recorded trajectory to the store now; returns how many.
 */
Datum
ruvector_dag_flush(PG_FUNCTION_ARGS)
{
	NdagRequirePreload();
	NdagRequireWritableLearnedState("write recorded executions to the neural_dag store");
	PG_RETURN_INT64(NdagFlush());
}

/*
 * NdagRecordingStatusCounters
 *		The recording counters, ring usage and recording times for
 *		ruvector_dag_status().
 */
void
NdagRecordingStatusCounters(void *state)
{
	uint64		used;
	uint64		capacity;

	for (int c = 0; c < NDAG_N_COUNTERS; c++)
		NdagStatusAddCounter(state, NdagCounterName((NdagCounter) c),
							 (int64) NdagCounterGet((NdagCounter) c));
	NdagRingUsage(&used, &capacity);
	NdagStatusAddCounter(state, "ring_used", (int64) used);
	NdagStatusAddCounter(state, "ring_capacity", (int64) capacity);
	NdagStatusAddCounter(state, "record_p50_ns",
						 (int64) NdagRecordLatencyQuantile(0.5));
	NdagStatusAddCounter(state, "record_p99_ns",
						 (int64) NdagRecordLatencyQuantile(0.99));
}
