/*-------------------------------------------------------------------------
 *
 * test_btsp.c
 *	  BTSP one-shot memory: what is a surprise and what is not, recall
 *	  after one execution, decay below the threshold at the computed time,
 *	  forgetting when the arm stops paying off, the explore marker, and the
 *	  hash table against a reference under random inserts, deletions and
 *	  growth.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "btsp.h"
#include "engine.h"
#include "tap.h"

/*
 * test_surprise
 *		Store rules, recall, decay, forgetting.
 */
static void
test_surprise(void)
{
	NdagBtsp   *b = ndag_btsp_create(0);
	bool		stored;
	bool		forgot;
	bool		found;
	int			arm = -9;
	double		w = 0.0;
	double		fade;

	ndag_btsp_observe(b, 11, 3, 60.0, 100.0, NAN, 0.0, &stored, NULL);
	ndag_btsp_lookup(b, 11, 0.0, &found, NULL, NULL);
	tap_ok(!stored && !found, "1.7x faster is no surprise");
	ndag_btsp_observe(b, 11, 3, 50.0, 100.0, NAN, 10.0, &stored, NULL);
	ndag_btsp_lookup(b, 11, 10.0, &found, &arm, &w);
	tap_ok(stored && found && arm == 3 && w == 1.0,
		   "2x faster: stored after one execution, recalled with weight 1");
	ndag_btsp_observe(b, 12, 3, 10.0, -1.0, NAN, 10.0, &stored, NULL);
	tap_ok(!stored, "no baseline: nothing stored");

	/* weight 1 * exp(-t / tau) reaches 0.1 at t = tau ln 10 */
	fade = 10.0 + NDAG_BTSP_TAU_S * log(1.0 / NDAG_BTSP_THRESHOLD);
	ndag_btsp_lookup(b, 11, fade - 1.0, &found, &arm, &w);
	tap_ok(found && w > NDAG_BTSP_THRESHOLD && w < 0.1001,
		   "recalled just before the weight falls to the threshold (%.5f)", w);
	ndag_btsp_lookup(b, 11, fade + 1.0, &found, NULL, NULL);
	tap_ok(!found, "not recalled after it faded");
	tap_ok(ndag_btsp_prune(b, fade + 1.0) == 1 && b->count == 0, "prune drops it");

	ndag_btsp_observe(b, 11, 3, 40.0, 100.0, NAN, 20.0, &stored, NULL);
	ndag_btsp_observe(b, 11, 3, 120.0, 100.0, NAN, 30.0, &stored, &forgot);
	ndag_btsp_lookup(b, 11, 30.0, &found, NULL, NULL);
	tap_ok(forgot && !found, "the remembered arm running slower than the default forgets it");

	ndag_btsp_observe(b, 13, 0, 100.0, NAN, log(10.0), 5.0, &stored, NULL);
	ndag_btsp_lookup(b, 13, 5.0, &found, &arm, NULL);
	tap_ok(stored && found && arm == NDAG_BTSP_EXPLORE,
		   "default 10x slower than predicted: explore marker");
	ndag_btsp_observe(b, 14, 0, 20.0, NAN, log(10.0), 5.0, &stored, NULL);
	tap_ok(!stored, "default 2x slower than predicted: no surprise");
	ndag_btsp_observe(b, 13, 2, 10.0, 100.0, NAN, 6.0, &stored, NULL);
	ndag_btsp_observe(b, 13, 0, 100.0, NAN, log(10.0), 7.0, &stored, NULL);
	ndag_btsp_lookup(b, 13, 7.0, &found, &arm, NULL);
	tap_ok(found && arm == 2, "a known fast arm is not replaced by the explore marker");
	tap_ok(ndag_btsp_observe(b, 0, 1, 1.0, 10.0, NAN, 0.0, NULL, NULL) == NDAG_ERR_ARG &&
		   ndag_btsp_observe(b, 1, -1, 1.0, 10.0, NAN, 0.0, NULL, NULL) == NDAG_ERR_ARG &&
		   ndag_btsp_observe(b, 1, 1, NAN, 10.0, NAN, 0.0, NULL, NULL) == NDAG_ERR_ARG,
		   "bad arguments rejected");
	ndag_btsp_free(b);
}

/*
 * test_table
 *		Random stores and forgets on a small key space (many collisions
 *		and growth) against a plain array.
 */
static void
test_table(void)
{
	int			seeds = tap_seeds(20) < 20 ? tap_seeds(20) : 20;
	int			good = 0;
	int			s;

	for (s = 0; s < seeds; s++)
	{
		enum
		{
			KEYS = 3000
		};
		NdagBtsp   *b = ndag_btsp_create(0);
		int		   *ref = malloc(sizeof(int) * KEYS);
		NdagRng		rng;
		bool		ok = true;
		int			live = 0;
		int			op;
		int			k;

		for (k = 0; k < KEYS; k++)
			ref[k] = -2;
		ndag_rng_seed(&rng, 40 + s);
		for (op = 0; op < 20000; op++)
		{
			int			key = 1 + (int) ndag_rng_below(&rng, KEYS - 1);

			if (ndag_rng_below(&rng, 3) != 0)
			{
				int			arm = 1 + (int) ndag_rng_below(&rng, 7);

				ndag_btsp_observe(b, (uint64_t) key, arm, 1.0, 10.0, NAN, 0.0, NULL, NULL);
				ref[key] = arm;
			}
			else
			{
				ndag_btsp_forget(b, (uint64_t) key);
				ref[key] = -2;
			}
		}
		for (k = 1; k < KEYS; k++)
		{
			bool		found;
			int			arm = -5;

			ndag_btsp_lookup(b, (uint64_t) k, 1.0, &found, &arm, NULL);
			if (found != (ref[k] != -2) || (found && arm != ref[k]))
				ok = false;
			live += ref[k] != -2;
		}
		if (ok && live == b->count && 10 * b->count <= 7 * b->capacity)
			good++;
		free(ref);
		ndag_btsp_free(b);
	}
	tap_ok(good == seeds, "table agrees with a reference under 20,000 random operations (%d/%d)",
		   good, seeds);
}

/*
 * test_prune
 *		Half the entries faded, spread over colliding runs: exactly those
 *		go.
 */
static void
test_prune(void)
{
	NdagBtsp   *b = ndag_btsp_create(0);
	bool		ok = true;
	int			removed;
	int			k;

	for (k = 1; k <= 2000; k++)
		ndag_btsp_observe(b, (uint64_t) k, 1, 1.0, 10.0, NAN,
						  (k % 2) ? 0.0 : 1000.0, NULL, NULL);
	removed = ndag_btsp_prune(b, 9000.0);
	for (k = 1; k <= 2000; k++)
	{
		bool		found;

		ndag_btsp_lookup(b, (uint64_t) k, 9000.0, &found, NULL, NULL);
		if (found != ((k % 2) == 0))
			ok = false;
	}
	tap_ok(removed == 1000 && b->count == 1000 && ok,
		   "prune removes exactly the faded entries (%d)", removed);
	ndag_btsp_free(b);
}

int
main(void)
{
	test_surprise();
	test_table();
	test_prune();
	return tap_done();
}
