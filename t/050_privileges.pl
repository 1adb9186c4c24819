# The healer and the extension's SQL functions call no object a database
# owner or a role with CREATE on schema public planted, and nobody gains a
# privilege through them:
#   A: a non-superuser database owner sets the database's search_path to
#      "public, pg_catalog" and plants functions and operators in public;
#   B: default search_path, a role with CREATE on public plants functions
#      that win over pg_catalog's by a better argument match;
#   C: a superuser calls ruvector_dag_heal() (and ruvector_dag_patterns())
#      in such databases.
# The periodic check runs as the database owner, and ruvector_dag_heal() is
# for the database owner, neural_dag_admin and superusers only.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# the periodic check is switched on only once everything is planted
my $node = ndag_node('privileges',
	"autovacuum = off\n"
	  . "ruvector.dag_healing_enabled = off\n"
	  . "ruvector.dag_healing_scope = all\n");

# qv(DB, SQL, USER): one value, as USER (default the bootstrap superuser)
sub qv
{
	my ($db, $sql, $user) = @_;
	return $node->safe_psql($db, $sql,
		$user ? (extra_params => [ '-U', $user ]) : ());
}

# state_in(DB, USER, SQL): the SQLSTATE of SQL as USER in DB, '' on success
sub state_in
{
	my ($db, $user, $sql) = @_;
	my ($stdout, $stderr);
	$node->psql($db, "\\set VERBOSITY verbose\n$sql",
		stdout => \$stdout, stderr => \$stderr,
		extra_params => [ '-U', $user ]);
	return $stderr =~ /ERROR:\s+([0-9A-Z]{5}):/ ? $1 : '';
}

qv('postgres', q{
	CREATE ROLE dbowner LOGIN;
	CREATE ROLE planter LOGIN;
	CREATE ROLE plain_user LOGIN;
	CREATE ROLE heal_admin LOGIN IN ROLE neural_dag_admin;
	CREATE DATABASE owned OWNER dbowner;
	CREATE DATABASE plain;
	CREATE ROLE group_owner NOLOGIN;
	CREATE DATABASE grouped OWNER group_owner;
});
qv($_, 'CREATE EXTENSION neural_dag') for qw(owned plain grouped);

# victim tables: an invalid index (a failed CREATE UNIQUE INDEX CONCURRENTLY
# over a duplicate), a plain index, rows modified since the last ANALYZE
sub victim
{
	my ($db, $table, $user) = @_;
	qv($db, qq{
		CREATE TABLE $table (id int, v int);
		INSERT INTO $table SELECT g, g FROM generate_series(1, 1000) g;
		INSERT INTO $table VALUES (7, 7);
		CREATE INDEX ${table}_v ON $table (v);
	}, $user);
	my ($ret, $out, $err) = $node->psql($db,
		"CREATE UNIQUE INDEX CONCURRENTLY ${table}_id ON $table (id)",
		extra_params => [ '-U', $user ]);
	like($err, qr/could not create unique index/,
		"$db: $table gets an invalid index");
	return;
}
victim('owned', 'victim', 'dbowner');
victim('plain', 'victim', 'postgres');
# a table of the superuser in the owner's database whose invalid index a
# REINDEX would repair, if the periodic check ran as a superuser
victim('owned', 'su_table', 'postgres');
qv('owned', q{DELETE FROM su_table WHERE id = 7 AND ctid <> (SELECT min(ctid) FROM su_table WHERE id = 7)});

# learned patterns on the victim table, for ruvector_dag_patterns() to show
qv('owned', q{
	SET ruvector.dag_mode = 'observe';
	SET ruvector.dag_sample_rate = 1.0;
	SELECT ruvector_enable_neural_dag('victim');
	DO $$
	BEGIN
		FOR i IN 1..60 LOOP
			PERFORM count(*) FROM victim WHERE v < i;
		END LOOP;
	END
	$$;
	SELECT ruvector_dag_learn();
});
cmp_ok(qv('owned', q{SELECT count(*) FROM ruvector_dag_patterns('victim')}), '>', 0,
	'the owner\'s database has learned patterns on the victim table');

# plant(DB, USER, VICTIM_ROLE, FUNCTIONS, OPERATORS): as USER, a table that
# records every call (anyone may insert) and the planted objects; each
# records its name, the calling role and whether it is a superuser (once
# per backend), then tries to make VICTIM_ROLE a superuser
sub plant
{
	my ($db, $user, $victim, $functions, $operators) = @_;
	my $sql = qq{
		CREATE TABLE public.planted_calls (what text, by_role name,
			is_superuser text, app text);
		GRANT INSERT ON public.planted_calls TO PUBLIC;
		CREATE FUNCTION public.planted_record(what text) RETURNS void
		LANGUAGE plpgsql AS \$body\$
		BEGIN
			IF pg_catalog.current_setting('planted.' || what, true)
				IS DISTINCT FROM 'seen' THEN
				PERFORM pg_catalog.set_config('planted.' || what, 'seen', false);
				INSERT INTO public.planted_calls VALUES (what,
					current_user, pg_catalog.current_setting('is_superuser'),
					pg_catalog.current_setting('application_name'));
			END IF;
			IF pg_catalog.current_setting('is_superuser') = 'on' THEN
				EXECUTE 'ALTER ROLE $victim SUPERUSER';
			END IF;
		END
		\$body\$;
	};
	foreach my $f (@$functions)
	{
		my ($name, $args, $ret, $body) = @$f;
		$sql .= qq{
			CREATE FUNCTION public.$name($args) RETURNS $ret
			LANGUAGE plpgsql AS \$body\$
			BEGIN
				PERFORM public.planted_record('$name');
				RETURN $body;
			END
			\$body\$;
		};
	}
	foreach my $o (@$operators)
	{
		my ($op, $left, $right, $func) = @$o;
		$sql .= "CREATE OPERATOR public.$op (LEFTARG = $left, RIGHTARG = $right, FUNCTION = public.$func);\n";
	}
	qv($db, $sql, $user);
	return;
}

my @functions_a = (
	[ 'format', 'text, name, name', 'text', 'pg_catalog.format($1, $2, $3)' ],
	[ 'pg_stat_get_numscans', 'oid', 'bigint', 'pg_catalog.pg_stat_get_numscans($1)' ],
	[ 'quote_ident', 'text', 'text', 'pg_catalog.quote_ident($1)' ],
	[ 'split_part', 'text, text, integer', 'text', 'pg_catalog.split_part($1, $2, $3)' ],
	[ 'current_database', '', 'name', 'pg_catalog.current_database()' ],
	[ 'planted_oideq', 'oid, oid', 'boolean', '$1 OPERATOR(pg_catalog.=) $2' ],
	[ 'planted_int8gtfloat8', 'bigint, double precision', 'boolean',
		'$1::pg_catalog.float8 OPERATOR(pg_catalog.>) $2' ],
);
my @operators = (
	[ '=', 'oid', 'oid', 'planted_oideq' ],
	[ '>', 'bigint', 'double precision', 'planted_int8gtfloat8' ],
);

# ---------- A: the owner's database, search_path = public, pg_catalog ----------
plant('owned', 'dbowner', 'dbowner', \@functions_a, \@operators);
# a set-returning function, planted on its own
qv('owned', q{
	CREATE FUNCTION public.pg_partition_ancestors(oid)
	RETURNS TABLE (relid regclass)
	LANGUAGE plpgsql AS $body$
	BEGIN
		PERFORM public.planted_record('pg_partition_ancestors');
		RETURN QUERY SELECT a.relid FROM pg_catalog.pg_partition_ancestors($1) a;
	END
	$body$;
	ALTER DATABASE owned SET search_path = public, pg_catalog;
}, 'dbowner');

# the planted objects are live: a session with the database's search_path
# calls them (these calls are recorded as the probe's)
qv('owned', q{
	SET application_name = 'probe';
	SELECT format('%I.%I', 'a'::name, 'b'::name), pg_stat_get_numscans(0::oid),
		0::oid = 0::oid;
}, 'dbowner');
is(qv('owned', q{SELECT string_agg(what, ',' ORDER BY what) FROM planted_calls}),
	'format,pg_stat_get_numscans,planted_oideq',
	'A: the planted function and operator win in the owner\'s database');

# ---------- B: default search_path, CREATE on public for another role ----------
qv('plain', 'GRANT CREATE ON SCHEMA public TO planter');
plant('plain', 'planter', 'planter',
	[ grep { $_->[0] =~ /^(format|planted_int8gtfloat8)$/ } @functions_a ],
	[ grep { $_->[0] eq '>' } @operators ]);
qv('plain', q{
	SET application_name = 'probe';
	SELECT format('%I.%I', 'a'::name, 'b'::name), 1::bigint > 0.5::float8;
}, 'plain_user');
is(qv('plain', q{SELECT string_agg(what, ',' ORDER BY what) FROM planted_calls}),
	'format,planted_int8gtfloat8',
	'B: the planted format() and > win over pg_catalog\'s with the default search_path');

# calls(DB): the calls of planted objects other than the probes'
sub calls
{
	my ($db) = @_;
	return qv($db, q{SELECT coalesce(string_agg(what || ' by ' || by_role
			|| ' (superuser ' || is_superuser || ', ' || app || ')', '; '), '')
		FROM planted_calls WHERE app IS DISTINCT FROM 'probe'});
}

# no_escalation(WHAT): nobody called a planted object and nobody but the
# bootstrap superuser is a superuser
sub no_escalation
{
	my ($what) = @_;
	is(calls('owned'), '', "$what: no planted object is called in the owner's database");
	is(calls('plain'), '', "$what: no planted object is called in the database with CREATE on public");
	is(qv('postgres', q{SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles
			WHERE rolsuper AND rolname IN ('dbowner', 'planter', 'plain_user', 'heal_admin')}),
		'', "$what: no role became a superuser");
	return;
}

# ---------- who may call ruvector_dag_heal() ----------
is(state_in('postgres', 'plain_user', 'SELECT count(*) FROM ruvector_dag_heal()'),
	'42501', 'a plain login role may not run a check');
my ($ret, $out, $err) = $node->psql('postgres', 'SELECT * FROM ruvector_dag_heal()',
	extra_params => [ '-U', 'plain_user' ]);
like($err, qr/HINT:.*database owner.*neural_dag_admin/,
	'the hint says who may');
is(state_in('owned', 'dbowner', 'SELECT count(*) FROM ruvector_dag_heal()'),
	'', 'the database owner may run a check of the database');
is(state_in('plain', 'dbowner', 'SELECT count(*) FROM ruvector_dag_heal()'),
	'42501', 'but not of another database');
is(state_in('postgres', 'heal_admin', 'SELECT count(*) FROM ruvector_dag_heal()'),
	'', 'a member of neural_dag_admin may');
no_escalation('checks by the owner and the admin');

# ---------- C: a superuser's check and SQL functions in those databases ----------
for my $db (qw(owned plain))
{
	cmp_ok(qv($db, q{SELECT count(*) FROM ruvector_dag_heal()
			WHERE kind = 'invalid_index' AND object = 'public.victim_id'}),
		'>', 0, "C: a superuser's check in $db finds the invalid index");
	qv($db, q{SELECT count(*) FROM ruvector_dag_patterns('victim');
		SELECT count(*) FROM ruvector_attention_topological('SELECT 1')});
}
no_escalation('C: a superuser\'s check and SQL functions');

# ---------- A and B: the periodic check ----------
my %last = map { $_ => qv($_, 'SELECT coalesce(max(event_id), 0) FROM ndag_healing') }
  qw(owned plain);
$node->append_conf('postgresql.conf',
	"ruvector.dag_healing_enabled = on\n"
	  . "ruvector.dag_healing_check_interval = 1000\n"
	  . "ruvector.dag_healing_auto_repair = on\n");
$node->reload;
ok( wait_for(
		sub {
			qv('owned', qq{SELECT count(*) FROM ndag_healing
				WHERE event_id > $last{owned} AND object = 'public.su_table_id'}) > 0;
		},
		'a periodic check of database owned'),
	'a periodic check ran in the owner\'s database');
ok( wait_for(
		sub {
			qv('plain', qq{SELECT count(*) FROM ndag_healing
				WHERE event_id > $last{plain} AND object = 'public.victim_id'}) > 0;
		},
		'a periodic check of database plain'),
	'a periodic check ran in the database with CREATE on public');
no_escalation('A and B: the periodic check');

# (PostgreSQL 18 words the refusal "permission denied for index")
like(qv('owned', qq{SELECT status || '|' || action FROM ndag_healing
		WHERE event_id > $last{owned} AND object = 'public.su_table_id'
		ORDER BY event_id LIMIT 1}),
	qr/^failed\|REINDEX INDEX CONCURRENTLY public\.su_table_id failed: (?:must be owner of|permission denied for) index su_table_id \(SQLSTATE 42501\)$/,
	'the periodic check runs as the database owner: a superuser\'s index is not rebuilt');
# every check ran its detectors to the end (a failed one would have rolled
# back what a planted object recorded)
is(qv($_, q{SELECT count(*) FROM ndag_healing WHERE kind = 'check'}), '0',
	"no check of database $_ stopped on an error") for qw(owned plain);

# a database whose owner may not log in is not checked as anyone else
ok( wait_for(
		sub {
			qv('grouped', q{SELECT count(*) FROM ndag_healing
				WHERE kind = 'check' AND status = 'skipped'}) > 0;
		},
		'a periodic check of database grouped'),
	'the periodic check of a database whose owner may not log in is skipped');
like(qv('grouped', q{SELECT detail FROM ndag_healing WHERE kind = 'check' LIMIT 1}),
	qr/runs as the database owner, and role "group_owner" may not log in/,
	'and the event says why');

# (oid = oid would be the planted operator in this database)
is(qv('owned', q{SET search_path = pg_catalog;
		SELECT indisvalid FROM pg_index WHERE indexrelid = 'public.su_table_id'::regclass}),
	'f', 'and stays invalid');

$node->stop;
done_testing();
