# A shadow run that proves an arm faster while other candidates are still
# open and a statement waits that weighs at least what this one still
# costs gives way: users' executions run the proven arm from then on, and
# the statement goes back to the queue, its weight divided by the arm's
# speed-up, so that the statements waiting without any gain yet are not
# kept behind its remaining arms; those are tried when it is taken again.
# One arm far faster than the default nested loop, one about as fast as it
# (a sorted aggregate under the same loop: it needs more pairs than the
# fast one) and a third estimated far costlier (tried last), two
# statements run once each: the bracket that gives the fast arm its second
# pair proves it while the other leading arm is still open, so the run
# yields and the other statement's run comes next.  Alone in the queue, a
# statement's run goes on to the end (t/110).  A statement that still
# weighs more than any waiting one once its users run the proven arm (run
# forty times, the other once) goes on instead: its first run decides both
# leading arms.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_yield',
	"ruvector.dag_shadow_budget = 0\nruvector.dag_shadow_max_load = 1000000\n"
	  . "log_min_messages = debug2\n");

# sql(SQL): the output of SQL in one session; counter(NAME): a counter of
# ruvector_dag_status()
sub sql { return $node->safe_psql('postgres', shift); }
sub counter { return ndag_status_counter($node, shift); }

sql(ndag_join_tables_sql('sy') . q{
	INSERT INTO ndag_arms (name, settings) VALUES
		('sy_hash', 'enable_nestloop=off, cpu_operator_cost=0.05'),
		('sy_index', 'enable_bitmapscan=off'),
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

# decided_arms(LOG, QUERY): how many arms of QUERY the first run in LOG
# (from its start to the first end of a run) gave a verdict
sub decided_arms
{
	my ($log, $query) = @_;
	my ($first_run) = $log =~ /^(.*?shadow run of query -?\d+: )/ms;
	my %decided = map { $_ => 1 } $first_run =~
	  /shadow pair of query \Q$query\E, class \w+, bracket \d+: arm (\d+)[^;\n]*, (?:faster|not faster);/g;
	return scalar(keys %decided);
}
my ($first) = grep { $runs[$_][1] eq 'yielded' } 0 .. $#runs;
ok(defined $first, 'the log shows a run that yielded');
is(decided_arms(slurp_file($node->logfile), $runs[0][0]), 1,
	'the first run gave way with one of its leading arms decided');
ok( defined $first && $first < $#runs && $runs[ $first + 1 ][0] ne $runs[$first][0],
	'the next run was the other statement\'s');
ok((grep { $_->[0] eq $runs[$first][0] && $_->[1] eq 'done' } @runs[ $first + 1 .. $#runs ]),
	'the statement that yielded was run again, to the end');
like(sql("$shadow EXPLAIN (COSTS OFF) $q1"), qr/proven/,
	"users' executions run a proven arm");

# the same two statements in a database of their own (nothing proven yet),
# the first one run forty times: with either fast arm it still weighs more
# than the other statement run once
sql('ALTER SYSTEM SET ruvector.dag_shadow_budget = 0');
sql('SELECT pg_reload_conf()');
sql('CREATE DATABASE heavy');
$node->safe_psql('heavy', 'CREATE EXTENSION neural_dag;' . ndag_join_tables_sql('sy'));
my $offset = -s $node->logfile;
$node->safe_psql('heavy', $shadow . join('', map { " $q1;" } 1 .. 40));
$node->safe_psql('heavy', "$shadow $q2");
is(counter('shadow_queued'), 2, 'both statements of the second database wait');
my $before = counter('shadow_runs');
sql('ALTER SYSTEM SET ruvector.dag_shadow_budget = 1');
sql('SELECT pg_reload_conf()');
ok( wait_for(
		sub {
			counter('shadow_runs') >= $before + 2 && ndag_shadow_idle($node)
			  && $node->safe_psql('heavy', 'SELECT count(*) FROM ruvector_dag_advice()') eq '2';
		},
		'both statements of the second database proven, the shadow worker idle'),
	'both statements of the second database got a proven arm');

# the first run was the heavier statement's, and it decided both leading arms
my $log = substr(slurp_file($node->logfile), $offset);
my ($heavy_id) = $log =~ /shadow run of query (-?\d+): /;
is( $node->safe_psql('heavy', qq{SELECT runs_per_arm[1] >= 40 FROM ndag_queries
		WHERE query_id = $heavy_id ORDER BY runs_per_arm[1] DESC LIMIT 1}),
	't', 'the first run was the heavier statement\'s');
is(decided_arms($log, $heavy_id), 2,
	'the heavier statement\'s first run decided both leading arms: it went on after its proof');

$node->stop;
done_testing();
