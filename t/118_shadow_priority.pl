# Shadow runs yield the CPU to users' statements: the shadow worker runs at
# the nice value ruvector.dag_shadow_nice, and so do the parallel workers
# of a session that set ruvector.dag_process_nice (as a shadow worker does),
# since a parallel worker takes its leader's settings.  Only superusers may
# set either.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('shadow_priority',
	"ruvector.dag_shadow_budget = 1\nruvector.dag_shadow_max_load = 1000000\n"
	  . "max_worker_processes = 16\nmax_parallel_workers = 8\n");

# sql(SQL): the output of SQL in one session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

# nice_of(PID): the nice value of a process of this machine (undef if gone)
sub nice_of
{
	my $pid = shift;
	open(my $fh, '<', "/proc/$pid/stat") or return undef;
	my $stat = <$fh>;
	close($fh);
	return undef unless defined $stat;
	# fields after the command name in parentheses: state is field 3, nice 19
	my @f = split ' ', substr($stat, rindex($stat, ')') + 2);
	return $f[16];
}

# own_nice(): the nice value of a user's backend, read by that backend
# itself while it runs (a backend asked only for its pid may be gone before
# its /proc entry is read)
sub own_nice
{
	my $stat = sql(q{SELECT pg_read_file('/proc/self/stat')});
	my @f = split ' ', substr($stat, rindex($stat, ')') + 2);
	return $f[16];
}

# pids(SQL): the pids a query of pg_stat_activity returns
sub pids
{
	return grep { /^\d+$/ } split /\n/, sql(shift);
}

is(sql('SHOW ruvector.dag_shadow_nice'), '10', 'shadow runs run at nice 10 by default');
is(own_nice(), 0, "a user's backend runs at nice 0");

# ---------- a session's parallel workers take its nice value ----------
sql(q{CREATE TABLE pp (id int);
	  INSERT INTO pp SELECT g FROM generate_series(1, 4000) g;
	  ANALYZE pp;});
my ($out, $err) = ('', '');
my $session = IPC::Run::start(
	[
		'psql', '-X', '-q', '-d',
		$node->connstr('postgres') . ' application_name=nice_leader',
		'-c', q{SET ruvector.dag_process_nice = 7;
		SET parallel_setup_cost = 0; SET parallel_tuple_cost = 0;
		SET min_parallel_table_scan_size = 0; SET max_parallel_workers_per_gather = 2;
		SELECT count(*) FROM pp WHERE pg_sleep(0.01) IS NOT NULL;}
	],
	'>', \$out, '2>', \$err);
my ($leader_nice, @worker_nice);
ok( wait_for(
		sub {
			my ($leader) = pids(q{SELECT pid FROM pg_stat_activity
				WHERE application_name = 'nice_leader' AND state = 'active'});
			return 0 unless defined $leader;
			my @workers = pids(qq{SELECT pid FROM pg_stat_activity
				WHERE backend_type = 'parallel worker' AND leader_pid = $leader});
			return 0 unless @workers;
			$leader_nice = nice_of($leader);
			@worker_nice = grep { defined } map { nice_of($_) } @workers;
			return defined $leader_nice && @worker_nice;
		},
		'the parallel workers of the session'),
	'the session runs its statement with parallel workers');
is($leader_nice, 7, 'the session that set ruvector.dag_process_nice runs at nice 7');
ok(@worker_nice && !grep({ $_ != 7 } @worker_nice),
	"its parallel workers run at nice 7 too (@worker_nice)");
sql(q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity
	WHERE application_name = 'nice_leader'});
$session->finish;

# ---------- the shadow worker ----------
sql(ndag_join_tables_sql('sp'));
my ($q) = ndag_join_queries('sp');
my $learn = ndag_shadow_settings();
my $shadow_nice;
ok( wait_for(
		sub {
			# keep statements waiting for the worker while looking for it
			sql("$learn $q; $q AND a.id > 0;");
			for my $pid (pids(q{SELECT pid FROM pg_stat_activity
					WHERE backend_type = 'neural_dag shadow'}))
			{
				$shadow_nice = nice_of($pid);
				return 1 if defined $shadow_nice;
			}
			return 0;
		},
		'a shadow worker'),
	'a shadow worker ran');
is($shadow_nice, 10, 'the shadow worker runs at ruvector.dag_shadow_nice');
is(own_nice(), 0, "users' backends still run at nice 0");

# ---------- only superusers ----------
sql('CREATE ROLE plain LOGIN');
is(sql_state($node, 'SET ROLE plain; SET ruvector.dag_process_nice = 5'),
	'42501', 'a plain role may not set ruvector.dag_process_nice');
is(sql_state($node, 'SET ROLE plain; SET ruvector.dag_shadow_nice = 5'),
	'42501', 'nor ruvector.dag_shadow_nice');

$node->stop;
done_testing();
