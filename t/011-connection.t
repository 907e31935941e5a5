# A worker's persistent connection: killed with pg_terminate_backend between
# requests it is re-established on the next request, by the same process;
# with PostgreSQL stopped the answer is 503 (not a false 200), and the next
# request after the restart is stored.
use strict;
use warnings;
use lib 't/lib';
use JSON::PP;
use POSIX ();
use Time::HiRes ();
use Test::More;
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrated') or diag($out);
my $sock = start_pool(workers => 1);
my @before = worker_pids();
is(scalar @before, 1, 'one worker');

sub sale {
    my ($id) = @_;
    my $body = example('01-status-142-full.txt') =~ s/25123456/$id/gr;
    return cgi_fcgi($sock, 'POST', '/webhook/amocrm/traffic', $body);
}

is(sale(41000001)->{status}, 200, 'first sale stored');
is(psql("SELECT application_name FROM pg_stat_activity WHERE"
    . " application_name = 'traffic-webhook'"), 'traffic-webhook',
    'the worker holds one connection named traffic-webhook');
is(psql("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM"
    . " pg_stat_activity WHERE application_name = 'traffic-webhook') t"), 1,
    'its backend terminated');
my $r = sale(41000002);
is($r->{status}, 200, 'the next request succeeds') or diag($r->{raw});
is(psql('SELECT count(*) FROM sales_notifications WHERE lead_id = 41000002'),
    1, 'and is stored');
is_deeply([worker_pids()], \@before, 'by the same worker process');

my $t = cgi_fcgi($sock, 'GET', '/webhook/amocrm/traffic/test', '');
is(decode_json($t->{content})->{database}, 'connected', 'test endpoint: connected');

TrafficTest::stop_pg('fast');
$r = sale(41000003);
is($r->{status}, 200, 'database down: 200, the request is spooled');
like($r->{content}, qr/"queued":true/, 'the answer says queued');
unlike($r->{content}, qr/password|postgresql:|host=/i, 'no connection details');
$t = cgi_fcgi($sock, 'GET', '/webhook/amocrm/traffic/test', '');
is(decode_json($t->{content})->{database}, 'unavailable',
    'test endpoint: unavailable');
is_deeply([worker_pids()], \@before, 'the worker survived');

TrafficTest::start_pg_again();
# a worker whose connect failed tries again after a second, not before
Time::HiRes::sleep(1.1);
$r = sale(41000003);
is($r->{status}, 200, 'after the restart the same delivery is stored');
is(psql('SELECT count(*) FROM sales_notifications WHERE lead_id = 41000003'),
    1, 'once');
# (the sidecar may have replayed the spooled one first: then the worker
# finds it stored; either way it asked the database, not the spool)
like(pool_log(), qr/POST \S+ 200 leads=41000003:(?:success|duplicate) /,
    'the worker logged it');
unlike(pool_log(), qr/password=|user=traffic/, 'no connection string logged');

# SIGTERM while a request is in progress (held up by a table lock, within
# DB_ANSWER_MS): the request still completes with 200, then the worker
# exits and is replaced.
my $locker = fork // die;
if (!$locker) {
    psql('BEGIN; LOCK TABLE sales_notifications IN ACCESS EXCLUSIVE MODE;'
        . ' SELECT pg_sleep(1); COMMIT;');
    POSIX::_exit(0);
}
sub locks {
    my ($granted) = @_;
    return psql("SELECT count(*) FROM pg_locks WHERE relation ="
        . " 'sales_notifications'::regclass AND granted = $granted"
        . ($granted eq 'true' ? " AND mode = 'AccessExclusiveLock'" : ''));
}
wait_for('the table locked', sub { locks('true') == 1 });
my $dir = tmpdir();
my $client = fork // die;
if (!$client) {
    my $ans = sale(41000004);
    spew("$dir/sigterm.status", $ans->{status});
    POSIX::_exit(0);
}
wait_for('the sale waiting for the lock', sub { locks('false') >= 1 });
my ($worker) = worker_pids();
kill 'TERM', $worker;
waitpid($client, 0);
waitpid($locker, 0);
is(slurp("$dir/sigterm.status"), '200', 'the request in progress got its 200');
is(psql('SELECT count(*) FROM sales_notifications WHERE lead_id = 41000004'),
    1, 'and was stored');
wait_for('the worker to exit', sub { !kill 0, $worker });
ok(!kill(0, $worker), 'then the worker exited');
wait_for('a new worker', sub { my @w = worker_pids(); @w == 1 });
is(sale(41000005)->{status}, 200, 'its replacement serves');
done_testing();
