# Helpers shared by the Perl TAP suites of neural_dag.
package NdagTest;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Exporter 'import';

our @EXPORT = qw(ndag_node sql_state wait_for);

# ndag_node(NAME, EXTRA_CONF): a started cluster preloading neural_dag, with
# the extension created in database postgres.
sub ndag_node
{
	my ($name, $extra) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init;
	$node->append_conf('postgresql.conf',
		"shared_preload_libraries = 'neural_dag'\n"
		  # the tests count recordings exactly: no thinning of fast statements
		  . "ruvector.dag_fast_query_ms = 0\n"
		  . ($extra // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION neural_dag');
	return $node;
}

# sql_state(NODE, SQL): the SQLSTATE SQL fails with, or '' if it succeeds.
sub sql_state
{
	my ($node, $sql) = @_;
	my ($stdout, $stderr);
	$node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout, stderr => \$stderr);
	return $stderr =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : '';
}

# wait_for(CODE, WHAT): call CODE until it returns true, at most 180 s.
sub wait_for
{
	my ($code, $what) = @_;
	my $deadline = time + 180;
	while (time < $deadline)
	{
		return 1 if $code->();
		select(undef, undef, undef, 0.1);
	}
	diag("timed out waiting for $what");
	return 0;
}

1;
