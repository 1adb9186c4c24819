# The store becomes unreadable (its directory loses its permissions): the
# statements of users run and return their results as without the
# extension; the failure is a WARNING, not an error.  Once the directory is
# readable again, recording resumes.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('unavailable');
my $store = $node->data_dir . '/neural_dag';

$node->safe_psql('postgres', q{
	CREATE TABLE u_t AS SELECT g AS id, g % 3 AS k FROM generate_series(1, 300) g;
	SELECT ruvector_enable_neural_dag('u_t');
});
$node->safe_psql('postgres', 'SELECT count(*) FROM u_t');
$node->safe_psql('postgres', 'SELECT ruvector_dag_flush()');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ndag_trajectories'),
	'1', 'one execution recorded while the store is readable');

$node->stop;
chmod 0000, $store or die "chmod $store: $!";
$node->start;

my ($ret, $stdout, $stderr) = $node->psql('postgres',
	'SELECT k, count(*) FROM u_t GROUP BY k ORDER BY k');
is($ret, 0, 'a statement on an enabled table succeeds without the store');
is($stdout, "0|100\n1|100\n2|100", 'and returns its rows');
like($stderr, qr/WARNING:  neural_dag could not read the enabled tables/,
	'the failure is reported as a WARNING');

($ret, $stdout, $stderr) = $node->psql('postgres', q{
	BEGIN;
	SELECT count(*) FROM u_t WHERE k = 1;
	SELECT count(*) FROM u_t WHERE k = 2;
	COMMIT;});
is($ret, 0, 'a transaction of such statements commits');
is($stdout, "100\n100", 'with the right results');

chmod 0700, $store or die "chmod $store: $!";
$node->safe_psql('postgres', 'SELECT count(*) FROM u_t WHERE k = 0');
$node->safe_psql('postgres', 'SELECT ruvector_dag_flush()');
ok($node->safe_psql('postgres', 'SELECT count(*) FROM ndag_trajectories') >= 2,
	'recording resumes once the store is readable again');
cmp_ok($node->safe_psql('postgres',
		"SELECT (ruvector_dag_status()->'counters'->>'failed')::int"),
	'>=', 1, 'the failures are counted');

$node->stop;
done_testing();
