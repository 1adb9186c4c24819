# Shadow exploration sizes itself by the CPUs the server may use
# (shadow_cpus in ruvector_dag_status(): its default budget, a quarter of
# them, and the rule that favors arms relieving a parallel plan with more
# processes than them), not the CPUs online: a server started with its CPU
# affinity limited to one CPU (taskset, as a cpuset or a container would)
# counts one, limited to two counts at most two, and otherwise at most the
# CPUs it may run on.  A control group's CPU quota (a container's CPU limit) is
# read the same way; changing one needs rights over the control groups that
# a test does not have.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

# the CPUs this process may run on (taskset -c list, e.g. "0-3,6"), expanded
my ($list) = `taskset -cp $$ 2>/dev/null` =~ /:\s*([0-9,-]+)\s*$/;
plan skip_all => 'taskset cannot read this process\'s CPU affinity' unless defined $list;
my @allowed = map { /^(\d+)-(\d+)$/ ? ($1 .. $2) : ($_) } split /,/, $list;
plan skip_all => 'this process may not change its CPU affinity'
  if system("taskset -cp $allowed[0] $$ >/dev/null 2>&1") != 0
  || system("taskset -cp $list $$ >/dev/null 2>&1") != 0;

chomp(my $online = `getconf _NPROCESSORS_ONLN`);
note("this process may run on CPUs $list of $online online");

my $node = ndag_node('shadow_cpus');
my $unlimited = ndag_status_counter($node, 'shadow_cpus');
note("CPUs online $online, the server counts $unlimited");
ok($unlimited >= 1 && $unlimited <= @allowed,
	'a server started without a new limit counts at least one CPU and at most those it may run on');

# cpus_with_affinity(CPUS): shadow_cpus of the server restarted with its
# processes' affinity limited to CPUS (taskset -c syntax)
sub cpus_with_affinity
{
	my ($cpus) = @_;
	$node->stop;
	system("taskset -cp $cpus $$ >/dev/null") == 0 or die "taskset -cp $cpus failed";
	$node->start;
	system("taskset -cp $list $$ >/dev/null") == 0 or die "restoring the affinity $list failed";
	return ndag_status_counter($node, 'shadow_cpus');
}

is(cpus_with_affinity($allowed[0]), 1, 'a server limited to one CPU counts one');
SKIP:
{
	skip 'one CPU allowed', 1 if @allowed < 2;
	my $two = $unlimited < 2 ? $unlimited : 2;
	is(cpus_with_affinity("$allowed[0],$allowed[1]"), $two, 'a server limited to two CPUs counts at most two');
}
$node->stop;
$node->start;
is(ndag_status_counter($node, 'shadow_cpus'), $unlimited, 'restarted without a limit it counts as before');

$node->stop;
done_testing();
