# A worker's persistent connection: killed with pg_terminate_backend between
# requests it is re-established on the next request, by the same process;
# with PostgreSQL stopped the answer is 503 (not a false 200), and the next
# request after the restart is stored.
use strict;
use warnings;
use lib 't/lib';
use JSON::PP;
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
is($r->{status}, 503, 'database down: 503, so AmoCRM retries');
like($r->{content}, qr/"success":false/, 'with a JSON error');
unlike($r->{content}, qr/password|postgresql:|host=/i, 'no connection details');
$t = cgi_fcgi($sock, 'GET', '/webhook/amocrm/traffic/test', '');
is(decode_json($t->{content})->{database}, 'unavailable',
    'test endpoint: unavailable');
is_deeply([worker_pids()], \@before, 'the worker survived');

TrafficTest::start_pg_again();
$r = sale(41000003);
is($r->{status}, 200, 'after the restart the same delivery is stored');
is(psql('SELECT count(*) FROM sales_notifications WHERE lead_id = 41000003'),
    1, 'once');
like(pool_log(), qr/41000003:success/, 'the worker logged it');
unlike(pool_log(), qr/password=|user=traffic/, 'no connection string logged');
done_testing();
