# Reconciliation beyond one page: 260 won leads (more than the API's 250 a
# page) recovered through two list pages, then one lead past the first
# 250 lost and found by the by-id pass in its second chunk; a sale sold
# before the window whose lead was lost inside it; a dry run that changes
# no row.
use strict;
use warnings;
use JSON::PP;
use Test::More;
use lib 't/lib';
use TrafficTest;

start_pg();
my ($rc, $out) = migrate();
is($rc, 0, 'migrations apply') or diag($out);
my $api = start_fake_api();
my $envfile = write_env(AMOCRM_ACCESS_TOKEN => 'amo-shapes-0123456789',
    AMOCRM_API_BASE => $api, AMOCRM_DOMAIN => 'onaiagencykz',
    RECONCILE_INTERVAL_S => 0, RECONCILE_WINDOW => '72h',
    WEBHOOK_PUBLIC_URL => 'https://api.example.com/webhook/amocrm/traffic');
my $hook = { id => 1, destination =>
    'https://api.example.com/webhook/amocrm/traffic', disabled =>
    JSON::PP::false, settings => ['status_lead', 'update_lead'] };
sub reconcile {
    my ($r, $o) = ctl(['reconcile', @_], TRAFFIC_ENV_FILE => $envfile);
    my ($line) = $o =~ /^(reconcile: checked.*?)(?: \(dry run.*)?$/m;
    return ($r, $line // '', $o);
}
sub state {
    psql("SELECT count(*) FILTER (WHERE sale_state = 'won') || '/' ||"
        . " count(*) || '/' || (SELECT count(*) FROM all_sales_tracking)"
        . " FROM sales_notifications");
}

my $now = time;
my $base = 71000000;
my %leads = map { ($_ => api_lead(id => $_, price => 1000,
    updated_at => $now - 600, utm_campaign => 'tripwire_shape')) }
    $base + 1 .. $base + 260;
fake_amocrm(leads => \%leads, page_size => 250, hooks => [$hook]);

my ($r, $line, $o) = reconcile();
is($r, 0, 'reconcile: exit 0') or diag($o);
like($line, qr/^reconcile: checked 260, recovered 260, /, '260 won leads'
    . ' recovered, over two pages') or diag($o);
is(state(), '260/260/260', 'all stored');
my @pages = grep { $_->{path} =~ m{^/api/v4/leads\?.*filter%5Bstatuses} }
    fake_requests();
cmp_ok(scalar(grep { $_->{path} =~ /page=2/ } @pages), '>=', 1,
    'the second list page read');

# The won leads last changed before the window (so the list pass returns
# none of them), one past the first 250 lost a minute ago: every stored
# sale is asked by id, in chunks of 250, and the lost one found in the
# second.
my $late = $base + 259;
my %aged = map { ($_ => api_lead(id => $_, price => 1000,
    status_id => $_ == $late ? 143 : 142,
    updated_at => $_ == $late ? $now - 60 : $now - 4 * 86400,
    utm_campaign => 'tripwire_shape')) } $base + 1 .. $base + 260;
fake_amocrm(leads => \%aged);
fake_reset();
($r, $line, $o) = reconcile();
is($r, 0, 'reconcile again') or diag($o);
like($line, qr/reversed 1, /, 'one reversed') or diag($o);
is(psql("SELECT sale_state FROM sales_notifications WHERE lead_id = $late"),
    'reversed', "the lead past the first 250 ($late)");
my @chunks = grep { $_->{path} =~ m{filter%5Bid%5D} } fake_requests();
ok((grep { $_->{path} =~ /filter%5Bid%5D%5B%5D=$late\b/ } @chunks),
    'asked by id in a chunk of its own');
is(join(',', sort { $b <=> $a } map { scalar(() = $_->{path} =~
    /filter%5Bid%5D%5B%5D=/g) } @chunks), '250,10', 'every stored sale asked'
    . ' by id: a chunk of 250, then the other 10');

# A sale sold before the window (five days ago) whose lead is lost now.
my $old = $base + 3;
psql("UPDATE sales_notifications SET sale_date = now() - interval '5 days'"
    . " WHERE lead_id = $old");
psql("UPDATE all_sales_tracking SET sale_date = now() - interval '5 days'"
    . " WHERE lead_id = $old");
fake_amocrm(lead => api_lead(id => $old, price => 1000, status_id => 143,
    updated_at => $now - 30, utm_campaign => 'tripwire_shape'));
($r, $line, $o) = reconcile();
is($r, 0, 'reconcile with an old sale lost inside the window') or diag($o);
is(psql("SELECT sale_state FROM sales_notifications WHERE lead_id = $old"),
    'reversed', 'an old sale whose lead moved inside the window: reversed')
    or diag($o);

# A dry run changes no row.
fake_amocrm(lead => api_lead(id => $base + 4, price => 4444,
    updated_at => $now - 20, utm_campaign => 'tripwire_shape'));
my $before = psql("SELECT md5(string_agg(lead_id || sale_state ||"
    . " coalesce(sale_amount::text, ''), ',' ORDER BY lead_id)) FROM"
    . " sales_notifications") . psql("SELECT count(*) FROM sale_events")
    . psql("SELECT count(*) FROM webhook_logs");
($r, $line, $o) = reconcile('--dry-run');
is($r, 0, 'a dry run') or diag($o);
like($o, qr/corrected 1/, 'which would correct the new price');
is(psql("SELECT md5(string_agg(lead_id || sale_state ||"
    . " coalesce(sale_amount::text, ''), ',' ORDER BY lead_id)) FROM"
    . " sales_notifications") . psql("SELECT count(*) FROM sale_events")
    . psql("SELECT count(*) FROM webhook_logs"), $before,
    'and changes no sale, event or log row');
done_testing();
