/*-------------------------------------------------------------------------
 *
 * hdc.c
 *	  Hyperdimensional state (DESIGN.md section 6): 10,000-bit encodings of
 *	  pattern centroids by a two-stage sign random projection (see
 *	  NdagHdcEncoder in patterns.h), popcount similarity, bitwise-majority
 *	  bundles, and the state snapshot of a bank whose drift between
 *	  learning cycles can signal an EWC++ task boundary.
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

/* full 64-bit words of a hypervector, and the bytes left after them */
#define NDAG_HDC_WORDS		(NDAG_HDC_BYTES / 8)

#if NDAG_HDC_TAPS != 4
#error "ndag_hdc_encode sums exactly four taps per bit"
#endif

/*
 * The encoder of NDAG_HDC_SEED built once by ndag_hdc_prepare (before a
 * server forks its processes, which share it), never freed; and how many
 * encoders this process drew itself, for the status of the caller.
 */
static NdagHdcEncoder *prepared_encoder = NULL;
static uint64_t encoder_draws = 0;

/*
 * draw_encoder
 *		Draw G and the taps from the seed.
 */
static NdagHdcEncoder *
draw_encoder(uint64_t seed)
{
	NdagHdcEncoder *enc = calloc(1, sizeof(NdagHdcEncoder));
	NdagRng		rng;
	int			i;

	if (enc == NULL)
		return NULL;
	enc->seed = seed;
	enc->proj = malloc(sizeof(float) * NDAG_HDC_STAGE1 * NDAG_EMBED_DIM);
	enc->taps = malloc(sizeof(uint16_t) * NDAG_HDC_BITS * NDAG_HDC_TAPS);
	if (enc->proj == NULL || enc->taps == NULL)
	{
		ndag_hdc_encoder_free(enc);
		return NULL;
	}
	ndag_rng_seed(&rng, seed);
	for (i = 0; i < NDAG_HDC_STAGE1 * NDAG_EMBED_DIM; i++)
		enc->proj[i] = (float) ndag_rng_normal(&rng);

	/*
	 * A tap is an index into [y ; -y]: the stage-1 output and a sign.  The
	 * taps of one bit use distinct outputs so that no bit cancels out.
	 */
	for (i = 0; i < NDAG_HDC_BITS; i++)
	{
		uint16_t   *t = enc->taps + (size_t) i * NDAG_HDC_TAPS;
		int			j;

		for (j = 0; j < NDAG_HDC_TAPS; j++)
		{
			uint16_t	idx;
			int			q;
			bool		dup;

			do
			{
				idx = (uint16_t) ndag_rng_below(&rng, NDAG_HDC_STAGE1);
				dup = false;
				for (q = 0; q < j; q++)
					if (t[q] % NDAG_HDC_STAGE1 == idx)
						dup = true;
			} while (dup);
			t[j] = (uint16_t) (idx + (ndag_rng_below(&rng, 2) ? NDAG_HDC_STAGE1 : 0));
		}
	}
	return enc;
}

/*
 * ndag_hdc_encoder_create
 *		A new encoder drawn from the seed (counted in
 *		ndag_hdc_encoder_draws).
 */
NdagHdcEncoder *
ndag_hdc_encoder_create(uint64_t seed)
{
	encoder_draws++;
	return draw_encoder(seed);
}

/*
 * ndag_hdc_prepare
 *		Build the encoder of NDAG_HDC_SEED once for this process and the
 *		processes it forks afterwards; a second call does nothing.
 */
int
ndag_hdc_prepare(void)
{
	if (prepared_encoder != NULL)
		return NDAG_OK;
	prepared_encoder = draw_encoder(NDAG_HDC_SEED);
	return prepared_encoder != NULL ? NDAG_OK : NDAG_ERR_NOMEM;
}

/*
 * ndag_hdc_encoder_fixed
 *		The encoder of NDAG_HDC_SEED that ndag_hdc_prepare built, NULL when
 *		it was not called.  Read only; never freed.
 */
const NdagHdcEncoder *
ndag_hdc_encoder_fixed(void)
{
	return prepared_encoder;
}

/*
 * ndag_hdc_encoder_draws
 *		Encoders this process drew itself by ndag_hdc_encoder_create (the
 *		prepared one is not counted).
 */
uint64_t
ndag_hdc_encoder_draws(void)
{
	return encoder_draws;
}

/*
 * ndag_hdc_encoder_free
 *		Release; the prepared encoder is never released.
 */
void
ndag_hdc_encoder_free(NdagHdcEncoder *enc)
{
	if (enc == NULL || enc == prepared_encoder)
		return;
	free(enc->proj);
	free(enc->taps);
	free(enc);
}

/*
 * ndag_hdc_encode
 *		Stage 1 by sgemv, stage 2 by table look-ups, 8 bits per byte.
 */
int
ndag_hdc_encode(const NdagHdcEncoder *enc, const float *x, NdagHv *out)
{
	float		y[2 * NDAG_HDC_STAGE1];
	const uint16_t *t;
	int			byte;
	int			i;

	if (enc == NULL || x == NULL || out == NULL)
		return NDAG_ERR_ARG;
	ndag_sgemv(CblasRowMajor, CblasNoTrans, NDAG_HDC_STAGE1, NDAG_EMBED_DIM,
			   1.0f, enc->proj, NDAG_EMBED_DIM, x, 1, 0.0f, y, 1);
	for (i = 0; i < NDAG_HDC_STAGE1; i++)
		y[NDAG_HDC_STAGE1 + i] = -y[i];
	t = enc->taps;
	for (byte = 0; byte < NDAG_HDC_BYTES; byte++)
	{
		unsigned int b = 0;
		int			bit;

		for (bit = 0; bit < 8; bit++, t += NDAG_HDC_TAPS)
		{
			float		s = y[t[0]] + y[t[1]] + y[t[2]] + y[t[3]];

			b |= (unsigned int) (s > 0.0f) << bit;
		}
		out->bytes[byte] = (uint8_t) b;
	}
	return NDAG_OK;
}

/*
 * ndag_hamming_words
 *		popcount of the XOR of two word arrays.  On x86-64 a clone using
 *		the POPCNT instruction is chosen at load time where the CPU has it;
 *		the default build would call a library routine per word.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
__attribute__((target_clones("popcnt", "default")))
#endif
int
ndag_hamming_words(const uint64_t *a, const uint64_t *b, int n)
{
	int			d = 0;
	int			i;

	for (i = 0; i < n; i++)
		d += __builtin_popcountll(a[i] ^ b[i]);
	return d;
}

/*
 * ndag_hdc_hamming
 *		Whole words, then the two bytes left over.
 */
int
ndag_hdc_hamming(const NdagHv *a, const NdagHv *b)
{
	uint64_t	wa[NDAG_HDC_WORDS];
	uint64_t	wb[NDAG_HDC_WORDS];
	int			d;
	int			i;

	memcpy(wa, a->bytes, sizeof(wa));
	memcpy(wb, b->bytes, sizeof(wb));
	d = ndag_hamming_words(wa, wb, NDAG_HDC_WORDS);
	for (i = NDAG_HDC_WORDS * 8; i < NDAG_HDC_BYTES; i++)
		d += __builtin_popcount((unsigned int) (a->bytes[i] ^ b->bytes[i]));
	return d;
}

/*
 * ndag_hdc_similarity
 *		1 - normalised Hamming distance.
 */
double
ndag_hdc_similarity(const NdagHv *a, const NdagHv *b)
{
	if (a == NULL || b == NULL)
		return 0.0;
	return 1.0 - (double) ndag_hdc_hamming(a, b) / NDAG_HDC_BITS;
}

/*
 * ndag_hdc_drift
 *		How far the state moved.
 */
double
ndag_hdc_drift(const NdagHv *a, const NdagHv *b)
{
	return 1.0 - ndag_hdc_similarity(a, b);
}

/*
 * ndag_hdc_bundle
 *		Count the ones of every bit, keep the majority; ties from a fixed
 *		pseudo-random vector so that no bit value is favoured.
 */
int
ndag_hdc_bundle(const void *first, size_t stride, int n, NdagHv *out)
{
	const unsigned char *base = first;
	int		   *ones;
	NdagRng		rng;
	int			i;
	int			byte;

	if (out == NULL || n < 0 || (n > 0 && (first == NULL || stride < sizeof(NdagHv))))
		return NDAG_ERR_ARG;
	memset(out, 0, sizeof(NdagHv));
	if (n == 0)
		return NDAG_OK;
	ones = calloc(NDAG_HDC_BITS, sizeof(int));
	if (ones == NULL)
		return NDAG_ERR_NOMEM;
	for (i = 0; i < n; i++)
	{
		const NdagHv *hv = (const NdagHv *) (base + (size_t) i * stride);

		for (byte = 0; byte < NDAG_HDC_BYTES; byte++)
		{
			unsigned int b = hv->bytes[byte];
			int		   *o = ones + 8 * byte;

			while (b != 0)
			{
				o[__builtin_ctz(b)]++;
				b &= b - 1;
			}
		}
	}
	ndag_rng_seed(&rng, NDAG_HDC_SEED ^ UINT64_C(0x7135));
	for (byte = 0; byte < NDAG_HDC_BYTES; byte++)
	{
		unsigned int ties = (unsigned int) (ndag_rng_next(&rng) & 0xff);
		unsigned int b = 0;
		int			bit;

		for (bit = 0; bit < 8; bit++)
		{
			int			c = ones[8 * byte + bit];

			if (2 * c > n || (2 * c == n && ((ties >> bit) & 1)))
				b |= 1u << bit;
		}
		out->bytes[byte] = (uint8_t) b;
	}
	free(ones);
	return NDAG_OK;
}

/*
 * ndag_hdc_bank_snapshot
 *		Bundle of every pattern's vector (disabled ones too: they are part
 *		of what was learned).
 */
int
ndag_hdc_bank_snapshot(const NdagPatternBank *bank, NdagHv *out)
{
	if (bank == NULL || out == NULL || bank->hv_stale)
		return NDAG_ERR_ARG;
	if (bank->count == 0)
	{
		memset(out, 0, sizeof(NdagHv));
		return NDAG_OK;
	}
	return ndag_hdc_bundle(&bank->patterns[0].hv, sizeof(NdagPattern),
						   bank->count, out);
}
