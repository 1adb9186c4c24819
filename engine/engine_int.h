/*-------------------------------------------------------------------------
 *
 * engine_int.h
 *	  Declarations shared between engine source files only; the public
 *	  interface is engine.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_ENGINE_INT_H
#define NDAG_ENGINE_INT_H

#include "engine.h"

/* largest accepted magnitude of any number in a node description */
#define NDAG_HUGE_VALUE		1e300

/* largest number of nodes in one DAG */
#define NDAG_MAX_NODES		1000000

/* dag_derive.c: steps of ndag_dag_finalize after the topological sort */
extern int	ndag_derive_depths(NdagDag *dag);
extern void ndag_derive_self_costs(NdagDag *dag);
extern int	ndag_derive_cones(NdagDag *dag);
extern int	ndag_derive_critical_path(NdagDag *dag);
extern void ndag_derive_branches(NdagDag *dag);

/* features.c */
extern void ndag_features_compute(NdagDag *dag);

/* mincut.c: the node flags used by mincut_gated (1 = output edge cut) */
extern int	ndag_mincut_mark(const NdagDag *dag, int mode, unsigned char *on_cut);

/* attention_structure.c: (1/n + work share) / 2 */
extern double ndag_node_base_weight(const NdagDag *dag, int v);

/* attention.c: argument checks shared by the mechanisms */
extern int	ndag_attn_check(const NdagDag *dag, const NdagAttnParams *params,
							double *weights);

#endif							/* NDAG_ENGINE_INT_H */
