# Where a database has no stored cost model yet, each backend's instant
# loop starts from a model drawn from a fixed seed: the same in every
# backend, so it is drawn once by the postmaster and each backend copies
# it (ruvector_dag_status()->'counters'->'seed_models_drawn' counts the
# models a backend drew itself).
#  1. A new session's statement on an enabled table (no model stored):
#     the learned state is loaded, no starting model is drawn.
#  2. With other LoRA ranks than the postmaster drew at, the session draws
#     its own (one), of those ranks.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('seed_model',
	"ruvector.dag_mode = 'learn'\nruvector.dag_healing_enabled = off\n");

$node->safe_psql('postgres', q{
	CREATE TABLE sm AS SELECT g AS id, g % 10 AS k FROM generate_series(1, 2000) g;
	ANALYZE sm;
	SELECT ruvector_enable_neural_dag('sm');
});
is($node->safe_psql('postgres',
	q{SELECT count(*) FROM ndag_models WHERE name = 'cost_model'}),
	'0', 'no cost model is stored');

# status_after(SETTINGS): in a new session, SETTINGS, a statement on the
# enabled table, then this session's learned_loads and seed_models_drawn
sub status_after
{
	my ($settings) = @_;
	return $node->safe_psql('postgres', $settings . q{
		SELECT count(*) FROM sm WHERE k = 1 \g /dev/null
		SELECT concat_ws('|', c->>'learned_loads',
						 coalesce(c->>'seed_models_drawn', 'absent'))
		FROM (SELECT ruvector_dag_status()->'counters' AS c) s});
}

# ---------- 1. the postmaster's starting model is copied ----------
is(status_after(''), '1|0',
	'the learned state was loaded once, no starting model drawn');

# ---------- 2. other ranks: drawn here ----------
is(status_after("SET ruvector.dag_base_lora_rank = 4;\n"), '1|1',
	'other ranks: the session drew its starting model');

$node->stop;
done_testing();
