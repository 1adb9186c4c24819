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
#include "core/core.h"

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
	int			sqlstate;
	const char *hint;

	if (rc == NDAG_OK)
		return;
	switch (rc)
	{
		case NDAG_ERR_NOMEM:
			sqlstate = ERRCODE_OUT_OF_MEMORY;
			hint = "Lower ruvector.dag_pattern_clusters or the LoRA ranks, or give the server more memory.";
			break;
		case NDAG_ERR_CORRUPT:
		case NDAG_ERR_VERSION:
			sqlstate = ERRCODE_DATA_CORRUPTED;
			hint = "Remove the damaged learned state with ruvector_dag_reset(); it is learned again.";
			break;
		case NDAG_ERR_NONFINITE:
			sqlstate = ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE;
			hint = "The update was rejected; the learned state is unchanged.";
			break;
		default:
			sqlstate = ERRCODE_INTERNAL_ERROR;
			hint = "This is a bug in neural_dag; the statement that raised it would help to fix it.";
			break;
	}
	ereport(ERROR,
			(errcode(sqlstate),
			 errmsg("%s failed: %s", what, ndag_strerror(rc)),
			 errhint("%s", hint)));
}
