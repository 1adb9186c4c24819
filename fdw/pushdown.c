/*-------------------------------------------------------------------------
 *
 * pushdown.c
 *	  Turn quals on a foreign table's user key into a StoreKeyRange.
 *
 * The user key is the first key field after the database oid (pattern_id,
 * traj_id, arm_id, relid, event_id, name, ...).  A qual "key op value"
 * whose operator belongs to the key type's default btree family (=, <, <=,
 * >, >=; BETWEEN arrives as two of them) and whose value is a Const or a
 * Param is pushed down: the planner keeps its strategy and value
 * expression, the executor evaluates the values and intersects the bounds
 * into one range for cursor positioning.  The quals stay in the plan's
 * local quals as well, so results never depend on the pushdown being
 * exact.
 *
 * Keys are compared as the store orders them: integers numerically, oids
 * unsigned, text bytewise.  So text ranges are pushed down only under the
 * C collation, text equality under any deterministic one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/stratnum.h"
#include "catalog/pg_am.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "utils/lsyscache.h"
#include "utils/pg_locale.h"

#include "fdw.h"
#include "compat/compat_fdw.h"

/*
 * strip_relabel
 *		The expression under any binary-compatible relabelling.
 */
static Node *
strip_relabel(Node *node)
{
	while (node && IsA(node, RelabelType))
		node = (Node *) ((RelabelType *) node)->arg;
	return node;
}

/*
 * is_key_var
 *		Whether node is the user key column of the scanned relation.
 */
static bool
is_key_var(Node *node, Index relid, AttrNumber key_att)
{
	Var		   *var;

	node = strip_relabel(node);
	if (node == NULL || !IsA(node, Var))
		return false;
	var = (Var *) node;
	return var->varno == (int) relid && var->varattno == key_att &&
		var->varlevelsup == 0;
}

/*
 * is_pushable_value
 *		Whether node is a value known when the scan starts: a Const or a
 *		Param (a bind parameter, or the output of an initplan).
 */
static bool
is_pushable_value(Node *node)
{
	node = strip_relabel(node);
	return node != NULL && (IsA(node, Const) || IsA(node, Param));
}

/*
 * value_type_fits
 *		Whether values of valuetype can bound a key field of the given type.
 */
static bool
value_type_fits(StoreFieldType keytype, Oid valuetype)
{
	switch (keytype)
	{
		case STORE_INT4:
		case STORE_INT8:
			return valuetype == INT2OID || valuetype == INT4OID ||
				valuetype == INT8OID;
		case STORE_OID:
			return valuetype == OIDOID || valuetype == REGCLASSOID;
		case STORE_TEXT:
			return valuetype == TEXTOID;
		default:
			return false;
	}
}

/*
 * commute_strategy
 *		The strategy of "value op key" rewritten as "key op' value".
 */
static int
commute_strategy(int strategy)
{
	switch (strategy)
	{
		case BTLessStrategyNumber:
			return BTGreaterStrategyNumber;
		case BTLessEqualStrategyNumber:
			return BTGreaterEqualStrategyNumber;
		case BTGreaterEqualStrategyNumber:
			return BTLessEqualStrategyNumber;
		case BTGreaterStrategyNumber:
			return BTLessStrategyNumber;
		default:
			return strategy;
	}
}

/*
 * match_key_qual
 *		If rinfo compares the key with a pushable value, describe it.
 */
static NdagFdwKeyQual *
match_key_qual(RestrictInfo *rinfo, Index relid, const NdagFdwTable *table,
			   Oid opfamily)
{
	OpExpr	   *op;
	Node	   *left;
	Node	   *right;
	bool		key_on_left;
	int			strategy;
	Oid			lefttype;
	Oid			righttype;
	Oid			valuetype;
	StoreFieldType keytype = table->schema->fields[table->key_field].type;
	NdagFdwKeyQual *qual;

	if (!IsA(rinfo->clause, OpExpr))
		return NULL;
	op = (OpExpr *) rinfo->clause;
	if (list_length(op->args) != 2)
		return NULL;
	left = linitial(op->args);
	right = lsecond(op->args);

	if (is_key_var(left, relid, table->key_att) && is_pushable_value(right))
		key_on_left = true;
	else if (is_key_var(right, relid, table->key_att) && is_pushable_value(left))
		key_on_left = false;
	else
		return NULL;

	if (!op_in_opfamily(op->opno, opfamily))
		return NULL;
	get_op_opfamily_properties(op->opno, opfamily, false,
							   &strategy, &lefttype, &righttype);
	valuetype = key_on_left ? righttype : lefttype;
	if (!value_type_fits(keytype, valuetype))
		return NULL;

	if (keytype == STORE_TEXT)
	{
		/* the store orders text bytewise */
		if (!OidIsValid(op->inputcollid))
			return NULL;
		if (strategy == BTEqualStrategyNumber
			? !get_collation_isdeterministic(op->inputcollid)
			: !NdagCollationIsC(op->inputcollid))
			return NULL;
	}

	qual = palloc(sizeof(NdagFdwKeyQual));
	qual->strategy = key_on_left ? strategy : commute_strategy(strategy);
	qual->value = (Expr *) (key_on_left ? right : left);
	qual->valuetype = valuetype;
	qual->rinfo = rinfo;
	return qual;
}

/*
 * NdagFdwFindKeyQuals
 *		Collect the restriction clauses of baserel that can position the
 *		cursor, and classify the scan as key equality, key range or full.
 */
void
NdagFdwFindKeyQuals(PlannerInfo *root, RelOptInfo *baserel,
					NdagFdwPlanState *state)
{
	const NdagFdwTable *table = state->table;
	Oid			keytypid;
	Oid			opclass;
	Oid			opfamily;
	ListCell   *lc;

	state->key_quals = NIL;
	state->kind = NDAGFDW_FULL_SCAN;
	if (table->key_att == InvalidAttrNumber)
		return;

	keytypid = NdagFdwFieldTypeOid(table->schema->fields[table->key_field].type);
	opclass = GetDefaultOpClass(keytypid, BTREE_AM_OID);
	if (!OidIsValid(opclass))
		return;
	opfamily = get_opclass_family(opclass);

	foreach(lc, baserel->baserestrictinfo)
	{
		RestrictInfo *rinfo = lfirst_node(RestrictInfo, lc);
		NdagFdwKeyQual *qual;

		qual = match_key_qual(rinfo, baserel->relid, table, opfamily);
		if (qual == NULL)
			continue;
		state->key_quals = lappend(state->key_quals, qual);
		if (qual->strategy == BTEqualStrategyNumber)
			state->kind = NDAGFDW_KEY_EQUALITY;
		else if (state->kind == NDAGFDW_FULL_SCAN)
			state->kind = NDAGFDW_KEY_RANGE;
	}
}

/*
 * compare_key
 *		Order two key values as the store's cursor does.
 */
static int
compare_key(StoreFieldType type, const StoreValue *a, const StoreValue *b)
{
	switch (type)
	{
		case STORE_INT4:
			return (a->v.i4 > b->v.i4) - (a->v.i4 < b->v.i4);
		case STORE_INT8:
			return (a->v.i8 > b->v.i8) - (a->v.i8 < b->v.i8);
		case STORE_OID:
			return (a->v.oid > b->v.oid) - (a->v.oid < b->v.oid);
		case STORE_TEXT:
			{
				int			c = memcmp(a->data, b->data, Min(a->len, b->len));

				if (c != 0)
					return c < 0 ? -1 : 1;
				return (a->len > b->len) - (a->len < b->len);
			}
		default:
			elog(ERROR, "store field type %d cannot be a pushed-down key",
				 (int) type);
	}
	return 0;					/* keep compiler quiet */
}

/*
 * to_key_value
 *		Convert a qual's value to a bound on the key.
 *
 * Returns 1 for a usable bound in *bound, 0 when the qual does not
 * constrain the key (an integer beyond the key type's range on the open
 * side) and -1 when no key can satisfy it.
 */
static int
to_key_value(StoreFieldType keytype, Oid valuetype, Datum datum,
			 int strategy, StoreValue *bound)
{
	memset(bound, 0, sizeof(StoreValue));

	if (keytype == STORE_INT4 || keytype == STORE_INT8)
	{
		int64		v;

		if (valuetype == INT2OID)
			v = DatumGetInt16(datum);
		else if (valuetype == INT4OID)
			v = DatumGetInt32(datum);
		else
			v = DatumGetInt64(datum);

		if (keytype == STORE_INT8)
		{
			bound->v.i8 = v;
			return 1;
		}
		if (v > PG_INT32_MAX)
			return (strategy == BTLessStrategyNumber ||
					strategy == BTLessEqualStrategyNumber) ? 0 : -1;
		if (v < PG_INT32_MIN)
			return (strategy == BTGreaterStrategyNumber ||
					strategy == BTGreaterEqualStrategyNumber) ? 0 : -1;
		bound->v.i4 = (int32) v;
		return 1;
	}
	if (keytype == STORE_OID)
	{
		bound->v.oid = DatumGetObjectId(datum);
		return 1;
	}
	if (keytype == STORE_TEXT)
	{
		struct varlena *t = PG_DETOAST_DATUM_PACKED(datum);

		bound->data = VARDATA_ANY(t);
		bound->len = VARSIZE_ANY_EXHDR(t);
		return 1;
	}
	elog(ERROR, "store field type %d cannot be a pushed-down key",
		 (int) keytype);
	return -1;					/* keep compiler quiet */
}

/*
 * tighten
 *		Narrow one side of range with a new bound.
 */
static void
tighten(StoreFieldType keytype, StoreKeyRange *range, bool lower,
		const StoreValue *bound, bool inclusive)
{
	bool	   *has = lower ? &range->has_lower : &range->has_upper;
	bool	   *incl = lower ? &range->lower_inclusive : &range->upper_inclusive;
	StoreValue *cur = lower ? &range->lower : &range->upper;
	int			c;

	if (!*has)
	{
		*has = true;
		*incl = inclusive;
		*cur = *bound;
		return;
	}
	c = compare_key(keytype, bound, cur);
	if (lower ? c > 0 : c < 0)
	{
		*incl = inclusive;
		*cur = *bound;
	}
	else if (c == 0 && !inclusive)
		*incl = false;
}

/*
 * NdagFdwBuildKeyRange
 *		Intersect the pushed-down quals, with their values evaluated, into
 *		one key range.
 *
 * strategies and valuetypes are parallel integer / oid lists, values and
 * nulls the evaluated values.  Returns false when no key can satisfy all
 * quals (a NULL value, contradictory bounds): the scan then returns no
 * rows without reading the store.  Text bounds point into the values.
 */
bool
NdagFdwBuildKeyRange(const NdagFdwTable *table, List *strategies,
					 List *valuetypes, const Datum *values, const bool *nulls,
					 StoreKeyRange *range)
{
	StoreFieldType keytype = table->schema->fields[table->key_field].type;
	int			i = 0;
	ListCell   *ls;
	ListCell   *lt;

	memset(range, 0, sizeof(StoreKeyRange));

	forboth(ls, strategies, lt, valuetypes)
	{
		int			strategy = lfirst_int(ls);
		StoreValue	bound;
		int			usable;

		/* the comparison operators are strict: NULL matches nothing */
		if (nulls[i])
			return false;
		usable = to_key_value(keytype, lfirst_oid(lt), values[i], strategy,
							  &bound);
		i++;
		if (usable < 0)
			return false;
		if (usable == 0)
			continue;

		switch (strategy)
		{
			case BTLessStrategyNumber:
				tighten(keytype, range, false, &bound, false);
				break;
			case BTLessEqualStrategyNumber:
				tighten(keytype, range, false, &bound, true);
				break;
			case BTEqualStrategyNumber:
				tighten(keytype, range, true, &bound, true);
				tighten(keytype, range, false, &bound, true);
				break;
			case BTGreaterEqualStrategyNumber:
				tighten(keytype, range, true, &bound, true);
				break;
			case BTGreaterStrategyNumber:
				tighten(keytype, range, true, &bound, false);
				break;
			default:
				elog(ERROR, "unexpected btree strategy %d", strategy);
		}
	}

	if (range->has_lower && range->has_upper)
	{
		int			c = compare_key(keytype, &range->lower, &range->upper);

		if (c > 0 ||
			(c == 0 && !(range->lower_inclusive && range->upper_inclusive)))
			return false;
	}
	return true;
}

/*
 * NdagFdwKeyKindName
 *		How EXPLAIN describes a scan's use of the key.
 */
const char *
NdagFdwKeyKindName(NdagFdwKeyKind kind)
{
	switch (kind)
	{
		case NDAGFDW_KEY_EQUALITY:
			return "key equality";
		case NDAGFDW_KEY_RANGE:
			return "key range";
		case NDAGFDW_FULL_SCAN:
			return "full scan";
	}
	return "full scan";
}
