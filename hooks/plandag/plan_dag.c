/*-------------------------------------------------------------------------
 *
 * plan_dag.c
 *	  Conversion of a PlannedStmt into the engine's plan DAG.
 *
 * Every Plan node becomes a DAG node, including initPlans, subplans and CTE
 * plans.  A subplan or CTE referenced from several places is one node with
 * several consumers, which is what makes the plan a DAG rather than a tree.
 * When the plan was executed with instrumentation, the per-node actuals
 * come from the PlanState tree; a node instrumented without a timer has
 * rows and loops but an unknown time, which the engine is told (untimed).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/pg_class.h"
#include "executor/executor.h"
#include "executor/instrument.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/plannodes.h"
#include "parser/parsetree.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#include "dag.h"
#include "engine.h"
#include "core/core.h"
#include "plandag/plandag.h"

/* Plan -> Instrumentation, from an executed PlanState tree */
typedef struct InstrEntry
{
	Plan	   *plan;			/* sort key */
	Instrumentation *instr;
} InstrEntry;

/* the executed plan's instrumentation, sorted by plan address */
typedef struct InstrMap
{
	InstrEntry *entries;
	int			n;
	int			cap;
} InstrMap;

/*
 * Plan trees share no node; what several consumers share is a subplan of
 * PlannedStmt->subplans (initPlans, SubPlans, CTEs), so only those need to
 * be remembered, and only their edges can repeat.  No hash table: this runs
 * for every recorded execution.
 */
typedef struct BuildState
{
	PlannedStmt *stmt;
	NdagPlanDag *result;
	InstrMap   *instr;			/* NULL when not executed */
	int		   *subplan_node;	/* plan_id - 1 -> node id, or -1 */
	List	   *subplan_edges;	/* (child << 32 | parent) of subplan edges */
	int			cap_nodes;
} BuildState;

static int	add_plan(BuildState *state, Plan *plan);
static int	compare_instr_entries(const void *a, const void *b);

/*
 * free_engine_dag
 *		Memory-context callback releasing the engine's malloc'd DAG.
 */
static void
free_engine_dag(void *arg)
{
	NdagPlanDag *pd = (NdagPlanDag *) arg;

	ndag_dag_free(pd->dag);
	pd->dag = NULL;
}

/*
 * plan_op_class
 *		The engine's operator class of a plan node.
 */
static int
plan_op_class(Plan *plan)
{
	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
			return NDAG_OP_SEQSCAN;
		case T_IndexScan:
			return NDAG_OP_INDEXSCAN;
		case T_IndexOnlyScan:
			return NDAG_OP_INDEXONLYSCAN;
		case T_BitmapIndexScan:
		case T_BitmapHeapScan:
		case T_BitmapAnd:
		case T_BitmapOr:
			return NDAG_OP_BITMAPSCAN;
		case T_NestLoop:
			return NDAG_OP_NESTLOOP;
		case T_HashJoin:
			return NDAG_OP_HASHJOIN;
		case T_MergeJoin:
			return NDAG_OP_MERGEJOIN;
		case T_Hash:
			return NDAG_OP_HASH;
		case T_Sort:
		case T_IncrementalSort:
			return NDAG_OP_SORT;
		case T_Agg:
		case T_Group:
		case T_WindowAgg:
			return NDAG_OP_AGG;
		case T_Gather:
		case T_GatherMerge:
			return NDAG_OP_GATHER;
		case T_Material:
		case T_Memoize:
			return NDAG_OP_MATERIAL;
		case T_Limit:
			return NDAG_OP_LIMIT;
		case T_Append:
		case T_MergeAppend:
		case T_RecursiveUnion:
			return NDAG_OP_APPEND;
		case T_SubqueryScan:
		case T_CteScan:
		case T_FunctionScan:
		case T_ValuesScan:
		case T_TableFuncScan:
		case T_NamedTuplestoreScan:
		case T_WorkTableScan:
			return NDAG_OP_SUBQUERYSCAN;
		default:
			return NDAG_OP_OTHER;
	}
}

/*
 * NdagPlanIndexOid
 *		The index an index, index-only or bitmap index scan reads, else
 *		InvalidOid.
 */
Oid
NdagPlanIndexOid(const Plan *plan)
{
	switch (nodeTag(plan))
	{
		case T_IndexScan:
			return ((const IndexScan *) plan)->indexid;
		case T_IndexOnlyScan:
			return ((const IndexOnlyScan *) plan)->indexid;
		case T_BitmapIndexScan:
			return ((const BitmapIndexScan *) plan)->indexid;
		default:
			return InvalidOid;
	}
}

/*
 * NdagPlanNodeName
 *		The operator's name as EXPLAIN prints it.
 */
const char *
NdagPlanNodeName(const Plan *plan)
{
	switch (nodeTag(plan))
	{
		case T_Result:
			return "Result";
		case T_ProjectSet:
			return "ProjectSet";
		case T_ModifyTable:
			switch (((const ModifyTable *) plan)->operation)
			{
				case CMD_INSERT:
					return "Insert";
				case CMD_UPDATE:
					return "Update";
				case CMD_DELETE:
					return "Delete";
				case CMD_MERGE:
					return "Merge";
				default:
					return "ModifyTable";
			}
		case T_Append:
			return "Append";
		case T_MergeAppend:
			return "Merge Append";
		case T_RecursiveUnion:
			return "Recursive Union";
		case T_BitmapAnd:
			return "BitmapAnd";
		case T_BitmapOr:
			return "BitmapOr";
		case T_NestLoop:
			return "Nested Loop";
		case T_MergeJoin:
			return "Merge Join";
		case T_HashJoin:
			return "Hash Join";
		case T_SeqScan:
			return "Seq Scan";
		case T_SampleScan:
			return "Sample Scan";
		case T_Gather:
			return "Gather";
		case T_GatherMerge:
			return "Gather Merge";
		case T_IndexScan:
			return "Index Scan";
		case T_IndexOnlyScan:
			return "Index Only Scan";
		case T_BitmapIndexScan:
			return "Bitmap Index Scan";
		case T_BitmapHeapScan:
			return "Bitmap Heap Scan";
		case T_TidScan:
			return "Tid Scan";
		case T_TidRangeScan:
			return "Tid Range Scan";
		case T_SubqueryScan:
			return "Subquery Scan";
		case T_FunctionScan:
			return "Function Scan";
		case T_TableFuncScan:
			return "Table Function Scan";
		case T_ValuesScan:
			return "Values Scan";
		case T_CteScan:
			return "CTE Scan";
		case T_NamedTuplestoreScan:
			return "Named Tuplestore Scan";
		case T_WorkTableScan:
			return "WorkTable Scan";
		case T_ForeignScan:
			return "Foreign Scan";
		case T_CustomScan:
			return "Custom Scan";
		case T_Material:
			return "Materialize";
		case T_Memoize:
			return "Memoize";
		case T_Sort:
			return "Sort";
		case T_IncrementalSort:
			return "Incremental Sort";
		case T_Group:
			return "Group";
		case T_Agg:
			return "Aggregate";
		case T_WindowAgg:
			return "WindowAgg";
		case T_Unique:
			return "Unique";
		case T_SetOp:
			return "SetOp";
		case T_LockRows:
			return "LockRows";
		case T_Limit:
			return "Limit";
		case T_Hash:
			return "Hash";
		default:
			return "???";
	}
}

/*
 * plan_join_type
 *		The engine's join type of a join node, NDAG_JOIN_NONE otherwise.
 */
static int
plan_join_type(Plan *plan)
{
	if (!IsA(plan, NestLoop) && !IsA(plan, MergeJoin) && !IsA(plan, HashJoin))
		return NDAG_JOIN_NONE;
	switch (((Join *) plan)->jointype)
	{
		case JOIN_LEFT:
			return NDAG_JOIN_LEFT;
		case JOIN_RIGHT:
			return NDAG_JOIN_RIGHT;
		case JOIN_FULL:
			return NDAG_JOIN_FULL;
		case JOIN_SEMI:
			return NDAG_JOIN_SEMI;
		case JOIN_ANTI:
			return NDAG_JOIN_ANTI;
		default:
			return NDAG_JOIN_INNER;
	}
}

/*
 * qual_shape_walker
 *		Hash the shape of an expression: node types, operators, functions
 *		and column numbers, not constants, so that executions of the same
 *		statement with other parameters share an operator signature.
 */
static bool
qual_shape_walker(Node *node, uint64 *hash)
{
	if (node == NULL)
		return false;
	*hash = ndag_hash_combine(*hash, (uint64) nodeTag(node));
	switch (nodeTag(node))
	{
		case T_Var:
			*hash = ndag_hash_combine(*hash, (uint64) ((Var *) node)->varattno);
			break;
		case T_OpExpr:
		case T_DistinctExpr:
		case T_NullIfExpr:
			*hash = ndag_hash_combine(*hash, (uint64) ((OpExpr *) node)->opno);
			break;
		case T_ScalarArrayOpExpr:
			*hash = ndag_hash_combine(*hash, (uint64) ((ScalarArrayOpExpr *) node)->opno);
			break;
		case T_FuncExpr:
			*hash = ndag_hash_combine(*hash, (uint64) ((FuncExpr *) node)->funcid);
			break;
		case T_Const:
			*hash = ndag_hash_combine(*hash, (uint64) ((Const *) node)->consttype);
			return false;
		case T_SubPlan:
			*hash = ndag_hash_combine(*hash, (uint64) ((SubPlan *) node)->plan_id);
			return false;
		default:
			break;
	}
	return expression_tree_walker(node, qual_shape_walker, (void *) hash);
}

/*
 * plan_qual_count
 *		Number of qual clauses a node evaluates.
 */
static int
plan_qual_count(Plan *plan)
{
	int			n = list_length(plan->qual);

	if (IsA(plan, NestLoop) || IsA(plan, MergeJoin) || IsA(plan, HashJoin))
		n += list_length(((Join *) plan)->joinqual);
	if (IsA(plan, IndexScan))
		n += list_length(((IndexScan *) plan)->indexqualorig);
	else if (IsA(plan, IndexOnlyScan))
		n += list_length(((IndexOnlyScan *) plan)->indexqual);
	else if (IsA(plan, BitmapIndexScan))
		n += list_length(((BitmapIndexScan *) plan)->indexqualorig);
	return n;
}

/*
 * relation_pages
 *		pg_class.relpages of a relation (0 if unknown).
 */
static double
relation_pages(Oid relid)
{
	HeapTuple	tuple;
	double		pages = 0;

	tuple = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (HeapTupleIsValid(tuple))
	{
		pages = Max(((Form_pg_class) GETSTRUCT(tuple))->relpages, 0);
		ReleaseSysCache(tuple);
	}
	return pages;
}

/*
 * describe_plan
 *		Fill the engine's description of one plan node.
 */
static void
describe_plan(BuildState *state, Plan *plan, NdagNodeDesc *desc)
{
	uint64		qual_hash = 0;
	Oid			relid = InvalidOid;
	Oid			indexid;

	ndag_node_desc_init(desc);
	desc->op_class = plan_op_class(plan);
	desc->node_tag = (int) nodeTag(plan);
	desc->join_type = plan_join_type(plan);
	desc->plan_rows = plan->plan_rows;
	desc->startup_cost = plan->startup_cost;
	desc->total_cost = plan->total_cost;
	desc->plan_width = plan->plan_width;
	desc->nquals = plan_qual_count(plan);
	desc->parallel_aware = plan->parallel_aware;

	indexid = NdagPlanIndexOid(plan);
	switch (nodeTag(plan))
	{
		case T_IndexScan:
			qual_shape_walker((Node *) ((IndexScan *) plan)->indexqualorig, &qual_hash);
			break;
		case T_IndexOnlyScan:
			qual_shape_walker((Node *) ((IndexOnlyScan *) plan)->indexqual, &qual_hash);
			break;
		case T_BitmapIndexScan:
			qual_shape_walker((Node *) ((BitmapIndexScan *) plan)->indexqualorig, &qual_hash);
			break;
		default:
			break;
	}
	if (IsA(plan, NestLoop) || IsA(plan, MergeJoin) || IsA(plan, HashJoin))
		qual_shape_walker((Node *) ((Join *) plan)->joinqual, &qual_hash);
	qual_shape_walker((Node *) plan->qual, &qual_hash);

	switch (nodeTag(plan))
	{
		case T_SeqScan:
		case T_SampleScan:
		case T_IndexScan:
		case T_IndexOnlyScan:
		case T_BitmapHeapScan:
		case T_TidScan:
		case T_TidRangeScan:
		case T_ForeignScan:
			{
				Index		scanrelid = ((Scan *) plan)->scanrelid;

				if (scanrelid > 0 && (int) scanrelid <= list_length(state->stmt->rtable))
				{
					RangeTblEntry *rte = rt_fetch(scanrelid, state->stmt->rtable);

					if (rte->rtekind == RTE_RELATION)
						relid = rte->relid;
				}
			}
			break;
		default:
			break;
	}
	if (OidIsValid(relid))
		desc->rel_pages = relation_pages(relid);
	desc->rel_oid = relid;
	desc->index_oid = indexid;
	desc->qual_hash = qual_hash;

	if (state->instr != NULL)
	{
		InstrEntry	key = {plan, NULL};
		InstrEntry *entry = bsearch(&key, state->instr->entries, state->instr->n,
									sizeof(InstrEntry), compare_instr_entries);

		if (entry != NULL && entry->instr != NULL)
		{
			Instrumentation *instr = entry->instr;

			InstrEndLoop(instr);
			if (instr->nloops > 0)
			{
				desc->has_actuals = true;
				desc->actual_rows = instr->ntuples;
				desc->loops = instr->nloops;
				desc->untimed = !instr->need_timer;
				if (instr->need_timer)
					desc->actual_total_ms = instr->total * 1000.0;
			}
		}
	}
}

/*
 * add_edge
 *		Add child -> parent.
 */
static void
add_edge(BuildState *state, int child, int parent)
{
	int			rc = ndag_dag_add_edge(state->result->dag, child, parent);

	if (rc != NDAG_OK)
		NdagEngineCheck(rc, psprintf("adding plan edge %d -> %d", child, parent));
}

/*
 * add_subplan_edge
 *		Add subplan child -> parent once: a node may refer to the same
 *		subplan from several expressions.
 */
static void
add_subplan_edge(BuildState *state, int child, int parent)
{
	int64		key = ((int64) child << 32) | (uint32) parent;
	ListCell   *lc;

	foreach(lc, state->subplan_edges)
	{
		if (*(int64 *) lfirst(lc) == key)
			return;
	}
	state->subplan_edges = lappend(state->subplan_edges,
								   memcpy(palloc(sizeof(int64)), &key, sizeof(int64)));
	add_edge(state, child, parent);
}

/*
 * add_subplan
 *		The node of subplan plan_id (1-based), added on first reference.
 */
static int
add_subplan(BuildState *state, int plan_id)
{
	Plan	   *plan;

	if (plan_id < 1 || plan_id > list_length(state->stmt->subplans))
		return -1;
	if (state->subplan_node[plan_id - 1] >= 0)
		return state->subplan_node[plan_id - 1];
	plan = (Plan *) list_nth(state->stmt->subplans, plan_id - 1);
	if (plan == NULL)
		return -1;
	state->subplan_node[plan_id - 1] = add_plan(state, plan);
	return state->subplan_node[plan_id - 1];
}

typedef struct SubPlanRefs
{
	BuildState *state;
	int			parent;
} SubPlanRefs;

/*
 * subplan_ref_walker
 *		Make every SubPlan an expression refers to an input of the node
 *		evaluating the expression.
 */
static bool
subplan_ref_walker(Node *node, SubPlanRefs *refs)
{
	if (node == NULL)
		return false;
	if (IsA(node, SubPlan))
	{
		int			child = add_subplan(refs->state, ((SubPlan *) node)->plan_id);

		if (child >= 0)
			add_subplan_edge(refs->state, child, refs->parent);
	}
	return expression_tree_walker(node, subplan_ref_walker, (void *) refs);
}

/*
 * add_child
 *		Add a child plan and its edge to parent.
 */
static void
add_child(BuildState *state, Plan *child, int parent)
{
	if (child != NULL)
		add_edge(state, add_plan(state, child), parent);
}

/*
 * add_children
 *		Add every plan of a list as inputs of parent.
 */
static void
add_children(BuildState *state, List *plans, int parent)
{
	ListCell   *lc;

	foreach(lc, plans)
		add_child(state, (Plan *) lfirst(lc), parent);
}

/*
 * add_plan
 *		Add a plan node and, recursively, everything feeding it; return its
 *		node id.  A plan already added returns its existing id.
 */
static int
add_plan(BuildState *state, Plan *plan)
{
	NdagNodeDesc desc;
	SubPlanRefs refs;
	int			id;
	int			rc;

	check_stack_depth();
	CHECK_FOR_INTERRUPTS();

	describe_plan(state, plan, &desc);
	rc = ndag_dag_add_node(state->result->dag, &desc, &id);
	NdagEngineCheck(rc, "adding a plan node");

	if (id >= state->cap_nodes)
	{
		state->cap_nodes *= 2;
		state->result->plans = repalloc(state->result->plans,
										sizeof(Plan *) * state->cap_nodes);
	}
	state->result->plans[id] = plan;
	state->result->n_nodes = id + 1;

	add_child(state, plan->lefttree, id);
	add_child(state, plan->righttree, id);
	switch (nodeTag(plan))
	{
		case T_Append:
			add_children(state, ((Append *) plan)->appendplans, id);
			break;
		case T_MergeAppend:
			add_children(state, ((MergeAppend *) plan)->mergeplans, id);
			break;
		case T_BitmapAnd:
			add_children(state, ((BitmapAnd *) plan)->bitmapplans, id);
			break;
		case T_BitmapOr:
			add_children(state, ((BitmapOr *) plan)->bitmapplans, id);
			break;
		case T_SubqueryScan:
			add_child(state, ((SubqueryScan *) plan)->subplan, id);
			break;
		case T_CustomScan:
			add_children(state, ((CustomScan *) plan)->custom_plans, id);
			break;
		case T_CteScan:
			{
				int			child = add_subplan(state, ((CteScan *) plan)->ctePlanId);

				if (child >= 0)
					add_subplan_edge(state, child, id);
			}
			break;
		default:
			break;
	}

	/* initPlans and SubPlans evaluated by this node's expressions */
	refs.state = state;
	refs.parent = id;
	subplan_ref_walker((Node *) plan->initPlan, &refs);
	subplan_ref_walker((Node *) plan->targetlist, &refs);
	subplan_ref_walker((Node *) plan->qual, &refs);
	if (IsA(plan, NestLoop) || IsA(plan, MergeJoin) || IsA(plan, HashJoin))
		subplan_ref_walker((Node *) ((Join *) plan)->joinqual, &refs);
	if (IsA(plan, Result))
		subplan_ref_walker(((Result *) plan)->resconstantqual, &refs);

	return id;
}

/*
 * compare_instr_entries
 *		Order instrumentation entries by plan address.
 */
static int
compare_instr_entries(const void *a, const void *b)
{
	uintptr_t	pa = (uintptr_t) ((const InstrEntry *) a)->plan;
	uintptr_t	pb = (uintptr_t) ((const InstrEntry *) b)->plan;

	return pa < pb ? -1 : (pa > pb ? 1 : 0);
}

/*
 * collect_instrumentation
 *		planstate_tree_walker callback recording each node's Instrumentation.
 */
static bool
collect_instrumentation(PlanState *ps, InstrMap *map)
{
	if (ps == NULL)
		return false;
	if (map->n == map->cap)
	{
		map->cap *= 2;
		map->entries = repalloc(map->entries, sizeof(InstrEntry) * map->cap);
	}
	map->entries[map->n].plan = ps->plan;
	map->entries[map->n].instr = ps->instrument;
	map->n++;
	return planstate_tree_walker(ps, collect_instrumentation, (void *) map);
}

/*
 * NdagPlanDagBuild
 *		Build and finalize the DAG of a planned statement.  With planstate
 *		(an executed plan with instrumentation) the nodes carry actuals.
 *
 * The result lives in CurrentMemoryContext; the engine's DAG is freed when
 * that context is reset or deleted, so an error cannot leak it.
 */
NdagPlanDag *
NdagPlanDagBuild(PlannedStmt *stmt, PlanState *planstate)
{
	BuildState	state;
	NdagPlanDag *result;
	MemoryContextCallback *cb;
	int			rc;

	result = palloc0(sizeof(NdagPlanDag));
	result->dag = ndag_dag_create(32);
	if (result->dag == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory building the plan DAG")));
	cb = palloc0(sizeof(MemoryContextCallback));
	cb->func = free_engine_dag;
	cb->arg = result;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);

	memset(&state, 0, sizeof(state));
	state.stmt = stmt;
	state.result = result;
	state.cap_nodes = 32;
	result->plans = palloc(sizeof(Plan *) * state.cap_nodes);
	state.subplan_node = palloc(sizeof(int) * (list_length(stmt->subplans) + 1));
	for (int i = 0; i <= list_length(stmt->subplans); i++)
		state.subplan_node[i] = -1;
	if (planstate != NULL)
	{
		ListCell   *lc;

		state.instr = palloc(sizeof(InstrMap));
		state.instr->n = 0;
		state.instr->cap = 32;
		state.instr->entries = palloc(sizeof(InstrEntry) * state.instr->cap);
		collect_instrumentation(planstate, state.instr);
		/* CTE plans run from es_subplanstates, outside the main tree */
		foreach(lc, planstate->state->es_subplanstates)
			collect_instrumentation((PlanState *) lfirst(lc), state.instr);
		qsort(state.instr->entries, state.instr->n, sizeof(InstrEntry),
			  compare_instr_entries);
	}

	add_plan(&state, stmt->planTree);

	rc = ndag_dag_finalize(result->dag);
	NdagEngineCheck(rc, "finalizing the plan DAG");
	return result;
}
