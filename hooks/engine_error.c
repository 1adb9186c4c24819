/*-------------------------------------------------------------------------
 *
 * engine_error.c
 *	  The engine's status codes (NDAG_ERR_*) as PostgreSQL errors: the one
 *	  place that chooses their SQLSTATE and hint.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "engine.h"
#include "hooks.h"

/*
 * NdagEngineCheck
 *		Nothing for NDAG_OK; otherwise an ERROR "<what> failed: <status>".
 *		Out of memory and damaged or foreign serialised state are what the
 *		server or the store can cause; every other status means a call the
 *		extension should not have made.
 */
void
NdagEngineCheck(int rc, const char *what)
{
	if (rc == NDAG_OK)
		return;
	switch (rc)
	{
		case NDAG_ERR_NOMEM:
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("%s failed: %s", what, ndag_strerror(rc)),
					 errhint("Lower ruvector.dag_pattern_clusters or the LoRA ranks, or give the server more memory.")));
			break;
		case NDAG_ERR_CORRUPT:
		case NDAG_ERR_VERSION:
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("%s failed: %s", what, ndag_strerror(rc)),
					 errhint("Remove the damaged learned state with ruvector_dag_reset(); it is learned again.")));
			break;
		case NDAG_ERR_NONFINITE:
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("%s failed: %s", what, ndag_strerror(rc)),
					 errhint("The update was rejected; the learned state is unchanged.")));
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_INTERNAL_ERROR),
					 errmsg("%s failed: %s", what, ndag_strerror(rc)),
					 errhint("This is a bug in neural_dag; the statement that raised it would help to fix it.")));
			break;
	}
}
