/*-------------------------------------------------------------------------
 *
 * guc.c
 *	  The ruvector.* configuration parameters of neural_dag.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/guc.h"

#include "engine.h"
#include "hooks.h"

bool		ndag_enabled = true;
int			ndag_mode = NDAG_MODE_LEARN;
char	   *ndag_data_directory = NULL;
int			ndag_map_size_mb = 1024;
char	   *ndag_attention_type = NULL;
double		ndag_attention_exploration = 0.1;
double		ndag_ucb_c = 1.414;
bool		ndag_mincut_enabled = true;
double		ndag_mincut_threshold = 0.5;
double		ndag_sample_rate = 1.0;
int			ndag_max_trajectories = 10000;
bool		ndag_all_tables = false;

static const struct config_enum_entry ndag_mode_options[] = {
	{"off", NDAG_MODE_OFF, false},
	{"observe", NDAG_MODE_OBSERVE, false},
	{"learn", NDAG_MODE_LEARN, false},
	{"apply", NDAG_MODE_APPLY, false},
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

	DefineCustomIntVariable("ruvector.dag_max_trajectories",
							"Size of the shared trajectory ring, and trajectories kept per database.",
							"When the ring is full the oldest unflushed trajectory is dropped; the store keeps the newest ones.",
							&ndag_max_trajectories,
							10000, 16, 1000000,
							PGC_POSTMASTER, 0,
							NULL, NULL, NULL);

	DefineCustomBoolVariable("ruvector.dag_all_tables",
							 "Records statements on every table, enabled or not.",
							 "Meant for test runs such as PostgreSQL's own regression suite.",
							 &ndag_all_tables,
							 false,
							 PGC_SUSET, 0,
							 NULL, NULL, NULL);

	MarkGUCPrefixReserved("ruvector");
}
