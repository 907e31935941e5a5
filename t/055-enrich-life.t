# What the AmoCRM API says after the answer changes a sale's place too: a
# unified short-format sale (no UTM, routed 'both') is routed again with
# the UTM the API brings (traffic: its 'both' conversion goes; a referral:
# a conversion with its code, and no sale); a sale the API does not confirm
# leaves the dashboard; an answer about another lead is not taken.
use strict;
use warnings;
use JSON::PP;
use Test::More;
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api(fixtures => srcdir() . '/t/fixtures/amocrm');
my $envfile = write_env(AMOCRM_ACCESS_TOKEN => 'amo-life-0123456789abc',
    AMOCRM_API_BASE => $api, AMOCRM_DOMAIN => 'onaiagencykz',
    TELEGRAM_BOT_TOKEN => '5500:ENR-token', TELEGRAM_API_BASE => $api,
    TELEGRAM_CHAT_IDS => '-1005500000001', TELEGRAM_CHAT_INTERVAL_MS => 0,
    TELEGRAM_GROUP_PER_MINUTE => 0, RECONCILE_INTERVAL_S => 0);
start_pool(workers => 2, env_file => $envfile);
start_nginx();
start_deliver(env_file => $envfile);

my ($T, $R, $U, $W) = (55000001, 55000002, 55000003, 55000004);
fake_amocrm(leads => {
    $T => api_lead(id => $T, price => 9000, utm_campaign => 'tripwire_x'),
    $R => api_lead(id => $R, price => 8000, utm_source => 'ref_anna'),
    $U => api_lead(id => $U, price => 7000, status_id => 143),
    $W => { %{ api_lead(id => $W, price => 6000) }, id => 999 } });
sub short { post_form('/webhook/amocrm', lead_form(event => 'status',
    id => $_[0], status_id => 142, pipeline_id => 10418746)) }
sub q1 { psql($_[0]) }
sub enriched { my ($id, $st) = @_; wait_for("lead $id $st", sub {
    q1("SELECT enrich_status FROM sales_notifications WHERE lead_id = $id")
        eq $st }, 20) }

for my $id ($T, $R, $U, $W) {
    is(short($id)->{status}, 200, "short unified sale $id: 200");
}

# traffic after all: the conversion goes, the log row says traffic
enriched($T, 'done');
is(q1("SELECT count(*) FROM referral_conversions WHERE lead_id = $T"), 0,
    'the API\'s UTM makes it traffic: no conversion');
is(q1("SELECT routing_decision FROM webhook_logs WHERE lead_id = $T AND"
    . " processing_status = 'success'"), 'traffic', 'the log row is traffic');
is(q1("SELECT targetologist || '|' || trim_scale(sale_amount) FROM"
    . " all_sales_tracking WHERE lead_id = $T"), 'Kenesary|9000',
    'a Kenesary sale in the dashboard');
wait_for('its message', sub { grep { ($_->{text} // '') =~ /Kenesary/ }
    sent_messages() });

# a referral after all: a conversion with its code, no sale
enriched($R, 'done');
is(q1("SELECT referral_code || '|' || routing_decision FROM"
    . " referral_conversions WHERE lead_id = $R"), 'ref_anna|referral',
    'a referral: the conversion has its code');
is(q1("SELECT sale_state FROM sales_notifications WHERE lead_id = $R"),
    'reversed', 'and the sale is none');
is(q1("SELECT count(*) FROM all_sales_tracking WHERE lead_id = $R"), 0,
    'not in the dashboard');
is(q1("SELECT detail->>'reason' || '|' || source FROM sale_events WHERE"
    . " lead_id = $R AND kind = 'reversed'"), 'referral|reconcile',
    'the reason, by the API\'s word');
is(q1("SELECT string_agg(DISTINCT status, ',') FROM notification_outbox"
    . " WHERE lead_id = $R"), 'disabled', 'its message never goes');

# not confirmed: out of the dashboard
enriched($U, 'unconfirmed');
wait_for('the unconfirmed sale reversed', sub { q1("SELECT sale_state FROM"
    . " sales_notifications WHERE lead_id = $U") eq 'reversed' });
is(q1("SELECT count(*) FROM all_sales_tracking WHERE lead_id = $U"), 0,
    'an unconfirmed sale is not in the dashboard');
is(q1("SELECT detail->>'reason' FROM sale_events WHERE lead_id = $U AND"
    . " kind = 'reversed'"), 'unconfirmed', 'reversed as unconfirmed');
is(q1("SELECT routing_decision FROM webhook_logs WHERE lead_id = $U AND"
    . " processing_status = 'success'") . '|' . q1("SELECT routing_decision"
    . " FROM referral_conversions WHERE lead_id = $U"), 'both|both',
    'a sale without UTM, unconfirmed, stays routed both');

# an answer about another lead: unreadable, retried, never taken
wait_for('the wrong answer retried', sub { q1("SELECT enrich_attempts FROM"
    . " sales_notifications WHERE lead_id = $W") >= 2 }, 20);
is(q1("SELECT enrich_status FROM sales_notifications WHERE lead_id = $W"),
    'pending', 'an answer about lead 999 is not taken for lead W');
like(q1("SELECT enrich_error FROM sales_notifications WHERE lead_id = $W"),
    qr/the answer is lead 999/, 'and the reason is kept');
is(q1("SELECT count(*) FROM notification_outbox WHERE lead_id = $W AND"
    . " status = 'sent'"), 0, 'its message waits');
done_testing();
