# A backend reads its database's pattern bank only for a decision that
# matches patterns: not for a statement that goes to the default plan
# anyway in learn mode because it is not worth exploring; and it decodes
# the cost model only for a prediction or an instant-loop step: not for a
# statement that is planned but not recorded.  The cluster's
# learned_loads_all counts loads of the learned state (generation,
# selector), learned_bank_loads_all loads of the pattern bank,
# learned_model_loads_all decodes of the cost model.
#  1. A new session's statement on an enabled table in learn mode, below
#     ruvector.dag_min_cost and ruvector.dag_min_latency: the learned state
#     is loaded, the pattern bank is not.
#  2. The same statement in apply mode (patterns are applied): the bank is
#     loaded.
#  3. Worth exploring in learn mode (inline): the bank is loaded.
#  4. ruvector_dag_status() still reports the patterns of the copy.
#  5. A new session's statement planned through a decision but not
#     recorded (ruvector.dag_sample_rate = 0), never run before (one known
#     to keep its default plan is decided without the learned state,
#     t/125): the learned state is loaded, the cost model is not decoded
#     (its predictions come from the copy an earlier session decoded and
#     shared).
#     A session planning many statements that way predicts from a copy
#     of the shared model after its first 16 predictions (counted in
#     shared_model_copies), still decoding none itself.
#  6. The same statement recorded (the instant loop trains a model of the
#     session's own): the session copies the model from the shared slot
#     (learned_model_takes_all) and decodes none; with the slot holding
#     another version (a learning cycle stored a new model), the first
#     recording session decodes it, the next one copies it, and both train
#     it (instant_steps_all).
#  7. A statement not worth exploring whose default runs far slower than
#     the stored cost model predicts (a BTSP "explore" entry): a new
#     session's execution of it in learn mode does not read the bank, and
#     its recorded runs, which renew the entry, keep its cached decision.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('lazy_bank',
	"ruvector.dag_mode = 'learn'\nruvector.dag_healing_enabled = off\n"
	  . "ruvector.dag_min_cost = 1000000000\nruvector.dag_min_latency = 100000\n");

$node->safe_psql('postgres', q{
	CREATE TABLE lb AS SELECT g AS id, g % 10 AS k FROM generate_series(1, 2000) g;
	ANALYZE lb;
	SELECT ruvector_enable_neural_dag('lb');
});

# loads(): the cluster's loads of the learned state, of pattern banks and
# of cost models, read by a new session (whose own status call loads the
# state and the bank once, not the model)
sub loads
{
	my $row = $node->safe_psql('postgres', q{
		SELECT concat_ws('|', c->>'learned_loads_all',
						 coalesce(c->>'learned_bank_loads_all', 'absent'),
						 coalesce(c->>'learned_model_loads_all', 'absent'))
		FROM (SELECT ruvector_dag_status()->'counters' AS c) s});
	my %c;
	@c{qw(state bank model)} = split /\|/, $row;
	return \%c;
}

# ---------- 1. learn mode, not worth exploring ----------
my $c0 = loads();
isnt($c0->{bank}, 'absent', 'ruvector_dag_status() counts pattern bank loads');
$node->safe_psql('postgres', 'SELECT count(*) FROM lb WHERE k = 1');
my $c1 = loads();
# the statement's session and the status session
cmp_ok($c1->{state} - $c0->{state}, '>=', 2,
	'the statement\'s session loaded the learned state');
is($c1->{bank} - $c0->{bank}, 1,
	'but not the pattern bank (only the status session did)');

# ---------- 2. apply mode: patterns may be applied ----------
$node->safe_psql('postgres',
	"SET ruvector.dag_mode = 'apply'; SELECT count(*) FROM lb WHERE k = 2");
my $c2 = loads();
is($c2->{bank} - $c1->{bank}, 2, 'apply mode: the statement read the bank');

# ---------- 3. learn mode, worth exploring ----------
$node->safe_psql('postgres', q{
	SET ruvector.dag_min_cost = 0;
	SET ruvector.dag_exploration_mode = inline;
	SELECT count(*) FROM lb WHERE k = 3});
my $c3 = loads();
is($c3->{bank} - $c2->{bank}, 2,
	'worth exploring: the statement read the bank');

# ---------- 4. the status still shows the copy's patterns ----------
is($node->safe_psql('postgres',
	q{SELECT ruvector_dag_status()->'counters' ? 'learned_patterns'}),
	't', 'ruvector_dag_status() reports learned_patterns');

# ---------- 5. planned, not recorded: the shared decoded model ----------
my $c5 = loads();
isnt($c5->{model}, 'absent', 'ruvector_dag_status() counts cost model loads');
my $decided = ndag_status_counter($node, 'decided_default');
# the first session to decode the model at a store generation shares it;
# a new session after it predicts from that copy (a learning cycle in
# between moves the generation: then a later one does)
my $c6;
ok( wait_for(
		sub {
			my $before = loads();
			$node->safe_psql('postgres', q{
				SET ruvector.dag_sample_rate = 0;
				SELECT count(*), max(id) FROM lb WHERE k = 5});
			$c6 = loads();
			return $c6->{model} ne 'absent'
			  && $c6->{model} == $before->{model}
			  && $c6->{state} - $before->{state} >= 2;
		},
		'a new session that decodes no cost model'),
	'a new session not recorded loads the learned state but predicts '
	  . 'from the shared decoded model, decoding none itself');
cmp_ok(ndag_status_counter($node, 'decided_default'), '>', $decided,
	'its statements were planned through a decision');

# 20 statements of different shapes, each planned through a decision (two
# predictions each) in one session not recorded
my $many = join('', map {
		'SELECT ' . join(', ', ('count(*)') x $_) . ' FROM lb WHERE k = 5; '
	} (1 .. 20));
my $copies;
ok( wait_for(
		sub {
			my $before = loads();
			$copies = $node->safe_psql('postgres',
				"SET ruvector.dag_sample_rate = 0; $many"
				  . q{SELECT ruvector_dag_status()->'counters'->>'shared_model_copies'});
			$copies = (split /\n/, $copies)[-1];
			return $copies >= 1 && loads()->{model} == $before->{model};
		},
		'a session that copies the shared model'),
	'a session planning many statements predicts from its copy of the '
	  . 'shared model, decoding none itself');

# ---------- 6. recorded: a model of its own, copied from the slot ----------
# takes(): the cluster's copies taken from the slot and its instant steps
sub takes
{
	return [ map { ndag_status_counter($node, $_) }
		  qw(learned_model_takes_all instant_steps_all) ];
}
my $record6 = q{
	SET ruvector.dag_sample_rate = 1;
	SELECT count(*) FROM lb WHERE k = 6;
	SELECT count(*) FROM lb WHERE k = 6;
	SELECT count(*) FROM lb WHERE k = 6};
my ($t6, $t7, $c7);
ok( wait_for(
		sub {
			$c6 = loads();
			$t6 = takes();
			$node->safe_psql('postgres', $record6);
			$c7 = loads();
			$t7 = takes();
			return $c7->{model} == $c6->{model} && $t7->[0] > $t6->[0];
		},
		'a recording session that copies the model'),
	'a recording session copies the cost model from the shared slot, '
	  . 'decoding none');
cmp_ok($t7->[1], '>', $t6->[1], 'and trains its copy (instant steps)');

# a stored model of a new version: the first recording session decodes
# it, the next copies it
$node->safe_psql('postgres', 'SET ruvector.dag_sample_rate = 1; '
	  . join('', map { "SELECT count(*) FROM lb WHERE k = $_; " } (0 .. 9) x 3)
	  . 'SELECT ruvector_dag_flush(); SELECT ruvector_dag_learn()');
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM ndag_models WHERE name = 'cost_model'}),
	'1', 'a learning cycle stored a cost model');
# (a session's instant steps, merged into the stored model by the learner,
# make another version: a session then decodes again, so the one that
# copies may come later)
my $m0 = loads()->{model};
my ($t8a, $t8b);
ok( wait_for(
		sub {
			my $m = loads()->{model};
			$t8a = takes();
			$node->safe_psql('postgres', $record6);
			$t8b = takes();
			return loads()->{model} == $m && $t8b->[0] > $t8a->[0];
		},
		'a recording session that copies the new model'),
	'after the cycle a recording session copies the stored model from the '
	  . 'slot, decoding none');
cmp_ok(loads()->{model}, '>', $m0, 'a recording session decoded it first');
cmp_ok($t8b->[1], '>', $t8a->[1], 'the copying session trains its copy');

# ---------- 7. a BTSP "explore" entry, not worth exploring ----------
# a stored cost model, learned from short lb statements
$node->safe_psql('postgres', 'SET ruvector.dag_sample_rate = 1; '
	  . join('', map { "SELECT count(*) FROM lb WHERE k = $_; " } (0 .. 9) x 3)
	  . 'SELECT ruvector_dag_flush(); SELECT ruvector_dag_learn()');
# a join of 40,000 rows runs far slower than those: its default runs are
# recorded until their median is 3x the model's prediction
my $slow = 'SELECT count(*) FROM lb a, lb b WHERE a.k = 7 AND b.k = 7';
ok( wait_for(
		sub {
			$node->safe_psql('postgres',
				"SET ruvector.dag_sample_rate = 1; $slow; $slow; $slow");
			return ndag_status_counter($node, 'query_memory_btsp') >= 1;
		},
		'a BTSP entry'),
	'the slow statement got a BTSP "explore" entry');
my $c8 = loads();
$node->safe_psql('postgres', $slow);
my $c9 = loads();
cmp_ok($c9->{state} - $c8->{state}, '>=', 2,
	'the slow statement\'s session loaded the learned state');
is($c9->{bank} - $c8->{bank}, 1,
	'but not the pattern bank: the BTSP entry does not make it worth exploring');

# its entry renewed by each recorded run (the median still far slower than
# predicted) changes no decision: a session's plannings after its first
# are served from the Embedding Cache, not analysed again
my ($hits, $misses) = map { ndag_status_counter($node, $_) } qw(cache_hits cache_misses);
$node->safe_psql('postgres', "SET ruvector.dag_sample_rate = 1; $slow; $slow; $slow; $slow; $slow");
cmp_ok(ndag_status_counter($node, 'cache_hits') - $hits, '>=', 3,
	'the slow statement\'s recorded runs kept its cached decision ('
	  . (ndag_status_counter($node, 'cache_misses') - $misses) . ' misses of 5)');

$node->stop;
done_testing();
