# Reconciliation against a fake AmoCRM account that holds the truth:
# missing sales recovered over several pages, run twice (idempotent), a new
# price corrected, lost, deleted (by its event) and moved leads reversed, a
# reversed sale
# won again restored, a dry run that writes nothing, 429 and 5xx retried,
# 204 for nothing, the webhook subscription missing or disabled (check and
# the summary line say so), one host at a time, and the sidecar's runs.
use strict;
use warnings;
use JSON::PP;
use Test::More;
use Time::HiRes qw(time sleep);
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api(fixtures => srcdir() . '/t/fixtures/amocrm');
my %env = (AMOCRM_ACCESS_TOKEN => 'amo-reconcile-0123456789', AMOCRM_API_BASE
    => $api, AMOCRM_DOMAIN => 'onaiagencykz', TELEGRAM_BOT_TOKEN =>
    '5300:REC-token', TELEGRAM_API_BASE => $api, TELEGRAM_CHAT_IDS =>
    '-1005300000001', TELEGRAM_CHAT_INTERVAL_MS => 0,
    TELEGRAM_GROUP_PER_MINUTE => 0, RECONCILE_INTERVAL_S => 0,
    TELEGRAM_BATCH_AFTER => 0,
    WEBHOOK_PUBLIC_URL => 'https://api.example.com/webhook/amocrm/traffic');
my $envfile = write_env(%env);
sub reconcile {
    my (@args) = @_;
    my ($r, $o) = ctl(['reconcile', @args], TRAFFIC_ENV_FILE => $envfile);
    my ($line) = $o =~ /^(reconcile: (?:checked|another).*?)(?: \(dry run: nothing written\))?$/m;
    return ($r, $line // '', $o);
}
sub list_requests {
    grep { $_->{path} =~ m{^/api/v4/leads\?} } fake_requests();
}
sub tracked { psql("SELECT coalesce(string_agg(lead_id || ':' ||"
    . " trim_scale(sale_amount), ',' ORDER BY lead_id), '') FROM"
    . " all_sales_tracking") }

my $now = time;
my $hook = { id => 1, destination =>
    'https://api.example.com/webhook/amocrm/traffic?token=x', disabled =>
    JSON::PP::false, settings => ['status_lead', 'update_lead'] };
my %leads = map { ($_ => api_lead(id => $_, price => 1000 * ($_ - 53000000),
    updated_at => int($now) - 600, utm_campaign => 'tripwire_rec')) }
    53000001 .. 53000006;
fake_amocrm(leads => \%leads, page_size => 2, hooks => [$hook]);

# Six won leads AmoCRM never delivered: recovered, three pages read.
my $t0 = time;
my ($r, $line, $o) = reconcile();
is($r, 0, 'reconcile: exit 0') or diag($o);
is($line, 'reconcile: checked 6, recovered 6, corrected 0, reversed 0,'
    . ' unchanged 0, unverified 0', 'six sales recovered');
is(tracked(), join(',', map { "$_:" . 1000 * ($_ - 53000000) } 53000001 ..
    53000006), 'the dashboard has them, with their prices');
my @lists = grep { $_->{time} >= $t0 } list_requests();
is(scalar @lists, 3, 'three pages of two');
like($lists[0]{path}, qr/filter%5Bstatuses%5D%5B0%5D%5Bpipeline_id%5D=10418746&filter%5Bstatuses%5D%5B0%5D%5Bstatus_id%5D=142&filter%5Bupdated_at%5D%5Bfrom%5D=\d+&limit=250&page=1$/,
    'filtered by pipeline, status and updated_at');
is($lists[0]{headers}{authorization}, "Bearer $env{AMOCRM_ACCESS_TOKEN}",
    'with the token');
is(psql("SELECT count(*) FROM sale_events WHERE kind = 'won' AND source ="
    . " 'reconcile'"), 6, 'each a won event from reconcile');
is(psql("SELECT count(*) FROM webhook_logs WHERE event_type = 'reconcile'"
    . " AND processing_status = 'success'"), 6, 'each a reconcile log row');
is(psql("SELECT string_agg(DISTINCT targetologist, ',') FROM"
    . " sales_notifications"), 'Kenesary', 'matched by their UTM');
is(psql("SELECT count(*) FROM notification_outbox WHERE status = 'pending'"),
    6, 'their messages queued');
($rc, $out) = ctl(['deliver'], TRAFFIC_ENV_FILE => $envfile);
is(scalar(sent_messages()), 6, 'and sent by deliver');

# Run twice: nothing changes.
($r, $line) = reconcile();
is($line, 'reconcile: checked 6, recovered 0, corrected 0, reversed 0,'
    . ' unchanged 6, unverified 0', 'a second run changes nothing');
is(psql('SELECT count(*) FROM sale_events'), 6, 'no new events');
is(psql("SELECT count(*) FROM webhook_logs"), 6, 'and logs nothing unchanged');

# AmoCRM changes: a new price, a loss, a deletion, another pipeline.
my $later = int($now) - 60;
fake_amocrm(lead => api_lead(id => 53000001, price => 1500,
    updated_at => $later, utm_campaign => 'tripwire_rec'));
fake_amocrm(lead => api_lead(id => 53000002, price => 2000, status_id => 143,
    updated_at => $later));
fake_amocrm(delete => 53000003);
fake_amocrm(lead => api_lead(id => 53000004, price => 4000,
    pipeline_id => 999, updated_at => $later));
($r, $line, $o) = reconcile('--dry-run');
is($line, 'reconcile: checked 6, recovered 0, corrected 1, reversed 3,'
    . ' unchanged 2, unverified 0', 'a dry run counts what it would do') or diag($o);
like($o, qr/\(dry run: nothing written\)/, 'and says it wrote nothing');
is(tracked(), join(',', map { "$_:" . 1000 * ($_ - 53000000) } 53000001 ..
    53000006), 'the dashboard is untouched');
is(psql('SELECT count(*) FROM sale_events'), 6, 'no event written');
is(psql("SELECT count(*) FROM reconcile_runs WHERE dry_run"), 0,
    'the dry run leaves no row (it is no "last run")');

($r, $line, $o) = reconcile();
is($line, 'reconcile: checked 6, recovered 0, corrected 1, reversed 3,'
    . ' unchanged 2, unverified 0', 'the changes applied') or diag($o);
is(tracked(), '53000001:1500,53000005:5000,53000006:6000',
    'the dashboard equals the won leads');
is(psql("SELECT string_agg(lead_id || ':' || kind || ':' || (detail->>"
    . "'reason'), ',' ORDER BY lead_id) FROM sale_events WHERE kind ="
    . " 'reversed' AND source = 'reconcile'"),
    '53000002:reversed:status,53000003:reversed:deleted,'
    . '53000004:reversed:pipeline', 'each reversal with its reason');
is(psql("SELECT detail->>'old_amount' || '>' || (detail->>'amount') FROM"
    . " sale_events WHERE lead_id = 53000001 AND kind = 'price_changed'"),
    '1000>1500', 'the correction');
my @ids = grep { $_->{path} =~ /filter%5Bid%5D/ } list_requests();
like($ids[-1]{path}, qr/filter%5Bid%5D%5B%5D=53000002&filter%5Bid%5D%5B%5D=53000003&filter%5Bid%5D%5B%5D=53000004&limit=250&page=1/,
    'the stored sales not seen are asked for by id');
($r, $line) = reconcile();
is($line, 'reconcile: checked 6, recovered 0, corrected 0, reversed 0,'
    . ' unchanged 6, unverified 0', 'run again: nothing more');

# A lost lead won again: restored.
fake_amocrm(lead => api_lead(id => 53000002, price => 2500,
    updated_at => int($now) - 30));
($r, $line) = reconcile();
is($line, 'reconcile: checked 6, recovered 1, corrected 0, reversed 0,'
    . ' unchanged 5, unverified 0', 'a reversed sale won again: recovered');
like(tracked(), qr/53000002:2500/, 'back in the dashboard with its price');

# 429 and 503 are retried; 204 is an empty account.
fake_queue('/api/v4/leads?', { status => 429, body => { title => 'Too Many'
    . ' Requests' } }, { status => 503, body => 'busy' });
$t0 = time;
($r, $line, $o) = reconcile();
is($r, 0, '429, then 503, then the answer: exit 0') or diag($o);
like($o, qr/HTTP 429; again in 1000 ms.*HTTP 503; again in 2000 ms/s,
    'retried with backoff');
cmp_ok(time - $t0, '>=', 2.9, 'after waiting');
fake_amocrm(leads => {});
($r, $line) = reconcile();
is($line, 'reconcile: checked 6, recovered 0, corrected 0, reversed 0,'
    . ' unchanged 2, unverified 4', 'an account that shows none of the leads'
    . ' (204): absence is no evidence, nothing reversed');
is(tracked(), '53000001:1500,53000002:2500,53000005:5000,53000006:6000',
    'the dashboard keeps its sales');
$_->{updated_at} = int(time) for values %leads;
fake_amocrm(leads => \%leads);
($r, $line) = reconcile();
like($line, qr/checked 6, recovered 2,/, 'the reversed ones back once'
    . ' AmoCRM has them won again');

# The webhook subscription.
fake_amocrm(hooks => [{ %$hook, disabled => JSON::PP::true }]);
($r, $line) = reconcile();
like($line, qr/; problem: the AmoCRM webhook to \S+ is disabled/,
    'a disabled hook: the line says so');
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $envfile);
is($rc, 1, 'check fails');
like($out, qr/^problem: the AmoCRM webhook to \S+ is disabled .*enable it again/m,
    'and says what to do');
fake_amocrm(hooks => [{ %$hook, destination => 'https://elsewhere.example/x' }]);
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $envfile);
like($out, qr/^problem: no AmoCRM webhook posts to https:\/\/api\.example\.com\/webhook\/amocrm\/traffic/m,
    'a hook elsewhere: missing');
fake_amocrm(hooks => [$hook]);
($rc, $out) = ctl(['check'], TRAFFIC_ENV_FILE => $envfile);
like($out, qr/^amocrm: a webhook posts here and is enabled$/m, 'ours: fine');
is(psql("SELECT hook FROM reconcile_runs ORDER BY id DESC LIMIT 1"),
    'disabled', 'the last run recorded the hook\'s state');

# One host at a time: another host's lease (a row, so that it works
# through a transaction pooler), then the lease of a host that died.
psql("UPDATE traffic_leases SET holder = 'other-host:1', until = now() +"
    . " interval '10 minutes' WHERE name = 'reconcile'");
($r, $line) = reconcile();
is($line, 'reconcile: another host is reconciling; not run', 'one at a time');
psql("UPDATE traffic_leases SET until = now() - interval '1 second' WHERE"
    . " name = 'reconcile'");
($r, $line) = reconcile();
like($line, qr/^reconcile: checked/, 'a lease run out is taken over');
is(psql("SELECT holder IS NULL FROM traffic_leases WHERE name ="
    . " 'reconcile'"), 't', 'and given back at the end');

# The sidecar reconciles every RECONCILE_INTERVAL_S.
start_deliver(env_file => write_env(%env, RECONCILE_INTERVAL_S => 1));
wait_for('two sidecar runs', sub {
    (() = deliver_log() =~ /^reconcile: checked/mg) >= 2 }, 20);
stop_deliver();
pass('the sidecar reconciled twice');
unlike(deliver_log(), qr/\Q$env{AMOCRM_ACCESS_TOKEN}\E/, 'the token in no log');
done_testing();
