/*-------------------------------------------------------------------------
 *
 * database_list.c
 *	  The databases of the cluster a worker that is connected to none
 *	  (the learner, the healing launcher) may work on.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "utils/snapmgr.h"

#include "workers/workers.h"

/*
 * NdagForEachDatabase
 *		Call fn(db, arg) for each database that can be connected to: not
 *		left invalid by an interrupted DROP DATABASE, and allowing
 *		connections.  pg_database is read as autovacuum's get_database_list
 *		reads it, in a short transaction of its own; fn runs inside it (it
 *		may use the syscache), in the caller's memory context, which is
 *		current again on return.
 */
void
NdagForEachDatabase(NdagDatabaseFunc fn, void *arg)
{
	MemoryContext callercxt = CurrentMemoryContext;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	StartTransactionCommand();
	(void) GetTransactionSnapshot();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext oldcxt;

		if (database_is_invalid_form(db) || !db->datallowconn)
			continue;
		oldcxt = MemoryContextSwitchTo(callercxt);
		fn(db, arg);
		MemoryContextSwitchTo(oldcxt);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(callercxt);
}
