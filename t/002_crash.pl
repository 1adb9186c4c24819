# A backend killed with SIGKILL in the middle of writing, and a postmaster
# killed with SIGKILL: the environment opens cleanly afterwards and every
# committed change is intact.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('crash', "restart_after_crash = on\n");

$node->safe_psql('postgres', q{
	INSERT INTO ndag_arms (name, settings)
	SELECT 'before_' || g, 'enable_nestloop=off' FROM generate_series(1, 20) g;
});

# A session that commits one arm after another (each COMMIT writes to LMDB)
my $writer = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $writer->query_safe('SELECT pg_backend_pid()');
$writer->query_until(qr/started/, q{
	\echo started
	DO $$
	BEGIN
		FOR i IN 1..100000 LOOP
			INSERT INTO ndag_arms (name, settings)
				VALUES ('loop_' || i, 'enable_hashjoin=off');
			COMMIT;
		END LOOP;
	END
	$$;
});
ok(wait_for(sub {
	$node->safe_psql('postgres',
		"SELECT count(*) FROM ndag_arms WHERE name LIKE 'loop_%'") >= 50
}, 'the writer to commit arms'), 'the writer commits arms');

kill 'KILL', $pid;
$writer->quit;

ok(wait_for(sub {
	my ($ret, $out) = $node->psql('postgres',
		"SELECT count(*) FROM ndag_arms WHERE name LIKE 'before_%'");
	return $ret == 0 && $out eq '20';
}, 'recovery after the backend crash'),
	'after a backend crash the store opens and committed arms are intact');
my $loop = $node->safe_psql('postgres',
	"SELECT count(*), count(DISTINCT name), coalesce(max(substr(name, 6)::int), 0) FROM ndag_arms WHERE name LIKE 'loop_%'");
my ($n, $distinct, $max) = split /\|/, $loop;
ok($n >= 50 && $n == $distinct && $max == $n,
	"arms committed before the kill are all readable ($n rows, no gap)");

# SIGKILL of the postmaster: children notice and exit, then a restart
$node->safe_psql('postgres',
	"INSERT INTO ndag_arms (name, settings) VALUES ('before_pm_kill', 'enable_sort=off')");
my $pm_pid = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'");
$node->kill9;
ok(wait_for(sub { !kill(0, $pm_pid) }, 'the checkpointer to exit'),
	'children exit after the postmaster was killed');
$node->start;
is($node->safe_psql('postgres',
		"SELECT settings FROM ndag_arms WHERE name = 'before_pm_kill'"),
	'enable_sort=off', 'after a postmaster crash committed data is intact');
like($node->safe_psql('postgres', "SELECT ruvector_dag_status()->>'generation'"),
	qr/^\d+$/, 'status reads the reopened environment');

$node->stop;
done_testing();
