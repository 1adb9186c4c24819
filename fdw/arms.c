/*-------------------------------------------------------------------------
 *
 * arms.c
 *	  The rules for a custom arm inserted into ndag_arms.
 *
 * An arm is a planner configuration the rewriter may choose.  A user
 * gives its name and settings (and optionally its id and whether it is
 * enabled); everything else is maintained by neural_dag: builtin is false,
 * pulls 0 and mean_reward NULL until the learner measures it.  Ids come
 * from the meta counter next_arm_id, like a sequence.  Ids and names are
 * unique among the committed arms and the ones this transaction added.
 * Writes reach the store only at commit, so two transactions could each
 * check and then both add the same name; inserters therefore hold a
 * cluster-wide lock until they commit, and the second one checks after
 * the first one's arm is stored.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "storage/lock.h"

#include "core/core.h"
#include "fdw.h"

/*
 * Advisory lock serializing inserts into the arms catalogue.  Its database
 * is InvalidOid, as the catalogue is cluster-wide, so it cannot collide
 * with user advisory locks, which carry their database's oid.
 */
#define ARMS_LOCK_KEY1		0x6E646167	/* "ndag" */
#define ARMS_LOCK_KEY2		0x61726D73	/* "arms" */
#define ARMS_LOCK_SPACE		3			/* 1 and 2 are the user key spaces */

/* Field indexes of the arms record, looked up once. */
typedef struct ArmFields
{
	int			arm_id;
	int			name;
	int			settings;
	int			enabled;
	int			builtin;
	int			pulls;
	int			mean_reward;
} ArmFields;

/*
 * arm_field
 *		Index of a field of the arms record; the schema is ours, so a
 *		missing field is a bug.
 */
static int
arm_field(const StoreSchema *schema, const char *name)
{
	int			field = StoreSchemaFieldIndex(schema, name);

	if (field < 0)
		elog(ERROR, "neural_dag store \"arms\" has no field \"%s\"", name);
	return field;
}

/*
 * get_arm_fields
 *		The field indexes of the arms record.
 */
static void
get_arm_fields(const StoreSchema *schema, ArmFields *f)
{
	f->arm_id = arm_field(schema, "arm_id");
	f->name = arm_field(schema, "name");
	f->settings = arm_field(schema, "settings");
	f->enabled = arm_field(schema, "enabled");
	f->builtin = arm_field(schema, "builtin");
	f->pulls = arm_field(schema, "pulls");
	f->mean_reward = arm_field(schema, "mean_reward");
}

/*
 * set_text
 *		Point a text value at a NUL-terminated string.
 */
static void
set_text(StoreValue *value, const char *str)
{
	value->isnull = false;
	value->data = str;
	value->len = strlen(str);
}

/*
 * arm_id_exists
 *		Whether an arm with this id exists, committed or added by this
 *		transaction.
 */
static bool
arm_id_exists(const StoreSchema *schema, const ArmFields *f, int32 arm_id)
{
	StoreValue *key = palloc0(sizeof(StoreValue) * schema->nfields);
	StoreValue *found = palloc0(sizeof(StoreValue) * schema->nfields);

	for (int i = 0; i < schema->nfields; i++)
		key[i].isnull = true;
	key[f->arm_id].isnull = false;
	key[f->arm_id].v.i4 = arm_id;
	return StoreGet(STORE_DBI_ARMS, key, found, true);
}

/*
 * arm_name_exists
 *		Whether an arm is called name; the catalogue is small, so a scan.
 */
static bool
arm_name_exists(const StoreSchema *schema, const ArmFields *f,
				const char *name, int32 *arm_id)
{
	StoreValue *values = palloc0(sizeof(StoreValue) * schema->nfields);
	StoreScan  *scan = StoreScanBegin(STORE_DBI_ARMS, InvalidOid, NULL, true);
	size_t		len = strlen(name);
	bool		found = false;

	while (StoreScanNext(scan, values))
	{
		const StoreValue *n = &values[f->name];

		if (!n->isnull && n->len == len && memcmp(n->data, name, len) == 0)
		{
			*arm_id = values[f->arm_id].v.i4;
			found = true;
			break;
		}
	}
	StoreScanEnd(scan);
	return found;
}

/*
 * lock_arms
 *		Wait for other transactions inserting arms to end; held until this
 *		transaction ends, i.e. after its pending arms are stored.
 */
static void
lock_arms(void)
{
	LOCKTAG		tag;

	SET_LOCKTAG_ADVISORY(tag, InvalidOid, ARMS_LOCK_KEY1, ARMS_LOCK_KEY2,
						 ARMS_LOCK_SPACE);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
}

/*
 * reject_maintained
 *		Refuse a value for a column neural_dag maintains.
 */
static void
reject_maintained(const NdagFdwTable *table, const StoreValue *values,
				  int field)
{
	if (values[field].isnull)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_GENERATED_ALWAYS),
			 errmsg("cannot insert a non-null value into column \"%s\" of foreign table \"%s\"",
					table->schema->fields[field].name, table->relname),
			 errdetail("Column \"%s\" is maintained by neural_dag.",
					   table->schema->fields[field].name),
			 errhint("Insert only arm_id, name, settings and enabled.")));
}

/*
 * require_not_null
 *		Refuse a NULL in a required column, with PostgreSQL's wording.
 */
static void
require_not_null(const NdagFdwTable *table, const StoreValue *values,
				 int field)
{
	if (!values[field].isnull)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_NOT_NULL_VIOLATION),
			 errmsg("null value in column \"%s\" of relation \"%s\" violates not-null constraint",
					table->schema->fields[field].name, table->relname)));
}

/*
 * NdagFdwPrepareArm
 *		Check a new arm and complete it as it will be stored.
 *
 * values holds the inserted row's fields.  On return the settings are
 * validated and in canonical form, defaults are filled in and arm_id is
 * assigned if it was NULL.  Any violation is an ERROR.
 */
void
NdagFdwPrepareArm(const NdagFdwTable *table, StoreValue *values)
{
	const StoreSchema *schema = table->schema;
	ArmFields	f;
	char	   *name;
	char	   *settings;
	List	   *parsed;
	int32		other_id;

	get_arm_fields(schema, &f);

	reject_maintained(table, values, f.builtin);
	reject_maintained(table, values, f.pulls);
	reject_maintained(table, values, f.mean_reward);
	require_not_null(table, values, f.name);
	require_not_null(table, values, f.settings);

	name = pnstrdup(values[f.name].data, values[f.name].len);
	if (name[0] == '\0' || strspn(name, " \t\r\n") == strlen(name))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("arm name must not be empty")));

	settings = pnstrdup(values[f.settings].data, values[f.settings].len);
	parsed = NdagArmSettingsParse(settings);
	NdagArmSettingsValidate(parsed);
	set_text(&values[f.settings], NdagArmSettingsFormat(parsed));
	set_text(&values[f.name], name);

	if (values[f.enabled].isnull)
	{
		values[f.enabled].isnull = false;
		values[f.enabled].v.b = true;
	}
	values[f.builtin].isnull = false;
	values[f.builtin].v.b = false;
	values[f.pulls].isnull = false;
	values[f.pulls].v.i8 = 0;
	values[f.mean_reward].isnull = true;

	lock_arms();

	if (arm_name_exists(schema, &f, name, &other_id))
		ereport(ERROR,
				(errcode(ERRCODE_UNIQUE_VIOLATION),
				 errmsg("an arm named \"%s\" already exists", name),
				 errdetail("Arm %d has that name.", other_id),
				 errhint("Choose another name.")));

	if (values[f.arm_id].isnull)
	{
		int64		id;

		/* ids given explicitly may lie ahead of the counter: skip them */
		do
		{
			id = StoreNextId(NDAGFDW_ARM_COUNTER);
			if (id < 0 || id > PG_INT32_MAX)
				ereport(ERROR,
						(errcode(ERRCODE_SEQUENCE_GENERATOR_LIMIT_EXCEEDED),
						 errmsg("neural_dag counter \"%s\" reached its maximum value",
								NDAGFDW_ARM_COUNTER)));
		} while (arm_id_exists(schema, &f, (int32) id));

		values[f.arm_id].isnull = false;
		values[f.arm_id].v.i4 = (int32) id;
	}
	else
	{
		int32		id = values[f.arm_id].v.i4;

		if (id < 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("arm_id must not be negative"),
					 errhint("Omit arm_id to have one assigned.")));
		if (arm_id_exists(schema, &f, id))
			ereport(ERROR,
					(errcode(ERRCODE_UNIQUE_VIOLATION),
					 errmsg("arm %d already exists", id),
					 errhint("Omit arm_id to have one assigned.")));
	}
}
