/*-------------------------------------------------------------------------
 *
 * test_ucb.c
 *	  The UCB selector: every arm once first, the UCB1 formula without
 *	  optimistic constants, epsilon exploration from the caller's RNG,
 *	  independent contexts, convergence on a synthetic bandit, and the
 *	  serialised form (round trip, rejection of corrupt buffers).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "tap.h"
#include "ucb.h"

/*
 * expected_arm
 *		UCB1 computed independently from the statistics.
 */
static int
expected_arm(const NdagUcb *u, int ctx)
{
	double		total = 0.0;
	double		best = -1.0;
	int			arm = -1;
	int			a;

	for (a = 0; a < u->n_arms; a++)
		total += (double) u->pulls[ctx * u->n_arms + a];
	for (a = 0; a < u->n_arms; a++)
	{
		double		n = (double) u->pulls[ctx * u->n_arms + a];
		double		s = u->rewards[ctx * u->n_arms + a] / n + u->c * sqrt(log(total) / n);

		if (s > best)
		{
			best = s;
			arm = a;
		}
	}
	return arm;
}

/*
 * test_basics
 *		Creation limits, first pulls, the formula, contexts, updates.
 */
static void
test_basics(void)
{
	NdagUcb    *u = ndag_ucb_create(4, 8, NDAG_UCB_DEFAULT_C, 1.0);
	NdagRng		rng;
	int			seen[8] = {0};
	bool		distinct = true;
	int			arm;
	int			i;

	tap_ok(ndag_ucb_create(0, 8, 1, 0) == NULL && ndag_ucb_create(1, 0, 1, 0) == NULL &&
		   ndag_ucb_create(1, NDAG_UCB_MAX_ARMS + 1, 1, 0) == NULL &&
		   ndag_ucb_create(1, 2, -1, 0) == NULL && ndag_ucb_create(1, 2, 1, 1.5) == NULL &&
		   ndag_ucb_create(1, 2, NAN, 0) == NULL, "out-of-range creation refused");

	/* epsilon = 1 would always explore, yet untried arms come first */
	ndag_rng_seed(&rng, 1);
	for (i = 0; i < 8; i++)
	{
		ndag_ucb_choose(u, 2, &rng, &arm);
		if (seen[arm]++)
			distinct = false;
		ndag_ucb_update(u, 2, arm, i == 5 ? 1.0 : 0.0);
	}
	tap_ok(distinct, "the first 8 choices try each of 8 arms once");
	ndag_ucb_free(u);

	/* no optimistic constant: after one round the rewarded arm leads */
	u = ndag_ucb_create(1, 8, 0.1, 0.0);
	for (i = 0; i < 8; i++)
	{
		ndag_ucb_choose(u, 0, NULL, &arm);
		ndag_ucb_update(u, 0, arm, arm == 5 ? 1.0 : 0.0);
	}
	ndag_ucb_choose(u, 0, NULL, &arm);
	tap_ok(arm == 5, "after one pull each, the only rewarded arm is chosen");
	ndag_ucb_free(u);

	/* the formula, hand-computed: pulls 10/5/1, means 0.9/0.5/0.1 */
	u = ndag_ucb_create(2, 3, 1.414, 0.0);
	for (i = 0; i < 10; i++)
		ndag_ucb_update(u, 0, 0, 0.9);
	for (i = 0; i < 5; i++)
		ndag_ucb_update(u, 0, 1, 0.5);
	ndag_ucb_update(u, 0, 2, 0.1);
	ndag_ucb_choose(u, 0, NULL, &arm);
	tap_ok(arm == 2, "c = 1.414: the rarely pulled arm wins (2.45 > 1.65)");
	u->c = 0.5;
	ndag_ucb_choose(u, 0, NULL, &arm);
	tap_ok(arm == 0, "c = 0.5: the best mean wins (1.16 > 0.93)");
	ndag_ucb_choose(u, 1, NULL, &arm);
	tap_ok(arm == 0, "another context is untouched: its first arm is untried");
	{
		double		mean;
		uint64_t	pulls;

		tap_ok(ndag_ucb_stats(u, 0, 1, &mean, &pulls) == NDAG_OK && fabs(mean - 0.5) < 1e-15 &&
			   pulls == 5, "stats");
	}
	tap_ok(ndag_ucb_update(u, 0, 0, -0.1) == NDAG_ERR_ARG && ndag_ucb_update(u, 0, 0, 1.1) == NDAG_ERR_ARG &&
		   ndag_ucb_update(u, 0, 0, NAN) == NDAG_ERR_ARG && ndag_ucb_update(u, 0, 3, 0.5) == NDAG_ERR_ARG &&
		   ndag_ucb_update(u, 2, 0, 0.5) == NDAG_ERR_ARG && ndag_ucb_choose(u, -1, NULL, &arm) == NDAG_ERR_ARG,
		   "bad reward, arm or context rejected");
	ndag_ucb_free(u);
}

/*
 * test_random_formula
 *		On random statistics, choose() (without epsilon) is UCB1.
 */
static void
test_random_formula(void)
{
	int			seeds = tap_seeds(300);
	int			bad = 0;
	int			s;

	for (s = 0; s < seeds; s++)
	{
		NdagRng		rng;
		NdagUcb    *u;
		int			arms;
		int			arm;
		int			i;

		ndag_rng_seed(&rng, (uint64_t) s);
		arms = 1 + (int) ndag_rng_below(&rng, 12);
		u = ndag_ucb_create(1, arms, 3.0 * ndag_rng_uniform(&rng), 0.0);
		for (i = 0; i < arms; i++)
			ndag_ucb_update(u, 0, i, ndag_rng_uniform(&rng));
		for (i = 0; i < 50; i++)
			ndag_ucb_update(u, 0, (int) ndag_rng_below(&rng, (uint64_t) arms), ndag_rng_uniform(&rng));
		ndag_ucb_choose(u, 0, &rng, &arm);
		if (arm != expected_arm(u, 0))
			bad++;
		ndag_ucb_free(u);
	}
	tap_ok(bad == 0, "choice equals UCB1 on %d random states", seeds);
}

/*
 * test_epsilon
 *		epsilon = 1 spreads choices evenly; the same seed repeats them.
 */
static void
test_epsilon(void)
{
	NdagUcb    *u = ndag_ucb_create(1, 8, 1.414, 1.0);
	NdagRng		r1;
	NdagRng		r2;
	int			count[8] = {0};
	bool		even = true;
	bool		same = true;
	int			i;
	int			a;
	int			b;

	for (i = 0; i < 8; i++)
		ndag_ucb_update(u, 0, i, i == 0 ? 1.0 : 0.0);
	ndag_rng_seed(&r1, 7);
	ndag_rng_seed(&r2, 7);
	for (i = 0; i < 8000; i++)
	{
		ndag_ucb_choose(u, 0, &r1, &a);
		ndag_ucb_choose(u, 0, &r2, &b);
		count[a]++;
		if (a != b)
			same = false;
	}
	for (i = 0; i < 8; i++)
		if (count[i] < 850 || count[i] > 1150)
			even = false;
	tap_ok(even, "epsilon = 1: every arm about 1/8 of 8000 choices");
	tap_ok(same, "same RNG seed, same choices");
	ndag_rng_seed(&r1, 7);
	u->epsilon = 0.0;
	ndag_ucb_choose(u, 0, &r1, &a);
	tap_ok(a == expected_arm(u, 0), "epsilon = 0: pure UCB1");
	ndag_ucb_free(u);
}

/*
 * test_convergence
 *		Bernoulli arms; after 5000 rounds the best arm dominates.
 */
static void
test_convergence(void)
{
	double		p[8] = {0.2, 0.3, 0.5, 0.8, 0.4, 0.1, 0.6, 0.7};
	NdagUcb    *u = ndag_ucb_create(1, 8, NDAG_UCB_DEFAULT_C, NDAG_UCB_DEFAULT_EPSILON);
	NdagRng		rng;
	int			late_best = 0;
	int			i;
	int			arm;
	uint64_t	pulls;
	double		mean;

	ndag_rng_seed(&rng, 99);
	for (i = 0; i < 5000; i++)
	{
		ndag_ucb_choose(u, 0, &rng, &arm);
		ndag_ucb_update(u, 0, arm, ndag_rng_uniform(&rng) < p[arm] ? 1.0 : 0.0);
		if (i >= 4000 && arm == 3)
			late_best++;
	}
	ndag_ucb_stats(u, 0, 3, &mean, &pulls);
	tap_ok(late_best > 600, "best arm chosen in %d of the last 1000 rounds", late_best);
	tap_ok(pulls > 2000 && fabs(mean - 0.8) < 0.05, "best arm: %llu pulls, mean %.3f",
		   (unsigned long long) pulls, mean);
	ndag_ucb_free(u);
}

/*
 * test_serialise
 *		Round trip; every truncation, every single-byte change, trailing
 *		garbage, another version and impossible values are refused.
 */
static void
test_serialise(void)
{
	NdagUcb    *u = ndag_ucb_create(3, 8, 1.2, 0.05);
	NdagUcb    *v = NULL;
	NdagRng		rng;
	unsigned char *buf;
	unsigned char *copy;
	size_t		size;
	size_t		len;
	size_t		i;
	int			accepted = 0;
	int			bit;
	bool		equal;

	ndag_rng_seed(&rng, 3);
	for (i = 0; i < 300; i++)
		ndag_ucb_update(u, (int) (i % 3), (int) ndag_rng_below(&rng, 8), ndag_rng_uniform(&rng));
	size = ndag_ucb_serialized_size(u);
	buf = malloc(size + 1);
	copy = malloc(size + 1);
	tap_ok(ndag_ucb_serialize(u, buf, size - 1, &len) == NDAG_ERR_BUFFER, "small buffer refused");
	tap_ok(ndag_ucb_serialize(u, buf, size, &len) == NDAG_OK && len == size &&
		   memcmp(buf, "NDUC", 4) == 0, "serialised with magic header");
	tap_ok(ndag_ucb_deserialize(buf, len, &v) == NDAG_OK && v != NULL, "deserialised");
	equal = v && v->n_contexts == 3 && v->n_arms == 8 && v->c == 1.2 && v->epsilon == 0.05 &&
		memcmp(v->pulls, u->pulls, sizeof(uint64_t) * 24) == 0 &&
		memcmp(v->rewards, u->rewards, sizeof(double) * 24) == 0;
	tap_ok(equal, "round trip preserves every statistic bit for bit");
	ndag_ucb_free(v);

	for (i = 0; i < len; i++)
	{
		if (ndag_ucb_deserialize(buf, i, &v) == NDAG_OK)
		{
			accepted++;
			ndag_ucb_free(v);
		}
	}
	tap_ok(accepted == 0, "every truncation (0..%zu bytes) refused", len - 1);

	accepted = 0;
	for (i = 0; i < len; i++)
	{
		for (bit = 0; bit < 8; bit++)
		{
			int			rc;

			memcpy(copy, buf, len);
			copy[i] ^= (unsigned char) (1 << bit);
			rc = ndag_ucb_deserialize(copy, len, &v);
			if (rc == NDAG_OK)
			{
				accepted++;
				ndag_ucb_free(v);
			}
			else if (rc != NDAG_ERR_CORRUPT && rc != NDAG_ERR_VERSION)
				accepted++;
		}
	}
	tap_ok(accepted == 0, "every single-bit flip refused as corrupt (%zu bytes x 8)", len);

	memcpy(copy, buf, len);
	copy[len] = 0;
	tap_ok(ndag_ucb_deserialize(copy, len + 1, &v) == NDAG_ERR_CORRUPT, "trailing byte refused");
	memcpy(copy, buf, len);
	copy[4] = 2;
	tap_ok(ndag_ucb_deserialize(copy, len, &v) == NDAG_ERR_VERSION, "version 2 refused as a version error");
	tap_ok(ndag_ucb_deserialize(NULL, len, &v) == NDAG_ERR_ARG, "NULL refused");
	ndag_ucb_free(u);

	/* a well-formed buffer whose reward exceeds its pulls */
	u = ndag_ucb_create(1, 1, 1.0, 0.0);
	u->pulls[0] = 1;
	u->rewards[0] = 2.0;
	ndag_ucb_serialize(u, buf, size, &len);
	tap_ok(ndag_ucb_deserialize(buf, len, &v) == NDAG_ERR_CORRUPT && v == NULL,
		   "reward sum above pulls refused despite a valid checksum");
	ndag_ucb_free(u);
	free(buf);
	free(copy);
}

int
main(void)
{
	test_basics();
	test_random_formula();
	test_epsilon();
	test_convergence();
	test_serialise();
	return tap_done();
}
