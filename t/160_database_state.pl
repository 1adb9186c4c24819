# What every new backend of a database looked up for itself at its first
# statement (is the extension installed here, which tables are enabled) is
# looked up once and shared; the shared answers follow every change.
#  1. New backends running statements on an enabled table look neither
#     pg_extension nor the store's enabled tables up: the cluster's
#     extension_lookups and enabled_table_loads move no more than the
#     epochs that make the shared answers stale.
#  2. Enabling a table in one session: another session's next statement
#     on it is recorded, and so is a new session's; disabling it: neither
#     is recorded any more.
#  3. CREATE EXTENSION in another session of a database that had none: a
#     session that ran statements there before, and a new session, record
#     their next statements on an enabled table; DROP EXTENSION in another
#     session: neither records any more.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# observe mode: statements are recorded, nothing is explored or learned
my $node = ndag_node('database_state',
	"ruvector.dag_mode = 'observe'\nruvector.dag_healing_enabled = off\n");

$node->safe_psql('postgres', q{
	CREATE TABLE ds_on AS SELECT g AS id, g % 10 AS k FROM generate_series(1, 1000) g;
	CREATE TABLE ds_later AS SELECT g AS id FROM generate_series(1, 100) g;
	ANALYZE ds_on, ds_later;
	SELECT ruvector_enable_neural_dag('ds_on');
});
$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', q{
	CREATE TABLE ot AS SELECT g AS id FROM generate_series(1, 100) g;
	ANALYZE ot;
});

# counters(): the cluster's counters named, read from a new session
sub counters
{
	my $row = $node->safe_psql('postgres', q{
		SELECT concat_ws('|', c->>'extension_lookups', c->>'enabled_table_loads',
						 c->>'extension_epoch', c->>'tables_epoch',
						 c->>'learned_epoch', c->>'sampled')
		FROM (SELECT ruvector_dag_status()->'counters' AS c) s});
	my %c;
	@c{qw(lookups loads ext_epoch tables_epoch learned_epoch sampled)} =
	  split /\|/, $row;
	return \%c;
}

# ---------- 1. new backends share the look-ups ----------
$node->safe_psql('postgres', 'SELECT count(*) FROM ds_on WHERE k = 1');
my $before = counters();
ok(defined $before->{lookups} && defined $before->{loads},
	'ruvector_dag_status() counts the look-ups');
for my $i (1 .. 6)
{
	$node->safe_psql('postgres',
		"SELECT count(*) FROM ds_on WHERE k = $i; SELECT * FROM ds_on WHERE id = $i");
}
my $after = counters();
cmp_ok($after->{sampled} - $before->{sampled}, '>=', 12,
	'the new sessions recorded their statements on the enabled table');
cmp_ok($after->{lookups} - $before->{lookups}, '<=',
	$after->{ext_epoch} - $before->{ext_epoch},
	'six new sessions did not look the extension up in pg_extension');
cmp_ok($after->{loads} - $before->{loads}, '<=',
	($after->{tables_epoch} - $before->{tables_epoch}) +
	  ($after->{learned_epoch} - $before->{learned_epoch}),
	'six new sessions did not read the enabled tables from the store');

# sampled_by(SESSION, SQL): how many executions SQL in SESSION recorded
# (nothing else runs statements on enabled tables meanwhile)
sub sampled_by
{
	my ($session, $sql) = @_;
	my $s0 = counters()->{sampled};
	$session->query_safe($sql);
	return counters()->{sampled} - $s0;
}

# ---------- 2. enabling and disabling a table ----------
my $s2 = $node->background_psql('postgres');
is(sampled_by($s2, 'SELECT count(*) FROM ds_later'), 0,
	'a table not enabled: not recorded');
$node->safe_psql('postgres', "SELECT ruvector_enable_neural_dag('ds_later')");
is(sampled_by($s2, 'SELECT count(*) FROM ds_later'), 1,
	'enabled in another session: the next statement is recorded');
my $s0 = counters()->{sampled};
$node->safe_psql('postgres', 'SELECT count(*) FROM ds_later');
is(counters()->{sampled} - $s0, 1, 'and a new session records it');
$node->safe_psql('postgres', "SELECT ruvector_disable_neural_dag('ds_later')");
is(sampled_by($s2, 'SELECT count(*) FROM ds_later'), 0,
	'disabled in another session: the next statement is not recorded');
$s0 = counters()->{sampled};
$node->safe_psql('postgres', 'SELECT count(*) FROM ds_later');
is(counters()->{sampled} - $s0, 0, 'nor a new session\'s');
$s2->quit;

# ---------- 3. CREATE and DROP EXTENSION in another session ----------
my $o2 = $node->background_psql('other');
# the answer "not installed" is looked up, and shared, here
is(sampled_by($o2, 'SELECT count(*) FROM ot'), 0,
	'no extension in the database: nothing recorded');
$node->safe_psql('other', 'SELECT count(*) FROM ot');
$node->safe_psql('other',
	"CREATE EXTENSION neural_dag; SELECT ruvector_enable_neural_dag('ot')");
is(sampled_by($o2, 'SELECT count(*) FROM ot'), 1,
	'CREATE EXTENSION in another session: the next statement is recorded');
$s0 = counters()->{sampled};
$node->safe_psql('other', 'SELECT count(*) FROM ot');
is(counters()->{sampled} - $s0, 1, 'and a new session records it');
$node->safe_psql('other', 'DROP EXTENSION neural_dag');
is(sampled_by($o2, 'SELECT count(*) FROM ot'), 0,
	'DROP EXTENSION in another session: the next statement is not recorded');
$s0 = counters()->{sampled};
$node->safe_psql('other', 'SELECT count(*) FROM ot');
is(counters()->{sampled} - $s0, 0, 'nor a new session\'s');
# created again: the tables DROP EXTENSION disabled stay disabled
$node->safe_psql('other', 'CREATE EXTENSION neural_dag');
$s0 = counters()->{sampled};
$node->safe_psql('other', 'SELECT count(*) FROM ot');
is(counters()->{sampled} - $s0, 0,
	'created again: its tables stay disabled, nothing recorded');
$node->safe_psql('other', "SELECT ruvector_enable_neural_dag('ot')");
is(sampled_by($o2, 'SELECT count(*) FROM ot'), 1,
	'enabled again: the older session records again');
$o2->quit;

$node->stop;
done_testing();
