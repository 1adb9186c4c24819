/*-------------------------------------------------------------------------
 *
 * patterns.c
 *	  The ReasoningBank (DESIGN.md section 5): patterns extracted from
 *	  clustered trajectories, their per-arm statistics, best arm, gain and
 *	  confidence, consolidation of near-duplicates, eviction, and the byte
 *	  format of one pattern.
 *
 * Statistics are kept as (count, mean, M2) so that two patterns merge
 * exactly as if their members had been seen together (Chan et al.'s
 * parallel form of Welford's update).
 *
 *-------------------------------------------------------------------------
 */
#include "blas.h"
#include "bytes.h"
#include "engine.h"
#include "patterns.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NDAG_PATTERN_MAGIC		"NDPT"
#define NDAG_PATTERN_ARM_BYTES	24
#define NDAG_PATTERN_BYTES		(8 + 8 + 4 * NDAG_EMBED_DIM + 8 * 4 + \
								 NDAG_PATTERN_MAX_ARMS * NDAG_PATTERN_ARM_BYTES + \
								 4 + 8 * 5 + 4 + 8)
#define NDAG_MIN_LATENCY_MS		1e-3

/*
 * ndag_pattern_params_init
 *		Defaults of DESIGN.md section 5.
 */
void
ndag_pattern_params_init(NdagPatternParams *params)
{
	params->clusters = NDAG_PATTERN_CLUSTERS;
	params->quality_threshold = NDAG_PATTERN_QUALITY;
	params->min_arm_count = NDAG_PATTERN_MIN_ARM_COUNT;
	params->merge_cosine = NDAG_PATTERN_MERGE_COSINE;
	params->max_iter = NDAG_KMEANS_MAX_ITER;
	params->seed = 42;
}

/*
 * ndag_bank_create
 *		An empty bank with the fixed HDC encoder: the one ndag_hdc_prepare
 *		built when there is one, else its own.
 */
NdagPatternBank *
ndag_bank_create(int n_arms, int capacity)
{
	NdagPatternBank *bank;

	if (n_arms < 1 || n_arms > NDAG_PATTERN_MAX_ARMS || capacity < 1)
		return NULL;
	bank = calloc(1, sizeof(NdagPatternBank));
	if (bank == NULL)
		return NULL;
	bank->n_arms = n_arms;
	bank->capacity = capacity;
	bank->next_id = 1;
	bank->hdc_threshold = NDAG_PATTERN_HDC_THRESHOLD;
	bank->encoder = ndag_hdc_encoder_fixed();
	if (bank->encoder == NULL)
	{
		bank->own_encoder = ndag_hdc_encoder_create(NDAG_HDC_SEED);
		if (bank->own_encoder == NULL)
		{
			free(bank);
			return NULL;
		}
		bank->encoder = bank->own_encoder;
	}
	return bank;
}

/*
 * ndag_bank_free
 *		Release.
 */
void
ndag_bank_free(NdagPatternBank *bank)
{
	if (bank == NULL)
		return;
	free(bank->patterns);
	free(bank->centroids);
	free(bank->hv_prefix);
	ndag_hdc_encoder_free(bank->own_encoder);
	free(bank);
}

/*
 * ndag_pattern_confidence
 *		(1 - sd) (1 - 1/(n+1)) in [0, 1].
 */
double
ndag_pattern_confidence(double quality_variance, uint64_t n)
{
	double		sd = quality_variance > 0.0 ? sqrt(quality_variance) : 0.0;
	double		c = (1.0 - sd) * (1.0 - 1.0 / ((double) n + 1.0));

	if (!(c > 0.0))
		return 0.0;
	return c > 1.0 ? 1.0 : c;
}

/*
 * ndag_pattern_finish
 *		Best arm, gain and confidence from the statistics.
 */
void
ndag_pattern_finish(NdagPattern *pattern, int n_arms, int min_arm_count)
{
	const NdagArmStats *a = pattern->arms;
	uint64_t	need = min_arm_count > 0 ? (uint64_t) min_arm_count : 1;
	int			best = -1;
	int			i;

	for (i = 0; i < n_arms && i < NDAG_PATTERN_MAX_ARMS; i++)
		if (a[i].count >= need && (best < 0 || a[i].mean_ln < a[best].mean_ln))
			best = i;
	if (best < 0)
		best = 0;
	pattern->best_arm = best;
	/* unknown (NaN) until the default and the best arm have enough runs */
	pattern->gain = a[0].count >= need && a[best].count >= need ?
		exp(a[0].mean_ln - a[best].mean_ln) : NAN;
	pattern->confidence = ndag_pattern_confidence(
		pattern->n_members > 0 ? pattern->quality_m2 / (double) pattern->n_members : 0.0,
		pattern->n_members);
}

/*
 * ndag_normalize
 *		Scale a vector to unit length (left alone when zero).
 */
static void
ndag_normalize(float *v, int n)
{
	double		s = 0.0;
	int			i;

	for (i = 0; i < n; i++)
		s += (double) v[i] * v[i];
	if (s <= 0.0)
		return;
	s = 1.0 / sqrt(s);
	for (i = 0; i < n; i++)
		v[i] = (float) (v[i] * s);
}

/*
 * ndag_bank_reserve
 *		Room for at least `need` patterns.
 */
static int
ndag_bank_reserve(NdagPatternBank *bank, int need)
{
	NdagPattern *p;
	float	   *c;
	uint64_t   *h;
	int			cap;

	if (need <= bank->allocated)
		return NDAG_OK;
	cap = bank->allocated > 0 ? bank->allocated * 2 : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(bank->patterns, sizeof(NdagPattern) * (size_t) cap);
	if (p == NULL)
		return NDAG_ERR_NOMEM;
	bank->patterns = p;
	c = realloc(bank->centroids, sizeof(float) * NDAG_EMBED_DIM * (size_t) cap);
	if (c == NULL)
		return NDAG_ERR_NOMEM;
	bank->centroids = c;
	h = realloc(bank->hv_prefix, sizeof(uint64_t) * NDAG_HDC_PREFIX_WORDS * (size_t) cap);
	if (h == NULL)
		return NDAG_ERR_NOMEM;
	bank->hv_prefix = h;
	bank->allocated = cap;
	return NDAG_OK;
}

/*
 * ndag_bank_encode_one
 *		Encode pattern i's centroid into its hv and the prefix matrix.
 */
static void
ndag_bank_encode_one(NdagPatternBank *bank, int i)
{
	NdagPattern *p = &bank->patterns[i];

	ndag_hdc_encode(bank->encoder, p->centroid, &p->hv);
	memcpy(bank->hv_prefix + (size_t) i * NDAG_HDC_PREFIX_WORDS, p->hv.bytes,
		   sizeof(uint64_t) * NDAG_HDC_PREFIX_WORDS);
}

/*
 * ndag_bank_refresh
 *		After a pattern's centroid changed: normalise, copy into the matrix,
 *		encode (unless the bank defers encoding).
 */
static void
ndag_bank_refresh(NdagPatternBank *bank, int i)
{
	NdagPattern *p = &bank->patterns[i];

	ndag_normalize(p->centroid, NDAG_EMBED_DIM);
	memcpy(bank->centroids + (size_t) i * NDAG_EMBED_DIM, p->centroid,
		   sizeof(float) * NDAG_EMBED_DIM);
	if (bank->defer_hv)
	{
		memset(&p->hv, 0, sizeof(p->hv));
		memset(bank->hv_prefix + (size_t) i * NDAG_HDC_PREFIX_WORDS, 0,
			   sizeof(uint64_t) * NDAG_HDC_PREFIX_WORDS);
		bank->hv_stale = true;
		return;
	}
	ndag_bank_encode_one(bank, i);
}

/*
 * ndag_bank_encode
 *		Encode what defer_hv left out; inserts encode again afterwards.
 */
int
ndag_bank_encode(NdagPatternBank *bank)
{
	if (bank == NULL)
		return NDAG_ERR_ARG;
	if (bank->hv_stale)
	{
		for (int i = 0; i < bank->count; i++)
			ndag_bank_encode_one(bank, i);
	}
	bank->hv_stale = false;
	bank->defer_hv = false;
	return NDAG_OK;
}

/*
 * ndag_bank_find
 *		Linear search by id.
 */
int
ndag_bank_find(const NdagPatternBank *bank, uint64_t id)
{
	int			i;

	if (bank == NULL)
		return -1;
	for (i = 0; i < bank->count; i++)
		if (bank->patterns[i].id == id)
			return i;
	return -1;
}

/*
 * ndag_bank_insert
 *		Append a copy of a pattern.
 */
int
ndag_bank_insert(NdagPatternBank *bank, const NdagPattern *pattern, int *index)
{
	NdagPattern *p;
	int			i;
	int			rc;

	if (bank == NULL || pattern == NULL)
		return NDAG_ERR_ARG;
	for (i = 0; i < NDAG_EMBED_DIM; i++)
		if (!isfinite(pattern->centroid[i]))
			return NDAG_ERR_ARG;
	if (pattern->id != 0 && ndag_bank_find(bank, pattern->id) >= 0)
		return NDAG_ERR_DUPLICATE;
	rc = ndag_bank_reserve(bank, bank->count + 1);
	if (rc != NDAG_OK)
		return rc;
	i = bank->count++;
	p = &bank->patterns[i];
	memcpy(p, pattern, sizeof(NdagPattern));
	if (p->id == 0)
		p->id = bank->next_id++;
	else if (p->id >= bank->next_id)
		bank->next_id = p->id + 1;
	ndag_bank_refresh(bank, i);
	if (index != NULL)
		*index = i;
	return NDAG_OK;
}

/*
 * ndag_stats_combine
 *		Merge (nb, mb, m2b) into (na, ma, m2a).
 */
static void
ndag_stats_combine(uint64_t *na, double *ma, double *m2a, uint64_t nb,
				   double mb, double m2b)
{
	double		n;
	double		d;

	if (nb == 0)
		return;
	if (*na == 0)
	{
		*na = nb;
		*ma = mb;
		*m2a = m2b;
		return;
	}
	n = (double) *na + (double) nb;
	d = mb - *ma;
	*m2a += m2b + d * d * (double) *na * (double) nb / n;
	*ma += d * (double) nb / n;
	*na += nb;
}

/*
 * ndag_pattern_merge_into
 *		Fold a new pattern into an existing one: member-weighted centroid,
 *		combined statistics; identity, flags and use history of the
 *		existing one are kept.
 */
static void
ndag_pattern_merge_into(NdagPattern *dst, const NdagPattern *src, int n_arms,
						int min_arm_count)
{
	double		wd = (double) dst->n_members;
	double		ws = (double) src->n_members;
	int			i;

	for (i = 0; i < NDAG_EMBED_DIM; i++)
		dst->centroid[i] = (float) (wd * dst->centroid[i] + ws * src->centroid[i]);
	for (i = 0; i < NDAG_PATTERN_MAX_ARMS; i++)
		ndag_stats_combine(&dst->arms[i].count, &dst->arms[i].mean_ln,
						   &dst->arms[i].m2_ln, src->arms[i].count,
						   src->arms[i].mean_ln, src->arms[i].m2_ln);
	ndag_stats_combine(&dst->n_members, &dst->quality_mean, &dst->quality_m2,
					   src->n_members, src->quality_mean, src->quality_m2);
	ndag_pattern_finish(dst, n_arms, min_arm_count);
}

/*
 * ndag_bank_remove
 *		Drop pattern i; the last one takes its place.
 */
static void
ndag_bank_remove(NdagPatternBank *bank, int i)
{
	int			last = bank->count - 1;

	if (i != last)
	{
		memcpy(&bank->patterns[i], &bank->patterns[last], sizeof(NdagPattern));
		memcpy(bank->centroids + (size_t) i * NDAG_EMBED_DIM,
			   bank->centroids + (size_t) last * NDAG_EMBED_DIM,
			   sizeof(float) * NDAG_EMBED_DIM);
		memcpy(bank->hv_prefix + (size_t) i * NDAG_HDC_PREFIX_WORDS,
			   bank->hv_prefix + (size_t) last * NDAG_HDC_PREFIX_WORDS,
			   sizeof(uint64_t) * NDAG_HDC_PREFIX_WORDS);
	}
	bank->count--;
}

/*
 * ndag_evict_before
 *		Whether pattern a goes before pattern b: lower score, then lower
 *		confidence, fewer members, older id.
 */
static bool
ndag_evict_before(const NdagPattern *a, const NdagPattern *b)
{
	double		sa = a->confidence * log1p((double) a->uses);
	double		sb = b->confidence * log1p((double) b->uses);

	if (sa != sb)
		return sa < sb;
	if (a->confidence != b->confidence)
		return a->confidence < b->confidence;
	if (a->n_members != b->n_members)
		return a->n_members < b->n_members;
	return a->id < b->id;
}

/*
 * ndag_bank_evict
 *		Down to capacity, never a pinned pattern.
 */
static int
ndag_bank_evict(NdagPatternBank *bank)
{
	int			evicted = 0;

	while (bank->count > bank->capacity)
	{
		int			victim = -1;
		int			i;

		for (i = 0; i < bank->count; i++)
			if (!bank->patterns[i].pinned &&
				(victim < 0 || ndag_evict_before(&bank->patterns[i],
												 &bank->patterns[victim])))
				victim = i;
		if (victim < 0)
			break;
		ndag_bank_remove(bank, victim);
		evicted++;
	}
	return evicted;
}

/*
 * ndag_cluster_patterns
 *		One pattern per non-empty cluster from the members' statistics.
 *		Returns how many were written to out.
 */
static int
ndag_cluster_patterns(const NdagTrajectory *traj, const int *sel, int used,
					  const int *assign, int k, const NdagPatternParams *params,
					  int n_arms, double now, NdagPattern *out)
{
	double	   *best_cos = malloc(sizeof(double) * (size_t) k);
	int			made = 0;
	int			j;
	int			r;

	if (best_cos == NULL)
		return -1;
	memset(out, 0, sizeof(NdagPattern) * (size_t) k);
	for (j = 0; j < k; j++)
		best_cos[j] = -2.0;
	for (r = 0; r < used; r++)
	{
		const NdagTrajectory *t = &traj[sel[r]];
		NdagPattern *p = &out[assign[r]];
		NdagArmStats *a = &p->arms[t->arm];
		double		lnl = log(t->latency_ms > NDAG_MIN_LATENCY_MS ? t->latency_ms :
							  NDAG_MIN_LATENCY_MS);
		double		d;
		int			i;

		for (i = 0; i < NDAG_EMBED_DIM; i++)
			p->centroid[i] += t->embedding[i];
		p->n_members++;
		d = t->quality - p->quality_mean;
		p->quality_mean += d / (double) p->n_members;
		p->quality_m2 += d * (t->quality - p->quality_mean);
		a->count++;
		d = lnl - a->mean_ln;
		a->mean_ln += d / (double) a->count;
		a->m2_ln += d * (lnl - a->mean_ln);
	}
	for (j = 0; j < k; j++)
		ndag_normalize(out[j].centroid, NDAG_EMBED_DIM);

	/* representative query: the member closest to its centroid */
	for (r = 0; r < used; r++)
	{
		const NdagTrajectory *t = &traj[sel[r]];
		int			c = assign[r];
		double		cs = ndag_sdot(NDAG_EMBED_DIM, t->embedding, 1,
								   out[c].centroid, 1);

		if (cs > best_cos[c])
		{
			best_cos[c] = cs;
			out[c].query_id = t->query_id;
		}
	}
	free(best_cos);

	for (j = 0; j < k; j++)
	{
		if (out[j].n_members == 0)
			continue;
		ndag_pattern_finish(&out[j], n_arms, params->min_arm_count);
		out[j].created = now;
		if (made != j)
			memcpy(&out[made], &out[j], sizeof(NdagPattern));
		made++;
	}
	return made;
}

/*
 * ndag_bank_consolidate
 *		Merge a new pattern into the most similar existing one above the
 *		threshold, else append it.  *merged tells which happened.
 */
static int
ndag_bank_consolidate(NdagPatternBank *bank, const NdagPattern *p,
					  const NdagPatternParams *params, float *scores,
					  bool *merged)
{
	int			best = -1;
	int			i;

	*merged = false;
	if (bank->count > 0)
	{
		ndag_sgemv(CblasRowMajor, CblasNoTrans, bank->count, NDAG_EMBED_DIM,
				   1.0f, bank->centroids, NDAG_EMBED_DIM, p->centroid, 1,
				   0.0f, scores, 1);
		for (i = 0; i < bank->count; i++)
			if (scores[i] > params->merge_cosine && (best < 0 || scores[i] > scores[best]))
				best = i;
	}
	if (best >= 0)
	{
		ndag_pattern_merge_into(&bank->patterns[best], p, bank->n_arms,
								params->min_arm_count);
		ndag_bank_refresh(bank, best);
		*merged = true;
		return NDAG_OK;
	}
	return ndag_bank_insert(bank, p, NULL);
}

/*
 * ndag_bank_extract
 *		See patterns.h.
 */
int
ndag_bank_extract(NdagPatternBank *bank, const NdagTrajectory *traj, int n,
				  const NdagPatternParams *params, double now,
				  NdagExtractResult *result)
{
	NdagPatternParams def;
	int		   *sel = NULL;
	float	   *x = NULL;
	int		   *assign = NULL;
	float	   *cent = NULL;
	NdagPattern *fresh = NULL;
	float	   *scores = NULL;
	int			used = 0;
	int			made;
	int			rc = NDAG_OK;
	int			i;

	if (bank == NULL || result == NULL || n < 0 || (n > 0 && traj == NULL))
		return NDAG_ERR_ARG;
	if (params == NULL)
	{
		ndag_pattern_params_init(&def);
		params = &def;
	}
	if (params->clusters < 1 || params->max_iter < 1 ||
		!(params->merge_cosine <= 1.0) || !isfinite(params->quality_threshold))
		return NDAG_ERR_ARG;
	memset(result, 0, sizeof(NdagExtractResult));
	sel = malloc(sizeof(int) * (size_t) (n > 0 ? n : 1));
	if (sel == NULL)
		return NDAG_ERR_NOMEM;
	for (i = 0; i < n; i++)
	{
		const NdagTrajectory *t = &traj[i];
		int			d;
		bool		finite = isfinite(t->latency_ms) && isfinite(t->quality) &&
			t->latency_ms >= 0.0;

		for (d = 0; finite && d < NDAG_EMBED_DIM; d++)
			finite = isfinite(t->embedding[d]);
		if (finite && t->arm >= 0 && t->arm < bank->n_arms &&
			t->quality >= params->quality_threshold)
			sel[used++] = i;
	}
	result->used = used;
	if (used > 0)
	{
		int			k;

		x = malloc(sizeof(float) * (size_t) used * NDAG_EMBED_DIM);
		assign = malloc(sizeof(int) * (size_t) used);
		cent = malloc(sizeof(float) * (size_t) params->clusters * NDAG_EMBED_DIM);
		if (x == NULL || assign == NULL || cent == NULL)
		{
			rc = NDAG_ERR_NOMEM;
			goto done;
		}
		for (i = 0; i < used; i++)
			memcpy(x + (size_t) i * NDAG_EMBED_DIM, traj[sel[i]].embedding,
				   sizeof(float) * NDAG_EMBED_DIM);
		rc = ndag_kmeans(x, used, NDAG_EMBED_DIM, params->clusters,
						 params->max_iter, params->seed, cent, assign, &k,
						 &result->iterations);
		if (rc != NDAG_OK)
			goto done;
		result->clusters = k;
		fresh = malloc(sizeof(NdagPattern) * (size_t) k);
		if (fresh == NULL)
		{
			rc = NDAG_ERR_NOMEM;
			goto done;
		}
		made = ndag_cluster_patterns(traj, sel, used, assign, k, params,
									 bank->n_arms, now, fresh);
		if (made < 0)
		{
			rc = NDAG_ERR_NOMEM;
			goto done;
		}
		scores = malloc(sizeof(float) * (size_t) (bank->count + made + 1));
		if (scores == NULL)
		{
			rc = NDAG_ERR_NOMEM;
			goto done;
		}
		for (i = 0; i < made; i++)
		{
			bool		merged;

			rc = ndag_bank_consolidate(bank, &fresh[i], params, scores, &merged);
			if (rc != NDAG_OK)
				goto done;
			if (merged)
				result->merged++;
			else
				result->created++;
		}
	}
	result->evicted = ndag_bank_evict(bank);

done:
	free(sel);
	free(x);
	free(assign);
	free(cent);
	free(fresh);
	free(scores);
	return rc;
}

/*
 * ndag_pattern_serialized_size
 *		Fixed.
 */
size_t
ndag_pattern_serialized_size(void)
{
	return NDAG_PATTERN_BYTES;
}

/*
 * ndag_pattern_serialize
 *		magic, version, id, centroid, members, quality mean and M2, query
 *		id, every arm's (count, mean, M2), best arm, gain, confidence,
 *		uses, last use, creation, flags, FNV-1a.
 */
int
ndag_pattern_serialize(const NdagPattern *pattern, void *buf, size_t cap,
					   size_t *written)
{
	unsigned char *p = buf;
	unsigned char *q;
	int			i;

	if (pattern == NULL || buf == NULL || written == NULL)
		return NDAG_ERR_ARG;
	*written = 0;
	if (cap < NDAG_PATTERN_BYTES)
		return NDAG_ERR_BUFFER;
	memcpy(p, NDAG_PATTERN_MAGIC, 4);
	ndag_lput_u32(p + 4, NDAG_PATTERN_FORMAT_VERSION);
	q = p + 8;
	ndag_lput_u64(q, pattern->id);
	q += 8;
	for (i = 0; i < NDAG_EMBED_DIM; i++, q += 4)
		ndag_lput_f32(q, pattern->centroid[i]);
	ndag_lput_u64(q, pattern->n_members);
	ndag_lput_f64(q + 8, pattern->quality_mean);
	ndag_lput_f64(q + 16, pattern->quality_m2);
	ndag_lput_u64(q + 24, pattern->query_id);
	q += 32;
	for (i = 0; i < NDAG_PATTERN_MAX_ARMS; i++, q += NDAG_PATTERN_ARM_BYTES)
	{
		ndag_lput_u64(q, pattern->arms[i].count);
		ndag_lput_f64(q + 8, pattern->arms[i].mean_ln);
		ndag_lput_f64(q + 16, pattern->arms[i].m2_ln);
	}
	ndag_lput_u32(q, (uint32_t) pattern->best_arm);
	ndag_lput_f64(q + 4, pattern->gain);
	ndag_lput_f64(q + 12, pattern->confidence);
	ndag_lput_u64(q + 20, pattern->uses);
	ndag_lput_f64(q + 28, pattern->last_used);
	ndag_lput_f64(q + 36, pattern->created);
	ndag_lput_u32(q + 44, (pattern->pinned ? 1u : 0u) | (pattern->disabled ? 2u : 0u));
	q += 48;
	ndag_lput_u64(q, ndag_lfnv1a(p, (size_t) (q - p)));
	*written = NDAG_PATTERN_BYTES;
	return NDAG_OK;
}

/*
 * ndag_pattern_deserialize
 *		Validate length, magic, version and checksum, then the values.
 */
int
ndag_pattern_deserialize(const void *buf, size_t len, NdagPattern *out)
{
	const unsigned char *p = buf;
	const unsigned char *q;
	uint32_t	flags;
	bool		ok = true;
	int			i;

	if (buf == NULL || out == NULL)
		return NDAG_ERR_ARG;
	if (len != NDAG_PATTERN_BYTES || memcmp(p, NDAG_PATTERN_MAGIC, 4) != 0)
		return NDAG_ERR_CORRUPT;
	if (ndag_lget_u32(p + 4) != NDAG_PATTERN_FORMAT_VERSION)
		return NDAG_ERR_VERSION;
	if (ndag_lget_u64(p + len - 8) != ndag_lfnv1a(p, len - 8))
		return NDAG_ERR_CORRUPT;
	memset(out, 0, sizeof(NdagPattern));
	q = p + 8;
	out->id = ndag_lget_u64(q);
	q += 8;
	for (i = 0; i < NDAG_EMBED_DIM; i++, q += 4)
	{
		out->centroid[i] = ndag_lget_f32(q);
		ok = ok && isfinite(out->centroid[i]);
	}
	out->n_members = ndag_lget_u64(q);
	out->quality_mean = ndag_lget_f64(q + 8);
	out->quality_m2 = ndag_lget_f64(q + 16);
	out->query_id = ndag_lget_u64(q + 24);
	q += 32;
	for (i = 0; i < NDAG_PATTERN_MAX_ARMS; i++, q += NDAG_PATTERN_ARM_BYTES)
	{
		out->arms[i].count = ndag_lget_u64(q);
		out->arms[i].mean_ln = ndag_lget_f64(q + 8);
		out->arms[i].m2_ln = ndag_lget_f64(q + 16);
		ok = ok && isfinite(out->arms[i].mean_ln) && out->arms[i].m2_ln >= 0.0 &&
			isfinite(out->arms[i].m2_ln);
	}
	out->best_arm = (int) ndag_lget_u32(q);
	out->gain = ndag_lget_f64(q + 4);
	out->confidence = ndag_lget_f64(q + 12);
	out->uses = ndag_lget_u64(q + 20);
	out->last_used = ndag_lget_f64(q + 28);
	out->created = ndag_lget_f64(q + 36);
	flags = ndag_lget_u32(q + 44);
	out->pinned = (flags & 1u) != 0;
	out->disabled = (flags & 2u) != 0;
	ok = ok && out->id != 0 && isfinite(out->quality_mean) &&
		out->quality_m2 >= 0.0 && isfinite(out->quality_m2) &&
		out->best_arm >= 0 && out->best_arm < NDAG_PATTERN_MAX_ARMS &&
		(isnan(out->gain) || (out->gain > 0.0 && isfinite(out->gain))) &&
		out->confidence >= 0.0 && out->confidence <= 1.0 &&
		isfinite(out->last_used) && isfinite(out->created) && (flags & ~3u) == 0;
	if (!ok)
	{
		memset(out, 0, sizeof(NdagPattern));
		return NDAG_ERR_CORRUPT;
	}
	return NDAG_OK;
}
