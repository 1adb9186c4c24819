# The per-statement memory survives a restart: a statement whose arm was
# proven runs that arm at its first execution after the restart (EXPLAIN
# shows "proven", nothing is explored again), and a pinned statement stays
# pinned.  ndag_queries.query_id is pg_stat_statements.queryid of the same
# statement.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('queries_restart',
	"shared_preload_libraries = 'neural_dag,pg_stat_statements'\n"
	  . "pg_stat_statements.track = all\n");

$node->safe_psql('postgres', ndag_join_tables_sql('qr')
	  . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('qr')
	  . ndag_run_function_sql('qr'));
my $arm = $node->safe_psql('postgres',
	"SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");
my ($q, $q2) = ndag_join_queries('qr');
my $learn = ndag_explore_settings();

# sql(SQL): the output of SQL in a new session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

# ---------- before: one statement proven, another pinned ----------
my $proven = ndag_learn_until_proven($node, 'qr', $q, 'an arm proven for the join');
like($proven, qr/^$arm /, 'the custom arm is proven for the join');
sql("$learn SELECT qr_run('$q2', 1)");
my ($qid, $qid2) = (ndag_query_id($node, $q), ndag_query_id($node, $q2));
sql("UPDATE ndag_queries SET pinned_arm = $arm WHERE query_id = $qid2");
like(sql("$learn SELECT qr_explain('$q2')"), qr/"Decision": "pinned"/, 'the variant is pinned');

# query_id joins pg_stat_statements
sql("CREATE EXTENSION pg_stat_statements");
sql("$learn SELECT qr_run('$q', 1)");
is( sql("SELECT count(*) FROM ndag_queries q JOIN pg_stat_statements s
		ON s.queryid = q.query_id AND s.dbid = q.dbid
		WHERE q.query_id = $qid AND s.query LIKE '%qr_a a JOIN%'"),
	'1', 'ndag_queries.query_id joins pg_stat_statements.queryid');

# ---------- restart ----------
$node->restart;
is(ndag_status_counter($node, 'query_memory_entries'), '0',
	'the shared table is empty after the restart');
is(sql("SELECT count(*) FROM ndag_queries WHERE query_id IN ($qid, $qid2)"), '2',
	'ndag_queries still has both statements');
is(sql("SELECT decision_source || ' ' || best_arm FROM ndag_queries WHERE query_id = $qid"),
	"proven $arm", 'the proven arm is in the store');

my $e = sql("$learn SELECT qr_explain('$q')");
like($e, qr/"Decision": "proven"/, 'EXPLAIN after the restart: the arm is proven');
like($e, qr/"Arm": "$arm \(costly_hash\)"/, 'the same arm');
like($e, qr/"Baseline Latency"/, 'with its default baseline');
sql("SELECT ruvector_dag_flush()");
my $t0 = sql("SELECT coalesce(max(traj_id), 0) FROM ndag_trajectories");
sql("$learn SELECT qr_run('$q', 1)");
sql("SELECT ruvector_dag_flush()");
is( sql("SELECT string_agg(decision || ':' || arm, ',') FROM ndag_trajectories
		WHERE query_id = $qid AND traj_id > $t0"),
	"proven:$arm", 'its first execution after the restart runs the proven arm');
is(ndag_status_counter($node, 'decided_explore'), '0', 'nothing was explored again');

like(sql("$learn SELECT qr_explain('$q2')"), qr/"Decision": "pinned"/,
	'the variant is still pinned after the restart');
sql("$learn SELECT qr_run('$q2', 3); SELECT ruvector_dag_flush()");
is( sql("SELECT string_agg(DISTINCT decision || ':' || arm, ',') FROM ndag_trajectories
		WHERE query_id = $qid2 AND traj_id > $t0"),
	"pinned:$arm", 'and runs its pinned arm');

# ---------- an edit of the controls is in the store at once ----------
sql("UPDATE ndag_queries SET frozen = true WHERE query_id = $qid");
$node->restart;
is(sql("SELECT frozen FROM ndag_queries WHERE query_id = $qid"), 't',
	'an edit of the controls survives a restart');

$node->stop;
done_testing();
