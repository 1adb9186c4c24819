# Index metadata of the learned patterns: executions record the indexes
# their plans scan, a learning cycle maps each pattern to the indexes of its
# chosen arm's plans (ndag_index_meta, joinable with pg_class), and the
# self-healing check reports an index of that metadata that was rebuilt,
# became invalid or was dropped, once, lowering the confidence of the
# patterns that depend on it when auto repair is on.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# autovacuum would rewrite nothing, but keeps statistics moving
my $node = ndag_node('index_meta', "autovacuum = off\n");

# sq(SQL): one value
sub sq
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

# workload(N): N executions of an index lookup and of a sequential count
sub workload
{
	my ($n) = @_;
	sq(qq{
		SET enable_seqscan = off; SET enable_bitmapscan = off;
		DO \$\$
		BEGIN
			FOR i IN 1..$n LOOP
				PERFORM k FROM im WHERE id = i;
			END LOOP;
		END
		\$\$;
		RESET enable_seqscan; RESET enable_bitmapscan;
		DO \$\$
		BEGIN
			FOR i IN 1..$n LOOP
				PERFORM count(*) FROM im_other;
			END LOOP;
		END
		\$\$;
	});
}

# events(AUTO, KIND): the "status|object|detail|action" of the events of
# KIND a check produces, one a line
sub events
{
	my ($auto, $kind) = @_;
	return sq(qq{
		SET ruvector.dag_healing_auto_repair = $auto;
		SELECT string_agg(status || '|' || object || '|' || detail || '|' || action,
						  E'\\n' ORDER BY event_id)
		FROM ruvector_dag_heal() WHERE kind = '$kind';
	});
}

sq(q{
	CREATE TABLE im AS SELECT g AS id, g % 100 AS k FROM generate_series(1, 20000) g;
	CREATE INDEX im_id ON im (id);
	CREATE TABLE im_other AS SELECT g AS id FROM generate_series(1, 2000) g;
	ANALYZE im, im_other;
	SELECT ruvector_enable_neural_dag('im');
	SELECT ruvector_enable_neural_dag('im_other');
});

workload(40);
sq('SELECT ruvector_dag_flush()');
is(sq(q{SELECT count(*) FROM ndag_trajectories
		WHERE indexes = ARRAY['im_id'::regclass::oid]}), '40',
	'each index lookup records the index its plan scans');
is(sq(q{SELECT count(*) FROM ndag_trajectories
		WHERE relids = ARRAY['im_other'::regclass::oid] AND indexes = '{}'}), '40',
	'a sequential scan records none');

# ---------- a learning cycle fills ndag_index_meta ----------
sq('SELECT ruvector_dag_learn()');
my $pattern = sq(q{
	SELECT min(m.pattern_id) FROM ndag_index_meta m
	JOIN pg_class c ON c.oid = m.indexrelid WHERE c.relname = 'im_id'});
like($pattern, qr/^\d+$/, "ndag_index_meta maps a pattern to the index (pattern $pattern)");
is(sq(qq{
	SELECT m.arm = p.best_arm AND m.relid = 'im'::regclass
		AND m.index_name = 'public.im_id' AND m.valid
		AND m.relfilenode = pg_relation_filenode('im_id')
		AND m.recorded_at IS NOT NULL
	FROM ndag_index_meta m JOIN ndag_patterns p USING (pattern_id)
	WHERE m.pattern_id = $pattern}), 't',
	'under the best arm of that pattern, with the index as it is now');
is(sq(q{SELECT count(*) FROM ndag_index_meta WHERE indexrelid <> 'im_id'::regclass}), '0',
	'the pattern of the sequential scan uses no index');
is(sq(q{SELECT count(*) FROM ndag_patterns p WHERE NOT EXISTS
		(SELECT 1 FROM ndag_index_meta m WHERE m.pattern_id = p.pattern_id)}) > 0
	? 't' : 'f', 't', 'patterns whose plans use no index have no metadata');
is(sql_state($node, 'DELETE FROM ndag_index_meta'), '55000',
	'ndag_index_meta is read-only, even for a superuser');
is(events('on', 'pattern_index'), '', 'an unchanged index is not reported');

# confidence(): the confidence of the pattern
sub confidence
{
	return sq("SELECT confidence FROM ndag_patterns WHERE pattern_id = $pattern");
}

# ---------- rebuilt without auto repair: recommended, once ----------
my $conf = confidence();
cmp_ok($conf, '>', 0, "the pattern's confidence is $conf");
my $old_node = sq(q{SELECT pg_relation_filenode('im_id')});
sq('REINDEX INDEX im_id');
my $new_node = sq(q{SELECT pg_relation_filenode('im_id')});
isnt($new_node, $old_node, 'REINDEX gives the index a new relfilenode');
like(events('off', 'pattern_index'),
	qr/^recommended\|public\.im_id\|index public\.im_id was rebuilt: relfilenode $new_node, was $old_node; learned patterns whose chosen arm's plans use it: (?:.*, )?$pattern \(arm \d+\)[^|]*\|would run: halve the confidence of patterns /,
	'a rebuilt index is reported with its patterns, the confidence patch recommended');
is(confidence(), $conf, 'and without auto repair the confidence stays');
is(sq("SELECT relfilenode FROM ndag_index_meta WHERE pattern_id = $pattern"),
	$new_node, 'the metadata has the new relfilenode');
is(events('off', 'pattern_index'), '', 'so the rebuild is reported once');

# ---------- rebuilt with auto repair: the confidence is halved ----------
sq('REINDEX INDEX im_id');
like(events('on', 'pattern_index'),
	qr/^repaired\|public\.im_id\|index public\.im_id was rebuilt: .*\|confidence lowered until the next learning cycle: patterns (?:.*, )?$pattern \([0-9.]+ -> [0-9.]+\)/,
	'with auto repair the patterns lose confidence');
cmp_ok(abs(confidence() - $conf / 2), '<', 1e-9, 'the confidence is halved');
is(events('on', 'pattern_index'), '', 'once');

# ---------- invalid, then rebuilt by the check itself ----------
$conf = confidence();
sq(q{UPDATE pg_index SET indisvalid = false WHERE indexrelid = 'im_id'::regclass});
like(events('off', 'pattern_index'),
	qr/^recommended\|public\.im_id\|index public\.im_id is invalid \(pg_index\.indisvalid = false\);/,
	'an index that became invalid is reported');
is(confidence(), $conf, 'the confidence stays without auto repair');
is(sq("SELECT valid FROM ndag_index_meta WHERE pattern_id = $pattern"), 'f',
	'the metadata says the index is invalid');
is(events('off', 'pattern_index'), '', 'it is reported once');
like(sq(q{
		SET ruvector.dag_healing_auto_repair = on;
		SELECT string_agg(kind || '|' || status, ',' ORDER BY event_id)
		FROM ruvector_dag_heal() WHERE object = 'public.im_id'}),
	qr/^invalid_index\|repaired$/, 'the check rebuilds the invalid index');
is(sq(qq{SELECT valid AND relfilenode = pg_relation_filenode('im_id')
		FROM ndag_index_meta WHERE pattern_id = $pattern}), 't',
	'and notes its own rebuild in the metadata');
is(events('on', 'pattern_index'), '', 'which is not reported as a change');

# ---------- dropped ----------
$conf = confidence();
my $indexrelid = sq(q{SELECT 'im_id'::regclass::oid});
sq('DROP INDEX im_id');
like(events('on', 'pattern_index'),
	qr/^repaired\|public\.im_id\|index public\.im_id \(oid $indexrelid, relfilenode \d+\) was dropped;/,
	'a dropped index is reported by name');
cmp_ok(abs(confidence() - $conf / 2), '<', 1e-9, 'and its patterns lose confidence');
is(sq("SELECT count(*) FROM ndag_index_meta WHERE indexrelid = $indexrelid"), '0',
	'its metadata is gone');
is(events('on', 'pattern_index'), '', 'so it is reported once');

# ---------- a new cycle: the patterns of the dropped index's plans ----------
sq('CREATE INDEX im_id2 ON im (id)');
workload(40);
sq('SELECT ruvector_dag_flush()');
sq('SELECT ruvector_dag_learn()');
is(sq(q{SELECT count(*) > 0 FROM ndag_index_meta m JOIN pg_class c ON c.oid = m.indexrelid
		WHERE c.relname = 'im_id2'}), 't', 'the next cycle maps the new index');

# ---------- REINDEX CONCURRENTLY: a new index under the old name ----------
my $oid2 = sq(q{SELECT 'im_id2'::regclass::oid});
sq('REINDEX INDEX CONCURRENTLY im_id2');
my $oid3 = sq(q{SELECT 'im_id2'::regclass::oid});
isnt($oid3, $oid2, 'REINDEX CONCURRENTLY gives the index a new oid');
like(events('off', 'pattern_index'),
	qr/^recommended\|public\.im_id2\|index public\.im_id2 was rebuilt concurrently: oid $oid3, relfilenode \d+, were oid $oid2, relfilenode \d+;/,
	'is reported as a rebuild, not as a drop');
is(sq("SELECT count(*) FROM ndag_index_meta WHERE indexrelid = $oid2"), '0',
	'the metadata leaves the old index');
is(sq(qq{SELECT count(*) > 0 AND bool_and(relfilenode = pg_relation_filenode('im_id2'))
		FROM ndag_index_meta WHERE indexrelid = $oid3}), 't',
	'for the new one, with its relfilenode');
is(events('off', 'pattern_index'), '', 'once');

# ---------- the learner worker's cycles: filled in by the check ----------
# The worker connects to no database: its records get the catalog state at
# the next check, which reports nothing for them.
sq('CREATE INDEX im_k ON im (k)');
sq(q{
	SET enable_seqscan = off; SET enable_bitmapscan = off;
	DO $$
	BEGIN
		FOR i IN 1..40 LOOP
			PERFORM id FROM im WHERE k = i % 100;
		END LOOP;
	END
	$$;
});
sq('SELECT ruvector_dag_flush()');
$node->append_conf('postgresql.conf', "ruvector.dag_background_interval = 1000\n");
$node->reload;
ok(wait_for(sub {
	sq(q{SELECT count(*) FROM ndag_index_meta m JOIN pg_class c ON c.oid = m.indexrelid
		WHERE c.relname = 'im_k'}) > 0 }, 'the worker maps im_k'),
	"the learner worker's cycle maps the index");
is(sq(q{SELECT bool_and(m.relfilenode IS NULL) FROM ndag_index_meta m
		JOIN pg_class c ON c.oid = m.indexrelid WHERE c.relname = 'im_k'}), 't',
	'without its catalog state');
is(events('on', 'pattern_index'), '', 'the check reports nothing for it');
is(sq(q{SELECT bool_and(m.relfilenode = pg_relation_filenode('im_k'))
		FROM ndag_index_meta m JOIN pg_class c ON c.oid = m.indexrelid
		WHERE c.relname = 'im_k'}), 't', 'and fills the catalog state in');

$node->stop;
done_testing();
