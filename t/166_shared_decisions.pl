# Decisions shared across backends: a new backend's first planning of a
# statement another backend decided (a parameter set planned before, the
# same settings, the same learned state and epochs) is served by the
# published decision: planned once, under its arm, its plan not embedded
# again.  Not served: under a session setting that weighs on decisions and
# differs, for a parameter set never planned, after the DBA's control
# changed the statement's decision.  A parameter set planned under an arm
# but never measured (its runs not recorded) is served too: its planning
# remembered the class it found.  A reset of the statements drops them all.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shared_decisions');

$node->safe_psql('postgres', ndag_join_tables_sql('sd')
	  . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('sd')
	  . ndag_run_function_sql('sd'));
my $arm = $node->safe_psql('postgres',
	"SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");
my ($q) = ndag_join_queries('sd');
my $learn = ndag_explore_settings();

my $proven = ndag_learn_until_proven($node, 'sd', $q, 'an arm proven for the join');
like($proven, qr/^$arm /, "the custom arm is proven for the join ($proven)");
# a run after the proof: its backend decides the statement and publishes it
$node->safe_psql('postgres', "$learn SELECT sd_run('$q', 1)");

# first_planning(SETTINGS, SQL): in a new session with SETTINGS, EXPLAIN of
# SQL, its first planning: "DECISION ARM shared-hits misses embedded" (the
# counters' growth over that planning)
sub first_planning
{
	my ($settings, $sql) = @_;
	my $counters = "SELECT concat_ws(' ', c->>'cache_shared_hits', c->>'cache_misses',
		c->>'plans_embedded') FROM (SELECT ruvector_dag_status()->'counters' AS c) s;";
	my @out = split /\n/, $node->safe_psql('postgres',
		"$settings $counters SELECT concat_ws(' ', e->>'Decision', split_part(e->>'Arm', ' ', 1))
			FROM sd_explain('$sql') e; $counters");
	my @before = split / /, $out[0];
	my @after = split / /, $out[2];
	return join(' ', $out[1], map { $after[$_] - $before[$_] } 0 .. 2);
}

# ---------- 1. a new backend takes the published decision ----------
is(first_planning($learn, $q), "proven $arm 1 0 0",
	'a new session plans the statement under its proven arm from the published decision:'
	  . ' no cache miss, no embedding');
is(first_planning($learn, $q), "proven $arm 1 0 0", 'and so does the next one');

# ---------- 2. what is not served ----------
is(first_planning("$learn SET enable_mergejoin = off;", $q), "proven $arm 0 1 1",
	'a session with another planner setting decides it itself (the same arm)');
(my $other = $q) =~ s/a\.x = 1 AND a\.y = 1 AND a\.z = 1/a.x = 2 AND a.y = 2 AND a.z = 2/;
isnt($other, $q, 'a parameter set of the statement never planned');
like(first_planning($learn, $other), qr/ 0 1 1$/,
	'is analysed, not served: its plan may be of another class');

# ---------- 3. a control the DBA changes ----------
my $qid = ndag_query_id($node, $q);
$node->safe_psql('postgres',
	"UPDATE ndag_queries SET forbidden_arms = ARRAY[$arm] WHERE query_id = $qid");
is(first_planning($learn, $q), 'default plan 0 0 1 1',
	'after the arm is forbidden, a new session decides the default plan itself');
$node->safe_psql('postgres', "$learn SELECT sd_run('$q', 1)");
is(first_planning($learn, $q), 'default plan 0 1 0 0',
	'and once a run decided it so, the next new session takes that decision');

# ---------- 4. a parameter set planned before but never measured ----------
# (a statement not worth exploring: its parameter sets are not measured;
# the class its planning found under a pinned arm is remembered for the
# decision to serve)
$node->safe_psql('postgres',
	"UPDATE ndag_queries SET forbidden_arms = '{}', pinned_arm = $arm WHERE query_id = $qid");
my $unrecorded = "$learn SET ruvector.dag_sample_rate = 0; "
  . "SET ruvector.dag_min_latency = 100000; SET ruvector.dag_min_cost = 1e10;";
(my $third = $q) =~ s/a\.x = 1 AND a\.y = 1 AND a\.z = 1/a.x = 3 AND a.y = 3 AND a.z = 3/;
$node->safe_psql('postgres', "$unrecorded SELECT sd_run('$third', 1)");
like(first_planning($unrecorded, $third), qr/^pinned $arm 1 0 0$/,
	'a new session takes the pinned decision for a parameter set another session ran unrecorded');

# ---------- 5. a reset of the per-statement memory ----------
$node->safe_psql('postgres', "SELECT ruvector_dag_reset('queries')");
like(first_planning($unrecorded, $third), qr/^default plan 0 0 1 \d$/,
	'after a reset of the statements, a new session decides the statement anew');

$node->stop;
done_testing();
