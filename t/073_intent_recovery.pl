# Store edits of transactions caught by a crash between PRE_COMMIT (where
# they are recorded as an intent) and the end of their commit are settled by
# the commit log after the restart: those of a transaction whose commit
# record was written are applied, those of one that never committed are
# discarded.  A synchronous standby that never answers holds transaction A
# after its commit record; A's NOTIFY lock then holds transaction B before
# its commit, after B recorded its intent.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# a synchronous standby that never connects; only a session that asks for
# synchronous_commit = on waits for it
my $node = ndag_node('intent_recovery',
	"wal_level = replica\nmax_wal_senders = 2\n"
	  . "synchronous_standby_names = 'nobody'\nsynchronous_commit = local\n");
$node->safe_psql('postgres', q{
	CREATE TABLE t_commit (x int);
	CREATE TABLE t_abort (x int);
	CREATE TABLE t_x (x int);
});

my $intents = q{SELECT (ruvector_dag_status()->'counters'->>'xact_intents')::int};
is($node->safe_psql('postgres', $intents), '0', 'no intent at first');

my $a = $node->background_psql('postgres', on_error_stop => 0);
my $b = $node->background_psql('postgres', on_error_stop => 0);
$a->query_safe('SELECT pg_backend_pid()');

# send(SESSION, SQL): send without waiting for the result
sub send_sql
{
	my ($s, $sql) = @_;
	$s->{stdin} .= "$sql\n";
	$s->{run}->pump_nb();
}

send_sql($a, q{SET synchronous_commit = on; BEGIN; INSERT INTO t_x VALUES (1);
	SELECT ruvector_enable_neural_dag('t_commit'); NOTIFY ndag_chan; COMMIT;});
ok( wait_for(
		sub {
			$node->safe_psql('postgres',
				q{SELECT count(*) FROM pg_stat_activity WHERE wait_event = 'SyncRep'}) eq '1';
		},
		'A waiting for the synchronous standby'),
	'A committed and waits for the synchronous standby');

send_sql($b, q{BEGIN; SELECT ruvector_enable_neural_dag('t_abort');
	NOTIFY ndag_chan; COMMIT;});
ok( wait_for(
		sub {
			$node->safe_psql('postgres',
				q{SELECT count(*) FROM pg_stat_activity
				   WHERE wait_event_type = 'Lock' AND query LIKE '%COMMIT%'}) eq '1';
		},
		'B waiting for the NOTIFY lock'),
	'B waits for the NOTIFY lock before its commit');

is($node->safe_psql('postgres', $intents), '2', 'both intents are in the store');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ndag_tables'), '0',
	'neither edit is applied yet');

# crash
$node->stop('immediate');
eval { $a->quit; };
eval { $b->quit; };
$node->start;

ok( wait_for(
		sub { $node->safe_psql('postgres', $intents) eq '0' },
		'the intents to be settled'),
	'the learner settles both intents after the restart');
is($node->safe_psql('postgres', q{SELECT count(*) FROM t_x}), '1',
	'A committed');
is($node->safe_psql('postgres', q{
	SELECT string_agg(relid::regclass::text, ',') FROM ndag_tables}), 't_commit',
	'the committed edit is applied, the other one discarded');

$node->stop;
done_testing();
