# The cost caps of exploration on a real server.  A join of a small table
# without an index to a large one by its primary key plans by default as a
# nested loop over index scans; no_nestloop (arm 1, the only arm enabled)
# reads the whole large table, a plan estimated between 10 and 1000 times
# the default's cost.  Users' executions never run it while its ratio is
# above ruvector.dag_explore_max_cost_ratio (10), however often they
# explore inline; a shadow run tries it, since it is below
# ruvector.dag_shadow_max_cost_ratio (1000), and a shadow cap set below its
# ratio keeps it from shadow runs too (nothing is run, and the statement is
# not captured again).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_cost_cap',
	"ruvector.dag_shadow_budget = 1\nruvector.dag_shadow_max_load = 1000000\n");

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

# run_ended(RUNS): whether more than RUNS shadow runs were made and the
# shadow worker is idle
sub run_ended
{
	my ($runs) = @_;
	return counter('shadow_runs') > $runs && ndag_shadow_idle($node);
}

# ran_arm(ARM, Q): users' recorded executions of Q's statement under ARM
sub ran_arm
{
	my ($arm, $q) = @_;
	my $id = ndag_query_id($node, $q);
	sql('SELECT ruvector_dag_flush()');
	return sql("SELECT count(*) FROM ndag_trajectories WHERE arm = $arm AND query_id = $id");
}

sql(ndag_small_big_tables_sql('cc') . q{
	UPDATE ndag_arms SET enabled = false WHERE builtin AND arm_id NOT IN (0, 1);
} . ndag_plan_cost_sql('cc') . ndag_run_function_sql('cc'));
is(sql("SELECT name FROM ndag_arms WHERE arm_id = 1"), 'no_nestloop', 'arm 1 is no_nestloop');

my $q = 'SELECT count(b.pad) FROM cc_small s JOIN cc_big b ON b.id = s.id WHERE s.x = 1';
# three statements of their own (queryIds differ by the operator)
my ($q_inline, $q_shadow, $q_capped) = map { "$q AND s.id $_ 0" } ('>', '>=', '<>');

# the premise, from the planner's own estimates
my $ratio = sql("SELECT cc_cost('SET enable_nestloop = off', '$q')")
  / sql("SELECT cc_cost('', '$q')");
diag("no_nestloop estimated at $ratio times the default");
ok($ratio > 10 && $ratio < 1000,
	'no_nestloop is estimated between 10 and 1000 times the default');
is(sql('SHOW ruvector.dag_explore_max_cost_ratio'), '10', 'the inline cap is 10');
is(sql('SHOW ruvector.dag_shadow_max_cost_ratio'), '1000', 'the shadow cap is 1000');

# 1. inline exploration, every execution's turn: the arm never runs
my $inline = ndag_explore_settings();
sql("$inline SELECT cc_run('$q_inline', 20)");
is(ran_arm(1, $q_inline), '0', 'twenty inline-exploring executions never ran no_nestloop');
is(sql("SELECT count(*) FROM ndag_trajectories
		WHERE query_id = " . ndag_query_id($node, $q_inline)), '20',
	'all twenty were recorded (the default plan)');

# 2. shadow exploration: a shadow run tries it, users never run it
my $shadow = ndag_shadow_settings();
my $runs = counter('shadow_runs');
my $pairs = counter('shadow_pairs');
sql("$shadow $q_shadow");
ok(wait_for(sub { run_ended($runs) }, 'the shadow run to end'),
	'the statement was run in the background');
cmp_ok(counter('shadow_pairs'), '>', $pairs,
	'the shadow run paired no_nestloop with the default');
is(ran_arm(1, $q_shadow), '0', "the user's execution ran the default plan");
is(counter('shadow_errors'), 0, 'no shadow run failed');

# 3. the shadow cap below the arm's ratio: planned, not run
sql('ALTER SYSTEM SET ruvector.dag_shadow_max_cost_ratio = 5');
sql('SELECT pg_reload_conf()');
ok($node->poll_query_until('postgres', 'SHOW ruvector.dag_shadow_max_cost_ratio', '5'),
	'the shadow cap is now 5');
$runs = counter('shadow_runs');
$pairs = counter('shadow_pairs');
my $default_runs = counter('shadow_default_runs');
sql("$shadow $q_capped");
ok(wait_for(sub { run_ended($runs) }, 'the shadow run to end'),
	'the statement was taken by a shadow run');
is(counter('shadow_pairs'), $pairs, 'which paired nothing');
is(counter('shadow_default_runs'), $default_runs, 'nor ran the default plan');
my $captured = counter('shadow_captured');
sql("$shadow $q_capped");
is(counter('shadow_captured'), $captured,
	'with no arm left under the cap, the statement is not captured again');
is(ran_arm(1, $q_capped), '0', "users' executions never ran no_nestloop");

$node->stop;
done_testing();
