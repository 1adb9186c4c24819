# ruvector_dag_restore() follows the transaction's outcome (applied when it
# commits, nothing when it or its savepoint rolls back, refused together
# with other store changes), works while the live store is damaged or
# unreadable, and gives the right SQLSTATE for a damaged backup (XX001,
# also when its meta pages are garbage) and for a path too long (42622).
use strict;
use warnings;
use File::Copy;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('restore');
my $store = $node->data_dir . '/neural_dag';
my $backup = $node->basedir . '/restore.mdb';

$node->safe_psql('postgres', q{
	CREATE TABLE rt (id int);
	SELECT ruvector_enable_neural_dag('rt');
	INSERT INTO ndag_arms (name, settings) VALUES ('in_backup', 'enable_sort=off');
});
$node->safe_psql('postgres', "SELECT ruvector_dag_backup('$backup')");
$node->safe_psql('postgres', q{
	INSERT INTO ndag_arms (name, settings) VALUES ('after_backup', 'enable_sort=off');
});

# arms(): which of the two custom arms the store holds
sub arms
{
	return $node->safe_psql('postgres',
		"SELECT string_agg(name, ',' ORDER BY name) FROM ndag_arms WHERE NOT builtin");
}
# staged(): restore directories left beside the store
sub staged
{
	opendir(my $dh, $node->data_dir) or die;
	my @left = grep { /^neural_dag\.(restore|replaced)\./ } readdir($dh);
	closedir $dh;
	return scalar @left;
}

is(arms(), 'after_backup,in_backup', 'both arms before any restore');

$node->safe_psql('postgres', "BEGIN; SELECT ruvector_dag_restore('$backup'); ROLLBACK;");
is(arms(), 'after_backup,in_backup', 'a rolled-back restore changes nothing');
is(staged(), 0, 'and leaves no directory behind');

$node->safe_psql('postgres', "BEGIN; SAVEPOINT s; SELECT ruvector_dag_restore('$backup'); ROLLBACK TO s; COMMIT;");
is(arms(), 'after_backup,in_backup', 'a restore in a rolled-back savepoint changes nothing');
is(staged(), 0, 'and leaves no directory behind');

is(sql_state($node, "BEGIN; SELECT ruvector_enable_neural_dag('rt'); SELECT ruvector_disable_neural_dag('rt'); SELECT ruvector_dag_restore('$backup'); COMMIT;"),
	'55000', 'a transaction that changed the store cannot also restore it');
is(sql_state($node, "BEGIN; SELECT ruvector_dag_restore('$backup'); SELECT ruvector_disable_neural_dag('rt'); COMMIT;"),
	'55000', 'nor change it after restoring');
is(arms(), 'after_backup,in_backup', 'neither changed anything');
is($node->safe_psql('postgres', "SELECT count(*) FROM ndag_tables WHERE relid = 'rt'::regclass"),
	'1', 'the table is still enabled');
is(staged(), 0, 'no directory is left behind');

is($node->safe_psql('postgres', qq{
	BEGIN;
	SELECT ruvector_dag_restore('$backup') > 0;
	SELECT string_agg(name, ',' ORDER BY name) FROM ndag_arms WHERE NOT builtin;
	COMMIT;}),
	"t\nafter_backup,in_backup", 'before its commit the transaction still sees the old state');
is(arms(), 'in_backup', 'after the commit the backup\'s state is in place');
is(staged(), 0, 'and the replaced store is gone');

# the live store damaged while the server runs: the root page of the arms
# overwritten with zeros
$node->safe_psql('postgres', q{
	INSERT INTO ndag_arms (name, settings) VALUES ('after_backup', 'enable_sort=off');
});
my $root = ndag_dbi_root("$store/data.mdb", 'arms');
ndag_write_file_bytes("$store/data.mdb", $root * 4096, "\0" x 4096);
isnt(sql_state($node, 'SELECT count(*) FROM ndag_arms'), '',
	'the damaged store cannot be read');
is(sql_state($node, "SELECT ruvector_dag_restore('$backup')"), '',
	'a restore works while the live store is damaged');
is(arms(), 'in_backup', 'after it the store can be read and holds the backup\'s state');

# the live store unreadable (no permissions)
chmod 0000, $store or die;
is(sql_state($node, "SELECT ruvector_dag_restore('$backup')"), '',
	'a restore works while the live store cannot be read');
is(arms(), 'in_backup', 'and the restored store can be read');
chmod 0700, $_ for glob($node->data_dir . '/neural_dag*');

# damaged backups: SQLSTATE XX001
my $bad = $node->basedir . '/bad_meta.mdb';
copy($backup, $bad) or die;
for my $page (0, 1)
{
	# mapsize, the roots and the last page of both meta pages: garbage
	ndag_write_file_bytes($bad, $page * 4096 + 32, "\xff" x 120);
}
is(sql_state($node, "SELECT ruvector_dag_restore('$bad')"), 'XX001',
	'a backup whose meta pages are damaged: XX001');
my $zeroed = $node->basedir . '/bad_page.mdb';
copy($backup, $zeroed) or die;
ndag_write_file_bytes($zeroed, ndag_dbi_root($zeroed, 'arms') * 4096, "\0" x 4096);
is(sql_state($node, "SELECT ruvector_dag_restore('$zeroed')"), 'XX001',
	'a backup with a zeroed page: XX001');
my $flipped = $node->basedir . '/bad_value.mdb';
copy($backup, $flipped) or die;
{
	# flip one byte inside the value of an arm record (after its key)
	my $data = PostgreSQL::Test::Utils::slurp_file($flipped);
	my $at = index($data, 'in_backup');
	die 'arm name not found' if $at < 0;
	ndag_write_file_bytes($flipped, $at + 2, 'X');
}
is(sql_state($node, "SELECT ruvector_dag_restore('$flipped')"), 'XX001',
	'a backup with one flipped byte in a record: XX001 (checksum)');
is(arms(), 'in_backup', 'the failed restores changed nothing');

# paths too long: 42622
is(sql_state($node, "SELECT ruvector_dag_restore('/" . ('a' x 300) . "')"), '42622',
	'a file name longer than NAME_MAX: 42622');
is(sql_state($node, "SELECT ruvector_dag_restore('" . ('/a' x 600) . "')"), '42622',
	'a path longer than MAXPGPATH: 42622');

$node->stop;
done_testing();
