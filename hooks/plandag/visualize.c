/*-------------------------------------------------------------------------
 *
 * visualize.c
 *	  ruvector_dag_visualize(): the plan DAG of a query with its attention
 *	  scores as Graphviz dot, Mermaid or JSON.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"

#include "dag.h"
#include "engine.h"
#include "core/core.h"
#include "plandag/plandag.h"

PG_FUNCTION_INFO_V1(ruvector_dag_visualize);

/*
 * NdagVisualParseFormat
 *		'dot', 'mermaid' or 'json'; anything else is an error.
 */
NdagVisualFormat
NdagVisualParseFormat(const char *format)
{
	if (strcmp(format, "dot") == 0)
		return VISUAL_DOT;
	if (strcmp(format, "mermaid") == 0)
		return VISUAL_MERMAID;
	if (strcmp(format, "json") == 0)
		return VISUAL_JSON;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown visualization format \"%s\"", format),
			 errhint("Valid formats are dot, mermaid and json.")));
	return VISUAL_DOT;			/* keep compiler quiet */
}

/*
 * node_title
 *		"Seq Scan on orders" or the bare operator name.
 */
static char *
node_title(const NdagPlanDag *pd, int v)
{
	Oid			relid = NdagNodeRelation(pd, v);
	char	   *relname = OidIsValid(relid) ? get_rel_name(relid) : NULL;

	if (relname != NULL)
		return psprintf("%s on %s", NdagPlanNodeName(pd->plans[v]), relname);
	return pstrdup(NdagPlanNodeName(pd->plans[v]));
}

/*
 * NdagVisualAppendEscaped
 *		Append text with the characters special in a quoted dot or Mermaid
 *		label escaped.
 */
void
NdagVisualAppendEscaped(StringInfo out, const char *text,
						NdagVisualFormat format)
{
	for (const char *p = text; *p; p++)
	{
		if (*p == '"')
			appendStringInfoString(out, format == VISUAL_DOT ? "\\\"" : "#quot;");
		else if (*p == '\\' && format == VISUAL_DOT)
			appendStringInfoString(out, "\\\\");
		else if (*p == '\n' || *p == '\r')
			appendStringInfoChar(out, ' ');
		else
			appendStringInfoChar(out, *p);
	}
}

/*
 * render_dot
 *		Graphviz: boxes shaded by score, edges from input to consumer.
 */
static void
render_dot(StringInfo out, const NdagPlanDag *pd, const double *scores,
		   int mechanism)
{
	const NdagDag *dag = pd->dag;
	double		max_score = 0;

	for (int v = 0; v < pd->n_nodes; v++)
		max_score = Max(max_score, scores[v]);

	appendStringInfo(out, "digraph plan {\n  label=\"attention: %s\";\n"
					 "  rankdir=BT;\n  node [shape=box, style=filled];\n",
					 ndag_mechanism_name(mechanism));
	for (int v = 0; v < pd->n_nodes; v++)
	{
		int			shade = max_score > 0 ? (int) (255 - 155 * scores[v] / max_score) : 255;

		appendStringInfo(out, "  n%d [label=\"", v);
		NdagVisualAppendEscaped(out, node_title(pd, v), VISUAL_DOT);
		appendStringInfo(out, "\\nrows=%.0f cost=%.2f\\nscore=%.4f\", fillcolor=\"#ff%02x%02x\"];\n",
						 dag->nodes[v].desc.plan_rows, dag->nodes[v].desc.total_cost,
						 scores[v], shade, shade);
	}
	for (int v = 0; v < pd->n_nodes; v++)
	{
		for (int i = dag->out_off[v]; i < dag->out_off[v + 1]; i++)
			appendStringInfo(out, "  n%d -> n%d;\n", v, dag->out_idx[i]);
	}
	appendStringInfoString(out, "}\n");
}

/*
 * render_mermaid
 *		A Mermaid flowchart, inputs below their consumers.
 */
static void
render_mermaid(StringInfo out, const NdagPlanDag *pd, const double *scores,
			   int mechanism)
{
	const NdagDag *dag = pd->dag;

	appendStringInfo(out, "flowchart BT\n  %%%% attention: %s\n",
					 ndag_mechanism_name(mechanism));
	for (int v = 0; v < pd->n_nodes; v++)
	{
		appendStringInfo(out, "  n%d[\"", v);
		NdagVisualAppendEscaped(out, node_title(pd, v), VISUAL_MERMAID);
		appendStringInfo(out, "<br/>rows=%.0f score=%.4f\"]\n",
						 dag->nodes[v].desc.plan_rows, scores[v]);
	}
	for (int v = 0; v < pd->n_nodes; v++)
	{
		for (int i = dag->out_off[v]; i < dag->out_off[v + 1]; i++)
			appendStringInfo(out, "  n%d --> n%d\n", v, dag->out_idx[i]);
	}
}

/*
 * render_json
 *		{"mechanism", "nodes": [...], "edges": [...]}
 */
static void
render_json(StringInfo out, const NdagPlanDag *pd, const double *scores,
			int mechanism)
{
	const NdagDag *dag = pd->dag;
	bool		first = true;

	appendStringInfoString(out, "{\"mechanism\": ");
	escape_json(out, ndag_mechanism_name(mechanism));
	appendStringInfoString(out, ", \"nodes\": [");
	for (int v = 0; v < pd->n_nodes; v++)
	{
		Oid			relid = NdagNodeRelation(pd, v);
		char	   *relname = OidIsValid(relid) ? get_rel_name(relid) : NULL;

		appendStringInfo(out, "%s{\"id\": %d, \"type\": ", v > 0 ? ", " : "", v);
		escape_json(out, NdagPlanNodeName(pd->plans[v]));
		appendStringInfoString(out, ", \"relation\": ");
		if (relname != NULL)
			escape_json(out, relname);
		else
			appendStringInfoString(out, "null");
		appendStringInfo(out, ", \"est_rows\": %.17g, \"est_cost\": %.17g, \"score\": %.17g}",
						 dag->nodes[v].desc.plan_rows, dag->nodes[v].desc.total_cost,
						 scores[v]);
	}
	appendStringInfoString(out, "], \"edges\": [");
	for (int v = 0; v < pd->n_nodes; v++)
	{
		for (int i = dag->out_off[v]; i < dag->out_off[v + 1]; i++)
		{
			appendStringInfo(out, "%s{\"from\": %d, \"to\": %d}",
							 first ? "" : ", ", v, dag->out_idx[i]);
			first = false;
		}
	}
	appendStringInfoString(out, "]}");
}

/*
 * ruvector_dag_visualize
 *		(query text, mechanism text, format text) -> text
 */
Datum
ruvector_dag_visualize(PG_FUNCTION_ARGS)
{
	NdagPlanDag *pd;
	NdagVisualFormat format;
	int			mechanism;
	double	   *scores;
	StringInfoData out;

	NdagRequirePreload();
	mechanism = NdagParseMechanism(PG_ARGISNULL(1) ? "auto" :
								   text_to_cstring(PG_GETARG_TEXT_PP(1)));
	format = NdagVisualParseFormat(NdagTextArg(fcinfo, 2, "format"));
	pd = NdagPlanQueryDag(fcinfo, 0);
	mechanism = NdagChooseMechanism(pd->dag, mechanism, false);
	scores = NdagComputeScores(pd->dag, mechanism);

	initStringInfo(&out);
	switch (format)
	{
		case VISUAL_DOT:
			render_dot(&out, pd, scores, mechanism);
			break;
		case VISUAL_MERMAID:
			render_mermaid(&out, pd, scores, mechanism);
			break;
		case VISUAL_JSON:
			render_json(&out, pd, scores, mechanism);
			break;
	}
	PG_RETURN_TEXT_P(cstring_to_text(out.data));
}
