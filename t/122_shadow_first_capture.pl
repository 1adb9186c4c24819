# Shadow exploration captures the first execution of a slow statement.
# A statement is worth exploring when its default plan's observed latency
# is above ruvector.dag_min_latency (5 ms) or its estimated cost above
# ruvector.dag_min_cost (10000); a class whose default plan never ran has
# no observed latency, so a statement the planner thinks cheap was only
# captured from its second execution on.  Now the first execution of such
# a class is captured when it took longer than ruvector.dag_min_latency:
# a scan calling md5() on 200000 rows (estimated far below 10000, tens of
# ms) is captured at once; a count over 100 rows (well under 5 ms) is not,
# neither at its first execution nor later.  The shadow budget is 0, so
# the queue keeps what was captured.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_first_capture',
	"ruvector.dag_shadow_budget = 0\nmax_parallel_workers_per_gather = 0\n");

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

sql(q{
	CREATE TABLE fc_big AS SELECT g AS id, g % 1000 AS v FROM generate_series(1, 200000) g;
	CREATE TABLE fc_small AS SELECT g AS id FROM generate_series(1, 100) g;
	ANALYZE fc_big, fc_small;
	SELECT ruvector_enable_neural_dag('fc_big'), ruvector_enable_neural_dag('fc_small');
} . ndag_plan_cost_sql('fc'));

my $slow = q{SELECT count(*) FROM fc_big WHERE md5(v::text || id::text) LIKE 'ab%'};
my $fast = q{SELECT count(*) FROM fc_small};
my $learn = "SET ruvector.dag_mode = 'learn';";

is(sql('SHOW ruvector.dag_min_latency'), '5ms', 'the latency threshold is 5 ms');
is(sql('SHOW ruvector.dag_min_cost'), '10000', 'the cost threshold is 10000');
for my $q ($slow, $fast)
{
	cmp_ok(sql("SELECT fc_cost('', \$\$$q\$\$)"), '<', 10000,
		"estimated below ruvector.dag_min_cost: $q");
}

sql("$learn $slow");
is(counter('shadow_captured'), 1, 'the first execution of the slow statement was captured');
is(counter('shadow_queued'), 1, 'and waits in the queue');
sql('SELECT ruvector_dag_flush()');
cmp_ok(sql("SELECT max(exec_us) / 1000 FROM ndag_trajectories
	WHERE query_id = " . ndag_query_id($node, $slow)), '>', 5,
	'its execution took longer than ruvector.dag_min_latency');

sql("$learn $fast");
is(counter('shadow_captured'), 1, 'the first execution of the fast statement was not');
sql("$learn $fast; $fast;");
is(counter('shadow_captured'), 1, 'nor its later ones');
is(counter('shadow_queued'), 1, 'the queue holds the slow statement only');

$node->stop;
done_testing();
