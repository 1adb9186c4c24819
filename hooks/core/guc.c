/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  The ruvector.* configuration parameters of neural_dag.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "costmodel.h"
#include "engine.h"
#include "patterns.h"
#include "core/core.h"
#include "store.h"

bool		ndag_enabled = true;
int			ndag_mode = NDAG_MODE_LEARN;
char	   *ndag_data_directory = NULL;
int			ndag_map_size_mb = 1024;
int			ndag_rmgr_id = STORE_RMGR_ID_DEFAULT;
bool		ndag_wal_snapshots = true;
char	   *ndag_attention_type = NULL;
double		ndag_attention_exploration = 0.1;
double		ndag_ucb_c = 1.414;
bool		ndag_mincut_enabled = true;
double		ndag_mincut_threshold = 0.5;
double		ndag_sample_rate = 1.0;
double		ndag_fast_query_ms = 1.0;
double		ndag_fast_sample_rate = 0.01;
double		ndag_detail_sample_rate = 0.1;
double		ndag_timing_sample_rate = 0.05;
int			ndag_max_trajectories = 10000;
bool		ndag_all_tables = false;

/* plan rewriting */
double		ndag_min_latency = 5.0;
double		ndag_min_cost = 10000.0;
double		ndag_exploration = 0.1;
int			ndag_exploration_mode = NDAG_EXPLORATION_SHADOW;
bool		ndag_regression_guard = true;
int			ndag_max_candidates = 2;
double		ndag_explore_max_cost_ratio = 10.0;
int			ndag_query_memory_size = 2048;
double		ndag_confidence_threshold = 0.8;
int			ndag_embedding_cache_size = 1024;

/* shadow exploration */
double		ndag_shadow_budget = -1.0;
double		ndag_shadow_max_load = 1.0;
double		ndag_shadow_min_share = 0.5;
int			ndag_shadow_max_pairs = 16;
double		ndag_shadow_timeout_factor = 2.0;
int			ndag_shadow_nice = 10;
double		ndag_shadow_max_cost_ratio = 1000.0;
int			ndag_process_nice = 0;
double		ndag_shadow_default_timeout_factor = 10.0;

/* self-healing */
bool		ndag_healing_enabled = true;
int			ndag_healing_check_interval = 300000;
bool		ndag_healing_auto_repair = false;
int			ndag_healing_scope = NDAG_HEAL_SCOPE_ENABLED;
char	   *ndag_database = NULL;
int			ndag_healing_lock_timeout = 5000;
int			ndag_healing_statement_timeout = 600000;
double		ndag_healing_bloat_ratio = 0.5;
double		ndag_healing_stale_ratio = 0.2;
int			ndag_healing_stale_min_rows = 50;
int			ndag_healing_max_events = 10000;

/* learning */
int			ndag_pattern_clusters = NDAG_PATTERN_CLUSTERS;
double		ndag_quality_threshold = NDAG_PATTERN_QUALITY;
int			ndag_background_interval = 3600000;
double		ndag_learning_rate = NDAG_COST_INSTANT_LR;
double		ndag_base_lora_lr = NDAG_COST_BASE_LR;
int			ndag_base_lora_rank = NDAG_COST_BASE_RANK;
int			ndag_micro_lora_rank = NDAG_COST_MICRO_RANK;
double		ndag_ewc_lambda = NDAG_EWC_LAMBDA;
double		ndag_ewc_max_lambda = NDAG_EWC_MAX_LAMBDA;
double		ndag_ewc_fisher_decay = NDAG_EWC_FISHER_DECAY;

static const struct config_enum_entry ndag_mode_options[] = {
	{"off", NDAG_MODE_OFF, false},
	{"observe", NDAG_MODE_OBSERVE, false},
	{"learn", NDAG_MODE_LEARN, false},
	{"apply", NDAG_MODE_APPLY, false},
	{NULL, 0, false}
};

static const struct config_enum_entry ndag_exploration_mode_options[] = {
	{"shadow", NDAG_EXPLORATION_SHADOW, false},
	{"inline", NDAG_EXPLORATION_INLINE, false},
	{"off", NDAG_EXPLORATION_OFF, false},
	{NULL, 0, false}
};

static const struct config_enum_entry ndag_healing_scope_options[] = {
	{"enabled", NDAG_HEAL_SCOPE_ENABLED, false},
	{"all", NDAG_HEAL_SCOPE_ALL, false},
	{NULL, 0, false}
};

/*
 * check_attention_type
 *		Accept 'auto' or the name of one of the eight mechanisms.
 */
static bool
check_attention_type(char **newval, void **extra, GucSource source)
{
	int			mechanism;

	if (strcmp(*newval, "auto") == 0 ||
		ndag_mechanism_from_name(*newval, &mechanism) == NDAG_OK)
		return true;
	GUC_check_errdetail("Unknown attention mechanism \"%s\".", *newval);
	GUC_check_errhint("Valid values are auto, topological, causal_cone, critical_path, mincut_gated, hierarchical_lorentz, parallel_branch, temporal_btsp and ensemble.");
	return false;
}

/*
 * NdagDefineGucs
 *		Define every ruvector.* parameter and reserve the prefix.
 */
void
NdagDefineGucs(void)
{
	DefineCustomBoolVariable("ruvector.neural_dag_enabled",
							 "Enables learning from query executions and applying what was learned.",
							 NULL,
							 &ndag_enabled,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("ruvector.dag_mode",
							 "What neural_dag does with statements on enabled tables.",
							 "off does nothing, observe records only, learn records, explores and applies, apply applies what was learned without exploring.",
							 &ndag_mode,
							 NDAG_MODE_LEARN,
							 ndag_mode_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("ruvector.dag_data_directory",
							   "Directory of the LMDB environment holding the learned state.",
							   "Empty means neural_dag/ inside the data directory.",
							   &ndag_data_directory,
							   "",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_map_size",
							"Initial map size of the LMDB environment; it grows when full.",
							NULL,
							&ndag_map_size_mb,
							1024, 16, 1024 * 1024,
							PGC_POSTMASTER, GUC_UNIT_MB,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_rmgr_id",
							"WAL resource manager id of neural_dag's learned-state records.",
							"A custom id (128-255) that no other extension of the cluster uses; standbys need the primary's.",
							&ndag_rmgr_id,
							STORE_RMGR_ID_DEFAULT, 128, 255,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("ruvector.dag_wal_trajectories",
							 "WAL-logs the recorded executions (trajectories and their plan nodes) too.",
							 "Off: standbys and crash recovery get the plan-deciding state only.",
							 &store_wal_trajectories,
							 false,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("ruvector.dag_wal_snapshots",
							 "Logs a snapshot of the plan-deciding state to WAL after each checkpoint.",
							 "A server started from a base backup plans with the default plan until it replays one logged after the backup's start.",
							 &ndag_wal_snapshots,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("ruvector.dag_attention_type",
							   "DAG attention mechanism used to embed plans.",
							   "auto lets the UCB selector choose per plan shape.",
							   &ndag_attention_type,
							   "auto",
							   PGC_USERSET, 0,
							   check_attention_type, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_attention_exploration",
							 "Probability of trying a random attention mechanism instead of the UCB choice.",
							 NULL,
							 &ndag_attention_exploration,
							 0.1, 0.0, 1.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_ucb_c",
							 "Exploration constant c of the UCB selectors.",
							 NULL,
							 &ndag_ucb_c,
							 1.414, 0.0, 100.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_min_latency",
							 "Observed mean latency of a statement's default plan above which it may be explored.",
							 "A statement is also explored when its estimated cost exceeds ruvector.dag_min_cost.",
							 &ndag_min_latency,
							 5.0, 0.0, 1e9,
							 PGC_USERSET, GUC_UNIT_MS,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_min_cost",
							 "Estimated total cost of a statement's default plan above which it may be explored.",
							 NULL,
							 &ndag_min_cost,
							 10000.0, 0.0, 1e15,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_exploration",
							 "Largest fraction of a statement's executions that run an explored arm (learn mode).",
							 NULL,
							 &ndag_exploration,
							 0.1, 0.0, 1.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("ruvector.dag_exploration_mode",
							 "Where arms not yet proven for a statement are tried (learn mode).",
							 "shadow re-runs captured plain SELECTs under candidate arms in a background worker, read-only, as the role that ran them, and tries the other statements inline; inline tries them on users' own executions; off tries nothing new.",
							 &ndag_exploration_mode,
							 NDAG_EXPLORATION_SHADOW,
							 ndag_exploration_mode_options,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomBoolVariable("ruvector.dag_regression_guard",
							 "Re-validates applied arms against the default plan on paired runs and demotes those proven slower.",
							 "Off, applied arms are judged only by the self-healing check over the stored trajectories.",
							 &ndag_regression_guard,
							 true,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_max_candidates",
							"Arms planned at most besides the default when a statement is explored.",
							NULL,
							&ndag_max_candidates,
							2, 0, 16,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_explore_max_cost_ratio",
							 "Largest ratio of an arm plan's estimated cost to the default plan's that exploration runs.",
							 "An arm whose plan is estimated costlier than this many times the default plan is never explored for the statement.",
							 &ndag_explore_max_cost_ratio,
							 10.0, 1.0, 1e15,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_confidence_threshold",
							 "Confidence a pattern needs for its arm to be applied.",
							 NULL,
							 &ndag_confidence_threshold,
							 0.8, 0.0, 1.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_embedding_cache_size",
							"Decisions each backend keeps in its embedding cache.",
							NULL,
							&ndag_embedding_cache_size,
							1024, 1, 1048576,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("ruvector.dag_mincut_enabled",
							 "Enables the min-cut gate of the mincut_gated attention mechanism.",
							 NULL,
							 &ndag_mincut_enabled,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_mincut_threshold",
							 "Gate value given to operators that are not on the minimum cut.",
							 NULL,
							 &ndag_mincut_threshold,
							 0.5, 0.0, 1.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_sample_rate",
							 "Fraction of eligible statements whose execution is recorded.",
							 "Each top-level statement is sampled with this probability; statements nested in it follow its choice.",
							 &ndag_sample_rate,
							 1.0, 0.0, 1.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_fast_query_ms",
							 "Mean latency (ms) under which a statement counts as fast and is recorded less often.",
							 "After a few recordings (by any backends: the count and mean are shared), statements faster than this are recorded at ruvector.dag_fast_sample_rate times the sample rate, in every backend from its first execution; 0 records them like any other.",
							 &ndag_fast_query_ms,
							 1.0, 0.0, 1e6,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_fast_sample_rate",
							 "Fraction of the executions of fast statements that is recorded.",
							 NULL,
							 &ndag_fast_sample_rate,
							 0.01, 0.0, 1.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_detail_sample_rate",
							 "Fraction of recorded statements whose plan nodes are instrumented and kept as a trajectory.",
							 "Every recorded statement is timed as a whole, which is what the query memory and the regression guard judge; per-node row counts cost a few counters per row per node, so only this fraction counts them and leaves a trajectory (plan with actuals) for attention, patterns and the cost model.  Past a statement's first 100 recordings in a backend the fraction falls as 100 / recordings, to a tenth of it (below 1).  Executions EXPLAIN ANALYZE or auto_explain instrument anyway are always kept.",
							 &ndag_detail_sample_rate,
							 0.1, 0.0, 1.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_timing_sample_rate",
							 "Fraction of detailed recordings whose plan nodes are also timed.",
							 "Detailed recordings always count rows per node; per-node timing can make row-heavy plans several times slower, so it is sampled.  Executions EXPLAIN ANALYZE or auto_explain already time keep their node times.",
							 &ndag_timing_sample_rate,
							 0.05, 0.0, 1.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_max_trajectories",
							"Size of the shared trajectory ring, and trajectories kept per database.",
							"When the ring is full the oldest unflushed trajectory is dropped; the store keeps the newest ones.",
							&ndag_max_trajectories,
							10000, 16, 1000000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_query_memory_size",
							"Statement classes the plan rewriter's shared memory holds.",
							"When it is full the least recently used class is evicted; its state stays in the store (ndag_queries) and is loaded again at its next planning.",
							&ndag_query_memory_size,
							2048, 16, 1000000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("ruvector.dag_all_tables",
							 "Records statements on every table, enabled or not.",
							 "Meant for test runs such as PostgreSQL's own regression suite.",
							 &ndag_all_tables,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	NdagDefineHealingGucs();
	NdagDefineLearningGucs();
	NdagDefineShadowGucs();

	MarkGUCPrefixReserved("ruvector");
}

/*
 * NdagDefineHealingGucs
 *		The parameters of the self-healing checks (healing_*.c).
 *
 * What a check does in a database comes from the session that calls
 * ruvector_dag_heal(), or from the configuration file for the periodic
 * check: a repair runs with the rights of that session's user, so letting
 * users choose auto repair and scope gives them nothing they could not do
 * themselves.
 */
void
NdagDefineHealingGucs(void)
{
	DefineCustomBoolVariable("ruvector.dag_healing_enabled",
							 "Runs the self-healing check periodically in each database with neural_dag.",
							 "ruvector_dag_heal() runs a check on demand either way.",
							 &ndag_healing_enabled,
							 true,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_healing_check_interval",
							"Time between two periodic self-healing checks.",
							NULL,
							&ndag_healing_check_interval,
							300000, 1000, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("ruvector.dag_healing_auto_repair",
							 "Lets the self-healing check run its repairs (REINDEX CONCURRENTLY, ANALYZE, trimming).",
							 "When off, each finding is recorded with the repair it recommends and nothing is changed.",
							 &ndag_healing_auto_repair,
							 false,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomEnumVariable("ruvector.dag_healing_scope",
							 "Tables the self-healing check looks at.",
							 "enabled: tables enabled for learning and their indexes; all: every user table of the database.",
							 &ndag_healing_scope,
							 NDAG_HEAL_SCOPE_ENABLED,
							 ndag_healing_scope_options,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomStringVariable("ruvector.dag_database",
							   "Databases the background workers of neural_dag work in, comma separated.",
							   "Empty means every database that has the extension.",
							   &ndag_database,
							   "",
							   PGC_SIGHUP, GUC_LIST_INPUT,
							   NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_healing_lock_timeout",
							"lock_timeout of each self-healing repair.",
							"0 waits for locks without limit.",
							&ndag_healing_lock_timeout,
							5000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_healing_statement_timeout",
							"statement_timeout of each self-healing repair.",
							"0 lets a repair run without limit.",
							&ndag_healing_statement_timeout,
							600000, 0, INT_MAX,
							PGC_USERSET, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_healing_bloat_ratio",
							 "Estimated fraction of a B-tree index's pages that are bloat above which it is rebuilt.",
							 NULL,
							 &ndag_healing_bloat_ratio,
							 0.5, 0.0, 1.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_healing_stale_ratio",
							 "Fraction of a table's rows modified since its last ANALYZE above which its statistics are stale.",
							 "A table's statistics are stale when more than dag_healing_stale_min_rows plus this fraction of its rows were modified.",
							 &ndag_healing_stale_ratio,
							 0.2, 0.0, 100.0,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_healing_stale_min_rows",
							"Rows modified since the last ANALYZE below which statistics are never stale.",
							NULL,
							&ndag_healing_stale_min_rows,
							50, 0, INT_MAX,
							PGC_USERSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_healing_max_events",
							"Self-healing events kept per database; each check deletes the oldest beyond it.",
							NULL,
							&ndag_healing_max_events,
							10000, 1, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
}

/*
 * NdagDefineLearningGucs
 *		The parameters of the learning cycle (learn_cycle.c) and of the cost
 *		model's loops.  They change shared learned state, so only superusers
 *		set them in a session; the learner worker takes them from the
 *		configuration file.
 */
void
NdagDefineLearningGucs(void)
{
	DefineCustomIntVariable("ruvector.dag_pattern_clusters",
							"Clusters k-means++ looks for in one learning cycle (at most a fifth of the trajectories).",
							NULL,
							&ndag_pattern_clusters,
							NDAG_PATTERN_CLUSTERS, 1, 10000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_quality_threshold",
							 "Lowest trajectory quality that takes part in pattern extraction.",
							 NULL,
							 &ndag_quality_threshold,
							 NDAG_PATTERN_QUALITY, 0.0, 1.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_background_interval",
							"Time between two learning cycles of the learner worker.",
							NULL,
							&ndag_background_interval,
							3600000, 1000, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_learning_rate",
							 "Learning rate of the cost model's instant loop (MicroLoRA and output layer).",
							 NULL,
							 &ndag_learning_rate,
							 NDAG_COST_INSTANT_LR, 1e-6, 1.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_base_lora_lr",
							 "Learning rate of the cost model's background training (BaseLoRA and output layer).",
							 NULL,
							 &ndag_base_lora_lr,
							 NDAG_COST_BASE_LR, 1e-6, 1.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_base_lora_rank",
							"Rank of the cost model's BaseLoRA factors (used when a database's model is created).",
							NULL,
							&ndag_base_lora_rank,
							NDAG_COST_BASE_RANK, 1, NDAG_COST_MAX_RANK,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_micro_lora_rank",
							"Rank of the cost model's MicroLoRA factors (used when a database's model is created).",
							NULL,
							&ndag_micro_lora_rank,
							NDAG_COST_MICRO_RANK, 1, 2,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_ewc_lambda",
							 "EWC++ penalty weight set at the first task boundary.",
							 NULL,
							 &ndag_ewc_lambda,
							 NDAG_EWC_LAMBDA, 0.0, 1e9,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_ewc_max_lambda",
							 "Largest EWC++ penalty weight reached as task boundaries accumulate.",
							 NULL,
							 &ndag_ewc_max_lambda,
							 NDAG_EWC_MAX_LAMBDA, 0.0, 1e9,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_ewc_fisher_decay",
							 "Decay of the EWC++ online Fisher information per training step.",
							 NULL,
							 &ndag_ewc_fisher_decay,
							 NDAG_EWC_FISHER_DECAY, 0.0, 1.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
}

/*
 * NdagDefineShadowGucs
 *		The parameters of shadow exploration (shadow/, workers/): how much
 *		server time the background re-runs may take, and their timeouts.
 */
void
NdagDefineShadowGucs(void)
{
	DefineCustomRealVariable("ruvector.dag_shadow_budget",
							 "CPUs that shadow runs may keep busy, their parallel workers included; -1: a quarter of the machine's CPUs, at least one.",
							 "The shadow worker sleeps after each round so that the CPU time it and its parallel workers took stays within this many CPUs of the wall-clock time; 0 stops shadow runs (statements are still captured).",
							 &ndag_shadow_budget,
							 -1.0, -1.0, 1024.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_shadow_max_load",
							 "1-minute load average per CPU above which shadow runs slow down.",
							 "Above it the shadow budget shrinks in proportion to the load (at twice this load, half the budget); 0 stops shadow runs whenever the machine is not idle.",
							 &ndag_shadow_max_load,
							 1.0, 0.0, 1e6,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_shadow_min_share",
							 "CPUs shadow runs may keep busy whatever the load, at most ruvector.dag_shadow_budget.",
							 "The load shrinks the shadow budget down to this share of one CPU and no lower, so that learning goes on under a sustained load; it is the least the machine gives to shadow runs while statements wait.",
							 &ndag_shadow_min_share,
							 0.5, 0.0, 1024.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_shadow_max_pairs",
							"Pairs default / arm one shadow run of a statement may make.",
							"The run stops there, so that one statement does not take a whole launch of the shadow worker; its arms still open are tried again when the statement is captured again.",
							&ndag_shadow_max_pairs,
							16, 1, 1000,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_shadow_timeout_factor",
							 "Timeout of a shadow run of an arm, as a multiple of the default plan's run just before.",
							 "An arm stopped by this timeout is a result: it is not faster.",
							 &ndag_shadow_timeout_factor,
							 2.0, 1.0, 1000.0,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomRealVariable("ruvector.dag_shadow_max_cost_ratio",
							 "Shadow runs never try an arm whose plan is estimated costlier than this many times the default plan.",
							 "Higher than ruvector.dag_explore_max_cost_ratio, which caps users' executions: a shadow run's timeout bounds what a slow arm costs, and plans estimated far costlier than the default are often the faster ones where the estimates are wrong.  They are tried last.",
							 &ndag_shadow_max_cost_ratio,
							 1000.0, 1.0, 1e15,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_shadow_nice",
							"Nice value of shadow runs (the shadow worker and its parallel workers).",
							"The kernel gives users' processes the CPU before processes of a higher nice value, so a shadow run under way slows a user's statement little; 0 runs them at the server's own priority.",
							&ndag_shadow_nice,
							10, 0, 19,
							PGC_SUSET, 0,
							NULL, NULL, NULL);

	DefineCustomIntVariable("ruvector.dag_process_nice",
							"Nice value this session's process and its parallel workers are raised to.",
							"Set by shadow workers to ruvector.dag_shadow_nice; a parallel worker takes it from its leader.  A nice value is only ever raised.",
							&ndag_process_nice,
							0, 0, 19,
							PGC_SUSET,
							GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE | GUC_DISALLOW_IN_FILE,
							NULL, NdagProcessNiceAssign, NULL);

	DefineCustomRealVariable("ruvector.dag_shadow_default_timeout_factor",
							 "Timeout of a shadow run of the default plan, as a multiple of its captured time (at least 1 s).",
							 "It also bounds how long a shadow run waits for a lock.",
							 &ndag_shadow_default_timeout_factor,
							 10.0, 1.0, 1e6,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);
}
