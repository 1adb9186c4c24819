# pg_dump -Fc and pg_restore into a new database keep the tables enabled for
# learning: ndag_enabled_tables (a config table pg_dump carries) follows
# ruvector_enable_neural_dag(), ruvector_disable_neural_dag(), renames and
# DROP; restored into a new database its rows enable the tables there by
# name, and statements on them are recorded.  A table's owner without any
# right on the config table enables it as before.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('dump_restore');
$node->safe_psql('postgres', 'CREATE DATABASE src');
$node->safe_psql('src', q{
	CREATE EXTENSION neural_dag;
	CREATE ROLE dump_owner LOGIN;
	CREATE SCHEMA s2;
	CREATE TABLE d_one AS SELECT g AS id FROM generate_series(1, 100) g;
	CREATE TABLE s2.d_two AS SELECT g AS id FROM generate_series(1, 100) g;
	CREATE TABLE d_off (id int);
	CREATE TABLE d_gone (id int);
	CREATE TABLE d_owned (id int);
	ALTER TABLE d_owned OWNER TO dump_owner;
	SELECT ruvector_enable_neural_dag('d_one');
	SELECT ruvector_enable_neural_dag('s2.d_two');
	SELECT ruvector_enable_neural_dag('d_off');
	SELECT ruvector_enable_neural_dag('d_gone');
});

# listed(DB): the enabled tables of DB as the store and the config table
# show them
sub listed
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
		SELECT coalesce((SELECT string_agg(relid::regclass::text, ',' ORDER BY relid::regclass::text)
						 FROM ndag_tables), '')
			|| ' / ' ||
			coalesce((SELECT string_agg(relation::text, ',' ORDER BY relation::text)
					  FROM ndag_enabled_tables), '')});
}

is(listed('src'), 'd_gone,d_off,d_one,s2.d_two / d_gone,d_off,d_one,s2.d_two',
	'enabling adds the tables to ndag_enabled_tables');
$node->safe_psql('src', q{SELECT ruvector_disable_neural_dag('d_off')});
$node->safe_psql('src', 'DROP TABLE d_gone');
$node->safe_psql('src', 'ALTER TABLE d_one RENAME TO d_first');
is(listed('src'), 'd_first,s2.d_two / d_first,s2.d_two',
	'disabling, DROP and a rename are followed');

# a table's owner, with no right on ndag_enabled_tables
$node->safe_psql('src', q{
	SET ROLE dump_owner;
	SELECT ruvector_enable_neural_dag('d_owned');
});
is(listed('src'), 'd_first,d_owned,s2.d_two / d_first,d_owned,s2.d_two',
	'a table\'s owner enables it, in the config table as well');
my ($ret, $out, $err) = $node->psql('src',
	"SET ROLE dump_owner; INSERT INTO ndag_enabled_tables VALUES ('d_off')");
like($err, qr/permission denied for table ndag_enabled_tables/,
	'nobody but the extension\'s owner writes the config table directly');
$node->safe_psql('src', q{SET ROLE dump_owner; SELECT ruvector_disable_neural_dag('d_owned')});
is(listed('src'), 'd_first,s2.d_two / d_first,s2.d_two', 'and disables it');

# rows inserted by hand: a table is enabled, a view or a stale OID is not
$node->safe_psql('src', 'CREATE VIEW d_view AS SELECT * FROM d_off');
($ret, $out, $err) = $node->psql('src', q{
	INSERT INTO ndag_enabled_tables VALUES ('d_view'), ('4000000000');
	SELECT count(*) FROM ndag_tables WHERE relid IN ('d_view'::regclass, 4000000000::oid);});
is($out, '0', 'a view or a stale OID inserted into the config table is not enabled');
like($err, qr/WARNING:  "d_view" is not a table or materialized view/, 'a WARNING says so for the view');
like($err, qr/WARNING:  relation with OID 4000000000 does not exist/, 'and for the stale OID');
$node->safe_psql('src', q{DELETE FROM ndag_enabled_tables WHERE relation::oid IN ('d_view'::regclass, 4000000000::oid)});

# dump, restore into a new database
my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('src') ],
	'pg_dump -Fc');
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('dst'), $dump ], 'pg_restore');
is(listed('dst'), 'd_first,s2.d_two / d_first,s2.d_two',
	'the restored database has the same tables enabled, by name');
isnt($node->safe_psql('dst', q{SELECT 'd_first'::regclass::oid}),
	$node->safe_psql('src', q{SELECT 'd_first'::regclass::oid}),
	'(under new OIDs)');

# learning is on for them: a statement on a restored table is recorded
$node->safe_psql('dst', q{
	SELECT count(*) FROM d_first WHERE id < 10;
	SELECT count(*) FROM s2.d_two WHERE id < 10;
	SELECT count(*) FROM d_off WHERE id < 10;
});
ok( $node->poll_query_until('dst', q{
		SELECT ruvector_dag_flush() IS NOT NULL AND
			(SELECT count(DISTINCT r) FROM ndag_trajectories t, unnest(t.relids) r
			 WHERE r IN ('d_first'::regclass, 's2.d_two'::regclass)) = 2}),
	'statements on both restored tables are recorded');
is($node->safe_psql('dst', q{
		SELECT count(*) FROM ndag_trajectories t
		WHERE 'd_off'::regclass = ANY (t.relids)}),
	'0', 'a table not enabled is not recorded');

$node->stop;
done_testing();
