# Plan rewriting on a real server: the regression guard, the veto of a
# pattern's arm by a query's own runs, the fastest proven arm.  A custom arm
# (no nested loops, operators costed 20 times higher) is found by inline
# exploration to beat a nested loop over a gross underestimate, proven
# faster by paired runs and learned as a pattern's best arm.  Then the data
# changes so that the default plan becomes cheap to run, and JIT is set to
# compile plans whose estimated cost is above the default plan's and below
# the arm's: applied by the pattern to a statement of the same shape, the
# arm now runs far slower than that statement's default plan on the pairs
# of re-validation (a default run every other execution while the arm is
# not proven for the statement, the arm's next run paired with it), and is demoted (query memory, the pattern's
# demoted_arms, an ndag_healing event), after which the statement plans by
# default again.  Before that, a third statement of the same shape, on
# which no row qualifies (the nested loop has nothing to rescan), explores
# the arm under that JIT setting: proven not faster there, the pattern
# never applies it to that statement.  Last, on fresh tables, an arm that
# compiles the plan with JIT beats the nested loop and is proven first;
# the arm without JIT, enabled later, is explored and, proven far faster,
# replaces it.  The session's planner settings stay as they were
# throughout.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('rewriting');

$node->safe_psql('postgres', ndag_join_tables_sql('rw')
	  . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('rw')
	  . ndag_run_function_sql('rw') . q{
	CREATE FUNCTION rw_settings() RETURNS text LANGUAGE sql AS $$
		SELECT string_agg(name || '=' || setting || '/' || source, ', ' ORDER BY name)
		FROM pg_settings WHERE name LIKE 'enable%' OR name LIKE 'jit%'
	$$;
});
my $arm = $node->safe_psql('postgres',
	"SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");
ok($arm > 11, "a custom arm is added ($arm)");

my ($q, $q2) = ndag_join_queries('rw');
my $learn = ndag_explore_settings();
my $jit = ndag_jit_settings();
# (PostgreSQL 18 as built here has no JIT: the steps whose arm is slow
# only under compiling JIT are skipped there)
my $jit_available = $node->safe_psql('postgres', 'SELECT pg_jit_available()') eq 't';

# sql(SQL): the output of SQL in one session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

# 1. the default plan is observed, the custom arm explored and remembered
sql("SET ruvector.dag_mode = 'observe'; SELECT rw_run('$q', 3); SELECT ruvector_dag_flush()");
is(sql("SET ruvector.dag_mode = 'observe'; SELECT rw_explain('$q')->>'Join'"),
	'Nested Loop', 'the default plan is a nested loop');
sql("$learn SELECT rw_run('$q', 12); SELECT ruvector_dag_flush()");
is( sql("SELECT string_agg(DISTINCT decision, ',' ORDER BY decision)
		FROM ndag_trajectories WHERE arm = $arm"),
	'explore,proven',
	'the arm was explored, proven by paired runs, then applied');

# 2. learned: a pattern prefers the arm
sql("SELECT ruvector_dag_learn()");
my $pattern = sql("SELECT pattern_id FROM ndag_patterns WHERE best_arm = $arm
	ORDER BY support DESC LIMIT 1");
ok($pattern ne '', "a pattern prefers the arm ($pattern)");

# 2b. a statement of the same shape on which the arm is slower (JIT as in
# 4): its default plan is observed, then in learn mode with the pattern
# held off (threshold 1) the arm is explored on it
my $q3 = "SELECT a.id, c.n FROM rw_a a JOIN (SELECT v, count(*) AS n FROM rw_b GROUP BY v) c "
  . "ON c.v = a.id WHERE a.x = 1 AND a.y = 1 AND a.z = 2 AND a.id >= 0";
sql("$jit SET ruvector.dag_mode = 'observe'; SELECT rw_run('$q3', 3); SELECT ruvector_dag_flush()");
my $qid3 = sql("SELECT query_id FROM ndag_trajectories ORDER BY traj_id DESC LIMIT 1");
sql("$learn $jit SET ruvector.dag_confidence_threshold = 1; SELECT rw_run('$q3', 8);
	SELECT ruvector_dag_flush()");
ok( sql("SELECT count(*) FROM ndag_trajectories
		WHERE query_id = $qid3 AND arm = $arm AND decision = 'explore'") >= 1,
	'the arm was explored on the third statement');
diag(sql("SELECT string_agg(arm || ':' || decision || ':' || round(exec_us / 1000) || 'ms', ' '
	ORDER BY traj_id) FROM ndag_trajectories WHERE query_id = $qid3"));
my $e3 = sql("$jit SET ruvector.dag_mode = 'apply'; SET ruvector.dag_confidence_threshold = 0;
	SELECT rw_explain('$q3')");
SKIP:
{
	# without JIT (a server built without LLVM) the arm is about as fast
	# as the default plan on this statement, and a pattern's arm not
	# measured slower is applied (and validated against the default)
	skip 'JIT is not available: the arm is not slower on the third statement', 2
	  unless $jit_available;
	unlike($e3, qr/"Arm": "$arm /, 'the pattern does not apply the arm where it measured slower');
	like($e3, qr/"Join": "Nested Loop"/, 'that statement keeps its default plan');
}
like( sql("SET ruvector.dag_mode = 'apply'; SET ruvector.dag_confidence_threshold = 0;
		SELECT rw_explain('$q2')"),
	qr/"Decision": "pattern"/, 'while the pattern still applies to the variant that never ran it');
is(sql("SELECT count(*) FROM ndag_healing WHERE kind = 'regressed_arm'"),
	'0', 'exploration is not judged by the regression guard');

# 3. the default plan becomes cheap (no row qualifies any more, the
# estimates stay) and the variant's baseline is observed
sql("SET ruvector.dag_mode = 'observe';
	UPDATE rw_a SET z = z + 1 WHERE x = 1;
	SELECT rw_run('$q2', 5); SELECT ruvector_dag_flush()");

# 4. applied by the pattern under compiling JIT, the arm is slow
my $before = sql("$jit SET ruvector.dag_mode = 'apply'; SELECT rw_settings()");
my $e = sql("$learn $jit SET ruvector.dag_mode = 'apply'; SELECT rw_explain('$q2')");
like($e, qr/"Decision": "pattern"/, 'the variant is rewritten by the pattern');
like($e, qr/"Arm": "$arm \(costly_hash\)"/, 'with the arm');
my @out = split /\n/, sql("$learn $jit SET ruvector.dag_mode = 'apply';
	SELECT rw_run('$q2', 16); SELECT rw_settings()");
is($out[-1], $before, 'the session settings are unchanged after rewritten plans');
sql("SELECT ruvector_dag_flush()");

SKIP:
{
	# without JIT the arm runs the same work as the default plan here (the
	# hash is never built when no outer row qualifies): equal plans, which
	# the guard must not tell apart, so there is nothing to demote
	skip 'JIT is not available: the arm is not slower than the default plan', 7
	  unless $jit_available;

	is( sql("SELECT count(*) FROM ndag_healing WHERE kind = 'regressed_arm'
			AND action LIKE 'arm $arm demoted%'"),
		'1', 'the regression guard recorded the demotion once');
	is(sql("SELECT $arm = ANY (demoted_arms) FROM ndag_patterns WHERE pattern_id = $pattern"),
		't', 'the pattern lists the arm as demoted');
	ok( sql("SELECT (ruvector_dag_status()->'counters'->>'demotions')::int") >= 1,
		'the demotion is counted');
	$e = sql("$learn $jit SET ruvector.dag_mode = 'apply'; SELECT rw_explain('$q2')");
	unlike($e, qr/"Arm": "$arm /, 'the demoted arm is no longer applied');
	my ($runs, $detail) = split /\|/, sql("SELECT
		(SELECT count(*) FROM ndag_trajectories WHERE arm = $arm AND decision = 'pattern'),
		(SELECT detail FROM ndag_healing WHERE kind = 'regressed_arm')");
	like($detail, qr/over \d+ paired runs/, "the demotion says what proved it ($detail)");
	ok($runs >= 1 && $runs <= 12, "the arm ran $runs times under the pattern until its demotion");

	# 5. a new backend sees the demotion too (the pattern record)
	$e = sql("$learn $jit SET ruvector.dag_mode = 'apply'; SELECT rw_explain('$q2')");
	unlike($e, qr/"Arm": "$arm /, 'in a new session as well');
}

# 6. the fastest measured arm replaces the first one remembered: on fresh
# tables (their own queryIds), an arm that reads rw_c in full and sorts in
# 64 kB of memory for a merge join and a sorted aggregate beats the nested
# loop that rescans 1,000 groups for each of 1,000 outer rows, is the only
# arm enabled and is remembered; then the arm that only forbids nested
# loops and parallel plans, several times faster still, is enabled too.
# Each session runs the statement once by default first, so that no arm's
# run is the session's first
$node->safe_psql('postgres', q{
	CREATE TABLE rw_c AS
		SELECT g AS id, g % 100 AS x, g % 100 AS y, g % 100 AS z
		FROM generate_series(1, 100000) g;
	CREATE TABLE rw_d AS SELECT g AS id, g % 1000 AS v FROM generate_series(1, 20000) g;
	CREATE INDEX rw_c_x ON rw_c (x);
	ANALYZE rw_c, rw_d;
	SELECT ruvector_enable_neural_dag('rw_c'), ruvector_enable_neural_dag('rw_d');
	INSERT INTO ndag_arms (name, settings) VALUES
		('slow_sort', 'enable_nestloop=off, enable_hashjoin=off, enable_hashagg=off, enable_indexscan=off, enable_bitmapscan=off, work_mem=64kB'),
		('serial_hash', 'enable_nestloop=off, max_parallel_workers_per_gather=0');
	UPDATE ndag_arms SET enabled = (name = 'slow_sort') WHERE NOT builtin;
});
my $slow_arm = sql("SELECT arm_id FROM ndag_arms WHERE name = 'slow_sort'");
my $fast_arm = sql("SELECT arm_id FROM ndag_arms WHERE name = 'serial_hash'");
my $q5 = "SELECT a.id, c.n FROM rw_c a JOIN (SELECT v, count(*) AS n FROM rw_d GROUP BY v) c "
  . "ON c.v = a.id WHERE a.x = 1 AND a.y = 1 AND a.z = 1";
sql("SET ruvector.dag_mode = 'observe'; SELECT rw_run('$q5', 2); SELECT ruvector_dag_flush()");
is(sql("SET ruvector.dag_mode = 'observe'; SELECT rw_explain('$q5')->>'Join'"),
	'Nested Loop', 'the default plan of the fresh statement is a nested loop');
my $qid5 = sql("SELECT query_id FROM ndag_trajectories ORDER BY traj_id DESC LIMIT 1");
my $warm = "SET ruvector.dag_mode = 'observe'; SELECT rw_run('$q5', 1);";
sql("$warm $learn SELECT rw_run('$q5', 10); SELECT ruvector_dag_flush()");
is( sql("SELECT string_agg(DISTINCT decision, ',' ORDER BY decision) FROM ndag_trajectories
		WHERE query_id = $qid5 AND arm = $slow_arm"),
	'explore,proven', 'the slow arm was explored, proven, then applied');
sql("UPDATE ndag_arms SET enabled = true WHERE name = 'serial_hash'");
sql("$warm $learn SELECT rw_run('$q5', 12); SELECT ruvector_dag_flush()");
diag(sql("SELECT string_agg(arm || ':' || decision || ':' || round(exec_us / 1000) || 'ms', ' '
	ORDER BY traj_id) FROM ndag_trajectories WHERE query_id = $qid5"));
ok( sql("SELECT count(*) FROM ndag_trajectories
		WHERE query_id = $qid5 AND arm = $fast_arm AND decision = 'explore'") >= 2,
	'the fast arm was explored on at least two pairs');
$e = sql("SET ruvector.dag_mode = 'apply'; SELECT rw_explain('$q5')");
like($e, qr/"Decision": "proven"/, 'the statement is rewritten from its paired runs');
like($e, qr/"Arm": "$fast_arm \(serial_hash\)"/, 'with the fastest proven arm');

done_testing();
