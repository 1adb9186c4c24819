# Exploration order and caps on a real server.  A join of a small table
# without an index to a large one by its primary key plans by default as a
# nested loop over index scans.  Three arms plan it differently: no_nestloop
# (arm 1) reads the whole large table, an estimated cost far above the
# default's; no_indexscan (arm 5) swaps the index scans for bitmap scans, at
# about the default's cost; a custom arm with seq scans off cannot obey on
# the small table, whose seq scan stays at disable_cost.  In learn mode
# with exploration on, the cheaper-estimated arm is explored first (before
# arm 1, whose id is lower), arm 1 is never run while its cost ratio is
# above ruvector.dag_explore_max_cost_ratio, and the forced arm is never run
# at all, even with the cap lifted.  An exploring execution plans at most
# ruvector.dag_max_candidates arms.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('explore_order');

# sql(SQL): the output of SQL in one session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

sql(ndag_small_big_tables_sql('eo') . q{
	INSERT INTO ndag_arms (name, settings)
		VALUES ('forced_seqscan', 'enable_seqscan=off, enable_nestloop=off');
	UPDATE ndag_arms SET enabled = false
		WHERE builtin AND arm_id NOT IN (0, 1, 5);
	-- whether the plan under these settings has a node they disable:
	-- costed at disable_cost up to PostgreSQL 17, "Disabled" from 18
	CREATE FUNCTION eo_forced(settings text, q text) RETURNS boolean
	LANGUAGE plpgsql AS $$
	DECLARE
		j json;
	BEGIN
		SET ruvector.dag_mode = off;
		EXECUTE settings;
		EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;
		RESET ALL;
		RETURN (j->0->'Plan'->>'Total Cost')::float8 >= 1e10
			OR j::text LIKE '%"Disabled": true%';
	END
	$$;
} . ndag_plan_cost_sql('eo') . ndag_run_function_sql('eo'));
my $forced = sql("SELECT arm_id FROM ndag_arms WHERE name = 'forced_seqscan'");

my $q = 'SELECT count(b.pad) FROM eo_small s JOIN eo_big b ON b.id = s.id WHERE s.x = 1';

# the premises, from the planner's own estimates
my ($default, $nonest, $noidx, $noseq) = map { sql("SELECT eo_cost('$_', '$q')") }
  ('', 'SET enable_nestloop = off',
	'SET enable_indexscan = off; SET enable_indexonlyscan = off',
	'SET enable_seqscan = off; SET enable_nestloop = off');
diag("estimated costs: default $default, no_nestloop $nonest, "
	  . "no_indexscan $noidx, forced_seqscan $noseq");
ok($nonest / $default > 10, 'no_nestloop is estimated over 10 times the default');
ok($noidx / $default < 10, 'no_indexscan is estimated under 10 times the default');
is(sql("SELECT eo_forced('SET enable_seqscan = off; SET enable_nestloop = off', '$q')"),
	't', 'the forced arm plans a node its settings disable');

my $learn = ndag_explore_settings();

# explored(ARM): executions of the statement that explored ARM
sub explored
{
	my ($arm) = @_;
	return sql("SELECT count(*) FROM ndag_trajectories
		WHERE decision = 'explore' AND arm = $arm");
}

# 1. learn mode, exploration on, cap at its default
sql("$learn SELECT eo_run('$q', 8); SELECT ruvector_dag_flush()");
is( sql("SELECT arm FROM ndag_trajectories WHERE decision = 'explore'
		ORDER BY traj_id LIMIT 1"),
	'5', 'the arm with the lowest estimated cost ratio is explored first');
ok(explored(5) >= 1, 'no_indexscan was explored');
is(explored(1), '0', 'no_nestloop, estimated too costly, never ran');
is(explored($forced), '0', 'the arm forced past disable_cost never ran');
is(sql("SELECT count(*) FROM ndag_trajectories WHERE arm IN (1, $forced)"),
	'0', 'no execution at all ran either arm');
my $plan = sql("$learn SET ruvector.dag_exploration = 1;
	EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) $q");
unlike($plan, qr/Hash Join|Merge Join|Seq Scan on eo_big/,
	'EXPLAIN ANALYZE in the learning session does not run the costly plan');

# 2. the cap lifted: no_nestloop is explored in its turn, the forced arm
# still never
sql("$learn SET ruvector.dag_explore_max_cost_ratio = 1e15;
	SELECT eo_run('$q', 30); SELECT ruvector_dag_flush()");
ok(explored(1) >= 1, 'with the cap lifted, no_nestloop is explored');
is(explored($forced), '0', 'the forced arm is still never explored');
is(sql("SHOW ruvector.dag_explore_max_cost_ratio"), '10',
	'the cap defaults to 10');

# 3. an exploring execution plans at most ruvector.dag_max_candidates arms:
# with every built-in arm enabled, a new statement's first explorations
# (each right after a default run) make at most two plannings besides the
# default plan's, and the arms are planned over several explorations
sql("UPDATE ndag_arms SET enabled = true WHERE builtin");
my $q2 = "$q AND s.id > 0";
my (@extra, @decisions);
for my $i (1 .. 3)
{
	my $e = sql("$learn SET ruvector.dag_max_candidates = 2; SELECT eo_run('$q2', 1);
		SELECT ruvector_dag_flush();
		EXPLAIN (ANALYZE, FORMAT JSON, COSTS OFF, TIMING OFF) $q2");
	push @extra, $e =~ /"Extra Plannings": (\d+)/ ? $1 : 'none';
	push @decisions, $e =~ /"Decision": "([^"]+)"/ ? $1 : 'none';
}
ok(!grep({ $_ eq 'none' || $_ > 2 } @extra),
	"each made at most two plannings besides the default's (@extra)");
ok(grep({ $_ eq 'explore' } @decisions), "and one of them ran an arm (@decisions)");

$node->stop;
done_testing();
