/*-------------------------------------------------------------------------
 *
 * test_hdc.c
 *	  Hypervectors: exactly 1,250 bytes; deterministic encoding; similar
 *	  centroids give high similarity, unrelated ones about 0.5, and the
 *	  similarity follows 1 - angle / pi; the bundle is the bitwise
 *	  majority; a bank's snapshot and the drift between snapshots.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "patterns.h"
#include "tap.h"
#include "testutil.h"

/*
 * get_bit
 *		Bit i of a hypervector.
 */
static int
get_bit(const NdagHv *h, int i)
{
	return (h->bytes[i / 8] >> (i % 8)) & 1;
}

/*
 * test_encoding
 *		Size, determinism, similarity against the angle.
 */
static void
test_encoding(void)
{
	NdagHdcEncoder *enc = ndag_hdc_encoder_create(NDAG_HDC_SEED);
	NdagHdcEncoder *enc2 = ndag_hdc_encoder_create(NDAG_HDC_SEED);
	NdagRng		rng;
	NdagHv		a;
	NdagHv		b;
	float		x[NDAG_EMBED_DIM];
	float		y[NDAG_EMBED_DIM];
	float		z[NDAG_EMBED_DIM];
	double		worst_angle = 0.0;
	double		min_random = 1.0;
	double		max_random = 0.0;
	int			ones = 0;
	int			s;
	int			i;

	tap_ok(sizeof(NdagHv) == 1250 && NDAG_HDC_BYTES * 8 == NDAG_HDC_BITS,
		   "a hypervector is exactly 1,250 bytes (10,000 bits)");
	ndag_rng_seed(&rng, 1);
	tu_random_unit(&rng, x);
	ndag_hdc_encode(enc, x, &a);
	ndag_hdc_encode(enc2, x, &b);
	tap_ok(memcmp(&a, &b, sizeof(NdagHv)) == 0 && ndag_hdc_similarity(&a, &b) == 1.0,
		   "encoding is deterministic across encoders of the same seed");
	for (i = 0; i < NDAG_HDC_BITS; i++)
		ones += get_bit(&a, i);
	tap_ok(ones > 4500 && ones < 5500, "about half the bits set (%d)", ones);
	for (i = 0; i < NDAG_EMBED_DIM; i++)
		y[i] = 3.0f * x[i];
	ndag_hdc_encode(enc, y, &b);
	tap_ok(memcmp(&a, &b, sizeof(NdagHv)) == 0, "encoding ignores the norm");

	for (s = 0; s < 40; s++)
	{
		double		t = 0.05 + 0.075 * (s % 20);
		double		dot = 0.0;
		double		angle;
		double		sim;

		tu_random_unit(&rng, x);
		tu_random_unit(&rng, z);
		/* y at angle t from x in the plane of x and z */
		for (i = 0; i < NDAG_EMBED_DIM; i++)
			dot += (double) x[i] * z[i];
		for (i = 0; i < NDAG_EMBED_DIM; i++)
			z[i] = (float) (z[i] - dot * x[i]);
		dot = 0.0;
		for (i = 0; i < NDAG_EMBED_DIM; i++)
			dot += (double) z[i] * z[i];
		for (i = 0; i < NDAG_EMBED_DIM; i++)
			y[i] = (float) (cos(t) * x[i] + sin(t) * z[i] / sqrt(dot));
		ndag_hdc_encode(enc, x, &a);
		ndag_hdc_encode(enc, y, &b);
		sim = ndag_hdc_similarity(&a, &b);
		angle = t;
		if (fabs(sim - (1.0 - angle / M_PI)) > worst_angle)
			worst_angle = fabs(sim - (1.0 - angle / M_PI));

		tu_random_unit(&rng, z);
		ndag_hdc_encode(enc, z, &b);
		sim = ndag_hdc_similarity(&a, &b);
		dot = 0.0;
		for (i = 0; i < NDAG_EMBED_DIM; i++)
			dot += (double) x[i] * z[i];
		/* random pairs: only the nearly orthogonal ones */
		if (fabs(dot) < 0.25)
		{
			if (sim < min_random)
				min_random = sim;
			if (sim > max_random)
				max_random = sim;
		}
	}
	tap_ok(worst_angle < 0.06, "similarity follows 1 - angle/pi (worst deviation %.3f)",
		   worst_angle);
	tap_ok(min_random > 0.38 && max_random < 0.62,
		   "unrelated centroids are near 0.5 (%.3f .. %.3f)", min_random, max_random);
	tu_random_unit(&rng, x);
	for (i = 0; i < NDAG_EMBED_DIM; i++)
		y[i] = x[i] + 0.05f * (float) ndag_rng_normal(&rng) / 8.0f;
	ndag_hdc_encode(enc, x, &a);
	ndag_hdc_encode(enc, y, &b);
	tap_ok(ndag_hdc_similarity(&a, &b) > 0.95, "similar centroids: similarity %.3f",
		   ndag_hdc_similarity(&a, &b));
	ndag_hdc_encoder_free(enc);
	ndag_hdc_encoder_free(enc2);
}

/*
 * test_bundle
 *		Majority per bit on hand-made vectors; ties; empty bundle; the
 *		bundle is closer to its members than to strangers.
 */
static void
test_bundle(void)
{
	NdagHdcEncoder *enc = ndag_hdc_encoder_create(NDAG_HDC_SEED);
	NdagHv		v[3];
	NdagHv		out;
	NdagHv		two;
	NdagHv		stranger;
	NdagRng		rng;
	float		x[NDAG_EMBED_DIM];
	bool		majority = true;
	int			i;

	ndag_rng_seed(&rng, 9);
	for (i = 0; i < 3; i++)
	{
		tu_random_unit(&rng, x);
		ndag_hdc_encode(enc, x, &v[i]);
	}
	ndag_hdc_bundle(v, sizeof(NdagHv), 3, &out);
	for (i = 0; i < NDAG_HDC_BITS; i++)
	{
		int			c = get_bit(&v[0], i) + get_bit(&v[1], i) + get_bit(&v[2], i);

		if (get_bit(&out, i) != (c >= 2))
			majority = false;
	}
	tap_ok(majority, "bundle of three is the bitwise majority");
	tu_random_unit(&rng, x);
	ndag_hdc_encode(enc, x, &stranger);
	tap_ok(ndag_hdc_similarity(&out, &v[0]) > 0.65 &&
		   ndag_hdc_similarity(&out, &stranger) < 0.6,
		   "the bundle resembles its members (%.3f) more than a stranger (%.3f)",
		   ndag_hdc_similarity(&out, &v[0]), ndag_hdc_similarity(&out, &stranger));
	ndag_hdc_bundle(v, sizeof(NdagHv), 2, &two);
	majority = true;
	for (i = 0; i < NDAG_HDC_BITS; i++)
		if (get_bit(&v[0], i) == get_bit(&v[1], i) && get_bit(&two, i) != get_bit(&v[0], i))
			majority = false;
	tap_ok(majority, "bundle of two keeps every bit the two agree on");
	ndag_hdc_bundle(v, sizeof(NdagHv), 0, &out);
	for (i = 0; i < NDAG_HDC_BYTES && out.bytes[i] == 0; i++)
		;
	tap_ok(i == NDAG_HDC_BYTES, "empty bundle is all zeros");
	tap_ok(ndag_hdc_bundle(v, 3, 2, &out) == NDAG_ERR_ARG, "a stride below the size is refused");
	ndag_hdc_encoder_free(enc);
}

/*
 * test_snapshot
 *		A bank's snapshot is 1,250 bytes, stable when nothing changes, and
 *		drifts when the workload changes.
 */
static void
test_snapshot(void)
{
	NdagPatternBank *bank = ndag_bank_create(4, 1000);
	NdagTrajectory *t = malloc(sizeof(NdagTrajectory) * 400);
	NdagPatternParams params;
	NdagExtractResult res;
	NdagHv		s0;
	NdagHv		s1;
	NdagHv		s2;
	NdagRng		rng;
	float		base[4][NDAG_EMBED_DIM];
	int			i;

	ndag_rng_seed(&rng, 17);
	for (i = 0; i < 4; i++)
		tu_random_unit(&rng, base[i]);
	for (i = 0; i < 400; i++)
	{
		tu_near_unit(&rng, base[i % 2], 0.02, t[i].embedding);
		t[i].arm = 0;
		t[i].latency_ms = 10.0;
		t[i].quality = 0.8;
		t[i].query_id = (uint64_t) (i % 2);
	}
	ndag_pattern_params_init(&params);
	params.clusters = 2;
	ndag_bank_extract(bank, t, 400, &params, 1.0, &res);
	ndag_hdc_bank_snapshot(bank, &s0);
	ndag_hdc_bank_snapshot(bank, &s1);
	tap_ok(sizeof(s0) == 1250 && ndag_hdc_drift(&s0, &s1) == 0.0,
		   "snapshot: 1,250 bytes, no drift without change");
	for (i = 0; i < 400; i++)
		tu_near_unit(&rng, base[2 + i % 2], 0.02, t[i].embedding);
	ndag_bank_extract(bank, t, 400, &params, 2.0, &res);
	ndag_hdc_bank_snapshot(bank, &s2);
	tap_ok(bank->count == 4 && ndag_hdc_drift(&s0, &s2) > 0.1,
		   "new workload: drift %.3f", ndag_hdc_drift(&s0, &s2));
	free(t);
	ndag_bank_free(bank);
}

/*
 * test_prepared
 *		After ndag_hdc_prepare a bank shares the prepared encoder (no draw
 *		of its own) and encodes exactly as a bank with its own encoder.
 *		Runs last: the prepared encoder stays for the rest of the process.
 */
static void
test_prepared(void)
{
	NdagPatternBank *own = ndag_bank_create(4, 10);
	NdagPatternBank *shared;
	NdagHv		a;
	NdagHv		b;
	NdagRng		rng;
	float		x[NDAG_EMBED_DIM];
	uint64_t	draws;

	tap_ok(ndag_hdc_encoder_fixed() == NULL && own->own_encoder != NULL,
		   "before ndag_hdc_prepare a bank draws its own encoder");
	tap_ok(ndag_hdc_prepare() == NDAG_OK && ndag_hdc_encoder_fixed() != NULL &&
		   ndag_hdc_prepare() == NDAG_OK, "ndag_hdc_prepare builds it once");
	draws = ndag_hdc_encoder_draws();
	shared = ndag_bank_create(4, 10);
	tap_ok(shared->encoder == ndag_hdc_encoder_fixed() &&
		   shared->own_encoder == NULL && ndag_hdc_encoder_draws() == draws,
		   "afterwards a bank shares the prepared encoder and draws none");
	ndag_rng_seed(&rng, 99);
	tu_random_unit(&rng, x);
	ndag_hdc_encode(own->encoder, x, &a);
	ndag_hdc_encode(shared->encoder, x, &b);
	tap_ok(memcmp(&a, &b, sizeof(a)) == 0,
		   "the prepared encoder encodes as a drawn one");
	ndag_bank_free(shared);
	ndag_bank_free(own);
	tap_ok(ndag_hdc_encoder_fixed() != NULL,
		   "freeing a bank keeps the prepared encoder");
}

int
main(void)
{
	test_encoding();
	test_bundle();
	test_snapshot();
	test_prepared();
	return tap_done();
}
