# Two hosts on one PostgreSQL through one transaction pooler (PgBouncer
# 1.18 from Debian, as Supabase's port 6543 behaves for prepared
# statements): two pools, two spools, two sidecars sending messages and
# reconciling, health probes meanwhile, and 200 sales.  Server connections
# change hands between sessions all the time, so a statement prepared in
# one session may meet another session's: names made from the statement's
# text mean one statement everywhere (before, names followed each session's
# order of first use, and "tr0" in one session was another's "tr0").  Every
# sale is stored once, none spooled, no statement fails.  Reconciliation's
# one-at-a-time works through the pooler (a lease row, never a session
# lock left behind); migrations and adoption, which need a session,
# refuse through it and say which port to use.
use strict;
use warnings;
use JSON::PP;
use Test::More;
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);

my $pooled = start_pgbouncer(extra => 'ignore_startup_parameters = options');

my $api = start_fake_api();
fake_amocrm(leads => {}, hooks => []);
my %common = (DATABASE_URL => $pooled, TELEGRAM_BOT_TOKEN => '6700:POOL',
    TELEGRAM_API_BASE => $api, TELEGRAM_CHAT_IDS => -1006700000001,
    TELEGRAM_CHAT_INTERVAL_MS => 0, TELEGRAM_GROUP_PER_MINUTE => 0,
    AMOCRM_ACCESS_TOKEN => 'amo-pool-0123456789', AMOCRM_API_BASE => $api,
    AMOCRM_DOMAIN => 'onaiagencykz', AMOCRM_CONFIRM => 0, AMOCRM_MAX_WAIT_S => 2,
    RECONCILE_INTERVAL_S => 1, ALERT_CHECK_S => 1);
my $tmp = tmpdir();
my $env1 = "$tmp/host1.env";
my $env2 = "$tmp/host2.env";
for ([$env1, "$tmp/spool1"], [$env2, "$tmp/spool2"]) {
    my %e = (%common, SPOOL_DIR => $_->[1]);
    spew($_->[0], join('', map { "$_=$e{$_}\n" } sort keys %e), 0600);
}

# host 1: the test's pool, nginx, its sidecar
start_pool(workers => 2, env_file => $env1);
start_nginx();
# host 2: a pool of its own on its own socket, its own sidecar
my $sock2 = "$tmp/host2.sock";
TrafficTest::_spawn([which('spawn-fcgi'), '-n', '-s', $sock2, '-M', '0660',
    '--', builddir() . '/src/traffic-webhook', '--workers', 2],
    "$tmp/host2.log", { TRAFFIC_ENV_FILE => $env2 });
TrafficTest::_spawn([builddir() . '/src/traffic-ctl', 'deliver', '--loop'],
    "$tmp/host2.log", { TRAFFIC_ENV_FILE => $env2 });
wait_for('host 2', sub { -S $sock2 });

sub sale { lead_form(id => $_[0], status_id => 142, pipeline_id => 10418746,
    price => 1000 + $_[0] % 1000, utm_campaign => 'tripwire_pool') }

# Six children: two post to host 1 through nginx, two to host 2's pool,
# two ask both hosts' health meanwhile.
my $bad = in_parallel(6, sub {
    my ($k) = @_;
    my $fails = 0;
    if ($k >= 4) {
        for (1 .. 40) {
            my $r = http('GET', '/webhook/amocrm/traffic/test');
            $fails++ if $r->{status} != 200;
            my $a = cgi_fcgi($sock2, 'GET', '/webhook/amocrm/traffic/test');
            $fails++ if ($a->{status} // 0) != 200;
        }
        return $fails;
    }
    for my $i (1 .. 50) {
        my $id = 67000000 + $k * 1000 + $i;
        my $a = $k < 2 ? post_form('/webhook/amocrm/traffic', sale($id))
            : cgi_fcgi($sock2, 'POST', '/webhook/amocrm/traffic', sale($id));
        my $body = $a->{content} // $a->{body} // '';
        $fails++ if ($a->{status} // 0) != 200 || $body !~ /"processed":1/;
    }
    return $fails;
});
is($bad, 0, '200 sales on two hosts with health probes: each 200 and'
    . ' stored at once, none spooled');
is(psql("SELECT count(*) || '|' || count(DISTINCT lead_id) FROM"
    . " sales_notifications WHERE lead_id BETWEEN 67000000 AND 67009999"),
    '200|200', 'all 200 stored once');
is(psql("SELECT count(*) FROM all_sales_tracking WHERE lead_id BETWEEN"
    . " 67000000 AND 67009999"), 200, 'all on the dashboard');
is(scalar(() = glob("$tmp/spool1/*.req")) + scalar(() =
    glob("$tmp/spool2/*.req")), 0, 'both spools empty');
wait_for('the messages', sub { psql("SELECT count(*) FROM"
    . " sales_notifications WHERE lead_id BETWEEN 67000000 AND 67009999 AND"
    . " notification_status = 'sent'") == 200 }, 40);
pass('the sidecars sent every sale\'s message');
wait_for('both sidecars to reconcile', sub {
    (() = pool_log() =~ /^reconcile: checked/mg) >= 1 &&
    (() = slurp("$tmp/host2.log") =~ /^reconcile: checked/mg) >= 1 }, 20);
pass('both sidecars reconciled through the pooler');
is(psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"), 0,
    'no session lock left behind on a pooled server connection');
my $logs = pool_log() . slurp("$tmp/host2.log");
unlike($logs, qr/bind message supplies|statement failed|does not exist/,
    'no statement ran as another, none failed');

# Migrations and adoption need a session: through the pooler they refuse.
($rc, $out) = ctl(['migrate'], DATABASE_URL => $pooled);
isnt($rc, 0, 'migrate through the transaction pooler: refused');
like($out, qr/transaction pooler.*direct port \(5432\) or the pooler's session port/s,
    'saying which port to use') or diag($out);
($rc, $out) = ctl(['adopt', '--dry-run'], DATABASE_URL => $pooled);
isnt($rc, 0, 'adopt through it: refused too');
($rc, $out) = migrate();
like($out, qr/schema is up to date/, 'the direct connection migrates');
done_testing();
