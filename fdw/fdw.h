/*-------------------------------------------------------------------------
 *
 * fdw.h
 *	  neural_dag_fdw: foreign tables over the DBIs of the LMDB store.
 *
 * Each foreign table names one DBI with the option "store"; its columns
 * map to record fields by name and may show a subset of them.  Scans read
 * the current database's records (ndag_arms is cluster-wide) with
 * equality and range quals on the first user key field pushed down into
 * cursor positioning.  The few permitted modifications are queued with
 * the store's pending writes and applied when the PostgreSQL transaction
 * commits.
 *
 * Callers include postgres.h first.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_FDW_H
#define NDAG_FDW_H

#include "access/attnum.h"
#include "executor/tuptable.h"
#include "foreign/fdwapi.h"
#include "nodes/pathnodes.h"
#include "utils/relcache.h"

#include "store.h"

/* ---------- constants ---------- */

/* the one table option */
#define NDAGFDW_STORE_OPTION	"store"

/* meta counter that numbers custom arms */
#define NDAGFDW_ARM_COUNTER		"next_arm_id"

/* What the pushed-down key quals of a scan amount to; EXPLAIN shows it. */
typedef enum NdagFdwKeyKind
{
	NDAGFDW_FULL_SCAN,
	NDAGFDW_KEY_RANGE,
	NDAGFDW_KEY_EQUALITY
} NdagFdwKeyKind;

/*
 * Items of ForeignScan.fdw_private.  fdw_exprs holds the values of the
 * pushed-down quals, parallel to the strategies and value types.
 */
enum NdagFdwScanPrivateIndex
{
	NdagFdwScanStore,			/* String: the store's name */
	NdagFdwScanKind,			/* Integer: NdagFdwKeyKind */
	NdagFdwScanStrategies,		/* IntList: btree strategies, key on the left */
	NdagFdwScanValueTypes,		/* OidList: types of the values */
	NdagFdwScanNeeded			/* IntList: attnums the query reads */
};

/* ---------- types ---------- */

/*
 * A foreign table resolved against the schema of its store.  Attribute
 * arrays are indexed by attnum - 1 and include dropped columns.
 */
typedef struct NdagFdwTable
{
	Oid			relid;
	char	   *relname;
	const StoreSchema *schema;
	int			natts;
	int		   *att_field;		/* field index per attribute, -1 if dropped */
	AttrNumber *field_att;		/* attnum per field, 0 if the table hides it */
	int			dbid_field;		/* field of the database oid, -1 if none */
	int			key_field;		/* the user key: first key field after dbid */
	AttrNumber	key_att;		/* its column, 0 if the table hides it */
} NdagFdwTable;

/*
 * One qual "key <op> value" the planner can push down: the key column on
 * the left (commuted if it was written on the right), value a Const or a
 * Param, evaluated when the scan starts.
 */
typedef struct NdagFdwKeyQual
{
	int			strategy;		/* BTLessStrategyNumber .. BTGreaterStrategyNumber */
	Expr	   *value;
	Oid			valuetype;
	RestrictInfo *rinfo;
} NdagFdwKeyQual;

/* Planner state kept in baserel->fdw_private between planning callbacks. */
typedef struct NdagFdwPlanState
{
	NdagFdwTable *table;
	List	   *key_quals;		/* NdagFdwKeyQual * */
	NdagFdwKeyKind kind;
	Bitmapset  *attrs_used;		/* offset by FirstLowInvalidHeapAttributeNumber */
	double		entries;		/* records in the DBI, all databases */
} NdagFdwPlanState;

/* ---------- handler.c: handler, planning, EXPLAIN ---------- */

extern Datum neural_dag_fdw_handler(PG_FUNCTION_ARGS);

/* ---------- options.c: validator, table resolution ---------- */

extern Datum neural_dag_fdw_validator(PG_FUNCTION_ARGS);
extern const StoreSchema *NdagFdwGetStore(Oid relid);
extern NdagFdwTable *NdagFdwGetTable(Relation rel);

/* ---------- convert.c: StoreValue <-> Datum ---------- */

extern Oid	NdagFdwFieldTypeOid(StoreFieldType type);
extern bool NdagFdwTypeMatches(StoreFieldType type, Oid typid);
extern Datum NdagFdwValueToDatum(const StoreValue *value, StoreFieldType type);
extern void NdagFdwDatumToValue(Datum datum, bool isnull, StoreFieldType type,
								StoreValue *value);
extern void NdagFdwStoreSlot(const NdagFdwTable *table,
							 const StoreValue *values, const bool *needed,
							 TupleTableSlot *slot);
extern void NdagFdwValuesFromSlot(const NdagFdwTable *table,
								  TupleTableSlot *slot, StoreValue *values);

/* ---------- pushdown.c: quals -> StoreKeyRange ---------- */

extern void NdagFdwFindKeyQuals(PlannerInfo *root, RelOptInfo *baserel,
								NdagFdwPlanState *state);
extern bool NdagFdwBuildKeyRange(const NdagFdwTable *table,
								 List *strategies, List *valuetypes,
								 const Datum *values, const bool *nulls,
								 StoreKeyRange *range);
extern const char *NdagFdwKeyKindName(NdagFdwKeyKind kind);

/* ---------- scan.c ---------- */

extern void ndagfdwBeginForeignScan(ForeignScanState *node, int eflags);
extern TupleTableSlot *ndagfdwIterateForeignScan(ForeignScanState *node);
extern void ndagfdwReScanForeignScan(ForeignScanState *node);
extern void ndagfdwEndForeignScan(ForeignScanState *node);

/* ---------- modify.c ---------- */

extern int	ndagfdwIsForeignRelUpdatable(Relation rel);
extern void ndagfdwAddForeignUpdateTargets(PlannerInfo *root, Index rtindex,
										   RangeTblEntry *target_rte,
										   Relation target_relation);
extern List *ndagfdwPlanForeignModify(PlannerInfo *root, ModifyTable *plan,
									  Index resultRelation, int subplan_index);
extern void ndagfdwBeginForeignModify(ModifyTableState *mtstate,
									  ResultRelInfo *rinfo, List *fdw_private,
									  int subplan_index, int eflags);
extern TupleTableSlot *ndagfdwExecForeignInsert(EState *estate,
												ResultRelInfo *rinfo,
												TupleTableSlot *slot,
												TupleTableSlot *planSlot);
extern TupleTableSlot *ndagfdwExecForeignUpdate(EState *estate,
												ResultRelInfo *rinfo,
												TupleTableSlot *slot,
												TupleTableSlot *planSlot);
extern TupleTableSlot *ndagfdwExecForeignDelete(EState *estate,
												ResultRelInfo *rinfo,
												TupleTableSlot *slot,
												TupleTableSlot *planSlot);
extern void ndagfdwEndForeignModify(EState *estate, ResultRelInfo *rinfo);
extern void ndagfdwBeginForeignInsert(ModifyTableState *mtstate,
									  ResultRelInfo *rinfo);
extern void ndagfdwEndForeignInsert(EState *estate, ResultRelInfo *rinfo);

/* ---------- arms.c: rules for rows inserted into ndag_arms ---------- */

extern void NdagFdwPrepareArm(const NdagFdwTable *table, StoreValue *values);

/* ---------- queries.c: rules of ndag_queries ---------- */

extern void NdagFdwQueriesBeforeScan(void);
extern void NdagFdwCheckQueryRow(const StoreValue *values);

/* ---------- analyze.c ---------- */

extern bool ndagfdwAnalyzeForeignTable(Relation relation,
									   AcquireSampleRowsFunc *func,
									   BlockNumber *totalpages);

#endif							/* NDAG_FDW_H */
