# Decisions made and kept by paired runs are not moved by load.  CPU-burning
# processes started by the test load the 2-core machine while (1) a
# statement's default plan sets its baseline: afterwards an arm that is
# slower than the default on paired runs is never adopted, though the
# baseline measured under load is slower than the arm's runs measured
# without it; (2) a statement runs under an arm proven faster: its
# re-validation pairs, run under the same load on both sides, never demote
# the arm.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('paired_load');

# sql(SQL): the output of SQL in one session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

# counter(NAME): a counter of ruvector_dag_status()
sub counter
{
	return ndag_status_counter($node, shift);
}

my @burners;

# load_on(N): N processes burning CPU until load_off()
sub load_on
{
	my ($n) = @_;
	push @burners, IPC::Run::start([ $^X, '-e', '1 while 1' ]) for 1 .. $n;
	return;
}

# load_off(): stop the burners
sub load_off
{
	$_->kill_kill for @burners;
	@burners = ();
	return;
}
END { load_off(); }

sql(ndag_join_tables_sql('pl') . ndag_explain_function_sql('pl')
	  . ndag_run_function_sql('pl') . q{
	INSERT INTO ndag_arms (name, settings)
		VALUES ('pl_no_index', 'enable_indexscan=off, enable_bitmapscan=off, enable_indexonlyscan=off');
	UPDATE ndag_arms SET enabled = false WHERE builtin AND arm_id <> 0;
});
my $slow_arm = sql("SELECT arm_id FROM ndag_arms WHERE name = 'pl_no_index'");
my $learn = ndag_explore_settings();

# ---------- 1. a baseline measured under load adopts no slower arm ----------
my $lookup = 'SELECT count(*) FROM pl_a WHERE x = 1';
like(sql("SET enable_indexscan = off; SET enable_bitmapscan = off;
	EXPLAIN (COSTS OFF) $lookup"), qr/Seq Scan/, 'the arm reads the whole table');
unlike(sql("EXPLAIN (COSTS OFF) $lookup"), qr/Seq Scan/,
	'the default plan reads the index');

load_on(6);
sql("$learn SET ruvector.dag_exploration_mode = 'off'; SELECT pl_run('$lookup', 7)");
load_off();
my $not_faster = counter('query_memory_not_faster');
sql("$learn SELECT pl_run('$lookup', 12); SELECT ruvector_dag_flush()");
my $arm_runs = sql("SELECT count(*) FROM ndag_trajectories WHERE arm = $slow_arm");
my $loaded_default = sql("SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY exec_us)
	FROM (SELECT exec_us FROM ndag_trajectories WHERE arm = 0 ORDER BY traj_id LIMIT 7) d");
my $arm_best = sql("SELECT min(exec_us) FROM ndag_trajectories WHERE arm = $slow_arm");
diag("default median under load $loaded_default us, the arm's fastest run $arm_best us, "
	  . "$arm_runs arm runs");
ok($arm_runs >= 1, 'the slower arm was tried');
ok($arm_runs <= 3, 'and refuted within three pairs');
is(counter('query_memory_not_faster') - $not_faster, 1,
	'its paired runs proved it not faster');
is(sql("SELECT pl_explain('$lookup')->>'Decision'"), 'default plan',
	'the statement keeps its default plan');
is(counter('query_memory_proven'), '0', 'no arm was proven faster');

# ---------- 2. a proven arm survives a load spike ----------
sql("UPDATE ndag_arms SET enabled = true WHERE builtin");
my ($q) = ndag_join_queries('pl');
my $arm = ndag_learn_until_proven($node, 'pl', $q, 'an arm proven faster for the join');
my $demotions = counter('demotions');
my $validations = counter('validation_runs');
load_on(6);
sql("SET ruvector.dag_mode = 'learn'; SET ruvector.dag_exploration_mode = 'off';
	SELECT pl_run('$q', 80)");
load_off();
ok(counter('validation_runs') - $validations >= 4,
	're-validation ran the default plan under load at least four times');
is(counter('demotions') - $demotions, 0, 'the load demoted nothing');
is(sql("SELECT pl_explain('$q')->>'Decision'"), 'proven', 'the arm is still proven');
is(sql("SELECT pl_explain('$q')->>'Arm'"), $arm, 'and it is the same arm');

$node->stop;
done_testing();
