/*-------------------------------------------------------------------------
 *
 * util.c
 *	  Status messages, mechanism and operator names, hashing and weight
 *	  normalisation shared by the engine.
 *
 *-------------------------------------------------------------------------
 */
#include "engine.h"

#include <math.h>
#include <string.h>

static const char *const ndag_mechanism_names[NDAG_N_MECHANISMS] = {
	"topological",
	"causal_cone",
	"critical_path",
	"mincut_gated",
	"hierarchical_lorentz",
	"parallel_branch",
	"temporal_btsp",
	"ensemble"
};

static const char *const ndag_op_class_names[NDAG_N_OP_CLASSES] = {
	"seqscan",
	"indexscan",
	"indexonlyscan",
	"bitmapscan",
	"nestloop",
	"hashjoin",
	"mergejoin",
	"hash",
	"sort",
	"aggregate",
	"gather",
	"material",
	"limit",
	"append",
	"subqueryscan",
	"other"
};

/*
 * ndag_strerror
 *		Short description of an engine status code.
 */
const char *
ndag_strerror(int status)
{
	switch (status)
	{
		case NDAG_OK:
			return "success";
		case NDAG_ERR_ARG:
			return "invalid argument";
		case NDAG_ERR_NOMEM:
			return "out of memory";
		case NDAG_ERR_RANGE:
			return "node index out of range";
		case NDAG_ERR_CYCLE:
			return "plan graph contains a cycle";
		case NDAG_ERR_STATE:
			return "plan graph in the wrong state for this operation";
		case NDAG_ERR_EMPTY:
			return "plan graph has no nodes";
		case NDAG_ERR_DUPLICATE:
			return "duplicate edge";
		case NDAG_ERR_BUFFER:
			return "buffer too small";
		case NDAG_ERR_CORRUPT:
			return "serialized data is corrupt or truncated";
		case NDAG_ERR_VERSION:
			return "serialized data has an unsupported version";
		case NDAG_ERR_NONFINITE:
			return "update rejected: it would make a value NaN or infinite";
	}
	return "unknown error";
}

/*
 * ndag_mechanism_name
 *		SQL-facing name of a mechanism.
 */
const char *
ndag_mechanism_name(int mechanism)
{
	if (mechanism < 0 || mechanism >= NDAG_N_MECHANISMS)
		return NULL;
	return ndag_mechanism_names[mechanism];
}

/*
 * ndag_mechanism_from_name
 *		Mechanism for an exact name.
 */
int
ndag_mechanism_from_name(const char *name, int *mechanism)
{
	int			i;

	if (name == NULL || mechanism == NULL)
		return NDAG_ERR_ARG;
	for (i = 0; i < NDAG_N_MECHANISMS; i++)
	{
		if (strcmp(name, ndag_mechanism_names[i]) == 0)
		{
			*mechanism = i;
			return NDAG_OK;
		}
	}
	return NDAG_ERR_ARG;
}

/*
 * ndag_op_class_name
 *		Name of an operator class bucket.
 */
const char *
ndag_op_class_name(int op_class)
{
	if (op_class < 0 || op_class >= NDAG_N_OP_CLASSES)
		return NULL;
	return ndag_op_class_names[op_class];
}

/*
 * ndag_hash64
 *		splitmix64's finaliser: a bijective 64-bit mix.
 */
uint64_t
ndag_hash64(uint64_t x)
{
	x += UINT64_C(0x9e3779b97f4a7c15);
	x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
	x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
	return x ^ (x >> 31);
}

/*
 * ndag_hash_combine
 *		Fold x into the running hash h; the order of values matters.
 */
uint64_t
ndag_hash_combine(uint64_t h, uint64_t x)
{
	return ndag_hash64(h ^ (ndag_hash64(x) + UINT64_C(0x9e3779b97f4a7c15) +
							(h << 6) + (h >> 2)));
}

/*
 * ndag_signature
 *		Operator signature.  0 is reserved for free trace slots, so a hash
 *		that happens to be 0 is moved to 1.
 */
uint64_t
ndag_signature(int op_class, int node_tag, uint32_t rel_oid,
			   uint32_t index_oid, uint64_t qual_hash)
{
	uint64_t	h = UINT64_C(0x6e6461675f736967);	/* "ndag_sig" */

	h = ndag_hash_combine(h, (uint64_t) (uint32_t) op_class);
	h = ndag_hash_combine(h, (uint64_t) (uint32_t) node_tag);
	h = ndag_hash_combine(h, (uint64_t) rel_oid);
	h = ndag_hash_combine(h, (uint64_t) index_oid);
	h = ndag_hash_combine(h, qual_hash);
	return h == 0 ? 1 : h;
}

/*
 * ndag_normalize_weights
 *		Make raw scores a probability vector.  Scores are divided by their
 *		maximum before summing, so that huge finite scores cannot overflow
 *		the sum.
 */
void
ndag_normalize_weights(double *w, int n)
{
	double		max = 0.0;
	double		sum = 0.0;
	int			i;

	if (w == NULL || n <= 0)
		return;
	for (i = 0; i < n; i++)
	{
		if (!isfinite(w[i]) || w[i] < 0.0)
			w[i] = 0.0;
		if (w[i] > max)
			max = w[i];
	}
	if (max > 0.0)
	{
		for (i = 0; i < n; i++)
		{
			w[i] /= max;
			sum += w[i];
		}
	}
	if (!(sum > 0.0))
	{
		for (i = 0; i < n; i++)
			w[i] = 1.0 / n;
		return;
	}
	for (i = 0; i < n; i++)
		w[i] /= sum;
}

/*
 * ndag_vec_add_finite
 *		Add a scaled vector all or nothing: the sums are checked before any
 *		is written, so that a NaN or an overflow never reaches dst.
 */
int
ndag_vec_add_finite(float *dst, const float *src, int n, double scale)
{
	float		s = (float) scale;
	int			i;

	if (dst == NULL || src == NULL || n < 0)
		return NDAG_ERR_ARG;
	if (!isfinite(s))
		return NDAG_ERR_NONFINITE;
	for (i = 0; i < n; i++)
		if (!isfinite(dst[i] + s * src[i]))
			return NDAG_ERR_NONFINITE;
	for (i = 0; i < n; i++)
		dst[i] += s * src[i];
	return NDAG_OK;
}
