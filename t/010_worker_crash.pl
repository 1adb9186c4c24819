# The learner worker and the recording path under crashes: SIGKILL of a
# backend while it records and of the learner worker make the postmaster
# reinitialise; the server recovers, the worker comes back, trajectories
# flushed before are intact and recording goes on.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('worker_crash', "restart_after_crash = on\n");

# learner_pid(): pid of the running learner worker, or ''
sub learner_pid
{
	my ($ret, $out) = $node->psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'neural_dag learner'");
	return $ret == 0 ? $out : '';
}

# trajectories(): "count|sum of traj_id|sum of node rows" of the store
sub trajectories
{
	my ($ret, $out) = $node->psql('postgres', q{
		SELECT count(*) || '|' || coalesce(sum(traj_id), 0) || '|' ||
			   (SELECT count(*) FROM ndag_attention)
		FROM ndag_trajectories});
	return $ret == 0 ? $out : '';
}

ok(wait_for(sub { learner_pid() ne '' }, 'the learner to start'),
	'the learner worker runs');

$node->safe_psql('postgres', q{
	CREATE TABLE crash_t AS SELECT g AS id, g % 7 AS k FROM generate_series(1, 5000) g;
	ANALYZE crash_t;
	SELECT ruvector_enable_neural_dag('crash_t');
});
$node->safe_psql('postgres', q{
	SELECT count(*) FROM crash_t WHERE k = 1;
	SELECT k, count(*) FROM crash_t GROUP BY k;
	SELECT count(*) FROM crash_t a JOIN crash_t b USING (id) WHERE a.k = 2;
});
$node->safe_psql('postgres', 'SELECT ruvector_dag_flush()');
my $before = trajectories();
my ($n_before) = split /\|/, $before;
is($n_before, 3, 'three executions recorded and flushed');

# the learner alone flushes, without ruvector_dag_flush()
$node->safe_psql('postgres', 'SELECT count(*) FROM crash_t WHERE k = 3');
ok(wait_for(sub { (split /\|/, trajectories())[0] == 4 },
		'the learner to flush a trajectory'),
	'the learner worker flushes the ring by itself');
$before = trajectories();

# SIGKILL of the learner: a crash of a process attached to shared memory
my $learner = learner_pid();
kill 'KILL', $learner;
ok(wait_for(sub { my $p = learner_pid(); $p ne '' && $p ne $learner },
		'the learner to come back after its crash'),
	'after SIGKILL the learner worker is restarted');
is(trajectories(), $before,
	'trajectories flushed before the learner crash are intact');

# SIGKILL of a backend while it records executions in a loop
my $session = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $session->query_safe('SELECT pg_backend_pid()');
$session->query_until(qr/started/, q{
	\echo started
	DO $$
	BEGIN
		FOR i IN 1..1000000 LOOP
			PERFORM count(*) FROM crash_t WHERE k = i % 7;
		END LOOP;
	END
	$$;
});
ok(wait_for(sub {
		my ($ret, $out) = $node->psql('postgres',
			"SELECT (ruvector_dag_status()->'counters'->>'recorded')::bigint");
		return $ret == 0 && $out > 50;
	}, 'the session to record executions'),
	'the looping session records executions');
$learner = learner_pid();
kill 'KILL', $pid;
# (psql may have exited with the connection lost: its stdin is then closed)
{
	local $SIG{PIPE} = 'IGNORE';
	eval { $session->quit; };
}

ok(wait_for(sub { my $p = learner_pid(); $p ne '' && $p ne $learner },
		'recovery and a new learner after the backend crash'),
	'after a backend crash the server recovers and the learner restarts');
my ($n_after, $ids_after) = split /\|/, trajectories();
my (undef, $ids_before) = split /\|/, $before;
cmp_ok($n_after, '>=', 4, 'trajectories are readable after the crash');
is($node->safe_psql('postgres',
		'SELECT count(*) || \'|\' || sum(traj_id) FROM ndag_trajectories WHERE traj_id <= 4'),
	"4|$ids_before",
	'the trajectories flushed before the crashes are all intact');
is($node->safe_psql('postgres', q{
		SELECT count(*) FROM ndag_attention a
		WHERE NOT EXISTS (SELECT 1 FROM ndag_trajectories t WHERE t.traj_id = a.traj_id)}),
	'0', 'no node rows without their trajectory');

# recording goes on after the restart, ids keep growing
$node->safe_psql('postgres', 'SELECT count(*) FROM crash_t WHERE k = 4');
$node->safe_psql('postgres', 'SELECT ruvector_dag_flush()');
is($node->safe_psql('postgres', q{
		SELECT count(*) FROM ndag_trajectories
		WHERE traj_id = (SELECT max(traj_id) FROM ndag_trajectories)
		  AND traj_id > 4 AND exec_us > 0}),
	'1', 'executions after the restart are recorded with new ids');

$node->stop;
done_testing();
