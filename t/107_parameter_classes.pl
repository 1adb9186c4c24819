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
#
# Part 4: constants the planner estimates alike.  ps_sale.item_id is
# skewed (item 1 has half the rows, the others about 20 each) and the item
# is found by its name, so every constant is estimated as the average
# item: one default plan (nested loops over the index on item_id) for all.
# The frequent item wants hash joins, a rare one the nested loops.  The
# class is the default plan's shape and the bucket of the rows its topmost
# join produced for the parameter set, measured by the set's first default
# run: before it EXPLAIN says the rows are not measured and the default
# plan runs; after it the two constants are in different classes, and the
# arm proven for the frequent item is not applied to the rare one.  A
# statement not worth exploring is one class of its shape and never measured,
# unless the statement has several classes (part 7).
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

# plan_text(SETTINGS, SQL): SQL's plan without costs under SETTINGS, item names masked
sub plan_text
{
	my ($settings, $query) = @_;
	return sql("$settings EXPLAIN (COSTS OFF) $query") =~ s/item \d+/item N/gr;
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
my $entries = sql("SELECT (ruvector_dag_status()->'counters'->>'query_memory_entries')::int");
sql("$learn SELECT ps_run('$frequent', 1), ps_run('$rare', 1)");
is(sql("SELECT (ruvector_dag_status()->'counters'->>'query_memory_entries')::int") - $entries,
	2, 'each constant has state of its own');
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
sql("$learn SELECT ps_run('$rare', 30)");
isnt(sql("$learn SELECT ps_explain('$rare')->>'Arm'"), $arm,
	"k = 0's arm, slower for the rare constant, is not applied to it");
is(sql("$learn SELECT ps_explain('$frequent')->>'Arm'"), $arm,
	'k = 0 keeps its arm after the rare constant explored');
is(sql("$learn SELECT ps_explain('$frequent')->>'Parameter Class'"), $class_frequent,
	'and its class');

# ---------- 4. constants the planner estimates alike ----------
sql(q{
	CREATE TABLE ps_item AS SELECT g AS item_id, 'item ' || g AS name FROM generate_series(1, 5000) g;
	CREATE TABLE ps_cust AS SELECT g AS cust_id, g % 10 AS region FROM generate_series(1, 50000) g;
	CREATE TABLE ps_sale AS
		SELECT g AS id, CASE WHEN g % 2 = 0 THEN 1 ELSE 2 + g % 4999 END AS item_id,
			1 + g % 50000 AS cust_id
		FROM generate_series(1, 200000) g;
	CREATE UNIQUE INDEX ON ps_item (name);
	CREATE UNIQUE INDEX ON ps_item (item_id);
	CREATE UNIQUE INDEX ON ps_cust (cust_id);
	CREATE INDEX ON ps_sale (item_id);
	ANALYZE ps_item, ps_cust, ps_sale;
	SELECT ruvector_enable_neural_dag('ps_item'), ruvector_enable_neural_dag('ps_cust'),
		ruvector_enable_neural_dag('ps_sale');
});
my $by_name = 'SELECT count(*), sum(c.region) FROM ps_item i JOIN ps_sale s ON s.item_id = i.item_id '
  . "JOIN ps_cust c ON c.cust_id = s.cust_id WHERE i.name = ''item %d''";
my $often = sprintf($by_name, 1);
my $seldom = sprintf($by_name, 4321);
(my $often_sql = $often) =~ s/''/'/g;
(my $seldom_sql = $seldom) =~ s/''/'/g;
is(ndag_query_id($node, $often_sql), ndag_query_id($node, $seldom_sql),
	'the item names are one statement');
my ($plan_often, $plan_seldom) =
  map { plan_text('SET ruvector.dag_mode = off;', $_) } ($often_sql, $seldom_sql);
is($plan_often, $plan_seldom, 'estimated alike: one default plan for both');
like($plan_often, qr/Nested Loop/, 'nested loops over the index');
is(sql("$learn SELECT ps_explain('$seldom')->>'Parameter Rows'"), 'not measured',
	'a parameter set never run is not measured');
is(sql("$learn SELECT ps_explain('$seldom')->>'Decision'"), 'default plan',
	'and runs the default plan');
sql("$learn SELECT ps_run('$often', 1), ps_run('$seldom', 1)");
my $rows_often = sql("$learn SELECT ps_explain('$often')->>'Parameter Rows'");
my $rows_seldom = sql("$learn SELECT ps_explain('$seldom')->>'Parameter Rows'");
like($rows_often, qr/^65535 to 262142$/, 'the frequent item: its 100,000 rows measured');
like($rows_seldom, qr/^15 to 62$/, 'the rare item: its 20 rows measured');
isnt(sql("$learn SELECT ps_explain('$often')->>'Parameter Class'"),
	sql("$learn SELECT ps_explain('$seldom')->>'Parameter Class'"),
	'the two item names are in different classes');
# the planner estimates the hash joins 27 times costlier than the nested
# loops (it expects 40 rows): allow exploring them
my $learn_costly = "$learn SET ruvector.dag_explore_max_cost_ratio = 1000;";
wait_for(
	sub {
		sql("$learn_costly SELECT ps_run('$often', 2)");
		return sql("$learn SELECT ps_explain('$often')->>'Decision'") eq 'proven';
	},
	'an arm proven faster for the frequent item');
my $often_arm = sql("$learn SELECT ps_explain('$often')->>'Arm'");
isnt(plan_text($learn, $often_sql), $plan_often, 'the frequent item runs another plan');
isnt(sql("$learn SELECT ps_explain('$seldom')->>'Arm'"), $often_arm,
	"the frequent item's arm is not applied to the rare one");
sql("$learn_costly SELECT ps_run('$seldom', 20)");
# the rare item may prove an arm of its own, the same one only by its own
# pairs (its class's best arm in ndag_queries)
my $seldom_class = sql("$learn SELECT ps_explain('$seldom')->>'Parameter Class'");
my ($often_arm_id) = $often_arm =~ /^(\d+)/;
my $seldom_proved_it = sql(
	"SELECT count(*) FROM ndag_queries
	 WHERE lpad(to_hex(class), 16, '0') = '$seldom_class' AND best_arm = $often_arm_id");
ok( sql("$learn SELECT ps_explain('$seldom')->>'Arm'") ne $often_arm
	  || $seldom_proved_it > 0,
	"nor after the rare one explored (unless proven by the rare item's own pairs)");
is(sql("$learn SELECT ps_explain('$often')->>'Arm'"), $often_arm,
	'the frequent item keeps its arm');

# one backend planning the two item names in turn keeps a decision for
# each class: after the first planning of each, both are cache hits
is( sql("SET ruvector.dag_mode = 'apply'; SELECT concat_ws(' ',
		ps_explain('$often')->>'Cache Hit', ps_explain('$seldom')->>'Cache Hit',
		ps_explain('$often')->>'Cache Hit', ps_explain('$seldom')->>'Cache Hit')"),
	'false false true true',
	'the Embedding Cache keeps the decisions of both classes of the statement');

# ---------- 5. a reset of the per-statement memory forgets the buckets ----------
sql("SELECT ruvector_dag_reset('queries')");
is(sql("$learn SELECT ps_explain('$often')->>'Parameter Rows'"), 'not measured',
	'after a reset the parameter set is measured again');
sql("$learn SELECT ps_run('$often', 1)");
is(sql("$learn SELECT ps_explain('$often')->>'Parameter Rows'"), $rows_often,
	'by its next run');

# ---------- 6. a statement that cannot gain counts no rows ----------
# a count over ps_cust by an expression the planner cannot estimate (one
# plan for every constant), estimated far below ruvector.dag_min_cost and
# faster than ruvector.dag_min_latency: the first run measures its
# parameter set; once its default runs are known to be that fast, another
# parameter set is decided as that class and its runs count no rows
my $count = 'SELECT count(*) FROM ps_cust WHERE cust_id %% 1000 < %d';
my ($few, $most) = (sprintf($count, 1), sprintf($count, 999));
my $cheap = "SET ruvector.dag_mode = 'learn'; SET ruvector.dag_min_latency = 1000;";
sql("$cheap SELECT ps_run('$few', 3)");
my $rows_few = sql("$cheap SELECT ps_explain('$few')->>'Parameter Rows'");
is($rows_few, '15 to 62', 'the first run measured its 50 rows');
sql("$cheap SELECT ps_run('$most', 2)");
is(sql("$cheap SELECT ps_explain('$most')->>'Parameter Rows'"), $rows_few,
	'the runs of another parameter set of a statement known not to gain did not measure its rows');
my $worth = "$cheap SET ruvector.dag_min_cost = 0;";
sql("$worth SELECT ps_run('$most', 1)");
is(sql("$worth SELECT ps_explain('$most')->>'Parameter Rows'"), '16383 to 65534',
	'once the statement is worth exploring, its next run measures its 49,950 rows');

# ---------- 7. a statement of several classes measures each parameter set ----------
# k = 0 and the rare k plan in different shapes (1.): after a run of each
# (their classes were reset in 5.) the statement has two classes, the rare
# k's known not to gain (every default run below ruvector.dag_min_latency,
# the cost below ruvector.dag_min_cost).  Another rare k plans like it and
# is decided as its class; its parameter set is still measured by its
# first run: else, the statement having several classes, that parameter
# set would never be served from the Embedding Cache, and every planning
# of it would analyse it again
my $other_rare = sprintf($template, 4004);
my $not_worth = "SET ruvector.dag_min_latency = 1000; SET ruvector.dag_min_cost = 1e9;";
like(sql("EXPLAIN (COSTS OFF) $other_rare"), qr/ps_a_k/, 'another rare k reads the index on k');
sql("$learn $not_worth SELECT ps_run('$frequent', 1), ps_run('$rare', 1)");
sql("$learn $not_worth SELECT ps_run('$other_rare', 2)");
is( sql("SET ruvector.dag_mode = 'apply'; $not_worth SELECT concat_ws(' ',
		ps_explain('$other_rare')->>'Cache Hit', ps_explain('$other_rare')->>'Cache Hit')"),
	'false true', 'its second planning in a backend is served from the Embedding Cache');

$node->stop;
done_testing();
