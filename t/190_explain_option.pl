# EXPLAIN's "Neural DAG" section and, on PostgreSQL 18, the EXPLAIN
# (NEURAL_DAG) option.
#
# On every version: without the option the section follows the plan of a
# statement on an enabled table explained from its query, in every format
# a member of the statement's own object (beside "Plan"), not for a table
# not enabled nor for EXPLAIN EXECUTE; with ANALYZE it shows the recording
# of the execution: the latency it shows is the one the trajectory keeps.
#
# On 18 (PostgreSQL's RegisterExtensionExplainOption and
# explain_per_plan_hook): NEURAL_DAG false removes the section (the output
# is PostgreSQL's own, the execution is still recorded), NEURAL_DAG and
# NEURAL_DAG true show it for any statement, also on a table not enabled
# and for EXPLAIN EXECUTE; a value that is not Boolean is refused with a
# hint; the section comes before "Execution Time".  On 15 the option does
# not exist: it is refused as an unrecognized EXPLAIN option (SQLSTATE
# 42601) and the session goes on.
use strict;
use warnings;
use JSON::PP;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('explain_option',
	"ruvector.dag_mode = 'observe'\nruvector.dag_sample_rate = 1\n");
my $pg18 = $node->safe_psql('postgres', 'SHOW server_version_num') >= 180000;

$node->safe_psql('postgres', q{
	CREATE TABLE eo_t (id int PRIMARY KEY, v int);
	INSERT INTO eo_t SELECT i, i % 7 FROM generate_series(1, 3000) i;
	CREATE TABLE eo_u AS SELECT i AS id FROM generate_series(1, 100) i;
	ANALYZE eo_t, eo_u;
	SELECT ruvector_enable_neural_dag('eo_t');
});
my $q = 'SELECT v, count(*) FROM eo_t WHERE id < 2000 GROUP BY v';
my $q_other = 'SELECT count(*) FROM eo_u';

# sql(SQL): the output of SQL in a new session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

# explain_of(OPTIONS, QUERY): EXPLAIN (OPTIONS) QUERY's output
sub explain_of
{
	my ($options, $query) = @_;
	return sql("EXPLAIN ($options) $query");
}

# plan_nodes(PLAN): the number of nodes of a JSON plan tree
sub plan_nodes
{
	my ($plan) = @_;
	my $n = 1;
	$n += plan_nodes($_) for @{ $plan->{Plans} // [] };
	return $n;
}

# structured_ok(FORMAT, OUTPUT, WHAT): the section is a member of the
# statement's object in OUTPUT of that format
sub structured_ok
{
	my ($format, $out, $what) = @_;
	if ($format eq 'JSON')
	{
		my $j = decode_json($out);
		ok( @$j == 1
			  && exists $j->[0]{Plan}
			  && ref($j->[0]{'Neural DAG'}) eq 'HASH'
			  && defined $j->[0]{'Neural DAG'}{Mode},
			"$what: JSON, one object with Plan and Neural DAG");
	}
	elsif ($format eq 'YAML')
	{
		like($out, qr/^- Plan: *\n.*\n  Neural DAG: *\n    Mode: "observe"/s,
			"$what: YAML, Neural DAG a member of the statement");
		unlike($out, qr/^- Neural DAG/m, "$what: YAML, no element of its own");
	}
	else
	{
		like($out,
			qr{^<explain [^>]*>\n  <Query>\n    <Plan>\n.*\n    </Plan>\n(    .*\n)*    <Neural-DAG>\n      <Mode>observe</Mode>\n(      .*\n)*    </Neural-DAG>\n(    .*\n)*  </Query>\n</explain>$}s,
			"$what: XML, Neural-DAG inside Query after Plan");
	}
	return;
}

# ---------- 1. without the option: as on every version ----------
my $text = explain_of('COSTS OFF', $q);
like($text, qr/^Neural DAG:\n  Mode: observe\n  Attention: \S+\n  Plan Nodes: \d+\n/m,
	'text: the section follows the plan of a statement on an enabled table');
unlike(explain_of('COSTS OFF', $q_other), qr/Neural DAG/,
	'text: no section for a table not enabled');
for my $format (qw(JSON YAML XML))
{
	structured_ok($format, explain_of("COSTS OFF, FORMAT $format", $q),
		'plain EXPLAIN');
	structured_ok($format,
		explain_of("ANALYZE, COSTS OFF, TIMING OFF, FORMAT $format", $q),
		'EXPLAIN ANALYZE');
}
my $execute = sql("PREPARE p AS $q; EXPLAIN (COSTS OFF) EXECUTE p;");
unlike($execute, qr/Neural DAG/, 'EXPLAIN EXECUTE: no section by default');

# ANALYZE: the recording's figures, the latency the trajectory keeps
# (learn mode: the plan is decided, so its latency is shown)
sql('SELECT ruvector_dag_flush()');
my $last = sql('SELECT coalesce(max(traj_id), 0) FROM ndag_trajectories');
my $j = decode_json(
	sql("SET ruvector.dag_mode = 'learn'; EXPLAIN (ANALYZE, FORMAT JSON) $q"));
my $section = $j->[0]{'Neural DAG'};
ok($section->{Recorded}, 'ANALYZE: the execution is recorded');
is($section->{'Plan Nodes'}, plan_nodes($j->[0]{Plan}),
	'ANALYZE: Plan Nodes counts the executed plan');
sql('SELECT ruvector_dag_flush()');
my $exec_ms = sql(
	"SELECT exec_us / 1000.0 FROM ndag_trajectories WHERE traj_id > $last ORDER BY traj_id DESC LIMIT 1");
ok( defined $section->{'Executed Latency'}
	  && $exec_ms ne ''
	  && abs($section->{'Executed Latency'} - $exec_ms) < 0.002,
	'ANALYZE: Executed Latency is the latency the trajectory keeps ('
	  . ($section->{'Executed Latency'} // 'none') . " ms, $exec_ms ms)");

# with SUMMARY, where the section stands against Execution Time
$text = explain_of('ANALYZE, COSTS OFF, TIMING OFF', $q);
if ($pg18)
{
	like($text, qr/\nNeural DAG:\n(  .*\n)+Execution Time: /,
		'18: the section comes before Execution Time');
}
else
{
	like($text, qr/\nExecution Time: .*\nNeural DAG:\n/,
		'15: the section comes after Execution Time');
}

if (!$pg18)
{
	# ---------- 2. PostgreSQL 15: the option does not exist ----------
	my ($ret, $out, $err) = $node->psql('postgres',
		"\\set VERBOSITY verbose\nEXPLAIN (NEURAL_DAG) $q");
	like($err, qr/ERROR:  42601: unrecognized EXPLAIN option "neural_dag"/,
		'15: EXPLAIN (NEURAL_DAG) is refused as an unrecognized option');
	is(sql('SELECT 1'), '1', '15: the server goes on');
	done_testing();
	exit;
}

# ---------- 2. PostgreSQL 18: NEURAL_DAG false ----------
my $stock = explain_of('COSTS OFF', $q);
$stock =~ s/\nNeural DAG:\n.*//s;
is(explain_of('COSTS OFF, NEURAL_DAG false', $q), $stock,
	'NEURAL_DAG false: the output is the plan alone');
for my $format (qw(JSON YAML XML))
{
	unlike(explain_of("COSTS OFF, NEURAL_DAG false, FORMAT $format", $q),
		qr/Neural[ -]DAG/, "NEURAL_DAG false: no section in $format");
}
my $recorded = ndag_status_counter($node, 'recorded');
$text = explain_of('ANALYZE, COSTS OFF, TIMING OFF, NEURAL_DAG off', $q);
unlike($text, qr/Neural DAG/, 'NEURAL_DAG off with ANALYZE: no section');
cmp_ok(ndag_status_counter($node, 'recorded'), '>', $recorded,
	'NEURAL_DAG off with ANALYZE: the execution is still recorded');

# ---------- 3. NEURAL_DAG, NEURAL_DAG true: any statement ----------
like(explain_of('COSTS OFF, NEURAL_DAG', $q), qr/^Neural DAG:\n  Mode: observe\n/m,
	'NEURAL_DAG: the section on an enabled table');
like(explain_of('COSTS OFF, NEURAL_DAG true', $q_other),
	qr/^Neural DAG:\n  Mode: observe\n(  .*\n)*  Decision: default plan$/m,
	'NEURAL_DAG true: the section on a table not enabled');
structured_ok('JSON', explain_of('COSTS OFF, NEURAL_DAG on, FORMAT JSON', $q_other),
	'NEURAL_DAG on, table not enabled');
$execute = sql("PREPARE p AS $q; EXPLAIN (COSTS OFF, NEURAL_DAG) EXECUTE p;");
like($execute, qr/^Neural DAG:\n  Mode: observe\n/m,
	'NEURAL_DAG: the section for EXPLAIN EXECUTE');
$execute = sql(
	"PREPARE p AS $q; EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, NEURAL_DAG, FORMAT JSON) EXECUTE p;"
);
$j = decode_json($execute);
ok($j->[0]{'Neural DAG'}{Recorded},
	'NEURAL_DAG with EXPLAIN ANALYZE EXECUTE: the execution is recorded');

# ---------- 4. a value that is not Boolean ----------
my ($ret, $out, $err) = $node->psql('postgres',
	"\\set VERBOSITY verbose\nEXPLAIN (NEURAL_DAG 'maybe') $q");
like($err,
	qr/ERROR:  22023: EXPLAIN option NEURAL_DAG requires a Boolean value.*HINT:  Write NEURAL_DAG, NEURAL_DAG true or NEURAL_DAG false\./s,
	'NEURAL_DAG maybe: refused with a hint');
is(sql('SELECT 1'), '1', 'the server goes on');

done_testing();
