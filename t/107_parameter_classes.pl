# Parameter classes: one statement (one queryId) whose best plan depends on
# its constant.  ps_a.k is skewed: the odd rows (all those with x = 1) have
# k = 0, the even ones a value of their own.  With k = 0 the default plan reads ps_a by its index
# on x and joins 500 rows (estimated 1: x = y = z are correlated) by a
# nested loop that rescans an aggregate for each, which another join is
# far faster at; with a rare k it reads one row by the index on k and the
# nested loop is best.  The two constants plan in different shapes, so
# their decisions are kept apart: k = 0 gets an arm proven faster for it,
# the rare constant keeps its default plan although it is the same
# statement, and neither class's pairs count for the other.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('parameter_classes');

# sql(SQL): the output of SQL in one session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

sql(q{
	CREATE TABLE ps_a AS
		SELECT g AS id, CASE WHEN g % 2 = 1 THEN 0 ELSE g END AS k,
			g % 200 AS x, g % 200 AS y, g % 200 AS z
		FROM generate_series(1, 100000) g;
	CREATE TABLE ps_b AS SELECT g AS id, g % 1000 AS v FROM generate_series(1, 20000) g;
	CREATE INDEX ps_a_x ON ps_a (x);
	CREATE INDEX ps_a_k ON ps_a (k);
	ANALYZE ps_a, ps_b;
	SELECT ruvector_enable_neural_dag('ps_a'), ruvector_enable_neural_dag('ps_b');
} . ndag_explain_function_sql('ps') . ndag_run_function_sql('ps'));

my $template = 'SELECT a.id, c.n FROM ps_a a JOIN (SELECT v, count(*) AS n FROM ps_b GROUP BY v) c '
  . 'ON c.v = a.id WHERE a.k = %d AND a.x = 1 AND a.y = 1 AND a.z = 1';
my $frequent = sprintf($template, 0);
my $rare = sprintf($template, 4002);
my $learn = ndag_explore_settings();

# ---------- 1. one statement, two classes ----------
is(ndag_query_id($node, $frequent), ndag_query_id($node, $rare), 'both constants are one statement');
like(sql("EXPLAIN (COSTS OFF) $frequent"), qr/ps_a_x/, 'k = 0 reads the index on x');
like(sql("EXPLAIN (COSTS OFF) $rare"), qr/ps_a_k/, 'the rare k reads the index on k');
my $class_frequent = sql("$learn SELECT ps_explain('$frequent')->>'Parameter Class'");
my $class_rare = sql("$learn SELECT ps_explain('$rare')->>'Parameter Class'");
like($class_frequent, qr/^[0-9a-f]{16}$/, 'EXPLAIN shows the parameter class');
isnt($class_frequent, $class_rare, 'the two constants are in different classes');

# ---------- 2. k = 0 learns its arm ----------
my $arm = ndag_learn_until_proven($node, 'ps', $frequent, 'an arm proven faster for k = 0');
unlike(sql("$learn SELECT ps_explain('$frequent')->>'Join'"), qr/Nested Loop/,
	'k = 0 runs another join');

# ---------- 3. the rare constant is decided on its own ----------
is(sql("$learn SELECT ps_explain('$rare')->>'Decision'"), 'default plan',
	"k = 0's arm is not applied to the rare constant, untried for it");
my $entries = sql("SELECT (ruvector_dag_status()->'counters'->>'query_memory_entries')::int");
sql("$learn SELECT ps_run('$rare', 30)");
is(sql("SELECT (ruvector_dag_status()->'counters'->>'query_memory_entries')::int") - $entries,
	1, 'the rare constant has state of its own');
isnt(sql("$learn SELECT ps_explain('$rare')->>'Arm'"), $arm,
	"k = 0's arm, slower for the rare constant, is not applied to it");
is(sql("$learn SELECT ps_explain('$frequent')->>'Arm'"), $arm,
	'k = 0 keeps its arm after the rare constant explored');
is(sql("$learn SELECT ps_explain('$frequent')->>'Parameter Class'"), $class_frequent,
	'and its class');

$node->stop;
done_testing();
