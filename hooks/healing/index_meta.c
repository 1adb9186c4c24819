/*-------------------------------------------------------------------------
 *
 * index_meta.c
 *	  The index metadata of the learned patterns (DBI index_meta): which
 *	  indexes the plans of each pattern's chosen arm use, filled by the
 *	  learning cycle, and the self-healing detector that reports an index
 *	  of that metadata which was dropped, became invalid or was rebuilt.
 *
 * A record is (dbid, pattern_id, indexrelid) with the arm, the index's
 * table, qualified name, relfilenode and validity as last seen, and when
 * it was recorded.  The learning cycle adds the indexes of every new
 * trajectory whose nearest pattern (ndag_match, top 1, over the bank after
 * extraction) has the trajectory's arm as its best arm, and deletes the
 * records of patterns that no longer exist or whose best arm changed.
 *
 * The learner worker connects to no database, so it cannot read the
 * catalogs of the database it learns for: the catalog fields stay null
 * until the self-healing check of that database (or a cycle run by
 * ruvector_dag_learn() there) fills them in.  The check compares them with
 * the catalogs: a dropped index deletes its records, an index that became
 * invalid or got a new relfilenode (REINDEX, VACUUM FULL) is updated in
 * place, and one rebuilt by REINDEX CONCURRENTLY (a new index that took
 * the old one's name on the same table) gets the records moved to it, so
 * that each change is reported once.  The check's own rebuilds of invalid
 * or bloated indexes are noted without a report (NdagIndexMetaRefresh).  The event's repair halves
 * the confidence of the patterns that depend on the index
 * (healing_patterns.c), until the next cycle measures them again.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_index.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/regproc.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "engine.h"
#include "patterns.h"
#include "compat/compat_backend.h"
#include "core/core.h"
#include "healing/selfheal.h"
#include "store.h"

/* the learning cycle's meta counter of the newest trajectory it consumed */
#define LEARNED_TRAJ_PREFIX		"learned_traj"

/* what the catalogs say about an index */
typedef struct IndexState
{
	bool		exists;			/* an index with this oid exists */
	Oid			relfilenode;
	bool		valid;
	Oid			relid;
	char	   *name;			/* schema-qualified */
} IndexState;

/* one stored record, decoded */
typedef struct MetaRow
{
	int64		pattern_id;
	Oid			indexrelid;
	int32		arm;
	bool		known;			/* catalog fields filled in */
	Oid			relfilenode;
	bool		valid;
	Oid			relid;
	char	   *name;
	TimestampTz recorded_at;
} MetaRow;

/*
 * index_state
 *		The catalogs' view of an index of the current database.
 */
static void
index_state(Oid indexrelid, IndexState *st)
{
	HeapTuple	tup;
	Form_pg_class cls;

	memset(st, 0, sizeof(IndexState));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(indexrelid));
	if (!HeapTupleIsValid(tup))
		return;
	cls = (Form_pg_class) GETSTRUCT(tup);
	if (cls->relkind != RELKIND_INDEX)
	{
		/* the oid was reused by another kind of relation */
		ReleaseSysCache(tup);
		return;
	}
	st->relfilenode = cls->relfilenode;
	st->name = quote_qualified_identifier(get_namespace_name(cls->relnamespace),
										  NameStr(cls->relname));
	ReleaseSysCache(tup);

	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(indexrelid));
	if (!HeapTupleIsValid(tup))
		return;
	st->valid = ((Form_pg_index) GETSTRUCT(tup))->indisvalid;
	st->relid = ((Form_pg_index) GETSTRUCT(tup))->indrelid;
	st->exists = true;
	ReleaseSysCache(tup);
}

/*
 * set_catalog_fields
 *		Put an index's catalog state into a record (and flag the fields in
 *		changed[], if given).
 */
static void
set_catalog_fields(StoreValue *values, bool *changed, const IndexState *st)
{
	const char *fields[] = {"relid", "index_name", "relfilenode", "valid"};
	StoreValue *v;

	StoreFieldSet(values, STORE_DBI_INDEX_META, "relid")->v.oid = st->relid;
	v = StoreFieldSet(values, STORE_DBI_INDEX_META, "index_name");
	v->data = st->name;
	v->len = strlen(st->name);
	StoreFieldSet(values, STORE_DBI_INDEX_META, "relfilenode")->v.oid = st->relfilenode;
	StoreFieldSet(values, STORE_DBI_INDEX_META, "valid")->v.b = st->valid;
	if (changed != NULL)
	{
		for (int i = 0; i < (int) lengthof(fields); i++)
			changed[StoreFieldIndex(STORE_DBI_INDEX_META, fields[i])] = true;
	}
}

/*
 * key_values
 *		A record with the key of (dbid, pattern_id, indexrelid) only.
 */
static StoreValue *
key_values(Oid dbid, int64 pattern_id, Oid indexrelid)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_INDEX_META);

	StoreFieldSet(values, STORE_DBI_INDEX_META, "dbid")->v.oid = dbid;
	StoreFieldSet(values, STORE_DBI_INDEX_META, "pattern_id")->v.i8 = pattern_id;
	StoreFieldSet(values, STORE_DBI_INDEX_META, "indexrelid")->v.oid = indexrelid;
	return values;
}

/*
 * load_rows
 *		The index_meta records of a database, in key order.
 */
static List *
load_rows(Oid dbid)
{
	StoreValue *values = StoreRecordAlloc(STORE_DBI_INDEX_META);
	int			f_pattern = StoreFieldIndex(STORE_DBI_INDEX_META, "pattern_id");
	int			f_index = StoreFieldIndex(STORE_DBI_INDEX_META, "indexrelid");
	int			f_arm = StoreFieldIndex(STORE_DBI_INDEX_META, "arm");
	int			f_node = StoreFieldIndex(STORE_DBI_INDEX_META, "relfilenode");
	int			f_valid = StoreFieldIndex(STORE_DBI_INDEX_META, "valid");
	int			f_name = StoreFieldIndex(STORE_DBI_INDEX_META, "index_name");
	int			f_relid = StoreFieldIndex(STORE_DBI_INDEX_META, "relid");
	int			f_at = StoreFieldIndex(STORE_DBI_INDEX_META, "recorded_at");
	List	   *rows = NIL;
	StoreScan  *scan;

	scan = StoreScanBegin(STORE_DBI_INDEX_META, dbid, NULL, false);
	while (StoreScanNext(scan, values))
	{
		MetaRow    *row = palloc0(sizeof(MetaRow));

		row->pattern_id = values[f_pattern].v.i8;
		row->indexrelid = values[f_index].v.oid;
		row->arm = values[f_arm].isnull ? -1 : values[f_arm].v.i4;
		row->known = !values[f_node].isnull && !values[f_valid].isnull;
		row->relfilenode = values[f_node].v.oid;
		row->valid = values[f_valid].v.b;
		row->relid = values[f_relid].isnull ? InvalidOid : values[f_relid].v.oid;
		if (!values[f_name].isnull)
			row->name = pnstrdup(values[f_name].data, values[f_name].len);
		row->recorded_at = values[f_at].isnull ? 0 : values[f_at].v.ts;
		rows = lappend(rows, row);
	}
	StoreScanEnd(scan);
	pfree(values);
	return rows;
}

/*
 * learned_until
 *		The newest traj_id the previous learning cycle of dbid consumed
 *		(the meta counter the cycle's batch is about to advance).
 */
static int64
learned_until(Oid dbid)
{
	int64		last = 0;

	(void) StoreMetaRead(psprintf("%s:%u", LEARNED_TRAJ_PREFIX, dbid), &last);
	return last;
}

/*
 * find_row
 *		The loaded record of (pattern_id, indexrelid), or NULL.
 */
static MetaRow *
find_row(List *rows, int64 pattern_id, Oid indexrelid)
{
	ListCell   *lc;

	foreach(lc, rows)
	{
		MetaRow    *row = (MetaRow *) lfirst(lc);

		if (row->pattern_id == pattern_id && row->indexrelid == indexrelid)
			return row;
	}
	return NULL;
}

/*
 * NdagIndexMetaUpdate
 *		Queue in the learning cycle's batch the index metadata of database
 *		dbid after the cycle: for each trajectory the cycle consumed (traj_id
 *		up to last_traj_id) that used indexes and whose nearest pattern of
 *		bank has its arm as best arm, a record per index; records of
 *		patterns gone from the bank or whose best arm changed are deleted.
 *		Must be called before the batch is applied.
 */
void
NdagIndexMetaUpdate(StoreBatch *batch, Oid dbid,
					const NdagPatternBank *bank, int64 last_traj_id)
{
	List	   *rows = load_rows(dbid);
	List	   *added = NIL;
	StoreValue *values = StoreRecordAlloc(STORE_DBI_TRAJECTORIES);
	int			f_emb = StoreFieldIndex(STORE_DBI_TRAJECTORIES, "embedding");
	int			f_arm = StoreFieldIndex(STORE_DBI_TRAJECTORIES, "arm");
	int			f_idx = StoreFieldIndex(STORE_DBI_TRAJECTORIES, "indexes");
	bool		catalogs = (dbid == MyDatabaseId && IsTransactionState());
	TimestampTz now = GetCurrentTimestamp();
	const StoreSchema *schema = StoreGetSchema(STORE_DBI_INDEX_META);
	StoreKeyRange range;
	StoreScan  *scan;
	ListCell   *lc;

	/* records of patterns gone or whose chosen arm changed */
	foreach(lc, rows)
	{
		MetaRow    *row = (MetaRow *) lfirst(lc);
		int			p = ndag_bank_find(bank, (uint64_t) row->pattern_id);

		if (p < 0 || bank->patterns[p].best_arm != row->arm)
			StoreBatchDelete(batch, STORE_DBI_INDEX_META,
							 key_values(dbid, row->pattern_id, row->indexrelid));
	}
	if (bank->count == 0)
		return;

	memset(&range, 0, sizeof(range));
	range.has_lower = true;
	range.lower_inclusive = false;
	range.lower.v.i8 = learned_until(dbid);
	range.has_upper = true;
	range.upper_inclusive = true;
	range.upper.v.i8 = last_traj_id;
	scan = StoreScanBegin(STORE_DBI_TRAJECTORIES, dbid, &range, false);
	while (StoreScanNext(scan, values))
	{
		NdagMatch	match;
		int			n_out = 0;
		const NdagPattern *pattern;
		float		embedding[NDAG_EMBED_DIM];
		int			rc;

		if (values[f_idx].isnull || values[f_idx].len == 0 ||
			values[f_emb].isnull || values[f_emb].len != NDAG_EMBED_DIM ||
			values[f_arm].isnull)
			continue;
		memcpy(embedding, values[f_emb].data, sizeof(embedding));
		rc = ndag_match(bank, embedding, 1, &match, &n_out);
		NdagEngineCheck(rc, "ndag_match");
		if (n_out < 1)
			continue;
		pattern = &bank->patterns[match.index];
		if (pattern->best_arm != values[f_arm].v.i4)
			continue;

		for (uint32 i = 0; i < values[f_idx].len; i++)
		{
			Oid			indexrelid;
			MetaRow    *row;
			StoreValue *rec;
			bool	   *changed;

			memcpy(&indexrelid, (const char *) values[f_idx].data + i * sizeof(Oid),
				   sizeof(Oid));
			if (find_row(added, (int64) pattern->id, indexrelid) != NULL)
				continue;		/* queued by this cycle already */
			row = palloc0(sizeof(MetaRow));
			row->pattern_id = (int64) pattern->id;
			row->indexrelid = indexrelid;
			added = lappend(added, row);

			rec = key_values(dbid, (int64) pattern->id, indexrelid);
			StoreFieldSet(rec, STORE_DBI_INDEX_META, "arm")->v.i4 = pattern->best_arm;
			StoreFieldSet(rec, STORE_DBI_INDEX_META, "recorded_at")->v.ts = now;
			row = find_row(rows, (int64) pattern->id, indexrelid);
			if (row != NULL && row->arm == pattern->best_arm)
			{
				/* keep the catalog state the check compares with */
				changed = palloc0(sizeof(bool) * schema->nfields);
				changed[StoreFieldIndex(STORE_DBI_INDEX_META, "recorded_at")] = true;
				if (catalogs && !row->known)
				{
					IndexState	st;

					index_state(indexrelid, &st);
					if (st.exists)
						set_catalog_fields(rec, changed, &st);
				}
				StoreBatchPatch(batch, STORE_DBI_INDEX_META, rec, changed);
				continue;
			}
			if (catalogs)
			{
				IndexState	st;

				index_state(indexrelid, &st);
				if (!st.exists)
					continue;	/* dropped since the execution */
				set_catalog_fields(rec, NULL, &st);
			}
			StoreBatchPut(batch, STORE_DBI_INDEX_META, rec);
		}
	}
	StoreScanEnd(scan);
}

/*
 * dependents
 *		The patterns of the loaded records of one index, as "3 (arm 0), 7
 *		(arm 2)", and their ids into *ids (palloc'd, *n of them).
 */
static char *
dependents(List *rows, Oid indexrelid, int64 **ids, int *n)
{
	StringInfoData buf;
	ListCell   *lc;

	initStringInfo(&buf);
	*ids = palloc(sizeof(int64) * Max(list_length(rows), 1));
	*n = 0;
	foreach(lc, rows)
	{
		MetaRow    *row = (MetaRow *) lfirst(lc);

		if (row->indexrelid != indexrelid)
			continue;
		appendStringInfo(&buf, "%s%lld (arm %d)", *n > 0 ? ", " : "",
						 (long long) row->pattern_id, row->arm);
		(*ids)[(*n)++] = row->pattern_id;
	}
	return buf.data;
}

/*
 * successor
 *		The index that took over the name of a vanished index on the same
 *		table (REINDEX CONCURRENTLY builds a new index, swaps the names and
 *		drops the old one), or InvalidOid.
 */
static Oid
successor(const MetaRow *row)
{
	List	   *names;
	Oid			oid;
	IndexState	st;

	if (row->name == NULL || !OidIsValid(row->relid))
		return InvalidOid;
	names = NdagQualifiedNameList(row->name);
	oid = RangeVarGetRelid(makeRangeVarFromNameList(names), NoLock, true);
	if (!OidIsValid(oid) || oid == row->indexrelid)
		return InvalidOid;
	index_state(oid, &st);
	if (!st.exists || st.relid != row->relid)
		return InvalidOid;
	return oid;
}

/*
 * sync_index
 *		Queue in batch what brings the records of one index up to date
 *		with the catalogs: deleted if it was dropped, moved to its successor
 *		if it was rebuilt concurrently, else the catalog fields updated.
 *		Returns what changed that costs its patterns confidence (a drop, a
 *		rebuild, becoming invalid), or NULL; *name gets the index's name.
 */
static char *
sync_index(List *rows, const MetaRow *first, StoreBatch *batch,
		   char **name)
{
	const StoreSchema *schema = StoreGetSchema(STORE_DBI_INDEX_META);
	Oid			indexrelid = first->indexrelid;
	Oid			target = indexrelid;
	IndexState	st;
	char	   *what = NULL;
	ListCell   *lc;

	index_state(indexrelid, &st);
	*name = first->name;
	if (!st.exists)
	{
		Oid			next = successor(first);

		if (OidIsValid(next))
		{
			index_state(next, &st);
			target = next;
			*name = st.name;
			what = psprintf("index %s was rebuilt concurrently: oid %u, relfilenode %u, were oid %u, relfilenode %u",
							st.name, next, st.relfilenode, indexrelid,
							first->relfilenode);
		}
		else if (first->known)
			what = psprintf("index %s (oid %u, relfilenode %u) was dropped",
							first->name ? first->name : "?", indexrelid,
							first->relfilenode);
	}
	else
	{
		*name = st.name;
		if (!st.valid && (!first->known || first->valid))
			what = psprintf("index %s is invalid (pg_index.indisvalid = false)",
							st.name);
		else if (first->known && st.relfilenode != first->relfilenode)
			what = psprintf("index %s was rebuilt: relfilenode %u, was %u",
							st.name, st.relfilenode, first->relfilenode);
	}

	foreach(lc, rows)
	{
		MetaRow    *r = (MetaRow *) lfirst(lc);
		StoreValue *rec;
		bool	   *changed;

		if (r->indexrelid != indexrelid)
			continue;
		rec = key_values(MyDatabaseId, r->pattern_id, indexrelid);
		if (!st.exists || target != indexrelid)
		{
			StoreBatchDelete(batch, STORE_DBI_INDEX_META, rec);
			if (!st.exists)
				continue;
			rec = key_values(MyDatabaseId, r->pattern_id, target);
			StoreFieldSet(rec, STORE_DBI_INDEX_META, "arm")->v.i4 = r->arm;
			StoreFieldSet(rec, STORE_DBI_INDEX_META, "recorded_at")->v.ts = r->recorded_at;
			set_catalog_fields(rec, NULL, &st);
			StoreBatchPut(batch, STORE_DBI_INDEX_META, rec);
			continue;
		}
		if (r->known && r->relfilenode == st.relfilenode &&
			r->valid == st.valid && r->name != NULL &&
			strcmp(r->name, st.name) == 0 && r->relid == st.relid)
			continue;
		changed = palloc0(sizeof(bool) * schema->nfields);
		set_catalog_fields(rec, changed, &st);
		StoreBatchPatch(batch, STORE_DBI_INDEX_META, rec, changed);
	}
	return what;
}

/*
 * index_event
 *		The pattern_index event of one index whose state changed.
 */
static NdagHealEvent *
index_event(List *rows, Oid indexrelid, const char *name, const char *what)
{
	NdagHealEvent *ev = palloc0(sizeof(NdagHealEvent));
	char	   *patterns;

	ev->kind = "pattern_index";
	ev->object = name ? pstrdup(name) : psprintf("index %u", indexrelid);
	ev->objid = indexrelid;
	patterns = dependents(rows, indexrelid, &ev->pattern_ids, &ev->npatterns);
	ev->detail = psprintf("%s; learned patterns whose chosen arm's plans use it: %s",
						  what, patterns);
	ev->action = psprintf("halve the confidence of patterns %s until the next learning cycle measures them again",
						  patterns);
	ev->repair = NDAG_HEAL_CONFIDENCE;
	ev->factor = 0.5;
	ev->at = GetCurrentTimestamp();
	return ev;
}

/*
 * NdagHealDetectPatternIndex
 *		The pattern_index detector of the current database: one event per
 *		index of the metadata that was dropped, became invalid or was
 *		rebuilt since it was last seen, after which the metadata is brought
 *		up to date.  Records seen for the first time only get the catalog
 *		state, unless the index is invalid already.  Runs in a transaction.
 */
List *
NdagHealDetectPatternIndex(void)
{
	List	   *rows = load_rows(MyDatabaseId);
	List	   *done = NIL;
	List	   *events = NIL;
	StoreBatch *batch = StoreBatchCreate(CurrentMemoryContext);
	ListCell   *lc;

	foreach(lc, rows)
	{
		MetaRow    *row = (MetaRow *) lfirst(lc);
		char	   *what;
		char	   *name;

		if (list_member_oid(done, row->indexrelid))
			continue;
		done = lappend_oid(done, row->indexrelid);
		what = sync_index(rows, row, batch, &name);
		if (what != NULL)
			events = lappend(events,
							 index_event(rows, row->indexrelid, name, what));
	}
	if (StoreBatchLength(batch) > 0)
		StoreBatchApply(batch);
	return events;
}

/*
 * NdagIndexMetaRefresh
 *		Bring the records of one index up to date without reporting the
 *		change: after the check rebuilt the index itself.  Runs in a
 *		transaction.
 */
void
NdagIndexMetaRefresh(Oid indexrelid)
{
	List	   *rows = load_rows(MyDatabaseId);
	StoreBatch *batch = StoreBatchCreate(CurrentMemoryContext);
	ListCell   *lc;

	foreach(lc, rows)
	{
		MetaRow    *row = (MetaRow *) lfirst(lc);
		char	   *name;

		if (row->indexrelid != indexrelid)
			continue;
		(void) sync_index(rows, row, batch, &name);
		break;
	}
	if (StoreBatchLength(batch) > 0)
		StoreBatchApply(batch);
}
