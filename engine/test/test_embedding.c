/*-------------------------------------------------------------------------
 *
 * test_embedding.c
 *	  The 64-dimension plan embedding: finite and unit-length for extreme
 *	  inputs, deterministic, sensitive to relations, weights and structure,
 *	  insensitive to node order.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dag.h"
#include "embedding.h"
#include "engine.h"
#include "tap.h"
#include "testutil.h"

/*
 * unit_finite
 *		All entries finite and the L2 norm 1 within 1e-5.
 */
static bool
unit_finite(const float *e)
{
	double		ss = 0.0;
	int			i;

	for (i = 0; i < NDAG_EMBED_DIM; i++)
	{
		if (!isfinite(e[i]))
			return false;
		ss += (double) e[i] * e[i];
	}
	return fabs(sqrt(ss) - 1.0) < 1e-5;
}

/*
 * cosine
 *		Cosine of two unit embeddings.
 */
static double
cosine(const float *a, const float *b)
{
	double		dot = 0.0;
	int			i;

	for (i = 0; i < NDAG_EMBED_DIM; i++)
		dot += (double) a[i] * b[i];
	return dot;
}

/*
 * scan_join
 *		Hash join of relations r1 and r2 with the given numbers.
 */
static NdagDag *
scan_join(uint32_t r1, uint32_t r2, double rows, double cost)
{
	NdagDag    *dag = ndag_dag_create(4);
	NdagNodeDesc d[4];
	int			i;

	d[0] = tu_desc(NDAG_OP_HASHJOIN, rows, cost);
	d[0].join_type = NDAG_JOIN_INNER;
	d[1] = tu_desc(NDAG_OP_SEQSCAN, rows, cost / 2);
	d[1].rel_oid = r1;
	d[2] = tu_desc(NDAG_OP_HASH, rows / 10, cost / 4);
	d[3] = tu_desc(NDAG_OP_SEQSCAN, rows / 10, cost / 5);
	d[3].rel_oid = r2;
	for (i = 0; i < 4; i++)
		ndag_dag_add_node(dag, &d[i], NULL);
	ndag_dag_add_edge(dag, 1, 0);
	ndag_dag_add_edge(dag, 2, 0);
	ndag_dag_add_edge(dag, 3, 2);
	ndag_dag_finalize(dag);
	return dag;
}

/*
 * test_extremes
 *		Zero, huge, NaN and infinite numbers; a single node.
 */
static void
test_extremes(void)
{
	double		vals[] = {0.0, 1e-300, 1.0, 1e300, INFINITY, NAN, -1e300};
	int			nv = (int) (sizeof(vals) / sizeof(vals[0]));
	bool		all_ok = true;
	float		e[NDAG_EMBED_DIM];
	int			i;
	int			j;

	for (i = 0; i < nv; i++)
	{
		for (j = 0; j < nv; j++)
		{
			NdagDag    *dag = ndag_dag_create(2);
			NdagNodeDesc d = tu_desc(NDAG_OP_SEQSCAN, vals[i], vals[j]);
			int			m;

			d.rel_oid = 1;
			d.plan_width = vals[j];
			d.rel_pages = vals[i];
			d.startup_cost = vals[j];
			d.has_actuals = (i + j) % 2 == 0;
			d.actual_rows = vals[j];
			d.actual_total_ms = vals[i];
			d.loops = vals[j];
			ndag_dag_add_node(dag, &d, NULL);
			if (j % 2 == 1)
			{
				ndag_dag_add_node(dag, &d, NULL);
				ndag_dag_add_edge(dag, 1, 0);
			}
			ndag_dag_finalize(dag);
			for (m = 0; m < NDAG_N_MECHANISMS; m++)
			{
				if (ndag_embed_mechanism(dag, m, NULL, e) != NDAG_OK || !unit_finite(e))
				{
					if (all_ok)
						tap_diag("rows %g cost %g mechanism %s", vals[i], vals[j],
								 ndag_mechanism_name(m));
					all_ok = false;
				}
			}
			if (ndag_embed(dag, NULL, e) != NDAG_OK || !unit_finite(e))
				all_ok = false;
			ndag_dag_free(dag);
		}
	}
	tap_ok(all_ok, "embedding finite and unit length for zero/huge/NaN/inf inputs, 1-2 nodes, all mechanisms");
}

/*
 * test_properties
 *		Determinism and what the embedding must distinguish.
 */
static void
test_properties(void)
{
	NdagDag    *a = scan_join(16384, 16385, 1000, 500);
	NdagDag    *a2 = scan_join(16384, 16385, 1000, 500);
	NdagDag    *swapped = scan_join(16385, 16384, 1000, 500);
	NdagDag    *other = scan_join(17000, 17001, 1000, 500);
	NdagDag    *bigger = scan_join(16384, 16385, 1e7, 5e6);
	float		ea[NDAG_EMBED_DIM];
	float		ea2[NDAG_EMBED_DIM];
	float		es[NDAG_EMBED_DIM];
	float		eo[NDAG_EMBED_DIM];
	float		eb[NDAG_EMBED_DIM];
	float		ew[NDAG_EMBED_DIM];
	double		w[4] = {0.7, 0.1, 0.1, 0.1};
	int			i;

	ndag_embed(a, NULL, ea);
	ndag_embed(a2, NULL, ea2);
	tap_ok(memcmp(ea, ea2, sizeof(ea)) == 0, "same plan, same embedding (bitwise)");
	ndag_embed(other, NULL, eo);
	tap_ok(cosine(ea, eo) < 0.95, "plans over different tables differ (cosine %.3f)", cosine(ea, eo));
	ndag_embed(swapped, NULL, es);
	{
		bool		same_sketch = true;

		for (i = NDAG_E_RELSKETCH; i < NDAG_E_RELSKETCH + NDAG_E_RELSKETCH_DIM; i++)
			if (fabs(es[i] - ea[i]) > 1e-6)
				same_sketch = false;
		tap_ok(same_sketch, "relation sketch is a set: order of tables does not matter");
	}
	ndag_embed(bigger, NULL, eb);
	tap_ok(cosine(ea, eb) < 0.999, "scale of rows and costs moves the embedding (cosine %.4f)",
		   cosine(ea, eb));
	ndag_embed(a, w, ew);
	tap_ok(cosine(ea, ew) < 0.9999 && unit_finite(ew), "attention weights change the pooled part");
	tap_ok(ndag_embed(NULL, NULL, ea) == NDAG_ERR_ARG && ndag_embed(a, NULL, NULL) == NDAG_ERR_ARG,
		   "NULL arguments rejected");
	{
		NdagDag    *open = ndag_dag_create(1);
		NdagNodeDesc d = tu_desc(NDAG_OP_SEQSCAN, 1, 1);

		ndag_dag_add_node(open, &d, NULL);
		tap_ok(ndag_embed(open, NULL, ea) == NDAG_ERR_STATE, "unfinalized DAG rejected");
		ndag_dag_free(open);
	}
	ndag_dag_free(a);
	ndag_dag_free(a2);
	ndag_dag_free(swapped);
	ndag_dag_free(other);
	ndag_dag_free(bigger);
}

/*
 * test_random
 *		Random DAGs, shuffled node order: unit, finite, and the same
 *		embedding for the same plan whatever the node numbering (uniform
 *		pooling and the order-free mechanisms).
 */
static void
test_random(void)
{
	int			seeds = tap_seeds(200);
	int			bad = 0;
	int			moved = 0;
	int			s;

	for (s = 0; s < seeds; s++)
	{
		NdagRng		rng;
		NdagRng		shuf;
		TuGraph		g;
		NdagDag    *d1;
		NdagDag    *d2;
		float		e1[NDAG_EMBED_DIM];
		float		e2[NDAG_EMBED_DIM];
		int			m;

		ndag_rng_seed(&rng, (uint64_t) s + 99);
		ndag_rng_seed(&shuf, (uint64_t) s + 77);
		tu_graph_random(&g, &rng, 1 + (int) ndag_rng_below(&rng, 300), 0.2,
						1 + (int) ndag_rng_below(&rng, 2), (int) (s % 3));
		d1 = tu_graph_build(&g, NULL);
		d2 = tu_graph_build(&g, &shuf);
		for (m = 0; m < NDAG_N_MECHANISMS; m++)
		{
			if (ndag_embed_mechanism(d1, m, NULL, e1) != NDAG_OK || !unit_finite(e1))
				bad++;
		}
		ndag_embed(d1, NULL, e1);
		ndag_embed(d2, NULL, e2);
		if (cosine(e1, e2) < 1.0 - 1e-5)
			moved++;
		ndag_embed_mechanism(d1, NDAG_MECH_TEMPORAL_BTSP, NULL, e1);
		ndag_embed_mechanism(d2, NDAG_MECH_TEMPORAL_BTSP, NULL, e2);
		if (cosine(e1, e2) < 1.0 - 1e-5)
			moved++;
		ndag_dag_free(d1);
		ndag_dag_free(d2);
		tu_graph_free(&g);
	}
	tap_ok(bad == 0, "all mechanisms' embeddings unit and finite on %d random DAGs", seeds);
	tap_ok(moved == 0, "embedding independent of node numbering");
}

int
main(void)
{
	test_extremes();
	test_properties();
	test_random();
	return tap_done();
}
