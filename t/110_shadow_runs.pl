# Shadow exploration on a real server: a plain SELECT run in learn mode is
# captured, and the shadow worker re-runs it in the background in pairs
# default plan / candidate arm, also when a function ran it.  The queue is
# bounded: when it is full the lightest statement goes.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_runs',
	"ruvector.dag_shadow_budget = 1\nruvector.dag_shadow_max_load = 1000000\n");

# sql(SQL): the output of SQL in one session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

sql(ndag_join_tables_sql('sr'));
my ($q) = ndag_join_queries('sr');
my $learn = ndag_shadow_settings();

is(ndag_status_counter($node, 'shadow_captured'), 0, 'nothing captured at start');
sql("$learn $q; $q; $q;");
ok(ndag_status_counter($node, 'shadow_captured') >= 1, 'the SELECT was captured');
ok(wait_for(sub { ndag_status_counter($node, 'shadow_pairs') >= 1 }, 'shadow pairs'),
	'the shadow worker ran pairs');
ok(ndag_status_counter($node, 'shadow_runs') >= 1, 'shadow runs are counted');
ok(wait_for(sub { ndag_status_counter($node, 'shadow_queued') == 0 }, 'an empty queue'),
	'the entry left the queue');
is(ndag_status_counter($node, 'shadow_errors'), 0, 'no shadow run failed');
ok(ndag_status_counter($node, 'shadow_ms') >= 0, 'the time spent is shown');
# ---------- a bounded queue: the lightest statement goes ----------
# 33 statements of different shapes (1 to 33 aggregates) captured while no
# shadow run may start; the first one twice, which only weighs it in
sql('ALTER SYSTEM SET ruvector.dag_shadow_budget = 0');
sql('SELECT pg_reload_conf()');
ok( $node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity
		WHERE backend_type = 'neural_dag shadow'}),
	'no shadow worker runs');
my $skipped = ndag_status_counter($node, 'shadow_skipped');
my $captured = ndag_status_counter($node, 'shadow_captured');
my @shapes = map { 'SELECT ' . join(', ', ('count(*)') x $_) . ' FROM sr_b WHERE v > 0' } 1 .. 33;
sql("$learn $shapes[0]; $shapes[0];");
is(ndag_status_counter($node, 'shadow_captured'), $captured + 2, 'both executions were captured');
is(ndag_status_counter($node, 'shadow_queued'), 1, 'as one queued statement');
sql("$learn " . join('; ', @shapes[1 .. 32]) . ';');
is(ndag_status_counter($node, 'shadow_queued'), 32, 'the queue holds 32 statements');
is(ndag_status_counter($node, 'shadow_skipped'), $skipped + 1,
	'the lightest of 33 was dropped');
sql('ALTER SYSTEM SET ruvector.dag_shadow_budget = 1');
sql('SELECT pg_reload_conf()');
ok(wait_for(sub { ndag_status_counter($node, 'shadow_queued') == 0 }, 'an empty queue'),
	'once shadow runs may start, every queued statement is run');
is(ndag_status_counter($node, 'shadow_errors'), 0, 'none failed');

# ---------- a statement a function runs (PL/pgSQL EXECUTE) is captured too ----------
sql(ndag_run_function_sql('sr'));
my $q2 = "$q AND a.id > 0";
$captured = ndag_status_counter($node, 'shadow_captured');
sql("$learn SELECT sr_run('$q2', 3)");
ok(ndag_status_counter($node, 'shadow_captured') > $captured,
	'a SELECT run by EXECUTE in a function was captured');
ok(wait_for(sub { ndag_status_counter($node, 'shadow_queued') == 0 }, 'an empty queue'),
	'and re-run');
is(ndag_status_counter($node, 'shadow_errors'), 0, 'without an error');

# ---------- brackets: the arms of a bracket share its default runs ----------
# two arms, each far faster than the default nested loop, of a statement
# of its own: every bracket takes both while both are open, and its closing
# default run opens the next one, so one entry run of B brackets makes
# B + 1 default runs for its pairs, where back-to-back pairs made one
# default run per pair
sql(q{INSERT INTO ndag_arms (name, settings) VALUES
		('sr_hash', 'enable_nestloop=off, cpu_operator_cost=0.05'),
		('sr_merge', 'enable_nestloop=off, enable_hashjoin=off');
	  UPDATE ndag_arms SET enabled = false WHERE builtin AND arm_id <> 0;});
my $q3 = "$q AND a.id <> 0";
my %before = map { $_ => ndag_status_counter($node, $_) }
  qw(shadow_runs shadow_pairs shadow_default_runs shadow_brackets);
sql("$learn $q3");
ok(wait_for(sub { ndag_status_counter($node, 'shadow_runs') > $before{shadow_runs} }, 'a run'),
	'the statement is run in the background');
ok( wait_for(
		sub {
			ndag_status_counter($node, 'shadow_queued') == 0
			  && sql(q{SELECT count(*) FROM pg_stat_activity
					  WHERE backend_type = 'neural_dag shadow'}) eq '0';
		},
		'the run to end'),
	'its run ends');
{
	my %d = map { $_ => ndag_status_counter($node, $_) - $before{$_} } keys %before;

	is($d{shadow_runs}, 1, 'in one entry run');
	is($d{shadow_default_runs}, $d{shadow_brackets} + 1,
		"$d{shadow_brackets} chained brackets made one default run more than brackets");
	ok($d{shadow_pairs} >= $d{shadow_brackets} + 2,
		"two brackets or more measured both arms ($d{shadow_pairs} pairs)");
	ok($d{shadow_default_runs} < $d{shadow_pairs},
		"fewer default runs ($d{shadow_default_runs}) than pairs ($d{shadow_pairs})");
}
is(ndag_status_counter($node, 'shadow_errors'), 0, 'no error');

$node->stop;
done_testing();
