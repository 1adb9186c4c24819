/*-------------------------------------------------------------------------
 *
 * safe_sql.c
 *	  The one way the extension runs SQL of its own (SPI queries, utility
 *	  statements of the healer): with search_path = pg_catalog, pg_temp.
 *
 * A database's or a role's search_path, or a function or operator planted
 * in a schema on it (public.format(text, name, name) beats pg_catalog's
 * variadic format), would otherwise decide what our statements call, with
 * the rights of the role running them.  The statements themselves also name
 * every function, operator, type and relation with its schema; the fixed
 * search_path is the second line of defence.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "utils/guc.h"

#include "core/core.h"

/*
 * set_safe_search_path
 *		Set search_path to NDAG_SAFE_SEARCH_PATH with the given action.
 */
static void
set_safe_search_path(GucAction action)
{
	(void) set_config_option("search_path", NDAG_SAFE_SEARCH_PATH,
							 PGC_USERSET, PGC_S_SESSION, action, true,
							 ERROR, false);
}

/*
 * NdagRunSafeSql
 *		Call fn(arg), which runs SQL, in a new GUC nest level with
 *		search_path = pg_catalog, pg_temp; the nest level is rolled back
 *		after fn returns and on error.  Must be called in a transaction.
 *
 * fn may end the transaction and start new ones (REINDEX CONCURRENTLY
 * does): a commit pops the nest level with the transaction's, and rolling
 * it back here afterwards is then a no-op.
 */
void
NdagRunSafeSql(NdagSafeSqlFunc fn, void *arg)
{
	int			nestlevel;

	Assert(IsTransactionState());
	nestlevel = NewGUCNestLevel();
	PG_TRY();
	{
		set_safe_search_path(GUC_ACTION_SAVE);
		fn(arg);
	}
	PG_CATCH();
	{
		AtEOXact_GUC(false, nestlevel);
		PG_RE_THROW();
	}
	PG_END_TRY();
	AtEOXact_GUC(false, nestlevel);
}

/*
 * NdagSafeSearchPathForSession
 *		Make search_path = pg_catalog, pg_temp the session's own setting,
 *		over the database's and the role's: for a worker whose statements
 *		span transactions (REINDEX CONCURRENTLY commits in the middle).
 */
void
NdagSafeSearchPathForSession(void)
{
	StartTransactionCommand();
	set_safe_search_path(GUC_ACTION_SET);
	CommitTransactionCommand();
}
