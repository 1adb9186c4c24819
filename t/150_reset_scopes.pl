# ruvector_dag_reset(scope) clears exactly the state of its scope and
# leaves every other: for each scope, a database with every kind of learned
# state, the rows of every foreign table (and the per-statement memory, the
# HDC snapshot, the custom arms) counted before and after.  An unknown scope
# fails with a hint listing the valid ones; a reset of the patterns stops
# statements from using their arms.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('reset_scopes', "autovacuum = off\n");
$node->safe_psql('postgres',
	q{INSERT INTO ndag_arms (name, settings) VALUES ('scope_arm', 'enable_sort=off')});

# what each count is: foreign tables, then the other state
my @kinds = qw(patterns index_meta hdc queries trajectories attention models
  healing tables config arms);

# counts(DB): the state of database DB, kind => rows
sub counts
{
	my ($db) = @_;
	my $row = $node->safe_psql($db, q{
		SET ruvector.dag_mode = 'off';
		SELECT concat_ws(' ',
			(SELECT count(*) FROM ndag_patterns),
			(SELECT count(*) FROM ndag_index_meta),
			(SELECT count(*) FROM (SELECT ruvector_dag_hdc_snapshot() AS s) h WHERE s IS NOT NULL),
			ruvector_dag_status()->'counters'->>'query_memory_entries',
			(SELECT count(*) FROM ndag_trajectories),
			(SELECT count(*) FROM ndag_attention),
			(SELECT count(*) FROM ndag_models),
			(SELECT count(*) FROM ndag_healing),
			(SELECT count(*) FROM ndag_tables),
			(SELECT count(*) FROM ndag_enabled_tables),
			(SELECT count(*) FROM ndag_arms WHERE NOT builtin))});
	my %c;
	@c{@kinds} = split / /, $row;
	return \%c;
}

# each scope and the kinds it clears
my %clears = (
	queries => [qw(queries)],
	patterns => [qw(patterns index_meta hdc queries)],
	trajectories => [qw(trajectories attention)],
	models => [qw(models)],
	healing => [qw(healing)],
	learned => [qw(patterns index_meta hdc queries trajectories attention models healing)],
	all => [qw(patterns index_meta hdc queries trajectories attention models healing
		  tables config arms)],);

for my $scope (qw(queries patterns trajectories models healing learned all))
{
	my $db = "rs_$scope";
	ndag_learned_everything($node, $db);
	my $before = counts($db);
	for my $kind (@kinds)
	{
		cmp_ok($before->{$kind}, '>', 0, "$scope: $kind present before");
	}
	my $removed = $node->safe_psql($db, "SELECT ruvector_dag_reset('$scope')");
	my $after = counts($db);
	my %cleared = map { $_ => 1 } @{ $clears{$scope} };
	my $expected_removed = 0;
	for my $kind (@kinds)
	{
		if ($cleared{$kind})
		{
			is($after->{$kind}, 0, "reset('$scope') clears $kind");
			$expected_removed += $before->{$kind}
			  unless $kind eq 'hdc' || $kind eq 'config';
		}
		else
		{
			is($after->{$kind}, $before->{$kind}, "reset('$scope') keeps $kind");
		}
	}
	# HDC snapshots are counted by records, more than the one shown
	cmp_ok($removed, '>=', $expected_removed,
		"reset('$scope') returns the records and entries removed ($removed)");
}

# the per-DBI names of 0.1.0 that are not scopes still work
my $db = 'rs_legacy';
ndag_learned_everything($node, $db);
my $before = counts($db);
$node->safe_psql($db, "SELECT ruvector_dag_reset('nodes')");
my $after = counts($db);
is($after->{attention}, 0, "reset('nodes') clears the plan nodes");
is($after->{trajectories}, $before->{trajectories}, "and keeps the trajectories");
$node->safe_psql($db, "SELECT ruvector_dag_reset('tables')");
$after = counts($db);
is($after->{tables} . ' ' . $after->{config}, '0 0',
	"reset('tables') disables every table, also in ndag_enabled_tables");
is($after->{patterns}, $before->{patterns}, 'and keeps the patterns');
$node->safe_psql($db, "SELECT ruvector_dag_reset('btsp')");
is(counts($db)->{queries}, 0, "reset('btsp') is reset('queries')");

# a rolled-back reset changes nothing
$db = 'rs_rollback';
ndag_learned_everything($node, $db);
$before = counts($db);
$node->safe_psql($db, "BEGIN; SELECT ruvector_dag_reset('all'); ROLLBACK;");
is_deeply(counts($db), $before, 'a rolled-back reset of all changes nothing');

# unknown scope: 22023 with the valid scopes in the hint
my ($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nSELECT ruvector_dag_reset('btsp_memory')");
like($err, qr/ERROR:\s+22023: unknown neural_dag reset scope "btsp_memory"/,
	'an unknown scope is refused with 22023');
like($err,
	qr/HINT:\s+Valid values are: queries, patterns, trajectories, models, healing, learned, all \(single stores: tables, arms, nodes, hdc, index_meta, btsp\)\./,
	'the hint lists the valid scopes');
is(sql_state($node, "SELECT ruvector_dag_reset('meta')"), '22023',
	'meta cannot be reset');

# after a reset of the patterns no statement is planned with a pattern's
# arm, nor with an arm proven while the pattern applied (as in
# t/040_rewriting.pl: a custom arm proven for a join, learned as a pattern's
# best arm, applied by the pattern to a variant that never ran it)
$node->safe_psql('postgres', ndag_join_tables_sql('rsp')
	  . ndag_costly_hash_arm_sql()
	  . ndag_explain_function_sql('rsp')
	  . ndag_run_function_sql('rsp'));
my ($q, $q2) = ndag_join_queries('rsp');
my $learn = ndag_explore_settings();
my $arm = $node->safe_psql('postgres',
	"SELECT arm_id || ' (costly_hash)' FROM ndag_arms WHERE name = 'costly_hash'");
$node->safe_psql('postgres',
	"SET ruvector.dag_mode = 'observe'; SELECT rsp_run('$q', 3); SELECT ruvector_dag_flush()");
$node->safe_psql('postgres', "$learn SELECT rsp_run('$q', 12); SELECT ruvector_dag_flush()");
$node->safe_psql('postgres', 'SELECT ruvector_dag_learn()');
my $apply = "SET ruvector.dag_mode = 'apply'; SET ruvector.dag_confidence_threshold = 0;";
my $explain = sub {
	my ($query) = @_;
	return $node->safe_psql('postgres',
		"$apply SELECT concat_ws(' ', e->>'Decision', e->>'Arm') FROM rsp_explain('$query') e");
};
like($explain->($q2), qr/^pattern \Q$arm\E/, 'before: the pattern applies its arm to the variant');
like($explain->($q), qr/^(proven|pattern) \Q$arm\E/, 'before: the join runs its arm');
$node->safe_psql('postgres', "SELECT ruvector_dag_reset('patterns')");
is($node->safe_psql('postgres', 'SELECT count(*) FROM ndag_patterns'), '0',
	'reset(patterns) removed the patterns');
like($explain->($q2), qr/^default plan/, 'after: the variant plans by default');
# an arm proven for the join by its own paired runs is per-statement memory
# (scope queries), kept in the store: it survives a reset of the patterns
unlike($explain->($q), qr/^pattern/, 'after: the join runs no pattern arm');
$node->safe_psql('postgres', "SELECT ruvector_dag_reset('queries')");
like($explain->($q), qr/^default plan/,
	'after reset(queries): the join plans by default (its proven arm forgotten)');

$node->stop;
done_testing();
