/*-------------------------------------------------------------------------
 *
 * matcher.c
 *	  Pattern matching (DESIGN.md sections 5 and 6): the top-k patterns of
 *	  a bank by cosine to a plan embedding, exactly (one sgemv over the
 *	  centroid matrix) or, for large banks, after a Hamming pre-filter on
 *	  the patterns' hypervectors.  Use counts change only through
 *	  ndag_bank_mark_used, when the caller really applies a pattern.
 *
 *-------------------------------------------------------------------------
 */
#include "blas.h"
#include "engine.h"
#include "learn_internal.h"
#include "patterns.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NDAG_MATCH_STACK	1024	/* scores kept on the stack up to this */

/*
 * ndag_topk_insert
 *		Insert (index, score) into out[0 .. *n) sorted by descending score
 *		(ties: lower index first), keeping at most k.
 */
static void
ndag_topk_insert(NdagMatch *out, int *n, int k, int index, double score)
{
	int			pos = *n;

	if (*n == k && !(score > out[k - 1].cosine))
		return;
	if (*n < k)
		(*n)++;
	else
		pos = k - 1;
	while (pos > 0 && score > out[pos - 1].cosine)
	{
		out[pos] = out[pos - 1];
		pos--;
	}
	out[pos].index = index;
	out[pos].cosine = score;
}

/*
 * ndag_query_unit
 *		The query scaled to unit length; false for a zero or non-finite one.
 */
static bool
ndag_query_unit(const float *embedding, float *q)
{
	double		s = 0.0;
	int			i;

	for (i = 0; i < NDAG_EMBED_DIM; i++)
		s += (double) embedding[i] * embedding[i];
	if (!(s > 0.0) || !isfinite(s))
		return false;
	s = 1.0 / sqrt(s);
	for (i = 0; i < NDAG_EMBED_DIM; i++)
		q[i] = (float) (embedding[i] * s);
	return true;
}

/*
 * ndag_match_check
 *		Shared argument checks; sets *n_out = 0.
 */
static bool
ndag_match_check(const NdagPatternBank *bank, const float *embedding, int k,
				 NdagMatch *out, int *n_out)
{
	if (n_out != NULL)
		*n_out = 0;
	return bank != NULL && embedding != NULL && out != NULL && n_out != NULL &&
		k >= 1;
}

/*
 * ndag_match_exact
 *		Cosines of all centroids with one sgemv, then a top-k pass.
 */
int
ndag_match_exact(const NdagPatternBank *bank, const float *embedding, int k,
				 NdagMatch *out, int *n_out)
{
	float		stack_scores[NDAG_MATCH_STACK];
	float	   *scores = stack_scores;
	float		q[NDAG_EMBED_DIM];
	int			n = 0;
	int			i;

	if (!ndag_match_check(bank, embedding, k, out, n_out))
		return NDAG_ERR_ARG;
	if (bank->count == 0 || !ndag_query_unit(embedding, q))
		return NDAG_OK;
	if (bank->count > NDAG_MATCH_STACK)
	{
		scores = malloc(sizeof(float) * (size_t) bank->count);
		if (scores == NULL)
			return NDAG_ERR_NOMEM;
	}
	ndag_sgemv(CblasRowMajor, CblasNoTrans, bank->count, NDAG_EMBED_DIM, 1.0f,
			   bank->centroids, NDAG_EMBED_DIM, q, 1, 0.0f, scores, 1);
	for (i = 0; i < bank->count; i++)
		if (!bank->patterns[i].disabled)
			ndag_topk_insert(out, &n, k, i, scores[i]);
	for (i = 0; i < n; i++)
		out[i].id = bank->patterns[out[i].index].id;
	*n_out = n;
	if (scores != stack_scores)
		free(scores);
	return NDAG_OK;
}

/*
 * ndag_match_hdc
 *		Nearest hypervectors first (Hamming, as negative scores in the same
 *		top-k helper), then exact cosine over those candidates only.
 */
int
ndag_match_hdc(const NdagPatternBank *bank, const float *embedding, int k,
			   NdagMatch *out, int *n_out)
{
	NdagMatch	stack_cand[256];
	NdagMatch  *cand = stack_cand;
	NdagHv		hv;
	uint64_t	prefix[NDAG_HDC_PREFIX_WORDS];
	float		q[NDAG_EMBED_DIM];
	int			m = 8 * k > 64 ? 8 * k : 64;
	int			nc = 0;
	int			n = 0;
	int			i;

	if (!ndag_match_check(bank, embedding, k, out, n_out))
		return NDAG_ERR_ARG;
	if (bank->hv_stale)
		return ndag_match_exact(bank, embedding, k, out, n_out);
	if (bank->count == 0 || !ndag_query_unit(embedding, q))
		return NDAG_OK;
	if (m > 256)
	{
		cand = malloc(sizeof(NdagMatch) * (size_t) m);
		if (cand == NULL)
			return NDAG_ERR_NOMEM;
	}
	ndag_hdc_encode(bank->encoder, q, &hv);
	memcpy(prefix, hv.bytes, sizeof(prefix));
	for (i = 0; i < bank->count; i++)
	{
		int			d = ndag_hamming_words(prefix,
										   bank->hv_prefix + (size_t) i * NDAG_HDC_PREFIX_WORDS,
										   NDAG_HDC_PREFIX_WORDS);

		if ((nc < m || -d > cand[m - 1].cosine) && !bank->patterns[i].disabled)
			ndag_topk_insert(cand, &nc, m, i, -(double) d);
	}
	for (i = 0; i < nc; i++)
	{
		int			idx = cand[i].index;

		ndag_topk_insert(out, &n, k, idx,
						 ndag_sdot(NDAG_EMBED_DIM, q, 1,
								   bank->centroids + (size_t) idx * NDAG_EMBED_DIM, 1));
	}
	for (i = 0; i < n; i++)
		out[i].id = bank->patterns[out[i].index].id;
	*n_out = n;
	if (cand != stack_cand)
		free(cand);
	return NDAG_OK;
}

/*
 * ndag_match
 *		Exact for small banks, pre-filtered for large ones (whose vectors
 *		are encoded).
 */
int
ndag_match(const NdagPatternBank *bank, const float *embedding, int k,
		   NdagMatch *out, int *n_out)
{
	if (bank != NULL && bank->count > bank->hdc_threshold && !bank->hv_stale)
		return ndag_match_hdc(bank, embedding, k, out, n_out);
	return ndag_match_exact(bank, embedding, k, out, n_out);
}

/*
 * ndag_bank_mark_used
 *		Count one use.
 */
int
ndag_bank_mark_used(NdagPatternBank *bank, uint64_t id, double now)
{
	int			i;

	if (bank == NULL)
		return NDAG_ERR_ARG;
	i = ndag_bank_find(bank, id);
	if (i < 0)
		return NDAG_ERR_RANGE;
	bank->patterns[i].uses++;
	bank->patterns[i].last_used = now;
	return NDAG_OK;
}
