# The pool's supervisor (traffic-webhook --workers N) under spawn-fcgi, as
# a unit runs it: a bad configuration exits 78 (what systemd's
# RestartPreventExitStatus=78 keeps from restarting) with the reason, and
# so does a worker that finds it bad later; SIGHUP under load re-reads the
# env and rules files without one failed request, and a bad file is
# refused while the old workers keep serving; SIGTERM neither mid-request
# nor before a request's first bytes loses it; a worker that has answered
# serves the next connection without waiting for its client to close;
# SIGTERM stops it; the journal gets each line's priority.  Loopback only,
# fixed request counts.
use strict;
use warnings;
use IO::Select;
use IO::Socket::UNIX;
use JSON::PP;
use POSIX ();
use Socket qw(SOCK_STREAM);
use Test::More;
use Time::HiRes qw(sleep time);
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $dir = tmpdir();

# A pool that cannot start: the supervisor's exit status says so.
sub pool_exit {
    my (%env) = @_;
    my $sock = "$dir/bad.sock";
    unlink $sock;
    my $t0 = time;
    my ($prc, $pout) = run_cmd([which('spawn-fcgi'), '-n', '-s', $sock,
        '--', builddir() . '/src/traffic-webhook', '--workers', 2],
        env => { TRAFFIC_ENV_FILE => write_env(%env) });
    return ($prc, $pout, time - $t0);
}
my ($code, $log, $took) = pool_exit(DATABASE_URL => undef);
is($code, 78, 'no DATABASE_URL: the supervisor exits 78');
like($log, qr/config: .*DATABASE_URL/, 'naming the key');
cmp_ok($took, '<', 5, 'at once, no worker respawned in a loop');
($code, $log) = pool_exit(TARGETOLOGISTS_FILE => "$dir/no-such-rules");
is($code, 78, 'a rules file that is not there: 78 too');
($rc, $out) = run_cmd([builddir() . '/src/traffic-webhook', '--workers', 2],
    env => { TRAFFIC_ENV_FILE => write_env() }, stdin => '');
is($rc, 78, "no listening socket on fd 0: 78");
like($out, qr/needs the listening socket on fd 0/, 'saying what it needs');

# The rules the reloads switch between.
my $rules = "$dir/rules.conf";
spew($rules, "Alpha | A | alpha_\nUnknown | ? |\n");
my $envfile = write_env(TARGETOLOGISTS_FILE => $rules);
start_pool(workers => 3, env_file => $envfile,
    env => { JOURNAL_STREAM => '8:1234' });
start_nginx();
sub targetologists {
    my $r = http('GET', '/webhook/amocrm/traffic/test');
    return join(',', @{ (eval { decode_json($r->{content}) } || {})
        ->{targetologists} || [] });
}
is(targetologists(), 'Alpha', 'the first rules');

# SIGHUP five times under load: every request answered 200, every sale
# stored once; the new rules in force after.
my ($clients, $per) = (4, 50);
my @kids;
for my $c (1 .. $clients) {
    my $pid = fork // die;
    if (!$pid) {
        my $bad = 0;
        for my $i (1 .. $per) {
            my $id = 25_000_000 + $c * 1000 + $i;
            my $r = post_form('/webhook/amocrm/traffic', lead_form(id => $id,
                status_id => 142, pipeline_id => 10418746, price => 100,
                utm_campaign => 'alpha_x'));
            $bad++ if $r->{status} != 200;
            my $t = http('GET', '/webhook/amocrm/traffic/test');
            $bad++ if $t->{status} != 200;
        }
        POSIX::_exit($bad > 250 ? 250 : $bad);
    }
    push @kids, $pid;
}
my @before = worker_pids();
for my $k (1 .. 5) {
    sleep 0.3;
    spew($rules, "Alpha | A | alpha_\n" . ($k == 5 ? "Beta | B | beta_\n" : '')
        . "Unknown | ? |\n");
    kill 'HUP', pool_pid();
}
my $failed = 0;
for (@kids) { waitpid($_, 0); $failed += $? >> 8 }
is($failed, 0, sprintf('%d requests during five reloads, none failed',
    $clients * $per * 2));
is(psql("SELECT count(*) FROM all_sales_tracking WHERE lead_id BETWEEN"
    . " 25000000 AND 25009999"), $clients * $per, 'every sale stored once');
wait_for('the new workers', sub { my @w = worker_pids(); @w == 3
    && !grep { my $o = $_; grep { $_ == $o } @before } @w });
is(targetologists(), 'Alpha,Beta', 'the new rules in force');
like(pool_log(), qr/^<6>traffic-webhook\[\d+\]: pool: reloaded: 3 new workers/m,
    'the log says so, at priority 6 (info)');

# A bad file on SIGHUP: refused, the workers keep serving the old one.
my @w = worker_pids();
spew($envfile, slurp($envfile) . "DB_ANSWER_MS=abc\n");
kill 'HUP', pool_pid();
wait_for('the refusal', sub { pool_log() =~ /reload refused/ });
like(pool_log(), qr/^<3>traffic-webhook\[\d+\]: pool: reload refused, .*DB_ANSWER_MS/m,
    'a bad file: refused at priority 3, naming the key');
is(join(',', worker_pids()), join(',', @w), 'the same workers');
is(targetologists(), 'Alpha,Beta', 'still serving');
like(pool_log(), qr/^<6>traffic-webhook\[\d+\]: req=- GET \/webhook\/amocrm\/traffic\/test 200 .* id=[0-9a-f]{32}$/m,
    'a request\'s line at priority 6, with nginx\'s $request_id');

# A worker that finds the configuration bad (it changed under the pool):
# the supervisor stops with 78.
my $sup = pool_pid();
kill 'KILL', $w[0];
wait_for('the supervisor to stop', sub {
    waitpid($sup, POSIX::WNOHANG()) == $sup }, 15);
is($? >> 8, 78, 'it exits 78');
like(pool_log(), qr/worker \d+ found the configuration bad: stopping/,
    'a replacement that cannot start: the pool stops');
is(scalar(grep { kill 0, $_ } @w), 0, 'no worker left');

# SIGTERM while a worker is reading a request it accepted (a FastCGI
# client that sends half its parameters first): the request is served,
# then the worker leaves.
sub record {            # a FastCGI record: version 1, request 1
    my ($type, $content) = @_;
    return pack('CCnnCC', 1, $type, 1, length $content, 0, 0) . $content;
}
sub nv { my ($n, $v) = @_; pack('CC', length $n, length $v) . $n . $v }
spew($envfile, join('', grep { !/^DB_ANSWER_MS=abc/ } split /^/,
    slurp($envfile)));
start_pool(workers => 1, env_file => $envfile);
my ($one) = worker_pids();
my $c = IO::Socket::UNIX->new(Peer => pool_sock(), Type => SOCK_STREAM);
ok($c, 'a FastCGI connection to the one worker');
$c->autoflush(1);
local $SIG{PIPE} = 'IGNORE';    # a worker that left: a failed test, not a kill
print $c record(1, pack('nCx5', 1, 0))
    . record(4, nv('REQUEST_METHOD', 'GET'));
sleep 0.3;
kill 'TERM', $one;
sleep 0.3;
print $c record(4, nv('DOCUMENT_URI', '/webhook/amocrm/traffic/test'))
    . record(4, '') . record(5, '');
local $/;
my $answer = <$c> // '';
like($answer, qr/Status: 200/, 'SIGTERM mid-request: the request is served');
wait_for('the worker to leave', sub { !grep { $_ == $one } worker_pids() },
    10);
pass('then the worker leaves (and the supervisor replaces it)');

# SIGTERM after the worker accepted a connection whose client has sent
# nothing yet (libfcgi waits for the first bytes): the request is served
# too, not dropped unread.
($one) = worker_pids();
$c = IO::Socket::UNIX->new(Peer => pool_sock(), Type => SOCK_STREAM);
$c->autoflush(1);
sleep 0.3;
kill 'TERM', $one;
sleep 0.3;
print $c record(1, pack('nCx5', 1, 0))
    . record(4, nv('REQUEST_METHOD', 'GET')
        . nv('DOCUMENT_URI', '/webhook/amocrm/traffic/test'))
    . record(4, '') . record(5, '');
$answer = <$c> // '';
like($answer, qr/Status: 200/,
    'SIGTERM before the first bytes: the request is served');
wait_for('that worker to leave', sub { !grep { $_ == $one } worker_pids() },
    10);
stop_pool();

# A worker is ready for the next connection once it has answered: it does
# not wait for the client to close first (libfcgi's own close waits up to
# 2 s for that), so a client that keeps its connection open after its
# answer delays no one.
sub ask_test {
    my ($s) = @_;
    print $s record(1, pack('nCx5', 1, 0))
        . record(4, nv('REQUEST_METHOD', 'GET')
            . nv('DOCUMENT_URI', '/webhook/amocrm/traffic/test'))
        . record(4, '') . record(5, '');
}
sub answer_of {         # the records up to FCGI_END_REQUEST, within 5 s
    my ($s) = @_;
    my ($got, $until) = ('', time + 5);
    my $sel = IO::Select->new($s);
    while (time < $until && $sel->can_read($until - time)) {
        sysread($s, my $buf, 65536) or last;
        $got .= $buf;
        my $o = 0;
        while ($o + 8 <= length $got) {
            my (undef, $type, undef, $clen, $plen) =
                unpack('CCnnC', substr($got, $o, 8));
            return $got if $type == 3;
            $o += 8 + $clen + $plen;
        }
    }
    return $got;
}
start_pool(workers => 1, env_file => $envfile);
my $held = IO::Socket::UNIX->new(Peer => pool_sock(), Type => SOCK_STREAM);
$held->autoflush(1);
ask_test($held);
like(answer_of($held), qr/Status: 200/,
    'a client answered that keeps its connection open');
my $t_next = time;
my $next = IO::Socket::UNIX->new(Peer => pool_sock(), Type => SOCK_STREAM);
$next->autoflush(1);
ask_test($next);
like(answer_of($next), qr/Status: 200/, 'the next client on the one worker');
cmp_ok(time - $t_next, '<', 1.5, '  is answered at once, the first one'
    . ' still connected');
close $next;
close $held;
stop_pool();

# SIGTERM: the supervisor and its workers leave, exit 0.
start_pool(workers => 2, env_file => $envfile);
$sup = pool_pid();
my @left = worker_pids();
kill 'TERM', $sup;
my $t0 = time;
my $gone = 0;
for (1 .. 100) {            # bounded: a supervisor deaf to SIGTERM fails
    if (waitpid($sup, POSIX::WNOHANG()) == $sup) { $gone = 1; last }
    sleep 0.1;
}
my $status = $?;
ok($gone, 'SIGTERM: the supervisor leaves') or do {
    kill 'KILL', $sup, @left;
    waitpid($sup, 0);
};
is($status >> 8, 0, 'SIGTERM: exit 0');
cmp_ok(time - $t0, '<', 3, 'idle workers leave at once');
is(scalar(grep { kill 0, $_ } @left), 0, 'and none is left');
done_testing();
