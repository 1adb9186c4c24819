# Shadow runs try first the arms proven for another parameter class of the
# same statement; after them, the arm next by estimated cost ratio and the
# arm next among those the database's statements proved more often than
# they refuted take turns.  On the skewed data of t/107, k = 0 learns
# (inline) that a merge join (arm so_merge, the only one enabled) beats its
# default nested loop.  Then two arms whose cost settings make every plan
# look cheap (so_flat and so_flat_sort: their estimated cost ratios are far
# below so_merge's) are added.  Another statement (another select list) is
# captured in shadow mode: its run lists one of the cheap-looking arms, then
# so_merge, marked as favored by the database (a caret), then the other,
# where the estimated cost ratio alone would put so_merge last.  Then the
# rare constant, the first statement in another class (a hash join by
# default), is captured: its run lists so_merge first, marked as proven for
# another class of the statement (a star).  Last, on a server of N CPUs,
# a parallel aggregate planned with N workers (N + 1 processes) lists the
# arm that plans it without workers second, favored (a caret), between
# two cheap-looking arms (so_flat_sort and so_flat_index, parallel plans
# of other shapes); planned with N - 1 workers (N processes, which the
# CPUs hold) it stays where its estimated cost puts it, last.  Each in a database of its own, where nothing was
# proven that could favor an arm otherwise.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_order',
	"ruvector.dag_shadow_budget = 1\nruvector.dag_shadow_max_load = 1000000\n"
	  . "log_min_messages = debug1\n");

# sql(SQL): the output of SQL in one session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

sql(q{
	CREATE TABLE so_a AS
		SELECT g AS id, CASE WHEN g % 2 = 1 THEN 0 ELSE g END AS k,
			g % 200 AS x, g % 200 AS y, g % 200 AS z
		FROM generate_series(1, 100000) g;
	CREATE TABLE so_b AS SELECT g AS id, g % 1000 AS v FROM generate_series(1, 20000) g;
	CREATE INDEX so_a_x ON so_a (x);
	CREATE INDEX so_a_k ON so_a (k);
	ANALYZE so_a, so_b;
	SELECT ruvector_enable_neural_dag('so_a'), ruvector_enable_neural_dag('so_b');
	UPDATE ndag_arms SET enabled = false WHERE builtin AND arm_id <> 0;
	INSERT INTO ndag_arms (name, settings)
		VALUES ('so_merge', 'enable_nestloop=off, enable_hashjoin=off');
} . ndag_explain_function_sql('so') . ndag_run_function_sql('so'));

my $template = 'SELECT a.id, c.n FROM so_a a JOIN (SELECT v, count(*) AS n FROM so_b GROUP BY v) c '
  . 'ON c.v = a.id WHERE a.k = %d AND a.x = 1 AND a.y = 1 AND a.z = 1';
my $frequent = sprintf($template, 0);
my $rare = sprintf($template, 4002);
my $query_id = ndag_query_id($node, $frequent);
is(ndag_query_id($node, $rare), $query_id, 'both constants are one statement');

my $arm = sql("SELECT arm_id FROM ndag_arms WHERE name = 'so_merge'");
is(ndag_learn_until_proven($node, 'so', $frequent, 'an arm proven for k = 0'),
	"$arm (so_merge)", 'k = 0 proved so_merge');
sql(q{INSERT INTO ndag_arms (name, settings) VALUES ('so_flat',
	'enable_indexscan=off, enable_bitmapscan=off, seq_page_cost=0.01, cpu_tuple_cost=0.0001, cpu_operator_cost=0.0001')});
sql(q{INSERT INTO ndag_arms (name, settings) VALUES ('so_flat_sort',
	'enable_indexscan=off, enable_bitmapscan=off, enable_hashagg=off, seq_page_cost=0.01, cpu_tuple_cost=0.0001, cpu_operator_cost=0.0001')});
my $flat = sql("SELECT arm_id FROM ndag_arms WHERE name = 'so_flat'");
my $flat_sort = sql("SELECT arm_id FROM ndag_arms WHERE name = 'so_flat_sort'");
my $flats = qr/(?:$flat|$flat_sort)/;

my $other = 'SELECT a.id, a.y, c.n FROM so_a a JOIN (SELECT v, count(*) AS n FROM so_b GROUP BY v) c '
  . 'ON c.v = a.id WHERE a.k = 0 AND a.x = 1 AND a.y = 1 AND a.z = 1';
isnt(ndag_query_id($node, $other), $query_id, 'the other select list is another statement');
my $offset = -s $node->logfile;
sql(ndag_shadow_settings() . " $other");
my $order = ndag_candidate_order($node, $offset, 'the other statement run in the background');
note("candidate order: $order");
like($order, qr/^($flats) $arm\^ (?!\1)$flats$/,
	'the arm the database proved is the other statement\'s second candidate, after the '
	  . 'cheapest-looking one and before the other cheaper-looking one');
wait_for(sub { ndag_shadow_idle($node) }, 'the other statement\'s shadow run to end');

$offset = -s $node->logfile;
sql(ndag_shadow_settings() . " $rare");
$order = ndag_candidate_order($node, $offset, 'the rare constant run in the background');
ok(defined $order, 'the rare constant is run in the background');
note("candidate order: $order");
# favored too unless the other statement's run refuted it
like($order, qr/^$arm\*\^? ($flats) (?!\1)$flats$/,
	'the arm proven for k = 0 is its first candidate, before the cheaper-looking ones');

# ---------- a parallel plan with more processes than the machine's CPUs ----------
# the CPUs the server may use, as it counts them (the CPUs online unless its
# affinity or a CPU quota allows fewer: t/132)
my $ncpu = ndag_status_counter($node, 'shadow_cpus');
sql(q{INSERT INTO ndag_arms (name, settings) VALUES
	('so_serial', 'max_parallel_workers_per_gather=0'),
	('so_flat_index', 'enable_seqscan=off, enable_bitmapscan=off, seq_page_cost=0.01, random_page_cost=0.01, cpu_tuple_cost=0.0001, cpu_operator_cost=0.0001')});
my $serial = sql("SELECT arm_id FROM ndag_arms WHERE name = 'so_serial'");
my $flat_index = sql("SELECT arm_id FROM ndag_arms WHERE name = 'so_flat_index'");

# order_with_workers(DB, WORKERS): the candidate order of a parallel
# aggregate planned with WORKERS workers, captured in database DB
sub order_with_workers
{
	my ($db, $workers) = @_;
	sql("CREATE DATABASE $db");
	$node->safe_psql($db, qq{
		CREATE EXTENSION neural_dag;
		CREATE TABLE so_p AS SELECT g AS id, g % 1000 AS v FROM generate_series(1, 300000) g;
		CREATE INDEX so_p_v ON so_p (v);
		ALTER TABLE so_p SET (parallel_workers = $workers);
		VACUUM ANALYZE so_p;
		SELECT ruvector_enable_neural_dag('so_p');
		ALTER DATABASE $db SET max_parallel_workers_per_gather = $workers;
		ALTER DATABASE $db SET parallel_setup_cost = 0;
		ALTER DATABASE $db SET parallel_tuple_cost = 0;
	});
	my $query = 'SELECT v, count(*) FROM so_p GROUP BY v';
	like($node->safe_psql($db, "EXPLAIN (COSTS OFF) $query"), qr/Workers Planned: $workers/,
		"the aggregate is planned with $workers workers");
	my $from = -s $node->logfile;
	$node->safe_psql($db, ndag_shadow_settings() . " $query");
	my $order = ndag_candidate_order($node, $from, "the aggregate with $workers workers run in the background");
	note("candidate order with $workers workers on $ncpu CPUs: $order");
	wait_for(sub { ndag_shadow_idle($node) }, 'its shadow run to end');
	return $order;
}

my $parallel_flats = qr/(?:$flat_sort|$flat_index)/;
like(order_with_workers('oversubscribed', $ncpu), qr/^($parallel_flats) $serial\^ (?!\1)$parallel_flats$/,
	'more processes than CPUs: the arm without workers is the second candidate, favored');
SKIP:
{
	skip 'one CPU: a plan without workers is the only one that fits', 1 if $ncpu < 2;
	like(order_with_workers('fitting', $ncpu - 1), qr/^($parallel_flats) (?!\1)$parallel_flats $serial$/,
		'as many processes as CPUs: the arm without workers stays last, by its estimated cost');
}

$node->stop;
done_testing();
