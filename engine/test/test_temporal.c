/*-------------------------------------------------------------------------
 *
 * test_temporal.c
 *	  Temporal traces and the temporal_btsp mechanism: keyed by operator
 *	  signature (shared across queries, independent of node order), decay
 *	  with a 2 s time constant of the caller's clock, plateau boost after a
 *	  surprise.  No test sleeps: time is a parameter.
 *
 *-------------------------------------------------------------------------
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "dag.h"
#include "engine.h"
#include "tap.h"
#include "testutil.h"

#define REL_ORDERS	16500
#define REL_USERS	16600

/*
 * scan_desc
 *		An executed sequential scan of a relation with an accurate estimate.
 */
static NdagNodeDesc
scan_desc(uint32_t rel, double ms, double rows)
{
	NdagNodeDesc d = tu_desc(NDAG_OP_SEQSCAN, rows, ms * 10);

	d.rel_oid = rel;
	d.qual_hash = 0x1234;
	d.has_actuals = true;
	d.actual_rows = rows;
	d.actual_total_ms = ms;
	d.loops = 1;
	return d;
}

/*
 * query_a
 *		Aggregate over a hash join of orders and users; the orders scan takes
 *		80 of the 100 ms.
 */
static NdagDag *
query_a(double orders_rows_actual)
{
	NdagDag    *dag = ndag_dag_create(5);
	NdagNodeDesc d[5];
	int			i;

	d[0] = tu_desc(NDAG_OP_AGG, 1, 1000);
	d[1] = tu_desc(NDAG_OP_HASHJOIN, 1000, 990);
	d[2] = scan_desc(REL_ORDERS, 80, 1000);
	d[2].actual_rows = orders_rows_actual;
	d[3] = tu_desc(NDAG_OP_HASH, 100, 50);
	d[4] = scan_desc(REL_USERS, 5, 100);
	d[0].has_actuals = d[1].has_actuals = d[3].has_actuals = true;
	d[0].actual_total_ms = 100;
	d[1].actual_total_ms = 95;
	d[3].actual_total_ms = 8;
	d[0].actual_rows = 1;
	d[1].actual_rows = 1000;
	d[3].actual_rows = 100;
	d[0].loops = d[1].loops = d[3].loops = 1;
	for (i = 0; i < 5; i++)
		ndag_dag_add_node(dag, &d[i], NULL);
	ndag_dag_add_edge(dag, 1, 0);
	ndag_dag_add_edge(dag, 2, 1);
	ndag_dag_add_edge(dag, 3, 1);
	ndag_dag_add_edge(dag, 4, 3);
	ndag_dag_finalize(dag);
	return dag;
}

/*
 * query_b
 *		A different query: sort over the same orders scan (same signature)
 *		and a limit; node order chosen so the scan is node 0.
 */
static NdagDag *
query_b(void)
{
	NdagDag    *dag = ndag_dag_create(3);
	NdagNodeDesc d[3];
	int			i;

	d[0] = scan_desc(REL_ORDERS, 50, 1000);
	d[0].has_actuals = false;
	d[1] = tu_desc(NDAG_OP_SORT, 1000, 800);
	d[2] = tu_desc(NDAG_OP_LIMIT, 10, 810);
	for (i = 0; i < 3; i++)
		ndag_dag_add_node(dag, &d[i], NULL);
	ndag_dag_add_edge(dag, 0, 1);
	ndag_dag_add_edge(dag, 1, 2);
	ndag_dag_finalize(dag);
	return dag;
}

/*
 * test_shared_signature
 *		A trace written by query A is read by query B through the shared
 *		scan signature.
 */
static void
test_shared_signature(void)
{
	NdagTraceTable *t = ndag_trace_table_create(8);
	NdagDag    *a = query_a(1000);
	NdagDag    *b = query_b();
	NdagAttnParams p;
	double		before[3];
	double		after[3];

	ndag_attn_params_init(&p);
	p.traces = t;
	p.now = 100.5;
	ndag_attention_temporal_btsp(b, &p, before);
	tap_ok(a->nodes[2].signature == b->nodes[0].signature &&
		   a->nodes[4].signature != b->nodes[0].signature, "scan signature shared across queries");
	tap_ok(ndag_trace_update(t, a, 100.0, false) == NDAG_OK, "trace update");
	tap_ok(fabs(ndag_trace_value(t, a->nodes[2].signature, 100.0) - 0.8) < 1e-12 &&
		   fabs(ndag_trace_value(t, a->nodes[4].signature, 100.0) - 0.05) < 1e-12,
		   "trace grows by the share of self time (80/100, 5/100)");
	ndag_attention_temporal_btsp(b, &p, after);
	tap_ok(tu_weights_valid(after, 3) && after[0] > 0.9 && after[0] > before[0] + 0.25,
		   "query B's scan gains weight from query A's execution (%.3f -> %.3f)", before[0], after[0]);
	tap_ok(ndag_trace_value(t, b->nodes[1].signature, 100.5) == 0.0,
		   "operators never executed have no trace");
	ndag_dag_free(a);
	ndag_dag_free(b);
	ndag_trace_table_free(t);
}

/*
 * test_decay_plateau
 *		exp(-dt / 2 s) decay; a plateau of boost 3 after a surprise, ended
 *		after plateau_s; a 10x row misestimate is a surprise by itself.
 */
static void
test_decay_plateau(void)
{
	NdagTraceTable *t = ndag_trace_table_create(8);
	NdagDag    *a = query_a(1000);
	NdagDag    *wrong = query_a(50000);
	uint64_t	scan = a->nodes[2].signature;
	uint64_t	users = a->nodes[4].signature;
	NdagAttnParams p;
	double		calm[5];
	double		boosted[5];
	double		v;
	NdagTraceTable *t2;

	tap_ok(t->tau_s == 2.0, "time constant is 2 s");
	ndag_trace_update(t, a, 10.0, false);
	v = ndag_trace_value(t, scan, 12.0);
	tap_ok(fabs(v - 0.8 * exp(-1.0)) < 1e-12, "after 2 s the trace is e^-1 of its value");
	tap_ok(fabs(ndag_trace_value(t, scan, 16.0) - 0.8 * exp(-3.0)) < 1e-12, "after 6 s, e^-3");
	tap_ok(ndag_trace_value(t, scan, 9.0) == 0.8, "a clock going backwards does not grow it");
	ndag_trace_update(t, a, 12.0, false);
	tap_ok(fabs(ndag_trace_value(t, scan, 12.0) - (0.8 * exp(-1.0) + 0.8)) < 1e-12,
		   "a second execution adds to the decayed trace");

	ndag_trace_update(t, a, 12.0, true);
	v = ndag_trace_value(t, users, 12.5);
	tap_ok(fabs(v - 3.0 * (0.05 * exp(-1.0) + 0.1) * exp(-0.25)) < 1e-12,
		   "surprise: plateau boost 3 inside the plateau");
	tap_ok(fabs(ndag_trace_value(t, users, 23.0) - (0.05 * exp(-1.0) + 0.1) * exp(-5.5)) < 1e-12,
		   "plateau over after 10 s: plain decay");

	ndag_trace_table_free(t);
	t = ndag_trace_table_create(8);
	ndag_trace_update(t, wrong, 0.0, false);
	tap_ok(ndag_trace_value(t, wrong->nodes[2].signature, 1.0) >
		   2.9 * ndag_trace_value(t, wrong->nodes[2].signature, 10.5) * exp(4.75) &&
		   fabs(ndag_trace_value(t, wrong->nodes[4].signature, 1.0) -
				ndag_trace_value(t, wrong->nodes[4].signature, 0.0) * exp(-0.5)) < 1e-12,
		   "a 50x row misestimate starts a plateau for that operator only");
	t2 = ndag_trace_table_create(8);
	ndag_trace_update(t2, a, 0.0, false);
	ndag_attn_params_init(&p);
	p.now = 1.0;
	p.traces = t2;
	ndag_attention_temporal_btsp(a, &p, calm);
	p.traces = t;
	ndag_attention_temporal_btsp(wrong, &p, boosted);
	tap_ok(boosted[2] > calm[2] + 0.05 && boosted[4] < calm[4],
		   "the surprised operator's weight rises (%.3f -> %.3f), the others' fall", calm[2], boosted[2]);
	ndag_trace_table_free(t2);
	tap_ok(ndag_trace_update(NULL, a, 0, false) == NDAG_ERR_ARG &&
		   ndag_trace_update(t, a, NAN, false) == NDAG_ERR_ARG, "bad arguments rejected");
	ndag_dag_free(a);
	ndag_dag_free(wrong);
	ndag_trace_table_free(t);
}

/*
 * test_permutation
 *		The same executed plan with its nodes numbered differently gives
 *		every operator the same weight.
 */
static void
test_permutation(void)
{
	int			seeds = tap_seeds(200);
	int			moved = 0;
	int			s;

	for (s = 0; s < seeds; s++)
	{
		NdagRng		rng;
		NdagRng		shuf;
		TuGraph		g;
		NdagDag    *d1;
		NdagDag    *d2;
		NdagTraceTable *t = ndag_trace_table_create(4);
		NdagAttnParams p;
		double	   *w1;
		double	   *w2;
		int			i;

		ndag_rng_seed(&rng, (uint64_t) s + 404);
		ndag_rng_seed(&shuf, (uint64_t) s + 505);
		tu_graph_random(&g, &rng, 1 + (int) ndag_rng_below(&rng, 80), 0.2, 1, 1);
		d1 = tu_graph_build(&g, NULL);
		ndag_trace_update(t, d1, 1.0, s % 2 == 0);
		d2 = tu_graph_build(&g, &shuf);
		ndag_trace_update(t, d2, 2.0, false);
		ndag_attn_params_init(&p);
		p.traces = t;
		p.now = 2.5;
		w1 = malloc(sizeof(double) * (size_t) g.n);
		w2 = malloc(sizeof(double) * (size_t) g.n);
		ndag_attention_temporal_btsp(d1, &p, w1);
		ndag_attention_temporal_btsp(d2, &p, w2);
		for (i = 0; i < g.n; i++)
			if (fabs(w1[i] - w2[g.perm[i]]) > 1e-12)
				moved++;
		free(w1);
		free(w2);
		ndag_dag_free(d1);
		ndag_dag_free(d2);
		ndag_trace_table_free(t);
		tu_graph_free(&g);
	}
	tap_ok(moved == 0, "reordering nodes does not move any trace weight (%d DAGs)", seeds);
}

/*
 * test_growth
 *		Thousands of signatures: the table grows and forgets nothing live.
 */
static void
test_growth(void)
{
	NdagTraceTable *t = ndag_trace_table_create(1);
	NdagDag    *dag = ndag_dag_create(0);
	bool		all = true;
	int			i;

	ndag_dag_add_node(dag, &(NdagNodeDesc) {.op_class = NDAG_OP_APPEND}, NULL);
	for (i = 1; i < 5000; i++)
	{
		NdagNodeDesc d = scan_desc((uint32_t) (30000 + i), 1.0, 10);

		ndag_dag_add_node(dag, &d, NULL);
		ndag_dag_add_edge(dag, i, 0);
	}
	ndag_dag_finalize(dag);
	tap_ok(ndag_trace_update(t, dag, 0.0, false) == NDAG_OK && t->count == 4999 &&
		   t->capacity >= 2 * 4999, "5000 distinct operators stored");
	for (i = 1; i < 5000; i++)
		if (fabs(ndag_trace_value(t, dag->nodes[i].signature, 0.0) - 1.0 / 4999) > 1e-15)
			all = false;
	tap_ok(all, "every trace retrievable after growing");
	ndag_trace_table_free(t);
	ndag_dag_free(dag);
}

int
main(void)
{
	test_shared_signature();
	test_decay_plateau();
	test_permutation();
	test_growth();
	return tap_done();
}
