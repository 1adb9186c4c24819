# Learning that fails never fails the user's statement, and is reported one
# way everywhere (hooks/fallback.c): a WARNING at most once a minute per kind
# of failure in each session, DEBUG1 otherwise, and a count per kind in
# ruvector_dag_status().  Here the store becomes unreadable (its directory
# loses its permissions): the planner and the executor both fail to read
# the enabled tables (one kind, one WARNING), EXPLAIN fails to describe the
# plan (another kind, another WARNING).  ruvector_dag_status() shows the
# counters of every concern.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('fallback', "ruvector.dag_mode = learn\n");
my $store = $node->data_dir . '/neural_dag';

$node->safe_psql('postgres', q{
	CREATE TABLE fb_t AS SELECT g AS id, g % 3 AS k FROM generate_series(1, 300) g;
	SELECT ruvector_enable_neural_dag('fb_t');
});

# every concern's counters are there, the fallback counts at 0
my $keys = $node->safe_psql('postgres',
	"SELECT string_agg(k, ',' ORDER BY k) FROM jsonb_object_keys(ruvector_dag_status()->'counters') k");
my %has = map { $_ => 1 } split /,/, $keys;
for my $k (qw(xact_intents sampled failed ring_used record_p99_ns cache_hits
	rewrite_fallbacks learned_generation instant_steps deltas_merged_all
	fallback_enabled_tables fallback_decision fallback_recording
	fallback_explain fallback_learned_state fallback_drop))
{
	ok($has{$k}, "ruvector_dag_status() has counter $k");
}
is($node->safe_psql('postgres', q{
	SELECT sum(value::bigint) FROM jsonb_each_text(ruvector_dag_status()->'counters')
	WHERE key LIKE 'fallback\_%'}),
	'0', 'nothing failed yet');

$node->stop;
chmod 0000, $store or die "chmod $store: $!";
$node->start;

my ($ret, $stdout, $stderr) = $node->psql('postgres', q{
	SELECT count(*) FROM fb_t WHERE k = 1;
	SELECT count(*) FROM fb_t WHERE k = 2;
	EXPLAIN (COSTS OFF) SELECT count(*) FROM fb_t WHERE k = 0;
	SELECT count(*) FROM fb_t WHERE k = 0;});
is($ret, 0, 'statements on an enabled table succeed without the store');
like($stdout, qr/^100\n100\n.*Aggregate.*\n100$/s,
	'and return their results and plan');
my $enabled_warnings = () =
  $stderr =~ /WARNING:  neural_dag could not read the enabled tables/g;
is($enabled_warnings, 1,
	'planner and executor failing to read the enabled tables warn once per session')
  or diag($stderr);
my $explain_warnings = () =
  $stderr =~ /WARNING:  neural_dag could not describe the plan/g;
is($explain_warnings, 1, 'EXPLAIN failing to describe the plan warns too')
  or diag($stderr);

chmod 0700, $store or die "chmod $store: $!";
my $counts = $node->safe_psql('postgres', q{
	SELECT (c->>'fallback_enabled_tables')::int >= 4,
	       (c->>'fallback_explain')::int >= 1,
	       (c->>'fallback_recording')::int,
	       (c->>'rewrite_fallbacks')::int >= 1,
	       (c->>'failed')::int >= 3
	FROM (SELECT ruvector_dag_status()->'counters' c) s});
is($counts, 't|t|0|t|t',
	'every failure is counted by kind, and still as a rewriter fallback and a failed recording');

$node->stop;
done_testing();
