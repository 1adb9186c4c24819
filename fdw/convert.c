/*-------------------------------------------------------------------------
 *
 * convert.c
 *	  Conversion between the store's field values and PostgreSQL Datums.
 *
 * Each StoreFieldType has one SQL type (regclass may stand for oid).
 * Values decoded by the store point into the record and may be unaligned,
 * so every variable-length value is copied with memcpy into a palloc'd
 * Datum in the current memory context.  Arrays are one-dimensional with
 * lower bound 1 and no NULL elements, which is how the learner writes them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "fdw.h"

/*
 * array_element_type
 *		Element type and width of an array field type, or InvalidOid.
 */
static Oid
array_element_type(StoreFieldType type, int *elsize)
{
	switch (type)
	{
		case STORE_INT4_ARRAY:
			*elsize = sizeof(int32);
			return INT4OID;
		case STORE_INT8_ARRAY:
			*elsize = sizeof(int64);
			return INT8OID;
		case STORE_OID_ARRAY:
			*elsize = sizeof(Oid);
			return OIDOID;
		case STORE_FLOAT4_ARRAY:
			*elsize = sizeof(float4);
			return FLOAT4OID;
		case STORE_FLOAT8_ARRAY:
			*elsize = sizeof(float8);
			return FLOAT8OID;
		default:
			*elsize = 0;
			return InvalidOid;
	}
}

/*
 * NdagFdwFieldTypeOid
 *		The SQL type a field type is shown as.
 */
Oid
NdagFdwFieldTypeOid(StoreFieldType type)
{
	switch (type)
	{
		case STORE_INT4:
			return INT4OID;
		case STORE_INT8:
			return INT8OID;
		case STORE_OID:
			return OIDOID;
		case STORE_FLOAT4:
			return FLOAT4OID;
		case STORE_FLOAT8:
			return FLOAT8OID;
		case STORE_BOOL:
			return BOOLOID;
		case STORE_TEXT:
			return TEXTOID;
		case STORE_TIMESTAMPTZ:
			return TIMESTAMPTZOID;
		case STORE_BYTEA:
			return BYTEAOID;
		case STORE_INT4_ARRAY:
			return INT4ARRAYOID;
		case STORE_INT8_ARRAY:
			return INT8ARRAYOID;
		case STORE_OID_ARRAY:
			return OIDARRAYOID;
		case STORE_FLOAT4_ARRAY:
			return FLOAT4ARRAYOID;
		case STORE_FLOAT8_ARRAY:
			return FLOAT8ARRAYOID;
	}
	elog(ERROR, "unrecognized store field type %d", (int) type);
	return InvalidOid;			/* keep compiler quiet */
}

/*
 * NdagFdwTypeMatches
 *		Whether a column of type typid can show a field of the given type.
 *
 * Relation oids are shown as regclass so that they print as names and
 * join pg_class; regclass is binary-compatible with oid.
 */
bool
NdagFdwTypeMatches(StoreFieldType type, Oid typid)
{
	if (typid == NdagFdwFieldTypeOid(type))
		return true;
	if (type == STORE_OID && typid == REGCLASSOID)
		return true;
	if (type == STORE_OID_ARRAY && typid == REGCLASSARRAYOID)
		return true;
	return false;
}

/*
 * NOBITMAP_DATA
 *		The data area of an array without a null bitmap.  ARR_DATA_PTR
 *		says the same but trips -Wsign-compare in its ?: operator.
 */
#define NOBITMAP_DATA(a) \
	(((char *) (a)) + ARR_OVERHEAD_NONULLS(ARR_NDIM(a)))

/*
 * make_array
 *		A one-dimensional array of n fixed-width elements copied from data,
 *		which may be unaligned.
 *
 * The elements' width equals their alignment, so the stored packed
 * elements are exactly the array's data area.
 */
static Datum
make_array(Oid elemtype, int elsize, const void *data, uint32 n)
{
	ArrayType  *array;
	Size		nbytes;

	if (n == 0)
		return PointerGetDatum(construct_empty_array(elemtype));

	nbytes = ARR_OVERHEAD_NONULLS(1) + (Size) n * elsize;
	if (!AllocSizeIsValid(nbytes))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("array size exceeds the maximum allowed (%d)",
						(int) MaxAllocSize)));

	array = (ArrayType *) palloc0(nbytes);
	SET_VARSIZE(array, nbytes);
	array->ndim = 1;
	array->dataoffset = 0;
	array->elemtype = elemtype;
	ARR_DIMS(array)[0] = (int) n;
	ARR_LBOUND(array)[0] = 1;
	memcpy(NOBITMAP_DATA(array), data, (Size) n * elsize);
	return PointerGetDatum(array);
}

/*
 * NdagFdwValueToDatum
 *		The Datum of a non-null field value.
 */
Datum
NdagFdwValueToDatum(const StoreValue *value, StoreFieldType type)
{
	Assert(!value->isnull);

	switch (type)
	{
		case STORE_INT4:
			return Int32GetDatum(value->v.i4);
		case STORE_INT8:
			return Int64GetDatum(value->v.i8);
		case STORE_OID:
			return ObjectIdGetDatum(value->v.oid);
		case STORE_FLOAT4:
			return Float4GetDatum(value->v.f4);
		case STORE_FLOAT8:
			return Float8GetDatum(value->v.f8);
		case STORE_BOOL:
			return BoolGetDatum(value->v.b);
		case STORE_TIMESTAMPTZ:
			return TimestampTzGetDatum(value->v.ts);
		case STORE_TEXT:
			return PointerGetDatum(cstring_to_text_with_len(value->data,
															(int) value->len));
		case STORE_BYTEA:
			{
				bytea	   *result = palloc(VARHDRSZ + value->len);

				SET_VARSIZE(result, VARHDRSZ + value->len);
				if (value->len > 0)
					memcpy(VARDATA(result), value->data, value->len);
				return PointerGetDatum(result);
			}
		case STORE_INT4_ARRAY:
		case STORE_INT8_ARRAY:
		case STORE_OID_ARRAY:
		case STORE_FLOAT4_ARRAY:
		case STORE_FLOAT8_ARRAY:
			{
				int			elsize;
				Oid			elemtype = array_element_type(type, &elsize);

				return make_array(elemtype, elsize, value->data, value->len);
			}
	}
	elog(ERROR, "unrecognized store field type %d", (int) type);
	return (Datum) 0;			/* keep compiler quiet */
}

/*
 * NdagFdwDatumToValue
 *		Fill a StoreValue from a Datum of the field's SQL type.
 *
 * Text, bytea and array values point into the (detoasted) Datum, which
 * must stay valid while the value is used.  An array must be
 * one-dimensional without NULL elements, as the store holds plain vectors.
 */
void
NdagFdwDatumToValue(Datum datum, bool isnull, StoreFieldType type,
					StoreValue *value)
{
	memset(value, 0, sizeof(StoreValue));
	value->isnull = isnull;
	if (isnull)
		return;

	switch (type)
	{
		case STORE_INT4:
			value->v.i4 = DatumGetInt32(datum);
			break;
		case STORE_INT8:
			value->v.i8 = DatumGetInt64(datum);
			break;
		case STORE_OID:
			value->v.oid = DatumGetObjectId(datum);
			break;
		case STORE_FLOAT4:
			value->v.f4 = DatumGetFloat4(datum);
			break;
		case STORE_FLOAT8:
			value->v.f8 = DatumGetFloat8(datum);
			break;
		case STORE_BOOL:
			value->v.b = DatumGetBool(datum);
			break;
		case STORE_TIMESTAMPTZ:
			value->v.ts = DatumGetTimestampTz(datum);
			break;
		case STORE_TEXT:
		case STORE_BYTEA:
			{
				struct varlena *v = PG_DETOAST_DATUM_PACKED(datum);

				value->data = VARDATA_ANY(v);
				value->len = VARSIZE_ANY_EXHDR(v);
				break;
			}
		case STORE_INT4_ARRAY:
		case STORE_INT8_ARRAY:
		case STORE_OID_ARRAY:
		case STORE_FLOAT4_ARRAY:
		case STORE_FLOAT8_ARRAY:
			{
				ArrayType  *array = DatumGetArrayTypeP(datum);
				int			elsize;
				Oid			elemtype = array_element_type(type, &elsize);

				if (ARR_ELEMTYPE(array) != elemtype &&
					!(elemtype == OIDOID && ARR_ELEMTYPE(array) == REGCLASSOID))
					elog(ERROR, "array of type %s where %s was expected",
						 format_type_be(ARR_ELEMTYPE(array)),
						 format_type_be(elemtype));
				if (ARR_NDIM(array) > 1 || ARR_HASNULL(array))
					ereport(ERROR,
							(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
							 errmsg("neural_dag stores only one-dimensional arrays without null elements")));
				value->data = NOBITMAP_DATA(array);
				value->len = ARR_NDIM(array) == 0 ? 0 : ARR_DIMS(array)[0];
				break;
			}
	}
}

/*
 * NdagFdwStoreSlot
 *		Store a record's values as a virtual tuple of the foreign table.
 *
 * Columns for which needed[] is false (not referenced by the query) are
 * left NULL so that large arrays nobody reads are not built; needed may be
 * NULL for all columns.
 */
void
NdagFdwStoreSlot(const NdagFdwTable *table, const StoreValue *values,
				 const bool *needed, TupleTableSlot *slot)
{
	ExecClearTuple(slot);
	for (int i = 0; i < table->natts; i++)
	{
		int			field = table->att_field[i];

		slot->tts_isnull[i] = true;
		slot->tts_values[i] = (Datum) 0;
		if (field < 0 || (needed != NULL && !needed[i]) ||
			values[field].isnull)
			continue;
		slot->tts_values[i] =
			NdagFdwValueToDatum(&values[field],
								table->schema->fields[field].type);
		slot->tts_isnull[i] = false;
	}
	ExecStoreVirtualTuple(slot);
}

/*
 * NdagFdwValuesFromSlot
 *		Fill the record values of the fields the table shows from a slot;
 *		hidden fields become NULL.
 */
void
NdagFdwValuesFromSlot(const NdagFdwTable *table, TupleTableSlot *slot,
					  StoreValue *values)
{
	const StoreSchema *schema = table->schema;

	slot_getallattrs(slot);
	for (int f = 0; f < schema->nfields; f++)
	{
		AttrNumber	attnum = table->field_att[f];

		if (attnum == InvalidAttrNumber)
		{
			memset(&values[f], 0, sizeof(StoreValue));
			values[f].isnull = true;
			continue;
		}
		NdagFdwDatumToValue(slot->tts_values[attnum - 1],
							slot->tts_isnull[attnum - 1],
							schema->fields[f].type, &values[f]);
	}
}
