# ruvector.dag_detail_sample_rate: every recorded execution is timed and
# judged by the query memory, only the detailed ones are instrumented node
# by node and leave a trajectory.  At rate 0 the query memory still gains
# baselines and arm runs and a statement still gets an arm proven inline,
# while no trajectory is recorded (EXPLAIN ANALYZE, instrumented anyway,
# still is); at rate 1 every recorded execution leaves its trajectory.  A
# statement a backend records over and over is detailed less and less
# often past its first 100 recordings.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# the configuration's last setting wins: no detailed recording by default
my $node = ndag_node('detail_sampling', "ruvector.dag_detail_sample_rate = 0\n");

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

# trajectories(): the trajectories in the store, after a flush
sub trajectories
{
	sql('SELECT ruvector_dag_flush()');
	return sql('SELECT count(*) FROM ndag_trajectories');
}

sql(ndag_join_tables_sql('ds') . ndag_explain_function_sql('ds')
	  . ndag_run_function_sql('ds'));
my ($q) = ndag_join_queries('ds');
my $plain = 'SET ruvector.dag_mode = learn; SET ruvector.dag_exploration = 0;';

is(sql('SHOW ruvector.dag_detail_sample_rate'), '0', 'the detail rate is 0');

# ---------- 1. rate 0: observed, not recorded ----------
my $sampled = counter('sampled');
my $recorded = counter('recorded');
my $baselines = counter('query_memory_baselines');
sql("$plain SELECT ds_run('$q', 10)");
is(counter('sampled') - $sampled, 10, 'every execution is sampled');
is(counter('recorded') - $recorded, 0, 'none leaves a trajectory');
cmp_ok(counter('query_memory_baselines'), '>', $baselines,
	'the query memory keeps a baseline of the default plan');

my $arm_runs = counter('query_memory_arm_runs');
my $arm = ndag_learn_until_proven($node, 'ds', $q,
	'an arm proven faster without detailed recordings');
isnt($arm, '0', 'the statement gets an arm proven inline');
cmp_ok(counter('query_memory_arm_runs'), '>', $arm_runs,
	'the query memory counts the runs of the arms');
is(counter('recorded') - $recorded, 0, 'still no trajectory');
is(trajectories(), '0', 'the store has no trajectory');

# ---------- 2. EXPLAIN ANALYZE instruments anyway: it is recorded ----------
my $explain = sql("$plain EXPLAIN (ANALYZE, FORMAT JSON) $q");
like($explain, qr/"Recorded": true/, 'EXPLAIN ANALYZE shows the recording');
is(counter('recorded') - $recorded, 1, 'and leaves its trajectory');

# ---------- 3. rate 1: every execution recorded as before ----------
$sampled = counter('sampled');
$recorded = counter('recorded');
my $stored = trajectories();
sql("$plain SET ruvector.dag_detail_sample_rate = 1; SELECT ds_run('$q', 7)");
is(counter('sampled') - $sampled, 7, 'rate 1: every execution is sampled');
is(counter('recorded') - $recorded, 7, 'and every one leaves a trajectory');
is(trajectories() - $stored, 7, 'the store has them');

# ---------- 4. a statement recorded over and over: its detail rate falls ----------
# at rate 0.5, in one session: a statement's first 100 recordings are
# detailed with probability 0.5 (about 50), the 300 after them with
# 0.5 x 100 / recordings (about 69): about 119 of 400, where 200 had been;
# another statement in the same session starts at the full rate
my $hot = 'SELECT count(*) FROM ds_b WHERE v = 7';
my $other = 'SELECT count(*) FROM ds_b WHERE v < 7';
my $recorded_now =
  "SELECT (ruvector_dag_status()->'counters'->>'recorded')::bigint;\n";
my ($r0, $r1, $r2) = split /\n/,
  sql("$plain SET ruvector.dag_fast_query_ms = 0;"
	  . " SET ruvector.dag_detail_sample_rate = 0.5;\n"
	  . $recorded_now
	  . ("$hot \\g /dev/null\n" x 400)
	  . $recorded_now
	  . ("$other \\g /dev/null\n" x 100)
	  . $recorded_now);
my ($hot_detailed, $other_detailed) = ($r1 - $r0, $r2 - $r1);
ok($hot_detailed > 80 && $hot_detailed < 160,
	"400 recordings of one statement at rate 0.5: $hot_detailed detailed (about 119; 200 without the fall)");
ok($other_detailed > 25 && $other_detailed < 75,
	"100 recordings of another statement after them: $other_detailed detailed (about 50)");

$node->stop;
done_testing();
