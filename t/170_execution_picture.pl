# ruvector_dag_visualize(traj_id | query_id, format) of a recorded
# execution: the default plan and the arm's plan side by side (two dot
# clusters, two Mermaid subgraphs, two JSON objects), each node with its
# estimated and actual rows per loop, loops and self time as the store
# holds them, the misestimated nodes (10x either way) marked, the node with
# the largest self time highlighted; the other side is the latest recorded
# execution of the same query_id that ran the other way, and the picture
# says when that was not recorded.  The dot output renders with Graphviz,
# the Mermaid output is structurally valid; only readers of
# ndag_trajectories may draw it.
use strict;
use warnings;
use IPC::Run;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# every recording keeps its plan (ndag_node) and is timed node by node
my $node = ndag_node('execution_picture', "ruvector.dag_timing_sample_rate = 1\n");

# sql(SQL): the output of SQL in one session
sub sql
{
	return $node->safe_psql('postgres', shift);
}

sql(ndag_join_tables_sql('vp') . ndag_run_function_sql('vp'));
my ($q) = ndag_join_queries('vp');

# the statement runs by default and, explored inline, under arms
my $explore = ndag_explore_settings();
my $qid;
wait_for(
	sub {
		sql("$explore SELECT vp_run('$q', 2)");
		sql('SELECT ruvector_dag_flush()');
		$qid = sql('SELECT query_id FROM ndag_trajectories WHERE arm <> 0 LIMIT 1');
		return $qid ne ''
		  && sql("SELECT count(*) FROM ndag_trajectories WHERE query_id = $qid AND arm = 0") > 0;
	},
	'executions of the join both by default and under an arm');
isnt($qid, '', 'the join was recorded under an arm and by default');

# the latest executions: of the query, under an arm, by default
sub latest
{
	my ($cond) = @_;
	return sql("SELECT max(traj_id) FROM ndag_trajectories WHERE query_id = $qid$cond");
}

# the query_id form draws the latest execution: make it an arm's by
# forgetting the executions after the latest one under an arm
my $arm_traj = latest(' AND arm <> 0');
sql("DELETE FROM ndag_trajectories WHERE query_id = $qid AND traj_id > $arm_traj");
my $arm_id = sql("SELECT arm FROM ndag_trajectories WHERE traj_id = $arm_traj");
my $arm_name = sql("SELECT name FROM ndag_arms WHERE arm_id = $arm_id");
my $default_traj = latest(' AND arm = 0');

# ---------- node facts from the store, to compare the pictures with ----------

# facts(TRAJ): node id -> {est, actual, loops, self, parents, mis} as the
# store holds them, misestimate computed independently in SQL
sub facts
{
	my ($traj) = @_;
	my %f;
	for my $row (split /\n/, sql(qq{
		SELECT node_id, est_rows, coalesce(actual_rows::text, 'null'),
			coalesce(loops::text, 'null'), coalesce(self_ms::text, 'null'),
			coalesce(array_to_string(parent_ids, ','), ''),
			coalesce(greatest(actual_rows, 1) / greatest(est_rows, 1) >= 10
				  OR greatest(est_rows, 1) / greatest(actual_rows, 1) >= 10, false)
		FROM ndag_attention WHERE traj_id = $traj ORDER BY node_id}))
	{
		my ($id, $est, $actual, $loops, $self, $parents, $mis) = split /\|/, $row;
		$f{$id} = {est => $est, actual => $actual, loops => $loops, self => $self,
			parents => $parents, mis => $mis eq 't'};
	}
	return \%f;
}

# bottleneck(TRAJ): the node with the largest self time
sub bottleneck
{
	my ($traj) = @_;
	return sql("SELECT node_id FROM ndag_attention WHERE traj_id = $traj AND self_ms IS NOT NULL "
		  . 'ORDER BY self_ms DESC, node_id LIMIT 1');
}

# dot_cluster(DOT, ROLE): {title, nodes => {id => {label, attrs}}, edges => [...]}
sub dot_cluster
{
	my ($dot, $role) = @_;
	my ($body) = $dot =~ /^  subgraph cluster_$role \{\n(.*?)^  \}\n/ms or return undef;
	my %c = (nodes => {}, edges => []);
	($c{title}) = $body =~ /^    label="(.*)";$/m;
	while ($body =~ /^    [da](\d+) \[label="((?:[^"\\]|\\.)*)"(.*)\];$/mg)
	{
		$c{nodes}{$1} = {label => $2, attrs => $3};
	}
	while ($body =~ /^    [da](\d+) -> [da](\d+);$/mg)
	{
		push @{ $c{edges} }, "$1>$2";
	}
	return \%c;
}

# check_side(CLUSTER, TRAJ, WHAT): the nodes of a picture's side are those
# of the execution, with its numbers, marks and edges
sub check_side
{
	my ($c, $traj, $what) = @_;
	my $f = facts($traj);
	is_deeply([ sort { $a <=> $b } keys %{ $c->{nodes} } ],
		[ sort { $a <=> $b } keys %$f ], "$what: every recorded node is drawn");
	my ($bad, $mis_drawn, $mis_expected, @edges) = (0, 0, 0);
	for my $id (keys %$f)
	{
		my $n = $c->{nodes}{$id} or next;
		my $want = sprintf('rows est %.0f / ', $f->{$id}{est})
		  . ($f->{$id}{actual} eq 'null' ? 'never executed'
			: sprintf('actual %.0f\nloops %.0f, ', $f->{$id}{actual}, $f->{$id}{loops})
			  . ($f->{$id}{self} eq 'null' ? 'self time not timed'
				  : sprintf('self %.3f ms', $f->{$id}{self})));
		$bad++, diag("$what: node $id: $n->{label} lacks $want")
		  unless index($n->{label}, $want) >= 0;
		my $drawn = $n->{attrs} =~ /color="#d62728", penwidth=3/ ? 1 : 0;
		$drawn == ($n->{label} =~ /MISESTIMATE \d+x (under|over)/ ? 1 : 0) or $bad++;
		$mis_drawn += $drawn;
		$mis_expected++ if $f->{$id}{mis};
		$bad++, diag("$what: node $id misestimate mark wrong")
		  unless $drawn == ($f->{$id}{mis} ? 1 : 0);
		push @edges, map { "$id>$_" } split /,/, $f->{$id}{parents};
	}
	is($bad, 0, "$what: estimated and actual rows, loops and self time as recorded");
	is($mis_drawn, $mis_expected, "$what: $mis_expected misestimated nodes marked");
	is_deeply([ sort @{ $c->{edges} } ], [ sort @edges ], "$what: edges from input to consumer");
	my $b = bottleneck($traj);
	my @amber = grep { $c->{nodes}{$_}{attrs} =~ /fillcolor="#ffbf00"/ } keys %{ $c->{nodes} };
	is_deeply(\@amber, [$b], "$what: the node with the largest self time is highlighted");
	like($c->{nodes}{$b}{label}, qr/BOTTLENECK: largest self time/, "$what: and labelled");
	return $mis_expected;
}

# renders(DOT, WHAT): dot -Tsvg accepts it
sub renders
{
	my ($dot, $what) = @_;
  SKIP:
	{
		skip 'graphviz is not installed (scripts/lib.sh installs it): dot output not rendered', 1
		  unless system('command -v dot >/dev/null 2>&1') == 0;
		my ($svg, $err) = ('', '');
		my $ok = IPC::Run::run([ 'dot', '-Tsvg' ], '<', \$dot, '>', \$svg, '2>', \$err);
		ok($ok && $svg =~ /<svg/ && $err eq '', "$what: dot -Tsvg renders it") or diag($err);
	}
}

# mermaid_valid(TEXT, SUBGRAPHS, WHAT): flowchart header, SUBGRAPHS
# subgraphs each closed by end, node ids valid and every edge and class
# between defined nodes; returns the class lines
sub mermaid_valid
{
	my ($m, $subgraphs, $what) = @_;
	my @lines = split /\n/, $m;
	is($lines[0], 'flowchart BT', "$what: a flowchart header");
	my ($depth, $bad, $opened, %ids, @refs, %classes) = (0, 0, 0);
	for my $l (@lines[ 1 .. $#lines ])
	{
		if ($l =~ /^\s*subgraph (\w+)\["([^"]*)"\]$/) { $depth++; $opened++; $bad++ if $depth > 1; }
		elsif ($l =~ /^\s*end$/) { $depth--; $bad++ if $depth < 0; }
		elsif ($l =~ /^\s*([A-Za-z][A-Za-z0-9_]*)\["([^"]*)"\]$/) { $ids{$1}++; }
		elsif ($l =~ /^\s*([A-Za-z][A-Za-z0-9_]*) --> ([A-Za-z][A-Za-z0-9_]*)$/) { push @refs, $1, $2; }
		elsif ($l =~ /^\s*class ([A-Za-z][A-Za-z0-9_]*) (misestimate|bottleneck)$/)
		{
			push @refs, $1;
			$classes{"$1 $2"} = 1;
		}
		elsif ($l =~ /^\s*(%%.*|classDef \w+ [^"]+)$/) { }
		else { $bad++; diag("$what: unexpected line: $l"); }
	}
	is($depth, 0, "$what: every subgraph is closed by end");
	is($opened, $subgraphs, "$what: $subgraphs subgraphs");
	is($bad, 0, "$what: every line is a valid statement");
	is(scalar(grep { $_ > 1 } values %ids), 0, "$what: node ids are unique");
	is(scalar(grep { !$ids{$_} } @refs), 0, "$what: edges and classes name defined nodes");
	return \%classes;
}

# dot_marks(CLUSTER, PREFIX): the marks of a dot cluster as Mermaid class lines
sub dot_marks
{
	my ($c, $p) = @_;
	my %m;
	for my $id (keys %{ $c->{nodes} })
	{
		$m{"$p$id misestimate"} = 1 if $c->{nodes}{$id}{attrs} =~ /penwidth=3/;
		$m{"$p$id bottleneck"} = 1 if $c->{nodes}{$id}{attrs} =~ /#ffbf00/;
	}
	return \%m;
}

# ---------- 1. by query_id: its latest execution, an arm's, beside the default ----------
my $dot = sql("SELECT ruvector_dag_visualize(query_id => $qid)");
like($dot, qr/\Adigraph execution \{\n/, 'dot: a digraph');
is(scalar(() = $dot =~ /subgraph cluster_/g), 2, 'dot: two clusters');
my $def = dot_cluster($dot, 'default');
my $arm = dot_cluster($dot, 'arm');
like($def->{title}, qr/^default plan, decision \w+: traj $default_traj, .* ms \(the latest recorded default-plan execution of this query_id\)$/,
	'dot: the default side is the latest default execution, and says so');
like($arm->{title}, qr/^arm $arm_id \(\Q$arm_name\E\), decision \w+: traj $arm_traj, /,
	'dot: the arm side is the latest execution, with its arm named');
cmp_ok(check_side($def, $default_traj, 'default side'), '>', 0,
	'the default plan of the join has a misestimate to mark');
check_side($arm, $arm_traj, 'arm side');
renders($dot, 'the side-by-side picture');

# ---------- 2. Mermaid of the same, by traj_id ----------
my $mermaid = sql("SELECT ruvector_dag_visualize($arm_traj, format => 'mermaid')");
my $classes = mermaid_valid($mermaid, 2, 'mermaid');
like($mermaid, qr/^  subgraph default_plan\["default plan, .*traj $default_traj, /m,
	'mermaid: the default plan as one subgraph');
like($mermaid, qr/^  subgraph arm_plan\["arm $arm_id .*traj $arm_traj, /m,
	'mermaid: the arm plan as the other');
is_deeply($classes, { %{ dot_marks($def, 'd') }, %{ dot_marks($arm, 'a') } },
	'mermaid: the same misestimates and bottlenecks as dot');
like($mermaid, qr/^  classDef misestimate .*\n  classDef bottleneck /m, 'mermaid: the mark classes are defined');

# ---------- 3. JSON ----------
is(sql("SELECT string_agg(p->>'role' || ':' || (p->>'traj_id'), ',') "
	  . "FROM jsonb_array_elements(ruvector_dag_visualize($arm_traj, NULL, 'json')::jsonb->'plans') p"),
	"default:$default_traj,arm:$arm_traj", 'json: the default plan, then the arm plan');

# ---------- 4. a default execution is paired with the latest arm execution ----------
my $old_default = sql("SELECT min(traj_id) FROM ndag_trajectories WHERE query_id = $qid AND arm = 0");
$dot = sql("SELECT ruvector_dag_visualize(traj_id => $old_default)");
like(dot_cluster($dot, 'default')->{title}, qr/traj $old_default, .* ms$/,
	'a default execution is drawn as asked');
like(dot_cluster($dot, 'arm')->{title},
	qr/traj $arm_traj, .*\(the latest recorded execution of this query_id under an arm\)$/,
	'beside the latest execution under an arm');

# ---------- 5. the text form still plans a query ----------
like(sql("SELECT ruvector_dag_visualize('$q', 'auto', 'dot')"), qr/\Adigraph plan \{/,
	'ruvector_dag_visualize(query text, ...) still draws a query plan');

# ---------- 6. errors and privileges ----------
is(sql_state($node, 'SELECT ruvector_dag_visualize()'), '22023', 'neither traj_id nor query_id: error');
is(sql_state($node, "SELECT ruvector_dag_visualize($arm_traj, $qid)"), '22023', 'both: error');
is(sql_state($node, 'SELECT ruvector_dag_visualize(traj_id => -1)'), 'P0002', 'an unknown traj_id: no data found');
is(sql_state($node, 'SELECT ruvector_dag_visualize(query_id => 42)'), 'P0002', 'an unknown query_id: no data found');
is(sql_state($node, "SELECT ruvector_dag_visualize($arm_traj, format => 'png')"), '22023', 'an unknown format: error');
sql('CREATE ROLE picture_reader LOGIN; CREATE ROLE picture_plain LOGIN');
sql('GRANT pg_read_all_stats TO picture_reader');
is(sql_state($node, "SET ROLE picture_plain; SELECT ruvector_dag_visualize($arm_traj)"), '42501',
	'a role that may not read other users\' statements may not draw them');
is(sql_state($node, "SET ROLE picture_reader; SELECT ruvector_dag_visualize($arm_traj)"), '',
	'pg_read_all_stats may');

# ---------- 7. the default plan not recorded: the one plan, and a note ----------
sql("DELETE FROM ndag_trajectories WHERE query_id = $qid AND arm = 0");
$dot = sql("SELECT ruvector_dag_visualize(query_id => $qid)");
is(scalar(() = $dot =~ /subgraph cluster_/g), 1, 'without a default execution: one cluster');
ok(dot_cluster($dot, 'arm'), 'the arm plan');
like($dot, qr/^  missing \[shape=note, label="the default plan was not recorded: /m,
	'and a note that the default plan was not recorded');
renders($dot, 'the one-plan picture');
$mermaid = sql("SELECT ruvector_dag_visualize(query_id => $qid, format => 'mermaid')");
mermaid_valid($mermaid, 1, 'mermaid, one plan');
like($mermaid, qr/^  missing\["the default plan was not recorded: /m, 'mermaid: the same note');

$node->stop;
done_testing();
