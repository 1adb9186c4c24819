# The cost model over ten learning cycles of one real workload, with
# executions (and exploration of the arms) between the cycles: no cycle's
# training makes the held-out error worse by more than noise, whether or not
# the keep-or-reject rule would have caught it, and the model that is kept
# in the end predicts EXPLAIN ANALYZE's latency within a factor.  Each cycle
# gets a few dozen new executions; the cost model trains on them and on the
# newest earlier ones (replayed), so it neither memorises one cycle's
# executions nor forgets the statements and arms that were not run since.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('costmodel_cycles', ndag_explore_conf());
my @shapes = ndag_learning_shapes('cc');
$node->safe_psql('postgres', q{
	CREATE TABLE cc AS SELECT g AS id, g % 10 AS k, (g * 7) % 100 AS v
		FROM generate_series(1, 50000) g;
	CREATE INDEX cc_id ON cc (id);
	ANALYZE cc;
	SELECT ruvector_enable_neural_dag('cc');
});

# a rise of the median |ln error| up to this much is run-to-run noise
my $noise = 0.1;
my ($first, $last);
my $replayed_max = 0;
for my $cycle (1 .. 10)
{
	ndag_workload($node, \@shapes, 4);
	my ($heldout, $before, $after, $kept, $trained, $replayed, $validated) = split /\|/,
	  $node->safe_psql('postgres', q{
		SELECT concat_ws('|', r->>'heldout', r->>'heldout_error_before',
						 r->>'heldout_error_after', r->>'cost_model_kept',
						 r->>'trained', r->>'replayed', r->>'validated')
		FROM ruvector_dag_learn() r});
	diag("cycle $cycle: trained $trained, validated $validated (replayed $replayed), held out "
		  . "$heldout, held-out error $before -> $after, kept $kept");
	like("$before|$after", qr/^[0-9.e+-]+\|[0-9.e+-]+$/,
		"cycle $cycle reports finite held-out errors");
	cmp_ok($after, '<=', $before + $noise,
		"cycle $cycle: training does not make the held-out error worse than noise");
	$last = $kept eq 'true' ? $after : $before;
	$first //= $last;
	cmp_ok($last, '<=', $first + $noise,
		"cycle $cycle: the model kept is not worse than the first one's by more than noise");
	$replayed_max = $replayed if $replayed > $replayed_max;
}
cmp_ok($replayed_max, '>', 0, 'later cycles train on earlier executions again');

# the kept model against EXPLAIN ANALYZE: the prediction within a factor of 4
my $within = 0;
for my $shape (@shapes)
{
	(my $q = "SELECT $shape") =~ s/\bi\b/7/g;
	my ($pred, $exec) = split /\|/, $node->safe_psql('postgres', qq{
		CREATE TEMP TABLE e (j json);
		DO \$\$ DECLARE j json; BEGIN
			EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) $q' INTO j;
			INSERT INTO e VALUES (j);
		END \$\$;
		SELECT concat_ws('|', j->1->'Neural DAG'->>'Predicted Latency',
						 j->1->'Neural DAG'->>'Executed Latency') FROM e});
	diag("$q: predicted $pred ms, executed $exec ms");
	$within++ if defined $exec && $pred =~ /^[0-9.e+-]+$/ && $pred > 0
	  && abs(log($pred / ($exec > 0.001 ? $exec : 0.001))) < log(4);
}
cmp_ok($within, '>=', scalar(@shapes) - 1,
	"EXPLAIN ANALYZE's predicted latency is within 4x of the executed one ($within of "
	  . scalar(@shapes) . ")");

$node->stop;
done_testing();
