/*-------------------------------------------------------------------------
 *
 * param_class.c
 *	  Runtime parameter classes: the rows a statement's default plan really
 *	  produced for one set of constants and bound parameters, remembered in
 *	  shared memory, so that constants the planner estimates alike (one
 *	  default plan shape) but whose best plans differ are decided apart.
 *
 * A statement class is the default plan's shape (NdagPlanShapeHash) and,
 * once measured, the bucket of the rows the default plan produced for the
 * parameter set: the rows of its topmost join (the rows the constant
 * selects, whatever aggregate sits above), else of its largest scan, in
 * powers of 4 (the topmost join's rows are the whole join's, whatever plan
 * produced them).  The bucket is measured by the first recorded run of a
 * parameter set (that run alone is instrumented with row counts) and
 * kept in a direct-mapped table of PARAM_SLOTS 64-bit words, each a tag of
 * the parameter set's key, its bucket and the low 32 bits of the class its
 * latest planning found, in one atomic word: no lock, a collision only
 * costs one more measurement.  The class lets a backend take a statement
 * whose constants plan in several shapes from its Embedding Cache when
 * the parameter set's class is the cached one.  A parameter set whose
 * bucket is not known is decided as the class of its default plan's shape
 * alone (the pin, a pattern's arm in apply mode) and explores nothing.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "nodes/execnodes.h"
#include "nodes/nodeFuncs.h"
#include "nodes/params.h"
#include "port/atomics.h"
#include "storage/shmem.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"

#include "planner/planner.h"

/* parameter sets remembered (a power of 2) */
#define PARAM_SLOTS			8192
/* a word: key tag (24 bits), bucket (8 bits), class tag (32 bits) */
#define PARAM_TAG_SHIFT		40
#define PARAM_BUCKET_SHIFT	32
#define PARAM_BUCKET_MASK	UINT64CONST(0xff)
#define PARAM_CLASS_MASK	UINT64CONST(0xffffffff)

typedef struct ParamClassShared
{
	pg_atomic_uint64 slots[PARAM_SLOTS];
} ParamClassShared;

static ParamClassShared *pc = NULL;

/*
 * NdagParamClassShmemSize
 *		Shared memory of the table of measured parameter sets.
 */
Size
NdagParamClassShmemSize(void)
{
	return sizeof(ParamClassShared);
}

/*
 * NdagParamClassShmemInit
 *		Create or attach to the table (caller holds AddinShmemInitLock).
 */
void
NdagParamClassShmemInit(void)
{
	bool		found;

	pc = ShmemInitStruct("neural_dag parameter classes",
						 sizeof(ParamClassShared), &found);
	if (!found)
		for (int i = 0; i < PARAM_SLOTS; i++)
			pg_atomic_init_u64(&pc->slots[i], 0);
}

/*
 * NdagParamClassReset
 *		Forget every measured parameter set (a reset of the per-statement
 *		memory): they are measured again at their next default run.
 */
void
NdagParamClassReset(void)
{
	if (pc == NULL)
		return;
	for (int i = 0; i < PARAM_SLOTS; i++)
		pg_atomic_write_u64(&pc->slots[i], 0);
}

/*
 * hash_datum
 *		Fold one value (type, null, contents) into a hash.
 */
static uint64
hash_datum(uint64 h, Oid type, bool isnull, Datum value, bool byval,
		   int typlen)
{
	h = hash_combine64(h, (uint64) type);
	if (isnull)
		return hash_combine64(h, UINT64CONST(0x9e3779b97f4a7c15));
	if (byval)
		return hash_combine64(h, (uint64) value);
	if (typlen == -1 && !VARATT_IS_EXTENDED(DatumGetPointer(value)))
		return hash_combine64(h, hash_bytes_extended((const unsigned char *) VARDATA_ANY(DatumGetPointer(value)),
													 VARSIZE_ANY_EXHDR(DatumGetPointer(value)), 0));
	return hash_combine64(h, hash_bytes_extended((const unsigned char *) DatumGetPointer(value),
												 datumGetSize(value, byval, typlen), 0));
}

/*
 * hash_consts
 *		Tree walker: fold every Const of a query (subqueries, CTEs and
 *		sublinks included) into *(uint64 *) arg.
 */
static bool
hash_consts(Node *node, void *arg)
{
	uint64	   *h = (uint64 *) arg;

	if (node == NULL)
		return false;
	if (IsA(node, Const))
	{
		Const	   *c = (Const *) node;

		*h = hash_datum(*h, c->consttype, c->constisnull, c->constvalue,
						c->constbyval, c->constlen);
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, hash_consts, arg, 0);
	return expression_tree_walker(node, hash_consts, arg);
}

/*
 * NdagParamSetHash
 *		The hash of a statement's constants and bound parameter values (the
 *		parameter set).  Parameters a hook fetches (PL/pgSQL's variables)
 *		are fetched speculatively, as the planner's constant folding does;
 *		one the hook does not give is hashed as unknown.
 */
uint64
NdagParamSetHash(Query *parse, ParamListInfo boundParams)
{
	uint64		h = UINT64CONST(0x6a09e667f3bcc908);

	(void) query_tree_walker(parse, hash_consts, &h, 0);
	if (boundParams == NULL)
		return h;
	for (int i = 0; i < boundParams->numParams; i++)
	{
		ParamExternData workspace;
		ParamExternData *p;
		int16		typlen = 0;
		bool		byval = true;

		if (boundParams->paramFetch != NULL)
			p = boundParams->paramFetch(boundParams, i + 1, true, &workspace);
		else
			p = &boundParams->params[i];
		if (p == NULL)
		{
			h = hash_combine64(h, UINT64CONST(0xbb67ae8584caa73b));
			continue;
		}
		if (OidIsValid(p->ptype) && !p->isnull)
			get_typlenbyval(p->ptype, &typlen, &byval);
		h = hash_datum(h, p->ptype, p->isnull || !OidIsValid(p->ptype),
					   p->value, byval, typlen);
	}
	return h;
}

/*
 * param_key
 *		The table key of a parameter set of a statement.
 */
static uint64
param_key(Oid dbid, uint64 query_id, uint64 param_hash)
{
	return hash_combine64(hash_combine64((uint64) dbid, query_id), param_hash);
}

/*
 * NdagParamBucketGet
 *		The rows bucket measured for a parameter set (1 or more), 0 when
 *		not known; with class_tag, the low 32 bits of the class its latest
 *		planning found (0: none).
 */
int
NdagParamBucketGet(Oid dbid, uint64 query_id, uint64 param_hash,
				   uint32 *class_tag)
{
	uint64		key = param_key(dbid, query_id, param_hash);
	uint64		word;

	if (class_tag != NULL)
		*class_tag = 0;
	if (pc == NULL)
		return 0;
	word = pg_atomic_read_u64(&pc->slots[key & (PARAM_SLOTS - 1)]);
	if ((word >> PARAM_TAG_SHIFT) != (key >> PARAM_TAG_SHIFT))
		return 0;
	if (class_tag != NULL)
		*class_tag = (uint32) (word & PARAM_CLASS_MASK);
	return (int) ((word >> PARAM_BUCKET_SHIFT) & PARAM_BUCKET_MASK);
}

/*
 * param_word
 *		A slot's word: the parameter set's key tag, its rows bucket (0: not
 *		measured) and the low 32 bits of its class.
 */
static uint64
param_word(uint64 key, int bucket, uint64 klass)
{
	return ((key >> PARAM_TAG_SHIFT) << PARAM_TAG_SHIFT) |
		((uint64) Min(bucket, (int) PARAM_BUCKET_MASK) << PARAM_BUCKET_SHIFT) |
		(klass & PARAM_CLASS_MASK);
}

/*
 * NdagParamBucketPut
 *		Remember the rows bucket of a parameter set and the class it makes
 *		(it replaces whatever parameter set shared its slot).
 */
void
NdagParamBucketPut(Oid dbid, uint64 query_id, uint64 param_hash, int bucket,
				   uint64 klass)
{
	uint64		key = param_key(dbid, query_id, param_hash);

	if (pc == NULL || bucket <= 0)
		return;
	pg_atomic_write_u64(&pc->slots[key & (PARAM_SLOTS - 1)],
						param_word(key, bucket, klass));
}

/*
 * NdagParamClassSeen
 *		Remember the class a parameter set's planning found while its rows
 *		bucket is not measured (bucket 0), so that a decision another
 *		backend published for that class may serve it (shared_decisions.c);
 *		the parameter set's measured bucket, if one is there by now, stays.
 */
void
NdagParamClassSeen(Oid dbid, uint64 query_id, uint64 param_hash, uint64 klass)
{
	uint64		key = param_key(dbid, query_id, param_hash);
	pg_atomic_uint64 *slot;
	uint64		word;

	if (pc == NULL)
		return;
	slot = &pc->slots[key & (PARAM_SLOTS - 1)];
	word = pg_atomic_read_u64(slot);
	if ((word >> PARAM_TAG_SHIFT) == (key >> PARAM_TAG_SHIFT) &&
		((word >> PARAM_BUCKET_SHIFT) & PARAM_BUCKET_MASK) != 0)
		return;
	pg_atomic_write_u64(slot, param_word(key, 0, klass));
}

/*
 * NdagParamClass
 *		The class of a statement whose default plan has this shape, for a
 *		parameter set of this rows bucket (0: not measured, the shape
 *		alone).
 */
uint64
NdagParamClass(uint64 shape, int bucket)
{
	return bucket > 0 ? hash_combine64(shape, (uint64) bucket) : shape;
}

/*
 * NdagParamClassOf
 *		NdagParamClass of a statement planned with these constants and
 *		parameters (the shadow worker re-running a captured statement).
 */
uint64
NdagParamClassOf(Oid dbid, uint64 query_id, uint64 shape, Query *parse,
				 ParamListInfo params)
{
	return NdagParamClass(shape,
						  NdagParamBucketGet(dbid, query_id,
											 NdagParamSetHash(parse, params),
											 NULL));
}

/*
 * measured_bucket
 *		The rows bucket a decision made for a parameter set not measured
 *		then has since (measured by its own run), 0 when it has none yet
 *		or was measured already.
 */
static int
measured_bucket(uint64 query_id, const NdagDecision *d)
{
	if (!d->measure_class)
		return 0;
	return NdagParamBucketGet(MyDatabaseId, query_id, d->param_hash, NULL);
}

/*
 * NdagParamClassNow
 *		A decision's parameter class, as measured since when it was made
 *		for a parameter set not measured then (NdagParamClassMeasured
 *		without changing the decision).
 */
uint64
NdagParamClassNow(uint64 query_id, const NdagDecision *d)
{
	int			bucket = measured_bucket(query_id, d);

	return bucket != 0 ? NdagParamClass(d->default_shape, bucket) : d->klass;
}

/*
 * NdagParamClassMeasured
 *		A decision made for a parameter set not measured then: its class
 *		and bucket as measured since (by its own run), if they are.
 */
void
NdagParamClassMeasured(uint64 query_id, NdagDecision *d)
{
	int			bucket = measured_bucket(query_id, d);

	if (bucket == 0)
		return;
	d->klass = NdagParamClass(d->default_shape, bucket);
	d->rows_bucket = bucket;
	d->measure_class = false;
}

/* what the plan state walk found */
typedef struct RowsFound
{
	double		join_rows;		/* of the topmost join, -1 none */
	double		scan_rows;		/* of the largest scan */
} RowsFound;

/*
 * node_rows
 *		The rows a node produced over all its loops so far.
 */
static double
node_rows(PlanState *ps)
{
	Instrumentation *instr = ps->instrument;

	return instr == NULL ? 0 : instr->ntuples + instr->tuplecount;
}

/*
 * find_rows
 *		planstate_tree_walker callback: the rows of the first join met
 *		(pre-order: the topmost) and of the largest scan.
 */
static bool
find_rows(PlanState *ps, void *arg)
{
	RowsFound  *f = (RowsFound *) arg;

	if (ps == NULL)
		return false;
	switch (nodeTag(ps->plan))
	{
		case T_NestLoop:
		case T_MergeJoin:
		case T_HashJoin:
			if (f->join_rows < 0)
				f->join_rows = node_rows(ps);
			break;
		case T_SeqScan:
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
		case T_SampleScan:
			f->scan_rows = Max(f->scan_rows, node_rows(ps));
			break;
		default:
			break;
	}
	return planstate_tree_walker(ps, find_rows, arg);
}

/*
 * NdagParamRowsBucket
 *		The rows bucket of an execution of a default plan instrumented with
 *		row counts: 1 + floor(log4(rows + 1)) of its topmost join's rows,
 *		else of its largest scan's; 0 when the plan was not instrumented.
 */
int
NdagParamRowsBucket(PlanState *planstate)
{
	RowsFound	f = {-1, 0};

	if (planstate == NULL || planstate->instrument == NULL)
		return 0;
	(void) find_rows(planstate, &f);
	return 1 + (int) floor(log2((f.join_rows >= 0 ? f.join_rows : f.scan_rows) + 1) / 2);
}
