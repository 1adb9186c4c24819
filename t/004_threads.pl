# No BLAS (or any other) thread starts inside PostgreSQL processes, and
# OpenBLAS (the serial build) is mapped only by a process that made a large
# product: not by the postmaster that preloads the library, nor by a backend
# that plans, records and decides on enabled tables, but by one that runs a
# learning cycle over enough trajectories.
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

# openblas_mapped(PID): the OpenBLAS library a process maps, or ''
sub openblas_mapped
{
	my ($pid) = @_;
	open(my $fh, '<', "/proc/$pid/maps") or die "no maps of $pid";
	while (<$fh>) { return $1 if m{(\S*libopenblas\S*)}; }
	return '';
}

my $node = ndag_node('threads', "ruvector.dag_mode = learn\n");
my ($pkglibdir) = run_command([ 'pg_config', '--pkglibdir' ]);
chomp $pkglibdir;
my ($ldd) = run_command([ 'ldd', "$pkglibdir/neural_dag.so" ]);
unlike($ldd, qr{libopenblas}, 'the library does not link OpenBLAS');

ndag_learning_database($node, 'blas', 20000);
my $session = $node->background_psql('blas');
my $pid = $session->query_safe('SELECT pg_backend_pid()');
# planned, recorded and decided in learn mode; the Lorentz mechanism runs
# ndag_dgemv over the plan's points
$session->query_safe(q{
	DO $$
	BEGIN
		FOR i IN 1..40 LOOP
			PERFORM count(*) FROM t WHERE v = i % 7;
			PERFORM * FROM t WHERE id = i;
			PERFORM count(*) FROM t a JOIN t b USING (id) WHERE a.v = i % 7;
		END LOOP;
	END
	$$;
	SELECT count(*) FROM ruvector_attention_scores(
		'SELECT * FROM t a JOIN t b USING (id) JOIN t c USING (id)',
		'hierarchical_lorentz');
});
is(openblas_mapped($pid), '',
	'a backend that planned, recorded and decided does not map OpenBLAS');
is(threads($pid), 1, 'it has one thread');

my $pm = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'");
open(my $fh, '<', "/proc/$pm/status") or die;
my ($ppid) = map { /^PPid:\s+(\d+)/ ? $1 : () } <$fh>;
is(openblas_mapped($ppid), '', 'the postmaster does not map OpenBLAS');
is(threads($ppid), 1, 'the postmaster has one thread');

# a learning cycle trains the cost model on 120 trajectories: products of
# 120 x 64 x 71 multiply-adds and more go to OpenBLAS
my $learned = $session->query_safe(
	q{SELECT (ruvector_dag_learn()->>'trained')::int > 0});
is($learned, 't', 'the learning cycle trained the cost model');
like(openblas_mapped($pid), qr{openblas-serial/libopenblas},
	'the backend that ran it loaded the serial OpenBLAS build');
is(threads($pid), 1, 'and still has one thread');
$session->quit;

$node->stop;
done_testing();
