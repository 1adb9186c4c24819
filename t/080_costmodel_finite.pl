# The learned cost model stays finite under concurrency.  Backends train
# their own copies of the stored model (the instant loop) and the learner
# merges their deltas; summed, k parallel deltas are k times one backend's
# step and made the stored model diverge to infinities.  Here four pgbench
# clients in learn mode, at an instant learning rate one backend alone
# handles but four summed do not, run while the foreground restores a
# backup every other round and runs learning cycles (which merge the
# deltas): every stored parameter stays finite, every cycle succeeds, no
# client sees "cost model ... is unreadable".  Then deterministically: a
# session at learning rate 1.0 diverges, its non-finite steps are rejected
# and counted in ruvector_dag_status(), and the cycle after it succeeds with
# a finite model.  Last, a cost model made unreadable on disk warns a
# session once, not at every reload.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('costfinite', qq{
ruvector.dag_attention_type = 'topological'
ruvector.dag_exploration = 0.5
ruvector.dag_min_latency = 0
# a small file to search for the stored model at the end
ruvector.dag_map_size = 32MB
});
my $dir = PostgreSQL::Test::Utils::tempdir;

# counter(NAME): SQL reading a counter of ruvector_dag_status()
sub counter
{
	my ($name) = @_;
	return "(ruvector_dag_status()->'counters'->>'$name')::bigint";
}

# nonfinite(): "bad/total" parameters of the stored cost model, read from
# the state bytes (cf_models, below: ndag_models does not show them) as
# float32 little-endian from byte 56: exponent bits all ones is NaN or
# infinity
sub nonfinite
{
	return $node->safe_psql('postgres', q{
		SELECT count(*) FILTER (WHERE (get_byte(state, o + 3) & 127) = 127
								  AND (get_byte(state, o + 2) & 128) = 128)
			   || '/' || count(*)
		FROM cf_models, generate_series(56, length(state) - 12, 4) o
		WHERE name = 'cost_model'});
}

$node->safe_psql('postgres', q{
	CREATE FOREIGN TABLE cf_models (name text, dbid oid, state bytea)
		SERVER neural_dag OPTIONS (store 'models');
	CREATE TABLE cf AS SELECT g AS id, g % 50 AS k, (g * 7) % 1000 AS v
		FROM generate_series(1, 20000) g;
	CREATE INDEX cf_id ON cf (id);
	ANALYZE cf;
	SELECT ruvector_enable_neural_dag('cf');
	DO $$
	BEGIN
		FOR i IN 1..60 LOOP
			PERFORM count(*) FROM cf WHERE k = i % 50;
			PERFORM * FROM cf WHERE id = i;
			PERFORM k, sum(v) FROM cf WHERE id < i * 300 GROUP BY k;
		END LOOP;
	END
	$$;
	SELECT ruvector_dag_flush();
});
my $first = $node->safe_psql('postgres', "SELECT ruvector_dag_learn()->>'trained'");
cmp_ok($first, '>', 0, "a first cycle trains the cost model ($first samples)");
is(nonfinite(), '0/' . $node->safe_psql('postgres',
		"SELECT parameters FROM ndag_models WHERE name = 'cost_model'"),
	'the stored cost model is finite');
my $backup = "$dir/learned.mdb";
$node->safe_psql('postgres', "SELECT ruvector_dag_backup('$backup')");

# ---------- four learn-mode clients, restores and cycles in between ----------
my $script = "$dir/workload.sql";
PostgreSQL::Test::Utils::append_to_file($script, q{
\set i random(1, 20000)
SELECT count(*) FROM cf WHERE k = :i % 50;
SELECT * FROM cf WHERE id = :i;
SELECT k, sum(v) FROM cf WHERE id < :i GROUP BY k;
});
my ($out, $err) = ('', '');
{
	# 0.05 is stable for one backend; four summed deltas diverge
	local $ENV{PGOPTIONS} = '-c ruvector.dag_learning_rate=0.05';
	my $pgbench = IPC::Run::start(
		[
			'pgbench', '-n', '-c', '4', '-j', '2', '-t', '1000000', '-f',
			$script, '-h', $node->host, '-p', $node->port, 'postgres'
		],
		'>', \$out, '2>', \$err);
	my ($failed, $restores) = (0, 0);
	my $started = time;
	for my $round (1 .. 8)
	{
		# new deltas of the clients since the last round
		my $flushed = $node->safe_psql('postgres',
			'SELECT ' . counter('deltas_flushed_all'));
		$node->poll_query_until('postgres',
			'SELECT ' . counter('deltas_flushed_all') . " >= $flushed + 8")
		  or diag("no new deltas in round $round");
		if ($round % 2 == 0)
		{
			$node->psql('postgres', "SELECT ruvector_dag_restore('$backup')",
				on_error_stop => 0);
			$restores++;
		}
		my ($rc, $stdout, $stderr) = $node->psql('postgres',
			'SELECT ruvector_dag_flush(); SELECT ruvector_dag_learn()');
		if ($rc != 0)
		{
			$failed++;
			diag("round $round: $stderr");
		}
	}
	my $elapsed = time - $started;
	$pgbench->kill_kill;
	is($failed, 0, "every learning cycle among the clients succeeds ($restores restores)");
	my ($bad, $total) = split m{/}, nonfinite();
	is($bad, 0, "every stored cost model parameter is finite ($bad of $total not)");
	my $merged = $node->safe_psql('postgres', 'SELECT ' . counter('deltas_merged_all'));
	cmp_ok($merged, '>', 0, "the clients' deltas were merged ($merged)");
	my $warnings = () = $err =~ /cost model of database \d+ is unreadable/g;
	# at most once a minute per client process
	cmp_ok($warnings, '<=', 4 * (1 + int($elapsed / 60)),
		"clients saw the unreadable-model WARNING at most once a minute each ($warnings)");
}
my $after = $node->psql('postgres', 'SELECT ruvector_dag_learn()');
is($after, 0, 'ruvector_dag_learn() succeeds after the concurrent run');

# ---------- a diverging session: rejected, counted, the model stays finite ----------
my $rejected_before = $node->safe_psql('postgres', 'SELECT ' . counter('rejected_steps_all'));
# one session at the largest learning rate until a step would diverge
# (bounded: how soon that happens depends on the executions' targets)
my ($steps, $rejected) = (0, $rejected_before);
for my $round (1 .. 8)
{
	$steps = $node->safe_psql('postgres', q{
		SET ruvector.dag_learning_rate = 1.0;
		DO $$
		BEGIN
			FOR i IN 1..150 LOOP
				PERFORM count(*) FROM cf WHERE k = i % 50;
				PERFORM * FROM cf WHERE id = i;
			END LOOP;
		END
		$$;
		SELECT ruvector_dag_flush();
		SELECT (ruvector_dag_status()->'counters'->>'instant_steps')});
	$rejected = $node->safe_psql('postgres', 'SELECT ' . counter('rejected_steps_all'));
	last if $rejected > $rejected_before;
}
cmp_ok($rejected, '>', $rejected_before,
	"instant steps that would leave a non-finite model are rejected and counted "
	  . "($rejected_before -> $rejected, $steps taken)");
my ($rc, $learned, $lerr) = $node->psql('postgres',
	"SELECT ruvector_dag_learn()->>'cost_model_rejected'");
is($rc, 0, 'the cycle after the diverging session succeeds') or diag($lerr);
my ($bad, $total) = split m{/}, nonfinite();
is($bad, 0, "the stored cost model is still finite ($total parameters)");
like($node->safe_psql('postgres', 'SELECT ruvector_dag_status()->\'counters\''),
	qr/"rejected_deltas_all": \d+.*"rejected_models_all": \d+/,
	'ruvector_dag_status() counts rejected deltas and models');

# ---------- an unreadable stored model warns once per process ----------
# The store is damaged while the server runs: damage present at start is
# caught by the start-up check and quarantined (t/060_damaged_store.pl).
my $file = $node->data_dir . '/neural_dag/data.mdb';
my $bytes = PostgreSQL::Test::Utils::slurp_file($file);
my @at;
while ($bytes =~ /NDCM/g)
{
	# a parameter byte: the checksum no longer matches
	push @at, pos($bytes) - 4 + 60;
}
cmp_ok(scalar(@at), '>', 0, 'the stored cost model was damaged (' . scalar(@at) . ' copies)');
open(my $fh, '+<', $file) or die "open $file: $!";
binmode $fh;
for my $at (@at)
{
	seek($fh, $at, 0) or die "seek: $!";
	print $fh chr(ord(substr($bytes, $at, 1)) ^ 0x55);
}
close $fh;
undef $bytes;
my ($stdout, $stderr);
$node->psql('postgres', join("\n",
		'SELECT ' . counter('learned_loads') . ';',
		map {
			"SELECT ruvector_dag_reset('btsp');\n"
			  . "SELECT count(*) > 0 FROM cf WHERE k = $_;\nSELECT "
			  . counter('learned_loads') . ';'
		} 1 .. 5),
	stdout => \$stdout, stderr => \$stderr);
my @loads = split /\n/, $stdout;
is(scalar(@loads), 16, 'every statement of the session returned its row');
# each reload decodes the cost model again for the statement's prediction
# (the shared decoded copy is of an earlier epoch); the damaged record
# fails the load (its CRC-32C) or, when only the model's own checksum sees
# it, the cost model alone: either way once
my $unreadable = () = $stderr =~
  /cost model of database \d+ is unreadable|could not load the learned (?:state|cost model) of database \d+: corrupted record/g;
is($unreadable, 1, 'the damaged cost model warned the session once, not at every reload')
  or diag($stderr);

$node->stop;
done_testing();
