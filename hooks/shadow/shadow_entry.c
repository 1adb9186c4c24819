/*-------------------------------------------------------------------------
 *
 * shadow_entry.c
 *	  The layout of one captured statement of the shadow queue: the
 *	  session's search_path once, then up to NDAG_SHADOW_CAPTURES captures
 *	  of the statement (its own text and its bound parameters), packed in
 *	  data[].
 *
 * A statement class is one entry, but its executions may differ: other
 * constants in the text (two statements of one queryId) or other bound
 * parameters.  Each distinct one captured (up to NDAG_SHADOW_CAPTURES)
 * is kept, the oldest replaced in turn once the entry is full, so that a
 * shadow run measures its pairs on the parameter sets the class really
 * runs, in turn, and not only on the first one captured.  A capture is
 * told from another by a hash of its text and parameters.
 *
 * These functions only read and write the entry they are given; the
 * caller holds the queue's lock for a queued one.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "nodes/params.h"

#include "shadow/shadow.h"

/*
 * capture_offset
 *		Where capture c starts in data[].
 */
static int
capture_offset(const NdagShadowEntry *e, int c)
{
	int			offset = e->path_len + 1;

	for (int i = 0; i < c; i++)
		offset += e->capture_len[i];
	return offset;
}

/*
 * used_bytes
 *		The bytes of data[] in use.
 */
static int
used_bytes(const NdagShadowEntry *e)
{
	return capture_offset(e, e->ncaptures);
}

/*
 * hash_capture
 *		The hash that tells a capture (text and serialized parameters)
 *		from another.
 */
static uint32
hash_capture(const char *text, int text_len, const char *params,
					  int params_len)
{
	return hash_combine(hash_bytes((const unsigned char *) text, text_len),
						hash_bytes((const unsigned char *) params, params_len));
}

/*
 * NdagShadowEntryInit
 *		Start an entry's data with the session's search_path and no
 *		capture; false when the path alone does not fit.
 */
bool
NdagShadowEntryInit(NdagShadowEntry *e, const char *path)
{
	int			path_len = strlen(path);

	if (path_len + 1 > NDAG_SHADOW_ENTRY_BYTES)
		return false;
	memcpy(e->data, path, path_len + 1);
	e->path_len = path_len;
	e->ncaptures = 0;
	e->next_capture = 0;
	e->default_ms = 0;
	return true;
}

/*
 * NdagShadowEntryAddCapture
 *		Add one execution's text and serialized parameters to the entry,
 *		with the time it took: a capture it holds already only updates
 *		that time; a new one is appended while there is room, else it
 *		replaces the oldest (in turn).  The entry's default_ms becomes the
 *		longest time of its captures.  False (the entry unchanged) when it
 *		does not fit.
 */
bool
NdagShadowEntryAddCapture(NdagShadowEntry *e, const char *text, int text_len,
						  const char *params, int params_len, double exec_ms)
{
	uint32		hash = hash_capture(text, text_len, params, params_len);
	int			len = text_len + 1 + params_len;
	int			c;

	for (c = 0; c < e->ncaptures; c++)
		if (e->capture_hash[c] == hash)
			break;
	if (c == e->ncaptures)
	{
		int			start;
		int			tail;
		int			old_len = 0;

		if (e->ncaptures < NDAG_SHADOW_CAPTURES)
			c = e->ncaptures;
		else
		{
			c = e->next_capture;
			old_len = e->capture_len[c];
		}
		start = capture_offset(e, c);
		tail = used_bytes(e) - start - old_len;
		if (start + len + tail > NDAG_SHADOW_ENTRY_BYTES)
			return false;
		/* the captures after c move to their new place */
		memmove(e->data + start + len, e->data + start + old_len, tail);
		memcpy(e->data + start, text, text_len);
		e->data[start + text_len] = '\0';
		memcpy(e->data + start + text_len + 1, params, params_len);
		e->capture_len[c] = len;
		e->text_len[c] = text_len;
		e->capture_hash[c] = hash;
		if (c == e->ncaptures)
			e->ncaptures++;
		else
			e->next_capture = (c + 1) % NDAG_SHADOW_CAPTURES;
	}
	e->capture_ms[c] = exec_ms;
	e->default_ms = 0;
	for (int i = 0; i < e->ncaptures; i++)
		e->default_ms = Max(e->default_ms, e->capture_ms[i]);
	return true;
}

/*
 * NdagShadowEntryPath
 *		The captured search_path.
 */
const char *
NdagShadowEntryPath(const NdagShadowEntry *e)
{
	return e->data;
}

/*
 * NdagShadowEntryText
 *		The text of capture c.
 */
const char *
NdagShadowEntryText(const NdagShadowEntry *e, int c)
{
	return e->data + capture_offset(e, c);
}

/*
 * NdagShadowEntryParams
 *		The bound parameters of capture c, restored in the current memory
 *		context.
 */
ParamListInfo
NdagShadowEntryParams(const NdagShadowEntry *e, int c)
{
	char	   *p = (char *) e->data + capture_offset(e, c) +
		e->text_len[c] + 1;

	return RestoreParamList(&p);
}
