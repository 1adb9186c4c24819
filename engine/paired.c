/*-------------------------------------------------------------------------
 *
 * paired.c
 *	  The sequential test on paired comparisons of an arm with the default
 *	  plan (paired.h).
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>

#include "paired.h"

/*
 * ndag_t975
 *		One-sided 97.5% quantile of Student's t (df >= 1; large df: normal).
 */
double
ndag_t975(int df)
{
	static const double t[] = {
		12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
		2.201, 2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
		2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042
	};

	if (df < 1)
		return INFINITY;
	if (df <= (int) (sizeof(t) / sizeof(t[0])))
		return t[df - 1];
	return 1.960;
}

/*
 * ndag_paired_add
 *		Welford's update with the pair's log ratio.
 */
void
ndag_paired_add(NdagPaired *p, double arm_ms, double default_ms)
{
	double		d;
	double		delta;

	if (!(arm_ms > 0) || !(default_ms > 0) || !isfinite(arm_ms) ||
		!isfinite(default_ms))
		return;
	d = log(arm_ms / default_ms);
	if (p->n == 0 || d > p->max)
		p->max = (float) d;
	p->n++;
	delta = d - p->mean;
	p->mean += (float) (delta / p->n);
	p->m2 += (float) (delta * (d - p->mean));
	if (!(p->m2 >= 0))
		p->m2 = 0;
}

/*
 * ndag_paired_merge
 *		Chan's combination of the two sets' means and squared deviations.
 */
NdagPaired
ndag_paired_merge(const NdagPaired *a, const NdagPaired *b)
{
	NdagPaired	m;
	double		delta;
	uint32_t	n = a->n + b->n;

	if (a->n == 0)
		return *b;
	if (b->n == 0)
		return *a;
	delta = (double) b->mean - (double) a->mean;
	m.n = n;
	m.mean = (float) (a->mean + delta * b->n / n);
	m.m2 = (float) (a->m2 + b->m2 + delta * delta * ((double) a->n * b->n / n));
	m.max = a->max > b->max ? a->max : b->max;
	return m;
}

/*
 * margin
 *		t975 times the standard error of the mean log ratio, the standard
 *		deviation floored at NDAG_PAIRED_MIN_SD (n >= 2).
 */
static double
margin(const NdagPaired *p)
{
	double		sd = sqrt(p->m2 / (p->n - 1));

	if (!(sd >= NDAG_PAIRED_MIN_SD))
		sd = NDAG_PAIRED_MIN_SD;
	return ndag_t975((int) p->n - 1) * sd / sqrt((double) p->n);
}

/*
 * ndag_paired_verdict
 *		Refuted at once when the mean says the arm is NDAG_PAIRED_REFUTE
 *		times slower, and from 2 pairs when it says NDAG_PAIRED_FUTILE
 *		times slower (an arm that must be 1.05x faster to count is not
 *		worth more pairs: most arms lose, and their pairs are most of the
 *		shadow budget); proven from 2 pairs when every pair was
 *		NDAG_PAIRED_CLEAR times faster (a gain run-to-run noise does not
 *		make twice); from NDAG_PAIRED_MIN pairs faster when the upper bound of
 *		the mean log ratio is below -ln NDAG_PAIRED_MIN_GAIN, not faster
 *		when its lower bound is above it, when the mean says the arm is not
 *		faster at all (futile: it will not reach the gain), after
 *		NDAG_PAIRED_MAX pairs unless the mean says NDAG_PAIRED_PROMISING
 *		times faster, and after NDAG_PAIRED_LONG_MAX pairs.  The longer
 *		run for a promising mean is what proves gains of 1.2-1.3x under a
 *		busy machine's noise (engine/test/test_paired.c: with 30% noise a
 *		1.3x faster arm is proven in 156 runs of 200 instead of 96),
 *		without proving more arms that are not faster: those rarely look
 *		promising after 6 pairs, and the test's bound is the same.
 */
int
ndag_paired_verdict(const NdagPaired *p)
{
	return ndag_paired_verdict_screened(p, false);
}

/*
 * ndag_paired_verdict_screened
 *		ndag_paired_verdict for an arm whose plans, run without parallel
 *		workers, were found faster (screened): its pairs run as users run
 *		the plans (with the workers, noisier on a busy machine)
 *		go on to NDAG_PAIRED_LONG_MAX while their mean says it is faster at
 *		all, whatever NDAG_PAIRED_PROMISING says after NDAG_PAIRED_MAX.  A
 *		gain of 1.2-1.3x that the serial pairs showed clearly then needs
 *		no more luck from the parallel ones than a promising mean would.
 */
int
ndag_paired_verdict_screened(const NdagPaired *p, bool screened)
{
	double		gain_ln = -log(NDAG_PAIRED_MIN_GAIN);
	double		m;

	if (p->n == 0)
		return NDAG_PAIRED_OPEN;
	if (p->mean >= log(NDAG_PAIRED_REFUTE) - 1e-6)
		return NDAG_PAIRED_NOT_FASTER;
	if (p->n >= 2 && p->mean >= log(NDAG_PAIRED_FUTILE) - 1e-6)
		return NDAG_PAIRED_NOT_FASTER;
	if (p->n >= 2 && p->max <= -log(NDAG_PAIRED_CLEAR))
		return NDAG_PAIRED_FASTER;
	if (p->n < NDAG_PAIRED_MIN)
		return NDAG_PAIRED_OPEN;
	m = margin(p);
	if (p->mean + m < gain_ln)
		return NDAG_PAIRED_FASTER;
	if (p->mean - m > gain_ln || p->mean >= 0 || p->n >= NDAG_PAIRED_LONG_MAX ||
		(p->n >= NDAG_PAIRED_MAX && !screened &&
		 p->mean > -log(NDAG_PAIRED_PROMISING)))
		return NDAG_PAIRED_NOT_FASTER;
	return NDAG_PAIRED_OPEN;
}

/*
 * ndag_paired_slower
 *		From NDAG_PAIRED_MIN pairs, the lower bound of the mean log ratio
 *		above 0.
 */
bool
ndag_paired_slower(const NdagPaired *p)
{
	return p->n >= NDAG_PAIRED_MIN && p->mean - margin(p) > 0;
}

/*
 * ndag_paired_speedup
 *		exp(-mean log ratio).
 */
double
ndag_paired_speedup(const NdagPaired *p)
{
	return p->n > 0 ? exp(-(double) p->mean) : NAN;
}
