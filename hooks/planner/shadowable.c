/*-------------------------------------------------------------------------
 *
 * shadowable.c
 *	  Which statements a background worker may re-run to try arms on them
 *	  (shadow exploration): plain SELECTs that cannot change anything or
 *	  lock rows, whatever arm plans them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "nodes/parsenodes.h"
#include "optimizer/optimizer.h"

#include "planner/planner.h"

/*
 * NdagShadowable
 *		Whether a query is a plain SELECT that a read-only re-run leaves
 *		without effect: no utility, no SELECT INTO, no data-modifying WITH,
 *		no FOR UPDATE/SHARE, no volatile function (nextval, random,
 *		functions with side effects) anywhere in it, sublinks included.
 */
bool
NdagShadowable(const Query *parse)
{
	Query	   *q = (Query *) parse;

	if (q == NULL || q->commandType != CMD_SELECT || q->utilityStmt != NULL ||
		q->hasModifyingCTE || q->rowMarks != NIL || q->hasForUpdate)
		return false;
	return !contain_volatile_functions((Node *) q);
}
