# The shared table of per-statement memory holds
# ruvector.dag_query_memory_size statement classes: with 16 slots, forty
# statements evict the least recently used ones, which ruvector_dag_status()
# counts; an evicted statement's state comes back from the store at its
# next planning, and a pinned statement keeps its pin throughout.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('queries_eviction', "ruvector.dag_query_memory_size = 16\n");

$node->safe_psql('postgres', q{
	CREATE TABLE ev (id int PRIMARY KEY, v int);
	INSERT INTO ev SELECT g, g % 7 FROM generate_series(1, 1000) g;
	ANALYZE ev;
	SELECT ruvector_enable_neural_dag('ev');
	CREATE FUNCTION ev_run(k int, n int) RETURNS void LANGUAGE plpgsql AS $$
	BEGIN
		FOR i IN 1..n LOOP
			EXECUTE format('SELECT count(*) FROM ev WHERE %s',
				(SELECT string_agg('id = ' || g, ' OR ') FROM generate_series(1, k) g));
		END LOOP;
	END
	$$;
});

# sql(SQL): the output of SQL in a new session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

# query_id(K): the queryId of the statement with K equalities (ORed: from
# PostgreSQL 18 the queryId of an IN list does not depend on its length)
sub query_id
{
	my ($k) = @_;
	my $list = join(' OR ', map { "id = $_" } 1 .. $k);
	return ndag_query_id($node, "SELECT count(*) FROM ev WHERE $list");
}

is(ndag_status_counter($node, 'query_memory_size'), '16', 'the table has 16 slots');

# statement 1 runs three times and is stored; statement 2 is pinned
sql("SELECT ev_run(1, 3); SELECT ev_run(2, 1)");
my ($qid1, $qid2) = (query_id(1), query_id(2));
is(sql("SELECT runs_per_arm[1] FROM ndag_queries WHERE query_id = $qid1"), '3',
	'statement 1 is stored with three default runs');
my $arm = sql("SELECT min(arm_id) FROM ndag_arms WHERE enabled AND arm_id > 0");
sql("UPDATE ndag_queries SET pinned_arm = $arm WHERE query_id = $qid2");
is(ndag_status_counter($node, 'query_memory_evictions'), '0', 'nothing evicted yet');

# forty other statements
sql("SELECT ev_run(k, 1) FROM generate_series(3, 42) k");
my $evictions = ndag_status_counter($node, 'query_memory_evictions');
cmp_ok($evictions, '>=', 24, "forty more statements evict at least 24 classes ($evictions)");
cmp_ok(ndag_status_counter($node, 'query_memory_entries'), '<=', 16,
	'the table holds at most 16 classes');

# statement 1 was evicted (forty classes used after it, only the pinned
# one preferred to stay); its next run continues from the stored state
sql("SELECT ev_run(1, 1)");
is(sql("SELECT runs_per_arm[1] FROM ndag_queries WHERE query_id = $qid1"), '4',
	'an evicted statement is loaded from the store at its next planning (4 default runs)');

# the pinned statement kept its pin
like(sql("EXPLAIN (COSTS OFF, FORMAT JSON) SELECT count(*) FROM ev WHERE id = 1 OR id = 2"),
	qr/"Decision": "pinned"/, 'the pinned statement is still pinned');
is(sql("SELECT pinned_arm FROM ndag_queries WHERE query_id = $qid2"), $arm,
	'ndag_queries still shows its pin');

$node->stop;
done_testing();
