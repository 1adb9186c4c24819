/*-------------------------------------------------------------------------
 *
 * ucb.h
 *	  The UCB selector: per context and arm, pulls and summed rewards; it
 *	  chooses an arm by upper confidence bound with epsilon exploration.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_UCB_H
#define NDAG_UCB_H

#include "engine.h"

/* ---------- constants ---------- */

/* UCB selector limits and defaults */
#define NDAG_UCB_MAX_ARMS		64
#define NDAG_UCB_MAX_CONTEXTS	65536
#define NDAG_UCB_DEFAULT_C		1.414
#define NDAG_UCB_DEFAULT_EPSILON 0.1
#define NDAG_UCB_FORMAT_VERSION	1

/* ---------- types ---------- */

/*
 * UCB selector state: per context and arm, pulls and summed rewards.
 * Caller-owned (ndag_ucb_create / ndag_ucb_free).
 */
typedef struct NdagUcb
{
	int			n_contexts;
	int			n_arms;
	double		c;				/* exploration constant */
	double		epsilon;		/* probability of a uniformly random arm */
	uint64_t   *pulls;			/* n_contexts x n_arms */
	double	   *rewards;		/* n_contexts x n_arms, summed rewards */
} NdagUcb;

/* ---------- functions: UCB selector (ucb.c) ---------- */

/*
 * A selector for n_contexts contexts of n_arms arms each, all statistics
 * zero.  NULL for arguments out of range (n_arms 1..NDAG_UCB_MAX_ARMS,
 * n_contexts 1..NDAG_UCB_MAX_CONTEXTS, c >= 0, 0 <= epsilon <= 1) or
 * when out of memory.
 */
extern NdagUcb *ndag_ucb_create(int n_contexts, int n_arms, double c,
								double epsilon);

/* Release a selector; NULL is accepted. */
extern void ndag_ucb_free(NdagUcb *ucb);

/*
 * Choose an arm in a context: the lowest-numbered arm never pulled, if
 * any; else with probability epsilon a uniformly random arm (from rng);
 * else the arm maximising mean + c * sqrt(ln N / n) (ties: lowest arm).
 * rng may be NULL, which disables epsilon exploration.
 */
extern int	ndag_ucb_choose(const NdagUcb *ucb, int context, NdagRng *rng,
							int *arm);

/* Add one pull of arm with reward in [0, 1]; NDAG_ERR_ARG otherwise. */
extern int	ndag_ucb_update(NdagUcb *ucb, int context, int arm, double reward);

/* Mean reward and pull count of an arm (mean 0 when never pulled). */
extern int	ndag_ucb_stats(const NdagUcb *ucb, int context, int arm,
						   double *mean, uint64_t *pulls);

/* Bytes needed by ndag_ucb_serialize. */
extern size_t ndag_ucb_serialized_size(const NdagUcb *ucb);

/*
 * Write the selector into buf (little-endian: magic "NDUC", version,
 * dimensions, parameters, statistics, FNV-1a checksum).  *written gets the
 * size.  NDAG_ERR_BUFFER if cap is too small.
 */
extern int	ndag_ucb_serialize(const NdagUcb *ucb, void *buf, size_t cap,
							   size_t *written);

/*
 * Rebuild a selector from ndag_ucb_serialize's bytes into a new *out.
 * NDAG_ERR_CORRUPT for a bad magic, checksum, size or value,
 * NDAG_ERR_VERSION for another format version, NDAG_ERR_NOMEM.
 */
extern int	ndag_ucb_deserialize(const void *buf, size_t len, NdagUcb **out);

#endif							/* NDAG_UCB_H */
