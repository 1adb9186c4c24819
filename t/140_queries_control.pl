# The DBA's control of single statements through ndag_queries: one row per
# statement class (query_id as EXPLAIN VERBOSE reports it), UPDATE of
# pinned_arm, forbidden_arms and frozen, DELETE to forget a class.  A
# pinned arm is always used (EXPLAIN says "pinned"; never re-validated
# against the default plan), a forbidden arm is never explored nor applied
# even where it would be proven, a frozen statement explores nothing, a
# deleted class starts over from the default plan.  Bad controls and
# other columns are refused with nothing changed; only admins may edit.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('queries_control');

$node->safe_psql('postgres', ndag_join_tables_sql('qc')
	  . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('qc')
	  . ndag_run_function_sql('qc'));
my $arm = $node->safe_psql('postgres',
	"SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");
my ($q, $q2) = ndag_join_queries('qc');
my $learn = ndag_explore_settings();

# sql(SQL): the output of SQL in a new session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

# trajectories(QID, AFTER): "decision:arm" of the statement's recorded
# executions after trajectory AFTER, distinct, sorted
sub trajectories
{
	my ($qid, $after) = @_;
	sql("SELECT ruvector_dag_flush()");
	return sql("SELECT coalesce(string_agg(DISTINCT decision || ':' || arm, ','), '')
		FROM ndag_trajectories WHERE query_id = $qid AND traj_id > $after");
}

# last_traj(): the newest trajectory id (0 if none)
sub last_traj
{
	sql("SELECT ruvector_dag_flush()");
	return sql("SELECT coalesce(max(traj_id), 0) FROM ndag_trajectories");
}

# variant(N): another statement of the join's shape (its own queryId)
sub variant
{
	my ($n) = @_;
	return "$q" . (" AND a.id > 0" x $n);
}

# ---------- 1. a row per statement class, query_id as EXPLAIN shows it ----------
my $arm_proven = ndag_learn_until_proven($node, 'qc', $q, 'an arm proven for the join');
like($arm_proven, qr/^$arm /, "the custom arm is proven for the join ($arm_proven)");
my $qid = ndag_query_id($node, $q);
like($qid, qr/^-?\d+$/, "EXPLAIN VERBOSE shows the query identifier ($qid)");
is(sql("SELECT count(*) FROM ndag_queries WHERE query_id = $qid"), '1',
	'ndag_queries has one row for the statement');
is( sql("SELECT decision_source || ' ' || best_arm || ' ' || (default_median_ms > 0)
		|| ' ' || (best_arm_median_ms > 0) || ' ' || (runs_per_arm[$arm + 1] > 0)
		|| ' ' || frozen || ' ' || coalesce(pinned_arm::text, 'none')
		|| ' ' || (last_used > now() - interval '1 hour') || ' ' || (dbid = (SELECT oid FROM pg_database WHERE datname = current_database()))
		FROM ndag_queries WHERE query_id = $qid"),
	"proven $arm true true true false none true true",
	'its row shows the proven arm, baselines, runs, no controls');
is(sql("SELECT decision FROM ndag_queries WHERE query_id = $qid"), 'costly_hash',
	'the decision names the arm');

# ---------- 2. forbid: a proven arm is no longer applied nor explored ----------
sql("UPDATE ndag_queries SET forbidden_arms = ARRAY[$arm] WHERE query_id = $qid");
is(sql("SELECT forbidden_arms::text || ' ' || decision_source FROM ndag_queries WHERE query_id = $qid"),
	"{$arm} default", 'the row shows the arm forbidden and the default decision');
like(sql("$learn SELECT qc_explain('$q')"), qr/"Decision": "default plan"/,
	'EXPLAIN shows the default plan for the forbidden arm');
is(sql("SELECT count(*) FROM ruvector_dag_advice() WHERE query_id = $qid"), '0',
	'ruvector_dag_advice() no longer offers the forbidden arm');
my $explored = ndag_status_counter($node, 'decided_explore');
my $t0 = last_traj();
sql("$learn SELECT qc_run('$q', 12)");
is(trajectories($qid, $t0), 'default:0',
	'twelve executions in learn mode run the default plan only');
is(ndag_status_counter($node, 'decided_explore'), $explored, 'and explore nothing');

# an arm that would be proven on a fresh statement is never explored
my $qf = variant(1);
sql("$learn SELECT qc_run('$qf', 1)");
my $qidf = ndag_query_id($node, $qf);
sql("UPDATE ndag_queries SET forbidden_arms = ARRAY[$arm] WHERE query_id = $qidf");
$t0 = last_traj();
sql("$learn SELECT qc_run('$qf', 14)");
is(trajectories($qidf, $t0), 'default:0',
	'a statement whose only arm is forbidden never explores nor applies it');
is(ndag_status_counter($node, 'decided_explore'), $explored,
	'no exploration was counted');

# ---------- 3. freeze: no exploration at all ----------
my $qz = variant(2);
sql("$learn SELECT qc_run('$qz', 1)");
my $qidz = ndag_query_id($node, $qz);
sql("UPDATE ndag_queries SET frozen = true WHERE query_id = $qidz");
is(sql("SELECT frozen FROM ndag_queries WHERE query_id = $qidz"), 't', 'the row shows frozen');
$t0 = last_traj();
sql("$learn SELECT qc_run('$qz', 14)");
is(trajectories($qidz, $t0), 'default:0', 'a frozen statement runs its default plan');
is(ndag_status_counter($node, 'decided_explore'), $explored,
	'and no exploration counter moved');

# ---------- 4. pin: always the arm, never re-validated ----------
my $qp = variant(3);
sql("$learn SELECT qc_run('$qp', 1)");
my $qidp = ndag_query_id($node, $qp);
sql("UPDATE ndag_queries SET pinned_arm = $arm WHERE query_id = $qidp");
my $e = sql("$learn SELECT qc_explain('$qp')");
like($e, qr/"Decision": "pinned"/, 'EXPLAIN says the arm is pinned');
like($e, qr/"Arm": "$arm \(costly_hash\)"/, 'and names the pinned arm');
like(sql("SET ruvector.dag_mode = 'apply'; SELECT qc_explain('$qp')"), qr/"Decision": "pinned"/,
	'in apply mode too');
$t0 = last_traj();
sql("$learn SELECT qc_run('$qp', 20)");
is(trajectories($qidp, $t0), "pinned:$arm",
	'twenty executions in learn mode all run the pinned arm (no default run to re-validate it)');
is(sql("SELECT decision_source FROM ndag_queries WHERE query_id = $qidp"), 'pinned',
	'the row shows the pinned decision');
ok(ndag_status_counter($node, 'decided_pinned') >= 20, 'pinned decisions are counted');

# unpin
sql("UPDATE ndag_queries SET pinned_arm = NULL WHERE query_id = $qidp");
is(sql("SELECT coalesce(pinned_arm::text, 'none') FROM ndag_queries WHERE query_id = $qidp"),
	'none', 'pinned_arm set to NULL unpins');
unlike(sql("SET ruvector.dag_mode = 'apply'; SELECT qc_explain('$qp')"), qr/"Decision": "pinned"/,
	'the statement is no longer pinned');

# ---------- 5. bad input is refused, nothing changes ----------
my $disabled = sql("SELECT min(arm_id) FROM ndag_arms WHERE NOT enabled");
my $before = sql("SELECT pinned_arm || ' ' || forbidden_arms::text || ' ' || frozen
	FROM ndag_queries WHERE query_id = $qidf");
is(sql_state($node, "UPDATE ndag_queries SET pinned_arm = 63 WHERE query_id = $qidf"),
	'22023', 'pinning an unknown arm is refused');
is(sql_state($node, "UPDATE ndag_queries SET pinned_arm = $disabled WHERE query_id = $qidf"),
	'22023', 'pinning a disabled arm is refused');
is(sql_state($node, "UPDATE ndag_queries SET forbidden_arms = ARRAY[0] WHERE query_id = $qidf"),
	'22023', 'forbidding the default arm is refused');
is(sql_state($node, "UPDATE ndag_queries SET forbidden_arms = ARRAY[$disabled] WHERE query_id = $qidf"),
	'22023', 'forbidding a disabled arm is refused');
is(sql_state($node, "UPDATE ndag_queries SET pinned_arm = $arm WHERE query_id = $qidf"),
	'22023', 'pinning a forbidden arm is refused');
is(sql_state($node, "UPDATE ndag_queries SET decision = 'x' WHERE query_id = $qidf"),
	'0A000', 'other columns are read-only');
is(sql_state($node, "UPDATE ndag_queries SET forbidden_arms = NULL WHERE query_id = $qidf"),
	'23502', 'forbidden_arms cannot be NULL');
my ($rc, $out, $err) = $node->psql('postgres',
	"UPDATE ndag_queries SET forbidden_arms = ARRAY[0] WHERE query_id = $qidf");
like($err, qr/HINT:/, 'the error carries a hint');
is(sql("SELECT pinned_arm || ' ' || forbidden_arms::text || ' ' || frozen
	FROM ndag_queries WHERE query_id = $qidf"), $before, 'the row is unchanged');
sql("BEGIN; UPDATE ndag_queries SET frozen = true WHERE query_id = $qidf; ROLLBACK");
is(sql("SELECT frozen FROM ndag_queries WHERE query_id = $qidf"), 'f',
	'a rolled-back update changes nothing');

# ---------- 6. only admins edit ----------
sql("CREATE ROLE qc_user LOGIN; GRANT UPDATE (frozen), DELETE ON ndag_queries TO qc_user");
is(sql_state($node, "SET ROLE qc_user; UPDATE ndag_queries SET frozen = true WHERE query_id = $qidf"),
	'42501', 'a role that is not an admin may not update ndag_queries');
is(sql_state($node, "SET ROLE qc_user; DELETE FROM ndag_queries WHERE query_id = $qidf"),
	'42501', 'nor delete from it');
sql("CREATE ROLE qc_plain LOGIN");
is(sql_state($node, "SET ROLE qc_plain; UPDATE ndag_queries SET pinned_arm = $arm WHERE query_id = $qidf"),
	'42501', 'without the column privilege either');
is(sql("SET ROLE qc_plain; SELECT count(*) > 0 FROM ndag_queries"), 't',
	'everyone may read it');
sql("GRANT neural_dag_admin TO qc_user");
is(sql_state($node, "SET ROLE qc_user; UPDATE ndag_queries SET frozen = true WHERE query_id = $qidf"),
	'', 'a member of neural_dag_admin may');
sql("UPDATE ndag_queries SET frozen = false WHERE query_id = $qidf");

# ---------- 7. forget: DELETE ----------
sql("UPDATE ndag_queries SET forbidden_arms = '{}' WHERE query_id = $qid");
like(sql("$learn SELECT qc_explain('$q')"), qr/"Decision": "proven"/,
	'with nothing forbidden the proven arm is back');
is(sql("DELETE FROM ndag_queries WHERE query_id = $qid RETURNING decision_source"), 'proven',
	'DELETE forgets the statement class');
is(sql("SELECT count(*) FROM ndag_queries WHERE query_id = $qid"), '0', 'its row is gone');
like(sql("$learn SELECT qc_explain('$q')"), qr/"Decision": "default plan"/,
	'its next planning is the default plan');
$t0 = last_traj();
sql("$learn SELECT qc_run('$q', 1)");
is(trajectories($qid, $t0), 'default:0', 'and its next execution runs it');

# ---------- 8. reset('queries') clears the shared table and the store ----------
ok(sql("SELECT count(*) FROM ndag_queries") > 0, 'statements are remembered');
sql("SELECT ruvector_dag_reset('queries')");
is(sql("SELECT count(*) FROM ndag_queries"), '0', "reset('queries') empties ndag_queries");
is(ndag_status_counter($node, 'query_memory_entries'), '0', 'and the shared table');
like(sql("$learn SELECT qc_explain('$qp')"), qr/"Decision": "default plan"/,
	'a statement after the reset plans by default');

$node->stop;
done_testing();
