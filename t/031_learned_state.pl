# The cost model really learns, and backends follow the learned state: on a
# workload of a few query shapes, one ruvector_dag_learn() cuts the model's
# median |predicted - actual| ln-ms error on those executions at least in
# half (the same executions scored by the model before and after the
# cycle); a second cycle without new data changes nothing; a backend
# reloads its copy of the learned state when a cycle moved the generation,
# and only then; in learn mode the instant loop's deltas reach the stored
# model through the learner.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# observe mode: recording only, so that the first cycle's "before" model is
# the untrained one
my $node = ndag_node('learned_state', "ruvector.dag_mode = 'observe'\n");

my @shapes = ndag_learning_shapes('ls');

# workload(N): N executions of each query shape, in one session
sub workload
{
	my ($n) = @_;
	ndag_workload($node, \@shapes, $n);
}

# learned(): patterns and models of database postgres as one string
sub learned
{
	return $node->safe_psql('postgres', q{
		SELECT (SELECT string_agg(concat_ws(':', pattern_id, support, best_arm,
								 md5(centroid::text), md5(arm_stats::text)), ','
								ORDER BY pattern_id) FROM ruvector_dag_patterns())
			|| '|' || (SELECT string_agg(concat_ws(':', name, parameters, updates,
												 loss, trained_at), ','
										 ORDER BY name) FROM ndag_models)});
}

# counter(SESSION_OR_NODE, NAME): a counter of ruvector_dag_status()
sub counter
{
	my ($name) = @_;
	return "(ruvector_dag_status()->'counters'->>'$name')::bigint";
}

$node->safe_psql('postgres', q{
	CREATE TABLE ls AS SELECT g AS id, g % 10 AS k, (g * 7) % 100 AS v
		FROM generate_series(1, 100000) g;
	CREATE INDEX ls_id ON ls (id);
	ANALYZE ls;
	SELECT ruvector_enable_neural_dag('ls');
});
workload(40);
$node->safe_psql('postgres', 'SELECT ruvector_dag_flush()');

# ---------- one cycle: the error on the same executions falls >= 2x ----------
my ($n, $trained, $before, $after) = split /\|/, $node->safe_psql('postgres', q{
	SELECT concat_ws('|', r->>'trajectories', r->>'trained',
					 r->>'median_error_before', r->>'median_error_after')
	FROM ruvector_dag_learn() r});
# a fifth of them is held out to judge the trained model, a fifth of the
# rest validates the training run (about 154 of 240 are trained on)
cmp_ok($trained, '>=', 130, "the cycle trains on the workload ($trained of $n)");
diag("median |ln(predicted ms / actual ms)|: before $before, after $after");
like("$before|$after", qr/^[0-9.e+-]+\|[0-9.e+-]+$/, 'the cycle reports both errors');
cmp_ok($after * 2, '<=', $before,
	"one cycle cuts the median prediction error at least in half ($before -> $after)");
my $models = $node->safe_psql('postgres', q{
	SELECT string_agg(name, ',' ORDER BY name) FROM ndag_models});
like($models, qr/cost_model/, "the cost model is stored ($models)");

# ---------- a second cycle without new data ----------
my $state = learned();
is($node->safe_psql('postgres', "SELECT ruvector_dag_learn()->>'trajectories'"),
	'0', 'a second cycle finds no new trajectories');
is(learned(), $state, 'a second cycle without new data changes nothing');

# ---------- backends reload after a cycle, and only then ----------
my $s = $node->background_psql('postgres');
my ($gen1, $loads1) = split /\|/, $s->query_safe(
	'SELECT ' . counter('learned_generation') . " || '|' || "
	  . counter('learned_loads'));
cmp_ok($gen1, '>', 0, "the session loaded the learned state (generation $gen1)");
my $loads_again = $s->query_safe('SELECT ' . counter('learned_loads'));
is($loads_again, $loads1, 'nothing moved: the session does not load again');
workload(10);
$node->safe_psql('postgres', 'SELECT ruvector_dag_flush()');
$node->safe_psql('postgres', 'SELECT ruvector_dag_learn()');
my ($gen2, $loads2) = split /\|/, $s->query_safe(
	'SELECT ' . counter('learned_generation') . " || '|' || "
	  . counter('learned_loads'));
cmp_ok($gen2, '>', $gen1, "after a cycle the session's generation moved ($gen1 -> $gen2)");
is($loads2, $loads1 + 1, 'the session loaded the new state once');
# a DBA's edit of ndag_patterns is learned state too
$node->safe_psql('postgres', q{
	UPDATE ndag_patterns SET pinned = true
	WHERE pattern_id = (SELECT min(pattern_id) FROM ndag_patterns)});
my $gen3 = $s->query_safe('SELECT ' . counter('learned_generation'));
cmp_ok($gen3, '>', $gen2, "an UPDATE of ndag_patterns moves the session's generation ($gen3)");
$s->quit;

# ---------- the instant loop: learn mode only ----------
# apply mode is frozen: executions take no instant step
my $apply = $node->safe_psql('postgres', q{
	SET ruvector.dag_mode = 'apply';
	DO $$ BEGIN FOR i IN 1..20 LOOP PERFORM count(*) FROM ls; END LOOP; END $$;
	SELECT (ruvector_dag_status()->'counters'->>'instant_steps')});
is($apply, '0', 'apply mode takes no instant step');

# learn mode: one step per recorded execution, a delta flushed to shared
# memory every 100, merged by the learner into the stored model
my $updates = $node->safe_psql('postgres',
	"SELECT updates FROM ndag_models WHERE name = 'cost_model'");
my ($steps, $flushed) = split /\|/, $node->safe_psql('postgres', qq{
	SET ruvector.dag_mode = 'learn';
	DO \$\$
	BEGIN
		FOR i IN 1..40 LOOP
			@{[ join("\n", map { "PERFORM $_;" } @shapes) ]}
		END LOOP;
	END
	\$\$;
	SELECT (ruvector_dag_status()->'counters'->>'instant_steps') || '|' ||
		   (ruvector_dag_status()->'counters'->>'deltas_flushed')});
cmp_ok($steps, '>=', 200, "learn mode takes an instant step per execution ($steps)");
cmp_ok($flushed, '>=', int($steps / 100),
	"a delta is flushed at least every 100 steps ($flushed)");
ok( wait_for(
		sub {
			$node->safe_psql('postgres',
				'SELECT ' . counter('deltas_merged_all') . ' >= '
				  . counter('deltas_flushed_all')) eq 't';
		},
		'the learner to merge the deltas'),
	'the learner merges the flushed deltas');
# all but the last (fewer than 100) steps of the session were flushed
my $merged_updates = $node->safe_psql('postgres',
	"SELECT updates FROM ndag_models WHERE name = 'cost_model'");
cmp_ok($merged_updates, '>=', $updates + $steps - 99,
	"ndag_models shows the merged instant steps ($updates -> $merged_updates)");
my $pulls = $node->safe_psql('postgres',
	"SELECT updates FROM ndag_models WHERE name = 'attention_selector'");
cmp_ok($pulls, '>=', 100, "the attention selector got the rewards ($pulls)");

$node->stop;
done_testing();
