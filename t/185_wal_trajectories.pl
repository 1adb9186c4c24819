# ruvector.dag_wal_trajectories: off by default, recorded executions stay
# on the primary; on, they reach the standby through WAL with the
# plan-deciding state.  The primary runs the resource manager under a
# ruvector.dag_rmgr_id other than the default (the standby gets the
# setting with its base backup): its records carry that id in the WAL.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $primary = ndag_wal_primary('wt_primary', "ruvector.dag_rmgr_id = 200\n");
$primary->safe_psql('postgres', ndag_join_tables_sql('wt') . ndag_run_function_sql('wt'));
my ($q) = ndag_join_queries('wt');
$primary->backup('b');
my $standby = ndag_wal_standby($primary, 'b', 'wt_standby');
# WAL from here on is kept (the backup's checkpoint recycled the older)
my $wal_start = $primary->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
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

# the records went to WAL under the resource manager id of the setting
is($standby->safe_psql('postgres', 'SHOW ruvector.dag_rmgr_id'), '200',
	'the standby runs the resource manager under the primary\'s id');
my $wal_end = $primary->safe_psql('postgres', 'SELECT pg_current_wal_flush_lsn()');
my ($stats) = run_command(['pg_waldump', '--stats', '-p', $primary->data_dir . '/pg_wal',
	'-s', $wal_start, '-e', $wal_end]);
like($stats, qr/^custom200\s+[1-9]/m, 'the records carry resource manager id 200');
unlike($stats, qr/^custom173\s/m, 'none carries the default id');

$standby->stop;
$primary->stop;
done_testing();
