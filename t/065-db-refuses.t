# A database that answers and refuses sales is not a database that is away
# (issue: the team's real database).  The service connects as a role that
# owns nothing (as on a hosted PostgreSQL); then, one at a time: a column
# renamed away, the unique index ON CONFLICT needs dropped, INSERT on
# webhook_logs revoked, row level security on all_sales_tracking with no
# policy for the role.  Each time a sale is still answered 200 and spooled
# (nothing acknowledged is lost), and within a second or two /health says
# 503 naming the reason, the test endpoint says the same, traffic-ctl check
# fails with a problem line, the sidecar posts an alert at once and
# /metrics and the status page show it; once fixed, the spooled sale is
# stored, health is 200 and the alert clears.
use strict;
use warnings;
use utf8;
use Encode ();
use JSON::PP;
use MIME::Base64 ();
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;

binmode(Test::More->builder->$_, ':encoding(UTF-8)')
    for qw(output failure_output todo_output);

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
psql("CREATE ROLE svc LOGIN");
# as docs/install.md says: the owner lets the service's role in (rights, and
# its row level security policies on every table)
psql("SELECT traffic_allow_service('svc')");
(my $url = pg_url()) =~ s/user=traffic/user=svc/;
my $api = start_fake_api();
my $alert_chat = -1006500000009;
my $admin = 'refuses-admin-0123456789abcdef';
my %env = (DATABASE_URL => $url, ADMIN_TOKEN => $admin,
    TELEGRAM_BOT_TOKEN => '6500:REF-token', TELEGRAM_API_BASE => $api,
    TELEGRAM_CHAT_IDS => -1006500000001, ALERT_CHAT_IDS => $alert_chat,
    TELEGRAM_CHAT_INTERVAL_MS => 0, TELEGRAM_GROUP_PER_MINUTE => 0,
    ALERT_CHECK_S => 1, ALERT_MIN_S => 60, ALERT_SPOOL_S => 3600,
    RECONCILE_INTERVAL_S => 0);
my $env = write_env(%env);
start_pool(workers => 2, env_file => $env);
start_nginx();

sub get_json {
    my ($path) = @_;
    my $r = http('GET', $path);
    return ($r->{status}, eval { decode_json($r->{content}) } || {});
}
sub alerts { map { $_->{text} } grep { ($_->{chat_id} // 0) == $alert_chat }
    sent_messages() }
sub stored { psql("SELECT count(*) FROM all_sales_tracking WHERE lead_id ="
    . " $_[0]") }
sub sale { lead_form(id => $_[0], status_id => 142, pipeline_id => 10418746,
    price => 1000, updated_at => int(time) - 10) }

my ($st, $j) = get_json('/webhook/amocrm/traffic/health');
is("$st|$j->{database}", '200|connected', 'all well: health 200');
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $env, DATABASE_URL => $url);
like($out, qr/^database: this role writes and reads a sale/m,
    'check: the role writes and reads a sale') or diag($out);
is(post_form('/webhook/amocrm/traffic', sale(65000001))->{status}, 200,
    'a sale');
is(stored(65000001), 1, 'stored');

my @cases = (
    ['a column missing',
     'ALTER TABLE sales_notifications RENAME COLUMN currency TO currency_old',
     'ALTER TABLE sales_notifications RENAME COLUMN currency_old TO currency',
     qr/column "currency" of relation "sales_notifications" does not exist/],
    ['the unique index missing',
     'DROP INDEX all_sales_tracking_lead_id_key',
     'CREATE UNIQUE INDEX all_sales_tracking_lead_id_key ON'
     . ' all_sales_tracking (lead_id)',
     qr/no unique or exclusion constraint matching the ON CONFLICT/],
    ['a right revoked',
     'REVOKE INSERT ON webhook_logs FROM svc',
     'GRANT INSERT ON webhook_logs TO svc',
     qr/permission denied for table webhook_logs/],
    ['row level security without a policy',
     'DROP POLICY traffic_service_svc ON all_sales_tracking',
     "SELECT traffic_allow_service('svc')",
     qr/row-level security/],
);
my $lead = 65000100;
for my $c (@cases) {
    my ($what, $break, $fix, $says) = @$c;
    my $n = () = alerts();
    psql($break);
    my $id = ++$lead;
    my $r = post_form('/webhook/amocrm/traffic', sale($id));
    is($r->{status}, 200, "$what: the sale answered 200");
    like($r->{content}, qr/"queued":true/, "$what: spooled");
    my $t0 = time;
    ok(wait_for("$what: health 503", sub {
        ($st, $j) = get_json('/webhook/amocrm/traffic/health'); $st == 503 },
        5), "$what: health 503");
    cmp_ok(time - $t0, '<', 3, "$what: within a second or two");
    like($j->{database} // '', qr/^refuses sales: .*$says/,
        "$what: health names the reason") or diag(explain $j);
    my ($tst, $tj) = get_json('/webhook/amocrm/traffic/test');
    like($tj->{database} // '', $says, "$what: the test endpoint too");
    ($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $env, DATABASE_URL => $url);
    isnt($rc, 0, "$what: check fails");
    like($out, qr/^problem: the database refuses sales: .*$says/m,
        "$what: check names it") or diag($out);
    ok(wait_for("$what: the alert", sub { alerts() > $n }, 10),
        "$what: an alert at once (ALERT_MIN_S does not hold it)");
    like((alerts())[-1] // '', qr/не принимает продажи: .*$says/,
        "$what: the alert says why");
    my $m = http('GET', '/metrics', undef, Authorization => "Bearer $admin");
    like($m->{content}, qr/^traffic_webhook_alert_active\{alert="database"\} 1$/m,
        "$what: /metrics shows it");
    my $page = http('GET', '/admin/', undef, Authorization => 'Basic '
        . MIME::Base64::encode_base64("team:$admin", ''));
    like(Encode::decode('UTF-8', $page->{content}),
        qr/data-alert="database"[^<]*не принимает продажи/,
        "$what: the status page shows it");
    is(stored($id), 0, "$what: not stored yet");
    psql($fix);
    ok(wait_for("$what: the spooled sale stored", sub { stored($id) == 1 },
        15), "$what: fixed, the spooled sale is stored");
    ok(wait_for("$what: health 200", sub {
        ($st, $j) = get_json('/webhook/amocrm/traffic/health'); $st == 200 },
        5), "$what: health 200 again");
    ok(wait_for("$what: the alert cleared", sub { alerts() > $n + 1 }, 10),
        "$what: the alert clears");
    like((alerts())[-1] // '', qr/решено/, "$what: saying it is solved");
}
is(scalar(() = glob(tmpdir() . '/spool/*.req')), 0, 'the spool is empty');

# Row level security is on for every table of the service: a role granted
# SELECT (Supabase's anon, through its REST API) sees no row without a
# policy; traffic_allow_reader gives the dashboard's readers theirs.
is(psql("SELECT count(*) FROM pg_class WHERE relname IN (SELECT"
    . " traffic_tables()) AND NOT relrowsecurity"), 0,
    'row level security on every table');
psql("CREATE ROLE anon NOLOGIN; GRANT SELECT ON ALL TABLES IN SCHEMA public"
    . " TO anon");
my $total = psql("SELECT count(*) FROM all_sales_tracking");
cmp_ok($total, '>', 0, 'the dashboard has sales');
is(psql("SET ROLE anon; SELECT count(*) FROM all_sales_tracking"), 0,
    'a role granted SELECT but without a policy sees none of them');
psql("SELECT traffic_allow_reader('anon')");
is(psql("SET ROLE anon; SELECT count(*) FROM all_sales_tracking"), $total,
    'traffic_allow_reader: it reads them all');
is(psql("SET ROLE anon; SELECT count(*) FROM traffic_leases"), 0,
    'and nothing else');

# A worker that starts on a database that refuses says so in its log.
stop_pool();
psql('ALTER TABLE webhook_logs RENAME COLUMN raw_body TO raw_body_old');
start_pool(workers => 1, env_file => $env);
ok(wait_for('the worker\'s word', sub { pool_log() =~ /database: refuses sales: .*raw_body/ },
    10), 'a worker started on a refusing database says why in its log');
psql('ALTER TABLE webhook_logs RENAME COLUMN raw_body_old TO raw_body');
done_testing();
