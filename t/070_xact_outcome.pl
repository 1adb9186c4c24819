# Store edits follow the transaction's real outcome: a SERIALIZABLE
# transaction whose COMMIT fails with a serialization failure (raised after
# the PRE_COMMIT callbacks) keeps nothing of its store edits (an arm inserted
# into ndag_arms, a table enabled), neither for itself nor for any other
# session, and moves no cache of the enabled tables; a plain ROLLBACK and a
# deferred constraint failing at COMMIT keep nothing either; a committed
# transaction's edits are visible to every session once COMMIT returned.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('xact_outcome');

$node->safe_psql('postgres', q{
	CREATE TABLE s1 (x int);
	CREATE TABLE s2 (x int);
	INSERT INTO s1 VALUES (1);
	INSERT INTO s2 VALUES (1);
	CREATE TABLE parent (id int PRIMARY KEY);
	CREATE TABLE child (pid int REFERENCES parent DEFERRABLE INITIALLY DEFERRED);
});

# present(ARM): "arm|table" counts of the arm named ARM and of s1 in
# ndag_tables, read by a new session
sub present
{
	my ($arm) = @_;
	return $node->safe_psql('postgres', qq{
		SELECT (SELECT count(*) FROM ndag_arms WHERE name = '$arm')
			|| '|' || (SELECT count(*) FROM ndag_tables WHERE relid = 's1'::regclass)});
}

# --- the write skew of two SERIALIZABLE sessions ---
my $a = $node->background_psql('postgres', on_error_stop => 0);
my $b = $node->background_psql('postgres', on_error_stop => 0);

$a->query_safe('BEGIN ISOLATION LEVEL SERIALIZABLE');
$a->query_safe('SELECT sum(x) FROM s1');
$a->query_safe('INSERT INTO s2 VALUES (10)');
# enabling also writes a row of ndag_enabled_tables, a table write that a
# doomed SERIALIZABLE transaction could not make any more: enable s1 before
# the other session dooms it
is($a->query_safe(q{SELECT ruvector_enable_neural_dag('s1')}), 't',
	'the doomed transaction enables s1');
$b->query_safe('BEGIN ISOLATION LEVEL SERIALIZABLE');
$b->query_safe('SELECT sum(x) FROM s2');
$b->query_safe('INSERT INTO s1 VALUES (20)');
$b->query_safe('COMMIT');

$a->query_safe(q{INSERT INTO ndag_arms (name, settings) VALUES ('skew_arm', 'enable_seqscan = off')});
is($a->query_safe(q{SELECT count(*) FROM ndag_tables WHERE relid = 's1'::regclass}), '1',
	'it sees its own enabled table before COMMIT');
$a->{stderr} = '';
my ($out, $failed) = $a->query('COMMIT');
ok($failed && $a->{stderr} =~ /could not serialize access/,
	'its COMMIT fails with a serialization failure')
  or diag($a->{stderr});
$a->{stderr} = '';

is($node->safe_psql('postgres', 'SELECT count(*) FROM s2 WHERE x = 10'), '0',
	'PostgreSQL rolled back its row');
is(present('skew_arm'), '0|0',
	'neither its arm nor its enabled table is in the store for a new session');
is($a->query_safe(q{SELECT (SELECT count(*) FROM ndag_arms WHERE name = 'skew_arm')
	|| '|' || (SELECT count(*) FROM ndag_tables WHERE relid = 's1'::regclass)}), '0|0',
	'nor for the session itself');

# the enabled-tables cache of the failed session did not move: a statement
# on s1 is not recorded there
my $recorded = q{(ruvector_dag_status()->'counters'->>'recorded')::bigint};
my $before = $a->query_safe("SELECT $recorded");
$a->query_safe('SELECT count(*) FROM s1');
is($a->query_safe("SELECT $recorded"), $before,
	'a statement on s1 is not recorded after the failed commit');

# --- a plain ROLLBACK ---
$a->query_safe('BEGIN');
$a->query_safe(q{INSERT INTO ndag_arms (name, settings) VALUES ('rolled_arm', 'enable_seqscan = off')});
$a->query_safe(q{SELECT ruvector_enable_neural_dag('s1')});
$a->query_safe('ROLLBACK');
is(present('rolled_arm'), '0|0', 'a rolled-back transaction keeps nothing');

# --- a deferred constraint failing at COMMIT ---
$a->query_safe('BEGIN');
$a->query_safe('INSERT INTO child VALUES (42)');
$a->query_safe(q{INSERT INTO ndag_arms (name, settings) VALUES ('deferred_arm', 'enable_seqscan = off')});
$a->query_safe(q{SELECT ruvector_enable_neural_dag('s1')});
($out, $failed) = $a->query('COMMIT');
ok($failed && $a->{stderr} =~ /violates foreign key constraint/,
	'a deferred constraint fails the COMMIT')
  or diag($a->{stderr});
$a->{stderr} = '';
is(present('deferred_arm'), '0|0',
	'a transaction whose deferred constraint failed keeps nothing');

# --- a committed transaction: visible everywhere once COMMIT returned ---
is($b->query_safe(q{SELECT count(*) FROM ndag_tables WHERE relid = 's1'::regclass}), '0',
	'an open session does not see s1 enabled yet');
$a->query_safe('BEGIN ISOLATION LEVEL SERIALIZABLE');
$a->query_safe(q{INSERT INTO ndag_arms (name, settings) VALUES ('kept_arm', 'enable_seqscan = off')});
$a->query_safe(q{SELECT ruvector_enable_neural_dag('s1')});
$a->query_safe('COMMIT');
is(present('kept_arm'), '1|1', 'a committed transaction keeps its edits');
is($b->query_safe(q{SELECT count(*) FROM ndag_tables WHERE relid = 's1'::regclass}), '1',
	'an open session sees them at its next statement');
$before = $b->query_safe("SELECT $recorded");
$b->query_safe('SELECT count(*) FROM s1');
ok($b->query_safe("SELECT $recorded") > $before,
	'and records statements on the table enabled by that commit');

$a->quit;
$b->quit;
$node->stop;
done_testing();
