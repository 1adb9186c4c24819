# ruvector_dag_history(query_id): one row per recorded execution of a
# statement of the current database, oldest first, with when it ran, its
# latency and planning time, the arm (and its name, enabled or not), the
# decision source, the pattern and the traj_id, exactly as ndag_trajectories
# holds them; nothing of another statement; only readers of
# ndag_trajectories may read it.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('statement_history');

# sql(SQL): the output of SQL in one session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

sql(ndag_join_tables_sql('sh') . ndag_run_function_sql('sh'));
my ($q, $other) = ndag_join_queries('sh');

# the statement runs by default and, explored inline, under arms; another
# statement runs too
my $explore = ndag_explore_settings();
my $qid;
wait_for(
	sub {
		sql("$explore SELECT sh_run('$q', 2)");
		sql('SELECT ruvector_dag_flush()');
		$qid = sql('SELECT query_id FROM ndag_trajectories WHERE arm <> 0 LIMIT 1');
		return $qid ne ''
		  && sql("SELECT count(*) FROM ndag_trajectories WHERE query_id = $qid AND arm = 0") > 0;
	},
	'executions of the join both by default and under an arm');
isnt($qid, '', 'the join was recorded by default and under an arm');
sql("SET ruvector.dag_mode = observe; SELECT sh_run('$other', 3)");
sql('SELECT ruvector_dag_flush()');
cmp_ok(sql("SELECT count(DISTINCT query_id) FROM ndag_trajectories"), '>=', 2,
	'another statement is recorded too');

# ---------- 1. every recorded execution of the statement, as recorded ----------
my $history = "ruvector_dag_history($qid) WITH ORDINALITY AS h(executed_at, latency_ms, "
  . 'planning_ms, arm_id, arm_name, decision, pattern_id, traj_id, n)';
my $recorded = sql("SELECT count(*) FROM ndag_trajectories WHERE query_id = $qid");
cmp_ok($recorded, '>=', 2, 'the statement has several recorded executions');
is(sql("SELECT count(*) FROM $history"), $recorded, 'one row per recorded execution');
is(sql(qq{SELECT count(*) FROM $history JOIN ndag_trajectories t USING (traj_id)
	WHERE t.query_id = $qid AND h.executed_at = t.recorded_at
	  AND h.latency_ms = t.exec_us / 1000 AND h.planning_ms = t.planning_us / 1000
	  AND h.arm_id = t.arm AND h.decision = t.decision
	  AND h.pattern_id IS NOT DISTINCT FROM t.pattern_id}),
	$recorded, 'each with its time, latency, planning time, arm, decision and pattern');
is(sql(qq{SELECT count(*) FROM $history JOIN ndag_arms a ON a.arm_id = h.arm_id
	WHERE h.arm_name = a.name}), $recorded, 'and the name of its arm');
is(sql("SELECT string_agg(DISTINCT decision, ',' ORDER BY decision) FROM $history"),
	sql("SELECT string_agg(DISTINCT decision, ',' ORDER BY decision) FROM ndag_trajectories WHERE query_id = $qid"),
	'the decision sources of its executions');
cmp_ok(sql("SELECT count(*) FROM $history WHERE arm_id = 0"), '>', 0, 'default executions');
cmp_ok(sql("SELECT count(*) FROM $history WHERE arm_id <> 0"), '>', 0, 'and executions under an arm');

# ---------- 2. ordered by time ----------
is(sql(qq{SELECT count(*) FROM (SELECT executed_at, traj_id,
		lag(executed_at) OVER (ORDER BY n) AS prev_at,
		lag(traj_id) OVER (ORDER BY n) AS prev_id FROM $history) s
	WHERE (prev_at, prev_id) > (executed_at, traj_id)}),
	'0', 'oldest first');

# ---------- 3. an arm no longer enabled keeps its name ----------
my $arm = sql("SELECT arm_id FROM $history WHERE arm_id <> 0 LIMIT 1");
my $name = sql("SELECT name FROM ndag_arms WHERE arm_id = $arm");
sql("UPDATE ndag_arms SET enabled = false WHERE arm_id = $arm");
is(sql("SELECT DISTINCT arm_name FROM $history WHERE arm_id = $arm"), $name,
	'a disabled arm is still named');

# ---------- 4. other statements, NULL, unknown ----------
is(sql("SELECT count(*) FROM ruvector_dag_history(42)"), '0', 'an unknown query_id has no history');
is(sql("SELECT count(*) FROM ruvector_dag_history(NULL)"), '0', 'NULL has none');
my $oqid = sql("SELECT query_id FROM ndag_trajectories WHERE query_id <> $qid LIMIT 1");
is(sql("SELECT count(*) FROM ruvector_dag_history($oqid) h JOIN ndag_trajectories t USING (traj_id) "
	  . "WHERE t.query_id = $oqid"),
	sql("SELECT count(*) FROM ndag_trajectories WHERE query_id = $oqid"),
	'another statement has its own history');

# ---------- 5. the history of another database is not this one's ----------
sql('CREATE DATABASE other_db');
$node->safe_psql('other_db', 'CREATE EXTENSION neural_dag');
is($node->safe_psql('other_db', "SELECT count(*) FROM ruvector_dag_history($qid)"), '0',
	'another database does not see it');

# ---------- 6. privileges ----------
sql('CREATE ROLE history_reader LOGIN; CREATE ROLE history_plain LOGIN');
sql('GRANT pg_read_all_stats TO history_reader');
is(sql_state($node, "SET ROLE history_plain; SELECT * FROM ruvector_dag_history($qid)"), '42501',
	'a role that may not read other users\' statements may not read their history');
is(sql_state($node, "SET ROLE history_reader; SELECT * FROM ruvector_dag_history($qid)"), '',
	'pg_read_all_stats may');

$node->stop;
done_testing();
