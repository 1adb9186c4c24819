/*-------------------------------------------------------------------------
 *
 * attention_internal.h
 *	  Declarations shared by the sources of the attention mechanisms only
 *	  (attention*.c, lorentz.c, mincut.c, trace.c); the public interface is
 *	  attention.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_ATTENTION_INTERNAL_H
#define NDAG_ATTENTION_INTERNAL_H

#include "attention.h"

/* attention_structure.c: (1/n + work share) / 2 */
extern double ndag_node_base_weight(const NdagDag *dag, int v);

/* attention.c: argument checks shared by the mechanisms */
extern int	ndag_attn_check(const NdagDag *dag, const NdagAttnParams *params,
							double *weights);

#endif							/* NDAG_ATTENTION_INTERNAL_H */
