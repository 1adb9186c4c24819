# ruvector.dag_wal_trajectories: off by default, recorded executions stay
# on the primary; on, they reach the standby through WAL with the
# plan-deciding state.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $primary = ndag_wal_primary('wt_primary');
$primary->safe_psql('postgres', ndag_join_tables_sql('wt') . ndag_run_function_sql('wt'));
my ($q) = ndag_join_queries('wt');
$primary->backup('b');
my $standby = ndag_wal_standby($primary, 'b', 'wt_standby');
my $count = 'SELECT count(*) FROM ndag_trajectories';

# run(N): N recorded executions, flushed to the store
sub run
{
	my ($n) = @_;
	$primary->safe_psql('postgres',
		"SET ruvector.dag_mode = 'learn'; SELECT wt_run('$q', $n); SELECT ruvector_dag_flush()");
}

run(5);
my $off = $primary->safe_psql('postgres', $count);
cmp_ok($off, '>=', 5, "the primary recorded the executions ($off)");
$primary->safe_psql('postgres', 'CREATE TABLE wt_marker ()');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', $count), '0',
	'with ruvector.dag_wal_trajectories off the standby gets no trajectory');
is($standby->safe_psql('postgres', 'SELECT count(*) FROM ndag_tables'), '2',
	'while the enabled tables reached it');

$primary->safe_psql('postgres',
	'ALTER SYSTEM SET ruvector.dag_wal_trajectories = on; SELECT pg_reload_conf()');
ok($primary->poll_query_until('postgres', 'SHOW ruvector.dag_wal_trajectories', 'on'),
	'ruvector.dag_wal_trajectories is on');
run(4);
my $on = $primary->safe_psql('postgres', $count);
my $new = $on - $off;
cmp_ok($new, '>=', 4, "the primary recorded the new executions ($new)");
ok($standby->poll_query_until('postgres', $count, $new),
	'with it on exactly the executions recorded since reach the standby')
  or diag('standby: ' . $standby->safe_psql('postgres', $count));
is($standby->safe_psql('postgres', 'SELECT min(traj_id) FROM ndag_trajectories'),
	$primary->safe_psql('postgres',
		"SELECT traj_id FROM ndag_trajectories ORDER BY traj_id OFFSET $off LIMIT 1"),
	'the standby\'s first trajectory is the first recorded after the change');

$standby->stop;
$primary->stop;
done_testing();
