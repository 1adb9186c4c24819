# A store written by the 0.1.0 build (t/fixtures/store_0.1.0.mdb, made by
# t/fixtures/make_store_0.1.0.pl: format and record version 2) is read by
# this build: restored into a cluster whose database has the extension at
# 0.1.0, every foreign table shows the rows it showed under 0.1.0 (same
# count, same values), before and after ALTER EXTENSION UPDATE; the store
# then has this build's format version.  Then a store of format 2 in place
# at server start (the restored store with its format version set back to 2
# by mdb_dump/mdb_load) is accepted by the start-up check and migrated when
# it is first opened, its records unchanged.
use strict;
use warnings;
use File::Copy;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $fixture = "$ENV{TESTDIR}/t/fixtures/store_0.1.0";
my $node = ndag_node('store_fixture', "autovacuum = off\n");
my $store = $node->data_dir . '/neural_dag';
$node->safe_psql('postgres', q{
	DROP EXTENSION neural_dag;
	CREATE EXTENSION neural_dag VERSION '0.1.0';
});

# the rows each foreign table showed under 0.1.0
my @expected;
open(my $fh, '<', "$fixture.expected") or die "$fixture.expected: $!";
while (my $line = <$fh>)
{
	chomp $line;
	my ($table, $cols, $count, $md5) = split /\|/, $line;
	push @expected, [ $table, $cols, "$count|$md5" ];
}
close $fh;
cmp_ok(scalar @expected, '>=', 8, 'the fixture lists the foreign tables of 0.1.0');

# compare(WHEN): every foreign table shows the fixture's rows
sub compare
{
	my ($when) = @_;
	for my $e (@expected)
	{
		my ($table, $cols, $sum) = @$e;
		is( $node->safe_psql('postgres', qq{
				SET ruvector.dag_mode = 'off';
				SET TimeZone = 'UTC';
				SELECT count(*) || '|' || md5(coalesce(string_agg(r::text, E'\\n' ORDER BY r::text), ''))
				FROM (SELECT $cols FROM $table) r}),
			$sum, "$when: $table shows the rows of the 0.1.0 store");
	}
}

my $backup = $node->basedir . '/store_0.1.0.mdb';
copy("$fixture.mdb", $backup) or die "copy: $!";
cmp_ok($node->safe_psql('postgres', "SELECT ruvector_dag_restore('$backup')"),
	'>', 0, 'the 0.1.0 store is restored');
is($node->safe_psql('postgres', "SELECT ruvector_dag_status()->>'format_version'"),
	'3', 'the restored store has this build\'s format version');
compare('restored, extension at 0.1.0');

$node->safe_psql('postgres', 'ALTER EXTENSION neural_dag UPDATE');
is($node->safe_psql('postgres',
		"SELECT extversion FROM pg_extension WHERE extname = 'neural_dag'"),
	'0.2.0', 'ALTER EXTENSION UPDATE with the 0.1.0 store');
compare('after the update');
is($node->safe_psql('postgres', 'SELECT count(*) > 0 FROM ndag_patterns WHERE pinned'),
	't', 'the pinned pattern is still pinned');

# a format-2 store in place at server start
SKIP:
{
	skip 'mdb_dump and mdb_load (lmdb-utils) are not installed', 4
	  unless system('mdb_dump -V >/dev/null 2>&1') == 0
	  && system('mdb_load -V >/dev/null 2>&1') == 0;
	$node->stop;
	my $dump = $node->basedir . '/meta.dump';
	system_or_bail('mdb_dump', '-s', 'meta', '-f', $dump, $store);
	my $text = PostgreSQL::Test::Utils::slurp_file($dump);
	my $name = unpack('H*', 'format_version');
	$text =~ s/^ $name\n (\S+)\n/" $name\n " . format_value($1, 2) . "\n"/me
	  or die 'no format_version in the meta dump';
	open(my $out, '>', $dump) or die;
	print $out $text;
	close $out;
	system_or_bail('mdb_load', '-s', 'meta', '-f', $dump, $store);

	my $offset = -s $node->logfile;
	$node->start;
	is($node->safe_psql('postgres', "SELECT ruvector_dag_status()->>'format_version'"),
		'3', 'a format-2 store at start-up is opened and migrated to format 3');
	like(ndag_log_since($node, $offset),
		qr/neural_dag store at ".*" migrated from format version 2 to 3/,
		'the migration is logged');
	unlike(ndag_log_since($node, $offset), qr/moved aside|quarantin/i,
		'the start-up check did not move the store aside');
	compare('after the migration at open');
}

# format_value(HEX, FORMAT): the meta record HEX with its int8 value set to
# FORMAT and its CRC-32C recomputed (layout: store_record.c)
sub format_value
{
	my ($hex, $format) = @_;
	my $bytes = pack('H*', $hex);
	substr($bytes, -8) = pack('q<', $format);
	my $crc = crc32c(substr($bytes, 0, 4) . substr($bytes, 8));
	substr($bytes, 4, 4) = pack('V', $crc);
	return unpack('H*', $bytes);
}

# crc32c(BYTES): CRC-32C (Castagnoli), as PostgreSQL's pg_crc32c
sub crc32c
{
	my ($data) = @_;
	my $crc = 0xFFFFFFFF;
	for my $byte (unpack('C*', $data))
	{
		$crc ^= $byte;
		for (1 .. 8)
		{
			$crc = ($crc & 1) ? (($crc >> 1) ^ 0x82F63B78) : ($crc >> 1);
		}
	}
	return $crc ^ 0xFFFFFFFF;
}

$node->stop;
done_testing();
