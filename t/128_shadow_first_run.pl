# In shadow mode a statement is captured for shadow runs at its first run
# when that run took longer than ruvector.dag_min_latency, although nothing
# was on record when it was planned (no default run yet, its estimated
# cost below ruvector.dag_min_cost): before, it was captured only at its
# next run, a whole pass of a workload later.  A first run under
# ruvector.dag_min_latency is not captured, nor is a later slow run of a
# statement whose first run was fast.  The budget is 0 so that the
# captured statements stay in the queue.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_first_run', "ruvector.dag_shadow_budget = 0\n");

# sql(SQL): the output of SQL in one session; counter(NAME): a counter of
# ruvector_dag_status()
sub sql { return $node->safe_psql('postgres', shift); }
sub counter { return ndag_status_counter($node, shift); }

sql(ndag_join_tables_sql('fr'));
# learn mode, shadow exploration, dag_min_latency at its default (5 ms) and
# no statement worth exploring for its estimated cost alone
my $learn = "SET ruvector.dag_mode = 'learn'; SET ruvector.dag_exploration = 1; "
  . "SET ruvector.dag_min_cost = 1e12;";
is(sql('SHOW ruvector.dag_exploration_mode'), 'shadow', 'shadow exploration by default');
is(sql('SHOW ruvector.dag_min_latency'), '5ms', 'dag_min_latency 5 ms by default');

# a join of 5 million rows: far over 5 ms
my $slow = 'SELECT count(*) FROM fr_a a JOIN fr_a b ON a.x = b.y WHERE a.z < 20';
sql("$learn $slow");
is(counter('shadow_captured'), 1, 'the first run of a slow statement is captured');
is(counter('shadow_queued'), 1, 'and waits for a shadow run');

# a lookup of one row by its index: far under 5 ms
sql("$learn SELECT id FROM fr_a WHERE x = 7 AND y = 7 AND z = 7 LIMIT 1");
is(counter('shadow_captured'), 1, 'the first run of a fast statement is not');

# a statement whose first run is fast, run again in the same session (its
# decision in the session's Embedding Cache) while something makes it slow:
# the median of its runs says it is not worth exploring, so the slow run is
# not captured (before, the decision made before its first run still asked
# for any slow run)
my $varying = "SELECT count(*) FROM (SELECT id FROM fr_a WHERE x = 7 AND y = 7 AND z = 7 "
  . "LIMIT 1) one, generate_series(1, current_setting('fr.rows')::int) g";
sql("$learn SET fr.rows = '1'; $varying; SET fr.rows = '3000000'; $varying;");
is(counter('shadow_captured'), 1,
	'a run slowed after a fast first run does not capture the statement');

$node->stop;
done_testing();
