# Self-healing: each detector finds its real case, each repair really changes
# the database and is recorded, a repair blocked by a lock fails cleanly on
# lock_timeout, a busy object is skipped, a non-owner's repair fails, and the
# launcher runs the check periodically.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use lib 't';
use NdagTest;

# autovacuum would analyze and vacuum behind the tests' back
my $node = ndag_node('healing', "autovacuum = off\n");

# sq(SQL): one value
sub sq
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

# heal(AUTO, EXTRA, KIND, OBJECT): run ruvector_dag_heal() with auto repair
# on or off and the extra settings; the "status|action" of the event of
# KIND on OBJECT ('' if none)
sub heal
{
	my ($auto, $extra, $kind, $object) = @_;
	$extra //= '';
	return sq(qq{
		SET ruvector.dag_healing_auto_repair = $auto;
		$extra
		SELECT string_agg(status || '|' || action, E'\\n' ORDER BY event_id)
		FROM ruvector_dag_heal() WHERE kind = '$kind' AND object = '$object';
	});
}

# a unique index CREATE INDEX CONCURRENTLY leaves invalid over duplicate data
sub invalid_index
{
	my ($table) = @_;
	sq(qq{
		CREATE TABLE $table (id int, v int);
		INSERT INTO $table SELECT g, g FROM generate_series(1, 1000) g;
		INSERT INTO $table VALUES (7, 7);
		SELECT ruvector_enable_neural_dag('$table');
	});
	my ($ret, $out, $err) = $node->psql('postgres',
		"CREATE UNIQUE INDEX CONCURRENTLY ${table}_id ON $table (id)");
	like($err, qr/could not create unique index/,
		"CREATE UNIQUE INDEX CONCURRENTLY on $table fails on duplicates");
	return;
}

sub indisvalid
{
	my ($index) = @_;
	return sq("SELECT indisvalid FROM pg_index WHERE indexrelid = '$index'::regclass");
}

sub relfilenode
{
	my ($rel) = @_;
	return sq("SELECT relfilenode FROM pg_class WHERE oid = '$rel'::regclass");
}

# ---------- invalid index: recommended, then repaired ----------
invalid_index('heal_u');
is(indisvalid('heal_u_id'), 'f', 'the index is left invalid');
my $node_before = relfilenode('heal_u_id');

like(heal('off', '', 'invalid_index', 'public.heal_u_id'),
	qr/^recommended\|would run: REINDEX INDEX CONCURRENTLY public\.heal_u_id/,
	'without auto repair the rebuild is recommended');
is(indisvalid('heal_u_id'), 'f', 'and the index stays invalid');
is(relfilenode('heal_u_id'), $node_before, 'and untouched');

sq(q{DELETE FROM heal_u WHERE id = 7 AND ctid <> (SELECT min(ctid) FROM heal_u WHERE id = 7)});
is(heal('on', '', 'invalid_index', 'public.heal_u_id'),
	'repaired|REINDEX INDEX CONCURRENTLY public.heal_u_id',
	'with auto repair the index is rebuilt');
is(indisvalid('heal_u_id'), 't', 'and is valid now');
is(heal('on', '', 'invalid_index', 'public.heal_u_id'), '',
	'a valid index is not reported again');

# ---------- a partition of an enabled partitioned table is in scope ----------
sq(q{
	CREATE TABLE heal_pt (id int, v int) PARTITION BY RANGE (id);
	CREATE TABLE heal_pt1 PARTITION OF heal_pt FOR VALUES FROM (0) TO (10000);
	INSERT INTO heal_pt SELECT g % 100, g FROM generate_series(1, 200) g;
	SELECT ruvector_enable_neural_dag('heal_pt');
});
$node->psql('postgres', 'CREATE UNIQUE INDEX CONCURRENTLY heal_pt1_id ON heal_pt1 (id)');
like(heal('off', '', 'invalid_index', 'public.heal_pt1_id'), qr/^recommended\|/,
	'an invalid index of a partition of an enabled table is found');
is(heal('off', q{SET ruvector.dag_healing_scope = 'all';}, 'invalid_index', 'public.heal_pt1_id')
	=~ tr/\n// , 0, 'once per check');
sq('DROP TABLE heal_pt');

# ---------- a non-owner's repair fails ----------
invalid_index('heal_o');
sq(q{DELETE FROM heal_o WHERE id = 7 AND ctid <> (SELECT min(ctid) FROM heal_o WHERE id = 7)});
# (a member of neural_dag_admin may run a check, with its own rights)
sq('CREATE ROLE heal_user LOGIN');
sq('CREATE ROLE heal_admin LOGIN IN ROLE neural_dag_admin');
my ($ret, $out, $err) = $node->psql('postgres', q{
	SET ruvector.dag_healing_auto_repair = on;
	SELECT status || '|' || action FROM ruvector_dag_heal()
	WHERE kind = 'invalid_index' AND object = 'public.heal_o_id';
}, extra_params => [ '-U', 'heal_admin' ]);
# (PostgreSQL 18 words the refusal "permission denied for index")
like($out, qr/^failed\|REINDEX INDEX CONCURRENTLY public\.heal_o_id failed: (?:must be owner of|permission denied for) index heal_o_id \(SQLSTATE 42501\)$/,
	"a non-owner's rebuild fails with the caller's rights and is recorded");
is(indisvalid('heal_o_id'), 'f', 'the index is unchanged');
is(sql_state($node, q{
	CREATE ROLE heal_nologin NOLOGIN IN ROLE neural_dag_admin;
	SET ROLE heal_nologin; SELECT * FROM ruvector_dag_heal()}), '42501',
	'a role that may not log in cannot run a check');

# ---------- a repair blocked by a lock fails on lock_timeout ----------
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE heal_o IN ACCESS EXCLUSIVE MODE;');
like(heal('on', 'SET ruvector.dag_healing_lock_timeout = 200;',
		'invalid_index', 'public.heal_o_id'),
	qr/^failed\|REINDEX INDEX CONCURRENTLY public\.heal_o_id failed: canceling statement due to lock timeout \(SQLSTATE 55P03\)$/,
	'a repair blocked by a lock fails on lock_timeout with the error');
is(sq('SELECT 1'), '1', 'the server carries on');
$locker->query_safe('COMMIT');
is(indisvalid('heal_o_id'), 'f', 'the index is as it was');
is(sq(q{SELECT count(*) FROM pg_class WHERE relname LIKE 'heal_o_id_cc%'}), '0',
	'and no transient index is left behind');

# ---------- inside a transaction block a rebuild is not started ----------
like(sq(q{
		BEGIN;
		SET LOCAL ruvector.dag_healing_auto_repair = on;
		SELECT status || '|' || action FROM ruvector_dag_heal()
		WHERE kind = 'invalid_index' AND object = 'public.heal_o_id';
		COMMIT;
	}),
	qr/^skipped\|REINDEX INDEX CONCURRENTLY public\.heal_o_id not run: .*transaction block/,
	'a rebuild that would wait for the calling transaction is skipped');
is(sq(q{SELECT count(*) FROM pg_class WHERE relname LIKE 'heal_o_id_cc%'}), '0',
	'and leaves nothing behind');

# ---------- a busy object is skipped ----------
$locker->query_safe(q{SELECT pg_advisory_lock(1852055911, 'heal_o_id'::regclass::oid::int)});
like(heal('on', '', 'invalid_index', 'public.heal_o_id'),
	qr/^skipped\|.*another repair of the object is in progress/,
	'an object whose advisory lock is held is skipped');
$locker->query_safe(q{SELECT pg_advisory_unlock_all()});
is(heal('on', '', 'invalid_index', 'public.heal_o_id'),
	'repaired|REINDEX INDEX CONCURRENTLY public.heal_o_id',
	'and repaired once the lock is free');
is(indisvalid('heal_o_id'), 't', 'the index is valid');
$locker->quit;

# ---------- a rebuild waits for writers beyond lock_timeout ----------
# lock_timeout bounds taking the table's lock only: REINDEX CONCURRENTLY's
# later waits for transactions must not fail half-way and leave its new index
invalid_index('heal_w');
sq(q{DELETE FROM heal_w WHERE id = 7 AND ctid <> (SELECT min(ctid) FROM heal_w WHERE id = 7)});
my $writer = $node->background_psql('postgres');
$writer->query_safe('BEGIN; INSERT INTO heal_w VALUES (5000, 5000);');
my $caller = $node->background_psql('postgres');
$caller->query_until(qr/go/, q{\echo go
SET ruvector.dag_healing_auto_repair = on;
SET ruvector.dag_healing_lock_timeout = 200;
SELECT 'result:' || status || '|' || action FROM ruvector_dag_heal()
WHERE kind = 'invalid_index' AND object = 'public.heal_w_id';
\echo done
});
ok(wait_for(sub {
	sq(q{SELECT count(*) FROM pg_stat_activity
		WHERE backend_type = 'neural_dag healer' AND wait_event_type = 'Lock'
		  AND query LIKE 'REINDEX%' AND now() - query_start > interval '1 second'}) > 0 },
	'the rebuild waiting'),
	'the rebuild waits for the writing transaction longer than lock_timeout');
$writer->query_safe('COMMIT');
like($caller->query_until(qr/done/, ''),
	qr/result:repaired\|REINDEX INDEX CONCURRENTLY public\.heal_w_id/,
	'and completes once it commits');
is(indisvalid('heal_w_id'), 't', 'the index is valid');
is(sq(q{SELECT count(*) FROM pg_class WHERE relname LIKE 'heal_w_id_cc%'}), '0',
	'no transient index is left');
$writer->quit;
$caller->quit;
sq('DROP TABLE heal_w');

# ---------- stale statistics: ANALYZE runs ----------
sq(q{
	CREATE TABLE heal_s (id int, v int);
	INSERT INTO heal_s SELECT g, g % 10 FROM generate_series(1, 1000) g;
	ANALYZE heal_s;
	SELECT ruvector_enable_neural_dag('heal_s');
});
sq(q{INSERT INTO heal_s SELECT g, g % 10 FROM generate_series(1001, 2000) g});
ok(wait_for(sub {
	sq(q{SELECT n_mod_since_analyze >= 1000 FROM pg_stat_user_tables
		WHERE relname = 'heal_s'}) eq 't' }, 'modifications counted'),
	'the modifications are counted');
my $analyzed = sq(q{SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'heal_s'});
like(heal('off', '', 'stale_statistics', 'public.heal_s'),
	qr/^recommended\|would run: ANALYZE public\.heal_s/,
	'stale statistics are detected');
like(sq(q{SELECT detail FROM ndag_healing WHERE kind = 'stale_statistics'
		AND object = 'public.heal_s' ORDER BY event_id DESC LIMIT 1}),
	qr/^\d+ rows modified since the last analyze \(.+\), threshold 250 for 1000 rows; learned patterns on the table: none$/,
	'the detail has the figures and the patterns');
is(heal('on', '', 'stale_statistics', 'public.heal_s'),
	'repaired|ANALYZE public.heal_s', 'with auto repair ANALYZE runs');
ok(wait_for(sub {
	sq(q{SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'heal_s'})
		> $analyzed }, 'analyze_count'),
	'pg_stat_user_tables.analyze_count moved');

# ---------- unused index: recommended after a baseline ----------
sq('CREATE INDEX heal_s_v ON heal_s (v)');
is(heal('off', '', 'unused_index', 'public.heal_s_v'), '',
	'the first check records a baseline');
like(heal('off', '', 'unused_index', 'public.heal_s_v'),
	qr/^recommended\|none by neural_dag, which never drops anything/,
	'the second check finds it unused');
is(heal('off', '', 'unused_index', 'public.heal_s_v'), '',
	'and a third check does not report it again');
sq('SET enable_seqscan = off; SET enable_bitmapscan = off; SELECT count(*) FROM heal_s WHERE v = 3');
ok(wait_for(sub {
	sq(q{SELECT idx_scan > 0 FROM pg_stat_user_indexes WHERE indexrelname = 'heal_s_v'})
		eq 't' }, 'idx_scan'),
	'the index was scanned');
is(heal('off', '', 'unused_index', 'public.heal_s_v'), '',
	'a scanned index is not reported');
like(heal('off', '', 'unused_index', 'public.heal_s_v'),
	qr/^recommended\|/, 'unused again since the scan, it is reported once more');
is(heal('off', '', 'unused_index', 'public.heal_s_v'), '', 'and only once');
is(sq(q{SELECT count(*) FROM pg_class WHERE relname = 'heal_s_v'}), '1',
	'nothing is dropped');

# ---------- bloated index: detected and rebuilt ----------
sq(q{
	CREATE TABLE heal_b (id int, pad int);
	SELECT ruvector_enable_neural_dag('heal_b');
	INSERT INTO heal_b SELECT g, g FROM generate_series(1, 100000) g;
	CREATE INDEX heal_b_id ON heal_b (id);
	DELETE FROM heal_b WHERE id % 20 <> 0;
	VACUUM ANALYZE heal_b;
});
my $pages = sq(q{SELECT relpages FROM pg_class WHERE relname = 'heal_b_id'});
$node_before = relfilenode('heal_b_id');
like(heal('off', '', 'bloated_index', 'public.heal_b_id'),
	qr/^recommended\|would run: REINDEX INDEX CONCURRENTLY public\.heal_b_id/,
	'a bloated index is detected');
is(heal('on', '', 'bloated_index', 'public.heal_b_id'),
	'repaired|REINDEX INDEX CONCURRENTLY public.heal_b_id',
	'and rebuilt with auto repair');
isnt(relfilenode('heal_b_id'), $node_before, 'the index has a new relfilenode');
cmp_ok(sq(q{SELECT relpages FROM pg_class WHERE relname = 'heal_b_id'}), '<', $pages / 4,
	"and far fewer pages than $pages");
is(heal('on', '', 'bloated_index', 'public.heal_b_id'), '',
	'the rebuilt index is not bloated');

# ---------- latency drift ----------
sq(q{
	CREATE TABLE heal_d (id int);
	INSERT INTO heal_d SELECT generate_series(1, 10);
	SELECT ruvector_enable_neural_dag('heal_d');
});
my $burst = q{
	DO $$
	BEGIN
		FOR i IN 1..30 LOOP
			PERFORM count(*) FROM heal_d;
		END LOOP;
	END
	$$;
};
sq($burst);
sq('INSERT INTO heal_d SELECT generate_series(1, 200000)');
sq($burst);
sq('SELECT ruvector_dag_flush()');
my $qid = sq(q{
	SELECT query_id FROM ndag_trajectories
	WHERE relids = ARRAY['heal_d'::regclass::oid]
	GROUP BY query_id HAVING count(*) >= 60});
like($qid, qr/^-?\d+$/, 'the 60 executions of the query are recorded');
like(sq(qq{
	SELECT status || '|' || detail FROM ruvector_dag_heal()
	WHERE kind = 'latency_drift' AND object = 'query_id $qid'}),
	qr/^recommended\|last 60 executions: .* = \d+\.\d\dx the older half/,
	'the query whose latency grew is reported');

# ---------- a repair over its statement_timeout fails ----------
my $analyzed_d = sq(q{SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'heal_d'});
like(heal('on', 'SET ruvector.dag_healing_statement_timeout = 1;',
		'stale_statistics', 'public.heal_d'),
	qr/^failed\|ANALYZE public\.heal_d failed: canceling statement due to statement timeout \(SQLSTATE 57014\)$/,
	'a repair running past statement_timeout is cancelled and recorded');
is(sq(q{SELECT analyze_count FROM pg_stat_user_tables WHERE relname = 'heal_d'}),
	$analyzed_d, 'the table was not analyzed');
is(sq('SELECT 1'), '1', 'the server carries on');

# ---------- regressed pattern: found in the store ----------
# As in 040_rewriting.pl: a custom arm is explored and learned as a pattern's
# best arm, then the data changes so that, under compiling JIT, the arm runs
# a variant of the statement far slower than its default plan did.  The
# runtime regression guard is turned off for those runs (as a DBA may, or as
# after a restart that emptied the baselines in shared memory): only the
# store's trajectories show the regression.
sq(ndag_join_tables_sql('rw') . ndag_costly_hash_arm_sql()
	  . ndag_run_function_sql('rw'));
my $arm = sq("SELECT arm_id FROM ndag_arms WHERE name = 'costly_hash'");
my ($q, $q2) = ndag_join_queries('rw');
my $learn = ndag_explore_settings();
my $jit = ndag_jit_settings();
sq("SET ruvector.dag_mode = 'observe'; SELECT rw_run('$q', 3); SELECT ruvector_dag_flush()");
sq("$learn SELECT rw_run('$q', 8); SELECT ruvector_dag_flush()");
sq('SELECT ruvector_dag_learn()');
my $rpattern = sq("SELECT pattern_id FROM ndag_patterns WHERE best_arm = $arm
	ORDER BY support DESC LIMIT 1");
like($rpattern, qr/^\d+$/, "a pattern prefers the custom arm ($rpattern)");
sq("SET ruvector.dag_mode = 'observe';
	UPDATE rw_a SET z = z + 1 WHERE x = 1;
	SELECT rw_run('$q2', 5); SELECT ruvector_dag_flush()");
is(heal('off', '', 'regressed_pattern', "pattern $rpattern"), '',
	'before the arm ran the variant, nothing is reported');
$node->restart;
sq("$learn $jit SET ruvector.dag_mode = 'apply'; SET ruvector.dag_regression_guard = off;
	SELECT rw_run('$q2', 4);
	SELECT ruvector_dag_flush()");
is(sq("SELECT count(*) FROM ndag_trajectories WHERE arm = $arm AND decision = 'pattern'
		AND pattern_id = $rpattern"), '4', 'the pattern applied the arm four times');
is(sq("SELECT coalesce($arm = ANY (demoted_arms), false) FROM ndag_patterns
		WHERE pattern_id = $rpattern"), 'f',
	'with the runtime guard off the arm was not demoted');
SKIP:
{
	# without JIT (a server built without LLVM) the arm is about as fast as
	# the default plan on the variant: there is no regression to find
	skip 'JIT is not available: the arm does not regress the variant', 8
	  unless sq('SELECT pg_jit_available()') eq 't';
	my $rconf = sq("SELECT confidence FROM ndag_patterns WHERE pattern_id = $rpattern");
	like(heal('off', '', 'regressed_pattern', "pattern $rpattern"),
		qr/^recommended\|would run: demote arm $arm for pattern $rpattern \(demoted_arms\) and halve its confidence/,
		'the check finds the regressed pattern and recommends demoting the arm');
	like(sq(q{SELECT detail FROM ndag_healing WHERE kind = 'regressed_pattern'
			ORDER BY event_id DESC LIMIT 1}),
		qr/^last 4 executions under its best arm $arm: mean [0-9.]+ ms, [0-9.]+x the default arm's mean [0-9.]+ ms for the same queries \(threshold 1\.2x\)$/,
		'with the figures');
	is(heal('off', '', 'regressed_pattern', "pattern $rpattern"), '',
		'it is reported once');
	is(sq("SELECT confidence FROM ndag_patterns WHERE pattern_id = $rpattern"), $rconf,
		'without auto repair the pattern is unchanged');
	$node->restart;
	is(heal('off', '', 'regressed_pattern', "pattern $rpattern"), '',
		'nor after a restart (the report is remembered in the store)');
	like(heal('on', '', 'regressed_pattern', "pattern $rpattern"),
		qr/^repaired\|demoted: pattern $rpattern \(arm $arm demoted, confidence [0-9.]+ -> [0-9.]+\)$/,
		'with auto repair the arm is demoted');
	is(sq("SELECT $arm = ANY (demoted_arms) AND abs(confidence - $rconf / 2) < 1e-9
			FROM ndag_patterns WHERE pattern_id = $rpattern"), 't',
		'the pattern lists the arm as demoted, its confidence halved');
	is(heal('on', '', 'regressed_pattern', "pattern $rpattern"), '',
		'a demoted arm is not reported again');
}

# ---------- trajectory budget: trimmed to a lowered budget ----------
my $stored = sq('SELECT count(*) FROM ndag_trajectories');
cmp_ok($stored, '>', 16, "$stored trajectories stored");
$node->append_conf('postgresql.conf', "ruvector.dag_max_trajectories = 16\n");
$node->restart;
like(heal('off', '', 'trajectory_budget', 'trajectories'),
	qr/^recommended\|would run: trim the oldest \d+ trajectories/,
	'a store over a lowered budget is detected');
is(sq('SELECT count(*) FROM ndag_trajectories'), $stored, 'and left alone');
my $newest = sq('SELECT max(traj_id) FROM ndag_trajectories');
like(heal('on', '', 'trajectory_budget', 'trajectories'),
	qr/^repaired\|trimmed the \d+ oldest trajectories and their nodes$/,
	'with auto repair the oldest are trimmed');
is(sq('SELECT count(*) || \'|\' || max(traj_id) FROM ndag_trajectories'), "16|$newest",
	'the 16 newest remain');
is(sq(q{SELECT count(*) FROM ndag_attention a WHERE NOT EXISTS
		(SELECT 1 FROM ndag_trajectories t WHERE t.traj_id = a.traj_id)}), '0',
	'with their nodes only');

# ---------- stale LMDB reader slots ----------
# A process outside PostgreSQL takes a reader slot and is killed: the slot
# stays until a process opens the store (and clears it) or a check finds it.
my $session = $node->background_psql('postgres');
$session->query_safe('SELECT count(*) FROM ndag_arms');    # the store is open here
my $tmp = PostgreSQL::Test::Utils::tempdir;
open(my $src, '>', "$tmp/reader.c") or die "reader.c: $!";
print $src <<'C';
#include <lmdb.h>
#include <stdio.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	MDB_env    *env;
	MDB_txn    *txn;

	if (argc != 2 || mdb_env_create(&env) != 0 ||
		mdb_env_set_maxdbs(env, 32) != 0 ||
		mdb_env_open(env, argv[1], MDB_RDONLY | MDB_NOTLS, 0600) != 0 ||
		mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) != 0)
		return 1;
	printf("reading\n");
	fflush(stdout);
	pause();
	return 0;
}
C
close($src);
system('cc', '-o', "$tmp/reader", "$tmp/reader.c", '-llmdb') == 0
  or die 'could not build the LMDB reader';
my $reader_out = '';
my $reader = IPC::Run::start([ "$tmp/reader", $node->data_dir . '/neural_dag' ],
	'>', \$reader_out);
$reader->pump until $reader_out =~ /reading/;
$reader->signal('KILL');
$reader->finish;
like($session->query_safe(q{
		SELECT status || '|' || action || '|' || detail FROM ruvector_dag_heal()
		WHERE kind = 'stale_readers'}),
	qr/^repaired\|cleared when the check opened the store \(mdb_reader_check\)\|1 reader slots were held by processes that no longer exist$/,
	'a reader slot of a killed process is found and cleared');
is($session->query_safe(q{
		SELECT count(*) FROM ruvector_dag_heal() WHERE kind = 'stale_readers'}), '0',
	'and is gone at the next check');
$session->quit;

# ---------- ndag_healing: readable, deletable by the admin ----------
cmp_ok(sq('SELECT count(*) FROM ndag_healing'), '>', 10, 'ndag_healing shows the events');
is(sq(q{SELECT count(*) FROM ndag_healing WHERE status IS NULL OR at IS NULL
		OR ((status IN ('repaired', 'failed', 'skipped')) <> (duration_ms IS NOT NULL)
			AND action NOT LIKE 'cleared when the check opened the store%')}), '0',
	'every event has a status and a time, repairs a duration');
is(sql_state($node, 'SET ROLE heal_user; DELETE FROM ndag_healing'), '42501',
	'others may not delete events');
$node->safe_psql('postgres', 'DELETE FROM ndag_healing WHERE kind = \'invalid_index\'',
	extra_params => [ '-U', 'heal_admin' ]);
is(sq(q{SELECT count(*) FROM ndag_healing WHERE kind = 'invalid_index'}), '0',
	'the admin deletes events');

# ---------- events kept per database ----------
cmp_ok(sq('SELECT count(*) FROM ndag_healing'), '>', 3, 'more than 3 events so far');
$node->append_conf('postgresql.conf', "ruvector.dag_healing_max_events = 3\n");
$node->reload;
my $last = sq('SELECT max(event_id) FROM ndag_healing');
ok(wait_for(sub {
	sq('SELECT count(*) FROM ruvector_dag_heal()');
	sq('SELECT count(*) FROM ndag_healing') eq '3' }, 'events trimmed'),
	'a check keeps ruvector.dag_healing_max_events events');
cmp_ok(sq('SELECT min(event_id) FROM ndag_healing'), '>', $last - 3, 'the newest ones');
$node->append_conf('postgresql.conf', "ruvector.dag_healing_max_events = 10000\n");
$node->reload;

# ---------- the launcher runs the check periodically ----------
invalid_index('heal_p');
is(sq(q{SELECT count(*) FROM ndag_healing WHERE object = 'public.heal_p_id'}), '0',
	'no event before the periodic check');
$node->append_conf('postgresql.conf', "ruvector.dag_healing_check_interval = 1000\n");
$node->reload;
ok(wait_for(sub {
	sq(q{SELECT count(*) FROM ndag_healing WHERE kind = 'invalid_index'
		AND object = 'public.heal_p_id' AND status = 'recommended'}) > 0 },
	'a periodic event'),
	'the launcher records the invalid index');
is(indisvalid('heal_p_id'), 'f', 'and, auto repair being off, changes nothing');
like(sq(q{SELECT string_agg(backend_type, ',') FROM pg_stat_activity
		WHERE backend_type LIKE 'neural_dag healing%'}),
	qr/neural_dag healing launcher/, 'the launcher shows in pg_stat_activity');

$node->stop;
done_testing();
