/*-------------------------------------------------------------------------
 *
 * test_paired.c
 *	  The sequential test on paired comparisons: a clearly faster arm is
 *	  proven in few pairs, a slower one refuted in one or two (a faster one
 *	  almost never), a load change that slows
 *	  both runs of each pair changes nothing, noise without a gain never
 *	  proves an arm, and a proven arm that turns slower is detected.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "paired.h"
#include "tap.h"

/*
 * noise
 *		A multiplicative noise factor exp(u * spread), u uniform in [-1, 1],
 *		from a small LCG (deterministic).
 */
static double
noise(unsigned *state, double spread)
{
	*state = *state * 1103515245u + 12345u;
	return exp(((double) ((*state >> 8) & 0xffff) / 32767.5 - 1.0) * spread);
}

/*
 * pairs_until_screened_verdict
 *		Pairs of a statement whose arm takes ratio times the default's
 *		time, each pair under a load factor (both runs alike) and its own
 *		noise, until a verdict (of an arm screened before when screened);
 *		the number of pairs through *n.
 */
static int
pairs_until_screened_verdict(double ratio, double spread, bool load_spikes,
							 unsigned seed, bool screened, int *n)
{
	NdagPaired	p;
	unsigned	s = seed;
	int			v = NDAG_PAIRED_OPEN;

	memset(&p, 0, sizeof(p));
	for (*n = 0; *n < 50 && v == NDAG_PAIRED_OPEN; (*n)++)
	{
		double		load = load_spikes ? (*n % 2 ? 3.0 : 1.0) : 1.0;
		double		def = 100.0 * load * noise(&s, spread);
		double		arm = 100.0 * ratio * load * noise(&s, spread);

		ndag_paired_add(&p, arm, def);
		v = ndag_paired_verdict_screened(&p, screened);
	}
	return v;
}

/*
 * pairs_until_verdict
 *		pairs_until_screened_verdict of an arm not screened.
 */
static int
pairs_until_verdict(double ratio, double spread, bool load_spikes,
					unsigned seed, int *n)
{
	return pairs_until_screened_verdict(ratio, spread, load_spikes, seed,
										false, n);
}

static void
test_verdicts(void)
{
	int			n;
	int			v;
	int			proven = 0;

	v = pairs_until_verdict(0.6, 0.1, false, 1, &n);
	tap_ok(v == NDAG_PAIRED_FASTER && n <= NDAG_PAIRED_MIN,
		   "a 1.7x faster arm is proven in %d pairs", n);
	v = pairs_until_verdict(0.75, 0.05, false, 1, &n);
	tap_ok(v == NDAG_PAIRED_FASTER && n == NDAG_PAIRED_MIN,
		   "a 1.33x faster arm is proven in %d pairs", n);
	v = pairs_until_verdict(0.2, 0.1, false, 5, &n);
	tap_ok(v == NDAG_PAIRED_FASTER && n == 2,
		   "a 5x faster arm is proven by two clear pairs");
	v = pairs_until_verdict(2.5, 0.1, false, 2, &n);
	tap_ok(v == NDAG_PAIRED_NOT_FASTER && n == 1,
		   "a 2.5x slower arm is refuted by its first pair");
	v = pairs_until_verdict(1.7, 0.05, false, 2, &n);
	tap_ok(v == NDAG_PAIRED_NOT_FASTER && n == 1,
		   "a 1.7x slower arm is refuted by its first pair");
	v = pairs_until_verdict(1.3, 0.1, false, 3, &n);
	tap_ok(v == NDAG_PAIRED_NOT_FASTER && n == 2,
		   "a 1.3x slower arm is refuted in %d pairs", n);
	v = pairs_until_verdict(0.6, 0.1, true, 4, &n);
	tap_ok(v == NDAG_PAIRED_FASTER && n <= NDAG_PAIRED_MIN,
		   "load spikes that slow both runs of a pair 3x change nothing");
	v = pairs_until_verdict(1.1, 0.05, false, 6, &n);
	tap_ok(v == NDAG_PAIRED_NOT_FASTER && n == NDAG_PAIRED_MIN,
		   "an arm slower on average after %d pairs is not faster (futile)", NDAG_PAIRED_MIN);
	for (unsigned seed = 1; seed <= 200; seed++)
		if (pairs_until_verdict(1.0, 0.3, false, seed, &n) == NDAG_PAIRED_FASTER)
			proven++;
	tap_ok(proven <= 10, "an arm as fast as the default with 30%% noise is proven faster in %d of 200 runs (<= 5%%)", proven);
	proven = 0;
	for (unsigned seed = 1; seed <= 200; seed++)
		if (pairs_until_verdict(1.1, 0.3, false, seed, &n) == NDAG_PAIRED_FASTER)
			proven++;
	tap_ok(proven <= 1, "an arm 1.1x slower with 30%% noise is proven faster in %d of 200 runs", proven);
	proven = 0;
	for (unsigned seed = 1; seed <= 200; seed++)
		if (pairs_until_verdict(0.77, 0.3, false, seed, &n) == NDAG_PAIRED_NOT_FASTER &&
			n <= 2)
			proven++;
	tap_ok(proven <= 2, "an arm 1.3x faster with 30%% noise is refuted by its first two pairs in %d of 200 runs (<= 1%%)", proven);
	proven = 0;
	for (unsigned seed = 1; seed <= 200; seed++)
		if (pairs_until_verdict(1.3, 0.3, false, seed, &n) == NDAG_PAIRED_NOT_FASTER &&
			n <= 2)
			proven++;
	tap_ok(proven >= 100, "an arm 1.3x slower with 30%% noise is refuted by its first two pairs in %d of 200 runs", proven);
	v = pairs_until_verdict(1.0, 0.3, false, 7, &n);
	tap_ok(v == NDAG_PAIRED_NOT_FASTER && n <= NDAG_PAIRED_LONG_MAX,
		   "no gain: not faster within %d pairs", NDAG_PAIRED_LONG_MAX);
	proven = 0;
	for (unsigned seed = 1; seed <= 200; seed++)
		if (pairs_until_verdict(0.77, 0.3, false, seed, &n) == NDAG_PAIRED_FASTER)
			proven++;
	tap_ok(proven >= 140, "an arm 1.3x faster with 30%% noise is proven faster in %d of 200 runs (>= 70%%)", proven);
	proven = 0;
	for (unsigned seed = 1; seed <= 200; seed++)
		if (pairs_until_verdict(0.83, 0.3, false, seed, &n) == NDAG_PAIRED_FASTER)
			proven++;
	tap_ok(proven >= 70, "an arm 1.2x faster with 30%% noise is proven faster in %d of 200 runs (>= 35%%)", proven);
}

/*
 * test_promising
 *		An arm whose mean after NDAG_PAIRED_MAX pairs says
 *		NDAG_PAIRED_PROMISING times faster stays open, up to
 *		NDAG_PAIRED_LONG_MAX pairs; one whose mean says less is not faster.
 */
static void
test_promising(void)
{
	NdagPaired	p;
	static const double promising[] = {60, 125, 60, 125, 60, 115};
	static const double lukewarm[] = {80, 120, 80, 120, 80, 115};

	memset(&p, 0, sizeof(p));
	for (int i = 0; i < NDAG_PAIRED_MAX; i++)
		ndag_paired_add(&p, promising[i], 100.0);
	tap_ok(ndag_paired_verdict(&p) == NDAG_PAIRED_OPEN,
		   "a promising but unproven arm stays open after %d pairs (%.2fx)",
		   NDAG_PAIRED_MAX, ndag_paired_speedup(&p));
	while (p.n < NDAG_PAIRED_LONG_MAX)
		ndag_paired_add(&p, promising[p.n % NDAG_PAIRED_MAX], 100.0);
	tap_ok(ndag_paired_verdict(&p) != NDAG_PAIRED_OPEN,
		   "it has its verdict after %d pairs", NDAG_PAIRED_LONG_MAX);
	memset(&p, 0, sizeof(p));
	for (int i = 0; i < NDAG_PAIRED_MAX; i++)
		ndag_paired_add(&p, lukewarm[i], 100.0);
	tap_ok(ndag_paired_verdict(&p) == NDAG_PAIRED_NOT_FASTER,
		   "an unproven arm whose mean says %.2fx is not faster after %d pairs",
		   ndag_paired_speedup(&p), NDAG_PAIRED_MAX);
	tap_ok(ndag_paired_verdict_screened(&p, true) == NDAG_PAIRED_OPEN,
		   "screened before, it stays open");
	while (p.n < NDAG_PAIRED_LONG_MAX)
		ndag_paired_add(&p, lukewarm[p.n % NDAG_PAIRED_MAX], 100.0);
	tap_ok(ndag_paired_verdict_screened(&p, true) != NDAG_PAIRED_OPEN,
		   "until its verdict after %d pairs", NDAG_PAIRED_LONG_MAX);
}

/*
 * test_screened
 *		A screened arm's longer pairing proves more of the arms 1.15x
 *		faster under a busy machine's noise, and hardly more of those no
 *		faster than the default.
 */
static void
test_screened(void)
{
	int			n;
	int			proven = 0;
	int			proven_screened = 0;
	int			equal_screened = 0;

	for (unsigned seed = 1; seed <= 200; seed++)
	{
		if (pairs_until_verdict(0.87, 0.25, false, seed, &n) == NDAG_PAIRED_FASTER)
			proven++;
		if (pairs_until_screened_verdict(0.87, 0.25, false, seed, true, &n) ==
			NDAG_PAIRED_FASTER)
			proven_screened++;
		if (pairs_until_screened_verdict(1.0, 0.25, false, seed, true, &n) ==
			NDAG_PAIRED_FASTER)
			equal_screened++;
	}
	tap_ok(proven_screened > proven,
		   "an arm 1.15x faster with 25%% noise is proven in %d of 200 runs screened, %d not",
		   proven_screened, proven);
	tap_ok(equal_screened <= 10,
		   "an arm as fast as the default, screened, is proven faster in %d of 200 runs (<= 5%%)",
		   equal_screened);
}

static void
test_slower(void)
{
	NdagPaired	p;
	unsigned	s = 9;

	memset(&p, 0, sizeof(p));
	for (int i = 0; i < 5; i++)
		ndag_paired_add(&p, 50.0 * noise(&s, 0.05), 100.0);
	tap_ok(!ndag_paired_slower(&p), "a faster arm is not slower");
	memset(&p, 0, sizeof(p));
	for (int i = 0; i < 3; i++)
		ndag_paired_add(&p, 150.0 * noise(&s, 0.05), 100.0);
	tap_ok(ndag_paired_slower(&p), "three pairs 1.5x slower prove the arm slower");
	tap_ok(fabs(ndag_paired_speedup(&p) - 1.0 / 1.5) < 0.05,
		   "the speed-up is the geometric mean ratio");
	memset(&p, 0, sizeof(p));
	ndag_paired_add(&p, NAN, 100.0);
	ndag_paired_add(&p, 0.0, 100.0);
	tap_ok(p.n == 0 && ndag_paired_verdict(&p) == NDAG_PAIRED_OPEN,
		   "pairs with a missing or zero latency are ignored");
}

static void
test_merge(void)
{
	NdagPaired	all;
	NdagPaired	first;
	NdagPaired	second;
	NdagPaired	empty;
	NdagPaired	m;
	unsigned	s = 11;

	memset(&all, 0, sizeof(all));
	memset(&first, 0, sizeof(first));
	memset(&second, 0, sizeof(second));
	memset(&empty, 0, sizeof(empty));
	for (int i = 0; i < 14; i++)
	{
		double		arm = (i < 2 ? 45.0 : 95.0) * noise(&s, 0.1);

		ndag_paired_add(&all, arm, 100.0);
		ndag_paired_add(i < 2 ? &first : &second, arm, 100.0);
	}
	m = ndag_paired_merge(&first, &second);
	tap_ok(m.n == all.n && fabs(m.mean - all.mean) < 1e-5 &&
		   fabs(m.m2 - all.m2) < 1e-4 * (1 + all.m2) && m.max == all.max,
		   "two sets of pairs merged are the pairs added to one set (mean %.4f %.4f, m2 %.4f %.4f)",
		   m.mean, all.mean, m.m2, all.m2);
	tap_ok(ndag_paired_speedup(&first) > 2.0 && ndag_paired_speedup(&m) < 1.2,
		   "two lucky pairs' speed-up %.2f falls to %.2f with twelve pairs after them",
		   ndag_paired_speedup(&first), ndag_paired_speedup(&m));
	m = ndag_paired_merge(&empty, &first);
	tap_ok(m.n == first.n && m.mean == first.mean, "merging into no pairs gives the other set");
	m = ndag_paired_merge(&first, &empty);
	tap_ok(m.n == first.n && m.mean == first.mean, "merging no pairs changes nothing");
}

int
main(void)
{
	test_merge();
	test_verdicts();
	test_slower();
	test_promising();
	test_screened();
	return tap_done();
}
