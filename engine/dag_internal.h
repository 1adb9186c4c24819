/*-------------------------------------------------------------------------
 *
 * dag_internal.h
 *	  Declarations shared by the engine's DAG sources only (building,
 *	  deriving, features, minimum cut); the public interface is dag.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef NDAG_DAG_INTERNAL_H
#define NDAG_DAG_INTERNAL_H

#include "dag.h"

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

#endif							/* NDAG_DAG_INTERNAL_H */
