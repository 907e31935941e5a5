# Workers SIGKILLed under load: the supervisor replaces them, no sale that got a
# 200 is missing or doubled, and nginx logs no [alert].  Loopback only; the
# load is a fixed number of requests and the kills a fixed count.
use strict;
use warnings;
use lib 't/lib';
use JSON::PP;
use POSIX ();
use Test::More;
use Time::HiRes qw(sleep);
use TrafficTest;

start_pg();
migrate();
start_pool(workers => 3);
start_nginx();
my $dir = tmpdir();
my $template = example('01-status-142-full.txt');
my ($clients, $per_client, $kills) = (4, 60, 8);

my @kids;
for my $c (1 .. $clients) {
    my $pid = fork // die;
    if (!$pid) {
        open my $log, '>', "$dir/client-$c.log" or die;
        for my $i (1 .. $per_client) {
            my $id = 50_000_000 + $c * 1000 + $i;
            my $r = http('POST', '/webhook/amocrm/traffic',
                $template =~ s/25123456/$id/gr,
                'Content-Type' => 'application/x-www-form-urlencoded');
            print $log "$id $r->{status}\n";
        }
        close $log;
        POSIX::_exit(0);
    }
    push @kids, $pid;
}
my $killed = 0;
for (1 .. $kills) {
    sleep 0.15;
    my @w = worker_pids();
    next unless @w;
    kill 'KILL', $w[int rand @w] and $killed++;
}
waitpid($_, 0) for @kids;

my (%status, @ok);
for my $c (1 .. $clients) {
    for (split /\n/, slurp("$dir/client-$c.log")) {
        my ($id, $st) = split;
        $status{$st}++;
        push @ok, $id if $st == 200;
    }
}
is($killed, $kills, "$kills workers killed during the load");
is(scalar(keys %{{ map { $_ => 1 } @ok }}), scalar @ok, 'each lead sent once');
my $total = 0;
$total += $_ for values %status;
is($total, $clients * $per_client, 'every request answered');
diag('answers: ' . join(', ', map { "$_ x $status{$_}" } sort keys %status));
cmp_ok($status{200} // 0, '>=', $total * 0.8, 'most requests succeeded');
ok(!grep({ $_ != 200 && $_ != 502 } keys %status),
    'failures are only 502 (the request died with its worker, not acknowledged)');

my $ids = join(',', @ok);
is(psql("SELECT count(*) FROM sales_notifications WHERE lead_id IN ($ids)"),
    scalar @ok, 'every lead that got a 200 is stored');
is(psql('SELECT count(*) FROM (SELECT lead_id FROM webhook_logs WHERE'
    . " processing_status = 'success' GROUP BY lead_id HAVING count(*) > 1) d"),
    0, 'none stored twice');
wait_for('the pool to refill', sub { my @w = worker_pids(); @w == 3 });
is(scalar(my @w = worker_pids()), 3, 'the supervisor replaced the killed workers');
my $r = http('GET', '/webhook/amocrm/traffic/test');
is($r->{status}, 200, 'the pool still answers');
unlike(nginx_error_log(), qr/\[(alert|emerg|crit)\]/, 'no [alert] in nginx log');
done_testing();
