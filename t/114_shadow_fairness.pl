# Every database waiting for shadow runs gets its turn.  One shadow worker
# runs at a time; in database postgres a workload keeps capturing new
# statements (variants of a join whose default nested loop a custom arm
# beats by far, each a statement of its own) faster than shadow runs can
# prove them, for the whole test.  A statement of the same kind captured
# in a second database is proven within a bounded wait all the same,
# because a launch serves a slice of its database's statements and the
# next launch goes to the database served least recently; the workload's
# own statement is proven too.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_fairness',
	"ruvector.dag_shadow_budget = 1\nruvector.dag_shadow_max_load = 1000000\n");
my $shadow = ndag_shadow_settings();
my $setup = ndag_join_tables_sql('sf') . ndag_explain_function_sql('sf')
  . ndag_run_function_sql('sf');
# the arms are the cluster's: added once
$node->safe_psql('postgres', $setup . ndag_costly_hash_arm_sql());
$node->safe_psql('postgres', 'CREATE DATABASE quiet');
$node->safe_psql('quiet', "CREATE EXTENSION neural_dag; $setup");
my ($q) = ndag_join_queries('sf');

# decision(DB): the decision EXPLAIN shows for the join in database DB
sub decision
{
	my ($db) = @_;
	return $node->safe_psql($db, "$shadow SELECT sf_explain('$q')->>'Decision'");
}

# counter(NAME): a counter of ruvector_dag_status()
sub counter
{
	return ndag_status_counter($node, shift);
}

# ---------- a workload in postgres that keeps capturing ----------
# round k runs the join, then variants with k more columns and 1..200
# others: each variant is a statement (queryId) of its own
(my $tail = $q) =~ s/^SELECT a\.id, c\.n //;
my $workload = qq{$shadow
DO \$\$
BEGIN
	FOR k IN 1..200 LOOP
		EXECUTE '$q';
		FOR j IN 1..200 LOOP
			EXECUTE 'SELECT a.id, c.n' || repeat(', a.y', k) || repeat(', a.z', j)
				|| ' $tail';
		END LOOP;
	END LOOP;
END
\$\$;};
my ($out, $err) = ('', '');
my $busy = IPC::Run::start(
	[ 'psql', '-X', '-q', '-d', $node->connstr('postgres'), '-c', $workload ],
	'>', \$out, '2>', \$err);
END { $busy->kill_kill if $busy; }

ok(wait_for(sub { counter('shadow_runs') >= 2 }, 'shadow runs in postgres'),
	'the workload of postgres is being shadowed');
my $captured = counter('shadow_captured');

# ---------- a statement of another database gets its turn ----------
$node->safe_psql('quiet', "$shadow SELECT sf_run('$q', 5)");
ok(wait_for(sub { decision('quiet') eq 'proven' }, 'the statement of database quiet proven'),
	'the statement of the other database is proven while the workload goes on');
ok(wait_for(sub { decision('postgres') eq 'proven' }, 'the statement of database postgres proven'),
	'and so is the workload\'s own statement');
is( $node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity
		WHERE datname = 'postgres' AND state = 'active' AND query LIKE '%DO $$%'
			AND pid <> pg_backend_pid()}),
	'1', 'the workload ran all along');
cmp_ok(counter('shadow_captured'), '>', $captured, 'capturing statements all along');
cmp_ok(counter('shadow_launches'), '>=', 2, 'over several launches');
is(counter('shadow_errors'), 0, 'no shadow run failed');
note(join(', ', map { "$_ " . counter($_) }
	  qw(shadow_launches shadow_runs shadow_pairs shadow_captured shadow_skipped shadow_queued)));

$busy->kill_kill;
$node->stop;
done_testing();
