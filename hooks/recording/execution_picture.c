/*-------------------------------------------------------------------------
 *
 * execution_picture.c
 *	  ruvector_dag_visualize(traj_id, query_id, format): a recorded
 *	  execution drawn as a DBA reads it, the default plan and the arm's
 *	  plan side by side (two Graphviz clusters, two Mermaid subgraphs, or
 *	  two JSON objects), each node with estimated and actual rows per loop,
 *	  loops and self time, the misestimated nodes marked and the node with
 *	  the largest self time (the bottleneck) highlighted.
 *
 * A trajectory holds only the plan that ran.  The other side of the picture
 * is the latest recorded execution of the same query_id that ran the other
 * way: for an arm's execution the latest one of the default plan (arm 0),
 * for a default execution the latest one of any arm.  The picture says
 * which execution each side comes from, and says so when the other side was
 * never recorded (then it shows the one plan).  Trajectories do not record
 * the statement's parameter class, so the two sides may come from
 * executions with different parameter values.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/timestamp.h"

#include "core/core.h"
#include "plandag/plandag.h"
#include "recording/recording.h"

PG_FUNCTION_INFO_V1(ruvector_dag_visualize_execution);

/* the built-in arm that changes nothing */
#define DEFAULT_ARM		0

/* actual rows beyond this factor of the estimate (either way): misestimate */
#define MISESTIMATE_FACTOR	10.0

/* colours of the dot picture */
#define COLOUR_MISESTIMATE	"#d62728"
#define COLOUR_BOTTLENECK	"#ffbf00"

/* One side of the picture: a recorded execution and what is marked in it. */
typedef struct PictureSide
{
	const char *role;			/* "default" or "arm": ids and JSON */
	const char *note;			/* where this side comes from */
	NdagRecorded *rec;
	char	   *arm_name;		/* NULL: not in ndag_arms any more */
	int			bottleneck;		/* index into rec->nodes; -1: none timed */
} PictureSide;

/*
 * misestimate_factor
 *		How far a node's actual rows per loop are from the estimate, as a
 *		factor >= 1 (both counted as at least one row); 0 for a node that
 *		never ran.
 */
static double
misestimate_factor(const NdagRecordedNode *node)
{
	double		est;
	double		actual;

	if (isnan(node->actual_rows) || isnan(node->est_rows))
		return 0;
	est = Max(node->est_rows, 1.0);
	actual = Max(node->actual_rows, 1.0);
	return actual > est ? actual / est : est / actual;
}

/*
 * is_misestimated
 *		Actual rows beyond MISESTIMATE_FACTOR of the estimate, either way.
 */
static bool
is_misestimated(const NdagRecordedNode *node)
{
	return misestimate_factor(node) >= MISESTIMATE_FACTOR;
}

/*
 * find_bottleneck
 *		The node with the largest self time, or -1 when no node was timed.
 */
static int
find_bottleneck(const NdagRecorded *rec)
{
	int			best = -1;

	for (int i = 0; i < rec->n_nodes; i++)
	{
		double		self_ms = rec->nodes[i].self_ms;

		if (!isnan(self_ms) &&
			(best < 0 || self_ms > rec->nodes[best].self_ms))
			best = i;
	}
	return best;
}

/*
 * node_title
 *		"Seq Scan on demo_sale", or the bare node type.
 */
static char *
node_title(const NdagRecordedNode *node)
{
	char	   *relname;

	if (!OidIsValid(node->relation))
		return node->node_type;
	relname = get_rel_name(node->relation);
	if (relname == NULL)
		return psprintf("%s on relation %u", node->node_type, node->relation);
	return psprintf("%s on %s", node->node_type, relname);
}

/*
 * node_lines
 *		The lines of a node's label, unescaped: title, rows, loops and self
 *		time, and the marks.
 */
static List *
node_lines(const PictureSide *side, int i)
{
	const NdagRecordedNode *node = &side->rec->nodes[i];
	List	   *lines = list_make1(node_title(node));

	if (isnan(node->actual_rows))
		lines = lappend(lines, psprintf("rows est %.0f / never executed",
										node->est_rows));
	else
	{
		lines = lappend(lines, psprintf("rows est %.0f / actual %.0f",
										node->est_rows, node->actual_rows));
		if (isnan(node->self_ms))
			lines = lappend(lines, psprintf("loops %.0f, self time not timed",
											node->loops));
		else
			lines = lappend(lines, psprintf("loops %.0f, self %.3f ms",
											node->loops, node->self_ms));
	}
	if (is_misestimated(node))
		lines = lappend(lines, psprintf("MISESTIMATE %.0fx %s",
										misestimate_factor(node),
										node->actual_rows > node->est_rows ?
										"under" : "over"));
	if (i == side->bottleneck)
		lines = lappend(lines, pstrdup("BOTTLENECK: largest self time"));
	return lines;
}

/*
 * side_title
 *		"arm 3 (nestloop_off), decision proven: traj 17, 2026-... , 12.345 ms"
 */
static char *
side_title(const PictureSide *side)
{
	const NdagRecorded *rec = side->rec;
	StringInfoData title;

	initStringInfo(&title);
	if (rec->arm == DEFAULT_ARM)
		appendStringInfoString(&title, "default plan");
	else
		appendStringInfo(&title, "arm %d (%s)", rec->arm,
						 side->arm_name ? side->arm_name : "no longer in ndag_arms");
	appendStringInfo(&title, ", decision %s: traj %lld, %s, %.3f ms",
					 rec->decision ? rec->decision : "unknown",
					 (long long) rec->traj_id,
					 timestamptz_to_str(rec->recorded_at), rec->exec_ms);
	if (side->note != NULL)
		appendStringInfo(&title, " (%s)", side->note);
	return title.data;
}

/*
 * append_label
 *		The lines, escaped, joined with the format's line break.
 */
static void
append_label(StringInfo out, List *lines, NdagVisualFormat format)
{
	ListCell   *lc;

	foreach(lc, lines)
	{
		if (foreach_current_index(lc) > 0)
			appendStringInfoString(out, format == VISUAL_DOT ? "\\n" : "<br/>");
		NdagVisualAppendEscaped(out, (const char *) lfirst(lc), format);
	}
}

/*
 * render_dot_side
 *		One cluster: the nodes of one execution, inputs below consumers.
 */
static void
render_dot_side(StringInfo out, const PictureSide *side, const char *prefix)
{
	const NdagRecorded *rec = side->rec;

	appendStringInfo(out, "  subgraph cluster_%s {\n    label=\"", side->role);
	NdagVisualAppendEscaped(out, side_title(side), VISUAL_DOT);
	appendStringInfoString(out, "\";\n");
	for (int i = 0; i < rec->n_nodes; i++)
	{
		appendStringInfo(out, "    %s%d [label=\"", prefix, rec->nodes[i].node_id);
		append_label(out, node_lines(side, i), VISUAL_DOT);
		appendStringInfoChar(out, '"');
		if (is_misestimated(&rec->nodes[i]))
			appendStringInfoString(out, ", color=\"" COLOUR_MISESTIMATE "\", penwidth=3");
		if (i == side->bottleneck)
			appendStringInfoString(out, ", fillcolor=\"" COLOUR_BOTTLENECK "\"");
		appendStringInfoString(out, "];\n");
	}
	for (int i = 0; i < rec->n_nodes; i++)
	{
		for (int p = 0; p < rec->nodes[i].nparents; p++)
			appendStringInfo(out, "    %s%d -> %s%d;\n", prefix,
							 rec->nodes[i].node_id, prefix,
							 rec->nodes[i].parents[p]);
	}
	appendStringInfoString(out, "  }\n");
}

/*
 * render_dot
 *		digraph with one cluster per side and a note node for what is
 *		missing.
 */
static void
render_dot(StringInfo out, int64 query_id, PictureSide *sides, int nsides,
		   const char *missing)
{
	appendStringInfo(out, "digraph execution {\n  label=\"query_id %lld: ",
					 (long long) query_id);
	NdagVisualAppendEscaped(out, nsides == 2 ? "default plan and arm plan side by side" :
							"one plan", VISUAL_DOT);
	appendStringInfoString(out, "\\nrows are per loop; red border: actual rows beyond 10x the estimate either way; "
						   "amber: largest self time (bottleneck)\";\n"
						   "  labelloc=t;\n  rankdir=BT;\n"
						   "  node [shape=box, style=filled, fillcolor=white];\n");
	for (int s = 0; s < nsides; s++)
		render_dot_side(out, &sides[s],
						sides[s].rec->arm == DEFAULT_ARM ? "d" : "a");
	if (missing != NULL)
	{
		appendStringInfoString(out, "  missing [shape=note, label=\"");
		NdagVisualAppendEscaped(out, missing, VISUAL_DOT);
		appendStringInfoString(out, "\"];\n");
	}
	appendStringInfoString(out, "}\n");
}

/*
 * render_mermaid_side
 *		One subgraph: the nodes of one execution; the class lines that mark
 *		them go to marks.
 */
static void
render_mermaid_side(StringInfo out, StringInfo marks, const PictureSide *side,
					const char *prefix)
{
	const NdagRecorded *rec = side->rec;

	appendStringInfo(out, "  subgraph %s_plan[\"", side->role);
	NdagVisualAppendEscaped(out, side_title(side), VISUAL_MERMAID);
	appendStringInfoString(out, "\"]\n");
	for (int i = 0; i < rec->n_nodes; i++)
	{
		appendStringInfo(out, "    %s%d[\"", prefix, rec->nodes[i].node_id);
		append_label(out, node_lines(side, i), VISUAL_MERMAID);
		appendStringInfoString(out, "\"]\n");
		if (is_misestimated(&rec->nodes[i]))
			appendStringInfo(marks, "  class %s%d misestimate\n", prefix,
							 rec->nodes[i].node_id);
		if (i == side->bottleneck)
			appendStringInfo(marks, "  class %s%d bottleneck\n", prefix,
							 rec->nodes[i].node_id);
	}
	for (int i = 0; i < rec->n_nodes; i++)
	{
		for (int p = 0; p < rec->nodes[i].nparents; p++)
			appendStringInfo(out, "    %s%d --> %s%d\n", prefix,
							 rec->nodes[i].node_id, prefix,
							 rec->nodes[i].parents[p]);
	}
	appendStringInfoString(out, "  end\n");
}

/*
 * render_mermaid
 *		flowchart with one subgraph per side, a note node for what is
 *		missing, and the classes that mark misestimates and the bottleneck.
 */
static void
render_mermaid(StringInfo out, int64 query_id, PictureSide *sides, int nsides,
			   const char *missing)
{
	StringInfoData marks;

	initStringInfo(&marks);
	appendStringInfo(out, "flowchart BT\n"
					 "  %%%% query_id %lld; rows are per loop; red border: actual rows beyond 10x the estimate either way; amber: largest self time (bottleneck)\n",
					 (long long) query_id);
	for (int s = 0; s < nsides; s++)
		render_mermaid_side(out, &marks, &sides[s],
							sides[s].rec->arm == DEFAULT_ARM ? "d" : "a");
	if (missing != NULL)
	{
		appendStringInfoString(out, "  missing[\"");
		NdagVisualAppendEscaped(out, missing, VISUAL_MERMAID);
		appendStringInfoString(out, "\"]\n");
	}
	appendStringInfoString(out, "  classDef misestimate stroke:" COLOUR_MISESTIMATE ",stroke-width:3px\n"
						   "  classDef bottleneck fill:" COLOUR_BOTTLENECK "\n");
	appendStringInfoString(out, marks.data);
}

/*
 * append_json_number
 *		A JSON number, or null for NaN.
 */
static void
append_json_number(StringInfo out, double value)
{
	if (isnan(value) || isinf(value))
		appendStringInfoString(out, "null");
	else
		appendStringInfo(out, "%.17g", value);
}

/*
 * render_json_side
 *		{"role", "traj_id", "arm", "arm_name", "decision", "recorded_at",
 *		"latency_ms", "note", "nodes": [...]}
 */
static void
render_json_side(StringInfo out, const PictureSide *side)
{
	const NdagRecorded *rec = side->rec;

	appendStringInfoString(out, "{\"role\": ");
	escape_json(out, side->role);
	appendStringInfo(out, ", \"traj_id\": %lld, \"arm\": %d, \"arm_name\": ",
					 (long long) rec->traj_id, rec->arm);
	if (side->arm_name)
		escape_json(out, side->arm_name);
	else
		appendStringInfoString(out, "null");
	appendStringInfoString(out, ", \"decision\": ");
	if (rec->decision)
		escape_json(out, rec->decision);
	else
		appendStringInfoString(out, "null");
	appendStringInfoString(out, ", \"recorded_at\": ");
	escape_json(out, timestamptz_to_str(rec->recorded_at));
	appendStringInfoString(out, ", \"latency_ms\": ");
	append_json_number(out, rec->exec_ms);
	appendStringInfoString(out, ", \"note\": ");
	if (side->note)
		escape_json(out, side->note);
	else
		appendStringInfoString(out, "null");
	appendStringInfoString(out, ", \"nodes\": [");
	for (int i = 0; i < rec->n_nodes; i++)
	{
		const NdagRecordedNode *node = &rec->nodes[i];

		appendStringInfo(out, "%s{\"id\": %d, \"parents\": [", i > 0 ? ", " : "",
						 node->node_id);
		for (int p = 0; p < node->nparents; p++)
			appendStringInfo(out, "%s%d", p > 0 ? ", " : "", node->parents[p]);
		appendStringInfoString(out, "], \"title\": ");
		escape_json(out, node_title(node));
		appendStringInfoString(out, ", \"est_rows\": ");
		append_json_number(out, node->est_rows);
		appendStringInfoString(out, ", \"actual_rows\": ");
		append_json_number(out, node->actual_rows);
		appendStringInfoString(out, ", \"loops\": ");
		append_json_number(out, node->loops);
		appendStringInfoString(out, ", \"self_ms\": ");
		append_json_number(out, node->self_ms);
		appendStringInfo(out, ", \"misestimate\": %s, \"bottleneck\": %s}",
						 is_misestimated(node) ? "true" : "false",
						 i == side->bottleneck ? "true" : "false");
	}
	appendStringInfoString(out, "]}");
}

/*
 * render_json
 *		{"query_id", "missing", "plans": [...]}
 */
static void
render_json(StringInfo out, int64 query_id, PictureSide *sides, int nsides,
			const char *missing)
{
	appendStringInfo(out, "{\"query_id\": %lld, \"missing\": ", (long long) query_id);
	if (missing)
		escape_json(out, missing);
	else
		appendStringInfoString(out, "null");
	appendStringInfoString(out, ", \"plans\": [");
	for (int s = 0; s < nsides; s++)
	{
		if (s > 0)
			appendStringInfoString(out, ", ");
		render_json_side(out, &sides[s]);
	}
	appendStringInfoString(out, "]}");
}

/*
 * latest_other_side
 *		The latest execution in recorded (oldest first) that ran the other
 *		way than shown: the default plan for an arm's execution, any arm for
 *		a default execution; NULL when there is none.
 */
static NdagRecorded *
latest_other_side(List *recorded, const NdagRecorded *shown)
{
	bool		want_default = shown->arm != DEFAULT_ARM;

	for (int i = list_length(recorded) - 1; i >= 0; i--)
	{
		NdagRecorded *rec = (NdagRecorded *) list_nth(recorded, i);

		if ((rec->arm == DEFAULT_ARM) == want_default)
			return rec;
	}
	return NULL;
}

/*
 * fill_side
 *		A side of the picture for rec: its nodes, arm name and bottleneck.
 */
static void
fill_side(PictureSide *side, NdagRecorded *rec, const char *note)
{
	NdagRecordedLoadNodes(rec);
	side->role = rec->arm == DEFAULT_ARM ? "default" : "arm";
	side->note = note;
	side->rec = rec;
	side->arm_name = NdagRecordedArmName(rec->arm);
	side->bottleneck = find_bottleneck(rec);
}

/*
 * no_recording_error
 *		Error out: nothing recorded for what was asked.
 */
static void
no_recording_error(const char *what, int64 id)
{
	ereport(ERROR,
			(errcode(ERRCODE_NO_DATA_FOUND),
			 errmsg("no recorded execution with %s %lld in this database",
					what, (long long) id),
			 errhint("Executions are kept as trajectories at ruvector.dag_detail_sample_rate and reach the store within about a second, or at once with ruvector_dag_flush(); ndag_trajectories lists them.")));
}

/*
 * ruvector_dag_visualize_execution
 *		(traj_id bigint, query_id bigint, format text) -> text: exactly one
 *		of traj_id (that execution) and query_id (its latest recorded
 *		execution) is given.
 */
Datum
ruvector_dag_visualize_execution(PG_FUNCTION_ARGS)
{
	NdagVisualFormat format;
	NdagRecorded *shown;
	NdagRecorded *other;
	List	   *recorded;
	PictureSide sides[2];
	int			nsides = 0;
	const char *missing = NULL;
	StringInfoData out;

	NdagRequirePreload();
	NdagRequireReadQueries("ndag_trajectories");
	format = NdagVisualParseFormat(NdagTextArg(fcinfo, 2, "format"));
	if (PG_ARGISNULL(0) == PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("exactly one of traj_id and query_id must be given"),
				 errhint("Call ruvector_dag_visualize(traj_id => ...) for one recorded execution or ruvector_dag_visualize(query_id => ...) for the latest one of a statement.")));

	if (!PG_ARGISNULL(0))
	{
		int64		traj_id = PG_GETARG_INT64(0);

		shown = NdagRecordedGet(traj_id);
		if (shown == NULL)
			no_recording_error("traj_id", traj_id);
		recorded = NdagRecordedOfQuery(shown->query_id);
	}
	else
	{
		int64		query_id = PG_GETARG_INT64(1);

		recorded = NdagRecordedOfQuery(query_id);
		if (recorded == NIL)
			no_recording_error("query_id", query_id);
		shown = (NdagRecorded *) llast(recorded);
	}

	other = latest_other_side(recorded, shown);
	if (shown->arm == DEFAULT_ARM)
	{
		fill_side(&sides[nsides++], shown, NULL);
		if (other != NULL)
			fill_side(&sides[nsides++], other,
					  "the latest recorded execution of this query_id under an arm");
		else
			missing = "no execution of this query_id under an arm is recorded: the default plan alone";
	}
	else
	{
		if (other != NULL)
			fill_side(&sides[nsides++], other,
					  "the latest recorded default-plan execution of this query_id");
		else
			missing = "the default plan was not recorded: no default-plan execution of this query_id is in the store";
		fill_side(&sides[nsides++], shown, NULL);
	}

	initStringInfo(&out);
	switch (format)
	{
		case VISUAL_DOT:
			render_dot(&out, shown->query_id, sides, nsides, missing);
			break;
		case VISUAL_MERMAID:
			render_mermaid(&out, shown->query_id, sides, nsides, missing);
			break;
		case VISUAL_JSON:
			render_json(&out, shown->query_id, sides, nsides, missing);
			break;
	}
	PG_RETURN_TEXT_P(cstring_to_text(out.data));
}
