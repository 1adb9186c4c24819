# Shadow exploration sizes itself by the CPUs the server may use
# (shadow_cpus in ruvector_dag_status(): its default budget, a quarter of
# them, and the rule that favors arms relieving a parallel plan with more
# processes than them), not the CPUs online: a server started with its CPU
# affinity limited to one CPU (taskset, as a cpuset or a container would)
# counts one, limited to two counts at most two, and unlimited at most the
# CPUs online.  A control group's CPU quota (a container's CPU limit) is
# read the same way; changing one needs rights over the control groups that
# a test does not have.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

plan skip_all => 'taskset is not installed' if system('taskset -p $$ >/dev/null 2>&1') != 0;

chomp(my $online = `getconf _NPROCESSORS_ONLN`);
my ($mask) = `taskset -p $$` =~ /:\s*([0-9a-f,]+)\s*$/;
ok(defined $mask, "this process's affinity mask: " . ($mask // 'unknown'));

my $node = ndag_node('shadow_cpus');
my $unlimited = ndag_status_counter($node, 'shadow_cpus');
note("CPUs online $online, the server counts $unlimited");
ok($unlimited >= 1 && $unlimited <= $online, 'an unlimited server counts at least one CPU and at most those online');

# cpus_with_affinity(LIST): shadow_cpus of the server restarted with its
# processes' affinity limited to the CPUs in LIST (taskset -c syntax)
sub cpus_with_affinity
{
	my ($list) = @_;
	$node->stop;
	system('taskset', '-p', '-c', $list, $$) == 0 or die "taskset -c $list failed";
	$node->start;
	system('taskset', '-p', $mask, $$) == 0 or die "restoring the affinity mask $mask failed";
	return ndag_status_counter($node, 'shadow_cpus');
}

is(cpus_with_affinity('0'), 1, 'a server limited to one CPU counts one');
SKIP:
{
	skip 'one CPU online', 1 if $online < 2;
	my $two = $unlimited < 2 ? $unlimited : 2;
	is(cpus_with_affinity('0,1'), $two, 'a server limited to two CPUs counts at most two');
}
$node->stop;
$node->start;
is(ndag_status_counter($node, 'shadow_cpus'), $unlimited, 'restarted without a limit it counts as before');

$node->stop;
done_testing();
