/*-------------------------------------------------------------------------
 *
 * decision.c
 *	  The decision of the planner hook (DESIGN.md section 2, steps 1-2):
 *	  which arm plans a statement on an enabled table (what its executions
 *	  teach is in regression_guard.c).
 *
 * A decision holds for a statement (queryId) and its parameter class (the
 * shape of its default plan and the rows bucket its parameter set's
 * default plan produced, param_class.c), so that parameter sets whose
 * plans differ, or whose best plans differ though the planner estimates
 * them alike, are decided apart.  A statement found in the Embedding Cache
 * (this backend's, else one another backend published under the same
 * settings, shared_decisions.c) is planned once: under its cached arm, or
 * by default (a query with several classes only for a parameter set of
 * the cached class).  Otherwise the default plan is made,
 * its DAG embedded with the decision mechanism, and in order: (a) the
 * fastest arm proven faster by paired runs on this statement class
 * (query_memory.c, engine/paired.c), (b) in apply mode, the nearest
 * learned pattern's arm (in learn mode only a candidate to prove first,
 * like a BTSP entry, matched only for a statement that may explore).  Then the turn of the execution: the default plan
 * now and then to re-validate an applied arm against, or in learn mode
 * an open arm right after a default run it is paired with: the arm under
 * test, candidates of patterns and BTSP, untried arms by their plan's
 * estimated cost over the default plan's; never an arm whose plan is
 * forced past disable_cost or estimated too costly.  In shadow
 * exploration mode the statements a background worker can re-run
 * (NdagShadowable) are never explored inline: their default runs are
 * captured for it instead.  The DBA's controls (ndag_queries) come
 * first: a pinned class always runs its pin and explores nothing, a
 * forbidden arm is never explored nor applied from any source, a frozen
 * class explores nothing; an arm of a disabled pattern of the statement
 * is not applied from the statement's own proof either.  A class not in
 * shared memory is loaded from the store.  Errors of the default planning
 * are PostgreSQL's own; an error in our part is logged (WARNING at most
 * once a minute) and the default plan runs.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "nodes/params.h"
#include "nodes/plannodes.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "btsp.h"
#include "embedding.h"
#include "engine.h"
#include "patterns.h"
#include "core/core.h"
#include "plandag/plandag.h"
#include "learning/learning.h"
#include "planner/planner.h"
#include "store.h"

/* pattern match (DESIGN.md section 2) */
#define MATCH_TOP_K			5
#define MATCH_MIN_COSINE	0.9
#define MATCH_MIN_GAIN		1.1
/*
 * A pattern's arm on a query that never ran it, the pattern not being that
 * query's own: the decision embeddings of the demo's twelve different
 * shapes are at most 0.962 apart, a pattern's centroid mixes its members.
 */
#define MATCH_MIN_COSINE_UNSEEN 0.98

/*
 * exploration order: untried arms by their plan's estimated cost over the
 * default plan's, ratios within about 1% (this many ln units) being ties
 * that the cost model orders
 */
#define EXPLORE_RATIO_TIE_LN 0.01

static const char *const source_names[] = {"default", "proven", "pattern", "explore", "pinned"};

/* default plans this backend embedded (ruvector_dag_status()) */
static int64 plans_embedded = 0;

/* what the analysis of the default plan found */
typedef struct Analysis
{
	NdagDecision *d;
	double		default_cost;
	bool		worth;
	bool		may_explore;	/* inline exploration allowed */
	bool		shadow;			/* shadow exploration may capture it */
	bool		shadow_if_slow; /* ... if its run shows it worth it */
	NdagTurn	turn;			/* what this execution runs besides the decision */
	int			candidate;		/* pattern's or BTSP's arm to prove first, 0 none */
	int			challenger;		/* proven arm to pit against the decision's, 0 none */
	uint64		query_id;
	uint64		klass;
	uint64		param_hash;		/* NdagParamSetHash of the planning */
	int			bucket;			/* its rows bucket, 0 not measured */
	bool		measuring;		/* not measured: this run measures it */
	NdagQueryStats stats;
	uint64		enabled;		/* usable arms (enabled, not demoted, not forbidden) */
} Analysis;

/*
 * NdagDecisionSourceName
 *		"default", "proven", "pattern", "explore" or "pinned".
 */
const char *
NdagDecisionSourceName(int source)
{
	if (source < 0 || source >= (int) lengthof(source_names))
		return "default";
	return source_names[source];
}

/*
 * guarded
 *		NdagFallbackRun for the decision: a failure also counts as a
 *		fallback of the rewriter.
 */
static bool
guarded(NdagFallbackKind kind, const char *what, NdagLearningStep step,
		void *arg)
{
	if (NdagFallbackRun(kind, what, step, arg))
		return true;
	NdagRewriteCount(NDAG_RW_FALLBACKS, 1);
	return false;
}

/*
 * init_decision
 *		The default decision, nothing known.
 */
static void
init_decision(NdagDecision *d)
{
	memset(d, 0, sizeof(NdagDecision));
	d->source = NDAG_DECISION_DEFAULT;
	d->similarity = NAN;
	d->confidence = NAN;
	d->predicted_ms = NAN;
	d->predicted_default_ms = NAN;
	d->baseline_ms = NAN;
	d->gain = NAN;
	d->mechanism = -1;
}

/*
 * clear_to_default
 *		A decision for the default plan, its embedding and figures of the
 *		default plan kept, the arm's (pattern, similarity, confidence, gain,
 *		prediction) dropped.
 */
static void
clear_to_default(NdagDecision *d)
{
	d->source = NDAG_DECISION_DEFAULT;
	d->arm = 0;
	d->predicted_ms = d->predicted_default_ms;
	d->pattern_id = 0;
	d->similarity = NAN;
	d->confidence = NAN;
	d->gain = NAN;
}

/*
 * cache_keys
 *		The learned-state epoch (it moves with every committed store write
 *		that moves the generation, and costs one shared-memory read) and
 *		the combined epoch of the enabled tables, the rewriter and the
 *		statement that its decisions are cached under.
 */
static void
cache_keys(uint64 query_id, uint64 *generation, uint64 *epoch)
{
	*generation = NdagLearnedEpoch();
	*epoch = hash_combine64(hash_combine64(NdagTablesEpoch(), NdagRewriteEpoch()),
							NdagStatementEpoch(MyDatabaseId, query_id));
}

/* planning one statement under an arm, for NdagFallbackRun */
typedef struct PlanArmCall
{
	int			arm_id;
	Query	   *parse;
	const char *query_string;
	int			cursorOptions;
	ParamListInfo boundParams;
	PlannedStmt *result;
} PlanArmCall;

/*
 * plan_arm_step
 *		Plan under the arm if it is still enabled (else result stays NULL).
 */
static void
plan_arm_step(void *arg)
{
	PlanArmCall *call = (PlanArmCall *) arg;
	const NdagArm *arm = NdagArmGet(call->arm_id);

	if (arm != NULL)
		call->result = NdagPlanUnderArm(arm, call->parse, call->query_string,
										call->cursorOptions,
										call->boundParams);
}

/*
 * plan_arm
 *		Plan under an enabled arm; NULL (logged) when the arm is gone or
 *		planning under it failed, the session's settings restored.
 */
static PlannedStmt *
plan_arm(int arm_id, Query *parse, const char *query_string,
		 int cursorOptions, ParamListInfo boundParams)
{
	PlanArmCall call = {arm_id, parse, query_string, cursorOptions,
	boundParams, NULL};
	char		what[64];

	snprintf(what, sizeof(what), "plan under arm %d", arm_id);
	if (!guarded(NDAG_FALLBACK_DECISION, what, plan_arm_step, &call))
		return NULL;
	return call.result;
}

/*
 * predict_ms
 *		The cost model's latency of an arm, NaN when there is none.
 */
static double
predict_ms(const float *embedding, int arm)
{
	double		y = NdagPredictLn(embedding, arm);

	return isfinite(y) ? exp(y) : NAN;
}

/*
 * measured_not_faster
 *		Whether paired runs on this statement class proved an arm not
 *		faster than the default plan: such an arm is never applied to it
 *		nor explored again.
 */
static bool
measured_not_faster(const Analysis *a, int arm)
{
	return a->stats.verdict[arm] == NDAG_VERDICT_NOT_FASTER;
}

/*
 * cosine
 *		The cosine of two embeddings, 0 when one is null.
 */
static double
cosine(const float *x, const float *y)
{
	double		xy = 0;
	double		xx = 0;
	double		yy = 0;

	for (int i = 0; i < NDAG_TRAJ_EMBED_DIM; i++)
	{
		xy += (double) x[i] * y[i];
		xx += (double) x[i] * x[i];
		yy += (double) y[i] * y[i];
	}
	return xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0;
}

/*
 * arm_of_disabled_pattern
 *		Whether the DBA disabled a pattern of this statement whose arm this
 *		is (the pattern's representative is the query, or the plan is as
 *		near its centroid as a match): the arm is not applied from the
 *		statement's own proof either.
 */
static bool
arm_of_disabled_pattern(const Analysis *a, int arm)
{
	const NdagLearned *learned = NdagLearnedWithBank();

	if (learned == NULL || learned->bank == NULL)
		return false;
	for (int i = 0; i < learned->bank->count; i++)
	{
		const NdagPattern *p = &learned->bank->patterns[i];

		if (p->disabled && p->best_arm == arm &&
			(p->query_id == a->query_id ||
			 cosine(p->centroid, a->d->embedding) >= MATCH_MIN_COSINE))
			return true;
	}
	return false;
}

/*
 * usable_proven
 *		Whether an arm is usable on this statement class (enabled, not
 *		demoted nor forbidden), proven faster on it, and not the arm of a
 *		disabled pattern of it.
 */
static bool
usable_proven(const Analysis *a, int arm)
{
	return arm > 0 && arm < NDAG_MAX_ARMS &&
		(a->enabled & (UINT64CONST(1) << arm)) != 0 &&
		a->stats.verdict[arm] == NDAG_VERDICT_FASTER &&
		!arm_of_disabled_pattern(a, arm);
}

/*
 * fastest_proven_arm
 *		Of the usable arms proven faster on this statement class and not in
 *		excluded (a mask), the one with the largest paired speed-up; 0 when
 *		none.
 */
static int
fastest_proven_arm(const Analysis *a, uint64 excluded)
{
	double		best_speedup = 0;
	int			best = 0;

	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
	{
		if ((excluded & (UINT64CONST(1) << arm)) != 0 || !usable_proven(a, arm))
			continue;
		if (a->stats.pair_speedup[arm] > best_speedup)
		{
			best_speedup = a->stats.pair_speedup[arm];
			best = arm;
		}
	}
	return best;
}

/*
 * best_proven_arm
 *		The usable arm proven faster on this statement class that won its
 *		latest final against another (the users' own runs of both, paired),
 *		else the one with the largest paired speed-up; 0 when none.
 */
static int
best_proven_arm(const Analysis *a)
{
	if (usable_proven(a, a->stats.final_winner))
		return a->stats.final_winner;
	return fastest_proven_arm(a, 0);
}

/*
 * final_challenger
 *		The usable proven arm to pit against the applied proven arm leader
 *		in the users' executions: of the others never beaten in a final,
 *		the one with the largest paired speed-up; 0 when none.  Each arm's
 *		speed-up was measured against the default plan at other moments,
 *		and the shadow worker's runs beside the users' statements may rank
 *		two fast plans otherwise than the users see them (a serial plan
 *		against a parallel one on a busy machine), so two proven arms are
 *		compared directly, run after run, before one is kept.
 */
static int
final_challenger(const Analysis *a, int leader)
{
	return fastest_proven_arm(a, a->stats.final_lost_mask |
							  (UINT64CONST(1) << leader));
}

/*
 * match_pattern
 *		Step (b): the first of the nearest patterns that is confident,
 *		similar, has a measured gain and a usable best arm not demoted for
 *		it, nor proven not faster on this statement class.  An arm this
 *		query never ran needs MATCH_MIN_COSINE_UNSEEN unless the pattern is
 *		the query's own (its representative member).  Without a default
 *		baseline of its own, the query's baseline is the pattern's
 *		default-arm mean.  The decision gets the pattern's figures.
 */
static bool
match_pattern(Analysis *a)
{
	const NdagLearned *learned = NdagLearnedWithBank();
	NdagMatch	m[MATCH_TOP_K];
	int			n = 0;

	if (learned == NULL || learned->bank == NULL || learned->bank->count == 0)
		return false;
	if (ndag_match(learned->bank, a->d->embedding, MATCH_TOP_K, m, &n) != NDAG_OK)
		return false;
	for (int i = 0; i < n; i++)
	{
		const NdagPattern *p = &learned->bank->patterns[m[i].index];
		int			arm = p->best_arm;
		uint64		bit;

		if (m[i].cosine < MATCH_MIN_COSINE)
			break;				/* best first: the rest are further */
		if (arm <= 0 || arm >= NDAG_MAX_ARMS)
			continue;
		bit = UINT64CONST(1) << arm;
		if (!(p->confidence > ndag_confidence_threshold) ||
			!(p->gain >= MATCH_MIN_GAIN) || (a->enabled & bit) == 0 ||
			(learned->demoted != NULL && (learned->demoted[m[i].index] & bit) != 0) ||
			measured_not_faster(a, arm))
			continue;
		if (a->stats.arm_n[arm] == 0 && p->query_id != a->query_id &&
			m[i].cosine < MATCH_MIN_COSINE_UNSEEN)
			continue;
		if (a->stats.default_n == 0 && arm < NDAG_PATTERN_MAX_ARMS &&
			p->arms[0].count > 0)
			a->d->baseline_ms = exp(p->arms[0].mean_ln);
		a->d->source = NDAG_DECISION_PATTERN;
		a->d->arm = arm;
		a->d->pattern_id = (int64) p->id;
		a->d->similarity = m[i].cosine;
		a->d->confidence = p->confidence;
		a->d->gain = p->gain;
		return true;
	}
	return false;
}

/* rows buckets looked for among a statement's known classes */
#define KNOWN_BUCKETS		16

/*
 * only_known_bucket
 *		For a parameter set not measured (a new one, or after a restart
 *		emptied the table of buckets): the bucket of the statement's only
 *		class of this default plan shape in shared memory or the store, so
 *		that its pin or proven arm holds from its first run; 0 when it has
 *		none or several (then the shape's class alone, by default).  Shared
 *		memory is read in one pass, the store (unless shared memory holds
 *		every class of the statement it has) in one scan of the statement's
 *		records.
 */
static int
only_known_bucket(uint64 query_id, uint64 shape)
{
	uint64		klasses[KNOWN_BUCKETS];
	bool		in_memory[KNOWN_BUCKETS];
	bool		in_store[KNOWN_BUCKETS];
	int			found = 0;
	bool		all_loaded;

	for (int b = 1; b <= KNOWN_BUCKETS; b++)
		klasses[b - 1] = NdagParamClass(shape, b);
	all_loaded = NdagQueryMemoryClassesOf(MyDatabaseId, query_id, klasses,
										  KNOWN_BUCKETS, in_memory);
	for (int b = 1; b <= KNOWN_BUCKETS; b++)
	{
		if (!in_memory[b - 1])
			continue;
		if (found != 0)
			return 0;
		found = b;
	}
	if (all_loaded)
		return found;
	NdagQueryStoreLoadAmong(MyDatabaseId, query_id, klasses, KNOWN_BUCKETS,
							in_store);
	for (int b = 1; b <= KNOWN_BUCKETS; b++)
	{
		if (!in_store[b - 1] || b == found)
			continue;
		if (found != 0)
			return 0;
		found = b;
	}
	return found;
}

/*
 * NdagDecisionEmbed
 *		The decision embedding of a default plan into d, with the mechanism
 *		and attention context it was made with; may raise errors.
 */
void
NdagDecisionEmbed(PlannedStmt *default_plan, NdagDecision *d)
{
	NdagPlanDag *pd = NdagPlanDagBuild(default_plan, NULL);
	double	   *weights;
	int			rc;

	d->mechanism = (int16) NdagDecisionMechanism(pd->dag);
	d->context = NdagAttentionContext(pd->dag);
	weights = NdagComputeScores(pd->dag, d->mechanism);
	rc = ndag_embed(pd->dag, weights, d->embedding);
	NdagEngineCheck(rc, "embedding the plan");
	d->has_embedding = true;
	plans_embedded++;
}

/*
 * NdagDecisionStatusCounters
 *		ruvector_dag_status() counter: how many default plans this backend
 *		embedded (at a planning that analysed its statement, or at the
 *		first recording of a statement decided without it).
 */
void
NdagDecisionStatusCounters(void *state)
{
	NdagStatusAddCounter(state, "plans_embedded", plans_embedded);
}

/*
 * NdagDecisionPredictDefault
 *		The cost model's latency of the default plan of a decision taken
 *		without embedding it (known_default), once its recording embedded
 *		it: what the analysis would have predicted.
 */
void
NdagDecisionPredictDefault(NdagDecision *d)
{
	if (!d->has_embedding || d->arm != 0 || isfinite(d->predicted_default_ms))
		return;
	d->predicted_default_ms = predict_ms(d->embedding, 0);
	d->predicted_ms = d->predicted_default_ms;
}

/*
 * any_arm_proven
 *		Whether paired runs proved any arm faster on this statement class
 *		(enabled or not).
 */
static bool
any_arm_proven(const Analysis *a)
{
	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
	{
		if (a->stats.verdict[arm] == NDAG_VERDICT_FASTER)
			return true;
	}
	return false;
}

/*
 * known_default
 *		Whether the statement class keeps its default plan whatever the
 *		learned state says: run by default before and not worth exploring
 *		(below ruvector.dag_min_latency and ruvector.dag_min_cost), its
 *		parameter class known, no pin, no arm proven for it, and no pattern
 *		to match (learn mode would only name a candidate it does not
 *		explore).  Its decision is then taken without embedding the plan,
 *		so without reading the learned state nor the arm catalogue: what a
 *		new connection's first short statement paid for nothing.  A
 *		recording of such a run embeds the plan then (trajectory.c), and an
 *		EXPLAIN shows the full analysis.
 */
static bool
known_default(const Analysis *a, bool pattern_useful)
{
	return !pattern_useful && !a->worth && a->stats.default_n > 0 &&
		!a->measuring && a->stats.pinned_arm == NDAG_QM_NOT_PINNED &&
		!any_arm_proven(a) && !NdagPlanningExplain();
}

/*
 * analyse
 *		Embed the default plan (unless its class is a known default) and
 *		take steps (a) and (b); draw the execution's turn unless it was
 *		drawn at the cache hit (turn_drawn).  Runs in a temporary context,
 *		may raise errors.
 */
static void
analyse(PlannedStmt *plan, uint64 query_id, bool shadowable,
		bool turn_drawn, Analysis *a)
{
	NdagDecision *d = a->d;
	int			proven;
	bool		learn = ndag_mode == NDAG_MODE_LEARN && !NdagPlanningPlainExplain();
	bool		candidate_only;
	bool		pattern_useful;

	a->default_cost = plan->planTree->total_cost;
	a->query_id = query_id;
	d->default_shape = NdagPlanShapeHash(plan);
	a->measuring = a->bucket == 0;
	if (a->measuring)
		a->bucket = only_known_bucket(query_id, d->default_shape);
	a->klass = NdagParamClass(d->default_shape, a->bucket);
	d->klass = a->klass;
	d->param_hash = a->param_hash;
	d->rows_bucket = a->bucket;
	d->measure_class = a->measuring;
	/* nothing in shared memory: after a restart or an eviction, the store's */
	if (!NdagQueryMemoryGet(MyDatabaseId, query_id, a->klass, &a->stats) &&
		!a->stats.all_loaded &&
		NdagQueryStoreLoad(MyDatabaseId, query_id, a->klass))
		NdagQueryMemoryGet(MyDatabaseId, query_id, a->klass, &a->stats);
	a->worth = (a->stats.default_n > 0 && a->stats.default_ms > ndag_min_latency) ||
		a->default_cost > ndag_min_cost;

	/*
	 * a statement known not to gain (its default runs below
	 * ruvector.dag_min_latency, its cost below ruvector.dag_min_cost) has
	 * nothing to decide apart: its parameter sets are not measured (no row
	 * counting, one class); a statement never run is, once.  Unless its
	 * constants plan in several classes: a parameter set not measured
	 * could then be of any of them, and is never served from the
	 * Embedding Cache (a fast one would be analysed at every planning)
	 */
	if (!a->worth && a->stats.default_n > 0 && !a->stats.multi_class)
		a->measuring = d->measure_class = false;

	/*
	 * Where learning tries arms (learn mode on a primary, exploration on) a
	 * pattern's arm is only a candidate to prove, which serves only an
	 * execution that may explore: for a statement not worth it no pattern
	 * is matched, nor the patterns read.  A BTSP "explore" entry (its
	 * default ran far slower than predicted) hastens the exploration of a
	 * statement worth it but does not make one worth it: a statement
	 * below both ruvector.dag_min_latency and ruvector.dag_min_cost cannot
	 * gain what trying arms costs (a 0.03 ms pgbench -S statement 3x slower
	 * than a prediction of 0.01 ms read every new backend's pattern bank).
	 */
	candidate_only = learn && NdagMayWriteLearnedState() &&
		ndag_exploration_mode != NDAG_EXPLORATION_OFF;
	pattern_useful = !candidate_only || a->worth || a->turn == NDAG_TURN_EXPLORE;

	if (known_default(a, pattern_useful))
		a->enabled = 0;			/* no arm is looked at */
	else
	{
		NdagDecisionEmbed(plan, d);
		a->enabled = NdagArmsEnabledMask() & ~a->stats.demoted_mask &
			~a->stats.forbidden_mask & ~UINT64CONST(1);
		d->predicted_default_ms = predict_ms(d->embedding, 0);
	}
	d->baseline_ms = a->stats.default_n > 0 ? a->stats.default_ms :
		d->predicted_default_ms;

	/* the DBA's pin: always, in learn and apply mode */
	if (a->stats.pinned_arm != NDAG_QM_NOT_PINNED)
	{
		proven = 0;
		d->source = NDAG_DECISION_PINNED;
		d->arm = a->stats.pinned_arm;
		if (d->arm > 0 && d->arm < NDAG_MAX_ARMS &&
			a->stats.verdict[d->arm] == NDAG_VERDICT_FASTER)
			d->gain = a->stats.pair_speedup[d->arm];
	}
	/* (a) the arm proven faster on this statement class */
	else if ((proven = best_proven_arm(a)) != 0)
	{
		d->source = NDAG_DECISION_PROVEN;
		d->arm = proven;
		d->confidence = 1.0;
		d->gain = a->stats.pair_speedup[proven];
	}
	/* (b) a learned pattern: a candidate to prove, or applied (above) */
	else if (pattern_useful && match_pattern(a) && candidate_only)
	{
		a->candidate = d->arm;
		clear_to_default(d);
		d->baseline_ms = a->stats.default_n > 0 ? a->stats.default_ms :
			d->predicted_default_ms;
	}
	if (a->stats.btsp_arm > 0 && a->stats.btsp_arm < NDAG_MAX_ARMS &&
		(a->enabled & (UINT64CONST(1) << a->stats.btsp_arm)) != 0 &&
		a->stats.verdict[a->stats.btsp_arm] == NDAG_VERDICT_OPEN)
		a->candidate = a->stats.btsp_arm;
	/* a pinned or frozen statement explores nothing, inline or shadow */
	if (a->stats.pinned_arm != NDAG_QM_NOT_PINNED || a->stats.frozen)
	{
		a->candidate = 0;
		learn = false;
	}

	/*
	 * nor inline does a parameter set not measured yet: its class is its
	 * default plan's shape alone, whose pairs would mix constants (its
	 * first recorded run measures it, and is captured for shadow runs
	 * under the class it measured)
	 */
	if (a->measuring)
		a->candidate = 0;

	/*
	 * the turn: in learn mode exploration inline, unless shadow exploration
	 * takes the statement; only a statement worth it
	 */
	a->shadow = learn && ndag_exploration_mode == NDAG_EXPLORATION_SHADOW &&
		shadowable && a->worth;

	/*
	 * a class never run is worth it when its first run is slow enough:
	 * that run is captured then (executor end), not one pass later
	 */
	a->shadow_if_slow = learn &&
		ndag_exploration_mode == NDAG_EXPLORATION_SHADOW && shadowable &&
		!a->worth && a->stats.default_n == 0;
	a->may_explore = learn && !a->measuring && ndag_max_candidates > 0 &&
		(ndag_exploration_mode == NDAG_EXPLORATION_INLINE ||
		 (ndag_exploration_mode == NDAG_EXPLORATION_SHADOW && !shadowable)) &&
		a->worth;

	/*
	 * learning (exploration on) runs a final between the applied proven
	 * arm and another proven one in the users' executions
	 */
	a->challenger = learn && ndag_exploration_mode != NDAG_EXPLORATION_OFF &&
		!a->measuring && d->source == NDAG_DECISION_PROVEN ?
		final_challenger(a, d->arm) : 0;
	if (!turn_drawn)
		a->turn = NdagPlanningPlainExplain() || a->measuring ?
			NDAG_TURN_DECIDED :
			NdagQueryMemoryTurn(MyDatabaseId, query_id, a->klass, d->arm,
								d->source, a->may_explore, ndag_exploration,
								a->challenger);
	d->predicted_ms = d->arm != 0 ? predict_ms(d->embedding, d->arm) :
		d->predicted_default_ms;
}

/* analyse() for NdagFallbackRun */
typedef struct AnalyseCall
{
	PlannedStmt *plan;
	uint64		query_id;
	bool		shadowable;
	bool		turn_drawn;
	Analysis   *a;
	MemoryContext cxt;			/* where the analysis allocates */
} AnalyseCall;

/*
 * analyse_step
 *		analyse() in the call's memory context.
 */
static void
analyse_step(void *arg)
{
	AnalyseCall *call = (AnalyseCall *) arg;

	MemoryContextSwitchTo(call->cxt);
	analyse(call->plan, call->query_id, call->shadowable, call->turn_drawn,
			call->a);
}

/*
 * analyse_safely
 *		analyse() with interrupts held and our errors caught; false
 *		(logged) on failure.
 */
static bool
analyse_safely(PlannedStmt *plan, uint64 query_id, bool shadowable,
			   bool turn_drawn, Analysis *a)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	AnalyseCall call = {plan, query_id, shadowable, turn_drawn, a, NULL};
	bool		ok;

	call.cxt = AllocSetContextCreate(CurrentMemoryContext, "neural_dag decision",
									 ALLOCSET_DEFAULT_SIZES);
	HOLD_INTERRUPTS();
	ok = guarded(NDAG_FALLBACK_DECISION, "decide on a plan", analyse_step,
				 &call);
	RESUME_INTERRUPTS();
	MemoryContextSwitchTo(oldcxt);
	MemoryContextDelete(call.cxt);
	return ok;
}

typedef struct Candidate
{
	int			arm;
	int			klass;			/* 0 under test or a candidate, 1 untried */
	double		key;			/* lower first */
	double		predicted_ln;	/* NaN: none */
} Candidate;

/*
 * arm_plan_forced
 *		Whether an arm's plan was forced past disable_cost while the default
 *		plan was not (the planner could not obey the arm; a default plan
 *		forced by the session's own settings forces the arms alike).
 */
static bool
arm_plan_forced(bool default_forced, const PlannedStmt *plan)
{
	return !default_forced && NdagPlanForced(plan);
}

/*
 * predicted_cmp
 *		Lower predicted ln ms first, unknown (NaN) last; 0 when equal.
 */
static int
predicted_cmp(double a, double b)
{
	if (isfinite(a) != isfinite(b))
		return isfinite(a) ? -1 : 1;
	if (isfinite(a) && a != b)
		return a < b ? -1 : 1;
	return 0;
}

/*
 * candidate_cmp
 *		Arms under test (paired before, or a pattern's or BTSP's candidate)
 *		first, then the others; each ordered by their plan's estimated cost
 *		over the default plan's (unknown last), ties by predicted latency
 *		(unknown last), then by id.
 */
static int
candidate_cmp(const void *x, const void *y)
{
	const Candidate *a = x;
	const Candidate *b = y;

	if (a->klass != b->klass)
		return a->klass - b->klass;
	if (a->key != b->key)
		return a->key < b->key ? -1 : 1;
	if (predicted_cmp(a->predicted_ln, b->predicted_ln) != 0)
		return predicted_cmp(a->predicted_ln, b->predicted_ln);
	return a->arm - b->arm;
}

/*
 * rank_candidates
 *		Usable explorable arms (NdagArmExplorable: a plan of their own, not
 *		forced past disable_cost, not estimated too costly) whose verdict on
 *		this statement class is open, other than the arm decided, best first
 *		(candidate_cmp).
 */
static int
rank_candidates(const Analysis *a, int decided_arm, Candidate *out)
{
	int			n = 0;

	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
	{
		uint64		bit = UINT64CONST(1) << arm;
		double		ratio = a->stats.arm_cost_ratio[arm];
		Candidate  *c;

		if ((a->enabled & bit) == 0 || arm == decided_arm ||
			a->stats.verdict[arm] != NDAG_VERDICT_OPEN ||
			!NdagArmExplorable(a->stats.same_mask, a->stats.forced_mask,
							   ratio, arm, ndag_explore_max_cost_ratio))
			continue;
		c = &out[n++];
		c->arm = arm;
		c->predicted_ln = NdagPredictLn(a->d->embedding, arm);
		c->klass = arm == a->candidate || a->stats.pair_n[arm] > 0 ? 0 : 1;
		c->key = ratio > 0 ? floor(log(ratio) / EXPLORE_RATIO_TIE_LN) : INFINITY;
	}
	qsort(out, n, sizeof(Candidate), candidate_cmp);
	return n;
}

/*
 * arm_under_test
 *		Whether an open, usable arm of the statement class already has
 *		pairs: it is run next, so no new arm needs planning.
 */
static bool
arm_under_test(const Analysis *a)
{
	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
		if ((a->enabled & (UINT64CONST(1) << arm)) != 0 &&
			a->stats.verdict[arm] == NDAG_VERDICT_OPEN && a->stats.pair_n[arm] > 0)
			return true;
	return false;
}

/* an arm never planned for the statement class, in the order it is planned */
typedef struct NewArm
{
	int			arm;
	bool		candidate;		/* the pattern's or BTSP's candidate */
	double		predicted_ln;	/* NaN: none */
} NewArm;

/*
 * new_arm_cmp
 *		The pattern's or BTSP's candidate first, then by the cost model's
 *		predicted latency (unknown last), then by id.
 */
static int
new_arm_cmp(const void *x, const void *y)
{
	const NewArm *a = x;
	const NewArm *b = y;

	if (a->candidate != b->candidate)
		return a->candidate ? -1 : 1;
	if (predicted_cmp(a->predicted_ln, b->predicted_ln) != 0)
		return predicted_cmp(a->predicted_ln, b->predicted_ln);
	return a->arm - b->arm;
}

/*
 * plan_new_arms
 *		Plan at most budget usable arms never planned for this statement
 *		class (new_arm_cmp order; it is only planning) and remember which
 *		of them plan like the default or like an arm planned before (never
 *		explored for it), each plan's estimated cost over the default's,
 *		and which plans were forced past disable_cost (never explored
 *		either, nor taken as the shape others duplicate).  The other
 *		distinct plans are kept in plans[] for the choice that follows.
 *		Returns the plannings made.
 */
static int
plan_new_arms(Analysis *a, uint64 default_shape, bool default_forced,
			  Query *parse, const char *query_string, int cursorOptions,
			  ParamListInfo boundParams, PlannedStmt **plans, int budget)
{
	uint64		shapes[NDAG_MAX_ARMS];
	int			nshapes = 0;
	NewArm		todo[NDAG_MAX_ARMS];
	int			ntodo = 0;
	int			made = 0;

	shapes[nshapes++] = default_shape;
	for (int arm = 1; arm < NDAG_MAX_ARMS; arm++)
	{
		uint64		bit = UINT64CONST(1) << arm;

		if ((a->enabled & bit) == 0 || (a->stats.planned_mask & bit) != 0)
			continue;
		todo[ntodo].arm = arm;
		todo[ntodo].candidate = arm == a->candidate;
		todo[ntodo].predicted_ln = NdagPredictLn(a->d->embedding, arm);
		ntodo++;
	}
	qsort(todo, ntodo, sizeof(NewArm), new_arm_cmp);
	for (int i = 0; i < ntodo && made < budget; i++)
	{
		int			arm = todo[i].arm;
		uint64		bit = UINT64CONST(1) << arm;
		PlannedStmt *plan;
		uint64		shape;
		bool		same = false;
		bool		forced;
		double		ratio;

		plan = plan_arm(arm, copyObject(parse), query_string, cursorOptions,
						boundParams);
		a->d->extra_plannings++;
		made++;
		if (plan == NULL)
			continue;
		shape = NdagPlanShapeHash(plan);
		for (int j = 0; j < nshapes && !same; j++)
			same = shapes[j] == shape;
		forced = arm_plan_forced(default_forced, plan);
		ratio = NdagPlanCostRatio(a->default_cost, plan);
		if (same)
			a->stats.same_mask |= bit;
		else if (forced)
			a->stats.forced_mask |= bit;
		else
		{
			shapes[nshapes++] = shape;
			plans[arm] = plan;
		}
		a->stats.planned_mask |= bit;
		a->stats.arm_cost_ratio[arm] = (float4) ratio;
		NdagQueryMemoryMarkPlanned(MyDatabaseId, a->query_id, a->klass, arm,
								   same, ratio, forced);
	}
	return made;
}

/* plan_new_arms and rank_candidates for NdagFallbackRun */
typedef struct RankCall
{
	Analysis   *a;
	PlannedStmt *default_plan;
	Query	   *parse;
	const char *query_string;
	int			cursorOptions;
	ParamListInfo boundParams;
	int			decided_arm;
	bool		default_forced; /* the default plan is past disable_cost */
	PlannedStmt **plans;		/* NDAG_MAX_ARMS, filled */
	Candidate  *cand;			/* NDAG_MAX_ARMS, filled */
	int			n;				/* candidates ranked */
	int			planned;		/* plannings made */
} RankCall;

/*
 * rank_step
 *		Plan new arms within ruvector.dag_max_candidates (none while an arm
 *		is under test), then rank the candidates.
 */
static void
rank_step(void *arg)
{
	RankCall   *call = (RankCall *) arg;

	if (!arm_under_test(call->a))
		call->planned = plan_new_arms(call->a, NdagPlanShapeHash(call->default_plan),
									  call->default_forced, call->parse,
									  call->query_string, call->cursorOptions,
									  call->boundParams, call->plans,
									  ndag_max_candidates);
	call->n = rank_candidates(call->a, call->decided_arm, call->cand);
}

/*
 * replanned_explorable
 *		Whether an arm planned anew for exploration may run: its plan, for
 *		this statement's default plan, is remembered (shape, cost ratio,
 *		forced) and judged by NdagArmExplorable.
 */
static bool
replanned_explorable(const Analysis *a, uint64 query_id, int arm,
					 const PlannedStmt *plan, uint64 default_shape,
					 bool default_forced)
{
	bool		same = NdagPlanShapeHash(plan) == default_shape;
	bool		forced = arm_plan_forced(default_forced, plan);
	double		ratio = NdagPlanCostRatio(a->default_cost, plan);
	uint64		bit = UINT64CONST(1) << arm;

	NdagQueryMemoryMarkPlanned(MyDatabaseId, query_id, a->klass, arm, same,
							   ratio, forced);
	return NdagArmExplorable(same ? bit : 0, forced ? bit : 0,
							 (float4) ratio, arm, ndag_explore_max_cost_ratio);
}

/*
 * explore
 *		Plan new arms (plan_new_arms), then take the best candidate
 *		(rank_candidates) whose plan differs from the default, making at
 *		most ruvector.dag_max_candidates plannings besides the default's in
 *		all;
 *		an arm planned anew that plans like the default, is forced past
 *		disable_cost or is estimated costlier than
 *		ruvector.dag_explore_max_cost_ratio times the default plan is
 *		remembered as such and not run.  NULL when none is left.
 */
static PlannedStmt *
explore(Analysis *a, PlannedStmt *default_plan, Query *parse,
		const char *query_string, int cursorOptions, ParamListInfo boundParams,
		uint64 query_id, int decided_arm)
{
	Candidate	cand[NDAG_MAX_ARMS];
	PlannedStmt *plans[NDAG_MAX_ARMS];
	bool		default_forced = NdagPlanForced(default_plan);
	RankCall	call = {a, default_plan, parse, query_string, cursorOptions,
	boundParams, decided_arm, default_forced, plans, cand, 0, 0};
	int			n;
	int			planned;
	uint64		default_shape = NdagPlanShapeHash(default_plan);

	memset(plans, 0, sizeof(plans));
	n = guarded(NDAG_FALLBACK_DECISION, "rank the arms", rank_step, &call) ?
		call.n : 0;
	planned = call.planned;

	for (int i = 0; i < n; i++)
	{
		PlannedStmt *plan = plans[cand[i].arm];

		if (plan == NULL)
		{
			if (planned++ >= ndag_max_candidates)
				break;
			plan = plan_arm(cand[i].arm, copyObject(parse), query_string,
							cursorOptions, boundParams);
			a->d->extra_plannings++;
			if (plan == NULL || !replanned_explorable(a, query_id, cand[i].arm,
													  plan, default_shape,
													  default_forced))
				continue;
		}
		a->d->source = NDAG_DECISION_EXPLORE;
		a->d->arm = cand[i].arm;
		a->d->pattern_id = 0;
		a->d->similarity = NAN;
		a->d->confidence = NAN;
		a->d->gain = NAN;
		a->d->predicted_ms = isfinite(cand[i].predicted_ln) ?
			exp(cand[i].predicted_ln) : NAN;
		/* the executed plan is one of those made, not an extra one */
		a->d->extra_plannings--;
		return plan;
	}
	return NULL;
}

/*
 * count_decision
 *		The counter of a decision's source.
 */
static void
count_decision(const NdagDecision *d)
{
	static const NdagRewriteCounter counters[] = {
		NDAG_RW_DECIDED_DEFAULT, NDAG_RW_DECIDED_PROVEN,
		NDAG_RW_DECIDED_PATTERN, NDAG_RW_DECIDED_EXPLORE,
		NDAG_RW_DECIDED_PINNED
	};

	NdagRewriteCount(counters[d->source], 1);
	if (d->validation)
		NdagRewriteCount(NDAG_RW_VALIDATIONS, 1);
	if (d->final_against != 0)
		NdagRewriteCount(NDAG_RW_FINAL_RUNS, 1);
}

/*
 * run_challenger
 *		Make a decision its challenger's run in a final against the arm it
 *		applies: the challenger is proven too, so the run is a decision of
 *		source proven, with no gain of its own shown.
 */
static void
run_challenger(NdagDecision *d, int challenger)
{
	d->final_against = d->arm;
	d->arm = challenger;
	d->gain = NAN;
}

/*
 * run_default_for_pairing
 *		Make a decision the default plan's run of a DEFAULT turn: the run an
 *		applied or explored arm's next run is paired with.
 */
static void
run_default_for_pairing(NdagDecision *d)
{
	clear_to_default(d);
	d->validation = true;
}

/*
 * class_open
 *		Whether a statement class still has an arm without its verdict.
 */
static bool
class_open(uint64 query_id, uint64 klass)
{
	return NdagQueryMemoryOpenArms(MyDatabaseId, query_id, klass,
								   NdagArmsEnabledMask()) != 0;
}

/*
 * want_capture
 *		Whether shadow exploration wants the text of a statement about to
 *		run its default plan (shadow: it may capture the statement): its
 *		class still has an open arm.
 */
static bool
want_capture(bool shadow, uint64 query_id, uint64 klass, const NdagDecision *d)
{
	return shadow && d->arm == 0 && !NdagPlanningPlainExplain() &&
		class_open(query_id, klass);
}

/*
 * NdagDecisionWantsCapture
 *		Whether a run of the default plan that took exec_ms goes to shadow
 *		exploration's queue: its decision asked for it, or its class had
 *		never run and this run took over ruvector.dag_min_latency (worth
 *		exploring from its first run, not one run later), its class still
 *		having an open arm.
 */
bool
NdagDecisionWantsCapture(uint64 query_id, const NdagDecision *d,
						 double exec_ms)
{
	if (d->arm != 0)
		return false;
	return d->shadow_capture ||
		(d->shadow_if_slow && exec_ms > ndag_min_latency &&
		 class_open(query_id, d->klass));
}

/*
 * statement_eligible
 *		Whether a default plan touches an enabled table; false (logged)
 *		when the enabled tables cannot be read.
 */
static bool
statement_eligible(PlannedStmt *default_plan)
{
	bool		failed;
	bool		eligible;

	eligible = NdagStatementEligibleOrFallback(default_plan, false, &failed);
	if (failed)
		NdagRewriteCount(NDAG_RW_FALLBACKS, 1);
	return eligible;
}

/*
 * collect_relations
 *		query_tree_walker callback: every relation range-table entry of a
 *		query and of its subqueries, CTEs and sublinks.
 */
static bool
collect_relations(Node *node, List **rtes)
{
	if (node == NULL)
		return false;
	if (IsA(node, RangeTblEntry))
	{
		RangeTblEntry *rte = (RangeTblEntry *) node;

		if (rte->rtekind == RTE_RELATION)
			*rtes = lappend(*rtes, rte);
		return false;
	}
	if (IsA(node, Query))
		return query_tree_walker((Query *) node, collect_relations, rtes,
								 QTW_EXAMINE_RTES_BEFORE);
	return expression_tree_walker(node, collect_relations, rtes);
}

/*
 * query_may_be_ours
 *		Whether a statement not in the Embedding Cache reads or writes an
 *		enabled table, judged on the query before planning, so that other
 *		statements are planned exactly as without the extension (no copy,
 *		no store read).
 */
static bool
query_may_be_ours(Query *parse)
{
	PlannedStmt fake;
	List	   *rtes = NIL;
	bool		ours;

	(void) query_tree_walker(parse, collect_relations, &rtes,
							 QTW_EXAMINE_RTES_BEFORE);
	if (rtes == NIL)
		return false;
	memset(&fake, 0, sizeof(fake));
	fake.type = T_PlannedStmt;
	fake.rtable = rtes;
	ours = statement_eligible(&fake);
	list_free(rtes);
	return ours;
}

/*
 * NdagPlanAndDecide
 *		Plan an eligible-looking statement (not a utility, has a queryId)
 *		and decide its arm.  *decided is false when the statement turned
 *		out not to be ours (no enabled table) or the store was unavailable:
 *		then the plan is the default one and *decision means nothing.
 */
PlannedStmt *
NdagPlanAndDecide(Query *parse, const char *query_string, int cursorOptions,
				  ParamListInfo boundParams, NdagDecision *decision,
				  bool *decided)
{
	uint64		query_id = parse->queryId;
	uint64		generation;
	uint64		epoch;
	NdagCacheSlot *slot;
	NdagCacheEntry *entry;
	PlannedStmt *default_plan;
	PlannedStmt *plan;
	Analysis	a;
	NdagDecision base;
	NdagTurn	turn = NDAG_TURN_DECIDED;
	bool		turn_drawn = false;
	bool		shadowable;
	bool		eligible;
	uint64		param_hash;
	int			bucket;
	uint32		class_tag;
	bool		shared_hit = false;

	*decided = false;
	init_decision(decision);

	/*
	 * not learn nor apply: plans untouched, nothing decided (in observe
	 * mode an EXPLAIN's parameter set is looked up for its advice)
	 */
	if ((ndag_mode != NDAG_MODE_LEARN && ndag_mode != NDAG_MODE_APPLY &&
		 !(ndag_mode == NDAG_MODE_OBSERVE && NdagPlanningExplain())) ||
		!StoreTrusted())
		return NdagPlanDefault(parse, query_string, cursorOptions, boundParams);
	/* statements decided before are ours; others are checked first */
	if (!NdagCacheKnown(query_id) && !query_may_be_ours(parse))
		return NdagPlanDefault(parse, query_string, cursorOptions, boundParams);
	/* observe: planned by default, the bucket kept for EXPLAIN's advice */
	if (ndag_mode == NDAG_MODE_OBSERVE)
	{
		decision->param_hash = NdagParamSetHash(parse, boundParams);
		decision->rows_bucket = NdagParamBucketGet(MyDatabaseId, query_id,
												   decision->param_hash, NULL);
		return NdagPlanDefault(parse, query_string, cursorOptions, boundParams);
	}
	cache_keys(query_id, &generation, &epoch);

	/*
	 * a statement settled on its default plan for every parameter set is
	 * served without looking at its parameter set (what that costs is most
	 * of the extension's planning time of a pgbench -S statement); else the
	 * cached decision serves a parameter set of its bucket, and for a
	 * statement whose constants plan in several shapes, only one whose
	 * latest planning found the cached class
	 */
	param_hash = 0;
	bucket = 0;
	class_tag = 0;
	slot = NdagCacheCurrent(query_id, generation, epoch);
	entry = NdagCacheSettled(slot);
	if (entry == NULL)
	{
		param_hash = NdagParamSetHash(parse, boundParams);
		bucket = NdagParamBucketGet(MyDatabaseId, query_id, param_hash,
									&class_tag);
		entry = NdagCacheServing(slot, bucket, class_tag);
	}
	/* a decision another backend took under the same settings serves too */
	if (entry == NULL)
	{
		NdagCacheEntry published;

		if (NdagSharedDecisionGet(query_id, generation, epoch, bucket,
								  class_tag, &published))
		{
			entry = NdagCacheAdopt(&published);
			shared_hit = true;
		}
	}
	/* an EXPLAIN shows the whole analysis, which a known default skipped */
	if (entry != NULL && !entry->decision.has_embedding && NdagPlanningExplain())
		entry = NULL;
	decision->param_hash = param_hash;
	decision->rows_bucket = bucket;
	if (entry != NULL)
	{
		/* a hit of this backend's cache, or a published decision */
		NdagRewriteCount(shared_hit ? NDAG_RW_CACHE_SHARED_HITS :
						 NDAG_RW_CACHE_HITS, 1);
		*decision = entry->decision;
		decision->cache_hit = !shared_hit;
		decision->extra_plannings = 0;
		decision->param_hash = param_hash;
		if (!NdagPlanningPlainExplain() && bucket != 0)
			turn = NdagQueryMemoryTurn(MyDatabaseId, query_id, entry->klass,
									   decision->arm, decision->source,
									   entry->may_explore, ndag_exploration,
									   entry->challenger);
		if (turn == NDAG_TURN_DEFAULT)
			run_default_for_pairing(decision);
		if (turn == NDAG_TURN_FINAL)
		{
			run_challenger(decision, entry->challenger);
			turn = NDAG_TURN_DECIDED;
		}
		if (decision->arm != 0 && turn == NDAG_TURN_DECIDED)
		{
			/* the copy is the fallback's, should planning under the arm fail */
			plan = plan_arm(decision->arm, copyObject(parse), query_string,
							cursorOptions, boundParams);
			if (plan != NULL)
			{
				*decided = true;
				decision->shape = NdagPlanShapeHash(plan);
				count_decision(decision);
				return plan;
			}
			NdagCacheForget(query_id);
			init_decision(decision);
			return NdagPlanDefault(parse, query_string, cursorOptions,
								   boundParams);
		}
		if (turn != NDAG_TURN_EXPLORE)
		{
			*decided = true;
			decision->shadow_capture = want_capture(entry->shadow, query_id,
													entry->klass, decision);
			decision->shadow_if_slow = entry->shadow_if_slow &&
				decision->arm == 0 && !NdagPlanningPlainExplain();
			count_decision(decision);
			return NdagPlanDefault(parse, query_string, cursorOptions,
								   boundParams);
		}
		/* its turn to explore: decided below, without a second draw */
		turn_drawn = true;
		init_decision(decision);
	}
	else
		NdagRewriteCount(NDAG_RW_CACHE_MISSES, 1);

	/* default planning: its errors are the statement's */
	shadowable = NdagShadowable(parse);
	default_plan = NdagPlanDefault(copyObject(parse), query_string,
								   cursorOptions, boundParams);
	eligible = statement_eligible(default_plan);
	if (!eligible)
		return default_plan;

	memset(&a, 0, sizeof(a));
	a.d = decision;
	a.turn = turn;
	a.param_hash = param_hash;
	a.bucket = bucket;
	if (!analyse_safely(default_plan, query_id, shadowable, turn_drawn, &a))
	{
		init_decision(decision);
		return default_plan;
	}
	if (turn_drawn)
		decision->cache_hit = true;
	*decided = true;
	if (bucket != 0 && class_tag != (uint32) a.klass)
		NdagParamBucketPut(MyDatabaseId, query_id, param_hash, bucket, a.klass);

	/* the decision without the turn is what the cache keeps */
	base = *decision;
	plan = NULL;
	if (a.turn == NDAG_TURN_EXPLORE)
		plan = explore(&a, default_plan, parse, query_string, cursorOptions,
					   boundParams, query_id, base.arm);
	if (plan == NULL)
	{
		int			extra = decision->extra_plannings;

		*decision = base;
		decision->extra_plannings = extra;
		if (a.turn == NDAG_TURN_DEFAULT)
			run_default_for_pairing(decision);
		if (a.turn == NDAG_TURN_FINAL)
			run_challenger(decision, a.challenger);
	}
	if (plan == NULL && decision->arm != 0)
	{
		plan = plan_arm(decision->arm, parse, query_string, cursorOptions,
						boundParams);
		if (plan == NULL)
		{
			bool		final = decision->final_against != 0;

			/* a challenger that failed to plan leaves the cached decision */
			decision->source = NDAG_DECISION_DEFAULT;
			decision->arm = 0;
			decision->pattern_id = 0;
			decision->final_against = 0;
			if (!final)
				base = *decision;
		}
	}
	if (plan == NULL)
	{
		plan = default_plan;
		decision->shadow_capture = want_capture(a.shadow, query_id, a.klass,
												decision);
		decision->shadow_if_slow = a.shadow_if_slow &&
			!NdagPlanningPlainExplain();
	}
	else
	{
		decision->extra_plannings++;	/* the default plan */
		decision->shape = NdagPlanShapeHash(plan);
	}
	count_decision(decision);
	NdagRewriteCount(NDAG_RW_EXTRA_PLANNINGS, decision->extra_plannings);

	/*
	 * a plain EXPLAIN in learn mode decides without exploring (and would
	 * apply a pattern's arm it only shows): not a decision for executions
	 */
	if (NdagPlanningPlainExplain() && ndag_mode == NDAG_MODE_LEARN)
		return plan;

	/*
	 * nor is the decision of a run that measures its parameter set: its
	 * class is only assumed, and it may not explore (the measured runs
	 * that follow are decided on their own class)
	 */
	if (a.measuring)
		return plan;
	/* an explored arm is not the decision: the entry keeps the one beneath */
	entry = NdagCacheStore(query_id, generation, epoch, a.klass);
	entry->worth = a.worth;
	entry->may_explore = a.may_explore;
	entry->shadow = a.shadow;
	entry->shadow_if_slow = a.shadow_if_slow;
	entry->multi_class = a.stats.multi_class;
	entry->challenger = a.challenger;
	entry->rows_bucket = a.bucket;
	entry->default_cost = a.default_cost;
	entry->decision = base;
	entry->decision.cache_hit = false;
	entry->decision.extra_plannings = 0;
	entry->decision.shadow_capture = false;
	entry->decision.shadow_if_slow = false;
	entry->decision.validation = false;
	entry->decision.final_against = 0;
	entry->decision.shape = base.arm != 0 && decision->arm == base.arm ?
		decision->shape : 0;

	/*
	 * published when it saves other backends more than the default planning
	 * they need anyway: an arm's planning (a parameter set not measured
	 * then remembers its class, for the decision to serve it), or the
	 * embedding
	 */
	if (base.arm != 0 || base.has_embedding)
	{
		if (bucket == 0 && param_hash != 0 && base.arm != 0 &&
			class_tag != (uint32) a.klass)
			NdagParamClassSeen(MyDatabaseId, query_id, param_hash, a.klass);
		NdagSharedDecisionPut(entry);
	}
	return plan;
}

/*
 * NdagAdvise
 *		What apply mode would decide for a statement whose default plan this
 *		is (observe mode's advice in EXPLAIN): the arm proven on its class,
 *		else a learned pattern's; nothing is drawn, run or remembered.
 *		false when the statement is not ours or the analysis failed
 *		(logged); then *advice is the default decision.
 */
bool
NdagAdvise(PlannedStmt *default_plan, NdagDecision *advice)
{
	Analysis	a;

	init_decision(advice);
	if (!StoreTrusted() || !statement_eligible(default_plan))
		return false;
	memset(&a, 0, sizeof(a));
	a.d = advice;
	a.turn = NDAG_TURN_DECIDED;
	a.bucket = NdagPlanRowsBucket(default_plan);
	if (!analyse_safely(default_plan, default_plan->queryId, false, true, &a))
	{
		init_decision(advice);
		return false;
	}
	return true;
}
