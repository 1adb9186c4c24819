/*-------------------------------------------------------------------------
 *
 * healing_detect.c
 *	  The self-healing detectors that read the catalogs and the statistics
 *	  of the current database: invalid indexes, bloated B-tree indexes,
 *	  unused indexes and stale table statistics.
 *
 * Each runs one SPI query restricted to the tables in scope (those enabled
 * for learning, or every user table with ruvector.dag_healing_scope = all)
 * and turns its rows into events.  The queries run through NdagRunSafeSql
 * and are schema-qualified throughout (see below).  The caller is in a transaction with an
 * active snapshot; events are allocated in the caller's memory context.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "lib/stringinfo.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "healing.h"
#include "core/core.h"
#include "healing/selfheal.h"

/* B-tree default fillfactor (BTREE_DEFAULT_FILLFACTOR) */
#define BT_DEFAULT_FILL		90
#define BLOAT_MIN_PAGES		10

/*
 * The detectors' SQL runs through NdagRunSafeSql (search_path = pg_catalog,
 * pg_temp) and names every relation, function, operator and type with its
 * schema, so that nothing a database owner or a role with CREATE on a
 * schema planted can be called.  OPERATOR(pg_catalog.x) operators all have
 * the same precedence: parentheses keep arithmetic in order.
 */
#define EQ		" OPERATOR(pg_catalog.=) "

/*
 * The tables in scope, on pg_class t and pg_namespace tn: never temporary
 * or system tables; $1 = scope is all, $2 = the enabled tables (a partition
 * is in scope when its partitioned table is enabled).
 */
#define SCOPE_CLAUSE \
	" t.relpersistence OPERATOR(pg_catalog.<>) 't'" \
	" AND NOT (tn.nspname" EQ "ANY ('{pg_catalog,information_schema}'::pg_catalog.name[]))" \
	" AND NOT (tn.nspname OPERATOR(pg_catalog.~~) 'pg\\_toast%')" \
	" AND ($1 OR t.oid" EQ "ANY ($2)" \
	"      OR (t.relispartition AND EXISTS (" \
	"          SELECT 1 FROM pg_catalog.pg_partition_ancestors(t.oid) pa" \
	"          WHERE pa.relid::pg_catalog.oid" EQ "ANY ($2))))"

#define INDEX_FROM \
	" FROM pg_catalog.pg_index i" \
	" JOIN pg_catalog.pg_class c ON c.oid" EQ "i.indexrelid" \
	" JOIN pg_catalog.pg_namespace n ON n.oid" EQ "c.relnamespace" \
	" JOIN pg_catalog.pg_class t ON t.oid" EQ "i.indrelid" \
	" JOIN pg_catalog.pg_namespace tn ON tn.oid" EQ "t.relnamespace"

/* "schema.name", each part quoted if needed */
#define QUALIFIED(nsp, rel) \
	" pg_catalog.format('%I.%I', " nsp ", " rel ")"

static const char *invalid_sql =
"SELECT i.indexrelid," QUALIFIED("n.nspname", "c.relname") ","
" i.indrelid," QUALIFIED("tn.nspname", "t.relname") ", i.indisready,"
" c.relname OPERATOR(pg_catalog.~) '_cc(new|old)[0-9]*$'"
INDEX_FROM
" WHERE NOT i.indisvalid AND c.relkind" EQ "'i' AND" SCOPE_CLAUSE
" AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_progress_create_index p"
"                 WHERE p.relid" EQ "i.indrelid)"
" ORDER BY 1";

static const char *bloat_sql =
"SELECT i.indexrelid," QUALIFIED("n.nspname", "c.relname") ","
" i.indrelid, c.relpages::pg_catalog.float8, c.reltuples::pg_catalog.float8,"
" COALESCE((SELECT pg_catalog.split_part(o, '=', 2)::pg_catalog.int4"
"           FROM pg_catalog.unnest(c.reloptions) o"
"           WHERE o OPERATOR(pg_catalog.~~) 'fillfactor=%' LIMIT 1), "
CppAsString2(BT_DEFAULT_FILL) ")::pg_catalog.int8,"
" (SELECT pg_catalog.sum(COALESCE(s.avg_width,"
"           CASE WHEN ty.typlen OPERATOR(pg_catalog.>) 0"
"                THEN ty.typlen::pg_catalog.int4 END))::pg_catalog.float8"
"    FROM pg_catalog.unnest(i.indkey::pg_catalog.int2[]) k(attnum)"
"    JOIN pg_catalog.pg_attribute a ON a.attrelid" EQ "i.indrelid"
"         AND a.attnum" EQ "k.attnum"
"    JOIN pg_catalog.pg_type ty ON ty.oid" EQ "a.atttypid"
"    LEFT JOIN pg_catalog.pg_stats s ON s.schemaname" EQ "tn.nspname"
"         AND s.tablename" EQ "t.relname AND s.attname" EQ "a.attname"
"         AND NOT s.inherited)"
INDEX_FROM
" JOIN pg_catalog.pg_am am ON am.oid" EQ "c.relam"
" WHERE am.amname" EQ "'btree' AND i.indisvalid AND c.relkind" EQ "'i'"
" AND c.relpages OPERATOR(pg_catalog.>=) " CppAsString2(BLOAT_MIN_PAGES)
" AND c.reltuples OPERATOR(pg_catalog.>=) 0"
" AND NOT (0::pg_catalog.int2" EQ "ANY (i.indkey::pg_catalog.int2[])) AND" SCOPE_CLAUSE
" ORDER BY 1";

static const char *unused_sql =
"SELECT i.indexrelid," QUALIFIED("n.nspname", "c.relname") ","
" i.indrelid, pg_catalog.pg_stat_get_numscans(i.indexrelid)"
INDEX_FROM
" WHERE i.indisvalid AND c.relkind" EQ "'i' AND NOT i.indisunique"
" AND NOT i.indisprimary AND NOT i.indisexclusion AND NOT i.indisreplident"
" AND" SCOPE_CLAUSE
" ORDER BY 1";

static const char *stale_sql =
"SELECT t.oid," QUALIFIED("tn.nspname", "t.relname") ","
" s.n_mod_since_analyze, GREATEST(t.reltuples::pg_catalog.float8, 0),"
" GREATEST(s.last_analyze, s.last_autoanalyze)"
" FROM pg_catalog.pg_class t"
" JOIN pg_catalog.pg_namespace tn ON tn.oid" EQ "t.relnamespace"
" JOIN pg_catalog.pg_stat_all_tables s ON s.relid" EQ "t.oid"
" WHERE (t.relkind" EQ "'r' OR t.relkind" EQ "'m')"
" AND s.n_mod_since_analyze::pg_catalog.float8 OPERATOR(pg_catalog.>)"
"     ($3 OPERATOR(pg_catalog.+)"
"      ($4 OPERATOR(pg_catalog.*) GREATEST(t.reltuples::pg_catalog.float8, 0)))"
" AND" SCOPE_CLAUSE
" ORDER BY 1";

/*
 * col_oid, col_text, col_float8, col_int64, col_bool
 *		Column i (1-based) of row r of the last SPI result.
 */
static Oid
col_oid(int r, int i)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc,
								  i, &isnull);

	return isnull ? InvalidOid : DatumGetObjectId(d);
}

static char *
col_text(int r, int i)
{
	char	   *s = SPI_getvalue(SPI_tuptable->vals[r], SPI_tuptable->tupdesc, i);

	return s ? s : "";
}

static double
col_float8(int r, int i, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc,
								  i, isnull);

	return *isnull ? 0 : DatumGetFloat8(d);
}

static int64
col_int64(int r, int i)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc,
								  i, &isnull);

	return isnull ? 0 : DatumGetInt64(d);
}

static bool
col_bool(int r, int i)
{
	bool		isnull;
	Datum		d = SPI_getbinval(SPI_tuptable->vals[r], SPI_tuptable->tupdesc,
								  i, &isnull);

	return !isnull && DatumGetBool(d);
}

/*
 * run_query
 *		Run one detector query with the scope arguments ($1, $2) and the
 *		stale-statistics thresholds ($3, $4).
 */
static void
run_query(const char *sql, const NdagHealParams *params, Datum enabled)
{
	Oid			types[4] = {BOOLOID, OIDARRAYOID, FLOAT8OID, FLOAT8OID};
	Datum		values[4];
	int			rc;

	values[0] = BoolGetDatum(params->scope == NDAG_HEAL_SCOPE_ALL);
	values[1] = enabled;
	values[2] = Float8GetDatum((double) params->stale_min_rows);
	values[3] = Float8GetDatum(params->stale_ratio);
	rc = SPI_execute_with_args(sql, 4, types, values, NULL, true, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "self-healing detector query failed: %s",
			 SPI_result_code_string(rc));
}

/*
 * new_event
 *		An event of kind at the current time, allocated in cxt.
 */
static NdagHealEvent *
new_event(MemoryContext cxt, const char *kind)
{
	NdagHealEvent *ev = MemoryContextAllocZero(cxt, sizeof(NdagHealEvent));

	ev->kind = kind;
	ev->at = GetCurrentTimestamp();
	return ev;
}

/*
 * set_reindex_repair
 *		Make an index event's repair a REINDEX INDEX CONCURRENTLY, which
 *		must run outside a transaction block.
 */
static void
set_reindex_repair(NdagHealEvent *ev, const char *index)
{
	ev->sql = psprintf("REINDEX INDEX CONCURRENTLY %s", index);
	ev->concurrent = true;
	ev->action = pstrdup(ev->sql);
	ev->repair = NDAG_HEAL_SQL;
}

/*
 * detect_invalid
 *		Invalid indexes (a failed CREATE INDEX CONCURRENTLY or REINDEX
 *		CONCURRENTLY) on tables with no index build in progress.
 */
static List *
detect_invalid(MemoryContext cxt, const NdagHealParams *params, Datum enabled)
{
	List	   *events = NIL;

	run_query(invalid_sql, params, enabled);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
		NdagHealEvent *ev = new_event(cxt, "invalid_index");
		const char *index = col_text(r, 2);
		const char *table = col_text(r, 4);

		ev->objid = col_oid(r, 1);
		ev->relid = col_oid(r, 3);
		ev->object = pstrdup(index);
		ev->detail = psprintf("index on %s has pg_index.indisvalid = false%s",
							  table,
							  col_bool(r, 5) ? "" : " and indisready = false");
		if (col_bool(r, 6))
		{
			/* rebuilding a transient index of REINDEX CONCURRENTLY is pointless */
			ev->detail = psprintf("%s; its name marks it as left over by an interrupted REINDEX CONCURRENTLY",
								  ev->detail);
			ev->action = psprintf("none by neural_dag, which never drops anything: DROP INDEX CONCURRENTLY %s, then REINDEX the original index",
								  index);
			ev->repair = NDAG_HEAL_NONE;
			ev->status = "recommended";
		}
		else
		{
			set_reindex_repair(ev, index);
		}
		events = lappend(events, ev);
		MemoryContextSwitchTo(oldcxt);
	}
	return events;
}

/*
 * detect_bloated
 *		Valid B-tree indexes of at least BLOAT_MIN_PAGES pages whose
 *		estimated share of bloat is over the threshold.  The estimate is
 *		the pages a freshly built index would need (ndag_heal_btree_pages):
 *		reltuples leaf tuples of the average key width (pg_stats, else the
 *		type's length) at the index's fillfactor.
 *		Expression indexes are skipped: their key width is unknown.
 */
static List *
detect_bloated(MemoryContext cxt, const NdagHealParams *params, Datum enabled)
{
	List	   *events = NIL;

	run_query(bloat_sql, params, enabled);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		double		relpages = col_float8(r, 4, &isnull);
		double		reltuples = col_float8(r, 5, &isnull);
		int			fill = (int) col_int64(r, 6);
		double		width = col_float8(r, 7, &isnull);
		double		expected;
		double		ratio;
		MemoryContext oldcxt;
		NdagHealEvent *ev;

		if (isnull || relpages <= 0)
			continue;			/* a key column of unknown width */
		fill = (fill < 10 || fill > 100) ? BT_DEFAULT_FILL : fill;
		expected = ndag_heal_btree_pages(reltuples, width, fill, BLCKSZ);
		if (expected <= 0)
			continue;
		ratio = 1.0 - expected / relpages;
		if (ratio <= params->bloat_ratio)
			continue;

		oldcxt = MemoryContextSwitchTo(cxt);
		ev = new_event(cxt, "bloated_index");
		ev->objid = col_oid(r, 1);
		ev->relid = col_oid(r, 3);
		ev->object = pstrdup(col_text(r, 2));
		ev->detail = psprintf("%.0f pages for %.0f tuples of about %.0f bytes, about %.0f pages expected at fillfactor %d: estimated bloat %.0f%% (threshold %.0f%%)",
							  relpages, reltuples, width, expected, fill,
							  ratio * 100, params->bloat_ratio * 100);
		set_reindex_repair(ev, ev->object);
		events = lappend(events, ev);
		MemoryContextSwitchTo(oldcxt);
	}
	return events;
}

/*
 * detect_unused
 *		Indexes that neither enforce a constraint nor serve as replica
 *		identity and whose idx_scan has not moved since the baseline an
 *		earlier check recorded, reported once until they are scanned again
 *		(or the statistics are reset).  Only ever recommended: neural_dag
 *		never drops anything.
 */
static List *
detect_unused(MemoryContext cxt, const NdagHealParams *params, Datum enabled)
{
	List	   *events = NIL;

	run_query(unused_sql, params, enabled);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		Oid			indexoid = col_oid(r, 1);
		int64		scans = col_int64(r, 4);
		int64		since;
		MemoryContext oldcxt;
		NdagHealEvent *ev;

		if (!NdagHealIndexBaseline(indexoid, scans, &since) ||
			NdagHealIndexReported(indexoid, since))
			continue;

		oldcxt = MemoryContextSwitchTo(cxt);
		ev = new_event(cxt, "unused_index");
		ev->objid = indexoid;
		ev->relid = col_oid(r, 3);
		ev->object = pstrdup(col_text(r, 2));
		ev->detail = psprintf("idx_scan still %lld, as at %s",
							  (long long) scans,
							  timestamptz_to_str((TimestampTz) since));
		ev->action = psprintf("none by neural_dag, which never drops anything: consider DROP INDEX CONCURRENTLY %s if it stays unused",
							  ev->object);
		ev->repair = NDAG_HEAL_NONE;
		ev->status = "recommended";
		events = lappend(events, ev);
		MemoryContextSwitchTo(oldcxt);
	}
	return events;
}

/*
 * detect_stale
 *		Tables with more rows modified since their last ANALYZE than
 *		stale_min_rows + stale_ratio * reltuples; the detail says what the
 *		learned patterns on the table look like.
 */
static List *
detect_stale(MemoryContext cxt, const NdagHealParams *params, Datum enabled)
{
	List	   *events = NIL;

	run_query(stale_sql, params, enabled);
	for (uint64 r = 0; r < SPI_processed; r++)
	{
		bool		isnull;
		int64		nmod = col_int64(r, 3);
		double		reltuples = col_float8(r, 4, &isnull);
		char	   *last = SPI_getvalue(SPI_tuptable->vals[r],
										SPI_tuptable->tupdesc, 5);
		MemoryContext oldcxt = MemoryContextSwitchTo(cxt);
		NdagHealEvent *ev = new_event(cxt, "stale_statistics");
		StringInfoData buf;

		ev->objid = col_oid(r, 1);
		ev->relid = ev->objid;
		ev->object = pstrdup(col_text(r, 2));
		initStringInfo(&buf);
		appendStringInfo(&buf, "%lld rows modified since the last analyze (%s), threshold %.0f for %.0f rows",
						 (long long) nmod, last ? last : "never",
						 params->stale_min_rows + params->stale_ratio * reltuples,
						 reltuples);
		NdagHealPatternSummary(ev->relid, &buf);
		ev->detail = buf.data;
		ev->sql = psprintf("ANALYZE %s", ev->object);
		ev->action = pstrdup(ev->sql);
		ev->repair = NDAG_HEAL_SQL;
		ev->needs_owner = true;
		events = lappend(events, ev);
		MemoryContextSwitchTo(oldcxt);
	}
	return events;
}

typedef List *(*CatalogDetector) (MemoryContext cxt,
								  const NdagHealParams *params,
								  Datum enabled);

static const CatalogDetector detectors[] = {
	detect_invalid, detect_bloated, detect_unused, detect_stale
};

/* what run_detectors works on */
typedef struct DetectState
{
	MemoryContext cxt;			/* where the events go */
	const NdagHealParams *params;
	Datum		enabled;		/* oid[] of the enabled tables */
	List	   *events;
} DetectState;

/*
 * run_detectors
 *		Run every catalog detector in one SPI connection (an NdagSafeSqlFunc).
 */
static void
run_detectors(void *arg)
{
	DetectState *state = (DetectState *) arg;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	for (int d = 0; d < (int) lengthof(detectors); d++)
	{
		List	   *found = detectors[d] (state->cxt, state->params,
										  state->enabled);
		MemoryContext oldcxt = MemoryContextSwitchTo(state->cxt);

		state->events = list_concat(state->events, found);
		MemoryContextSwitchTo(oldcxt);
	}
	SPI_finish();
}

/*
 * NdagHealDetectCatalog
 *		The findings of the catalog detectors, in the caller's context.
 */
List *
NdagHealDetectCatalog(const NdagHealParams *params, List *enabled_relids)
{
	DetectState state;
	int			n = list_length(enabled_relids);
	Datum	   *elems = palloc(sizeof(Datum) * Max(n, 1));
	int			i = 0;
	ListCell   *lc;

	foreach(lc, enabled_relids)
		elems[i++] = ObjectIdGetDatum(lfirst_oid(lc));
	state.cxt = CurrentMemoryContext;
	state.params = params;
	state.enabled = PointerGetDatum(construct_array(elems, n, OIDOID,
													sizeof(Oid), true,
													TYPALIGN_INT));
	state.events = NIL;
	NdagRunSafeSql(run_detectors, &state);
	return state.events;
}
