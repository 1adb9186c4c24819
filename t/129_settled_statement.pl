# A statement settled on its default plan (its only parameter class, known
# not to gain) is served from a backend's Embedding Cache without looking
# at its parameter set.  Once another session runs it with a constant that
# plans in another shape, a second class exists: the statement's epoch
# moves, so the first backend decides that constant on its own class, not
# on the settled one's (without the move it would keep serving the first
# class's decision, with its class, to every constant).
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('settled_statement');

$node->safe_psql('postgres', q{
	CREATE TABLE st AS
		SELECT g AS id, CASE WHEN g % 2 = 1 THEN 0 ELSE g END AS k
		FROM generate_series(1, 100000) g;
	CREATE INDEX st_k ON st (k);
	ANALYZE st;
	SELECT ruvector_enable_neural_dag('st');
});
my $learn = "SET ruvector.dag_mode = 'learn'";
my $rare = 'SELECT count(*) FROM st WHERE k = 4002';
my $frequent = 'SELECT count(*) FROM st WHERE k = 0';
like($node->safe_psql('postgres', "EXPLAIN (COSTS OFF) $rare"), qr/st_k/,
	'the rare constant reads the index');
unlike($node->safe_psql('postgres', "EXPLAIN (COSTS OFF) $frequent"), qr/Index/,
	'the frequent one reads the table');

# class_of(SESSION, SQL): the parameter class EXPLAIN shows for SQL in SESSION
sub class_of
{
	my ($session, $sql) = @_;
	my $plan = $session->query_safe("EXPLAIN (FORMAT JSON) $sql");
	return $plan =~ /"Parameter Class": "([0-9a-f]+)/ ? $1 : '';
}

# session a: the rare constant, run until decided from the cache
my $a = $node->background_psql('postgres');
$a->query_safe($learn);
# (a run may miss: the first ones measure the constant's rows bucket, and
# a background merge of the learned state moves every backend's cache
# generation; so run it until a run is a hit, within a bound)
my $served = 0;
for my $run (1 .. 30)
{
	my $hits = ndag_status_counter($node, 'cache_hits');
	$a->query_safe($rare);
	next unless ndag_status_counter($node, 'cache_hits') > $hits;
	$served = $run;
	last;
}
ok($served > 1, "the rare constant is served from the cache (at run $served)");
my $rare_class = class_of($a, $rare);
isnt($rare_class, '', "EXPLAIN shows the rare constant's class");

# another session runs the frequent constant: a second class
$node->safe_psql('postgres', "$learn; $frequent");
my $query_id = ndag_query_id($node, $rare);
is($query_id, ndag_query_id($node, $frequent), 'both constants are one statement');
$node->safe_psql('postgres', 'SELECT ruvector_dag_flush()');
is($node->safe_psql('postgres',
		"SELECT count(DISTINCT class) FROM ndag_queries WHERE query_id = $query_id"),
	'2', 'which has two classes now');

# session a decides the frequent constant on its own class
my $frequent_class = class_of($a, $frequent);
isnt($frequent_class, '', "EXPLAIN shows the frequent constant's class");
isnt($frequent_class, $rare_class,
	'session a decides the frequent constant on its own class, not the settled one');
is(class_of($a, $rare), $rare_class, 'and the rare one still on its class');

$a->quit;
$node->stop;
done_testing();
