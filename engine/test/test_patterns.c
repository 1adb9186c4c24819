/*-------------------------------------------------------------------------
 *
 * test_patterns.c
 *	  The ReasoningBank and the matcher: the confidence formula on hand
 *	  values; best arm and gain on planted per-arm latencies; the quality
 *	  threshold; consolidation above cosine 0.95 only; eviction keeping
 *	  pinned and much-used patterns; the pattern byte format; exact top-k
 *	  against brute force, disabled patterns skipped, the HDC path finding
 *	  the same best match; use counts.
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
 * test_confidence
 *		The formula on hand values and its clamps.
 */
static void
test_confidence(void)
{
	tap_ok(fabs(ndag_pattern_confidence(0.04, 9) - 0.8 * 0.9) < 1e-12,
		   "var 0.04, n 9: (1 - 0.2) (1 - 1/10) = 0.72");
	tap_ok(fabs(ndag_pattern_confidence(0.0, 1) - 0.5) < 1e-12,
		   "var 0, n 1: 0.5");
	tap_ok(ndag_pattern_confidence(1.44, 100) == 0.0 && ndag_pattern_confidence(0.0, 0) == 0.0,
		   "clamped at 0 (sd > 1, no members)");
}

/*
 * planted
 *		Trajectories of three query shapes; shape s has arm latencies
 *		lat[s][arm] (ms, with 10% noise), quality q.
 */
static NdagTrajectory *
planted(NdagRng *rng, float shapes[][NDAG_EMBED_DIM], int n_shapes, int per_shape,
		const double lat[][3], double quality)
{
	NdagTrajectory *t = malloc(sizeof(NdagTrajectory) * (size_t) n_shapes * per_shape);
	int			i;

	for (i = 0; i < n_shapes * per_shape; i++)
	{
		int			s = i % n_shapes;
		int			arm = (i / n_shapes) % 3;

		tu_near_unit(rng, shapes[s], 0.01, t[i].embedding);
		t[i].arm = arm;
		t[i].latency_ms = lat[s][arm] * exp(0.1 * ndag_rng_normal(rng));
		t[i].quality = quality + 0.05 * ndag_rng_normal(rng);
		t[i].query_id = 1000 + (uint64_t) s;
	}
	return t;
}

/*
 * test_extract
 *		Best arm, gain, confidence, members, query ids; consolidation.
 */
static void
test_extract(void)
{
	const double lat[3][3] = {{100, 25, 400}, {10, 20, 5}, {50, 80, 60}};
	float		shapes[3][NDAG_EMBED_DIM];
	NdagPatternBank *bank = ndag_bank_create(3, 100);
	NdagPatternParams params;
	NdagExtractResult res;
	NdagTrajectory *t;
	NdagRng		rng;
	int			ok_best = 0;
	int			ok_gain = 0;
	int			ok_qid = 0;
	int			rc;
	int			i;
	int			s;

	ndag_rng_seed(&rng, 3);
	for (s = 0; s < 3; s++)
		tu_random_unit(&rng, shapes[s]);
	t = planted(&rng, shapes, 3, 90, lat, 0.7);
	ndag_pattern_params_init(&params);
	params.clusters = 3;
	rc = ndag_bank_extract(bank, t, 270, &params, 10.0, &res);
	tap_ok(rc == NDAG_OK && res.used == 270 && res.clusters == 3 && res.created == 3 && res.merged == 0,
		   "three shapes give three new patterns (used %d, created %d)", res.used, res.created);
	for (i = 0; i < bank->count; i++)
	{
		NdagPattern *p = &bank->patterns[i];
		int			shape = (int) (p->query_id - 1000);
		int			expect_best = shape == 0 ? 1 : shape == 1 ? 2 : 0;
		double		expect_gain = lat[shape][0] / lat[shape][expect_best];
		double		var = p->quality_m2 / (double) p->n_members;

		if (p->best_arm == expect_best && p->n_members == 90)
			ok_best++;
		else
			tap_diag("shape %d: best %d (want %d), members %llu", shape, p->best_arm,
					 expect_best, (unsigned long long) p->n_members);
		if (fabs(p->gain / expect_gain - 1.0) < 0.1 &&
			fabs(p->confidence - (1.0 - sqrt(var)) * (1.0 - 1.0 / 91.0)) < 1e-12)
			ok_gain++;
		if (p->query_id >= 1000 && p->query_id < 1003 && p->created == 10.0)
			ok_qid++;
	}
	tap_ok(ok_best == 3, "best arm is the planted fastest arm, 90 members each");
	tap_ok(ok_gain == 3, "gain = exp(mean ln default - mean ln best) and confidence by the formula");
	tap_ok(ok_qid == 3, "each pattern names a member query id");

	/* the same workload again merges into the same patterns */
	rc = ndag_bank_extract(bank, t, 270, &params, 20.0, &res);
	tap_ok(rc == NDAG_OK && res.merged == 3 && res.created == 0 && bank->count == 3 &&
		   bank->patterns[0].n_members == 180,
		   "the same shapes again merge (merged %d, members %llu)", res.merged,
		   (unsigned long long) bank->patterns[0].n_members);

	/* low quality is ignored */
	for (i = 0; i < 270; i++)
		t[i].quality = 0.1;
	tap_ok(ndag_bank_extract(bank, t, 270, &params, 30.0, &res) == NDAG_OK &&
		   res.used == 0 && res.created == 0 && bank->count == 3,
		   "trajectories below the quality threshold are not used");
	free(t);
	ndag_bank_free(bank);
}

/*
 * pattern_at
 *		A hand-made pattern with a centroid.
 */
static NdagPattern
pattern_at(const float *c, uint64_t members, double conf_var)
{
	NdagPattern p;

	memset(&p, 0, sizeof(p));
	memcpy(p.centroid, c, sizeof(p.centroid));
	p.n_members = members;
	p.quality_mean = 0.5;
	p.quality_m2 = conf_var * (double) members;
	p.arms[0].count = members;
	p.arms[0].mean_ln = 2.0;
	ndag_pattern_finish(&p, 2, 3);
	return p;
}

/*
 * test_consolidation_threshold
 *		Cosine 0.97 merges, cosine 0.90 does not.
 */
static void
test_consolidation_threshold(void)
{
	NdagPatternBank *bank = ndag_bank_create(2, 100);
	NdagPatternParams params;
	NdagExtractResult res;
	NdagTrajectory t[10];
	NdagPattern p;
	NdagRng		rng;
	float		a[NDAG_EMBED_DIM];
	float		z[NDAG_EMBED_DIM];
	double		dot = 0.0;
	double		zn = 0.0;
	int			round;
	int			i;
	int			d;

	ndag_rng_seed(&rng, 44);
	tu_random_unit(&rng, a);
	tu_random_unit(&rng, z);
	for (d = 0; d < NDAG_EMBED_DIM; d++)
		dot += (double) a[d] * z[d];
	for (d = 0; d < NDAG_EMBED_DIM; d++)
	{
		z[d] = (float) (z[d] - dot * a[d]);
		zn += (double) z[d] * z[d];
	}
	for (d = 0; d < NDAG_EMBED_DIM; d++)
		z[d] = (float) (z[d] / sqrt(zn));
	p = pattern_at(a, 20, 0.01);
	p.pinned = true;
	p.uses = 7;
	ndag_bank_insert(bank, &p, NULL);
	ndag_pattern_params_init(&params);
	params.clusters = 1;
	for (round = 0; round < 2; round++)
	{
		double		cosv = round == 0 ? 0.97 : 0.90;

		for (i = 0; i < 10; i++)
		{
			for (d = 0; d < NDAG_EMBED_DIM; d++)
				t[i].embedding[d] = (float) (cosv * a[d] + sqrt(1.0 - cosv * cosv) * z[d]);
			t[i].arm = 1;
			t[i].latency_ms = 5.0;
			t[i].quality = 0.9;
			t[i].query_id = 5;
		}
		ndag_bank_extract(bank, t, 10, &params, 1.0, &res);
		if (round == 0)
			tap_ok(res.merged == 1 && bank->count == 1 && bank->patterns[0].n_members == 30 &&
				   bank->patterns[0].pinned && bank->patterns[0].uses == 7 &&
				   bank->patterns[0].arms[1].count == 10,
				   "cosine 0.97 merges: statistics combined, pinned and uses kept");
		else
			tap_ok(res.created == 1 && res.merged == 0 && bank->count == 2,
				   "cosine 0.90 does not merge");
	}
	ndag_bank_free(bank);
}

/*
 * test_eviction
 *		Beyond capacity the lowest confidence * ln(1 + uses) goes; pinned
 *		and much-used patterns stay.
 */
static void
test_eviction(void)
{
	NdagPatternBank *bank = ndag_bank_create(2, 5);
	NdagPatternParams params;
	NdagExtractResult res;
	NdagTrajectory *t = malloc(sizeof(NdagTrajectory) * 40);
	NdagRng		rng;
	float		c[NDAG_EMBED_DIM];
	uint64_t	pinned_id = 0;
	uint64_t	used_id = 0;
	int			i;
	int			d;

	ndag_rng_seed(&rng, 81);
	for (i = 0; i < 5; i++)
	{
		NdagPattern p;
		int			idx;

		tu_random_unit(&rng, c);
		p = pattern_at(c, 10, 0.01);
		ndag_bank_insert(bank, &p, &idx);
		if (i == 0)
		{
			bank->patterns[idx].pinned = true;	/* pinned, never used */
			pinned_id = bank->patterns[idx].id;
		}
		else if (i == 1)
		{
			bank->patterns[idx].uses = 1000;
			used_id = bank->patterns[idx].id;
		}
		else
			bank->patterns[idx].uses = (uint64_t) i;
	}
	/* four new, unrelated shapes */
	for (i = 0; i < 40; i++)
	{
		if (i % 10 == 0)
			tu_random_unit(&rng, c);
		for (d = 0; d < NDAG_EMBED_DIM; d++)
			t[i].embedding[d] = c[d];
		t[i].arm = 0;
		t[i].latency_ms = 1.0;
		t[i].quality = 0.9;
		t[i].query_id = (uint64_t) i;
	}
	ndag_pattern_params_init(&params);
	params.clusters = 4;
	ndag_bank_extract(bank, t, 40, &params, 1.0, &res);
	tap_ok(res.created == 4 && res.evicted == 4 && bank->count == 5,
		   "capacity 5: four created, four evicted");
	tap_ok(ndag_bank_find(bank, pinned_id) >= 0, "the pinned pattern stays");
	tap_ok(ndag_bank_find(bank, used_id) >= 0, "the much-used pattern stays");
	for (i = 0; i < bank->count; i++)
		bank->patterns[i].pinned = true;
	bank->capacity = 2;
	ndag_bank_extract(bank, t, 0, &params, 2.0, &res);
	tap_ok(res.evicted == 0 && bank->count == 5, "all pinned: nothing evicted");
	free(t);
	ndag_bank_free(bank);
}

/*
 * test_serialize
 *		One pattern round trip; damage rejected; insert re-encodes.
 */
static void
test_serialize(void)
{
	NdagPatternBank *bank = ndag_bank_create(2, 10);
	NdagRng		rng;
	float		c[NDAG_EMBED_DIM];
	NdagPattern p;
	NdagPattern back;
	unsigned char buf[4096];
	size_t		written;
	int			idx;
	int			rc;

	ndag_rng_seed(&rng, 2);
	tu_random_unit(&rng, c);
	p = pattern_at(c, 12, 0.02);
	p.id = 77;
	p.uses = 5;
	p.disabled = true;
	ndag_bank_insert(bank, &p, &idx);
	rc = ndag_pattern_serialize(&bank->patterns[idx], buf, sizeof(buf), &written);
	tap_ok(rc == NDAG_OK && written == ndag_pattern_serialized_size(), "pattern serialises to %zu bytes", written);
	tap_ok(ndag_pattern_deserialize(buf, written, &back) == NDAG_OK && back.id == 77 &&
		   back.uses == 5 && back.disabled && !back.pinned &&
		   memcmp(back.centroid, bank->patterns[idx].centroid, sizeof(back.centroid)) == 0 &&
		   back.confidence == bank->patterns[idx].confidence,
		   "pattern round trip");
	tap_ok(ndag_bank_insert(bank, &back, NULL) == NDAG_ERR_DUPLICATE, "duplicate id refused");
	buf[100] ^= 1;
	tap_ok(ndag_pattern_deserialize(buf, written, &back) == NDAG_ERR_CORRUPT,
		   "damaged pattern rejected");
	ndag_bank_free(bank);
}

/*
 * test_matcher
 *		Exact top-k against brute force over random banks; disabled
 *		skipped; the HDC path's best equals the exact best on planted
 *		queries; use counts.
 */
static void
test_matcher(void)
{
	int			seeds = tap_seeds(10) < 10 ? tap_seeds(10) : 10;
	int			exact_ok = 0;
	int			hdc_ok = 0;
	int			disabled_ok = 0;
	int			trials = 0;
	int			s;

	for (s = 0; s < seeds; s++)
	{
		NdagPatternBank *bank = ndag_bank_create(2, 2000);
		NdagRng		rng;
		float		c[NDAG_EMBED_DIM];
		float		q[NDAG_EMBED_DIM];
		NdagMatch	out[5];
		int			n_out;
		int			i;
		int			trial;

		ndag_rng_seed(&rng, 700 + s);
		bank->hdc_threshold = 256;	/* so that ndag_match pre-filters */
		for (i = 0; i < 1000; i++)
		{
			NdagPattern p;

			tu_random_unit(&rng, c);
			p = pattern_at(c, 10, 0.0);
			p.disabled = (i % 7) == 3;
			ndag_bank_insert(bank, &p, NULL);
		}
		for (trial = 0; trial < 10; trial++)
		{
			double		best[5] = {-2, -2, -2, -2, -2};
			int			besti[5] = {-1, -1, -1, -1, -1};
			bool		same = true;
			bool		no_disabled = true;
			int			target = (int) ndag_rng_below(&rng, 1000);

			trials++;
			tu_random_unit(&rng, q);
			for (i = 0; i < bank->count; i++)
			{
				double		dot = 0.0;
				int			d;
				int			pos;

				if (bank->patterns[i].disabled)
					continue;
				for (d = 0; d < NDAG_EMBED_DIM; d++)
					dot += (double) q[d] * bank->patterns[i].centroid[d];
				for (pos = 5; pos > 0 && dot > best[pos - 1]; pos--)
					if (pos < 5)
					{
						best[pos] = best[pos - 1];
						besti[pos] = besti[pos - 1];
					}
				if (pos < 5)
				{
					best[pos] = dot;
					besti[pos] = i;
				}
			}
			ndag_match_exact(bank, q, 5, out, &n_out);
			for (i = 0; i < 5; i++)
				if (n_out != 5 || out[i].index != besti[i] ||
					fabs(out[i].cosine - best[i]) > 1e-5)
					same = false;
			if (same)
				exact_ok++;

			/* planted: a query near a known enabled pattern */
			if (bank->patterns[target].disabled)
				target = (target + 1) % 1000;
			tu_near_unit(&rng, bank->patterns[target].centroid, 0.03, q);
			ndag_match(bank, q, 5, out, &n_out);
			if (n_out >= 1 && out[0].index == target)
				hdc_ok++;
			for (i = 0; i < n_out; i++)
				if (bank->patterns[out[i].index].disabled)
					no_disabled = false;
			if (no_disabled)
				disabled_ok++;
		}
		ndag_bank_free(bank);
	}
	tap_ok(exact_ok == trials, "exact top-5 equals brute force (%d/%d)", exact_ok, trials);
	tap_ok(hdc_ok == trials, "HDC path (1000 > 256 patterns) finds the planted best (%d/%d)",
		   hdc_ok, trials);
	tap_ok(disabled_ok == trials, "disabled patterns are never matched");
}

/*
 * test_uses
 *		Matching does not count; mark_used does.
 */
static void
test_uses(void)
{
	NdagPatternBank *bank = ndag_bank_create(2, 10);
	NdagRng		rng;
	float		c[NDAG_EMBED_DIM];
	NdagPattern p;
	NdagMatch	out[1];
	int			n_out;

	ndag_rng_seed(&rng, 5);
	tu_random_unit(&rng, c);
	p = pattern_at(c, 10, 0.0);
	ndag_bank_insert(bank, &p, NULL);
	ndag_match(bank, c, 1, out, &n_out);
	tap_ok(n_out == 1 && bank->patterns[0].uses == 0 && out[0].cosine > 0.999,
		   "matching alone does not count a use");
	ndag_bank_mark_used(bank, out[0].id, 42.0);
	ndag_bank_mark_used(bank, out[0].id, 43.0);
	tap_ok(bank->patterns[0].uses == 2 && bank->patterns[0].last_used == 43.0,
		   "mark_used counts uses and the last use");
	tap_ok(ndag_bank_mark_used(bank, 999, 1.0) == NDAG_ERR_RANGE, "unknown id: NDAG_ERR_RANGE");
	memset(c, 0, sizeof(c));
	ndag_match(bank, c, 1, out, &n_out);
	tap_ok(n_out == 0, "a zero embedding matches nothing");
	ndag_bank_free(bank);
}

/*
 * test_unknown_gain
 *		A pattern whose default arm (or best arm) has too few runs reports
 *		an unknown gain (NaN), not 1; with enough runs the measured one.
 */
static void
test_unknown_gain(void)
{
	NdagPattern p;

	memset(&p, 0, sizeof(p));
	p.arms[0].count = 1;
	p.arms[0].mean_ln = log(100.0);
	p.arms[3].count = 5;
	p.arms[3].mean_ln = log(25.0);
	ndag_pattern_finish(&p, NDAG_PATTERN_MAX_ARMS, 3);
	tap_ok(p.best_arm == 3 && isnan(p.gain),
		   "one default run: the best arm is known, its gain unknown (NaN)");
	p.arms[0].count = 3;
	ndag_pattern_finish(&p, NDAG_PATTERN_MAX_ARMS, 3);
	tap_ok(p.best_arm == 3 && fabs(p.gain - 4.0) < 1e-9,
		   "three default runs: the gain is measured (%.3f)", p.gain);
}

/*
 * same_matches
 *		Whether two lists of n matches name the same patterns with the same
 *		cosines, field by field (the struct's padding is never written).
 */
static bool
same_matches(const NdagMatch *a, const NdagMatch *b, int n)
{
	for (int i = 0; i < n; i++)
		if (a[i].index != b[i].index || a[i].id != b[i].id ||
			a[i].cosine != b[i].cosine)
			return false;
	return true;
}

/*
 * test_deferred
 *		A bank that defers its hypervectors matches exactly until
 *		ndag_bank_encode, which gives every pattern the vector an encoding
 *		bank gives it; its snapshot is refused before and equal after.
 */
static void
test_deferred(void)
{
	NdagPatternBank *plain = ndag_bank_create(2, 100);
	NdagPatternBank *deferred = ndag_bank_create(2, 100);
	NdagRng		rng;
	float		c[NDAG_EMBED_DIM];
	NdagMatch	a[3];
	NdagMatch	b[3];
	NdagHv		sa;
	NdagHv		sb;
	int			na;
	int			nb;
	bool		same_hv = true;
	int			i;

	ndag_rng_seed(&rng, 4242);
	deferred->defer_hv = true;
	plain->hdc_threshold = deferred->hdc_threshold = 4;
	for (i = 0; i < 40; i++)
	{
		NdagPattern p;

		tu_random_unit(&rng, c);
		p = pattern_at(c, 10, 0.0);
		ndag_bank_insert(plain, &p, NULL);
		ndag_bank_insert(deferred, &p, NULL);
	}
	tap_ok(deferred->hv_stale && !plain->hv_stale,
		   "deferred: inserts leave the vectors unencoded");
	tu_random_unit(&rng, c);
	ndag_match_exact(plain, c, 3, a, &na);
	ndag_match(deferred, c, 3, b, &nb);
	tap_ok(na == nb && same_matches(a, b, na),
		   "deferred: ndag_match is the exact match");
	ndag_match_hdc(deferred, c, 3, b, &nb);
	tap_ok(na == nb && same_matches(a, b, na),
		   "deferred: so is ndag_match_hdc");
	tap_ok(ndag_hdc_bank_snapshot(deferred, &sb) == NDAG_ERR_ARG,
		   "deferred: the snapshot is refused");
	tap_ok(ndag_bank_encode(deferred) == NDAG_OK && !deferred->hv_stale &&
		   !deferred->defer_hv, "ndag_bank_encode encodes them");
	for (i = 0; i < plain->count; i++)
		same_hv = same_hv &&
			memcmp(&plain->patterns[i].hv, &deferred->patterns[i].hv, sizeof(NdagHv)) == 0;
	same_hv = same_hv &&
		memcmp(plain->hv_prefix, deferred->hv_prefix,
			   sizeof(uint64_t) * NDAG_HDC_PREFIX_WORDS * (size_t) plain->count) == 0;
	tap_ok(same_hv, "encoded later, every vector is what an encoding bank has");
	ndag_match(plain, c, 3, a, &na);
	ndag_match(deferred, c, 3, b, &nb);
	tap_ok(na == nb && same_matches(a, b, na),
		   "and the pre-filtered match is the same");
	tap_ok(ndag_hdc_bank_snapshot(plain, &sa) == NDAG_OK &&
		   ndag_hdc_bank_snapshot(deferred, &sb) == NDAG_OK &&
		   memcmp(&sa, &sb, sizeof(NdagHv)) == 0, "so is the snapshot");
	ndag_bank_free(plain);
	ndag_bank_free(deferred);
}

int
main(void)
{
	test_unknown_gain();
	test_confidence();
	test_extract();
	test_consolidation_threshold();
	test_eviction();
	test_serialize();
	test_matcher();
	test_uses();
	test_deferred();
	return tap_done();
}
