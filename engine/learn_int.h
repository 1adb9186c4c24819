/*-------------------------------------------------------------------------
 *
 * learn_int.h
 *	  Helpers shared by the learning sources (cost model, EWC++, patterns,
 *	  HDC): little-endian byte packing and the FNV-1a checksum of the
 *	  serialised formats.  Internal to the engine.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_LEARN_INT_H
#define NDAG_LEARN_INT_H

#include <string.h>

#include "bytes.h"
#include "engine_int.h"

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

#endif							/* NDAG_LEARN_INT_H */
