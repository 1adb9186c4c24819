# Shadow runs are safe on a real server: a statement is re-run as the role
# that ran it, so a column privilege revoked after the capture makes the
# run fail (counted, nothing crashes) and row security hides from the
# re-run what it hid from the role; the worker shows in pg_stat_activity as
# that role while a lock the test holds blocks it; and the re-run cannot
# write: a STABLE-declared function that writes through a volatile one
# fails there, the table stays as the user's own executions left it.  A
# statement of a role that may no longer log in is dropped, not retried.
#
# Each case captures with ruvector.dag_shadow_budget = 0 (statements are
# queued, no worker runs), changes what it needs, then lets the worker run.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_safety',
	"ruvector.dag_shadow_budget = 0\nruvector.dag_shadow_max_load = 1000000\n");

# sql(SQL[, ROLE]): the output of SQL in one session (as ROLE)
sub sql
{
	my ($query, $role) = @_;
	return $node->safe_psql('postgres', $query,
		defined $role ? (extra_params => [ '-U', $role ]) : ());
}

# counter(NAME): a shadow counter of ruvector_dag_status()
sub counter
{
	return ndag_status_counter($node, shift);
}

# set_shadow(NAME, VALUE): a shadow setting for the whole server, reloaded
sub set_shadow
{
	my ($name, $value) = @_;
	sql("ALTER SYSTEM SET ruvector.dag_shadow_$name = $value");
	sql('SELECT pg_reload_conf()');
}

my $learn = ndag_shadow_settings();

# the tables: a join, and a small table under row security that is read
# by a seq scan by default and through its index under no_seqscan
sql(ndag_join_tables_sql('ss') . q{
	CREATE ROLE sh_alice LOGIN;
	CREATE ROLE sh_bob LOGIN;
	GRANT SELECT (id, x, y, z) ON ss_a TO sh_alice;
	GRANT SELECT ON ss_b TO sh_alice;

	CREATE TABLE sh_rls (id int, owner name);
	INSERT INTO sh_rls SELECT g, CASE WHEN g % 2 = 0 THEN 'sh_bob' ELSE 'sh_carol' END
		FROM generate_series(1, 20) g;
	CREATE INDEX sh_rls_owner ON sh_rls (owner);
	ANALYZE sh_rls;
	ALTER TABLE sh_rls ENABLE ROW LEVEL SECURITY;
	CREATE POLICY sh_own ON sh_rls USING (owner = current_user);
	GRANT SELECT ON sh_rls TO sh_bob;
	SELECT ruvector_enable_neural_dag('sh_rls');
	CREATE FUNCTION sh_peek(id int) RETURNS bool STABLE LANGUAGE plpgsql AS $$
	BEGIN
		RAISE LOG 'sh_peek saw % read-only %', id, current_setting('transaction_read_only');
		RETURN true;
	END
	$$;

	CREATE TABLE sh_audit (n int);
	CREATE FUNCTION sh_write() RETURNS int VOLATILE LANGUAGE plpgsql AS $$
	BEGIN
		INSERT INTO sh_audit VALUES (1);
		RETURN 1;
	END
	$$;
	CREATE FUNCTION sh_stable_write(id int) RETURNS bool STABLE LANGUAGE plpgsql AS $$
	BEGIN
		PERFORM sh_write();
		RETURN true;
	END
	$$;
});
my ($q) = ndag_join_queries('ss');

# ---------- privileges: a column grant revoked after the capture ----------
sql("$learn $q;", 'sh_alice');
is(counter('shadow_captured'), 1, "sh_alice's SELECT was captured");
is(counter('shadow_queued'), 1, 'and waits, the budget being 0');
sql('REVOKE SELECT (z) ON ss_a FROM sh_alice');
my $log_at = -s $node->logfile;
set_shadow('budget', 1);
ok(wait_for(sub { counter('shadow_errors') == 1 }, 'the failed shadow run'),
	'the shadow run as sh_alice fails without the column privilege');
like(ndag_log_since($node, $log_at),
	qr/neural_dag shadow run of query -?\d+ failed: permission denied for table ss_a/,
	'the log says why');
is(counter('shadow_pairs'), 0, 'no pair was measured');
is(counter('shadow_queued'), 0, 'the entry was dropped');
is(sql('SELECT 1'), '1', 'the server carries on');
set_shadow('budget', 0);

# ---------- row security, and the role seen in pg_stat_activity ----------
my $rls_q = 'SELECT owner, count(*) FROM sh_rls WHERE sh_peek(id) GROUP BY owner';
is(sql("$learn $rls_q;", 'sh_bob'), 'sh_bob|10', 'sh_bob sees his 10 rows');
ok(wait_for(sub { counter('shadow_queued') == 1 }, 'the captured statement'),
	"sh_bob's SELECT waits in the queue");
my $runs = counter('shadow_runs');
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE sh_rls IN ACCESS EXCLUSIVE MODE;');
# the lock wait is bounded by the default run's timeout: make it long
set_shadow('default_timeout_factor', 1000000);
$log_at = -s $node->logfile;
set_shadow('budget', 1);
ok( $node->poll_query_until('postgres', q{
		SELECT usename = 'sh_bob' FROM pg_stat_activity
		WHERE backend_type = 'neural_dag shadow' AND wait_event_type = 'Lock'}),
	'the shadow worker, blocked on the lock, runs as sh_bob');
$locker->query_safe('COMMIT');
ok(wait_for(sub { counter('shadow_runs') > $runs && counter('shadow_queued') == 0 },
		'the shadow run'),
	'the shadow run went on once the lock was released');
ok(wait_for(sub { !$node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'neural_dag shadow'}) }, 'the worker to exit'),
	'the worker exits when its entries are done');
my @seen = ndag_log_since($node, $log_at) =~ /sh_peek saw (\d+) read-only on/g;
ok(@seen > 0, 'the shadow run executed the statement, read-only (' . scalar(@seen) . ' rows)');
is(scalar(grep { $_ % 2 != 0 } @seen), 0, 'and saw only the rows row security shows sh_bob');
ok(counter('shadow_pairs') >= 1, 'pairs were measured');
set_shadow('budget', 0);
set_shadow('default_timeout_factor', 10);

# ---------- a shadow run never writes ----------
my $write_q = 'SELECT owner, count(*) FROM sh_rls WHERE sh_stable_write(id) GROUP BY owner';
my $errors = counter('shadow_errors');
sql("$learn $write_q; $write_q;");
my $written = sql('SELECT count(*) FROM sh_audit');
is($written, 40, "the user's own executions wrote through the STABLE function");
ok(wait_for(sub { counter('shadow_queued') == 1 }, 'the captured statement'),
	'the statement was captured');
$log_at = -s $node->logfile;
set_shadow('budget', 1);
ok(wait_for(sub { counter('shadow_errors') == $errors + 1 }, 'the failed shadow run'),
	'its shadow run fails');
like(ndag_log_since($node, $log_at),
	qr/neural_dag shadow run of query -?\d+ failed: cannot execute INSERT in a read-only transaction/,
	'on the read-only transaction');
is(sql('SELECT count(*) FROM sh_audit'), $written, 'the table is unchanged');
set_shadow('budget', 0);

# ---------- a role that may no longer log in ----------
$errors = counter('shadow_errors');
sql("$learn SELECT owner, count(*) FROM sh_rls WHERE id > 0 GROUP BY owner;", 'sh_bob');
ok(wait_for(sub { counter('shadow_queued') == 1 }, 'the captured statement'),
	"another SELECT of sh_bob's was captured");
sql('ALTER ROLE sh_bob NOLOGIN');
set_shadow('budget', 1);
ok(wait_for(sub { counter('shadow_errors') == $errors + 1 && counter('shadow_queued') == 0 },
		'the dropped statement'),
	'a role that may no longer log in has its statement dropped, counted as an error');
is(sql('SELECT 1'), '1', 'and the server carries on');

$node->stop;
done_testing();
