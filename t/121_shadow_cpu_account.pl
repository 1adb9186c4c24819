# The account of shadow time is charged with the CPU time shadow runs
# take, not with their wall-clock time.  Users' statements that keep a CPU
# busy each (backends of the server at nice 0, four times as many as the
# machine has CPUs; processes outside the server would not do on a kernel
# that shares the CPU between sessions first) leave the shadow worker at
# nice 10 a small share of a CPU, so its runs take several times longer
# than the CPU they use.  With a budget of 0.02 CPU (an account of 1.2 s of
# CPU), one statement's run of up to 16 pairs uses a few hundred ms of CPU:
# the account is charged that, and what it lost is less than half the
# run's wall-clock time (charged with the wall-clock time it would have
# lost all of it, less the little the budget refilled meanwhile).  Then a
# statement with parallel workers: they are charged their CPU time too.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_cpu_account',
	"ruvector.dag_shadow_budget = 0.02\nruvector.dag_shadow_max_load = 1000000\n"
	  . "max_parallel_workers_per_gather = 0\n");
my $capacity_ms = 0.02 * 60 * 1000;

# sql(SQL): the output of SQL in one session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

# counter(NAME): a counter of ruvector_dag_status()
sub counter
{
	return ndag_status_counter($node, shift);
}

sql(ndag_join_tables_sql('ca'));
my ($q) = ndag_join_queries('ca');
my $shadow = ndag_shadow_settings();

is(counter('shadow_cpu_ms'), 0, 'nothing charged at start');
cmp_ok(counter('shadow_budget_ms_available'), '>=', $capacity_ms - 1,
	'the account starts full');

# users' statements that keep a CPU busy each, until cancelled
chomp(my $ncpu = `getconf _NPROCESSORS_ONLN`);
$ncpu = 2 unless $ncpu =~ /^\d+$/ && $ncpu > 0;
# (the set-returning function in the target list hands out its rows one
# at a time; in FROM it would write them to a temporary file, and a
# statement waiting on its writes leaves the CPU to the shadow worker)
my $burn = 'SELECT count(*) FROM (SELECT generate_series(1, 1000000000000) g) s WHERE g % 7 = 3';
my @burners = map {
	IPC::Run::start(
		[ 'psql', '-X', '-q', '-h', $node->host, '-p', $node->port, '-c', $burn, 'postgres' ],
		'>', \my $out, '2>', \my $err)
} 1 .. 4 * $ncpu;
ok( $node->poll_query_until('postgres',
		"SELECT count(*) >= 4 * $ncpu FROM pg_stat_activity WHERE query = '$burn'"),
	'the CPU-busy statements run');

sql("$shadow $q");
ok(wait_for(sub { counter('shadow_runs') >= 1 && ndag_shadow_idle($node) }, 'the shadow run to end'),
	'the captured statement was run in the background');
my $pairs = counter('shadow_pairs');
my $wall = counter('shadow_ms');
my $cpu = counter('shadow_cpu_ms');
my $left = counter('shadow_budget_ms_available');

cmp_ok($pairs, '>=', 4, "the run made its pairs ($pairs)");
cmp_ok($cpu, '>', 0, "the account was charged ($cpu ms of CPU)");
cmp_ok($cpu, '<', $wall / 2,
	"with the CPU time, less than half the wall-clock time under the load ($wall ms)");
cmp_ok($capacity_ms - $left, '<', $wall / 2,
	"the account lost less than half the wall-clock time ($left of $capacity_ms ms left)");
cmp_ok($left, '>', 0, 'the run never put the account in debt');

# ---------- parallel plans: their workers are charged their CPU time too ----------
# Under the same load, a statement whose plans launch two parallel workers:
# charged with their wall-clock time, its runs (three processes waiting for
# a CPU together) would cost the account more than twice their wall-clock
# time; charged with the CPU time the kernel counted, less than it.
$node->append_conf('postgresql.conf',
	"max_parallel_workers_per_gather = 2\nparallel_setup_cost = 0\n"
	  . "parallel_tuple_cost = 0\nmin_parallel_table_scan_size = 0\n");
$node->reload;
my $parallel_q = (ndag_join_queries('ca'))[1];
like(sql("EXPLAIN (COSTS OFF) $parallel_q"), qr/Gather/, 'the second statement plans parallel workers');
my %before = map { $_ => counter($_) } qw(shadow_runs shadow_ms shadow_cpu_ms shadow_worker_waits);
sql("$shadow $parallel_q");
ok( wait_for(
		sub { counter('shadow_runs') > $before{shadow_runs} && ndag_shadow_idle($node) },
		'the parallel shadow run to end'),
	'the parallel statement was run in the background');
my %spent = map { $_ => counter($_) - $before{$_} } keys %before;
sql("SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = '$burn'");
$_->finish for @burners;

cmp_ok($spent{shadow_worker_waits}, '>', 0,
	"its runs' parallel workers reported their times ($spent{shadow_worker_waits})");
cmp_ok($spent{shadow_cpu_ms}, '<', $spent{shadow_ms},
	"charged $spent{shadow_cpu_ms} ms of CPU, less than its $spent{shadow_ms} ms of wall-clock time");
is(counter('shadow_errors'), 0, 'no shadow run failed');

$node->stop;
done_testing();
