# A store copied by a base backup is never trusted as copied.  A standby
# started from a backup plans with the default plan (EXPLAIN and
# ruvector_dag_status() say why) although its copied store holds a pin,
# until it replays a snapshot of the plan-deciding state that the primary
# logs after a checkpoint (ruvector.dag_wal_snapshots, off at first here);
# then the pin applies.  A second standby from a pg_basebackup taken while
# the primary records and learns hard (a psql loop in the background) opens
# a clean store (every foreign table reads, the start-up check passes after
# a restart) and converges to the primary's plan-deciding state.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $primary = ndag_wal_primary('bb_primary', "ruvector.dag_wal_snapshots = off\n");
$primary->safe_psql('postgres', ndag_join_tables_sql('bb')
	  . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('bb')
	  . ndag_run_function_sql('bb'));
my $arm = $primary->safe_psql('postgres',
	"SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");
my ($q, $q2) = ndag_join_queries('bb');
my $learn = ndag_explore_settings();

# a statement pinned to the custom arm on the primary
my $qid = ndag_query_id($primary, $q);
ok( wait_for(
		sub {
			$primary->safe_psql('postgres', "$learn SELECT bb_run('$q', 1)");
			return $primary->safe_psql('postgres',
				"SELECT count(*) FROM ndag_queries WHERE query_id = $qid") eq '1';
		},
		'the statement\'s row in ndag_queries'),
	"the statement has its row in ndag_queries ($qid)");
$primary->safe_psql('postgres',
	"UPDATE ndag_queries SET pinned_arm = $arm WHERE query_id = $qid");
my $explain = "SELECT concat_ws(' ', e->>'Decision', e->>'Arm') FROM bb_explain('$q') e";
is($primary->safe_psql('postgres', "SET ruvector.dag_mode = 'apply'; $explain"),
	"pinned $arm (costly_hash)", 'the primary plans the statement under the pinned arm');
is($primary->safe_psql('postgres', q{SELECT ruvector_dag_status()->>'snapshot_lsn'}),
	'', 'with ruvector.dag_wal_snapshots off the primary logged no snapshot');

# ---------- a standby from a backup, before any snapshot ----------
$primary->backup('before_snapshot');
my $standby = ndag_wal_standby($primary, 'before_snapshot', 'bb_standby');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres',
		"SELECT pinned_arm FROM ndag_queries WHERE query_id = $qid"),
	$arm, 'the copied store holds the pin');
my $status = q{SELECT concat_ws(' ', ruvector_dag_status()->>'trusted',
	(ruvector_dag_status()->>'trusted_after_lsn' IS NOT NULL)::text)};
is($standby->safe_psql('postgres', $status), 'false true',
	'the status says the copied store is not trusted, and after which LSN it will be');
is($standby->safe_psql('postgres', $explain), 'default plan',
	'the standby plans the pinned statement with the default plan');
is($standby->safe_psql('postgres', "SELECT e->>'Learned State' FROM bb_explain('$q') e"),
	'not trusted until a WAL snapshot after the base backup is replayed',
	'EXPLAIN says why');

# snapshots on: the primary's learner logs one, the standby trusts it
$primary->safe_psql('postgres',
	'ALTER SYSTEM SET ruvector.dag_wal_snapshots = on; SELECT pg_reload_conf()');
ok($primary->poll_query_until('postgres',
		q{SELECT ruvector_dag_status()->>'snapshot_lsn' IS NOT NULL}),
	'the primary logs a snapshot of the plan-deciding state');
ok($standby->poll_query_until('postgres', $status, 'true false'),
	'the standby trusts its store once it replayed the snapshot');
my $snapshot = $primary->safe_psql('postgres',
	q{SELECT ruvector_dag_status()->>'snapshot_lsn'});
ok($standby->poll_query_until('postgres',
		q{SELECT ruvector_dag_status()->>'snapshot_lsn'}, $snapshot),
	"the standby's status shows the snapshot in use ($snapshot)");
is($standby->safe_psql('postgres', $explain), "pinned $arm (costly_hash)",
	'the standby plans the statement under the pinned arm');

# ---------- pg_basebackup while the primary records and learns ----------
my $script = $primary->basedir . '/learn_loop.sql';
open(my $fh, '>', $script) or die "open $script: $!";
print $fh "$learn\n";
for my $i (1 .. 40)
{
	print $fh "SELECT bb_run('$q', 2);\nSELECT bb_run('$q2', 2);\n"
	  . "SELECT bb_run('$q AND a.id > $i', 1);\n"
	  . "SELECT ruvector_dag_flush();\nSELECT ruvector_dag_learn();\n";
}
close $fh;
my ($loop_out, $loop_err) = ('', '');
my $loop = IPC::Run::start(
	[ 'psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', $primary->connstr('postgres'),
	  '-f', $script ],
	'>', \$loop_out, '2>', \$loop_err);
$primary->backup('under_load');
my $standby2 = ndag_wal_standby($primary, 'under_load', 'bb_standby2');
ok($loop->finish, 'the learning loop ran to its end') or diag($loop_err);
cmp_ok($primary->safe_psql('postgres', 'SELECT count(*) FROM ndag_patterns'),
	'>', 0, 'the primary learned patterns');

ok($standby2->poll_query_until('postgres',
		q{SELECT ruvector_dag_status()->>'trusted'}, 'true'),
	'the standby made under load trusts its store after a snapshot');
ok(ndag_wait_same_state($primary, $standby2, 'the same plan-deciding state'),
	'the standby made under load converges to the primary\'s plan-deciding state');
is($standby2->safe_psql('postgres', q{SELECT concat_ws(',',
	(SELECT count(*) FROM ndag_patterns), (SELECT count(*) FROM ndag_arms),
	(SELECT count(*) FROM ndag_tables), (SELECT count(*) FROM ndag_queries),
	(SELECT count(*) FROM ndag_models), (SELECT count(*) FROM ndag_index_meta),
	(SELECT count(*) FROM ndag_trajectories) >= 0,
	(SELECT count(*) FROM ndag_healing) >= 0) ~ '^[0-9]+,[0-9]+,2,'}),
	't', 'every store of the standby reads');

# the start-up check walks the whole store: it passes after a restart
my $log_offset = -s $standby2->logfile;
$standby2->restart;
my $log = ndag_log_since($standby2, $log_offset);
unlike($log, qr/neural_dag store .* (was moved to|could not)/,
	'the start-up check of the restarted standby finds a clean store');
is($standby2->safe_psql('postgres', q{SELECT ruvector_dag_status()->>'trusted'}),
	'true', 'the restarted standby still trusts its store');
ok(ndag_wait_same_state($primary, $standby2, 'the same state after the restart'),
	'after the restart the standby still has the primary\'s state');

$standby2->stop;
$standby->stop;
$primary->stop;
done_testing();
