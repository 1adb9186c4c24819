# A backend reads its database's pattern bank only for a decision that
# matches patterns: not for a statement that goes to the default plan
# anyway in learn mode because it is not worth exploring.  The cluster's
# learned_loads_all counts loads of the learned state (cost model,
# selector), learned_bank_loads_all loads of the pattern bank.
#  1. A new session's statement on an enabled table in learn mode, below
#     ruvector.dag_min_cost and ruvector.dag_min_latency: the learned state
#     is loaded, the pattern bank is not.
#  2. The same statement in apply mode (patterns are applied): the bank is
#     loaded.
#  3. Worth exploring in learn mode (inline): the bank is loaded.
#  4. ruvector_dag_status() still reports the patterns of the copy.
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

# loads(): the cluster's loads of the learned state and of pattern banks,
# read by a new session (whose own status call loads both once)
sub loads
{
	my $row = $node->safe_psql('postgres', q{
		SELECT concat_ws('|', c->>'learned_loads_all',
						 coalesce(c->>'learned_bank_loads_all', 'absent'))
		FROM (SELECT ruvector_dag_status()->'counters' AS c) s});
	my %c;
	@c{qw(state bank)} = split /\|/, $row;
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

$node->stop;
done_testing();
