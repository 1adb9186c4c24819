# The workers that are connected to no database (the learner, the healing
# launcher) read pg_database through one function (hooks/database_list.c):
# a database left invalid by an interrupted DROP DATABASE, or that does not
# allow connections, is skipped.  Here the healing launcher checks every
# database each second; none of its healers is started for such databases.
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use Test::More;
use lib 't';
use NdagTest;

my $node = ndag_node('database_list',
	"ruvector.dag_healing_check_interval = 1000\n"
	  # the postmaster logs each background worker it starts
	  . "log_min_messages = debug1\n");

$node->safe_psql('postgres', 'CREATE DATABASE fb_invalid');
$node->safe_psql('postgres', 'CREATE DATABASE fb_closed ALLOW_CONNECTIONS false');
my ($postgres, $invalid, $closed) = split /\n/, $node->safe_psql('postgres', q{
	SELECT oid FROM pg_database WHERE datname IN ('postgres', 'fb_invalid', 'fb_closed')
	ORDER BY datname = 'postgres' DESC, datname = 'fb_invalid' DESC});

# what an interrupted DROP DATABASE leaves behind
my $offset = -s $node->logfile;
$node->safe_psql('postgres',
	"UPDATE pg_database SET datconnlimit = -2 WHERE datname = 'fb_invalid'");

# a check that read the database list before the change may still start a
# healer for it: what counts starts at the second healer of database
# postgres after the change (its check began after the change), and lasts
# two more checks
my $start = qr/starting background worker process "neural_dag healer for database $postgres"/;
ok( wait_for(
		sub {
			my @starts = ndag_log_since($node, $offset) =~ /$start/g;
			return @starts >= 2;
		},
		'two periodic checks'),
	'the launcher keeps checking database postgres');
my $since = ndag_log_since($node, $offset);
my @at;
push @at, $-[0] while $since =~ /$start/g;
$offset += $at[1];
wait_for(sub { my @s = ndag_log_since($node, $offset) =~ /$start/g; return @s >= 3; },
	'two more checks');
my $log = ndag_log_since($node, $offset);
unlike($log,
	qr/starting background worker process "neural_dag healer for database $invalid"/,
	'no healer is started for a database left invalid');
unlike($log, qr/cannot connect to invalid database/,
	'nothing tries to connect to it');
unlike($log,
	qr/starting background worker process "neural_dag healer for database $closed"/,
	'nor for a database that does not allow connections');

$node->stop;
done_testing();
