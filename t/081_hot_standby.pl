# A hot standby uses the learned state it was copied with and changes
# nothing: the primary learns a decision (a join whose default nested loop
# runs over a gross underestimate gets a faster arm by exploration, and a
# pattern with that arm), a base backup taken while idle starts a streaming
# standby, and on the standby: learn-mode statements are not recorded (the
# ring stays empty, the trajectories and the store generation stay as
# copied), nothing explores, ruvector_dag_learn() and the other functions
# that write the store fail with SQLSTATE 25006 (read-only transaction),
# modifications of the foreign tables too, and the plans still follow the
# copied store: EXPLAIN shows the learned arm applied.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# (a streaming test cluster has 1MB of shared buffers: every run of the
# join would read its tables from the kernel's cache, t/180)
my $conf = ndag_test_conf() . "shared_buffers = 16MB\n";
my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', $conf);
$primary->start;

my $q = 'SELECT a.id, c.n FROM hs_a a JOIN (SELECT v, count(*) AS n FROM hs_b GROUP BY v) c '
  . 'ON c.v = a.id WHERE a.x = 1 AND a.y = 1 AND a.z = 1';
my $q2 = "$q AND a.id > 0";
# a statement without a learned decision: on a primary it would explore
my $q3 = 'SELECT count(*) FROM hs_b b JOIN hs_a a ON a.id = b.id WHERE b.v < 10';

$primary->safe_psql('postgres', 'CREATE EXTENSION neural_dag;'
	  . ndag_join_tables_sql('hs')
	  . ndag_explain_function_sql('hs')
	  . ndag_run_function_sql('hs'));

# ---------- the primary learns a decision ----------
my $learn = ndag_explore_settings();
# the default plan's runs first: the pattern's gain is measured against them
$primary->safe_psql('postgres', qq{
	SET ruvector.dag_mode = 'observe';
	SELECT hs_run('$q', 3);
	$learn
	SELECT hs_run('$q', 15);
	-- the proven arm's own runs: exploring every execution, learn mode ran
	-- it only while proving it
	SET ruvector.dag_mode = 'apply';
	SELECT hs_run('$q', 4);
	SELECT ruvector_dag_flush();
	SELECT ruvector_dag_learn();
});
my $apply = "SET ruvector.dag_mode = 'apply'; SET ruvector.dag_confidence_threshold = 0;";
# the arm applied and where it came from: which arm wins depends on the
# server version's plans (a hash join, or a nested loop without bitmap scans)
my $decided = "SELECT CASE WHEN e->>'Decision' IN ('proven', 'pattern') THEN e->>'Arm' END "
  . "FROM hs_explain('$q2') e";
my $primary_arm = $primary->safe_psql('postgres', "$apply $decided");
ok($primary_arm ne '' && $primary_arm ne '0 (default)',
	"the primary applies a learned arm to the statement ($primary_arm)")
  or diag($primary->safe_psql('postgres', "$apply SELECT hs_explain('$q2'), hs_explain('$q')")
	. $primary->safe_psql('postgres', "SELECT string_agg(concat_ws(':', pattern_id, best_arm, gain, confidence, support), ' ') FROM ndag_patterns")
	. $primary->safe_psql('postgres', "SELECT string_agg(concat_ws(':', decision, arm, exec_us), ' ' ORDER BY traj_id) FROM ndag_trajectories"));
cmp_ok($primary->safe_psql('postgres', 'SELECT count(*) FROM ndag_patterns WHERE best_arm <> 0'),
	'>', 0, 'the primary learned a pattern with an arm');

# ---------- a standby from a base backup taken while idle ----------
$primary->backup('idle');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'idle', has_streaming => 1);
$standby->start;
$primary->wait_for_catchup($standby);
# the copied store decides plans once the primary's snapshot is replayed
ok($standby->poll_query_until('postgres',
		q{SELECT ruvector_dag_status()->>'trusted'}, 'true'),
	'the standby trusts its store after replaying a snapshot');
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby is in recovery');
is($standby->safe_psql('postgres',
		q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'neural_dag%'}),
	'0', 'no neural_dag worker runs on the standby');

# counters(): what the standby's store and ring hold
sub counters
{
	return $standby->safe_psql('postgres', q{
		SELECT concat_ws('|', (SELECT count(*) FROM ndag_trajectories),
			ruvector_dag_status()->>'generation',
			ruvector_dag_status()->'counters'->>'ring_used',
			ruvector_dag_status()->'counters'->>'recorded',
			ruvector_dag_status()->'counters'->>'decided_explore')});
}
my ($traj0, $gen0) = split /\|/, counters();
cmp_ok($traj0, '>', 0, "the standby has the copied trajectories ($traj0)");

# learn mode with every execution allowed to explore
$standby->safe_psql('postgres', qq{
	$learn
	SELECT hs_run('$q', 10);
	SELECT hs_run('$q2', 10);
	SELECT hs_run('$q3', 10);
});
# a change replayed from the primary after those statements: any recording
# would have been made by then
$primary->safe_psql('postgres', 'CREATE TABLE hs_marker ()');
$primary->wait_for_catchup($standby);
$standby->poll_query_until('postgres',
	"SELECT to_regclass('hs_marker') IS NOT NULL") or die 'no replay';
my ($traj1, $gen1, $ring, $recorded, $explored) = split /\|/, counters();
is($traj1, $traj0, 'no trajectory was added on the standby');
is($gen1, $gen0, "the standby's store generation did not move ($gen0)");
is($ring, 0, 'nothing went into the ring on the standby');
is($recorded, 0, 'no execution was recorded on the standby');
is($explored, 0, 'nothing explored on the standby');

# ---------- the store-writing functions refuse ----------
my %refusals = (
	'SELECT ruvector_dag_learn()' => 'ruvector_dag_learn()',
	'SELECT ruvector_dag_flush()' => 'ruvector_dag_flush()',
	q{SELECT ruvector_dag_reset('patterns')} => 'ruvector_dag_reset()',
	q{SELECT ruvector_enable_neural_dag('hs_marker')} => 'ruvector_enable_neural_dag()',
	q{SELECT ruvector_disable_neural_dag('hs_a')} => 'ruvector_disable_neural_dag()',
	q{SELECT ruvector_dag_restore('/nonexistent')} => 'ruvector_dag_restore()',
	q{SELECT * FROM ruvector_dag_heal()} => 'ruvector_dag_heal()',
	q{INSERT INTO ndag_arms (name, settings) VALUES ('x', 'enable_hashjoin=off')}
	  => 'INSERT INTO ndag_arms',
	q{UPDATE ndag_patterns SET pinned = true} => 'UPDATE ndag_patterns',
	q{DELETE FROM ndag_trajectories} => 'DELETE FROM ndag_trajectories');
for my $sql (sort keys %refusals)
{
	is(sql_state($standby, $sql), '25006', "$refusals{$sql} fails as read-only on the standby");
}
my ($rc, $out, $err) = $standby->psql('postgres', 'SELECT ruvector_dag_learn()');
like($err, qr/HINT:\s+Run it on the primary server/, 'the error says where to run it');

# ---------- plans follow the copied store ----------
is($standby->safe_psql('postgres', "$apply $decided"), $primary_arm,
	'the standby applies the learned arm from the copied store (apply mode)');
is($standby->safe_psql('postgres', "$learn $decided"), $primary_arm,
	'and in learn mode');
my ($traj2, $gen2) = split /\|/, counters();
is("$traj2|$gen2", "$traj0|$gen0", 'the store is still as copied');

$standby->stop;
$primary->stop;
done_testing();
