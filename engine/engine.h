/*-------------------------------------------------------------------------
 *
 * engine.h
 *	  The neural_dag engine's common ground: status codes, the operator
 *	  classes, join types and attention mechanisms with their names, the
 *	  widths every part exchanges (the plan embedding, the arms), hashing,
 *	  the random number generator and small numeric helpers.
 *
 * The engine is plain C99 with cblas; no PostgreSQL header is included here
 * or in any engine source, so that the engine can be unit-tested on its own
 * and linked into the extension unchanged.  Each topic has its own header,
 * which includes this one:
 *
 *	dag.h			plan DAGs, node features, exact minimum cuts
 *	attention.h		the eight attention mechanisms, their Lorentz geometry
 *					and the temporal traces they read
 *	embedding.h		the 64-dimension plan embedding
 *	ucb.h			the UCB selector
 *	costmodel.h		the cost model (BaseLoRA, MicroLoRA) and EWC++
 *	patterns.h		k-means++, HDC, the ReasoningBank and its matcher
 *	btsp.h			the BTSP one-shot memory
 *	learn.h			trajectory quality and the background learning cycle
 *	healing.h		the self-healing rules
 *
 * Conventions:
 *	- Every function that can fail returns an int status: NDAG_OK (0) or one
 *	  of the negative NDAG_ERR_* codes below.  Nothing aborts or exits.
 *	- Memory is allocated with malloc and released with free.  Objects made
 *	  by a *_create function are owned by the caller and released with the
 *	  matching *_free function.  Output arrays are caller-owned buffers whose
 *	  required length is stated beside each function.
 *	- Node identifiers are the dense indexes 0..n-1 returned by
 *	  ndag_dag_add_node, in insertion order.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_ENGINE_H
#define NDAG_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------- constants ---------- */

/* status codes */
#define NDAG_OK				0
#define NDAG_ERR_ARG		(-1)	/* NULL pointer or value out of range */
#define NDAG_ERR_NOMEM		(-2)	/* malloc failed */
#define NDAG_ERR_RANGE		(-3)	/* node index out of range */
#define NDAG_ERR_CYCLE		(-4)	/* the edges contain a cycle */
#define NDAG_ERR_STATE		(-5)	/* DAG finalized (or not yet) */
#define NDAG_ERR_EMPTY		(-6)	/* DAG without nodes */
#define NDAG_ERR_DUPLICATE	(-7)	/* the same edge added twice */
#define NDAG_ERR_BUFFER		(-8)	/* caller's buffer too small */
#define NDAG_ERR_CORRUPT	(-9)	/* serialised data damaged or truncated */
#define NDAG_ERR_VERSION	(-10)	/* serialised data of another version */
#define NDAG_ERR_NONFINITE	(-11)	/* an update would make a value NaN or infinite */

/* operator classes: the one-hot buckets of the node features */
typedef enum NdagOpClass
{
	NDAG_OP_SEQSCAN = 0,
	NDAG_OP_INDEXSCAN,
	NDAG_OP_INDEXONLYSCAN,
	NDAG_OP_BITMAPSCAN,			/* bitmap heap and bitmap index scans */
	NDAG_OP_NESTLOOP,
	NDAG_OP_HASHJOIN,
	NDAG_OP_MERGEJOIN,
	NDAG_OP_HASH,
	NDAG_OP_SORT,				/* sort and incremental sort */
	NDAG_OP_AGG,				/* aggregate, group, window aggregate */
	NDAG_OP_GATHER,				/* gather and gather merge */
	NDAG_OP_MATERIAL,			/* material and memoize */
	NDAG_OP_LIMIT,
	NDAG_OP_APPEND,				/* append and merge append */
	NDAG_OP_SUBQUERYSCAN,		/* subquery, CTE, function, values scans */
	NDAG_OP_OTHER
} NdagOpClass;

#define NDAG_N_OP_CLASSES	16

/* join types, as far as the features distinguish them */
typedef enum NdagJoinType
{
	NDAG_JOIN_NONE = 0,			/* not a join */
	NDAG_JOIN_INNER,
	NDAG_JOIN_LEFT,
	NDAG_JOIN_RIGHT,
	NDAG_JOIN_FULL,
	NDAG_JOIN_SEMI,
	NDAG_JOIN_ANTI
} NdagJoinType;

#define NDAG_N_JOIN_TYPES	7

/* the eight attention mechanisms, in the order of DESIGN.md section 4 */
typedef enum NdagMechanism
{
	NDAG_MECH_TOPOLOGICAL = 0,
	NDAG_MECH_CAUSAL_CONE,
	NDAG_MECH_CRITICAL_PATH,
	NDAG_MECH_MINCUT_GATED,
	NDAG_MECH_HIERARCHICAL_LORENTZ,
	NDAG_MECH_PARALLEL_BRANCH,
	NDAG_MECH_TEMPORAL_BTSP,
	NDAG_MECH_ENSEMBLE
} NdagMechanism;

#define NDAG_N_MECHANISMS	8
#define NDAG_N_BASE_MECHANISMS	7	/* all but the ensemble */

/* width of the plan embedding (its layout: embedding.h) */
#define NDAG_EMBED_DIM		64

/*
 * arms (planner configurations) the learned state tells apart; arm 0 is the
 * default plan
 */
#define NDAG_MAX_ARMS		64

/* ---------- types ---------- */

/* a deterministic random number generator (xoshiro256**) */
typedef struct NdagRng
{
	uint64_t	s[4];
} NdagRng;

/* ---------- functions: errors, names, hashing, random numbers (util.c, rng.c) ---------- */

/* Short English description of a status code; never NULL. */
extern const char *ndag_strerror(int status);

/* Name of a mechanism ("topological", ...), or NULL if out of range. */
extern const char *ndag_mechanism_name(int mechanism);

/*
 * Mechanism for a name (exact, lower case).  Returns NDAG_OK and sets
 * *mechanism, or NDAG_ERR_ARG for an unknown name or NULL.
 */
extern int	ndag_mechanism_from_name(const char *name, int *mechanism);

/* Name of an operator class ("seqscan", ...), or NULL if out of range. */
extern const char *ndag_op_class_name(int op_class);

/* 64-bit mix of a value (splitmix64 finaliser). */
extern uint64_t ndag_hash64(uint64_t x);

/* Combine a running hash h with a value x, order-sensitively. */
extern uint64_t ndag_hash_combine(uint64_t h, uint64_t x);

/*
 * Operator signature: hash of operator class, caller's node tag, relation
 * oid, index oid and qual shape hash.  Never 0.  Stable across executions
 * and processes.
 */
extern uint64_t ndag_signature(int op_class, int node_tag, uint32_t rel_oid,
							   uint32_t index_oid, uint64_t qual_hash);

/* Seed a generator; any seed, including 0, gives a usable state. */
extern void ndag_rng_seed(NdagRng *rng, uint64_t seed);

/* Next 64 random bits. */
extern uint64_t ndag_rng_next(NdagRng *rng);

/* Uniform double in [0, 1). */
extern double ndag_rng_uniform(NdagRng *rng);

/* Uniform integer in [0, bound) for bound >= 1 (0 if bound < 1). */
extern uint64_t ndag_rng_below(NdagRng *rng, uint64_t bound);

/* Standard normal deviate. */
extern double ndag_rng_normal(NdagRng *rng);

/*
 * Turn raw scores into weights in place: non-finite or negative entries
 * count as 0; the result sums to 1; all-zero input becomes uniform.
 */
extern void ndag_normalize_weights(double *w, int n);

/*
 * dst[i] += scale * src[i] for n floats, only if every sum is finite:
 * otherwise dst is left as it was and NDAG_ERR_NONFINITE is returned (also
 * for a non-finite scale or src value).  NDAG_ERR_ARG for NULL or n < 0.
 */
extern int	ndag_vec_add_finite(float *dst, const float *src, int n,
								double scale);

#endif							/* NDAG_ENGINE_H */
