# Two sessions modifying the store at the same time lose nothing.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('concurrent');
$node->safe_psql('postgres', q{
	DO $$ BEGIN
		FOR i IN 1..40 LOOP EXECUTE format('CREATE TABLE c%s (a int)', i); END LOOP;
	END $$;
});

# two clients, each inserting 100 arms with names of its own
$node->pgbench(
	'--no-vacuum --client=2 --jobs=2 --transactions=100',
	0, [qr{processed: 200/200}], [qr{^$}],
	'concurrent arm inserts',
	{
		'ndag_insert_arm' => q{
			\set n random(1, 2000000000)
			INSERT INTO ndag_arms (name, settings)
				VALUES ('c' || :client_id || '_' || :n, 'enable_material=off');
		}
	});
is($node->safe_psql('postgres',
		"SELECT count(*), count(DISTINCT arm_id) FROM ndag_arms WHERE name ~ '^c[01]_'"),
	'200|200', 'every concurrently inserted arm is there, each with its own id');

# two sessions enabling disjoint tables, one transaction per table, at once
my @sessions = map { $node->background_psql('postgres') } (0, 1);
for my $k (0, 1)
{
	$sessions[$k]->query_until(qr/go/, qq{
		\\echo go
		DO \$\$ BEGIN
			FOR i IN 1..20 LOOP
				PERFORM ruvector_enable_neural_dag(format('c%s', 2 * i - $k)::regclass);
				COMMIT;
			END LOOP;
		END \$\$;
	});
}
$_->query_safe('SELECT 1') for @sessions;
$_->quit for @sessions;
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT relid) FROM ndag_tables'),
	'40|40', 'every table enabled by either session is recorded');

$node->safe_psql('postgres',
	"SELECT ruvector_disable_neural_dag(relid) FROM ndag_tables");
is($node->safe_psql('postgres', 'SELECT count(*) FROM ndag_tables'), '0',
	'all disabled again');

$node->stop;
done_testing();
