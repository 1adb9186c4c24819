# Shadow exploration proves an arm on a real server, and leaves alone what
# it may not re-run.  A join whose row estimate is far off plans by default
# as a nested loop that a custom arm (no nested loops) beats by far.  In
# learn mode with shadow exploration, users' executions run the default
# plan only; the shadow worker runs the captured statement in pairs until
# the arm is proven faster, and the user's next execution runs the arm
# (EXPLAIN shows it, the trajectory records it).  Statements with a volatile
# function (random(), nextval) or a locking clause (FOR UPDATE) are never
# captured: they are explored inline instead.  An arm far slower than the
# default plan (a nested loop over two large tables) times out in its shadow
# run, which settles it as not faster: no user execution ever runs it.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_proof',
	"ruvector.dag_shadow_budget = 1\nruvector.dag_shadow_max_load = 1000000\n");

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

sql(ndag_join_tables_sql('sp') . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('sp') . 'CREATE SEQUENCE sp_seq;');
my $arm = sql("SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");
my ($q) = ndag_join_queries('sp');
my $shadow = ndag_shadow_settings();

is(sql("SET ruvector.dag_mode = 'observe'; SELECT sp_explain('$q')->>'Join'"),
	'Nested Loop', 'the default plan is a nested loop');

# ---------- the arm is proven in the background, then applied ----------
sql("$shadow $q; $q;");
ok(counter('shadow_captured') >= 1, 'the SELECT was captured');
ok(wait_for(sub { counter('query_memory_proven') >= 1 }, 'a proven arm'),
	'shadow runs proved an arm faster');
ok(counter('shadow_pairs') >= 2, 'over several pairs (' . counter('shadow_pairs') . ')');
is(counter('shadow_errors'), 0, 'no shadow run failed');
note('shadow time ' . counter('shadow_ms') . ' ms, own load ' . counter('shadow_own_load_pct') . '%');
sql("SELECT ruvector_dag_flush()");
is(sql("SELECT count(*) FROM ndag_trajectories WHERE arm <> 0"), '0',
	"until then users' executions ran the default plan only");

my $e = sql("$shadow SELECT sp_explain('$q')");
like($e, qr/"Decision": "proven"/, 'EXPLAIN shows the proven decision');
like($e, qr/"Arm": "$arm \(costly_hash\)"/, 'with the arm');
unlike($e, qr/"Join": "Nested Loop"/, 'and its plan');
sql("$shadow $q; SELECT ruvector_dag_flush()");
is( sql("SELECT decision || ':' || arm FROM ndag_trajectories
		ORDER BY traj_id DESC LIMIT 1"),
	"proven:$arm", "the user's next execution runs the arm");

# ---------- volatile and locking statements: inline, never captured ----------
# explored(): the executions recorded as exploring, after a flush
sub explored
{
	sql('SELECT ruvector_dag_flush()');
	return sql("SELECT count(*) FROM ndag_trajectories WHERE decision = 'explore'");
}

my $captured = counter('shadow_captured');
my $join = "FROM sp_a a JOIN (SELECT v, count(*) AS n FROM sp_b GROUP BY v) c "
  . 'ON c.v = a.id WHERE a.x = 1 AND a.y = 1 AND a.z = 1 AND a.id > ';
my %unshadowable = (
	'random()' => "SELECT a.id, c.n, random() $join 1",
	'nextval' => "SELECT a.id, c.n, nextval('sp_seq') $join 2",
	'FOR UPDATE' => "SELECT a.id, c.n $join 3 FOR UPDATE OF a");
foreach my $what (sort keys %unshadowable)
{
	my $s = $unshadowable{$what};
	my $explored = explored();
	sql("$shadow $s; $s; $s; $s;");
	is(counter('shadow_captured'), $captured, "a statement with $what is not captured");
	ok(explored() > $explored, 'it is explored inline instead');
}

# ---------- an arm far slower: its run times out, it is not faster ----------
sql(q{
	CREATE TABLE sp_l AS SELECT g AS id FROM generate_series(1, 20000) g;
	CREATE TABLE sp_r AS SELECT g AS id FROM generate_series(1, 20000) g;
	ANALYZE sp_l, sp_r;
	SELECT ruvector_enable_neural_dag('sp_l'), ruvector_enable_neural_dag('sp_r');
	INSERT INTO ndag_arms (name, settings)
		VALUES ('sp_nestloop', 'enable_hashjoin=off, enable_mergejoin=off');
	ALTER SYSTEM SET ruvector.dag_explore_max_cost_ratio = 1e15;
	ALTER SYSTEM SET ruvector.dag_shadow_max_cost_ratio = 1e15;
	SELECT pg_reload_conf();
});
my $slow = sql("SELECT arm_id FROM ndag_arms WHERE name = 'sp_nestloop'");
my $jq = 'SELECT count(*) FROM sp_l l JOIN sp_r r ON l.id = r.id';
is(sql("SET ruvector.dag_mode = off; SET enable_hashjoin = off; SET enable_mergejoin = off;
		EXPLAIN (COSTS OFF) $jq") =~ /Nested Loop/ ? 1 : 0, 1,
	'the slow arm plans a nested loop over 20000 x 20000 rows');
my ($timeouts, $refuted) = (counter('shadow_timeouts'), counter('query_memory_not_faster'));
sql("$shadow $jq; $jq;");
ok( wait_for(
		sub {
			counter('shadow_timeouts') > $timeouts
			  && counter('query_memory_not_faster') > $refuted;
		},
		'the timed-out arm'),
	'the slow arm\'s shadow run timed out and it was found not faster');
sql("$shadow $jq; SELECT ruvector_dag_flush()");
is( sql("SELECT count(*) FROM ndag_trajectories WHERE arm = $slow"), '0',
	'no user execution ever ran the slow arm');
is( sql("SELECT decision || ':' || arm FROM ndag_trajectories
		ORDER BY traj_id DESC LIMIT 1"),
	'default:0', "the user's next execution runs the default plan");

$node->stop;
done_testing();
