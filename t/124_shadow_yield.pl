# A shadow run that proves an arm faster while other candidates are still
# open and other statements wait gives way: users' executions run the
# proven arm from then on, and the statement goes back to the queue, its
# weight divided by the arm's speed-up, so that the statements waiting
# without any gain yet are not kept behind its remaining arms; those are
# tried when it is taken again.  Two arms far faster than the default
# nested loop and a third estimated far costlier (tried last), two
# statements: the bracket that gives a statement's first fast arm its
# second pair proves it while the other fast one has one pair, so its run
# yields and the other statement's run comes next.  Alone in the queue, a
# statement's run goes on to the end (t/110).
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
my ($q1, $q2) = ndag_join_queries('sy');
my $shadow = ndag_shadow_settings();

ok( $node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity
		WHERE backend_type = 'neural_dag shadow'}),
	'no shadow worker runs');
sql("$shadow $q1");
sql("$shadow $q2");
is(counter('shadow_queued'), 2, 'both statements wait');

sql('ALTER SYSTEM SET ruvector.dag_shadow_budget = 1');
sql('SELECT pg_reload_conf()');
ok( wait_for(
		sub {
			counter('shadow_runs') >= 3 && ndag_shadow_idle($node)
			  && sql('SELECT count(*) FROM ruvector_dag_advice()') eq '2';
		},
		'both statements proven, the shadow worker idle'),
	'both statements got a proven arm');
cmp_ok(counter('shadow_yielded'), '>=', 1, 'a run gave way after its first proof');
is(counter('shadow_errors'), 0, 'no run failed');

# the runs in the order they ended: after the first one that yielded, the
# other statement's run
my @ends = slurp_file($node->logfile) =~ /shadow run of query (-?\d+): \d+ candidate arms, \d+ pursued, \d+ pairs, \d+ of \d+ captures, (\w[\w ]*)/g;
my @runs;
push @runs, [ splice(@ends, 0, 2) ] while @ends;
my ($first) = grep { $runs[$_][1] eq 'yielded' } 0 .. $#runs;
ok(defined $first, 'the log shows a run that yielded');
ok( defined $first && $first < $#runs && $runs[ $first + 1 ][0] ne $runs[$first][0],
	'the next run was the other statement\'s');
ok((grep { $_->[0] eq $runs[$first][0] && $_->[1] eq 'done' } @runs[ $first + 1 .. $#runs ]),
	'the statement that yielded was run again, to the end');
like(sql("$shadow EXPLAIN (COSTS OFF) $q1"), qr/proven/,
	"users' executions run a proven arm");

$node->stop;
done_testing();
