# Nothing acknowledged is lost: with PostgreSQL stopped the webhook spools
# the request (durably) and still answers 200 "queued"; traffic-ctl spool
# drain (and the deliver sidecar on its own) replays the spool in arrival
# order once the database is back, each sale stored once with its original
# time; a corrupt entry is set aside; a spool that cannot be written gives
# 503 and leaves nothing half-written.
use strict;
use warnings;
use JSON::PP;
use Test::More;
use Time::HiRes qw(sleep);
use lib 't/lib';
use TrafficTest;

start_pg(durable => 1);   # it kills PostgreSQL: a commit must be one
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $dir = tmpdir();
my $spool = "$dir/spool";
my $env = write_env();
start_pool(workers => 2, env_file => $env);
start_nginx();

sub sale {
    my ($id) = @_;
    my $b = example('01-status-142-full.txt');
    $b =~ s/25123456/$id/g;
    return http('POST', '/webhook/amocrm/traffic', $b,
        'Content-Type' => 'application/x-www-form-urlencoded',
        'X-AmoCRM-RequestId' => "req-$id");
}
sub entries { my @e = glob("$spool/*.req"); return @e }

stop_pg('fast');
my $r = sale(40000001);
is($r->{status}, 200, 'database down: still 200');
is_deeply(eval { decode_json($r->{content}) }, { success => JSON::PP::true,
    queued => JSON::PP::true }, 'answer says queued');
$r = sale(40000002);
is($r->{status}, 200, 'a second one too');
my @e = entries();
is(scalar @e, 2, 'two spool entries');
like(slurp($e[0]), qr/\Atraffic-webhook spool 1\nreceived_at: \d{4}-.*\n/,
    'an entry starts with its header');
like(slurp($e[0]), qr/\nrequest_id: req-40000001\n/, 'the request id kept');
is(scalar(glob("$spool/.tmp-*")), undef, 'no temp file left');
is(sprintf('%o', (stat $e[0])[2] & 07777), '600', 'entries are 0600');
like(pool_log(), qr/req=req-40000001 POST \S+ 200 .*spooled/,
    'the worker logs that it spooled');
my $t_spooled = time;

# The database is back: drain in arrival order, each removed after commit.
sleep 1.1;
start_pg_again();
spew("$spool/00000000000000000001.000000000-1.req", "garbage\n");
($rc, $out) = ctl(['spool', 'status'], TRAFFIC_ENV_FILE => $env);
like($out, qr/3 requests waiting/, 'spool status counts them');
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $env);
like($out, qr/spool: 3 requests waiting \(traffic-ctl spool drain\)/,
    'check shows the depth');
($rc, $out) = ctl(['spool', 'drain'], TRAFFIC_ENV_FILE => $env);
is($rc, 0, 'drain: exit 0') or diag($out);
like($out, qr/unreadable entry.*moved to .*corrupt/s, 'garbage set aside');
like($out, qr/replayed: 40000001:success.*replayed: 40000002:success/s,
    'replayed oldest first');
is(scalar(entries()), 0, 'spool empty');
ok(-f "$spool/corrupt/00000000000000000001.000000000-1.req",
    'the corrupt entry is in corrupt/');
is(psql("SELECT count(*), count(DISTINCT lead_id) FROM sales_notifications"
    . " WHERE lead_id IN (40000001, 40000002)"), '2|2', 'both sales stored');
cmp_ok(psql("SELECT floor(extract(epoch FROM max(sale_date)))::bigint FROM"
    . " sales_notifications WHERE lead_id IN (40000001, 40000002)"), '<=',
    $t_spooled, 'with the time they arrived, not the replay time');
is(psql("SELECT request_id FROM webhook_logs WHERE lead_id = 40000001"),
    'req-40000001', 'logged with the original request id');
($rc, $out) = ctl(['spool', 'drain'], TRAFFIC_ENV_FILE => $env);
is($rc, 0, 'a second drain has nothing to do');

# The sidecar drains by itself once the database answers.
stop_pg('immediate');
is(sale(40000003)->{status}, 200, 'spooled again');
start_deliver(env_file => $env);
wait_for('the sidecar\'s round failed', sub {
    deliver_log() =~ /^deliver: (?!running)/m }, 10);
is(scalar(entries()), 1, 'the entry waits while the database is away');
start_pg_again();
wait_for('the sidecar drains', sub { !entries() }, 20);
is(psql("SELECT count(*) FROM sales_notifications WHERE lead_id = 40000003"),
    1, 'stored by the sidecar');
# (its line comes just after the entry's removal)
wait_for('the sidecar\'s line', sub { (deliver_log() . pool_log())
    =~ /spool: 1 replayed/ }, 10);
pass('and it says so');
stop_deliver();

# Replaying an entry whose sale is already stored is a duplicate, no harm.
stop_pg('fast');
is(sale(40000001)->{status}, 200, 'a retry of a stored sale, spooled');
start_pg_again();
($rc, $out) = ctl(['spool', 'drain'], TRAFFIC_ENV_FILE => $env);
like($out, qr/40000001:duplicate/, 'replayed as a duplicate');
is(psql("SELECT count(*) FROM all_sales_tracking WHERE lead_id = 40000001"),
    1, 'still one sale');

# A spool that cannot be written: 503, nothing half-written.
stop_pool();
start_pool(workers => 1, env_file => write_env(SPOOL_DIR => '/dev/null/spool'));
stop_pg('fast');
$r = sale(40000004);
is($r->{status}, 503, 'no database and no spool: 503 (AmoCRM retries)');
like(pool_log(), qr/spool: mkdir "\/dev\/null\/spool" failed/,
    'the log says why');
SKIP: {
    skip 'a full disk needs root to mount a small tmpfs', 3 if $> != 0;
    my $full = "$dir/full";
    mkdir $full;
    my ($mrc, $mout) = run_cmd(['mount', '-t', 'tmpfs', '-o', 'size=64k',
        'tmpfs', $full]);
    skip "mount failed: $mout", 3 if $mrc;
    # fill it up
    open my $fh, '>', "$full/filler";
    print $fh 'x' x 4096 for 1 .. 64;
    close $fh;
    stop_pool();
    start_pool(workers => 1, env_file => write_env(SPOOL_DIR => "$full/spool"));
    $r = sale(40000005);
    is($r->{status}, 503, 'spool disk full: 503');
    my @left = grep { !/filler/ } glob("$full/spool/* $full/spool/.tmp-*");
    is(scalar @left, 0, 'nothing half-written in the spool');
    like(pool_log(), qr/spool: (write|create|fsync)/, 'the log says why');
    stop_pool();
    run_cmd(['umount', $full]);
}

# "Written durably", shown by the system calls a spooling worker makes (the
# operator's one-shot run, the database still down): the file's data
# synced before its rename to its final name, then the directory synced.
SKIP: {
    skip 'no strace', 4 unless which('strace');
    my $sdir = "$dir/spool-strace";
    my $trace = "$dir/spool.strace";
    my $b = example('01-status-142-full.txt');
    $b =~ s/25123456/40000006/g;
    my ($src, $sout) = run_cmd(['strace', '-f', '-y', '-o', $trace, '-e',
        'trace=fsync,fdatasync,rename,renameat,renameat2',
        builddir() . '/src/traffic-webhook'], stdin => $b,
        env => { TRAFFIC_ENV_FILE => write_env(SPOOL_DIR => $sdir),
            REQUEST_METHOD => 'POST', DOCUMENT_URI => '/webhook/amocrm/traffic',
            CONTENT_TYPE => 'application/x-www-form-urlencoded',
            CONTENT_LENGTH => length $b });
    like($sout, qr/"queued":true/, 'strace\'d: spooled') or diag($sout);
    my @calls = grep { /^\d+ +(fsync|fdatasync|rename)/ }
        split /\n/, slurp($trace);
    my ($f) = grep { $calls[$_] =~ /^\d+ +f(data)?sync\(\d+<\Q$sdir\E\/[^>]*\.tmp[^>]*>\) = 0/ } 0 .. $#calls;
    my ($n) = grep { $calls[$_] =~ /^\d+ +rename\w*\(.*\Q$sdir\E\/[^"]*\.req"/ } 0 .. $#calls;
    my ($d) = grep { $calls[$_] =~ /^\d+ +fsync\(\d+<\Q$sdir\E>\) = 0/ } 0 .. $#calls;
    ok(defined $f, 'the entry\'s data synced') or diag(join "\n", @calls);
    ok(defined $n && defined $f && $f < $n, 'before its rename to its name');
    ok(defined $d && defined $n && $n < $d, 'then the directory synced');
}

start_pg_again();
is(psql("SELECT count(*) FROM sales_notifications WHERE lead_id IN"
    . " (40000004, 40000005)"), 0, 'the 503s stored nothing');
done_testing();
