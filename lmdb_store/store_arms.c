/*-------------------------------------------------------------------------
 *
 * store_arms.c
 *	  The built-in planner-configuration catalogue (the "arms" the rewriter
 *	  chooses from), seeded when an environment is created and re-seeded by
 *	  ruvector_dag_reset('arms').
 *
 * Arm 0 changes nothing; the others switch off one plan shape or change one
 * cost constant.  Measured on TPC-H SF1 (DESIGN.md section 8), hash and
 * merge joins off beat the default over the whole workload, a sign that
 * random_page_cost = 4 is too high for cached data, hence arm 11.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "store_int.h"

/* meta counter that numbers custom arms, continuing after the built-ins */
#define STORE_ARM_COUNTER	"next_arm_id"

typedef struct StoreBuiltinArm
{
	int32		arm_id;
	const char *name;
	const char *settings;
} StoreBuiltinArm;

static const StoreBuiltinArm builtin_arms[] = {
	{0, "default", ""},
	{1, "no_nestloop", "enable_nestloop=off"},
	{2, "no_hashjoin", "enable_hashjoin=off"},
	{3, "no_mergejoin", "enable_mergejoin=off"},
	{4, "no_seqscan", "enable_seqscan=off"},
	{5, "no_indexscan", "enable_indexscan=off, enable_indexonlyscan=off"},
	{6, "no_bitmapscan", "enable_bitmapscan=off"},
	{7, "hash_joins_only", "enable_nestloop=off, enable_mergejoin=off"},
	{8, "nestloop_only", "enable_hashjoin=off, enable_mergejoin=off"},
	{9, "no_parallel", "max_parallel_workers_per_gather=0"},
	{10, "written_join_order", "join_collapse_limit=1"},
	{11, "low_random_page_cost", "random_page_cost=1.1"},
};

#define STORE_NUM_BUILTIN_ARMS ((int) lengthof(builtin_arms))

/*
 * store_builtin_arm_values
 *		The record of built-in arm i: enabled, never pulled.
 */
static void
store_builtin_arm_values(int i, StoreValue *values)
{
	const StoreBuiltinArm *arm = &builtin_arms[i];

	memset(values, 0, sizeof(StoreValue) * 7);
	values[0].v.i4 = arm->arm_id;
	values[1].data = arm->name;
	values[1].len = strlen(arm->name);
	values[2].data = arm->settings;
	values[2].len = strlen(arm->settings);
	values[3].v.b = true;		/* enabled */
	values[4].v.b = true;		/* builtin */
	values[5].v.i8 = 0;			/* pulls */
	values[6].isnull = true;	/* mean_reward: nothing measured yet */
}

/*
 * StoreArmsSeed
 *		Write the built-in arms inside a write transaction and make sure the
 *		custom-arm counter starts after them.
 */
int
StoreArmsSeed(MDB_txn *txn)
{
	StoreValue	values[7];
	int64		next = 0;
	int			rc;

	Assert(StoreGetSchema(STORE_DBI_ARMS)->nfields == 7);
	for (int i = 0; i < STORE_NUM_BUILTIN_ARMS; i++)
	{
		store_builtin_arm_values(i, values);
		rc = StorePutRecord(txn, STORE_DBI_ARMS, values);
		if (rc != 0)
			return rc;
	}

	rc = StoreMetaGet(txn, STORE_ARM_COUNTER, &next);
	if (rc != 0 && rc != MDB_NOTFOUND)
		return rc;
	if (rc == MDB_NOTFOUND || next < STORE_NUM_BUILTIN_ARMS)
		rc = StoreMetaPut(txn, STORE_ARM_COUNTER, STORE_NUM_BUILTIN_ARMS);
	return rc;
}

/*
 * StoreArmsReseed
 *		As part of the current transaction (pending writes): drop every arm
 *		and write the built-in ones afresh, with their statistics reset.
 *		Returns how many custom arms this removes.  Ids are not reused:
 *		the counter of custom arms keeps its value.
 */
int64
StoreArmsReseed(void)
{
	StoreValue	values[7];
	StoreKeyRange range;
	int64		custom;

	/* custom arms are numbered after the built-in ones */
	memset(&range, 0, sizeof(range));
	range.has_lower = true;
	range.lower_inclusive = true;
	range.lower.v.i4 = STORE_NUM_BUILTIN_ARMS;
	custom = (int64) StoreScanCount(StoreScanBegin(STORE_DBI_ARMS, InvalidOid,
												   &range, true));

	StorePendingClear(STORE_DBI_ARMS, InvalidOid);
	for (int i = 0; i < STORE_NUM_BUILTIN_ARMS; i++)
	{
		store_builtin_arm_values(i, values);
		StorePendingPut(STORE_DBI_ARMS, values);
	}
	return custom;
}

/*
 * StoreArmsBuiltinCount
 *		How many built-in arms there are (ids 0 .. count - 1).
 */
int
StoreArmsBuiltinCount(void)
{
	return STORE_NUM_BUILTIN_ARMS;
}
