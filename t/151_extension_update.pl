# ALTER EXTENSION neural_dag UPDATE from 0.1.0 gives the objects of a fresh
# 0.2.0 install: every member object, its columns, options, function
# definitions, triggers, event triggers, comments, privileges and the
# extension's config tables compared by name between a database updated
# from 0.1.0 and one created at 0.2.0.  The tables enabled before the update
# are in ndag_enabled_tables after it.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('extension_update');

# describe(DB): the extension's objects in DB, one line each, sorted
sub describe
{
	my ($db) = @_;
	return $node->safe_psql($db, q{
	WITH members AS (
		SELECT d.classid, d.objid, d.objsubid
		FROM pg_depend d JOIN pg_extension e ON d.refobjid = e.oid
		WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
		  AND e.extname = 'neural_dag')
	SELECT string_agg(line, E'\n' ORDER BY line) FROM (
		-- every member, its comment
		SELECT pg_describe_object(classid, objid, objsubid) || ' | '
			|| coalesce(obj_description(objid, classid::regclass::name), '') AS line
		FROM members
		UNION ALL
		-- columns of member relations, their types, defaults, options, privileges
		SELECT 'column ' || c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
			|| CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
			|| coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), '')
			|| coalesce(' options ' || array_to_string(a.attfdwoptions, ','), '')
			|| coalesce(' acl ' || a.attacl::text, '')
		FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
		JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
		LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
		UNION ALL
		SELECT 'relation ' || c.relname || ' ' || c.relkind::text || ' acl ' || coalesce(c.relacl::text, '')
			|| ' options ' || coalesce((SELECT array_to_string(ftoptions, ',')
									  FROM pg_foreign_table WHERE ftrelid = c.oid), '')
			|| ' indexes ' || coalesce((SELECT string_agg(pg_get_indexdef(indexrelid), ';' ORDER BY 1)
									   FROM pg_index WHERE indrelid = c.oid), '')
		FROM members m JOIN pg_class c ON m.classid = 'pg_class'::regclass AND c.oid = m.objid
		UNION ALL
		SELECT 'function ' || pg_get_functiondef(p.oid) || ' acl ' || coalesce(p.proacl::text, '')
		FROM members m JOIN pg_proc p ON m.classid = 'pg_proc'::regclass AND p.oid = m.objid
		WHERE p.prokind <> 'a'
		UNION ALL
		SELECT 'trigger ' || pg_get_triggerdef(t.oid)
		FROM pg_trigger t JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = t.tgrelid
		WHERE NOT t.tgisinternal
		UNION ALL
		SELECT 'event trigger ' || evtname || ' ' || evtevent || ' ' || evtfoid::regproc
			|| ' ' || evtenabled::text || ' ' || coalesce(evttags::text, '')
		FROM members m JOIN pg_event_trigger et
			ON m.classid = 'pg_event_trigger'::regclass AND et.oid = m.objid
		UNION ALL
		SELECT 'config ' || coalesce((SELECT string_agg(c::regclass::text, ',') FROM unnest(extconfig) c), '')
			|| ' ' || coalesce(array_to_string(extcondition, ','), '') || ' version ' || extversion
		FROM pg_extension WHERE extname = 'neural_dag'
		UNION ALL
		SELECT 'server ' || srvname || ' ' || coalesce(array_to_string(srvoptions, ','), '')
		FROM pg_foreign_server WHERE srvname = 'neural_dag'
	) lines});
}

$node->safe_psql('postgres', 'CREATE DATABASE updated');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('updated', q{
	CREATE EXTENSION neural_dag VERSION '0.1.0';
	CREATE TABLE before_update (id int);
	SELECT ruvector_enable_neural_dag('before_update');
});
is($node->safe_psql('updated',
		"SELECT extversion FROM pg_extension WHERE extname = 'neural_dag'"),
	'0.1.0', 'the database starts at 0.1.0');
is($node->safe_psql('updated',
		"SELECT count(*) FROM pg_class WHERE relname = 'ndag_enabled_tables'"),
	'0', 'which has no ndag_enabled_tables');
my $old = describe('updated');

$node->safe_psql('updated', 'ALTER EXTENSION neural_dag UPDATE');
$node->safe_psql('fresh', 'CREATE EXTENSION neural_dag');
is($node->safe_psql('fresh',
		"SELECT extversion FROM pg_extension WHERE extname = 'neural_dag'"),
	'0.2.0', 'a fresh install is 0.2.0');

my $updated = describe('updated');
my $fresh = describe('fresh');
isnt($updated, $old, 'the update changed the objects');
like($fresh, qr/^relation ndag_enabled_tables r /m, 'the described objects include the config table');
is($updated, $fresh, 'the updated database has the objects of a fresh 0.2.0 install');
if ($updated ne $fresh)
{
	my %u = map { $_ => 1 } split /\n/, $updated;
	my %f = map { $_ => 1 } split /\n/, $fresh;
	diag("only after the update: $_") for grep { !$f{$_} } sort keys %u;
	diag("only in a fresh install: $_") for grep { !$u{$_} } sort keys %f;
}

is($node->safe_psql('updated', 'SELECT relation::text FROM ndag_enabled_tables'),
	'before_update', 'a table enabled before the update is in ndag_enabled_tables');
is($node->safe_psql('updated', 'SELECT relid::regclass::text FROM ndag_tables'),
	'before_update', 'and still enabled in the store');

# the update works without the library preloaded too (the enabled tables
# cannot be read then: a WARNING)
$node->append_conf('postgresql.conf', "shared_preload_libraries = ''\n");
$node->restart;
$node->safe_psql('postgres', 'CREATE DATABASE cold');
$node->safe_psql('cold', "CREATE EXTENSION neural_dag VERSION '0.1.0'");
my ($ret, $out, $err) = $node->psql('cold', 'ALTER EXTENSION neural_dag UPDATE');
is($ret, 0, 'the update succeeds without the library preloaded');
like($err, qr/WARNING:.*could not be copied into ndag_enabled_tables/,
	'with a WARNING that the enabled tables were not copied');
is(describe('cold') =~ s/version 0\.2\.0//r, $fresh =~ s/version 0\.2\.0//r,
	'and gives the same objects');

$node->stop;
done_testing();
