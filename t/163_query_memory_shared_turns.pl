# Backends planning the same statement do not queue behind each other on
# the query memory's partition lock: a turn that changes nothing but the
# statement's counts (its decision the same as last time, nothing to
# explore or validate) takes the lock shared; ruvector_dag_status()
# counts the turns that took it exclusively (exclusive_turns).
#  1. A statement planned again and again by new sessions, in learn mode
#     but not worth exploring (below ruvector.dag_min_cost and
#     ruvector.dag_min_latency): every planning draws a turn, at most a few
#     take the lock exclusively (the first of each class, and one after
#     each flush of the learner).
#  2. The same statement worth exploring (inline exploration): its turns
#     take the lock exclusively (they may explore).
#  3. ndag_queries still shows the class, its use counted.
#  1b. Plannings with constants never seen hit the Embedding Cache.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shared_turns',
	"ruvector.dag_mode = 'learn'\nruvector.dag_healing_enabled = off\n"
	  . "ruvector.dag_min_cost = 1000000000\nruvector.dag_min_latency = 100000\n");

$node->safe_psql('postgres', q{
	CREATE TABLE st AS SELECT g AS id, g % 10 AS k FROM generate_series(1, 2000) g;
	CREATE INDEX ON st (id);
	ANALYZE st;
	SELECT ruvector_enable_neural_dag('st');
});

# counters(): decisions drawn (every planning of a statement on an enabled
# table in learn mode) and turns under the exclusive lock, cluster-wide
sub counters
{
	my $row = $node->safe_psql('postgres', q{
		SELECT concat_ws('|', coalesce(c->>'exclusive_turns', 'absent'),
			(c->>'cache_hits')::bigint + (c->>'cache_misses')::bigint,
			c->>'decided_explore')
		FROM (SELECT ruvector_dag_status()->'counters' AS c) s});
	my %c;
	@c{qw(exclusive plannings explored)} = split /\|/, $row;
	return \%c;
}

# plan_times(N, K): one session planning the same statement N times
# (simple protocol: each statement is planned)
sub plan_times
{
	my ($n, $k) = @_;
	$node->safe_psql('postgres',
		join('', map { "SELECT count(*) FROM st WHERE k = $k;\n" } 1 .. $n));
}

# ---------- 1. not worth exploring: turns under the shared lock ----------
plan_times(3, 1);
my $before = counters();
isnt($before->{exclusive}, 'absent',
	'ruvector_dag_status() counts the exclusive turns');
plan_times(30, 1);
plan_times(30, 1);
my $after = counters();
my $plannings = $after->{plannings} - $before->{plannings};
my $exclusive = $after->{exclusive} - $before->{exclusive};
cmp_ok($plannings, '>=', 60, "the statement was planned $plannings times");
cmp_ok($exclusive, '<', $plannings / 2,
	"only $exclusive of those turns took the lock exclusively");

# ---------- 1b. new constants each planning: the Embedding Cache serves them ----------
# a statement not worth exploring measures no parameter set, so a planning
# with constants never seen is served by the decision the backend keeps
my $hits = q{SELECT (ruvector_dag_status()->'counters'->>'cache_hits')::bigint};
my $hits0 = $node->safe_psql('postgres', $hits);
$node->safe_psql('postgres',
	join('', map { "SELECT count(*) FROM st WHERE id = $_;\n" } 1 .. 30));
my $new_constant_hits = $node->safe_psql('postgres', $hits) - $hits0;
cmp_ok($new_constant_hits, '>=', 25,
	"$new_constant_hits of 30 plannings with new constants were Embedding Cache hits");

# ---------- 2. worth exploring: turns under the exclusive lock ----------
$before = counters();
$node->safe_psql('postgres', q{
	SET ruvector.dag_min_cost = 0;
	SET ruvector.dag_exploration = 1;
	SET ruvector.dag_exploration_mode = inline;
} . join('', map { "SELECT count(*) FROM st WHERE k = 2;\n" } 1 .. 20));
$after = counters();
cmp_ok($after->{exclusive} - $before->{exclusive}, '>=', 10,
	'a statement worth exploring draws its turns under the exclusive lock');

# ---------- 3. the class is still counted in ndag_queries ----------
$node->safe_psql('postgres', 'SELECT ruvector_dag_learn()');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM ndag_queries}),
	'>=', 1, 'ndag_queries shows the statement classes');

$node->stop;
done_testing();
