# Shadow exploration on a real server: a plain SELECT run in learn mode is
# captured, and the shadow worker re-runs it in the background in pairs
# default plan / candidate arm.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_runs',
	"ruvector.dag_shadow_budget = 1\nruvector.dag_shadow_max_load = 1000000\n");

# sql(SQL): the output of SQL in one session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

sql(ndag_join_tables_sql('sr'));
my ($q) = ndag_join_queries('sr');
my $learn = ndag_shadow_settings();

is(ndag_status_counter($node, 'shadow_captured'), 0, 'nothing captured at start');
sql("$learn $q; $q; $q;");
ok(ndag_status_counter($node, 'shadow_captured') >= 1, 'the SELECT was captured');
ok(wait_for(sub { ndag_status_counter($node, 'shadow_pairs') >= 1 }, 'shadow pairs'),
	'the shadow worker ran pairs');
ok(ndag_status_counter($node, 'shadow_runs') >= 1, 'shadow runs are counted');
ok(wait_for(sub { ndag_status_counter($node, 'shadow_queued') == 0 }, 'an empty queue'),
	'the entry left the queue');
is(ndag_status_counter($node, 'shadow_errors'), 0, 'no shadow run failed');

$node->stop;
done_testing();
