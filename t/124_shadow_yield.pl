# A shadow run that proves an arm faster while other candidates are still
# open gives way: users' executions run the proven arm from then on, and
# the statement goes back to the queue, its weight divided by the arm's
# speed-up, so that statements without any gain yet are not kept waiting
# behind its remaining arms; those are tried when it is taken again.  Two
# arms far faster than the default nested loop and a third estimated far
# costlier (tried last): the bracket that gives the first fast arm its
# second pair proves it while the other fast one has one pair, so the
# run yields, and a second run of the statement settles the rest.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_yield',
	"ruvector.dag_shadow_budget = 0\nruvector.dag_shadow_max_load = 1000000\n"
	  . "log_min_messages = debug1\n");

# sql(SQL): the output of SQL in one session; counter(NAME): a counter of
# ruvector_dag_status()
sub sql { return $node->safe_psql('postgres', shift); }
sub counter { return ndag_status_counter($node, shift); }

sql(ndag_join_tables_sql('sy') . q{
	INSERT INTO ndag_arms (name, settings) VALUES
		('sy_hash', 'enable_nestloop=off, cpu_operator_cost=0.05'),
		('sy_merge', 'enable_nestloop=off, enable_hashjoin=off'),
		('sy_sorted', 'enable_hashagg=off, cpu_tuple_cost=5');
	UPDATE ndag_arms SET enabled = false WHERE builtin AND arm_id <> 0;
});
my ($q) = ndag_join_queries('sy');
my $shadow = ndag_shadow_settings();

ok( $node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity
		WHERE backend_type = 'neural_dag shadow'}),
	'no shadow worker runs');
sql("$shadow $q");
is(counter('shadow_queued'), 1, 'the statement waits');

sql('ALTER SYSTEM SET ruvector.dag_shadow_budget = 1');
sql('SELECT pg_reload_conf()');
ok(wait_for(sub { counter('shadow_runs') >= 2 && ndag_shadow_idle($node) }, 'two runs'),
	'the statement was run twice');
is(counter('shadow_yielded'), 1, 'the first run gave way after its first proof');
is(counter('shadow_runs'), 2, 'the second one settled the other arms');
is(counter('shadow_errors'), 0, 'no run failed');
ok($node->log_contains(qr/3 candidate arms, \d+ pairs, 1 of 1 captures, yielded/),
	'the first run had three candidates and yielded');
ok($node->log_contains(qr/[12] candidate arms, \d+ pairs, 1 of 1 captures, done/),
	'the second run took the candidates still open, to the end');
# both fast arms end proven for the statement
is( sql(q{SELECT count(*) FROM ruvector_dag_advice() v JOIN ndag_arms a USING (arm_id)
		WHERE a.name IN ('sy_hash', 'sy_merge')}),
	'1',
	'the advice shows the best proven arm');
like(sql("$shadow EXPLAIN (COSTS OFF) $q"), qr/proven/,
	"users' executions run a proven arm");

$node->stop;
done_testing();
