/*-------------------------------------------------------------------------
 *
 * embedding.h
 *	  The 64-dimension plan embedding: attention-pooled node features,
 *	  operator histogram, global plan statistics and a relation sketch.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_EMBEDDING_H
#define NDAG_EMBEDDING_H

#include "attention.h"

/* ---------- constants ---------- */

/* layout of the segments of the plan embedding (NDAG_EMBED_DIM floats) */
#define NDAG_E_POOLED		0	/* 24 dims: projected attention-pooled features */
#define NDAG_E_POOLED_DIM	24
#define NDAG_E_HISTOGRAM	24	/* 16 dims: operator class histogram */
#define NDAG_E_GLOBAL		40	/* 8 dims: global plan statistics */
#define NDAG_E_GLOBAL_DIM	8
#define NDAG_E_RELSKETCH	48	/* 16 dims: signed sketch of the relation set */
#define NDAG_E_RELSKETCH_DIM 16

/* ---------- functions: embedding (embedding.c) ---------- */

/*
 * The 64-dimension plan embedding, L2-normalised, into out[NDAG_EMBED_DIM].
 * weights: one attention weight per node (summing to 1) used to pool the
 * node features; NULL pools uniformly.  Deterministic and finite for any
 * finalized DAG.  Errors: NDAG_ERR_ARG, NDAG_ERR_STATE.
 */
extern int	ndag_embed(const NdagDag *dag, const double *weights, float *out);

/*
 * Convenience: weights by mechanism (ndag_attention), then ndag_embed.
 * params NULL uses the defaults.
 */
extern int	ndag_embed_mechanism(const NdagDag *dag, int mechanism,
								 const NdagAttnParams *params, float *out);

#endif							/* NDAG_EMBEDDING_H */
