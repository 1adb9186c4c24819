# Dropped objects leave the learned state: DROP TABLE of an enabled table
# (also through DROP SCHEMA ... CASCADE) removes it from ndag_tables when
# the DROP commits, and not when it rolls back; DROP DATABASE removes every
# record of that database from every per-database store.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('drop_tracking');

# --- DROP TABLE ---
$node->safe_psql('postgres', q{
	CREATE TABLE d1 (x int);
	CREATE SCHEMA gone;
	CREATE TABLE gone.d2 (x int);
	CREATE TABLE kept (x int);
	SELECT ruvector_enable_neural_dag('d1');
	SELECT ruvector_enable_neural_dag('gone.d2');
	SELECT ruvector_enable_neural_dag('kept');
});
my $d1 = $node->safe_psql('postgres', q{SELECT 'd1'::regclass::oid});
my $d2 = $node->safe_psql('postgres', q{SELECT 'gone.d2'::regclass::oid});
my $kept = $node->safe_psql('postgres', q{SELECT 'kept'::regclass::oid});

# enabled(OID): whether ndag_tables holds OID
sub enabled
{
	my ($oid) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM ndag_tables WHERE relid = $oid");
}

$node->safe_psql('postgres', 'BEGIN; DROP TABLE d1; ROLLBACK;');
is(enabled($d1), '1', 'a rolled-back DROP TABLE keeps the table enabled');

$node->safe_psql('postgres', 'DROP TABLE d1');
is(enabled($d1), '0', 'DROP TABLE removes the table from ndag_tables');
$node->safe_psql('postgres', 'DROP SCHEMA gone CASCADE');
is(enabled($d2), '0', 'DROP SCHEMA ... CASCADE removes its tables too');
is(enabled($kept), '1', 'other tables stay enabled');

# a table created afterwards is not enabled, whatever OID it gets
$node->safe_psql('postgres', 'CREATE TABLE newcomer (x int)');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM ndag_tables WHERE relid = 'newcomer'::regclass}), '0',
	'a new table is not enabled');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ndag_tables'), '1',
	'only the table never dropped is left');

# --- DROP DATABASE ---
my @per_db = qw(tables patterns trajectories nodes models btsp hdc index_meta);

# entries(): the cluster-wide record counts of the per-database stores
# (healing is left out: the healer may log events of database postgres)
sub entries
{
	my $sql = join(", ",
		map { "ruvector_dag_status()->'entries'->>'$_'" } @per_db);
	my @counts = split(/\|/, $node->safe_psql('postgres', "SELECT $sql"));
	my %h;
	@h{@per_db} = @counts;
	return \%h;
}

my $baseline = entries();
ndag_learning_database($node, 'doomed', 2000);
my $doomed = $node->safe_psql('postgres',
	q{SELECT oid FROM pg_database WHERE datname = 'doomed'});
$node->safe_psql('doomed', q{
	DO $$
	BEGIN
		FOR i IN 1..30 LOOP
			PERFORM count(*) FROM t WHERE v = i % 7;
			PERFORM sum(a.v) FROM t a JOIN t b USING (id) WHERE a.id < i * 10;
		END LOOP;
	END
	$$;
	SELECT ruvector_dag_flush();
	SELECT ruvector_dag_learn();
});
is($node->safe_psql('doomed', 'SELECT count(*) > 0 FROM ndag_trajectories'), 't',
	'the database has recorded trajectories');

my $filled = entries();
ok($filled->{tables} > $baseline->{tables}
	  && $filled->{trajectories} > $baseline->{trajectories}
	  && $filled->{nodes} > $baseline->{nodes},
	'its enabled table, trajectories and nodes are in the store');

# statements of its sessions still in the shared ring are written before
# the clear, so none of them shows up afterwards
$node->safe_psql('doomed', q{SELECT count(*) FROM t WHERE v = 3});
$node->safe_psql('postgres', 'DROP DATABASE doomed');
$node->safe_psql('postgres', 'SELECT ruvector_dag_flush()');
my $after = entries();
is_deeply($after, $baseline,
	'DROP DATABASE removes every record of the database from every store');

$node->stop;
done_testing();
