# Fast statements are thinned in new backends too: a statement's recordings
# are counted and their mean latency kept for the whole cluster, so once
# backends have recorded a statement often enough to know it is fast, a new
# connection's first executions of it are sampled as an old one's are, not
# at the full rate; and backends that each run a statement once (a
# connection per transaction) count together.  Counted exactly:
# ruvector.dag_fast_sample_rate = 0 records no thinned execution, and a
# fast statement is one under 1 s, whatever the machine's load.
#  1. The first backend records the statement's first 8 executions, then
#     none.
#  2. A new backend records none of its executions of that statement.
#  3. A new backend whose ruvector.dag_fast_query_ms is below the shared
#     mean records every execution (each backend judges with its own
#     threshold); so does a new backend running a statement not recorded
#     8 times yet.
#  4. Backends running a new statement once each: the first 8 record it,
#     the next ones do not.
#  5. The constants of one statement that plan apart are fast or not apart
#     (counted under the queryId and the default plan's shape): judged
#     with a threshold of 1 ms, a frequent constant read by a sequential
#     scan is recorded at every execution, a rare one read by an index is
#     thinned after its own 8 recordings.  So are constants that plan
#     alike (index scans only) but read rows by the hundred thousand or one
#     (counted under their parameter class: the plan's shape and the rows
#     bucket): the frequent constant is recorded at every execution, the
#     rare one 8 times.
#  6. A fast statement a function runs (EXECUTE in a PL/pgSQL loop, every
#     call sampled) is thinned by its own key: its first 8 executions are
#     recorded, then none, in that backend and in a new one.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shared_fast_statements',
	"ruvector.dag_fast_query_ms = 1000\n"
	  . "ruvector.dag_fast_sample_rate = 0\n"
	  . "ruvector.dag_exploration = 0\n"
	  . "ruvector.dag_healing_enabled = off\n");

$node->safe_psql('postgres', q{
	CREATE TABLE fs_t AS SELECT g AS id, g % 10 AS k FROM generate_series(1, 1000) g;
	ANALYZE fs_t;
	SELECT ruvector_enable_neural_dag('fs_t');
});

my $q = 'SELECT count(*) FROM fs_t WHERE k = 3';

# run(N, QUERY, SETTINGS): QUERY N times as top-level statements of one new
# session (after SETTINGS); the recordings it sampled
sub run
{
	my ($n, $query, $settings) = @_;
	my $before = ndag_status_counter($node, 'sampled');
	$node->safe_psql('postgres', ($settings // '') . "$query;\n" x $n);
	return ndag_status_counter($node, 'sampled') - $before;
}

# ---------- 1. the first backend: warm-up, then thinned ----------
is(run(12, $q), 8, 'the first backend records the first 8 executions only');

# ---------- 2. a new backend: thinned from its first execution ----------
is(run(5, $q), 0, 'a new backend records no execution of the known-fast statement');
is(run(5, $q), 0, 'nor does the next one');

# ---------- 3. its own threshold; statements not judged yet ----------
is(run(5, $q, "SET ruvector.dag_fast_query_ms = 0.001;\n"), 5,
	'a backend whose threshold is below the shared mean records every execution');
is(run(5, 'SELECT count(*) FROM fs_t WHERE k = 4 AND id > 0'), 5,
	'a statement not recorded 8 times yet is recorded at the full rate');

# ---------- 4. one execution per backend ----------
my $once = 'SELECT count(*) FROM fs_t WHERE k = 5 AND id < 900';
my $sampled = 0;
$sampled += run(1, $once) for 1 .. 8;
is($sampled, 8, 'eight backends running a new statement once record it each');
$sampled = 0;
$sampled += run(1, $once) for 1 .. 3;
is($sampled, 0, 'the next backends do not record it');

# ---------- 5. constants that plan apart ----------
$node->safe_psql('postgres', q{
	CREATE TABLE fs_s AS
		SELECT g AS id, CASE WHEN g <= 200000 THEN 0 ELSE g END AS k
		FROM generate_series(1, 201000) g;
	CREATE INDEX ON fs_s (k);
	ANALYZE fs_s;
	SELECT ruvector_enable_neural_dag('fs_s');
});
my $frequent = 'SELECT count(*), sum(id) FROM fs_s WHERE k = 0';
my $rare = 'SELECT count(*), sum(id) FROM fs_s WHERE k = 200500';
unlike($node->safe_psql('postgres', "EXPLAIN (COSTS OFF) $frequent"), qr/Index/,
	'the frequent constant is read by a sequential scan');
like($node->safe_psql('postgres', "EXPLAIN (COSTS OFF) $rare"), qr/Index/,
	'the rare one by the index');
my $ms1 = "SET ruvector.dag_fast_query_ms = 1;\n";
is(run(10, $frequent, $ms1), 10, 'the frequent constant, slower than 1 ms, is recorded at every execution');
is(run(12, $rare, $ms1), 8,
	'the rare constant of the same statement is recorded 8 times, then thinned');

my $alike = "SET enable_seqscan = off; SET enable_bitmapscan = off;\n";
my $frequent_alike = 'SELECT count(*), max(id) FROM fs_s WHERE k = 0';
my $rare_alike = 'SELECT count(*), max(id) FROM fs_s WHERE k = 200500';
like($node->safe_psql('postgres', $alike . "EXPLAIN (COSTS OFF) $frequent_alike"),
	qr/Index Only Scan|Index Scan/, 'without sequential and bitmap scans the frequent constant is read by the index');
is(run(10, $frequent_alike, $ms1 . $alike), 10,
	'the frequent constant read by the index is recorded at every execution');
is(run(12, $rare_alike, $ms1 . $alike), 8,
	'the rare constant read by the same plan is recorded 8 times, then thinned');

# ---------- 6. a fast statement run by a function ----------
$node->safe_psql('postgres', q{
	CREATE FUNCTION fs_loop(n int) RETURNS bigint LANGUAGE plpgsql AS $$
	DECLARE
		total bigint := 0;
		c bigint;
	BEGIN
		FOR i IN 1 .. n LOOP
			EXECUTE 'SELECT count(*) FROM fs_t WHERE k = 6 AND id <> 7' INTO c;
			total := total + c;
		END LOOP;
		RETURN total;
	END $$;
});
is(run(1, 'SELECT fs_loop(12)'), 8,
	'a call running a fast statement 12 times records its first 8 executions');
is(run(1, 'SELECT fs_loop(5)'), 0,
	'a new backend\'s call records none of them');

$node->stop;
done_testing();
