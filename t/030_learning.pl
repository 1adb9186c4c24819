# Learning on a real server: two ruvector_dag_learn() calls at once
# serialise (each trajectory is learned from exactly once), the learned
# state (patterns with a DBA's pin, cost model, HDC snapshot, the position
# of the last trajectory learned) survives a restart and a backup and
# restore, the cost model trained on some executions predicts new ones of
# the same statements far better than the untrained one, and the learner
# worker runs the cycle by itself every ruvector.dag_background_interval.
# Observe mode: only the default plans run and no instant step changes the
# model between cycles (t/031_learned_state.pl covers learn mode).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('learning', "ruvector.dag_mode = 'observe'\n");

# workload(SHAPES, N): N executions of each of the query shapes
sub workload
{
	my ($shapes, $n) = @_;
	ndag_workload($node, $shapes, $n);
}

# state(): the learned state of database postgres as one string
sub state
{
	return $node->safe_psql('postgres', q{
		SELECT (SELECT string_agg(concat_ws(':', pattern_id, support, best_arm,
								 pinned, disabled, md5(centroid::text),
								 md5(arm_stats::text), relids::text), ','
								ORDER BY pattern_id)
				FROM ruvector_dag_patterns())
			|| '|' || (SELECT string_agg(concat_ws(':', name, parameters, updates,
												 loss, lambda, tasks), ','
										 ORDER BY name) FROM ndag_models)
			|| '|' || md5(ruvector_dag_hdc_snapshot())});
}

$node->safe_psql('postgres', q{
	CREATE TABLE lt AS SELECT g AS id, g % 10 AS k, (g * 7) % 100 AS v
		FROM generate_series(1, 5000) g;
	CREATE INDEX lt_id ON lt (id);
	ANALYZE lt;
	SELECT ruvector_enable_neural_dag('lt');
	CREATE TABLE learn_results (trajectories int, loss_before float8);
});
workload([ 'count(*) FROM lt', '* FROM lt WHERE id = i',
		   'k, sum(v) FROM lt GROUP BY k' ], 50);
$node->safe_psql('postgres', 'SELECT ruvector_dag_flush()');
my $recorded = $node->safe_psql('postgres', 'SELECT count(*) FROM ndag_trajectories');
cmp_ok($recorded, '>=', 150, "the workload is recorded ($recorded trajectories)");

# ---------- two cycles at once ----------
my @sessions = map { $node->background_psql('postgres') } (0, 1);
for my $s (@sessions)
{
	$s->query_until(qr/go/, q{
		\echo go
		INSERT INTO learn_results
			SELECT (r->>'trajectories')::int, (r->>'loss_before')::float8
			FROM ruvector_dag_learn() r;
	});
}
$_->query_safe('SELECT 1') for @sessions;
$_->quit for @sessions;
is($node->safe_psql('postgres',
		'SELECT count(*) || \'|\' || sum(trajectories) FROM learn_results'),
	"2|$recorded",
	'two concurrent cycles learn from each trajectory exactly once');
my $patterns = $node->safe_psql('postgres',
	"SELECT count(*) FROM ruvector_dag_patterns('lt') WHERE support > 0 AND best_arm = 0");
cmp_ok($patterns, '>=', 1, "patterns of the table ($patterns)");

# ---------- restart ----------
$node->safe_psql('postgres', q{
	UPDATE ndag_patterns SET pinned = true
	WHERE pattern_id = (SELECT min(pattern_id) FROM ndag_patterns)});
my $before = state();
like($before, qr/:t:f:/, 'a pattern is pinned');
$node->restart;
is(state(), $before, 'patterns, models and HDC snapshot survive a restart');
is($node->safe_psql('postgres',
		"SELECT ruvector_dag_learn()->>'trajectories'"),
	'0', 'after the restart no trajectory is learned from twice');
is(state(), $before, 'a cycle without new trajectories changes nothing');

# ---------- backup and restore ----------
my $backup = $node->basedir . '/learning.backup';
$node->safe_psql('postgres', "SELECT ruvector_dag_backup('$backup')");
$node->safe_psql('postgres', q{
	UPDATE ndag_patterns SET disabled = true;
	DELETE FROM ndag_patterns WHERE NOT pinned;
});
isnt(state(), $before, 'the patterns changed after the backup');
$node->safe_psql('postgres', "SELECT ruvector_dag_restore('$backup')");
is(state(), $before, 'restore gives back the learned state of the backup');

# ---------- the cost model predicts new executions ----------
# loss_before of a cycle is the loss of the model trained so far on
# executions it has not seen yet; the first cycle's is the untrained one's
my $untrained = $node->safe_psql('postgres',
	'SELECT loss_before FROM learn_results WHERE trajectories > 0');
for my $round (1 .. 3)
{
	workload([ 'count(*) FROM lt', '* FROM lt WHERE id = i',
			   'k, sum(v) FROM lt GROUP BY k' ], 50);
	my $loss = $node->safe_psql('postgres',
		"SELECT ruvector_dag_learn()->>'loss_before'");
	cmp_ok($loss * 4, '<', $untrained,
		"round $round: the loss on new executions ($loss) is under a quarter of the untrained model's ($untrained)");
}

# ---------- the worker's periodic cycle ----------
my $support = $node->safe_psql('postgres',
	'SELECT sum(support) FROM ruvector_dag_patterns()');
$node->append_conf('postgresql.conf', "ruvector.dag_background_interval = 1000\n");
$node->reload;
workload([ 'count(*) FROM lt', 'k, sum(v) FROM lt GROUP BY k' ], 30);
ok( wait_for(
		sub {
			$node->safe_psql('postgres',
				'SELECT sum(support) FROM ruvector_dag_patterns()') >= $support + 60;
		},
		'the learner worker to learn the new executions'),
	'the learner worker learns the new executions by itself');
like(state(), qr/:t:f:/, 'the pin survives the worker\'s cycles');

$node->stop;
done_testing();
