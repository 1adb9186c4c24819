# Every SQL example of README.md runs as written: the ```sql blocks, in the
# order they appear, in one psql session of a new database holding the demo
# schema (bench/workload/demo_schema.sql, which the examples use), on a
# server preloading neural_dag and pg_stat_statements.  An example written
# as an indented block instead of a ```sql block would escape this test, so
# none may be.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $readme = slurp_file('README.md');
my @blocks = $readme =~ /^```sql\n(.*?)^```$/msg;
cmp_ok(scalar @blocks, '>=', 5, 'README.md has its SQL examples in ```sql blocks');
my @indented = grep { /^ {4}(SELECT|CREATE|INSERT|UPDATE|DELETE|ALTER|DROP|SET)\b/ }
  split /\n/, $readme;
is(scalar @indented, 0, 'no SQL example is an indented block the test would miss')
  or diag(join("\n", @indented));

my $node = ndag_node('readme_examples',
	"shared_preload_libraries = 'neural_dag, pg_stat_statements'\n");
$node->safe_psql('postgres', 'CREATE DATABASE readme');
my ($rc, $out, $err) = $node->psql('readme', slurp_file('bench/workload/demo_schema.sql'),
	on_error_stop => 1);
is($rc, 0, 'the demo schema loads') or diag($err);
unlink '/tmp/neural_dag.backup';

my $i = 0;
for my $block (@blocks)
{
	$i++;
	($rc, $out, $err) = $node->psql('readme', $block, on_error_stop => 1);
	is($rc, 0, "example $i runs") or diag("$block\n$err");
	unlike($err // '', qr/ERROR|WARNING/, "example $i raises no error or warning");
}
unlink '/tmp/neural_dag.backup';

$node->stop;
done_testing();
