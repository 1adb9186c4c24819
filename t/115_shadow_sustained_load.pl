# Shadow learning goes on under a sustained load.  CPU-burning processes
# started by the test keep the 2-core machine loaded for the whole test,
# and ruvector.dag_shadow_max_load is set so low that the load-shrunk
# budget is a few thousandths of a CPU: without a floor every round would
# buy a sleep of minutes (the 10-minute cap), as a bracket of large
# statements did on a machine at load 13.  ruvector.dag_shadow_min_share
# (0.5 CPU by default) is the floor: shadow runs keep making pairs, prove
# a clearly faster arm (no nested loop where the default's nested loop is
# far slower) for one statement and, captured later, for another within a
# bounded wait, while users' executions run the default plan only until
# the arm is proven.  A statement whose plans are parallel is screened
# without parallel workers on both sides of its pairs while the budget is
# below the processes a parallel run would take; an arm that passes is
# proven only by pairs run with the workers, as users run it, and a later
# run of the statement takes it up there without screening it again.
# Every pair compares its runs' times with the load's part taken out,
# those with parallel workers too (the workers report their waits).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_sustained_load',
	"ruvector.dag_shadow_max_load = 0.001\n"
	  # each shadow pair logged with what it compared
	  . "log_min_messages = debug2\n");

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

ndag_burn_cpu(6);

is(sql('SHOW ruvector.dag_shadow_min_share'), '0.5', 'the minimum share is 0.5 CPU by default');

sql(ndag_join_tables_sql('sl') . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('sl'));
my $arm = sql("SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");
my ($q1, $q2) = ndag_join_queries('sl');
my $shadow = ndag_shadow_settings();

is(sql("SET ruvector.dag_mode = 'observe'; SELECT sl_explain('$q1')->>'Join'"),
	'Nested Loop', 'the default plan is a nested loop');

# proven_by_shadow(Q, WHAT): run Q once as a user, then wait (bounded) for
# shadow runs to prove the arm for it; whether EXPLAIN then shows it
sub proven_by_shadow
{
	my ($q, $what) = @_;
	sql("$shadow $q");
	return wait_for(
		sub {
			sql("$shadow SELECT sl_explain('$q')->>'Decision'") eq 'proven';
		},
		$what);
}

# users(WHERE): the recorded user executions matching WHERE
sub users
{
	sql('SELECT ruvector_dag_flush()');
	return sql('SELECT count(*) FROM ndag_trajectories WHERE ' . shift);
}

ok(proven_by_shadow($q1, 'the first statement proven'),
	'under the load, shadow runs prove the faster arm of a statement');
my $pairs = counter('shadow_pairs');
ok($pairs >= 2, "over paired runs ($pairs)");
is(users('arm <> 0'), '0', "the user's execution ran the default plan only");

ok(proven_by_shadow($q2, 'the second statement proven'),
	'and keep making pairs: a statement captured later is proven too');
ok(counter('shadow_pairs') >= $pairs + 2, 'over pairs of its own');
is(users('arm <> 0'), '0', "users' executions ran no unproven arm");
sql("$shadow $q1; $q2;");
is(users("decision = 'proven' AND arm = $arm"), '2', 'once proven, users run the arm');
is(users("arm <> 0 AND decision <> 'proven'"), '0', 'and no other');
is(counter('shadow_errors'), 0, 'no shadow run failed');
is(counter('shadow_serial_pairs'), 0, 'plans without parallel workers are run as they are');
note('shadow time ' . counter('shadow_ms') . ' ms, own load '
	  . counter('shadow_own_load_pct') . '%');

# ---------- a parallel plan: screened serially, proven as users run it ----------
# with parallel plans made cheap, a third join statement plans a parallel
# hash join; the budget is below the processes its parallel run takes, so
# its pairs are screened without parallel workers first, and the arm that
# passes the screening is proven only by pairs run with the workers, as
# users run it.  Screened alone, costly_hash would be proven: serially
# the default is the slow nested loop, but with the workers it is a hash
# join like costly_hash's.  The arm serial_hash (a hash join without
# workers) is faster either way.
sql(q{
	ALTER ROLE postgres SET parallel_setup_cost = 0;
	ALTER ROLE postgres SET parallel_tuple_cost = 0;
	ALTER ROLE postgres SET min_parallel_table_scan_size = 0;
	ALTER ROLE postgres SET min_parallel_index_scan_size = 0;
	UPDATE ndag_arms SET enabled = false WHERE name = 'costly_hash';
	INSERT INTO ndag_arms (name, settings) VALUES ('serial_hash',
		'enable_nestloop=off, cpu_operator_cost=0.05, max_parallel_workers_per_gather=0');
});
my $serial_arm = sql("SELECT arm_id FROM ndag_arms WHERE name = 'serial_hash'");
my $qp = "$q1 AND a.id >= 0";
like(sql("EXPLAIN (COSTS OFF) $qp"), qr/Gather/, 'the statement plans parallel');
my $serial = counter('shadow_serial_pairs');
my $screened = counter('shadow_screened');
$pairs = counter('shadow_pairs');
ok(proven_by_shadow($qp, 'the parallel statement proven'),
	'the arm of the parallel statement is proven');
like(sql("$shadow SELECT sl_explain('$qp')->>'Arm'"), qr/^$serial_arm /, 'serial_hash');
my $serial_now = counter('shadow_serial_pairs') - $serial;
my $full_now = counter('shadow_pairs') - $pairs - $serial_now;
ok($serial_now >= 2, "screened without parallel workers first ($serial_now serial pairs)");
ok(counter('shadow_screened') > $screened, 'the arm passed its screening');
ok($full_now >= 2, "then proven by pairs run with parallel workers ($full_now)");
is(counter('shadow_errors'), 0, 'without an error');

# what the pairs compared: the runs' uncontended times, the time other
# processes' load took from them taken out: the shadow worker's waits for a
# CPU and, for runs with parallel workers, the workers' own, which they
# report; for an arm that timed out, wall-clock
my %kinds;
my $load_taken_out = 0;
for my $line (split /\n/, slurp_file($node->logfile))
{
	next unless $line =~ /shadow pair of query .* ms( \(timed out\))?, default ([\d.]+) ms, (serial|parallel), (uncontended|wall-clock), .*; wall-clock arm .* \((\d+) workers\), default ([\d.]+) ms \((\d+) workers\)/;
	my $workers = $5 + $7 > 0 ? 'with workers' : 'without workers';
	$kinds{ $1 ? 'timed out' : "$3 $4 $workers" }++;
	# any part: how much the load takes from a run depends on how the
	# kernel shares the CPUs among the workers and the burners (0.66 to
	# 0.88 of the wall-clock time in passing runs, above 0.9 in one)
	$load_taken_out++ if $7 > 0 && $2 < $6;
}
note(join(', ', map { "$_: $kinds{$_}" } sort keys %kinds));
ok($kinds{'parallel uncontended without workers'},
	'pairs of plans without workers compared uncontended times');
ok($kinds{'serial uncontended without workers'} && !$kinds{'serial wall-clock without workers'},
	'so did every pair screened without workers');
ok($kinds{'parallel uncontended with workers'} && !$kinds{'parallel wall-clock with workers'},
	'and every pair with parallel workers');
ok(counter('shadow_worker_waits') > 0, 'whose workers reported their waits');
ok($load_taken_out, "the load's part of a parallel default run is taken out ($load_taken_out pairs)");

# ---------- a run cut short after the screening: the next run goes on as users run it ----------
# with serial_hash the only arm and a run allowed three pairs, the first
# run of another parallel statement screens the arm (two serial pairs)
# and pairs it once with the workers, then stops at its cap; captured
# again, the statement's next run takes the arm as its earlier run left
# it, leading (marked +; and favored, ^: the parallel statement above
# proved it), and makes no serial pair
sql(q{
	UPDATE ndag_arms SET enabled = (name = 'serial_hash');
	ALTER SYSTEM SET ruvector.dag_shadow_max_pairs = 3;
	SELECT pg_reload_conf();
});
my $qp2 = "$q1 AND a.id >= 0 AND c.n >= 0";
my $offset = -s $node->logfile;
sql("$shadow $qp2");
ok( wait_for(
		sub {
			ndag_log_since($node, $offset) =~
			  /shadow run of query -?\d+: 1 candidate arms, 1 pursued, 3 pairs, .*, cut short/;
		},
		'the first run stopped at its cap'),
	'the first run of the statement stops at its pairs cap');
my $first_run = ndag_log_since($node, $offset);
my $screen_pairs = () = $first_run =~ /shadow pair of query .*, serial, /g;
my $user_pairs = () = $first_run =~ /shadow pair of query .*, parallel, /g;
is("$screen_pairs $user_pairs", '2 1', 'it screened the arm (two serial pairs), then paired it with the workers');
$serial = counter('shadow_serial_pairs');
$offset = -s $node->logfile;
sql("$shadow $qp2");
my $order = ndag_candidate_order($node, $offset, 'the second run started');
ok(defined $order, 'captured again, the statement runs in the background again');
is($order, "$serial_arm+^", 'the arm its earlier run left leading is marked so');
ok( wait_for(
		sub {
			ndag_log_since($node, $offset) =~ /shadow run of query -?\d+: 1 candidate arms, .*, (done|cut short)/;
		},
		'the second run ended'),
	'the second run ends');
is(counter('shadow_serial_pairs'), $serial, 'without screening the arm again');
like(ndag_log_since($node, $offset), qr/shadow pair of query .*, parallel, /,
	'its pairs ran with the workers');

$node->stop;
done_testing();
