/*-------------------------------------------------------------------------
 *
 * patterns.h
 *	  The ReasoningBank (DESIGN.md section 6): k-means++ over recorded
 *	  executions, hyperdimensional (HDC) encodings of the patterns and of
 *	  the bank's state, pattern extraction, and the matcher.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_PATTERNS_H
#define NDAG_PATTERNS_H

#include "engine.h"

/* ---------- constants: k-means, patterns, HDC ---------- */

#define NDAG_KMEANS_MAX_ITER		100
#define NDAG_KMEANS_MIN_PER_CLUSTER 5	/* k = min(requested, n / 5) */

#define NDAG_HDC_BITS				10000
#define NDAG_HDC_BYTES				1250	/* NDAG_HDC_BITS / 8 */
#define NDAG_HDC_STAGE1				256 /* Gaussian projections of stage 1 */
#define NDAG_HDC_TAPS				4	/* stage-1 outputs summed per bit */
#define NDAG_HDC_SEED				UINT64_C(0x4e444147c0ffee01)
#define NDAG_HDC_PREFIX_WORDS		16	/* bits 0..1023: the matcher's pre-filter */

#define NDAG_PATTERN_MAX_ARMS		NDAG_MAX_ARMS
#define NDAG_PATTERN_CLUSTERS		100 /* default requested clusters */
#define NDAG_PATTERN_QUALITY		0.3 /* default quality threshold */
#define NDAG_PATTERN_MIN_ARM_COUNT	3	/* runs before an arm can be best */
#define NDAG_PATTERN_MERGE_COSINE	0.95
#define NDAG_PATTERN_CAPACITY		10000	/* default retained patterns */
#define NDAG_PATTERN_HDC_THRESHOLD	4096	/* banks larger than this pre-filter */
#define NDAG_PATTERN_FORMAT_VERSION 1

/* ---------- types: HDC, trajectories, patterns ---------- */

/*
 * A 10,000-bit hypervector, exactly NDAG_HDC_BYTES bytes: bit i is
 * (bytes[i / 8] >> (i % 8)) & 1.  Its serialised form is the bytes as
 * they are.
 */
typedef struct NdagHv
{
	uint8_t		bytes[NDAG_HDC_BYTES];
} NdagHv;

/*
 * The fixed encoder of centroids into hypervectors: a two-stage sign
 * random projection.  Stage 1: y = G x with G (256 x 64) Gaussian.  Stage
 * 2: bit i = [sum of NDAG_HDC_TAPS entries of y, each with a random sign,
 * > 0].  Each bit is the sign of x against a Gaussian direction (a signed
 * sum of rows of G), so the expected Hamming fraction between two encodings
 * is angle / pi as for plain sign random projection, at 4 additions per
 * bit instead of 64 multiply-adds.  Built from NDAG_HDC_SEED so that
 * encodings are comparable across servers.
 */
typedef struct NdagHdcEncoder
{
	uint64_t	seed;
	float	   *proj;			/* NDAG_HDC_STAGE1 x NDAG_EMBED_DIM */
	uint16_t   *taps;			/* NDAG_HDC_BITS x NDAG_HDC_TAPS: index into
								 * [y ; -y] */
} NdagHdcEncoder;

/* One recorded execution, as the learner hands it to pattern extraction. */
typedef struct NdagTrajectory
{
	float		embedding[NDAG_EMBED_DIM];
	int			arm;			/* 0 = the default plan */
	double		latency_ms;		/* NaN: unknown, skipped by learning */
	double		quality;		/* DESIGN.md section 5 */
	uint64_t	query_id;
} NdagTrajectory;

/* Running statistics of ln(latency ms) of one arm; variance = m2 / count. */
typedef struct NdagArmStats
{
	uint64_t	count;
	double		mean_ln;
	double		m2_ln;
} NdagArmStats;

/*
 * A pattern of the ReasoningBank: a cluster of similar plans and what is
 * known about the arms on them.
 */
typedef struct NdagPattern
{
	uint64_t	id;				/* unique in its bank, never reused */
	float		centroid[NDAG_EMBED_DIM];	/* L2-normalised */
	uint64_t	n_members;
	double		quality_mean;	/* over members */
	double		quality_m2;		/* variance = m2 / n_members */
	uint64_t	query_id;		/* the member closest to the centroid */
	NdagArmStats arms[NDAG_PATTERN_MAX_ARMS];
	int			best_arm;		/* lowest mean among arms with enough runs */
	double		gain;			/* exp(mean default - mean best), >= 1 faster; NaN unknown */
	double		confidence;		/* (1 - sd quality) (1 - 1/(n+1)), in [0,1] */
	uint64_t	uses;
	double		last_used;		/* caller's clock, 0 = never */
	double		created;
	bool		pinned;			/* never evicted */
	bool		disabled;		/* never matched */
	NdagHv		hv;				/* encoding of the centroid */
} NdagPattern;

/*
 * A bank of patterns.  patterns[0 .. count), the centroid matrix
 * (count x NDAG_EMBED_DIM, row i = patterns[i].centroid) and the matrix of
 * hypervector prefixes are kept in step
 * by the bank functions; the caller may change a pattern's pinned,
 * disabled, uses and last_used directly.  capacity bounds how many are
 * kept after extraction (the arrays themselves grow as needed).
 */
typedef struct NdagPatternBank
{
	int			n_arms;
	int			count;
	int			capacity;
	int			allocated;
	NdagPattern *patterns;
	float	   *centroids;
	uint64_t   *hv_prefix;		/* count x NDAG_HDC_PREFIX_WORDS: the first
								 * 1,024 bits of each pattern's hv */
	uint64_t	next_id;
	int			hdc_threshold;	/* pre-filter when count > this */
	bool		defer_hv;		/* inserts leave hv unencoded: see
								 * ndag_bank_encode */
	bool		hv_stale;		/* some hv and prefix are not encoded yet */
	const NdagHdcEncoder *encoder;	/* the prepared one, or own_encoder */
	NdagHdcEncoder *own_encoder;	/* drawn for this bank; NULL when shared */
} NdagPatternBank;

/* Settings of pattern extraction; ndag_pattern_params_init. */
typedef struct NdagPatternParams
{
	int			clusters;		/* requested k */
	double		quality_threshold;
	int			min_arm_count;
	double		merge_cosine;
	int			max_iter;
	uint64_t	seed;
} NdagPatternParams;

/* What an extraction did. */
typedef struct NdagExtractResult
{
	int			used;			/* trajectories at or above the threshold */
	int			clusters;
	int			iterations;		/* k-means iterations */
	int			created;
	int			merged;
	int			evicted;
} NdagExtractResult;

/* One match of the matcher. */
typedef struct NdagMatch
{
	int			index;			/* into bank->patterns */
	uint64_t	id;
	double		cosine;
} NdagMatch;

/* ---------- functions: k-means (kmeans.c) ---------- */

/* min(requested, n / 5), at least 1 when n >= 1 and requested >= 1; else 0. */
extern int	ndag_kmeans_k(int requested, int n);

/*
 * k-means++ over n rows of dim floats: D^2 seeding from seed, then Lloyd
 * iterations (distances ||x||^2 + ||c||^2 - 2 X C^T by sgemm) until no
 * assignment changes or max_iter.  k = ndag_kmeans_k(k_requested, n);
 * centroids receives k x dim floats (room for k_requested x dim), assign
 * n cluster numbers (max_iter >= 1).  An emptied cluster is reseeded at the point farthest
 * from its centroid.  Deterministic for a seed.  Errors: NDAG_ERR_ARG,
 * NDAG_ERR_EMPTY (n < 1), NDAG_ERR_NOMEM.
 */
extern int	ndag_kmeans(const float *x, int n, int dim, int k_requested,
						int max_iter, uint64_t seed, float *centroids,
						int *assign, int *k_out, int *iterations);

/* ---------- functions: HDC (hdc.c) ---------- */

/* The encoder for a seed (NDAG_HDC_SEED for comparable states); NULL on OOM. */
extern NdagHdcEncoder *ndag_hdc_encoder_create(uint64_t seed);

/* Release; NULL and the prepared encoder are accepted (and kept). */
extern void ndag_hdc_encoder_free(NdagHdcEncoder *enc);

/*
 * Build the encoder of NDAG_HDC_SEED once per process, to be shared by
 * every bank of this process and of the processes it forks afterwards
 * (a server calls it before forking).  NDAG_OK or NDAG_ERR_NOMEM.
 */
extern int	ndag_hdc_prepare(void);

/* The prepared encoder of NDAG_HDC_SEED, NULL before ndag_hdc_prepare. */
extern const NdagHdcEncoder *ndag_hdc_encoder_fixed(void);

/* Encoders this process drew by ndag_hdc_encoder_create. */
extern uint64_t ndag_hdc_encoder_draws(void);

/* Encode a NDAG_EMBED_DIM vector (any norm). */
extern int	ndag_hdc_encode(const NdagHdcEncoder *enc, const float *x, NdagHv *out);

/* Number of differing bits, 0..NDAG_HDC_BITS. */
extern int	ndag_hdc_hamming(const NdagHv *a, const NdagHv *b);

/*
 * 1 - hamming / NDAG_HDC_BITS: 1 identical, about 0.5 for unrelated
 * vectors, and for encodings of vectors at angle t about 1 - t / pi.
 */
extern double ndag_hdc_similarity(const NdagHv *a, const NdagHv *b);

/*
 * Bitwise majority of n vectors (stride bytes apart, stride >= sizeof
 * NdagHv, so a vector embedded in a larger struct can be bundled in
 * place).  A tie (even n) takes the bit of a fixed pseudo-random vector.
 * n = 0 gives all zeros.
 */
extern int	ndag_hdc_bundle(const void *first, size_t stride, int n, NdagHv *out);

/* 1 - similarity between two state snapshots. */
extern double ndag_hdc_drift(const NdagHv *a, const NdagHv *b);

/*
 * The state snapshot of a bank: the bundle of its patterns' vectors.
 * NDAG_ERR_ARG for a bank whose vectors are not all encoded (hv_stale).
 */
extern int	ndag_hdc_bank_snapshot(const NdagPatternBank *bank, NdagHv *out);

/* ---------- functions: patterns (patterns.c) ---------- */

/* Default extraction settings. */
extern void ndag_pattern_params_init(NdagPatternParams *params);

/*
 * An empty bank for n_arms arms keeping at most capacity patterns after an
 * extraction.  NULL for arguments out of range or on OOM.
 */
extern NdagPatternBank *ndag_bank_create(int n_arms, int capacity);

/* Release; NULL is accepted. */
extern void ndag_bank_free(NdagPatternBank *bank);

/* (1 - sqrt(quality variance)) * (1 - 1/(n+1)), clamped to [0, 1]. */
extern double ndag_pattern_confidence(double quality_variance, uint64_t n);

/*
 * Recompute a pattern's best arm, gain and confidence from its statistics.
 * The best arm is the lowest mean ln latency among arms with at least
 * min_arm_count runs (arm 0, the default, when none has); gain is exp(mean
 * of arm 0 - mean of the best arm) when arm 0 and the best arm have enough
 * runs, else NaN (unknown: a pattern of unknown gain is never applied).
 */
extern void ndag_pattern_finish(NdagPattern *pattern, int n_arms, int min_arm_count);

/*
 * Add a pattern as it is (loading a stored bank): copied, centroid
 * normalised and encoded, id kept (a new one when 0).  *index (may be
 * NULL) gets its position.  Errors: NDAG_ERR_ARG, NDAG_ERR_DUPLICATE (the
 * id exists), NDAG_ERR_NOMEM.
 */
extern int	ndag_bank_insert(NdagPatternBank *bank, const NdagPattern *pattern,
							 int *index);

/*
 * Encode the hypervectors that inserts into a bank with defer_hv set left
 * out (a reader that matches exactly, as a backend's copy of at most
 * hdc_threshold patterns does, never needs them), and clear defer_hv.
 * Until then ndag_match and ndag_match_hdc match exactly and
 * ndag_hdc_bank_snapshot refuses the bank (NDAG_ERR_ARG).
 */
extern int	ndag_bank_encode(NdagPatternBank *bank);

/* Index of the pattern with an id, or -1. */
extern int	ndag_bank_find(const NdagPatternBank *bank, uint64_t id);

/*
 * The background cycle's pattern step: trajectories with quality >=
 * threshold are clustered (k-means++), each cluster becomes a pattern
 * that merges into the most similar existing one when their cosine
 * exceeds merge_cosine (statistics combined; pinned, disabled, uses and
 * last use kept) or is added; then while more than capacity remain the
 * pattern with the lowest confidence * ln(1 + uses) is evicted (ties: lower
 * confidence, fewer members, older), never a pinned one.  now is the
 * caller's clock.  Errors: NDAG_ERR_ARG, NDAG_ERR_NOMEM.
 */
extern int	ndag_bank_extract(NdagPatternBank *bank, const NdagTrajectory *traj,
							  int n, const NdagPatternParams *params, double now,
							  NdagExtractResult *result);

/* Bytes of one serialised pattern (fixed). */
extern size_t ndag_pattern_serialized_size(void);

/* Write a pattern ("NDPT", version, fields, checksum); hv is not stored. */
extern int	ndag_pattern_serialize(const NdagPattern *pattern, void *buf,
								   size_t cap, size_t *written);

/*
 * Read a pattern (hv left zero; ndag_bank_insert encodes it).
 * NDAG_ERR_CORRUPT, NDAG_ERR_VERSION.
 */
extern int	ndag_pattern_deserialize(const void *buf, size_t len,
									 NdagPattern *out);

/* ---------- functions: matcher (matcher.c) ---------- */

/*
 * The k patterns with the highest cosine to an embedding, best first,
 * disabled patterns skipped, into out[k]; *n_out gets how many (fewer
 * when the bank has fewer).  Exact (one sgemv over the centroid matrix)
 * while count <= hdc_threshold, else ndag_match_hdc.  Use counts are not
 * touched: see ndag_bank_mark_used.  Errors: NDAG_ERR_ARG.
 */
extern int	ndag_match(const NdagPatternBank *bank, const float *embedding,
					   int k, NdagMatch *out, int *n_out);

/* The exact path of ndag_match, whatever the bank's size. */
extern int	ndag_match_exact(const NdagPatternBank *bank, const float *embedding,
							 int k, NdagMatch *out, int *n_out);

/*
 * The pre-filtered path: the first 1,024 bits of the query's hypervector
 * against every pattern's (a contiguous matrix of 128 bytes per pattern,
 * half of what a float centroid takes), the max(8k, 64) nearest by Hamming
 * distance re-ranked by exact cosine.  Encoding the query costs about as
 * much as an exact scan of a few thousand centroids, so the default
 * threshold is NDAG_PATTERN_HDC_THRESHOLD = 4096 (bench/learning measures
 * both paths).  A bank with unencoded vectors (hv_stale) is matched
 * exactly.
 */
extern int	ndag_match_hdc(const NdagPatternBank *bank, const float *embedding,
						   int k, NdagMatch *out, int *n_out);

/* A pattern was used: uses + 1, last_used = now.  NDAG_ERR_RANGE for an unknown id. */
extern int	ndag_bank_mark_used(NdagPatternBank *bank, uint64_t id, double now);

#endif							/* NDAG_PATTERNS_H */
