# Helpers shared by the Perl TAP suites of neural_dag.
package NdagTest;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Exporter 'import';

our @EXPORT = qw(ndag_node sql_state wait_for ndag_dbi_root ndag_write_file_bytes
  ndag_log_since);

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

# ndag_dbi_root(FILE, NAME): the page number of the root of the named DBI
# NAME of the LMDB data file FILE (64-bit little-endian layout, 4 kB
# pages), or of the main DBI (the list of named DBIs) when NAME is undef.
sub ndag_dbi_root
{
	my ($file, $name) = @_;
	my $psize = 4096;
	open my $fh, '<:raw', $file or die "open $file: $!";
	my ($meta, $txnid);
	for my $p (0, 1)
	{
		seek($fh, $p * $psize, 0) or die;
		read($fh, my $page, $psize) == $psize or die "short read of $file";
		my $t = unpack('Q<', substr($page, 144, 8));
		($meta, $txnid) = ($page, $t) if !defined $txnid || $t > $txnid;
	}
	my $main = unpack('Q<', substr($meta, 128, 8));
	return $main if !defined $name;
	seek($fh, $main * $psize, 0) or die;
	read($fh, my $page, $psize) == $psize or die "short read of $file";
	close $fh;
	die "the main DBI of $file is not a single leaf page"
	  unless unpack('v', substr($page, 10, 2)) & 0x02;
	my $nkeys = (unpack('v', substr($page, 12, 2)) - 16) / 2;
	for my $i (0 .. $nkeys - 1)
	{
		my $ptr = unpack('v', substr($page, 16 + 2 * $i, 2));
		my $ksize = unpack('v', substr($page, $ptr + 6, 2));
		next unless substr($page, $ptr + 8, $ksize) eq $name;
		return unpack('Q<', substr($page, $ptr + 8 + $ksize + 40, 8));
	}
	die "no DBI $name in $file";
}

# ndag_write_file_bytes(FILE, OFFSET, BYTES): overwrite BYTES at OFFSET.
sub ndag_write_file_bytes
{
	my ($file, $offset, $bytes) = @_;
	open my $fh, '+<:raw', $file or die "open $file: $!";
	seek($fh, $offset, 0) or die "seek $file: $!";
	print $fh $bytes or die "write $file: $!";
	close $fh or die "close $file: $!";
}

# ndag_log_since(NODE, OFFSET): the server log from byte OFFSET on.
sub ndag_log_since
{
	my ($node, $offset) = @_;
	my $log = PostgreSQL::Test::Utils::slurp_file($node->logfile);
	return substr($log, $offset // 0);
}

1;
