# Fault tests under load through nginx: PostgreSQL stopped for two seconds
# and started again, then killed (pg_ctl stop -m immediate) and restarted,
# while four clients post sales.  Invariant: every sale that got a 2xx is in
# the database exactly once after the spool is drained.  Bounded: four
# clients, at most 150 requests or 20 seconds each.
use strict;
use warnings;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;

start_pg(durable => 1);
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $env = write_env();
start_pool(workers => 3, env_file => $env);
start_nginx();
my $dir = tmpdir();

sub load {      # starts the clients; returns their pids
    my ($base) = @_;
    my @pids;
    for my $k (0 .. 3) {
        my $pid = fork // die;
        if (!$pid) {
            open my $fh, '>', "$dir/client-$base-$k" or die;
            my $until = time + 20;
            for my $i (1 .. 150) {
                last if time > $until;
                my $id = $base + $k * 1000 + $i;
                my $b = example('01-status-142-full.txt');
                $b =~ s/25123456/$id/g;
                my $r = http('POST', '/webhook/amocrm/traffic', $b,
                    'Content-Type' => 'application/x-www-form-urlencoded');
                print $fh "$id $r->{status} ", ($r->{content} // '')
                    =~ /"queued":true/ ? 'spooled' : 'stored', "\n";
                sleep 0.01;
            }
            close $fh;
            POSIX::_exit(0);
        }
        push @pids, $pid;
    }
    return @pids;
}

sub check {     # reads the clients' records and checks the invariant
    my ($base, $what) = @_;
    my (%status, @ok);
    my $spooled = 0;
    for my $k (0 .. 3) {
        for (split /\n/, slurp("$dir/client-$base-$k")) {
            my ($id, $st, $how) = split;
            $status{$st}++;
            push @ok, $id if $st =~ /^2/;
            $spooled++ if $how eq 'spooled';
        }
    }
    # (the pool's sidecar may have drained it already)
    my ($rc, $out) = ctl(['spool', 'drain'], TRAFFIC_ENV_FILE => $env);
    is($rc, 0, "$what: the spool drains") or diag($out);
    my %stored = map { $_ => 1 } split /\n/, psql("SELECT lead_id FROM"
        . " sales_notifications WHERE lead_id BETWEEN $base AND $base + 9999");
    my @lost = grep { !$stored{$_} } @ok;
    diag(sprintf('%s: %s; %d answered 2xx, %d of them via the spool, %d'
        . ' stored, %d lost', $what,
        join(', ', map { "$_ x$status{$_}" } sort keys %status),
        scalar @ok, $spooled, scalar keys %stored, scalar @lost));
    is(scalar @lost, 0, "$what: every 2xx sale is stored")
        or diag("lost: @lost[0 .. ($#lost < 9 ? $#lost : 9)]");
    is(psql("SELECT count(*) - count(DISTINCT lead_id) FROM all_sales_tracking"
        . " WHERE lead_id BETWEEN $base AND $base + 9999"), 0,
        "$what: none stored twice");
    cmp_ok($spooled, '>', 0, "$what: the spool took some");
}

# PostgreSQL stopped (fast) for two seconds, mid-load.
my @c = load(41000000);
sleep 1;
stop_pg('fast');
sleep 2;
start_pg_again();
waitpid($_, 0) for @c;
check(41000000, 'postgres stopped and started');

# PostgreSQL killed (immediate) mid-load, restarted after a second.
@c = load(41100000);
sleep 1;
stop_pg('immediate');
sleep 1;
start_pg_again();
waitpid($_, 0) for @c;
check(41100000, 'postgres killed and restarted');

like(pool_log(), qr/spooled/, 'the pool spooled while the database was away');
unlike(nginx_error_log(), qr/\[(alert|emerg)\]/, 'no alert in nginx log');
my @w = worker_pids();
is(scalar @w, 3, 'all three workers alive');
done_testing();
