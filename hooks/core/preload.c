/*-------------------------------------------------------------------------
 *
 * preload.c
 *	  neural_dag works only when preloaded through shared_preload_libraries:
 *	  _PG_init (init/neural_dag.c) says whether it was, every SQL function
 *	  asks here.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "core/core.h"

/* true once _PG_init ran while shared_preload_libraries was processed */
bool		ndag_preloaded = false;

/*
 * NdagRequirePreload
 *		Refuse to run unless the library was preloaded at server start.
 */
void
NdagRequirePreload(void)
{
	if (!ndag_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("neural_dag must be loaded via shared_preload_libraries"),
				 errhint("Add neural_dag to shared_preload_libraries in postgresql.conf and restart the server.")));
}
