/*-------------------------------------------------------------------------
 *
 * ucb.c
 *	  The UCB1 selector over arms per context (DESIGN.md section 4), with
 *	  epsilon exploration and a versioned, checksummed byte format for the
 *	  models DBI.
 *
 * No optimistic initial values: an arm never pulled in a context is pulled
 * before any formula applies, and means start from real rewards only.
 *
 *-------------------------------------------------------------------------
 */
#include "bytes.h"
#include "engine.h"
#include "ucb.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NDAG_UCB_MAGIC		"NDUC"
#define NDAG_UCB_HEADER		32	/* magic, version, contexts, arms, c, epsilon */
#define NDAG_UCB_CELL		16	/* pulls and reward sum of one arm */
#define NDAG_UCB_TRAILER	8	/* checksum */

/*
 * ndag_ucb_create
 *		A zeroed selector.
 */
NdagUcb *
ndag_ucb_create(int n_contexts, int n_arms, double c, double epsilon)
{
	NdagUcb    *u;
	size_t		cells;

	if (n_contexts < 1 || n_contexts > NDAG_UCB_MAX_CONTEXTS ||
		n_arms < 1 || n_arms > NDAG_UCB_MAX_ARMS ||
		!(c >= 0.0) || !isfinite(c) || !(epsilon >= 0.0 && epsilon <= 1.0))
		return NULL;
	cells = (size_t) n_contexts * (size_t) n_arms;
	u = calloc(1, sizeof(NdagUcb));
	if (u == NULL)
		return NULL;
	u->pulls = calloc(cells, sizeof(uint64_t));
	u->rewards = calloc(cells, sizeof(double));
	if (u->pulls == NULL || u->rewards == NULL)
	{
		ndag_ucb_free(u);
		return NULL;
	}
	u->n_contexts = n_contexts;
	u->n_arms = n_arms;
	u->c = c;
	u->epsilon = epsilon;
	return u;
}

/*
 * ndag_ucb_free
 *		Release a selector.
 */
void
ndag_ucb_free(NdagUcb *ucb)
{
	if (ucb == NULL)
		return;
	free(ucb->pulls);
	free(ucb->rewards);
	free(ucb);
}

/*
 * ndag_ucb_choose
 *		Untried arms first, then epsilon-random, then UCB1.
 */
int
ndag_ucb_choose(const NdagUcb *ucb, int context, NdagRng *rng, int *arm)
{
	const uint64_t *pulls;
	const double *rewards;
	uint64_t	total = 0;
	double		log_total;
	double		best_score = -INFINITY;
	int			best = 0;
	int			a;

	if (ucb == NULL || arm == NULL || context < 0 || context >= ucb->n_contexts)
		return NDAG_ERR_ARG;
	pulls = ucb->pulls + (size_t) context * ucb->n_arms;
	rewards = ucb->rewards + (size_t) context * ucb->n_arms;

	for (a = 0; a < ucb->n_arms; a++)
	{
		if (pulls[a] == 0)
		{
			*arm = a;
			return NDAG_OK;
		}
		total += pulls[a];
	}
	if (rng != NULL && ucb->epsilon > 0.0 && ndag_rng_uniform(rng) < ucb->epsilon)
	{
		*arm = (int) ndag_rng_below(rng, (uint64_t) ucb->n_arms);
		return NDAG_OK;
	}

	log_total = log((double) total);
	for (a = 0; a < ucb->n_arms; a++)
	{
		double		n = (double) pulls[a];
		double		score = rewards[a] / n + ucb->c * sqrt(log_total / n);

		if (score > best_score)
		{
			best_score = score;
			best = a;
		}
	}
	*arm = best;
	return NDAG_OK;
}

/*
 * ndag_ucb_update
 *		One more pull of an arm with its reward.
 */
int
ndag_ucb_update(NdagUcb *ucb, int context, int arm, double reward)
{
	size_t		i;

	if (ucb == NULL || context < 0 || context >= ucb->n_contexts ||
		arm < 0 || arm >= ucb->n_arms || !(reward >= 0.0 && reward <= 1.0))
		return NDAG_ERR_ARG;
	i = (size_t) context * ucb->n_arms + (size_t) arm;
	ucb->pulls[i]++;
	ucb->rewards[i] += reward;
	return NDAG_OK;
}

/*
 * ndag_ucb_stats
 *		Mean reward and pulls of one arm.
 */
int
ndag_ucb_stats(const NdagUcb *ucb, int context, int arm, double *mean,
			   uint64_t *pulls)
{
	size_t		i;

	if (ucb == NULL || context < 0 || context >= ucb->n_contexts ||
		arm < 0 || arm >= ucb->n_arms)
		return NDAG_ERR_ARG;
	i = (size_t) context * ucb->n_arms + (size_t) arm;
	if (mean != NULL)
		*mean = ucb->pulls[i] > 0 ? ucb->rewards[i] / (double) ucb->pulls[i] : 0.0;
	if (pulls != NULL)
		*pulls = ucb->pulls[i];
	return NDAG_OK;
}

/*
 * ndag_ucb_serialized_size
 *		Header, one cell per context and arm, checksum.
 */
size_t
ndag_ucb_serialized_size(const NdagUcb *ucb)
{
	if (ucb == NULL)
		return 0;
	return NDAG_UCB_HEADER + (size_t) ucb->n_contexts * ucb->n_arms * NDAG_UCB_CELL +
		NDAG_UCB_TRAILER;
}

/*
 * ndag_ucb_serialize
 *		Write the selector; see ucb.h for the layout.
 */
int
ndag_ucb_serialize(const NdagUcb *ucb, void *buf, size_t cap, size_t *written)
{
	unsigned char *p = buf;
	size_t		need;
	size_t		cells;
	size_t		i;

	if (ucb == NULL || buf == NULL || written == NULL)
		return NDAG_ERR_ARG;
	need = ndag_ucb_serialized_size(ucb);
	*written = 0;
	if (cap < need)
		return NDAG_ERR_BUFFER;
	memcpy(p, NDAG_UCB_MAGIC, 4);
	ndag_lput_u32(p + 4, NDAG_UCB_FORMAT_VERSION);
	ndag_lput_u32(p + 8, (uint32_t) ucb->n_contexts);
	ndag_lput_u32(p + 12, (uint32_t) ucb->n_arms);
	ndag_lput_f64(p + 16, ucb->c);
	ndag_lput_f64(p + 24, ucb->epsilon);
	cells = (size_t) ucb->n_contexts * ucb->n_arms;
	for (i = 0; i < cells; i++)
	{
		ndag_lput_u64(p + NDAG_UCB_HEADER + i * NDAG_UCB_CELL, ucb->pulls[i]);
		ndag_lput_f64(p + NDAG_UCB_HEADER + i * NDAG_UCB_CELL + 8, ucb->rewards[i]);
	}
	ndag_lput_u64(p + need - NDAG_UCB_TRAILER, ndag_lfnv1a(p, need - NDAG_UCB_TRAILER));
	*written = need;
	return NDAG_OK;
}

/*
 * ndag_ucb_deserialize
 *		Check everything before trusting anything: magic, version,
 *		dimensions, exact length, checksum, then the values themselves.
 */
int
ndag_ucb_deserialize(const void *buf, size_t len, NdagUcb **out)
{
	const unsigned char *p = buf;
	uint32_t	n_contexts;
	uint32_t	n_arms;
	double		c;
	double		epsilon;
	size_t		need;
	size_t		cells;
	size_t		i;
	NdagUcb    *u;

	if (buf == NULL || out == NULL)
		return NDAG_ERR_ARG;
	*out = NULL;
	if (len < NDAG_UCB_HEADER + NDAG_UCB_TRAILER || memcmp(p, NDAG_UCB_MAGIC, 4) != 0)
		return NDAG_ERR_CORRUPT;
	if (ndag_lget_u32(p + 4) != NDAG_UCB_FORMAT_VERSION)
		return NDAG_ERR_VERSION;
	n_contexts = ndag_lget_u32(p + 8);
	n_arms = ndag_lget_u32(p + 12);
	if (n_contexts < 1 || n_contexts > NDAG_UCB_MAX_CONTEXTS ||
		n_arms < 1 || n_arms > NDAG_UCB_MAX_ARMS)
		return NDAG_ERR_CORRUPT;
	cells = (size_t) n_contexts * n_arms;
	need = NDAG_UCB_HEADER + cells * NDAG_UCB_CELL + NDAG_UCB_TRAILER;
	if (len != need)
		return NDAG_ERR_CORRUPT;
	if (ndag_lget_u64(p + need - NDAG_UCB_TRAILER) != ndag_lfnv1a(p, need - NDAG_UCB_TRAILER))
		return NDAG_ERR_CORRUPT;
	c = ndag_lget_f64(p + 16);
	epsilon = ndag_lget_f64(p + 24);
	u = ndag_ucb_create((int) n_contexts, (int) n_arms, c, epsilon);
	if (u == NULL)
		return (c >= 0.0 && isfinite(c) && epsilon >= 0.0 && epsilon <= 1.0) ?
			NDAG_ERR_NOMEM : NDAG_ERR_CORRUPT;
	for (i = 0; i < cells; i++)
	{
		uint64_t	pulls = ndag_lget_u64(p + NDAG_UCB_HEADER + i * NDAG_UCB_CELL);
		double		sum = ndag_lget_f64(p + NDAG_UCB_HEADER + i * NDAG_UCB_CELL + 8);

		if (!(sum >= 0.0) || !(sum <= (double) pulls))
		{
			ndag_ucb_free(u);
			return NDAG_ERR_CORRUPT;
		}
		u->pulls[i] = pulls;
		u->rewards[i] = sum;
	}
	*out = u;
	return NDAG_OK;
}
