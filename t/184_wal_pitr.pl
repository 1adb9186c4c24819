# Point-in-time recovery of the learned state: a server recovered from a
# base backup to a recovery_target_lsn taken before a learning cycle (and
# before a pin) holds the plan-deciding state the primary had at that LSN,
# not the later one its copied store or the later WAL would give; a named
# restore point does the same.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $primary = ndag_wal_primary('pitr_primary');
$primary->safe_psql('postgres', ndag_join_tables_sql('pt')
	  . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('pt')
	  . ndag_run_function_sql('pt'));
my ($q, $q2) = ndag_join_queries('pt');
my $learn = ndag_explore_settings();
my $arm = $primary->safe_psql('postgres',
	"SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");

# cycle(I): a learning workload, then a learning cycle
sub cycle
{
	my ($i) = @_;
	$primary->safe_psql('postgres', qq{
		$learn
		SELECT pt_run('$q', 3);
		SELECT pt_run('$q2 AND a.id > $i', 3);
		SELECT ruvector_dag_flush();
		SELECT ruvector_dag_learn();
	});
}
cycle(1);
$primary->backup('b');

# a snapshot after the backup's start, as after any checkpoint
my $snapshot = $primary->safe_psql('postgres', q{SELECT ruvector_dag_status()->>'snapshot_lsn'});
$primary->safe_psql('postgres', 'CHECKPOINT');
ok($primary->poll_query_until('postgres',
		qq{SELECT ruvector_dag_status()->>'snapshot_lsn' <> '$snapshot'}),
	'the primary logged a snapshot after the backup');
cycle(2);

# state_at_lsn(): the plan-deciding state and the WAL position, once the
# state stays the same around reading the position (the learner writes the
# per-statement memory in the background)
my $state_sql = ndag_plan_state_sql();
sub state_at_lsn
{
	my ($state, $lsn);
	wait_for(
		sub {
			my $before = $primary->safe_psql('postgres', $state_sql);
			$lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
			$state = $primary->safe_psql('postgres', $state_sql);
			return $before eq $state;
		},
		'a steady state');
	return ($state, $lsn);
}
my ($state_a, $lsn_a) = state_at_lsn();
$primary->safe_psql('postgres', "SELECT pg_create_restore_point('before_pin')");

# after the target: a pin and more learning
my $qid = ndag_query_id($primary, $q);
$primary->safe_psql('postgres',
	"UPDATE ndag_queries SET pinned_arm = $arm WHERE query_id = $qid");
cycle(3);
cycle(4);
my ($state_b) = state_at_lsn();
isnt($state_b, $state_a, 'the primary\'s state changed after the target');
$primary->safe_psql('postgres', 'SELECT pg_switch_wal()');

# recover(NAME, TARGET): a server from the backup, streaming from the
# primary, that pauses at TARGET
sub recover
{
	my ($name, $target) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init_from_backup($primary, 'b', has_streaming => 1);
	$node->append_conf('postgresql.conf', "$target\nrecovery_target_action = 'pause'\n");
	$node->start;
	ok($node->poll_query_until('postgres', 'SELECT pg_is_wal_replay_paused()'),
		"$name paused at its recovery target");
	return $node;
}

my $pitr = recover('pitr_lsn', "recovery_target_lsn = '$lsn_a'");
is($pitr->safe_psql('postgres', q{SELECT ruvector_dag_status()->>'trusted'}), 'true',
	'the recovered server trusts the snapshot it replayed before the target');
is($pitr->safe_psql('postgres', $state_sql), $state_a,
	'recovery to an LSN before the learning cycles gives the state at that LSN');
is($pitr->safe_psql('postgres',
		"SELECT count(*) FROM ndag_queries WHERE pinned_arm IS NOT NULL"),
	'0', 'the pin made after the target is not there');
$pitr->stop;

my $named = recover('pitr_name', "recovery_target_name = 'before_pin'");
is($named->safe_psql('postgres', $state_sql), $state_a,
	'recovery to a named restore point gives the state at that point');
$named->stop;

$primary->stop;
done_testing();
