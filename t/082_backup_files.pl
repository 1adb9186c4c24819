# ruvector_dag_backup(): a path the file system cannot take is refused with
# SQLSTATE 42622 (name too long) and a hint, not XX000; the copy is written
# to a temporary name in the target directory ("<path>.tmp.<pid>") and only
# the complete, synced file gets the final name.  A temporary file left by
# a killed backup of the same process id, or of another one, does not stand
# in the way of the next backup, whose file restores; and the final name
# appears only through that temporary file: while the temporary name cannot
# be created, nothing is written under the final name.
#
# Not covered: the "disk full" report of store_error.c (ENOSPC, or EIO on a
# full file system) needs a full file system, which a test running as an
# unprivileged user cannot make.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('backup_files');
my $dir = PostgreSQL::Test::Utils::tempdir;

$node->safe_psql('postgres', q{
	CREATE TABLE bf AS SELECT g AS id FROM generate_series(1, 1000) g;
	SELECT ruvector_enable_neural_dag('bf');
});

# ---------- names too long ----------
my $long_name = "$dir/" . ('n' x 300);
is(sql_state($node, "SELECT ruvector_dag_backup('$long_name')"), '42622',
	'a file name longer than NAME_MAX: SQLSTATE 42622');
my $long_dir = "$dir/" . ('d' x 300) . '/backup';
is(sql_state($node, "SELECT ruvector_dag_backup('$long_dir')"), '42622',
	'a directory name longer than NAME_MAX: SQLSTATE 42622');
my $long_path = $dir . ('/abcdefgh' x 120) . '/backup';
is(sql_state($node, "SELECT ruvector_dag_backup('$long_path')"), '42622',
	'a path longer than MAXPGPATH: SQLSTATE 42622');
my ($rc, $out, $err) = $node->psql('postgres', "SELECT ruvector_dag_backup('$long_name')");
like($err, qr/HINT:\s+A backup file name has at most \d+ bytes/, 'the error says the limit');
ok(!-e $long_name, 'nothing was written');

# ---------- leftovers of killed backups do not block ----------
my $s = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $s->query_safe('SELECT pg_backend_pid()');
my $backup = "$dir/learned.mdb";
# what a backup killed half-way leaves: a partial temporary file of this
# process id (reused) and one of another process
PostgreSQL::Test::Utils::append_to_file("$backup.tmp.$pid", 'partial');
PostgreSQL::Test::Utils::append_to_file("$backup.tmp.1", 'partial');
my $bytes = $s->query_safe("SELECT ruvector_dag_backup('$backup')");
cmp_ok($bytes, '>', 0, "the backup is written despite the leftovers ($bytes bytes)");
is(-s $backup, $bytes, 'the file under the final name is the complete copy');
ok(!-e "$backup.tmp.$pid", 'no temporary file of the backup is left');
is($s->query_safe("SELECT ruvector_dag_restore('$backup') > 0"), 't',
	'the backup restores');
is(sql_state($node, "SELECT ruvector_dag_backup('$backup')"), '58P02',
	'a second backup to the same name is refused (file exists)');
is(-s $backup, $bytes, 'and leaves the first backup as it was');

# ---------- the final name comes only from the temporary file ----------
my $second = "$dir/second.mdb";
mkdir("$second.tmp.$pid") or die "mkdir: $!";
$s->query("SELECT ruvector_dag_backup('$second')");
like($s->{stderr}, qr/could not create file .*second\.mdb\.tmp\.$pid/,
	'with its temporary name taken by a directory the backup fails');
ok(!-e $second, 'and nothing appears under the final name');
$s->quit;
rmdir("$second.tmp.$pid");
$bytes = $node->safe_psql('postgres', "SELECT ruvector_dag_backup('$second')");
is(-s $second, $bytes, 'once the name is free the backup is written');

$node->stop;
done_testing();
