# ruvector_dag_reset() clears the per-statement shared memory of the
# plan rewriter (default baselines, per-arm statistics, explorations,
# demotions, BTSP entries) of the database once it commits, so that a
# statement right after a reset shows no old baseline and does not explore
# from stale state; a rolled-back reset keeps it.  A plain EXPLAIN (without
# ANALYZE) never uses an exploration turn and leaves that memory as it was;
# EXPLAIN ANALYZE, which runs the statement, may explore.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('reset_query_memory');

$node->safe_psql('postgres', ndag_join_tables_sql('rq')
	  . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('rq')
	  . ndag_run_function_sql('rq'));
my $arm = $node->safe_psql('postgres',
	"SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");
my ($q, $q2) = ndag_join_queries('rq');
my $learn = ndag_explore_settings();

# sql(SQL): the output of SQL in a new session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

# memory(): the query memory counters of ruvector_dag_status() and the
# exploration counter, as one string
my @names = qw(query_memory_entries query_memory_baselines
  query_memory_arm_runs query_memory_explored query_memory_demoted
  query_memory_btsp decided_explore);
sub memory
{
	my $cols = join(", ",
		map { "coalesce(ruvector_dag_status()->'counters'->>'$_', 'none')" } @names);
	return sql("SELECT concat_ws(' ', $cols)");
}

# memory_of(NAME): one of those counters
sub memory_of
{
	my ($name) = @_;
	return sql("SELECT ruvector_dag_status()->'counters'->>'$name'");
}

# learn_statement(QUERY): the default baseline observed, an arm explored
# and proven for QUERY
sub learn_statement
{
	my ($query) = @_;
	sql("SET ruvector.dag_mode = 'observe'; SELECT rq_run('$query', 3)");
	sql("$learn SELECT rq_run('$query', 14); SELECT ruvector_dag_flush()");
}

# ---------- 1. a statement with a baseline and an arm in query memory ----------
learn_statement($q);
cmp_ok(memory_of('query_memory_entries') // 0, '>=', 1,
	'the statement is in query memory');
cmp_ok(memory_of('query_memory_baselines') // 0, '>=', 1,
	'its default baseline is in query memory');
cmp_ok(memory_of('query_memory_arm_runs') // 0, '>=', 1,
	'runs of an arm are in query memory');
my $e = sql("$learn SELECT rq_explain('$q')");
like($e, qr/"Decision": "proven"/, 'EXPLAIN shows the arm proven in query memory');
like($e, qr/"Baseline Latency"/, 'EXPLAIN shows the baseline from query memory');

# ---------- 2. a rolled-back reset keeps it ----------
my $before = memory();
sql("BEGIN; SELECT ruvector_dag_reset('all'); ROLLBACK;");
is(memory(), $before, 'a rolled-back reset leaves query memory as it was');

# ---------- 3. reset('all') clears it ----------
sql("SELECT ruvector_dag_reset('all')");
my $after = memory();
like($after, qr/^0 0 0 0 0 0 \d+$/,
	"after reset('all') the query memory of the database is empty ($after)");
# 'all' also forgot the enabled tables
sql("SELECT ruvector_enable_neural_dag('rq_a'), ruvector_enable_neural_dag('rq_b')");
$e = sql("$learn SELECT rq_explain('$q')");
like($e, qr/"Decision": "default plan"/, 'EXPLAIN after the reset shows the default plan');
unlike($e, qr/"Baseline Latency"/, 'EXPLAIN after the reset shows no old baseline');
unlike($e, qr/"Arm": "$arm /, 'EXPLAIN after the reset shows no old arm');

# the first execution after the reset is a plain default run: no stale
# baseline to explore against
sql("$learn SELECT rq_run('$q', 1); SELECT ruvector_dag_flush()");
is(sql("SELECT string_agg(decision || ':' || arm, ',') FROM ndag_trajectories"),
	'default:0', 'the first execution after the reset runs the default plan');

# ---------- 4. reset('btsp') clears the per-statement state too ----------
learn_statement($q2);
cmp_ok(memory_of('query_memory_baselines') // 0, '>=', 1,
	'a statement learned again is in query memory');
sql("SELECT ruvector_dag_reset('btsp')");
is(memory_of('query_memory_entries'), '0',
	"reset('btsp') empties the query memory of the database");

# ---------- 5. a plain EXPLAIN is no exploration ----------
sql("SET ruvector.dag_mode = 'observe'; SELECT rq_run('$q', 3); SELECT ruvector_dag_flush()");
my $recorded = sql("SELECT count(*) FROM ndag_trajectories");
$before = memory();
like($before, qr/^1 1 0 0 0 0 \d+$/, "the statement has a baseline only ($before)");
for my $i (1 .. 5)
{
	my $plain = sql("$learn SELECT rq_explain('$q')");
	like($plain, qr/"Decision": "default plan"/,
		"plain EXPLAIN $i shows the default plan");
}
is(memory(), $before,
	'five plain EXPLAINs in learn mode leave query memory and the exploration counter unchanged');
sql("SELECT ruvector_dag_flush()");
is(sql("SELECT count(*) FROM ndag_trajectories"), $recorded,
	'plain EXPLAINs record nothing');

# EXPLAIN ANALYZE runs the statement: it may use the turn (right after a
# default run, which its arm run is paired with)
sql("$learn SELECT rq_run('$q', 1); EXPLAIN (ANALYZE, FORMAT JSON) $q");
cmp_ok(memory_of('query_memory_explored'), '>=', 1,
	'EXPLAIN ANALYZE in learn mode uses an exploration turn');

$node->stop;
done_testing();
