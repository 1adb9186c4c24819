/*-------------------------------------------------------------------------
 *
 * analyze.c
 *	  ANALYZE of neural_dag_fdw foreign tables.
 *
 * The sample is a reservoir (Vitter's algorithm, as in analyze.c and
 * file_fdw) over a full cursor scan of the current database's committed
 * records.  Row counts for planning come from mdb_stat anyway; the
 * statistics give the planner column distributions, e.g. for quals on
 * best_arm or relids.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "commands/vacuum.h"
#include "miscadmin.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/sampling.h"

#include "fdw.h"
#include "compat/compat_fdw.h"
#include "core/core.h"

/* rough size of a record, to report a page count */
#define NDAGFDW_RECORD_WIDTH	128

static int	acquire_sample_rows(Relation rel, int elevel, HeapTuple *rows,
								int targrows, double *totalrows,
								double *totaldeadrows);

/*
 * ndagfdwAnalyzeForeignTable
 *		Offer the sampler; the page count is the DBI's records at a nominal
 *		width, since the store has no pages of its own per table.
 */
bool
ndagfdwAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func,
						   BlockNumber *totalpages)
{
	const StoreSchema *schema;
	double		pages;

	NdagRequirePreload();
	schema = NdagFdwGetStore(RelationGetRelid(relation));

	pages = ceil((double) StoreCountEntries(schema->dbi) *
				 NDAGFDW_RECORD_WIDTH / BLCKSZ);
	*totalpages = (BlockNumber) Min(Max(pages, 1.0), (double) MaxBlockNumber);
	*func = acquire_sample_rows;
	return true;
}

/*
 * acquire_sample_rows
 *		Sample up to targrows rows of the table into rows[].
 */
static int
acquire_sample_rows(Relation rel, int elevel, HeapTuple *rows,
					int targrows, double *totalrows, double *totaldeadrows)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	MemoryContext oldcxt = CurrentMemoryContext;
	MemoryContext rowcxt;
	NdagFdwTable *table;
	StoreValue *record;
	Datum	   *values;
	bool	   *nulls;
	StoreScan  *scan;
	ReservoirStateData rstate;
	double		rowstoskip = -1;
	int			numrows = 0;

	NdagRequirePreload();
	table = NdagFdwGetTable(rel);
	if (table->schema->dbi == STORE_DBI_TRAJECTORIES ||
		table->schema->dbi == STORE_DBI_NODES)
		NdagRequireReadQueries(table->relname);

	record = palloc0(sizeof(StoreValue) * table->schema->nfields);
	values = palloc(sizeof(Datum) * Max(tupdesc->natts, 1));
	nulls = palloc(sizeof(bool) * Max(tupdesc->natts, 1));
	rowcxt = AllocSetContextCreate(CurrentMemoryContext,
								   "neural_dag_fdw analyze row",
								   ALLOCSET_DEFAULT_SIZES);

	reservoir_init_selection_state(&rstate, targrows);
	*totalrows = 0;
	*totaldeadrows = 0;

	/* committed records only: statistics describe the shared state */
	scan = StoreScanBegin(table->schema->dbi, MyDatabaseId, NULL, false);
	for (;;)
	{
		bool		found;

		NdagAnalyzeDelayPoint();

		MemoryContextReset(rowcxt);
		MemoryContextSwitchTo(rowcxt);
		found = StoreScanNext(scan, record);
		if (found)
		{
			for (int i = 0; i < tupdesc->natts; i++)
			{
				int			field = table->att_field[i];

				nulls[i] = field < 0 || record[field].isnull;
				values[i] = nulls[i] ? (Datum) 0 :
					NdagFdwValueToDatum(&record[field],
										table->schema->fields[field].type);
			}
		}
		MemoryContextSwitchTo(oldcxt);
		if (!found)
			break;

		if (numrows < targrows)
			rows[numrows++] = heap_form_tuple(tupdesc, values, nulls);
		else
		{
			/* t in Vitter's paper is the number of rows already seen */
			if (rowstoskip < 0)
				rowstoskip = reservoir_get_next_S(&rstate, *totalrows, targrows);
			if (rowstoskip <= 0)
			{
				int			k = (int) (targrows * sampler_random_fract(&rstate.randstate));

				Assert(k >= 0 && k < targrows);
				heap_freetuple(rows[k]);
				rows[k] = heap_form_tuple(tupdesc, values, nulls);
			}
			rowstoskip -= 1;
		}
		*totalrows += 1;
	}
	StoreScanEnd(scan);
	MemoryContextDelete(rowcxt);

	ereport(elevel,
			(errmsg("\"%s\": neural_dag store \"%s\" holds %.0f rows%s; %d rows in sample",
					RelationGetRelationName(rel), table->schema->name,
					*totalrows,
					table->schema->per_database ? " of this database" : "",
					numrows)));
	return numrows;
}
