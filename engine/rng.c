/*-------------------------------------------------------------------------
 *
 * rng.c
 *	  A small deterministic random number generator (xoshiro256**, seeded
 *	  by splitmix64), so that exploration and tests are reproducible.
 *
 *-------------------------------------------------------------------------
 */
#include "engine.h"

#include <math.h>

/*
 * ndag_rotl
 *		Rotate left.
 */
static inline uint64_t
ndag_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

/*
 * ndag_rng_seed
 *		Expand a 64-bit seed into the generator state with splitmix64, which
 *		never yields the all-zero state xoshiro cannot leave.
 */
void
ndag_rng_seed(NdagRng *rng, uint64_t seed)
{
	int			i;

	for (i = 0; i < 4; i++)
	{
		seed += UINT64_C(0x9e3779b97f4a7c15);
		rng->s[i] = ndag_hash64(seed - UINT64_C(0x9e3779b97f4a7c15));
	}
	if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
		rng->s[0] = 1;
}

/*
 * ndag_rng_next
 *		xoshiro256** step.
 */
uint64_t
ndag_rng_next(NdagRng *rng)
{
	uint64_t   *s = rng->s;
	uint64_t	result = ndag_rotl(s[1] * 5, 7) * 9;
	uint64_t	t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = ndag_rotl(s[3], 45);
	return result;
}

/*
 * ndag_rng_uniform
 *		53 random bits scaled into [0, 1).
 */
double
ndag_rng_uniform(NdagRng *rng)
{
	return (double) (ndag_rng_next(rng) >> 11) * (1.0 / 9007199254740992.0);
}

/*
 * ndag_rng_below
 *		Unbiased integer in [0, bound) by rejection.
 */
uint64_t
ndag_rng_below(NdagRng *rng, uint64_t bound)
{
	uint64_t	limit;
	uint64_t	x;

	if (bound < 1)
		return 0;
	limit = UINT64_MAX - UINT64_MAX % bound;
	do
	{
		x = ndag_rng_next(rng);
	} while (x >= limit);
	return x % bound;
}

/*
 * ndag_rng_normal
 *		Box-Muller transform; one of the pair is discarded to keep the
 *		generator state the only state.
 */
double
ndag_rng_normal(NdagRng *rng)
{
	double		u1;
	double		u2;

	do
	{
		u1 = ndag_rng_uniform(rng);
	} while (u1 <= 0.0);
	u2 = ndag_rng_uniform(rng);
	return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}
