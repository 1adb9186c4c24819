# The plan-deciding state reaches a streaming standby through WAL (the
# custom resource manager): a standby made from a base backup taken before
# anything was learned sees, after a bounded wait, each change the primary
# commits: tables enabled, a custom arm, the learned patterns and the arm
# learned for a statement (the standby's EXPLAIN shows it), a pattern
# disabled, a statement's arm pinned through ndag_queries (the standby's
# EXPLAIN shows the pinned arm), an arm forbidden for a statement (the
# standby's EXPLAIN no longer shows it), a restore of a backup taken before the pin
# and a reset.  ruvector_dag_status() shows
# the LSN of the last change the store holds, on both sides.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# (a streaming test cluster has 1MB of shared buffers: every run of the
# join then read its tables from the kernel's cache, and in about one
# cluster of 25 the custom arm's runs took 36 ms where they take 9, too
# close to the default's 45 ms to be proven faster within 6 pairs)
my $conf = ndag_test_conf() . "shared_buffers = 16MB\n";
my $primary = PostgreSQL::Test::Cluster->new('wal_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', $conf);
$primary->start;
$primary->safe_psql('postgres', 'CREATE EXTENSION neural_dag');

# the standby starts from a store that holds nothing learned
$primary->backup('empty');
my $standby = PostgreSQL::Test::Cluster->new('wal_standby');
$standby->init_from_backup($primary, 'empty', has_streaming => 1);
# learned arms apply in every session of the standby
$standby->append_conf('postgresql.conf', "ruvector.dag_mode = 'apply'\n");
$standby->start;

# on_standby(SQL, EXPECTED, WHAT): SQL on the standby returns EXPECTED
# within a bounded wait
sub on_standby
{
	my ($sql, $expected, $what) = @_;
	my $ok = $standby->poll_query_until('postgres', $sql, $expected);
	ok($ok, $what)
	  or diag('standby: ' . $standby->safe_psql('postgres', $sql)
		  . ' primary: ' . $primary->safe_psql('postgres', $sql));
}

# ---------- enabled tables and a custom arm ----------
$primary->safe_psql('postgres', ndag_join_tables_sql('wl')
	  . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('wl')
	  . ndag_run_function_sql('wl'));
my $arm = $primary->safe_psql('postgres',
	"SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");
my $tables = q{SELECT string_agg(relid::regclass::text, ',' ORDER BY relid::regclass::text)
	FROM ndag_tables};
on_standby($tables, 'wl_a,wl_b', 'the tables enabled on the primary are enabled on the standby');
on_standby("SELECT arm_id || ' ' || enabled FROM ndag_arms WHERE name = 'costly_hash'",
	"$arm true", 'the custom arm reached the standby');
on_standby(q{SELECT count(*) FROM ndag_arms WHERE builtin AND arm_id <> 0 AND enabled},
	'0', "the built-in arms' enabled flags reached the standby");

# ---------- learned patterns, then one disabled ----------
my ($q, $q2) = ndag_join_queries('wl');
my $proven = ndag_learn_until_proven($primary, 'wl', $q, 'an arm proven for the join');
like($proven, qr/^$arm /, "the primary proved the custom arm ($proven)");
# the default plan's runs, the arm's runs in apply mode, then a learning
# cycle (as t/081_hot_standby.pl learns its pattern)
$primary->safe_psql('postgres', qq{
	SET ruvector.dag_mode = 'observe';
	SELECT wl_run('$q', 3);
	@{[ndag_explore_settings()]}
	SELECT wl_run('$q', 15);
	SET ruvector.dag_mode = 'apply';
	SELECT wl_run('$q', 4);
	SELECT ruvector_dag_flush();
	SELECT ruvector_dag_learn();
});
my $patterns = $primary->safe_psql('postgres',
	'SELECT count(*) FROM ndag_patterns WHERE best_arm <> 0');
cmp_ok($patterns, '>', 0, "the primary learned patterns with an arm ($patterns)");
my $pattern_rows = q{SELECT coalesce(string_agg(concat_ws(':', pattern_id, best_arm, disabled),
	',' ORDER BY pattern_id), 'none') FROM ndag_patterns};
my $learned = $primary->safe_psql('postgres', $pattern_rows);
on_standby($pattern_rows, $learned, "the learned patterns reached the standby ($learned)");

# the arm the primary learned for the statement is the standby's arm too
my $explain_q = "SELECT e->>'Decision' || ' ' || (e->>'Arm') FROM wl_explain('$q') e";
my $learned_plan = $primary->safe_psql('postgres',
	"SET ruvector.dag_mode = 'apply'; $explain_q");
like($learned_plan, qr/ \Q$arm (costly_hash)\E$/,
	"the primary plans the statement under the learned arm ($learned_plan)");
on_standby($explain_q, $learned_plan,
	"the standby's EXPLAIN shows the arm learned on the primary");

my $pid = $primary->safe_psql('postgres',
	'SELECT min(pattern_id) FROM ndag_patterns WHERE best_arm <> 0');
$primary->safe_psql('postgres',
	"UPDATE ndag_patterns SET disabled = true WHERE pattern_id = $pid");
on_standby("SELECT disabled FROM ndag_patterns WHERE pattern_id = $pid", 't',
	'the pattern disabled on the primary is disabled on the standby');

# a backup of the state before the pin, restored below
my $backup_file = $primary->basedir . '/before_pin.ndag';
$primary->safe_psql('postgres', "SELECT ruvector_dag_backup('$backup_file')");

# ---------- a statement's arm pinned through ndag_queries ----------
my $learn = ndag_explore_settings();
my $qp = "$q AND a.id > 1";
my $qid = $primary->safe_psql('postgres', "EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) $qp")
  =~ /"Query Identifier": (-?\d+)/ ? $1 : 'none';
like($qid, qr/^-?\d+$/, "the pinned statement's query identifier ($qid)");
# run the statement until ndag_queries has its row
ok( wait_for(
		sub {
			$primary->safe_psql('postgres', "$learn SELECT wl_run('$qp', 1)");
			return $primary->safe_psql('postgres',
				"SELECT count(*) FROM ndag_queries WHERE query_id = $qid") eq '1';
		},
		'the statement\'s row in ndag_queries'),
	'the statement to pin has its row in ndag_queries');
$primary->safe_psql('postgres',
	"UPDATE ndag_queries SET pinned_arm = $arm WHERE query_id = $qid");
is($primary->safe_psql('postgres', "SELECT pinned_arm FROM ndag_queries WHERE query_id = $qid"),
	$arm, 'the primary holds the pin');
on_standby("SELECT pinned_arm FROM ndag_queries WHERE query_id = $qid", $arm,
	'the pin reached the standby\'s ndag_queries');
my $explain = "SELECT e->>'Decision' || ' ' || (e->>'Arm') FROM wl_explain('$qp') e";
on_standby($explain, "pinned $arm (costly_hash)",
	"the standby's EXPLAIN shows the arm pinned on the primary");

# ---------- an arm forbidden for a statement ----------
my $qid_q = ndag_query_id($primary, $q);
$primary->safe_psql('postgres',
	"UPDATE ndag_queries SET forbidden_arms = ARRAY[$arm] WHERE query_id = $qid_q");
on_standby("SELECT bool_and(forbidden_arms = ARRAY[$arm]) FROM ndag_queries WHERE query_id = $qid_q",
	't', 'the arm forbidden on the primary is forbidden on the standby');
on_standby("SELECT (e->>'Arm') IS DISTINCT FROM '$arm (costly_hash)' FROM wl_explain('$q') e",
	't', "the standby's EXPLAIN no longer applies the forbidden arm");

# ---------- the LSN of the last change, on both sides ----------
my $status_lsn = q{SELECT ruvector_dag_status()->>'wal_lsn'};
my $primary_lsn = $primary->safe_psql('postgres', $status_lsn);
like($primary_lsn, qr{^[0-9A-F]+/[0-9A-F]+$},
	"the primary's status shows the LSN of its last logged change ($primary_lsn)");
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres',
		"SELECT pg_lsn(ruvector_dag_status()->>'wal_lsn') >= '$primary_lsn'"),
	't', "the standby's status shows a replayed LSN at least the primary's");

# ---------- a restore reaches the standby ----------
my $pins = 'SELECT count(*) FROM ndag_queries WHERE pinned_arm IS NOT NULL';
$primary->safe_psql('postgres', "SELECT ruvector_dag_restore('$backup_file')");
is($primary->safe_psql('postgres', $pins), '0', 'the restore took the pin out on the primary');
on_standby($pins, '0', 'the restored state, without the pin, reached the standby');
on_standby("SELECT disabled FROM ndag_patterns WHERE pattern_id = $pid", 't',
	'the restored state keeps the disabled pattern on the standby');

# ---------- a reset reaches the standby ----------
$primary->safe_psql('postgres', "SELECT ruvector_dag_reset('all')");
on_standby(q{SELECT (SELECT count(*) FROM ndag_patterns) || ' '
	|| (SELECT count(*) FROM ndag_queries) || ' ' || (SELECT count(*) FROM ndag_tables)},
	$primary->safe_psql('postgres', q{SELECT (SELECT count(*) FROM ndag_patterns) || ' '
	|| (SELECT count(*) FROM ndag_queries) || ' ' || (SELECT count(*) FROM ndag_tables)}),
	'the reset on the primary emptied the same state on the standby');
on_standby("SELECT count(*) FROM ndag_patterns", '0', 'no pattern is left on the standby');
on_standby("SELECT coalesce(e->>'Decision', 'not decided') FROM wl_explain('$qp') e",
	'not decided', "the standby's EXPLAIN no longer applies the reset pin (no table is enabled)");

$standby->stop;
$primary->stop;
done_testing();
