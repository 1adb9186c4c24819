/*-------------------------------------------------------------------------
 *
 * learn_internal.h
 *	  Declarations shared by the engine's learning sources only: the
 *	  batched paths of the cost model (costmodel.c, costtrain.c) and the
 *	  Hamming distance of hypervector words (hdc.c, matcher.c).  Not to be
 *	  confused with the PostgreSQL side's learning internals in hooks/.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_LEARN_INTERNAL_H
#define NDAG_LEARN_INTERNAL_H

#include "costmodel.h"

/* costmodel.c: shared by the batched paths of costmodel.c and costtrain.c */
extern void ndag_cost_build_inputs(const NdagCostModel *model,
								   const float *embeddings, const int *arms,
								   const int *idx, int n, float *x);
extern int	ndag_cost_batch_grad(const NdagCostModel *model, const float *x,
								 const float *targets, const int *idx, int n,
								 float *work, double *loss, float *grad);
extern size_t ndag_cost_batch_work(const NdagCostModel *model, int n);

/* hdc.c: differing bits of two arrays of n words */
extern int	ndag_hamming_words(const uint64_t *a, const uint64_t *b, int n);

#endif							/* NDAG_LEARN_INTERNAL_H */
