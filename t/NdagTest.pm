# Helpers shared by the Perl TAP suites of neural_dag.
package NdagTest;

use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Exporter 'import';
use IPC::Run;

our @EXPORT = qw(ndag_node sql_state wait_for ndag_dbi_root ndag_write_file_bytes
  ndag_log_since);

# ndag_test_conf(): the postgresql.conf lines of every test cluster: the
# library preloaded, and recordings counted exactly.
sub ndag_test_conf
{
	return "shared_preload_libraries = 'neural_dag'\n"
	  # the tests count recordings exactly: no thinning of fast statements
	  . "ruvector.dag_fast_query_ms = 0\n"
	  # and count trajectories exactly: every recording keeps its plan
	  # with actuals (the default keeps a sample of them)
	  . "ruvector.dag_detail_sample_rate = 1\n"
	  # and every run's latency is the statement's: none is timed node by
	  # node (such runs are slower by their clock reads and not observed;
	  # t/170 and sql/sampling time them)
	  . "ruvector.dag_timing_sample_rate = 0\n";
}

push @NdagTest::EXPORT, qw(ndag_test_conf);

# ndag_node(NAME, EXTRA_CONF, INIT_OPTIONS...): a started cluster (initdb
# with INIT_OPTIONS, e.g. allows_streaming => 1) preloading neural_dag, with
# the extension created in database postgres.
sub ndag_node
{
	my ($name, $extra, %init) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(%init);
	$node->append_conf('postgresql.conf', ndag_test_conf() . ($extra // ''));
	$node->start;
	$node->safe_psql('postgres', 'CREATE EXTENSION neural_dag');
	return $node;
}

# sql_state(NODE, SQL): the SQLSTATE SQL fails with, or '' if it succeeds.
sub sql_state
{
	my ($node, $sql) = @_;
	my ($stdout, $stderr);
	$node->psql('postgres', "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout, stderr => \$stderr);
	return $stderr =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : '';
}

# wait_for(CODE, WHAT): call CODE until it returns true, at most 180 s.
sub wait_for
{
	my ($code, $what) = @_;
	my $deadline = time + 180;
	while (time < $deadline)
	{
		return 1 if $code->();
		select(undef, undef, undef, 0.1);
	}
	diag("timed out waiting for $what");
	return 0;
}

# ndag_dbi_root(FILE, NAME): the page number of the root of the named DBI
# NAME of the LMDB data file FILE (64-bit little-endian layout, 4 kB
# pages), or of the main DBI (the list of named DBIs) when NAME is undef.
sub ndag_dbi_root
{
	my ($file, $name) = @_;
	my $psize = 4096;
	open my $fh, '<:raw', $file or die "open $file: $!";
	my ($meta, $txnid);
	for my $p (0, 1)
	{
		seek($fh, $p * $psize, 0) or die;
		read($fh, my $page, $psize) == $psize or die "short read of $file";
		my $t = unpack('Q<', substr($page, 144, 8));
		($meta, $txnid) = ($page, $t) if !defined $txnid || $t > $txnid;
	}
	my $main = unpack('Q<', substr($meta, 128, 8));
	return $main if !defined $name;
	seek($fh, $main * $psize, 0) or die;
	read($fh, my $page, $psize) == $psize or die "short read of $file";
	close $fh;
	die "the main DBI of $file is not a single leaf page"
	  unless unpack('v', substr($page, 10, 2)) & 0x02;
	my $nkeys = (unpack('v', substr($page, 12, 2)) - 16) / 2;
	for my $i (0 .. $nkeys - 1)
	{
		my $ptr = unpack('v', substr($page, 16 + 2 * $i, 2));
		my $ksize = unpack('v', substr($page, $ptr + 6, 2));
		next unless substr($page, $ptr + 8, $ksize) eq $name;
		return unpack('Q<', substr($page, $ptr + 8 + $ksize + 40, 8));
	}
	die "no DBI $name in $file";
}

# ndag_write_file_bytes(FILE, OFFSET, BYTES): overwrite BYTES at OFFSET.
sub ndag_write_file_bytes
{
	my ($file, $offset, $bytes) = @_;
	open my $fh, '+<:raw', $file or die "open $file: $!";
	seek($fh, $offset, 0) or die "seek $file: $!";
	print $fh $bytes or die "write $file: $!";
	close $fh or die "close $file: $!";
}

# ndag_log_since(NODE, OFFSET): the server log from byte OFFSET on.
sub ndag_log_since
{
	my ($node, $offset) = @_;
	my $log = PostgreSQL::Test::Utils::slurp_file($node->logfile);
	return substr($log, $offset // 0);
}

# ndag_candidate_order(NODE, OFFSET, WHAT): the order of the candidate arms
# of the first shadow run the server log names from byte OFFSET on
# (DEBUG1: arms proven for another class marked *, arms an earlier run left
# leading +, arms the database favors ^), waiting for it (bounded; WHAT names
# the wait); undef if none came.
sub ndag_candidate_order
{
	my ($node, $offset, $what) = @_;
	my $order;
	wait_for(
		sub {
			($order) = ndag_log_since($node, $offset) =~
			  /shadow run of query -?\d+, class [0-9a-f]+: candidate arms in order: ([0-9*+^ ]*)/;
			return defined $order;
		},
		$what);
	return $order;
}

push @NdagTest::EXPORT, qw(ndag_candidate_order);

# ---------- shared set-up SQL of the suites ----------

# ndag_workload(NODE, SHAPES, N): in one session of database postgres, N
# executions of each query shape (a PL/pgSQL PERFORM body; the loop
# variable is i).
sub ndag_workload
{
	my ($node, $shapes, $n) = @_;
	my $body = join("\n", map { "PERFORM $_;" } @$shapes);
	$node->safe_psql('postgres', qq{
		DO \$\$
		BEGIN
			FOR i IN 1..$n LOOP
				$body
			END LOOP;
		END
		\$\$;
	});
}

# ndag_learning_shapes(TABLE): six query shapes over TABLE (id, k, v; an
# index on id) for ndag_workload: counts, a lookup by i, a grouping, a
# self-join, a sort with LIMIT and a filter.
sub ndag_learning_shapes
{
	my ($t) = @_;
	return (
		"count(*) FROM $t",
		"* FROM $t WHERE id = i",
		"k, sum(v) FROM $t GROUP BY k",
		"count(*) FROM $t a JOIN $t b ON a.id = b.id",
		"* FROM $t ORDER BY v, id LIMIT 5",
		"count(*) FROM $t WHERE k = i % 10 AND v < 50");
}

# ndag_join_tables_sql(PREFIX): SQL that creates and analyzes PREFIX_a
# (100000 rows, x = y = z, index on x) and PREFIX_b (20000 rows), and
# enables both for learning: a join whose row estimate is far off.
sub ndag_join_tables_sql
{
	my ($p) = @_;
	return qq{
	CREATE TABLE ${p}_a AS
		SELECT g AS id, g % 200 AS x, g % 200 AS y, g % 200 AS z
		FROM generate_series(1, 100000) g;
	CREATE TABLE ${p}_b AS SELECT g AS id, g % 1000 AS v FROM generate_series(1, 20000) g;
	CREATE INDEX ${p}_a_x ON ${p}_a (x);
	ANALYZE ${p}_a, ${p}_b;
	SELECT ruvector_enable_neural_dag('${p}_a'), ruvector_enable_neural_dag('${p}_b');
};
}

# ndag_costly_hash_arm_sql(): SQL that adds the custom arm costly_hash and
# disables every built-in arm but the default.
sub ndag_costly_hash_arm_sql
{
	return q{
	INSERT INTO ndag_arms (name, settings)
		VALUES ('costly_hash', 'enable_nestloop=off, cpu_operator_cost=0.05');
	UPDATE ndag_arms SET enabled = false WHERE builtin AND arm_id <> 0;
};
}

# ndag_explain_function_sql(PREFIX): SQL that creates PREFIX_explain(q):
# the "Neural DAG" section of EXPLAIN (FORMAT JSON) of q, with the node
# type of its top plan node as "Join".
sub ndag_explain_function_sql
{
	my ($p) = @_;
	return qq{
	CREATE FUNCTION ${p}_explain(q text) RETURNS jsonb LANGUAGE plpgsql AS \$\$
	DECLARE
		j json;
	BEGIN
		EXECUTE 'EXPLAIN (FORMAT JSON, COSTS OFF) ' || q INTO j;
		RETURN (j::jsonb)->0->'Neural DAG' ||
			jsonb_build_object('Join', (j::jsonb)->0->'Plan'->>'Node Type');
	END
	\$\$;
};
}

# ndag_run_function_sql(PREFIX): SQL that creates PREFIX_run(q, n), which
# executes q n times.
sub ndag_run_function_sql
{
	my ($p) = @_;
	return qq{
	CREATE FUNCTION ${p}_run(q text, n int) RETURNS void LANGUAGE plpgsql AS \$\$
	BEGIN
		FOR i IN 1..n LOOP
			EXECUTE q;
		END LOOP;
	END
	\$\$;
};
}

# ndag_learning_database(NODE, DBNAME, ROWS): a new database with the
# extension and a table t (id primary key, v = id % 7) of ROWS rows,
# analyzed and enabled for learning.
sub ndag_learning_database
{
	my ($node, $db, $rows) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, qq{
	CREATE EXTENSION neural_dag;
	CREATE TABLE t (id int PRIMARY KEY, v int);
	INSERT INTO t SELECT i, i % 7 FROM generate_series(1, $rows) i;
	ANALYZE t;
	SELECT ruvector_enable_neural_dag('t');
});
}

push @NdagTest::EXPORT, qw(ndag_workload ndag_learning_shapes ndag_join_tables_sql
  ndag_costly_hash_arm_sql ndag_explain_function_sql ndag_run_function_sql
  ndag_learning_database);

# ndag_join_queries(PREFIX): over the tables of ndag_join_tables_sql, a
# join whose row estimate is far off, and a variant of it.
sub ndag_join_queries
{
	my ($p) = @_;
	my $join = "FROM ${p}_a a JOIN (SELECT v, count(*) AS n FROM ${p}_b GROUP BY v) c "
	  . 'ON c.v = a.id WHERE a.x = 1 AND a.y = 1 AND a.z = 1';
	return ("SELECT a.id, c.n $join", "SELECT a.id, c.n $join AND a.id > 0");
}

# ndag_explore_settings(): SET commands for a session that learns and
# explores every statement.
sub ndag_explore_settings
{
	return "SET ruvector.dag_mode = 'learn'; SET ruvector.dag_exploration = 1; "
	  . "SET ruvector.dag_exploration_mode = 'inline'; "
	  . "SET ruvector.dag_min_latency = 0; SET ruvector.dag_confidence_threshold = 0;";
}

# ndag_jit_settings(): SET commands that make the join queries compile JIT.
sub ndag_jit_settings
{
	return "SET jit = on; SET jit_above_cost = 2000; SET jit_inline_above_cost = 2000; "
	  . "SET jit_optimize_above_cost = 2000;";
}

push @NdagTest::EXPORT, qw(ndag_join_queries ndag_explore_settings
  ndag_jit_settings);

# ndag_learn_until_proven(NODE, PREFIX, Q, WHAT): run Q twice at a time in
# a learning session that explores inline (PREFIX_run and PREFIX_explain of
# ndag_run_function_sql and ndag_explain_function_sql) until EXPLAIN shows
# an arm proven faster for it (bounded by wait_for); that arm.
sub ndag_learn_until_proven
{
	my ($node, $p, $q, $what) = @_;
	my $learn = ndag_explore_settings();
	wait_for(
		sub {
			$node->safe_psql('postgres', "$learn SELECT ${p}_run('$q', 2)");
			return $node->safe_psql('postgres',
				"$learn SELECT ${p}_explain('$q')->>'Decision'") eq 'proven';
		},
		$what);
	return $node->safe_psql('postgres', "$learn SELECT ${p}_explain('$q')->>'Arm'");
}

push @NdagTest::EXPORT, qw(ndag_learn_until_proven);

# ndag_status_counter(NODE, NAME): a counter of ruvector_dag_status() in
# database postgres.
sub ndag_status_counter
{
	my ($node, $name) = @_;
	return $node->safe_psql('postgres',
		"SELECT (ruvector_dag_status()->'counters'->>'$name')::bigint");
}

push @NdagTest::EXPORT, qw(ndag_status_counter);

# ndag_shadow_settings(): SET commands for a session that learns every
# statement, leaving the unproven arms of plain SELECTs to shadow
# exploration (ruvector.dag_exploration_mode at its default, shadow).
sub ndag_shadow_settings
{
	return "SET ruvector.dag_mode = 'learn'; SET ruvector.dag_exploration = 1; "
	  . "SET ruvector.dag_min_latency = 0; SET ruvector.dag_min_cost = 0; "
	  . "SET ruvector.dag_confidence_threshold = 0;";
}

push @NdagTest::EXPORT, qw(ndag_shadow_settings);

# ndag_shadow_idle(NODE): whether no captured statement waits and no
# shadow worker runs.
sub ndag_shadow_idle
{
	my ($node) = @_;
	return ndag_status_counter($node, 'shadow_queued') == 0
	  && $node->safe_psql('postgres', q{SELECT count(*) FROM pg_stat_activity
			WHERE backend_type = 'neural_dag shadow'}) eq '0';
}

push @NdagTest::EXPORT, qw(ndag_shadow_idle);

# ndag_plan_cost_sql(PREFIX): SQL that creates PREFIX_cost(settings, q):
# the estimated total cost of q's plan (ruvector.dag_mode off) after the
# SET commands in settings ('' for none).
sub ndag_plan_cost_sql
{
	my ($p) = @_;
	return qq{
	CREATE FUNCTION ${p}_cost(settings text, q text) RETURNS float8
	LANGUAGE plpgsql AS \$\$
	DECLARE
		j json;
	BEGIN
		SET ruvector.dag_mode = off;
		IF settings <> '' THEN
			EXECUTE settings;
		END IF;
		EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO j;
		RESET ALL;
		RETURN (j->0->'Plan'->>'Total Cost')::float8;
	END
	\$\$;
};
}

push @NdagTest::EXPORT, qw(ndag_plan_cost_sql);

# ndag_small_big_tables_sql(PREFIX): SQL that creates and analyzes
# PREFIX_small (1000 rows, no index) and PREFIX_big (200000 rows, primary
# key id), enabled for learning: joined by id with a filter on
# PREFIX_small.x, a nested loop over index scans by default, and a plan
# estimated far costlier without nested loops.
sub ndag_small_big_tables_sql
{
	my ($p) = @_;
	return qq{
	CREATE TABLE ${p}_small AS
		SELECT g * 200 AS id, g % 100 AS x FROM generate_series(1, 1000) g;
	CREATE TABLE ${p}_big AS
		SELECT g AS id, repeat('p', 50) AS pad FROM generate_series(1, 200000) g;
	ALTER TABLE ${p}_big ADD PRIMARY KEY (id);
	ANALYZE ${p}_small, ${p}_big;
	SELECT ruvector_enable_neural_dag('${p}_small'), ruvector_enable_neural_dag('${p}_big');
};
}

push @NdagTest::EXPORT, qw(ndag_small_big_tables_sql);

# ndag_explore_conf(): postgresql.conf lines for a server that learns and
# explores every statement (ndag_explore_settings for every session).
sub ndag_explore_conf
{
	return "ruvector.dag_mode = 'learn'\nruvector.dag_exploration = 1\n"
	  . "ruvector.dag_exploration_mode = 'inline'\n"
	  . "ruvector.dag_min_latency = 0\nruvector.dag_confidence_threshold = 0\n";
}

push @NdagTest::EXPORT, qw(ndag_explore_conf);

# ndag_learned_everything(NODE, DB): in a new database DB with the
# extension, tables DB_a and DB_b enabled for learning, a learning workload
# recorded and learned from (trajectories, plan nodes, patterns, models,
# an HDC snapshot, per-statement memory) and a healing event.
sub ndag_learned_everything
{
	my ($node, $db) = @_;
	$node->safe_psql('postgres', "CREATE DATABASE $db");
	$node->safe_psql($db, qq{
	CREATE EXTENSION neural_dag;
	CREATE TABLE ${db}_a AS SELECT g AS id, g % 10 AS k, (g * 7) % 100 AS v
		FROM generate_series(1, 3000) g;
	CREATE INDEX ${db}_a_id ON ${db}_a (id);
	CREATE TABLE ${db}_b AS SELECT g AS id, g % 5 AS k FROM generate_series(1, 500) g;
	ANALYZE ${db}_a, ${db}_b;
	SELECT ruvector_enable_neural_dag('${db}_a');
	SELECT ruvector_enable_neural_dag('${db}_b');
	CREATE TABLE ${db}_h (id int);
	INSERT INTO ${db}_h SELECT g FROM generate_series(1, 100) g;
	INSERT INTO ${db}_h VALUES (7);
});
	my $body = join("\n", map { "PERFORM $_;" }
		  (ndag_learning_shapes("${db}_a"),
			"count(*) FROM ${db}_a a JOIN ${db}_b b ON a.k = b.k WHERE b.id < i"));
	$node->safe_psql($db, qq{
	SET ruvector.dag_mode = 'learn';
	DO \$\$ BEGIN FOR i IN 1..12 LOOP $body END LOOP; END \$\$;
	SELECT ruvector_dag_flush();
	SELECT ruvector_dag_learn();
});
	$node->psql($db, "CREATE UNIQUE INDEX CONCURRENTLY ${db}_h_id ON ${db}_h (id)");
	$node->safe_psql($db, q{
	SET ruvector.dag_healing_auto_repair = off;
	SELECT count(*) FROM ruvector_dag_heal();
});
	return;
}

push @NdagTest::EXPORT, qw(ndag_learned_everything);

# ndag_query_id(NODE, QUERY): the queryId that EXPLAIN VERBOSE reports for
# QUERY in database postgres (pg_stat_statements.queryid), 'none' if none
sub ndag_query_id
{
	my ($node, $query) = @_;
	return $node->safe_psql('postgres',
		"SET compute_query_id = on; EXPLAIN (VERBOSE, COSTS OFF, FORMAT JSON) $query")
	  =~ /"Query Identifier": (-?\d+)/ ? $1 : 'none';
}

push @NdagTest::EXPORT, qw(ndag_query_id);

# ---------- WAL replication of the plan-deciding state ----------

# ndag_wal_primary(NAME, EXTRA_CONF): a started primary that allows
# streaming, preloads neural_dag (as ndag_node) and has the extension in
# database postgres.
sub ndag_wal_primary
{
	my ($name, $extra) = @_;
	return ndag_node($name, $extra, allows_streaming => 1);
}

# ndag_wal_standby(PRIMARY, BACKUP, NAME, EXTRA_CONF): a started streaming
# standby of PRIMARY from its backup BACKUP, applying learned arms in every
# session.
sub ndag_wal_standby
{
	my ($primary, $backup, $name, $extra) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init_from_backup($primary, $backup, has_streaming => 1);
	$node->append_conf('postgresql.conf',
		"ruvector.dag_mode = 'apply'\n" . ($extra // ''));
	$node->start;
	return $node;
}

# ndag_plan_state_sql(): SQL giving the plan-deciding state of the store
# as one line: enabled tables, arms, patterns (best arm, pinned, disabled,
# demoted arms) and the per-statement decisions and pins of ndag_queries.
sub ndag_plan_state_sql
{
	return q{SELECT concat_ws(' | ',
	(SELECT string_agg(relid::oid::text, ',' ORDER BY relid::oid) FROM ndag_tables),
	(SELECT string_agg(concat_ws(':', arm_id, name, settings, enabled), ',' ORDER BY arm_id)
		FROM ndag_arms),
	(SELECT string_agg(concat_ws(':', dbid, pattern_id, best_arm, pinned, disabled,
		demoted_arms::text), ',' ORDER BY dbid, pattern_id) FROM ndag_patterns),
	(SELECT string_agg(concat_ws(':', dbid, query_id, class, decision, best_arm,
		pinned_arm, forbidden_arms::text, frozen), ',' ORDER BY dbid, query_id, class)
		FROM ndag_queries))};
}

# ndag_wait_same_state(PRIMARY, STANDBY, WHAT): wait (bounded) until
# STANDBY's plan-deciding state equals PRIMARY's; true if it did.
sub ndag_wait_same_state
{
	my ($primary, $standby, $what) = @_;
	my $sql = ndag_plan_state_sql();
	my ($p, $s) = ('', '');
	my $ok = wait_for(
		sub {
			$p = $primary->safe_psql('postgres', $sql);
			$s = $standby->safe_psql('postgres', $sql);
			return $p eq $s;
		},
		$what);
	diag("primary: $p\nstandby: $s") unless $ok;
	return $ok;
}

push @NdagTest::EXPORT, qw(ndag_wal_primary ndag_wal_standby ndag_plan_state_sql
  ndag_wait_same_state);


# ---------- load ----------

my @cpu_burners;

# ndag_burn_cpu(N): start N processes that keep a CPU busy each, until
# ndag_stop_burning() or the end of the test.
sub ndag_burn_cpu
{
	my ($n) = @_;
	push @cpu_burners, IPC::Run::start([ $^X, '-e', '1 while 1' ]) for 1 .. $n;
	return;
}

# ndag_stop_burning(): stop the processes ndag_burn_cpu started.
sub ndag_stop_burning
{
	$_->kill_kill for @cpu_burners;
	@cpu_burners = ();
	return;
}

END { local $?; ndag_stop_burning(); }

push @NdagTest::EXPORT, qw(ndag_burn_cpu ndag_stop_burning);

1;
