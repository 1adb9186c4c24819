# A cost model that never gets worse: each learning cycle trains the cost
# model on the trajectories not held out (a stable share, by a hash of the
# trajectory id) and keeps the trained model only when its median
# |ln(predicted ms / actual ms)| on the held-out trajectories is not worse
# than the old model's (2% tolerance).  Ten cycles over the same real
# workload in learn mode: every cycle reports the held-out error before and
# after; a kept model is never worse than noise; a rejected one leaves the
# stored model as it was (its training steps are not added).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('costmodel_heldout', "ruvector.dag_mode = 'learn'\n");

my @shapes = ndag_learning_shapes('hq');

$node->safe_psql('postgres', q{
	CREATE TABLE hq AS SELECT g AS id, g % 10 AS k, (g * 7) % 100 AS v
		FROM generate_series(1, 50000) g;
	CREATE INDEX hq_id ON hq (id);
	ANALYZE hq;
	SELECT ruvector_enable_neural_dag('hq');
});

# model_updates(): the stored cost model's steps (instant + background)
sub model_updates
{
	my $u = $node->safe_psql('postgres',
		"SELECT updates FROM ndag_models WHERE name = 'cost_model'");
	return $u eq '' ? 0 : $u;
}

my $tolerance = 0.02;
my $kept = 0;
for my $cycle (1 .. 10)
{
	ndag_workload($node, \@shapes, 8);
	my $updates = model_updates();
	my ($heldout, $before, $after, $keep, $trained) = split /\|/,
	  $node->safe_psql('postgres', q{
		SELECT concat_ws('|', r->>'heldout', r->>'heldout_error_before',
						 r->>'heldout_error_after', r->>'cost_model_kept',
						 r->>'trained')
		FROM ruvector_dag_learn() r});
	my $grown = model_updates() - $updates;
	diag("cycle $cycle: held out $heldout, trained $trained, held-out error "
		  . "$before -> $after, kept $keep, steps added $grown");
	like("$before|$after", qr/^[0-9.e+-]+\|[0-9.e+-]+$/,
		"cycle $cycle reports the held-out error before and after");
	cmp_ok($heldout // 0, '>=', 5, "cycle $cycle judges on held-out trajectories");
	if ($keep eq 'true')
	{
		$kept++;
		cmp_ok($after, '<=', $before * (1 + $tolerance),
			"cycle $cycle: the kept model is not worse on the held-out trajectories");
		cmp_ok($grown, '>=', 1000, "cycle $cycle: the trained model is stored");
	}
	else
	{
		cmp_ok($after, '>', $before * (1 + $tolerance),
			"cycle $cycle: the model rejected was worse on the held-out trajectories");
		# the instant loop's merged steps (fewer than this cycle's 48
		# executions) may be added, the background run's thousand are not
		cmp_ok($grown, '<', 1000, "cycle $cycle: the stored model stays the previous one");
	}
}
cmp_ok($kept, '>=', 1, "at least one cycle improved the model ($kept of 10)");

$node->stop;
done_testing();
