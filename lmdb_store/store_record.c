/*-------------------------------------------------------------------------
 *
 * store_record.c
 *	  Encoding of records (LMDB values) and keys.
 *
 * A value is, in the machine's native byte order (LMDB's own pages are
 * native too, so an environment never moves between architectures):
 *
 *		uint16	record version (the schema's version when written; older
 *				ones decode too, see store_schema.c and store_migrate.c)
 *		uint16	number of fields
 *		uint32	CRC-32C of every other byte of the record
 *		then per field, in schema order:
 *			uint8	type tag (StoreFieldType)
 *			uint8	null flag (0 or 1); a null field has no payload
 *			payload:
 *				int4, int8, oid, bool, timestamptz: 8 bytes, as int64
 *				float4, float8: 8 bytes, as float8
 *				text, bytea, arrays: uint32 byte length, then the bytes
 *				(array elements native, back to back)
 *
 * Key fields are stored in the value as well, so a value alone decodes to
 * a whole row.  Decoding checks the checksum first (LMDB pages carry none,
 * so a flipped byte of a payload is noticed here), then every length
 * against the bytes that remain and every tag, flag and scalar range, so a
 * damaged value is an error and never a read out of bounds.
 *
 * A key is its key fields, concatenated: int4 and int8 big-endian with the
 * sign bit flipped (negative numbers sort first), oid big-endian, text as
 * raw bytes (only as the last key field).  LMDB compares keys with memcmp,
 * so cursor order is the fields' natural order.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/pg_crc32c.h"
#include "utils/memutils.h"

#include "store_int.h"

/* LMDB's default maximum key size (mdb_env_get_maxkeysize) */
#define STORE_MAX_KEY_SIZE	511

#define STORE_SCALAR_SIZE	8

/* version, field count, checksum */
#define STORE_HEADER_SIZE	(2 * sizeof(uint16) + sizeof(uint32))
#define STORE_CRC_OFFSET	(2 * sizeof(uint16))

static bool store_decode(const StoreSchema *schema, const char *data,
						 size_t len, StoreValue *values, const char **why);

/*
 * StoreFieldElemSize
 *		Element size of an array type, 1 for text and bytea, 0 for scalars.
 */
size_t
StoreFieldElemSize(StoreFieldType type)
{
	switch (type)
	{
		case STORE_TEXT:
		case STORE_BYTEA:
			return 1;
		case STORE_INT4_ARRAY:
			return sizeof(int32);
		case STORE_INT8_ARRAY:
			return sizeof(int64);
		case STORE_OID_ARRAY:
			return sizeof(Oid);
		case STORE_FLOAT4_ARRAY:
			return sizeof(float4);
		case STORE_FLOAT8_ARRAY:
			return sizeof(float8);
		default:
			return 0;
	}
}

/*
 * store_record_crc
 *		CRC-32C of an encoded record, its checksum field excluded.
 */
static uint32
store_record_crc(const char *data, size_t len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data, STORE_CRC_OFFSET);
	COMP_CRC32C(crc, data + STORE_HEADER_SIZE, len - STORE_HEADER_SIZE);
	FIN_CRC32C(crc);
	return (uint32) crc;
}

/*
 * store_append_scalar
 *		Append the 8-byte payload of a scalar field.
 */
static void
store_append_scalar(StoreFieldType type, const StoreValue *value,
					StringInfo out)
{
	int64		i = 0;
	float8		f = 0;

	switch (type)
	{
		case STORE_INT4:
			i = value->v.i4;
			break;
		case STORE_INT8:
			i = value->v.i8;
			break;
		case STORE_OID:
			i = (int64) value->v.oid;
			break;
		case STORE_BOOL:
			i = value->v.b ? 1 : 0;
			break;
		case STORE_TIMESTAMPTZ:
			i = value->v.ts;
			break;
		case STORE_FLOAT4:
			f = value->v.f4;
			appendBinaryStringInfo(out, (const char *) &f, sizeof(f));
			return;
		case STORE_FLOAT8:
			f = value->v.f8;
			appendBinaryStringInfo(out, (const char *) &f, sizeof(f));
			return;
		default:
			elog(ERROR, "field type %d is not a scalar", (int) type);
	}
	appendBinaryStringInfo(out, (const char *) &i, sizeof(i));
}

/*
 * StoreRecordEncode
 *		Append the encoded record of values (schema->nfields of them) to out.
 */
void
StoreRecordEncode(const StoreSchema *schema, const StoreValue *values,
				  StringInfo out)
{
	uint16		version = schema->version;
	uint16		nfields = (uint16) schema->nfields;
	uint32		crc = 0;
	int			start = out->len;

	appendBinaryStringInfo(out, (const char *) &version, sizeof(version));
	appendBinaryStringInfo(out, (const char *) &nfields, sizeof(nfields));
	appendBinaryStringInfo(out, (const char *) &crc, sizeof(crc));

	for (int i = 0; i < schema->nfields; i++)
	{
		StoreFieldType type = schema->fields[i].type;
		const StoreValue *value = &values[i];
		size_t		elemsize = StoreFieldElemSize(type);

		appendStringInfoChar(out, (char) type);
		appendStringInfoChar(out, value->isnull ? 1 : 0);
		if (value->isnull)
			continue;
		if (elemsize == 0)
			store_append_scalar(type, value, out);
		else
		{
			uint64		nbytes = (uint64) value->len * elemsize;
			uint32		len32;

			if (nbytes > PG_UINT32_MAX || nbytes > MaxAllocSize)
				ereport(ERROR,
						(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
						 errmsg("value of field \"%s\" of neural_dag store \"%s\" is too large",
								schema->fields[i].name, schema->name)));
			len32 = (uint32) nbytes;
			appendBinaryStringInfo(out, (const char *) &len32, sizeof(len32));
			if (len32 > 0)
				appendBinaryStringInfo(out, value->data, len32);
		}
	}
	crc = store_record_crc(out->data + start, out->len - start);
	memcpy(out->data + start + STORE_CRC_OFFSET, &crc, sizeof(crc));
}

/*
 * store_decode_scalar
 *		Decode an 8-byte scalar payload, checking its range for the type.
 */
static bool
store_decode_scalar(StoreFieldType type, const char *p, StoreValue *value,
					const char **why)
{
	int64		i;
	float8		f;

	if (type == STORE_FLOAT4 || type == STORE_FLOAT8)
	{
		memcpy(&f, p, sizeof(f));
		if (type == STORE_FLOAT4)
			value->v.f4 = (float4) f;
		else
			value->v.f8 = f;
		return true;
	}

	memcpy(&i, p, sizeof(i));
	switch (type)
	{
		case STORE_INT4:
			if (i < PG_INT32_MIN || i > PG_INT32_MAX)
			{
				*why = "an integer field is out of range";
				return false;
			}
			value->v.i4 = (int32) i;
			break;
		case STORE_INT8:
			value->v.i8 = i;
			break;
		case STORE_OID:
			if (i < 0 || i > (int64) PG_UINT32_MAX)
			{
				*why = "an oid field is out of range";
				return false;
			}
			value->v.oid = (Oid) i;
			break;
		case STORE_BOOL:
			if (i != 0 && i != 1)
			{
				*why = "a boolean field is neither true nor false";
				return false;
			}
			value->v.b = (i == 1);
			break;
		case STORE_TIMESTAMPTZ:
			value->v.ts = (TimestampTz) i;
			break;
		default:
			*why = "unexpected scalar type";
			return false;
	}
	return true;
}

/*
 * store_decode
 *		Decode and validate a record; false with *why set if it is damaged.
 *		values[] point into data afterwards.
 */
static bool
store_decode(const StoreSchema *schema, const char *data, size_t len,
			 StoreValue *values, const char **why)
{
	const char *p = data;
	const char *end = data + len;
	uint16		version;
	uint16		nfields;
	uint32		crc;

	if (len < STORE_HEADER_SIZE)
	{
		*why = psprintf("the record has %zu bytes, fewer than its header", len);
		return false;
	}
	memcpy(&version, p, sizeof(version));
	p += sizeof(version);
	memcpy(&nfields, p, sizeof(nfields));
	p += sizeof(nfields);
	memcpy(&crc, p, sizeof(crc));
	p += sizeof(crc);
	if (version < schema->oldest_version || version > schema->version)
	{
		*why = psprintf("record version %u is not one of the versions %u to %u this server reads",
						version, schema->oldest_version, schema->version);
		return false;
	}
	if (crc != store_record_crc(data, len))
	{
		*why = "its checksum does not match its contents";
		return false;
	}
	/* an older record may lack the fields appended since: they read null */
	if (nfields > schema->nfields ||
		(nfields < schema->nfields && version == schema->version))
	{
		*why = psprintf("the record has %u fields instead of %d",
						nfields, schema->nfields);
		return false;
	}

	for (int i = 0; i < schema->nfields; i++)
	{
		StoreFieldType type = schema->fields[i].type;
		size_t		elemsize = StoreFieldElemSize(type);
		StoreValue *value = &values[i];
		uint8		tag;
		uint8		isnull;

		memset(value, 0, sizeof(StoreValue));
		if (i >= nfields)
		{
			value->isnull = true;
			continue;
		}
		if (end - p < 2)
		{
			*why = psprintf("the record ends before field \"%s\"",
							schema->fields[i].name);
			return false;
		}
		tag = (uint8) p[0];
		isnull = (uint8) p[1];
		p += 2;
		if (tag != (uint8) type)
		{
			*why = psprintf("field \"%s\" has type tag %u instead of %u",
							schema->fields[i].name, tag, (unsigned) type);
			return false;
		}
		if (isnull > 1)
		{
			*why = psprintf("field \"%s\" has null flag %u",
							schema->fields[i].name, isnull);
			return false;
		}
		if (isnull)
		{
			value->isnull = true;
			continue;
		}
		if (elemsize == 0)
		{
			if (end - p < STORE_SCALAR_SIZE)
			{
				*why = psprintf("the record ends inside field \"%s\"",
								schema->fields[i].name);
				return false;
			}
			if (!store_decode_scalar(type, p, value, why))
				return false;
			p += STORE_SCALAR_SIZE;
		}
		else
		{
			uint32		nbytes;

			if (end - p < (ptrdiff_t) sizeof(uint32))
			{
				*why = psprintf("the record ends inside field \"%s\"",
								schema->fields[i].name);
				return false;
			}
			memcpy(&nbytes, p, sizeof(nbytes));
			p += sizeof(nbytes);
			if ((size_t) (end - p) < nbytes)
			{
				*why = psprintf("field \"%s\" claims %u bytes but only %zu remain",
								schema->fields[i].name, nbytes,
								(size_t) (end - p));
				return false;
			}
			if (nbytes % elemsize != 0)
			{
				*why = psprintf("field \"%s\" has %u bytes, not a multiple of its element size %zu",
								schema->fields[i].name, nbytes, elemsize);
				return false;
			}
			value->data = p;
			value->len = (uint32) (nbytes / elemsize);
			p += nbytes;
		}
	}

	if (p != end)
	{
		*why = psprintf("%zu bytes follow the last field", (size_t) (end - p));
		return false;
	}
	for (int k = 0; k < schema->nkeys; k++)
	{
		if (values[schema->key_fields[k]].isnull)
		{
			*why = psprintf("key field \"%s\" is null",
							schema->fields[schema->key_fields[k]].name);
			return false;
		}
	}
	return true;
}

/*
 * StoreRecordTryDecode
 *		Decode a record into values[]; false with *why set if it is damaged.
 */
bool
StoreRecordTryDecode(const StoreSchema *schema, const void *data, size_t len,
					 StoreValue *values, const char **why)
{
	return store_decode(schema, data, len, values, why);
}

/*
 * StoreRecordDecode
 *		Decode a record into values[], raising ERRCODE_DATA_CORRUPTED if it
 *		is damaged or of another version.
 */
void
StoreRecordDecode(const StoreSchema *schema, const void *data, size_t len,
				  StoreValue *values)
{
	const char *why = NULL;

	if (!store_decode(schema, data, len, values, &why))
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("corrupted record in neural_dag store \"%s\"",
						schema->name),
				 errdetail("The record cannot be decoded: %s.", why),
				 errhint("Restore a backup with ruvector_dag_restore(), or remove the damaged state with ruvector_dag_reset().")));
}

/*
 * store_append_be
 *		Append the low nbytes of v big-endian.
 */
static void
store_append_be(uint64 v, int nbytes, StringInfo out)
{
	char		buf[8];

	for (int i = nbytes - 1; i >= 0; i--)
	{
		buf[i] = (char) (v & 0xFF);
		v >>= 8;
	}
	appendBinaryStringInfo(out, buf, nbytes);
}

/*
 * StoreKeyEncodeField
 *		Append the key encoding of one field value.
 */
void
StoreKeyEncodeField(StoreFieldType type, const StoreValue *value,
					StringInfo out)
{
	switch (type)
	{
		case STORE_INT4:
			store_append_be((uint32) value->v.i4 ^ UINT64CONST(0x80000000), 4, out);
			break;
		case STORE_INT8:
			store_append_be((uint64) value->v.i8 ^ UINT64CONST(0x8000000000000000), 8, out);
			break;
		case STORE_OID:
			store_append_be(value->v.oid, 4, out);
			break;
		case STORE_TEXT:
			if (value->len > 0)
				appendBinaryStringInfo(out, value->data, value->len);
			break;
		default:
			elog(ERROR, "field type %d cannot be part of a key", (int) type);
	}
}

/*
 * StoreKeyEncode
 *		Append the key of a record to out; only the key fields of values[]
 *		are read.  A null key field or a key longer than LMDB accepts is an
 *		error.
 */
void
StoreKeyEncode(const StoreSchema *schema, const StoreValue *values,
			   StringInfo out)
{
	int			start = out->len;

	for (int k = 0; k < schema->nkeys; k++)
	{
		int			f = schema->key_fields[k];

		if (values[f].isnull)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("null value in key field \"%s\" of neural_dag store \"%s\"",
							schema->fields[f].name, schema->name)));
		StoreKeyEncodeField(schema->fields[f].type, &values[f], out);
	}
	if (out->len - start > STORE_MAX_KEY_SIZE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("key of neural_dag store \"%s\" is too long", schema->name),
				 errdetail("The key has %d bytes; at most %d are allowed.",
						   out->len - start, STORE_MAX_KEY_SIZE)));
}

/*
 * store_read_be
 *		The nbytes at p read big-endian.
 */
static uint64
store_read_be(const unsigned char *p, int nbytes)
{
	uint64		v = 0;

	for (int i = 0; i < nbytes; i++)
		v = (v << 8) | p[i];
	return v;
}

/*
 * StoreKeyTryDecode
 *		Set the key fields of values[] (a record of schema, other fields
 *		untouched) from an encoded key; text points into key.  False when
 *		the key does not decode (a text key field that is not the last one
 *		cannot be delimited).
 */
bool
StoreKeyTryDecode(const StoreSchema *schema, const char *key, size_t len,
				  StoreValue *values)
{
	const unsigned char *p = (const unsigned char *) key;
	const unsigned char *end = p + len;

	for (int k = 0; k < schema->nkeys; k++)
	{
		StoreValue *v = &values[schema->key_fields[k]];

		v->isnull = false;
		switch (schema->fields[schema->key_fields[k]].type)
		{
			case STORE_INT4:
				if (end - p < 4)
					return false;
				v->v.i4 = (int32) ((uint32) store_read_be(p, 4) ^ UINT64CONST(0x80000000));
				p += 4;
				break;
			case STORE_INT8:
				if (end - p < 8)
					return false;
				v->v.i8 = (int64) (store_read_be(p, 8) ^ UINT64CONST(0x8000000000000000));
				p += 8;
				break;
			case STORE_OID:
				if (end - p < 4)
					return false;
				v->v.oid = (Oid) store_read_be(p, 4);
				p += 4;
				break;
			case STORE_TEXT:
				if (k != schema->nkeys - 1)
					return false;
				v->data = p;
				v->len = end - p;
				p = end;
				break;
			default:
				return false;
		}
	}
	return p == end;
}

/*
 * StoreValuesCopy
 *		Replace every data pointer of values[] by a palloc'd copy in the
 *		current memory context, so that the values outlive the transaction
 *		or scan they were decoded from.
 */
void
StoreValuesCopy(const StoreSchema *schema, StoreValue *values)
{
	for (int i = 0; i < schema->nfields; i++)
	{
		size_t		elemsize = StoreFieldElemSize(schema->fields[i].type);
		StoreValue *value = &values[i];
		char	   *copy;
		size_t		nbytes;

		if (elemsize == 0 || value->isnull)
			continue;
		nbytes = (size_t) value->len * elemsize;
		/* one spare byte keeps a text value NUL-terminated */
		copy = palloc(nbytes + 1);
		if (nbytes > 0)
			memcpy(copy, value->data, nbytes);
		copy[nbytes] = '\0';
		value->data = copy;
	}
}
