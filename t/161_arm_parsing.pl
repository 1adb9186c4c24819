# A backend parses an arm's planner settings only when it plans under that
# arm (or shows or advises it), not at every load of the enabled arms: a new
# backend whose statements all run their default plan parses none.
#  1. A new session in learn mode, exploration off, planning and running a
#     join on enabled tables (decided: the default plan) parsed no arm.
#  2. A session that explores the join inline plans under arms: it parsed
#     at least one, and no more than there are enabled arms.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('arm_parsing', "ruvector.dag_healing_enabled = off\n");
$node->safe_psql('postgres', ndag_join_tables_sql('ap'));
my ($q) = ndag_join_queries('ap');
my $enabled = $node->safe_psql('postgres',
	'SELECT count(*) FROM ndag_arms WHERE enabled AND arm_id > 0');
cmp_ok($enabled, '>=', 1, "arms are enabled ($enabled)");

# ---------- 1. default plans only ----------
my $out = $node->safe_psql('postgres', qq{
	SET ruvector.dag_mode = 'learn';
	SET ruvector.dag_exploration_mode = 'off';
	$q;
	$q;
	SELECT (c->>'decided_default')::bigint > 0, c->>'arms_parsed'
	FROM (SELECT ruvector_dag_status()->'counters' AS c) s;
});
my @lines = split /\n/, $out;
is($lines[-1], 't|0',
	'a session that ran only default plans decided them and parsed no arm');

# ---------- 2. exploring ----------
my $parsed = $node->safe_psql('postgres', ndag_explore_settings() . qq{
	SET ruvector.dag_min_cost = 0;
	$q;
	$q;
	$q;
	SELECT ruvector_dag_status()->'counters'->>'arms_parsed';
});
@lines = split /\n/, $parsed;
cmp_ok($lines[-1], '>=', 1, "a session that explored parsed arms ($lines[-1])");
cmp_ok($lines[-1], '<=', $enabled, 'each at most once');

$node->stop;
done_testing();
