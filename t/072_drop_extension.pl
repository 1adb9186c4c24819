# DROP EXTENSION means off: after DROP EXTENSION neural_dag in a database, a
# session of that database that was connected before (and kept its
# caches) no longer plans through the extension (no decision taken), records
# nothing and shows no Neural DAG section in EXPLAIN, even in learn mode on
# a table that was enabled; a rolled-back DROP EXTENSION changes nothing;
# CREATE EXTENSION again starts as the README says: no table enabled, the
# trajectories learned before still there, and a table enabled again is
# recorded again in that same session.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('drop_extension', "ruvector.dag_mode = 'learn'\n");

ndag_learning_database($node, 'app', 1000);

# activity(): "recorded|decisions", cluster-wide counters read from
# database postgres (whose sessions touch no enabled table)
sub activity
{
	return $node->safe_psql('postgres', q{
		SELECT (c->>'recorded')::bigint || '|'
			|| ((c->>'decided_default')::bigint + (c->>'decided_proven')::bigint
				+ (c->>'decided_pattern')::bigint + (c->>'decided_explore')::bigint)
		  FROM (SELECT ruvector_dag_status()->'counters' AS c) s});
}

my $query = 'SELECT count(*) FROM t WHERE v = 3';
my $s = $node->background_psql('app', on_error_stop => 0);

# run(): one statement on t in the old session, and its EXPLAIN
sub run
{
	$s->query_safe($query);
	return $s->query_safe("EXPLAIN (COSTS OFF) $query");
}

my $before = activity();
like(run(), qr/Neural DAG/, 'EXPLAIN shows the Neural DAG section');
my $after = activity();
my ($r0, $d0) = split(/\|/, $before);
my ($r1, $d1) = split(/\|/, $after);
ok($r1 > $r0 && $d1 > $d0, 'the statement is recorded and decided');

# a rolled-back DROP EXTENSION changes nothing
$node->safe_psql('app', 'BEGIN; DROP EXTENSION neural_dag; ROLLBACK;');
$before = activity();
like(run(), qr/Neural DAG/, 'after a rolled-back DROP EXTENSION: still shown');
($r0, $d0) = split(/\|/, $before);
($r1, $d1) = split(/\|/, activity());
ok($r1 > $r0 && $d1 > $d0, 'and still recorded and decided');

$node->safe_psql('app', 'SELECT ruvector_dag_flush()');
my $trajectories = $node->safe_psql('app', 'SELECT count(*) FROM ndag_trajectories');
ok($trajectories > 0, 'trajectories were recorded');

# DROP EXTENSION from another session
$node->safe_psql('app', 'DROP EXTENSION neural_dag');
$before = activity();
my $plan = run();
unlike($plan, qr/Neural DAG/, 'after DROP EXTENSION: no Neural DAG section');
is($plan, "Aggregate\n  ->  Seq Scan on t\n        Filter: (v = 3)",
	'the plan is the stock plan');
$s->query_safe("PREPARE p AS $query");
$s->query_safe('EXECUTE p');
$s->query_safe('EXPLAIN ANALYZE EXECUTE p');
is(activity(), $before,
	'nothing is recorded or decided in the database any more');

# also with every table recorded (the superuser's test setting)
$s->query_safe('SET ruvector.dag_all_tables = on');
$s->query_safe('SELECT count(*) FROM pg_class');
$s->query_safe($query);
is(activity(), $before, 'not even with ruvector.dag_all_tables');
$s->query_safe('RESET ruvector.dag_all_tables');

# CREATE EXTENSION again: the state the README documents
$node->safe_psql('app', 'CREATE EXTENSION neural_dag');
is($node->safe_psql('app', 'SELECT count(*) FROM ndag_tables'), '0',
	'after CREATE EXTENSION again no table is enabled');
$node->safe_psql('app', 'SELECT ruvector_dag_flush()');
is($node->safe_psql('app', 'SELECT count(*) FROM ndag_trajectories'), $trajectories,
	'the trajectories recorded before DROP EXTENSION are kept, none was added');
$before = activity();
unlike(run(), qr/Neural DAG/, 'the old session does not record a table not enabled');
is(activity(), $before, 'and records nothing');

$node->safe_psql('app', q{SELECT ruvector_enable_neural_dag('t')});
($r0, $d0) = split(/\|/, activity());
like(run(), qr/Neural DAG/, 'once enabled again, the old session shows the section');
($r1, $d1) = split(/\|/, activity());
ok($r1 > $r0 && $d1 > $d0, 'and records and decides again');

$s->quit;
$node->stop;
done_testing();
