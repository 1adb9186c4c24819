# A damaged store never takes the server down: after 300 random byte flips
# in the data pages of data.mdb, after one zeroed 4 kB page, and after a
# record length made huge (reading it faults), the server
# starts, users' statements run (at most one crash restart, >= 95% of
# them succeed), the store is moved aside to a quarantine directory named
# in a WARNING and replaced by an empty one, learning goes on, and
# ruvector_dag_restore() of a backup taken before the damage brings the
# learned state back.  A worker that keeps crashing is not started again.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('damaged',
	"restart_after_crash = on\nruvector.dag_all_tables = on\n");
my $store = $node->data_dir . '/neural_dag';
my $datafile = "$store/data.mdb";
my $backup = $node->basedir . '/good.mdb';

$node->safe_psql('postgres', q{
	CREATE TABLE dmg AS SELECT g AS id, g % 10 AS k, (g * 7) % 100 AS v
		FROM generate_series(1, 5000) g;
	CREATE INDEX dmg_id ON dmg (id);
	ANALYZE dmg;
	SELECT ruvector_enable_neural_dag('dmg');
	INSERT INTO ndag_arms (name, settings) VALUES ('dmg_custom', 'enable_sort=off');
	DO $$
	BEGIN
		FOR i IN 1..150 LOOP
			PERFORM count(*) FROM dmg WHERE k = i % 10;
			PERFORM * FROM dmg WHERE id = i;
			PERFORM k, sum(v) FROM dmg GROUP BY k;
		END LOOP;
	END
	$$;
});
$node->safe_psql('postgres', 'SELECT ruvector_dag_flush()');
$node->safe_psql('postgres', 'SELECT ruvector_dag_learn()');

# learned(): the learned state the backup must bring back
sub learned
{
	return $node->safe_psql('postgres', q{
		SELECT (SELECT count(*) FROM ndag_tables WHERE relid = 'dmg'::regclass)
			|| '|' || (SELECT count(*) FROM ndag_arms WHERE name = 'dmg_custom')
			|| '|' || (SELECT count(*) FROM ndag_patterns)});
}
my $before = learned();
like($before, qr/^1\|1\|[1-9]\d*$/,
	"learned state before the damage: table, custom arm, patterns ($before)");
$node->safe_psql('postgres', "SELECT ruvector_dag_backup('$backup')");

# a compact store (every page in use): restore the backup just taken
$node->safe_psql('postgres', "SELECT ruvector_dag_restore('$backup')");
is(learned(), $before, 'restoring the fresh backup keeps the learned state');

# damage_and_check(NAME, DAMAGE): stop, damage the data file, start, run a
# recording workload, and check what must hold.
sub damage_and_check
{
	my ($name, $damage) = @_;
	$node->stop;
	$damage->();
	my $offset = -s $node->logfile;
	$node->start;

	# the workload: plain statements, each in a new session
	my ($ok, $n) = (0, 300);
	for my $i (1 .. $n)
	{
		my ($ret) = $node->psql('postgres',
			'SELECT count(*) FROM dmg WHERE k = ' . ($i % 10));
		$ok++ if $ret == 0;
	}
	cmp_ok($ok, '>=', 0.95 * $n, "$name: $ok of $n user statements succeed");

	my ($ret, $count) = $node->psql('postgres',
		'SELECT ruvector_dag_flush(); SELECT count(*) FROM ndag_trajectories');
	is($ret, 0, "$name: ndag_trajectories can be read");
	$count = (split /\n/, $count)[-1] // 0;
	cmp_ok($count, '>', 0, "$name: learning goes on ($count new trajectories)");

	my $log = ndag_log_since($node, $offset);
	my $restarts = () = $log =~ /all server processes terminated; reinitializing/g;
	cmp_ok($restarts, '<=', 1, "$name: at most one crash restart ($restarts)");
	my ($quarantine) = $log =~
	  /WARNING:  the neural_dag store at "\Q$store\E" is damaged[^;\n]*; it was moved to "([^"]+)"/;
	ok(defined $quarantine && -f "$quarantine/data.mdb",
		"$name: the damaged store is in the quarantine directory the WARNING names");
	like($log, qr/HINT:  Restore a backup taken before the damage with ruvector_dag_restore/,
		"$name: the WARNING says how to restore");

	$node->safe_psql('postgres', "SELECT ruvector_dag_restore('$backup')");
	is(learned(), $before, "$name: restoring the backup brings the learned state back");
}

# (a) 300 random byte flips in the data pages (beyond the two meta pages)
damage_and_check('byte flips', sub {
	my $size = -s $datafile;
	srand(20261203);
	for (1 .. 300)
	{
		my $offset = 2 * 4096 + int(rand($size - 2 * 4096));
		open my $fh, '+<:raw', $datafile or die;
		seek($fh, $offset, 0);
		read($fh, my $byte, 1);
		seek($fh, $offset, 0);
		print $fh chr(ord($byte) ^ (1 + int(rand(255))));
		close $fh;
	}
});

# (b) the root page of the trajectories, zeroed
damage_and_check('zeroed page', sub {
	my $root = ndag_dbi_root($datafile, 'trajectories');
	ndag_write_file_bytes($datafile, $root * 4096, "\0" x 4096);
});

# (c) the length of a record made huge: reading it faults, so the check's
# child crashes, and that crash is its verdict
damage_and_check('record length', sub {
	my $root = ndag_dbi_root($datafile, 'arms');
	open my $fh, '<:raw', $datafile or die;
	seek($fh, $root * 4096, 0);
	read($fh, my $page, 4096);
	close $fh;
	my $ptr = unpack('v', substr($page, 16, 2));
	# mn_hi, the high 16 bits of the data size of the page's first node
	ndag_write_file_bytes($datafile, $root * 4096 + $ptr + 2, "\xff\x7f");
});
like(ndag_log_since($node, 0),
	qr/DETAIL:  Reading it crashed the checking process \(signal \d+: /,
	'record length: the check\'s crash is the verdict');

# A worker that keeps crashing: the learner killed three times in a row
# is not started again, and the log says why.
sub learner_pid
{
	my ($ret, $out) = $node->psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'neural_dag learner'");
	return $ret == 0 ? $out : '';
}
my $offset = -s $node->logfile;
for my $crash (1 .. 3)
{
	my $pid;
	ok(wait_for(sub { $pid = learner_pid(); $pid ne '' }, 'the learner'),
		"the learner runs before crash $crash");
	kill 'KILL', $pid;
	wait_for(sub { my $p = learner_pid(); $p ne '' && $p ne $pid }, 'a new learner')
	  if $crash < 3;
}
ok(wait_for(sub {
	ndag_log_since($node, $offset) =~
	  /LOG:  neural_dag learner is not started again: it crashed 3 times in a row/
}, 'the learner to give up'),
	'after three crashes in a row the learner logs why it is not started again');
is(learner_pid(), '', 'and no learner runs');
is($node->safe_psql('postgres', 'SELECT count(*) FROM dmg WHERE k = 1'), '500',
	'user statements still run');

$node->stop;
done_testing();
