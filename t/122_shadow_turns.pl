# Shadow runs take the statements' candidates in turns, so that every
# statement's most promising arms are tried before any statement's less
# promising ones: a run pursues its two leading candidates (lowest
# estimated cost ratio) and, once they are decided while another of its
# candidates is still open, gives way to a statement waiting that had
# fewer turns; its entry goes back into the queue one turn more, behind
# every entry with fewer turns however heavy it is.  Two statements with
# three candidate arms each, all far slower than the default plan (so that
# no proof ends a run early): the heavier one's first run decides its two
# leading arms and yields, the lighter one's run goes on to its third arm
# (no statement waiting had fewer turns than it), then the first
# statement's second run takes its last arm.  And a bracket pairs each of
# its arms once: two candidates pursued make brackets of two arms, never
# one arm twice against the same default runs.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_turns',
	"ruvector.dag_shadow_budget = 0\nruvector.dag_shadow_max_load = 1000000\n"
	  . "log_min_messages = debug2\n");

# sql(SQL): the output of SQL in one session; counter(NAME): a counter of
# ruvector_dag_status()
sub sql { return $node->safe_psql('postgres', shift); }
sub counter { return ndag_status_counter($node, shift); }

# the default plan is a bitmap scan of 500 rows and a hash aggregate (under
# a millisecond); each arm is decisively slower, so that its first pair
# refutes it and no arm is proven by chance: a scan of the whole table with
# a hash or a sorted aggregate (about ten times slower, the two leading
# candidates), or the whole index on y in group order (about forty times,
# estimated costlier, tried last)
sql(ndag_join_tables_sql('tn') . q{
	CREATE INDEX tn_a_y ON tn_a (y);
	ANALYZE tn_a;
	INSERT INTO ndag_arms (name, settings) VALUES
		('tn_seq', 'enable_indexscan=off, enable_bitmapscan=off'),
		('tn_seq_sorted', 'enable_indexscan=off, enable_bitmapscan=off, enable_hashagg=off'),
		('tn_y_order', 'enable_bitmapscan=off, enable_seqscan=off, enable_hashagg=off, enable_sort=off');
	UPDATE ndag_arms SET enabled = false WHERE builtin AND arm_id <> 0;
});
my $heavy = 'SELECT a.y, count(*) FROM tn_a a WHERE a.x = 1 GROUP BY a.y';
my $light = 'SELECT a.y, count(*) FROM tn_a a WHERE a.x = 2 AND a.z >= 0 GROUP BY a.y';
my $shadow = ndag_shadow_settings();

ok( $node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity
		WHERE backend_type = 'neural_dag shadow'}),
	'no shadow worker runs');
# five executions weigh five times one
sql("$shadow $heavy; $heavy; $heavy; $heavy; $heavy");
sql("$shadow $light");
is(counter('shadow_queued'), 2, 'both statements wait');

sql('ALTER SYSTEM SET ruvector.dag_shadow_budget = 1');
sql('SELECT pg_reload_conf()');
ok( wait_for(
		sub { counter('shadow_runs') >= 3 && ndag_shadow_idle($node) },
		'three runs, the shadow worker idle'),
	'the shadow runs ended');
is(counter('shadow_errors'), 0, 'no run failed');
cmp_ok(counter('shadow_yielded'), '>=', 1, 'a run gave way');

# the runs in the order they ended: query, candidates, pursued, outcome
my @ends = slurp_file($node->logfile) =~ /shadow run of query (-?\d+): (\d+) candidate arms, (\d+) pursued, \d+ pairs, \d+ of \d+ captures, (\w[\w ]*)/g;
my @runs;
push @runs, [ splice(@ends, 0, 4) ] while @ends;
is(scalar(@runs), 3, 'three runs in the log');
my ($first, $second, $third) = @runs;
is_deeply([ @{$first}[ 1 .. 3 ] ], [ 3, 2, 'yielded' ],
	'the heavier statement\'s first run pursued its two leading arms of three, then gave way');
ok($second->[0] ne $first->[0], 'the lighter statement ran next');
is_deeply([ @{$second}[ 1 .. 3 ] ], [ 3, 3, 'done' ],
	'it went on to its third arm: no statement waiting had fewer turns');
is_deeply([ @{$third}[ 0 .. 3 ] ], [ $first->[0], 1, 1, 'done' ],
	'the heavier statement\'s second run took its last arm');

# the pairs of each bracket, in the order they were logged: a bracket's
# pairs are logged together, after its closing default run
my @pairs = slurp_file($node->logfile) =~ /shadow pair of query (-?\d+), class [0-9a-f]+, bracket (\d+): arm (\d+) /g;
my @brackets;
while (my ($query, $bracket, $arm) = splice(@pairs, 0, 3))
{
	push @brackets, { key => "$query/$bracket", arms => [] }
	  if !@brackets || $brackets[-1]{key} ne "$query/$bracket";
	push @{ $brackets[-1]{arms} }, $arm;
}
my @two = grep { @{ $_->{arms} } == 2 } @brackets;
ok(@two > 0, 'brackets of two arms were run');
is_deeply([ grep { $_->{arms}[0] == $_->{arms}[1] } @two ], [],
	'no bracket paired one arm twice');
is_deeply([ grep { @{ $_->{arms} } > 2 } @brackets ], [], 'no bracket had more than two arms');

$node->stop;
done_testing();
