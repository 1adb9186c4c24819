# Promotion: a standby's id counters follow the primary's through the WAL
# snapshots (ids the primary handed out after the standby's base backup are
# not handed out again once it is promoted), the promoted standby learns,
# and its learning cycles reach its own (cascading) standby through WAL.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $primary = ndag_wal_primary('pr_primary');
$primary->safe_psql('postgres', ndag_join_tables_sql('pr')
	  . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('pr')
	  . ndag_run_function_sql('pr'));
my ($q, $q2) = ndag_join_queries('pr');
my $learn = ndag_explore_settings();

# cycle(NODE, I): a learning workload on NODE, then a learning cycle
sub cycle
{
	my ($node, $i) = @_;
	$node->safe_psql('postgres', qq{
		$learn
		SELECT pr_run('$q', 3);
		SELECT pr_run('$q2 AND a.id > $i', 3);
		SELECT ruvector_dag_flush();
		SELECT ruvector_dag_learn();
	});
}
cycle($primary, 1);

$primary->backup('b');
my $standby = ndag_wal_standby($primary, 'b', 'pr_standby');
# a cascading standby of the standby
$standby->backup('s');
my $cascade = PostgreSQL::Test::Cluster->new('pr_cascade');
$cascade->init_from_backup($standby, 's', has_streaming => 1);
$cascade->append_conf('postgresql.conf', "ruvector.dag_mode = 'apply'\n");
$cascade->start;

# ids handed out on the primary after the backup
$primary->safe_psql('postgres', q{
	INSERT INTO ndag_arms (name, settings) VALUES ('after_backup_1', 'enable_mergejoin=off');
	INSERT INTO ndag_arms (name, settings) VALUES ('after_backup_2', 'enable_material=off');
});
cycle($primary, $_) for 2 .. 3;
my $counters = q{SELECT string_agg(key || '=' || value, ',' ORDER BY key)
	FROM jsonb_each_text(ruvector_dag_status()->'counters')
	WHERE key = 'next_arm_id' OR key LIKE 'next_pattern:%'};
# the snapshot after a checkpoint carries the counters
my $snapshot_before = $primary->safe_psql('postgres',
	q{SELECT ruvector_dag_status()->>'snapshot_lsn'});
$primary->safe_psql('postgres', 'CHECKPOINT');
ok($primary->poll_query_until('postgres',
		qq{SELECT ruvector_dag_status()->>'snapshot_lsn' <> '$snapshot_before'}),
	'the primary logs a snapshot after the checkpoint');
my $primary_counters = $primary->safe_psql('postgres', $counters);
like($primary_counters, qr/next_arm_id=\d+/, "the primary's id counters ($primary_counters)");
ok($standby->poll_query_until('postgres', $counters, $primary_counters),
	'the standby holds the primary\'s id counters')
  or diag('standby: ' . $standby->safe_psql('postgres', $counters));
ok(ndag_wait_same_state($primary, $standby, 'the standby has the primary\'s state'),
	'the standby has the primary\'s plan-deciding state');

# ids handed out after that snapshot whose records are gone before the
# promotion: an arm id of a rolled-back INSERT, pattern ids of patterns
# learned and then deleted; the standby's counters move past them anyway
my $snapshot_lsn = $primary->safe_psql('postgres',
	q{SELECT ruvector_dag_status()->>'snapshot_lsn'});
$primary->safe_psql('postgres', q{
	BEGIN;
	INSERT INTO ndag_arms (name, settings) VALUES ('rolled_back', 'enable_nestloop=off');
	ROLLBACK;
});
my $rolled_back_arm = $primary->safe_psql('postgres',
	q{SELECT (ruvector_dag_status()->'counters'->>'next_arm_id')::int - 1});
my $patterns_before = $primary->safe_psql('postgres',
	q{SELECT coalesce(max(pattern_id), 0) FROM ndag_patterns});
$primary->safe_psql('postgres', 'DELETE FROM ndag_patterns');
my $j = 4;
ok( wait_for(
		sub {
			cycle($primary, $j++);
			return $primary->safe_psql('postgres',
				"SELECT count(*) FROM ndag_patterns WHERE pattern_id > $patterns_before") > 0;
		},
		'new patterns learned on the primary after its snapshot'),
	'the primary learns patterns with new ids after its snapshot');
$primary->safe_psql('postgres', 'DELETE FROM ndag_patterns');
# (a checkpoint of its own would log a snapshot with the counters)
diag('the primary logged another snapshot meanwhile')
  if $primary->safe_psql('postgres',
	q{SELECT ruvector_dag_status()->>'snapshot_lsn'}) ne $snapshot_lsn;
$primary_counters = $primary->safe_psql('postgres', $counters);
ok($standby->poll_query_until('postgres', $counters, $primary_counters),
	"the standby follows the counters moved after the primary's last snapshot ($primary_counters)")
  or diag('standby: ' . $standby->safe_psql('postgres', $counters));
ok(ndag_wait_same_state($primary, $standby, 'the standby has the primary\'s state'),
	'the standby has the primary\'s state after the deletions');

my $primary_arms = $primary->safe_psql('postgres', 'SELECT max(arm_id) FROM ndag_arms');
my $primary_patterns = $primary->safe_psql('postgres',
	q{SELECT coalesce(string_agg(pattern_id::text, ',' ORDER BY pattern_id), '')
	FROM ndag_patterns});

# ---------- promotion ----------
$standby->promote;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 'f', 'the standby is promoted');
ok($standby->poll_query_until('postgres',
		q{SELECT ruvector_dag_status()->>'trusted'}, 'true'),
	'the promoted server trusts its store');
$standby->safe_psql('postgres',
	q{INSERT INTO ndag_arms (name, settings) VALUES ('after_promotion', 'enable_sort=off')});
cmp_ok($standby->safe_psql('postgres',
		q{SELECT arm_id FROM ndag_arms WHERE name = 'after_promotion'}),
	'>', $primary_arms, 'an arm added after the promotion takes an id the primary never gave');
cmp_ok($standby->safe_psql('postgres',
		q{SELECT arm_id FROM ndag_arms WHERE name = 'after_promotion'}),
	'>', $rolled_back_arm,
	'not even the id of an arm the primary rolled back after its last snapshot');

# the promoted server learns new patterns, with ids the primary never gave
my $next_pattern = $primary->safe_psql('postgres',
	q{SELECT max(value::bigint) FROM jsonb_each_text(ruvector_dag_status()->'counters')
	WHERE key LIKE 'next_pattern:%'});
$standby->safe_psql('postgres', 'DELETE FROM ndag_patterns');
my $i = 10;
ok( wait_for(
		sub {
			cycle($standby, $i++);
			return $standby->safe_psql('postgres', 'SELECT count(*) FROM ndag_patterns') > 0;
		},
		'patterns learned on the promoted server'),
	'the promoted server learns patterns');
my $new_min = $standby->safe_psql('postgres', 'SELECT min(pattern_id) FROM ndag_patterns');
cmp_ok($new_min, '>=', $next_pattern,
	"the new patterns take ids the primary never gave ($new_min >= $next_pattern; the primary had $primary_patterns)");

# ---------- the cascading standby follows the promoted server ----------
ok(ndag_wait_same_state($standby, $cascade, 'the cascading standby has the promoted state'),
	'the learning cycles of the promoted server reach its standby through WAL');
ok($cascade->poll_query_until('postgres',
		q{SELECT ruvector_dag_status()->>'trusted'}, 'true'),
	'the cascading standby trusts its store');
is($cascade->safe_psql('postgres',
		q{SELECT count(*) FROM ndag_arms WHERE name = 'after_promotion'}),
	'1', 'the arm added after the promotion reached the cascading standby');

$cascade->stop;
$standby->stop;
$primary->stop;
done_testing();
