# One statement does not take a whole launch of the shadow worker.  With
# ruvector.dag_shadow_max_pairs = 1, two statements with more open arms
# than that are captured while no shadow run may start; once the budget
# allows, one launch serves both (its slice) and each run makes exactly 1
# pair (one bracket of one arm, where a bracket takes two arms) and is cut
# short with arms still open, instead of one statement taking the pairs of
# the other (a run that decided its first two candidates would give way
# to the other statement anyway: t/122).  The
# account of shadow time shows what it holds: nothing while the budget is
# 0, a full minute of the budget once it is 1 CPU and nothing was spent.
# A statement whose arms all got their verdict while it waited (explored
# inline meanwhile) leaves the queue unrun.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_pairs_cap',
	"ruvector.dag_shadow_budget = 0\nruvector.dag_shadow_max_load = 1000000\n"
	  . "ruvector.dag_shadow_max_pairs = 1\nruvector.dag_explore_max_cost_ratio = '1e15'\n");

# sql(SQL): the output of SQL in one session; counter(NAME): a counter of
# ruvector_dag_status()
sub sql { return $node->safe_psql('postgres', shift); }
sub counter { return ndag_status_counter($node, shift); }

# four arms that each plan the join their own way, none of them much
# slower than the default's nested loop
sql(ndag_join_tables_sql('pc') . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('pc') . ndag_run_function_sql('pc') . q{
	INSERT INTO ndag_arms (name, settings) VALUES
		('pc_hash', 'enable_nestloop=off, enable_mergejoin=off'),
		('pc_merge', 'enable_nestloop=off, enable_hashjoin=off'),
		('pc_sorted', 'enable_hashagg=off');
});
my ($q1, $q2) = ndag_join_queries('pc');
my $shadow = ndag_shadow_settings();

is(sql('SHOW ruvector.dag_shadow_max_pairs'), '1', 'a run makes 1 pair at most');
ok( $node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity
		WHERE backend_type = 'neural_dag shadow'}),
	'no shadow worker runs');
is(counter('shadow_budget_ms_available'), 0, 'a budget of 0 grants no shadow time');
sql("$shadow $q1");
sql("$shadow $q2");
is(counter('shadow_queued'), 2, 'both statements wait');
is(counter('shadow_launches'), 0, 'no launch while the budget is 0');

sql('ALTER SYSTEM SET ruvector.dag_shadow_budget = 1');
sql('SELECT pg_reload_conf()');
ok( wait_for(
		sub {
			counter('shadow_runs') == 2 && counter('shadow_queued') == 0
			  && sql(q{SELECT count(*) FROM pg_stat_activity
					WHERE backend_type = 'neural_dag shadow'}) == 0;
		},
		'both runs'),
	'both statements were run');
is(counter('shadow_launches'), 1, 'by one launch');
is(counter('shadow_pairs'), 2, 'each run made exactly 1 pair');
is(counter('shadow_brackets'), 2, 'in one bracket each');
is(counter('shadow_skipped'), 2, 'and was cut short with arms still open');
is(counter('shadow_errors'), 0, 'no shadow run failed');
ok( wait_for(sub { counter('shadow_budget_ms_available') == 60000 }, 'a full account'),
	'idle, the account refills to a minute of the budget');

# ---------- decided while it waited: dropped unrun ----------
sql('ALTER SYSTEM SET ruvector.dag_shadow_budget = 0');
sql("UPDATE ndag_arms SET enabled = false WHERE name LIKE 'pc\\_%'");
sql('SELECT pg_reload_conf()');
(my $q3 = $q1) =~ s/^SELECT a\.id, c\.n /SELECT c.n, a.id /;
sql("$shadow $q3");
is(counter('shadow_queued'), 1, 'a third statement waits');
like(ndag_learn_until_proven($node, 'pc', $q3, 'the third statement proven inline'),
	qr/costly_hash/, 'its only arm is proven inline meanwhile');
sql('ALTER SYSTEM SET ruvector.dag_shadow_budget = 1');
sql('SELECT pg_reload_conf()');
ok(wait_for(sub { counter('shadow_decided') == 1 && counter('shadow_queued') == 0 },
		'the decided statement dropped'),
	'the shadow worker drops it');
is(counter('shadow_runs'), 2, 'without running it');

$node->stop;
done_testing();
