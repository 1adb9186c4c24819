/*-------------------------------------------------------------------------
 *
 * queries.c
 *	  Rules of ndag_queries (store "queries"): a scan first brings the
 *	  store up to date with the shared per-statement memory of the
 *	  database, and an UPDATE's row must carry controls the plan rewriter
 *	  can honour (hooks/planner/query_store.c checks them).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"

#include "fdw.h"
#include "core/core.h"
#include "planner/planner.h"

/*
 * NdagFdwQueriesBeforeScan
 *		Write what changed in the current database's per-statement memory
 *		since the learner's last flush, so that the scan shows it.
 */
void
NdagFdwQueriesBeforeScan(void)
{
	NdagQueryStoreFlush(MyDatabaseId);
}

/*
 * NdagFdwCheckQueryRow
 *		Refuse an updated row of ndag_queries whose pinned_arm or
 *		forbidden_arms name arms that are unknown or disabled, forbid the
 *		default arm, or pin a forbidden arm (nothing is queued then).
 */
void
NdagFdwCheckQueryRow(const StoreValue *values)
{
	const StoreValue *pinned = StoreFieldGet(values, STORE_DBI_QUERIES, "pinned_arm");
	const StoreValue *forbidden = StoreFieldGet(values, STORE_DBI_QUERIES, "forbidden_arms");
	int			pin = pinned != NULL ? pinned->v.i4 : 0;
	int32	   *ids = NULL;
	int			n = forbidden != NULL ? (int) forbidden->len : 0;

	if (n > 0)
	{
		ids = palloc(sizeof(int32) * n);
		memcpy(ids, forbidden->data, sizeof(int32) * n);
	}
	NdagQueryControlsCheck(pinned != NULL ? &pin : NULL, ids, n);
}
