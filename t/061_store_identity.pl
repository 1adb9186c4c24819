# The store is the one it claims to be.  Removed while the server runs: no
# process creates a new one; a session that had it open gets an error for
# SQL access and the hooks a WARNING, the statements of users still run;
# a restore puts it back.  Replaced by hand: a session that had the old one
# open is told once.  A store of another cluster, or a torn one (the root
# page of the named DBIs overwritten), is moved aside at start.
use strict;
use warnings;
use File::Copy;
use File::Path qw(rmtree);
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('identity');
my $store = $node->data_dir . '/neural_dag';
my $backup = $node->basedir . '/identity.mdb';

$node->safe_psql('postgres', q{
	CREATE TABLE idt AS SELECT g AS id, g % 3 AS k FROM generate_series(1, 300) g;
	SELECT ruvector_enable_neural_dag('idt');
	INSERT INTO ndag_arms (name, settings) VALUES ('id_custom', 'enable_sort=off');
});
$node->safe_psql('postgres', "SELECT ruvector_dag_backup('$backup')");

# ---------- removed while running ----------
my $old = $node->background_psql('postgres', on_error_stop => 0);
$old->query_safe('SELECT count(*) FROM ndag_arms');
rmtree($store);

$old->{stderr} = '';
$old->query("\\set VERBOSITY verbose\nSELECT count(*) FROM ndag_arms");
like($old->{stderr},
	qr/ERROR:  58P01: the neural_dag store at "\Q$store\E" was removed while the server was running/,
	'a session that had the store open gets an error for SQL access');

is(sql_state($node, 'SELECT count(*) FROM ndag_arms'), '58P01',
	'a new session gets an error for SQL access');
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'SELECT count(*) FROM idt');
is($ret, 0, 'a statement on an enabled table runs');
is($stdout, '300', 'with its result');
like($stderr, qr/WARNING:  .*the neural_dag store at "\Q$store\E" does not exist/,
	'and the hooks report the missing store in a WARNING');
$node->psql('postgres', 'SELECT ruvector_dag_flush()');
$node->psql('postgres', "SELECT ruvector_enable_neural_dag('idt')");
ok(!-e $store, 'no process created a new store');

is($node->safe_psql('postgres', "SELECT ruvector_dag_restore('$backup') > 0"), 't',
	'a restore works while the store is missing');
ok(-f "$store/data.mdb", 'and puts a store in place');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM ndag_arms WHERE name = 'id_custom'"),
	'1', 'with the state of the backup');
$old->{stderr} = '';
is($old->query("SELECT count(*) FROM ndag_tables WHERE relid = 'idt'::regclass"), '1',
	'the old session reads the restored store');
is($old->{stderr}, '', 'without an error');

# ---------- replaced by hand while running ----------
$old->query_safe('SELECT count(*) FROM ndag_arms');
my $other = $node->basedir . '/handmade';
mkdir $other or die;
copy($backup, "$other/data.mdb") or die "copy: $!";
rename($store, "$store.byhand") or die;
rename($other, $store) or die;
$old->{stderr} = '';
$old->query("\\set VERBOSITY verbose\nSELECT count(*) FROM ndag_arms");
like($old->{stderr},
	qr/ERROR:  55000: the neural_dag store at "\Q$store\E" was replaced while the server was running/,
	'a session whose store was replaced by hand is told');
$old->{stderr} = '';
is($old->query("SELECT count(*) FROM ndag_arms WHERE name = 'id_custom'"), '1',
	'and then uses the store at the path');
is($old->{stderr}, '', 'without another error');
$old->quit;

# ---------- a store of another cluster ----------
my $foreign = ndag_node('foreign');
$foreign->stop;
$node->stop;
rmtree($store);
rmtree("$store.byhand");
mkdir $store or die;
copy($foreign->data_dir . '/neural_dag/data.mdb', "$store/data.mdb") or die;
my $offset = -s $node->logfile;
$node->start;
my $log = ndag_log_since($node, $offset);
my ($moved) = $log =~
  /WARNING:  the neural_dag store at "\Q$store\E" belongs to another cluster; it was moved to "([^"]+)"/;
ok(defined $moved && -f "$moved/data.mdb",
	'a store of another cluster is moved aside at start, to the directory the WARNING names');
like($log, qr/DETAIL:  It belongs to the cluster with system identifier \d+; this cluster's is \d+/,
	'the WARNING says whose it is');
is($node->safe_psql('postgres',
		"SELECT count(*) = count(*) FILTER (WHERE builtin) AND count(*) > 0 FROM ndag_arms"),
	't', 'the server starts with an empty store of its own');

# ---------- a torn store: the root of the named DBIs overwritten ----------
$node->safe_psql('postgres', "SELECT ruvector_dag_restore('$backup')");
$node->stop;
my $root = ndag_dbi_root("$store/data.mdb");
my $pages = (-s "$store/data.mdb") / 4096;
ndag_write_file_bytes("$store/data.mdb", $root * 4096,
	substr(PostgreSQL::Test::Utils::slurp_file("$store/data.mdb"),
		(($root + 1) % $pages < 2 ? 2 : ($root + 1) % $pages) * 4096, 4096));
$offset = -s $node->logfile;
$node->start;
$log = ndag_log_since($node, $offset);
($moved) = $log =~
  /WARNING:  the neural_dag store at "\Q$store\E" is damaged[^;\n]*; it was moved to "([^"]+)"/;
ok(defined $moved && -f "$moved/data.mdb", 'a torn store is moved aside at start');
is($node->safe_psql('postgres', "SELECT count(*) FROM ndag_arms WHERE name = 'id_custom'"),
	'0', 'and the server starts with an empty store');
is($node->safe_psql('postgres', "SELECT ruvector_dag_restore('$backup') > 0"), 't',
	'from which a backup can be restored');
is($node->safe_psql('postgres', "SELECT count(*) FROM ndag_arms WHERE name = 'id_custom'"),
	'1', 'bringing the state back');

$node->stop;
done_testing();
