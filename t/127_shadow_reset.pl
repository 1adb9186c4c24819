# A ruvector_dag_reset() that commits while a shadow run is under way
# stops the run: its pairs would otherwise fill the statement's memory
# again after the reset, and a run that yielded would put its statement
# back into the queue the reset emptied.  With a budget of 0.001 CPU the
# run sleeps between brackets once its first pairs used the account up;
# the reset commits while it sleeps, then the budget is raised so that the
# run goes on: it ends as "reset" without another pair, and the statement
# is left neither in the query memory nor in the queue.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_reset',
	"ruvector.dag_shadow_budget = 0.001\nruvector.dag_shadow_max_load = 1000000\n"
	  . "log_min_messages = debug1\n");

# sql(SQL): the output of SQL in one session; counter(NAME): a counter of
# ruvector_dag_status()
sub sql { return $node->safe_psql('postgres', shift); }
sub counter { return ndag_status_counter($node, shift); }

sql(ndag_join_tables_sql('sr') . q{
	INSERT INTO ndag_arms (name, settings) VALUES
		('sr_hash', 'enable_nestloop=off, cpu_operator_cost=0.05'),
		('sr_merge', 'enable_nestloop=off, enable_hashjoin=off'),
		('sr_sorted', 'enable_hashagg=off, cpu_tuple_cost=5');
	UPDATE ndag_arms SET enabled = false WHERE builtin AND arm_id <> 0;
});
my ($q) = ndag_join_queries('sr');
my $shadow = ndag_shadow_settings();
my $qid = ndag_query_id($node, $q);

# shadow_running(): whether a shadow worker is connected
sub shadow_running
{
	return sql(q{SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'neural_dag shadow'}) ne '0';
}

sql("$shadow $q");
ok( wait_for(sub { counter('shadow_pairs') >= 1 && shadow_running() },
		'the first pairs of a run under way'),
	'a shadow run made its first pairs');
my $pairs = counter('shadow_pairs');
is(sql("SELECT count(*) FROM ndag_queries WHERE query_id = $qid"), '1',
	'the statement is in the query memory');

my $log_offset = -s $node->logfile;
sql("SELECT ruvector_dag_reset('queries')");
is(sql("SELECT count(*) FROM ndag_queries WHERE query_id = $qid"), '0',
	'the reset emptied it');

sql('ALTER SYSTEM SET ruvector.dag_shadow_budget = 1');
sql('SELECT pg_reload_conf()');
ok(wait_for(sub { ndag_shadow_idle($node) }, 'the shadow worker idle'),
	'the run ended');
like(ndag_log_since($node, $log_offset),
	qr/shadow run of query -?\d+: .* reset/, 'as "reset"');
cmp_ok(counter('shadow_pairs'), '<=', $pairs + 2,
	'without more than the bracket under way');
is(sql("SELECT count(*) FROM ndag_queries WHERE query_id = $qid"), '0',
	'the statement is not in the query memory again');
is(counter('shadow_queued'), 0, 'nor in the queue');
is(counter('shadow_errors'), 0, 'no run failed');

$node->stop;
done_testing();
