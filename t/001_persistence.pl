# The learned state survives a restart, and backup/restore gives back the
# backup's state; a bad restore file changes nothing.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('persist');
my $backup = $node->basedir . '/state.backup';

$node->safe_psql('postgres', q{
	CREATE TABLE t1 (a int);
	CREATE TABLE t2 (a int);
	SELECT ruvector_enable_neural_dag('t1');
	INSERT INTO ndag_arms (name, settings) VALUES ('my_arm', 'enable_sort=off');
});

$node->restart;
is($node->safe_psql('postgres', 'SELECT relid::text FROM ndag_tables'),
	't1', 'enabled table survives a restart');
is($node->safe_psql('postgres',
		"SELECT settings FROM ndag_arms WHERE name = 'my_arm'"),
	'enable_sort=off', 'custom arm survives a restart');

my $bytes = $node->safe_psql('postgres', "SELECT ruvector_dag_backup('$backup')");
ok($bytes > 0 && -s $backup == $bytes, "backup wrote $bytes bytes");

# change the state after the backup
$node->safe_psql('postgres', q{
	SELECT ruvector_disable_neural_dag('t1');
	SELECT ruvector_enable_neural_dag('t2');
	UPDATE ndag_arms SET enabled = false WHERE name = 'my_arm';
});
is($node->safe_psql('postgres', 'SELECT relid::text FROM ndag_tables'),
	't2', 'state changed after the backup');

$node->safe_psql('postgres', "SELECT ruvector_dag_restore('$backup')");
is($node->safe_psql('postgres', 'SELECT relid::text FROM ndag_tables'),
	't1', 'restore gives back the enabled tables of the backup');
is($node->safe_psql('postgres',
		"SELECT enabled FROM ndag_arms WHERE name = 'my_arm'"),
	't', 'restore gives back the arms of the backup');

# bad files: missing, empty, truncated, not LMDB; none changes anything
my $before = $node->safe_psql('postgres',
	'SELECT string_agg(relid::text, \',\') FROM ndag_tables');
my $dir = $node->basedir;
open(my $fh, '>', "$dir/empty") or die;
close $fh;
open($fh, '>', "$dir/text") or die;
print $fh "this is not an LMDB environment\n" x 2000;
close $fh;
{
	open(my $in, '<:raw', $backup) or die;
	local $/;
	my $data = <$in>;
	close $in;
	open(my $out, '>:raw', "$dir/truncated") or die;
	print $out substr($data, 0, int(length($data) / 2));
	close $out;
}
isnt(sql_state($node, "SELECT ruvector_dag_restore('$dir/missing')"), '',
	'restore from a missing file fails');
isnt(sql_state($node, "SELECT ruvector_dag_restore('$dir/empty')"), '',
	'restore from an empty file fails');
isnt(sql_state($node, "SELECT ruvector_dag_restore('$dir/truncated')"), '',
	'restore from a truncated file fails');
isnt(sql_state($node, "SELECT ruvector_dag_restore('$dir/text')"), '',
	'restore from a non-LMDB file fails');
is($node->safe_psql('postgres',
		'SELECT string_agg(relid::text, \',\') FROM ndag_tables'),
	$before, 'failed restores changed nothing');
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'server still healthy');

# the LMDB tools read the environment directory as well
my $envdir = $node->data_dir . '/neural_dag';
my ($out, $err) = run_command([ 'mdb_stat', '-a', $envdir ]);
like($out, qr/Status of tables/, 'mdb_stat reads the environment directory');

$node->stop;
done_testing();
