# Whether a database has the extension is looked up once and shared with
# its new backends (database_state.c).  A CREATE or DROP EXTENSION that
# commits through PREPARE TRANSACTION and COMMIT PREPARED must reach new
# backends as a plain commit does, even when no backend of the database
# runs anything in between (its syscache invalidations reach only the
# backends connected at the commit, at their next transaction):
#  1. CREATE EXTENSION prepared, a new session looks the database up (no
#     extension yet), COMMIT PREPARED in a session that ends at once: a new
#     session records its statements on an enabled table.
#  2. DROP EXTENSION the same way: a new session records nothing more.
#  3. ROLLBACK PREPARED of a DROP EXTENSION: new sessions keep recording.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# observe mode: statements are recorded, nothing is explored or learned
my $node = ndag_node('commit_prepared',
	"ruvector.dag_mode = 'observe'\nruvector.dag_healing_enabled = off\n"
	  . "max_prepared_transactions = 4\n");

$node->safe_psql('postgres', 'CREATE DATABASE other');
$node->safe_psql('other', q{
	CREATE TABLE ot AS SELECT g AS id FROM generate_series(1, 100) g;
	ANALYZE ot;
});

# sampled(): the cluster's count of recorded executions, from a new
# session of database postgres (which has the extension)
sub sampled
{
	return $node->safe_psql('postgres',
		q{SELECT ruvector_dag_status()->'counters'->>'sampled'});
}

# recorded_by_new_session(SQL): how many executions SQL recorded when run
# by a new session of database other (nothing else runs statements on
# enabled tables meanwhile)
sub recorded_by_new_session
{
	my ($sql) = @_;
	my $s0 = sampled();
	$node->safe_psql('other', $sql);
	return sampled() - $s0;
}

# ---------- 1. CREATE EXTENSION committed by COMMIT PREPARED ----------
is(recorded_by_new_session('SELECT count(*) FROM ot'), 0,
	'no extension in the database: nothing recorded');
my $prep = $node->background_psql('other');
$prep->query_safe(
	"BEGIN; CREATE EXTENSION neural_dag; PREPARE TRANSACTION 'create_ext'");
$prep->quit;
# a new session looks the database up while the creation is only prepared
is(recorded_by_new_session('SELECT count(*) FROM ot'), 0,
	'CREATE EXTENSION prepared, not committed: nothing recorded');
$node->safe_psql('other', "COMMIT PREPARED 'create_ext'");
$node->safe_psql('other', "SELECT ruvector_enable_neural_dag('ot')");
is($node->safe_psql('other', 'SELECT count(*) FROM ndag_tables'),
	'1', 'the table is enabled');
is(recorded_by_new_session('SELECT count(*) FROM ot'), 1,
	'after COMMIT PREPARED of CREATE EXTENSION a new session records');

# ---------- 2. DROP EXTENSION committed by COMMIT PREPARED ----------
is(recorded_by_new_session('SELECT count(*) FROM ot WHERE id > 1'), 1,
	'a new session records (the answer "installed" is shared now)');
$prep = $node->background_psql('other', on_error_stop => 0);
# the prepared transaction cannot follow the drop in the store: a WARNING
$prep->query(
	"BEGIN; DROP EXTENSION neural_dag; PREPARE TRANSACTION 'drop_ext'");
$prep->quit;
is(recorded_by_new_session('SELECT count(*) FROM ot WHERE id > 2'), 1,
	'DROP EXTENSION prepared, not committed: still recorded');
$node->safe_psql('other', "COMMIT PREPARED 'drop_ext'");
is($node->safe_psql('other',
	q{SELECT count(*) FROM pg_extension WHERE extname = 'neural_dag'}),
	'0', 'the extension is gone');
is(recorded_by_new_session('SELECT count(*) FROM ot WHERE id > 3'), 0,
	'after COMMIT PREPARED of DROP EXTENSION a new session records nothing');

# ---------- 3. ROLLBACK PREPARED ----------
$node->safe_psql('other', 'CREATE EXTENSION neural_dag');
$node->safe_psql('other', "SELECT ruvector_enable_neural_dag('ot')");
is(recorded_by_new_session('SELECT count(*) FROM ot WHERE id > 4'), 1,
	'created and enabled again: a new session records');
$prep = $node->background_psql('other', on_error_stop => 0);
$prep->query(
	"BEGIN; DROP EXTENSION neural_dag; PREPARE TRANSACTION 'drop_again'");
$prep->quit;
$node->safe_psql('other', "ROLLBACK PREPARED 'drop_again'");
is(recorded_by_new_session('SELECT count(*) FROM ot WHERE id > 5'), 1,
	'after ROLLBACK PREPARED of DROP EXTENSION a new session still records');

$node->stop;
done_testing();
