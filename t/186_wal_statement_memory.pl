# A replayed per-statement record makes a standby forget only the
# statement it is of: after the primary freezes one statement through
# ndag_queries, the standby's shared per-statement memory still holds the
# other statement (query_memory_entries), and the frozen one is loaded
# again, with its new control, at its next planning.  A replayed snapshot
# (a restore on the primary: a clear of every per-statement store, then
# every record) empties the database's memory once, and the statements
# are loaded again from the replayed store.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# no learning cycle of the learner's own in between (it could write
# records of either statement)
my $primary = ndag_wal_primary('sm_primary',
	"ruvector.dag_background_interval = 2147483647\n");
$primary->safe_psql('postgres', ndag_join_tables_sql('sm')
	  . ndag_run_function_sql('sm'));
my ($q, $q2) = ndag_join_queries('sm');
my $learn = ndag_explore_settings();
$primary->safe_psql('postgres', qq{
	$learn
	SELECT sm_run('$q', 3);
	SELECT sm_run('$q2', 3);
	SELECT ruvector_dag_flush();
	SELECT ruvector_dag_learn();
});
my $qid = ndag_query_id($primary, $q);
my $qid2 = ndag_query_id($primary, $q2);
isnt($qid, $qid2, 'two statements');
is($primary->safe_psql('postgres',
		"SELECT count(DISTINCT query_id) FROM ndag_queries WHERE query_id IN ($qid, $qid2)"),
	'2', 'the primary stored both statements');

$primary->backup('b');
my $standby = ndag_wal_standby($primary, 'b', 'sm_standby');
ok(ndag_wait_same_state($primary, $standby, 'the standby has the primary\'s state'),
	'the standby has the primary\'s plan-deciding state');
# the copied store decides plans only once the standby replayed a snapshot
# logged after its base backup (its foreign tables show the state before)
ok($standby->poll_query_until('postgres',
		q{SELECT ruvector_dag_status()->>'trusted'}, 'true'),
	'the standby trusts its store');

# both statements planned on the standby: loaded into its shared memory
$standby->safe_psql('postgres', "SELECT sm_run('$q', 1); SELECT sm_run('$q2', 1);");
my $before = ndag_status_counter($standby, 'query_memory_entries');
cmp_ok($before, '>=', 2, "the standby's memory holds both statements ($before classes)");

# the primary freezes one of them; the record reaches the standby
$primary->safe_psql('postgres',
	"UPDATE ndag_queries SET frozen = true WHERE query_id = $qid");
my $lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
$primary->wait_for_catchup($standby, 'replay', $lsn);
is($standby->safe_psql('postgres',
		"SELECT bool_and(frozen) FROM ndag_queries WHERE query_id = $qid"),
	't', 'the standby has the frozen statement');

my $after = ndag_status_counter($standby, 'query_memory_entries');
cmp_ok($after, '>=', 1,
	"the statement the record did not touch is kept ($after of $before classes)");
cmp_ok($after, '<', $before, 'the statement the record touched is forgotten');
is(ndag_status_counter($standby, 'query_memory_controlled'), '0',
	'no statement under a control in memory yet');

# the touched statement is loaded again, frozen, at its next planning
$standby->safe_psql('postgres', "SELECT sm_run('$q', 1)");
cmp_ok(ndag_status_counter($standby, 'query_memory_controlled'), '>=', 1,
	'the forgotten statement is loaded again with its new control');
is(ndag_status_counter($standby, 'query_memory_entries'), $before,
	'both statements are in memory again');

# ---------- a replayed snapshot empties the memory once ----------

my $backup_file = $primary->basedir . '/frozen.ndag';
$primary->safe_psql('postgres', "SELECT ruvector_dag_backup('$backup_file')");
my $snapshots = $standby->safe_psql('postgres',
	"SELECT ruvector_dag_status()->>'snapshot_lsn'");
$primary->safe_psql('postgres', "SELECT ruvector_dag_restore('$backup_file')");
$lsn = $primary->safe_psql('postgres', 'SELECT pg_current_wal_insert_lsn()');
$primary->wait_for_catchup($standby, 'replay', $lsn);
isnt($standby->safe_psql('postgres', "SELECT ruvector_dag_status()->>'snapshot_lsn'"),
	$snapshots, 'the standby replayed the snapshot of the restore');
is(ndag_status_counter($standby, 'query_memory_entries'), '0',
	"the replayed snapshot empties the standby's memory");
$standby->safe_psql('postgres', "SELECT sm_run('$q', 1); SELECT sm_run('$q2', 1);");
is(ndag_status_counter($standby, 'query_memory_entries'), $before,
	'both statements are loaded again from the replayed store');
cmp_ok(ndag_status_counter($standby, 'query_memory_controlled'), '>=', 1,
	'the frozen statement keeps its control through the snapshot');

$standby->stop;
$primary->stop;
done_testing();
