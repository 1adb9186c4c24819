# Shadow exploration honours the DBA's controls: a statement whose only
# open arm is forbidden, or which is frozen or pinned, is never captured
# for the shadow worker (its candidates come from the per-statement
# memory's open arms), while the same statement without controls is
# captured and proven in the background.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('queries_shadow',
	"ruvector.dag_shadow_budget = 1\nruvector.dag_shadow_max_load = 1000000\n");

# sql(SQL): the output of SQL in a new session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

sql(ndag_join_tables_sql('qs') . ndag_costly_hash_arm_sql());
my $arm = sql("SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");
my ($q) = ndag_join_queries('qs');
my $shadow = ndag_shadow_settings();

# query_id(Q): the queryId EXPLAIN VERBOSE reports for Q
sub query_id
{
	my ($query) = @_;
	return sql("EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) $query")
	  =~ /"Query Identifier": (-?\d+)/ ? $1 : 'none';
}

# variant(N): another statement of the join's shape (its own queryId)
sub variant
{
	my ($n) = @_;
	return "$q" . (" AND a.id > 0" x $n);
}

# each statement is known (one default run, exploration off), then controlled
my %controls = (
	1 => "forbidden_arms = ARRAY[$arm]",
	2 => 'frozen = true',
	3 => 'pinned_arm = 0');
for my $n (sort keys %controls)
{
	my $s = variant($n);
	sql("$shadow SET ruvector.dag_exploration_mode = 'off'; $s");
	my $qid = query_id($s);
	sql("UPDATE ndag_queries SET $controls{$n} WHERE query_id = $qid");
	is(sql("SELECT count(*) FROM ndag_queries WHERE query_id = $qid AND ($controls{$n})"),
		'1', "statement $n: $controls{$n}");
}
for my $n (sort keys %controls)
{
	my $s = variant($n);
	sql("$shadow $s; $s; $s;");
}
is(ndag_status_counter($node, 'shadow_captured'), '0',
	'no controlled statement was captured for the shadow worker');
is(ndag_status_counter($node, 'shadow_runs'), '0', 'nor run by it');

# the same shape without controls is captured and proven
sql("$shadow $q; $q;");
ok(ndag_status_counter($node, 'shadow_captured') >= 1, 'a statement without controls is captured');
ok(wait_for(sub { ndag_status_counter($node, 'query_memory_proven') >= 1 }, 'a proven arm'),
	'and its arm proven by the shadow worker');
is( sql("SELECT count(*) FROM ndag_queries WHERE best_arm IS NOT NULL AND query_id <> "
		  . query_id($q)),
	'0', 'no controlled statement has a proven arm');

$node->stop;
done_testing();
