# One huge statement does not take the shadow budget of the small ones.
# With ruvector.dag_shadow_budget = 0.01 CPU, the account of shadow time
# holds at most 600 ms of CPU (a minute of the budget).  A heavy join (a
# default run of a second or more) and a light one (tens of ms, whose
# default nested loop a custom arm beats by far) are captured while no
# shadow run may start; the heavy one weighs more and would be run first,
# its bracket of seconds buying a sleep of many minutes.  Its default run
# being longer than the account can hold, it is deferred: the light
# statement is run first and proven within a bounded wait, and the heavy
# one is passed over (shadow_deferred).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_deferral',
	"ruvector.dag_shadow_budget = 0\nruvector.dag_shadow_max_load = 1000000\n");

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

sql(ndag_join_tables_sql('sd') . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('sd')
	  . q{INSERT INTO ndag_arms (name, settings) VALUES ('sd_merge', 'enable_hashjoin=off');});
my ($light) = ndag_join_queries('sd');
my $heavy = 'SELECT count(*) FROM sd_a a JOIN sd_a b ON a.x = b.x';
my $shadow = ndag_shadow_settings();

# ---------- both captured while shadow runs may not start ----------
ok( $node->poll_query_until('postgres', q{SELECT count(*) = 0 FROM pg_stat_activity
		WHERE backend_type = 'neural_dag shadow'}),
	'no shadow worker runs');
sql("$shadow $heavy");
sql("$shadow $light");
is(counter('shadow_queued'), 2, 'both statements wait');
sql('SELECT ruvector_dag_flush()');
my $heavy_ms = sql('SELECT round(max(exec_us) / 1000) FROM ndag_trajectories');
cmp_ok($heavy_ms, '>', 600, "the heavy statement's default run ($heavy_ms ms) is longer than the account holds");

# ---------- the light one goes first ----------
sql('ALTER SYSTEM SET ruvector.dag_shadow_budget = 0.01');
sql('SELECT pg_reload_conf()');
ok( wait_for(
		sub { sql("$shadow SELECT sd_explain('$light')->>'Decision'") eq 'proven' },
		'the light statement proven'),
	'the light statement is run first and proven');
ok(counter('shadow_deferred') >= 1, 'the heavy statement was passed over');
is(counter('shadow_errors'), 0, 'no shadow run failed');

$node->stop;
done_testing();
