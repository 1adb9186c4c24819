/*-------------------------------------------------------------------------
 *
 * learn_sql.c
 *	  SQL functions of learning: ruvector_dag_learn() runs one learning
 *	  cycle of the current database now; ruvector_dag_hdc_snapshot() and
 *	  ruvector_dag_hdc_similarity() expose the HDC state.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonb.h"

#include "patterns.h"
#include "engine.h"
#include "core/core.h"
#include "learning/learning.h"
#include "recording/recording.h"
#include "store.h"

PG_FUNCTION_INFO_V1(ruvector_dag_learn);
PG_FUNCTION_INFO_V1(ruvector_dag_hdc_snapshot);
PG_FUNCTION_INFO_V1(ruvector_dag_hdc_similarity);

/*
 * append_number
 *		"name": value, with null for a value that is not finite.
 */
static void
append_number(StringInfo buf, const char *name, double value, bool first)
{
	if (!first)
		appendStringInfoString(buf, ", ");
	escape_json(buf, name);
	if (isfinite(value))
		appendStringInfo(buf, ": %.17g", value);
	else
		appendStringInfoString(buf, ": null");
}

/*
 * ruvector_dag_learn
 *		Flush the recorded trajectories, run one learning cycle of the
 *		current database and return what it did as jsonb.
 */
Datum
ruvector_dag_learn(PG_FUNCTION_ARGS)
{
	NdagLearnSummary s;
	StringInfoData buf;

	NdagRequirePreload();
	NdagRequireWritableLearnedState("run a learning cycle");
	NdagRequireAdmin("run a learning cycle");
	NdagFlush();
	NdagLearnCycle(MyDatabaseId, &s);

	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	append_number(&buf, "trajectories", s.trajectories, true);
	append_number(&buf, "used", s.used, false);
	append_number(&buf, "clusters", s.clusters, false);
	append_number(&buf, "patterns_created", s.created, false);
	append_number(&buf, "patterns_merged", s.merged, false);
	append_number(&buf, "patterns_evicted", s.evicted, false);
	append_number(&buf, "patterns", s.patterns, false);
	append_number(&buf, "trained", s.trained, false);
	append_number(&buf, "validated", s.validated, false);
	append_number(&buf, "replayed", s.replayed, false);
	appendStringInfo(&buf, ", \"cost_model_rejected\": %s",
					 s.model_rejected ? "true" : "false");
	append_number(&buf, "loss_before", s.loss_before, false);
	append_number(&buf, "loss_after", s.loss_after, false);
	append_number(&buf, "median_error_before", s.error_before, false);
	append_number(&buf, "median_error_after", s.error_after, false);
	append_number(&buf, "heldout", s.heldout, false);
	append_number(&buf, "heldout_error_before", s.heldout_error_before, false);
	append_number(&buf, "heldout_error_after", s.heldout_error_after, false);
	appendStringInfo(&buf, ", \"cost_model_kept\": %s",
					 s.model_kept ? "true" : "false");
	append_number(&buf, "drift", s.drift, false);
	appendStringInfo(&buf, ", \"task_boundary\": %s",
					 s.task_boundary ? "true" : "false");
	if (s.snapshot_id > 0)
		append_number(&buf, "snapshot_id", (double) s.snapshot_id, false);
	else
		appendStringInfoString(&buf, ", \"snapshot_id\": null");
	append_number(&buf, "last_traj_id", (double) s.last_traj_id, false);
	append_number(&buf, "ms", s.ms, false);
	appendStringInfoChar(&buf, '}');
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(buf.data)));
}

/*
 * ruvector_dag_hdc_snapshot
 *		The newest HDC state snapshot of the current database (1,250
 *		bytes), or NULL when no learning cycle has written one.
 */
Datum
ruvector_dag_hdc_snapshot(PG_FUNCTION_ARGS)
{
	const StoreSchema *schema = StoreGetSchema(STORE_DBI_HDC);
	int			state_field = StoreSchemaFieldIndex(schema, "state");
	StoreValue *values = palloc0(sizeof(StoreValue) * schema->nfields);
	StoreScan  *scan;
	bytea	   *result = NULL;

	NdagRequirePreload();
	StoreEnsureOpen();
	scan = StoreScanBegin(STORE_DBI_HDC, MyDatabaseId, NULL, false);
	while (StoreScanNext(scan, values))
	{
		const StoreValue *state = &values[state_field];

		if (state->isnull || state->len != NDAG_HDC_BYTES)
			continue;
		if (result == NULL)
			result = palloc(VARHDRSZ + NDAG_HDC_BYTES);
		SET_VARSIZE(result, VARHDRSZ + NDAG_HDC_BYTES);
		memcpy(VARDATA(result), state->data, NDAG_HDC_BYTES);
	}
	StoreScanEnd(scan);
	if (result == NULL)
		PG_RETURN_NULL();
	PG_RETURN_BYTEA_P(result);
}

/*
 * hdc_arg
 *		Argument argno as a hypervector, with an error for NULL or a wrong
 *		length.
 */
static void
hdc_arg(FunctionCallInfo fcinfo, int argno, NdagHv *out)
{
	bytea	   *b;

	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("hypervector argument %d is null", argno + 1),
				 errhint("Pass snapshots returned by ruvector_dag_hdc_snapshot(), which is null before the first learning cycle.")));
	b = PG_GETARG_BYTEA_PP(argno);
	if (VARSIZE_ANY_EXHDR(b) != NDAG_HDC_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("hypervector argument %d has %d bytes, not %d",
						argno + 1, (int) VARSIZE_ANY_EXHDR(b), NDAG_HDC_BYTES),
				 errhint("Pass snapshots returned by ruvector_dag_hdc_snapshot().")));
	memcpy(out->bytes, VARDATA_ANY(b), NDAG_HDC_BYTES);
}

/*
 * ruvector_dag_hdc_similarity
 *		1 - Hamming distance / 10,000 between two snapshots: 1 for equal
 *		states, about 0.5 for unrelated ones.
 */
Datum
ruvector_dag_hdc_similarity(PG_FUNCTION_ARGS)
{
	NdagHv		a;
	NdagHv		b;

	hdc_arg(fcinfo, 0, &a);
	hdc_arg(fcinfo, 1, &b);
	PG_RETURN_FLOAT8(ndag_hdc_similarity(&a, &b));
}
