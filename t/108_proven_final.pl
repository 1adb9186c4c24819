# Two arms proven faster than the default plan on one statement class: the
# users' executions in learn mode run a final between them (the applied arm
# and the other take turns, each run of the challenger paired with the
# applied arm's run before it), and the arm the final finds faster is
# applied from then on, whatever the speed-ups the two were proven with
# against the default plan at other moments say.
#
# Two custom arms on a join whose default plan is a slow nested loop: hash
# (a hash join over a bitmap scan of the few rows wanted) and seq_hash (the
# same join over a sequential scan of the whole table: about twice as slow
# as hash here, still far faster than the default).
#   (a) Both proven on one statement: hash has the larger speed-up and is
#       applied; seq_hash challenges it in the final and loses; hash stays,
#       and seq_hash never runs again as a challenger.
#   (c) On a third statement the final's pairs stop forming (no execution
#       recorded): after 200 turns it is abandoned, hash stays.
#   (b) On another statement hash is proven first; then the default plan
#       gets ten times slower (more rows the planner does not know of) and
#       seq_hash is proven against that default with the larger speed-up,
#       so the ranking applies seq_hash; hash challenges it in the final,
#       wins, and is applied from then on.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('proven_final');
my $sql = sub { $node->safe_psql('postgres', shift) };
my $counter = sub { ndag_status_counter($node, shift) };

$sql->(ndag_join_tables_sql('pf') . ndag_explain_function_sql('pf')
	  . ndag_run_function_sql('pf') . q{
	INSERT INTO ndag_arms (name, settings) VALUES
		('hash', 'enable_nestloop=off, cpu_operator_cost=0.05'),
		('seq_hash', 'enable_nestloop=off, enable_bitmapscan=off, enable_indexscan=off');
	UPDATE ndag_arms SET enabled = false WHERE builtin AND arm_id <> 0;
});
my $hash = $sql->("SELECT arm_id FROM ndag_arms WHERE name = 'hash'");
my $seq = $sql->("SELECT arm_id FROM ndag_arms WHERE name = 'seq_hash'");
my ($q1, $q2) = ndag_join_queries('pf');

# learning inline, every arm explored
my $learn = ndag_explore_settings() . 'SET jit = off;';

# decided(Q): "decision:arm" of EXPLAIN of Q in a learning session
sub decided
{
	my ($q) = @_;
	my $e = $sql->("$learn SELECT pf_explain('$q')");
	my ($decision) = $e =~ /"Decision": "(\w+)"/;
	my ($arm) = $e =~ /"Arm": "(\d+) /;
	return ($decision // '?') . ':' . ($arm // '?');
}

# learn_until(Q, CODE, WHAT): run Q twice at a time in a learning session
# until CODE returns true (bounded by wait_for)
sub learn_until
{
	my ($q, $code, $what) = @_;
	return wait_for(
		sub {
			$sql->("$learn SELECT pf_run('$q', 2)");
			return $code->();
		},
		$what);
}

is($sql->("SET ruvector.dag_mode = 'observe'; SELECT pf_explain('$q1')->>'Join'"),
	'Nested Loop', 'the default plan is a nested loop');

# ---------- (a) the applied arm wins its final ----------
ok( learn_until(
		$q2, sub { $counter->('query_memory_proven') >= 2 },
		'both arms proven on the second statement'),
	'both arms are proven faster than the default plan');
is(decided($q2), "proven:$hash", 'hash, proven with the larger speed-up, is applied');

ok(learn_until($q2, sub { $counter->('finals_lost') >= 1 }, 'a final lost'),
	'seq_hash challenged hash in the users\' executions and lost');
ok($counter->('final_runs') >= 1, 'the challenger ran in users\' executions ('
	  . $counter->('final_runs') . ' runs)');
$sql->('SELECT ruvector_dag_flush()');
ok( $sql->("SELECT count(*) FROM ndag_trajectories
		WHERE decision = 'proven' AND arm = $seq") >= $counter->('final_runs'),
	'each run of the challenger is recorded as a run of a proven arm');
is($counter->('finals_won'), 0, 'no challenger won');
my $runs = $counter->('final_runs');
$sql->("$learn SELECT pf_run('$q2', 6)");
is($counter->('final_runs'), $runs, 'a challenger that lost never runs again');
is(decided($q2), "proven:$hash", 'hash stays applied');

# ---------- (c) a final whose pairs stop forming is abandoned ----------
# a third statement (q2 with one more condition, the same plans): both arms
# proven, hash applied, seq_hash its challenger; then no execution is
# recorded (sampling off), so no pair forms: after 200 turns of the final
# it is abandoned, hash stays, seq_hash counts as having lost
my $q3 = "$q2 AND a.id < 100000000";
my $proven = $counter->('query_memory_proven');
ok( learn_until(
		$q3, sub { $counter->('query_memory_proven') >= $proven + 2 },
		'both arms proven on the third statement'),
	'both arms are proven on the third statement');
is(decided($q3), "proven:$hash", 'hash is applied on the third statement');
my $lost = $counter->('finals_lost');
$runs = $counter->('final_runs');
$sql->("$learn SET ruvector.dag_sample_rate = 0; SELECT pf_run('$q3', 300)");
is($counter->('finals_lost'), $lost + 1,
	'the final without pairs is abandoned after 200 turns, counted as lost');
ok($counter->('final_runs') <= $runs + 1,
	'the challenger ran at most once without being recorded');
$runs = $counter->('final_runs');
$sql->("$learn SELECT pf_run('$q3', 6)");
is($counter->('final_runs'), $runs, 'the abandoned challenger never runs again');
is(decided($q3), "proven:$hash", 'the applied arm stays');

# ---------- (b) the challenger wins its final ----------
# the first statement: hash alone, proven
$sql->("UPDATE ndag_arms SET enabled = false WHERE arm_id = $seq");
ok(learn_until($q1, sub { decided($q1) eq "proven:$hash" }, 'hash proven on q1'),
	'hash is proven on the first statement while seq_hash is disabled');

# the default plan ten times slower: the nested loop's outer side grows,
# the planner's estimate does not (no ANALYZE)
$sql->("INSERT INTO pf_a SELECT 200000 + g, 1, 1, 1 FROM generate_series(1, 4500) g;
	 UPDATE ndag_arms SET enabled = true WHERE arm_id = $seq");

# seq_hash proven against that default in a few pairs, before hash is
# re-validated against it (every 16 executions): seq_hash's speed-up is
# the larger and the ranking applies it, then hash challenges it
my $won = $counter->('finals_won');
ok(learn_until($q1, sub { decided($q1) eq "proven:$seq" }, 'seq_hash applied'),
	'seq_hash, proven against the slower default with the larger speed-up, is applied');

# while the final is open (hash needs two pairs at least to win it), a plain
# EXPLAIN takes none of its turns: in one session, plain EXPLAINs of q1
# alternate with its executions (each EXPLAIN after the first finds the
# session's cached decision); none moves final_runs, and an execution right
# after one that found the applied arm's run fresh runs the challenger
my $final_runs = "SELECT (ruvector_dag_status()->'counters'->>'final_runs')::bigint;";
my @n = grep { /^\d+$/ } split /\n/,
  $sql->("$learn $final_runs"
	  . ("SELECT pf_explain('$q1') IS NULL; $final_runs"
		  . "SELECT pf_run('$q1', 1); $final_runs") x 6);
my ($explain_ran_final, $turn_kept) = (0, 0);
for my $k (0 .. 5)
{
	$explain_ran_final = 1 if $n[ 2 * $k + 1 ] != $n[ 2 * $k ];
	$turn_kept = 1 if $k >= 1 && $n[ 2 * $k + 2 ] > $n[ 2 * $k + 1 ];
}
is(scalar(@n), 13, 'final_runs read around each EXPLAIN and execution');
ok($turn_kept && !$explain_ran_final,
	'a plain EXPLAIN during the final leaves the challenger\'s turn to the next execution ('
	  . join(',', @n) . ')');
ok(learn_until($q1, sub { $counter->('finals_won') > $won }, 'a final won'),
	'hash challenged seq_hash, applied by its larger speed-up, and won');
is(decided($q1), "proven:$hash", 'the winner is applied from then on');

$node->stop;
done_testing();
