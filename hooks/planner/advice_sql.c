/*-------------------------------------------------------------------------
 *
 * advice_sql.c
 *	  ruvector_dag_advice(): the statements of the current database with an
 *	  arm proven faster by paired runs, joinable with pg_stat_statements by
 *	  query_id: what apply mode runs for them, or what observe mode would.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "planner/planner.h"

PG_FUNCTION_INFO_V1(ruvector_dag_advice);

#define ADVICE_COLUMNS	7

/*
 * ruvector_dag_advice
 *		One row per statement class with a proven arm: query_id,
 *		parameter_class, arm_id, arm_name (NULL when the arm is no longer
 *		enabled), speedup, pairs, default_ms.
 */
Datum
ruvector_dag_advice(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	NdagQueryClass *classes;
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	n = NdagQueryMemoryList(MyDatabaseId, &classes);
	for (int i = 0; i < n; i++)
	{
		const NdagQueryClass *c = &classes[i];
		const NdagArm *arm = NdagArmGet(c->best_arm);
		Datum		values[ADVICE_COLUMNS];
		bool		nulls[ADVICE_COLUMNS];

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int64GetDatum((int64) c->query_id);
		values[1] = CStringGetTextDatum(psprintf("%016llx", (unsigned long long) c->klass));
		values[2] = Int32GetDatum(c->best_arm);
		if (arm != NULL)
			values[3] = CStringGetTextDatum(arm->name);
		else
			nulls[3] = true;
		values[4] = Float8GetDatum(c->speedup);
		values[5] = Int32GetDatum(c->pairs);
		values[6] = Float8GetDatum(c->default_ms);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
