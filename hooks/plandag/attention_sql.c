/*-------------------------------------------------------------------------
 *
 * attention_sql.c
 *	  SQL functions that plan a query text (never execute it) and return
 *	  the attention scores and the minimum cut of its plan DAG.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "fmgr.h"
#include "funcapi.h"
#include "nodes/plannodes.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "tcop/tcopprot.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "dag.h"
#include "engine.h"
#include "compat/compat_backend.h"
#include "core/core.h"
#include "plandag/plandag.h"

PG_FUNCTION_INFO_V1(ruvector_attention_scores);
PG_FUNCTION_INFO_V1(ruvector_dag_mincut);

/*
 * NdagTextArg
 *		A text argument that must be neither NULL nor empty.
 */
char *
NdagTextArg(FunctionCallInfo fcinfo, int argno, const char *what)
{
	char	   *value;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", what)));
	value = text_to_cstring(PG_GETARG_TEXT_PP(argno));
	if (value[strspn(value, " \t\r\n;")] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be empty", what)));
	return value;
}

/*
 * NdagPlanQueryText
 *		Parse, analyze and plan one SQL statement without executing it.
 *
 * The caller must be allowed to read what the statement reads, as EXPLAIN
 * requires: estimates tell about the data.
 */
PlannedStmt *
NdagPlanQueryText(const char *query_text)
{
	List	   *raw;
	List	   *queries;
	Query	   *query;
	PlannedStmt *stmt;

	raw = pg_parse_query(query_text);
	if (list_length(raw) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("query text must contain exactly one statement"),
				 errhint("Pass a single SELECT, INSERT, UPDATE, DELETE or MERGE statement.")));
	queries = pg_analyze_and_rewrite_fixedparams(linitial_node(RawStmt, raw),
												 query_text, NULL, 0, NULL);
	if (list_length(queries) != 1 ||
		linitial_node(Query, queries)->commandType == CMD_UTILITY)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("query text is not a plannable statement"),
				 errhint("Pass a single SELECT, INSERT, UPDATE, DELETE or MERGE statement; utility commands have no plan.")));
	query = linitial_node(Query, queries);
	stmt = pg_plan_query(query, query_text, CURSOR_OPT_PARALLEL_OK, NULL);
	NdagCheckPlanPermissions(stmt);
	return stmt;
}

/*
 * NdagPlanQueryDag
 *		The plan DAG of a query text argument.
 */
NdagPlanDag *
NdagPlanQueryDag(FunctionCallInfo fcinfo, int argno)
{
	char	   *query_text = NdagTextArg(fcinfo, argno, "query text");

	return NdagPlanDagBuild(NdagPlanQueryText(query_text), NULL);
}

/*
 * NdagNodeRelation
 *		The relation a node scans, or InvalidOid.
 */
Oid
NdagNodeRelation(const NdagPlanDag *pd, int v)
{
	return (Oid) pd->dag->nodes[v].desc.rel_oid;
}

/*
 * consumer_array
 *		The consumers of node v as an int4[].
 */
static ArrayType *
consumer_array(const NdagDag *dag, int v)
{
	int			n = dag->out_off[v + 1] - dag->out_off[v];
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));

	for (int i = 0; i < n; i++)
		elems[i] = Int32GetDatum(dag->out_idx[dag->out_off[v] + i]);
	return construct_array(elems, n, INT4OID, sizeof(int32), true, TYPALIGN_INT);
}

/*
 * ruvector_attention_scores
 *		node_id, parent_ids, node_type, relation, est_rows, est_cost, score,
 *		mechanism for every node of the query's plan.
 */
Datum
ruvector_attention_scores(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	NdagPlanDag *pd;
	const char *requested;
	int			mechanism;
	double	   *scores;

	NdagRequirePreload();
	requested = PG_ARGISNULL(1) ? "auto" : text_to_cstring(PG_GETARG_TEXT_PP(1));
	mechanism = NdagParseMechanism(requested);
	pd = NdagPlanQueryDag(fcinfo, 0);
	mechanism = NdagChooseMechanism(pd->dag, mechanism, false);
	scores = NdagComputeScores(pd->dag, mechanism);

	InitMaterializedSRF(fcinfo, 0);
	for (int v = 0; v < pd->n_nodes; v++)
	{
		const NdagNode *node = &pd->dag->nodes[v];
		Datum		values[8];
		bool		nulls[8] = {false};
		Oid			relid = NdagNodeRelation(pd, v);

		values[0] = Int32GetDatum(v);
		values[1] = PointerGetDatum(consumer_array(pd->dag, v));
		values[2] = CStringGetTextDatum(NdagPlanNodeName(pd->plans[v]));
		values[3] = ObjectIdGetDatum(relid);
		nulls[3] = !OidIsValid(relid);
		values[4] = Float8GetDatum(node->desc.plan_rows);
		values[5] = Float8GetDatum(node->desc.total_cost);
		values[6] = Float8GetDatum(scores[v]);
		values[7] = CStringGetTextDatum(ndag_mechanism_name(mechanism));
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}

/*
 * ruvector_dag_mincut
 *		The edges of the exact minimum cut between the leaves and the root
 *		of the query's plan: the operators that bottleneck the data flow.
 */
Datum
ruvector_dag_mincut(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	NdagPlanDag *pd;
	NdagCutEdge *edges;
	double		value;
	int			n_edges;
	int			rc;

	NdagRequirePreload();
	pd = NdagPlanQueryDag(fcinfo, 0);
	edges = palloc(sizeof(NdagCutEdge) * Max(pd->dag->n_edges, 1));
	rc = ndag_mincut(pd->dag, NDAG_CAP_AUTO, &value, edges,
					 Max(pd->dag->n_edges, 1), &n_edges);
	NdagEngineCheck(rc, "minimum cut");

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < n_edges; i++)
	{
		Datum		values[7];
		bool		nulls[7] = {false};
		Oid			relid = NdagNodeRelation(pd, edges[i].child);

		values[0] = Int32GetDatum(edges[i].child);
		values[1] = CStringGetTextDatum(NdagPlanNodeName(pd->plans[edges[i].child]));
		values[2] = ObjectIdGetDatum(relid);
		nulls[2] = !OidIsValid(relid);
		values[3] = Int32GetDatum(edges[i].parent);
		values[4] = CStringGetTextDatum(NdagPlanNodeName(pd->plans[edges[i].parent]));
		values[5] = Float8GetDatum(edges[i].capacity);
		values[6] = Float8GetDatum(value);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
