# A queued statement class keeps the parameter sets it runs: two
# statements of one queryId and one parameter class that differ by a
# constant are one entry of the shadow queue holding both captures, and its
# shadow run takes them in turn, so that its pairs are measured on both and
# not on the first one captured only.  Which capture a run executed shows in
# pg_stat_statements: the two return different numbers of rows (4 and 5).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_captures',
	"shared_preload_libraries = 'neural_dag,pg_stat_statements'\n"
	  . "pg_stat_statements.track = top\n"
	  . "log_min_messages = debug1\n"
	  . "ruvector.dag_shadow_budget = 0\nruvector.dag_shadow_max_load = 1000000\n");

# sql(SQL): the output of SQL in one session
sub sql { return $node->safe_psql('postgres', shift); }
sub counter { return ndag_status_counter($node, shift); }

# one candidate arm, far faster than the default nested loop: its run makes
# at least two brackets, one per capture
sql(ndag_join_tables_sql('pcap') . ndag_costly_hash_arm_sql()
	  . 'CREATE EXTENSION pg_stat_statements;');
my ($q) = ndag_join_queries('pcap');
# the planner estimates both constants alike (an expression without
# statistics): one plan, one class; id 1 is one of the 5 rows the join
# returns, id 2 none of them
my ($qa, $qb) = ("$q AND a.id % 1000 <> 1", "$q AND a.id % 1000 <> 2");
my $off = 'SET ruvector.dag_mode = off;';
is(sql("$off SELECT count(*) FROM ($qa) s"), '4', 'the first constant returns 4 rows');
is(sql("$off SELECT count(*) FROM ($qb) s"), '5', 'the second one 5');

# pg_stat_statements' calls and rows of the statement
my $pgss = q{SELECT coalesce(sum(calls), 0) || ' ' || coalesce(sum(rows), 0)
	FROM pg_stat_statements WHERE query LIKE '%pcap_a a JOIN%' AND query NOT LIKE '%count(*) FROM (%'};

my $shadow = ndag_shadow_settings();
ok( $node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity
		WHERE backend_type = 'neural_dag shadow'}),
	'no shadow worker runs');
sql("$shadow $qa; $qa; $qb;");
is(counter('shadow_captured'), 3, 'three executions captured');
is(counter('shadow_queued'), 1, 'into one entry');
my ($calls0, $rows0) = split / /, sql($pgss);
is($calls0, 3, 'pg_stat_statements counts the three executions as one statement');

sql('ALTER SYSTEM SET ruvector.dag_shadow_budget = 1');
sql('SELECT pg_reload_conf()');
ok(wait_for(sub { counter('shadow_runs') == 1 && ndag_shadow_idle($node) }, 'the run'),
	'the entry was run');
is(counter('shadow_errors'), 0, 'without an error');
ok(counter('shadow_brackets') >= 2, 'in two brackets or more');
ok($node->log_contains(qr/1 candidate arms, 1 pursued, \d+ pairs, 2 of 2 captures/),
	'the run took both captures (the repeated one is held once)');

# each execution returned 4 rows (first capture) or 5 (second): the rows
# beyond 4 per execution count the executions of the second capture
my ($calls1, $rows1) = split / /, sql($pgss);
my $runs = $calls1 - $calls0;
my $second = ($rows1 - $rows0) - 4 * $runs;
ok($runs >= 4, "the shadow run executed the statement $runs times");
ok($second > 0, "$second of them with the second capture's constant");
ok($second < $runs, 'and the others with the first one');

$node->stop;
done_testing();
