# A small ring and store budget (ruvector.dag_max_trajectories = 16): the
# store keeps the newest trajectories of the database with their nodes,
# every trajectory recorded is accounted for (flushed or dropped), and a
# plan with more nodes than a ring slot holds keeps its first ones.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('budget', "ruvector.dag_max_trajectories = 16\n");

# counter(NAME): a counter of ruvector_dag_status()
sub counter
{
	my ($name) = @_;
	return $node->safe_psql('postgres',
		"SELECT (ruvector_dag_status()->'counters'->>'$name')::bigint");
}

$node->safe_psql('postgres', q{
	CREATE TABLE budget_t AS SELECT g AS id, g % 5 AS k FROM generate_series(1, 1000) g;
	ANALYZE budget_t;
	SELECT ruvector_enable_neural_dag('budget_t');
});
is(counter('ring_capacity'), '16', 'the ring has ruvector.dag_max_trajectories slots');

# 40 executions in a burst, more than the ring holds
$node->safe_psql('postgres', q{
	DO $$
	BEGIN
		FOR i IN 1..40 LOOP
			PERFORM count(*) FROM budget_t WHERE k = i % 5;
		END LOOP;
	END
	$$;
});
$node->safe_psql('postgres', 'SELECT ruvector_dag_flush()');

my $recorded = counter('recorded');
my $flushed = counter('flushed');
my $dropped = counter('dropped');
is($recorded, '40', 'every execution of the burst is recorded');
is($flushed + $dropped, $recorded,
	"recorded = flushed + dropped ($flushed flushed, $dropped dropped)");
is(counter('ring_used'), '0', 'the ring is empty after a flush');
is(counter('failed'), '0', 'nothing failed');

is($node->safe_psql('postgres', q{
		SELECT count(*) || '|' || (max(traj_id) - min(traj_id))
		FROM ndag_trajectories}),
	'16|15', 'the store keeps the 16 newest trajectories');
is($node->safe_psql('postgres', q{
		SELECT count(*) FROM ndag_attention a
		WHERE NOT EXISTS (SELECT 1 FROM ndag_trajectories t WHERE t.traj_id = a.traj_id)}),
	'0', 'trimmed trajectories take their nodes with them');
is($node->safe_psql('postgres', q{
		SELECT count(DISTINCT traj_id) FROM ndag_attention}),
	'16', 'each kept trajectory has its nodes');

# more runs: still 16, the newest
$node->safe_psql('postgres',
	'SELECT count(*) FROM budget_t WHERE k = 1') for 1 .. 5;
$node->safe_psql('postgres', 'SELECT ruvector_dag_flush()');
is($node->safe_psql('postgres', q{
		SELECT count(*) || '|' || (max(traj_id) - min(traj_id))
		FROM ndag_trajectories}),
	'16|15', 'later flushes trim the oldest');

# a plan of 1 + 30 * 2 = 61 nodes keeps its first 48
my $union = join(' UNION ALL ',
	map { "SELECT count(*) FROM budget_t WHERE k = $_" } 1 .. 30);
my $truncated = counter('truncated');
$node->safe_psql('postgres', $union);
$node->safe_psql('postgres', 'SELECT ruvector_dag_flush()');
is(counter('truncated'), $truncated + 1, 'the long plan is counted as truncated');
is($node->safe_psql('postgres', q{
		SELECT count(*) FROM ndag_attention
		WHERE traj_id = (SELECT max(traj_id) FROM ndag_trajectories)}),
	'48', 'the long plan keeps its first 48 nodes');
is($node->safe_psql('postgres', q{
		SELECT count(*) FROM ndag_attention a, unnest(a.parent_ids) p
		WHERE a.traj_id = (SELECT max(traj_id) FROM ndag_trajectories)
		  AND p >= 48}),
	'0', 'its kept nodes only point at kept nodes');

$node->stop;
done_testing();
