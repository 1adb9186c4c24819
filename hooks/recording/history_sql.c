/*-------------------------------------------------------------------------
 *
 * history_sql.c
 *	  ruvector_dag_history(query_id): the recorded executions of one
 *	  statement of the current database over time, one row each, for a
 *	  psql user to plot latency against time by arm and decision source.
 *
 * Only executions kept as trajectories are in the store (a share
 * ruvector.dag_detail_sample_rate of the recorded ones); trajectories do not
 * record the statement's parameter class.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "funcapi.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "core/core.h"
#include "recording/recording.h"

PG_FUNCTION_INFO_V1(ruvector_dag_history);

#define HISTORY_COLUMNS	8

/* an arm's name, looked up once per call */
typedef struct ArmNameEntry
{
	int32		arm;
	char	   *name;			/* NULL: not in ndag_arms */
} ArmNameEntry;

/*
 * cached_arm_name
 *		NdagRecordedArmName, remembered in *cache (a List of ArmNameEntry):
 *		a statement runs under few arms.
 */
static char *
cached_arm_name(List **cache, int32 arm)
{
	ListCell   *lc;
	ArmNameEntry *entry;

	foreach(lc, *cache)
	{
		entry = (ArmNameEntry *) lfirst(lc);
		if (entry->arm == arm)
			return entry->name;
	}
	entry = palloc(sizeof(ArmNameEntry));
	entry->arm = arm;
	entry->name = NdagRecordedArmName(arm);
	*cache = lappend(*cache, entry);
	return entry->name;
}

/*
 * ruvector_dag_history
 *		One row per recorded execution of query_id, oldest first:
 *		executed_at, latency_ms, planning_ms, arm_id, arm_name (NULL when
 *		ndag_arms no longer has the arm), decision, pattern_id, traj_id.
 */
Datum
ruvector_dag_history(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		query_id;
	List	   *recorded;
	List	   *arm_names = NIL;
	ListCell   *lc;

	NdagRequirePreload();
	NdagRequireReadQueries("ndag_trajectories");
	query_id = PG_GETARG_INT64(0);

	InitMaterializedSRF(fcinfo, 0);
	recorded = NdagRecordedOfQuery(query_id);
	foreach(lc, recorded)
	{
		const NdagRecorded *rec = (const NdagRecorded *) lfirst(lc);
		char	   *arm_name = cached_arm_name(&arm_names, rec->arm);
		Datum		values[HISTORY_COLUMNS];
		bool		nulls[HISTORY_COLUMNS];

		memset(nulls, 0, sizeof(nulls));
		values[0] = TimestampTzGetDatum(rec->recorded_at);
		values[1] = Float8GetDatum(rec->exec_ms);
		values[2] = Float8GetDatum(rec->planning_ms);
		values[3] = Int32GetDatum(rec->arm);
		if (arm_name != NULL)
			values[4] = CStringGetTextDatum(arm_name);
		else
			nulls[4] = true;
		if (rec->decision != NULL)
			values[5] = CStringGetTextDatum(rec->decision);
		else
			nulls[5] = true;
		if (rec->pattern_id != 0)
			values[6] = Int64GetDatum(rec->pattern_id);
		else
			nulls[6] = true;
		values[7] = Int64GetDatum(rec->traj_id);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
