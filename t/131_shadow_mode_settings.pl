# The shadow worker explores only where the settings of the database and
# role it runs for learn in shadow mode: a statement captured by a session
# that set learn mode for itself, in a database whose setting is apply
# (frozen: ALTER DATABASE ... SET ruvector.dag_mode = apply), is dropped
# unrun, and so is one of a role set to apply mode, and one of a database
# whose exploration mode is inline; once the database's settings are
# reset, a captured statement is run again.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_mode_settings',
	"ruvector.dag_shadow_budget = 1\nruvector.dag_shadow_max_load = 1000000\n");

# sql(SQL): the output of SQL in one session; counter(NAME): a counter of
# ruvector_dag_status()
sub sql { return $node->safe_psql('postgres', shift); }
sub counter { return ndag_status_counter($node, shift); }

sql(ndag_join_tables_sql('ms') . q{
	CREATE ROLE ms_frozen LOGIN;
	GRANT SELECT ON ms_a, ms_b TO ms_frozen;
	ALTER ROLE ms_frozen SET ruvector.dag_mode = apply;
});
my ($q) = ndag_join_queries('ms');
my $learn = ndag_shadow_settings();

# capture(SQL, USER): run the statement once in a learning session (as USER
# when given) and wait until the queue is empty and no shadow worker runs
sub capture
{
	my ($sql, $user) = @_;
	my $captured = counter('shadow_captured');
	$node->safe_psql('postgres', $sql, $user ? (extra_params => [ '-U', $user ]) : ());
	is(counter('shadow_captured'), $captured + 1, 'the statement was captured');
	ok(wait_for(sub { ndag_shadow_idle($node) }, 'an empty queue, no shadow worker'),
		'the queue emptied');
}

# ---------- a database frozen in apply mode ----------
sql('ALTER DATABASE postgres SET ruvector.dag_mode = apply');
my ($runs, $skipped) = (counter('shadow_runs'), counter('shadow_skipped'));
capture("$learn $q");
is(counter('shadow_runs'), $runs, 'no shadow run in a database set to apply mode');
is(counter('shadow_skipped'), $skipped + 1, 'its entry was dropped unrun, counted as skipped');
is(counter('shadow_pairs'), 0, 'no pair was run');

# ---------- a role frozen in apply mode ----------
sql('ALTER DATABASE postgres RESET ruvector.dag_mode');
($runs, $skipped) = (counter('shadow_runs'), counter('shadow_skipped'));
capture("$learn $q", 'ms_frozen');
is(counter('shadow_runs'), $runs, 'no shadow run for a role set to apply mode');
is(counter('shadow_skipped'), $skipped + 1, 'its entry was dropped unrun');

# ---------- a database exploring inline ----------
sql('ALTER DATABASE postgres SET ruvector.dag_exploration_mode = inline');
($runs, $skipped) = (counter('shadow_runs'), counter('shadow_skipped'));
capture("$learn SET ruvector.dag_exploration_mode = shadow; $q");
is(counter('shadow_runs'), $runs, 'no shadow run in a database set to explore inline');
is(counter('shadow_skipped'), $skipped + 1, 'its entry was dropped unrun');

# ---------- settings that learn in shadow mode ----------
sql('ALTER DATABASE postgres RESET ruvector.dag_exploration_mode');
($runs, $skipped) = (counter('shadow_runs'), counter('shadow_skipped'));
capture("$learn $q");
is(counter('shadow_runs'), $runs + 1, 'with the database\'s settings reset the statement is run');
cmp_ok(counter('shadow_pairs'), '>=', 1, 'in pairs');
is(counter('shadow_errors'), 0, 'no shadow run failed');

$node->stop;
done_testing();
