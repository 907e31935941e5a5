# What one odd body, time or file can no longer do, through nginx and the
# real pool (issue: the dashboard's truth).  A lead whose updated_at is
# 2^63-1 or in 2100 is refused with its own error row, never spooled, and
# its neighbours in the body are stored; a lead PostgreSQL refuses drags no
# other; a spooled body whose replay raises (its own data) is set aside
# after its tries while the entries behind it go on; an event from the
# future cannot freeze a sale, and milliseconds are read as seconds; a
# deletion is dated, so AmoCRM's retry of the won event does not bring the
# sale back while a real restoration does; the metrics file truncated under
# the pool kills no worker; a FIFO in the spool stops neither a drain nor
# the sidecar; the status page cannot be framed, and a password with a NUL
# in it is no password.
use strict;
use warnings;
use JSON::PP;
use MIME::Base64 ();
use POSIX ();
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $dir = tmpdir();
my $spool = "$dir/spool";
my $admin = 'truth-admin-token-0123456789abcdef';
my $env = write_env(ADMIN_TOKEN => $admin, ALERT_CHECK_S => 1,
    ALERT_SPOOL_S => 3600);
start_pool(workers => 2, env_file => $env);
start_nginx();
my $P = 10418746;
my $now = int(time);

sub second_lead {       # lead_form's body as the second lead of a delivery
    my ($form) = @_;
    $form =~ s/%5D%5B0%5D%5B/%5D%5B1%5D%5B/g;
    $form =~ s/&account%5B.*$//;
    return $form;
}
sub won {
    my ($id, %f) = @_;
    return lead_form(id => $id, status_id => 142, pipeline_id => $P,
        price => 1000, updated_at => $now - 100, utm_campaign =>
        'tripwire_truth', %f);
}
sub state_of { psql("SELECT sale_state || ':' || trim_scale(sale_amount)"
    . " FROM sales_notifications WHERE lead_id = $_[0]") }
sub tracked { psql("SELECT count(*) FROM all_sales_tracking WHERE lead_id ="
    . " $_[0]") }

# 1. A body of two leads, the second from the year 292277026596.
my $r = post_form('/webhook/amocrm/traffic', won(64000001) . '&'
    . second_lead(won(64000002, updated_at => '9223372036854775807')));
is($r->{status}, 200, 'a body with one lead of time 2^63-1: 200');
unlike($r->{content}, qr/queued/, 'stored, not queued') or diag($r->{content});
is(scalar(() = glob("$spool/*.req")), 0, 'nothing in the spool');
is(state_of(64000001), 'won:1000', 'the good lead is a sale');
like(psql("SELECT processing_status || ': ' || error_message FROM"
    . " webhook_logs WHERE lead_id = 64000002"), qr/^error: .*in the future/,
    'the odd one has its error row');

# 2. A body of two leads, the second refused by PostgreSQL.
psql("ALTER TABLE sales_notifications ADD CONSTRAINT truth_poison CHECK"
    . " (lead_name IS DISTINCT FROM 'poison')");
$r = post_form('/webhook/amocrm/traffic', won(64000003) . '&'
    . second_lead(won(64000004, name => 'poison')));
is($r->{status}, 200, 'a body with one lead PostgreSQL refuses: 200');
like($r->{content}, qr/"processed":1.*"errors":1/, 'one stored, one error')
    or diag($r->{content});
is(state_of(64000003), 'won:1000', 'the good one stored');
like(psql("SELECT error_message FROM webhook_logs WHERE lead_id = 64000004"),
    qr/refused by the database: .*truth_poison/, 'the refused one: its row');

# 3. Spooled while the database was away; one entry raises on replay (its
# own data: a trigger here), the entry behind it goes on.
stop_pg('fast');
like(post_form('/webhook/amocrm/traffic', won(64000005) . '&'
    . second_lead(won(64000006, name => 'raiser')))->{content},
    qr/"queued":true/, 'the database away: the raiser queued');
like(post_form('/webhook/amocrm/traffic', won(64000007))->{content},
    qr/"queued":true/, 'and a sale behind it');
stop_pool_sidecar();
start_pg_again();
psql("CREATE FUNCTION truth_raise() RETURNS trigger LANGUAGE plpgsql AS"
    . " \$\$BEGIN IF NEW.lead_name = 'raiser' THEN RAISE EXCEPTION"
    . " 'truth raise'; END IF; RETURN NEW; END\$\$");
psql("CREATE TRIGGER truth_raise BEFORE INSERT ON sales_notifications"
    . " FOR EACH ROW EXECUTE FUNCTION truth_raise()");
my @tries;
for (1 .. 5) {
    ($rc, $out) = ctl(['spool', 'drain'], TRAFFIC_ENV_FILE => $env);
    push @tries, $out =~ /try (\d) of 5 failed: .*truth raise/ ? $1
        : $out =~ /set aside|corrupt/ ? 'aside' : '?';
}
is("@tries", '1 2 3 4 5', 'the raiser: each replay counted, whatever'
    . ' statement raised (the rollback after it says nothing)') or diag($out);
is(state_of(64000007), 'won:1000', 'the sale behind it stored at the first'
    . ' drain');
is(scalar(() = glob("$spool/*.req")), 0, 'the spool is empty');
is(scalar(() = glob("$spool/corrupt/*.req")), 1, 'the raiser set aside');
psql('DROP TRIGGER truth_raise ON sales_notifications');
sleep 1.1;  # a worker tries no new connect for a second after a failed one

# 4. Times: a "lost" from 2100 is refused and freezes nothing; a
# millisecond time is read as seconds.
post_form('/webhook/amocrm/traffic', won(64000010));
$r = post_form('/webhook/amocrm/traffic', lead_form(id => 64000010,
    status_id => 143, pipeline_id => $P, updated_at => 4102444800));
like($r->{content}, qr/"errors":1/, 'a lost from 2100: an error');
is(state_of(64000010), 'won:1000', 'the sale is still won');
post_form('/webhook/amocrm/traffic', lead_form(event => 'update', id =>
    64000010, status_id => 142, pipeline_id => $P, price => 1200,
    updated_at => ($now - 50) * 1000));
is(state_of(64000010), 'won:1200', 'a price change in milliseconds applies');
post_form('/webhook/amocrm/traffic', lead_form(event => 'update', id =>
    64000010, status_id => 142, pipeline_id => $P, price => 1300,
    updated_at => $now - 40));
is(state_of(64000010), 'won:1300', 'and the next real event after it');
is(psql("SELECT count(*) FROM sales_notifications WHERE lead_updated_at >"
    . " now() + interval '5 minutes'"), 0, 'no stored time in the future');

# 5. A deletion, AmoCRM's retry of the won event, a real restoration.
post_form('/webhook/amocrm/traffic', won(64000020));
post_form('/webhook/amocrm/traffic', 'leads%5Bdelete%5D%5B0%5D%5Bid%5D='
    . '64000020&account%5Bsubdomain%5D=onaiagencykz');
is(state_of(64000020), 'reversed:1000', 'deleted: reversed');
post_form('/webhook/amocrm/traffic', won(64000020));
is(state_of(64000020), 'reversed:1000', 'the won event retried: still'
    . ' reversed');
is(tracked(64000020), 0, 'and off the dashboard');
post_form('/webhook/amocrm/traffic', lead_form(event => 'restore', id =>
    64000020, status_id => 142, pipeline_id => $P, price => 1000,
    last_modified => $now));
is(state_of(64000020), 'won:1000', 'a real restoration brings it back');
is(tracked(64000020), 1, 'on the dashboard');

# 6. The metrics file truncated under the running pool.
my $metrics = "$spool/.metrics";
ok(-s $metrics, 'the metrics file exists');
my @workers = sort(worker_pids(pool_pid()));
my $bad = 0;
for my $round ([0, 'to nothing'], [100, 'to 100 bytes']) {
    truncate($metrics, $round->[0]) or die "truncate: $!";
    for my $k (1 .. 20) {
        $bad++ if post_form('/webhook/amocrm/traffic',
            won(64000100 + 100 * $round->[0] + $k))->{status} != 200;
    }
}
is($bad, 0, 'forty sales after two truncations: every one 200');
is(join(',', sort(worker_pids(pool_pid()))), join(',', @workers),
    'the same workers, none died');
unlike(pool_log(), qr/SIGBUS|signal 7/i, 'no SIGBUS in the pool\'s log');
$r = http('GET', '/metrics', undef, Authorization => "Bearer $admin");
is($r->{status}, 200, '/metrics answers');
like($r->{content}, qr/^traffic_webhook_requests_total\{endpoint="traffic",status="200"\} [1-9]/m,
    'and counts again');

# 7. A FIFO in the spool: neither a drain nor the sidecar waits on it.
POSIX::mkfifo("$spool/00000000000000000001.000000000-1.req", 0600)
    or die "mkfifo: $!";
POSIX::mkfifo("$spool/.alert-spool", 0600) or die "mkfifo: $!";
my $t0 = time;
($rc, $out) = ctl(['spool', 'drain'], TRAFFIC_ENV_FILE => $env);
cmp_ok(time - $t0, '<', 10, 'a drain with a FIFO in the spool ends');
like($out, qr/not a regular file/, 'saying what it found') or diag($out);
ok(-p "$spool/corrupt/00000000000000000001.000000000-1.req",
    'the FIFO set aside');
# a link and (as root) an entry of another owner: named, set aside, and
# the drain goes on
symlink('/etc/hostname', "$spool/00000000000000000002.000000000-1.req")
    or die "symlink: $!";
my $foreign = "$spool/00000000000000000003.000000000-1.req";
if ($> == 0) {
    spew($foreign, "traffic-webhook spool 1\n", 0600);
    chown((getpwnam('nobody'))[2], -1, $foreign);
}
($rc, $out) = ctl(['spool', 'drain'], TRAFFIC_ENV_FILE => $env);
like($out, qr/02\.000000000-1\.req: unreadable entry: not a regular file/,
    'a symbolic link: not an entry the service wrote') or diag($out);
SKIP: {
    skip 'not root: no entry of another owner', 1 if $> != 0;
    like($out, qr/03\.000000000-1\.req: unreadable entry: owned by uid \d+, not by the service.*chown it/,
        'an entry of another owner: says whose and what to do');
}
my $side = start_deliver(env_file => $env);
stop_pg('fast');
like(post_form('/webhook/amocrm/traffic', won(64000030))->{content},
    qr/"queued":true/, 'a sale spooled');
start_pg_again();
wait_for('the sidecar to replay it', sub { state_of(64000030) eq
    'won:1000' }, 20);
pass('the sidecar replays with a FIFO for its alert file');
$t0 = time;
stop_deliver();
cmp_ok(time - $t0, '<', 5, 'and stops when told');
sleep 1.1;  # the workers' second without a new connect

# 8. The status page: not framed, not sniffed; a NUL ends no password.
$r = http('GET', '/admin/', undef, Authorization => 'Basic '
    . MIME::Base64::encode_base64("team:$admin", ''));
is($r->{status}, 200, 'the status page');
is($r->{headers}{'x-frame-options'}, 'DENY', 'X-Frame-Options: DENY');
like($r->{headers}{'content-security-policy'} // '',
    qr/frame-ancestors 'none'/, 'CSP frame-ancestors none');
is($r->{headers}{'x-content-type-options'}, 'nosniff', 'nosniff');
is($r->{headers}{'referrer-policy'}, 'no-referrer', 'no referrer');
$r = http('GET', '/admin/', undef, Authorization => 'Basic '
    . MIME::Base64::encode_base64("team:$admin\0anything", ''));
is($r->{status}, 401, 'the token, a NUL and more: refused');
done_testing();
