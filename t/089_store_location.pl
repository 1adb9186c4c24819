# The store is where ruvector.dag_data_directory says and starts with the
# map size of ruvector.dag_map_size, in backends and in the learner worker
# alike: the store layer is given both at start-up (StoreConfigure) instead
# of reading the settings itself.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# status(NODE, KEY): a top-level field of ruvector_dag_status()
sub status
{
	my ($node, $key) = @_;
	return $node->safe_psql('postgres', "SELECT ruvector_dag_status()->>'$key'");
}

# a relative directory is taken against the data directory
my $node = ndag_node('relative', qq{
ruvector.dag_data_directory = 'ndag_elsewhere'
ruvector.dag_map_size = 48MB
});
my $dir = $node->data_dir . '/ndag_elsewhere';

is(status($node, 'store_path'), $dir,
	'relative ruvector.dag_data_directory: store under the data directory');
is(status($node, 'map_size'), 48 * 1024 * 1024,
	'the store starts with ruvector.dag_map_size');
ok(-f "$dir/data.mdb", 'the store file is in the configured directory');
ok(!-e $node->data_dir . '/neural_dag', 'nothing at the default place');

# the learner worker writes the same store: recorded statements show up in
# ndag_trajectories without a flush from the session
$node->safe_psql('postgres', q{
	CREATE TABLE t (a int);
	INSERT INTO t SELECT generate_series(1, 100);
	SELECT ruvector_enable_neural_dag('t');
});
$node->safe_psql('postgres', 'SELECT count(*) FROM t WHERE a < 10');
ok( $node->poll_query_until('postgres',
		'SELECT count(*) > 0 FROM ndag_trajectories'),
	'the learner drained the ring into the configured store');

# a new postmaster finds the same store
$node->restart;
is($node->safe_psql('postgres', 'SELECT relid::regclass::text FROM ndag_tables'),
	't', 'after a restart the state is read from the configured directory');
is(status($node, 'store_path'), $dir, 'same store path after a restart');

# an absolute directory is taken as is; the map size defaults to 1 GB
my $abs = PostgreSQL::Test::Utils::tempdir . '/store';
my $node2 = ndag_node('absolute', "ruvector.dag_data_directory = '$abs'\n");
is(status($node2, 'store_path'), $abs,
	'absolute ruvector.dag_data_directory is used as is');
is(status($node2, 'map_size'), 1024 * 1024 * 1024,
	'default map size is 1 GB');
$node2->safe_psql('postgres', q{
	CREATE TABLE u (a int);
	SELECT ruvector_enable_neural_dag('u');
});
ok(-f "$abs/data.mdb", 'the store file is in the absolute directory');

$node->stop;
$node2->stop;
done_testing();
