# ndag_patterns.disabled is honoured by every decision source: after a
# statement's arm was proven by its own paired runs and learned as a
# pattern, disabling that pattern stops the statement's arm too (it came
# from the per-statement memory, "proven"), in learn and apply mode, and
# executions in learn mode never apply it.  Enabling the pattern again
# restores it.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('queries_disabled_pattern');

$node->safe_psql('postgres', ndag_join_tables_sql('qd')
	  . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('qd')
	  . ndag_run_function_sql('qd'));
my $arm = $node->safe_psql('postgres',
	"SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");
my ($q, $q2) = ndag_join_queries('qd');
my $learn = ndag_explore_settings();

# sql(SQL): the output of SQL in a new session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

my $proven = ndag_learn_until_proven($node, 'qd', $q, 'an arm proven for the join');
like($proven, qr/^$arm /, 'the custom arm is proven for the join');
sql("$learn SELECT qd_run('$q', 4); SELECT ruvector_dag_flush(); SELECT ruvector_dag_learn()");
my $pattern = sql("SELECT pattern_id FROM ndag_patterns WHERE best_arm = $arm
	ORDER BY support DESC LIMIT 1");
like($pattern, qr/^\d+$/, "a pattern prefers the arm ($pattern)");

sql("UPDATE ndag_patterns SET disabled = true WHERE best_arm = $arm");
for my $mode ('learn', 'apply')
{
	my $e = sql("$learn SET ruvector.dag_mode = '$mode'; SELECT qd_explain('$q')");
	like($e, qr/"Decision": "default plan"/,
		"$mode mode: the statement's proven arm is not applied once its pattern is disabled");
	unlike($e, qr/"Arm": "$arm /, "$mode mode: EXPLAIN shows no arm");
}
sql("SELECT ruvector_dag_flush()");
my $t0 = sql("SELECT coalesce(max(traj_id), 0) FROM ndag_trajectories");
sql("$learn SELECT qd_run('$q', 10); SELECT ruvector_dag_flush()");
is( sql("SELECT count(*) FROM ndag_trajectories
		WHERE traj_id > $t0 AND arm = $arm AND decision IN ('proven', 'pattern')"),
	'0', 'ten executions never apply the arm');

sql("UPDATE ndag_patterns SET disabled = false WHERE best_arm = $arm");
like(sql("$learn SELECT qd_explain('$q')"), qr/"Decision": "proven"/,
	'with the pattern enabled again the proven arm is back');

$node->stop;
done_testing();
