# No BLAS (or any other) thread starts inside PostgreSQL processes: neither
# the postmaster that preloads the library nor a backend that has used it.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# threads(PID): the number of threads of a process
sub threads
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/status") or return -1;
	while (<$fh>) { return $1 if /^Threads:\s+(\d+)/; }
	return -1;
}

my $node = ndag_node('threads');
my ($pkglibdir) = run_command([ 'pg_config', '--pkglibdir' ]);
chomp $pkglibdir;
my ($ldd) = run_command([ 'ldd', "$pkglibdir/neural_dag.so" ]);
like($ldd, qr{libopenblas\.so\.0 => \S*openblas-serial/},
	'the library resolves the serial OpenBLAS build');

my $session = $node->background_psql('postgres');
my $pid = $session->query_safe('SELECT pg_backend_pid()');
# the Lorentz mechanism runs cblas_dgemv over the plan's points
$session->query_safe(q{
	SELECT ruvector_dag_status();
	SELECT count(*) FROM ndag_arms;
	CREATE TABLE th (a int);
	SELECT count(*) FROM ruvector_attention_scores(
		'SELECT * FROM th a JOIN th b USING (a) JOIN th c USING (a)',
		'hierarchical_lorentz');
});
is(threads($pid), 1, 'a backend that used the library has one thread');
my $pm = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'");
open(my $fh, '<', "/proc/$pm/status") or die;
my ($ppid) = map { /^PPid:\s+(\d+)/ ? $1 : () } <$fh>;
is(threads($ppid), 1, 'the postmaster has one thread');
$session->quit;

$node->stop;
done_testing();
