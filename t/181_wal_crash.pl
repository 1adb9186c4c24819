# Crash recovery trusts the WAL, not the store file: the store is put back
# to a copy taken before a pin and a custom arm were committed, the server
# crashes (immediate stop), and redo of neural_dag's WAL records brings the
# store to the logged state, down to the patterns, models and decisions of
# a learning cycle run right before the crash; ruvector_dag_status() shows the LSN of the
# last applied change.  No checkpoint can come between the copy and the
# crash (checkpoint_timeout of a day), so redo starts before the changes.
use strict;
use warnings;
use File::Copy;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('wal_crash',
	"checkpoint_timeout = '1d'\nmax_wal_size = '4GB'\n");
$node->safe_psql('postgres', ndag_join_tables_sql('wc')
	  . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('wc')
	  . ndag_run_function_sql('wc'));
my $arm = $node->safe_psql('postgres',
	"SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");
my ($q) = ndag_join_queries('wc');
my $qid = $node->safe_psql('postgres', "EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) $q")
  =~ /"Query Identifier": (-?\d+)/ ? $1 : 'none';
# run the statement until ndag_queries has its row (stored by the scan)
ok( wait_for(
		sub {
			$node->safe_psql('postgres',
				ndag_explore_settings() . " SELECT wc_run('$q', 1)");
			return $node->safe_psql('postgres',
				"SELECT count(*) FROM ndag_queries WHERE query_id = $qid AND pinned_arm IS NULL")
			  eq '1';
		},
		'the statement\'s row in ndag_queries'),
	"the statement has a row without a pin ($qid)");

# a copy of the store while the server is stopped
$node->stop;
my $store = $node->data_dir . '/neural_dag';
my $copy = $node->basedir . '/store_copy';
mkdir $copy or die "mkdir $copy: $!";
copy("$store/data.mdb", "$copy/data.mdb") or die "copy: $!";
$node->start;

# the changes the copy does not hold
$node->safe_psql('postgres', qq{
	UPDATE ndag_queries SET pinned_arm = $arm WHERE query_id = $qid;
	INSERT INTO ndag_arms (name, settings) VALUES ('after_copy', 'enable_hashjoin=off');
});
my $state = "SELECT (SELECT pinned_arm FROM ndag_queries WHERE query_id = $qid) || ' '"
  . " || (SELECT count(*) FROM ndag_arms WHERE name = 'after_copy')";
is($node->safe_psql('postgres', $state), "$arm 1", 'the pin and the arm are committed');
my $lsn = $node->safe_psql('postgres', q{SELECT ruvector_dag_status()->>'wal_lsn'});
like($lsn, qr{^[0-9A-F]+/[0-9A-F]+$}, "the status shows the last logged change ($lsn)");

# a learning cycle right before the crash: what it wrote (patterns, models,
# per-statement decisions) is only in the WAL and the newer store
$node->safe_psql('postgres', ndag_explore_settings() . qq{
	SELECT wc_run('$q', 6);
	SELECT ruvector_dag_flush();
	SELECT ruvector_dag_learn();
});
my $learned_state = ndag_plan_state_sql() . q{ || ' | ' || (SELECT string_agg(
	concat_ws(':', name, dbid, version, updates, loss, trained_at), ',' ORDER BY name, dbid)
	FROM ndag_models)};
my $before_crash = $node->safe_psql('postgres', $learned_state);
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM ndag_patterns'), '>', 0,
	'the learning cycle stored patterns');
cmp_ok($node->safe_psql('postgres', 'SELECT count(*) FROM ndag_models'), '>', 0,
	'the learning cycle stored models');

# crash, and put the older store file in place before recovery
$node->stop('immediate');
copy("$copy/data.mdb", "$store/data.mdb") or die "copy back: $!";
$node->start;

is($node->safe_psql('postgres', $state), "$arm 1",
	'after crash recovery the store holds the pin and the arm from WAL');
is($node->safe_psql('postgres', $learned_state), $before_crash,
	'after crash recovery the store holds exactly the state the learning cycle logged');
is($node->safe_psql('postgres',
		"SELECT pg_lsn(ruvector_dag_status()->>'wal_lsn') >= '$lsn'"),
	't', 'the status shows a replayed LSN at least that of the last change');
like($node->safe_psql('postgres',
		"SET ruvector.dag_mode = 'apply'; SELECT wc_explain('$q')->>'Decision'"),
	qr/^pinned$/m, 'the statement is planned under the pinned arm again');

$node->stop;
done_testing();
