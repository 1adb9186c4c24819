/*-------------------------------------------------------------------------
 *
 * recorded.c
 *	  Read recorded executions of the current database back from the store
 *	  (the trajectories and nodes records flush.c wrote), for the pictures
 *	  and the per-statement history a DBA asks for.
 *
 * Everything returned is palloc'd in the caller's memory context; the
 * store's read transactions end before these functions return.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "miscadmin.h"
#include "nodes/pg_list.h"

#include "core/core.h"
#include "recording/recording.h"
#include "store.h"

/*
 * text_of
 *		A palloc'd copy of a text field, or NULL when it is null.
 */
static char *
text_of(const StoreValue *value)
{
	if (value->isnull)
		return NULL;
	return pnstrdup((const char *) value->data, value->len);
}

/*
 * float_of
 *		A float8 field, or NaN when it is null.
 */
static double
float_of(const StoreValue *value)
{
	return value->isnull ? NAN : value->v.f8;
}

/*
 * recorded_from_values
 *		The header of a recorded execution from a decoded trajectories
 *		record.
 */
static NdagRecorded *
recorded_from_values(const StoreValue *values)
{
	NdagRecorded *rec = palloc0(sizeof(NdagRecorded));
	const StoreValue *v;

	rec->traj_id = values[StoreFieldIndex(STORE_DBI_TRAJECTORIES, "traj_id")].v.i8;
	v = &values[StoreFieldIndex(STORE_DBI_TRAJECTORIES, "recorded_at")];
	rec->recorded_at = v->isnull ? 0 : v->v.ts;
	v = &values[StoreFieldIndex(STORE_DBI_TRAJECTORIES, "query_id")];
	rec->query_id = v->isnull ? 0 : v->v.i8;
	v = &values[StoreFieldIndex(STORE_DBI_TRAJECTORIES, "arm")];
	rec->arm = v->isnull ? 0 : v->v.i4;
	v = &values[StoreFieldIndex(STORE_DBI_TRAJECTORIES, "pattern_id")];
	rec->pattern_id = v->isnull ? 0 : v->v.i8;
	rec->decision = text_of(&values[StoreFieldIndex(STORE_DBI_TRAJECTORIES,
													"decision")]);
	rec->exec_ms = float_of(&values[StoreFieldIndex(STORE_DBI_TRAJECTORIES,
													"exec_us")]) / 1000.0;
	rec->planning_ms = float_of(&values[StoreFieldIndex(STORE_DBI_TRAJECTORIES,
														"planning_us")]) / 1000.0;
	return rec;
}

/*
 * compare_recorded
 *		list_sort comparator: by recording time, then traj_id.
 */
static int
compare_recorded(const ListCell *a, const ListCell *b)
{
	const NdagRecorded *ra = (const NdagRecorded *) lfirst(a);
	const NdagRecorded *rb = (const NdagRecorded *) lfirst(b);

	if (ra->recorded_at != rb->recorded_at)
		return ra->recorded_at < rb->recorded_at ? -1 : 1;
	if (ra->traj_id != rb->traj_id)
		return ra->traj_id < rb->traj_id ? -1 : 1;
	return 0;
}

/*
 * NdagRecordedOfQuery
 *		The recorded executions of query_id in the current database, oldest
 *		first, without their nodes.  The trajectories are keyed by traj_id,
 *		so this reads every trajectory of the database (at most
 *		ruvector.dag_max_trajectories).
 */
List *
NdagRecordedOfQuery(int64 query_id)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_TRAJECTORIES);
	int			qid = StoreFieldIndex(STORE_DBI_TRAJECTORIES, "query_id");
	List	   *result = NIL;
	StoreScan  *scan;

	scan = StoreScanBegin(STORE_DBI_TRAJECTORIES, MyDatabaseId, NULL, false);
	while (StoreScanNext(scan, values))
	{
		if (values[qid].isnull || values[qid].v.i8 != query_id)
			continue;
		result = lappend(result, recorded_from_values(values));
	}
	StoreScanEnd(scan);
	pfree(values);
	list_sort(result, compare_recorded);
	return result;
}

/*
 * NdagRecordedGet
 *		The recorded execution traj_id of the current database without its
 *		nodes, or NULL when the store has none.
 */
NdagRecorded *
NdagRecordedGet(int64 traj_id)
{
	StoreValue *key = StoreRecordAlloc(STORE_DBI_TRAJECTORIES);
	StoreValue *values = StoreRecordAlloc(STORE_DBI_TRAJECTORIES);

	StoreFieldSet(key, STORE_DBI_TRAJECTORIES, "dbid")->v.oid = MyDatabaseId;
	StoreFieldSet(key, STORE_DBI_TRAJECTORIES, "traj_id")->v.i8 = traj_id;
	if (!StoreGet(STORE_DBI_TRAJECTORIES, key, values, false))
		return NULL;
	return recorded_from_values(values);
}

/*
 * NdagRecordedLoadNodes
 *		Fill rec->nodes with the plan nodes recorded for it, in node_id
 *		order (node 0 is the top of the plan).
 */
void
NdagRecordedLoadNodes(NdagRecorded *rec)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_NODES);
	int			f_node_id = StoreFieldIndex(STORE_DBI_NODES, "node_id");
	int			f_parents = StoreFieldIndex(STORE_DBI_NODES, "parent_ids");
	int			f_type = StoreFieldIndex(STORE_DBI_NODES, "node_type");
	int			f_relation = StoreFieldIndex(STORE_DBI_NODES, "relation");
	int			f_est = StoreFieldIndex(STORE_DBI_NODES, "est_rows");
	int			f_actual = StoreFieldIndex(STORE_DBI_NODES, "actual_rows");
	int			f_loops = StoreFieldIndex(STORE_DBI_NODES, "loops");
	int			f_self = StoreFieldIndex(STORE_DBI_NODES, "self_ms");
	int			capacity = 16;
	StoreKeyRange range;
	StoreScan  *scan;

	memset(&range, 0, sizeof(range));
	range.has_lower = range.has_upper = true;
	range.lower_inclusive = range.upper_inclusive = true;
	range.lower.v.i8 = range.upper.v.i8 = rec->traj_id;

	rec->n_nodes = 0;
	rec->nodes = palloc0(sizeof(NdagRecordedNode) * capacity);
	scan = StoreScanBegin(STORE_DBI_NODES, MyDatabaseId, &range, false);
	while (StoreScanNext(scan, values))
	{
		NdagRecordedNode *node;
		const StoreValue *parents = &values[f_parents];

		if (rec->n_nodes == capacity)
		{
			capacity *= 2;
			rec->nodes = repalloc(rec->nodes, sizeof(NdagRecordedNode) * capacity);
		}
		node = &rec->nodes[rec->n_nodes++];
		memset(node, 0, sizeof(NdagRecordedNode));
		node->node_id = values[f_node_id].v.i4;
		node->node_type = text_of(&values[f_type]);
		if (node->node_type == NULL)
			node->node_type = pstrdup("?");
		node->relation = values[f_relation].isnull ? InvalidOid :
			values[f_relation].v.oid;
		node->est_rows = float_of(&values[f_est]);
		node->actual_rows = float_of(&values[f_actual]);
		node->loops = float_of(&values[f_loops]);
		node->self_ms = float_of(&values[f_self]);
		if (!parents->isnull && parents->len > 0)
		{
			/* the stored array may be unaligned */
			node->nparents = parents->len;
			node->parents = palloc(sizeof(int32) * parents->len);
			memcpy(node->parents, parents->data, sizeof(int32) * parents->len);
		}
	}
	StoreScanEnd(scan);
	pfree(values);
}

/*
 * NdagRecordedArmName
 *		The name of arm arm_id in ndag_arms (enabled or not), or NULL when
 *		the catalogue no longer has it.
 */
char *
NdagRecordedArmName(int32 arm_id)
{
	StoreValue *key = StoreRecordAlloc(STORE_DBI_ARMS);
	StoreValue *values = StoreRecordAlloc(STORE_DBI_ARMS);

	StoreFieldSet(key, STORE_DBI_ARMS, "arm_id")->v.i4 = arm_id;
	if (!StoreGet(STORE_DBI_ARMS, key, values, false))
		return NULL;
	return text_of(&values[StoreFieldIndex(STORE_DBI_ARMS, "name")]);
}
